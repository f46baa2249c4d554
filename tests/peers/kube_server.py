#!/usr/bin/python3
"""A Kubernetes API server stand-in for hoist's tests (contract KK2).

No API server can run on these machines, so this one does what the
documented contract says, on 127.0.0.1, over HTTPS:
  - authentication: a bearer token listed in --tokens-file (re-read on every
    request, so a test can add the exec plugin's token) or a client
    certificate signed by --ca; anything else gets 401 with a Status;
  - batch/v1 Jobs, core/v1 Pods, Services and Secrets under
    /apis/batch/v1/namespaces/NS/jobs and /api/v1/namespaces/NS/{pods,
    services,secrets}: POST (application/json only, else 415; apiVersion,
    kind, metadata.name and namespace checked, 409 AlreadyExists), GET one
    (404 NotFound), list (labelSelector k=v,...), DELETE (DeleteOptions
    body or query: propagationPolicy, gracePeriodSeconds), every answer a
    Status object on errors;
  - list + watch with resourceVersion: watch=1 streams {"type","object"}
    lines (ADDED MODIFIED DELETED, BOOKMARK with allowWatchBookmarks) from
    the given resourceVersion; one older than the compaction point gets an
    ERROR event with a 410 Expired Status;
  - a Secret's stringData is stored base64-encoded under data; ownerReferences
    are kept, and deleting a Job deletes what it owns (the garbage
    collector) and its pods, Background or Foreground;
  - the Job controller: one pod per completion (Indexed: <job>-<i>-xxxxx
    with hostname <job>-<i>, subdomain, JOB_COMPLETION_INDEX and the
    batch.kubernetes.io/job-completion-index annotation), restartPolicy
    Never, backoffLimit / backoffLimitPerIndex, podFailurePolicy (Ignore on
    DisruptionTarget, FailJob on exit codes), activeDeadlineSeconds
    (DeadlineExceeded), suspend (Suspended), Complete / Failed conditions;
  - the kubelet: each pod's container really runs with podman (pulled from
    the local registry), with the container's env, JOB_COMPLETION_INDEX,
    the Secret volume written as files with its defaultMode and mounted
    read-only, host networking and <job>-<i>.<subdomain> resolving to
    127.0.0.1; a pod asking for nvidia.com/gpu stays Pending and
    Unschedulable ("0/1 nodes are available: 1 Insufficient nvidia.com/gpu.");
    an image that does not pull waits in ErrImagePull / ImagePullBackOff;
    imagePullSecrets are waited for, checked (kubernetes.io/dockerconfigjson,
    .dockerconfigjson base64 of {"auths": {...}}; else ErrImagePull) and
    used for the pull as an auth file; DIR/pull-secrets.log says "used NAME"
    or "bad NAME" (a dockerconfigjson Secret of the wrong shape is refused
    at POST with 422, as the API server does);
  - pod logs: GET .../pods/NAME/log?container=&follow=&tailLines= from podman
    logs.

Test controls (not Kubernetes'; loopback, no auth), on the same port:
  POST /_test/drop-watches          closes every open watch stream abruptly
  POST /_test/compact               every resourceVersion so far is expired
                                    and every open watch stream is closed, at
                                    once (the next list returns a newer one)
  POST /_test/evict/NS/POD          evicts a pod as the Eviction API does:
                                    DisruptionTarget, SIGTERM, phase Failed
  POST /_test/unschedulable/on|off  new pods stay Pending, Unschedulable
Every request (method, path, status, auth kind) is appended to
DIR/requests.jsonl, never a header value or body.

usage: kube_server.py --dir DIR --cert CERT --key KEY --ca CA --tokens-file F
"""
import argparse
import base64
import copy
import datetime
import http.server
import json
import os
import random
import re
import ssl
import string
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

ARGS = None
LOCK = threading.RLock()
COND = threading.Condition(LOCK)
STORE = {}  # (resource, ns, name) -> object
EVENTS = []  # (rv, resource, ns, type, object)
STATE = {"rv": 100, "compacted": 0, "drop": 0, "unschedulable": False}
PODS = {}  # (ns, name) -> PodRun
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

RESOURCES = {
    ("apis/batch/v1", "jobs"): ("batch/v1", "Job"),
    ("api/v1", "pods"): ("v1", "Pod"),
    ("api/v1", "services"): ("v1", "Service"),
    ("api/v1", "secrets"): ("v1", "Secret"),
}


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_obj(code, reason, message, details=None):
    s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
         "message": message, "reason": reason, "code": code}
    if details:
        s["details"] = details
    return s


