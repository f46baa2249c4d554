#!/usr/bin/env bash
# Events and webhooks (DESIGN.md "Events"): the entrypoint persists every
# event to jobs/<id>/events/ and delivers it, signed with Standard Webhooks,
# to a receiver that verifies each request with npm's standardwebhooks, even
# when that receiver is down for the first half of the job; and hoist serve's
# POST /hooks/events verifies, deduplicates and moves the job in the store.
. "$(dirname "$0")/lib.sh"

E=${HOIST_ENTRYPOINT:-$HOIST_BIN/hoist-entrypoint} # valgrind-wrapped under HOIST_VALGRIND=1
RECEIVER=$T_ROOT/tests/peers/webhook_receiver.js
NODE_DIR=$T_ROOT/tests/peers/node

# The reference verifier, installed once into tests/peers/node at the version
# its package-lock.json pins (npm ci changes no tracked file).
if [ ! -d "$NODE_DIR/node_modules/standardwebhooks" ]; then
        npm ci --prefix "$NODE_DIR" --no-audit --no-fund >"$T_TMP/npm.log" 2>&1 ||
                { cat "$T_TMP/npm.log"; echo "cannot install npm standardwebhooks"; exit 1; }
fi

new_secret() { echo "whsec_$(head -c 32 /dev/urandom | base64 -w0)"; }

# start_receiver PORT SECRET OUT: the node receiver, stopped at exit.
start_receiver() {
        : >"$3"
        node "$RECEIVER" "$1" "$2" "$3" "$3.port" &
        local pid=$!
        t_defer "kill $pid 2>/dev/null"
        wait_for 20 test -s "$3.port" || fail "webhook receiver did not start"
}

