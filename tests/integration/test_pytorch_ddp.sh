#!/usr/bin/env bash
# The data-parallel PyTorch example (examples/pytorch-ddp/train.py) on its
# own, with Debian's python3-torch under /usr/bin/python3: real
# torch.distributed with gloo on the CPU, started the way a launcher starts
# it (torch's env:// contract) as 2 "nodes" x 2 processes: RANK 0-3,
# WORLD_SIZE 4, LOCAL_RANK 0-1, MASTER_ADDR 127.0.0.1 and a free
# MASTER_PORT; each node has its own HOIST_CHECKPOINT_DIR and
# HOIST_MODEL_DIR, as under hoist-entrypoint.
# - all four ranks join, the replicas stay equal (train.py compares every
#   rank's parameters, bit for bit, after every step) and rank 0 writes its
#   checkpoints and the model;
# - a replica that drifts (rank 3 with another learning rate) is caught at
#   the first step, on every rank;
# - a run TERMed on every rank once a checkpoint exists stops at one step on
#   all ranks with a checkpoint there; the next attempt (rank 0's checkpoint
#   dir restored on both nodes, as hoist restores the newest set on every
#   node) resumes there, is TERMed again on one rank only (one node
#   preempted: every rank stops at the same step), and the third attempt
#   ends with the same model, tensor by tensor and byte for byte, as the
#   uninterrupted run: for a fixed world size gloo's ring all-reduce sums in
#   an order fixed by the world size and the bucket layout, and every rank
#   gets the same bits (train.py's docstring has the rest);
# - nodes that restored different checkpoints are refused, naming the ranks.
# tests/integration/test_slurm_ddp.sh runs the same example under hoist on
# Slurm.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
EX=$T_ROOT/examples/pytorch-ddp
WORLD=4
PER_NODE=2

"$PY" -c 'import torch.distributed as d; assert d.is_available() and d.is_gloo_available()' 2>/dev/null || {
        echo "not ok - $PY cannot import torch with gloo (apt-get install python3-torch; scripts/deps.sh does)"
        echo "0 passed, 1 failed"
        exit 1
}

# measure WHAT SECONDS: a timing printed with the results
measure() { echo "# $1: $2 s" | tee -a "$T_TMP/timings" >&2; }


# start_ranks DIR [NAME=VALUE...]: the four ranks of one attempt, in the
# background, node N's dirs under DIR/nodeN, rank R's output in
# DIR/rankR.out and .err, pids in DIR/pids; each NAME=VALUE is set for every
# rank, and RANKn:NAME=VALUE for rank n only.
start_ranks() {
        local d=$1 port r kv
        shift
        port=$(free_port)
        mkdir -p "$d"
        : >"$d/pids"
        for ((r = 0; r < WORLD; r++)); do
                local extra=()
                for kv in "$@"; do
                        case $kv in
                        RANK"$r":*) extra+=("${kv#RANK"$r":}") ;;
                        RANK[0-9]:*) ;;
                        *) extra+=("$kv") ;;
                        esac
                done
                env RANK=$r WORLD_SIZE=$WORLD LOCAL_RANK=$((r % PER_NODE)) LOCAL_WORLD_SIZE=$PER_NODE \
                        GROUP_RANK=$((r / PER_NODE)) MASTER_ADDR=127.0.0.1 MASTER_PORT="$port" \
                        HOIST_CHECKPOINT_DIR="$d/node$((r / PER_NODE))/checkpoints" \
                        HOIST_MODEL_DIR="$d/node$((r / PER_NODE))/model" \
                        HOIST_HP_LOG_EVERY=10 "${extra[@]}" \
                        "$PY" "$EX/train.py" >"$d/rank$r.out" 2>"$d/rank$r.err" &
                echo $! >>"$d/pids"
        done
}

# wait_ranks DIR: waits for every rank; writes each one's exit code to
# DIR/rcs, in rank order ("0 0 0 0").
wait_ranks() {
        local pid rcs=() rc
        for pid in $(cat "$1/pids"); do
                rc=0
                wait "$pid" || rc=$?
                rcs+=("$rc")
        done
        echo "${rcs[*]}" >"$1/rcs"
}

show() { # DIR: what the ranks said, for a failure
        local f
        for f in "$1"/rank*.out "$1"/rank*.err; do
                echo "--- $f"
                tail -n 8 "$f"
        done
}

# restore FROM TO: rank 0's checkpoints of attempt FROM in every node's
# checkpoint dir of attempt TO, as hoist-entrypoint restores the newest
# published set on every node.
restore() {
        local n
        for ((n = 0; n < WORLD / PER_NODE; n++)); do
                mkdir -p "$2/node$n/checkpoints"
                cp "$1"/node0/checkpoints/ckpt-*.pt "$2/node$n/checkpoints/"
        done
}