def record(entry):
    with open(os.path.join(ARGS.dir, "requests.jsonl"), "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


# ---- the store ----

def bump(resource, ns, etype, obj):
    """Stores OBJ (or removes it on DELETED) and logs the event; LOCK held."""
    STATE["rv"] += 1
    obj["metadata"]["resourceVersion"] = str(STATE["rv"])
    key = (resource, ns, obj["metadata"]["name"])
    if etype == "DELETED":
        STORE.pop(key, None)
    else:
        STORE[key] = obj
    EVENTS.append((STATE["rv"], resource, ns, etype, copy.deepcopy(obj)))
    COND.notify_all()


def matches(obj, selector):
    labels = obj["metadata"].get("labels") or {}
    for term in filter(None, (selector or "").split(",")):
        k, _, v = term.partition("=")
        if labels.get(k) != v:
            return False
    return True


def listing(resource, ns, selector):
    with LOCK:
        items = [copy.deepcopy(o) for (r, n, _), o in sorted(STORE.items())
                 if r == resource and n == ns and matches(o, selector)]
        api, kind = RESOURCES[[k for k in RESOURCES if k[1] == resource][0]]
        return {"kind": kind + "List", "apiVersion": api,
                "metadata": {"resourceVersion": str(STATE["rv"])}, "items": items}


# ---- the kubelet: pods run with podman ----

def podman(*args, check=True, timeout=None):
    r = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"podman {args[0]}: {r.stderr.strip()[-300:]}")
    return r


def pod_update(ns, name, fn):
    """Applies FN to the stored pod and logs a MODIFIED event; False when gone."""
    with LOCK:
        pod = STORE.get(("pods", ns, name))
        if pod is None:
            return False
        pod = copy.deepcopy(pod)
        fn(pod)
        bump("pods", ns, "MODIFIED", pod)
        return True


def container_status(state, image, restart=0):
    return [{"name": "hoist", "image": image, "imageID": "", "ready": "running" in state,
             "restartCount": restart, "started": "running" in state, "state": state}]


def note_pull_secret(word, name):
    """DIR/pull-secrets.log: "used NAME" or "bad NAME", one a line, for the test."""
    with open(os.path.join(ARGS.dir, "pull-secrets.log"), "a", encoding="utf-8") as f:
        f.write(f"{word} {name}\n")


def check_dockerconfigjson(b64):
    """None when B64 is a valid .dockerconfigjson (the API server's
    validation of a kubernetes.io/dockerconfigjson Secret), else why not."""
    if not isinstance(b64, str):
        return "no .dockerconfigjson key"
    try:
        doc = json.loads(base64.b64decode(b64, validate=True))
    except ValueError:
        return ".dockerconfigjson is not base64 of JSON"
    auths = doc.get("auths") if isinstance(doc, dict) else None
    if not isinstance(auths, dict) or not auths:
        return '.dockerconfigjson has no "auths" object'
    for host, a in auths.items():
        if not isinstance(a, dict):
            return f"auths[{host}] is not an object"
        if "auth" in a:
            try:
                user, sep, _ = base64.b64decode(a["auth"], validate=True).decode().partition(":")
            except ValueError:
                return f"auths[{host}].auth is not base64"
            if not sep or not user:
                return f'auths[{host}].auth is not base64 of "user:password"'
        elif not (isinstance(a.get("username"), str) and isinstance(a.get("password"), str)):
            return f"auths[{host}] has neither auth nor username and password"
    return None


