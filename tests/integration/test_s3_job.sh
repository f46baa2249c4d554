#!/usr/bin/env bash
# The job path on S3 (Ceph radosgw as an independent S3 server): `storage:
# s3://bucket/prefix` in job.yaml puts inputs, job.json, checkpoints, logs,
# outputs and the result record in S3; the entrypoint reads and writes them
# with the credentials the runner passes beside job.json, never inside it
# and never to the training command.
. "$(dirname "$0")/lib.sh"

QS=$T_ROOT/examples/quickstart
RGW=$T_TMP/rgw
BUCKET=hoist-jobs
IMAGE=localhost/hoist-it-s3job:$$
st() { "$HOIST_BUILD/tests/storagetool" "s3://$BUCKET/team/a" "$@"; }
job_id_of() { sed -n 's/^submitted job \(j-[0-9a-f]*\)$/\1/p' "$1"; }

setup() {
        [ -x "$HOIST_BUILD/tests/s3tool" ] && [ -x "$HOIST_BUILD/tests/storagetool" ] ||
                { echo "run 'make integration' first"; return 1; }
        start_rgw "$RGW" || return 1
        "$HOIST_BUILD/tests/s3tool" mb "$BUCKET"
}

write_job() { # DIR NAME RUNTIME STEPS [SLEEP-MS]
        mkdir -p "$1"
        cp -r "$QS/data" "$1/data"
        local cmd='["hoist-quickstart", "train"]' image=""
        if [ "$3" = container ]; then
                cmd='["/usr/local/bin/hoist-quickstart", "train"]'
                image="image: $IMAGE"
        fi
        cat >"$1/job.yaml" <<YAML
name: $2
runtime: $3
$image
command: $cmd
storage: s3://$BUCKET/team/a
inputs:
  train: data/
hyperparameters:
  steps: $4
  seed: 7
  checkpoint_every: 100
  sleep_ms: ${5:-0}
limits:
  stop_grace: 10s
YAML
}

t_process_job_on_s3() {
        new_home
        export HOIST_CONTAINER_ENGINE=none
        write_job "$T_TMP/p" s3-process process 1500
        hoist submit --follow "$T_TMP/p/job.yaml" >"$T_TMP/p.out" 2>&1 || { cat "$T_TMP/p.out"; fail "job failed"; }
        id=$(job_id_of "$T_TMP/p.out")
        grep -q "s3://$BUCKET/team/a/jobs/$id/output/" "$T_TMP/p.out" || fail "success line does not name the S3 outputs"
        st ls "jobs/$id/" >"$T_TMP/keys"
        for k in job.json result.json logs/main.log output/model/model.bin; do
                grep -qx "jobs/$id/$k" "$T_TMP/keys" || fail "no $k in S3: $(cat "$T_TMP/keys")"
        done
        grep -q "jobs/$id/checkpoints/ckpt-" "$T_TMP/keys" || fail "no checkpoints in S3"
        [ ! -d "$HOIST_HOME/storage/jobs" ] || fail "something went to local storage"
        hoist logs "$id" | grep_q '"test_accuracy"' || fail "hoist logs lacks the training output"
        hoist results "$id" "$T_TMP/p-res" >/dev/null
        # the same job on file storage trains the same model
        sed -i '/^storage:/d' "$T_TMP/p/job.yaml"
        f=$(hoist submit -q "$T_TMP/p/job.yaml")
        hoist logs -f "$f" >/dev/null 2>&1 || fail "file-storage run failed"
        cmp "$T_TMP/p-res/model/model.bin" "$HOIST_HOME/storage/jobs/$f/output/model/model.bin" ||
                fail "S3 and file storage models differ"
}

t_unchanged_inputs_on_s3() {
        new_home
        export HOIST_CONTAINER_ENGINE=none
        write_job "$T_TMP/u" s3-unchanged process 10
        hoist submit "$T_TMP/u/job.yaml" >/dev/null 2>"$T_TMP/u1.err"
        hoist submit "$T_TMP/u/job.yaml" >/dev/null 2>"$T_TMP/u2.err"
        grep -q "0 uploaded (0 B), 1 unchanged" "$T_TMP/u2.err" || { cat "$T_TMP/u2.err"; fail "re-uploaded"; }
}

t_secrets_never_reach_the_command() {
        new_home
        export HOIST_CONTAINER_ENGINE=none
        # Keys only in a credentials file: a process job inherits the user's
        # environment, so the one way for them to reach it is HOIST_S3_*.
        secret=$AWS_SECRET_ACCESS_KEY
        printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
                "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$T_TMP/credentials"
        export AWS_SHARED_CREDENTIALS_FILE=$T_TMP/credentials
        unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
        mkdir -p "$T_TMP/s"
        printf 'name: env\nruntime: process\ncommand: ["sh", "-c", "env; echo done"]\nstorage: s3://%s/team/a\n' \
                "$BUCKET" >"$T_TMP/s/job.yaml"
        id=$(hoist submit -q "$T_TMP/s/job.yaml")
        hoist logs -f "$id" >"$T_TMP/s.log" 2>&1 || fail "job failed"
        grep -q "^done" "$T_TMP/s.log" || fail "no output"
        ! grep -q "HOIST_S3_" "$T_TMP/s.log" || fail "HOIST_S3_* reached the command"
        # Set only while the entrypoint loads libcurl (entrypoint/lazy/curl.c).
        ! grep -q "GNUTLS_NO_IMPLICIT_INIT" "$T_TMP/s.log" || fail "GNUTLS_NO_IMPLICIT_INIT reached the command"
        ! grep -q "$secret" "$T_TMP/s.log" "$HOIST_HOME/run/$id/console.log" ||
                fail "the secret reached the command or the log"
        ! grep -rq "$secret" "$HOIST_HOME/hoist.db" || fail "the secret is in the job store"
        ! st cat "jobs/$id/job.json" | grep_q "$secret" || fail "the secret is in job.json"
}

