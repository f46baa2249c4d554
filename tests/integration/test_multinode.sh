#!/usr/bin/env bash
# Multi-node jobs (docs/entrypoint.md "Multi-node").  First without a
# scheduler in between: two hoist-entrypoints started by hand with the
# environment srun gives two tasks of one Slurm node (tests/data/distenv/ has
# real ones), as a job of 2 nodes x 2 workers (launcher: hoist, file://
# storage): the variables every worker gets, a failing worker ending its
# node with its exit code after the others got SIGTERM, what each node
# stores (logs, results/<node>.json; checkpoints and outputs from rank 0
# alone), and a real torch.distributed all_reduce over gloo across the four.
# Then the same under real srun (tests/peers/slurm.sh), torchrun's argv read
# by torch's own parser, and the batch-size check of `hoist submit`.
. "$(dirname "$0")/lib.sh"

E=$HOIST_BIN/hoist-entrypoint
PY=/usr/bin/python3 # Debian's, with python3-torch
SCRIPT=$T_ROOT/tests/data/multinode/check_env.py
HOST=$(hostname)


# write_job DIR ID MODE [EXTRA_JSON]: job.json of 2 nodes x 2 workers in DIR/job.json.
write_job() {
        local dir=$1 id=$2 mode=$3 extra=${4:-}
        mkdir -p "$dir/store" "$dir/out"
        cat >"$dir/job.json" <<EOF
{
  "version": "hoist/v1",
  "id": "$id",
  "command": ["$PY", "$SCRIPT", "$mode"],
  "env": {"OUT": "$dir/out", "FAIL_RANK": "3"},
  "storage": {"endpoint": "file://$dir/store", "prefix": ""},
  "limits": {"stop_grace_s": 20},
  "distributed": {"nodes": 2, "launcher": "hoist", "nproc_per_node": 2,
                  "port": $(free_port) $extra},
  "attempt": 1
}
EOF
}

# start_node DIR RANK: one hoist-entrypoint as srun starts task RANK of 2 on
# one node; its pid in DIR/pid.RANK, its exit code in DIR/rc.RANK.
start_node() {
        local dir=$1 r=$2
        (
                set +e
                env -u CUDA_VISIBLE_DEVICES \
                        SLURM_JOB_ID=4242 SLURM_JOB_NODELIST="$HOST" SLURM_NNODES=1 \
                        SLURM_NTASKS=2 SLURM_TASKS_PER_NODE=2 SLURM_PROCID="$r" SLURM_NODEID=0 \
                        SLURM_LOCALID="$r" HOIST_JOB_FILE="$dir/job.json" \
                        HOIST_WORKDIR="$dir/work$r" HOIST_NVML_LIBRARY=/nonexistent \
                        "$E" >"$dir/node$r.out" 2>&1 &
                echo $! >"$dir/pid.$r"
                wait $!
                echo $? >"$dir/rc.$r"
        ) &
        wait_for 10 test -s "$dir/pid.$r"
        t_defer "kill -KILL $(cat "$dir/pid.$r") 2>/dev/null"
}

run_nodes() { # DIR: both nodes, until both ended
        start_node "$1" 0
        start_node "$1" 1
        wait_for 180 test -s "$1/rc.0" -a -s "$1/rc.1" || {
                tail -n 20 "$1"/node*.out >&2
                return 1
        }
}

