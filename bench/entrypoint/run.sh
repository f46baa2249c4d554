#!/usr/bin/env bash
# bench/entrypoint/run.sh: what hoist-entrypoint adds between its own exec and
# the exec of the training command, and what it keeps resident while the
# command runs, side by side with tini in the same run.
#
# The command is `entrybench stamp` (bench/entrypoint/entrybench.c, static):
# it records CLOCK_MONOTONIC at its start; the harness records it just
# before exec()ing the init.  Rows:
#   direct                 the command exec()ed by the harness itself (floor)
#   tini, tini-static      tini -s -- COMMAND
#   hoist plain            hoist-entrypoint COMMAND (no job)
#   hoist job, no inputs   a job.json on file:// storage
#   hoist job, S3 inputs   a job.json whose input is BENCH_INPUT_MB (1024) MiB
#                          fetched from `hoist serve`'s S3 endpoint on
#                          loopback (and sha256-checked) before the command
#   libcurl floor          not an init: bench/entrypoint/curlfloor.c, one GET
#                          through libcurl loaded as the entrypoint loads it;
#                          the memory any program pays for that, under the
#                          S3 row
# Memory: VmRSS, VmHWM and RssAnon (the private part of VmRSS; the rest is
# mapped library pages, shared with every other user of those libraries) of
# the init while the command runs.
#
#   bench/entrypoint/run.sh            (make bench-entrypoint builds and runs it)
#   BENCH_RUNS=200 BENCH_INPUT_MB=0 bench/entrypoint/run.sh     no S3 row
#
# Knobs: BENCH_RUNS (100; the S3 row runs BENCH_S3_RUNS, 3), BENCH_INPUT_MB
# (1024; 0 skips the S3 row), HOIST_BIN / HOIST_BUILD (bin, build),
# BENCH_HOIST (the hoist that serves S3; HOIST_BIN/hoist), BENCH_COMPARE
# (another hoist-entrypoint, e.g. an older build: adds its plain and
# no-input rows), BENCH_TMP (/tmp), BENCH_RESULTS
# (bench/entrypoint/results-<date>.tsv).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "${HOIST_BIN:-$ROOT/bin}" && pwd)
BUILD=$(cd "${HOIST_BUILD:-$ROOT/build}" && pwd)
RUNS=${BENCH_RUNS:-100}
S3_RUNS=${BENCH_S3_RUNS:-3}
INPUT_MB=${BENCH_INPUT_MB:-1024}
STAMP=$(date +%Y%m%d-%H%M%S)
RESULTS=${BENCH_RESULTS:-$ROOT/bench/entrypoint/results-$STAMP.tsv}
EB=$BUILD/bench/entrybench
E=$BIN/hoist-entrypoint

die() { echo "bench/entrypoint: $*" >&2; exit 1; }
log() { echo "bench/entrypoint: $*" >&2; }

for f in "$EB" "$E"; do
        [ -x "$f" ] || die "'$f' is missing (make bench-entrypoint builds it)"
done
command -v tini >/dev/null || die "tini is missing (apt-get install tini)"

