#!/usr/bin/env bash
# The data-parallel PyTorch example (examples/pytorch-ddp) run by `hoist
# submit` on real Slurm (tests/peers/slurm.sh: munged, slurmctld and one
# slurmd on loopback), as the example's job.yaml says: provider slurm, 2
# hoist nodes (two tasks of the one slurmd, slurm.nodes_per_host: 2) x 2
# processes started by hoist-entrypoint (distributed.launcher: hoist), gloo
# on the CPU, retry on interruption.
# - an uninterrupted run succeeds: all four ranks joined (each node's log
#   has its two ranks), rank 0's checkpoints and model are in the job's
#   storage, node 1 uploaded neither;
# - a run interrupted as a preemption would (`scancel --signal=TERM` to the
#   job's tasks once a checkpoint is in storage) ends its attempt `interrupted`; hoist
#   serve (started by submit for a job with retry:) starts attempt 2 with no
#   hoist command, every node restores the checkpoint, rank 0 resumes at the
#   step it stopped at, and the final model is the uninterrupted run's, bit
#   for bit (examples/pytorch-ddp/README.md says why that holds).
# test_pytorch_ddp.sh runs the same script without hoist.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
EX=$T_ROOT/examples/pytorch-ddp
SLURM_DIR=$T_TMP/slurm
export HOIST_BUNDLE_DIR=${HOIST_BUNDLE_DIR:-$HOIST_BUILD/bundle/opt/hoist}
export HOIST_CHECKPOINT_DEBOUNCE_MS=300

"$PY" -c 'import torch.distributed as d; assert d.is_gloo_available()' 2>/dev/null || {
        echo "not ok - $PY cannot import torch with gloo (apt-get install python3-torch; scripts/deps.sh does)"
        echo "0 passed, 1 failed"
        exit 1
}

measure() { echo "# $1: $2 s" | tee -a "$T_TMP/timings" >&2; }
store() { echo "$HOIST_HOME/storage/jobs/$1"; }
# slurm_id ID: the Slurm job id of hoist job ID's current attempt (job name hoist-ID)
slurm_id() { squeue -h -n "hoist-$1" -o %i | sed -n 1p; }
has_slurm_id() { [ -n "$(slurm_id "$1")" ]; }
# a checkpoint of rank 0 in the job's storage
stored_checkpoint() { [ -n "$(find "$(store "$1")/checkpoints" -name 'ckpt-*.pt' 2>/dev/null)" ]; }
no_slurm_job() { [ -z "$(squeue -h -n "hoist-$1" -o %i)" ]; }

# prepare DIR [SLEEP_MS]: the example in DIR; with SLEEP_MS its job.yaml
# pauses that long per step (a run slow enough to interrupt; it changes no
# number).  Edited as text: a YAML 1.1 dumper would write retry's `on:` as
# `true:`.
prepare() {
        mkdir -p "$1"
        cp "$EX/train.py" "$EX/job.yaml" "$1/"
        # torch's port on this one host: a free one, not the default 29500
        sed -i "s/^distributed:\$/&\n  port: $(free_port)/" "$1/job.yaml"
        [ "${2:-0}" = 0 ] || sed -i "s/^hyperparameters:\$/&\n  sleep_ms: $2/" "$1/job.yaml"
}

same_tensors() {
        "$PY" - "$1" "$2" <<'PY'
import sys, torch
a, b = torch.load(sys.argv[1]), torch.load(sys.argv[2])
assert a.keys() == b.keys(), (a.keys(), b.keys())
for k in a:
    assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
    assert torch.equal(a[k], b[k]), "%s differs: max |a-b| = %g" % (k, float((a[k] - b[k]).abs().max()))
PY
}

# joined ID NODE RANK...: NODE's stored log has the joined line of each RANK
joined() {
        local log r
        log=$(store "$1")/logs/$2.log
        for r in "${@:3}"; do
                grep -q "stdout|{\"event\": \"joined\", \"rank\": $r, \"local_rank\": $((r % 2)), \"world_size\": 4, \"host\": \"[^\"]*\", \"backend\": \"gloo\"}\$" "$log" ||
                        { echo "rank $r did not join in $2's log:" >&2; tail -n 20 "$log" >&2; return 1; }
        done
}

