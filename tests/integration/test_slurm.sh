#!/usr/bin/env bash
# The slurm provider against a real Slurm (tests/peers/slurm.sh: munged,
# slurmctld and slurmd on loopback, one node) and a real sshd standing in
# for a login node: the quickstart job as a process and under podman, cancel,
# a failing job's exit code and reason, a PENDING job's reason in hoist
# status, the same job over ssh (slurm.host), --dry-run, a hoist submit
# killed between sbatch --hold and scontrol release, and a time limit that
# TERMs the job before it hits: the final checkpoint lands, the job is
# interrupted and hoist serve resumes it to the same model as a run that
# never stopped; and hoist serve killed mid-job: the next one resumes it.
. "$(dirname "$0")/lib.sh"

QS=$T_ROOT/examples/quickstart
IMAGE=localhost/hoist-it-slurm:$$
SLURM_DIR=$T_TMP/slurm
SSH_DIR=$T_TMP/ssh
REMOTE_HOME=$T_TMP/remote-home # the login node's $HOME (~/.cache/hoist)
# publish a checkpoint set 300 ms after the trainer's last write
export HOIST_CHECKPOINT_DEBOUNCE_MS=300

setup() {
        mkdir -p "$REMOTE_HOME"
        start_slurm "$SLURM_DIR"
        start_sshd "$SSH_DIR" "SLURM_CONF=$SLURM_CONF" "HOME=$REMOTE_HOME"
}

job_id_of() { sed -n 's/^submitted job \(j-[0-9a-f]*\)$/\1/p' "$1"; }
model_of() { echo "$HOIST_HOME/storage/jobs/$1/output/model/model.bin"; }
log_of() { echo "$HOIST_HOME/storage/jobs/$1/logs/main.log"; }
state_is() { [ "$(job_field "$1" state)" = "$2" ]; }
# slurm_jobs ID: "JOBID STATE REASON" of hoist job ID's Slurm jobs in the queue.
slurm_jobs() { squeue -h -n "hoist-$1" -o '%i %T %r'; }
# acct ID: "SLURMID|STATE|EXIT" of each finished Slurm job of hoist job ID.
# (sacct -c has no --name filter: the completion file is read whole)
acct() {
        local all
        all=$(sacct -c -n -P -o jobid,jobname,state,exitcode)
        awk -F'|' -v n="hoist-$1" '$2 == n {print $1 "|" $3 "|" $4}' <<<"$all"
}
# acct_is ID LINES: the "STATE|EXIT" of its Slurm jobs, one a line, in order
# (a record is written once Slurm is done with the job).
acct_is() { [ "$(acct "$1" | cut -d'|' -f2-)" = "$2" ]; }
# why ID: what a failure message shows of job ID.
why() {
        echo "state $(job_field "$1" state): $(hoist status "$1" 2>&1; tail -5 "$(log_of "$1")" 2>&1; cat "$HOIST_HOME/run/$1"/slurm-*.out 2>&1)"
}

# write_job DIR NAME STEPS [EXTRA-YAML]: the quickstart trainer as a process
# on the Slurm node.
write_job() {
        mkdir -p "$1"
        [ -d "$1/data" ] || cp -r "$QS/data" "$1/data"
        cat >"$1/job.yaml" <<YAML
name: $2
provider: slurm
runtime: process
command: ["$HOIST_BIN/hoist-quickstart", "train"]
inputs:
  train: data/
hyperparameters:
  steps: $3
  lr: 0.05
  hidden: 16
  seed: 7
  checkpoint_every: 100
limits:
  stop_grace: 10s
${4:-}
YAML
}

# reference STEPS: the trainer's model after STEPS uninterrupted steps, run
# on its own (no hoist), in $T_TMP/ref-STEPS/m/model.bin.
reference() {
        local d=$T_TMP/ref-$1
        [ -s "$d/m/model.bin" ] && return 0
        mkdir -p "$d"
        env HOIST_INPUT_TRAIN="$QS/data" HOIST_MODEL_DIR="$d/m" HOIST_CHECKPOINT_DIR="$d/c" \
                HOIST_HP_STEPS="$1" HOIST_HP_LR=0.05 HOIST_HP_HIDDEN=16 HOIST_HP_SEED=7 \
                HOIST_HP_CHECKPOINT_EVERY=100 "$HOIST_BIN/hoist-quickstart" train >"$d/out" 2>&1 ||
                { cat "$d/out"; return 1; }
}

