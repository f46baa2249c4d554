#!/usr/bin/env bash
# SageMaker's training contract inside the container (docs/entrypoint.md
# "SageMaker"): hoist-entrypoint started as `hoist-entrypoint train` with a
# /opt/ml tree written as SageMaker writes it (moved with HOIST_SM_ROOT for
# the process runs; mounted at /opt/ml for the podman run), the job on
# file:// storage named by the hyperparameter hoist_job_url.  The trainer is
# examples/sagemaker-toolkit/train.py, a script written for the SageMaker
# training toolkit (it reads SM_MODEL_DIR, SM_CHANNEL_TRAIN, SM_HP_EPOCHS...),
# run unchanged; the same script then runs as a plain local job with no
# /opt/ml at all.
. "$(dirname "$0")/lib.sh"

E=$HOIST_BIN/hoist-entrypoint
[ "${HOIST_VALGRIND:-0}" = 1 ] && E=$T_TMP/vg-hoist-entrypoint
EX=$T_ROOT/examples/sagemaker-toolkit
PY=/usr/bin/python3
STORE=$T_TMP/store
mkdir -p "$STORE"
# make asan-integration points at the normal build's bundle
BUNDLE_TAR=$HOIST_BUILD/hoist-entrypoint-bundle.tar
[ -z "${HOIST_BUNDLE_DIR:-}" ] || BUNDLE_TAR=$HOIST_BUNDLE_DIR/../../../hoist-entrypoint-bundle.tar

# sm_root DIR JOB_ID [HYPERPARAMETERS_JSON_MEMBERS]: a /opt/ml tree in DIR as
# SageMaker leaves it before the container starts: the three config files,
# the channel "train" in input/data, empty model/ and output/.
sm_root() {
        local d=$1 id=$2 hps=${3:-}
        rm -rf "$d"
        mkdir -p "$d/input/config" "$d/input/data/train" "$d/model" "$d/output" "$d/checkpoints"
        cp "$EX/data/train.csv" "$d/input/data/train/"
        cat >"$d/input/config/hyperparameters.json" <<EOF
{"epochs": "12", "lr": "0.05", "hoist_job_url": "file://$T_TMP/$id.json"${hps:+, $hps}}
EOF
        cat >"$d/input/config/inputdataconfig.json" <<'EOF'
{"train": {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}}
EOF
        cat >"$d/input/config/resourceconfig.json" <<'EOF'
{"current_host": "algo-1", "hosts": ["algo-2", "algo-1"], "network_interface_name": "eth0"}
EOF
}

# write_job ID COMMAND_JSON [EXTRA_MEMBERS]: job.json for ID beside the tree.
write_job() {
        local id=$1 command=$2 extra=${3:-}
        cat >"$T_TMP/$id.json" <<EOF
{
  "version": "hoist/v1",
  "id": "$id",
  "command": $command,
  "hyperparameters": {"epochs": "12", "lr": "0.05"},
  ${extra:+$extra,}
  "storage": {"endpoint": "file://$STORE", "prefix": ""},
  "attempt": ${ATTEMPT:-1}
}
EOF
}

# run_sm ROOT [ENV...]: the entrypoint as SageMaker starts it (`train`), its
# root moved to ROOT; stdout and stderr in $T_TMP/run.log.
run_sm() {
        local root=$1
        shift
        env HOIST_SM_ROOT="$root" HOIST_WORKDIR="$root.work" "$@" "$E" train >"$T_TMP/run.log" 2>&1
}

TRAIN="[\"$PY\", \"$EX/train.py\"]"