setup() {
        new_home
        start_slurm "$SLURM_DIR"
        # the bundle and the job's storage are on this machine, where the
        # slurmd runs
        [ "$SLURM_PEER_CPUS" -ge 2 ] || fail "the Slurm node has $SLURM_PEER_CPUS CPU; the job needs 2"
}

t_uninterrupted() {
        local d=$T_TMP/ref id t0 t1 s
        setup
        prepare "$d"
        t0=$(date +%s%N)
        id=$(hoist submit -q "$d/job.yaml" 2>"$d/submit.err") || { cat "$d/submit.err"; fail "submit"; }
        echo "$id" >"$T_TMP/ref-id"
        hoist logs -f "$id" >"$d/run.out" 2>&1 || { tail -n 40 "$d/run.out"; fail "job $id failed: $(hoist status "$id")"; }
        t1=$(date +%s%N)
        measure "uninterrupted Slurm job, 2 nodes x 2 ranks x 200 steps (submit to end)" \
                "$(((t1 - t0) / 1000000000)).$(((t1 - t0) / 10000000 % 100))"
        wait_for 60 state_is "$id" succeeded || fail "state is $(job_field "$id" state): $(hoist status "$id")"
        joined "$id" node0 0 1 || fail "node 0's ranks"
        joined "$id" node1 2 3 || fail "node 1's ranks"
        s=$(store "$id")
        grep -q '{"event": "completed", "steps": 200, "world_size": 4, "backend": "gloo", ' "$s/logs/node0.log" ||
                fail "no completed line: $(tail -n 5 "$s/logs/node0.log")"
        [ -s "$s/output/model/model.pt" ] || fail "no model.pt in storage: $(find "$s" -type f)"
        grep -q '"test_accuracy": 0\.[7-9]' "$s/output/model/metrics.json" || fail "metrics: $(cat "$s/output/model/metrics.json")"
        [ -n "$(find "$s/checkpoints" -name ckpt-000200.pt)" ] || fail "rank 0's final checkpoint is not in storage: $(find "$s/checkpoints" -type f)"
        [ ! -e "$s/checkpoints/rank-1" ] || fail "node 1 uploaded checkpoints"
        [ -s "$s/results/node0.json" ] && [ -s "$s/results/node1.json" ] || fail "a node's result record is missing: $(ls "$s/results")"
        # hoist logs: both nodes, each line prefixed; --node 1 alone, as stored
        hoist logs "$id" >"$d/all.log" 2>&1 || fail "hoist logs: $(cat "$d/all.log")"
        grep -q '^\[node0\] .*"event": "joined", "rank": 0, ' "$d/all.log" &&
                grep -q '^\[node1\] .*"event": "joined", "rank": 3, ' "$d/all.log" ||
                fail "hoist logs does not show both nodes, prefixed: $(head -5 "$d/all.log")"
        hoist logs --node 1 "$id" >"$d/node1.log" 2>&1 || fail "hoist logs --node 1: $(cat "$d/node1.log")"
        ! grep -q '"rank": 0, ' "$d/node1.log" || fail "--node 1 shows rank 0's lines"
        grep -q '"event": "joined", "rank": 2, ' "$d/node1.log" || fail "--node 1: $(head -5 "$d/node1.log")"
        cp "$s/output/model/model.pt" "$T_TMP/ref-model.pt"
}