t_container_job_on_s3() {
        new_home
        export HOIST_CONTAINER_ENGINE=podman
        write_job "$T_TMP/c" s3-container container 1500
        hoist submit --follow "$T_TMP/c/job.yaml" >"$T_TMP/c.out" 2>&1 || { cat "$T_TMP/c.out"; fail "job failed"; }
        id=$(job_id_of "$T_TMP/c.out")
        [ "$(job_field "$id" runtime)" = podman ] || fail "not podman"
        st exists "jobs/$id/output/model/model.bin" | grep_q -v absent || fail "no model in S3"
        [ ! -e "$HOIST_HOME/run/$id/secrets.env" ] || fail "the env file was left behind"
}

t_resume_on_s3() {
        new_home
        export HOIST_CONTAINER_ENGINE=none
        write_job "$T_TMP/full" s3-full process 2000
        full=$(hoist submit -q "$T_TMP/full/job.yaml")
        hoist logs -f "$full" >/dev/null 2>&1 || fail "uninterrupted run failed"
        write_job "$T_TMP/r" s3-resume process 2000 2
        id=$(hoist submit -q "$T_TMP/r/job.yaml")
        wait_for 60 grep -q '"step": 500' "$HOIST_HOME/run/$id/console.log"
        hoist cancel "$id" >/dev/null # SIGTERM: final checkpoint, uploaded to S3
        st ls "jobs/$id/checkpoints/" | grep_q ckpt- || fail "no checkpoint reached S3"
        hoist submit --resume "$id" --follow >"$T_TMP/r.out" 2>&1 || { cat "$T_TMP/r.out"; fail "resume failed"; }
        grep -q '"resumed"' "$T_TMP/r.out" || fail "did not resume from the S3 checkpoint"
        st get "jobs/$full/output/model/model.bin" "$T_TMP/full.bin"
        st get "jobs/$id/output/model/model.bin" "$T_TMP/resumed.bin"
        cmp "$T_TMP/full.bin" "$T_TMP/resumed.bin" || fail "resumed model differs"
}

# Keys that S3 holds but hoist refuses ("..", an empty segment), put there
# by hand: hoist results names each, fetches every other output, exits 1.
t_results_skip_odd_keys_on_s3() {
        new_home
        export HOIST_CONTAINER_ENGINE=none
        mkdir -p "$T_TMP/o"
        printf 'name: odd\nruntime: process\ncommand: ["sh", "-c", "echo m >$HOIST_MODEL_DIR/m.bin; echo a >$HOIST_OUTPUT_DIR/a.txt"]\nstorage: s3://%s/team/a\n' \
                "$BUCKET" >"$T_TMP/o/job.yaml"
        id=$(hoist submit -q "$T_TMP/o/job.yaml")
        hoist logs -f "$id" >/dev/null 2>&1 || fail "job failed"
        echo evil >"$T_TMP/o/evil"
        for k in artifacts/../evil artifacts/x//y; do
                code=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
                        --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
                        -T "$T_TMP/o/evil" "$AWS_ENDPOINT_URL/$BUCKET/team/a/jobs/$id/output/$k")
                [ "$code" = 200 ] || fail "PUT $k: HTTP $code"
        done
        set +e
        hoist results "$id" "$T_TMP/o/res" >"$T_TMP/o.out" 2>"$T_TMP/o.err"
        rc=$?
        set -e
        cat "$T_TMP/o.out" "$T_TMP/o.err" >&2
        [ $rc = 1 ] || fail "exit $rc, not 1"
        for k in artifacts/../evil artifacts/x//y; do
                grep -qF "warning: output 'jobs/$id/output/$k' is not a key hoist accepts" "$T_TMP/o.err" ||
                        fail "no warning naming $k"
        done
        grep -q "2 of the 4 outputs of job $id were not fetched" "$T_TMP/o.err" || fail "no closing error"
        [ "$(cat "$T_TMP/o/res/model/m.bin")" = m ] || fail "model not fetched"
        [ "$(cat "$T_TMP/o/res/artifacts/a.txt")" = a ] || fail "artifact not fetched"
        [ "$(find "$T_TMP/o/res" -type f | wc -l)" = 2 ] || fail "unexpected files: $(find "$T_TMP/o/res")"
        [ ! -e "$T_TMP/o/res/evil" ] || fail "the '..' key was written"
}

if ! setup >"$T_TMP/setup.log" 2>&1; then
        echo "not ok - setup: start radosgw"
        sed 's/^/    # /' "$T_TMP/setup.log" | tail -30
        T_FAILED=$((T_FAILED + 1))
        t_finish
        exit 1
fi
"$T_ROOT/tests/peers/podman-image.sh" "$IMAGE" "$HOIST_BUILD/hoist-entrypoint-bundle.tar" \
        "$HOIST_BIN/hoist-quickstart" >/dev/null 2>&1 && t_defer "podman rmi -f $IMAGE >/dev/null 2>&1"
t_run "quickstart as a process on S3: every artifact in S3, same model as file storage" t_process_job_on_s3
t_run "unchanged inputs upload 0 bytes to S3" t_unchanged_inputs_on_s3
t_run "S3 credentials never reach the command, the log or the store" t_secrets_never_reach_the_command
t_run "quickstart under podman on S3 (loopback endpoint, env file)" t_container_job_on_s3
t_run "cancel, then resume from checkpoints in S3: same model" t_resume_on_s3
t_run "results on S3: keys with '..' or '//' are skipped and named, the rest fetched, exit 1" t_results_skip_odd_keys_on_s3
t_finish