t_toolkit_script() {
        local ml=$T_TMP/ml-ok
        sm_root "$ml" sm-ok
        # a channel hoist stages itself appears in SageMaker's place too
        mkdir -p "$STORE/blobs"
        printf 'x,y\n1,2\n' >"$STORE/blobs/val.csv"
        write_job sm-ok "$TRAIN" "\"inputs\": [{\"channel\": \"val\", \"source\": \"file://$STORE/blobs/val.csv\", \"filename\": \"val.csv\", \"mode\": \"file\"}]"
        run_sm "$ml" || { cat "$T_TMP/run.log"; fail "the job failed"; }
        # the model in SageMaker's model dir and in hoist's storage, the same
        [ -s "$ml/model/model.json" ] || fail "no model in <root>/model"
        cmp "$ml/model/model.json" "$STORE/jobs/sm-ok/output/model/model.json" || fail "stored model differs"
        [ "$(jq -r .status "$STORE/jobs/sm-ok/result.json")" = succeeded ] || fail "result not succeeded"
        # what the script read: SageMaker's channel, its hosts sorted, the
        # hyperparameters without hoist's own
        local run=$ml/output/data/run.json
        [ "$(jq -c .hosts "$run")" = '["algo-1","algo-2"]' ] || fail "hosts: $(jq -c .hosts "$run")"
        [ "$(jq -r .current_host "$run")" = algo-1 ] || fail "current host"
        [ "$(jq -c .hps "$run")" = '{"epochs":12,"lr":0.05}' ] || fail "hps: $(jq -c .hps "$run")"
        [ "$(jq -c .channels "$run")" = '["train","val"]' ] || fail "channels: $(jq -c .channels "$run")"
        cmp "$STORE/jobs/sm-ok/output/artifacts/run.json" "$run" || fail "output data not stored"
        [ "$(readlink "$ml/input/data/val")" = "$(realpath "$ml.work")/input/val" ] ||
                fail "hoist's channel not linked at <root>/input/data/val"
        [ ! -e "$ml/output/failure" ] || fail "failure file after success"
}

# The variables themselves, read by a shell as a toolkit script would.
t_sm_variables() {
        local ml=$T_TMP/ml-env
        sm_root "$ml" sm-env '"batch-size": "64", "hoist_secrets_key": "jobs/sm-env/secrets.json"'
        mkdir -p "$STORE/jobs/sm-env"
        echo '{"EXAMPLE_TOKEN": "tok-4d1c9e"}' >"$STORE/jobs/sm-env/secrets.json"
        # (the environment as exec'ed: a shell drops SM_HP_BATCH-SIZE, not a name it allows)
        write_job sm-env '["sh", "-c", "tr \"\\\\0\" \"\\\\n\" </proc/$$/environ | grep -E \"^(SM_|HOIST_HP)\" | sort >\"$SM_OUTPUT_DATA_DIR/env.txt\"; echo token $EXAMPLE_TOKEN"]' \
                '"secrets": [{"name": "EXAMPLE_TOKEN"}]'
        run_sm "$ml" || { cat "$T_TMP/run.log"; fail "the job failed"; }
        local env=$ml/output/data/env.txt
        grep -qx "SM_MODEL_DIR=$ml/model" "$env" || fail "SM_MODEL_DIR"
        grep -qx "SM_CHANNEL_TRAIN=$ml/input/data/train" "$env" || fail "SM_CHANNEL_TRAIN"
        grep -qx 'SM_CHANNELS=\["train"\]' "$env" || fail "SM_CHANNELS"
        grep -qx "SM_HP_EPOCHS=12" "$env" && grep -qx "SM_HP_BATCH-SIZE=64" "$env" || fail "SM_HP_*"
        # hyperparameters.json wins over job.json's (a tuning job sets them there)
        grep -qx "HOIST_HP_BATCH_SIZE=64" "$env" && grep -qx "HOIST_HP_EPOCHS=12" "$env" || fail "HOIST_HP_*"
        grep -qx 'SM_HPS={"batch-size":64,"epochs":12,"lr":0.05}' "$env" || fail "SM_HPS"
        ! grep -qi "hoist_job_url\|hoist_secrets_key\|SM_HP_HOIST" "$env" || fail "hoist's hyperparameters passed on"
        grep -qx "SM_CURRENT_HOST=algo-1" "$env" && grep -qx 'SM_HOSTS=\["algo-1","algo-2"\]' "$env" || fail "hosts"
        grep -qx "SM_NETWORK_INTERFACE_NAME=eth0" "$env" || fail "interface"
        grep -qx "SM_INPUT_DIR=$ml/input" "$env" && grep -qx "SM_INPUT_CONFIG_DIR=$ml/input/config" "$env" || fail "input dirs"
        grep -qx "SM_OUTPUT_DATA_DIR=$ml/output/data" "$env" || fail "SM_OUTPUT_DATA_DIR"
        grep -q '^SM_RESOURCE_CONFIG={"current_host":"algo-1"' "$env" || fail "SM_RESOURCE_CONFIG"
        grep -q '^SM_INPUT_DATA_CONFIG={"train":{"RecordWrapperType":"None"' "$env" || fail "SM_INPUT_DATA_CONFIG"
        grep -q '^SM_TRAINING_ENV={.*"hyperparameters":{"batch-size":64,"epochs":12,"lr":0.05}' "$env" || fail "SM_TRAINING_ENV"
        grep -qx "SM_NUM_CPUS=$(nproc)" "$env" || fail "SM_NUM_CPUS"
        grep -q "^SM_NUM_GPUS=[0-9]" "$env" || fail "SM_NUM_GPUS"
        # the secret arrived from the storage object, redacted in the log,
        # and the object is gone once the job ended
        grep -q "token \[secret EXAMPLE_TOKEN\]" "$STORE/jobs/sm-env/logs/"*.log || fail "secret not redacted in the job log"
        ! grep -rq "tok-4d1c9e" "$STORE/jobs/sm-env" "$T_TMP/run.log" || fail "the secret's value leaked"
        [ ! -e "$STORE/jobs/sm-env/secrets.json" ] || fail "the secrets object was not deleted"
}

