#!/usr/bin/env bash
# Drives the real hoist-entrypoint: exit codes, signal forwarding to the
# process group, SIGKILL after the grace period, zombie reaping (as PID 1 in
# a PID namespace and as a subreaper), the max runtime, and job.json runs end
# to end on file:// storage.  HOIST_BIN names the directory of the binary.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin_dir=${HOIST_BIN:-./bin}
E=$(cd "$bin_dir" && pwd)/hoist-entrypoint
[ -x "$E" ] || { echo "test_entrypoint: no executable '$E' (set HOIST_BIN)"; exit 1; }

tmp=$(mktemp -d /tmp/hoist-entrypoint-test.XXXXXX)
bg_pids=()
cleanup() {
        for p in "${bg_pids[@]+"${bg_pids[@]}"}"; do kill -KILL "$p" 2>/dev/null || true; done
        rm -rf "$tmp"
}
trap cleanup EXIT

# Under `make valgrind` every run of the entrypoint goes through valgrind.
if [ "${HOIST_VALGRIND:-0}" = 1 ]; then
        "$here/valgrind-wrap.sh" --make "$tmp/vg" "$E" "$tmp/hoist-entrypoint"
        E=$tmp/hoist-entrypoint
fi

passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() {
        echo "not ok - $1"
        failed=$((failed + 1))
        if [ -s "$tmp/err" ]; then sed 's/^/#   /' "$tmp/err" | tail -n 15; fi
}
# check NAME CMD...: CMD's success decides.
check() {
        local name=$1
        shift
        if "$@"; then ok "$name"; else not_ok "$name"; fi
}
# rc CMD...: runs CMD (stdout to $tmp/out, stderr to $tmp/err), prints its status.
rc() {
        local r=0
        timeout 60 "$@" >"$tmp/out" 2>"$tmp/err" || r=$?
        echo "$r"
}
wait_for_file() { # PATH [tenths]
        local n=${2:-100}
        while [ ! -s "$1" ] && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
        [ -s "$1" ]
}
gone() { ! kill -0 "$1" 2>/dev/null; }

# ---------------------------------------------------------------- plain init

check "exit code passthrough (exit 3 -> 3)" test "$(rc "$E" sh -c 'exit 3')" = 3
check "128+N when the command dies of signal N" test "$(rc "$E" sh -c 'kill -KILL $$')" = 137
t_not_found() {
        [ "$(rc "$E" no-such-command-hoist)" = 127 ] &&
                grep -q "hoist-entrypoint: error: command 'no-such-command-hoist' not found" "$tmp/err"
}
check "127 and a message when the command is not found" t_not_found
t_not_exec() {
        printf '#!/bin/sh\nexit 0\n' >"$tmp/noexec.sh"
        chmod 0644 "$tmp/noexec.sh"
        [ "$(rc "$E" "$tmp/noexec.sh")" = 126 ] && grep -q "is not executable" "$tmp/err"
}
check "126 when the command is not executable" t_not_exec
t_path() { [ "$(rc env PATH="/nonexistent:$(dirname "$(type -P true)")" "$E" true)" = 0 ]; }
check "PATH search like execvp" t_path
t_train() {
        [ "$(rc "$E" train sh -c 'exit 5')" = 5 ] && [ "$(rc "$E" -- train)" = 127 ] &&
                grep -q "command 'train' not found" "$tmp/err"
}
check "'train' is a mode word, not the command (but not after --)" t_train
t_usage() {
        [ "$(rc "$E")" = 125 ] && grep -q "nothing to run" "$tmp/err" &&
                [ "$(rc "$E" train)" = 125 ] && [ "$(rc "$E" --bogus)" = 125 ] &&
                [ "$(rc "$E" --help)" = 0 ] && grep -q "Usage: hoist-entrypoint" "$tmp/out" &&
                [ "$(rc "$E" --version)" = 0 ] && grep -q "^hoist-entrypoint [0-9]" "$tmp/out"
}
check "usage errors exit 125; --help and --version exit 0" t_usage
t_stdio() { [ "$(rc "$E" sh -c 'echo out; echo err >&2')" = 0 ] && grep -qx out "$tmp/out" && grep -qx err "$tmp/err"; }
check "plain mode passes stdout and stderr through" t_stdio