# json_get FILE KEY
json_get() { $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

t_contract() {
        d=$T_TMP/ok
        write_job "$d" mn-ok ok
        run_nodes "$d"
        [ "$(cat "$d/rc.0")" = 0 ] && [ "$(cat "$d/rc.1")" = 0 ] ||
                fail "exit codes $(cat "$d/rc.0") $(cat "$d/rc.1"): $(cat "$d"/node*.out)"
        port=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["distributed"]["port"])' "$d/job.json")
        ip=$(getent ahostsv4 "$HOST" | awk 'NR==1 {print $1}')
        for r in 0 1 2 3; do
                f=$d/out/rank-$r.json
                [ -s "$f" ] || fail "rank $r wrote nothing"
                node=$((r / 2))
                want="{\"CUDA_VISIBLE_DEVICES\": null, \"GROUP_RANK\": \"$node\", \"HOIST_NODE_IPS\": \"$ip,$ip\", \"HOIST_NODE_RANK\": \"$node\", \"HOIST_NUM_NODES\": \"2\", \"LOCAL_RANK\": \"$((r % 2))\", \"LOCAL_WORLD_SIZE\": \"2\", \"MASTER_ADDR\": \"$HOST\", \"MASTER_PORT\": \"$port\", \"NNODES\": \"2\", \"NODE_RANK\": \"$node\", \"NPROC_PER_NODE\": \"2\", \"RANK\": \"$r\", \"ROLE_RANK\": \"$r\", \"WORLD_SIZE\": \"4\"}"
                [ "$(cat "$f")" = "$want" ] || fail "rank $r: $(cat "$f"), want $want"
        done
        s=$d/store/jobs/mn-ok
        for n in node0 node1; do
                [ -s "$s/logs/$n.log" ] || fail "no logs/$n.log"
                [ "$(json_get "$s/results/$n.json" status)" = succeeded ] || fail "results/$n.json"
                [ "$(json_get "$s/results/$n.json" node)" = "$n" ] || fail "results/$n.json node"
        done
        grep_q "rank 0 ok" <"$s/logs/node0.log" && grep_q "rank 1 ok" <"$s/logs/node0.log" ||
                fail "node0's log lacks its workers' lines: $(cat "$s/logs/node0.log")"
        grep_q "rank 2 ok" <"$s/logs/node1.log" && grep_q "rank 3 ok" <"$s/logs/node1.log" ||
                fail "node1's log lacks its workers' lines"
        grep_q "node 1 of 2 (placed by Slurm)" <"$s/logs/node1.log" || fail "node1's log lacks its place"
        [ "$(json_get "$s/result.json" node)" = node0 ] || fail "result.json is not rank 0's"
        cmp "$s/result.json" "$s/results/node0.json" || fail "result.json differs from node0's"
        # Outputs: rank 0's node alone (its two workers' files), checkpoints too.
        [ -s "$s/output/model/model-0.txt" ] && [ -s "$s/output/model/model-1.txt" ] ||
                fail "rank 0's outputs are not stored: $(ls -R "$s/output" 2>&1)"
        [ ! -e "$s/output/model/model-2.txt" ] || fail "node1 uploaded its outputs"
        ls "$s/checkpoints/.hoist/" | grep_q '^manifest-' || fail "no checkpoint set from rank 0"
        [ "$(cat "$s/checkpoints/ckpt.txt")" = "step 1 node 0" ] || fail "checkpoint content"
        # Both nodes on one host: each its own work root under HOIST_WORKDIR.
        [ -s "$d/work0/node0/model/model-0.txt" ] && [ -s "$d/work1/node1/model/model-2.txt" ] ||
                fail "work roots: $(find "$d"/work* -name 'model-*')"
}

t_per_rank_checkpoints() {
        d=$T_TMP/perrank
        write_job "$d" mn-pr ok ', "checkpoints_per_rank": true'
        run_nodes "$d"
        [ "$(cat "$d/rc.0")" = 0 ] && [ "$(cat "$d/rc.1")" = 0 ] || fail "exit codes"
        s=$d/store/jobs/mn-pr/checkpoints
        [ "$(cat "$s/rank-0/ckpt.txt")" = "step 1 node 0" ] || fail "rank-0 set: $(ls -R "$s" 2>&1)"
        [ "$(cat "$s/rank-1/ckpt.txt")" = "step 1 node 1" ] || fail "rank-1 set: $(ls -R "$s" 2>&1)"
        [ ! -e "$s/ckpt.txt" ] || fail "a checkpoint outside the rank prefixes"
}

t_worker_failure() {
        d=$T_TMP/fail
        write_job "$d" mn-fail fail-one
        start_node "$d" 0
        start_node "$d" 1
        # Rank 3 (node1's worker 1) exits 7: node1 ends with 7, and its other
        # worker got SIGTERM.  Node0 is not told by hoist: the engine ends a
        # job on every node (srun --kill-on-bad-exit), here the test's TERM.
        wait_for 120 test -s "$d/rc.1" || fail "node1 did not end: $(cat "$d/node1.out")"
        kill -TERM "$(cat "$d/pid.0")"
        wait_for 60 test -s "$d/rc.0"
        [ "$(cat "$d/rc.1")" = 7 ] || fail "node1 exit code $(cat "$d/rc.1"): $(cat "$d/node1.out")"
        [ -e "$d/out/term-2" ] || fail "rank 2 got no SIGTERM"
        s=$d/store/jobs/mn-fail
        [ "$(json_get "$s/results/node1.json" status)" = failed ] || fail "results/node1.json"
        json_get "$s/results/node1.json" reason | grep_q "^worker 1 (RANK 3): rank 3 failing on purpose" ||
                fail "reason: $(json_get "$s/results/node1.json" reason)"
        [ "$(json_get "$s/results/node1.json" exit_code)" = 7 ] || fail "exit_code in results/node1.json"
}

