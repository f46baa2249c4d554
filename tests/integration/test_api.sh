#!/usr/bin/env bash
# hoist serve's REST API (/api/v1, docs/api.md) against a real hoist serve
# and real process jobs on its built-in storage: every route, the token
# (refused without it or with a wrong one, never in the log), cancel and
# resume, SSE follow of logs and events (in order, resumed with
# Last-Event-ID), and every path of its openapi.json answered.
. "$(dirname "$0")/lib.sh"

export HOIST_CONTAINER_ENGINE=none

# One hoist serve for the suite, on a free port; jobs use its storage.
start_serve() {
        HOIST_HOME=$T_TMP/home
        mkdir -p "$HOIST_HOME"
        export HOIST_HOME
        unset HOIST_STORAGE
        echo 'consent: allow' >"$HOIST_HOME/config.yaml"
        # a rate, so that jobs have a cost (docs/cost.md)
        printf 'prices:\n  - provider: local\n    unit: cpu-hour\n    price: 36\n    source: "test rate"\n' \
                >"$HOIST_HOME/prices.yaml"
        hoist serve --listen 127.0.0.1:0 >"$T_TMP/serve.log" 2>&1 &
        echo $! >"$T_TMP/serve.pid"
        wait_for 30 test -s "$HOIST_HOME/serve/serve.json" || { cat "$T_TMP/serve.log"; return 1; }
        EP=$(sed -n 's/.*"endpoint": *"\([^"]*\)".*/\1/p' "$HOIST_HOME/serve/serve.json")
        TOKEN=$(hoist serve --print-token)
        echo "EP=$EP" >"$T_TMP/env"
        [ -n "$EP" ] && [ ${#TOKEN} = 64 ]
}
t_setup "hoist serve" start_serve
t_defer_serve() { kill "$(cat "$T_TMP/serve.pid")" 2>/dev/null || true; }
T_CLEANUPS+=("t_defer_serve")

# api METHOD PATH [CURL-ARGS...]: the body in $T_TMP/body, the status printed.
api() {
        local method=$1 path=$2
        shift 2
        curl -s -o "$T_TMP/body" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $TOKEN" \
                "$@" "$EP$path"
}
# jq_ EXPR: a Python expression over the last body (as j).
jq_() { python3 -c "import json,sys; j=json.load(open('$T_TMP/body')); print($1)"; }
expect() { # STATUS METHOD PATH [CURL-ARGS...]
        local want=$1 got
        shift
        got=$(api "$@")
        [ "$got" = "$want" ] || fail "$1 $2: $got, not $want: $(head -c 400 "$T_TMP/body")"
}

# A job that prints log lines and metrics (step, loss) for STEPS steps,
# PAUSE seconds apart, and writes an output; waits for a file GO first
# when given.
write_job() { # DIR NAME STEPS PAUSE [GO]
        mkdir -p "$1"
        local wait=""
        [ -z "${5:-}" ] || wait="while [ ! -e $5 ]; do sleep 0.1; done;"
        cat >"$1/job.yaml" <<YAML
name: $2
runtime: process
command: ["sh", "-c", "$wait i=1; while [ \$i -le $3 ]; do echo \"line \$i\"; echo \"{\\\\\"step\\\\\": \$i, \\\\\"loss\\\\\": 0.\$i}\"; sleep $4; i=\$((i+1)); done; echo weights >\$HOIST_MODEL_DIR/weights.txt"]
limits: {stop_grace: 10s}
YAML
}
submit() { hoist submit -q "$1/job.yaml"; }
finished() { api GET "/api/v1/jobs/$1" >/dev/null && [ "$(jq_ "j['state']")" = "$2" ]; }
billed() { api GET "/api/v1/jobs/$1" >/dev/null && jq_ "(j['cost'] or {}).get('billed') is not None or exit(1)" >/dev/null; }

t_auth() {
        local got
        got=$(curl -s -o "$T_TMP/body" -w '%{http_code}' "$EP/api/v1/jobs")
        [ "$got" = 401 ] || fail "no token: $got"
        [ "$(jq_ "j['error']['code']")" = unauthorized ] || fail "$(cat "$T_TMP/body")"
        # the token with its last character changed (to one it is not)
        local wrong=${TOKEN%?}0
        [ "$wrong" != "$TOKEN" ] || wrong=${TOKEN%?}1
        got=$(curl -s -o "$T_TMP/body" -w '%{http_code}' -H "Authorization: Bearer $wrong" "$EP/api/v1/jobs")
        [ "$got" = 401 ] || fail "wrong token: $got"
        got=$(curl -s -o "$T_TMP/body" -w '%{http_code}' -H "Authorization: Basic $TOKEN" "$EP/api/v1/jobs")
        [ "$got" = 401 ] || fail "Basic: $got"
        # never from the query string
        got=$(curl -s -o "$T_TMP/body" -w '%{http_code}' "$EP/api/v1/jobs?token=$TOKEN")
        [ "$got" = 401 ] || fail "token in the query: $got"
        got=$(curl -s -o "$T_TMP/body" -w '%{http_code}' "$EP/api/v1/openapi.json")
        [ "$got" = 401 ] || fail "openapi.json without a token: $got"
        expect 200 GET /api/v1/jobs
        [ "$(stat -c %a "$HOIST_HOME/serve/api.token")" = 600 ] || fail "api.token is not 0600"
        [ "$(cat "$HOIST_HOME/serve/api.token")" = "$TOKEN" ] || fail "--print-token differs from api.token"
        # no CORS
        curl -s -D "$T_TMP/headers" -o /dev/null -H "Origin: http://evil.example" \
                -H "Authorization: Bearer $TOKEN" "$EP/api/v1/jobs"
        ! grep -qi '^access-control' "$T_TMP/headers" || fail "CORS headers: $(cat "$T_TMP/headers")"
}

t_errors() {
        expect 404 GET /api/v1/nope
        [ "$(jq_ "j['error']['code']")" = not_found ] || fail "$(cat "$T_TMP/body")"
        expect 404 GET /api/v1/jobs/j-000000000000
        expect 400 GET "/api/v1/jobs?state=bogus"
        jq_ "j['error']['message']" | grep_q "'state'" || fail "$(cat "$T_TMP/body")"
        expect 400 GET "/api/v1/jobs?limit=0"
        expect 400 GET "/api/v1/jobs?limit=1&limit=2"
        expect 400 GET "/api/v1/jobs?colour=red"
        jq_ "j['error']['message']" | grep_q "colour" || fail "$(cat "$T_TMP/body")"
        expect 400 GET "/api/v1/jobs?q=%zz"
        expect 405 PUT /api/v1/jobs
        expect 405 GET /api/v1/jobs/j-000000000000/cancel
        # the S3 endpoint keeps its own auth, and no bucket may be named "api"
        got=$(curl -s -o /dev/null -w '%{http_code}' "$EP/hoist/")
        [ "$got" = 403 ] || fail "S3 without a signature: $got"
        ak=$(sed -n 's/.*"access_key": *"\([^"]*\)".*/\1/p' "$HOIST_HOME/serve/owner.json")
        sk=$(sed -n 's/.*"secret_key": *"\([^"]*\)".*/\1/p' "$HOIST_HOME/serve/owner.json")
        got=$(curl -s -o "$T_TMP/body" -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" \
                --user "$ak:$sk" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$EP/api")
        [ "$got" = 400 ] || fail "create bucket 'api': $got $(cat "$T_TMP/body")"
        grep -q reserved "$T_TMP/body" || fail "$(cat "$T_TMP/body")"
        got=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" \
                --user "$ak:$sk" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$EP/apis")
        [ "$got" = 200 ] || fail "create bucket 'apis': $got"
}

t_job_routes() {
        write_job "$T_TMP/a" api-done 3 0.3
        id=$(submit "$T_TMP/a")
        wait_for 60 finished "$id" succeeded || fail "job did not succeed: $(cat "$T_TMP/body")"
        # the list, its filters and its pages
        expect 200 GET "/api/v1/jobs?state=succeeded&name=api-done"
        [ "$(jq_ "[x['id'] for x in j['jobs']]")" = "['$id']" ] || fail "$(cat "$T_TMP/body")"
        jq_ "j['jobs'][0]" >"$T_TMP/job"
        for k in name provider runtime state reason attempt nodes created_at_ms updated_at_ms \
                duration_ms cost last_metrics; do
                jq_ "'$k' in j['jobs'][0] or exit(1)" >/dev/null || fail "JOB has no '$k': $(cat "$T_TMP/job")"
        done
        [ "$(jq_ "j['jobs'][0]['provider']")" = local ] || fail "$(cat "$T_TMP/job")"
        [ "$(jq_ "j['jobs'][0]['last_metrics']['step']")" = 3 ] || fail "last_metrics: $(cat "$T_TMP/job")"
        [ "$(jq_ "j['jobs'][0]['nodes']")" = 1 ] || fail "nodes: $(cat "$T_TMP/job")"
        expect 200 "GET" "/api/v1/jobs?state=running,failed&name=api-done"
        [ "$(jq_ "len(j['jobs'])")" = 0 ] || fail "$(cat "$T_TMP/body")"
        expect 200 GET "/api/v1/jobs?q=${id:2:6}&provider=local"
        [ "$(jq_ "[x['id'] for x in j['jobs']]")" = "['$id']" ] || fail "q: $(cat "$T_TMP/body")"
        expect 200 GET "/api/v1/jobs?since=$(($(date +%s) * 1000 + 60000))"
        [ "$(jq_ "len(j['jobs'])")" = 0 ] || fail "since: $(cat "$T_TMP/body")"
        # one job
        expect 200 GET "/api/v1/jobs/$id"
        [ "$(jq_ "j['spec']['id']")" = "$id" ] || fail "spec: $(head -c 600 "$T_TMP/body")"
        [ "$(jq_ "[t['to'] for t in j['transitions']][-1]")" = succeeded ] || fail "transitions"
        [ "$(jq_ "len(j['nodes_list'])")" = 1 ] || fail "nodes_list: $(jq_ "j['nodes_list']")"
        node=$(jq_ "j['nodes_list'][0]")
        [ "$(jq_ "j['attempts']")" = 1 ] || fail "attempts"
        url=$(jq_ "[o['url'] for o in j['outputs'] if o['path'].endswith('weights.txt')][0]")
        [ "$(curl -s -H "Authorization: Bearer $TOKEN" "$EP$url")" = weights ] || fail "output $url"
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$EP$url")" = 401 ] || fail "output without a token"
        expect 404 GET "/api/v1/jobs/$id/outputs/model/none.txt"
        expect 400 GET "/api/v1/jobs/$id/outputs/model/%2e%2e/%2e%2e/job.json"
        # events, a page at a time
        expect 200 GET "/api/v1/jobs/$id/events?limit=2"
        [ "$(jq_ "len(j['events'])")" = 2 ] || fail "events: $(cat "$T_TMP/body")"
        after=$(jq_ "j['next_after']")
        [ "$after" = "$(jq_ "j['events'][1]['seq']")" ] || fail "next_after"
        expect 200 GET "/api/v1/jobs/$id/events?after=$after&limit=1000"
        jq_ "[e['type'] for e in j['events']]" | grep_q "job.succeeded" || fail "$(cat "$T_TMP/body")"
        jq_ "all(e['seq'] > $after for e in j['events']) or exit(1)" >/dev/null || fail "after"
        # logs: a range, the tail
        expect 200 GET "/api/v1/jobs/$id/logs"
        jq_ "j['text']" | grep_q "stdout|line 3" || fail "log: $(cat "$T_TMP/body")"
        size=$(jq_ "j['next_offset']")
        [ "$(jq_ "j['node']")" = "$node" ] || fail "node: $(jq_ "j['node']"), not $node"
        expect 200 GET "/api/v1/jobs/$id/logs?node=$node&tail=2"
        expect 200 GET "/api/v1/jobs/$id/logs?node=node7"
        [ "$(jq_ "j['text']")" = "" ] || fail "a node with no log: $(cat "$T_TMP/body")"
        expect 200 GET "/api/v1/jobs/$id/logs?offset=5&limit=10"
        [ "$(jq_ "j['offset']"),$(jq_ "j['next_offset']")" = "5,15" ] || fail "range: $(cat "$T_TMP/body")"
        expect 200 GET "/api/v1/jobs/$id/logs?tail=1"
        [ "$(jq_ "j['next_offset']")" = "$size" ] || fail "tail end: $size $(cat "$T_TMP/body")"
        [ "$(jq_ "j['text'].count(chr(10))")" = 1 ] || fail "tail=1: $(cat "$T_TMP/body")"
        expect 400 GET "/api/v1/jobs/$id/logs?node=../x"
        # metrics
        expect 200 GET "/api/v1/jobs/$id/metrics"
        jq_ "j['keys']" | grep_q "'loss'" || fail "keys: $(cat "$T_TMP/body")"
        jq_ "[s for s in j['series'] if s['key'] == 'loss'][0]['points'][-1][0]" | grep_q -x 3 || fail "$(cat "$T_TMP/body")"
        expect 200 GET "/api/v1/jobs/$id/metrics?key=loss&points=2"
        jq_ "all(len(s['points']) <= 2 for s in j['series']) and len(j['series']) > 0 or exit(1)" >/dev/null ||
                fail "points=2: $(cat "$T_TMP/body")"
        # cost: the job's, and the report exactly as 'hoist cost -o json' prints it
        # (billed a moment after the state changes: whoever saw it end settles it)
        wait_for 30 billed "$id" || fail "cost: $(jq_ "j['cost']")"
        [ "$(jq_ "j['cost']['currency']")" = USD ] || fail "cost: $(jq_ "j['cost']")"
        jq_ "(j['cost']['estimated'] or 0) + (j['cost']['billed'] or 0) > 0 or exit(1)" >/dev/null ||
                fail "cost: $(jq_ "j['cost']")"
        expect 200 GET "/api/v1/cost?provider=local"
        cp "$T_TMP/body" "$T_TMP/cost.api"
        hoist cost -o json --provider local >"$T_TMP/cost.cli" || fail "hoist cost"
        python3 -c "
import json,sys
a=json.load(open('$T_TMP/cost.api')); c=json.load(open('$T_TMP/cost.cli'))
assert set(a) == set(c), (sorted(a), sorted(c))
assert [j['id'] for j in a['jobs']] == [j['id'] for j in c['jobs']], (a['jobs'], c['jobs'])
assert '$id' in [j['id'] for j in a['jobs']]
" || fail "GET /api/v1/cost differs from hoist cost -o json"
        expect 400 GET "/api/v1/cost?since=yesterday"
        # a finished job cannot be canceled; a succeeded one resumes only with force
        expect 409 POST "/api/v1/jobs/$id/cancel"
        [ "$(jq_ "j['error']['code']")" = conflict ] || fail "$(cat "$T_TMP/body")"
        expect 409 POST "/api/v1/jobs/$id/resume"
        expect 400 POST "/api/v1/jobs/$id/resume" -d '{"force": "yes"}'
}

