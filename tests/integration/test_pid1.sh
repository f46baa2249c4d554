#!/usr/bin/env bash
# hoist-entrypoint as PID 1 and supervisor (docs/entrypoint.md): the whole job
# (grandchildren that ignore SIGTERM, one in its own session) stops within
# the grace period; orphans are reaped while the command still runs; every
# stored log line is stamped, and `hoist logs` strips the stamps; a line
# printed just before the command is SIGKILLed reaches S3 storage (the
# built-in endpoint); the failure reason reaches the termination log; and
# under podman the entrypoint is PID 1, ends the grandchildren itself on
# `podman stop`, and still leaves the last line in the stored log.
. "$(dirname "$0")/lib.sh"

E=$HOIST_BIN/hoist-entrypoint
[ -x "$E" ] || { echo "not ok - no executable '$E' (set HOIST_BIN)"; echo "0 passed, 1 failed"; exit 1; }
# Under `make valgrind` the direct runs go through valgrind too (lib.sh made the wrapper).
[ "${HOIST_VALGRIND:-0}" != 1 ] || E=$T_TMP/vg-hoist-entrypoint
job_id_of() { sed -n 's/^submitted job \(j-[0-9a-f]*\)$/\1/p' "$1"; }
# gone PID: no such process, or a zombie whose reaping is not ours to wait for.
gone() { ! pid_alive "$1"; }
no_proc() { [ ! -e "/proc/$1" ]; }
STAMP='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}Z'

# The command: 3 grandchildren that ignore SIGTERM (the third in its own
# session, out of the process group), then it waits; on SIGTERM it exits 7
# at once and leaves them behind.
cat >"$T_TMP/spawner.sh" <<'EOF2'
#!/bin/sh
d=$1
for i in 1 2; do
        sh -c 'trap "" TERM; echo $$ >"$1/gc$2.pid"; while :; do sleep 1; done' sh "$d" "$i" &
done
setsid sh -c 'trap "" TERM; echo $$ >"$1/gc3.pid"; while :; do sleep 1; done' sh "$d" &
trap 'echo "main got TERM"; : >"$d/main.term"; exit 7' TERM
echo $$ >"$d/main.pid"
while :; do sleep 1; done
EOF2
chmod +x "$T_TMP/spawner.sh"

all_started() { [ -s "$1/gc1.pid" ] && [ -s "$1/gc2.pid" ] && [ -s "$1/gc3.pid" ] && [ -s "$1/main.pid" ]; }
all_gone() { for f in "$1"/gc*.pid "$1"/main.pid; do gone "$(cat "$f")" || return 1; done; }

# run_grandchildren DIR HOSTPIDS PREFIX...: the spawner under PREFIX
# (nothing, or unshare for PID 1), SIGTERM, then the entrypoint must have
# waited for the grace period and SIGKILLed what was left, and (when the
# pids it wrote are the host's: HOSTPIDS=1) nothing of the job may be left.
# In a PID namespace the kernel kills the rest once PID 1 exits, so there
# the warning is the evidence.
run_grandchildren() {
        local d=$1 hostpids=$2 rc=0 start end
        shift 2
        mkdir -p "$d"
        HOIST_STOP_GRACE_S=2 "$@" "$E" "$T_TMP/spawner.sh" "$d" >"$d/out" 2>"$d/err" &
        local epid=$! target
        trap "kill -KILL $epid 2>/dev/null || true" EXIT # t_defer does not outlive t_run's subshell
        wait_for 20 all_started "$d"
        # unshare --fork does not forward SIGTERM: signal the entrypoint itself
        target=$epid
        [ "$hostpids" = 1 ] || target=$(pgrep -P "$epid" | sed -n 1p)
        # the setsid grandchild really left the group
        if [ "$hostpids" = 1 ]; then
                [ "$(ps -o sid= -p "$(cat "$d/gc3.pid")" | tr -d ' ')" = "$(cat "$d/gc3.pid")" ] ||
                        fail "grandchild 3 is not in its own session"
        fi
        start=$(date +%s%N)
        kill -TERM "$target"
        wait "$epid" || rc=$?
        end=$(date +%s%N)
        [ "$rc" = 7 ] || [ "$rc" = 143 ] || fail "entrypoint exited $rc, not 7 or 143"
        grep -q "main got TERM" "$d/out" || fail "the command never saw SIGTERM"
        if [ "$hostpids" = 1 ]; then
                all_gone "$d" || { ps -ef | grep -v grep | grep "$d" >&2; fail "processes of the job survived"; }
        fi
        # they ignore SIGTERM: only SIGKILL at the end of the grace ended them
        [ $(((end - start) / 1000000)) -ge 1900 ] || fail "did not wait for the grace period"
        grep -Eq "process(es)? of the job still running after the grace period; sent SIGKILL" "$d/err" ||
                fail "no SIGKILL warning: $(cat "$d/err")"
}

