# SPDX-License-Identifier: MIT
# One worker of tests/integration/test_multinode.sh: checks the variables of
# hoist's multi-node contract (docs/entrypoint.md "Multi-node") against each
# other, writes them to $OUT/rank-<RANK>.json, and then does what MODE says:
#   ok         exit 0 after writing an output (and LOCAL_RANK 0 a checkpoint)
#   fail-one   the worker of RANK $FAIL_RANK exits 7; the others wait for
#              SIGTERM, record it in $OUT/term-<RANK> and exit 143
#   allreduce  torch.distributed over gloo: all_reduce of RANK+1 must give
#              the sum over all ranks
import json
import os
import signal
import sys
import time

NAMES = ["MASTER_ADDR", "MASTER_PORT", "NNODES", "NODE_RANK", "WORLD_SIZE", "NPROC_PER_NODE",
         "LOCAL_WORLD_SIZE", "HOIST_NODE_RANK", "HOIST_NUM_NODES", "HOIST_NODE_IPS", "RANK",
         "LOCAL_RANK", "GROUP_RANK", "ROLE_RANK", "CUDA_VISIBLE_DEVICES"]


def check(cond, what):
    if not cond:
        print("contract broken: " + what, file=sys.stderr, flush=True)
        sys.exit(3)


def main():
    mode = sys.argv[1]
    out = os.environ["OUT"]
    env = {k: os.environ.get(k) for k in NAMES}
    for k in NAMES[:-1]:
        check(env[k] is not None, k + " is not set")
    rank, local = int(env["RANK"]), int(env["LOCAL_RANK"])
    nnodes, node = int(env["NNODES"]), int(env["NODE_RANK"])
    nproc, world = int(env["NPROC_PER_NODE"]), int(env["WORLD_SIZE"])
    check(world == nnodes * nproc, "WORLD_SIZE = NNODES x NPROC_PER_NODE")
    check(int(env["LOCAL_WORLD_SIZE"]) == nproc, "LOCAL_WORLD_SIZE = NPROC_PER_NODE")
    check(rank == node * nproc + local, "RANK = NODE_RANK x NPROC_PER_NODE + LOCAL_RANK")
    check(0 <= local < nproc, "0 <= LOCAL_RANK < NPROC_PER_NODE")
    check(env["GROUP_RANK"] == env["NODE_RANK"] == env["HOIST_NODE_RANK"], "GROUP_RANK = NODE_RANK")
    check(env["ROLE_RANK"] == env["RANK"], "ROLE_RANK = RANK")
    check(env["HOIST_NUM_NODES"] == env["NNODES"], "HOIST_NUM_NODES = NNODES")
    check(len(env["HOIST_NODE_IPS"].split(",")) == nnodes, "HOIST_NODE_IPS has NNODES entries")
    with open(os.path.join(out, "rank-%d.json" % rank), "w") as f:
        json.dump(env, f, sort_keys=True)
    if mode == "ok":
        if local == 0:
            with open(os.path.join(os.environ["HOIST_CHECKPOINT_DIR"], "ckpt.txt"), "w") as f:
                f.write("step 1 node %d\n" % node)
        with open(os.path.join(os.environ["HOIST_MODEL_DIR"], "model-%d.txt" % rank), "w") as f:
            f.write("weights of rank %d\n" % rank)
        print("rank %d ok" % rank, flush=True)
        return 0
    if mode == "fail-one":
        if rank == int(os.environ["FAIL_RANK"]):
            # After every worker of the node is up, so the others get the TERM.
            deadline = time.monotonic() + 60
            while len([n for n in os.listdir(out) if n.startswith("up-")]) < world - 1:
                check(time.monotonic() < deadline, "the other workers did not start")
                time.sleep(0.05)
            print("rank %d failing on purpose" % rank, file=sys.stderr, flush=True)
            return 7

        def on_term(signum, frame):
            open(os.path.join(out, "term-%d" % rank), "w").close()
            sys.exit(143)
        signal.signal(signal.SIGTERM, on_term)
        open(os.path.join(out, "up-%d" % rank), "w").close()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(0.05)
        return 0
    if mode == "allreduce":
        import torch
        import torch.distributed as dist
        dist.init_process_group("gloo", init_method="env://")
        check(dist.get_rank() == rank and dist.get_world_size() == world, "torch's rank/world")
        t = torch.tensor([float(rank + 1)])
        dist.all_reduce(t)
        want = world * (world + 1) / 2
        check(t.item() == want, "all_reduce gave %s, want %s" % (t.item(), want))
        with open(os.path.join(out, "allreduce-%d" % rank), "w") as f:
            f.write("%g\n" % t.item())
        dist.barrier()
        dist.destroy_process_group()
        print("rank %d all_reduce %g" % (rank, t.item()), flush=True)
        return 0
    return 2


sys.exit(main())