t_cancel_resume() {
        write_job "$T_TMP/c" api-cancel 1000 0.2
        id=$(submit "$T_TMP/c")
        wait_for 60 finished "$id" running || fail "job did not start"
        expect 409 POST "/api/v1/jobs/$id/resume"
        # every state change reaches GET /api/v1/jobs/stream, whoever made it
        follow_job "$id" canceled 1
        expect 200 POST "/api/v1/jobs/$id/cancel"
        [ "$(jq_ "j['state']")" = canceled ] || fail "after cancel: $(cat "$T_TMP/body")"
        followed
        state_is "$id" canceled || fail "hoist status says $(job_field "$id" state)"
        follow_job "$id" "" 2
        expect 200 POST "/api/v1/jobs/$id/resume" -H 'Content-Type: application/json' -d '{}'
        [ "$(jq_ "j['attempt']")" = 2 ] || fail "after resume: $(cat "$T_TMP/body")"
        followed
        wait_for 60 finished "$id" running || fail "attempt 2 did not run"
        # a cancel meant for attempt 1 (late, after this resume) stops nothing
        ! hoist cancel --attempt 1 "$id" >"$T_TMP/c/late" 2>&1 || fail "a cancel of attempt 1 went through"
        grep -q "is at attempt 2 now, not 1; nothing was canceled" "$T_TMP/c/late" || fail "$(cat "$T_TMP/c/late")"
        state_is "$id" running || fail "after a late cancel attempt 2 is $(job_field "$id" state)"
        follow_job "$id" canceled 2
        hoist cancel "$id" >/dev/null || fail "hoist cancel $id"
        followed
        follow_job "$id" "" 3
        hoist submit -q --resume "$id" >/dev/null || fail "hoist submit --resume $id"
        followed
        wait_for 60 finished "$id" running || fail "attempt 3 did not run"
        expect 200 POST "/api/v1/jobs/$id/cancel"
        [ "$(jq_ "j['state']")" = canceled ] || fail "after cancel 3: $(cat "$T_TMP/body")"
}

