#!/usr/bin/env bash
# Regenerates tests/data/fuzz/layer/: layer tars with whiteouts and opaque
# directories in both orders, and the hostile shapes layer_unpack() must
# refuse or keep inside the root ("..", absolute names, absolute and
# climbing symlinks followed by entries through them, hard links out,
# whiteouts through symlinks).  Deterministic; the outputs are committed.
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)/layer
mkdir -p "$out"
python3 - "$out" <<'PY'
import gzip, io, os, random, sys, tarfile

out = sys.argv[1]

def e(name, type=tarfile.REGTYPE, data=b"", mode=0o644, link="", uid=0):
    i = tarfile.TarInfo(name)
    i.type, i.mode, i.mtime, i.linkname = type, mode, 0, link
    i.uid = i.gid = uid
    i.uname = i.gname = ""
    i.size = len(data) if type == tarfile.REGTYPE else 0
    return i, data

def tar(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for i, data in entries:
            t.addfile(i, io.BytesIO(data) if i.size else None)
    return buf.getvalue()

def write(name, data, gz=False):
    if gz:
        data = gzip.compress(data, mtime=0)
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)

D, L, H = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE
write("base.tar.gz", tar([
    e("etc", D, mode=0o755), e("etc/passwd", data=b"root:x:0:0::/root:/bin/sh\n"),
    e("usr", D, mode=0o755), e("usr/lib", D, mode=0o755), e("lib", L, link="usr/lib"),
    e("lib/libc.so", data=b"\x7fELF"), e("bin", D), e("bin/su", data=b"x", mode=0o4755),
    e("bin/su2", H, link="bin/su"), e("tmp", D, mode=0o1777, uid=1000),
]), gz=True)
write("whiteouts.tar", tar([
    e("etc", D), e("etc/.wh.passwd"), e("usr/.wh..wh..opq"), e("usr/new", data=b"n"),
    e(".wh.nothing"), e("a/b/.wh.c"),
]))
write("opaque-after-entries.tar", tar([
    e("d", D), e("d/mine", data=b"m"), e("d/sub", D), e("d/sub/x", data=b"x"),
    e("d/.wh..wh..opq"), e("d/.wh.mine"),
]))
write("bad-whiteouts.tar", tar([e(".wh."), e(".wh.."), e("x/.wh..."), e(".wh..wh..opq")]))
write("evil-dotdot.tar", tar([e("../escaped", data=b"x")]))
write("evil-dotdot-inner.tar", tar([e("a/../../escaped", data=b"x")]))
write("evil-absolute.tar", tar([e("/escaped", data=b"x")]))
write("evil-symlink-absolute.tar", tar([e("abs", L, link="/"), e("abs/escaped", data=b"x"),
                                        e("abs/tmp/escaped2", data=b"x")]))
write("evil-symlink-climb.tar", tar([e("up", L, link="../../../.."), e("up/escaped", data=b"x"),
                                     e("up/sentinel", data=b"changed")]))
write("evil-symlink-parent.tar", tar([e("p", L, link=".."), e("p/sentinel", data=b"changed"),
                                      e("p/.wh.sentinel"), e("p/.wh..wh..opq")]))
write("evil-hardlink-out.tar", tar([e("h", H, link="../sentinel"), e("h2", H, link="/etc/passwd"),
                                    e("l", L, link=".."), e("h3", H, link="l/sentinel")]))
write("evil-whiteout-climb.tar", tar([e("x/../.wh.sentinel"), e("..wh.sentinel")]))
write("replace-types.tar", tar([e("a", D), e("a/f", data=b"1"), e("a", data=b"file now"),
                                e("b", data=b"f"), e("b", D), e("b/c", data=b"c")]))
write("device.tar", tar([e("dev", D), e("dev/null", tarfile.CHRTYPE), e("fifo", tarfile.FIFOTYPE)]))
write("long-names.tar", tar([e("d" * 90 + "/" + "f" * 120, data=b"x"),
                             e("l", L, link="t" * 300)]))
noise = random.Random(1).randbytes(5000)
write("truncated.tar.gz", gzip.compress(tar([e("f", data=noise)]), mtime=0)[:2000])
write("empty.tar", b"\0" * 1024)
PY
echo "wrote $(ls "$out" | wc -l) inputs to $out"