t_failure_file() {
        local ml=$T_TMP/ml-fail
        sm_root "$ml" sm-fail '"fail_at_epoch": "3"'
        write_job sm-fail "$TRAIN"
        local rc=0
        run_sm "$ml" || rc=$?
        [ "$rc" = 2 ] || fail "exit code $rc, not the script's 2"
        grep -q "loss diverged at epoch 3" "$ml/output/failure" || fail "failure: $(cat "$ml/output/failure" 2>&1)"
        [ "$(jq -r .status "$STORE/jobs/sm-fail/result.json")" = failed ] || fail "result not failed"
        # a failure file the trainer wrote itself is kept
        sm_root "$ml" sm-fail '"fail_at_epoch": "3"'
        echo "the trainer's own words" >"$ml/output/failure"
        run_sm "$ml" || true
        [ "$(cat "$ml/output/failure")" = "the trainer's own words" ] || fail "the trainer's failure file was replaced"
        # a config SageMaker never writes: an error naming the file, in the failure file
        sm_root "$ml" sm-fail
        echo '{"epochs": 12}' >"$ml/input/config/hyperparameters.json"
        rc=0
        run_sm "$ml" || rc=$?
        [ "$rc" = 125 ] || fail "bad hyperparameters.json: exit $rc"
        grep -q "hyperparameters.json.*hyperparameter 'epochs' is not a string" "$ml/output/failure" ||
                fail "failure: $(cat "$ml/output/failure")"
}

# Without CheckpointConfig hoist restores <root>/checkpoints from the job's
# storage: an attempt stopped by SIGTERM mid-training, then a new container
# (an empty /opt/ml) for the next attempt, ends with the model of a run
# that was never stopped.
t_checkpoints_hoist() {
        local ml=$T_TMP/ml-ck pid key='"hoist_secrets_key": "jobs/sm-ck/secrets.json"'
        sm_root "$ml" sm-ck "\"epoch_sleep\": \"0.2\", $key"
        mkdir -p "$STORE/jobs/sm-ck"
        echo '{"EXAMPLE_TOKEN": "tok-ck"}' >"$STORE/jobs/sm-ck/secrets.json"
        write_job sm-ck "$TRAIN" '"limits": {"stop_grace_s": 30}'
        env HOIST_SM_ROOT="$ml" HOIST_WORKDIR="$ml.work" "$E" train >"$T_TMP/ck1.log" 2>&1 &
        pid=$!
        t_defer "kill -KILL $pid 2>/dev/null"
        wait_for 60 grep -q '"epoch": 4' "$T_TMP/ck1.log" || fail "no epoch 4"
        kill -TERM "$pid"
        wait "$pid" || true
        [ "$(jq -r .status "$STORE/jobs/sm-ck/result.json")" = interrupted ] || fail "not interrupted"
        # a spot restart reads the secrets again: an interrupted attempt keeps them
        [ -s "$STORE/jobs/sm-ck/secrets.json" ] || fail "secrets object deleted after an interruption"
        sm_root "$ml" sm-ck "$key"
        ATTEMPT=2 write_job sm-ck "$TRAIN"
        run_sm "$ml" || { cat "$T_TMP/run.log"; fail "attempt 2 failed"; }
        local resumed
        resumed=$(sed -n 's/^resumed from epoch \([0-9]*\)$/\1/p' "$T_TMP/run.log")
        [ -n "$resumed" ] && [ "$resumed" -ge 4 ] && [ "$resumed" -lt 12 ] ||
                fail "resumed from epoch '$resumed', not from the interrupted attempt's (at least 4)"
        [ "$(jq -r .epoch "$ml/checkpoints/state.json")" = 12 ] || fail "checkpoint not in <root>/checkpoints"
        [ ! -e "$STORE/jobs/sm-ck/secrets.json" ] || fail "secrets object kept after the job ended"
        # the uninterrupted run
        sm_root "$T_TMP/ml-ref" sm-ref
        write_job sm-ref "$TRAIN"
        run_sm "$T_TMP/ml-ref" || fail "reference run failed"
        cmp "$ml/model/model.json" "$T_TMP/ml-ref/model/model.json" || fail "resumed model differs"
}