# A job that takes SECONDS to stop after SIGTERM (within GRACE).
slow_stop_job() { # DIR NAME SECONDS GRACE
        mkdir -p "$1"
        cat >"$1/job.yaml" <<YAML
name: $2
runtime: process
command: ["sh", "-c", "trap 'sleep $3; exit 143' TERM; echo up; while :; do sleep 0.1; done"]
limits: {stop_grace: $4}
YAML
}

# A resume sent while a cancel is still stopping the job waits for it.
t_resume_while_stopping() {
        slow_stop_job "$T_TMP/s" api-slow-stop 2 20s
        id=$(submit "$T_TMP/s")
        wait_for 60 finished "$id" running || fail "job did not start"
        hoist cancel "$id" >"$T_TMP/s/cancel.out" 2>&1 &
        cancel=$!
        wait_for 30 test -e "$HOIST_HOME/run/$id/canceled-attempt" || fail "no cancel under way"
        expect 200 POST "/api/v1/jobs/$id/resume"
        [ "$(jq_ "j['attempt']")" = 2 ] || fail "after resume: $(cat "$T_TMP/body")"
        wait "$cancel" || fail "hoist cancel: $(cat "$T_TMP/s/cancel.out")"
        wait_for 60 finished "$id" running || fail "attempt 2 did not run"
        expect 200 POST "/api/v1/jobs/$id/cancel"
}

