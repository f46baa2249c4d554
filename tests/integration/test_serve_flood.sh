#!/usr/bin/env bash
# hoist serve under slow and idle clients (issue 14 item 8): 500 connections
# from 127.0.0.2 that send a request line and never finish it, while this
# machine's ordinary clients (127.0.0.1) still get S3 GETs and webhooks
# answered; the per-address limit refuses one address's excess while another
# address is served; a client that trickles its request head is dropped
# after --head-timeout, while a slow upload that keeps moving is not.
# No timing is asserted: every wait is a deadline.
. "$(dirname "$0")/lib.sh"

FLOOD=$T_ROOT/tests/tools/flood.py
command -v curl >/dev/null || { echo "not ok - curl missing (scripts/deps.sh)"; exit 1; }

# start_serve ARGS...: hoist serve on a free port of 127.0.0.1 in a new
# $HOIST_HOME; sets EP, PORT, SERVE_PID, AK, SK, SERVE_ERR.
start_serve() {
        local out=$T_TMP/serve.$RANDOM
        new_home
        "$HOIST_BIN/hoist" serve --listen 127.0.0.1:0 --print-credentials "$@" >"$out.out" 2>"$out.err" &
        SERVE_PID=$!
        SERVE_ERR=$out.err
        t_defer "kill -TERM $SERVE_PID 2>/dev/null; wait $SERVE_PID 2>/dev/null"
        wait_for 60 grep -q '^secret_key=' "$out.out" || fail "hoist serve did not start: $(cat "$out.err")"
        PORT=$(sed -n "s|^hoist serve: S3 endpoint http://127.0.0.1:\([0-9]*\) .*|\1|p" "$out.out")
        EP=http://127.0.0.1:$PORT
        AK=$(sed -n 's/^access_key=//p' "$out.out")
        SK=$(sed -n 's/^secret_key=//p' "$out.out")
        [ -n "$PORT" ] && [ -n "$AK" ] || fail "no endpoint or key in: $(cat "$out.out")"
}

