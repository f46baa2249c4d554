#!/usr/bin/env python3
"""A loopback HTTP proxy in front of a registry that fails the first blob upload.

    flaky_proxy.py --upstream PORT --fail N --log FILE --port-file FILE
                   [--reject-patch] [--chunk-min BYTES] [--redirect-blobs]

Forwards every request to 127.0.0.1:PORT unchanged (the Host header too, so
the registry's absolute Location headers point back at the proxy), except
that the first N blob-upload PUTs (PUT .../blobs/uploads/...?digest=...) are
answered 503 after their body is read.  Each request is logged as
"METHOD PATH STATUS" (path without the query) so a test can check what
happened.  The port (picked by the kernel) goes to --port-file once it
accepts connections.

--reject-patch answers 416 to every PATCH (a registry that mishandles
chunked uploads).  --chunk-min adds OCI-Chunk-Min-Length to the answers of
upload POSTs.  --redirect-blobs answers blob GETs with a 307 to
http://localhost:PORT/storage/N?X-Amz-Signature=... (another host name for
this proxy, as a registry sends clients to its storage); the storage GET is
logged as "STORAGE auth=yes|no" and served from the registry with the
original request's credentials.
"""
import argparse
import threading
import urllib.parse

from peerlib import ForwardingHandler, serve_loopback

UNAVAILABLE = b'{"errors":[{"code":"UNAVAILABLE","message":"injected by flaky_proxy"}]}'


class Proxy(ForwardingHandler):
    lock = threading.Lock()
    failures_left = 0
    log_path = ""
    reject_patch = False
    chunk_min = 0
    redirect_blobs = False
    pending = {}

    def record(self, status):
        path = urllib.parse.urlsplit(self.path).path
        with Proxy.lock, open(Proxy.log_path, "a", encoding="ascii") as f:
            f.write(f"{self.command} {path} {status}\n")

    def storage(self, split):
        key = split.path.rsplit("/", 1)[-1]
        with Proxy.lock:
            path, auth, host = Proxy.pending.pop(key, (None, None, None))
        with Proxy.lock, open(Proxy.log_path, "a", encoding="ascii") as f:
            f.write(f"STORAGE auth={'yes' if self.headers.get('Authorization') else 'no'}\n")
        if path is None:
            self.reply(404, [], b"")
            return
        headers = [("Host", host)] + ([("Authorization", auth)] if auth else [])
        resp, out, data = self.forward("GET", path, headers, b"")
        self.reply(resp.status, out, data)

    def handle_any(self):
        body = self.body()
        split = urllib.parse.urlsplit(self.path)
        if split.path.startswith("/storage/"):
            self.storage(split)
            return
        if (Proxy.redirect_blobs and self.command == "GET" and "/blobs/sha256:" in split.path):
            with Proxy.lock:
                key = str(len(Proxy.pending) + 1) + "-" + split.path.rsplit(":", 1)[-1][:12]
                Proxy.pending[key] = (self.path, self.headers.get("Authorization"),
                                      self.headers.get("Host"))
            port = self.server.server_address[1]
            self.record(307)
            self.reply(307, [("Location", f"http://localhost:{port}/storage/{key}"
                                          "?X-Amz-Signature=not-for-logs")], b"")
            return
        if Proxy.reject_patch and self.command == "PATCH":
            self.record(416)
            self.reply(416, [("Content-Type", "application/json")],
                       b'{"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"no chunks here"}]}')
            return
        inject = False
        if (self.command == "PUT" and "/blobs/uploads/" in split.path
                and "digest=" in split.query):
            with Proxy.lock:
                if Proxy.failures_left > 0:
                    Proxy.failures_left -= 1
                    inject = True
        if inject:
            self.record(503)
            self.reply(503, [("Content-Type", "application/json")], UNAVAILABLE)
            return
        try:
            resp, headers, data = self.forward(self.command, self.path, self.headers.items(), body)
        except OSError:
            self.record("dropped")
            self.close_connection = True
            return
        if (Proxy.chunk_min and self.command == "POST" and split.path.endswith("/blobs/uploads/")
                and resp.status == 202):
            headers.append(("OCI-Chunk-Min-Length", str(Proxy.chunk_min)))
        self.record(resp.status)
        length = resp.getheader("Content-Length") if self.command == "HEAD" else None
        self.reply(resp.status, headers, data, length)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--fail", type=int, default=2)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--reject-patch", action="store_true")
    ap.add_argument("--chunk-min", type=int, default=0)
    ap.add_argument("--redirect-blobs", action="store_true")
    a = ap.parse_args()
    Proxy.upstream = a.upstream
    Proxy.reject_patch = a.reject_patch
    Proxy.chunk_min = a.chunk_min
    Proxy.redirect_blobs = a.redirect_blobs
    Proxy.failures_left = a.fail
    Proxy.log_path = a.log
    open(a.log, "w", encoding="ascii").close()
    serve_loopback(Proxy, a.port_file)


if __name__ == "__main__":
    main()
