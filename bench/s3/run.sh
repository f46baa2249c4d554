#!/usr/bin/env bash
# bench/s3/run.sh: hoist's S3 client against awscli v2, rclone and a raw-curl
# ceiling, all against one `hoist serve` on loopback started here.  Four
# operations: upload and download of one big file, upload and download of a
# directory of many small files.  Every download is checked (sha256 of the
# big file; count, bytes and a hash of the small set) and every upload is
# listed (count and bytes), so a fast but wrong tool cannot win.
#
#   bench/s3/run.sh                          1 GiB + 2000 x 512 KiB
#   BENCH_BIG_MB=128 BENCH_SMALL_COUNT=200 bench/s3/run.sh     quick
#
# Knobs: BENCH_BIG_MB (1024), BENCH_SMALL_COUNT (2000), BENCH_SMALL_KB (512),
# BENCH_TOOLS ("hoist awscli rclone curl"; missing ones are skipped),
# BENCH_PAR (16: files in flight for hoist and the curl ceiling),
# S3BENCH_CONCURRENCY / S3BENCH_PART_SIZE (hoist's s3_client_config),
# BENCH_RESULTS (default bench/s3/results-<date>.tsv), BENCH_TMP (/tmp),
# BENCH_S3BENCH (an s3bench binary to use instead of building one).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIG_MB=${BENCH_BIG_MB:-1024}
SMALL_COUNT=${BENCH_SMALL_COUNT:-2000}
SMALL_KB=${BENCH_SMALL_KB:-512}
PAR=${BENCH_PAR:-16}
TOOLS=${BENCH_TOOLS:-hoist awscli rclone curl}
AWS=/usr/bin/aws
STAMP=$(date +%Y%m%d-%H%M%S)
RESULTS=${BENCH_RESULTS:-$ROOT/bench/s3/results-$STAMP.tsv}
export S3BENCH_THREADS=${S3BENCH_THREADS:-$PAR}

die() { echo "bench/s3: $*" >&2; exit 1; }
log() { echo "bench/s3: $*" >&2; }

# ---- build ----
make -s -C "$ROOT" -j2 bin/hoist build/tests/s3tool >&2
# BENCH_S3BENCH: another s3bench binary (one linked with a patched lib/s3.c, say).
[ -n "${BENCH_S3BENCH:-}" ] || make -s -C "$ROOT" build/bench/s3bench >&2
HOIST=$ROOT/bin/hoist
S3TOOL=$ROOT/build/tests/s3tool
S3BENCH=${BENCH_S3BENCH:-$ROOT/build/bench/s3bench}

# ---- scratch space ----
BIG_BYTES=$((BIG_MB * 1048576))
SMALL_BYTES=$((SMALL_COUNT * SMALL_KB * 1024))
# The data, the curl ceiling's split copy, one tool's objects on the server
# and one download, with 10% to spare.
NEED_KB=$(((3 * BIG_BYTES + 3 * SMALL_BYTES) / 1024 * 11 / 10))
TMPBASE=${BENCH_TMP:-/tmp}
AVAIL_KB=$(df -Pk "$TMPBASE" | awk 'NR==2 {print $4}')
[ "$AVAIL_KB" -ge "$NEED_KB" ] ||
        die "$TMPBASE has $((AVAIL_KB / 1024)) MiB free; this run needs $((NEED_KB / 1024)) MiB (lower BENCH_BIG_MB/BENCH_SMALL_COUNT or set BENCH_TMP)"