W=$(mktemp -d "${BENCH_TMP:-/tmp}/hoist-bench-entrypoint.XXXXXX")
. "$ROOT/bench/lib/serve.sh"
cleanup() {
        bench_serve_stop
        rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export ENTRYBENCH_STAMP=$W/stamp.fifo ENTRYBENCH_HOLD=$W/hold.fifo
# The monitor looks for NVML in a thread after the command started; say
# where it is not, so no row depends on this machine's libraries.
export HOIST_NVML_LIBRARY=$W/no-libnvidia-ml.so.1
unset NOTIFY_SOCKET HOIST_JOB_FILE HOIST_JOB_URL

job_json() { # ID STORAGE_JSON INPUTS_JSON
        cat >"$W/$1.json" <<EOF
{"version": "hoist/v1", "id": "$1", "command": ["$EB", "stamp"],
 "inputs": $3, "storage": $2, "attempt": 1}
EOF
}

: >"$W/rows.tsv"
row() { # LABEL N INIT...
        local label=$1 n=$2
        shift 2
        log "$label ($n runs)"
        "$EB" run "$n" "$label" -- "$@" >>"$W/rows.tsv"
}

row "direct" "$RUNS" "$EB" stamp
row "tini" "$RUNS" tini -s -- "$EB" stamp
if command -v tini-static >/dev/null; then
        row "tini-static" "$RUNS" tini-static -s -- "$EB" stamp
fi
row "hoist plain" "$RUNS" "$E" "$EB" stamp
if [ -n "${BENCH_COMPARE:-}" ]; then
        row "compare plain" "$RUNS" "$BENCH_COMPARE" "$EB" stamp
fi

mkdir -p "$W/store"
job_json nojob '{"endpoint": "file://'"$W"'/store", "prefix": ""}' '[]'
# (exported in a subshell: an `env` in front would add its own exec)
(
        export HOIST_JOB_FILE=$W/nojob.json HOIST_WORKDIR=$W/work HOIST_NODE=bench HOIST_LOG=warn
        row "hoist job, no inputs" "$RUNS" "$E"
        if [ -n "${BENCH_COMPARE:-}" ]; then
                row "compare job, no inputs" "$RUNS" "$BENCH_COMPARE"
        fi
)

if [ "$INPUT_MB" -gt 0 ]; then
        HOIST=${BENCH_HOIST:-$BIN/hoist}
        S3TOOL=$BUILD/tests/s3tool
        CF=$BUILD/bench/curlfloor
        for f in "$HOIST" "$S3TOOL" "$CF"; do
                [ -x "$f" ] || die "'$f' is missing (make bench-entrypoint builds it)"
        done
        need_kb=$((INPUT_MB * 1024 * 3 + 65536))
        avail_kb=$(df -Pk "$W" | awk 'NR==2 {print $4}')
        [ "$avail_kb" -ge "$need_kb" ] ||
                die "$W has $((avail_kb / 1024)) MiB free; the S3 row needs $((need_kb / 1024)) MiB (lower BENCH_INPUT_MB or set BENCH_TMP)"
        bench_serve_start "$HOIST" "$W"
        log "input: $INPUT_MB MiB to $EP"
        head -c "$((INPUT_MB * 1048576))" /dev/urandom >"$W/input.bin"
        sha=$(sha256sum "$W/input.bin" | cut -d' ' -f1)
        AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_REGION=us-east-1 AWS_ENDPOINT_URL=$EP \
                AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
                "$S3TOOL" putmp hoist "blobs/sha256/$sha" "$W/input.bin" >/dev/null
        rm -f "$W/input.bin"
        job_json s3job '{"endpoint": "'"$EP"'", "region": "us-east-1", "bucket": "hoist", "prefix": ""}' \
                '[{"channel": "train", "source": "blobs/sha256/'"$sha"'", "sha256": "'"$sha"'", "mode": "file", "filename": "input.bin"}]'
        (
                export HOIST_JOB_FILE=$W/s3job.json HOIST_WORKDIR=$W/work-s3 HOIST_NODE=bench \
                        HOIST_LOG=warn HOIST_S3_ACCESS_KEY_ID=$AK HOIST_S3_SECRET_ACCESS_KEY=$SK
                row "hoist job, $INPUT_MB MiB S3 input" "$S3_RUNS" "$E"
        )
        # What any program pays for one GET through this libcurl: the floor
        # under the S3 row's memory (bench/entrypoint/curlfloor.c).
        log "libcurl floor"
        "$CF" "libcurl floor: one GET" "$EP/" >>"$W/rows.tsv"
fi

# The table: medians, and what each init adds to the direct exec, against tini.
mkdir -p "$(dirname "$RESULTS")"
{
        printf 'label\tmedian_us\tp10_us\tp90_us\tvmrss_kib\tvmhwm_kib\trssanon_kib\n'
        cat "$W/rows.tsv"
} >"$RESULTS"
awk -F'\t' '
NR == FNR { if ($1 == "direct") d = $2; if ($1 == "tini") t = $2; next }
FNR == 1 {
        printf "%-32s %11s %11s %11s %10s %10s %10s %10s\n", "init", "median", "p90", "added",
                "vs tini", "VmRSS", "VmHWM", "RssAnon"
}
$2 == "-" {
        printf "%-32s %11s %11s %11s %10s %6.1f MiB %6.1f MiB %6.1f MiB\n", $1, "-", "-", "-", "-",
                $5 / 1024, $6 / 1024, $7 / 1024
        next
}
{
        added = $2 - d
        printf "%-32s %8.2f ms %8.2f ms %8.2f ms %10s %6.1f MiB %6.1f MiB %6.1f MiB\n", $1, $2 / 1000,
                $4 / 1000, added / 1000, (t - d > 0 ? sprintf("%.1fx", added / (t - d)) : "-"),
                $5 / 1024, $6 / 1024, $7 / 1024
}' "$W/rows.tsv" "$W/rows.tsv"
echo "exec-to-exec: from the harness's exec() of the init to the command's first"
echo "instruction; added = median minus the direct row.  Results: $RESULTS"