s3curl() { # curl signed with the owner's key; prints "CODE" and the body to $T_TMP/body
        curl -s --max-time 30 -o "$T_TMP/body" -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
                --user "$AK:$SK" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

# A Standard Webhooks POST to /hooks/events for a job this store does not
# hold: the receiver verifies the signature, asks the store, and says 404.
webhook_status() {
        python3 - "$EP/hooks/events" "$(cat "$HOIST_HOME/serve/webhook_secret")" <<'PY'
import base64, hashlib, hmac, json, sys, time, urllib.request, urllib.error
url, secret = sys.argv[1:3]
body = json.dumps({"id": "flood-%d" % time.time_ns(), "type": "job.running",
                   "job_id": "j-000000000000", "node": "n", "time": "t", "status": None, "data": {}})
ts = str(int(time.time()))
eid = json.loads(body)["id"]
key = base64.b64decode(secret[len("whsec_"):])
sig = "v1," + base64.b64encode(hmac.new(key, f"{eid}.{ts}.{body}".encode(), hashlib.sha256).digest()).decode()
req = urllib.request.Request(url, data=body.encode(), method="POST", headers={
    "content-type": "application/json", "webhook-id": eid, "webhook-timestamp": ts,
    "webhook-signature": sig})
try:
    r = urllib.request.urlopen(req, timeout=30)
    print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
}

status_field() { sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$1" 2>/dev/null; }
# field_at_least FILE FIELD N
field_at_least() { local v; v=$(status_field "$1" "$2"); [ -n "$v" ] && [ "$v" -ge "$3" ]; }

start_hold() { # NAME COUNT SRC: sets HOLD_STATUS
        HOLD_STATUS=$T_TMP/$1.status
        python3 "$FLOOD" hold --port "$PORT" --count "$2" --src "$3" --status "$HOLD_STATUS" &
        t_defer "kill -TERM $! 2>/dev/null; wait $! 2>/dev/null"
}

t_flood_500() {
        start_serve --max-per-address 600 --head-timeout 600
        grep -q "takes up to [0-9]* connections (600 per client address; open-file limit [0-9]*), a request head within 600 s" "$SERVE_ERR" ||
                fail "no limits in the log: $(cat "$SERVE_ERR")"
        echo hello-flood >"$T_TMP/obj"
        [ "$(s3curl -T "$T_TMP/obj" "$EP/hoist/flood/obj")" = 200 ] || fail "PUT: $(cat "$T_TMP/body")"

        start_hold flood 500 127.0.0.2
        wait_for 120 field_at_least "$HOLD_STATUS" connected 500 || fail "flood: $(cat "$HOLD_STATUS")"
        [ "$(status_field "$HOLD_STATUS" open)" = 500 ] || fail "the server dropped some: $(cat "$HOLD_STATUS")"

        # While all 500 are open: an S3 GET and a webhook from 127.0.0.1.
        code=$(s3curl "$EP/hoist/flood/obj")
        [ "$code" = 200 ] && [ "$(cat "$T_TMP/body")" = hello-flood ] || fail "GET during the flood: $code"
        out=$(webhook_status)
        [[ "$out" == "404 "*"no job 'j-000000000000' here"* ]] || fail "webhook during the flood: $out"
        [ "$(status_field "$HOLD_STATUS" open)" = 500 ] || fail "flood connections closed: $(cat "$HOLD_STATUS")"

        # 150 more from the same address: the 50 over the limit of 600 are
        # refused (accepted, then closed at once); 127.0.0.1 is still served.
        start_hold over 150 127.0.0.2
        wait_for 120 field_at_least "$HOLD_STATUS" closed 50 || fail "over the limit: $(cat "$HOLD_STATUS")"
        [ "$(status_field "$HOLD_STATUS" open)" = 100 ] || fail "over the limit: $(cat "$HOLD_STATUS")"
        code=$(s3curl "$EP/hoist/flood/obj")
        [ "$code" = 200 ] || fail "GET with 127.0.0.2 at its limit: $code"
        [ "$(status_field "$T_TMP/flood.status" open)" = 500 ] || fail "first 500: $(cat "$T_TMP/flood.status")"
        kill -0 "$SERVE_PID" || fail "hoist serve died"
}

t_per_address_default() {
        start_serve
        start_hold def 200 127.0.0.4
        # The default limit (128, docs/serve.md) refuses the rest.
        wait_for 120 field_at_least "$HOLD_STATUS" closed 72 || fail "default limit: $(cat "$HOLD_STATUS")"
        [ "$(status_field "$HOLD_STATUS" open)" = 128 ] || fail "default limit: $(cat "$HOLD_STATUS")"
        code=$(s3curl "$EP/hoist/none")
        [ "$code" = 404 ] || fail "127.0.0.1 refused while 127.0.0.4 is at its limit: $code"
}

t_head_deadline() {
        start_serve --head-timeout 2
        # A trickling head is dropped; the idle timeout (300 s) is far off.
        python3 "$FLOOD" trickle --port "$PORT" --src 127.0.0.3 --every 0.3 --give-up 120 >"$T_TMP/trickle" ||
                fail "the trickling client was not dropped: $(cat "$T_TMP/trickle")"
        grep -q "^dropped after" "$T_TMP/trickle"
        # A slow upload whose head came at once keeps going past the deadline.
        head -c 1500000 /dev/urandom >"$T_TMP/big"
        code=$(s3curl --limit-rate 300k -T "$T_TMP/big" "$EP/hoist/flood/big")
        [ "$code" = 200 ] || fail "slow upload: $code $(cat "$T_TMP/body")"
        code=$(s3curl "$EP/hoist/flood/big")
        [ "$code" = 200 ] && cmp -s "$T_TMP/body" "$T_TMP/big" || fail "slow upload read back: $code"
}

t_bad_flags() {
        out=$("$HOIST_BIN/hoist" serve --max-per-address 0 2>&1) && fail "--max-per-address 0 accepted"
        grep -q "max-per-address needs a whole number 1-1000000, not '0'" <<<"$out" || fail "$out"
        out=$("$HOIST_BIN/hoist" serve --head-timeout x 2>&1) && fail "--head-timeout x accepted"
        grep -q "head-timeout needs a whole number 1-3600, not 'x'" <<<"$out" || fail "$out"
        "$HOIST_BIN/hoist" serve --help | grep_q -- "--max-per-address N"
}

t_run "500 idle connections from 127.0.0.2: S3 GET and webhook from 127.0.0.1 answered; over --max-per-address refused" t_flood_500
t_run "default per-address limit (128) refuses the rest, another address served" t_per_address_default
t_run "a trickled request head is dropped after --head-timeout; a slow upload is not" t_head_deadline
t_run "serve: bad limit flags are refused" t_bad_flags
t_finish
