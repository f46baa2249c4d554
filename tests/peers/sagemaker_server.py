#!/usr/bin/python3
"""A SageMaker (and ECR) contract server for hoist's tests.

It does what SageMaker does to the documented contract, on this machine:
  - every POST / is checked like AWS checks it: SigV4 with botocore's own
    signer (an implementation independent of hoist's lib/sigv4.c), the
    X-Amz-Target and Content-Type of the JSON 1.1 protocol, and the body
    against botocore's service model (tests/peers/aws_model.py: required
    members, types, enums, patterns, min/max, unknown members);
  - CreateTrainingJob / DescribeTrainingJob / StopTrainingJob /
    ListTrainingJobs, and ECR GetAuthorizationToken / CreateRepository /
    DescribeRepositories (the token is the password of the local registry
    that stands for ECR, tests/peers/registry.sh basic);
  - a training job: /opt/ml/input/config/{hyperparameters,inputdataconfig,
    resourceconfig}.json written as the SageMaker developer guide documents
    them, CheckpointConfig's S3Uri restored into /opt/ml/checkpoints and
    synced back, the image pulled with the ECR token, `podman run IMAGE
    train` with /opt/ml mounted and a container-credentials endpoint, then
    /opt/ml/model uploaded as model.tar.gz under S3OutputPath/<name>/output/;
    Describe goes InProgress (Starting, Downloading, Training, Uploading) to
    Completed, Failed (FailureReason "AlgorithmError: " + /opt/ml/output/
    failure) or Stopped, with BillableTimeInSeconds;
  - StopTrainingJob, MaxRuntimeInSeconds and spot interruptions stop the
    container as SageMaker does: SIGTERM, then SIGKILL 120 s later.

Test controls (not SageMaker's; no signature needed), on the same port:
  POST /_test/throttle?count=N      the next N API calls get ThrottlingException
  POST /_test/interrupt/<name>      spot capacity reclaimed: the containers get
                                    SIGTERM, the job shows Interrupted
  POST /_test/capacity/<name>       capacity is back: the job starts again
                                    with its checkpoints restored
Every request (target, body, outcome) is appended to DIR/requests.jsonl.
The container credentials endpoint is GET /_creds/<name>: the container
gets AWS_CONTAINER_CREDENTIALS_FULL_URI (SageMaker's RELATIVE_URI is on
169.254.170.2, which a test cannot bind).

usage: sagemaker_server.py --dir DIR --access-key AK --secret-key SK
         [--region R] [--role-key AK:SK] [--s3-endpoint URL | --s3-serve-json F]
         [--registry-password P] [--registry HOST:PORT]
"""
import argparse
import base64
import datetime
import http.server
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import threading
import time
import urllib.parse

sys.path.insert(0, "/usr/lib/python3/dist-packages/awscli")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import botocore.auth  # noqa: E402
import botocore.awsrequest  # noqa: E402
import botocore.credentials  # noqa: E402
import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402

import aws_model  # noqa: E402
import peerlib  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "data", "aws-models")
ACCOUNT = "123456789012"
TARGETS = {"SageMaker": "sagemaker", "AmazonEC2ContainerRegistry_V20150921": "ecr"}
STOP_TIMEOUT = 120  # SageMaker: SIGTERM, then SIGKILL 120 s later

ARGS = None
MODEL = {}
LOCK = threading.RLock()
JOBS = {}
REPOS = {}
THROTTLE = {"count": 0}


def log_request(rec):
    with LOCK, open(os.path.join(ARGS.dir, "requests.jsonl"), "a", encoding="utf-8") as f:
        f.write(json.dumps(rec) + "\n")


def now():
    return time.time()


def aws_error(code, message, status=400):
    return status, {"__type": code, "message": message}


# ---- SigV4, checked with botocore's signer ----

AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                     r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")


