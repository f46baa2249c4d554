#!/usr/bin/env bash
# Cog's HTTP contract inside the container (docs/cog.md): hoist-entrypoint
# started as `hoist-entrypoint cog` with no job serves Cog's API, driven here
# by curl and python3-requests as Cog's clients drive it: every route, a
# synchronous and an asynchronous training with Cog's webhooks (a small
# receiver, tests/peers/cog_receiver.py), cancel mid-training with the final
# checkpoint stored, idempotent PUT, the health states, webhook throttling,
# a job on the built-in S3 endpoint (hoist serve), and the same image in a
# podman container built from the bundle.  Jobs are on file:// storage
# unless said otherwise.
. "$(dirname "$0")/lib.sh"

E=$HOIST_BIN/hoist-entrypoint
[ "${HOIST_VALGRIND:-0}" = 1 ] && E=$T_TMP/vg-hoist-entrypoint
PY=/usr/bin/python3
STORE=$T_TMP/store
BUNDLE_TAR=$HOIST_BUILD/hoist-entrypoint-bundle.tar
[ -z "${HOIST_BUNDLE_DIR:-}" ] || BUNDLE_TAR=$HOIST_BUNDLE_DIR/../../../hoist-entrypoint-bundle.tar
mkdir -p "$STORE" "$T_TMP/files"


# write_job ID COMMAND_JSON [EXTRA_MEMBERS]: $STORE/jobs/ID/job.json.
write_job() {
        local id=$1 command=$2 extra=${3:-}
        mkdir -p "$STORE/jobs/$id"
        cat >"$STORE/jobs/$id/job.json" <<JSON
{
  "version": "hoist/v1", "id": "$id", "command": $command,
  "hyperparameters": {"epochs": "3", "lr": "0.5"},
  ${extra:+$extra,}
  "workdir": "$T_TMP/work-$id",
  "storage": {"endpoint": "file://$STORE", "prefix": ""},
  "limits": {"stop_grace_s": 20}
}
JSON
}
job_url() { echo "file://$STORE/jobs/$1/job.json"; }

# start_cog NAME [ENV...]: the Cog server, its log in $T_TMP/NAME.log; sets
# COG (its URL) and COG_PID; stopped when the test (or the suite) ends.
start_cog() {
        local name=$1 port
        shift
        port=$(free_port)
        env PORT="$port" "$@" "$E" cog >"$T_TMP/$name.log" 2>&1 &
        COG_PID=$!
        COG=http://127.0.0.1:$port
        t_defer "kill -TERM $COG_PID 2>/dev/null; wait $COG_PID 2>/dev/null"
        wait_for 20 curl -sf "$COG/health-check" || { cat "$T_TMP/$name.log"; return 1; }
}
health() { curl -s "$COG/health-check" | jq -r .status; }
health_is() { [ "$(health)" = "$1" ]; }

# The webhook receiver and file server.
RECV_LOG=$T_TMP/hooks.jsonl
: >"$RECV_LOG"
"$PY" "$T_ROOT/tests/peers/cog_receiver.py" "$T_TMP/recv.port" "$RECV_LOG" "$T_TMP/files" \
        >"$T_TMP/recv.out" 2>&1 &
RECV_PID=$!
T_CLEANUPS+=("kill $RECV_PID 2>/dev/null")
wait_for 20 test -s "$T_TMP/recv.port" || { cat "$T_TMP/recv.out"; exit 1; }
RECV=http://127.0.0.1:$(cat "$T_TMP/recv.port")
# (a line still being written is skipped, not an error)
hooks_of() { jq -c -R --arg p "/$1" 'fromjson? | select(.path == $p)' "$RECV_LOG"; }
# (jq -e is 0 on empty input: test the output instead)
completed_for() { [ -n "$(hooks_of "$1" | jq -c 'select(.event == "completed")')" ]; }

# One server for the tests that need no special start.
start_cog main || exit 1
MAIN=$COG

