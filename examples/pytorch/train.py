#!/usr/bin/env python3
"""A PyTorch trainer that follows hoist's conventions (docs/job.md):

- data from the input channel `train` ($HOIST_INPUT_TRAIN: a directory with
  train.csv and test.csv, or one CSV file), columns f0..f7,label;
- hyperparameters from $HOIST_HP_<NAME> (steps, lr, batch, hidden, seed,
  checkpoint_every, log_every, sleep_ms);
- one JSON metric line per `log_every` steps on stdout: {"step": N, "loss": X};
- checkpoints with torch.save in $HOIST_CHECKPOINT_DIR as ckpt-NNNNNN.pt,
  written to a temporary file and renamed into place (the last 3 kept);
  each holds the model, the optimizer, the step, the RNG states and where
  the data order is, so a resumed run continues exactly where it stopped;
- on start, resumes from the newest checkpoint there (hoist restores the
  newest complete set and sets $HOIST_RESUME_STEP);
- on SIGTERM (a spot reclaim, `hoist cancel`), finishes the step, saves a
  checkpoint, prints {"event": "stopped", ...} and exits 143;
- the final model (state_dict) goes to $HOIST_MODEL_DIR/model.pt and the
  test metrics to $HOIST_MODEL_DIR/metrics.json;
- uses CUDA when torch sees a GPU, the CPU otherwise.

The run is deterministic: fixed seeds, torch.use_deterministic_algorithms,
one CPU thread, and the data order a function of (seed, epoch); a run that
is stopped and resumed ends with the same model, bit for bit, as one that
never stopped (on the same device and torch build).

It needs the secret EXAMPLE_API_TOKEN (job.yaml `secrets:`), standing in for
a real token such as HF_TOKEN or WANDB_API_KEY: it checks that it is there
and never prints it.
"""
import csv
import io
import json
import os
import re
import signal
import sys
import time

# Before torch initialises CUDA: cuBLAS is deterministic only with a fixed
# workspace (PyTorch's "Reproducibility" notes).
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import torch  # noqa: E402
from torch import nn  # noqa: E402

CKPT_RE = re.compile(r"^ckpt-(\d+)\.pt$")
KEEP = 3
stop_signal = None


def emit(obj):
    print(json.dumps(obj), flush=True)


def fail(msg, code=2):
    print("train.py: error: " + msg, file=sys.stderr, flush=True)
    sys.exit(code)


def hp(name, default, conv):
    v = os.environ.get("HOIST_HP_" + name.upper())
    if v is None or v == "":
        return default
    try:
        return conv(v)
    except ValueError:
        fail("hyperparameter %s: '%s' is not a valid %s" % (name, v, conv.__name__))


def need_dir(var):
    v = os.environ.get(var)
    if not v:
        fail("%s is not set (run this under hoist, or set it by hand)" % var)
    os.makedirs(v, exist_ok=True)
    return v


def load_csv(path):
    feats, labels = [], []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            r = csv.reader(f)
            header = next(r)
            if not header or header[-1] != "label":
                fail("%s: the last column must be 'label'" % path)
            for n, row in enumerate(r, start=2):
                if len(row) != len(header):
                    fail("%s:%d: %d columns, expected %d" % (path, n, len(row), len(header)))
                try:
                    feats.append([float(x) for x in row[:-1]])
                    labels.append(int(row[-1]))
                except ValueError:
                    fail("%s:%d: not a number" % (path, n))
    except OSError as e:
        fail("cannot read %s: %s" % (path, e.strerror))
    if not feats:
        fail("%s: no rows" % path)
    return torch.tensor(feats, dtype=torch.float32), torch.tensor(labels, dtype=torch.int64)


def find_data(channel):
    if os.path.isdir(channel):
        train = os.path.join(channel, "train.csv")
        test = os.path.join(channel, "test.csv")
        return train, test if os.path.exists(test) else None
    return channel, None


class MLP(nn.Module):
    def __init__(self, n_in, hidden, n_out):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_in, hidden), nn.ReLU(), nn.Dropout(0.1),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, n_out))

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
    step = state["step"]
    save_atomic(state, os.path.join(d, "ckpt-%06d.pt" % step))
    for _, old in checkpoints(d)[:-KEEP]:
        os.unlink(old)