def check_sigv4(handler, body, service):
    auth = handler.headers.get("Authorization", "")
    m = AUTH_RE.match(auth)
    if not m:
        return "malformed or missing Authorization header"
    akid, date, region, svc, signed, sig = m.groups()
    if akid != ARGS.access_key:
        return f"unknown access key {akid}"
    if region != ARGS.region or svc != service:
        return f"credential scope {region}/{svc}, want {ARGS.region}/{service}"
    amz_date = handler.headers.get("X-Amz-Date", "")
    if amz_date[:8] != date:
        return "X-Amz-Date does not match the credential scope date"
    try:
        t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return "bad X-Amz-Date"
    if abs(t.timestamp() - now()) > 300:
        return "signature expired (X-Amz-Date more than 5 minutes off)"
    names = signed.split(";")
    for required in ("host", "x-amz-date", "x-amz-target", "content-type"):
        if required not in names:
            return f"{required} is not signed"
    headers = {}
    for n in names:
        v = handler.headers.get_all(n)
        if v is None:
            return f"signed header {n} was not sent"
        headers[n] = ",".join(v)
    req = botocore.awsrequest.AWSRequest(method=handler.command,
                                         url=f"http://{handler.headers['Host']}{handler.path}",
                                         headers=headers, data=body)
    req.context["timestamp"] = amz_date
    creds = botocore.credentials.Credentials(ARGS.access_key, ARGS.secret_key)
    signer = botocore.auth.SigV4Auth(creds, service, ARGS.region)
    cr = signer.canonical_request(req)
    sts = signer.string_to_sign(req, cr)
    want = signer.signature(sts, req)
    if want != sig:
        return "SignatureDoesNotMatch (botocore computes another signature)"
    return None


# ---- S3 (hoist serve's built-in endpoint, or any S3) ----

def s3_client():
    endpoint = ARGS.s3_endpoint
    if endpoint is None and ARGS.s3_serve_json:
        with open(ARGS.s3_serve_json, encoding="utf-8") as f:
            endpoint = json.load(f)["endpoint"]
    ak, sk = ARGS.role_key.split(":", 1)
    return botocore.session.get_session().create_client(
        "s3", endpoint_url=endpoint, region_name=ARGS.region, aws_access_key_id=ak,
        aws_secret_access_key=sk,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}))


def split_s3(uri):
    rest = uri[len("s3://"):]
    bucket, _, key = rest.partition("/")
    return bucket, key


def s3_download_prefix(uri, dest):
    bucket, prefix = split_s3(uri)
    s3 = s3_client()
    n = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            rel = o["Key"][len(prefix):].lstrip("/")
            if not rel or rel.endswith("/"):
                continue
            path = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read())
            n += 1
    return n


def s3_upload_dir(src, uri, seen=None):
    bucket, prefix = split_s3(uri)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    s3 = s3_client()
    for dirpath, _, files in os.walk(src):
        for name in files:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, src)
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            stamp = (st.st_size, st.st_mtime_ns)
            if seen is not None and seen.get(rel) == stamp:
                continue
            with open(path, "rb") as f:
                s3.put_object(Bucket=bucket, Key=prefix + rel, Body=f.read())
            if seen is not None:
                seen[rel] = stamp


def s3_put(uri, data):
    bucket, key = split_s3(uri)
    s3_client().put_object(Bucket=bucket, Key=key, Body=data)


# ---- training jobs ----

