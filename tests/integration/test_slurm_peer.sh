#!/usr/bin/env bash
# The Slurm and sshd test peers (tests/peers/slurm.sh, tests/peers/sshd.sh),
# used the way the Slurm provider uses a cluster: sbatch --parsable, squeue,
# `scontrol show job -o`, `sacct -c` (jobcomp/filetxt: no slurmdbd here),
# scancel, `scancel --signal=TERM --full`, srun tasks in a batch job, and
# sbatch through ssh to a login node.  Each test prints how long it took;
# the last one checks that stopping the peers leaves nothing running.
. "$(dirname "$0")/lib.sh"

SLURM_DIR=$T_TMP/slurm
SSH_DIR=$T_TMP/ssh
JOBS=$T_TMP/jobs # shared by the job scripts and the tests

setup() {
        mkdir -p "$JOBS"
        start_slurm "$SLURM_DIR"
        start_sshd "$SSH_DIR" "SLURM_CONF=$SLURM_CONF"
}

# acct ID: "STATE|EXITCODE" of a finished job, from the job completion file.
acct() { sacct -c -n -P -j "$1" -o state,exitcode; }
acct_is() { [ "$(acct "$1")" = "$2" ]; }
# job_state ID: JobState in `scontrol show job -o` (one line per job).
job_state() { scontrol show job -o "$1" | sed -n 's/.* JobState=\([A-Z_]*\) .*/\1/p'; }
job_state_is() { [ "$(job_state "$1")" = "$2" ]; }
# sbatch_script NAME BODY [SBATCH ARGS...]: submits a bash script, prints its id.
sbatch_script() {
        local name=$1 body=$2
        shift 2
        printf '#!/bin/bash\n%s\n' "$body" >"$JOBS/$name.sh"
        sbatch --parsable -J "$name" -o "$JOBS/$name.out" "$@" "$JOBS/$name.sh"
}
valid_id() { [[ $1 =~ ^[0-9]+$ ]] || fail "sbatch --parsable printed '$1', not a job id"; }

