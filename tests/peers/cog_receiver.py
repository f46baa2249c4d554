#!/usr/bin/env python3
"""cog_receiver.py PORT_FILE LOG_FILE FILES_DIR

A webhook receiver for the Cog endpoint's tests (tests/integration/test_cog.sh)
and a plain file server: each POST appends one JSON line to LOG_FILE,
{"path", "event" (the X-Hoist-Cog-Event header), "t" (monotonic seconds at
receipt), "body" (the parsed JSON)}; GET /files/NAME[?QUERY] answers FILES_DIR/NAME.
Listens on 127.0.0.1 on a port of the kernel's choosing, written to
PORT_FILE once it accepts.
"""
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peerlib  # noqa: E402

PORT_FILE, LOG_FILE, FILES_DIR = sys.argv[1:4]
LOCK = threading.Lock()


class Handler(peerlib.ForwardingHandler):
    def do_POST(self):
        data = self.body()
        try:
            body = json.loads(data)
        except ValueError:
            self.reply(400, [("Content-Type", "text/plain")], b"not JSON\n")
            return
        line = json.dumps({"path": self.path, "event": self.headers.get("X-Hoist-Cog-Event"),
                           "t": time.monotonic(), "body": body})
        with LOCK:  # one write(2) per line, appended whole
            fd = os.open(LOG_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (line + "\n").encode())
            finally:
                os.close(fd)
        self.reply(200, [("Content-Type", "application/json")], b"{}")

    def do_GET(self):
        path = self.path.split("?", 1)[0]  # a query (a presigned URL's) is ignored
        name = path[len("/files/"):] if path.startswith("/files/") else ""
        if not name or "/" in name or name.startswith("."):
            self.reply(404, [], b"")
            return
        try:
            with open(os.path.join(FILES_DIR, name), "rb") as f:
                data = f.read()
        except OSError:
            self.reply(404, [], b"")
            return
        self.reply(200, [("Content-Type", "application/octet-stream")], data)


peerlib.serve_loopback(Handler, PORT_FILE)