# With CheckpointConfig SageMaker restores LocalPath before the container
# starts and uploads it as it changes: hoist reads what is there and
# writes nothing of its own to the job's checkpoint prefix.
t_checkpoints_sagemaker() {
        local ml=$T_TMP/ml-cc
        sm_root "$ml" sm-cc
        echo '{"LocalPath": "/opt/ml/checkpoints", "S3Uri": "s3://bucket/jobs/sm-cc/checkpoints"}' \
                >"$ml/input/config/checkpointconfig.json"
        # what SageMaker restored: the state after epoch 5 of the same run
        sm_root "$T_TMP/ml-five" sm-five
        write_job sm-five "$TRAIN"
        sed -i 's/"epochs": "12"/"epochs": "5"/' "$T_TMP/ml-five/input/config/hyperparameters.json"
        run_sm "$T_TMP/ml-five" || fail "5-epoch run failed"
        cp "$T_TMP/ml-five/checkpoints/state.json" "$ml/checkpoints/state.json"
        write_job sm-cc "$TRAIN"
        run_sm "$ml" || { cat "$T_TMP/run.log"; fail "the job failed"; }
        grep -q "resumed from epoch 5" "$T_TMP/run.log" || fail "did not resume from SageMaker's checkpoint"
        grep -q "SageMaker's CheckpointConfig keeps $ml/checkpoints" "$T_TMP/run.log" || fail "no word on who keeps checkpoints"
        [ ! -e "$STORE/jobs/sm-cc/checkpoints" ] || fail "hoist wrote to the checkpoint prefix beside SageMaker"
        sm_root "$T_TMP/ml-ref2" sm-ref2
        write_job sm-ref2 "$TRAIN"
        run_sm "$T_TMP/ml-ref2" || fail "reference run failed"
        cmp "$ml/model/model.json" "$T_TMP/ml-ref2/model/model.json" || fail "resumed model differs"
}

# Two instances of one training job (instance_count 2), each with its own
# /opt/ml: resourceconfig.json places them, the rank being current_host's
# place in the sorted hosts whatever the file's order.
t_two_instances() {
        local a=$T_TMP/ml-two-a b=$T_TMP/ml-two-b pa pb
        write_job sm-two '["sh", "-c", "echo \"$NODE_RANK $NNODES $MASTER_ADDR $SM_CURRENT_HOST $SM_HOSTS $NCCL_SOCKET_IFNAME\" >\"$SM_OUTPUT_DATA_DIR/place.txt\""]' \
                '"distributed": {"nodes": 2}'
        sm_root "$a" sm-two
        sm_root "$b" sm-two
        echo '{"current_host": "localhost", "hosts": ["localhost", "127.0.0.1"], "network_interface_name": "lo"}' \
                >"$a/input/config/resourceconfig.json"
        echo '{"current_host": "127.0.0.1", "hosts": ["localhost", "127.0.0.1"], "network_interface_name": "lo"}' \
                >"$b/input/config/resourceconfig.json"
        env HOIST_SM_ROOT="$a" HOIST_WORKDIR="$a.work" "$E" train >"$T_TMP/two-a.log" 2>&1 &
        pa=$!
        env HOIST_SM_ROOT="$b" HOIST_WORKDIR="$b.work" "$E" train >"$T_TMP/two-b.log" 2>&1 &
        pb=$!
        wait "$pa" || { cat "$T_TMP/two-a.log"; fail "instance a failed"; }
        wait "$pb" || { cat "$T_TMP/two-b.log"; fail "instance b failed"; }
        [ "$(cat "$a/output/data/place.txt")" = '1 2 127.0.0.1 localhost ["127.0.0.1","localhost"] lo' ] ||
                fail "a: $(cat "$a/output/data/place.txt")"
        [ "$(cat "$b/output/data/place.txt")" = '0 2 127.0.0.1 127.0.0.1 ["127.0.0.1","localhost"] lo' ] ||
                fail "b: $(cat "$b/output/data/place.txt")"
        # rank 0 writes the job's result; each node its own
        [ "$(jq -r .node "$STORE/jobs/sm-two/result.json")" = node0 ] || fail "the job's result is not rank 0's"
        [ -s "$STORE/jobs/sm-two/results/node1.json" ] || fail "no result of node1"
}