t_grandchildren_subreaper() { run_grandchildren "$T_TMP/gc-sub" 1; }
t_grandchildren_pid1() {
        run_grandchildren "$T_TMP/gc-pid1" 0 unshare --pid --fork --mount-proc --kill-child
}

# After a normal exit, what the command left running gets SIGTERM, then
# SIGKILL once min(grace, 10 s) is over, and the exit code is the command's.
t_leftovers_after_exit() {
        local d=$T_TMP/left rc=0
        mkdir -p "$d"
        HOIST_STOP_GRACE_S=1 "$E" sh -c '
                sh -c "trap \"\" TERM; echo \$\$ >$1/stubborn.pid; while :; do sleep 1; done" &
                sh -c "echo \$\$ >$1/polite.pid; exec sleep 300" &
                while [ ! -s "$1/stubborn.pid" ] || [ ! -s "$1/polite.pid" ]; do sleep 0.1; done
                exit 3' sh "$d" >/dev/null 2>"$d/err" || rc=$?
        [ "$rc" = 3 ] || fail "exit $rc, not 3"
        gone "$(cat "$d/stubborn.pid")" || fail "the grandchild that ignores SIGTERM survived"
        gone "$(cat "$d/polite.pid")" || fail "the grandchild survived"
}

# An orphan that exits while the command still runs is reaped at once.
t_zombies_reaped_while_running() {
        local d=$T_TMP/zomb
        mkdir -p "$d"
        "$E" sh -c '
                sh -c "sleep 0.2 & echo \$! >$1/orphan.pid"
                while [ ! -e "$1/done" ]; do sleep 0.1; done' sh "$d" >/dev/null 2>&1 &
        local epid=$!
        trap "kill -KILL $epid 2>/dev/null || true" EXIT
        wait_for 10 test -s "$d/orphan.pid"
        local o
        o=$(cat "$d/orphan.pid")
        # the orphan is ours now (re-parented) and, once it exits, reaped:
        # no <defunct> entry stays while the command goes on
        wait_for 20 no_proc "$o" || fail "orphan $o left as $(ps -o stat=,comm= -p "$o")"
        kill -0 "$epid" || fail "the entrypoint ended early"
        touch "$d/done"
        wait "$epid"
}

# file:// job.json for a plain command (no inputs).
write_job() { # ID COMMAND_JSON STORE
        cat >"$T_TMP/$1.json" <<JSON
{"version": "hoist/v1", "id": "$1", "command": $2,
 "storage": {"endpoint": "file://$3", "prefix": ""}, "attempt": 1}
JSON
}

t_termination_log() {
        local store=$T_TMP/tl-store rc=0
        mkdir -p "$store"
        write_job tl '["sh", "-c", "echo working; echo \"CUDA error: out of memory\" >&2; exit 3"]' "$store"
        HOIST_JOB_FILE=$T_TMP/tl.json HOIST_WORKDIR=$T_TMP/tl-work HOIST_NODE=main \
                HOIST_TERMINATION_LOG=$T_TMP/termination-log "$E" >/dev/null 2>&1 || rc=$?
        [ "$rc" = 3 ] || fail "exit $rc, not 3"
        grep -q "CUDA error: out of memory" "$T_TMP/termination-log" ||
                fail "termination log: $(cat "$T_TMP/termination-log" 2>&1)"
        # a success writes none
        rm -f "$T_TMP/termination-log"
        write_job tl2 '["true"]' "$store"
        HOIST_JOB_FILE=$T_TMP/tl2.json HOIST_WORKDIR=$T_TMP/tl2-work HOIST_NODE=main \
                HOIST_TERMINATION_LOG=$T_TMP/termination-log "$E" >/dev/null 2>&1
        [ ! -e "$T_TMP/termination-log" ] || fail "a successful job wrote a termination log"
}