t_quickstart_process() {
        new_home
        write_job "$T_TMP/qs" quickstart 600 "slurm: {partition: $SLURM_PEER_PARTITION, time: 10m}"
        hoist submit --follow "$T_TMP/qs/job.yaml" >"$T_TMP/qs.out" 2>&1 || { cat "$T_TMP/qs.out"; fail "submit --follow failed"; }
        id=$(job_id_of "$T_TMP/qs.out")
        [ -n "$id" ] || fail "no job id: $(cat "$T_TMP/qs.out")"
        state_is "$id" succeeded || fail "$(why "$id")"
        [ "$(job_field "$id" exit_code)" = 0 ] || fail "exit code $(job_field "$id" exit_code)"
        [ "$(job_field "$id" provider)" = slurm ] && [ "$(job_field "$id" runtime)" = process ] ||
                fail "provider/runtime: $(job_field "$id" provider)/$(job_field "$id" runtime)"
        grep -q '"test_accuracy"' "$T_TMP/qs.out" || fail "no training output followed"
        reference 600
        cmp "$T_TMP/ref-600/m/model.bin" "$(model_of "$id")" || fail "the model differs from the trainer's own run"
        # Slurm ran it, as the job hoist named, under the script hoist kept.
        wait_for 30 acct_is "$id" "COMPLETED|0:0" || fail "sacct -c: $(acct "$id")"
        grep_q 'srun --export=ALL --kill-on-bad-exit=1' <"$HOIST_HOME/run/$id/batch.sh" || fail "no srun in batch.sh"
        [ -s "$HOIST_HOME/run/$id/slurm.json" ] || fail "no slurm.json for later attempts"
        # no secrets file was left behind (file storage: none was needed)
        [ ! -e "$HOIST_HOME/run/$id/secrets.json" ] || fail "secrets.json left behind"
}

t_quickstart_podman() {
        command -v podman >/dev/null || fail "podman is not installed (scripts/deps.sh installs it)"
        "$T_ROOT/tests/peers/podman-image.sh" "$IMAGE" "$HOIST_BUILD/hoist-entrypoint-bundle.tar" \
                "$HOIST_BIN/hoist-quickstart" >/dev/null || fail "build the test image"
        t_defer "podman rmi -f $IMAGE >/dev/null 2>&1"
        new_home
        write_job "$T_TMP/pod" podman 600 "slurm: {container_runtime: podman}"
        sed -i -e "s|^runtime: process|runtime: container\nimage: $IMAGE|" \
                -e "s|$HOIST_BIN/hoist-quickstart|/usr/local/bin/hoist-quickstart|" "$T_TMP/pod/job.yaml"
        hoist submit --follow "$T_TMP/pod/job.yaml" >"$T_TMP/pod.out" 2>&1 || { cat "$T_TMP/pod.out"; fail "submit --follow failed"; }
        id=$(job_id_of "$T_TMP/pod.out")
        state_is "$id" succeeded || fail "$(why "$id")"
        [ "$(job_field "$id" runtime)" = container ] || fail "runtime $(job_field "$id" runtime)"
        grep_q "exec podman run" <"$HOIST_HOME/run/$id/batch.sh" || fail "batch.sh does not run podman"
        wait_for 30 sh -c "[ -z \"\$(podman ps -a -q --filter name=hoist-$id)\" ]" ||
                fail "the container was left behind: $(podman ps -a --filter "name=hoist-$id")"
        reference 600
        cmp "$T_TMP/ref-600/m/model.bin" "$(model_of "$id")" || fail "the podman model differs"
}

t_cancel() {
        new_home
        mkdir -p "$T_TMP/c"
        cat >"$T_TMP/c/job.yaml" <<YAML
name: sleeper
provider: slurm
runtime: process
command: ["sh", "-c", "echo started; trap 'echo got TERM; echo \$\$ >$T_TMP/c/termed; exit 3' TERM; sleep 300 & echo \$! >$T_TMP/c/sleep.pid; wait"]
limits:
  stop_grace: 5s
YAML
        id=$(hoist submit -q "$T_TMP/c/job.yaml")
        wait_for 60 grep -q started "$(log_of "$id")" || fail "it did not start: $(cat "$HOIST_HOME/run/$id"/slurm-*.out)"
        wait_for 10 test -s "$T_TMP/c/sleep.pid"
        state_is "$id" running || fail "$(why "$id")"
        hoist cancel "$id" | grep_q "canceled job $id" || fail "hoist cancel"
        state_is "$id" canceled || fail "$(why "$id")"
        # The command got its TERM (through the entrypoint), and nothing runs.
        [ -s "$T_TMP/c/termed" ] || fail "the command never got SIGTERM"
        [ -z "$(slurm_jobs "$id")" ] || fail "Slurm still has: $(slurm_jobs "$id")"
        wait_for 30 sh -c "! kill -0 $(cat "$T_TMP/c/sleep.pid") 2>/dev/null" || fail "the job's sleep survived"
        hoist cancel "$id" | grep_q "already canceled" || fail "a second cancel"
}

