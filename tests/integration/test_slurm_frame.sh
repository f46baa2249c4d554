#!/usr/bin/env bash
# The remote-provider frame on a real Slurm (tests/peers/slurm.sh): storage
# a cluster's nodes cannot reach is refused before anything is uploaded; a
# job that Slurm requeues (as after a preemption or a node failure) is
# followed, not retried twice; hoist status shows a queued job as queued,
# and what Slurm billed.
. "$(dirname "$0")/lib.sh"

QS=$T_ROOT/examples/quickstart
SLURM_DIR=$T_TMP/slurm
export HOIST_CHECKPOINT_DEBOUNCE_MS=300

log_of() { echo "$HOIST_HOME/storage/jobs/$1/logs/main.log"; }
why() {
        echo "state $(job_field "$1" state): $(hoist status "$1" 2>&1; tail -5 "$(log_of "$1")" 2>&1; cat "$HOIST_HOME/run/$1"/slurm-*.out 2>&1)"
}

# A login node that is not this machine cannot reach this machine's
# loopback: file:// storage and the built-in endpoint are refused before any
# byte is uploaded or any row stored.  The same job on the local slurmd
# (no host:) may use them.
t_loopback_refused() {
        new_home
        mkdir -p "$T_TMP/lb/data"
        echo sample >"$T_TMP/lb/data/a.txt"
        for storage in "file://$T_TMP/lb-store" ""; do
                {
                        echo "name: far"
                        echo "provider: slurm"
                        echo "runtime: process"
                        echo 'command: ["true"]'
                        echo "inputs: {train: data/}"
                        [ -z "$storage" ] || echo "storage: $storage"
                        echo "slurm: {host: login.cluster.example}"
                } >"$T_TMP/lb/job.yaml"
                if hoist submit -q "$T_TMP/lb/job.yaml" >"$T_TMP/lb/out" 2>&1; then
                        fail "accepted: $(cat "$T_TMP/lb/out")"
                fi
                grep_q "provider 'slurm'" <"$T_TMP/lb/out" || fail "the message does not name the provider: $(cat "$T_TMP/lb/out")"
                grep_q "s3://" <"$T_TMP/lb/out" || fail "no way out named: $(cat "$T_TMP/lb/out")"
                grep_q -- "--listen" <"$T_TMP/lb/out" || fail "no hoist serve --listen named: $(cat "$T_TMP/lb/out")"
                [ ! -e "$T_TMP/lb-store" ] || fail "something was written to $T_TMP/lb-store"
                [ "$(hoist list -o json)" = "[]" ] || fail "a job was stored: $(hoist list)"
        done
        [ ! -e "$HOIST_HOME/serve/serve.json" ] || fail "hoist serve was started for a refused job"
        # no host: the job runs on this machine's slurmd, loopback is fine
        sed -i '/^slurm:/d' "$T_TMP/lb/job.yaml"
        hoist submit --follow "$T_TMP/lb/job.yaml" >"$T_TMP/lb/out2" 2>&1 || fail "$(cat "$T_TMP/lb/out2")"
}

# scontrol requeue puts a running job back in Slurm's queue and runs the
# same batch script again: that is Slurm's retry, not a new hoist attempt.
# hoist follows it (queued, "requeued by slurm"), the second run resumes from
# the first one's checkpoint, and the job succeeds at attempt 1.
t_requeue_followed() {
        new_home
        mkdir -p "$T_TMP/rq"
        cp -r "$QS/data" "$T_TMP/rq/data"
        cat >"$T_TMP/rq/job.yaml" <<YAML
name: requeued
provider: slurm
runtime: process
command: ["sh", "-c", "echo run >>$T_TMP/rq/runs; if [ \$(wc -l <$T_TMP/rq/runs) = 1 ]; then export HOIST_HP_SLEEP_MS=50; fi; exec $HOIST_BIN/hoist-quickstart train"]
inputs:
  train: data/
hyperparameters: {steps: 800, lr: 0.05, hidden: 16, seed: 7, checkpoint_every: 100}
limits: {stop_grace: 10s}
retry: {on: [interruption], max: 2}
YAML
        id=$(hoist submit -q "$T_TMP/rq/job.yaml")
        wait_for 60 grep -q '"event": "checkpoint"' "$(log_of "$id")" || fail "no checkpoint: $(why "$id")"
        slurm_id=$(squeue -h -n "hoist-$id" -o %i)
        [ -n "$slurm_id" ] || fail "Slurm does not list the job"
        scontrol show job -o "$slurm_id" | grep_q ' Requeue=1 ' || fail "not submitted with --requeue (retry: is set)"
        scontrol requeue "$slurm_id" || fail "scontrol requeue $slurm_id"
        # Slurm holds a requeued job back for about two minutes (Reason
        # BeginTime); an operator may let it go at once, as here.
        wait_for 30 sh -c "scontrol show job -o $slurm_id | grep -q ' JobState=PENDING '" ||
                fail "not pending after the requeue: $(scontrol show job -o "$slurm_id")"
        scontrol update JobId="$slurm_id" StartTime=now || fail "scontrol update StartTime=now"
        wait_for 120 sh -c "[ \$(wc -l <$T_TMP/rq/runs) -ge 2 ]" || fail "Slurm did not run it again: $(why "$id")"
        wait_for 180 state_is "$id" succeeded || fail "$(why "$id")"
        [ "$(job_field "$id" attempt)" = 1 ] || fail "hoist started attempt $(job_field "$id" attempt) beside Slurm's requeue"
        [ "$(wc -l <"$T_TMP/rq/runs")" = 2 ] || fail "the command ran $(wc -l <"$T_TMP/rq/runs") times"
        [ "$(squeue -h -n "hoist-$id" | wc -l)" = 0 ] || fail "still queued: $(squeue -n "hoist-$id")"
        # The second run resumed from the first one's checkpoint.
        grep_q '"event": "resumed"' <"$(log_of "$id")" || fail "the requeued run did not resume: $(tail -5 "$(log_of "$id")")"
}

