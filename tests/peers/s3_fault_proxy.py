#!/usr/bin/env python3
"""An HTTP proxy on loopback that injects S3 faults in front of an S3 server.

    s3_fault_proxy.py --upstream PORT [--fail-part-puts N] [--hold-puts-after N]
                      --log FILE --port-file FILE

Forwards every request to 127.0.0.1:PORT unchanged (the Host header too, so
SigV4 signatures still verify), except that the first N UploadPart requests
(PUT with partNumber= in the query) are answered 503 SlowDown after their
body is read.  Every request is logged as "METHOD PART STATUS", PART being the
partNumber or "-", so a test can count what reached the server per part.
With --hold-puts-after N, every PUT after the first N is read and then
never answered (logged "PUT PART held"): a client stuck mid-upload, for a
test to interrupt at a known point.
The port it listens on (picked by the kernel) is written to --port-file once
it accepts connections.
"""
import argparse
import threading
import urllib.parse

from peerlib import ForwardingHandler, serve_loopback

SLOWDOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
            b"<Message>Please reduce your request rate.</Message></Error>")


class Proxy(ForwardingHandler):
    lock = threading.Lock()
    failures_left = 0
    hold_after = -1
    puts = 0
    log_path = ""
    never = threading.Event()

    def record(self, part, status):
        with Proxy.lock, open(Proxy.log_path, "a", encoding="ascii") as f:
            f.write(f"{self.command} {part} {status}\n")

    def handle_any(self):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        part = query.get("partNumber", ["-"])[0]
        body = self.body()
        inject = False
        if self.command == "PUT" and Proxy.hold_after >= 0:
            with Proxy.lock:
                Proxy.puts += 1
                hold = Proxy.puts > Proxy.hold_after
            if hold:
                self.record(part, "held")
                Proxy.never.wait()
                return
        if self.command == "PUT" and part != "-":
            with Proxy.lock:
                if Proxy.failures_left > 0:
                    Proxy.failures_left -= 1
                    inject = True
        if inject:
            self.record(part, 503)
            self.reply(503, [("Content-Type", "application/xml")], SLOWDOWN)
            return
        try:
            resp, headers, data = self.forward(self.command, self.path, self.headers.items(), body)
        except OSError:
            # The server is gone: the client sees a dropped connection, as
            # it would without the proxy.
            self.record(part, "dropped")
            self.close_connection = True
            return
        self.record(part, resp.status)
        length = resp.getheader("Content-Length") if self.command == "HEAD" else None
        self.reply(resp.status, headers, data, length)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--fail-part-puts", type=int, default=0)
    ap.add_argument("--hold-puts-after", type=int, default=-1)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    Proxy.upstream = a.upstream
    Proxy.failures_left = a.fail_part_puts
    Proxy.hold_after = a.hold_puts_after
    Proxy.log_path = a.log
    open(a.log, "w", encoding="ascii").close()
    serve_loopback(Proxy, a.port_file)


if __name__ == "__main__":
    main()