# A JSON metrics line becomes a job.metric event with its numeric fields
# (what the event sink persists under jobs/<id>/events/); every line a
# job.log event.
t_metrics_events() {
        local store=$T_TMP/mx-store
        mkdir -p "$store"
        write_job mx '["sh", "-c", "echo plain; echo \"{\\\"step\\\": 100, \\\"loss\\\": 0.25, \\\"tag\\\": \\\"x\\\"}\"; echo \"{not json\" >&2"]' "$store"
        HOIST_JOB_FILE=$T_TMP/mx.json HOIST_WORKDIR=$T_TMP/mx-work HOIST_NODE=main "$E" >/dev/null 2>&1
        local ev=$store/jobs/mx/events
        [ -d "$ev" ] || fail "no events persisted"
        [ "$(cat "$ev"/*.json | jq -s -c '[.[] | select(.type == "job.metric") | .data]')" = '[{"step":100,"loss":0.25}]' ] ||
                fail "metric events: $(cat "$ev"/*.json | jq -s -c '[.[] | select(.type == "job.metric")]')"
        cat "$ev"/*.json | jq -s -e '[.[] | select(.type == "job.log") | .data | (.lines // [.])[] | .line] as $l |
                ($l | index("plain")) != null and ($l | index("{not json")) != null' >/dev/null ||
                fail "log events: $(cat "$ev"/*.json | jq -s -c '[.[] | select(.type == "job.log")]')"
}

# Stamped lines in the file, plain text from `hoist logs`, stamps back with
# --timestamps; a line without a newline at the end is kept.
t_log_stamps() {
        new_home
        mkdir -p "$T_TMP/ls"
        printf 'name: stamps\ncommand: ["sh", "-c", "echo out-line; echo err-line >&2; printf no-newline"]\nruntime: process\n' >"$T_TMP/ls/job.yaml"
        id=$(hoist submit -q "$T_TMP/ls/job.yaml")
        hoist logs -f "$id" >"$T_TMP/ls/plain" 2>/dev/null || fail "job failed"
        local log=$HOIST_HOME/storage/jobs/$id/logs/main.log
        grep -qE "^$STAMP stdout[|]out-line$" "$log" || fail "stored: $(cat "$log")"
        grep -qE "^$STAMP stderr[|]err-line$" "$log" || fail "stored: $(cat "$log")"
        grep -qE "^$STAMP stdout[|]no-newline$" "$log" || fail "partial line lost: $(cat "$log")"
        grep -qx "out-line" "$T_TMP/ls/plain" && grep -qx "err-line" "$T_TMP/ls/plain" &&
                grep -qx "no-newline" "$T_TMP/ls/plain" || fail "hoist logs: $(cat "$T_TMP/ls/plain")"
        ! grep -qE "$STAMP" "$T_TMP/ls/plain" || fail "hoist logs kept the stamps"
        hoist logs --timestamps "$id" | grep_q -E "^$STAMP stderr[|]err-line$" ||
                fail "hoist logs --timestamps lost them"
}

# S3 storage (the built-in endpoint): the log goes up while the command
# runs, and a line printed just before the command is SIGKILLed is there.
t_s3_log_sigkill() {
        new_home
        unset HOIST_STORAGE
        export HOIST_CONTAINER_ENGINE=none
        mkdir -p "$T_TMP/s3"
        cat >"$T_TMP/s3/job.yaml" <<YAML
name: s3-log
runtime: process
command: ["sh", "-c", "echo first-line; while [ ! -e $T_TMP/s3/go ]; do sleep 0.1; done; echo last-words; kill -KILL \$\$"]
YAML
        id=$(hoist submit -q "$T_TMP/s3/job.yaml")
        # uploaded while it runs (every HOIST_LOG_SYNC_S, 2 s by default)
        wait_for 30 sh -c "'$HOIST_BIN/hoist' logs '$id' | grep -qx first-line" ||
                fail "the log did not reach S3 while the job ran"
        [ "$(job_field "$id" state)" = running ] || fail "job not running: $(job_field "$id" state)"
        touch "$T_TMP/s3/go"
        hoist logs -f "$id" >"$T_TMP/s3/out" 2>&1 && fail "a SIGKILLed job succeeded"
        [ ! -d "$HOIST_HOME/storage/jobs" ] || fail "the job used file storage"
        grep -qx last-words "$T_TMP/s3/out" || fail "last line lost: $(cat "$T_TMP/s3/out")"
        [ "$(job_field "$id" exit_code)" = 137 ] || fail "exit code $(job_field "$id" exit_code)"
}

# Under podman the entrypoint is PID 1; `podman stop -t 5` sends SIGTERM to
# it, it forwards to the group, and the line the command prints on SIGTERM
# is in the stored log when the container is gone.
IMAGE=localhost/hoist-it-pid1:$$
t_podman_image() {
        command -v podman >/dev/null || fail "podman is not installed (scripts/deps.sh installs it)"
        "$T_ROOT/tests/peers/podman-image.sh" "$IMAGE" "$HOIST_BUILD/hoist-entrypoint-bundle.tar" \
                "$HOIST_BIN/hoist-quickstart" >/dev/null || fail "build the test image"
}

t_podman_pid1() {
        local image=$IMAGE name=hoist-it-pid1-$$ store=$T_TMP/pod-store
        trap "podman rm -f $name >/dev/null 2>&1 || true" EXIT
        mkdir -p "$store"
        cat >"$store/job.json" <<'JSON'
{"version": "hoist/v1", "id": "pod", "attempt": 1,
 "command": ["sh", "-c", "trap 'echo final-line-on-term; exit 0' TERM; echo pid1=$(tr '\\0' ' ' </proc/1/cmdline); echo started; while :; do sleep 1; done"],
 "storage": {"endpoint": "file:///store", "prefix": ""}, "limits": {"stop_grace_s": 4}}
JSON
        podman run -d --name "$name" -v "$store:/store" -e HOIST_JOB_FILE=/store/job.json \
                -e HOIST_NODE=main "$image" >/dev/null
        local log=$store/jobs/pod/logs/main.log
        wait_for 60 grep -q "stdout|started" "$log" || fail "not started: $(podman logs "$name" 2>&1)"
        grep -qE "stdout[|]pid1=.*hoist-entrypoint.* train" "$log" ||
                fail "the entrypoint is not PID 1: $(cat "$log")"
        podman stop -t 5 "$name" >/dev/null
        local code
        code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
        grep -qE "^$STAMP stdout[|]final-line-on-term$" "$log" || fail "no final line: $(cat "$log")"
        [ "$(jq -r .status "$store/jobs/pod/result.json")" != succeeded ] ||
                fail "a stopped job recorded as succeeded"
        [ "$code" = 0 ] || fail "container exit code $code, not the command's 0"
}

# T_ONLY=FUNC... runs only those tests (while working on one).
if [ -n "${T_ONLY:-}" ]; then
        eval "$(declare -f t_run | sed '1s/t_run/t_run_all/')"
        t_run() { case " $T_ONLY " in *" $2 "*) t_run_all "$@" ;; esac; }
fi
# The grandchildren test in a container: `podman stop -t 20` sends SIGTERM to
# the entrypoint (PID 1), which must end the whole job itself within its
# 2 s grace period; the container's exit code is then the command's (7),
# not the 137 of podman's own SIGKILL.
t_podman_grandchildren() {
        local name=hoist-it-pid1-gc-$$ d=$T_TMP/pod-gc code
        trap "podman rm -f $name >/dev/null 2>&1 || true" EXIT
        mkdir -p "$d"
        podman run -d --name "$name" -v "$T_TMP:/t" -e HOIST_STOP_GRACE_S=2 "$IMAGE" \
                /t/spawner.sh /t/pod-gc >/dev/null
        wait_for 60 all_started "$d" || fail "not started: $(podman logs "$name" 2>&1)"
        podman stop -t 20 "$name" >/dev/null
        code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
        [ "$code" = 7 ] || fail "exit code $code, not the command's 7: $(podman logs "$name" 2>&1)"
        [ -e "$d/main.term" ] || fail "the command never saw SIGTERM"
        # conmon may still be writing the log out when podman stop returns
        wait_for 10 sh -c "podman logs '$name' 2>&1 |
                grep -Eq 'process(es)? of the job still running after the grace period; sent SIGKILL'" ||
                fail "no SIGKILL of the leftovers: $(podman logs "$name" 2>&1)"
}

# The same through hoist on the built-in S3 endpoint: the log reaches S3
# while the container runs, and after `podman stop` the line the command
# printed on SIGTERM is there too (uploaded by the entrypoint on its way out).
t_podman_s3_stop() {
        new_home
        unset HOIST_STORAGE
        export HOIST_CONTAINER_ENGINE=podman
        mkdir -p "$T_TMP/ps3"
        cat >"$T_TMP/ps3/job.yaml" <<YAML
name: pod-s3
image: $IMAGE
command: ["sh", "-c", "trap 'echo final-line-on-term; exit 0' TERM; echo started; while :; do sleep 1; done"]
limits:
  stop_grace: 4s
YAML
        id=$(hoist submit -q "$T_TMP/ps3/job.yaml")
        trap "podman rm -f hoist-$id >/dev/null 2>&1 || true" EXIT
        wait_for 60 sh -c "'$HOIST_BIN/hoist' logs '$id' 2>/dev/null | grep -qx started" ||
                fail "the log did not reach S3 while the container ran"
        [ ! -d "$HOIST_HOME/storage/jobs" ] || fail "the job used file storage"
        podman stop -t 5 "hoist-$id" >/dev/null
        hoist logs -f "$id" >"$T_TMP/ps3/out" 2>&1 || true
        grep -qx final-line-on-term "$T_TMP/ps3/out" || fail "final line lost: $(cat "$T_TMP/ps3/out")"
}

t_run "SIGTERM: grandchildren that ignore it (one in its own session) are SIGKILLed after the grace period (subreaper)" t_grandchildren_subreaper
t_run "SIGTERM: the same as PID 1 of a PID namespace" t_grandchildren_pid1
t_run "after a normal exit, leftovers get SIGTERM then SIGKILL; the exit code is the command's" t_leftovers_after_exit
t_run "orphans that exit while the command runs are reaped (no <defunct>)" t_zombies_reaped_while_running
t_run "the failure reason reaches the termination log (HOIST_TERMINATION_LOG)" t_termination_log
t_run "JSON metrics lines become job.metric events; every line a job.log event" t_metrics_events
t_run "stored lines are stamped; hoist logs strips the stamps, --timestamps keeps them" t_log_stamps
t_run "S3 storage: the log goes up while it runs, and the line before SIGKILL is kept" t_s3_log_sigkill
if [ -z "${T_ONLY:-}" ] || [[ " $T_ONLY " == *" t_podman"* ]]; then
        t_defer "podman rmi -f $IMAGE >/dev/null 2>&1"
        [ -z "${T_ONLY:-}" ] || T_ONLY="$T_ONLY t_podman_image"
        t_run "podman: build the busybox test image with the entrypoint bundle" t_podman_image
fi
t_run "podman: the entrypoint is PID 1 and podman stop leaves the final line in the log" t_podman_pid1
t_run "podman: grandchildren that ignore SIGTERM are ended by the entrypoint within its grace period" t_podman_grandchildren
t_run "podman on S3: the log goes up while it runs; after podman stop the final line is there" t_podman_s3_stop
t_finish
