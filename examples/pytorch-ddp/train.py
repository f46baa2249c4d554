#!/usr/bin/env python3
"""Data-parallel training with torch.distributed, following hoist's conventions
(docs/job.md, docs/entrypoint.md) and torch's env:// contract:

- one process per rank, started by a launcher (hoist-entrypoint with
  `distributed: {launcher: hoist}`, torchrun, or by hand) that sets RANK,
  WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT;
- backend `gloo` on CPUs, `nccl` on GPUs (hyperparameter `backend`: auto,
  gloo or nccl; auto is nccl when torch sees a GPU), one GPU per local rank;
- a small MLP on a synthetic classification set made from the seed (no input
  needed), wrapped in DistributedDataParallel; each step every rank takes its
  own slice of one global batch drawn from a permutation of (seed, epoch);
- after every step the ranks all_gather their flattened parameters and every
  rank checks, bit for bit, that all replicas are equal (the stop flag and the
  loss travel in the same message, so it is one collective per step);
- rank 0 writes checkpoints with torch.save in $HOIST_CHECKPOINT_DIR as
  ckpt-NNNNNN.pt, to a temporary file renamed into place (the last 3 kept):
  the model, the optimizer, the step and where the data order is;
- at start every rank loads the newest checkpoint in its own
  $HOIST_CHECKPOINT_DIR (hoist restores the newest complete set on every
  node); the ranks then compare what they loaded (step and sha256 of the
  file) and stop with an error naming the ranks when they differ;
- SIGTERM (a preemption, a Slurm time limit, `hoist cancel`) on any rank: the
  ranks agree, at the next step boundary, to stop; rank 0 saves a checkpoint,
  every rank prints {"event": "stopped", ...} and exits 143;
- at the end rank 0 writes the model (state_dict) to $HOIST_MODEL_DIR/model.pt
  and metrics to $HOIST_MODEL_DIR/metrics.json.

Hyperparameters ($HOIST_HP_<NAME>): steps (200), lr (0.01), batch (per rank,
16), hidden (32), samples (4096), seed (11), checkpoint_every (25),
log_every (10), sleep_ms (0: a pause per step, to make a run slow enough to
interrupt; it changes no number), backend (auto).

Determinism: the seeds are fixed, torch.use_deterministic_algorithms(True)
and one thread per process; no dropout, so nothing draws from the global RNG
after the model is made. DDP averages gradients with one all-reduce per
bucket (this model fits one bucket); gloo's CPU all-reduce is a ring whose
chunking and summation order depend only on the world size and the bucket's
layout, and every rank ends with the same bits. So for a fixed world size a
run that is stopped and resumed ends with the same model, bit for bit, as
one that never stopped (tests/integration/test_pytorch_ddp.sh checks it).
NCCL on GPUs picks its algorithm by topology and size, so there the claim is
only for the same nodes and NCCL version; a resumed run on other machines is
close (within float32 rounding), not bitwise.
"""
import hashlib
import io
import json
import os
import re
import signal
import socket
import sys
import time

# Before torch initialises CUDA: cuBLAS is deterministic only with a fixed
# workspace (PyTorch's "Reproducibility" notes).
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.parallel import DistributedDataParallel as DDP  # noqa: E402

CKPT_RE = re.compile(r"^ckpt-(\d+)\.pt$")
KEEP = 3
N_FEATURES = 16
N_CLASSES = 4
stop_signal = None


def emit(obj):
    # One write per line: a node's workers share the entrypoint's pipe, and
    # print() writes the text and the newline apart (unbuffered, as hoist
    # runs Python), so two workers' lines could run together.
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def warn(msg):
    sys.stderr.write("train.py: " + msg + "\n")
    sys.stderr.flush()


def fail(msg, code=2):
    warn("error: " + msg)
    sys.exit(code)


def hp(name, default, conv):
    v = os.environ.get("HOIST_HP_" + name.upper())
    if v is None or v == "":
        return default
    try:
        return conv(v)
    except ValueError:
        fail("hyperparameter %s: '%s' is not a valid %s" % (name, v, conv.__name__))


def env_int(name):
    v = os.environ.get(name)
    if v is None or v == "":
        fail("%s is not set: start this script with a launcher that sets RANK, WORLD_SIZE, "
             "LOCAL_RANK, MASTER_ADDR and MASTER_PORT (hoist's `distributed: {launcher: hoist}`, "
             "or torchrun)" % name)
    try:
        return int(v)
    except ValueError:
        fail("%s='%s' is not an integer" % (name, v))


def need_dir(var):
    v = os.environ.get(var)
    if not v:
        fail("%s is not set (run this under hoist, or set it by hand)" % var)
    os.makedirs(v, exist_ok=True)
    return v


def dataset(seed, n):
    """Inputs from N(0, 1) and labels from a fixed random teacher: the same
    tensors on every rank and in every attempt."""
    g = torch.Generator()
    g.manual_seed(seed)
    teacher = torch.randn(N_FEATURES, N_CLASSES, generator=g)
    x = torch.randn(n, N_FEATURES, generator=g)
    y = (torch.tanh(x) @ teacher + 0.1 * torch.randn(n, N_CLASSES, generator=g)).argmax(dim=1)
    return x, y


