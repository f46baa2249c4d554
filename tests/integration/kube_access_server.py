#!/usr/bin/env python3
"""A minimal Kubernetes API stand-in for test_kube_access.sh: only what the
client half of hoist's Kubernetes access needs (lib/kube.c), not the
provider's contract server (tests/peers/kube_server.py).

    kube_access_server.py DIR

DIR holds ca.crt, server.crt, server.key (made by the test with openssl) and
tokens (the bearer tokens it accepts, one a line, read on every request so
the test can rotate them).  It writes DIR/port once it accepts, and appends
one line per request to DIR/requests: "METHOD PATH AUTH" where AUTH is
"token:<first 4 chars>", "cert:<CN>" or "none".

Answers, as the API server does:
  401 Status                    no valid token and no client certificate of the CA
  GET  /api/v1/namespaces/N/configmaps/NAME    200 or 404 Status
  POST /api/v1/namespaces/N/configmaps         201, or 409 Status when it exists
  GET  /api/v1/namespaces/N/pods?watch=1...    a watch stream (chunked, one
       JSON event a line): needs allowWatchBookmarks=true;
       resourceVersion=expired -> an ERROR event with a 410 Status;
       resourceVersion=gone    -> HTTP 410 Status;
       else ADDED (rv 101), BOOKMARK (rv 102), MODIFIED (rv 103), then with
       labelSelector=drop the connection is cut mid-event, else the body ends.
  GET  /api/v1/namespaces/N/pods/P/log?follow=true   two lines of text, chunked
"""
import http.server
import json
import os
import ssl
import sys
import threading
import urllib.parse

DIR = sys.argv[1]
LOCK = threading.Lock()
CONFIGMAPS = {}


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def auth(self):
        cert = self.connection.getpeercert()
        if cert:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        return "cert:" + v
        h = self.headers.get("Authorization", "")
        if h.startswith("Bearer "):
            with open(os.path.join(DIR, "tokens"), encoding="ascii") as f:
                valid = {line.strip() for line in f if line.strip()}
            if h[7:] in valid:
                return "token:" + h[7:11]
        return None

    def send_json(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def start_chunked(self, ctype):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def handle_one(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        who = self.auth()
        with LOCK, open(os.path.join(DIR, "requests"), "a", encoding="ascii") as f:
            f.write(f"{self.command} {self.path} {who or 'none'}\n")
        if who is None:
            return self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
        parts = u.path.strip("/").split("/")
        if parts[:3] != ["api", "v1", "namespaces"] or len(parts) < 5:
            return self.send_json(404, status(404, "NotFound", "the server could not find "
                                              "the requested resource"))
        ns, kind, rest = parts[3], parts[4], parts[5:]
        if kind == "configmaps":
            return self.configmaps(ns, rest)
        if kind == "pods" and not rest and q.get("watch") == ["1"]:
            return self.watch(q)
        if kind == "pods" and len(rest) == 2 and rest[1] == "log":
            if q.get("follow") != ["true"]:
                return self.send_json(400, status(400, "BadRequest", "follow=true expected"))
            self.start_chunked("text/plain")
            self.chunk(b"log line 1\n")
            self.chunk(b"log line 2\n")
            self.chunk(b"")
            return None
        return self.send_json(404, status(404, "NotFound", "not found"))

    def configmaps(self, ns, rest):
        if self.command == "GET" and len(rest) == 1:
            with LOCK:
                obj = CONFIGMAPS.get((ns, rest[0]))
            if obj is None:
                return self.send_json(404, status(404, "NotFound",
                                                  f'configmaps "{rest[0]}" not found'))
            return self.send_json(200, obj)
        if self.command == "POST" and not rest:
            if self.headers.get("Content-Type") != "application/json":
                return self.send_json(415, status(415, "UnsupportedMediaType",
                                                  "application/json expected"))
            n = int(self.headers.get("Content-Length") or 0)
            obj = json.loads(self.rfile.read(n))
            name = obj["metadata"]["name"]
            with LOCK:
                if (ns, name) in CONFIGMAPS:
                    return self.send_json(409, status(409, "AlreadyExists",
                                                      f'configmaps "{name}" already exists'))
                obj["metadata"]["namespace"] = ns
                obj["metadata"]["resourceVersion"] = "7"
                CONFIGMAPS[(ns, name)] = obj
            return self.send_json(201, obj)
        return self.send_json(405, status(405, "MethodNotAllowed", "method not allowed"))

    def watch(self, q):
        if q.get("allowWatchBookmarks") != ["true"]:
            return self.send_json(400, status(400, "BadRequest", "bookmarks expected"))
        rv = q.get("resourceVersion", [""])[0]
        if rv == "gone":
            return self.send_json(410, status(410, "Gone", "too old resource version: 1 (90)"))
        self.start_chunked("application/json")
        if rv == "expired":
            ev = {"type": "ERROR", "object": status(410, "Expired",
                                                    "too old resource version: 1 (90)")}
            self.chunk(json.dumps(ev).encode() + b"\n")
            self.chunk(b"")
            return None

        def pod(name, v):
            return {"kind": "Pod", "apiVersion": "v1",
                    "metadata": {"name": name, "resourceVersion": v}}
        events = [{"type": "ADDED", "object": pod("pod-a", "101")},
                  {"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1",
                                                  "metadata": {"resourceVersion": "102"}}},
                  {"type": "MODIFIED", "object": pod("pod-a", "103")}]
        data = b"".join(json.dumps(e).encode() + b"\n" for e in events)
        # split mid-event: the client must join a line across chunks
        self.chunk(data[:30])
        self.chunk(data[30:])
        if q.get("labelSelector") == ["drop"]:
            self.chunk(b'{"type":"MODIFIED","object":{"metadata":')
            self.close_connection = True
            self.connection.shutdown(2)
            return None
        self.chunk(b"")
        return None

    def do_GET(self):
        self.handle_one()

    do_POST = do_GET
    do_DELETE = do_GET


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(DIR, "server.crt"), os.path.join(DIR, "server.key"))
    ctx.load_verify_locations(os.path.join(DIR, "ca.crt"))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = os.path.join(DIR, "port.tmp")
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{srv.server_address[1]}\n")
    os.rename(tmp, os.path.join(DIR, "port"))
    srv.serve_forever()


if __name__ == "__main__":
    main()