t_external_term() {
        d=$T_TMP/term
        write_job "$d" mn-term fail-one
        # FAIL_RANK 9: nobody fails; every worker waits for TERM.
        sed -i 's/"FAIL_RANK": "3"/"FAIL_RANK": "9"/' "$d/job.json"
        start_node "$d" 0
        wait_for 60 test -e "$d/out/up-0" -a -e "$d/out/up-1"
        kill -TERM "$(cat "$d/pid.0")"
        wait_for 60 test -s "$d/rc.0"
        [ -e "$d/out/term-0" ] && [ -e "$d/out/term-1" ] || fail "not every worker got SIGTERM"
        [ "$(json_get "$d/store/jobs/mn-term/results/node0.json" status)" = interrupted ] ||
                fail "status $(json_get "$d/store/jobs/mn-term/results/node0.json" status)"
}

t_torch_allreduce() {
        $PY -c 'import torch.distributed' 2>/dev/null || fail "python3-torch is not installed (tests/deps.sh)"
        d=$T_TMP/torch
        write_job "$d" mn-torch allreduce
        run_nodes "$d"
        [ "$(cat "$d/rc.0")" = 0 ] && [ "$(cat "$d/rc.1")" = 0 ] ||
                fail "exit codes $(cat "$d/rc.0") $(cat "$d/rc.1"): $(tail -n 30 "$d"/store/jobs/mn-torch/logs/*.log)"
        for r in 0 1 2 3; do
                [ "$(cat "$d/out/allreduce-$r")" = 10 ] || fail "rank $r: $(cat "$d/out/allreduce-$r")"
        done
}

t_unplaced() {
        d=$T_TMP/unplaced
        write_job "$d" mn-bad ok
        r=0
        env -u SLURM_JOB_ID -u SLURM_PROCID -u JOB_COMPLETION_INDEX -u HOIST_NODE_HOSTS \
                HOIST_SAGEMAKER_RESOURCECONFIG=/nonexistent HOIST_JOB_FILE="$d/job.json" \
                HOIST_WORKDIR="$d/work" HOIST_NODE=lost "$E" >"$d/out.txt" 2>&1 || r=$?
        [ $r = 125 ] || fail "exit $r"
        grep_q "job.json asks for 2 nodes but no engine placed this one" <"$d/out.txt" ||
                fail "$(cat "$d/out.txt")"
        [ -s "$d/store/jobs/mn-bad/results/lost.json" ] || fail "no results/lost.json"
        [ ! -e "$d/store/jobs/mn-bad/result.json" ] || fail "an unplaced node wrote result.json"
}

# submit_job DIR CHECK_YAML [EXTRA_YAML]: job.yaml in DIR with a data/ input of 3 files.
submit_job() {
        local dir=$1 check=$2 extra=${3:-}
        mkdir -p "$dir/data" "$dir/out"
        for f in a b c; do echo "$f" >"$dir/data/$f.txt"; done
        cat >"$dir/job.yaml" <<EOF
name: ddp
runtime: process
command: [$PY, $SCRIPT, ok]
env:
  OUT: $dir/out
inputs:
  train: data
$extra
distributed:
  launcher: hoist
  nproc_per_node: 2
  check: $check
EOF
}

t_submit_refused() {
        new_home
        d=$T_TMP/refused
        submit_job "$d" "{from_input: train, batch_size: 2}" "resources:
  nodes: 1"
        r=0
        hoist submit "$d/job.yaml" >"$d/out.txt" 2>"$d/err.txt" || r=$?
        [ $r != 0 ] || fail "hoist submit accepted it: $(cat "$d/out.txt")"
        want="'$d/job.yaml':13: distributed.check: input 'train' (its files) has 3 samples but one optimizer step takes 4: the effective batch size is batch_size 2 x 2 processes (1 node x 2 per node) x grad_accum 1 = 4. Ways out: lower batch_size (at most 1 fits), lower grad_accum, run on fewer GPUs or nodes, or add data (at least 4 samples); or set distributed.oversubscribe: true to run it anyway"
        grep_q -F "$want" <"$d/err.txt" || fail "stderr: $(cat "$d/err.txt")"
        [ -z "$(hoist list 2>/dev/null | grep ddp)" ] || fail "a job was stored: $(hoist list)"
        [ -z "$(find "$HOIST_HOME/storage" -type f 2>/dev/null)" ] ||
                fail "uploaded: $(find "$HOIST_HOME/storage" -type f)"
        # 2 nodes on the local provider, which runs one: refused first.
        sed -i 's/  nodes: 1/  nodes: 2/' "$d/job.yaml"
        r=0
        hoist submit "$d/job.yaml" >"$d/out.txt" 2>"$d/err.txt" || r=$?
        [ $r != 0 ] || fail "hoist submit accepted 2 nodes on local"
        grep_q -F "'$d/job.yaml':9: resources.nodes: 2, but provider 'local' runs a job on one node" <"$d/err.txt" ||
                fail "stderr: $(cat "$d/err.txt")"
        [ -z "$(find "$HOIST_HOME/storage" -type f 2>/dev/null)" ] || fail "uploaded"
}

