#!/usr/bin/env python3
"""Writes a directory as a hoist.tree/v1 manifest with its blobs and packs
(docs/jobspec.md, "Tree manifests"), independently of hoist's own writer, so
the stager is tested against the documented format rather than against
itself.

    tree_fixture.py SRC OUT [--corrupt-file REL] [--corrupt-index]

OUT/blobs/sha256/<hex> gets every blob; stdout is "<manifest sha256>
<sum of file sizes>".  --corrupt-file REL flips one stored byte of REL (its
pack or blob) while the manifest keeps the true digest; --corrupt-index
makes the first pack's second non-empty file overlap its first.
"""
import argparse
import hashlib
import json
import os
import stat
import sys

PACK_THRESHOLD = 256 << 10
PACK_TARGET = 32 << 20


def put(out, data):
    h = hashlib.sha256(data).hexdigest()
    d = os.path.join(out, "blobs", "sha256")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, h), "wb") as f:
        f.write(data)
    return h


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--corrupt-file")
    ap.add_argument("--corrupt-index", action="store_true")
    a = ap.parse_args()

    entries, small, big = [], [], []
    for root, dirs, files in os.walk(a.src):
        dirs.sort()
        for name in sorted(dirs + files):
            p = os.path.join(root, name)
            rel = os.path.relpath(p, a.src)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                entries.append({"path": rel, "type": "symlink", "target": os.readlink(p)})
            elif stat.S_ISDIR(st.st_mode):
                entries.append({"path": rel, "type": "dir", "mode": st.st_mode & 0o777})
            elif stat.S_ISREG(st.st_mode):
                data = open(p, "rb").read()
                h = hashlib.sha256(data).hexdigest()
                entries.append({"path": rel, "type": "file", "mode": st.st_mode & 0o777,
                                "size": len(data), "sha256": h})
                (small if len(data) < PACK_THRESHOLD else big).append((rel, h, data))
    entries.sort(key=lambda e: e["path"].encode())

    corrupt = None
    if a.corrupt_file:
        corrupt = next(h for rel, h, _ in small + big if rel == a.corrupt_file)

    packs, seen = [], set()
    buf, index = bytearray(), []

    def close_pack():
        nonlocal buf, index
        if index:
            packs.append({"sha256": put(a.out, bytes(buf)), "size": len(buf), "files": index})
        buf, index = bytearray(), []

    for rel, h, data in small:
        if h in seen:
            continue
        seen.add(h)
        if h == corrupt and data:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        index.append([h, len(buf), len(data)])
        buf += data
        if len(buf) >= PACK_TARGET:
            close_pack()
    close_pack()
    for rel, h, data in big:
        if h in seen:
            continue
        seen.add(h)
        if h == corrupt:
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
            d = os.path.join(a.out, "blobs", "sha256")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, h), "wb") as f:
                f.write(data)
        else:
            put(a.out, data)

    if a.corrupt_index:
        nonempty = [f for f in packs[0]["files"] if f[2] > 0] if packs else []
        if len(nonempty) < 2:
            sys.exit("--corrupt-index needs a pack of two non-empty files")
        nonempty[1][1] = nonempty[0][1]

    manifest = {"format": "hoist.tree/v1", "entries": entries, "packs": packs}
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    mh = put(a.out, text.encode())
    print(mh, sum(e.get("size", 0) for e in entries))


if __name__ == "__main__":
    sys.exit(main())