t_routes() {
        local COG=$MAIN
        curl -sf "$COG/" | jq -e '.trainings_url == "/trainings" and .trainings_cancel_url ==
                "/trainings/{training_id}/cancel" and .trainings_idempotent_url ==
                "/trainings/{training_id}" and .healthcheck_url == "/health-check" and
                .openapi_url == "/openapi.json" and .shutdown_url == "/shutdown" and
                .predictions_url == "/predictions"' >/dev/null || fail "links document: $(curl -s "$COG/")"
        [ "$(health)" = READY ] || fail "health: $(curl -s "$COG/health-check")"
        curl -sf "$COG/openapi.json" >"$T_TMP/openapi.json" || fail "no /openapi.json"
        # The OpenAPI Initiative's schema for 3.0 documents (tests/data/openapi)
        "$PY" -c 'import json, sys, jsonschema
jsonschema.Draft4Validator(json.load(open(sys.argv[1]))).validate(json.load(open(sys.argv[2])))' \
                "$T_ROOT/tests/data/openapi/oas-3.0-schema.json" "$T_TMP/openapi.json" ||
                fail "/openapi.json is not valid OpenAPI 3"
        jq -e '.components.schemas.TrainingInput.properties.hoist_env["x-cog-secret"] == true and
               .components.schemas.TrainingInput.required == ["hoist_job_url"]' "$T_TMP/openapi.json" \
                >/dev/null || fail "TrainingInput"
        curl -sf "$COG/docs" | grep_q openapi.json || fail "/docs"
        # a training-only model: predictions are a clear 404
        for p in /predictions /predictions/p1 /predictions/p1/cancel; do
                [ "$(curl -s -o "$T_TMP/p.json" -w '%{http_code}' -X POST "$COG$p" -d '{}')" = 404 ] || fail "$p not 404"
                jq -r .detail "$T_TMP/p.json" | grep_q "training-only" || fail "$p: $(cat "$T_TMP/p.json")"
        done
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$COG/nope")" = 404 ] || fail "unknown path"
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$COG/trainings")" = 405 ] || fail "GET /trainings"
        # Cog's 422: FastAPI's detail list naming the field
        [ "$(curl -s -o "$T_TMP/422.json" -w '%{http_code}' -X POST "$COG/trainings" \
                -H 'Content-Type: application/json' -d '{"input": {"epochs": 3}}')" = 422 ] || fail "no 422"
        jq -e '.detail[0].loc == ["body","input","hoist_job_url"]' "$T_TMP/422.json" >/dev/null ||
                fail "422 body: $(cat "$T_TMP/422.json")"
        [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$COG/trainings/none/cancel")" = 404 ] ||
                fail "cancel of an unknown training"
}

t_sync_training() {
        write_job cog-sync '["sh", "-c", "echo epochs=$HOIST_HP_EPOCHS lr=$HOIST_HP_LR; echo token=$MY_TOKEN; mkdir -p $HOIST_MODEL_DIR; echo weights-$HOIST_HP_EPOCHS > $HOIST_MODEL_DIR/model.bin"]' \
                '"secrets": [{"name": "MY_TOKEN", "env": "MY_TOKEN"}]'
        COG=$MAIN URL=$(job_url cog-sync) "$PY" - <<'PY' || fail "the training"
import json, os, requests
secret = "tok-5ecret-value-42"
r = requests.post(os.environ["COG"] + "/trainings", json={"input": {
        "hoist_job_url": os.environ["URL"], "epochs": 7,
        "hoist_env": json.dumps({"MY_TOKEN": secret})}}, timeout=120)
assert r.status_code == 200, (r.status_code, r.text)
t = r.json()
assert t["status"] == "succeeded", t
assert t["output"]["job_id"] == "cog-sync", t
assert t["output"]["weights"].endswith("/jobs/cog-sync/output/"), t
assert t["input"]["hoist_env"] == "**********", t["input"]
assert "epochs=7 lr=0.5" in t["logs"], t["logs"]
assert "token=[secret MY_TOKEN]" in t["logs"], t["logs"]
assert secret not in r.text
assert t["metrics"]["predict_time"] > 0 and t["completed_at"] and t["started_at"], t
print(t["output"]["weights"])
PY
        [ "$(cat "$STORE/jobs/cog-sync/output/model/model.bin")" = weights-7 ] || fail "model: $(ls -R "$STORE/jobs/cog-sync")"
        ! grep -rq "tok-5ecret-value-42" "$STORE/jobs/cog-sync" "$T_TMP/main.log" || fail "the secret was stored or logged"
        [ "$(health)" = READY ] || fail "not READY after the training"
}

