#!/usr/bin/env python3
"""A Server-Sent Events client for test_api.sh: reads a stream of hoist
serve's REST API, disconnects once a condition holds, reconnects with
Last-Event-ID, and checks what the two connections delivered.

  api_sse.py logs URL TOKEN UNTIL   log text until UNTIL appears, then resume
                                    to the end; prints the whole text
  api_sse.py events URL TOKEN N     N events, then resume to the end; prints
                                    each seq on a line
  api_sse.py first URL TOKEN EVENT MATCH...
                                    the data of the first EVENT whose data
                                    holds every MATCH
Every read has a deadline (HOIST_SSE_DEADLINE, default 120 s)."""
import json
import os
import socket
import sys
import time
import urllib.parse

DEADLINE = time.monotonic() + float(os.environ.get("HOIST_SSE_DEADLINE", "120"))


class Stream:
    """One GET over a plain socket, its chunked body read line by line
    (what arrives is handed on at once, with nothing buffered ahead)."""

    def __init__(self, url, token, last_id=None):
        u = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((u.hostname, u.port))
        self.sock.settimeout(max(1, DEADLINE - time.monotonic()))
        path = u.path + ("?" + u.query if u.query else "")
        head = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (u.hostname, u.port),
                "Authorization: Bearer " + token, "Accept: text/event-stream"]
        if last_id is not None:
            head.append("Last-Event-ID: " + last_id)
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        self.raw = b""
        self.body = b""
        self.done = False
        status = self._raw_line()
        headers = {}
        while True:
            line = self._raw_line()
            if line == "":
                break
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        code = int(status.split()[1])
        if code != 200:
            sys.exit("GET %s: %s" % (url, status))
        if not headers.get("content-type", "").startswith("text/event-stream"):
            sys.exit("Content-Type %r" % headers.get("content-type"))
        if headers.get("cache-control") != "no-store":
            sys.exit("Cache-Control %r" % headers.get("cache-control"))
        if headers.get("transfer-encoding") != "chunked":
            sys.exit("Transfer-Encoding %r" % headers.get("transfer-encoding"))

    def _fill(self):
        if time.monotonic() > DEADLINE:
            sys.exit("deadline passed")
        data = self.sock.recv(65536)
        if not data:
            return False
        self.raw += data
        return True

    def _raw_line(self):
        while b"\r\n" not in self.raw:
            if not self._fill():
                sys.exit("the connection closed mid-line")
        line, _, self.raw = self.raw.partition(b"\r\n")
        return line.decode()

    def _chunk(self):
        size = int(self._raw_line().split(";")[0], 16)
        if size == 0:
            self.done = True
            return
        while len(self.raw) < size + 2:
            if not self._fill():
                sys.exit("the connection closed mid-chunk")
        self.body += self.raw[:size]
        self.raw = self.raw[size + 2:]

    def readline(self):
        while b"\n" not in self.body:
            if self.done:
                return b""
            self._chunk()
        line, _, self.body = self.body.partition(b"\n")
        return line + b"\n"

    def close(self):
        self.sock.close()


def connect(url, token, last_id=None):
    s = Stream(url, token, last_id)
    return s, s


def events(r):
    """Yields (id, event, data) for each frame; comments are skipped."""
    ev = {}
    while True:
        line = r.readline()
        if not line:
            return
        line = line.decode("utf-8").rstrip("\n")
        if line == "":
            if "data" in ev:
                yield ev.get("id"), ev.get("event", "message"), ev["data"]
            ev = {}
        elif line.startswith(":"):
            continue
        else:
            k, _, v = line.partition(":")
            ev[k] = v[1:] if v.startswith(" ") else v


def follow_logs(url, token, until):
    text, last, offsets = "", None, []
    c, r = connect(url, token)
    for eid, kind, data in events(r):
        if kind != "log":
            continue
        d = json.loads(data)
        offsets.append((d["offset"], int(eid)))
        text += d["text"]
        last = eid
        if until in text:
            break
    c.close()  # a disconnect mid-stream
    if last is None:
        sys.exit("no log event before the disconnect")
    c, r = connect(url, token, last)
    ended = False
    for eid, kind, data in events(r):
        if kind == "end":
            ended = True
            break
        if kind == "log":
            d = json.loads(data)
            offsets.append((d["offset"], int(eid)))
            text += d["text"]
    c.close()
    if not ended:
        sys.exit("the stream ended without an 'end' event")
    # each chunk starts where the one before ended: nothing lost or repeated
    for (a, _), (_, b) in zip(offsets[1:], offsets[:-1]):
        if a != b:
            sys.exit("a chunk starts at %d, the one before ended at %d" % (a, b))
    sys.stdout.write(text)


def follow_events(url, token, n):
    seqs = []
    c, r = connect(url, token)
    for eid, kind, data in events(r):
        if kind != "event":
            continue
        d = json.loads(data)
        if str(d["seq"]) != eid:
            sys.exit("id %s is not the event's seq %s" % (eid, d["seq"]))
        seqs.append(d["seq"])
        if len(seqs) >= n:
            break
    c.close()
    c, r = connect(url, token, str(seqs[-1]))
    for eid, kind, data in events(r):
        if kind == "end":
            break
        if kind == "event":
            seqs.append(json.loads(data)["seq"])
    c.close()
    for s in seqs:
        print(s)


def first(url, token, kind, match):
    c, r = connect(url, token)
    for eid, k, data in events(r):
        if k == kind and all(m in data for m in match):
            print(data)
            return
    sys.exit("the stream ended before a %s event with %r" % (kind, match))


if __name__ == "__main__":
    mode, url, token = sys.argv[1:4]
    if mode == "logs":
        follow_logs(url, token, sys.argv[4])
    elif mode == "events":
        follow_events(url, token, int(sys.argv[4]))
    else:
        first(url, token, sys.argv[4], sys.argv[5:])
