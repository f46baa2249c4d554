#!/usr/bin/env bash
# The sagemaker provider against a contract server (tests/peers/
# sagemaker_server.py) that checks every request as AWS does (SigV4 with
# botocore's signer, the body against botocore's service model) and runs the
# training image as SageMaker does: pulled with the ECR token from a local
# registry, `podman run IMAGE train` with /opt/ml mounted, SIGTERM + 120 s.
# Storage is hoist serve's built-in S3 endpoint.
. "$(dirname "$0")/lib.sh"

QS=$T_ROOT/examples/quickstart
SM=$T_TMP/sm
REG=$T_TMP/registry
MODEL_SM=$T_ROOT/tests/data/aws-models/sagemaker/2017-07-24/service-2.json
# The caller's AWS key (what hoist signs SageMaker calls with), and the
# key the job's role gets: the built-in endpoint's owner key here.
SM_AK=AKIDHOISTSMTEST00001
SM_SK=hoist-sagemaker-test-secret-key-0123456
ROLE_AK=hoistroleaccess01
ROLE_SK=hoist-role-secret-key-0123456789abcdef
REG_PW=ecr-token-$$-$RANDOM

sm_port() { cat "$SM/port"; }
sm_ctl() { curl -fsS -X POST "http://127.0.0.1:$(sm_port)/_test/$1"; }
requests() { cat "$SM/requests.jsonl"; }
n_requests() { if [ -f "$SM/requests.jsonl" ]; then wc -l <"$SM/requests.jsonl"; else echo 0; fi; }