# A cancel from the API waits for the job to stop (its grace period); the
# server's worker threads go on serving everyone else meanwhile, the job's
# own webhooks and storage requests among them.
t_cancel_blocks_nothing() {
        slow_stop_job "$T_TMP/b" api-long-stop 8 30s
        id=$(submit "$T_TMP/b")
        wait_for 60 finished "$id" running || fail "job did not start"
        # 32 kept-alive connections, spread over the worker threads, then
        # the cancel (on one of them), then a request on each of the others
        python3 - "$EP" "$TOKEN" "/api/v1/jobs/$id/cancel" "$T_TMP/b" <<'PY' || fail "$(cat "$T_TMP/b/err")"
import http.client, os, sys, threading, urllib.parse
u = urllib.parse.urlparse(sys.argv[1]); auth = {"Authorization": "Bearer " + sys.argv[2]}
def get(c):
    c.request("GET", "/api/v1/openapi.json", headers=auth)
    r = c.getresponse(); r.read()
    return r.status
conns = [http.client.HTTPConnection(u.hostname, u.port, timeout=60) for _ in range(32)]
for c in conns:
    assert get(c) == 200
done = {}
def cancel():
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    c.request("POST", sys.argv[3], headers=auth)
    r = c.getresponse(); r.read(); done["status"] = r.status
t = threading.Thread(target=cancel); t.start()
mark = os.path.join(os.environ["HOIST_HOME"], "run", sys.argv[3].split("/")[4], "canceled-attempt")
while not os.path.exists(mark) and t.is_alive():
    t.join(0.05)
for i, c in enumerate(conns):
    s = get(c)
    if s != 200 or not t.is_alive():
        open(sys.argv[4] + "/err", "w").write("request %d on a kept connection: %s, the cancel %s" %
                                          (i, s, "still waiting" if t.is_alive() else "over: %s" % done))
        sys.exit(1)
t.join()
if done.get("status") != 200:
    open(sys.argv[4] + "/err", "w").write("cancel: %s" % done); sys.exit(1)
PY
        api GET "/api/v1/jobs/$id" >/dev/null
        [ "$(jq_ "j['state']")" = canceled ] || fail "after cancel: $(cat "$T_TMP/body")"
}

