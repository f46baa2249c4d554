#!/usr/bin/env bash
# The replicate provider against a contract server (tests/peers/
# replicate_server.py) that checks the documented requests of the Replicate
# HTTP API and runs a training as Replicate runs a Cog image: pulled from
# the registry standing for r8.im (Debian's docker-registry behind
# tests/peers/tokenserver.py, the token as password), `podman run
# --network=host` with its default Cmd (Cog mode), /health-check until READY,
# POST /trainings with Prefer: respond-async and a webhook; its own webhooks
# signed with Standard Webhooks go to hoist serve's POST
# /api/webhooks/replicate.  Storage is hoist serve's built-in S3 endpoint
# (reachable from the container: host networking).
. "$(dirname "$0")/lib.sh"

QS=$T_ROOT/examples/quickstart
RP=$T_TMP/rp
REG=$T_TMP/r8
NODE_DIR=$T_ROOT/tests/peers/node
RP_USER=hoist-tester
RP_TOKEN=r8_hoistTEST$$x$RANDOM$RANDOM
L40S_PER_S=0.000975

rp_port() { cat "$RP/port"; }
rp_ctl() { curl -fsS -X POST "http://127.0.0.1:$(rp_port)/_test/$1"; }
rp_get() { curl -fsS -H "Authorization: Bearer $RP_TOKEN" "http://127.0.0.1:$(rp_port)/v1/$1"; }

setup() {
        command -v podman >/dev/null || { echo "podman is missing (scripts/deps.sh)"; return 1; }
        command -v skopeo >/dev/null || { echo "skopeo is missing (scripts/deps.sh)"; return 1; }
        /usr/bin/python3 -c 'import jsonschema' || { echo "python3-jsonschema is missing (scripts/deps.sh)"; return 1; }
        if [ ! -d "$NODE_DIR/node_modules/standardwebhooks" ]; then
                npm ci --prefix "$NODE_DIR" --no-audit --no-fund >"$T_TMP/npm.log" 2>&1 ||
                        { cat "$T_TMP/npm.log"; echo "cannot install npm standardwebhooks"; return 1; }
        fi
        HOIST_HOME=$T_TMP/home
        mkdir -p "$HOIST_HOME" "$RP"
        echo 'consent: allow' >"$HOIST_HOME/config.yaml"
        export HOIST_HOME
        unset HOIST_STORAGE HOIST_S3_ACCESS_KEY HOIST_S3_SECRET_KEY
        # the job's image, in hoist's local image store (where build: puts it)
        "$T_ROOT/tests/peers/podman-image.sh" "localhost/hoist-it-rp:$$" \
                "$HOIST_BUILD/hoist-entrypoint-bundle.tar" "$HOIST_BIN/hoist-quickstart"
        t_defer "podman rmi -f localhost/hoist-it-rp:$$ >/dev/null 2>&1"
        skopeo copy --quiet "containers-storage:localhost/hoist-it-rp:$$" \
                "oci:$HOIST_HOME/images:localhost/hoist-it-rp:$$"
        /usr/bin/python3 "$T_ROOT/tests/peers/replicate_server.py" --dir "$RP" --token "$RP_TOKEN" \
                --user "$RP_USER" --registry-dir "$REG" --port-file "$RP/port" >"$T_TMP/rp.out" 2>&1 &
        echo $! >"$T_TMP/rp.pid"
        T_CLEANUPS+=("kill $(cat "$T_TMP/rp.pid") 2>/dev/null; podman rm -f \$(podman ps -aq --filter name=hoist-replicate-) >/dev/null 2>&1")
        wait_for 30 test -s "$RP/port" || { cat "$T_TMP/rp.out"; return 1; }
        NOTIFY_URL=http://127.0.0.1:$(rp_port)/_registry/events \
                "$T_ROOT/tests/peers/registry.sh" start "$REG" token "$RP_USER" "$RP_TOKEN"
        t_defer "'$T_ROOT/tests/peers/registry.sh' stop '$REG'"
        export REPLICATE_API_TOKEN=$RP_TOKEN REPLICATE_API_BASE=http://127.0.0.1:$(rp_port)/v1
        export REPLICATE_REGISTRY=127.0.0.1:$(cat "$REG/port")
}

