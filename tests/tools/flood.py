#!/usr/bin/env python3
"""Slow and idle HTTP clients for hoist serve's flood test and benchmark.

  flood.py hold --port P --count N [--src 127.0.0.2[,127.0.0.3...]] --status FILE
      Opens N connections (spread over the source addresses, bound with
      bind(); loopback is 127.0.0.0/8), sends each a request line and never
      finishes the head, and keeps them open until SIGTERM.  FILE is
      rewritten (atomically) with "connected=A open=B closed=C failed=D" as
      things change: closed counts those the server hung up on, failed those
      that could not connect.

  flood.py trickle --port P [--src ADDR] [--every SECONDS] [--give-up SECONDS]
      One connection that sends a request head one byte at a time, for ever.
      Exits 0 once the server drops it (printing how many bytes it sent),
      1 if it is still open after --give-up seconds.
"""
import argparse
import errno
import os
import selectors
import signal
import socket
import sys
import time

LINE = b"GET /hoist/flood HTTP/1.1\r\n"


def write_status(path, st):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("connected=%d open=%d closed=%d failed=%d\n" %
                (st["connected"], st["open"], st["closed"], st["failed"]))
    os.replace(tmp, path)


def hold(a):
    srcs = a.src.split(",")
    sel = selectors.DefaultSelector()
    st = {"connected": 0, "open": 0, "closed": 0, "failed": 0}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    pending = 0
    for i in range(a.count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((srcs[i % len(srcs)], 0))
            rc = s.connect_ex(("127.0.0.1", a.port))
        except OSError:
            st["failed"] += 1
            s.close()
            continue
        if rc not in (0, errno.EINPROGRESS):
            st["failed"] += 1
            s.close()
            continue
        sel.register(s, selectors.EVENT_WRITE, "connecting")
        pending += 1
        # Keep the number of connects in flight bounded: drain as we go.
        while pending >= 256:
            pending -= step(sel, st, 1.0)
    deadline = time.monotonic() + 30
    while pending > 0 and time.monotonic() < deadline:
        pending -= step(sel, st, 0.5)
    st["failed"] += pending
    write_status(a.status, st)
    last = dict(st)
    while not stop:
        step(sel, st, 0.2)
        if st != last:
            write_status(a.status, st)
            last = dict(st)
    write_status(a.status, st)


def step(sel, st, timeout):
    """One select round; returns how many connects completed (either way)."""
    done = 0
    for key, ev in sel.select(timeout):
        s = key.fileobj
        if key.data == "connecting":
            done += 1
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err != 0:
                st["failed"] += 1
                sel.unregister(s)
                s.close()
                continue
            try:
                s.send(LINE)
            except OSError:
                pass
            st["connected"] += 1
            st["open"] += 1
            sel.modify(s, selectors.EVENT_READ, "open")
            continue
        # Readable: the server answered (it should not) or hung up.
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if data:
            continue
        st["open"] -= 1
        st["closed"] += 1
        sel.unregister(s)
        s.close()
    return done


def trickle(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((a.src, 0))
    s.connect(("127.0.0.1", a.port))
    head = LINE + b"x-slow: " + b"a" * 100000
    start = time.monotonic()
    sent = 0
    while time.monotonic() - start < a.give_up:
        try:
            s.send(head[sent:sent + 1])
            sent += 1
        except OSError:
            print("dropped after %d bytes" % sent)
            return 0
        r = selectors.DefaultSelector()
        r.register(s, selectors.EVENT_READ)
        if r.select(a.every):
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                print("dropped after %d bytes" % sent)
                return 0
        r.close()
    print("still open after %d bytes" % sent)
    return 1


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("hold")
    h.add_argument("--port", type=int, required=True)
    h.add_argument("--count", type=int, required=True)
    h.add_argument("--src", default="127.0.0.2")
    h.add_argument("--status", required=True)
    t = sub.add_parser("trickle")
    t.add_argument("--port", type=int, required=True)
    t.add_argument("--src", default="127.0.0.3")
    t.add_argument("--every", type=float, default=0.3)
    t.add_argument("--give-up", type=float, default=120)
    a = p.parse_args()
    if a.cmd == "hold":
        hold(a)
        return 0
    return trickle(a)


if __name__ == "__main__":
    sys.exit(main())