# SIGTERM reaches the whole group: a grandchild records it, and nothing
# of the group is left afterwards.  Not PID 1 here: a subreaper.
t_forward_group() {
        local d=$tmp/fwd
        mkdir -p "$d"
        # The grandchild ignores nothing: its trap writes a mark and exits.
        HOIST_STOP_GRACE_S=10 "$E" sh -c '
                sh -c "trap \"echo term >$1/gc-mark; exit 0\" TERM; echo \$\$ >$1/gc.pid
                       while :; do sleep 0.1; done" sh "$1" &
                trap "wait; exit 143" TERM
                echo $$ >"$1/main.pid"
                wait' sh "$d" >/dev/null 2>"$tmp/err" &
        local epid=$!
        bg_pids+=("$epid")
        wait_for_file "$d/gc.pid" && wait_for_file "$d/main.pid" || return 1
        kill -TERM "$epid"
        local r=0
        wait "$epid" || r=$?
        [ "$r" = 143 ] && wait_for_file "$d/gc-mark" 20 && gone "$(cat "$d/gc.pid")" &&
                gone "$(cat "$d/main.pid")"
}
check "SIGTERM forwarded to the whole process group" t_forward_group

t_forward_pid1() {
        local d=$tmp/fwd1
        mkdir -p "$d"
        unshare --pid --fork --mount-proc "$E" sh -c '
                sh -c "trap \"echo term >$1/gc-mark; exit 0\" TERM; echo ready >$1/gc.ready
                       while :; do sleep 0.1; done" sh "$1" &
                trap "wait; exit 143" TERM
                echo $$ >"$1/main.pid"
                wait' sh "$d" >/dev/null 2>"$tmp/err" &
        local upid=$!
        bg_pids+=("$upid")
        wait_for_file "$d/gc.ready" && wait_for_file "$d/main.pid" || return 1
        [ "$(cat "$d/main.pid")" = 2 ] || return 1 # the entrypoint is PID 1
        local epid
        epid=$(pgrep -P "$upid" | sed -n 1p)
        kill -TERM "$epid"
        local r=0
        wait "$upid" || r=$?
        [ "$r" = 143 ] && [ -s "$d/gc-mark" ]
}
check "as PID 1: SIGTERM forwarded to the group, exit 143" t_forward_pid1

t_grace_kill() {
        local d=$tmp/grace
        mkdir -p "$d"
        HOIST_STOP_GRACE_S=1 "$E" sh -c 'trap "" TERM; echo $$ >"$1/pid"; while :; do sleep 0.1; done' \
                sh "$d" >/dev/null 2>"$tmp/err" &
        local epid=$!
        bg_pids+=("$epid")
        wait_for_file "$d/pid" || return 1
        local start=$SECONDS r=0
        kill -TERM "$epid"
        wait "$epid" || r=$?
        local took=$((SECONDS - start))
        [ "$r" = 137 ] && [ "$took" -ge 1 ] && [ "$took" -le 5 ] && gone "$(cat "$d/pid")" &&
                grep -q "sending SIGKILL" "$tmp/err"
}
check "SIGKILL after the grace period for a child that ignores SIGTERM" t_grace_kill