t_failing_job() {
        new_home
        mkdir -p "$T_TMP/f"
        cat >"$T_TMP/f/job.yaml" <<'YAML'
name: failing
provider: slurm
runtime: process
command: ["sh", "-c", "echo 'the data is bad' >&2; exit 3"]
YAML
        ! hoist submit --follow "$T_TMP/f/job.yaml" >"$T_TMP/f.out" 2>&1 || fail "a failing job followed to success"
        id=$(job_id_of "$T_TMP/f.out")
        state_is "$id" failed || fail "$(why "$id")"
        [ "$(job_field "$id" exit_code)" = 3 ] || fail "exit code $(job_field "$id" exit_code), not 3"
        [ "$(job_field "$id" reason)" = "the data is bad" ] || fail "reason: $(job_field "$id" reason)"
        wait_for 30 acct_is "$id" "FAILED|3:0" || fail "sacct -c: $(acct "$id")"
        # What no node has is sbatch's to refuse, and the job says why.
        sed -i 's/^provider: slurm/provider: slurm\nresources: {gpus: 1}/' "$T_TMP/f/job.yaml"
        ! hoist submit "$T_TMP/f/job.yaml" >"$T_TMP/gpu.out" 2>&1 || fail "a GPU job was accepted"
        # (this cluster has no GPUs at all: no gres either)
        grep_q "'sbatch' failed (exit 1): Invalid generic resource (gres) specification" <"$T_TMP/gpu.out" ||
                fail "$(cat "$T_TMP/gpu.out")"
        gpu=$(hoist list -o json | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['id'])")
        [ "$gpu" != "$id" ] && state_is "$gpu" failed || fail "$(why "$gpu")"
        job_field "$gpu" reason | grep_q "Invalid generic resource" || fail "$(why "$gpu")"
}

# A job that cannot start: no container runtime where the job runs says so.
t_no_container_runtime() {
        new_home
        mkdir -p "$T_TMP/nr"
        cat >"$T_TMP/nr/job.yaml" <<'YAML'
name: no-runtime
provider: slurm
image: docker.io/library/busybox:latest
command: ["true"]
runtime: container
slurm:
  container_runtime: apptainer
YAML
        ! hoist submit --follow "$T_TMP/nr/job.yaml" >"$T_TMP/nr.out" 2>&1 || fail "it succeeded"
        id=$(job_id_of "$T_TMP/nr.out")
        state_is "$id" failed || fail "$(why "$id")"
        job_field "$id" reason | grep_q "slurm.container_runtime is apptainer, and .* has no apptainer" ||
                fail "reason: $(job_field "$id" reason)"
        # No log in storage: hoist shows Slurm's output file instead.
        grep_q "^hoist: slurm.container_runtime is apptainer" <"$T_TMP/nr.out" || fail "output: $(cat "$T_TMP/nr.out")"
        hoist logs "$id" | grep_q "^hoist: slurm.container_runtime is apptainer" || fail "hoist logs: $(hoist logs "$id")"
}