t_submit_oversubscribed() {
        new_home
        d=$T_TMP/over
        submit_job "$d" "{samples: 3, batch_size: 2}" "resources:
  nodes: 1"
        echo "  oversubscribe: true" >>"$d/job.yaml"
        hoist submit --follow "$d/job.yaml" >"$d/out.txt" 2>"$d/err.txt" ||
                fail "exit $?: $(cat "$d/err.txt" "$d/out.txt")"
        grep_q -F "distributed.check: the dataset has 3 samples but one optimizer step takes 4" <"$d/err.txt" ||
                fail "no warning: $(cat "$d/err.txt")"
        grep_q -F "running anyway, as distributed.oversubscribe: true says" <"$d/err.txt" || fail "warning wording"
        # One node, two workers, on the local provider: the single-node contract.
        for r in 0 1; do
                want="{\"CUDA_VISIBLE_DEVICES\": null, \"GROUP_RANK\": \"0\", \"HOIST_NODE_IPS\": \"127.0.0.1\", \"HOIST_NODE_RANK\": \"0\", \"HOIST_NUM_NODES\": \"1\", \"LOCAL_RANK\": \"$r\", \"LOCAL_WORLD_SIZE\": \"2\", \"MASTER_ADDR\": \"127.0.0.1\", \"MASTER_PORT\": \"29500\", \"NNODES\": \"1\", \"NODE_RANK\": \"0\", \"NPROC_PER_NODE\": \"2\", \"RANK\": \"$r\", \"ROLE_RANK\": \"$r\", \"WORLD_SIZE\": \"2\"}"
                [ "$(cat "$d/out/rank-$r.json")" = "$want" ] || fail "rank $r: $(cat "$d/out/rank-$r.json")"
        done
        grep_q "rank 1 ok" <"$d/out.txt" || fail "the log: $(cat "$d/out.txt")"
}

# launcher: torchrun on node 1 of 2: the argv hoist builds, read by torch's
# own parser (tests/data/multinode/torchrun stands in for torchrun).
t_torchrun_argv() {
        d=$T_TMP/torchrun
        mkdir -p "$d/store" "$d/out"
        cat >"$d/job.json" <<EOF
{
  "version": "hoist/v1",
  "id": "mn-torchrun",
  "command": ["python3", "train.py", "--lr", "0.1"],
  "env": {"OUT": "$d/out"},
  "storage": {"endpoint": "file://$d/store", "prefix": ""},
  "distributed": {"nodes": 2, "launcher": "torchrun", "nproc_per_node": 4, "port": 29611},
  "attempt": 1
}
EOF
        r=0
        env PATH="$T_ROOT/tests/data/multinode:$PATH" SLURM_JOB_ID=7 SLURM_JOB_NODELIST="$HOST,localhost" \
                SLURM_NTASKS=2 SLURM_TASKS_PER_NODE="1(x2)" SLURM_PROCID=1 SLURM_NODEID=1 SLURM_LOCALID=0 \
                HOIST_JOB_FILE="$d/job.json" HOIST_WORKDIR="$d/work" "$E" >"$d/node.out" 2>&1 || r=$?
        [ $r = 0 ] || fail "exit $r: $(cat "$d/node.out")"
        want="{\"master_addr\": \"$HOST\", \"master_port\": 29611, \"module\": false, \"nnodes\": \"2\", \"no_python\": false, \"node_rank\": 1, \"nproc_per_node\": \"4\", \"rdzv_backend\": \"static\", \"training_script\": \"train.py\", \"training_script_args\": [\"--lr\", \"0.1\"]}"
        [ "$(cat "$d/out/torchrun.json")" = "$want" ] || fail "torch parsed $(cat "$d/out/torchrun.json"), want $want"
        # Without torchrun in the image (a PATH with nothing): 127, and the reason says why.
        sed -i 's/"id": "mn-torchrun"/"id": "mn-notorchrun"/; s/"nodes": 2/"nodes": 1/' "$d/job.json"
        r=0
        mkdir -p "$d/nobin"
        env PATH="$d/nobin" HOIST_JOB_FILE="$d/job.json" HOIST_WORKDIR="$d/work2" HOIST_NODE=main \
                "$E" >"$d/node2.out" 2>&1 || r=$?
        [ $r = 127 ] || fail "exit $r without torchrun: $(cat "$d/node2.out")"
        json_get "$d/store/jobs/mn-notorchrun/result.json" reason |
                grep_q -F "command 'torchrun' not found (distributed.launcher: torchrun runs it, so the image needs it" ||
                fail "reason: $(json_get "$d/store/jobs/mn-notorchrun/result.json" reason)"
        # accelerate's parser is not on this machine (no Debian package);
        # the unit test (test_distenv.c) checks the accelerate argv's shape.
        ! $PY -c 'import accelerate' 2>/dev/null || echo "note: accelerate is installed; not yet checked with its parser"
}