class PodRun:
    def __init__(self, ns, name):
        self.ns, self.name = ns, name
        self.cname = f"kube-{ns}-{name}"
        self.stopping = False
        self.evicted = False
        self.started = False  # a container was created (podman run)

    def start(self):
        threading.Thread(target=self.run, daemon=True).start()

    def pod(self):
        with LOCK:
            return copy.deepcopy(STORE.get(("pods", self.ns, self.name)))


    def pull_secret(self, name, image):
        """The kubelet's side of imagePullSecrets: waits for the Secret,
        checks its shape (kubernetes.io/dockerconfigjson, .dockerconfigjson
        base64 of {"auths": {...}}) and writes it as an auth file (0600) for
        podman pull, so no credential is on a command line.  None: the pod
        is left waiting with the reason."""
        secret = None
        for _ in range(60):
            with LOCK:
                secret = STORE.get(("secrets", self.ns, name))
            if secret is not None or self.stopping:
                break
            time.sleep(0.5)
        why = None
        if secret is None:
            why = f'secret "{name}" not found'
        elif secret.get("type") != "kubernetes.io/dockerconfigjson":
            why = f'secret "{name}" is of type {secret.get("type")}, not kubernetes.io/dockerconfigjson'
        else:
            why = check_dockerconfigjson((secret.get("data") or {}).get(".dockerconfigjson"))
        if why is not None:
            def bad(p):
                p["status"]["containerStatuses"] = container_status(
                    {"waiting": {"reason": "ErrImagePull",
                                 "message": f'Failed to pull image "{image}": imagePullSecrets: {why}'}}, image)
            pod_update(self.ns, self.name, bad)
            note_pull_secret("bad", name)
            return None
        d = os.path.join(ARGS.dir, "secrets")
        os.makedirs(d, mode=0o700, exist_ok=True)
        path = os.path.join(d, f"pull-{self.ns}-{self.name}-{name}.json")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(base64.b64decode(secret["data"][".dockerconfigjson"]))
        note_pull_secret("used", name)
        return path
    def run(self):
        pod = self.pod()
        if pod is None:
            return
        spec = pod["spec"]
        c = spec["containers"][0]
        image = c["image"]
        gpus = int((c.get("resources", {}).get("limits") or {}).get("nvidia.com/gpu", "0"))
        while STATE["unschedulable"] or gpus > 0:
            msg = ("0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: 0/1 "
                   "nodes are available: 1 No preemption victims found for incoming pod."
                   if gpus > 0 else "0/1 nodes are available: 1 node(s) were unschedulable.")

            def unsched(p):
                p["status"]["conditions"] = [{"type": "PodScheduled", "status": "False",
                                              "reason": "Unschedulable", "message": msg,
                                              "lastTransitionTime": now()}]
            if not pod_update(self.ns, self.name, unsched) or self.stopping:
                return
            with COND:
                COND.wait(1.0)
            if self.stopping:
                return
            if gpus > 0:
                continue

        def scheduled(p):
            p["spec"]["nodeName"] = "node-1"
            p["status"]["conditions"] = [{"type": "PodScheduled", "status": "True",
                                          "lastTransitionTime": now()}]
            p["status"]["containerStatuses"] = container_status(
                {"waiting": {"reason": "ContainerCreating"}}, image)
        pod_update(self.ns, self.name, scheduled)
        pull = ["pull", "--quiet", "--tls-verify=false"]
        for ref in spec.get("imagePullSecrets") or []:
            authfile = self.pull_secret(ref.get("name"), image)
            if authfile is None:
                return
            pull += ["--authfile", authfile]
        try:
            podman(*pull, image, timeout=600)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            err = str(e)

            def pullfail(p):
                p["status"]["containerStatuses"] = container_status(
                    {"waiting": {"reason": "ImagePullBackOff",
                                 "message": f'Back-off pulling image "{image}": {err}'}}, image)
            pod_update(self.ns, self.name, pullfail)
            return
        secret_dir = None
        args = ["run", "-d", "--name", self.cname, "--network", "host",
                "--hostname", spec.get("hostname") or self.name]
        sub = spec.get("subdomain")
        if sub:
            job = pod["metadata"]["labels"].get("job-name", "")
            with LOCK:
                n = (STORE.get(("jobs", self.ns, job)) or {}).get("spec", {}).get("completions", 1)
            for i in range(n):
                args += ["--add-host", f"{job}-{i}.{sub}:127.0.0.1",
                         f"--add-host={job}-{i}.{sub}.{self.ns}.svc.cluster.local:127.0.0.1"]
        env = list(c.get("env") or [])
        idx = pod["metadata"].get("annotations", {}).get("batch.kubernetes.io/job-completion-index")
        if idx is not None:
            env.append({"name": "JOB_COMPLETION_INDEX", "value": idx})
        for e in env:
            args += ["-e", f"{e['name']}={e.get('value', '')}"]
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        for m in c.get("volumeMounts") or []:
            v = volumes.get(m["name"])
            if v is None or "secret" not in v:
                continue
            with LOCK:
                secret = STORE.get(("secrets", self.ns, v["secret"]["secretName"]))
            if secret is None:
                def missing(p, s=v["secret"]["secretName"]):
                    p["status"]["containerStatuses"] = container_status(
                        {"waiting": {"reason": "CreateContainerConfigError",
                                     "message": f'secret "{s}" not found'}}, image)
                pod_update(self.ns, self.name, missing)
                # the kubelet retries until the Secret exists
                for _ in range(60):
                    time.sleep(0.5)
                    with LOCK:
                        secret = STORE.get(("secrets", self.ns, v["secret"]["secretName"]))
                    if secret is not None or self.stopping:
                        break
                if secret is None:
                    return
            secret_dir = os.path.join(ARGS.dir, "secrets", f"{self.ns}-{self.name}")
            os.makedirs(secret_dir, mode=0o700, exist_ok=True)
            mode = v["secret"].get("defaultMode", 0o644)
            for k, b in (secret.get("data") or {}).items():
                path = os.path.join(secret_dir, k)
                with open(path, "wb") as f:
                    f.write(base64.b64decode(b))
                os.chmod(path, mode)
            args += ["-v", f"{secret_dir}:{m['mountPath']}:ro"]
        args += ARGS.podman_arg
        args += [image]
        if c.get("command"):
            args[len(args) - 1:len(args) - 1] = ["--entrypoint", json.dumps(c["command"])]
        args += c.get("args") or []
        if self.stopping:
            return
        podman("rm", "-f", self.cname, check=False)
        self.started = True
        r = podman(*args, check=False)
        if r.returncode != 0:
            def runfail(p):
                p["status"]["containerStatuses"] = container_status(
                    {"waiting": {"reason": "RunContainerError", "message": r.stderr.strip()[-300:]}}, image)
            pod_update(self.ns, self.name, runfail)
            return
        started = now()

        def running(p):
            p["status"]["phase"] = "Running"
            p["status"]["startTime"] = started
            p["status"]["containerStatuses"] = container_status({"running": {"startedAt": started}}, image)
        pod_update(self.ns, self.name, running)
        w = podman("wait", self.cname, check=False)
        try:
            code = int(w.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            code = 137
        insp = podman("inspect", "--format", "{{.State.OOMKilled}}", self.cname, check=False)
        oom = insp.stdout.strip() == "true"
        logs = podman("logs", self.cname, check=False)
        with open(os.path.join(ARGS.dir, f"{self.cname}.log"), "w", encoding="utf-8") as f:
            f.write(logs.stdout + logs.stderr)
        finished = now()

        def ended(p):
            reason = "OOMKilled" if oom else ("Completed" if code == 0 else "Error")
            p["status"]["phase"] = "Succeeded" if code == 0 and not self.evicted else "Failed"
            p["status"]["containerStatuses"] = container_status(
                {"terminated": {"exitCode": code, "reason": reason, "startedAt": started,
                                "finishedAt": finished}}, image)
            if self.evicted:
                p["status"]["reason"] = "Evicted"
                p["status"]["message"] = "Evicted by the Eviction API"
        pod_update(self.ns, self.name, ended)

    def stop(self, grace):
        self.stopping = True
        with COND:
            COND.notify_all()
        if self.started:
            podman("stop", "-t", str(grace), self.cname, check=False, timeout=grace + 60)


def remove_pod(ns, name, grace):
    """Deletes a pod as the kubelet does: SIGTERM, GRACE, SIGKILL, gone."""
    with LOCK:
        pod = STORE.get(("pods", ns, name))
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return
        pod = copy.deepcopy(pod)
        pod["metadata"]["deletionTimestamp"] = now()
        pod["metadata"]["deletionGracePeriodSeconds"] = grace
        bump("pods", ns, "MODIFIED", pod)
        run = PODS.get((ns, name))

    def finish():
        if run is not None:
            run.stop(grace)
            if run.started:
                podman("rm", "-f", run.cname, check=False)
        with LOCK:
            pod = STORE.get(("pods", ns, name))
            if pod is not None:
                bump("pods", ns, "DELETED", copy.deepcopy(pod))
            PODS.pop((ns, name), None)
    threading.Thread(target=finish, daemon=True).start()


# ---- the Job controller ----

def suffix():
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(5))


