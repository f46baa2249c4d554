#!/usr/bin/env bash
# bench/sync/run.sh: incremental sync, hoist against aws s3 sync, rclone sync,
# s3cmd sync and hoist's old one-tar path, side by side against one S3
# server started here (`hoist serve`, or radosgw with BENCH_SYNC_SERVER=rgw).
#
# Two datasets (BENCH_SYNC_DATASETS="big small"): "big" is BIG_FILES files of
# BIG_KB KiB (200 x 5 MiB = 1000 MiB), "small" SMALL_FILES files of 10 KiB in
# 100 directories (20,000 = 200 MiB).  Five steps, every tool in turn on the
# same bytes: first upload; unchanged re-submit; one file changed; 10% of
# the files changed; staging into an empty directory (hoist: the entrypoint
# staging the job's input; the peers: a sync down).  Beside the staging
# step, the raw ceiling: one curl -Z process GETting every object the aws
# step stored, 16 at once, to /dev/null.
#
# Every result is checked: after each upload step the tool's copy is
# listed (peers: object count and bytes) or its job.json read (hoist); every
# staged directory is compared file by file (sha256 of every file, in path
# order) with the source.  Prints seconds per tool and step and, per peer,
# its time over hoist's (above 1.00x hoist is faster).
#
#   bench/sync/run.sh                                      ~15 min here
#   BENCH_SYNC_BIG_FILES=20 BENCH_SYNC_SMALL_FILES=2000 bench/sync/run.sh    quick
#   BENCH_SYNC_SERVER=rgw BENCH_SYNC_BIG_FILES=40 bench/sync/run.sh   radosgw (memstore: 2 GiB)
#
# Knobs: BENCH_SYNC_TOOLS ("hoist hoist-tar aws rclone s3cmd"),
# BENCH_SYNC_DATASETS, BENCH_SYNC_BIG_FILES (200), BENCH_SYNC_BIG_KB (5120),
# BENCH_SYNC_SMALL_FILES (20000), BENCH_SYNC_SERVER (serve | rgw),
# BENCH_SYNC_STEPS ("first unchanged one ten stage"), BENCH_TMP (/tmp),
# BENCH_RESULTS (bench/sync/results-<date>.tsv).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOOLS=${BENCH_SYNC_TOOLS:-hoist hoist-tar aws rclone s3cmd}
DATASETS=${BENCH_SYNC_DATASETS:-big small}
BIG_FILES=${BENCH_SYNC_BIG_FILES:-200}
BIG_KB=${BENCH_SYNC_BIG_KB:-5120}
SMALL_FILES=${BENCH_SYNC_SMALL_FILES:-20000}
SERVER=${BENCH_SYNC_SERVER:-serve}
AWS=/usr/bin/aws
STAMP=$(date +%Y%m%d-%H%M%S)
RESULTS=${BENCH_RESULTS:-$ROOT/bench/sync/results-$STAMP.tsv}

die() { echo "bench/sync: $*" >&2; exit 1; }
log() { echo "bench/sync: $*" >&2; }

make -s -C "$ROOT" -j2 bin/hoist bin/hoist-entrypoint build/tests/s3tool >&2
HOIST=$ROOT/bin/hoist
ENTRY=$ROOT/bin/hoist-entrypoint
S3TOOL=$ROOT/build/tests/s3tool