t_async_webhooks() {
        local code
        write_job cog-async '["sh", "-c", "for i in 1 2 3; do echo step $i; done; mkdir -p $HOIST_MODEL_DIR; echo w > $HOIST_MODEL_DIR/m"]'
        code=$(curl -s -o "$T_TMP/async.json" -w '%{http_code}' -X POST "$MAIN/trainings" \
                -H 'Content-Type: application/json' -H 'Prefer: respond-async' \
                -d "{\"id\": \"tr-async\", \"input\": {\"hoist_job_url\": \"$(job_url cog-async)\"}, \"webhook\": \"$RECV/async\"}")
        [ "$code" = 202 ] || fail "async answered $code: $(cat "$T_TMP/async.json")"
        jq -e '.id == "tr-async" and (.status == "processing" or .status == "starting")' "$T_TMP/async.json" \
                >/dev/null || fail "202 body: $(cat "$T_TMP/async.json")"
        wait_for 60 completed_for async || fail "no completed webhook: $(cat "$RECV_LOG")"
        hooks_of async >"$T_TMP/async.hooks"
        [ "$(head -1 "$T_TMP/async.hooks" | jq -r .event)" = start ] || fail "first is not start"
        [ "$(head -1 "$T_TMP/async.hooks" | jq -r .body.status)" = processing ] || fail "start status"
        [ "$(tail -1 "$T_TMP/async.hooks" | jq -r .event)" = completed ] || fail "last is not completed"
        tail -1 "$T_TMP/async.hooks" | jq -e '.body.status == "succeeded" and .body.id == "tr-async" and
                (.body.output.weights | endswith("/jobs/cog-async/output/")) and
                (.body.logs | contains("step 3"))' >/dev/null || fail "completed body: $(tail -1 "$T_TMP/async.hooks")"
        [ "$(jq -r .event "$T_TMP/async.hooks" | grep -c '^completed$')" = 1 ] || fail "completed sent twice"
        # webhook_events_filter: only completed
        wait_for 20 health_is READY || fail "not READY"
        curl -sf -X POST "$MAIN/trainings" -H 'Prefer: respond-async' \
                -d "{\"input\": {\"hoist_job_url\": \"$(job_url cog-async)\"}, \"webhook\": \"$RECV/filtered\", \"webhook_events_filter\": [\"completed\"]}" \
                >/dev/null || fail "filtered training"
        wait_for 60 completed_for filtered || fail "no completed webhook (filtered)"
        hooks_of filtered >"$T_TMP/filtered.hooks"
        [ "$(wc -l <"$T_TMP/filtered.hooks")" = 1 ] || fail "filter not honoured: $(jq -c .event "$T_TMP/filtered.hooks"; tail -c 600 "$RECV_LOG")"
}