setup() {
        command -v podman >/dev/null || { echo "podman is missing (scripts/deps.sh)"; return 1; }
        [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import sys; sys.path.insert(0, "/usr/lib/python3/dist-packages/awscli"); import botocore' ||
                { echo "Debian's awscli (botocore) is missing (scripts/deps.sh)"; return 1; }
        "$T_ROOT/tests/peers/podman-image.sh" "localhost/hoist-it-sm:$$" \
                "$HOIST_BUILD/hoist-entrypoint-bundle.tar" "$HOIST_BIN/hoist-quickstart"
        t_defer "podman rmi -f localhost/hoist-it-sm:$$ >/dev/null 2>&1"
        "$T_ROOT/tests/peers/registry.sh" start "$REG" basic AWS "$REG_PW"
        t_defer "'$T_ROOT/tests/peers/registry.sh' stop '$REG'"
        t_defer "podman rmi -f 127.0.0.1:$(cat "$REG/port")/hoist-quickstart:sm >/dev/null 2>&1"
        REG_HOST=127.0.0.1:$(cat "$REG/port")
        IMAGE=$REG_HOST/hoist-quickstart:sm
        podman push --quiet --tls-verify=false --creds "AWS:$REG_PW" "localhost/hoist-it-sm:$$" "$IMAGE"
        HOIST_HOME=$T_TMP/home
        mkdir -p "$HOIST_HOME"
        echo 'consent: allow' >"$HOIST_HOME/config.yaml"
        export HOIST_HOME
        unset HOIST_STORAGE
        # the built-in endpoint's owner key (hoist serve reads owner.json)
        # is the role's
        mkdir -p -m 0700 "$HOIST_HOME/serve"
        printf '{"access_key": "%s", "secret_key": "%s"}\n' "$ROLE_AK" "$ROLE_SK" >"$HOIST_HOME/serve/owner.json"
        chmod 0600 "$HOIST_HOME/serve/owner.json"
        unset HOIST_S3_ACCESS_KEY HOIST_S3_SECRET_KEY
        /usr/bin/python3 "$T_ROOT/tests/peers/sagemaker_server.py" --dir "$SM" \
                --access-key "$SM_AK" --secret-key "$SM_SK" --region us-east-1 \
                --role-key "$ROLE_AK:$ROLE_SK" --s3-serve-json "$HOIST_HOME/serve/serve.json" \
                --registry "$REG_HOST" --registry-password "$REG_PW" >"$T_TMP/sm.out" 2>&1 &
        echo $! >"$T_TMP/sm.pid"
        T_CLEANUPS+=("kill $(cat "$T_TMP/sm.pid") 2>/dev/null; podman rm -f \$(podman ps -aq --filter name=sm-hoist-) >/dev/null 2>&1")
        wait_for 30 test -s "$SM/port" || { cat "$T_TMP/sm.out"; return 1; }
        export HOIST_SAGEMAKER_ENDPOINT=http://127.0.0.1:$(sm_port)
        export AWS_ACCESS_KEY_ID=$SM_AK AWS_SECRET_ACCESS_KEY=$SM_SK AWS_REGION=us-east-1
        export AWS_EC2_METADATA_DISABLED=true AWS_SHARED_CREDENTIALS_FILE=$T_TMP/none AWS_CONFIG_FILE=$T_TMP/none
        unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
        export HOIST_SAGEMAKER_ROLE=arn:aws:iam::123456789012:role/HoistTraining
        export IMAGE REG_HOST
        py_image
}

# PY_IMAGE: Debian's python3 and torch (the cached debootstrap rootfs of
# scripts/make-torch-rootfs.sh) with the entrypoint bundle and
# examples/sagemaker-toolkit's train.py, in the registry standing for ECR;
# built once for the cases that need python3, removed when the suite ends.
py_image() {
        local tar ctx=$T_TMP/pyimage
        PY_IMAGE=$REG_HOST/sm-toolkit:py
        tar=$("$T_ROOT/scripts/make-torch-rootfs.sh") || { echo "make-torch-rootfs.sh failed"; return 1; }
        mkdir -p "$ctx"
        podman import --quiet "$tar" "localhost/hoist-it-smpy-base:$$" >/dev/null || { echo "podman import $tar failed"; return 1; }
        t_defer "podman rmi -f $PY_IMAGE localhost/hoist-it-smpy-base:$$ >/dev/null 2>&1"
        cp "$HOIST_BUILD/hoist-entrypoint-bundle.tar" "$T_ROOT/examples/sagemaker-toolkit/train.py" "$ctx/"
        printf '%s\n' "FROM localhost/hoist-it-smpy-base:$$" "ADD hoist-entrypoint-bundle.tar /" \
                "COPY train.py /opt/train/train.py" 'ENTRYPOINT ["/opt/hoist/bin/hoist-entrypoint"]' \
                'CMD ["train"]' >"$ctx/Containerfile"
        podman build -q -t "$PY_IMAGE" "$ctx" || { echo "podman build failed"; return 1; }
        podman push --quiet --tls-verify=false --creds "AWS:$REG_PW" "$PY_IMAGE" || { echo "podman push failed"; return 1; }
        export PY_IMAGE
}

# job.yaml for the quickstart trainer in DIR, with EXTRA lines appended.
write_job() {
        local dir=$1
        shift
        mkdir -p "$dir"
        [ -d "$dir/data" ] || cp -r "$QS/data" "$dir/data"
        cat >"$dir/job.yaml" <<YAML
name: sm-quickstart
provider: sagemaker
image: $IMAGE
command: ["/usr/local/bin/hoist-quickstart", "train"]
inputs:
  train: data/
hyperparameters:
  steps: 3000
  lr: 0.05
  hidden: 16
  seed: 7
  checkpoint_every: 250
limits:
  max_runtime: 10m
  stop_grace: 30s
sagemaker:
  volume_size: 30
YAML
        for line in "$@"; do echo "$line" >>"$dir/job.yaml"; done
}

# what went wrong with job ID: its status, the server's last records, the
# containers' output
why() {
        [ -n "$1" ] || { echo "(no job id)"; return 0; }
        echo "state $(job_field "$1" state): $(hoist status "$1" 2>&1 | tail -5)"
        tail -3 "$SM/requests.jsonl"
        tail -n 15 "$SM"/sm-hoist-"$1"-*.log 2>/dev/null
}
# The training job of attempt 1 of job ID (checked against what the server saw).
name_of() { echo "hoist-$1-1"; }

# aws s3api against the built-in endpoint, with the owner key.
s3() {
        AWS_ACCESS_KEY_ID=$ROLE_AK AWS_SECRET_ACCESS_KEY=$ROLE_SK \
                /usr/bin/aws --endpoint-url "$(sed -n 's/.*"endpoint": *"\([^"]*\)".*/\1/p' "$HOIST_HOME/serve/serve.json")" \
                s3api "$@"
}

t_completed() {
        write_job "$T_TMP/ok"
        hoist submit --dry-run "$T_TMP/ok/job.yaml" >"$T_TMP/ok/dry" 2>&1 || fail "dry run: $(cat "$T_TMP/ok/dry")"
        grep_q '"TrainingJobName": "hoist-j-' <"$T_TMP/ok/dry" || fail "no body: $(cat "$T_TMP/ok/dry")"
        # no instance_type: the cheapest of the price tables, said before submit
        grep_q '"InstanceType": "ml\.' <"$T_TMP/ok/dry" || fail "no instance type: $(cat "$T_TMP/ok/dry")"
        grep_q 'SageMaker instance type ml\..*the cheapest' <"$T_TMP/ok/dry" || fail "the choice is not shown: $(cat "$T_TMP/ok/dry")"
        hoist submit --follow "$T_TMP/ok/job.yaml" >"$T_TMP/ok/out" 2>&1 ||
                fail "job failed: $(tail -5 "$T_TMP/ok/out"; why "$(job_id_of "$T_TMP/ok/out")")"
        id=$(job_id_of "$T_TMP/ok/out")
        state_is "$id" succeeded || fail "$(why "$id")"
        name=$(name_of "$id")
        grep_q "CreateTrainingJob.*$name" <"$SM/requests.jsonl" || fail "no CreateTrainingJob named $name"
        # the model in hoist's storage, and SageMaker's model.tar.gz
        hoist results "$id" "$T_TMP/ok/res" >/dev/null
        [ -s "$T_TMP/ok/res/model/model.bin" ] || fail "no model in storage"
        s3 head-object --bucket hoist --key "jobs/$id/sagemaker/$name/output/model.tar.gz" >/dev/null ||
                fail "no model.tar.gz under S3OutputPath"
        # the server saw Describe go through SageMaker's sequence
        for s in Starting Downloading Training Uploading Completed; do
                grep_q "\"secondary\": \"$s\"" <"$SM/requests.jsonl" || fail "no $s transition"
        done
        # every request was signed and valid: none refused
        ! grep -q '"outcome": "\(signature\|invalid\|bad\|not JSON\|unknown\)' "$SM/requests.jsonl" ||
                fail "refused: $(grep -m3 '"outcome": "\(signature\|invalid\)' "$SM/requests.jsonl")"
        # what SageMaker billed: BillableTimeInSeconds priced as the
        # instance type it ran on (docs/cost.md)
        hoist status -o json "$id" >"$T_TMP/ok/st.json"
        itype=$(sed -n 's/.*"InstanceType": "\(ml\.[a-z0-9.]*\)".*/\1/p;T;q' "$T_TMP/ok/dry")
        python3 - "$T_TMP/ok/st.json" "$itype" <<'PY' || fail "billing: $(cat "$T_TMP/ok/st.json")"
import json, sys
c = json.load(open(sys.argv[1]))["cost"]
a = c["attempts"][-1]
assert a["sku"] == sys.argv[2], (a["sku"], sys.argv[2])
assert a["billed_s"] >= 1 and c["billed"] > 0 and c["currency"] == "USD", c
PY
        echo "$id" >"$T_TMP/ok-id"
}

# Spot capacity taken back mid-training: SageMaker stops the container
# (SIGTERM), shows Interrupted, and starts the same training job again on a
# new instance with CheckpointConfig's checkpoints restored.  hoist shows
# the interruption, follows SageMaker's restart instead of starting a second
# attempt, and the resumed run's model equals the uninterrupted one's.
t_spot_interrupted() {
        [ -s "$T_TMP/ok/res/model/model.bin" ] || fail "needs the uninterrupted run of the first test"
        write_job "$T_TMP/spot" "  max_wait: 30m" "resources: {spot: true}" "retry: {on: [interruption], max: 2}"
        # the same training, slowed down so that it can be interrupted
        sed -i 's/^  checkpoint_every: 250$/  checkpoint_every: 250\n  sleep_ms: 5/' "$T_TMP/spot/job.yaml"
        id=$(hoist submit -q "$T_TMP/spot/job.yaml")
        name=$(name_of "$id")
        grep_q 'CreateTrainingJob.*EnableManagedSpotTraining\\": *true' <"$SM/requests.jsonl" || fail "not a managed spot job"
        wait_for 180 sh -c "'$HOIST_BIN/hoist' logs '$id' 2>/dev/null | grep -q '\"event\": \"checkpoint\"'" ||
                fail "no checkpoint: $(why "$id")"
        sm_ctl "interrupt/$name" >/dev/null
        wait_for 200 grep -q "\"name\": \"$name\", \"status\": \"InProgress\", \"secondary\": \"Interrupted\"" "$SM/requests.jsonl" ||
                fail "never Interrupted: $(why "$id")"
        wait_for 60 sh -c "'$HOIST_BIN/hoist' status '$id' | grep -q interrupted" || fail "hoist never showed interrupted: $(why "$id")"
        sm_ctl "capacity/$name" >/dev/null
        wait_for 300 state_is "$id" succeeded || fail "$(why "$id")"
        [ "$(job_field "$id" attempt)" = 1 ] || fail "hoist started attempt $(job_field "$id" attempt) beside SageMaker's restart"
        hoist status "$id" | grep_q "requeued by sagemaker" || fail "the restart was not followed: $(hoist status "$id")"
        hoist logs "$id" | grep_q '"event": "resumed"' || fail "the restarted run did not resume: $(hoist logs "$id" | tail -5)"
        hoist results "$id" "$T_TMP/spot/res" >/dev/null
        cmp "$T_TMP/spot/res/model/model.bin" "$T_TMP/ok/res/model/model.bin" ||
                fail "the resumed model differs from the uninterrupted run's"
}

t_golden_bodies_valid() {
        for f in "$T_ROOT"/tests/data/sagemaker/golden/*.json; do
                /usr/bin/python3 "$T_ROOT/tests/peers/aws_model.py" "$MODEL_SM" CreateTrainingJob "$f" ||
                        fail "$f does not validate"
        done
        # and the checker does refuse a bad body
        echo '{"TrainingJobName": "-x", "RoleArn": "role"}' >"$T_TMP/bad.json"
        ! /usr/bin/python3 "$T_ROOT/tests/peers/aws_model.py" "$MODEL_SM" CreateTrainingJob "$T_TMP/bad.json" 2>/dev/null ||
                fail "a bad body validated"
}

t_failed() {
        write_job "$T_TMP/fail"
        sed -i 's/  lr: 0.05/  lr: not-a-number/' "$T_TMP/fail/job.yaml"
        hoist submit --follow "$T_TMP/fail/job.yaml" >"$T_TMP/fail/out" 2>&1 && fail "a failing job succeeded"
        id=$(job_id_of "$T_TMP/fail/out")
        state_is "$id" failed || fail "$(why "$id")"
        name=$(name_of "$id")
        wait_for 60 grep -q "\"name\": \"$name\", \"status\": \"Failed\"" "$SM/requests.jsonl" ||
                fail "SageMaker did not fail it: $(why "$id")"
        # FailureReason is what the entrypoint wrote to /opt/ml/output/failure
        grep "\"name\": \"$name\", \"status\": \"Failed\"" "$SM/requests.jsonl" >"$T_TMP/fail/rec"
        grep_q '"failure": "AlgorithmError: ' <"$T_TMP/fail/rec" || fail "no FailureReason: $(cat "$T_TMP/fail/rec")"
        ! grep -q ExecuteUserScriptError "$T_TMP/fail/rec" || fail "no /opt/ml/output/failure was written: $(cat "$T_TMP/fail/rec")"
}

# hoist list --provider sagemaker --remote: ListTrainingJobs, each mapped
# back to its hoist job.
t_list_remote() {
        id=$(cat "$T_TMP/ok-id")
        hoist list --provider sagemaker --remote >"$T_TMP/list" 2>&1 || fail "$(cat "$T_TMP/list")"
        grep_q "^hoist-$id-1 .*Completed .*$id (attempt 1)" <"$T_TMP/list" || fail "$(cat "$T_TMP/list")"
        hoist list --provider sagemaker --remote -o json | python3 -c "
import json, sys
jobs = {j['ref']: j for j in json.load(sys.stdin)}
j = jobs['hoist-$id-1']
assert j['job_id'] == '$id' and j['attempt'] == 1 and j['state'] == 'Completed', j
" || fail "json: $(hoist list --provider sagemaker --remote -o json)"
        grep_q '"target": "SageMaker.ListTrainingJobs", "body": "{.*SortBy' <"$SM/requests.jsonl" || fail "no ListTrainingJobs sent"
        # the local list, filtered by provider
        hoist list --provider sagemaker | grep_q "$id" || fail "hoist list --provider sagemaker"
        [ "$(hoist list --provider local -o json)" = "[]" ] || fail "a local job listed"
}

t_stop() {
        write_job "$T_TMP/stop"
        sed -i 's/  steps: 3000/  steps: 100000000/' "$T_TMP/stop/job.yaml"
        id=$(hoist submit -q "$T_TMP/stop/job.yaml")
        wait_for 120 state_is "$id" running || fail "never running: $(why "$id")"
        hoist cancel "$id" >"$T_TMP/stop/out" 2>&1 || fail "cancel: $(cat "$T_TMP/stop/out")"
        wait_for 180 state_is "$id" canceled || fail "$(why "$id")"
        name=$(name_of "$id")
        grep_q "SageMaker.StopTrainingJob.*$name" <"$SM/requests.jsonl" || fail "no StopTrainingJob for $name"
        grep_q "\"name\": \"$name\", \"status\": \"Stopped\"" <"$SM/requests.jsonl" || fail "not Stopped"
}

t_throttled() {
        write_job "$T_TMP/thr"
        sm_ctl "throttle?count=3" >/dev/null
        before=$(grep -c '"outcome": "throttled"' "$SM/requests.jsonl" || true)
        hoist submit --follow "$T_TMP/thr/job.yaml" >"$T_TMP/thr/out" 2>&1 || fail "job failed: $(tail -20 "$T_TMP/thr/out")"
        after=$(grep -c '"outcome": "throttled"' "$SM/requests.jsonl")
        [ $((after - before)) -eq 3 ] || fail "$((after - before)) throttled answers, want 3"
        id=$(job_id_of "$T_TMP/thr/out")
        state_is "$id" succeeded || fail "$(why "$id")"
}

t_secrets_absent() {
        write_job "$T_TMP/sec" "secrets:" "  HF_TOKEN: {env: SM_TEST_SECRET}"
        export SM_TEST_SECRET=hf_sm-secret-$$-do-not-leak
        hoist submit --follow "$T_TMP/sec/job.yaml" >"$T_TMP/sec/out" 2>&1 || fail "job failed: $(tail -20 "$T_TMP/sec/out")"
        id=$(job_id_of "$T_TMP/sec/out")
        grep_q "hoist_secrets_key" <"$SM/requests.jsonl" || fail "no secrets object named"
        ! grep -q "$SM_TEST_SECRET" "$SM/requests.jsonl" || fail "the secret is in a request body"
        ! grep -rq "$SM_TEST_SECRET" "$HOIST_HOME/run/$id" || fail "the secret is in run/$id"
        ! grep -q "$ROLE_SK" "$SM/requests.jsonl" || fail "a storage key is in a request body"
}

# A push to a registry that stands for ECR (HOIST_ECR_REGISTRY): the
# password is the token of ECR's GetAuthorizationToken, and with
# --create-repository a missing repository is created first.
t_ecr() {
        export HOIST_ECR_REGISTRY=$REG_HOST HOIST_ECR_ENDPOINT=http://127.0.0.1:$(sm_port)
        hoist pull -q "$IMAGE" >"$T_TMP/ecr-pull" 2>&1 || fail "pull with the ECR token: $(cat "$T_TMP/ecr-pull")"
        grep_q '"target": "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken".*"outcome": "ok"' <"$SM/requests.jsonl" ||
                fail "no GetAuthorizationToken"
        # without the opt-in, no repository is created (the registry that
        # stands for ECR takes any name, so the push itself goes through)
        hoist push -q "$IMAGE" "$REG_HOST/team/other:v1" >"$T_TMP/ecr-push" 2>&1 || fail "push: $(cat "$T_TMP/ecr-push")"
        ! grep -q 'Repository' "$SM/requests.jsonl" || fail "a repository call without --create-repository"
        hoist push -q --create-repository "$IMAGE" "$REG_HOST/team/trainer:v1" >"$T_TMP/ecr-push" 2>&1 ||
                fail "push: $(cat "$T_TMP/ecr-push")"
        grep_q 'CreateRepository", "body": "{\\"repositoryName\\":\\"team/trainer\\"}".*"outcome": "ok"' <"$SM/requests.jsonl" ||
                fail "no CreateRepository: $(grep -c Repository "$SM/requests.jsonl")"
        skopeo inspect --tls-verify=false --creds "AWS:$REG_PW" "docker://$REG_HOST/team/trainer:v1" >/dev/null ||
                fail "skopeo cannot read the pushed image"
        # a second push finds the repository there
        hoist push -q --create-repository "$IMAGE" "$REG_HOST/team/trainer:v1" >/dev/null 2>&1 || fail "second push"
        [ "$(grep -c '"target": "AmazonEC2ContainerRegistry_V20150921.CreateRepository"' "$SM/requests.jsonl")" -eq 1 ] ||
                fail "CreateRepository sent twice"
        # job.yaml's opt-in: build.create_repository with build.push
        write_job "$T_TMP/ecrjob"
        sed -i '/^image: /d' "$T_TMP/ecrjob/job.yaml"
        cat >>"$T_TMP/ecrjob/job.yaml" <<YAML
build:
  context: $HOIST_BIN
  dockerfile: $T_ROOT/images/quickstart/Dockerfile
  args:
    TRAINER: hoist-quickstart
  push: $REG_HOST/team/built:v1
  create_repository: true
YAML
        t_defer "podman rmi -f $REG_HOST/team/built:v1 >/dev/null 2>&1"
        hoist submit --follow "$T_TMP/ecrjob/job.yaml" >"$T_TMP/ecrjob/out" 2>&1 ||
                fail "job failed: $(tail -5 "$T_TMP/ecrjob/out"; why "$(job_id_of "$T_TMP/ecrjob/out")")"
        grep_q 'CreateRepository", "body": "{\\"repositoryName\\":\\"team/built\\"}".*"outcome": "ok"' <"$SM/requests.jsonl" ||
                fail "build.create_repository sent no CreateRepository"
        id=$(job_id_of "$T_TMP/ecrjob/out")
        state_is "$id" succeeded || fail "$(why "$id")"
        # and it needs build.push
        sed -i '/^  push: /d' "$T_TMP/ecrjob/job.yaml"
        ! hoist submit --dry-run "$T_TMP/ecrjob/job.yaml" >"$T_TMP/ecrjob/bad" 2>&1 || fail "create_repository without push accepted"
        grep_q "build.create_repository.*no 'build.push'" <"$T_TMP/ecrjob/bad" || fail "$(cat "$T_TMP/ecrjob/bad")"
}

# examples/sagemaker-toolkit's train.py, written for SageMaker's toolkit
# (SM_MODEL_DIR, SM_CHANNEL_TRAIN, SM_HP_EPOCHS), run unchanged as
# `podman run IMAGE train`: an image of Debian's python3 (the cached
# debootstrap rootfs of scripts/make-torch-rootfs.sh) with the entrypoint
# bundle and the script; its model ends in model.tar.gz and hoist's storage.
t_toolkit() {
        local d=$T_TMP/tk ref=$PY_IMAGE
        mkdir -p "$d"
        cp -r "$T_ROOT/examples/sagemaker-toolkit/data" "$d/data"
        printf '%s\n' "name: sm-toolkit" "provider: sagemaker" "image: $ref" \
                'command: ["/usr/bin/python3", "/opt/train/train.py"]' "inputs:" "  train: data/" \
                "hyperparameters:" "  epochs: 40" "  lr: 0.05" "limits:" "  max_runtime: 10m" \
                "  stop_grace: 30s" >"$d/job.yaml"
        hoist submit --follow "$d/job.yaml" >"$d/out" 2>&1 ||
                fail "job failed: $(tail -5 "$d/out"; why "$(job_id_of "$d/out")")"
        id=$(job_id_of "$d/out")
        state_is "$id" succeeded || fail "$(why "$id")"
        name=$(name_of "$id")
        hoist results "$id" "$d/res" >/dev/null
        [ -s "$d/res/model/model.json" ] || fail "no model.json in storage: $(find "$d/res" -type f)"
        s3 get-object --bucket hoist --key "jobs/$id/sagemaker/$name/output/model.tar.gz" "$d/model.tar.gz" >/dev/null ||
                fail "no model.tar.gz under S3OutputPath"
        mkdir -p "$d/tgz"
        tar -xzf "$d/model.tar.gz" -C "$d/tgz" || fail "model.tar.gz does not unpack"
        cmp "$d/tgz/model.json" "$d/res/model/model.json" || fail "model.tar.gz's model differs from storage's: $(tar -tzf "$d/model.tar.gz")"
        # SM_HP_EPOCHS reached it (the script's default is 20)
        grep_q '"epochs": 40' <"$d/res/model/model.json" || fail "SM_HP_EPOCHS not read: $(cat "$d/res/model/model.json")"
}

# The multi-node PyTorch example of the Slurm issue (examples/pytorch-ddp)
# on 2 instances: the server runs one container per host on the host
# network, algo-1 and algo-2 resolving to 127.0.0.1; each entrypoint takes
# its rank from resourceconfig.json and starts 2 gloo workers (launcher
# hoist).  The model must equal, tensor by tensor, the one the same 4 ranks
# make when started by hand on this machine (Debian's torch on both sides,
# as test_pytorch_ddp.sh runs them).
DDP_HP=(steps=100 lr=0.01 batch=16 hidden=32 seed=11 checkpoint_every=25 log_every=10 backend=gloo allreduce=per_tensor)

# ddp_reference DIR: 2 x 2 ranks of train.py on this machine, by hand.
ddp_reference() {
        local d=$1 port r kv env=() pids=()
        for kv in "${DDP_HP[@]}"; do
                r=${kv%%=*}
                env+=("HOIST_HP_${r^^}=${kv#*=}")
        done
        port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        mkdir -p "$d"
        for ((r = 0; r < 4; r++)); do
                env "${env[@]}" RANK=$r WORLD_SIZE=4 LOCAL_RANK=$((r % 2)) LOCAL_WORLD_SIZE=2 GROUP_RANK=$((r / 2)) \
                        MASTER_ADDR=127.0.0.1 MASTER_PORT="$port" HOIST_CHECKPOINT_DIR="$d/node$((r / 2))/checkpoints" \
                        HOIST_MODEL_DIR="$d/node$((r / 2))/model" \
                        /usr/bin/python3 "$T_ROOT/examples/pytorch-ddp/train.py" >"$d/rank$r.out" 2>"$d/rank$r.err" &
                pids+=($!)
        done
        for r in "${!pids[@]}"; do
                wait "${pids[r]}" || { tail -n 5 "$d/rank$r.err"; return 1; }
        done
}

same_tensors() {
        /usr/bin/python3 - "$1" "$2" <<'PY'
import sys, torch
a, b = torch.load(sys.argv[1]), torch.load(sys.argv[2])
assert a.keys() == b.keys(), (a.keys(), b.keys())
for k in a:
    assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
    assert torch.equal(a[k], b[k]), "%s differs: max |a-b| = %g" % (k, float((a[k] - b[k]).abs().max()))
PY
}

t_ddp_two_instances() {
        local d=$T_TMP/ddp id name kv n r
        mkdir -p "$d/job"
        cp "$T_ROOT/examples/pytorch-ddp/train.py" "$d/job/"
        {
                printf '%s\n' "name: sm-ddp" "provider: sagemaker" "image: $PY_IMAGE" "code: ." \
                        'command: ["/usr/bin/python3", "train.py"]' "resources: {nodes: 2, cpus: 1, memory: 2GiB}" \
                        "distributed: {launcher: hoist, nproc_per_node: 2, port: $(free_port)}" "sagemaker: {instance_count: 2}" \
                        "limits: {max_runtime: 10m, stop_grace: 30s}" "hyperparameters:"
                for kv in "${DDP_HP[@]}"; do echo "  ${kv%%=*}: ${kv#*=}"; done
        } >"$d/job/job.yaml"
        hoist submit --follow "$d/job/job.yaml" >"$d/out" 2>&1 ||
                fail "job failed: $(tail -5 "$d/out"; why "$(job_id_of "$d/out")")"
        id=$(job_id_of "$d/out")
        state_is "$id" succeeded || fail "$(why "$id")"
        name=$(name_of "$id")
        requests | grep_q "CreateTrainingJob.*\"InstanceCount\\\\\": *2" || fail "InstanceCount 2 was not asked for"
        # a container per host: the server writes each one's log when it ends
        wait_for 60 compgen -G "$SM/sm-$name-algo-1-*.log" >/dev/null || fail "no container ran as algo-1: $(ls "$SM")"
        wait_for 60 compgen -G "$SM/sm-$name-algo-2-*.log" >/dev/null || fail "no container ran as algo-2: $(ls "$SM")"
        # hoist's logs of both nodes, each with its two ranks of the 4
        for n in 0 1; do
                hoist logs --node "$n" "$id" >"$d/node$n.log" 2>&1 || fail "hoist logs --node $n: $(cat "$d/node$n.log")"
                for r in $((2 * n)) $((2 * n + 1)); do
                        grep_q "\"event\": \"joined\", \"rank\": $r, \"local_rank\": $((r % 2)), \"world_size\": 4, .*\"backend\": \"gloo\"" \
                                <"$d/node$n.log" || fail "rank $r did not join on node $n: $(tail -n 20 "$d/node$n.log")"
                done
        done
        # each node's result record in storage
        for n in 0 1; do
                s3 head-object --bucket hoist --key "jobs/$id/results/node$n.json" >/dev/null ||
                        fail "no results/node$n.json in storage: $(s3 list-objects-v2 --bucket hoist --prefix "jobs/$id/results/")"
        done
        hoist results "$id" "$d/res" >/dev/null
        [ -s "$d/res/model/model.pt" ] || fail "no model.pt in storage: $(find "$d/res" -type f)"
        grep_q '"backend": "gloo", "steps": 100, "test_accuracy": [0-9.]*, "world_size": 4}' <"$d/res/model/metrics.json" || fail "metrics: $(cat "$d/res/model/metrics.json")"
        ddp_reference "$d/ref" || fail "the reference run by hand failed"
        same_tensors "$d/ref/node0/model/model.pt" "$d/res/model/model.pt" ||
                fail "the model differs from the same 4 ranks run by hand: $(cat "$d/res/model/metrics.json" "$d/ref/node0/model/metrics.json")"
}

# --dry-run asks no engine: no credentials, no network, no request to
# SageMaker, and it says so; a missing role is still refused.
t_dry_run_offline() {
        write_job "$T_TMP/dry"
        before=$(n_requests)
        (
                unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
                HOIST_SAGEMAKER_ENDPOINT=http://127.0.0.1:9 hoist submit --dry-run "$T_TMP/dry/job.yaml"
        ) >"$T_TMP/dry/out" 2>&1 ||
                fail "dry run without credentials: $(cat "$T_TMP/dry/out")"
        grep_q '"TrainingJobName": "hoist-j-' <"$T_TMP/dry/out" || fail "no body: $(cat "$T_TMP/dry/out")"
        grep_q "engine was not asked (validate() not run" <"$T_TMP/dry/out" || fail "not said: $(cat "$T_TMP/dry/out")"
        [ "$(n_requests)" -eq "$before" ] || fail "a request was sent: $(tail -1 "$SM/requests.jsonl")"
        HOIST_SAGEMAKER_ROLE= hoist submit --dry-run "$T_TMP/dry/job.yaml" >"$T_TMP/dry/out2" 2>&1 && fail "no role accepted by --dry-run"
        grep_q "sagemaker.role" <"$T_TMP/dry/out2" || fail "$(cat "$T_TMP/dry/out2")"
}

t_refusals() {
        write_job "$T_TMP/bad"
        HOIST_SAGEMAKER_ROLE= hoist submit -q "$T_TMP/bad/job.yaml" >"$T_TMP/bad/out" 2>&1 && fail "no role accepted"
        grep_q "sagemaker.role" <"$T_TMP/bad/out" || fail "$(cat "$T_TMP/bad/out")"
        AWS_SECRET_ACCESS_KEY=wrong hoist submit -q "$T_TMP/bad/job.yaml" >"$T_TMP/bad/out2" 2>&1 && fail "a wrong key was accepted"
        grep_q "InvalidSignatureException" <"$T_TMP/bad/out2" || fail "AWS error not shown: $(cat "$T_TMP/bad/out2")"
}

t_setup "podman image, registry standing for ECR, SageMaker contract server" setup
t_run "a job to Completed, its model in S3, every request signed and valid" t_completed
t_run "spot interruption: interrupted, SageMaker's restart followed, resumed, same model" t_spot_interrupted
t_run "golden CreateTrainingJob bodies validate against botocore's model" t_golden_bodies_valid
t_run "a failing job: Failed with its FailureReason" t_failed
t_run "hoist cancel: StopTrainingJob, SIGTERM, Stopped" t_stop
t_run "throttling answered and retried" t_throttled
t_run "secrets absent from every request body" t_secrets_absent
t_run "hoist list --provider sagemaker [--remote]" t_list_remote
t_run "ECR: GetAuthorizationToken for pull and push, CreateRepository on opt-in (flag, job.yaml)" t_ecr
t_run "a toolkit-style script reading SM_* (a python3 image): model in model.tar.gz and storage" t_toolkit
t_run "2 instances (instance_count: 2): examples/pytorch-ddp, 2 x 2 gloo ranks, same model as by hand" t_ddp_two_instances
t_run "--dry-run without credentials or network: the body, validate() not run" t_dry_run_offline
t_run "no role, a wrong key: refused before upload, the AWS error shown" t_refusals
t_finish