t_completed() {
        # Waits for a go file, so squeue sees it running; the deadline keeps
        # a lost test from leaving it behind.
        id=$(sbatch_script ok "touch $JOBS/ok.started
for i in \$(seq 600); do [ -e $JOBS/ok.go ] && break; sleep 0.1; done
echo written >$JOBS/ok.result")
        valid_id "$id"
        wait_for 60 test -e "$JOBS/ok.started"
        squeue -h -j "$id" -o '%i %T' | grep_q -x "$id RUNNING" || fail "squeue: $(squeue -h -j "$id" -o '%i %T')"
        scontrol show job -o "$id" | grep_q " JobName=ok " || fail "scontrol show job -o lacks the name"
        job_state_is "$id" RUNNING || fail "scontrol: $(job_state "$id")"
        touch "$JOBS/ok.go"
        wait_for 60 acct_is "$id" "COMPLETED|0:0" || fail "sacct -c: '$(acct "$id")'"
        [ "$(cat "$JOBS/ok.result")" = written ] || fail "the job's file"
        # COMPLETING first, while slurmd cleans up.
        wait_for 60 job_state_is "$id" COMPLETED || fail "scontrol: $(job_state "$id")"
        line=$(scontrol show job -o "$id")
        grep_q ' JobState=COMPLETED .* ExitCode=0:0 ' <<<"$line" || fail "scontrol after the end: $line"
        # Plain sacct needs slurmdbd: the provider must use sacct -c here.
        ! sacct -n -P -j "$id" >/dev/null 2>&1 || fail "plain sacct answered without slurmdbd"
}

t_failed() {
        id=$(sbatch_script fail 'echo failing; exit 3')
        valid_id "$id"
        wait_for 60 acct_is "$id" "FAILED|3:0" || fail "sacct -c: '$(acct "$id")'"
        wait_for 60 job_state_is "$id" FAILED || fail "scontrol: $(job_state "$id")"
        line=$(scontrol show job -o "$id")
        grep_q ' JobState=FAILED Reason=NonZeroExitCode .* ExitCode=3:0 ' <<<"$line" || fail "scontrol: $line"
        grep_q -x failing "$JOBS/fail.out" || fail "the job's output"
}

t_cancel() {
        id=$(sbatch_script sleeper "sleep 300 & echo \$! >$JOBS/sleeper.pid; wait")
        valid_id "$id"
        wait_for 60 test -s "$JOBS/sleeper.pid"
        pid=$(cat "$JOBS/sleeper.pid")
        scancel "$id"
        wait_for 60 acct_is "$id" "CANCELLED|0:0" || fail "sacct -c: '$(acct "$id")'"
        wait_for 60 job_state_is "$id" CANCELLED || fail "scontrol: $(job_state "$id")"
        ! pid_alive "$pid" || fail "the job's sleep $pid survived scancel"
}

t_pending_reason() {
        id=$(sbatch_script held true --hold)
        valid_id "$id"
        [ "$(squeue -h -j "$id" -o '%T %r')" = "PENDING JobHeldUser" ] || fail "squeue: $(squeue -h -j "$id" -o '%T %r')"
        scontrol show job -o "$id" | grep_q ' JobState=PENDING Reason=JobHeldUser ' || fail "scontrol"
        scancel "$id"
        wait_for 60 job_state_is "$id" CANCELLED
}

t_term_signal() {
        # --signal=B:TERM@30 with --time=1 would take 30 s: check that it is
        # accepted, and deliver the TERM the way hoist cancels.
        id=$(sbatch_script term "trap 'echo TERM >$JOBS/term.trap; exit 0' TERM
echo ready >$JOBS/term.ready
sleep 300 & wait" --time=1 --signal=B:TERM@30)
        valid_id "$id"
        wait_for 60 job_state_is "$id" RUNNING
        # RUNNING is slurmctld's word; the shell may not have set its trap
        # yet (a TERM before it kills the shell outright): wait for the shell.
        wait_for 60 test -s "$JOBS/term.ready" || fail "the batch shell did not start"
        scontrol show job -o "$id" | grep_q ' TimeLimit=00:01:00 ' || fail "the time limit"
        scancel --signal=TERM --full "$id"
        wait_for 30 test -s "$JOBS/term.trap" || fail "the batch shell's trap did not run"
        [ "$(cat "$JOBS/term.trap")" = TERM ]
        # A shell that exits 0 on TERM ends COMPLETED: the signal is not a cancel.
        wait_for 60 acct_is "$id" "COMPLETED|0:0" || fail "sacct -c: '$(acct "$id")'"
}

t_srun_tasks() {
        id=$(sbatch_script tasks "srun -N1 -n2 bash -c 'echo \$SLURM_PROCID \$SLURM_NTASKS \$SLURM_NODEID \$SLURM_LOCALID \$SLURM_JOB_NODELIST >$JOBS/rank.\$SLURM_PROCID'" -N1 -n2)
        valid_id "$id"
        wait_for 60 acct_is "$id" "COMPLETED|0:0" || fail "sacct -c: '$(acct "$id")'"
        [ "$(cat "$JOBS/rank.0")" = "0 2 0 0 $SLURM_PEER_NODE" ] || fail "rank 0: $(cat "$JOBS/rank.0")"
        [ "$(cat "$JOBS/rank.1")" = "1 2 0 1 $SLURM_PEER_NODE" ] || fail "rank 1: $(cat "$JOBS/rank.1")"
}

t_over_ssh() {
        printf '#!/bin/bash\necho "via ssh on $(hostname -s)" >%s/ssh.result\n' "$JOBS" >"$JOBS/ssh.sh"
        # As the provider will: no SLURM_CONF of ours, the login node's own.
        id=$(env -u SLURM_CONF ssh -F "$SSHD_PEER_CONFIG" 127.0.0.1 sbatch --parsable -o /dev/null "$JOBS/ssh.sh")
        valid_id "$id"
        wait_for 60 acct_is "$id" "COMPLETED|0:0" || fail "sacct -c: '$(acct "$id")'"
        [ "$(cat "$JOBS/ssh.result")" = "via ssh on $SLURM_PEER_NODE" ] || fail "the job's file"
        out=$(ssh -F "$SSHD_PEER_CONFIG" "$SSHD_PEER_HOST" sacct -c -n -P -j "$id" -o state)
        [ "$out" = COMPLETED ] || fail "sacct over ssh: $out"
}

# A second cluster beside the first, as CI and a developer's run would have:
# its knobs give 4 CPUs on whatever this machine has, 2 GPUs that are plain
# files, and MinJobAge=2, so a finished job leaves scontrol and squeue
# (after slurmctld's purge, about 10 s) while sacct -c still answers.
t_second_cluster() {
        local first_conf=$SLURM_CONF
        SLURM_PEER_CPUS=4 SLURM_PEER_GPUS=2 SLURM_PEER_MIN_JOB_AGE=2 start_slurm "$T_TMP/slurm2"
        [ "$SLURM_CONF" != "$first_conf" ] && [ "$SLURM_PEER_CPUS" = 4 ]
        [ "$(sinfo -h -N -o '%c %G %t')" = "4 gpu:2 idle" ] || fail "sinfo: $(sinfo -h -N -o '%c %G %t')"
        id=$(sbatch_script gpu 'echo "gpus=$SLURM_GPUS_ON_NODE"' --gpus-per-node=1)
        valid_id "$id"
        wait_for 60 acct_is "$id" "COMPLETED|0:0" || fail "sacct -c: '$(acct "$id")'"
        grep_q -x "gpus=1" "$JOBS/gpu.out" || fail "the GPU job saw: $(cat "$JOBS/gpu.out")"
        ! sbatch --parsable --gpus-per-node=3 --wrap true 2>"$T_TMP/gpu3.err" || fail "3 GPUs of 2 accepted"
        grep_q 'Requested node configuration is not available' "$T_TMP/gpu3.err" || fail "$(cat "$T_TMP/gpu3.err")"
        wait_for 60 sh -c "! scontrol show job -o $id" || fail "scontrol still shows $id after MinJobAge"
        ! squeue -h -j "$id" 2>/dev/null || fail "squeue still knows $id"
        acct_is "$id" "COMPLETED|0:0" || fail "sacct -c forgot $id"
        # The first cluster neither saw it nor stopped.
        SLURM_CONF=$first_conf scontrol ping | grep_q 'is UP' || fail "the first cluster is down"
}

# running_in DIR: the live processes whose command line names DIR.
running_in() {
        local all
        all=$(ps -eo stat=,pid=,args=)
        awk -v d="$1" '$1 !~ /^Z/ && index($0, d)' <<<"$all"
}

t_failed_start() {
        local d=$T_TMP/slurm-bad
        ! SLURM_PEER_CONF_EXTRA=BogusKey=1 "$T_ROOT/tests/peers/slurm.sh" start "$d" >/dev/null 2>"$T_TMP/bad.err" ||
                fail "a slurm.conf with an unknown key started"
        grep_q 'slurmctld exited at start: .*BogusKey' "$T_TMP/bad.err" || fail "the error: $(cat "$T_TMP/bad.err")"
        wait_for 30 test -z "$(running_in "$d")" || fail "left running: $(running_in "$d")"
        if [ -e "$d/run" ] || [ -e "$d/state" ]; then fail "state left in $d"; fi
}

# peer_pids: the daemons' PIDs (munged, slurmctld, slurmd, sshd), from the
# peer scripts' PID files.
peer_pids() {
        local f
        for f in "$SLURM_DIR"/run/*.daemon.pid "$SSH_DIR/sshd.pid"; do cat "$f"; done
}
none_alive() {
        local p
        for p in "$@"; do ! pid_alive "$p" || return 1; done
}

t_stop_leaves_nothing() {
        id=$(sbatch_script left "sleep 300 & echo \$! >$JOBS/left.pid; wait")
        valid_id "$id"
        wait_for 60 test -s "$JOBS/left.pid"
        ssh -F "$SSHD_PEER_CONFIG" 127.0.0.1 "echo \$\$ >$JOBS/session.pid; exec sleep 300" &
        ssh_client=$!
        wait_for 30 test -s "$JOBS/session.pid"
        pids=$(peer_pids)
        stepd=$(ps -o ppid= -p "$(cat "$JOBS/left.pid")")
        pids="$pids $(cat "$JOBS/left.pid") $stepd $(cat "$JOBS/session.pid")"
        pids="$pids $(ps -o pid= --ppid "$(cat "$SSH_DIR/sshd.pid")")"
        stop_slurm "$SLURM_DIR"
        stop_sshd "$SSH_DIR"
        wait "$ssh_client" 2>/dev/null || true
        # shellcheck disable=SC2086
        wait_for 30 none_alive $pids || fail "still running: $(ps -o pid=,args= -p "${pids// /,}")"
        if [ -e "$SLURM_DIR/state" ] || [ -e "$SLURM_DIR/munge-run" ]; then fail "state left in $SLURM_DIR"; fi
        wait_for 30 test -z "$(running_in "$SLURM_DIR")" || fail "left running: $(running_in "$SLURM_DIR")"
}

# t_timed NAME FUNC: t_run, then how long it took.
t_timed() {
        local start=$EPOCHREALTIME
        t_run "$@"
        echo "# $2: $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }')"
}

t_setup "start the Slurm and sshd peers" setup
t_timed "sbatch --parsable; squeue, scontrol show job -o and sacct -c follow it to COMPLETED" t_completed
t_timed "exit 3: FAILED, ExitCode 3:0, Reason NonZeroExitCode" t_failed
t_timed "scancel: CANCELLED, the job's processes gone" t_cancel
t_timed "a held job: PENDING with its reason" t_pending_reason
t_timed "--time/--signal=B:TERM@N accepted; scancel --signal=TERM --full reaches the batch shell" t_term_signal
t_timed "srun -N1 -n2 in a batch job: SLURM_PROCID 0 and 1" t_srun_tasks
t_timed "sbatch and sacct through ssh to the loopback login node" t_over_ssh
t_timed "a second cluster beside it: 4 CPUs, 2 fake GPUs, MinJobAge=2" t_second_cluster
t_timed "a cluster that cannot start says why and leaves nothing running" t_failed_start
t_timed "stopping the peers leaves no daemon, job or session running" t_stop_leaves_nothing
t_finish