t_interrupted_resumed() {
        local d=$T_TMP/int id sid sid2 stopped t0 t1 s
        [ -s "$T_TMP/ref-model.pt" ] || fail "no reference model (the uninterrupted run failed)"
        setup
        prepare "$d" 40
        t0=$(date +%s%N)
        id=$(hoist submit -q "$d/job.yaml" 2>"$d/submit.err") || { cat "$d/submit.err"; fail "submit"; }
        s=$(store "$id")
        [ -s "$HOIST_HOME/serve/serve.json" ] || fail "submit did not start hoist serve for a job with retry:"
        wait_for 120 has_slurm_id "$id" || fail "no Slurm job named hoist-$id: $(squeue)"
        sid=$(slurm_id "$id")
        wait_for 300 stored_checkpoint "$id" || { cat "$s"/logs/*.log; fail "no checkpoint reached storage"; }
        ! grep -q '{"event": "completed", ' "$s/logs/node0.log" || { cat "$s"/logs/*.log; fail "the run ended before a checkpoint was in storage"; }
        # TERM to every task of the job's steps (each node's
        # hoist-entrypoint), as a preemption's or a drain's grace signal:
        # not --full, which also signals srun in the batch step, and srun
        # takes a TERM for "kill the step now" (SIGKILL: the job ends
        # FAILED, exit 137, with no final checkpoint; hoist's own cancel
        # leaves --full out for that reason, providers/slurm.c)
        scancel --signal=TERM "$sid"
        wait_for 120 grep -q '{"event": "stopped", "rank": 0, ' "$s/logs/node0.log" ||
                { tail -n 20 "$s"/logs/*.log; fail "rank 0 did not stop on TERM"; }
        stopped=$(sed -n 's/.*{"event": "stopped", "rank": 0, "step": \([0-9]*\), .*/\1/p' "$s/logs/node0.log" | sed -n 1p)
        [ "$stopped" -lt 200 ] || fail "the run had finished before the TERM"
        echo "# attempt 1 (Slurm job $sid) stopped at step $stopped" >&2
        # From here no hoist command until the job has ended: hoist serve
        # sees the attempt interrupted and starts attempt 2.
        wait_for 300 grep -q "{\"event\": \"resumed\", \"step\": $stopped}" "$s/logs/node0.log" ||
                { tail -n 20 "$HOIST_HOME/serve/serve.log" "$s"/logs/*.log; fail "attempt 2 did not resume at step $stopped"; }
        wait_for 300 grep -q '{"event": "completed", ' "$s/logs/node0.log" ||
                { tail -n 20 "$s"/logs/*.log; fail "attempt 2 did not complete"; }
        wait_for 120 no_slurm_job "$id" || fail "the Slurm job is still there: $(squeue)"
        wait_for 60 state_is "$id" succeeded || fail "state is $(job_field "$id" state): $(hoist status "$id")"
        t1=$(date +%s%N)
        measure "interrupted + resumed Slurm job (submit to end; 40 ms per step)" \
                "$(((t1 - t0) / 1000000000)).$(((t1 - t0) / 10000000 % 100))"
        [ "$(job_field "$id" attempt)" = 2 ] || fail "attempt is $(job_field "$id" attempt), not 2"
        hoist status "$id" | grep_q "attempt 2 after interrupted" || fail "$(hoist status "$id")"
        sid2=$(sacct -c -n -P -o jobid,jobname | sed -n "s/^\([0-9]*\)|hoist-$id\$/\1/p" | tail -n 1)
        echo "# attempt 2: Slurm job ${sid2:-?}" >&2
        # attempt 2: every rank joined again, and node 1 restored rank 0's checkpoint
        [ "$(grep -c '{"event": "joined", "rank": 2, ' "$s/logs/node1.log")" = 2 ] ||
                fail "rank 2 did not join twice: $(grep joined "$s/logs/node1.log")"
        same_tensors "$T_TMP/ref-model.pt" "$s/output/model/model.pt" || fail "the resumed model's tensors differ from the uninterrupted run's"
        cmp "$T_TMP/ref-model.pt" "$s/output/model/model.pt" || fail "the resumed model's bytes differ"
}

t_run "slurm ddp: 2 nodes x 2 ranks (launcher hoist), all four join, rank 0's checkpoints and model in storage" t_uninterrupted
t_run "slurm ddp: scancel --signal=TERM once a checkpoint is stored, resumed by hoist serve per retry:, the uninterrupted run's model bit for bit" t_interrupted_resumed
[ ! -f "$T_TMP/timings" ] || cat "$T_TMP/timings"
t_finish