# The same on real Slurm (tests/peers/slurm.sh): srun starts the two nodes
# as two tasks of its one node, the way the Slurm provider's batch script
# does, and the placement comes from srun's own variables.
t_real_srun() {
        start_slurm "$T_TMP/slurm"
        d=$T_TMP/srun
        write_job "$d" mn-srun allreduce
        r=0
        timeout 300 srun -N1 -n2 --kill-on-bad-exit=1 env HOIST_JOB_FILE="$d/job.json" \
                HOIST_WORKDIR="$d/work" HOIST_NVML_LIBRARY=/nonexistent "$E" >"$d/srun.out" 2>&1 || r=$?
        [ $r = 0 ] || fail "srun exit $r: $(tail -n 30 "$d/srun.out")"
        for r in 0 1 2 3; do
                [ "$(cat "$d/out/allreduce-$r")" = 10 ] || fail "rank $r: $(cat "$d/out/allreduce-$r")"
        done
        s=$d/store/jobs/mn-srun
        grep_q "node 1 of 2 (placed by Slurm), master $SLURM_PEER_NODE:" <"$s/logs/node1.log" ||
                fail "node1's log: $(head -n 5 "$s/logs/node1.log")"
        [ "$(json_get "$s/result.json" status)" = succeeded ] || fail "result.json"
        [ "$(json_get "$s/results/node1.json" status)" = succeeded ] || fail "results/node1.json"

        # A failing worker on node 1: srun --kill-on-bad-exit ends node 0,
        # whose workers get the TERM through its entrypoint.
        d=$T_TMP/srun-fail
        write_job "$d" mn-srun-fail fail-one
        r=0
        timeout 300 srun -N1 -n2 --kill-on-bad-exit=1 env HOIST_JOB_FILE="$d/job.json" \
                HOIST_WORKDIR="$d/work" HOIST_NVML_LIBRARY=/nonexistent "$E" >"$d/srun.out" 2>&1 || r=$?
        [ $r != 0 ] || fail "srun succeeded"
        s=$d/store/jobs/mn-srun-fail
        [ "$(json_get "$s/results/node1.json" exit_code)" = 7 ] || fail "node1: $(cat "$s/results/node1.json")"
        [ -e "$d/out/term-0" ] && [ -e "$d/out/term-1" ] && [ -e "$d/out/term-2" ] ||
                fail "not every other worker got SIGTERM: $(ls "$d/out")"
        [ "$(json_get "$s/results/node0.json" status)" = interrupted ] ||
                fail "node0: $(cat "$s/results/node0.json")"
}

t_run "2 nodes x 2 workers: every worker gets the contract, consistently" t_contract
t_run "checkpoints_per_rank: each node publishes under rank-<R>/" t_per_rank_checkpoints
t_run "a failing worker ends its node with its exit code; the others get SIGTERM" t_worker_failure
t_run "SIGTERM from outside reaches every worker" t_external_term
t_run "torch.distributed gloo all_reduce across 2 nodes x 2 workers" t_torch_allreduce
t_run "a node no engine placed fails clearly and publishes nothing for the job" t_unplaced
t_run "real srun -N1 -n2: all_reduce across 2 nodes x 2 workers; a failure ends both" t_real_srun
t_run "launcher torchrun: torch's own parser reads the argv hoist builds" t_torchrun_argv
t_run "hoist submit refuses a dataset smaller than one step, uploading nothing" t_submit_refused
t_run "oversubscribe: true runs it with a warning (one node, two hoist workers)" t_submit_oversubscribed
t_finish
