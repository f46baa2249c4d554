#!/usr/bin/env bash
# hoist-entrypoint's sd_notify messages, received by a datagram socket bound
# to a path (tests/tools/notify_listener.c, what systemd's NOTIFY_SOCKET is):
# staging status with EXTEND_TIMEOUT_USEC (inputs, then the checkpoint
# restore), READY=1 once the command runs,
# WATCHDOG=1 while it runs, STOPPING=1 and the final status; the plain init
# too; nothing without NOTIFY_SOCKET (and then neither libsystemd nor, for a
# job on file storage, libcurl is loaded); a dead socket does not fail the
# job; and `podman run --sdnotify=container` forwards READY=1 from the
# bundled entrypoint as PID 1.
# Needs `make all bundle` and build/tests/notify_listener (HOIST_BIN, HOIST_BUILD).
. "$(dirname "$0")/lib.sh"

E=$HOIST_BIN/hoist-entrypoint
LISTENER=$HOIST_BUILD/tests/notify_listener
for f in "$E" "$LISTENER"; do
        [ -x "$f" ] || { echo "not ok - '$f' is missing (make all $LISTENER)"; echo "0 passed, 1 failed"; exit 1; }
done

# listen NAME: a listener on $T_TMP/NAME.sock writing $T_TMP/NAME.msgs.
listen() {
        local sock=$T_TMP/$1.sock pid
        : >"$T_TMP/$1.msgs"
        "$LISTENER" "$sock" "$T_TMP/$1.msgs" &
        pid=$!
        t_defer "kill $pid 2>/dev/null"
        wait_for 10 test -S "$sock"
}

STORE=$T_TMP/store
mkdir -p "$STORE"
echo "a,b" >"$T_TMP/train.csv"
echo "x" >"$T_TMP/extra.txt"

# write_job ID COMMAND_JSON: a job with two inputs on file storage.
write_job() {
        cat >"$T_TMP/$1.json" <<EOF
{"version": "hoist/v1", "id": "$1", "command": $2,
 "inputs": [
   {"channel": "train", "source": "file://$T_TMP/train.csv", "mode": "file"},
   {"channel": "extra", "source": "file://$T_TMP/extra.txt", "mode": "file"}
 ],
 "storage": {"endpoint": "file://$STORE", "prefix": ""}, "attempt": 1}
EOF
}

run_job() { # ID [ENV...]
        local id=$1
        shift
        env HOIST_JOB_FILE="$T_TMP/$id.json" HOIST_WORKDIR="$T_TMP/work-$id" HOIST_NODE=main \
                "$@" timeout 60 "$E" >"$T_TMP/$id.out" 2>"$T_TMP/$id.err"
}

# in_order FILE PATTERN...: each extended regex matches a line after the
# line the previous one matched.
in_order() {
        local file=$1 n=0 pat m
        shift
        for pat in "$@"; do
                m=$(tail -n +$((n + 1)) "$file" | grep -n -E -- "$pat" | sed -n '1s/:.*//p') || m=""
                [ -n "$m" ] ||
                        { echo "no line matching '$pat' after line $n of:" >&2; cat "$file" >&2; return 1; }
                n=$((n + m))
        done
}

# The command waits until the watchdog has been fed twice while it runs.
t_job() {
        listen job
        write_job job '["sh", "-c", "while [ $(grep -cx WATCHDOG=1 \"$MSGS\") -lt 2 ]; do sleep 0.05; done"]'
        run_job job NOTIFY_SOCKET="$T_TMP/job.sock" WATCHDOG_USEC=200000 MSGS="$T_TMP/job.msgs" ||
                { cat "$T_TMP/job.err"; fail "job failed"; }
        in_order "$T_TMP/job.msgs" \
                '^(WATCHDOG=1;)?EXTEND_TIMEOUT_USEC=60000000;STATUS=staging 2 input\(s\)$' \
                'EXTEND_TIMEOUT_USEC=60000000;STATUS=staging inputs 1/2 \(train\)$' \
                'EXTEND_TIMEOUT_USEC=60000000;STATUS=staging inputs 2/2 \(extra\)$' \
                'EXTEND_TIMEOUT_USEC=60000000;STATUS=restoring checkpoints$' \
                '^READY=1;(WATCHDOG=1;)?STATUS=running job$' \
                '^WATCHDOG=1$' '^WATCHDOG=1$' \
                '^STOPPING=1;STATUS=stopping: ' \
                '^STATUS=succeeded \(exit code 0\)$'
        [ "$(grep -c '^READY=1' "$T_TMP/job.msgs")" = 1 ] || fail "READY=1 sent more than once"
        [ "$(grep -c '^STOPPING=1' "$T_TMP/job.msgs")" = 1 ] || fail "STOPPING=1 sent more than once"
}

t_failed_job() {
        listen fail
        write_job fail '["sh", "-c", "exit 3"]'
        run_job fail NOTIFY_SOCKET="$T_TMP/fail.sock" && fail "exit 0"
        in_order "$T_TMP/fail.msgs" '^READY=1' '^STOPPING=1' '^STATUS=failed \(exit code 3\)$'
}