# follow_job ID STATE ATTEMPT: follows GET /api/v1/jobs/stream (from now)
# until job ID is in ATTEMPT (at STATE unless ""); followed waits for that.
follow_job() {
        local state=""
        [ -z "$2" ] || state="\"state\":\"$2\""
        python3 "$SSE" first "$EP/api/v1/jobs/stream?since=$(date +%s%3N)" "$TOKEN" job \
                "\"id\":\"$1\"" "\"attempt\":$3," ${state:+"$state"} >"$T_TMP/follow" \
                2>"$T_TMP/follow.err" &
        FOLLOW_PID=$!
        FOLLOW_WHAT="$1 $2 in attempt $3"
}
followed() {
        wait "$FOLLOW_PID" || fail "jobs stream: no $FOLLOW_WHAT: $(cat "$T_TMP/follow.err")"
}

SSE=$T_ROOT/tests/integration/api_sse.py

# Logs and events followed live: new lines and events in order, each once,
# across a disconnect and a resume with Last-Event-ID.
t_sse_follow() {
        write_job "$T_TMP/f" api-follow 30 0.1 "$T_TMP/f/go"
        id=$(submit "$T_TMP/f")
        wait_for 60 finished "$id" running || fail "job did not start"
        python3 "$SSE" logs "$EP/api/v1/jobs/$id/logs/stream" "$TOKEN" "line 5" >"$T_TMP/f/text" \
                2>"$T_TMP/f/err" &
        logs=$!
        python3 "$SSE" events "$EP/api/v1/jobs/$id/events/stream" "$TOKEN" 3 >"$T_TMP/f/seqs" \
                2>"$T_TMP/f/eerr" &
        evs=$!
        touch "$T_TMP/f/go"
        wait "$logs" || fail "logs stream: $(cat "$T_TMP/f/err")"
        wait "$evs" || fail "events stream: $(cat "$T_TMP/f/eerr")"
        grep -o 'stdout|line [0-9]*' "$T_TMP/f/text" | sed 's/.*line //' >"$T_TMP/f/lines"
        seq 1 30 | diff - "$T_TMP/f/lines" || fail "log lines not each once, in order"
        grep -q "attempt 1 finished: succeeded" "$T_TMP/f/text" || fail "the log's last line is missing"
        # the events as the paged route lists them: the same, each once, in order
        expect 200 GET "/api/v1/jobs/$id/events?limit=1000"
        jq_ "chr(10).join(str(e['seq']) for e in j['events'])" | diff - "$T_TMP/f/seqs" ||
                fail "the stream's events differ from the list's"
        expect 400 GET "/api/v1/jobs/$id/events/stream" -H "Last-Event-ID: x"
}

