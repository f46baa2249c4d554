#!/usr/bin/env python3
"""A training script written for the SageMaker training toolkit, run as it is.

It knows nothing of hoist: it reads the toolkit's variables (SM_MODEL_DIR,
SM_CHANNEL_TRAIN, SM_HP_EPOCHS, SM_HP_LR, SM_HOSTS, SM_CURRENT_HOST,
SM_OUTPUT_DATA_DIR) and keeps its checkpoints in /opt/ml/checkpoints, as
SageMaker's docs show.  hoist-entrypoint sets the same variables on every
provider, and HOIST_CHECKPOINT_DIR where /opt/ml is not there (on SageMaker
it is /opt/ml/checkpoints), so the same file trains on SageMaker, on this
machine, on Slurm or Kubernetes.

It fits y = w*x + b to the channel's train.csv by gradient descent, one full
pass per epoch, saving its state after every epoch and resuming from it.
Hyperparameters fail_at_epoch (exit with an error there) and epoch_sleep
(seconds per epoch) are for hoist's tests.
"""
import argparse
import json
import os
import sys
import time


def read_rows(channel_dir):
    rows = []
    with open(os.path.join(channel_dir, "train.csv")) as f:
        next(f)
        for line in f:
            x, y = line.strip().split(",")
            rows.append((float(x), float(y)))
    return rows


def save_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, sort_keys=True)
    os.replace(tmp, path)


def main():
    env = os.environ
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=int(env.get("SM_HP_EPOCHS", "20")))
    p.add_argument("--lr", type=float, default=float(env.get("SM_HP_LR", "0.05")))
    p.add_argument("--model-dir", default=env["SM_MODEL_DIR"])
    p.add_argument("--train", default=env["SM_CHANNEL_TRAIN"])
    p.add_argument("--output-data-dir", default=env["SM_OUTPUT_DATA_DIR"])
    p.add_argument("--checkpoint-dir",
                   default=env.get("HOIST_CHECKPOINT_DIR", "/opt/ml/checkpoints"))
    args = p.parse_args()
    fail_at = int(env.get("SM_HP_FAIL_AT_EPOCH", "0"))
    epoch_sleep = float(env.get("SM_HP_EPOCH_SLEEP", "0"))
    hosts = json.loads(env["SM_HOSTS"])

    rows = read_rows(args.train)
    os.makedirs(args.checkpoint_dir, exist_ok=True)
    ckpt = os.path.join(args.checkpoint_dir, "state.json")
    w, b, start = 0.0, 0.0, 0
    if os.path.exists(ckpt):
        with open(ckpt) as f:
            state = json.load(f)
        w, b, start = state["w"], state["b"], state["epoch"]
        print(f"resumed from epoch {start}", flush=True)

    for epoch in range(start, args.epochs):
        gw = gb = loss = 0.0
        for x, y in rows:
            err = w * x + b - y
            gw += 2 * err * x / len(rows)
            gb += 2 * err / len(rows)
            loss += err * err / len(rows)
        w -= args.lr * gw
        b -= args.lr * gb
        save_json(ckpt, {"w": w, "b": b, "epoch": epoch + 1})
        print(json.dumps({"epoch": epoch + 1, "loss": loss}), flush=True)
        if fail_at and epoch + 1 == fail_at:
            print(f"loss diverged at epoch {epoch + 1}", file=sys.stderr, flush=True)
            sys.exit(2)
        time.sleep(epoch_sleep)

    os.makedirs(args.model_dir, exist_ok=True)
    save_json(os.path.join(args.model_dir, "model.json"),
              {"w": w, "b": b, "epochs": args.epochs})
    os.makedirs(args.output_data_dir, exist_ok=True)
    save_json(os.path.join(args.output_data_dir, "run.json"),
              {"hosts": hosts, "current_host": env["SM_CURRENT_HOST"],
               "channels": json.loads(env["SM_CHANNELS"]),
               "hps": json.loads(env["SM_HPS"]), "lr": args.lr})
    print(f"model: w={w:.4f} b={b:.4f}", flush=True)


if __name__ == "__main__":
    main()