class MLP(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(N_FEATURES, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, N_CLASSES))

    def forward(self, x):
        return self.net(x)


def save_atomic(obj, path):
    """torch.save into memory (the archive's inner name is then always
    "archive", whatever the file is called), then tmp + fsync + rename."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(buf.getvalue())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dfd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def checkpoints(d):
    out = []
    for name in os.listdir(d):
        m = CKPT_RE.match(name)
        if m:
            out.append((int(m.group(1)), os.path.join(d, name)))
    return sorted(out)


def save_checkpoint(d, state):
    save_atomic(state, os.path.join(d, "ckpt-%06d.pt" % state["step"]))
    for _, old in checkpoints(d)[:-KEEP]:
        os.unlink(old)


def load_newest(d, device):
    """(step, sha256 of the file, state) of the newest checkpoint in d, or
    (0, "", None)."""
    have = checkpoints(d)
    if not have:
        return 0, "", None
    step, path = have[-1]
    with open(path, "rb") as f:
        raw = f.read()
    st = torch.load(io.BytesIO(raw), map_location=device)
    if st.get("step") != step:
        fail("%s holds step %s, not %d" % (path, st.get("step"), step))
    return step, hashlib.sha256(raw).hexdigest(), st


def agree_on_checkpoint(rank, world, ckdir, step, digest):
    """Every rank must have loaded the same checkpoint, or the replicas would
    start apart (DDP would quietly overwrite the parameters from rank 0, but
    not the optimizer state nor the place in the data)."""
    mine = {"rank": rank, "host": socket.gethostname(), "dir": ckdir, "step": step, "sha256": digest}
    everyone = [None] * world
    dist.all_gather_object(everyone, mine)
    if any((o["step"], o["sha256"]) != (step, digest) for o in everyone):
        desc = "; ".join("rank %d on %s: %s in %s" % (
            o["rank"], o["host"], "step %d (sha256 %s)" % (o["step"], o["sha256"][:12])
            if o["step"] else "no checkpoint", o["dir"]) for o in everyone)
        fail("the ranks did not load the same checkpoint (%s): every node must restore the same "
             "checkpoint set before training starts" % desc, 4)


def epoch_order(seed, epoch, n):
    g = torch.Generator()
    g.manual_seed(seed * 1000003 + epoch)
    return torch.randperm(n, generator=g)


def per_tensor_allreduce(world, bucket):
    """A DDP comm hook: the average of each parameter's gradient, all-reduced
    on its own.  DDP's default all-reduces a whole bucket, and its buckets
    change after the first step of every process: bucketing is off for the
    first iteration (one bucket, parameters in model order), then rebuilt in
    the order the gradients became ready (torch/nn/parallel/distributed.py).
    gloo's ring sums each value in an order set by where it sits in the
    bucket, so the first step after a resume would round differently from
    the same step of an uninterrupted run (by about 1e-7 here, growing with
    the steps).  Reduced tensor by tensor, a value's summation order depends
    only on its tensor and the world size."""
    buf = bucket.buffer()
    off = 0
    for g in bucket.gradients():
        n = g.numel()
        dist.all_reduce(buf[off:off + n])
        off += n
    if off != buf.numel():
        raise RuntimeError("DDP bucket of %d values holds gradients of %d" % (buf.numel(), off))
    buf.div_(world)
    fut = torch.futures.Future()
    fut.set_result(buf)
    return fut


def on_signal(signum, _frame):
    global stop_signal
    stop_signal = signum


def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    steps = hp("steps", 200, int)
    lr = hp("lr", 0.01, float)
    batch = hp("batch", 16, int)
    hidden = hp("hidden", 32, int)
    samples = hp("samples", 4096, int)
    seed = hp("seed", 11, int)
    every = hp("checkpoint_every", 25, int)
    log_every = hp("log_every", 10, int)
    sleep_ms = hp("sleep_ms", 0, int)
    backend = hp("backend", "auto", str)
    allreduce = hp("allreduce", "per_tensor", str)
    if min(steps, batch, hidden, samples, every, log_every) < 1 or sleep_ms < 0:
        fail("steps, batch, hidden, samples, checkpoint_every and log_every must be positive")
    if backend not in ("auto", "gloo", "nccl"):
        fail("hyperparameter backend: '%s' is not auto, gloo or nccl" % backend)
    if allreduce not in ("per_tensor", "bucket"):
        fail("hyperparameter allreduce: '%s' is not per_tensor or bucket" % allreduce)

    rank, world, local_rank = env_int("RANK"), env_int("WORLD_SIZE"), env_int("LOCAL_RANK")
    env_int("MASTER_PORT")
    if not os.environ.get("MASTER_ADDR"):
        env_int("MASTER_ADDR")
    if not 0 <= rank < world:
        fail("RANK=%d is outside WORLD_SIZE=%d" % (rank, world))
    if batch * world > samples:
        fail("the global batch (batch %d x %d ranks) is larger than the %d samples" % (batch, world, samples))
    ckdir = need_dir("HOIST_CHECKPOINT_DIR")
    modeldir = need_dir("HOIST_MODEL_DIR")

    if backend == "auto":
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        if not torch.cuda.is_available():
            fail("backend nccl needs a GPU, and torch sees none (use backend: gloo)")
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    torch.backends.cudnn.benchmark = False

    dist.init_process_group(backend, init_method="env://", rank=rank, world_size=world)
    emit({"event": "joined", "rank": rank, "local_rank": local_rank, "world_size": world,
          "host": socket.gethostname(), "backend": backend})

    x, y = dataset(seed, samples + 1024)  # the last 1024: the test set
    x, y, tx, ty = x[:samples], y[:samples], x[samples:], y[samples:]
    x, y = x.to(device), y.to(device)
    torch.manual_seed(seed)
    model = MLP(hidden).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()

    step, epoch, pos = 0, 0, 0
    ck_step, digest, st = load_newest(ckdir, device)
    agree_on_checkpoint(rank, world, ckdir, ck_step, digest)
    if st is not None:
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        step, epoch, pos = st["step"], st["epoch"], st["pos"]
        if st["world_size"] != world or st["batch"] != batch:
            warn("the checkpoint was written by %d ranks with batch %d, this run has %d with "
                 "batch %d: it goes on from the same place in the data, but will not end equal "
                 "to an uninterrupted run" % (st["world_size"], st["batch"], world, batch))
        if rank == 0:
            emit({"event": "resumed", "step": step})
            want = os.environ.get("HOIST_RESUME_STEP")
            if want not in (None, "", "0") and want != str(step):
                warn("HOIST_RESUME_STEP names %s, the newest checkpoint here is %d" % (want, step))
    # Wrapping broadcasts rank 0's parameters; they are equal already.
    ddp = DDP(model, device_ids=[local_rank] if device.type == "cuda" else None)
    if allreduce == "per_tensor":
        ddp.register_comm_hook(world, per_tensor_allreduce)
    if rank == 0:
        emit({"event": "started", "world_size": world, "backend": backend, "device": device.type,
              "torch": torch.__version__, "samples": samples, "steps": steps})

    def state():
        return {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                "epoch": epoch, "pos": pos, "world_size": world, "batch": batch, "seed": seed}

    n = x.shape[0]
    gbatch = batch * world
    order = epoch_order(seed, epoch, n)
    ddp.train()
    last_loss = None  # this process's loss at its last step; None before its first
    while True:
        # One collective per step boundary: the parameters (every replica
        # must hold the same bits), the loss, and whether this rank got a
        # signal, so every rank stops at the same step.
        flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
        msg = torch.cat([flat, torch.tensor([last_loss or 0.0, 1.0 if stop_signal else 0.0],
                                            dtype=flat.dtype, device=device)])
        gathered = [torch.empty_like(msg) for _ in range(world)]
        dist.all_gather(gathered, msg)
        for r, g in enumerate(gathered):
            if not torch.equal(g[:-2], msg[:-2]):
                diff = int((g[:-2] != msg[:-2]).sum())
                fail("step %d: rank %d's parameters differ from rank %d's in %d of %d values"
                     % (step, r, rank, diff, flat.numel()), 5)
        if last_loss is not None and (step % log_every == 0 or step == steps) and rank == 0:
            emit({"step": step, "loss": round(sum(float(g[-2]) for g in gathered) / world, 6)})
        stop = any(float(g[-1]) != 0.0 for g in gathered)
        if stop and step < steps:
            if rank == 0:
                save_checkpoint(ckdir, state())
            dist.barrier()
            emit({"event": "stopped", "rank": rank, "step": step,
                  "signal": signal.Signals(stop_signal).name if stop_signal else "peer"})
            dist.destroy_process_group()
            sys.exit(128 + (stop_signal or signal.SIGTERM))
        if step >= steps:
            break
        if last_loss is not None and step % every == 0 and rank == 0:
            save_checkpoint(ckdir, state())

        if pos + gbatch > n:
            epoch, pos = epoch + 1, 0
            order = epoch_order(seed, epoch, n)
        idx = order[pos + rank * batch:pos + (rank + 1) * batch].to(device)
        pos += gbatch
        opt.zero_grad()
        loss = loss_fn(ddp(x[idx]), y[idx])
        loss.backward()
        opt.step()
        step += 1
        last_loss = float(loss)
        if sleep_ms:
            time.sleep(sleep_ms / 1000.0)

    if rank == 0:
        model.eval()
        with torch.no_grad():
            acc = float((model(tx.to(device)).argmax(dim=1).cpu() == ty).float().mean())
        metrics = {"steps": steps, "world_size": world, "backend": backend,
                   "test_accuracy": round(acc, 6)}
        save_atomic({k: v.cpu() for k, v in model.state_dict().items()},
                    os.path.join(modeldir, "model.pt"))
        with open(os.path.join(modeldir, "metrics.json"), "w", encoding="ascii") as f:
            json.dump(metrics, f, sort_keys=True)
            f.write("\n")
        save_checkpoint(ckdir, state())
        emit(dict(event="completed", **metrics))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