t_pending_reason() {
        new_home
        mkdir -p "$T_TMP/p"
        cat >"$T_TMP/p/job.yaml" <<YAML
name: hog
provider: slurm
runtime: process
command: ["sh", "-c", "echo started; sleep 300"]
resources:
  cpus: $SLURM_PEER_CPUS
limits:
  stop_grace: 2s
YAML
        first=$(hoist submit -q "$T_TMP/p/job.yaml")
        t_defer "hoist cancel -t 2 $first >/dev/null 2>&1"
        wait_for 60 grep -q started "$(log_of "$first")" || fail "the first job did not start"
        second=$(hoist submit -q "$T_TMP/p/job.yaml")
        t_defer "hoist cancel -t 2 $second >/dev/null 2>&1"
        # The second waits for the CPUs the first holds.
        wait_for 30 sh -c "squeue -h -n hoist-$second -o '%T %r' | grep -qx 'PENDING Resources'" ||
                fail "squeue: $(slurm_jobs "$second")"
        hoist status "$second" >"$T_TMP/p.status"
        grep_q "^reason: *Slurm job [0-9]*: PENDING (Resources)$" <"$T_TMP/p.status" ||
                fail "hoist status: $(cat "$T_TMP/p.status")"
        [ "$(job_field "$second" reason)" = "$(sed -n 's/^reason: *//p' "$T_TMP/p.status")" ] || fail "json reason"
        ! state_is "$second" running || fail "the waiting job is shown running"
        # Once the CPUs are free it runs, and the reason goes.
        hoist cancel -t 2 "$first" >/dev/null
        wait_for 60 grep -q started "$(log_of "$second")" || fail "the second job did not start"
        wait_for 30 state_is "$second" running || fail "$(why "$second")"
        [ -z "$(job_field "$second" reason)" ] || fail "a running job keeps reason $(job_field "$second" reason)"
        hoist cancel -t 2 "$second" >/dev/null
        state_is "$second" canceled || fail "$(why "$second")"
}

