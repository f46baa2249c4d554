#!/usr/bin/env bash
# bench/layer/run.sh [COMPRESSBENCH]: hoist's layer compressor beside gzip -6,
# pigz -6 and zstd -3 on the same input, in the same run.
#
# Input: BENCH_LAYER_MB megabytes (default 200), half pseudo-random bytes,
# half text (C headers from /usr/include, each file once, then again).  Each
# output is checked: `gzip -t` / `zstd -t`, and the sha256 of what
# decompresses equals hoist's diff_id.  hoist's output must also be the same
# bytes for every thread count.  gzip, pigz and zstd come from scripts/deps.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bench=${1:-$root/build/bench/compressbench}
mb=${BENCH_LAYER_MB:-200}
threads=${BENCH_LAYER_THREADS:-$(nproc)}
[ -x "$bench" ] || { echo "run.sh: '$bench' missing (make \$BUILD/bench/compressbench)" >&2; exit 1; }
for tool in gzip pigz zstd; do
        command -v "$tool" >/dev/null ||
                { echo "run.sh: $tool is not installed (scripts/deps.sh installs it)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/hoist-bench-layer.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
in=$tmp/input
half=$((mb * 1024 * 1024 / 2))
head -c "$half" /dev/urandom >"$in"
while [ "$(stat -c %s "$in")" -lt $((2 * half)) ]; do
        find /usr/include -name '*.h' -type f -print0 | sort -z | xargs -0 cat >>"$in"
done
truncate -s $((2 * half)) "$in"
want=sha256:$(sha256sum "$in" | cut -d' ' -f1)
echo "input: $mb MB ($((2 * half)) bytes), half random, half text; $(nproc) CPUs; sha256 ${want#sha256:}"
cat "$in" >/dev/null # warm the page cache for everyone

rate() { # NAME SECONDS OUTFILE
        awk -v n="$1" -v s="$2" -v in_b="$((2 * half))" -v out_b="$(stat -c %s "$3")" \
                'BEGIN { printf "%-22s %7.2f s %8.1f MB/s  ratio %.3f\n", n, s, in_b / 1e6 / s, out_b / in_b }'
}
timed() { # OUTFILE CMD...: seconds the command took
        local out=$1; shift
        local t0 t1
        t0=$(date +%s.%N)
        "$@" <"$in" >"$out"
        t1=$(date +%s.%N)
        awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
check() { # NAME FILE DECOMPRESSOR
        "$3" -t "$2" 2>/dev/null || { echo "FAIL: $1: $3 -t rejects the output"; exit 1; }
        got=sha256:$("$3" -dc "$2" | sha256sum | cut -d' ' -f1)
        [ "$got" = "$want" ] || { echo "FAIL: $1: decompresses to $got, not $want"; exit 1; }
}

for alg in gzip zstd; do
        first=""
        for t in 1 "$threads"; do
                line=$("$bench" "$alg" "$t" "$in" "$tmp/hoist.$alg.$t")
                secs=$(sed 's/.* seconds=\([0-9.]*\).*/\1/' <<<"$line")
                diff_id=$(sed 's/.* diff_id=\([^ ]*\).*/\1/' <<<"$line")
                [ "$diff_id" = "$want" ] || { echo "FAIL: hoist $alg diff_id $diff_id != $want"; exit 1; }
                check "hoist $alg" "$tmp/hoist.$alg.$t" "$alg"
                if [ -z "$first" ]; then first=$tmp/hoist.$alg.$t; else
                        cmp -s "$first" "$tmp/hoist.$alg.$t" ||
                                { echo "FAIL: hoist $alg differs between 1 and $t threads"; exit 1; }
                fi
                rate "hoist $alg -T$t" "$secs" "$tmp/hoist.$alg.$t"
        done
        [ "$threads" -gt 1 ] && echo "  hoist $alg: same bytes with 1 and $threads threads"
done
s=$(timed "$tmp/gzip.gz" gzip -6 -c); check "gzip -6" "$tmp/gzip.gz" gzip; rate "gzip -6" "$s" "$tmp/gzip.gz"
s=$(timed "$tmp/pigz.gz" pigz -6 -p "$threads" -c)
check "pigz -6" "$tmp/pigz.gz" gzip
rate "pigz -6 -p$threads" "$s" "$tmp/pigz.gz"
s=$(timed "$tmp/zstd.zst" zstd -3 -T"$threads" -q -c); check "zstd -3" "$tmp/zstd.zst" zstd
rate "zstd -3 -T$threads" "$s" "$tmp/zstd.zst"