# A double fork leaves an orphan that exits: it must be reaped.  The command
# looks for zombies itself, while the entrypoint still runs: children of the
# entrypoint ($PPID) only, so other processes of a busy machine do not count.
zombie_probe='(sleep 0.3 &); sleep 1.5
        z=$(for f in /proc/[0-9]*/stat; do
                read -r pid rest <"$f" 2>/dev/null || continue
                rest=${rest##*) }; state=${rest%% *}
                ppid=${rest#* }; ppid=${ppid%% *}
                [ "$state" = Z ] && [ "$ppid" = "$PPID" ] && echo "$pid"
            done)
        [ -z "$z" ] || { echo "zombies: $z" >&2; exit 1; }'
check "as PID 1: orphaned grandchildren are reaped (no zombie in /proc)" \
        test "$(rc unshare --pid --fork --mount-proc "$E" sh -c "$zombie_probe")" = 0
check "as a subreaper: orphaned grandchildren are reaped" \
        test "$(rc "$E" sh -c "$zombie_probe")" = 0
t_max_runtime_plain() {
        [ "$(rc env HOIST_MAX_RUNTIME_S=1 HOIST_STOP_GRACE_S=1 "$E" sleep 30)" = 124 ] &&
                grep -q "exceeded max runtime of 1s" "$tmp/err"
}
check "max runtime: SIGTERM at the limit, exit 124" t_max_runtime_plain
t_job_url() {
        [ "$(rc env HOIST_JOB_URL=ftp://host/job.json "$E" true)" = 125 ] &&
                grep -q "HOIST_JOB_URL 'ftp://host/job.json': use file:///path/to/job.json or s3://bucket/key" "$tmp/err"
}
check "HOIST_JOB_URL other than file:// or s3:// is a clear error (125)" t_job_url

# ---------------------------------------------------------------- jobs

store=$tmp/store
mkdir -p "$store/blobs/sha256" "$tmp/src/dataset/sub"
printf 'a,b\n1,2\n' >"$tmp/src/data.csv"
printf 'hello\n' >"$tmp/src/dataset/readme.txt"
printf 'deep\n' >"$tmp/src/dataset/sub/deep.txt"
tar -C "$tmp/src/dataset" -czf "$tmp/src/dataset.tar.gz" .
csv_sha=$(sha256sum "$tmp/src/data.csv" | cut -d' ' -f1)
tgz_sha=$(sha256sum "$tmp/src/dataset.tar.gz" | cut -d' ' -f1)
cp "$tmp/src/data.csv" "$store/blobs/sha256/$csv_sha"
cp "$tmp/src/dataset.tar.gz" "$store/blobs/sha256/$tgz_sha"

# write_job ID COMMAND_JSON [EXTRA_JSON]: job.json for job ID in $tmp/ID.json
write_job() {
        local id=$1 command="" extra=""
        [ -z "$2" ] || command="\"command\": $2,"
        [ -z "${3:-}" ] || extra="$3,"
        cat >"$tmp/$id.json" <<EOF
{
  "version": "hoist/v1",
  "id": "$id",
  $command
  "env": {"FOO": "bar baz", "HOIST_JOB_ID": "overridden"},
  "hyperparameters": {"lr": "0.01", "batch-size": "32"},
  "inputs": [
    {"channel": "train", "source": "file://$store/blobs/sha256/$csv_sha",
     "sha256": "$csv_sha", "filename": "data.csv", "mode": "file"},
    {"channel": "images", "source": "file://$store/blobs/sha256/$tgz_sha",
     "sha256": "$tgz_sha", "mode": "archive"}
  ],
  $extra
  "storage": {"endpoint": "file://$store", "prefix": ""},
  "attempt": 1
}
EOF
}
# run_job ID [ARGS...]: runs the job with its own work dir
run_job() {
        local id=$1
        shift
        rm -rf "$tmp/work-$id"
        rc env HOIST_JOB_FILE="$tmp/$id.json" HOIST_WORKDIR="$tmp/work-$id" HOIST_NODE=main \
                "$E" train "$@"
}
result() { jq -r "$2" "$store/jobs/$1/result.json"; }

trainer=$tmp/train.sh
cat >"$trainer" <<'EOF'
#!/bin/sh
set -e
env | grep -E '^(HOIST_|FOO=|PYTHONUNBUFFERED=)' | sort >"$HOIST_OUTPUT_DIR/env.txt"
cp "$HOIST_INPUT_TRAIN/data.csv" "$HOIST_OUTPUT_DIR/train-data.csv"
cp "$HOIST_INPUT_IMAGES/readme.txt" "$HOIST_OUTPUT_DIR/images-readme.txt"
cat "$HOIST_INPUT_IMAGES/sub/deep.txt" >"$HOIST_OUTPUT_DIR/deep-copy.txt"
echo "weights" >"$HOIST_MODEL_DIR/model.bin"
echo "step 1" >"$HOIST_CHECKPOINT_DIR/ckpt-1"
echo "training on stdout"
echo "progress on stderr" >&2
EOF
chmod +x "$trainer"

t_job_e2e() {
        write_job e2e "[\"$trainer\"]"
        [ "$(run_job e2e)" = 0 ] || return 1
        local w=$tmp/work-e2e env=$store/jobs/e2e/output/artifacts/env.txt
        [ "$(result e2e .status)" = succeeded ] && [ "$(result e2e .exit_code)" = 0 ] &&
                [ "$(result e2e .attempt)" = 1 ] && [ "$(result e2e .node)" = main ] &&
                [ "$(result e2e .started_at_ms)" -le "$(result e2e .finished_at_ms)" ] &&
                cmp -s "$store/jobs/e2e/output/artifacts/train-data.csv" "$tmp/src/data.csv" &&
                cmp -s "$store/jobs/e2e/output/artifacts/images-readme.txt" "$tmp/src/dataset/readme.txt" &&
                [ ! -e "$w/input" ] &&
                [ "$(cat "$store/jobs/e2e/output/model/model.bin")" = weights ] &&
                [ "$(cat "$store/jobs/e2e/output/artifacts/deep-copy.txt")" = deep ] &&
                [ "$(cat "$store/jobs/e2e/checkpoints/ckpt-1")" = "step 1" ] &&
                grep -qx "HOIST_INPUT_TRAIN=$w/input/train" "$env" &&
                grep -qx "HOIST_INPUT_IMAGES=$w/input/images" "$env" &&
                grep -qx "HOIST_MODEL_DIR=$w/model" "$env" &&
                grep -qx "HOIST_OUTPUT_DIR=$w/output" "$env" &&
                grep -qx "HOIST_CHECKPOINT_DIR=$w/checkpoints" "$env" &&
                grep -qx "HOIST_JOB_ID=e2e" "$env" && grep -qx "HOIST_ATTEMPT=1" "$env" &&
                grep -qx "HOIST_HP_LR=0.01" "$env" && grep -qx "HOIST_HP_BATCH_SIZE=32" "$env" &&
                grep -qx 'HOIST_HYPERPARAMETERS={"lr":"0.01","batch-size":"32"}' "$env" &&
                grep -qx "FOO=bar baz" "$env" && grep -qx "PYTHONUNBUFFERED=1" "$env" &&
                grep -qx "training on stdout" "$tmp/out" && grep -qx "progress on stderr" "$tmp/err"
}
check "job.json end to end: inputs, env, outputs, checkpoints, result" t_job_e2e
t_job_log() {
        local log=$store/jobs/e2e/logs/main.log
        local ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}Z'
        # every line stamped: "<UTC time> <stream>|<text>" (docs/entrypoint.md)
        ! grep -vqE "^$ts (stdout|stderr|hoist)[|]" "$log" &&
                grep -qE "^$ts hoist[|]hoist-entrypoint: attempt 1 started$" "$log" &&
                grep -qE "^$ts stdout[|]training on stdout$" "$log" &&
                grep -qE "^$ts stderr[|]progress on stderr$" "$log" &&
                grep -q "attempt 1 finished: succeeded (exit code 0)" "$log"
}
check "job log written to storage with both streams and the attempt line" t_job_log

t_job_fail() {
        write_job fail '["sh", "-c", "echo starting; echo \"CUDA out of memory\" >&2; exit 3"]'
        [ "$(run_job fail)" = 3 ] && [ "$(result fail .status)" = failed ] &&
                [ "$(result fail .exit_code)" = 3 ] &&
                grep -q "CUDA out of memory" <<<"$(result fail .reason)"
}
check "a failing command: its exit code, status failed, stderr tail as reason" t_job_fail

t_job_args() {
        write_job args ""
        [ "$(run_job args sh -c 'echo from-cmd; exit 0')" = 0 ] && grep -qx from-cmd "$tmp/out" &&
                [ "$(result args .status)" = succeeded ]
}
check "job without a command runs the image's CMD (ARGS after 'train')" t_job_args

t_job_not_found() {
        write_job nf '["no-such-trainer"]'
        [ "$(run_job nf)" = 127 ] && [ "$(result nf .reason)" = "command 'no-such-trainer' not found" ]
}
check "job: command not found is 127 with the reason recorded" t_job_not_found

t_job_sha() {
        write_job sha "[\"$trainer\"]"
        sed -i "s/\"sha256\": \"$csv_sha\"/\"sha256\": \"$(printf '0%.0s' {1..64})\"/" "$tmp/sha.json"
        [ "$(run_job sha)" = 125 ] &&
                grep -q "hoist-entrypoint: error: input 'train': sha256 mismatch" "$tmp/err" &&
                grep -q "$csv_sha" "$tmp/err" && [ "$(result sha .status)" = failed ] &&
                [ "$(result sha .exit_code)" = 125 ] && grep -q "sha256 mismatch" <<<"$(result sha .reason)" &&
                [ ! -e "$tmp/work-sha/input/train/data.csv" ]
}
check "sha256 mismatch: 125, named channel and digests, failed result" t_job_sha

t_job_evil_archive() {
        python3 - "$tmp/evil.tar" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    data = b"pwned\n"
    i = tarfile.TarInfo("../../escaped.txt"); i.size = len(data)
    t.addfile(i, io.BytesIO(data))
EOF
        local sha
        sha=$(sha256sum "$tmp/evil.tar" | cut -d' ' -f1)
        write_job evil "[\"$trainer\"]"
        sed -i "s|$store/blobs/sha256/$tgz_sha|$tmp/evil.tar|; s/\"sha256\": \"$tgz_sha\"/\"sha256\": \"$sha\"/" "$tmp/evil.json"
        [ "$(run_job evil)" = 125 ] && grep -q "entry '../../escaped.txt' escapes the extraction root" "$tmp/err" &&
                [ ! -e "$tmp/escaped.txt" ] && [ ! -e "$tmp/work-evil/escaped.txt" ] &&
                [ "$(result evil .status)" = failed ]
}
check "hostile archive input refused (125), nothing written outside" t_job_evil_archive

t_job_timeout() {
        write_job slow '["sleep", "30"]' '"limits": {"max_runtime_s": 1, "stop_grace_s": 1}'
        [ "$(run_job slow)" = 124 ] && [ "$(result slow .status)" = failed ] &&
                [ "$(result slow .reason)" = "exceeded max runtime of 1s" ] &&
                [ "$(result slow .exit_code)" = 124 ]
}
check "job max runtime: exit 124 and the reason recorded" t_job_timeout

t_job_cancel() {
        write_job cancel '["sh", "-c", "echo $$ > \"$HOIST_OUTPUT_DIR/pid\"; echo partial > \"$HOIST_MODEL_DIR/partial.bin\"; while :; do sleep 0.1; done"]' \
                '"limits": {"stop_grace_s": 5}'
        rm -rf "$tmp/work-cancel"
        HOIST_JOB_FILE=$tmp/cancel.json HOIST_WORKDIR=$tmp/work-cancel HOIST_NODE=main \
                "$E" train >/dev/null 2>"$tmp/err" &
        local epid=$! r=0
        bg_pids+=("$epid")
        wait_for_file "$tmp/work-cancel/output/pid" || return 1
        kill -TERM "$epid"
        wait "$epid" || r=$?
        [ "$r" = 143 ] && [ "$(result cancel .status)" = interrupted ] &&
                [ "$(result cancel .signal)" = 15 ] &&
                [ "$(cat "$store/jobs/cancel/output/model/partial.bin")" = partial ]
}
check "SIGTERM during a job: status interrupted, outputs still uploaded" t_job_cancel

t_resume() {
        # A second attempt sees the first one's checkpoints where it left them.
        write_job e2e '["sh", "-c", "test -f \"$HOIST_CHECKPOINT_DIR/ckpt-1\" && test \"$HOIST_ATTEMPT\" = 2"]'
        sed -i 's/"attempt": 1/"attempt": 2/' "$tmp/e2e.json"
        [ "$(run_job e2e)" = 0 ] && [ "$(result e2e .attempt)" = 2 ] &&
                [ "$(grep -c 'started$' "$store/jobs/e2e/logs/main.log")" = 2 ]
}
check "checkpoints survive into the next attempt; log appends" t_resume

t_bad_job() {
        printf '{"version": "hoist/v1", "id": ' >"$tmp/bad.json"
        [ "$(rc env HOIST_JOB_FILE="$tmp/bad.json" "$E" train)" = 125 ] &&
                grep -q "hoist-entrypoint: error: job '$tmp/bad.json'" "$tmp/err"
}
check "malformed job.json: 125 with the file named" t_bad_job

if [ "${HOIST_VALGRIND:-0}" = 1 ]; then
        check "valgrind: no leaks or errors in the entrypoint" "$here/valgrind-wrap.sh" --check "$tmp/vg"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
