#!/usr/bin/python3
"""A Replicate contract server (api.replicate.com) for hoist's tests.

It enforces what Replicate documents for the HTTP API
(https://replicate.com/docs/reference/http) on the requests hoist sends, and
runs a training for real, the way Replicate runs a Cog image:
  - every /v1 call needs "Authorization: Bearer <token>" (or "Token
    <token>"), else 401 {"detail": ...}; JSON bodies are checked for their
    required fields and types (400/422 naming the field);
  - GET /v1/account, GET /v1/hardware, GET/POST /v1/models[/o/n],
    GET /v1/models/o/n/versions[/id], POST /v1/models/o/n/versions/id/trainings,
    GET /v1/trainings[/id], POST /v1/trainings/id/cancel, POST/GET /v1/files
    (multipart field "content", 100 MiB at most: 413 above), GET
    /v1/files/id, GET /v1/webhooks/default/secret;
  - r8.im is Debian's docker-registry behind tests/peers/tokenserver.py
    (user = the account's username, password = the token); the registry's
    notifications (POST /_registry/events) make a new model version per
    pushed manifest, its openapi_schema read from the image config's label
    run.cog.openapi_schema (the version is refused, and the push logged as
    such, when the labels are missing or the schema is not a JSON object);
  - a training's input is checked against the version's TrainingInput
    schema (python3-jsonschema): required properties, types, formats;
    input_* URLs of this server's files are turned into download URLs the
    container can fetch without a token, as Replicate delivers files;
  - a training runs: podman pull (the token as the registry password),
    podman run --network=host -e PORT=<free port> IMAGE (its default Cmd:
    Cog mode), GET /health-check until READY, POST /trainings with
    "Prefer: respond-async" and a webhook back to this server
    (/_cog/<training id>) with every event; Cog's webhooks become the
    training object (status, logs, output, error, metrics.predict_time);
    cancel is Cog's POST /trainings/<id>/cancel (then podman stop);
  - Replicate's own webhooks go to the training's webhook URL, filtered by
    webhook_events_filter (start, output, logs, completed), signed with
    Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature
    "v1,<base64 HMAC-SHA256 of id.timestamp.body>") with the secret GET
    /v1/webhooks/default/secret serves, retried on failure.
Test controls (no token), on the same port:
  POST /_test/throttle?count=N   the next N /v1 calls get 429 with Retry-After: 1
  POST /_test/predict_time/<id>?seconds=S  a training's metrics.predict_time
  GET  /_test/deliveries         the webhooks delivered so far
Every /v1 request (method, path, status; no body) is appended to
DIR/requests.jsonl.

usage: replicate_server.py --dir DIR --token T --user NAME --registry-dir DIR
         --port-file FILE [--podman-arg ARG ...]
(--registry-dir: the tests/peers/registry.sh directory of the registry that
stands for r8.im; its port is read from DIR/port when first needed.)
"""
import argparse
import base64
import cgi
import hashlib
import hmac
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jsonschema  # noqa: E402
import peerlib  # noqa: E402

FILE_LIMIT = 100 * 1024 * 1024
HARDWARE = [
    {"name": "CPU", "sku": "cpu"},
    {"name": "Nvidia T4 GPU", "sku": "gpu-t4"},
    {"name": "Nvidia L40S GPU", "sku": "gpu-l40s"},
    {"name": "2x Nvidia L40S GPU", "sku": "gpu-l40s-2x"},
    {"name": "Nvidia A100 (80GB) GPU", "sku": "gpu-a100-large"},
    {"name": "Nvidia H100 GPU", "sku": "gpu-h100"},
]
EVENTS = ("start", "output", "logs", "completed")
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v2+json")

ARGS = None
LOCK = threading.RLock()
MODELS = {}     # "o/n" -> model
VERSIONS = {}   # "o/n" -> [version, ...] newest first
TRAININGS = {}  # id -> training
FILES = {}      # id -> {"obj", "data", "token"}
DELIVERIES = []
THROTTLE = {"count": 0}
SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
SELF = {"port": 0}


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000000Z"