W=$(mktemp -d "${BENCH_TMP:-/tmp}/hoist-bench-sync.XXXXXX")
. "$ROOT/bench/lib/serve.sh"
cleanup() {
        bench_serve_stop
        [ "$SERVER" != rgw ] || "$ROOT/tests/peers/ceph-rgw.sh" stop "$W/rgw" >/dev/null 2>&1 || true
        rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the server ----
unset AWS_CA_BUNDLE AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3
BUCKET=hoist
if [ "$SERVER" = rgw ]; then
        mkdir -p "$W/rgw"
        "$ROOT/tests/peers/ceph-rgw.sh" start "$W/rgw" >&2
        for kv in $(cat "$W/rgw/env"); do
                case $kv in
                endpoint=*) EP=${kv#endpoint=} ;;
                access=*) AK=${kv#access=} ;;
                secret=*) SK=${kv#secret=} ;;
                esac
        done
        BUCKET=hoist-sync
        export HOIST_HOME=$W/home
        mkdir -p "$HOIST_HOME"
else
        bench_serve_start "$HOIST" "$W"
fi
export AWS_CONFIG_FILE=$W/aws.cfg AWS_SHARED_CREDENTIALS_FILE=$W/aws.creds
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER=
export AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=$EP
printf '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n' >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
[ "$SERVER" != rgw ] || "$S3TOOL" mb "$BUCKET" >&2
export RCLONE_CONFIG=$W/rclone.conf RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Other
export RCLONE_CONFIG_BENCH_ENDPOINT=$EP RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=$AK
export RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=$SK RCLONE_CONFIG_BENCH_REGION=us-east-1
: >"$RCLONE_CONFIG"
# rclone compares by checksum (the listing's ETag against a local MD5)
# rather than by modification time, which it would HEAD every object for.
RCLONE_FLAGS=${BENCH_SYNC_RCLONE_FLAGS:---checksum --fast-list}
HOSTPORT=${EP#http://}
cat >"$W/s3cmd.cfg" <<EOF
[default]
access_key = $AK
secret_key = $SK
host_base = $HOSTPORT
host_bucket = $HOSTPORT
use_https = False
signature_v2 = False
bucket_location = us-east-1
EOF
# hoist submit: consent to uploads, the server as the job's storage
mkdir -p "$HOIST_HOME"
echo 'consent: allow' >>"$HOIST_HOME/config.yaml"

# ---- data ----
tree_sum() { # DIR: one digest of every file's path and sha256
        (cd "$1" && find . -type f -printf '%P\n' | LC_ALL=C sort |
                xargs -d '\n' sha256sum | sha256sum | cut -d' ' -f1)
}
make_data() { # NAME
        local d=$W/$1
        mkdir -p "$d"
        case $1 in
        big) python3 - "$d" "$BIG_FILES" "$((BIG_KB * 1024))" <<'PY' ;;
import os, sys
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    with open(f"{d}/f{i:04}.bin", "wb") as f:
        f.write(os.urandom(size))
PY
        small) python3 - "$d" "$SMALL_FILES" 10240 <<'PY' ;;
import os, sys
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = os.urandom(n * size)
for k in range(n):
    sub = f"{d}/d{k % 100:03}"
    os.makedirs(sub, exist_ok=True)
    with open(f"{sub}/f{k:05}.bin", "wb") as f:
        f.write(data[k * size:(k + 1) * size])
PY
        esac
}
change() { # NAME COUNT: rewrites COUNT files (same size, new bytes), spread evenly
        python3 - "$W/$1" "$2" <<'PY'
import os, sys
root, count = sys.argv[1], int(sys.argv[2])
files = sorted(os.path.join(p, f) for p, _, fs in os.walk(root) for f in fs)
step = max(1, len(files) // count)
for path in files[::step][:count]:
    size = os.path.getsize(path)
    with open(path, "wb") as f:
        f.write(os.urandom(size))
PY
}

# ---- measuring ----
declare -A SECS NOTE
now_ns() { date +%s%N; }
timed() { # TOOL KEY CMD...
        local tool=$1 key=$2 t0 t1
        shift 2
        sync
        t0=$(now_ns)
        "$@" >"$W/cmd.out" 2>&1 || { cat "$W/cmd.out" >&2; die "$tool $key failed: $*"; }
        t1=$(now_ns)
        SECS[$tool,$key]=$(awk -v ns="$((t1 - t0))" 'BEGIN {printf "%.2f", ns / 1e9}')
        log "$(printf '%-9s %-14s %8s s' "$tool" "$key" "${SECS[$tool,$key]}")"
}
listed() { "$S3TOOL" ls "$BUCKET" "$1" 2>/dev/null | awk '{n++; s += $2} END {print n + 0, s + 0}'; }
check_listed() { # TOOL DATASET PREFIX
        local want got
        want="$(find "$W/$2" -type f | wc -l) $(find "$W/$2" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')"
        got=$(listed "$3")
        [ "$got" = "$want" ] || die "$1: $3 lists '$got', the source is '$want'"
}
check_staged() { # TOOL DATASET DIR
        [ "$(tree_sum "$3")" = "$(tree_sum "$W/$2")" ] || die "$1: what it staged in $3 differs from the source"
}

# hoist: the job's input is the dataset directory; submit uploads what is
# new and starts a process job whose command is `true` (waited for, untimed).
hoist_job() { # TOOL DATASET
        local j=$W/job-$1-$2
        mkdir -p "$j"
        cat >"$j/job.yaml" <<EOF
name: bench-sync
runtime: process
command: ["true"]
storage: s3://$BUCKET/sync/$1-$2
inputs:
  data: $W/$2
EOF
}
hoist_submit() { # TOOL DATASET STEP
        local env=()
        if [ "$1" = hoist-tar ]; then env=(HOIST_TREE=0); else env=(HOIST_TREE=1); fi
        env "${env[@]}" "$HOIST" submit -y "$W/job-$1-$2/job.yaml" >"$W/submit.out" 2>"$W/submit.err" ||
                { cat "$W/submit.err" >&2; return 1; }
        NOTE[$1,$2-$3]=$(grep -m1 -E 'inputs: .*(sent|uploaded)' "$W/submit.err" || true)
        cp "$W/submit.out" "$W/submit-$1-$2.out"
}
hoist_wait() { # TOOL DATASET: the job just submitted has ended
        local id
        id=$(sed -n 's/^submitted job \(j-[0-9a-f]*\)$/\1/p' "$W/submit-$1-$2.out")
        [ -n "$id" ] || die "$1: no job id in $(cat "$W/submit-$1-$2.out")"
        "$HOIST" logs -f "$id" >/dev/null 2>&1 || true
        JOB_ID=$id
}
hoist_stage() { # TOOL DATASET DIR: the entrypoint stages the last job's input
        env HOIST_JOB_FILE="$W/job-$1-$2.json" HOIST_WORKDIR="$3" HOIST_NODE=main \
                "$ENTRY" train
}

run_step() { # DATASET STEP
        local ds=$1 step=$2 t
        for t in $TOOLS; do
                local p=sync/$t-$ds
                case $t in
                hoist | hoist-tar)
                        [ "$step" != first ] || hoist_job "$t" "$ds"
                        if [ "$step" = stage ]; then
                                rm -rf "$W/stage-$t" "$W/kept-$t"
                                timed "$t" "$ds-$step" hoist_stage "$t" "$ds" "$W/stage-$t"
                                check_staged "$t" "$ds" "$W/kept-$t"
                        else
                                timed "$t" "$ds-$step" hoist_submit "$t" "$ds" "$step"
                                hoist_wait "$t" "$ds"
                        fi
                        ;;
                aws)
                        if [ "$step" = stage ]; then
                                rm -rf "$W/stage-$t"
                                timed "$t" "$ds-$step" "$AWS" --endpoint-url "$EP" --only-show-errors s3 sync "s3://$BUCKET/$p/" "$W/stage-$t"
                                check_staged "$t" "$ds" "$W/stage-$t"
                        else
                                timed "$t" "$ds-$step" "$AWS" --endpoint-url "$EP" --only-show-errors s3 sync --delete "$W/$ds" "s3://$BUCKET/$p/"
                                check_listed "$t" "$ds" "$p/"
                        fi
                        ;;
                rclone)
                        if [ "$step" = stage ]; then
                                rm -rf "$W/stage-$t"
                                timed "$t" "$ds-$step" env -u AWS_CA_BUNDLE rclone -q sync $RCLONE_FLAGS "bench:$BUCKET/$p" "$W/stage-$t"
                                check_staged "$t" "$ds" "$W/stage-$t"
                        else
                                timed "$t" "$ds-$step" env -u AWS_CA_BUNDLE rclone -q sync $RCLONE_FLAGS "$W/$ds" "bench:$BUCKET/$p"
                                check_listed "$t" "$ds" "$p/"
                        fi
                        ;;
                s3cmd)
                        if [ "$step" = stage ]; then
                                rm -rf "$W/stage-$t"
                                mkdir -p "$W/stage-$t"
                                timed "$t" "$ds-$step" s3cmd -c "$W/s3cmd.cfg" -q sync "s3://$BUCKET/$p/" "$W/stage-$t/"
                                check_staged "$t" "$ds" "$W/stage-$t"
                        else
                                timed "$t" "$ds-$step" s3cmd -c "$W/s3cmd.cfg" -q sync --delete-removed "$W/$ds/" "s3://$BUCKET/$p/"
                                check_listed "$t" "$ds" "$p/"
                        fi
                        ;;
                *) die "unknown tool '$t'" ;;
                esac
        done
}