has_checkpoint() { compgen -G "$1/node0/checkpoints/ckpt-*.pt" >/dev/null; }
# newer_checkpoint DIR STEP: a checkpoint after STEP in DIR's node 0
newer_checkpoint() {
        local f
        for f in "$1"/node0/checkpoints/ckpt-*.pt; do
                [ -e "$f" ] || continue
                f=${f##*/ckpt-}
                [ $((10#${f%.pt})) -gt "$2" ] && return 0
        done
        return 1
}

# stopped_step DIR: the step every rank stopped at (fails when they differ
# or one did not say)
stopped_step() {
        local r s all=
        for ((r = 0; r < WORLD; r++)); do
                s=$(sed -n "s/^{\"event\": \"stopped\", \"rank\": $r, \"step\": \([0-9]*\), .*/\1/p" "$1/rank$r.out")
                [ -n "$s" ] || { echo "rank $r did not stop: $(tail -n 3 "$1/rank$r.out" "$1/rank$r.err")" >&2; return 1; }
                all="$all $s"
        done
        [ "$(tr ' ' '\n' <<<"$all" | sort -u | grep -c .)" = 1 ] || { echo "the ranks stopped at different steps:$all" >&2; return 1; }
        echo "${all##* }"
}

# Whether two model.pt files hold the same tensors, bit for bit.
same_tensors() {
        "$PY" - "$1" "$2" <<'PY'
import sys, torch
a, b = torch.load(sys.argv[1]), torch.load(sys.argv[2])
assert a.keys() == b.keys(), (a.keys(), b.keys())
for k in a:
    assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
    assert torch.equal(a[k], b[k]), "%s differs: max |a-b| = %g" % (k, float((a[k] - b[k]).abs().max()))
print("%d tensors equal" % len(a))
PY
}

t_uninterrupted() {
        local d=$T_TMP/ref r t0 t1
        t0=$(date +%s%N)
        start_ranks "$d"
        wait_ranks "$d"
        t1=$(date +%s%N)
        measure "uninterrupted run, 4 ranks x 200 steps (start to end)" "$(((t1 - t0) / 1000000000)).$(((t1 - t0) / 10000000 % 100))"
        [ "$(cat "$d/rcs")" = "0 0 0 0" ] || { show "$d"; fail "exit codes $(cat "$d/rcs")"; }
        for ((r = 0; r < WORLD; r++)); do
                grep -q "^{\"event\": \"joined\", \"rank\": $r, \"local_rank\": $((r % PER_NODE)), \"world_size\": 4, .*\"backend\": \"gloo\"}$" \
                        "$d/rank$r.out" || { show "$d"; fail "rank $r did not join"; }
        done
        grep -q '^{"event": "started", "world_size": 4, "backend": "gloo", "device": "cpu", "torch": "1.13' "$d/rank0.out" ||
                fail "no started line: $(head -n 3 "$d/rank0.out")"
        grep -q '^{"step": 200, "loss": [0-9.e-]*}$' "$d/rank0.out" || fail "no metric line: $(tail -n 3 "$d/rank0.out")"
        grep -q '"test_accuracy": 0\.[7-9]' "$d/node0/model/metrics.json" || fail "test accuracy: $(cat "$d/node0/model/metrics.json")"
        [ "$(ls "$d/node0/checkpoints" | tr '\n' ' ')" = "ckpt-000150.pt ckpt-000175.pt ckpt-000200.pt " ] ||
                fail "checkpoints: $(ls -A "$d/node0/checkpoints")"
        # rank 0 alone writes: node 1 has neither checkpoints nor a model
        [ -z "$(find "$d/node1" -type f)" ] || fail "node 1 wrote files: $(find "$d/node1" -type f)"
        cp "$d/node0/model/model.pt" "$T_TMP/ref-model.pt"
}

t_drift_caught() {
        local d=$T_TMP/drift r
        start_ranks "$d" HOIST_HP_STEPS=20 RANK3:HOIST_HP_LR=0.02
        wait_ranks "$d"
        [ "$(cat "$d/rcs")" = "5 5 5 5" ] || { show "$d"; fail "exit codes $(cat "$d/rcs"), not 5 on every rank"; }
        for ((r = 0; r < WORLD; r++)); do
                grep -q "^train.py: error: step 1: rank [0-3]'s parameters differ from rank $r's in [0-9]* of [0-9]* values$" \
                        "$d/rank$r.err" || { show "$d"; fail "rank $r did not report the drift at step 1"; }
        done
}

t_interrupt_resume() {
        local a=$T_TMP/a1 b=$T_TMP/a2 c=$T_TMP/a3 s1 s2 pid
        [ -s "$T_TMP/ref-model.pt" ] || fail "no reference model (the uninterrupted run failed)"
        # attempt 1: every rank TERMed once rank 0 has written a checkpoint
        start_ranks "$a" HOIST_HP_SLEEP_MS=30
        wait_for 300 has_checkpoint "$a" || { show "$a"; fail "no checkpoint came"; }
        for pid in $(cat "$a/pids"); do kill -TERM "$pid"; done
        wait_ranks "$a"
        [ "$(cat "$a/rcs")" = "143 143 143 143" ] || { show "$a"; fail "after TERM: exit codes $(cat "$a/rcs")"; }
        s1=$(stopped_step "$a")
        [ "$s1" -lt 200 ] || fail "the run had finished before the TERM"
        [ -e "$a/node0/checkpoints/ckpt-$(printf %06d "$s1").pt" ] || fail "no checkpoint at step $s1: $(ls "$a/node0/checkpoints")"
        ! ls -A "$a/node0/checkpoints" | grep_q tmp || fail "temporary files left"
        echo "# attempt 1 stopped at step $s1" >&2
        # attempt 2: resumes there; only rank 3 TERMed (its node preempted)
        # once a newer checkpoint exists: every rank stops at one step
        restore "$a" "$b"
        start_ranks "$b" HOIST_HP_SLEEP_MS=30
        wait_for 300 newer_checkpoint "$b" "$s1" || { show "$b"; fail "no checkpoint after step $s1 came"; }
        kill -TERM "$(sed -n 4p "$b/pids")"
        wait_ranks "$b"
        [ "$(cat "$b/rcs")" = "143 143 143 143" ] || { show "$b"; fail "after TERM of rank 3: exit codes $(cat "$b/rcs")"; }
        grep -q "^{\"event\": \"resumed\", \"step\": $s1}$" "$b/rank0.out" || { show "$b"; fail "attempt 2 did not resume at $s1"; }
        grep -q '"rank": 3, .*"signal": "SIGTERM"}$' "$b/rank3.out" && grep -q '"rank": 0, .*"signal": "peer"}$' "$b/rank0.out" ||
                { show "$b"; fail "rank 3 should have stopped on its SIGTERM, the others on its word"; }
        s2=$(stopped_step "$b")
        [ "$s2" -gt "$s1" ] && [ "$s2" -lt 200 ] || fail "attempt 2 stopped at $s2 (attempt 1 at $s1)"
        echo "# attempt 2 stopped at step $s2" >&2
        # attempt 3: to the end, equal to the uninterrupted run
        restore "$b" "$c"
        start_ranks "$c"
        wait_ranks "$c"
        [ "$(cat "$c/rcs")" = "0 0 0 0" ] || { show "$c"; fail "attempt 3: exit codes $(cat "$c/rcs")"; }
        grep -q "^{\"event\": \"resumed\", \"step\": $s2}$" "$c/rank0.out" || { show "$c"; fail "attempt 3 did not resume at $s2"; }
        same_tensors "$T_TMP/ref-model.pt" "$c/node0/model/model.pt" || fail "the resumed model's tensors differ from the uninterrupted run's"
        cmp "$T_TMP/ref-model.pt" "$c/node0/model/model.pt" || fail "the resumed model's bytes differ"
}

t_mismatched_restore() {
        local a=$T_TMP/a1 d=$T_TMP/mismatch r
        [ -d "$a/node0/checkpoints" ] || fail "no checkpoints from the interrupted run"
        restore "$a" "$d"
        rm -f "$d"/node1/checkpoints/*
        start_ranks "$d" HOIST_HP_STEPS=20
        wait_ranks "$d"
        [ "$(cat "$d/rcs")" = "4 4 4 4" ] || { show "$d"; fail "exit codes $(cat "$d/rcs"), not 4 on every rank"; }
        for ((r = 0; r < WORLD; r++)); do
                grep -q "^train.py: error: the ranks did not load the same checkpoint (rank 0 on .*: step [0-9]* (sha256 [0-9a-f]*) in $d/node0/checkpoints; .*rank 3 on .*: no checkpoint in $d/node1/checkpoints): every node must restore the same checkpoint set before training starts$" \
                        "$d/rank$r.err" || { show "$d"; fail "rank $r: no error naming the ranks"; }
        done
}

t_run "pytorch-ddp: 2 nodes x 2 ranks join over gloo, replicas equal every step, rank 0 checkpoints and saves the model" t_uninterrupted
t_run "pytorch-ddp: a replica that drifts is caught at step 1 on every rank" t_drift_caught
t_run "pytorch-ddp: TERM on every rank, resume, TERM on one rank, resume: the uninterrupted run's model, bit for bit" t_interrupt_resume
t_run "pytorch-ddp: nodes that restored different checkpoints are refused, naming the ranks" t_mismatched_restore
[ ! -f "$T_TMP/timings" ] || cat "$T_TMP/timings"
t_finish
