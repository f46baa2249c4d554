#!/usr/bin/env bash
# The embedded default: with no storage in job.yaml and no HOIST_STORAGE,
# `hoist submit` starts (or reuses) the built-in S3 endpoint, `hoist serve`,
# and the job reads and writes it with a key scoped to its own objects.
. "$(dirname "$0")/lib.sh"

QS=$T_ROOT/examples/quickstart
IMAGE=localhost/hoist-it-builtin:$$
job_id_of() { sed -n 's/^submitted job \(j-[0-9a-f]*\)$/\1/p' "$1"; }
serve_pid() { sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$HOIST_HOME/serve/serve.json"; }
serve_endpoint() { sed -n 's/.*"endpoint": *"\([^"]*\)".*/\1/p' "$HOIST_HOME/serve/serve.json"; }

builtin_home() {
        new_home
        unset HOIST_STORAGE
}

t_default_is_builtin_endpoint() {
        builtin_home
        export HOIST_CONTAINER_ENGINE=none
        hoist submit --follow "$QS/job-process.yaml" >"$T_TMP/d.out" 2>&1 || { cat "$T_TMP/d.out"; fail "job failed"; }
        id=$(job_id_of "$T_TMP/d.out")
        [ -s "$HOIST_HOME/serve/serve.json" ] || fail "no hoist serve was started"
        grep -q "outputs in s3://hoist/jobs/$id/output/ at http://127.0.0.1:" "$T_TMP/d.out" ||
                fail "success line: $(tail -1 "$T_TMP/d.out")"
        [ ! -d "$HOIST_HOME/storage/jobs" ] || fail "the job used file storage"
        # The job had a key of its own: still there, or already revoked by
        # hoist serve once the attempt ended (it may be that quick).
        ls "$HOIST_HOME/serve/keys/" | grep_q . ||
                grep -q "job $id: attempt 1 has ended; revoked its storage key" "$HOIST_HOME/serve/serve.log" ||
                fail "no job key was issued: $(ls -la "$HOIST_HOME/serve/keys"; tail -5 "$HOIST_HOME/serve/serve.log")"
        hoist results "$id" "$T_TMP/d-res" >/dev/null
        [ -s "$T_TMP/d-res/model/model.bin" ] || fail "no model"
        hoist logs "$id" | grep_q '"test_accuracy"' || fail "log not in the endpoint"
        # the same job on file storage trains the same model
        pid=$(serve_pid)
        HOIST_STORAGE=file://$HOIST_HOME/storage hoist submit -q "$QS/job-process.yaml" >"$T_TMP/f.id" 2>/dev/null
        f=$(cat "$T_TMP/f.id")
        HOIST_STORAGE=file://$HOIST_HOME/storage hoist logs -f "$f" >/dev/null 2>&1
        cmp "$T_TMP/d-res/model/model.bin" "$HOIST_HOME/storage/jobs/$f/output/model/model.bin" ||
                fail "built-in endpoint and file storage models differ"
        # a second job reuses the running endpoint
        id2=$(hoist submit -q "$QS/job-process.yaml")
        hoist logs -f "$id2" >/dev/null 2>&1 || fail "second job failed"
        [ "$(serve_pid)" = "$pid" ] || fail "a second endpoint was started"
}

t_restarts_a_dead_endpoint() {
        builtin_home
        export HOIST_CONTAINER_ENGINE=none
        id=$(hoist submit -q "$QS/job-process.yaml")
        hoist logs -f "$id" >/dev/null 2>&1 || fail "first job failed"
        old=$(serve_pid)
        kill "$old"
        wait_for 10 sh -c "! kill -0 $old 2>/dev/null || grep -q Z /proc/$old/stat"
        id=$(hoist submit -q "$QS/job-process.yaml")
        hoist logs -f "$id" >/dev/null 2>&1 || fail "job after restart failed"
        [ "$(serve_pid)" != "$old" ] || fail "the endpoint was not restarted"
}

# A running job's key reaches its own prefix and blobs/, nothing else (once
# the job has ended it reaches nothing: test_control_plane.sh).
t_job_key_is_scoped() {
        builtin_home
        export HOIST_CONTAINER_ENGINE=none
        mkdir -p "$T_TMP/k"
        cat >"$T_TMP/k/job.yaml" <<YAML
name: snoop
runtime: process
command: ["sh", "-c", "touch $T_TMP/k/running; while [ ! -e $T_TMP/k/go ]; do sleep 0.1; done"]
YAML
        id=$(hoist submit -q "$T_TMP/k/job.yaml")
        t_defer "touch '$T_TMP/k/go'"
        wait_for 60 test -e "$T_TMP/k/running" || fail "job did not start"
        key=$(ls "$HOIST_HOME/serve/keys/" | sed -n 1p)
        access=${key%.json}
        secret=$(sed -n 's/.*"secret_key": *"\([^"]*\)".*/\1/p' "$HOIST_HOME/serve/keys/$key")
        [ -n "$secret" ] || fail "cannot read the job key"
        st() { AWS_ACCESS_KEY_ID=$access AWS_SECRET_ACCESS_KEY=$secret AWS_ENDPOINT_URL=$(serve_endpoint) \
                AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
                AWS_CONFIG_FILE=/nonexistent "$HOIST_BUILD/tests/storagetool" s3://hoist "$@"; }
        echo x >"$T_TMP/x"
        st put "jobs/$id/mine" "$T_TMP/x" || fail "the job cannot write its own prefix"
        ! st put "jobs/j-someoneelse/x" "$T_TMP/x" 2>"$T_TMP/k.err" || fail "wrote another job's prefix"
        grep -q AccessDenied "$T_TMP/k.err" || fail "$(cat "$T_TMP/k.err")"
        ! st put "blobs/sha256/evil" "$T_TMP/x" 2>/dev/null || fail "wrote blobs/"
        touch "$T_TMP/k/go"
        hoist logs -f "$id" >/dev/null 2>&1 || fail "job failed"
}

t_container_on_builtin_endpoint() {
        builtin_home
        export HOIST_CONTAINER_ENGINE=podman
        "$T_ROOT/tests/peers/podman-image.sh" "$IMAGE" "$HOIST_BUILD/hoist-entrypoint-bundle.tar" \
                "$HOIST_BIN/hoist-quickstart" >/dev/null
        t_defer "podman rmi -f $IMAGE >/dev/null 2>&1"
        mkdir -p "$T_TMP/c"
        cp -r "$QS/data" "$T_TMP/c/data"
        sed -e "s|^image: .*|image: $IMAGE|" "$QS/job.yaml" >"$T_TMP/c/job.yaml"
        hoist submit --follow "$T_TMP/c/job.yaml" >"$T_TMP/c.out" 2>&1 || { cat "$T_TMP/c.out"; fail "job failed"; }
        id=$(job_id_of "$T_TMP/c.out")
        [ "$(job_field "$id" runtime)" = podman ] || fail "not podman"
        hoist results "$id" "$T_TMP/c-res" >/dev/null
        [ -s "$T_TMP/c-res/model/model.bin" ] || fail "no model"
}

t_run "no storage configured: the built-in S3 endpoint, started and reused" t_default_is_builtin_endpoint
t_run "a dead built-in endpoint is started again" t_restarts_a_dead_endpoint
t_run "a job's key reaches only its own prefix" t_job_key_is_scoped
t_run "quickstart under podman on the built-in endpoint" t_container_on_builtin_endpoint
t_finish