# The ceiling for staging: every object the aws step stored, 16 GETs at once.
raw_get() { # DATASET
        local p=sync/aws-$1
        "$S3TOOL" ls "$BUCKET" "$p/" | awk -v ep="$EP" -v b="$BUCKET" \
                '{printf "url = \"%s/%s/%s\"\noutput = \"/dev/null\"\n", ep, b, $1}' >"$W/raw.cfg"
        curl -sS -Z --parallel-max 16 --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AK:$SK" \
                -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -w '%{http_code}\n' -K "$W/raw.cfg" >"$W/raw.codes"
        ! grep -qv '^200$' "$W/raw.codes"
}

# BENCH_SYNC_STEPS: a subset, in this order (stage needs first).
STEPS=${BENCH_SYNC_STEPS:-first unchanged one ten stage}
for ds in $DATASETS; do
        log "dataset $ds: making it"
        make_data "$ds"
        n=$(find "$W/$ds" -type f | wc -l)
        for step in $STEPS; do
                case $step in
                one) change "$ds" 1 ;;
                ten) change "$ds" "$((n / 10 > 0 ? n / 10 : 1))" ;;
                esac
                if [ "$step" = stage ]; then
                        for t in hoist hoist-tar; do
                                case " $TOOLS " in *" $t "*) ;; *) continue ;; esac
                                id=$(sed -n 's/^submitted job \(j-[0-9a-f]*\)$/\1/p' "$W/submit-$t-$ds.out")
                                "$S3TOOL" get "$BUCKET" "sync/$t-$ds/jobs/$id/job.json" "$W/job-$t-$ds.orig.json" >&2
                                # The entrypoint removes the staged inputs when the command
                                # ends: the command moves them aside (one rename) to be checked.
                                jq --arg d "$W/kept-$t" '.command = ["sh", "-c", "mv \"$HOIST_INPUT_DATA\" \"$0\"", $d]' \
                                        "$W/job-$t-$ds.orig.json" >"$W/job-$t-$ds.json"
                        done
                        case " $TOOLS " in *" aws "*) timed raw-get "$ds-stage" raw_get "$ds" ;; esac
                fi
                run_step "$ds" "$step"
        done
        rm -rf "$W/$ds" "$W"/stage-*