# Every job change and every new metric point, as it happens.
t_sse_jobs_metrics() {
        write_job "$T_TMP/m" api-live 400 0.1 "$T_TMP/m/go"
        # since: the changes from before the submit too, however late the client connects
        python3 "$SSE" first "$EP/api/v1/jobs/stream?since=$(date +%s%3N)" "$TOKEN" job '"name":"api-live"' \
                >"$T_TMP/m/job" 2>"$T_TMP/m/jerr" &
        jobs=$!
        id=$(submit "$T_TMP/m")
        wait "$jobs" || fail "jobs stream: $(cat "$T_TMP/m/jerr")"
        grep -q "\"id\":\"$id\"" "$T_TMP/m/job" || fail "$(cat "$T_TMP/m/job")"
        wait_for 60 finished "$id" running || fail "job did not start"
        python3 "$SSE" first "$EP/api/v1/jobs/$id/metrics/stream" "$TOKEN" metric '"key":"loss"' \
                >"$T_TMP/m/metric" 2>"$T_TMP/m/merr" &
        metrics=$!
        touch "$T_TMP/m/go"
        wait "$metrics" || fail "metrics stream: $(cat "$T_TMP/m/merr")"
        python3 -c "import json,sys; d=json.load(open('$T_TMP/m/metric')); sys.exit(not (d['step'] >= 1 and d['node'] and d['attempt'] == 1))" ||
                fail "$(cat "$T_TMP/m/metric")"
        expect 200 POST "/api/v1/jobs/$id/cancel"
}

