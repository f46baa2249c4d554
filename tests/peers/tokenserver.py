#!/usr/bin/env python3
"""A Bearer token server for docker-registry's token auth (distribution token spec).

    tokenserver.py --key KEY.pem --cert CERT.pem --user U --password P
                   --issuer NAME --port-file FILE --log FILE

GET /token?service=S&scope=repository:NAME:pull,push&scope=... with Basic
credentials U:P answers {"token", "access_token", "expires_in", "issued_at"}:
an RS256 JWT whose header carries x5c (the certificate, base64 DER) and whose
claims are iss, sub, aud (= service), exp, nbf, iat, jti and access built from
the scopes.  Wrong or missing credentials get 401.  Each request is logged as
"user=U scopes=S status=N" (never the password or the token).
"""
import argparse
import base64
import http.server
import json
import threading
import time
import urllib.parse
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from peerlib import serve_loopback


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cfg = None
    lock = threading.Lock()

    def log_message(self, fmt, *args):
        pass

    def record(self, user, scopes, status):
        with Handler.lock, open(Handler.cfg.log, "a", encoding="utf-8") as f:
            f.write(f"user={user} scopes={' '.join(scopes)} status={status}\n")

    def send(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="hoist-test-token"')
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        c = Handler.cfg
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        scopes = q.get("scope", [])
        user = "-"
        ok = False
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                ok = user == c.user and pw == c.password
            except ValueError:
                ok = False
        if u.path != "/token":
            self.record(user, scopes, 404)
            self.send(404, {"error": "not found"})
            return
        if not ok:
            self.record(user, scopes, 401)
            self.send(401, {"error": "invalid credentials"})
            return
        access = []
        for s in scopes:
            parts = s.split(":")
            if len(parts) >= 3:
                access.append({"type": parts[0], "name": ":".join(parts[1:-1]),
                               "actions": parts[-1].split(",")})
        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT", "x5c": [c.cert_b64]}
        claims = {"iss": c.issuer, "sub": user, "aud": q.get("service", [""])[0],
                  "exp": now + (c.jwt_ttl if c.jwt_ttl is not None else c.expires),
                  "nbf": now - 10, "iat": now,
                  "jti": str(uuid.uuid4()), "access": access}
        signing = (b64url(json.dumps(header).encode()) + "." +
                   b64url(json.dumps(claims).encode())).encode()
        sig = c.key.sign(signing, padding.PKCS1v15(), hashes.SHA256())
        token = signing.decode() + "." + b64url(sig)
        self.record(user, scopes, 200)
        self.send(200, {"token": token, "access_token": token, "expires_in": c.expires,
                        "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--issuer", default="hoist-test-issuer")
    ap.add_argument("--expires", type=int, default=300)
    # the JWT's own lifetime when it should differ from expires_in (a token
    # the client thinks valid but the registry rejects; the registry allows
    # 60 s of clock skew, so negative values make short-lived tokens)
    ap.add_argument("--jwt-ttl", type=int, default=None)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    with open(a.key, "rb") as f:
        a.key = serialization.load_pem_private_key(f.read(), password=None)
    with open(a.cert, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    a.cert_b64 = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    Handler.cfg = a
    open(a.log, "w", encoding="utf-8").close()
    serve_loopback(Handler, a.port_file)


if __name__ == "__main__":
    main()
