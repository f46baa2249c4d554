#!/usr/bin/env python3
"""Writes data/train.csv and data/test.csv: a deterministic 3-class problem
(three noisy interleaved rings in 2-D, lifted to 8 features), from Python's
own random.Random(seed) so any Python 3 gives the same bytes.  No numpy or
torch needed.

    python3 make_data.py [--seed 1] [--out data]
"""
import argparse
import math
import os
import random


def rows(rng, n):
    for i in range(n):
        c = i % 3
        r = 1.0 + c + rng.gauss(0.0, 0.25)
        t = rng.uniform(0.0, 2.0 * math.pi)
        x, y = r * math.cos(t), r * math.sin(t)
        feats = [x, y, x * y / 3.0, (x * x - y * y) / 6.0, math.sin(x), math.cos(y),
                 rng.gauss(0.0, 0.5), rng.gauss(0.0, 0.5)]
        yield feats, c


def write(path, it):
    with open(path, "w", encoding="ascii") as f:
        f.write("f0,f1,f2,f3,f4,f5,f6,f7,label\n")
        for feats, c in it:
            f.write(",".join("%.6f" % v for v in feats) + ",%d\n" % c)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "data"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    write(os.path.join(a.out, "train.csv"), rows(rng, 1500))
    write(os.path.join(a.out, "test.csv"), rows(rng, 300))


if __name__ == "__main__":
    main()