# openapi.json describes what the server does: every path in it answers
# (with the token), none 404, 405 or 500.
t_openapi_every_path() {
        write_job "$T_TMP/o" api-openapi 2 0.1
        id=$(submit "$T_TMP/o")
        wait_for 60 finished "$id" succeeded || fail "job did not succeed"
        expect 200 GET /api/v1/openapi.json
        cp "$T_TMP/body" "$T_TMP/openapi.json"
        python3 - "$EP" "$TOKEN" "$id" "$T_TMP/openapi.json" <<'PY' || fail "see above"
import http.client, json, sys, urllib.parse
ep, token, job, path = sys.argv[1:5]
doc = json.load(open(path))
assert doc["openapi"].startswith("3."), doc["openapi"]
base = doc["servers"][0]["url"]
u = urllib.parse.urlsplit(ep)
bad = 0
for p, ops in sorted(doc["paths"].items()):
    for method, op in ops.items():
        url = base + p.replace("{id}", job).replace("{path}", "model/weights.txt")
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        c.request(method.upper(), url, headers={"Authorization": "Bearer " + token})
        r = c.getresponse()
        ctype = r.getheader("Content-Type", "")
        if ctype.startswith("text/event-stream"):
            r.fp.readline()  # a stream answers; its first bytes suffice
        else:
            r.read()
        c.close()
        declared = set(op["responses"])
        ok = str(r.status) in declared and r.status not in (404, 405, 500)
        print("%s %s %s -> %d %s" % ("ok" if ok else "BAD", method.upper(), url, r.status, ctype))
        bad += not ok
sys.exit(bad)
PY
}

t_token_not_logged() {
        ! grep -q "$TOKEN" "$T_TMP/serve.log" || fail "the token is in serve's log"
        ! grep -rq "$TOKEN" "$HOIST_HOME/hoist.db" || fail "the token is in the job store"
}

t_run "requests without the token, or with a wrong one, get 401; no CORS" t_auth
t_run "unknown routes, bad parameters and methods: JSON errors; bucket 'api' is reserved" t_errors
t_run "jobs list (filters), one job, outputs, events, logs, metrics" t_job_routes
t_run "cancel and resume from the API and the CLI, each seen on the jobs stream" t_cancel_resume
t_run "a resume while a cancel is stopping the job waits for it" t_resume_while_stopping
t_run "a cancel waiting for its job stalls no other request" t_cancel_blocks_nothing
t_run "SSE: logs and events in order, resumed with Last-Event-ID" t_sse_follow
t_run "SSE: every job's changes, a job's new metric points" t_sse_jobs_metrics
t_run "every path in openapi.json answers" t_openapi_every_path
t_run "the token is in no log" t_token_not_logged
t_finish