# job.yaml for the quickstart trainer in DIR, with EXTRA lines appended.
write_job() {
        local dir=$1
        shift
        mkdir -p "$dir"
        [ -d "$dir/data" ] || cp -r "$QS/data" "$dir/data"
        cat >"$dir/job.yaml" <<YAML
name: rp-quickstart
provider: replicate
image: localhost/hoist-it-rp:$$
command: ["/usr/local/bin/hoist-quickstart", "train"]
inputs:
  train: data/            # a directory: a tree, staged from the job's storage
  labels: data/test.csv   # one file: through Replicate's file API
hyperparameters:
  steps: 3000
  lr: 0.05
  hidden: 16
  seed: 7
  checkpoint_every: 250
limits:
  max_runtime: 10m
  stop_grace: 30s
replicate:
  model: $RP_USER/quickstart
  destination: $RP_USER/quickstart-trained
  hardware: gpu-l40s
YAML
        for line in "$@"; do echo "$line" >>"$dir/job.yaml"; done
}

why() {
        [ -n "$1" ] || { echo "(no job id)"; return 0; }
        echo "state $(job_field "$1" state): $(hoist status "$1" 2>&1 | tail -5)"
        tail -5 "$RP/requests.jsonl" 2>/dev/null
        tail -5 "$RP/server.log" 2>/dev/null
        tail -n 15 "$RP"/*.container.log 2>/dev/null
}

t_validate() {
        hoist validate replicate >"$T_TMP/val" 2>&1 || fail "$(cat "$T_TMP/val")"
        grep_q "token of '$RP_USER'" <"$T_TMP/val" || fail "whose token is not said: $(cat "$T_TMP/val")"
        grep_q "provider replicate: ok" <"$T_TMP/val" || fail "$(cat "$T_TMP/val")"
        REPLICATE_API_TOKEN=r8_wrong hoist validate replicate >"$T_TMP/val2" 2>&1 && fail "a wrong token was accepted"
        grep_q "Invalid token.*HTTP 401" <"$T_TMP/val2" || fail "Replicate's answer not shown: $(cat "$T_TMP/val2")"
        ! grep -q "r8_wrong" "$T_TMP/val2" || fail "the token is in the message"
        env -u REPLICATE_API_TOKEN "$HOIST_BIN/hoist" validate replicate >"$T_TMP/val3" 2>&1 && fail "no token accepted"
        grep_q "REPLICATE_API_TOKEN" <"$T_TMP/val3" || fail "$(cat "$T_TMP/val3")"
        # hardware that GET /v1/hardware does not list
        write_job "$T_TMP/hw"
        sed -i 's/hardware: gpu-l40s/hardware: gpu-x9000/' "$T_TMP/hw/job.yaml"
        hoist validate replicate "$T_TMP/hw/job.yaml" >"$T_TMP/val4" 2>&1 && fail "unknown hardware accepted"
        grep_q "gpu-x9000.*GET /v1/hardware" <"$T_TMP/val4" || fail "$(cat "$T_TMP/val4")"
}

t_throttled() {
        rp_ctl "throttle?count=2" >/dev/null
        hoist validate replicate >"$T_TMP/thr" 2>&1 || fail "429 not retried: $(cat "$T_TMP/thr")"
        [ "$(grep -c '"status": 429' "$RP/requests.jsonl")" -ge 2 ] || fail "the server throttled nothing"
        rp_ctl "throttle?count=1" >/dev/null
        HOIST_API_RETRIES=1 hoist validate replicate >"$T_TMP/thr2" 2>&1 && fail "one attempt should give up on 429"
        grep_q "HTTP 429" <"$T_TMP/thr2" || fail "$(cat "$T_TMP/thr2")"
}

t_dry_run() {
        write_job "$T_TMP/dry"
        before=$(wc -l <"$RP/requests.jsonl" 2>/dev/null || echo 0)
        hoist submit --dry-run "$T_TMP/dry/job.yaml" >"$T_TMP/dry/out" 2>&1 || fail "$(cat "$T_TMP/dry/out")"
        grep_q "run.cog.version" <"$T_TMP/dry/out" || fail "no labels: $(cat "$T_TMP/dry/out")"
        grep_q '"hoist_env": "\*\*\*\*\*\*\*\*\*\*"' <"$T_TMP/dry/out" || fail "hoist_env not redacted: $(cat "$T_TMP/dry/out")"
        grep_q '"destination": "'"$RP_USER"'/quickstart-trained"' <"$T_TMP/dry/out" || fail "$(cat "$T_TMP/dry/out")"
        after=$(wc -l <"$RP/requests.jsonl" 2>/dev/null || echo 0)
        [ "$before" = "$after" ] || fail "--dry-run asked Replicate"
        # no model: refused offline
        sed -i '/^  model:/d' "$T_TMP/dry/job.yaml"
        hoist submit --dry-run "$T_TMP/dry/job.yaml" >"$T_TMP/dry/out2" 2>&1 && fail "no model accepted"
        grep_q "replicate.model" <"$T_TMP/dry/out2" || fail "$(cat "$T_TMP/dry/out2")"
}

# An input over Replicate's 100 MiB file limit: refused before anything is
# uploaded (to storage or to Replicate's file API).
t_upload_limit() {
        write_job "$T_TMP/big"
        mkdir -p "$T_TMP/big/huge"
        head -c $((101 * 1024 * 1024)) /dev/urandom >"$T_TMP/big/huge/blob.bin"
        sed -i 's|^  train: data/ .*$|  train: data/\n  huge: huge/|' "$T_TMP/big/job.yaml"
        before=$(grep -c '/v1/files' "$RP/requests.jsonl" 2>/dev/null || true)
        hoist submit -q "$T_TMP/big/job.yaml" >"$T_TMP/big/out" 2>&1 && fail "a 101 MiB input was accepted"
        grep_q "at most 100.0 MiB" <"$T_TMP/big/out" || fail "the limit is not named: $(cat "$T_TMP/big/out")"
        grep_q "huge" <"$T_TMP/big/out" || fail "the input is not named: $(cat "$T_TMP/big/out")"
        after=$(grep -c '/v1/files' "$RP/requests.jsonl" 2>/dev/null || true)
        [ "$before" = "$after" ] || fail "a file went to Replicate"
        rm -rf "$T_TMP/big/huge"
}

# The pushed image's config: the run.cog.* labels, the schema in Env, Cmd cog;
# the openapi label valid OpenAPI 3 (the OAI's JSON Schema, tests/data/openapi).
check_labels() {
        skopeo inspect --config --tls-verify=false --creds "$RP_USER:$RP_TOKEN" \
                "docker://$REPLICATE_REGISTRY/$RP_USER/quickstart:latest" >"$T_TMP/config.json" ||
                fail "skopeo cannot read the pushed image"
        /usr/bin/python3 - "$T_TMP/config.json" "$T_ROOT/tests/data/openapi/oas-3.0-schema.json" <<'PY'
import json, sys
import jsonschema
cfg = json.load(open(sys.argv[1]))["config"]
labels = cfg["Labels"]
assert labels["run.cog.version"], labels
cc = json.loads(labels["run.cog.config"])
assert "train" in cc and "build" in cc, cc
doc = json.loads(labels["run.cog.openapi_schema"])
jsonschema.Draft4Validator(json.load(open(sys.argv[2]))).validate(doc)
assert doc["openapi"].startswith("3."), doc["openapi"]
ti = doc["components"]["schemas"]["TrainingInput"]
for p in ("hoist_job_url", "hoist_env", "steps", "lr", "input_train"):
    assert p in ti["properties"], (p, sorted(ti["properties"]))
assert ti["properties"]["hoist_env"].get("x-cog-secret") is True
for p in ("/trainings", "/health-check", "/trainings/{training_id}/cancel"):
    assert p in doc["paths"], sorted(doc["paths"])
env = [e for e in cfg["Env"] if e.startswith("HOIST_COG_OPENAPI=")]
assert env == ["HOIST_COG_OPENAPI=" + labels["run.cog.openapi_schema"]], env
assert cfg["Cmd"] == ["cog"], cfg["Cmd"]
assert cfg["Entrypoint"] == ["/opt/hoist/bin/hoist-entrypoint"], cfg["Entrypoint"]
PY
}

# The training of job ID's current attempt: its provider ref in the store.
training_of() {
        /usr/bin/python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT provider_ref FROM jobs WHERE id = ?", (sys.argv[2],)).fetchone()[0])' \
                "$HOIST_HOME/hoist.db" "$1"
}

final() { case "$(job_field "$1" state)" in succeeded | failed | canceled) return 0 ;; esac; return 1; }

# Submit: the image pushed with the run.cog.* labels, the version read back,
# the input through the file API, the training created with a webhook to
# hoist serve.
t_pushed() {
        write_job "$T_TMP/ok"
        hoist submit -q "$T_TMP/ok/job.yaml" >"$T_TMP/ok/id" 2>"$T_TMP/ok/err" ||
                fail "submit: $(cat "$T_TMP/ok/err")"
        id=$(cat "$T_TMP/ok/id")
        echo "$id" >"$T_TMP/ok-id"
        check_labels || fail "labels"
        grep_q '"method": "POST", "path": "/v1/files", "status": 201' <"$RP/requests.jsonl" || fail "no upload"
        grep_q '"path": "/v1/models/'"$RP_USER"'/quickstart/versions", "status": 200' <"$RP/requests.jsonl" ||
                fail "the version was not read back"
        tid=$(training_of "$id")
        rp_get "trainings/$tid" >"$T_TMP/ok/training.json" || fail "no training $tid"
        rp_get "models/$RP_USER/quickstart/versions" >"$T_TMP/ok/versions.json"
        /usr/bin/python3 - "$T_TMP/ok/versions.json" "$T_TMP/ok/training.json" "$id" <<'PY' || fail "training: $(cat "$T_TMP/ok/training.json")"
import json, sys
vs = json.load(open(sys.argv[1]))["results"]
t = json.load(open(sys.argv[2]))
assert t["version"] == vs[0]["id"], (t["version"], vs[0]["id"])
assert t["input"]["hoist_env"] == "**********"
assert t["input"]["hoist_job_url"].endswith(f"/jobs/{sys.argv[3]}/job.json"), t["input"]
assert t["input"]["input_labels"].startswith("http"), t["input"]
assert "input_train" not in t["input"], t["input"]  # a tree comes from storage
assert t["webhook"].split("?")[0].endswith("/api/webhooks/replicate"), t["webhook"]
assert f"job={sys.argv[3]}&attempt=1" in t["webhook"], t["webhook"]
assert t["webhook_events_filter"] == ["start", "completed"], t
PY
}

# The training run in Cog mode by the contract server through to
# succeeded: the webhooks hoist serve took, the model in storage, the
# billed cost, and the token nowhere hoist writes.
t_trained() {
        id=$(cat "$T_TMP/ok-id" 2>/dev/null) || fail "needs the job of the push test"
        wait_for 300 final "$id" || fail "not final: $(why "$id")"
        state_is "$id" succeeded || fail "$(why "$id")"
        tid=$(training_of "$id")
        rp_get "trainings/$tid" >"$T_TMP/ok/training.json"
        /usr/bin/python3 - "$T_TMP/ok/training.json" "$id" <<'PY' || fail "training: $(cat "$T_TMP/ok/training.json")"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["status"] == "succeeded", t["status"]
assert f"/jobs/{sys.argv[2]}/" in t["output"]["weights"], t["output"]
assert t["metrics"]["predict_time"] > 0, t["metrics"]
PY
        curl -fsS "http://127.0.0.1:$(rp_port)/_test/deliveries" >"$T_TMP/ok/deliveries.json"
        /usr/bin/python3 - "$T_TMP/ok/deliveries.json" "$tid" <<'PY' || fail "deliveries: $(cat "$T_TMP/ok/deliveries.json")"
import json, sys
d = [x for x in json.load(open(sys.argv[1])) if x["training"] == sys.argv[2]]
assert {x["event"] for x in d} == {"start", "completed"}, d
assert all(x["answer"] == 200 for x in d), d
PY
        hoist results "$id" "$T_TMP/ok/res" >/dev/null
        [ -s "$T_TMP/ok/res/model/model.bin" ] || fail "no model in storage"
        # billed: metrics.predict_time x gpu-l40s's per-second price
        wait_for 30 sh -c "'$HOIST_BIN/hoist' status -o json '$id' | grep -q '\"billed\": [0-9]'" || true
        hoist status -o json "$id" >"$T_TMP/ok/st.json"
        /usr/bin/python3 - "$T_TMP/ok/st.json" "$T_TMP/ok/training.json" "$L40S_PER_S" <<'PY' || fail "billing: $(cat "$T_TMP/ok/st.json")"
import json, sys
c = json.load(open(sys.argv[1]))["cost"]
t = json.load(open(sys.argv[2]))
a = c["attempts"][-1]
pt = t["metrics"]["predict_time"]
want = pt * float(sys.argv[3])
assert a["sku"] == "gpu-l40s", a
assert abs(c["billed"] - want) < 1e-9, (c["billed"], want, pt)
assert "predict_time" in a["source"], a
PY
        # the token is nowhere hoist writes
        ! grep -rqa "$RP_TOKEN" "$HOIST_HOME" || fail "the token is in $(grep -rla "$RP_TOKEN" "$HOIST_HOME")"
}

# hoist cancel mid-training: POST /v1/trainings/{id}/cancel (Cog's cancel:
# SIGTERM to the job), the training and the job canceled.
t_cancel() {
        write_job "$T_TMP/cancel"
        sed -i 's/^  checkpoint_every: 250$/  checkpoint_every: 250\n  sleep_ms: 20/' "$T_TMP/cancel/job.yaml"
        id=$(hoist submit -q "$T_TMP/cancel/job.yaml") || fail "submit"
        wait_for 180 state_is "$id" running || fail "never running: $(why "$id")"
        tid=$(training_of "$id")
        hoist cancel "$id" >"$T_TMP/cancel/out" 2>&1 || fail "cancel: $(cat "$T_TMP/cancel/out")"
        grep_q "\"path\": \"/v1/trainings/$tid/cancel\", \"status\": 200" <"$RP/requests.jsonl" ||
                fail "no POST cancel"
        wait_for 120 final "$id" || fail "not final: $(why "$id")"
        state_is "$id" canceled || fail "$(why "$id")"
        [ "$(rp_get "trainings/$tid" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" = canceled ] ||
                fail "the training is not canceled: $(rp_get "trainings/$tid")"
}

t_list_remote() {
        id=$(cat "$T_TMP/ok-id" 2>/dev/null) || fail "needs the job of the push test"
        tid=$(training_of "$id")
        hoist list --provider replicate --remote -o json >"$T_TMP/remote.json" 2>&1 || fail "$(cat "$T_TMP/remote.json")"
        /usr/bin/python3 - "$T_TMP/remote.json" "$id" "$tid" <<'PY' || fail "$(cat "$T_TMP/remote.json")"
import json, sys
jobs = json.load(open(sys.argv[1]))
jobs = jobs["jobs"] if isinstance(jobs, dict) else jobs
mine = [j for j in jobs if j["ref"] == sys.argv[3]]
assert mine and mine[0]["job_id"] == sys.argv[2] and mine[0]["state"] == "succeeded", jobs
PY
}

# sign BODY_FILE ID TIMESTAMP: the headers npm standardwebhooks makes with
# the secret Replicate serves.
sign() {
        node -e '
const { Webhook } = require(process.argv[1] + "/node_modules/standardwebhooks");
const fs = require("fs");
const wh = new Webhook(process.argv[2]);
const body = fs.readFileSync(process.argv[3], "utf8");
const sig = wh.sign(process.argv[4], new Date(Number(process.argv[5]) * 1000), body);
console.log(sig);' "$NODE_DIR" "$(rp_get webhooks/default/secret | sed -n 's/.*"key": *"\([^"]*\)".*/\1/p')" "$@"
}