def make_pod(job, index):
    ns, jname = job["metadata"]["namespace"], job["metadata"]["name"]
    tmpl = copy.deepcopy(job["spec"]["template"])
    meta = tmpl.get("metadata") or {}
    labels = dict(meta.get("labels") or {})
    labels.update({"job-name": jname, "batch.kubernetes.io/job-name": jname,
                   "controller-uid": job["metadata"]["uid"],
                   "batch.kubernetes.io/controller-uid": job["metadata"]["uid"]})
    ann = dict(meta.get("annotations") or {})
    spec = tmpl["spec"]
    if index is not None:
        name = f"{jname}-{index}-{suffix()}"
        labels["batch.kubernetes.io/job-completion-index"] = str(index)
        ann["batch.kubernetes.io/job-completion-index"] = str(index)
        spec["hostname"] = f"{jname}-{index}"
    else:
        name = f"{jname}-{suffix()}"
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": ns, "labels": labels, "annotations": ann,
                        "uid": str(uuid.uuid4()), "creationTimestamp": now(),
                        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": jname,
                                             "uid": job["metadata"]["uid"], "controller": True,
                                             "blockOwnerDeletion": True}]},
           "spec": spec, "status": {"phase": "Pending", "conditions": []}}
    bump("pods", ns, "ADDED", pod)
    run = PodRun(ns, name)
    PODS[(ns, name)] = run
    run.start()