t_plain() {
        listen plain
        NOTIFY_SOCKET=$T_TMP/plain.sock timeout 60 "$E" sh -c 'exit 3' 2>"$T_TMP/plain.err" && fail "exit 0"
        in_order "$T_TMP/plain.msgs" '^READY=1;STATUS=running sh$' '^STOPPING=1' \
                '^STATUS=failed \(exit code 3\)$'
}

# Without NOTIFY_SOCKET nothing is sent, and the command sees (in its
# parent's maps) that neither libsystemd nor libcurl was loaded: a job on
# file storage without webhooks needs neither.
t_quiet() {
        listen quiet
        write_job quiet '["sh", "-c", "! grep -E \"libsystemd|libcurl\" /proc/$PPID/maps"]'
        run_job quiet || { cat "$T_TMP/quiet.err"; fail "libsystemd or libcurl loaded, or the job failed"; }
        [ ! -s "$T_TMP/quiet.msgs" ] || fail "sent without NOTIFY_SOCKET: $(cat "$T_TMP/quiet.msgs")"
        # and with it, libsystemd is loaded (lib/notify.c dlopen()s it)
        listen loaded
        write_job loaded '["sh", "-c", "grep -q libsystemd /proc/$PPID/maps"]'
        run_job loaded NOTIFY_SOCKET="$T_TMP/loaded.sock" || fail "libsystemd not loaded with NOTIFY_SOCKET"
}

t_dead_socket() {
        write_job dead '["true"]'
        run_job dead NOTIFY_SOCKET="$T_TMP/nobody-listens.sock" || { cat "$T_TMP/dead.err"; fail "job failed"; }
        grep -q "warning: sd_notify to NOTIFY_SOCKET '$T_TMP/nobody-listens.sock'.*; continuing without sd_notify" \
                "$T_TMP/dead.err" || fail "no warning: $(cat "$T_TMP/dead.err")"
}

# Through `hoist submit` with the local provider's process runtime, which
# runs the entrypoint with hoist's environment: the quickstart trainer, its
# step and loss reaching the status.
t_process_runtime() {
        new_home
        export HOIST_CONTAINER_ENGINE=none
        mkdir -p "$T_TMP/qs"
        cp -r "$T_ROOT/examples/quickstart/data" "$T_TMP/qs/data"
        cat >"$T_TMP/qs/job.yaml" <<YAML
name: sdnotify
runtime: process
command: ["$HOIST_BIN/hoist-quickstart", "train"]
inputs:
  train: data/
hyperparameters:
  steps: 200
  seed: 7
YAML
        listen proc
        NOTIFY_SOCKET=$T_TMP/proc.sock hoist submit --follow "$T_TMP/qs/job.yaml" >"$T_TMP/proc.out" 2>&1 ||
                { cat "$T_TMP/proc.out"; fail "submit --follow failed"; }
        in_order "$T_TMP/proc.msgs" 'STATUS=staging inputs 1/1 \(train\)$' '^READY=1;STATUS=running j-' \
                '^STATUS=step [0-9]+ loss [0-9]' '^STOPPING=1' '^STATUS=succeeded \(exit code 0\)$'
}

# podman's --sdnotify=container hands the container a socket of its own and
# forwards READY=1 (with MAINPID) to podman's NOTIFY_SOCKET: ours.
t_podman() {
        local image=localhost/hoist-it-sdnotify:$$
        command -v podman >/dev/null || fail "podman is not installed (scripts/deps.sh installs it)"
        "$T_ROOT/tests/peers/podman-image.sh" "$image" "$HOIST_BUILD/hoist-entrypoint-bundle.tar" \
                "$HOIST_BIN/hoist-quickstart" >/dev/null
        t_defer "podman rmi -f $image >/dev/null 2>&1"
        listen podman
        NOTIFY_SOCKET=$T_TMP/podman.sock timeout 120 podman run --rm --network=none --sdnotify=container \
                "$image" sh -c 'echo "ppid $PPID $(cat /proc/1/comm)"' >"$T_TMP/podman.out" 2>"$T_TMP/podman.err" ||
                { cat "$T_TMP/podman.err"; fail "podman run failed"; }
        grep -qx "ppid 1 hoist-entrypoin" "$T_TMP/podman.out" ||
                fail "the command's parent is not hoist-entrypoint as PID 1: $(cat "$T_TMP/podman.out")"
        wait_for 10 grep -q '^READY=1' "$T_TMP/podman.msgs" || fail "no READY=1 forwarded: $(cat "$T_TMP/podman.msgs")"
}

t_run "job: staging status, READY=1, watchdog, STOPPING=1, final status, in order" t_job
t_run "failed job: READY=1, STOPPING=1, failed status" t_failed_job
t_run "plain init: READY=1, STOPPING=1, failed status" t_plain
t_run "no NOTIFY_SOCKET: nothing sent, libsystemd and libcurl not loaded" t_quiet
t_run "NOTIFY_SOCKET nobody listens on: a warning, the job succeeds" t_dead_socket
t_run "hoist submit, process runtime: staging, READY=1, step/loss status, STOPPING=1" t_process_runtime
t_run "podman run --sdnotify=container forwards READY=1 from the bundle" t_podman
t_finish
