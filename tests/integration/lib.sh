# Sourced by tests/integration/test_*.sh.  Each test is a shell function run
# in a subshell with `set -e`; `t_run NAME FUNC` prints "ok - NAME" or
# "not ok - NAME", and `t_finish` prints "N passed, N failed" and exits
# non-zero on any failure.  Temporary files live under $T_TMP, removed on exit.
set -uo pipefail

T_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HOIST_BIN=${HOIST_BIN:-$T_ROOT/bin}
HOIST_BUILD=${HOIST_BUILD:-$T_ROOT/build}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$T_ROOT/containers.conf}
T_PASSED=0
T_FAILED=0
T_TMP=$(mktemp -d /tmp/hoist-it.XXXXXX)
T_CLEANUPS=()

t_cleanup() {
        local i f
        # a built-in S3 endpoint that a test's hoist started
        for f in $(find "$T_TMP" -name serve.json -path '*/serve/*' 2>/dev/null); do
                kill "$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$f")" 2>/dev/null || true
        done
        for ((i = ${#T_CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${T_CLEANUPS[i]}" || true; done
        rm -rf "$T_TMP"
}
trap t_cleanup EXIT
# a suite stopped by run-integration.sh's timeout still cleans up
trap 'exit 143' TERM
t_defer() { T_CLEANUPS+=("$1"); }
# What a test registered with t_defer, run when its t_run subshell ends (the
# subshell's T_CLEANUPS would otherwise be lost with it).
t_run_deferred() {
        local i
        for ((i = ${#T_CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${T_CLEANUPS[i]}" || true; done
}

# hoist and hoist-entrypoint, under valgrind when HOIST_VALGRIND=1: the
# process runtime finds the entrypoint through HOIST_ENTRYPOINT.
if [ "${HOIST_VALGRIND:-0}" = 1 ]; then
        "$T_ROOT/tests/integration/valgrind-wrap.sh" --make "$T_TMP/vg" "$HOIST_BIN/hoist" "$T_TMP/vg-hoist"
        "$T_ROOT/tests/integration/valgrind-wrap.sh" --make "$T_TMP/vg" "$HOIST_BIN/hoist-entrypoint" \
                "$T_TMP/vg-hoist-entrypoint"
        export HOIST_ENTRYPOINT=$T_TMP/vg-hoist-entrypoint
fi
hoist() {
        if [ "${HOIST_VALGRIND:-0}" = 1 ]; then
                "$T_TMP/vg-hoist" "$@"
        else
                "$HOIST_BIN/hoist" "$@"
        fi
}

t_run() { # NAME FUNC
        local name=$1 fn=$2 rc
        # T_ONLY=GLOB runs only the tests whose function matches (debugging)
        [ -z "${T_ONLY:-}" ] || [[ $fn == $T_ONLY ]] || return 0
        ( set -e; T_CLEANUPS=(); trap t_run_deferred EXIT; trap 'exit 143' TERM; "$fn" ) >"$T_TMP/out.$fn" 2>&1
        rc=$?
        if [ $rc -eq 0 ]; then
                echo "ok - $name"
                T_PASSED=$((T_PASSED + 1))
        else
                echo "not ok - $name (exit $rc)"
                sed 's/^/    # /' "$T_TMP/out.$fn" | tail -40
                T_FAILED=$((T_FAILED + 1))
        fi
}

t_valgrind_clean() { "$T_ROOT/tests/integration/valgrind-wrap.sh" --check "$T_TMP/vg"; }

t_finish() {
        if [ "${HOIST_VALGRIND:-0}" = 1 ]; then
                t_run "valgrind: no leaks or errors in hoist and hoist-entrypoint" t_valgrind_clean
        fi
        echo "$T_PASSED passed, $T_FAILED failed"
        [ "$T_FAILED" -eq 0 ]
}

# t_setup WHAT CMD...: runs CMD in this shell (it may export what the tests
# need) with its output in $T_TMP/setup.log and prints how long it took; if
# it fails, one failed test "setup: WHAT" with the log's tail, and the suite
# ends there.
t_setup() {
        local what=$1 start=$EPOCHREALTIME
        shift
        if ! "$@" >"$T_TMP/setup.log" 2>&1; then
                echo "not ok - setup: $what"
                sed 's/^/    # /' "$T_TMP/setup.log" | tail -30
                T_FAILED=$((T_FAILED + 1))
                t_finish
                exit 1
        fi
        echo "# setup: $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }')"
}

# Fails the current test with a message.
fail() { echo "FAIL: $*" >&2; return 1; }

# grep_q ARGS...: `grep -q ARGS` on its input, read whole first.  After a
# pipe, grep -q exits at its first match and the command before it, if still
# writing, dies of SIGPIPE: pipefail makes that a failure, at random
# (scripts/check-pipes.sh flags `| grep -q`).
grep_q() {
        local in
        in=$(cat)
        grep -q "$@" <<<"$in"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on now (suites
# run side by side in CI: a fixed port such as torch's 29500 is not free).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_for() {
        local limit=$1 i=0
        shift
        while ! "$@" >/dev/null 2>&1; do
                i=$((i + 1))
                [ $i -lt $((limit * 10)) ] || { echo "timed out after ${limit}s: $*" >&2; return 1; }
                sleep 0.1
        done
}

# pid_alive PID: running or sleeping, not a zombie (PID 1 here may be slow to reap).
pid_alive() {
        local s
        s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
        [ -n "$s" ] && [ "${s:0:1}" != Z ]
}

# start_rgw DIR: Ceph radosgw on loopback (tests/peers/ceph-rgw.sh), stopped
# at exit, with the AWS variables pointing at it and at nothing else of this
# machine's (no IMDS, no profile files).
start_rgw() {
        local kv
        mkdir -p "$1"
        t_defer "'$T_ROOT/tests/peers/ceph-rgw.sh' stop '$1'"
        "$T_ROOT/tests/peers/ceph-rgw.sh" start "$1" || return 1
        for kv in $(cat "$1/env"); do
                case $kv in
                endpoint=*) export AWS_ENDPOINT_URL=${kv#endpoint=} ;;
                access=*) export AWS_ACCESS_KEY_ID=${kv#access=} ;;
                secret=*) export AWS_SECRET_ACCESS_KEY=${kv#secret=} ;;
                esac
        done
        export AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1
        export AWS_SHARED_CREDENTIALS_FILE=$T_TMP/none AWS_CONFIG_FILE=$T_TMP/none
        unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3
}

# A fresh HOIST_HOME for one test, storing jobs in its file:// storage
# (test_builtin_storage.sh covers the default, the built-in S3 endpoint).
# Its config.yaml agrees in advance to uploads that leave the machine (a
# test that moves HOIST_STORAGE to S3); test_consent.sh covers the rest.
new_home() {
        HOIST_HOME=$(mktemp -d "$T_TMP/home.XXXXXX")
        export HOIST_HOME HOIST_STORAGE=file://$HOIST_HOME/storage
        echo 'consent: allow' >"$HOIST_HOME/config.yaml"
}

# job_id_of FILE: the id in a "submitted job j-..." line of FILE (hoist
# submit's output).
job_id_of() { sed -n 's/^submitted job \(j-[0-9a-f]*\)$/\1/p' "$1"; }
# state_is ID STATE: whether job ID is in STATE.
state_is() { [ "$(job_field "$1" state)" = "$2" ]; }

# job_field ID FIELD: a field of `hoist status -o json`.
job_field() {
        hoist status -o json "$1" | python3 -c "import json,sys; v=json.load(sys.stdin)['$2']; print('' if v is None else v)"
}

# start_slurm DIR: a one-node Slurm cluster on loopback (tests/peers/slurm.sh:
# munged, slurmctld, slurmd, state in DIR), stopped at exit, its node idle.
# Exports SLURM_CONF (every client command reads it), SLURM_PEER_NODE,
# SLURM_PEER_PARTITION and SLURM_PEER_CPUS.  The SLURM_PEER_* knobs that
# slurm.sh describes (fake GPUs, MinJobAge...) apply when set.
start_slurm() {
        mkdir -p "$1"
        t_defer "stop_slurm '$1'"
        "$T_ROOT/tests/peers/slurm.sh" start "$1" >/dev/null || return 1
        . "$1/env"
}
# stop_slurm DIR: its jobs cancelled, its daemons stopped by PID.
stop_slurm() { "$T_ROOT/tests/peers/slurm.sh" stop "$1"; }

# start_sshd DIR [NAME=VALUE...]: sshd on loopback standing in for a login
# node (tests/peers/sshd.sh), stopped at exit; each NAME=VALUE is set in its
# sessions.  Exports SSHD_PEER_CONFIG (`ssh -F "$SSHD_PEER_CONFIG"
# 127.0.0.1 CMD` logs in as root with no prompt), SSHD_PEER_HOST (an alias
# in that file), SSHD_PEER_PORT and SSHD_PEER_KEY.
start_sshd() {
        local d=$1
        mkdir -p "$d"
        t_defer "stop_sshd '$d'"
        "$T_ROOT/tests/peers/sshd.sh" start "$@" >/dev/null || return 1
        . "$d/env"
}
# stop_sshd DIR: sshd and its sessions stopped by PID.
stop_sshd() { "$T_ROOT/tests/peers/sshd.sh" stop "$1"; }