t_cancel() {
        # Checkpoints every step; on SIGTERM one last checkpoint, then exit.
        write_job cog-cancel '["sh", "-c", "trap '"'"'echo final > $HOIST_CHECKPOINT_DIR/final.txt; echo got TERM; exit 0'"'"' TERM; i=0; while :; do i=$((i+1)); echo $i > $HOIST_CHECKPOINT_DIR/step.txt; echo step $i; sleep 0.2; done"]'
        wait_for 20 health_is READY || fail "not READY"
        curl -sf -X PUT "$MAIN/trainings/tr-cancel" -H 'Prefer: respond-async' \
                -d "{\"input\": {\"hoist_job_url\": \"$(job_url cog-cancel)\"}, \"webhook\": \"$RECV/cancel\"}" \
                >/dev/null || fail "start"
        wait_for 60 grep -q "step 3" "$T_TMP/main.log" || fail "the job did not run"
        [ "$(health)" = BUSY ] || fail "not BUSY while training: $(health)"
        # a second training while one runs: 409
        [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$MAIN/trainings" \
                -d "{\"input\": {\"hoist_job_url\": \"$(job_url cog-cancel)\"}}")" = 409 ] || fail "no 409 while busy"
        curl -sf -X POST "$MAIN/trainings/tr-cancel/cancel" | jq -e '. == {}' >/dev/null || fail "cancel"
        wait_for 60 completed_for cancel || fail "no completed webhook after cancel"
        hooks_of cancel | tail -1 | jq -e '.body.status == "canceled" and (.body.logs | contains("got TERM"))' \
                >/dev/null || fail "completed: $(hooks_of cancel | tail -1)"
        find "$STORE/jobs/cog-cancel/checkpoints" -name final.txt | grep_q final.txt ||
                fail "final checkpoint not stored: $(find "$STORE/jobs/cog-cancel")"
        wait_for 20 health_is READY || fail "not READY after cancel"
}

t_idempotent_put() {
        local a b
        write_job cog-put '["sh", "-c", "echo put-run; sleep 1; echo put-done"]'
        wait_for 20 health_is READY || fail "not READY"
        body="{\"input\": {\"hoist_job_url\": \"$(job_url cog-put)\"}}"
        a=$(curl -sf -X PUT "$MAIN/trainings/tr-put" -H 'Prefer: respond-async' -d "$body") || fail "first PUT"
        b=$(curl -sf -X PUT "$MAIN/trainings/tr-put" -H 'Prefer: respond-async' -d "$body") || fail "second PUT"
        [ "$(jq -r .id <<<"$a")" = tr-put ] && [ "$(jq -r .id <<<"$b")" = tr-put ] || fail "ids"
        [ "$(jq -r .created_at <<<"$a")" = "$(jq -r .created_at <<<"$b")" ] || fail "a second training was made"
        # synchronous PUT of the same id waits for it and gives its end
        c=$(curl -sf -X PUT "$MAIN/trainings/tr-put" -d "$body") || fail "sync PUT"
        [ "$(jq -r .status <<<"$c")" = succeeded ] || fail "sync PUT: $c"
        [ "$(grep -c "put-run" "$T_TMP/main.log")" = 1 ] || fail "the job ran more than once"
        # a body id that is not the path's: 422
        [ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$MAIN/trainings/tr-x" \
                -d "{\"id\": \"tr-y\", \"input\": {\"hoist_job_url\": \"$(job_url cog-put)\"}}")" = 422 ] || fail "id mismatch accepted"
}

t_throttle() {
        local lines=150 n
        write_job cog-chatty "[\"sh\", \"-c\", \"i=0; while [ \$i -lt $lines ]; do i=\$((i+1)); echo chatty line \$i; sleep 0.02; done\"]"
        wait_for 20 health_is READY || fail "not READY"
        curl -sf -X POST "$MAIN/trainings" -H 'Prefer: respond-async' \
                -d "{\"input\": {\"hoist_job_url\": \"$(job_url cog-chatty)\"}, \"webhook\": \"$RECV/chatty\"}" \
                >/dev/null || fail "start"
        wait_for 90 completed_for chatty || fail "no completed webhook"
        hooks_of chatty >"$T_TMP/chatty.hooks"
        n=$(jq -r .event "$T_TMP/chatty.hooks" | grep -c '^logs$' || true)
        [ "$n" -ge 1 ] || fail "no logs webhook"
        # at most one per 500 ms, however many lines: far fewer than the lines
        [ "$n" -lt $((lines / 4)) ] || fail "$n logs webhooks for $lines lines"
        # and no more than one per 500 ms of the training's span (+3: the
        # span is seen at receipt, each POST's delivery time varies)
        jq -s '([.[] | select(.event == "logs")] | length) as $n | (.[-1].t - .[0].t) as $span |
               $n <= ($span / 0.5 | floor) + 3' "$T_TMP/chatty.hooks" | grep_q true ||
                fail "$n logs webhooks in $(jq -s '.[-1].t - .[0].t' "$T_TMP/chatty.hooks") s"
        tail -1 "$T_TMP/chatty.hooks" | jq -r .body.logs | grep_q "chatty line $lines" || fail "the last line is missing"
        echo "logs webhooks: $n for $lines lines"
}

t_health_states() {
        local gate=$T_TMP/setup-gate
        start_cog setup HOIST_COG_SETUP="echo warming; while [ ! -e $gate ]; do sleep 0.1; done" || fail "start"
        [ "$(health)" = STARTING ] || fail "not STARTING during setup: $(health)"
        [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$COG/trainings" \
                -d "{\"input\": {\"hoist_job_url\": \"$(job_url cog-sync)\"}}")" = 503 ] || fail "training accepted during setup"
        touch "$gate"
        wait_for 20 health_is READY || fail "not READY after setup"
        curl -s "$COG/health-check" | jq -e '.setup.status == "succeeded" and (.setup.logs | contains("warming"))' \
                >/dev/null || fail "setup: $(curl -s "$COG/health-check")"
        curl -sf -X POST "$COG/shutdown" >/dev/null || fail "shutdown"
        wait_for 20 sh -c "! kill -0 $COG_PID 2>/dev/null" || fail "no exit after /shutdown"
        wait "$COG_PID" || fail "exit status $? after /shutdown"
        start_cog setupfail HOIST_COG_SETUP="echo broken; exit 3" || fail "start"
        wait_for 20 health_is SETUP_FAILED || fail "not SETUP_FAILED: $(health)"
        [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$COG/trainings" \
                -d "{\"input\": {\"hoist_job_url\": \"$(job_url cog-sync)\"}}")" = 503 ] || fail "training accepted after a failed setup"
}

t_http_job_and_input_url() {
        # hoist_job_url over http, and an input channel fetched from a URL
        # instead of the storage (still checked against job.json's sha256)
        printf 'a,b\n1,2\n' >"$T_TMP/files/data.csv"
        local sum
        sum=$(sha256sum "$T_TMP/files/data.csv" | cut -d' ' -f1)
        write_job cog-http '["sh", "-c", "cat $HOIST_INPUT_TRAIN/data.csv"]' \
                "\"inputs\": [{\"channel\": \"train\", \"source\": \"blobs/sha256/$sum\", \"sha256\": \"$sum\", \"filename\": \"data.csv\", \"mode\": \"file\"}]"
        cp "$STORE/jobs/cog-http/job.json" "$T_TMP/files/cog-http.json"
        wait_for 20 health_is READY || fail "not READY"
        # a presigned URL's signature stays out of the logs
        curl -sf -X POST "$MAIN/trainings" -d "{\"input\": {\"hoist_job_url\": \"$RECV/files/cog-http.json?X-Amz-Signature=5ig5ecret\", \"input_train\": \"$RECV/files/data.csv?X-Amz-Signature=5ig5ecret\"}}" \
                >"$T_TMP/http.json" || fail "training"
        ! grep -q 5ig5ecret "$T_TMP/main.log" || fail "a URL's signature reached the log"
        jq -e '.status == "succeeded" and (.logs | contains("1,2"))' "$T_TMP/http.json" >/dev/null ||
                fail "$(jq -r '.status + ": " + (.error // "") ' "$T_TMP/http.json")"
        # bytes that are not job.json's: a failed training naming the digests
        printf 'x\n' >"$T_TMP/files/other.csv"
        curl -sf -X POST "$MAIN/trainings" -d "{\"input\": {\"hoist_job_url\": \"$RECV/files/cog-http.json\", \"input_train\": \"$RECV/files/other.csv\"}}" \
                >"$T_TMP/http2.json" || fail "training 2"
        jq -e '.status == "failed" and (.error | contains("sha256"))' "$T_TMP/http2.json" >/dev/null ||
                fail "mismatch: $(jq -c '{status, error}' "$T_TMP/http2.json")"
        # a hyperparameter job.json does not have: failed, named
        curl -sf -X POST "$MAIN/trainings" -d "{\"input\": {\"hoist_job_url\": \"$(job_url cog-sync)\", \"nope\": 1}}" \
                >"$T_TMP/http3.json" || fail "training 3"
        jq -e '.status == "failed" and (.error | contains("nope"))' "$T_TMP/http3.json" >/dev/null ||
                fail "unknown hyperparameter: $(jq -c '{status, error}' "$T_TMP/http3.json")"
}

t_job_wins() {
        # The same program with a job in the environment runs it: `cog` is
        # then only the mode word.
        write_job cog-env '["sh", "-c", "echo ran-as-a-job"]'
        HOIST_JOB_FILE=$STORE/jobs/cog-env/job.json "$E" cog >"$T_TMP/env.log" 2>&1 || fail "exit $?: $(cat "$T_TMP/env.log")"
        grep_q ran-as-a-job <"$T_TMP/env.log" || fail "the job did not run"
        [ "$(jq -r .status "$STORE/jobs/cog-env/result.json")" = succeeded ] || fail "result"
}

t_s3_storage() {
        new_home
        local serve_bin=$HOIST_BIN/hoist ak sk ep
        [ "${HOIST_VALGRIND:-0}" != 1 ] || serve_bin=$T_TMP/vg-hoist
        "$serve_bin" serve --listen 127.0.0.1:0 --print-credentials >"$T_TMP/serve.out" 2>"$T_TMP/serve.err" &
        local spid=$!
        t_defer "kill -TERM $spid 2>/dev/null; wait $spid 2>/dev/null"
        wait_for 20 grep -q '^secret_key=' "$T_TMP/serve.out" || fail "hoist serve: $(cat "$T_TMP/serve.err")"
        ep=$(sed -n "s|^hoist serve: S3 endpoint \(http://127.0.0.1:[0-9]*\) (bucket 'hoist')$|\1|p" "$T_TMP/serve.out")
        ak=$(sed -n 's/^access_key=//p' "$T_TMP/serve.out")
        sk=$(sed -n 's/^secret_key=//p' "$T_TMP/serve.out")
        cat >"$T_TMP/s3job.json" <<JSON
{"version": "hoist/v1", "id": "cog-s3", "hyperparameters": {"epochs": "2"},
 "command": ["sh", "-c", "mkdir -p \$HOIST_MODEL_DIR; echo s3-model-\$HOIST_HP_EPOCHS > \$HOIST_MODEL_DIR/model.bin; echo trained"],
 "workdir": "$T_TMP/work-s3",
 "storage": {"endpoint": "$ep", "region": "us-east-1", "bucket": "hoist", "prefix": "p"}}
JSON
        curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ak:$sk" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
                -T "$T_TMP/s3job.json" "$ep/hoist/p/jobs/cog-s3/job.json" || fail "upload job.json"
        wait_for 20 health_is READY || fail "not READY"
        COG=$MAIN EP=$ep AK=$ak SK=$sk "$PY" - <<'PY' >"$T_TMP/s3.out" || fail "the training: $(cat "$T_TMP/s3.out")"
import json, os, requests
env = {"HOIST_S3_ENDPOINT": os.environ["EP"], "HOIST_S3_REGION": "us-east-1",
       "HOIST_S3_ACCESS_KEY_ID": os.environ["AK"], "HOIST_S3_SECRET_ACCESS_KEY": os.environ["SK"]}
r = requests.post(os.environ["COG"] + "/trainings", json={"input": {
        "hoist_job_url": "s3://hoist/p/jobs/cog-s3/job.json", "epochs": 5,
        "hoist_env": json.dumps(env)}}, timeout=120)
t = r.json()
assert r.status_code == 200 and t["status"] == "succeeded", (r.status_code, t.get("error"), t.get("logs"))
assert t["output"]["weights"] == "s3://hoist/p/jobs/cog-s3/output/", t["output"]
assert os.environ["SK"] not in r.text
print(t["output"]["weights"])
PY
        curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ak:$sk" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
                "$ep/hoist/p/jobs/cog-s3/output/model/model.bin" >"$T_TMP/s3model" || fail "no model in S3"
        [ "$(cat "$T_TMP/s3model")" = s3-model-5 ] || fail "model: $(cat "$T_TMP/s3model")"
        ! grep -q "$sk" "$T_TMP/main.log" || fail "the secret key reached the log"
}

t_podman() {
        local image=localhost/hoist-it-cog:$$ port name=hoist-it-cog-$$
        command -v podman >/dev/null || fail "podman is not installed (scripts/deps.sh installs it)"
        "$T_ROOT/tests/peers/podman-image.sh" "$image" "$BUNDLE_TAR" \
                "$HOIST_BIN/hoist-quickstart" >/dev/null || fail "build the test image"
        t_defer "podman rm -f $name >/dev/null 2>&1; podman rmi -f $image >/dev/null 2>&1"
        write_job cog-pod '["sh", "-c", "echo in-the-container epochs=$HOIST_HP_EPOCHS; mkdir -p $HOIST_MODEL_DIR; echo pod > $HOIST_MODEL_DIR/model.bin"]'
        sed -i "s|\"workdir\": [^,]*,|\"workdir\": \"/hoist\",|" "$STORE/jobs/cog-pod/job.json"
        port=$(free_port)
        # Started as Cog starts an image: its entrypoint with the Cmd `cog`.
        podman run -d --name "$name" --network=host -e PORT="$port" -v "$STORE:$STORE" "$image" cog \
                >/dev/null || fail "podman run"
        local COG=http://127.0.0.1:$port
        wait_for 60 curl -sf "$COG/health-check" || fail "no health-check: $(podman logs "$name" 2>&1 | tail)"
        wait_for 20 health_is READY || fail "not READY"
        curl -sf -X POST "$COG/trainings" -d "{\"input\": {\"hoist_job_url\": \"$(job_url cog-pod)\", \"epochs\": 9}}" \
                >"$T_TMP/pod.json" || fail "training"
        jq -e '.status == "succeeded" and (.logs | contains("in-the-container epochs=9"))' "$T_TMP/pod.json" \
                >/dev/null || fail "$(cat "$T_TMP/pod.json")"
        [ "$(cat "$STORE/jobs/cog-pod/output/model/model.bin")" = pod ] || fail "no model"
        # docker stop / podman stop: SIGTERM to PID 1, a clean exit
        podman stop -t 30 "$name" >/dev/null || fail "podman stop"
        [ "$(podman inspect -f '{{.State.ExitCode}}' "$name")" = 0 ] || fail "exit code $(podman inspect -f '{{.State.ExitCode}}' "$name")"
}

t_run "routes: links, health, openapi.json (valid OpenAPI 3), docs, predictions 404, 405, 422" t_routes
t_run "synchronous training: hyperparameter override, weights URL, hoist_env masked and redacted" t_sync_training
t_run "Prefer: respond-async: 202, start then completed webhooks, webhook_events_filter" t_async_webhooks
t_run "cancel mid-training: SIGTERM with the grace, final checkpoint stored, canceled; 409 while busy" t_cancel
t_run "idempotent PUT: one training per id; sync PUT waits; id mismatch 422" t_idempotent_put
t_run "webhook throttling: a chatty job's logs webhooks at most every 500 ms" t_throttle
t_run "health: STARTING during setup, READY, SETUP_FAILED; POST /shutdown exits" t_health_states
t_run "hoist_job_url over http, input_<channel> URL checked against sha256, unknown input named" t_http_job_and_input_url
t_run "a job in the environment wins: 'cog' is then only the mode word" t_job_wins
t_run "a job on the built-in S3 endpoint (hoist serve), credentials in hoist_env" t_s3_storage
t_run "podman: the bundle image started with Cmd cog serves Cog; podman stop exits 0" t_podman
t_finish