class Job:
    def __init__(self, req):
        self.req = req
        self.name = req["TrainingJobName"]
        self.arn = f"arn:aws:sagemaker:{ARGS.region}:{ACCOUNT}:training-job/{self.name}"
        self.created = now()
        self.status = "InProgress"
        self.secondary = "Starting"
        self.transitions = []
        self.failure = None
        self.billable = 0.0
        self.training_start = None
        self.training_end = None
        self.stop_reason = None  # "Stopped", "MaxRuntimeExceeded", "Interrupted"
        self.capacity = threading.Event()
        self.containers = []
        self.runs = 0
        self.lock = threading.Lock()
        self.transition("Starting", "Preparing the instances for training")

    def transition(self, secondary, message, status=None):
        with self.lock:
            t = now()
            if self.transitions:
                self.transitions[-1]["EndTime"] = t
            self.transitions.append({"Status": secondary, "StartTime": t, "StatusMessage": message})
            self.secondary = secondary
            if status is not None:
                self.status = status
        rec = {"event": "transition", "name": self.name, "status": self.status,
               "secondary": secondary, "message": message}
        if self.failure is not None:
            rec["failure"] = self.failure
        log_request(rec)

    def describe(self):
        with self.lock:
            r = {
                "TrainingJobName": self.name,
                "TrainingJobArn": self.arn,
                "ModelArtifacts": {"S3ModelArtifacts": self.model_uri()},
                "TrainingJobStatus": self.status,
                "SecondaryStatus": self.secondary,
                "HyperParameters": self.req.get("HyperParameters", {}),
                "AlgorithmSpecification": self.req["AlgorithmSpecification"],
                "RoleArn": self.req["RoleArn"],
                "OutputDataConfig": self.req["OutputDataConfig"],
                "ResourceConfig": self.req["ResourceConfig"],
                "StoppingCondition": self.req["StoppingCondition"],
                "CreationTime": self.created,
                "LastModifiedTime": self.transitions[-1]["StartTime"],
                "SecondaryStatusTransitions": [dict(t) for t in self.transitions],
                "EnableManagedSpotTraining": self.req.get("EnableManagedSpotTraining", False),
                "Environment": self.req.get("Environment", {}),
            }
            if "CheckpointConfig" in self.req:
                r["CheckpointConfig"] = self.req["CheckpointConfig"]
            if self.failure is not None:
                r["FailureReason"] = self.failure
            if self.training_start is not None:
                r["TrainingStartTime"] = self.training_start
            if self.training_end is not None:
                r["TrainingEndTime"] = self.training_end
            if self.status != "InProgress" or self.billable > 0:
                secs = max(1, int(self.billable + 0.999))
                r["TrainingTimeInSeconds"] = secs
                r["BillableTimeInSeconds"] = secs
            return r

    def model_uri(self):
        out = self.req["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        return f"{out}/{self.name}/output/model.tar.gz"

    def hosts(self):
        n = max(1, int(self.req["ResourceConfig"].get("InstanceCount", 1)))
        return [f"algo-{i + 1}" for i in range(n)]


def write_config(job, host, ml):
    cfg = os.path.join(ml, "input", "config")
    os.makedirs(cfg, exist_ok=True)
    for d in ("model", "output", "output/data", "checkpoints", "input/data", "code"):
        os.makedirs(os.path.join(ml, d), exist_ok=True)
    # hyperparameters.json: the values as strings, as CreateTrainingJob took them
    with open(os.path.join(cfg, "hyperparameters.json"), "w", encoding="utf-8") as f:
        json.dump(job.req.get("HyperParameters", {}), f)
    channels = {}
    for c in job.req.get("InputDataConfig", []):
        channels[c["ChannelName"]] = {"TrainingInputMode": job.req["AlgorithmSpecification"]
                                      ["TrainingInputMode"], "S3DistributionType": "FullyReplicated",
                                      "RecordWrapperType": "None"}
    with open(os.path.join(cfg, "inputdataconfig.json"), "w", encoding="utf-8") as f:
        json.dump(channels, f)
    hosts = job.hosts()
    itype = job.req["ResourceConfig"]["InstanceType"]
    with open(os.path.join(cfg, "resourceconfig.json"), "w", encoding="utf-8") as f:
        json.dump({"current_host": host, "current_instance_type": itype,
                   "current_group_name": "homogeneousCluster", "hosts": hosts,
                   "instance_groups": [{"instance_group_name": "homogeneousCluster",
                                        "instance_type": itype, "hosts": hosts}],
                   "network_interface_name": "eth0"}, f)


def podman(*args, check=True, timeout=None):
    r = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"podman {args[0]}: {r.stderr.strip()[-500:]}")
    return r