def log_request(rec):
    with LOCK, open(os.path.join(ARGS.dir, "requests.jsonl"), "a", encoding="utf-8") as f:
        f.write(json.dumps(rec) + "\n")


def log(msg):
    with LOCK, open(os.path.join(ARGS.dir, "server.log"), "a", encoding="utf-8") as f:
        f.write(time.strftime("%H:%M:%S ") + msg + "\n")


class ApiError(Exception):
    def __init__(self, status, detail):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def need(cond, status, detail):
    if not cond:
        raise ApiError(status, detail)


def check_fields(body, spec, where):
    """spec: {name: (type, required)}; unknown fields are refused."""
    need(isinstance(body, dict), 400, f"{where}: the body must be a JSON object")
    for k in body:
        need(k in spec, 422, f"{where}: unknown field '{k}'")
    for k, (typ, req) in spec.items():
        if k not in body:
            need(not req, 422, f"{where}: '{k}' is required")
            continue
        need(isinstance(body[k], typ), 422, f"{where}: '{k}' has the wrong type")


def model_name_ok(s):
    parts = s.split("/") if isinstance(s, str) else []
    return len(parts) == 2 and all(p and p == p.lower() and not p.startswith((".", "-"))
                                   and all(c.isalnum() or c in "-_." for c in p) for p in parts)


# ---- registry -> versions ----

def registry_blob(digest):
    algo, hexd = digest.split(":", 1)
    path = os.path.join(ARGS.registry_dir, "data", "docker", "registry", "v2", "blobs", algo,
                        hexd[:2], hexd, "data")
    with open(path, "rb") as f:
        return f.read()


def on_push(ev):
    target = ev.get("target", {})
    if ev.get("action") != "push" or target.get("mediaType") not in MANIFEST_TYPES:
        return
    repo, digest = target.get("repository"), target.get("digest")
    try:
        manifest = json.loads(registry_blob(digest))
        config = json.loads(registry_blob(manifest["config"]["digest"]))
        labels = (config.get("config") or {}).get("Labels") or {}
        schema = json.loads(labels["run.cog.openapi_schema"])
        need(isinstance(schema, dict), 400, "schema is not an object")
        need("run.cog.version" in labels and "run.cog.config" in labels, 400, "labels")
    except (OSError, KeyError, ValueError, ApiError) as e:
        log(f"push {repo}@{digest}: not a Cog image ({e!r}); no version")
        return
    with LOCK:
        vs = VERSIONS.setdefault(repo, [])
        if any(v["_digest"] == digest for v in vs):
            return
        vid = hashlib.sha256(f"{repo}@{digest}".encode()).hexdigest()
        vs.insert(0, {"id": vid, "created_at": now_iso(), "cog_version": labels["run.cog.version"],
                      "openapi_schema": schema, "_digest": digest})
        log(f"push {repo}@{digest}: version {vid}")


def public_version(v):
    return {k: v[k] for k in ("id", "created_at", "cog_version", "openapi_schema")}


# ---- trainings ----

def public_training(t):
    out = {k: t[k] for k in ("id", "model", "version", "status", "input", "output", "error",
                             "logs", "metrics", "created_at", "started_at", "completed_at",
                             "webhook", "webhook_events_filter", "urls")}
    inp = dict(out["input"])
    if "hoist_env" in inp:
        inp["hoist_env"] = "**********"  # a Cog Secret is never shown again
    out["input"] = inp
    return out


def sign(body):
    key = base64.b64decode(SECRET[len("whsec_"):])
    wid = "msg_" + uuid.uuid4().hex
    ts = str(int(time.time()))
    mac = hmac.new(key, f"{wid}.{ts}.".encode() + body, hashlib.sha256).digest()
    return wid, ts, "v1," + base64.b64encode(mac).decode()