# What Slurm says it billed: elapsed seconds times nodes, with the source.
t_billing() {
        new_home
        mkdir -p "$T_TMP/b"
        printf 'name: billed\nprovider: slurm\nruntime: process\ncommand: ["sh", "-c", "sleep 2"]\n' >"$T_TMP/b/job.yaml"
        hoist submit --follow "$T_TMP/b/job.yaml" >"$T_TMP/b/out" 2>&1 || fail "$(cat "$T_TMP/b/out")"
        id=$(job_id_of "$T_TMP/b/out")
        hoist status "$id" >"$T_TMP/b/status" 2>&1
        grep_q "^billed: *[1-9][0-9]* s" <"$T_TMP/b/status" || fail "no billed seconds: $(cat "$T_TMP/b/status")"
        hoist status -o json "$id" | python3 -c '
import json, sys
b = json.load(sys.stdin)["billing"]
assert b["billed_s"] >= 2, b
assert b["nodes"] == 1, b
' || fail "json billing: $(hoist status -o json "$id")"
}

# A 2-node job (two tasks of the one slurmd) whose node 1 fails: srun ends
# node 0 too (no half-alive run), the job is failed with node 1's exit code,
# and its reason names node 1.
t_node_fails() {
        new_home
        mkdir -p "$T_TMP/nf"
        cat >"$T_TMP/nf/job.yaml" <<YAML
name: node-fails
provider: slurm
runtime: process
command: ["sh", "-c", "echo up \$HOIST_NODE_RANK >>$T_TMP/nf/up; if [ \$HOIST_NODE_RANK = 1 ]; then while [ \$(wc -l <$T_TMP/nf/up) -lt 2 ]; do sleep 0.1; done; echo node 1 gives up >&2; exit 3; fi; trap 'echo termed >$T_TMP/nf/node0.termed; exit 143' TERM; sleep 300 & wait"]
resources: {nodes: 2}
limits: {stop_grace: 5s}
slurm: {nodes_per_host: 2}
YAML
        id=$(hoist submit -q "$T_TMP/nf/job.yaml") || fail "submit"
        wait_for 120 state_is "$id" failed || fail "$(why "$id")"
        [ "$(job_field "$id" exit_code)" = 3 ] || fail "exit code $(job_field "$id" exit_code): $(why "$id")"
        [ "$(job_field "$id" reason)" = "node node1: node 1 gives up" ] || fail "the reason does not name node1 first: $(job_field "$id" reason)"
        wait_for 30 sh -c "[ -z \"\$(squeue -h -n hoist-$id)\" ]" || fail "still in Slurm: $(squeue -n "hoist-$id")"
        [ -s "$HOIST_HOME/storage/jobs/$id/results/node0.json" ] || fail "node0 wrote no result"
}

# A login node that does not answer is found out before anything is
# uploaded: the error names it, nothing is stored.
t_unreachable_host() {
        new_home
        mkdir -p "$T_TMP/uh/data"
        echo sample >"$T_TMP/uh/data/a.txt"
        cat >"$T_TMP/uh/job.yaml" <<YAML
name: unreachable
provider: slurm
runtime: process
command: ["true"]
inputs: {train: data/}
storage: file://$T_TMP/uh-store
slurm: {host: "127.0.0.1:1"}
YAML
        if hoist submit -q "$T_TMP/uh/job.yaml" >"$T_TMP/uh/out" 2>&1; then
                fail "accepted: $(cat "$T_TMP/uh/out")"
        fi
        grep_q "127.0.0.1:1" <"$T_TMP/uh/out" || fail "the host is not named: $(cat "$T_TMP/uh/out")"
        grep_q "provider 'slurm'" <"$T_TMP/uh/out" || fail "the provider is not named: $(cat "$T_TMP/uh/out")"
        [ ! -e "$T_TMP/uh-store" ] || fail "something was uploaded: $(find "$T_TMP/uh-store" -type f)"
        [ "$(hoist list -o json)" = "[]" ] || fail "a job was stored: $(hoist list)"
}

t_setup "start the Slurm peer" start_slurm "$SLURM_DIR"
t_run "loopback storage refused for a login node elsewhere, before any upload; fine on the local slurmd" t_loopback_refused
t_run "a login node that does not answer: refused before any upload, named" t_unreachable_host
t_run "scontrol requeue: followed at attempt 1, resumed from its checkpoint, succeeded" t_requeue_followed
t_run "hoist status: what Slurm billed" t_billing
t_run "a 2-node job whose node 1 fails: failed, node 1's exit code, the reason names it" t_node_fails
t_finish
