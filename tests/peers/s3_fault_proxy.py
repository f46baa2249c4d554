#!/usr/bin/env python3
"""An HTTP proxy on loopback that injects S3 faults in front of an S3 server.

    s3_fault_proxy.py --upstream PORT --fail-part-puts N --log FILE --port-file FILE

Forwards every request to 127.0.0.1:PORT unchanged (the Host header too, so
SigV4 signatures still verify), except that the first N UploadPart requests
(PUT with partNumber= in the query) are answered 503 SlowDown after their
body is read.  Every request is logged as "METHOD PART STATUS", PART being the
partNumber or "-", so a test can count what reached the server per part.
The port it listens on (picked by the kernel) is written to --port-file once
it accepts connections.
"""
import argparse
import http.client
import http.server
import os
import threading
import urllib.parse

HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade"}
SLOWDOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
            b"<Message>Please reduce your request rate.</Message></Error>")


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    failures_left = 0
    upstream = 0
    log_path = ""

    def log_message(self, fmt, *args):  # quiet: the request log is ours
        pass

    def record(self, part, status):
        with Proxy.lock, open(Proxy.log_path, "a", encoding="ascii") as f:
            f.write(f"{self.command} {part} {status}\n")

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def reply(self, status, headers, data, length=None):
        self.send_response_only(status)
        for k, v in headers:
            self.send_header(k, v)
        # a HEAD answer keeps the server's length: the object's, not 0
        self.send_header("Content-Length", length if length is not None else str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        part = query.get("partNumber", ["-"])[0]
        body = self.body()
        inject = False
        if self.command == "PUT" and part != "-":
            with Proxy.lock:
                if Proxy.failures_left > 0:
                    Proxy.failures_left -= 1
                    inject = True
        if inject:
            self.record(part, 503)
            self.reply(503, [("Content-Type", "application/xml")], SLOWDOWN)
            return
        conn = http.client.HTTPConnection("127.0.0.1", Proxy.upstream, timeout=120)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() not in HOP and k.lower() != "content-length":
                    conn.putheader(k, v)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()
            headers = [(k, v) for k, v in resp.getheaders()
                       if k.lower() not in HOP and k.lower() != "content-length"]
        except OSError:
            # The server is gone: the client sees a dropped connection, as
            # it would without the proxy.
            self.record(part, "dropped")
            self.close_connection = True
            return
        finally:
            conn.close()
        self.record(part, resp.status)
        length = resp.getheader("Content-Length") if self.command == "HEAD" else None
        self.reply(resp.status, headers, data, length)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--fail-part-puts", type=int, default=0)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    Proxy.upstream = a.upstream
    Proxy.failures_left = a.fail_part_puts
    Proxy.log_path = a.log
    open(a.log, "w", encoding="ascii").close()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    srv.daemon_threads = True
    tmp = a.port_file + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{srv.server_address[1]}\n")
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