def pull(job):
    image = job.req["AlgorithmSpecification"]["TrainingImage"]
    args = ["pull", "--quiet", "--tls-verify=false"]
    if ARGS.registry_password:
        args += ["--creds", f"AWS:{ARGS.registry_password}"]
    podman(*args, image, timeout=600)
    return image


def run_containers(job, image, root):
    """One container per host; returns their exit codes."""
    job.runs += 1
    names = []
    port = ARGS.port
    for host in job.hosts():
        ml = os.path.join(root, host)
        cname = f"sm-{job.name}-{host}-{job.runs}"[:120]
        env = dict(job.req.get("Environment", {}))
        env.update({"TRAINING_JOB_NAME": job.name, "TRAINING_JOB_ARN": job.arn,
                    "AWS_REGION": ARGS.region, "AWS_DEFAULT_REGION": ARGS.region,
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI":
                        f"http://127.0.0.1:{port}/_creds/{job.name}",
                    "AWS_EC2_METADATA_DISABLED": "true"})
        args = ["run", "-d", "--name", cname, "--network", "host", "--hostname", host,
                "-v", f"{ml}:/opt/ml"]
        for h in job.hosts():
            args += ["--add-host", f"{h}:127.0.0.1"]
        for k, v in env.items():
            args += ["-e", f"{k}={v}"]
        args += ARGS.podman_arg
        args += [image, "train"]
        podman(*args)
        names.append(cname)
    with job.lock:
        job.containers = names
    codes = []
    for cname in names:
        r = podman("wait", cname, check=False)
        try:
            codes.append(int(r.stdout.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            codes.append(125)
        logs = podman("logs", cname, check=False)
        with open(os.path.join(ARGS.dir, f"{cname}.log"), "w", encoding="utf-8") as f:
            f.write(logs.stdout + logs.stderr)
        podman("rm", "-f", cname, check=False)
    with job.lock:
        job.containers = []
    return codes


def stop_containers(job):
    with job.lock:
        names = list(job.containers)
    for c in names:
        podman("stop", "-t", str(STOP_TIMEOUT), c, check=False, timeout=STOP_TIMEOUT + 60)


def checkpoint_sync(job, ml, stop):
    cp = job.req.get("CheckpointConfig")
    if not cp:
        return
    seen = {}
    local = os.path.join(ml, "checkpoints")
    while not stop.wait(1.0):
        try:
            s3_upload_dir(local, cp["S3Uri"], seen)
        except Exception as e:  # noqa: BLE001 - the next round tries again
            log_request({"event": "checkpoint-sync-error", "name": job.name, "error": str(e)})
    s3_upload_dir(local, cp["S3Uri"], seen)


def runtime_watch(job, done):
    limit = job.req["StoppingCondition"].get("MaxRuntimeInSeconds", 86400)
    if not done.wait(limit) and job.stop_reason is None:
        job.stop_reason = "MaxRuntimeExceeded"
        stop_containers(job)


def train_once(job, image, root):
    primary = os.path.join(root, job.hosts()[0])
    cp = job.req.get("CheckpointConfig")
    if cp:
        for host in job.hosts():
            s3_download_prefix(cp["S3Uri"], os.path.join(root, host, "checkpoints"))
    job.transition("Training", "Training image download completed. Training in progress.")
    if job.training_start is None:
        job.training_start = now()
    stop, done = threading.Event(), threading.Event()
    syncer = threading.Thread(target=checkpoint_sync, args=(job, primary, stop), daemon=True)
    syncer.start()
    threading.Thread(target=runtime_watch, args=(job, done), daemon=True).start()
    t0 = now()
    codes = run_containers(job, image, root)
    job.billable += now() - t0
    done.set()
    stop.set()
    syncer.join()
    return codes


def finish(job, root, codes):
    primary = os.path.join(root, job.hosts()[0])
    job.training_end = now()
    job.transition("Uploading", "Uploading generated training model")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        model = os.path.join(primary, "model")
        for name in sorted(os.listdir(model)):
            tar.add(os.path.join(model, name), arcname=name)
    s3_put(job.model_uri(), buf.getvalue())
    if job.stop_reason == "MaxRuntimeExceeded":
        job.transition("MaxRuntimeExceeded", "Job stopped because max run time was exceeded",
                       status="Stopped")
    elif job.stop_reason == "Stopped":
        job.transition("Stopped", "The training job was stopped", status="Stopped")
    elif all(c == 0 for c in codes):
        job.transition("Completed", "Training job completed", status="Completed")
    else:
        failure = ""
        for host in job.hosts():
            p = os.path.join(root, host, "output", "failure")
            if os.path.exists(p):
                with open(p, encoding="utf-8", errors="replace") as f:
                    failure = f.read().strip()
                break
        if not failure:
            failure = f"ExecuteUserScriptError: the training container exited with {codes}"
        with job.lock:
            job.failure = f"AlgorithmError: {failure}"[:1024]
        job.transition("Failed", "Training job failed", status="Failed")


def run_job(job):
    root = os.path.join(ARGS.dir, "jobs", job.name)
    try:
        for host in job.hosts():
            write_config(job, host, os.path.join(root, host))
        job.transition("Downloading", "Downloading the training image")
        image = pull(job)
        while True:
            codes = train_once(job, image, root)
            if job.stop_reason != "Interrupted":
                break
            job.transition("Interrupted", "Job interrupted: spot capacity is not available; "
                           "SageMaker restarts it when capacity is back")
            job.capacity.wait()
            job.capacity.clear()
            with job.lock:
                job.stop_reason = None
            job.transition("Starting", "Preparing the instances for training")
            job.transition("Downloading", "Downloading the training image")
            for host in job.hosts():
                # a new instance: /opt/ml anew, checkpoints from S3 only
                subprocess.run(["rm", "-rf", os.path.join(root, host)], check=False)
                write_config(job, host, os.path.join(root, host))
        finish(job, root, codes)
    except Exception as e:  # noqa: BLE001 - the job fails, as SageMaker's would
        with job.lock:
            job.failure = f"InternalServerError: {e}"[:1024]
        job.transition("Failed", "Training job failed", status="Failed")


# ---- the operations ----

def op_create(p):
    with LOCK:
        if p["TrainingJobName"] in JOBS:
            return aws_error("ResourceInUse", f"Training job names must be unique within an AWS "
                             f"account and region, and a training job with this name already "
                             f"exists ({JOBS[p['TrainingJobName']].arn})")
        spot = p.get("EnableManagedSpotTraining", False)
        sc = p["StoppingCondition"]
        if spot and "MaxWaitTimeInSeconds" not in sc:
            return aws_error("ValidationException", "MaxWaitTimeInSeconds is required for "
                             "managed spot training")
        if sc.get("MaxWaitTimeInSeconds", 1 << 40) < sc.get("MaxRuntimeInSeconds", 86400):
            return aws_error("ValidationException", "MaxWaitTimeInSeconds must be at least "
                             "MaxRuntimeInSeconds")
        job = JOBS[p["TrainingJobName"]] = Job(p)
    threading.Thread(target=run_job, args=(job,), daemon=True).start()
    return 200, {"TrainingJobArn": job.arn}


def find_job(name):
    with LOCK:
        job = JOBS.get(name)
    return job


def op_describe(p):
    job = find_job(p["TrainingJobName"])
    if job is None:
        return aws_error("ValidationException", f"Requested resource not found.")
    return 200, job.describe()


def op_stop(p):
    job = find_job(p["TrainingJobName"])
    if job is None:
        return aws_error("ValidationException", "Requested resource not found.")
    if job.status != "InProgress":
        return aws_error("ValidationException", f"The training job is in status {job.status}; "
                         f"a job can be stopped only while InProgress")
    job.stop_reason = "Stopped"
    job.transition("Stopping", "Stopping the training job", status="Stopping")
    threading.Thread(target=stop_containers, args=(job,), daemon=True).start()
    job.capacity.set()
    return 200, {}


def op_list(p):
    with LOCK:
        jobs = sorted(JOBS.values(), key=lambda j: j.created, reverse=True)
    if "NameContains" in p:
        jobs = [j for j in jobs if p["NameContains"].lower() in j.name.lower()]
    if "StatusEquals" in p:
        jobs = [j for j in jobs if j.status == p["StatusEquals"]]
    start = int(p.get("NextToken", "0") or 0)
    n = p.get("MaxResults", 10)
    page = jobs[start:start + n]
    r = {"TrainingJobSummaries": [{"TrainingJobName": j.name, "TrainingJobArn": j.arn,
                                   "CreationTime": j.created, "TrainingJobStatus": j.status,
                                   "LastModifiedTime": j.transitions[-1]["StartTime"]}
                                  for j in page]}
    if start + n < len(jobs):
        r["NextToken"] = str(start + n)
    return 200, r


def repo_obj(name):
    return {"repositoryArn": f"arn:aws:ecr:{ARGS.region}:{ACCOUNT}:repository/{name}",
            "registryId": ACCOUNT, "repositoryName": name,
            "repositoryUri": f"{ARGS.registry or ACCOUNT + '.dkr.ecr.' + ARGS.region + '.amazonaws.com'}/{name}",
            "createdAt": REPOS[name]}


def op_ecr_token(p):
    tok = base64.b64encode(f"AWS:{ARGS.registry_password}".encode()).decode()
    return 200, {"authorizationData": [{"authorizationToken": tok, "expiresAt": now() + 43200,
                                        "proxyEndpoint": f"http://{ARGS.registry}"}]}


def op_ecr_create(p):
    name = p["repositoryName"]
    with LOCK:
        if name in REPOS:
            return aws_error("RepositoryAlreadyExistsException",
                             f"The repository with name '{name}' already exists in the registry "
                             f"with id '{ACCOUNT}'")
        REPOS[name] = now()
        return 200, {"repository": repo_obj(name)}


def op_ecr_describe(p):
    with LOCK:
        names = p.get("repositoryNames", list(REPOS))
        for n in names:
            if n not in REPOS:
                return aws_error("RepositoryNotFoundException",
                                 f"The repository with name '{n}' does not exist in the registry "
                                 f"with id '{ACCOUNT}'")
        return 200, {"repositories": [repo_obj(n) for n in names]}


OPS = {
    ("sagemaker", "CreateTrainingJob"): op_create,
    ("sagemaker", "DescribeTrainingJob"): op_describe,
    ("sagemaker", "StopTrainingJob"): op_stop,
    ("sagemaker", "ListTrainingJobs"): op_list,
    ("ecr", "GetAuthorizationToken"): op_ecr_token,
    ("ecr", "CreateRepository"): op_ecr_create,
    ("ecr", "DescribeRepositories"): op_ecr_describe,
}


class Handler(peerlib.ForwardingHandler):
    def send_json(self, status, obj):
        data = json.dumps(obj).encode()
        self.reply(status, [("Content-Type", "application/x-amz-json-1.1"),
                            ("x-amzn-RequestId", f"req-{time.monotonic_ns()}")], data)

    def do_GET(self):
        if self.path.startswith("/_creds/"):
            name = self.path[len("/_creds/"):]
            if find_job(name) is None:
                return self.send_json(404, {"message": "no such job"})
            ak, sk = ARGS.role_key.split(":", 1)
            exp = datetime.datetime.utcfromtimestamp(now() + 3600).strftime("%Y-%m-%dT%H:%M:%SZ")
            creds = {"AccessKeyId": ak, "SecretAccessKey": sk, "Expiration": exp}
            return self.send_json(200, creds)
        self.send_json(404, {"message": "not found"})

    def do_POST(self):
        body = self.body()
        u = urllib.parse.urlsplit(self.path)
        if u.path.startswith("/_test/"):
            return self.test_control(u)
        target = self.headers.get("X-Amz-Target", "")
        prefix, _, op = target.partition(".")
        service = TARGETS.get(prefix)
        rec = {"target": target, "body": body.decode("utf-8", "replace"), "time": now()}
        if u.path != "/" or service is None or (service, op) not in OPS:
            rec["outcome"] = "unknown operation"
            log_request(rec)
            return self.send_json(*aws_error("UnknownOperationException",
                                             f"unknown operation {target!r} at {u.path}"))
        if self.headers.get("Content-Type") != "application/x-amz-json-1.1":
            rec["outcome"] = "bad content type"
            log_request(rec)
            return self.send_json(*aws_error("SerializationException",
                                             "Content-Type must be application/x-amz-json-1.1"))
        why = check_sigv4(self, body, service)
        if why is not None:
            rec["outcome"] = "signature: " + why
            log_request(rec)
            return self.send_json(*aws_error("InvalidSignatureException", why, 403))
        with LOCK:
            throttled = THROTTLE["count"] > 0
            if throttled:
                THROTTLE["count"] -= 1
        if throttled:
            rec["outcome"] = "throttled"
            log_request(rec)
            return self.send_json(*aws_error("ThrottlingException", "Rate exceeded"))
        try:
            params = json.loads(body or b"{}")
        except ValueError as e:
            rec["outcome"] = "not JSON"
            log_request(rec)
            return self.send_json(*aws_error("SerializationException", str(e)))
        errors = MODEL[service].validate(op, params)
        if errors:
            rec["outcome"] = "invalid: " + "; ".join(errors)
            log_request(rec)
            return self.send_json(*aws_error("ValidationException", "; ".join(errors)))
        status, out = OPS[(service, op)](params)
        rec["outcome"] = "ok" if status == 200 else f"{status} {out.get('__type')}"
        log_request(rec)
        self.send_json(status, out)

    def test_control(self, u):
        q = urllib.parse.parse_qs(u.query)
        parts = u.path.split("/")
        if parts[2] == "throttle":
            with LOCK:
                THROTTLE["count"] = int(q.get("count", ["1"])[0])
            return self.send_json(200, {})
        job = find_job(parts[3]) if len(parts) > 3 else None
        if job is None:
            return self.send_json(404, {"message": "no such job"})
        if parts[2] == "interrupt":
            job.stop_reason = "Interrupted"
            threading.Thread(target=stop_containers, args=(job,), daemon=True).start()
            return self.send_json(200, {})
        if parts[2] == "capacity":
            job.capacity.set()
            return self.send_json(200, {})
        return self.send_json(404, {"message": "unknown control"})


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--access-key", required=True)
    ap.add_argument("--secret-key", required=True)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--role-key", default="role:role", help="AK:SK the job's role gets")
    ap.add_argument("--s3-endpoint")
    ap.add_argument("--s3-serve-json")
    ap.add_argument("--registry", default="")
    ap.add_argument("--registry-password", default="")
    ap.add_argument("--podman-arg", action="append", default=[])
    ARGS = ap.parse_args()
    os.makedirs(ARGS.dir, exist_ok=True)
    MODEL["sagemaker"] = aws_model.Model(os.path.join(MODELS, "sagemaker", "2017-07-24",
                                                      "service-2.json"))
    MODEL["ecr"] = aws_model.Model(os.path.join(MODELS, "ecr", "2015-09-21", "service-2.json"))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    ARGS.port = srv.server_address[1]
    tmp = os.path.join(ARGS.dir, "port.tmp")
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{ARGS.port}\n")
    os.rename(tmp, os.path.join(ARGS.dir, "port"))
    srv.serve_forever()


if __name__ == "__main__":
    main()