# write_job DIR ID WEBHOOKS_JSON SCRIPT: job.json on file storage in DIR.
write_job() {
        mkdir -p "$1/store" "$1/work"
        cat >"$1/job.json" <<EOF
{
  "version": "hoist/v1",
  "id": "$2",
  "command": ["sh", "-c", $(printf '%s' "$4" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')],
  "storage": {"endpoint": "file://$1/store", "prefix": ""},
  "webhooks": $3,
  "attempt": 1
}
EOF
}

# A training script: metric lines, plain lines, and the halfway mark.
TRAIN='for i in 1 2 3 4 5 6 7 8 9 10; do
  echo "{\"step\": $i, \"loss\": 0.$((10 - i))}"
  echo "plain line $i"
  echo "warning $i" >&2
  [ $i = 5 ] && touch "$HALF"
  sleep 0.4
done
echo "secret-visible=$(env | grep -c HOIST_WEBHOOK || true)"'

t_receiver_down_first_half() {
        d=$T_TMP/down
        p1=$(free_port)
        p2=$(free_port)
        s1=$(new_secret)
        s2=$(new_secret)
        write_job "$d" j-evt000000001 \
                "[{\"url\": \"http://127.0.0.1:$p1/hook\"}, {\"url\": \"http://127.0.0.1:$p2/only-final\", \"events\": [\"job.succeeded\", \"job.failed\"]}]" \
                "$TRAIN"
        HALF=$d/half HOIST_JOB_FILE=$d/job.json HOIST_WORKDIR=$d/work HOIST_NODE=n1 \
                HOIST_WEBHOOK_SECRET=$s1 HOIST_WEBHOOK_SECRET_1=$s2 \
                "$E" >"$d/out" 2>"$d/err" &
        epid=$!
        # Down for the first half: both receivers start only then.
        wait_for 60 test -e "$d/half" || fail "the job never reached its halfway mark"
        start_receiver "$p1" "$s1" "$d/r1"
        start_receiver "$p2" "$s2" "$d/r2"
        rc=0
        wait "$epid" || rc=$?
        [ "$rc" = 0 ] || { cat "$d/err"; fail "entrypoint exited $rc"; }
        grep -q "secret-visible=0" "$d/out" || fail "the command saw HOIST_WEBHOOK_SECRET*"
        grep -q "webhook http://127.0.0.1:$p1/...: .*; retrying with backoff" "$d/err" ||
                fail "the receiver was never found down: $(cat "$d/err")"
        ls "$d/store/jobs/j-evt000000001/events/" >"$d/stored"
        n=$(wc -l <"$d/stored")
        [ "$n" -ge 6 ] || fail "only $n events stored"
        python3 - "$d" "$s1" "$s2" <<'PY'
import json, os, sys
d, s1, s2 = sys.argv[1:4]
evdir = f"{d}/store/jobs/j-evt000000001/events"
stored = [json.load(open(os.path.join(evdir, f))) for f in sorted(os.listdir(evdir))]
got = [json.loads(l) for l in open(f"{d}/r1")]
bad = [g for g in got if not g.get("verified")]
assert not bad, f"unverified requests: {bad}"
ids = [g["id"] for g in got]
assert ids == [e["id"] for e in stored], f"received {ids}\nstored {[e['id'] for e in stored]}"
assert all(g["id"] == g["webhook_id"] for g in got)
seqs = [g["seq"] for g in got]
assert seqs == list(range(len(seqs))), f"not in order: {seqs}"
types = [e["type"] for e in stored]
assert types[0] == "job.starting" and types[1] == "job.running", types
assert types[-1] == "job.succeeded", types
assert "job.output" in types and "job.metric" in types and "job.log" in types, types
for e in stored:
    assert set(e) == {"id", "type", "job_id", "node", "time", "status", "data"}, e
    assert e["job_id"] == "j-evt000000001" and e["node"] == "n1", e
# throttled: 30 log lines over ~4 s arrive in a few coalesced events
logs = [e for e in stored if e["type"] == "job.log"]
nlines = sum(len(e["data"]["lines"]) for e in logs)
assert nlines == 31 and len(logs) < 15, (nlines, len(logs))
metrics = [e for e in stored if e["type"] == "job.metric"]
assert 1 <= len(metrics) <= 10 and metrics[-1]["data"]["step"] == 10, metrics
final = stored[-1]["data"]
assert final["exit_code"] == 0, final
# the filtered webhook got only the final event, verified with its own secret
got2 = [json.loads(l) for l in open(f"{d}/r2")]
assert [g["type"] for g in got2] == ["job.succeeded"] and got2[0]["verified"], got2
# no secret anywhere the job wrote
for root, _, files in os.walk(f"{d}/store"):
    for f in files:
        t = open(os.path.join(root, f), "rb").read()
        for s in (s1, s2, s1[6:], s2[6:]):
            assert s.encode() not in t, f"secret in {f}"
PY
        ! grep -q -e "${s1#whsec_}" -e "${s2#whsec_}" "$d/err" || fail "a secret reached stderr"
}

t_unsigned_and_bad_secret() {
        d=$T_TMP/unsigned
        p=$(free_port)
        write_job "$d" j-evt000000002 "[{\"url\": \"http://127.0.0.1:$p/x?token=abc\"}]" 'echo hi'
        start_receiver "$p" - "$d/r"
        HOIST_JOB_FILE=$d/job.json HOIST_WORKDIR=$d/work "$E" >"$d/out" 2>"$d/err" ||
                { cat "$d/err"; fail "unsigned job failed"; }
        grep -q "webhook http://127.0.0.1:$p/...: no secret (HOIST_WEBHOOK_SECRET); its events go unsigned" "$d/err" ||
                fail "no unsigned warning: $(cat "$d/err")"
        ! grep -q "token=abc" "$d/err" || fail "the URL's query reached the log"
        grep -q '"type":"job.succeeded"' "$d/r" || fail "unsigned events not delivered"
        # a malformed secret stops the job before it starts, without echoing it
        HOIST_JOB_FILE=$d/job.json HOIST_WORKDIR=$d/work HOIST_WEBHOOK_SECRET=whsec_not-base64!! \
                "$E" >"$d/out2" 2>"$d/err2" && fail "a bad secret was accepted"
        grep -q "webhook secret from HOIST_WEBHOOK_SECRET is not 'whsec_' followed by base64" "$d/err2" ||
                fail "$(cat "$d/err2")"
        ! grep -q "not-base64" "$d/err2" || fail "the secret was echoed"
}

# sign_post URL SECRET BODY [TIMESTAMP] [SIGNATURE]: prints the HTTP status.
sign_post() {
        python3 - "$@" <<'PY'
import base64, hashlib, hmac, json, sys, time, urllib.request, urllib.error
url, secret, body = sys.argv[1:4]
ts = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else str(int(time.time()))
eid = json.loads(body)["id"]
key = base64.b64decode(secret[len("whsec_"):])
sig = "v1," + base64.b64encode(hmac.new(key, f"{eid}.{ts}.{body}".encode(), hashlib.sha256).digest()).decode()
if len(sys.argv) > 5:
    sig = sys.argv[5]
req = urllib.request.Request(url, data=body.encode(), method="POST", headers={
    "content-type": "application/json", "webhook-id": eid, "webhook-timestamp": ts,
    "webhook-signature": "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " + sig})
try:
    print(urllib.request.urlopen(req).status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
}

event() { # ID TYPE JOB [DATA]
        echo "{\"id\":\"$1\",\"type\":\"$2\",\"job_id\":\"$3\",\"node\":\"n\",\"time\":\"t\",\"status\":null,\"data\":${4:-{\}}}"
}

# start_serve ARGS...: hoist serve on a free port in $HOIST_HOME; sets
# SERVE_URL and SERVE_PID (the binary itself, so that kill stops it).
start_serve() {
        local out=$T_TMP/serve.$RANDOM
        "$HOIST_BIN/hoist" serve --listen 127.0.0.1:0 "$@" >"$out.out" 2>"$out.err" &
        SERVE_PID=$!
        t_defer "kill $SERVE_PID 2>/dev/null"
        wait_for 60 grep -q "S3 endpoint .*)" "$out.out" || fail "hoist serve did not start: $(cat "$out.err")"
        SERVE_URL=$(sed -n 's|^hoist serve: S3 endpoint \(http://[0-9.:]*\) .*|\1|p' "$out.out")
        [ -n "$SERVE_URL" ] || fail "no endpoint in: $(cat "$out.out")"
}

t_serve_receiver() {
        new_home
        mkdir -p "$T_TMP/sj"
        # Runs until canceled at the end: its own result must not overtake
        # the events this test sends, however slow the machine.
        cat >"$T_TMP/sj/job.yaml" <<'YAML'
name: evt-serve
runtime: process
command: ["sh", "-c", "sleep 300"]
YAML
        id=$(HOIST_CONTAINER_ENGINE=none hoist submit -q "$T_TMP/sj/job.yaml")
        # It must outlive the checks on a loaded machine; the events below
        # end it in the store only, so its session is killed at the end.
        wait_for 30 test -s "$HOIST_HOME/run/$id/pid"
        t_defer "pkill -KILL -s $(cut -d' ' -f3 "$HOIST_HOME/run/$id/pid")"
        start_serve --webhook-allow 127.0.0.0/8
        secret=$(cat "$HOIST_HOME/serve/webhook_secret")
        [ "$(stat -c %a "$HOIST_HOME/serve/webhook_secret")" = 600 ] || fail "secret file not 0600"
        u=$SERVE_URL/hooks/events
        [ "$(sign_post "$u" "$secret" "$(event e1 job.running "$id")")" = 200 ] || fail "running refused"
        [ "$(job_field "$id" state)" = running ] || fail "state $(job_field "$id" state)"
        # as the entrypoint sends them: 17 digits; a later line without loss
        [ "$(sign_post "$u" "$secret" "$(event e2 job.metric "$id" '{"step":5,"loss":0.94450000000000001}')")" = 200 ] ||
                fail "metric refused"
        [ "$(sign_post "$u" "$secret" "$(event e2b job.metric "$id" '{"step":6}')")" = 200 ] ||
                fail "metric refused"
        hoist status "$id" | grep_q -xF 'metrics:   step=6 loss=0.9445' ||
                fail "status: $(hoist status "$id")"
        j=$(hoist status -o json "$id")
        [[ $j == *'"loss": 0.9445'* ]] || fail "status -o json: $j"
        # tampered body: the signature is over the original
        [ "$(sign_post "$u" "$secret" "$(event e3 job.failed "$id")" "" \
                "$(sign_post_sig_of "$secret" "$(event e3 job.succeeded "$id")")")" = 401 ] ||
                fail "a bad signature was accepted"
        # a wrong secret, an old timestamp
        [ "$(sign_post "$u" "whsec_$(head -c 32 /dev/urandom | base64 -w0)" "$(event e4 job.failed "$id")")" = 401 ] ||
                fail "a wrong secret was accepted"
        [ "$(sign_post "$u" "$secret" "$(event e5 job.failed "$id")" "$(($(date +%s) - 600))")" = 401 ] ||
                fail "an old timestamp was accepted"
        s=$(job_field "$id" state)
        [ "$s" = running ] || fail "a rejected event moved the job to $s: $(hoist status "$id")"
        # the final event, twice: applied once
        fin=$(event e6 job.failed "$id" '{"exit_code":7,"signal":0,"reason":"loss diverged"}')
        [ "$(sign_post "$u" "$secret" "$fin")" = 200 ] || fail "failed refused"
        [ "$(sign_post "$u" "$secret" "$fin")" = 200 ] || fail "duplicate refused"
        [ "$(job_field "$id" state)" = failed ] || fail "state $(job_field "$id" state)"
        [ "$(job_field "$id" exit_code)" = 7 ] || fail "exit code $(job_field "$id" exit_code)"
        [ "$(job_field "$id" reason)" = "loss diverged" ] || fail "reason $(job_field "$id" reason)"
        n=$(sqlite3 "$HOIST_HOME/hoist.db" "SELECT count(*) FROM events WHERE job_id = '$id'")
        [ "$n" = 4 ] || fail "$n events stored, want 4 (running, 2 metrics, failed once)"
        n=$(sqlite3 "$HOIST_HOME/hoist.db" "SELECT count(*) FROM transitions WHERE job_id = '$id' AND to_state = 'failed'")
        [ "$n" = 1 ] || fail "$n transitions to failed"
        [ "$(sign_post "$u" "$secret" "$(event e7 job.running j-000000000000)")" = 404 ] ||
                fail "an unknown job was accepted"
        kill "$SERVE_PID"
        wait "$SERVE_PID" 2>/dev/null || true
        # outside the allowlist
        start_serve --webhook-allow 10.0.0.0/8
        [ "$(sign_post "$SERVE_URL/hooks/events" "$secret" "$(event e8 job.running "$id")")" = 403 ] ||
                fail "a source outside --webhook-allow was accepted"
        hoist cancel "$id" >/dev/null 2>&1 || true
}

# The signature of BODY, as a receiver for another body would see it.
sign_post_sig_of() {
        python3 - "$1" "$2" <<'PY'
import base64, hashlib, hmac, json, sys, time
secret, body = sys.argv[1:3]
key = base64.b64decode(secret[len("whsec_"):])
eid, ts = json.loads(body)["id"], str(int(time.time()))
print("v1," + base64.b64encode(hmac.new(key, f"{eid}.{ts}.{body}".encode(), hashlib.sha256).digest()).decode())
PY
}

# On the built-in endpoint the runner adds hoist serve's own receiver, and
# job.yaml's webhooks get their secret from the variable secret_env names.
t_builtin_follows_live() {
        new_home
        unset HOIST_STORAGE
        export HOIST_CONTAINER_ENGINE=none
        p=$(free_port)
        secret=$(new_secret)
        start_receiver "$p" "$secret" "$T_TMP/b.r"
        mkdir -p "$T_TMP/bj"
        cat >"$T_TMP/bj/job.yaml" <<YAML
name: evt-builtin
runtime: process
command: ["sh", "-c", "echo '{\"step\": 1, \"loss\": 0.5}'; echo done"]
webhooks:
  - url: http://127.0.0.1:$p/mine
    events: [job.metric, job.succeeded]
    secret_env: EVT_TEST_SECRET
YAML
        ! hoist submit -q "$T_TMP/bj/job.yaml" >/dev/null 2>"$T_TMP/b.err" ||
                fail "submitted without the secret's variable"
        grep -q "secret_env 'EVT_TEST_SECRET' is not set in the environment" "$T_TMP/b.err" ||
                fail "$(cat "$T_TMP/b.err")"
        id=$(EVT_TEST_SECRET=$secret hoist submit -q "$T_TMP/bj/job.yaml")
        hoist logs -f "$id" >/dev/null 2>&1 || fail "job failed"
        [ "$(job_field "$id" state)" = succeeded ] || fail "state $(job_field "$id" state)"
        wait_for 30 grep -q job.succeeded "$T_TMP/b.r" || fail "job.yaml's webhook got nothing"
        [ "$(grep -c '"verified":true' "$T_TMP/b.r")" = 2 ] || fail "$(cat "$T_TMP/b.r")"
        types=$(sqlite3 "$HOIST_HOME/hoist.db" "SELECT type FROM events WHERE job_id = '$id' ORDER BY seq" | tr '\n' ' ')
        case $types in
        "job.starting job.running "*"job.succeeded ") ;;
        *) fail "hoist serve received: $types" ;;
        esac
        ! grep -rq "$secret" "$HOIST_HOME/hoist.db" "$HOIST_HOME/serve/data" 2>/dev/null ||
                fail "the secret was stored"
        ! grep -rq "${secret#whsec_}" "$HOIST_HOME/serve/data" 2>/dev/null || fail "the secret was stored"
}

# The same from a container: the entrypoint as PID 1 under podman reports to
# hoist serve through the host network the built-in endpoint needs anyway.
t_podman_reports_to_serve() {
        new_home
        unset HOIST_STORAGE
        export HOIST_CONTAINER_ENGINE=podman
        IMAGE=localhost/hoist-it-events:$$
        "$T_ROOT/tests/peers/podman-image.sh" "$IMAGE" "$HOIST_BUILD/hoist-entrypoint-bundle.tar" \
                "$HOIST_BIN/hoist-quickstart" >/dev/null
        t_defer "podman rmi -f $IMAGE >/dev/null 2>&1"
        mkdir -p "$T_TMP/pj"
        cat >"$T_TMP/pj/job.yaml" <<YAML
name: evt-podman
image: $IMAGE
command: ["sh", "-c", "echo '{\"step\": 3, \"loss\": 0.1}'; env | grep -c HOIST_HOOKS || true"]
YAML
        id=$(hoist submit -q "$T_TMP/pj/job.yaml")
        hoist logs -f "$id" >"$T_TMP/pj.log" 2>&1 || { cat "$T_TMP/pj.log"; fail "job failed"; }
        [ "$(job_field "$id" runtime)" = podman ] || fail "not podman"
        grep -qx 0 "$T_TMP/pj.log" || fail "the command saw HOIST_HOOKS_*: $(cat "$T_TMP/pj.log")"
        types=$(sqlite3 "$HOIST_HOME/hoist.db" "SELECT type FROM events WHERE job_id = '$id' ORDER BY seq" | tr '\n' ' ')
        case $types in
        "job.starting job.running "*"job.metric "*"job.succeeded ") ;;
        *) fail "hoist serve received: $types" ;;
        esac
}

t_run "receiver down for the first half: every event once, in order, verified" t_receiver_down_first_half
t_run "no secret: unsigned with a warning; a bad secret stops the job" t_unsigned_and_bad_secret
t_run "hoist serve /hooks/events: signature, timestamp, dedup, allowlist, store" t_serve_receiver
t_run "built-in endpoint: the store follows the job's events; job.yaml webhooks" t_builtin_follows_live
t_run "under podman: the entrypoint as PID 1 reports to hoist serve" t_podman_reports_to_serve
t_finish