def pod_index(pod):
    i = pod["metadata"].get("annotations", {}).get("batch.kubernetes.io/job-completion-index")
    return int(i) if i is not None else 0


def disrupted(pod):
    return any(c.get("type") == "DisruptionTarget" and c.get("status") == "True"
               for c in pod["status"].get("conditions") or [])


def exit_code(pod):
    for cs in pod["status"].get("containerStatuses") or []:
        t = cs.get("state", {}).get("terminated")
        if t is not None and cs.get("name") == "hoist":
            return t.get("exitCode")
    return None


def set_condition(job, ctype, reason, message):
    conds = job["status"].setdefault("conditions", [])
    if any(c["type"] == ctype for c in conds):
        return False
    conds.append({"type": ctype, "status": "True", "reason": reason, "message": message,
                  "lastProbeTime": now(), "lastTransitionTime": now()})
    return True


def reconcile_job(job):
    """One pass of the Job controller over JOB (a copy); LOCK held.  Returns
    the job when it changed."""
    ns, name, uid = job["metadata"]["namespace"], job["metadata"]["name"], job["metadata"]["uid"]
    spec, st = job["spec"], job["status"]
    conds = {c["type"] for c in st.get("conditions") or []}
    pods = [o for (r, n, _), o in STORE.items()
            if r == "pods" and n == ns and o["metadata"]["labels"].get("controller-uid") == uid]
    if "Complete" in conds or "Failed" in conds:
        return None
    if spec.get("suspend"):
        set_condition(job, "Suspended", "JobSuspended", "Job suspended")
        return job
    if "Suspended" in conds:
        st["conditions"] = [c for c in st["conditions"] if c["type"] != "Suspended"]
    if "startTime" not in st:
        st["startTime"] = now()
    indexed = spec.get("completionMode") == "Indexed"
    n = spec.get("completions", 1)
    per_index = spec.get("backoffLimitPerIndex")
    backoff = spec.get("backoffLimit", 6)
    rules = (spec.get("podFailurePolicy") or {}).get("rules") or []
    failed = {}
    fail_job = None
    succeeded = set()
    active = {}
    for p in pods:
        i = pod_index(p) if indexed else 0
        phase = p["status"].get("phase")
        if p["metadata"].get("deletionTimestamp"):
            continue
        if phase == "Succeeded":
            succeeded.add(i)
        elif phase == "Failed":
            ignore = False
            for rule in rules:
                if "onPodConditions" in rule and disrupted(p):
                    if rule["action"] == "Ignore":
                        ignore = True
                        break
                oe = rule.get("onExitCodes")
                code = exit_code(p)
                if oe and code is not None and (oe["operator"] == "In") == (code in oe["values"]):
                    if rule["action"] == "FailJob" and fail_job is None:
                        fail_job = (p, code, rules.index(rule))
                    break
            if not ignore:
                failed[i] = failed.get(i, 0) + 1
        else:
            active[i] = p
    st["active"] = len(active)
    st["succeeded"] = len(succeeded)
    st["failed"] = sum(failed.values())
    deadline = spec.get("activeDeadlineSeconds")
    started = datetime.datetime.strptime(st["startTime"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    if deadline and (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds() > deadline:
        set_condition(job, "Failed", "DeadlineExceeded", "Job was active longer than specified deadline")
        for p in active.values():
            remove_pod(ns, p["metadata"]["name"], 30)
        return job
    if fail_job is not None:
        p, code, idx = fail_job
        set_condition(job, "Failed", "PodFailurePolicy",
                      f"Container hoist for pod {ns}/{p['metadata']['name']} failed with exit code "
                      f"{code} matching FailJob rule at index {idx}")
        for q in active.values():
            remove_pod(ns, q["metadata"]["name"], 30)
        return job
    over = [i for i, k in failed.items() if k > (per_index if per_index is not None else backoff)] \
        if per_index is not None else ([0] if sum(failed.values()) > backoff else [])
    if over:
        set_condition(job, "Failed", "FailedIndexes" if per_index is not None else "BackoffLimitExceeded",
                      "Job has failed indexes" if per_index is not None else
                      "Job has reached the specified backoff limit")
        for q in active.values():
            remove_pod(ns, q["metadata"]["name"], 30)
        return job
    if len(succeeded) >= n:
        set_condition(job, "Complete", "", "")
        st["completionTime"] = now()
        return job
    for i in range(n):
        if i in succeeded or i in active:
            continue
        make_pod(job, i if indexed else None)
        if not indexed:
            break
    return job


def controller():
    while True:
        with COND:
            COND.wait(0.5)
            for key, job in list(STORE.items()):
                if key[0] != "jobs" or job["metadata"].get("deletionTimestamp"):
                    continue
                before = json.dumps(job.get("status"), sort_keys=True)
                j = reconcile_job(copy.deepcopy(job))
                if j is not None and json.dumps(j.get("status"), sort_keys=True) != before:
                    bump("jobs", key[1], "MODIFIED", j)


def evict(ns, name):
    with LOCK:
        run = PODS.get((ns, name))
        if run is None:
            return False
        run.evicted = True

    def cond(p):
        p["status"].setdefault("conditions", []).append(
            {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI",
             "message": "Eviction API: evicting", "lastTransitionTime": now()})
    pod_update(ns, name, cond)
    grace = STORE.get(("pods", ns, name), {}).get("spec", {}).get("terminationGracePeriodSeconds", 30)
    threading.Thread(target=run.stop, args=(grace,), daemon=True).start()
    return True


def garbage_collect(uid, ns, grace):
    with LOCK:
        for (r, n, name), o in list(STORE.items()):
            if n != ns:
                continue
            owners = [x.get("uid") for x in o["metadata"].get("ownerReferences") or []]
            if uid not in owners:
                continue
            if r == "pods":
                remove_pod(ns, name, grace)
            else:
                bump(r, ns, "DELETED", copy.deepcopy(o))


# ---- HTTP ----

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send_json(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.log_req(code)

    def log_req(self, code):
        record({"method": self.command, "path": self.path, "status": code, "auth": getattr(self, "auth", None),
                "content_type": self.headers.get("Content-Type")})

    def authenticate(self):
        cert = self.connection.getpeercert()
        if cert:
            self.auth = "client-certificate"
            return True
        h = self.headers.get("Authorization") or ""
        if h.startswith("Bearer "):
            try:
                with open(ARGS.tokens_file, encoding="utf-8") as f:
                    tokens = {t.strip() for t in f if t.strip()}
            except OSError:
                tokens = set()
            if h[7:] in tokens:
                self.auth = "bearer"
                return True
        self.auth = "none"
        return False

    def route(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        m = re.match(r"^/(apis/batch/v1|api/v1)/namespaces/([^/]+)/([a-z]+)(?:/([^/]+))?(?:/(log))?$", u.path)
        return u, q, m

    def do_POST(self):
        if self.path.startswith("/_test/"):
            return self.control()
        self.handle_api()

    def do_GET(self):
        self.handle_api()

    def do_DELETE(self):
        self.handle_api()

    def do_PUT(self):
        self.handle_api()

    def do_PATCH(self):
        self.handle_api()

    def control(self):
        self.auth = "test"
        self.body()
        p = self.path.split("/")[2:]
        if p == ["drop-watches"]:
            with COND:
                STATE["drop"] += 1
                COND.notify_all()
        elif p == ["compact"]:
            # every version a client holds now is expired, a watcher kept
            # current by bookmarks included, and the open streams end (in
            # one step: a bookmark sent in between would carry a version
            # the compaction left valid); a new list starts after them
            with COND:
                STATE["rv"] += 1
                STATE["compacted"] = STATE["rv"]
                STATE["drop"] += 1
                COND.notify_all()
        elif len(p) == 3 and p[0] == "evict":
            if not evict(p[1], p[2]):
                return self.send_json(404, status_obj(404, "NotFound", "no such pod"))
        elif len(p) == 2 and p[0] == "unschedulable":
            with COND:
                STATE["unschedulable"] = p[1] == "on"
                COND.notify_all()
        else:
            return self.send_json(404, status_obj(404, "NotFound", "no such control"))
        self.send_json(200, {"ok": True})

    def handle_api(self):
        if not self.authenticate():
            self.body()
            return self.send_json(401, status_obj(401, "Unauthorized", "Unauthorized"))
        u, q, m = self.route()
        if m is None or (m.group(1), m.group(3)) not in RESOURCES:
            self.body()
            return self.send_json(404, status_obj(404, "NotFound", "the server could not find the requested resource"))
        group, ns, resource, name, sub = m.groups()
        api, kind = RESOURCES[(group, resource)]
        if self.command == "POST" and name is None:
            return self.create(ns, resource, api, kind)
        if self.command == "GET" and name is None:
            if q.get("watch") in ("1", "true"):
                return self.watch(ns, resource, q)
            self.body()
            return self.send_json(200, listing(resource, ns, q.get("labelSelector")))
        if self.command == "GET" and sub == "log":
            return self.logs(ns, name, q)
        if self.command == "GET" and name is not None:
            with LOCK:
                o = copy.deepcopy(STORE.get((resource, ns, name)))
            if o is None:
                return self.send_json(404, status_obj(404, "NotFound", f'{resource} "{name}" not found',
                                                      {"name": name, "kind": resource}))
            return self.send_json(200, o)
        if self.command == "DELETE" and name is not None:
            return self.delete(ns, resource, name, q)
        self.body()
        self.send_json(405, status_obj(405, "MethodNotAllowed", f"{self.command} is not supported here"))

    def create(self, ns, resource, api, kind):
        data = self.body()
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype != "application/json":
            return self.send_json(415, status_obj(415, "UnsupportedMediaType",
                                                  f'the body of the request was in an unknown format - accepted media types include: application/json (got "{ctype}")'))
        try:
            obj = json.loads(data)
        except ValueError as e:
            return self.send_json(400, status_obj(400, "BadRequest", f"json: {e}"))
        if obj.get("apiVersion") != api or obj.get("kind") != kind:
            return self.send_json(400, status_obj(400, "BadRequest",
                                                  f"the API version in the data ({obj.get('apiVersion')}) does not match the expected API version ({api}) or kind {kind}"))
        meta = obj.setdefault("metadata", {})
        name = meta.get("name") or ""
        if not NAME.match(name) or len(name) > 253:
            return self.send_json(422, status_obj(422, "Invalid", f'{kind} "{name}" is invalid: metadata.name'))
        if meta.get("namespace", ns) != ns:
            return self.send_json(400, status_obj(400, "BadRequest",
                                                  "the namespace of the provided object does not match the namespace sent on the request"))
        with LOCK:
            if (resource, ns, name) in STORE:
                return self.send_json(409, status_obj(409, "AlreadyExists", f'{resource} "{name}" already exists',
                                                      {"name": name, "kind": resource}))
            for o in meta.get("ownerReferences") or []:
                owner = STORE.get(("jobs", ns, o.get("name")))
                if o.get("kind") != "Job" or owner is None or owner["metadata"]["uid"] != o.get("uid"):
                    return self.send_json(422, status_obj(422, "Invalid",
                                                          f"metadata.ownerReferences: no Job {o.get('name')} with uid {o.get('uid')}"))
            meta.update({"namespace": ns, "uid": str(uuid.uuid4()), "creationTimestamp": now(), "generation": 1})
            if kind == "Secret":
                d = obj.setdefault("data", {})
                for k, v in (obj.pop("stringData", None) or {}).items():
                    d[k] = base64.b64encode(v.encode()).decode()
                if obj.get("type") == "kubernetes.io/dockerconfigjson":
                    why = check_dockerconfigjson(d.get(".dockerconfigjson"))
                    if why is not None:
                        return self.send_json(422, status_obj(422, "Invalid",
                                                              f'Secret "{name}" is invalid: data[.dockerconfigjson]: {why}'))
            if kind == "Job":
                if obj["spec"]["template"]["spec"].get("restartPolicy") not in ("Never", "OnFailure"):
                    return self.send_json(422, status_obj(422, "Invalid", "spec.template.spec.restartPolicy: Never or OnFailure"))
                if obj["spec"].get("podFailurePolicy") and obj["spec"]["template"]["spec"]["restartPolicy"] != "Never":
                    return self.send_json(422, status_obj(422, "Invalid", "podFailurePolicy needs restartPolicy Never"))
                if "backoffLimitPerIndex" in obj["spec"] and obj["spec"].get("completionMode") != "Indexed":
                    return self.send_json(422, status_obj(422, "Invalid", "backoffLimitPerIndex needs completionMode Indexed"))
                obj["status"] = {}
            if kind == "Service":
                obj["status"] = {"loadBalancer": {}}
            bump(resource, ns, "ADDED", obj)
            out = copy.deepcopy(obj)
        self.send_json(201, out)

    def delete(self, ns, resource, name, q):
        data = self.body()
        opts = {}
        if data:
            try:
                opts = json.loads(data)
            except ValueError as e:
                return self.send_json(400, status_obj(400, "BadRequest", f"json: {e}"))
        policy = opts.get("propagationPolicy") or q.get("propagationPolicy") or "Orphan"
        grace = opts.get("gracePeriodSeconds", q.get("gracePeriodSeconds"))
        with LOCK:
            o = STORE.get((resource, ns, name))
            if o is None:
                return self.send_json(404, status_obj(404, "NotFound", f'{resource} "{name}" not found',
                                                      {"name": name, "kind": resource}))
            o = copy.deepcopy(o)
            if resource == "pods":
                remove_pod(ns, name, int(grace if grace is not None else 30))
            else:
                bump(resource, ns, "DELETED", o)
        if resource == "jobs" and policy in ("Background", "Foreground"):
            garbage_collect(o["metadata"]["uid"], ns, int(grace if grace is not None else 30))
        self.send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                             "details": {"name": name, "kind": resource, "uid": o["metadata"]["uid"]}})

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, ns, resource, q):
        self.body()
        rv = int(q.get("resourceVersion") or 0)
        timeout = int(q.get("timeoutSeconds") or 300)
        bookmarks = q.get("allowWatchBookmarks") in ("1", "true")
        selector = q.get("labelSelector")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.log_req(200)
        kind = RESOURCES[[k for k in RESOURCES if k[1] == resource][0]][1]
        with LOCK:
            if rv and rv < STATE["compacted"]:
                gone = status_obj(410, "Expired", f"too old resource version: {rv} ({STATE['compacted']})")
                self.chunk(json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n")
                self.chunk(b"")
                return
            drop = STATE["drop"]
        deadline = time.monotonic() + timeout
        last_bookmark = time.monotonic()
        try:
            while time.monotonic() < deadline:
                with COND:
                    out = [(r, t, o) for (r, res, n, t, o) in EVENTS
                           if r > rv and res == resource and n == ns and matches(o, selector)]
                    if not out and STATE["drop"] == drop:
                        COND.wait(0.5)
                    dropped = STATE["drop"] != drop
                    cur = STATE["rv"]
                if dropped:
                    # abruptly: no terminating chunk, the connection just ends
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                for r, t, o in out:
                    self.chunk(json.dumps({"type": t, "object": o}).encode() + b"\n")
                    rv = r
                if bookmarks and time.monotonic() - last_bookmark > 1.0:
                    rv = max(rv, cur)
                    self.chunk(json.dumps({"type": "BOOKMARK", "object": {
                        "kind": kind, "apiVersion": "v1" if kind != "Job" else "batch/v1",
                        "metadata": {"resourceVersion": str(rv)}}}).encode() + b"\n")
                    last_bookmark = time.monotonic()
            self.chunk(b"")
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    def logs(self, ns, name, q):
        self.body()
        with LOCK:
            pod = STORE.get(("pods", ns, name))
            run = PODS.get((ns, name))
        if pod is None:
            return self.send_json(404, status_obj(404, "NotFound", f'pods "{name}" not found'))
        c = q.get("container")
        if c is not None and c != "hoist":
            return self.send_json(400, status_obj(400, "BadRequest",
                                                  f"container {c} is not valid for pod {name}"))
        if run is None or pod["status"].get("phase") == "Pending":
            return self.send_json(400, status_obj(400, "BadRequest",
                                                  f'container "hoist" in pod "{name}" is waiting to start: ContainerCreating'))
        args = ["podman", "logs"]
        if q.get("follow") in ("true", "1"):
            args.append("-f")
        if q.get("tailLines"):
            args += ["--tail", str(int(q["tailLines"]))]
        args.append(run.cname)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.log_req(200)
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            for line in p.stdout:
                self.chunk(line)
            p.wait()
            self.chunk(b"")
        except (BrokenPipeError, ConnectionResetError, OSError):
            p.kill()
            self.close_connection = True


class TLSServer(http.server.ThreadingHTTPServer):
    """The TLS handshake in the connection's own thread, so that a client
    that stalls in it holds up no one else."""
    ctx = None

    def finish_request(self, request, client_address):
        try:
            request = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(request, client_address)
        finally:
            try:
                request.close()
            except OSError:
                pass


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--tokens-file", required=True)
    ap.add_argument("--podman-arg", action="append", default=[])
    ARGS = ap.parse_args()
    os.makedirs(ARGS.dir, exist_ok=True)
    open(os.path.join(ARGS.dir, "requests.jsonl"), "a", encoding="utf-8").close()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ARGS.cert, ARGS.key)
    ctx.load_verify_locations(ARGS.ca)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    srv = TLSServer(("127.0.0.1", 0), Handler)
    srv.ctx = ctx
    srv.daemon_threads = True
    threading.Thread(target=controller, daemon=True).start()
    tmp = os.path.join(ARGS.dir, "port.tmp")
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{srv.server_address[1]}\n")
    os.rename(tmp, os.path.join(ARGS.dir, "port"))
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
