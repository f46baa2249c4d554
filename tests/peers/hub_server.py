#!/usr/bin/env python3
"""A contract server for the Hugging Face Hub's upload API, as
huggingface_hub's commit API uses it (docs/results.md "The Hub"):

  POST /api/repos/create                       {name, organization, private}: 200, 409 if it exists
  POST /api/models/<ns>/<name>/preupload/<rev>  {files: [{path, sample, size}]}
                                               -> {files: [{path, uploadMode, shouldIgnore}]}
  POST /<ns>/<name>.git/info/lfs/objects/batch  git-lfs batch API (basic + multipart)
  PUT  /_storage/...                           the "presigned" storage URLs the batch names
  POST /_storage/complete/<oid>?sig=           multipart completion {oid, parts}
  POST /_storage/verify/<oid>?sig=             {oid, size}: the object is stored
  POST /api/models/<ns>/<name>/commit/<rev>     NDJSON: header, file, lfsFile lines

It enforces what the Hub does: paths, methods, "Authorization: Bearer
<token>" on the Hub's API (401 otherwise) and none on the URLs an LFS batch
answer names (signed, as a storage's presigned URLs are: a token sent there
would leak to a third party), the JSON and NDJSON shapes, each
LFS object's size and sha256, every part of a multipart upload before its
completion, an LFS file committed only once its object is stored and the
verify action the batch answer gave has been called (git-lfs's batch API:
a client that gets a verify action calls it after the upload).  It
keeps every commit and its files so a test can compare bytes:

  GET /_test/repo/<ns>/<name>        {private, commits: [{oid, summary, files}], files: {path: {...}}}
  GET /_test/file/<ns>/<name>/<path> the bytes of a file at the head of main
  GET /_test/requests                [{method, path, auth}] in order (never a header's value)

The token is read from --token-file (never a command line).  Files of at
least --lfs-threshold bytes go through LFS; objects larger than
--chunk-size go multipart.  --throttle-once answers the first preupload
with 429 and Retry-After: 1.
"""
import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peerlib  # noqa: E402

ARGS = None
LOCK = threading.Lock()
REPOS = {}  # "ns/name" -> {"private": bool, "commits": [...], "files": {path: meta}}
OBJECTS = {}  # oid -> size, once stored and checked
VERIFIED = set()  # oids whose verify action was called
PARTS = {}  # oid -> {n: (etag, bytes path)}
SIGS = {}  # sig -> (kind, oid, part)
REQUESTS = []
THROTTLED = [False]
TOKEN = None

NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
REPO = rf"({NAME})/({NAME})"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
LFS_JSON = "application/vnd.git-lfs+json"


def path_ok(p):
    if not isinstance(p, str) or p == "" or p.startswith("/") or p.endswith("/"):
        return False
    return all(s not in ("", ".", "..") for s in p.split("/")) and not any(
        ord(c) < 0x20 for c in p)