def deliver(t, event):
    url = t.get("webhook")
    if not url or event not in t["webhook_events_filter"]:
        return
    body = json.dumps(public_training(t)).encode()
    wid, ts, sig = sign(body)
    for attempt in range(5):
        req = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "webhook-id": wid,
            "webhook-timestamp": ts, "webhook-signature": sig})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
        except OSError as e:
            status = str(e)
        with LOCK:
            DELIVERIES.append({"training": t["id"], "event": event, "status": t["status"],
                               "webhook_id": wid, "answer": status})
        if isinstance(status, int) and status < 300:
            return
        time.sleep(0.5 * (attempt + 1))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def podman(*args, check=True, timeout=None):
    r = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"podman {args[0]}: {r.stderr.strip()[-500:]}")
    return r


def cog(t, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", t["_port"], timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def deliverable(inp):
    """input_* URLs of this server's files -> tokenless download URLs."""
    out = dict(inp)
    prefix = f"http://127.0.0.1:{SELF['port']}/v1/files/"
    for k, v in inp.items():
        if k.startswith("input_") and isinstance(v, str) and v.startswith(prefix):
            fid = v[len(prefix):].split("/")[0]
            if fid in FILES:
                out[k] = f"http://127.0.0.1:{SELF['port']}/_delivery/{fid}/{FILES[fid]['token']}"
    return out


def finish(t, status, error=None):
    with LOCK:
        if t["status"] in ("succeeded", "failed", "canceled"):
            return
        t["status"] = status
        if error:
            t["error"] = error
        t["completed_at"] = now_iso()
        if t["metrics"].get("predict_time") is None and t.get("_started"):
            t["metrics"]["predict_time"] = round(time.time() - t["_started"], 3)
        if t.get("_predict_time") is not None:
            t["metrics"]["predict_time"] = t["_predict_time"]
    deliver(t, "completed")


def run_training(t):
    with open(os.path.join(ARGS.registry_dir, "port"), encoding="ascii") as f:
        registry = "127.0.0.1:" + f.read().strip()
    image = f"{registry}/{t['model']}@{t['_digest']}"
    name = "hoist-replicate-" + t["id"]
    try:
        podman("pull", "--tls-verify=false", "--creds", f"{ARGS.user}:{ARGS.token}", image,
               timeout=600)
        t["_port"] = free_port()
        podman("run", "-d", "--name", name, "--network=host", "-e", f"PORT={t['_port']}",
               *ARGS.podman_arg, image)
        t["_container"] = name
        deadline = time.time() + 180
        while True:
            if t["status"] == "canceled":
                return
            try:
                st, data = cog(t, "GET", "/health-check")
                if st == 200 and json.loads(data).get("status") == "READY":
                    break
                if st == 200 and json.loads(data).get("status") in ("SETUP_FAILED", "DEFUNCT"):
                    raise RuntimeError(f"health-check: {data[:300]!r}")
            except (OSError, ValueError):
                pass
            state = podman("inspect", "-f", "{{.State.Running}}", name, check=False).stdout
            if state.strip() == "false" or time.time() > deadline:
                raise RuntimeError("the container did not become READY: " +
                                   podman("logs", name, check=False).stderr[-800:])
            time.sleep(0.2)
        body = {"id": t["id"], "input": deliverable(t["input"]),
                "webhook": f"http://127.0.0.1:{SELF['port']}/_cog/{t['id']}",
                "webhook_events_filter": list(EVENTS)}
        st, data = cog(t, "POST", "/trainings", body, {"Prefer": "respond-async"})
        if st != 202:
            raise RuntimeError(f"POST /trainings answered {st}: {data[:500]!r}")
        with LOCK:
            t["status"] = "processing"
            t["started_at"] = now_iso()
            t["_started"] = time.time()
        while t["status"] not in ("succeeded", "failed", "canceled"):
            state = podman("inspect", "-f", "{{.State.Running}}", name, check=False).stdout
            if state.strip() != "true":
                time.sleep(1)  # a last webhook may still be on its way
                if t["status"] not in ("succeeded", "failed", "canceled"):
                    finish(t, "failed", "the container stopped: " +
                           podman("logs", name, check=False).stderr[-800:])
                break
            time.sleep(0.3)
    except Exception as e:  # noqa: BLE001 - any failure is the training's
        log(f"training {t['id']}: {e}")
        finish(t, "failed", str(e)[:1000])
    finally:
        if t.get("_container"):
            podman("stop", "-t", "30", name, check=False, timeout=120)
            with open(os.path.join(ARGS.dir, f"{t['id']}.container.log"), "w") as f:
                r = podman("logs", name, check=False)
                f.write(r.stdout + r.stderr)
            podman("rm", "-f", name, check=False)


def on_cog_webhook(tid, body):
    t = TRAININGS.get(tid)
    if t is None:
        return 404
    status = body.get("status")
    event = "logs"
    with LOCK:
        if body.get("logs") is not None:
            t["logs"] = body["logs"]
        if body.get("output") is not None:
            t["output"] = body["output"]
            event = "output"
        if body.get("error"):
            t["error"] = body["error"]
        m = body.get("metrics") or {}
        if isinstance(m.get("predict_time"), (int, float)):
            t["metrics"]["predict_time"] = m["predict_time"]
    if status in ("succeeded", "failed", "canceled"):
        finish(t, status, body.get("error"))
    else:
        deliver(t, event)
    return 200


def create_training(owner, name, vid, body):
    check_fields(body, {"destination": (str, True), "input": (dict, True),
                        "webhook": (str, False), "webhook_events_filter": (list, False)},
                 "trainings")
    need(model_name_ok(body["destination"]), 422, "destination must be owner/name")
    need(body["destination"] in MODELS, 404, f"destination model {body['destination']} "
         "does not exist")
    if "webhook" in body:
        u = urllib.parse.urlparse(body["webhook"])
        need(u.scheme in ("http", "https") and u.netloc, 422, "webhook is not a URL")
    evs = body.get("webhook_events_filter", list(EVENTS))
    need(all(e in EVENTS for e in evs), 422, "webhook_events_filter: unknown event")
    v = next((v for v in VERSIONS.get(f"{owner}/{name}", []) if v["id"] == vid), None)
    need(v is not None, 404, f"version {vid} of {owner}/{name} does not exist")
    schema = v["openapi_schema"]
    ti = schema["components"]["schemas"]["TrainingInput"]
    try:
        jsonschema.validate(body["input"], ti,
                            format_checker=jsonschema.FormatChecker())
    except jsonschema.ValidationError as e:
        raise ApiError(422, f"input: {e.message}") from None
    tid = uuid.uuid4().hex[:26]
    t = {"id": tid, "model": f"{owner}/{name}", "version": vid, "status": "starting",
         "input": body["input"], "output": None, "error": None, "logs": "",
         "metrics": {}, "created_at": now_iso(), "started_at": None, "completed_at": None,
         "webhook": body.get("webhook"), "webhook_events_filter": evs,
         "urls": {"get": f"http://127.0.0.1:{SELF['port']}/v1/trainings/{tid}",
                  "cancel": f"http://127.0.0.1:{SELF['port']}/v1/trainings/{tid}/cancel"},
         "_digest": v["_digest"], "_destination": body["destination"]}
    with LOCK:
        TRAININGS[tid] = t
    threading.Thread(target=lambda: (deliver(t, "start"), run_training(t)), daemon=True).start()
    return 201, public_training(t)


def cancel_training(tid):
    t = TRAININGS.get(tid)
    need(t is not None, 404, "Not found.")
    if t["status"] in ("succeeded", "failed", "canceled"):
        return 200, public_training(t)
    if t.get("_port") and t["status"] == "processing":
        def stop():
            try:
                cog(t, "POST", f"/trainings/{tid}/cancel")
            except OSError:
                pass
            deadline = time.time() + 120
            while time.time() < deadline and t["status"] not in ("succeeded", "failed",
                                                                   "canceled"):
                time.sleep(0.3)
            finish(t, "canceled")
        threading.Thread(target=stop, daemon=True).start()
    else:
        finish(t, "canceled")
    return 200, public_training(t)


def page(results):
    return {"previous": None, "next": None, "results": results}


class Handler(peerlib.ForwardingHandler):
    def send_json(self, status, obj, headers=()):
        data = json.dumps(obj).encode()
        self.reply(status, [("Content-Type", "application/json"), *headers], data)

    def authorized(self):
        a = self.headers.get("Authorization", "")
        return a in (f"Bearer {ARGS.token}", f"Token {ARGS.token}")

    def handle_api(self, method):
        u = urllib.parse.urlparse(self.path)
        parts = [p for p in u.path.split("/") if p][1:]  # after "v1"
        body = self.body()
        status = 500
        try:
            with LOCK:
                throttled = THROTTLE["count"] > 0
                if throttled:
                    THROTTLE["count"] -= 1
            if throttled:
                status = 429
                return self.send_json(429, {"detail": "Request was throttled."},
                                      [("Retry-After", "1")])
            if not self.authorized():
                status = 401
                return self.send_json(401, {"detail": "Invalid token."})
            status, obj = self.route(method, parts, body, u)
            if isinstance(obj, bytes):
                return self.reply(status, [("Content-Type", "application/octet-stream")], obj)
            return self.send_json(status, obj)
        except ApiError as e:
            status = e.status
            return self.send_json(e.status, {"detail": e.detail, "status": e.status})
        finally:
            log_request({"method": method, "path": u.path, "status": status})

    def route(self, method, p, body, u):
        def js():
            try:
                return json.loads(body or b"null")
            except ValueError:
                raise ApiError(400, "the body is not JSON") from None
        if p == ["account"] and method == "GET":
            return 200, {"type": "user", "username": ARGS.user, "name": ARGS.user,
                         "github_url": None}
        if p == ["hardware"] and method == "GET":
            return 200, HARDWARE
        if p == ["webhooks", "default", "secret"] and method == "GET":
            return 200, {"key": SECRET}
        if p == ["models"] and method == "POST":
            b = js()
            check_fields(b, {"owner": (str, True), "name": (str, True),
                             "visibility": (str, True), "hardware": (str, True),
                             "description": (str, False)}, "models")
            need(b["owner"] == ARGS.user, 403, f"you cannot create models for {b['owner']}")
            need(model_name_ok(f"{b['owner']}/{b['name']}"), 422, "name is not a model name")
            need(b["visibility"] in ("public", "private"), 422, "visibility: public or private")
            need(b["hardware"] in [h["sku"] for h in HARDWARE], 422,
                 f"hardware {b['hardware']} does not exist")
            key = f"{b['owner']}/{b['name']}"
            need(key not in MODELS, 409, f"model {key} already exists")
            MODELS[key] = {"owner": b["owner"], "name": b["name"], "visibility": b["visibility"],
                           "hardware": b["hardware"], "url": f"https://replicate.com/{key}"}
            return 201, MODELS[key]
        if len(p) == 3 and p[0] == "models" and method == "GET":
            key = f"{p[1]}/{p[2]}"
            need(key in MODELS, 404, "Not found.")
            return 200, MODELS[key]
        if len(p) >= 4 and p[0] == "models" and p[3] == "versions":
            key = f"{p[1]}/{p[2]}"
            need(key in MODELS, 404, "Not found.")
            vs = VERSIONS.get(key, [])
            if len(p) == 4 and method == "GET":
                return 200, page([public_version(v) for v in vs])
            if len(p) == 5 and method == "GET":
                v = next((v for v in vs if v["id"] == p[4]), None)
                need(v is not None, 404, "Not found.")
                return 200, public_version(v)
            if len(p) == 6 and p[5] == "trainings" and method == "POST":
                return create_training(p[1], p[2], p[4], js())
        if p == ["trainings"] and method == "GET":
            ts = sorted(TRAININGS.values(), key=lambda t: t["created_at"], reverse=True)
            return 200, page([public_training(t) for t in ts])
        if len(p) == 2 and p[0] == "trainings" and method == "GET":
            need(p[1] in TRAININGS, 404, "Not found.")
            return 200, public_training(TRAININGS[p[1]])
        if len(p) == 3 and p[0] == "trainings" and p[2] == "cancel" and method == "POST":
            return cancel_training(p[1])
        if p == ["files"] and method == "POST":
            return self.upload(body)
        if p == ["files"] and method == "GET":
            fs = sorted(FILES.values(), key=lambda f: f["obj"]["created_at"], reverse=True)
            return 200, page([f["obj"] for f in fs])
        if len(p) == 2 and p[0] == "files" and method == "GET":
            need(p[1] in FILES, 404, "Not found.")
            return 200, FILES[p[1]]["obj"]
        if len(p) == 3 and p[0] == "files" and p[2] == "download" and method == "GET":
            need(p[1] in FILES, 404, "Not found.")
            return 200, FILES[p[1]]["data"]
        raise ApiError(404, f"no route {method} /v1/{'/'.join(p)}")

    def upload(self, body):
        ctype = self.headers.get("Content-Type", "")
        need(ctype.startswith("multipart/form-data"), 415, "send multipart/form-data")
        need(len(body) <= FILE_LIMIT + 64 * 1024, 413, "file is larger than 100 MiB")
        env = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": ctype,
               "CONTENT_LENGTH": str(len(body))}
        import io
        form = cgi.FieldStorage(fp=io.BytesIO(body), environ=env, keep_blank_values=True)
        need("content" in form, 422, "the form needs a 'content' file")
        item = form["content"]
        data = item.file.read() if item.file else item.value
        need(len(data) <= FILE_LIMIT, 413, "file is larger than 100 MiB")
        fid = uuid.uuid4().hex[:24]
        obj = {"id": fid, "name": item.filename or "file", "content_type":
               item.type or "application/octet-stream", "size": len(data),
               "etag": hashlib.md5(data).hexdigest(),  # noqa: S324 - Replicate's etag
               "checksums": {"sha256": hashlib.sha256(data).hexdigest(),
                             "md5": hashlib.md5(data).hexdigest()},  # noqa: S324
               "metadata": {}, "created_at": now_iso(), "expires_at": None,
               "urls": {"get": f"http://127.0.0.1:{SELF['port']}/v1/files/{fid}"}}
        with LOCK:
            FILES[fid] = {"obj": obj, "data": data, "token": secrets.token_hex(16)}
        return 201, obj

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        if u.path.startswith("/v1/"):
            return self.handle_api("GET")
        if u.path == "/_test/deliveries":
            with LOCK:
                return self.send_json(200, DELIVERIES)
        if u.path.startswith("/_delivery/"):
            parts = u.path.split("/")
            f = FILES.get(parts[2]) if len(parts) == 4 else None
            if f is None or not hmac.compare_digest(f["token"], parts[3]):
                return self.send_json(404, {"detail": "Not found."})
            return self.reply(200, [("Content-Type", "application/octet-stream")], f["data"])
        return self.send_json(404, {"detail": "Not found."})

    def do_POST(self):
        u = urllib.parse.urlparse(self.path)
        if u.path.startswith("/v1/"):
            return self.handle_api("POST")
        body = self.body()
        if u.path == "/_registry/events":
            for ev in json.loads(body or b"{}").get("events", []):
                on_push(ev)
            return self.send_json(200, {})
        if u.path.startswith("/_cog/"):
            return self.send_json(on_cog_webhook(u.path[len("/_cog/"):], json.loads(body)), {})
        if u.path == "/_test/throttle":
            q = urllib.parse.parse_qs(u.query)
            with LOCK:
                THROTTLE["count"] = int(q.get("count", ["1"])[0])
            return self.send_json(200, THROTTLE)
        if u.path.startswith("/_test/predict_time/"):
            t = TRAININGS.get(u.path.rsplit("/", 1)[1])
            if t is None:
                return self.send_json(404, {})
            t["_predict_time"] = float(urllib.parse.parse_qs(u.query)["seconds"][0])
            return self.send_json(200, {})
        return self.send_json(404, {"detail": "Not found."})


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--registry-dir", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--podman-arg", action="append", default=[])
    ARGS = ap.parse_args()
    import http.server
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    SELF["port"] = srv.server_address[1]
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{SELF['port']}\n")
    os.rename(tmp, ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