W=$(mktemp -d "$TMPBASE/hoist-bench-s3.XXXXXX")
. "$ROOT/bench/lib/serve.sh"
cleanup() {
        bench_serve_stop
        rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the server ----
bench_serve_start "$HOIST" "$W"
BUCKET=hoist

# An http:// endpoint needs no CA; awscli and rclone 1.60 fail on an
# unreadable or unusable AWS_CA_BUNDLE (see PEERS.md).
unset AWS_CA_BUNDLE AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3
export AWS_CONFIG_FILE=$W/aws.cfg AWS_SHARED_CREDENTIALS_FILE=$W/aws.creds
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER=
export AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=$EP
printf '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n' >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
# rclone: a remote named "bench" from the environment, defaults otherwise.
export RCLONE_CONFIG=$W/rclone.conf RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Other
export RCLONE_CONFIG_BENCH_ENDPOINT=$EP RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=$AK
export RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=$SK RCLONE_CONFIG_BENCH_REGION=us-east-1
: >"$RCLONE_CONFIG"

# ---- the data ----
log "data: ${BIG_MB} MiB file and $SMALL_COUNT x $SMALL_KB KiB files in $W"
mkdir -p "$W/data/small" "$W/data/split"
head -c "$BIG_BYTES" /dev/urandom >"$W/data/big.bin"
BIG_SHA=$(sha256sum "$W/data/big.bin" | cut -d' ' -f1)
head -c "$SMALL_BYTES" /dev/urandom | split -a 5 -d -b "$((SMALL_KB * 1024))" - "$W/data/small/f"
small_digest() { # DIR: "count bytes sha256-of-the-files-in-name-order"
        local n b h
        n=$(find "$1" -maxdepth 1 -type f | wc -l)
        b=$(find "$1" -maxdepth 1 -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
        h=$(cd "$1" && find . -maxdepth 1 -type f -printf '%f\n' | LC_ALL=C sort | xargs cat | sha256sum | cut -d' ' -f1)
        echo "$n $b $h"
}
SMALL_DIGEST=$(small_digest "$W/data/small")
# The curl ceiling's big file: PAR separate objects, as many parallel PUTs.
split -a 3 -d -n "$PAR" "$W/data/big.bin" "$W/data/split/p"
sync

# ---- measuring ----
now_ns() { date +%s%N; }
declare -A MBPS
timed() { # TOOL OP BYTES CMD...: runs CMD, records MB/s (10^6 bytes/s)
        local tool=$1 op=$2 bytes=$3 t0 t1
        shift 3
        # Start each with no dirty pages from the step before: their
        # writeback otherwise lands in whichever tool comes next.
        sync
        t0=$(now_ns)
        if ! "$@" >"$W/cmd.out" 2>&1; then
                cat "$W/cmd.out" >&2
                die "$tool $op failed: $*"
        fi
        t1=$(now_ns)
        MBPS[$tool,$op]=$(awk -v b="$bytes" -v ns="$((t1 - t0))" 'BEGIN {printf "%.1f", b / 1e6 / (ns / 1e9)}')
        log "$(printf '%-7s %-10s %8.2f s %9s MB/s' "$tool" "$op" "$(awk -v ns=$((t1 - t0)) 'BEGIN {print ns / 1e9}')" "${MBPS[$tool,$op]}")"
}
listed() { # PREFIX: "count bytes" of the objects under it
        "$S3TOOL" ls "$BUCKET" "$1" 2>/dev/null | awk '{n++; s += $2} END {print n + 0, s + 0}'
}
check_listed() { # TOOL PREFIX COUNT BYTES
        local got
        got=$(listed "$2")
        [ "$got" = "$3 $4" ] || die "$1 upload to $2: listed '$got', expected '$3 $4'"
}
check_big() { # TOOL FILE
        [ "$(sha256sum "$2" | cut -d' ' -f1)" = "$BIG_SHA" ] || die "$1: downloaded big file differs"
}
check_small() { # TOOL DIR
        local got
        got=$(small_digest "$2")
        [ "$got" = "$SMALL_DIGEST" ] || die "$1: downloaded small set is '$got', expected '$SMALL_DIGEST'"
}
rm_prefix() { "$S3BENCH" rm-prefix "$BUCKET" "$1" >&2; }

# curl: one process, PAR transfers at once (-Z), SigV4 with an unsigned
# payload: no hashing on either side, no per-file process start.
curl_par() { # CONFIG-FILE
        local codes
        codes=$(curl -sS -Z --parallel-max "$PAR" --aws-sigv4 "aws:amz:us-east-1:s3" \
                --user "$AK:$SK" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
                -w '%{http_code}\n' -K "$1")
        ! grep -qv '^20[06]$' <<<"$codes" || { echo "curl: statuses: $(sort <<<"$codes" | uniq -c | tr '\n' ' ')"; return 1; }
}
curl_cfg_put() { # DIR PREFIX > config
        local f
        for f in "$1"/*; do
                printf 'upload-file = "%s"\nurl = "%s/%s/%s%s"\noutput = "/dev/null"\n' \
                        "$f" "$EP" "$BUCKET" "$2" "${f##*/}"
        done
}
curl_cfg_get() { # DIR PREFIX NAMES-FROM-DIR > config
        local f
        for f in "$3"/*; do
                printf 'url = "%s/%s/%s%s"\noutput = "%s/%s"\n' "$EP" "$BUCKET" "$2" "${f##*/}" "$1" "${f##*/}"
        done
}

bench_tool() { # TOOL
        local t=$1 p=bench/$1 out=$W/out-$1
        rm_prefix "$p/"
        mkdir -p "$out/small"
        case $t in
        hoist)
                timed "$t" put-big "$BIG_BYTES" "$S3BENCH" put-file "$BUCKET" "$p/big/big.bin" "$W/data/big.bin"
                check_listed "$t" "$p/big/" 1 "$BIG_BYTES"
                timed "$t" get-big "$BIG_BYTES" "$S3BENCH" get-file "$BUCKET" "$p/big/big.bin" "$out/big.bin"
                check_big "$t" "$out/big.bin"
                timed "$t" put-small "$SMALL_BYTES" "$S3BENCH" put-dir "$BUCKET" "$p/small/" "$W/data/small"
                check_listed "$t" "$p/small/" "$SMALL_COUNT" "$SMALL_BYTES"
                timed "$t" get-small "$SMALL_BYTES" "$S3BENCH" get-dir "$BUCKET" "$p/small/" "$out/small"
                ;;
        awscli)
                a() { "$AWS" --endpoint-url "$EP" --only-show-errors "$@"; }
                timed "$t" put-big "$BIG_BYTES" a s3 cp "$W/data/big.bin" "s3://$BUCKET/$p/big/big.bin"
                check_listed "$t" "$p/big/" 1 "$BIG_BYTES"
                timed "$t" get-big "$BIG_BYTES" a s3 cp "s3://$BUCKET/$p/big/big.bin" "$out/big.bin"
                check_big "$t" "$out/big.bin"
                timed "$t" put-small "$SMALL_BYTES" a s3 cp --recursive "$W/data/small" "s3://$BUCKET/$p/small/"
                check_listed "$t" "$p/small/" "$SMALL_COUNT" "$SMALL_BYTES"
                timed "$t" get-small "$SMALL_BYTES" a s3 cp --recursive "s3://$BUCKET/$p/small/" "$out/small"
                ;;
        rclone)
                r() { env -u AWS_CA_BUNDLE rclone -q "$@"; }
                timed "$t" put-big "$BIG_BYTES" r copyto "$W/data/big.bin" "bench:$BUCKET/$p/big/big.bin"
                check_listed "$t" "$p/big/" 1 "$BIG_BYTES"
                timed "$t" get-big "$BIG_BYTES" r copyto "bench:$BUCKET/$p/big/big.bin" "$out/big.bin"
                check_big "$t" "$out/big.bin"
                timed "$t" put-small "$SMALL_BYTES" r copy "$W/data/small" "bench:$BUCKET/$p/small"
                check_listed "$t" "$p/small/" "$SMALL_COUNT" "$SMALL_BYTES"
                timed "$t" get-small "$SMALL_BYTES" r copy "bench:$BUCKET/$p/small" "$out/small"
                ;;
        curl)
                curl_cfg_put "$W/data/split" "$p/big/" >"$W/curl-put-big.cfg"
                curl_cfg_get "$out/split" "$p/big/" "$W/data/split" >"$W/curl-get-big.cfg"
                curl_cfg_put "$W/data/small" "$p/small/" >"$W/curl-put-small.cfg"
                curl_cfg_get "$out/small" "$p/small/" "$W/data/small" >"$W/curl-get-small.cfg"
                mkdir -p "$out/split"
                timed "$t" put-big "$BIG_BYTES" curl_par "$W/curl-put-big.cfg"
                check_listed "$t" "$p/big/" "$PAR" "$BIG_BYTES"
                timed "$t" get-big "$BIG_BYTES" curl_par "$W/curl-get-big.cfg"
                (cd "$out/split" && LC_ALL=C ls | xargs cat) >"$out/big.bin"
                check_big "$t" "$out/big.bin"
                timed "$t" put-small "$SMALL_BYTES" curl_par "$W/curl-put-small.cfg"
                check_listed "$t" "$p/small/" "$SMALL_COUNT" "$SMALL_BYTES"
                timed "$t" get-small "$SMALL_BYTES" curl_par "$W/curl-get-small.cfg"
                ;;
        esac
        check_small "$t" "$out/small"
        rm -rf "$out"
        rm_prefix "$p/"
}