done

# ---- the table ----
{
        printf '%-18s' "seconds"
        for t in $TOOLS; do printf ' %10s' "$t"; done
        for t in $TOOLS; do [ "$t" = hoist ] || printf ' %12s' "$t/hoist"; done
        printf ' %14s\n' "hoist/raw-get"
        for ds in $DATASETS; do
                for step in $STEPS; do
                        k=$ds-$step
                        printf '%-18s' "$k"
                        for t in $TOOLS; do printf ' %10s' "${SECS[$t,$k]:--}"; done
                        for t in $TOOLS; do
                                [ "$t" = hoist ] && continue
                                printf ' %12s' "$(awk -v a="${SECS[$t,$k]:-0}" -v b="${SECS[hoist,$k]:-0}" \
                                        'BEGIN {if (a > 0 && b > 0) printf "%.2fx", a / b; else print "-"}')"
                        done
                        printf ' %14s\n' "$(awk -v a="${SECS[raw-get,$k]:-0}" -v b="${SECS[hoist,$k]:-0}" \
                                'BEGIN {if (a > 0 && b > 0) printf "%.2fx", b / a; else print "-"}')"
                done
        done
        echo
        echo "hoist's own summaries (submit):"
        for ds in $DATASETS; do
                for step in first unchanged one ten; do
                        for t in hoist hoist-tar; do
                                [ -z "${NOTE[$t,$ds-$step]:-}" ] || printf '  %-9s %-16s %s\n' "$t" "$ds-$step" "${NOTE[$t,$ds-$step]}"
                        done
                done
        done
} | tee "$W/table"
{
        for k in "${!SECS[@]}"; do printf '%s\t%s\t%s\n' "${k%%,*}" "${k#*,}" "${SECS[$k]}"; done
} | sort >"$RESULTS"
log "results: $RESULTS (server: $SERVER)"