t_over_ssh() {
        new_home
        write_job "$T_TMP/ssh" over-ssh 300 "slurm: {host: 127.0.0.1, partition: $SLURM_PEER_PARTITION}"
        # As a user elsewhere would: no Slurm here, only ssh and its config.
        mkdir -p "$T_TMP/nobin"
        ln -sf "$(command -v ssh)" "$T_TMP/nobin/ssh"
        HOIST_SSH_CONFIG=$SSHD_PEER_CONFIG PATH="$T_TMP/nobin:/usr/bin:/bin" env -u SLURM_CONF \
                "$HOIST_BIN/hoist" submit --follow "$T_TMP/ssh/job.yaml" >"$T_TMP/ssh.out" 2>&1 ||
                { cat "$T_TMP/ssh.out"; fail "submit over ssh failed"; }
        id=$(job_id_of "$T_TMP/ssh.out")
        state_is "$id" succeeded || fail "$(why "$id")"
        reference 300
        cmp "$T_TMP/ref-300/m/model.bin" "$(model_of "$id")" || fail "the model differs"
        # The script and the bundle went to the login node's ~/.cache/hoist.
        rdir=$REMOTE_HOME/.cache/hoist/jobs/$id
        cmp "$HOIST_HOME/run/$id/batch.sh" "$rdir/batch.sh" || fail "the remote batch.sh differs"
        [ "$(stat -c %a "$rdir")" = 700 ] || fail "the remote job dir is $(stat -c %a "$rdir")"
        bundles=("$REMOTE_HOME"/.cache/hoist/bundles/*)
        [ ${#bundles[@]} = 1 ] && [ -x "${bundles[0]}/bin/hoist-entrypoint" ] || fail "bundles: ${bundles[*]}"
        grep_q "bundle='${bundles[0]}'" <"$rdir/batch.sh" || fail "the script does not use the copied bundle"
        # A second job reuses the bundle: it is not sent again.
        HOIST_SSH_CONFIG=$SSHD_PEER_CONFIG PATH="$T_TMP/nobin:/usr/bin:/bin" env -u SLURM_CONF \
                "$HOIST_BIN/hoist" submit --follow "$T_TMP/ssh/job.yaml" >"$T_TMP/ssh2.out" 2>&1 ||
                { cat "$T_TMP/ssh2.out"; fail "second submit over ssh failed"; }
        ! grep -q "copying the entrypoint bundle" "$T_TMP/ssh2.out" || fail "the bundle was copied again"
        grep -q "copying the entrypoint bundle" "$T_TMP/ssh.out" || fail "the first submit did not say it copied the bundle"
        # A login node that does not answer is a clear error, and no job.
        write_job "$T_TMP/bad" bad-host 10 "slurm: {host: 127.0.0.1:1}"
        ! HOIST_SSH_CONFIG=/dev/null hoist submit "$T_TMP/bad/job.yaml" >"$T_TMP/bad.out" 2>&1 || fail "an unreachable host worked"
        grep_q "ssh to '127.0.0.1:1' failed" <"$T_TMP/bad.out" || fail "error: $(cat "$T_TMP/bad.out")"
}

# Secrets reach the job through secrets.json, never the script; the file
# goes once the job has ended.
t_secrets() {
        new_home
        mkdir -p "$T_TMP/sec"
        cat >"$T_TMP/sec/job.yaml" <<YAML
name: secret
provider: slurm
runtime: process
command: ["sh", "-c", "printf %s \"\$API_TOKEN\" | sha256sum >$T_TMP/sec/seen"]
secrets:
  API_TOKEN: {env: SLURM_TEST_TOKEN}
YAML
        SLURM_TEST_TOKEN=hunter2-slurm hoist submit --follow "$T_TMP/sec/job.yaml" >"$T_TMP/sec.out" 2>&1 ||
                { cat "$T_TMP/sec.out"; fail "the job failed"; }
        id=$(job_id_of "$T_TMP/sec.out")
        [ "$(cat "$T_TMP/sec/seen")" = "$(printf %s hunter2-slurm | sha256sum)" ] || fail "the command did not get its secret"
        ! grep -rq hunter2-slurm "$HOIST_HOME/run/$id" "$HOIST_HOME/storage/jobs/$id" || fail "the secret is on disk"
        grep_q 'HOIST_SECRETS_FILE="$dir/secrets.json"' <"$HOIST_HOME/run/$id/batch.sh" || fail "the script names no secrets file"
        [ ! -e "$HOIST_HOME/run/$id/secrets.json" ] || fail "secrets.json outlived the job"
}

t_dry_run() {
        new_home
        write_job "$T_TMP/dry" dry 100 "slurm: {partition: $SLURM_PEER_PARTITION, time: 30m, qos: normal, extra_args: [--exclusive]}
resources: {cpus: 2, memory: 1GiB}
retry: {on: [interruption], max: 2}"
        hoist submit --dry-run "$T_TMP/dry/job.yaml" >"$T_TMP/dry.out" 2>"$T_TMP/dry.err" || { cat "$T_TMP/dry.err"; fail "--dry-run failed"; }
        for want in '^sbatch \\$' '--parsable' '--hold' '--partition=debug' '--qos=normal' '--time=30 ' \
                '--signal=B:TERM@10 ' '--cpus-per-task=2 ' '--mem=1024M ' '--requeue ' '--open-mode=append ' \
                '--exclusive ' '^#!/bin/bash$' 'srun --export=ALL --kill-on-bad-exit=1'; do
                grep_q -e "$want" <"$T_TMP/dry.out" || fail "no '$want' in: $(cat "$T_TMP/dry.out")"
        done
        # Nothing stored, uploaded, queued or started.
        [ "$(hoist list -o json)" = "[]" ] || fail "a job was stored: $(hoist list)"
        [ -z "$(find "$HOIST_HOME/storage" -type f 2>/dev/null)" ] || fail "uploaded: $(find "$HOIST_HOME/storage" -type f)"
        [ -z "$(ls -A "$HOIST_HOME/run" 2>/dev/null)" ] || fail "run/ holds $(ls "$HOIST_HOME/run")"
        [ -z "$(squeue -h -o %j | grep hoist- || true)" ] || fail "Slurm has: $(squeue -h -o %j)"
        [ ! -e "$HOIST_HOME/serve/serve.json" ] || fail "hoist serve was started"
        # A provider that sends nothing says so.
        sed -i '/^provider:/d; /^slurm:/d' "$T_TMP/dry/job.yaml"
        ! hoist submit --dry-run "$T_TMP/dry/job.yaml" >"$T_TMP/dry2.out" 2>&1 || fail "local --dry-run succeeded"
        grep_q "provider 'local' has nothing to show for --dry-run" <"$T_TMP/dry2.out" || fail "$(cat "$T_TMP/dry2.out")"
        # A bad slurm: section is refused at load, with its line.
        write_job "$T_TMP/bad" bad 10 "slurm:
  partiton: debug"
        ! hoist submit --dry-run "$T_TMP/bad/job.yaml" >"$T_TMP/bad.out" 2>&1 || fail "a typo passed"
        grep_q "job.yaml':[0-9]*: unknown field 'partiton' in 'slurm' (did you mean 'partition'?)" <"$T_TMP/bad.out" || fail "$(cat "$T_TMP/bad.out")"
}

# hoist submit SIGKILLed after sbatch --hold, before scontrol release: the
# store names the held job, hoist status says what happened, and the held
# job is canceled rather than left to run by nobody's choice.
t_killed_between_sbatch_and_release() {
        new_home
        write_job "$T_TMP/k" killed 100
        mkdir -p "$T_TMP/kbin"
        cat >"$T_TMP/kbin/scontrol" <<SH
#!/bin/sh
# scontrol release: what a hoist killed at this moment leaves
[ "\$1" = release ] && { echo "\$2" >$T_TMP/k/held; kill -KILL \$PPID; exit 1; }
exec $(command -v scontrol) "\$@"
SH
        chmod +x "$T_TMP/kbin/scontrol"
        PATH="$T_TMP/kbin:$PATH" hoist submit "$T_TMP/k/job.yaml" >"$T_TMP/k.out" 2>&1 && fail "hoist submit survived"
        [ -s "$T_TMP/k/held" ] || fail "scontrol release was never reached: $(cat "$T_TMP/k.out")"
        held=$(cat "$T_TMP/k/held")
        # (not hoist list: it would reconcile the job first)
        id=$(ls "$HOIST_HOME/run")
        [ "$(slurm_jobs "$id")" = "$held PENDING JobHeldUser" ] || fail "squeue: $(slurm_jobs "$id")"
        hoist status "$id" >"$T_TMP/k.status"
        state_is "$id" failed || fail "$(why "$id")"
        grep_q "Slurm job $held was left held" <"$T_TMP/k.status" || fail "status: $(cat "$T_TMP/k.status")"
        wait_for 30 sh -c "[ -z \"\$(squeue -h -n hoist-$id)\" ]" || fail "the held job is still queued: $(slurm_jobs "$id")"
        wait_for 30 acct_is "$id" "CANCELLED|0:0" || fail "sacct -c: $(acct "$id")"
        [ "$(acct "$id" | cut -d'|' -f1)" = "$held" ] || fail "sacct -c: $(acct "$id")"
        [ ! -e "$HOIST_HOME/storage/jobs/$id/logs/main.log" ] || fail "the held job ran"
}

# A 1-minute time limit: Slurm TERMs the batch shell stop_grace before it
# (--signal=B:TERM@20, which Slurm may send up to a minute early), the
# entrypoint writes the final checkpoint, the attempt is interrupted, and
# hoist serve (started for retry:) resumes it by itself.  Attempt 1 is slow
# enough to still run when the TERM comes; later ones are not slowed.
t_time_limit_resume() {
        new_home
        mkdir -p "$T_TMP/tl"
        cp -r "$QS/data" "$T_TMP/tl/data"
        cat >"$T_TMP/tl/job.yaml" <<YAML
name: timelimit
provider: slurm
runtime: process
command: ["sh", "-c", "if [ \"\$HOIST_ATTEMPT\" = 1 ]; then export HOIST_HP_SLEEP_MS=60; fi; exec $HOIST_BIN/hoist-quickstart train"]
inputs:
  train: data/
hyperparameters:
  steps: 1500
  lr: 0.05
  hidden: 16
  seed: 7
  checkpoint_every: 100
limits:
  stop_grace: 20s
retry: {on: [interruption], max: 2}
slurm:
  time: 1m
YAML
        id=$(hoist submit -q "$T_TMP/tl/job.yaml")
        [ -s "$HOIST_HOME/serve/serve.json" ] || fail "no hoist serve for a job with retry"
        # No hoist command from here until it has ended: hoist serve alone.
        wait_for 180 grep -q 'stdout|{"event": "completed"' "$(log_of "$id")" ||
                fail "it did not complete: $(tail -5 "$(log_of "$id")"; cat "$HOIST_HOME/serve/serve.log")"
        wait_for 60 state_is "$id" succeeded || fail "$(why "$id")"
        attempt=$(job_field "$id" attempt)
        [ "$attempt" -ge 2 ] || fail "attempt $attempt: it was never interrupted"
        log=$(cat "$(log_of "$id")")
        stopped=$(sed -n 's/.*stdout|{"event": "stopped", "step": \([0-9]*\), "signal": "SIGTERM"}$/\1/p' <<<"$log")
        stopped=${stopped%%$'\n'*} # attempt 1's
        [ -n "$stopped" ] || fail "the trainer never stopped on SIGTERM: $(grep -i term <<<"$log")"
        grep_q "stdout|{\"event\": \"checkpoint\", \"step\": $stopped," <<<"$log" || fail "no final checkpoint at step $stopped"
        grep_q "stdout|{\"event\": \"resumed\", \"step\": $stopped}$" <<<"$log" || fail "attempt 2 did not resume at step $stopped"
        hoist status "$id" | grep_q "attempt 2 after interrupted" || fail "$(hoist status "$id")"
        # Slurm never had to kill it: every Slurm job of it ended on its own.
        wait_for 30 sh -c "[ \$(sacct -c -n -P -o jobname | grep -cx hoist-$id) -eq $attempt ]" ||
                fail "sacct -c: $(acct "$id")"
        ! grep -q TIMEOUT <<<"$(acct "$id")" || fail "the time limit killed it: $(acct "$id")"
        reference 1500
        cmp "$T_TMP/ref-1500/m/model.bin" "$(model_of "$id")" || fail "the resumed model differs from an uninterrupted run"
}

# hoist serve killed while a Slurm job runs: the job is interrupted (a TERM
# to its steps, as a preemption sends) while no control plane runs, and the
# serve started next resumes it on Slurm from what the store and run/<id>/
# hold.
t_serve_restart() {
        new_home
        mkdir -p "$T_TMP/sr"
        cat >"$T_TMP/sr/job.yaml" <<YAML
name: serve-restart
provider: slurm
runtime: process
command: ["sh", "-c", "echo started \$HOIST_ATTEMPT >>$T_TMP/sr/log; if [ \$HOIST_ATTEMPT = 1 ]; then trap 'exit 7' TERM; while :; do sleep 0.1; done; fi; echo \$HOIST_ATTEMPT >>$T_TMP/sr/attempts"]
limits: {stop_grace: 10s}
retry: {on: [interruption], max: 1}
YAML
        id=$(hoist submit -q "$T_TMP/sr/job.yaml")
        wait_for 60 grep -q "started 1" "$T_TMP/sr/log" || fail "attempt 1 did not start: $(why "$id")"
        old=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$HOIST_HOME/serve/serve.json")
        kill -KILL "$old"
        wait_for 10 sh -c "! kill -0 $old 2>/dev/null || grep -q Z /proc/$old/stat"
        slurm_id=$(squeue -h -n "hoist-$id" -o %i)
        [ -n "$slurm_id" ] || fail "Slurm does not list the job"
        scancel --signal=TERM "$slurm_id"
        wait_for 60 sh -c "[ -z \"\$(squeue -h -j $slurm_id -t R,CG 2>/dev/null)\" ]" || fail "attempt 1 did not end"
        ! grep -q "started 2" "$T_TMP/sr/log" || fail "attempt 2 started with no hoist serve running"
        hoist serve --listen 127.0.0.1:0 >"$T_TMP/sr/serve.out" 2>&1 &
        t_defer "kill $! 2>/dev/null"
        wait_for 60 grep -qx 2 "$T_TMP/sr/attempts" || fail "the restarted serve did not resume it: $(cat "$T_TMP/sr/serve.out")"
        wait_for 30 state_is "$id" succeeded || fail "$(why "$id")"
        hoist status "$id" | grep_q "attempt 2 after interrupted" || fail "$(hoist status "$id")"
        # attempt 1 ended on its TERM (exit 7: its own trap), attempt 2 completed
        wait_for 30 acct_is "$id" "FAILED|7:0
COMPLETED|0:0" || fail "sacct -c: $(acct "$id")"
}

t_setup "start the Slurm and sshd peers" setup
t_run "quickstart as a process on Slurm: succeeded, the trainer's own model" t_quickstart_process
t_run "quickstart under podman on Slurm" t_quickstart_podman
t_run "hoist cancel: TERM reaches the command, canceled, nothing runs" t_cancel
t_run "a failing job: exit code 3 and its reason" t_failing_job
t_run "no container runtime on the node: a clear reason" t_no_container_runtime
t_run "a PENDING job's reason in hoist status" t_pending_reason
t_run "over ssh (slurm.host, HOIST_SSH_CONFIG): bundle copied once, same model" t_over_ssh
t_run "secrets: in secrets.json only, gone after the job" t_secrets
t_run "--dry-run prints sbatch and the script; stores and starts nothing" t_dry_run
t_run "hoist submit killed between sbatch --hold and release: named, canceled" t_killed_between_sbatch_and_release
t_run "hoist serve killed mid-job: the next serve resumes the interrupted Slurm job" t_serve_restart
t_run "time limit: TERM before it, final checkpoint, resumed by hoist serve, same model" t_time_limit_resume
t_finish
