#!/usr/bin/env bash
# Regenerates tests/data/fuzz/archive/: well-formed tar, tar.gz, tar.bz2,
# tar.xz and zip archives, and the hostile shapes extraction must refuse.
# Deterministic (fixed mtimes, owners and gzip headers); the outputs are
# committed, so CI replays them without running this.
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)/archive
mkdir -p "$out"
python3 - "$out" <<'PY'
import bz2, gzip, io, lzma, os, sys, tarfile, zipfile

out = sys.argv[1]

def info(name, type=tarfile.REGTYPE, data=b"", mode=0o644, link=""):
    i = tarfile.TarInfo(name)
    i.type, i.mode, i.mtime, i.linkname = type, mode, 0, link
    i.uid = i.gid = 0
    i.uname = i.gname = ""
    i.size = len(data) if type == tarfile.REGTYPE else 0
    return i, data

def tar_bytes(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for i, data in entries:
            t.addfile(i, io.BytesIO(data) if i.size else None)
    return buf.getvalue()

def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)

good = [
    info("data", tarfile.DIRTYPE, mode=0o755),
    info("data/train.csv", data=b"x,y\n1,2\n3,4\n"),
    info("data/sub", tarfile.DIRTYPE, mode=0o755),
    info("data/sub/readme.txt", data=b"hello\n"),
    info("data/link", tarfile.SYMTYPE, link="sub/readme.txt"),
    info("data/hard", tarfile.LNKTYPE, link="data/train.csv"),
]
plain = tar_bytes(good)
write("plain.tar", plain)
gz = io.BytesIO()
with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as g:
    g.write(plain)
write("plain.tar.gz", gz.getvalue())
write("plain.tar.bz2", bz2.compress(plain))
write("plain.tar.xz", lzma.compress(plain))
write("gnu-longname.tar", tar_bytes([info("d/" + "n" * 150, data=b"long\n")], tarfile.GNU_FORMAT))
write("empty.tar", b"\0" * 1024)
write("not-an-archive.txt", b"just text, not an archive\n")

zbuf = io.BytesIO()
with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr(zipfile.ZipInfo("dir/", (1980, 1, 1, 0, 0, 0)), b"")
    z.writestr(zipfile.ZipInfo("dir/a.txt", (1980, 1, 1, 0, 0, 0)), b"zipped\n" * 10)
write("plain.zip", zbuf.getvalue())
zbuf = io.BytesIO()
with zipfile.ZipFile(zbuf, "w") as z:
    z.writestr(zipfile.ZipInfo("../zip-escaped.txt", (1980, 1, 1, 0, 0, 0)), b"pwned\n")
write("evil-zip-dotdot.zip", zbuf.getvalue())

evil = {
    "evil-absolute.tar": [info("/tmp/hoist-fuzz-escaped.txt", data=b"pwned\n")],
    "evil-dotdot.tar": [info("ok.txt", data=b"ok\n"), info("a/../../escaped.txt", data=b"pwned\n")],
    "evil-symlink-then-file.tar": [info("link", tarfile.SYMTYPE, link="../.."),
                                   info("link/escaped.txt", data=b"pwned\n")],
    "evil-symlink-absolute.tar": [info("etc", tarfile.SYMTYPE, link="/etc"),
                                  info("etc/hoist-fuzz-pwned", data=b"pwned\n")],
    "evil-through-inner-symlink.tar": [info("d", tarfile.DIRTYPE, mode=0o755),
                                       info("l", tarfile.SYMTYPE, link="d"),
                                       info("l/x.txt", data=b"through\n")],
    "evil-link-retarget.tar": [info("b", tarfile.SYMTYPE, link="a/l/.."),
                               info("a", tarfile.DIRTYPE, mode=0o755),
                               info("a/l", tarfile.SYMTYPE, link="..")],
    "evil-hardlink-passwd.tar": [info("passwd", tarfile.LNKTYPE, link="/etc/passwd")],
    # "h" is a hard link to the symlink "s", which is then replaced: only a
    # check of "h" itself sees that "d -> ." makes d/../x escape.
    "evil-hardlink-to-symlink.tar": [info("s", tarfile.SYMTYPE, link="d/../x"),
                                     info("h", tarfile.LNKTYPE, link="s"),
                                     info("s", data=b"now a file\n"),
                                     info("d", tarfile.SYMTYPE, link=".")],
    # Accepted: "l" comes later, and with it a/../.. stays inside.
    "link-through-later-link.tar": [info("a", tarfile.SYMTYPE, link="l/../../x"),
                                    info("d", tarfile.DIRTYPE, mode=0o755),
                                    info("d/e", tarfile.DIRTYPE, mode=0o755),
                                    info("l", tarfile.SYMTYPE, link="d/e")],
    "evil-hardlink-dotdot.tar": [info("h", tarfile.LNKTYPE, link="../outside")],
    "evil-device.tar": [info("null", tarfile.CHRTYPE)],
    "evil-fifo.tar": [info("pipe", tarfile.FIFOTYPE)],
    "setuid.tar": [info("tool", data=b"#!/bin/sh\n", mode=0o6755)],
}
for name, entries in evil.items():
    write(name, tar_bytes(entries))
PY
ls "$out" | wc -l