RAN=()
for t in $TOOLS; do
        case $t in
        hoist) ;;
        awscli) [ -x "$AWS" ] || { log "awscli v2 missing at $AWS, skipped"; continue; } ;;
        rclone) command -v rclone >/dev/null || { log "rclone missing, skipped (apt-get install rclone)"; continue; } ;;
        curl) command -v curl >/dev/null || { log "curl missing, skipped"; continue; } ;;
        *) die "unknown tool '$t' in BENCH_TOOLS" ;;
        esac
        log "--- $t"
        bench_tool "$t"
        RAN+=("$t")
done

# ---- the table ----
has() { local x; for x in "${RAN[@]}"; do [ "$x" = "$1" ] && return 0; done; return 1; }
ratio() { # A B: A/B as "2.35x", or "-"
        awk -v a="${1:-}" -v b="${2:-}" 'BEGIN {if (a == "" || b == "" || b == 0) print "-"; else printf "%.2fx", a / b}'
}
pct() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN {if (a == "" || b == "" || b == 0) print "-"; else printf "%.0f%%", 100 * a / b}'; }
OPS="put-big get-big put-small get-small"
declare -A LABEL=(
        [put-big]="upload ${BIG_MB} MiB x1"
        [get-big]="download ${BIG_MB} MiB x1"
        [put-small]="upload ${SMALL_COUNT} x ${SMALL_KB} KiB"
        [get-small]="download ${SMALL_COUNT} x ${SMALL_KB} KiB"
)
{
        printf '# bench/s3 %s  hoist %s (%s)  nproc %s  MB/s = 10^6 bytes/s, wall clock\n' \
                "$STAMP" "$(cat "$ROOT/VERSION")" "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)" "$(nproc)"
        printf '%s' "op"
        for t in "${RAN[@]}"; do printf '\t%s' "$t"; done
        printf '\thoist/awscli\thoist/rclone\thoist/curl-ceiling\n'
        for op in $OPS; do
                printf '%s' "$op"
                for t in "${RAN[@]}"; do printf '\t%s' "${MBPS[$t,$op]}"; done
                printf '\t%s\t%s\t%s\n' \
                        "$(has awscli && has hoist && ratio "${MBPS[hoist,$op]}" "${MBPS[awscli,$op]}" || echo -)" \
                        "$(has rclone && has hoist && ratio "${MBPS[hoist,$op]}" "${MBPS[rclone,$op]}" || echo -)" \
                        "$(has curl && has hoist && pct "${MBPS[hoist,$op]}" "${MBPS[curl,$op]}" || echo -)"
        done
} >"$RESULTS"

echo
printf '%-26s' "MB/s"
for t in "${RAN[@]}"; do
        case $t in curl) printf '%13s' "curl-ceiling" ;; *) printf '%9s' "$t" ;; esac
done
printf '%14s%14s%20s\n' "hoist/awscli" "hoist/rclone" "hoist/curl-ceiling"
for op in $OPS; do
        printf '%-26s' "${LABEL[$op]}"
        for t in "${RAN[@]}"; do
                case $t in curl) printf '%13s' "${MBPS[$t,$op]}" ;; *) printf '%9s' "${MBPS[$t,$op]}" ;; esac
        done
        printf '%14s%14s%20s\n' \
                "$(has awscli && has hoist && ratio "${MBPS[hoist,$op]}" "${MBPS[awscli,$op]}" || echo -)" \
                "$(has rclone && has hoist && ratio "${MBPS[hoist,$op]}" "${MBPS[rclone,$op]}" || echo -)" \
                "$(has curl && has hoist && pct "${MBPS[hoist,$op]}" "${MBPS[curl,$op]}" || echo -)"
done
echo "(machine-readable: ${RESULTS#"$ROOT"/})"