# The same script as a plain local job: no /opt/ml, the SM_* variables
# point at hoist's own directories and job.yaml's hyperparameters.
t_plain_local_job() {
        new_home
        hoist submit --follow "$EX/job.yaml" >"$T_TMP/local.out" 2>&1 || { cat "$T_TMP/local.out"; fail "submit failed"; }
        local id
        id=$(job_id_of "$T_TMP/local.out")
        [ "$(job_field "$id" state)" = succeeded ] || fail "not succeeded"
        local out=$HOIST_HOME/storage/jobs/$id/output
        [ "$(jq -r .epochs "$out/model/model.json")" = 40 ] || fail "SM_HP_EPOCHS not job.yaml's 40"
        [ "$(jq -c .hps "$out/artifacts/run.json")" = '{"epochs":40,"lr":0.05}' ] || fail "hps: $(cat "$out/artifacts/run.json")"
        [ "$(jq -c .channels "$out/artifacts/run.json")" = '["train"]' ] || fail "channels"
        grep -q "model: w=2.98" "$T_TMP/local.out" || fail "the script did not train"
}

t_podman() {
        local ml=$T_TMP/ml-pod image=localhost/hoist-it-sagemaker:$$
        command -v podman >/dev/null || fail "podman is not installed (scripts/deps.sh installs it)"
        "$T_ROOT/tests/peers/podman-image.sh" "$image" "$BUNDLE_TAR" \
                "$HOIST_BIN/hoist-quickstart" >/dev/null || fail "build the test image"
        t_defer "podman rmi -f $image >/dev/null 2>&1"
        sm_root "$ml" sm-pod
        sed -i "s|file://$T_TMP/sm-pod.json|file:///job/sm-pod.json|" "$ml/input/config/hyperparameters.json"
        mkdir -p "$T_TMP/job"
        write_job sm-pod '["/usr/bin/python3", "/code/train.py"]'
        mv "$T_TMP/sm-pod.json" "$T_TMP/job/"
        # The image is busybox and the bundle; the host's python3 is lent
        # read-only for the script (the image has no libc of its own).
        podman run --rm --network=none -v "$ml:/opt/ml" -v "$T_TMP/job:/job:ro" -v "$STORE:$STORE" \
                -v "$EX:/code:ro" -v /usr:/usr:ro -v /usr/lib:/lib:ro -v /usr/lib64:/lib64:ro \
                "$image" train >"$T_TMP/pod.log" 2>&1 || { cat "$T_TMP/pod.log"; fail "podman run failed"; }
        cmp "$ml/model/model.json" "$STORE/jobs/sm-pod/output/model/model.json" || fail "model not in both places"
        [ "$(jq -c .hosts "$ml/output/data/run.json")" = '["algo-1","algo-2"]' ] || fail "hosts"
        [ "$(jq -r .status "$STORE/jobs/sm-pod/result.json")" = succeeded ] || fail "not succeeded"
        sm_root "$T_TMP/ml-ref3" sm-ref3
        write_job sm-ref3 "$TRAIN"
        run_sm "$T_TMP/ml-ref3" || fail "reference run failed"
        cmp "$ml/model/model.json" "$T_TMP/ml-ref3/model/model.json" || fail "container and process models differ"
}

t_run "a toolkit script on SageMaker: model in <root>/model and storage, channels, hosts, hyperparameters" t_toolkit_script
t_run "SM_* variables in the toolkit's formats; secrets from hoist_secrets_key, redacted, deleted" t_sm_variables
t_run "failure reason in <root>/output/failure, only if absent; a bad config named there" t_failure_file
t_run "no CheckpointConfig: hoist restores <root>/checkpoints after an interruption; the secrets object outlives it" t_checkpoints_hoist
t_run "CheckpointConfig: SageMaker's restored checkpoints used, hoist stays out of the prefix" t_checkpoints_sagemaker
t_run "two instances: rank from current_host in the sorted hosts, NCCL_SOCKET_IFNAME" t_two_instances
t_run "the same script as a plain local job (no /opt/ml) sees SM_* variables" t_plain_local_job
t_run "podman: IMAGE train with /opt/ml mounted" t_podman
t_finish