def on_signal(signum, _frame):
    global stop_signal
    stop_signal = signum


def epoch_order(seed, epoch, n):
    g = torch.Generator()
    g.manual_seed(seed * 1000003 + epoch)
    return torch.randperm(n, generator=g)


def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if not os.environ.get("EXAMPLE_API_TOKEN"):
        fail("the secret EXAMPLE_API_TOKEN is not set (job.yaml secrets: EXAMPLE_API_TOKEN)", 3)

    steps = hp("steps", 600, int)
    lr = hp("lr", 0.01, float)
    batch = hp("batch", 32, int)
    hidden = hp("hidden", 64, int)
    seed = hp("seed", 7, int)
    every = hp("checkpoint_every", 50, int)
    log_every = hp("log_every", 10, int)
    sleep_ms = hp("sleep_ms", 0, int)
    if steps < 1 or batch < 1 or hidden < 1 or every < 1 or log_every < 1 or sleep_ms < 0:
        fail("steps, batch, hidden, checkpoint_every and log_every must be positive")

    channel = os.environ.get("HOIST_INPUT_TRAIN")
    if not channel:
        fail("HOIST_INPUT_TRAIN is not set (job.yaml inputs: train: data/)")
    ckdir = need_dir("HOIST_CHECKPOINT_DIR")
    modeldir = need_dir("HOIST_MODEL_DIR")

    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    torch.backends.cudnn.benchmark = False
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    train_path, test_path = find_data(channel)
    x, y = load_csv(train_path)
    n_classes = int(y.max()) + 1
    torch.manual_seed(seed)
    model = MLP(x.shape[1], hidden, n_classes).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    x, y = x.to(device), y.to(device)

    step, epoch, pos = 0, 0, 0
    have = checkpoints(ckdir)
    if have:
        st = torch.load(have[-1][1], map_location=device)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        step, epoch, pos = st["step"], st["epoch"], st["pos"]
        torch.set_rng_state(st["rng_cpu"])
        if device.type == "cuda" and st.get("rng_cuda") is not None:
            torch.cuda.set_rng_state(st["rng_cuda"])
        emit({"event": "resumed", "step": step})
        want = os.environ.get("HOIST_RESUME_STEP")
        if want not in (None, "", "0") and int(want) != step:
            print("train.py: HOIST_RESUME_STEP names %s, the newest checkpoint here is %d"
                  % (want, step), file=sys.stderr, flush=True)
    emit({"event": "started", "device": device.type, "torch": torch.__version__,
          "rows": int(x.shape[0]), "steps": steps})

    def state():
        return {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                "epoch": epoch, "pos": pos, "rng_cpu": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state() if device.type == "cuda" else None}

    n = x.shape[0]
    order = epoch_order(seed, epoch, n)
    model.train()
    while step < steps:
        if stop_signal is not None:
            save_checkpoint(ckdir, state())
            emit({"event": "stopped", "step": step, "signal": signal.Signals(stop_signal).name})
            sys.exit(128 + stop_signal)
        if pos + batch > n:
            epoch, pos = epoch + 1, 0
            order = epoch_order(seed, epoch, n)
        idx = order[pos:pos + batch].to(device)
        pos += batch
        opt.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        step += 1
        if step % log_every == 0 or step == steps:
            emit({"step": step, "loss": round(float(loss), 6)})
        if step % every == 0 and step < steps:
            save_checkpoint(ckdir, state())
        if sleep_ms:
            time.sleep(sleep_ms / 1000.0)

    model.eval()
    metrics = {"steps": steps, "device": device.type}
    if test_path:
        tx, ty = load_csv(test_path)
        with torch.no_grad():
            pred = model(tx.to(device)).argmax(dim=1).cpu()
        metrics["test_accuracy"] = round(float((pred == ty).float().mean()), 6)
    save_atomic({k: v.cpu() for k, v in model.state_dict().items()},
                os.path.join(modeldir, "model.pt"))
    with open(os.path.join(modeldir, "metrics.json"), "w", encoding="ascii") as f:
        json.dump(metrics, f, sort_keys=True)
        f.write("\n")
    save_checkpoint(ckdir, state())
    emit(dict(event="completed", **metrics))


if __name__ == "__main__":
    main()