# post URL BODY_FILE ID TS SIG: the HTTP status
post() {
        curl -sS -o "$T_TMP/post.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
                -H "webhook-id: $3" -H "webhook-timestamp: $4" -H "webhook-signature: $5" \
                --data-binary "@$2" "$1"
}

serve_url() { sed -n 's/.*"endpoint": *"\([^"]*\)".*/\1/p' "$HOIST_HOME/serve/serve.json"; }

n_events() {
        /usr/bin/python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT count(*) FROM events WHERE id = ?", (sys.argv[2],)).fetchone()[0])' \
                "$HOIST_HOME/hoist.db" "$1"
}

t_webhooks() {
        id=$(cat "$T_TMP/ok-id" 2>/dev/null) || fail "needs the job of the push test"
        tid=$(training_of "$id")
        url="$(serve_url)/api/webhooks/replicate?job=$id&attempt=1"
        rp_get "trainings/$tid" >"$T_TMP/wh.json"
        now=$(date +%s)
        sig=$(sign "$T_TMP/wh.json" msg_hoist_test_1 "$now")
        [ "$(post "$url" "$T_TMP/wh.json" msg_hoist_test_1 "$now" "$sig")" = 200 ] || fail "valid: $(cat "$T_TMP/post.out")"
        grep_q recorded <"$T_TMP/post.out" || fail "$(cat "$T_TMP/post.out")"
        [ "$(post "$url" "$T_TMP/wh.json" msg_hoist_test_1 "$now" "$sig")" = 200 ] || fail "again: $(cat "$T_TMP/post.out")"
        grep_q duplicate <"$T_TMP/post.out" || fail "applied twice: $(cat "$T_TMP/post.out")"
        [ "$(n_events replicate.msg_hoist_test_1)" = 1 ] || fail "not one event"
        # a bad signature
        [ "$(post "$url" "$T_TMP/wh.json" msg_hoist_test_2 "$now" "v1,$(printf 'x%.0s' {1..43})=")" = 401 ] ||
                fail "bad signature: $(cat "$T_TMP/post.out")"
        # a tampered body with the first one's signature
        sed 's/"status": "/"status": "x/' "$T_TMP/wh.json" >"$T_TMP/wh2.json"
        [ "$(post "$url" "$T_TMP/wh2.json" msg_hoist_test_1 "$now" "$sig")" = 401 ] || fail "tampered: $(cat "$T_TMP/post.out")"
        # signed right, ten minutes old
        old=$((now - 600))
        sig=$(sign "$T_TMP/wh.json" msg_hoist_test_3 "$old")
        [ "$(post "$url" "$T_TMP/wh.json" msg_hoist_test_3 "$old" "$sig")" = 401 ] || fail "old: $(cat "$T_TMP/post.out")"
        grep_q -i "timestamp" <"$T_TMP/post.out" || fail "$(cat "$T_TMP/post.out")"
        [ "$(n_events replicate.msg_hoist_test_3)" = 0 ] || fail "an old one was recorded"
        # a source outside --webhook-allow: a second hoist serve (a home of its own)
        port=$(free_port)
        HOIST_HOME=$T_TMP/home2 hoist serve --listen "127.0.0.1:$port" --webhook-allow 10.0.0.0/8 >"$T_TMP/serve2.log" 2>&1 &
        echo $! >"$T_TMP/serve2.pid"
        t_defer "kill $(cat "$T_TMP/serve2.pid") 2>/dev/null"
        wait_for 30 curl -s -o /dev/null "http://127.0.0.1:$port/" || fail "serve2: $(cat "$T_TMP/serve2.log")"
        sig=$(sign "$T_TMP/wh.json" msg_hoist_test_4 "$now")
        [ "$(post "http://127.0.0.1:$port/api/webhooks/replicate?job=$id&attempt=1" "$T_TMP/wh.json" msg_hoist_test_4 "$now" "$sig")" = 403 ] ||
                fail "outside the allowlist: $(cat "$T_TMP/post.out")"
        [ "$(n_events replicate.msg_hoist_test_4)" = 0 ] || fail "a refused one was recorded"
}


t_setup "image in hoist's store, r8.im registry behind a token server, Replicate contract server" setup
t_run "hoist validate replicate: whose token, a wrong token, no token, unknown hardware" t_validate
t_run "429 with Retry-After retried; given up after HOIST_API_RETRIES" t_throttled
t_run "--dry-run: labels, the training body, hoist_env redacted, nothing asked" t_dry_run
t_run "an input over 100 MiB: refused before any upload" t_upload_limit
t_run "push with run.cog.* labels (valid OpenAPI 3), version read back, input via the file API, training with a webhook" t_pushed
t_run "the training run in Cog mode to succeeded: webhooks taken, model in storage, billed predict_time x rate, no token written" t_trained
t_run "hoist list --provider replicate --remote: the trainings with their hoist jobs" t_list_remote
t_run "hoist cancel mid-training: the training and the job canceled" t_cancel
t_run "webhooks to hoist serve: applied once, bad signature, tampered, old, outside the allowlist" t_webhooks
t_finish