class Handler(peerlib.ForwardingHandler):
    def base(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def send_json(self, status, obj, headers=()):
        data = json.dumps(obj).encode()
        self.reply(status, [("Content-Type", "application/json"), *headers], data)

    def err(self, status, msg):
        self.send_json(status, {"error": msg}, [("X-Error-Message", msg)])

    def authed(self):
        """401 unless the Hub's token came as a Bearer token."""
        a = self.headers.get("Authorization", "")
        if a != f"Bearer {TOKEN}":
            self.err(401, "Invalid credentials in Authorization header")
            return False
        return True

    def json_body(self, ctype="application/json"):
        got = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if got != ctype:
            self.err(400, f"Content-Type must be {ctype}, not {got!r}")
            return None
        try:
            v = json.loads(self.body())
        except ValueError:
            self.err(400, "body is not JSON")
            return None
        if not isinstance(v, dict):
            self.err(400, "body is not a JSON object")
            return None
        return v

    def record(self):
        with LOCK:
            REQUESTS.append({"method": self.command, "path": urllib.parse.urlsplit(self.path).path,
                             "auth": "Authorization" in self.headers})

    def repo(self, ns, name):
        with LOCK:
            r = REPOS.get(f"{ns}/{name}")
        if r is None:
            self.err(404, f"Repository not found: {ns}/{name}")
        return r

    # ---- routes ----

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if m := re.fullmatch(rf"/_test/repo/{REPO}", u.path):
            with LOCK:
                r = REPOS.get(f"{m[1]}/{m[2]}")
                data = json.dumps(r) if r is not None else None
            if data is None:
                return self.err(404, "no such repo")
            return self.reply(200, [("Content-Type", "application/json")], data.encode())
        if m := re.fullmatch(rf"/_test/file/{REPO}/(.+)", u.path):
            with LOCK:
                r = REPOS.get(f"{m[1]}/{m[2]}")
                meta = r["files"].get(urllib.parse.unquote(m[3])) if r else None
            if meta is None:
                return self.err(404, "no such file")
            with open(meta["blob"], "rb") as f:
                return self.reply(200, [], f.read())
        if u.path == "/_test/requests":
            with LOCK:
                data = json.dumps(REQUESTS).encode()
            return self.reply(200, [("Content-Type", "application/json")], data)
        self.err(404, f"no route GET {u.path}")

    def do_POST(self):
        self.record()
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/api/repos/create":
            return self.create()
        if m := re.fullmatch(rf"/api/models/{REPO}/preupload/([^/]+)", u.path):
            return self.preupload(m[1], m[2], urllib.parse.unquote(m[3]))
        if m := re.fullmatch(rf"/api/models/{REPO}/commit/([^/]+)", u.path):
            return self.commit(m[1], m[2], urllib.parse.unquote(m[3]))
        if m := re.fullmatch(rf"/{REPO}\.git/info/lfs/objects/batch", u.path):
            return self.batch(m[1], m[2])
        if m := re.fullmatch(r"/_storage/verify/([0-9a-f]{64})", u.path):
            return self.verify(m[1], u.query)
        if m := re.fullmatch(r"/_storage/complete/([0-9a-f]{64})", u.path):
            return self.complete(m[1], u.query)
        self.err(404, f"no route POST {u.path}")

    def do_PUT(self):
        self.record()
        u = urllib.parse.urlsplit(self.path)
        if m := re.fullmatch(r"/_storage/(upload|part)/([0-9a-f]{64})(?:/([0-9]+))?", u.path):
            return self.storage_put(m[1], m[2], int(m[3]) if m[3] else 0, u.query)
        self.err(404, f"no route PUT {u.path}")

    def create(self):
        if not self.authed():
            return
        b = self.json_body()
        if b is None:
            return
        name, org, priv = b.get("name"), b.get("organization"), b.get("private", False)
        if not isinstance(name, str) or not isinstance(org, str) or not isinstance(priv, bool):
            return self.err(400, "name and organization must be strings, private a boolean")
        if b.get("type", "model") != "model":
            return self.err(400, "only model repos here")
        rid = f"{org}/{name}"
        if not re.fullmatch(REPO, rid):
            return self.err(400, f"invalid repo id {rid!r}")
        with LOCK:
            if rid in REPOS:
                exists = True
            else:
                exists = False
                REPOS[rid] = {"private": priv, "commits": [], "files": {}}
        if exists:
            return self.send_json(409, {"error": "You already created this model repo",
                                        "url": f"{self.base()}/{rid}"})
        self.send_json(200, {"url": f"{self.base()}/{rid}", "name": rid})

    def preupload(self, ns, name, rev):
        if not self.authed():
            return
        b = self.json_body()
        if b is None or self.repo(ns, name) is None:
            return
        if rev != "main":
            return self.err(404, f"Revision not found: {rev}")
        with LOCK:
            throttle = ARGS.throttle_once and not THROTTLED[0]
            THROTTLED[0] = True
        if throttle:
            return self.send_json(429, {"error": "slow down"}, [("Retry-After", "1")])
        files = b.get("files")
        if not isinstance(files, list) or not files:
            return self.err(400, "files must be a non-empty array")
        out = []
        for f in files:
            if not isinstance(f, dict) or not path_ok(f.get("path")) or \
                    not isinstance(f.get("size"), int) or not isinstance(f.get("sample"), str):
                return self.err(400, "each file needs path (relative), sample (base64), size")
            try:
                sample = base64.b64decode(f["sample"], validate=True)
            except ValueError:
                return self.err(400, f"sample of {f['path']} is not base64")
            if len(sample) > 512 or len(sample) > f["size"]:
                return self.err(400, f"sample of {f['path']} is longer than 512 bytes or the file")
            lfs = f["size"] >= ARGS.lfs_threshold
            out.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular",
                        "shouldIgnore": False})
        self.send_json(200, {"files": out, "commitOid": "0" * 40})

    def batch(self, ns, name):
        if not self.authed():
            return
        if LFS_JSON not in (self.headers.get("Accept") or ""):
            return self.err(406, f"Accept must be {LFS_JSON}")
        b = self.json_body(LFS_JSON)
        if b is None or self.repo(ns, name) is None:
            return
        if b.get("operation") != "upload" or not isinstance(b.get("transfers"), list):
            return self.err(422, "operation must be upload, transfers a list")
        if b.get("hash_algo", "sha256") != "sha256":
            return self.err(422, "hash_algo must be sha256")
        objs = b.get("objects")
        if not isinstance(objs, list) or not objs:
            return self.err(422, "objects must be a non-empty array")
        multipart = "multipart" in b["transfers"]
        out = []
        transfer = "basic"
        for o in objs:
            oid, size = (o.get("oid"), o.get("size")) if isinstance(o, dict) else (None, None)
            if not isinstance(oid, str) or not HEX64.match(oid) or not isinstance(size, int) \
                    or size < 0:
                return self.err(422, "each object needs oid (sha256 hex) and size")
            with LOCK:
                have = OBJECTS.get(oid) == size
            if have:
                out.append({"oid": oid, "size": size})
                continue
            verify = {"href": self.sign("verify", oid, 0, f"/_storage/verify/{oid}"),
                      "header": {}}
            if multipart and size > ARGS.chunk_size:
                transfer = "multipart"
                n = (size + ARGS.chunk_size - 1) // ARGS.chunk_size
                header = {"chunk_size": str(ARGS.chunk_size)}
                for i in range(1, n + 1):
                    header[f"{i:05d}"] = self.sign("part", oid, i, f"/_storage/part/{oid}/{i}")
                href = self.sign("complete", oid, 0, f"/_storage/complete/{oid}")
                out.append({"oid": oid, "size": size, "authenticated": True,
                            "actions": {"upload": {"href": href, "header": header},
                                        "verify": verify}})
            else:
                href = self.sign("upload", oid, 0, f"/_storage/upload/{oid}")
                out.append({"oid": oid, "size": size, "authenticated": True,
                            "actions": {"upload": {"href": href,
                                                   "header": {"X-Storage-Class": "test"}},
                                        "verify": verify}})
            with LOCK:
                PARTS.setdefault(oid, {"size": size, "parts": {}})
        self.reply(200, [("Content-Type", LFS_JSON)],
                   json.dumps({"transfer": transfer, "objects": out}).encode())

    def sign(self, kind, oid, part, path):
        sig = secrets.token_hex(16)
        with LOCK:
            SIGS[sig] = (kind, oid, part)
        return f"{self.base()}{path}?X-Sig={sig}"

    def check_sig(self, kind, oid, part, query):
        sig = urllib.parse.parse_qs(query).get("X-Sig", [""])[0]
        with LOCK:
            ok = SIGS.get(sig) == (kind, oid, part)
        if not ok:
            self.err(403, "bad or missing signature")
        elif "Authorization" in self.headers:
            # a storage URL is a third party's: the Hub's token must not go there
            self.err(400, "a storage URL got an Authorization header (the Hub token leaked)")
            ok = False
        return ok

    def storage_put(self, kind, oid, part, query):
        if not self.check_sig(kind, oid, part, query):
            return
        data = self.body()
        with LOCK:
            pend = PARTS.get(oid)
        if pend is None:
            return self.err(404, "no upload pending for this object")
        path = os.path.join(ARGS.dir, "objects", f"{oid}.{part}")
        with open(path, "wb") as f:
            f.write(data)
        if kind == "upload":
            if len(data) != pend["size"] or hashlib.sha256(data).hexdigest() != oid:
                os.unlink(path)
                return self.err(400, "size or sha256 does not match the object")
            os.rename(path, os.path.join(ARGS.dir, "objects", oid))
            with LOCK:
                OBJECTS[oid] = pend["size"]
            return self.reply(200, [("ETag", '"whole"')], b"")
        etag = '"' + hashlib.md5(data).hexdigest() + '"'
        with LOCK:
            pend["parts"][part] = (etag, path, len(data))
        self.reply(200, [("ETag", etag)], b"")

    def complete(self, oid, query):
        if not self.check_sig("complete", oid, 0, query):
            return
        b = self.json_body(LFS_JSON)
        if b is None:
            return
        with LOCK:
            pend = PARTS.get(oid)
        if pend is None:
            return self.err(404, "no multipart upload for this object")
        want = (pend["size"] + ARGS.chunk_size - 1) // ARGS.chunk_size
        parts = b.get("parts")
        if b.get("oid") != oid or not isinstance(parts, list) or len(parts) != want:
            return self.err(400, f"completion needs oid and {want} parts")
        h = hashlib.sha256()
        size = 0
        final = os.path.join(ARGS.dir, "objects", oid)
        with open(final + ".tmp", "wb") as out:
            for i, p in enumerate(parts, 1):
                have = pend["parts"].get(i)
                if not isinstance(p, dict) or p.get("partNumber") != i or have is None or \
                        p.get("etag") != have[0]:
                    return self.err(400, f"part {i}: missing, out of order or wrong etag")
                if i < want and have[2] != ARGS.chunk_size:
                    return self.err(400, f"part {i} is {have[2]} bytes, not the chunk size")
                with open(have[1], "rb") as f:
                    data = f.read()
                h.update(data)
                size += len(data)
                out.write(data)
        if size != pend["size"] or h.hexdigest() != oid:
            os.unlink(final + ".tmp")
            return self.err(400, f"assembled object is {size} bytes with another sha256")
        os.rename(final + ".tmp", final)
        with LOCK:
            OBJECTS[oid] = size
        self.send_json(200, {"oid": oid, "size": size})

    def verify(self, oid, query):
        if not self.check_sig("verify", oid, 0, query):
            return
        b = self.json_body(LFS_JSON)
        if b is None:
            return
        if b.get("oid") != oid:
            return self.err(422, "verify: oid differs from the URL's")
        with LOCK:
            ok = OBJECTS.get(b.get("oid")) == b.get("size")
        if not ok:
            return self.err(404, "object not stored (or another size)")
        with LOCK:
            VERIFIED.add(oid)
        self.send_json(200, {"message": "ok"})

    def commit(self, ns, name, rev):
        if not self.authed():
            return
        got = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if got != "application/x-ndjson":
            return self.err(400, f"Content-Type must be application/x-ndjson, not {got!r}")
        r = self.repo(ns, name)
        if r is None:
            return
        if rev != "main":
            return self.err(404, f"Revision not found: {rev}")
        lines = self.body().decode().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        try:
            items = [json.loads(x) for x in lines]
        except ValueError:
            return self.err(400, "a line is not JSON")
        if not items or items[0].get("key") != "header" or \
                not isinstance(items[0].get("value", {}).get("summary"), str):
            return self.err(400, "the first line must be the header with a summary")
        files = {}
        for it in items[1:]:
            v = it.get("value") if isinstance(it, dict) else None
            if not isinstance(v, dict) or not path_ok(v.get("path")) or v["path"] in files:
                return self.err(400, "each line needs a value with a valid, unique path")
            if it.get("key") == "file":
                if v.get("encoding") != "base64" or not isinstance(v.get("content"), str):
                    return self.err(400, f"{v['path']}: file lines carry base64 content")
                try:
                    data = base64.b64decode(v["content"], validate=True)
                except ValueError:
                    return self.err(400, f"{v['path']}: content is not base64")
                if len(data) >= ARGS.lfs_threshold:
                    return self.err(400, f"{v['path']}: a file this large must go through LFS")
                oid = hashlib.sha256(data).hexdigest()
                blob = os.path.join(ARGS.dir, "objects", oid)
                with open(blob, "wb") as f:
                    f.write(data)
                files[v["path"]] = {"sha256": oid, "size": len(data), "lfs": False, "blob": blob}
            elif it.get("key") == "lfsFile":
                oid, size = v.get("oid"), v.get("size")
                if v.get("algo") != "sha256" or not isinstance(oid, str) or \
                        not HEX64.match(oid) or not isinstance(size, int):
                    return self.err(400, f"{v['path']}: lfsFile lines carry algo, oid, size")
                with LOCK:
                    stored = OBJECTS.get(oid)
                    verified = oid in VERIFIED
                if stored != size:
                    return self.err(422, f"{v['path']}: LFS object {oid} was not uploaded")
                if not verified:
                    return self.err(422, f"{v['path']}: LFS object {oid} was uploaded but its "
                                         "verify action was never called")
                files[v["path"]] = {"sha256": oid, "size": size, "lfs": True,
                                    "blob": os.path.join(ARGS.dir, "objects", oid)}
            else:
                return self.err(400, f"unknown line key {it.get('key')!r}")
        if not files:
            return self.err(400, "no files in the commit")
        oid = secrets.token_hex(20)
        with LOCK:
            r["commits"].append({"oid": oid, "summary": items[0]["value"]["summary"],
                                 "files": {p: {k: m[k] for k in ("sha256", "size", "lfs")}
                                           for p, m in files.items()}})
            r["files"].update(files)
        self.send_json(200, {"commitUrl": f"{self.base()}/{ns}/{name}/commit/{oid}",
                             "commitOid": oid, "pullRequestUrl": None})


def main():
    global ARGS, TOKEN
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--lfs-threshold", type=int, default=10 * 1024 * 1024)
    ap.add_argument("--chunk-size", type=int, default=8 * 1024 * 1024)
    ap.add_argument("--throttle-once", action="store_true")
    ARGS = ap.parse_args()
    with open(ARGS.token_file, encoding="ascii") as f:
        TOKEN = f.read().strip()
    os.makedirs(os.path.join(ARGS.dir, "objects"), exist_ok=True)
    peerlib.serve_loopback(Handler, os.path.join(ARGS.dir, "port"))


if __name__ == "__main__":
    main()
