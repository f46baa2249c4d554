"""What the Python test peers share: a forwarding handler and a loopback
server that publishes its port.

    ForwardingHandler  a BaseHTTPRequestHandler (HTTP/1.1, no access log)
                       with body(), reply() and forward() to
                       127.0.0.1:<cls.upstream>, hop-by-hop headers dropped
    serve_loopback     serves a handler on 127.0.0.1:<kernel's pick> and
                       writes the port to a file (atomically) once it accepts
"""
import http.client
import http.server
import os

HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade"}


class ForwardingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = 0

    def log_message(self, fmt, *args):  # quiet: each peer keeps its own log
        pass

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

    def forward(self, method, path, headers, body):
        """Sends the request upstream unchanged (the Host header too);
        returns (response, headers to pass on, body).  OSError when the
        upstream is gone."""
        conn = http.client.HTTPConnection("127.0.0.1", type(self).upstream, timeout=120)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for k, v in headers:
                if k.lower() not in HOP and k.lower() != "content-length":
                    conn.putheader(k, v)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()
            out = [(k, v) for k, v in resp.getheaders()
                   if k.lower() not in HOP and k.lower() != "content-length"]
            return resp, out, data
        finally:
            conn.close()


def serve_loopback(handler, port_file):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    tmp = port_file + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{srv.server_address[1]}\n")
    os.rename(tmp, port_file)
    srv.serve_forever()
