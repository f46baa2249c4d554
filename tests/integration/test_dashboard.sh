#!/usr/bin/env bash
# The dashboard (docs/dashboard.md): hoist serve's static files with their
# headers, and a real browser (Debian's chromium, headless, driven by npm
# playwright-core) on a running quickstart job: the token form, the job
# listed, its loss chart gaining points and its log growing while it runs,
# cancel from the page, the cost view, a phone's width, `hoist serve
# --open`'s URL, and no console error anywhere.  Screenshots go to
# $HOIST_TEST_ARTIFACTS/dashboard (default build/artifacts/dashboard).
. "$(dirname "$0")/lib.sh"

export HOIST_CONTAINER_ENGINE=none
NODE_DIR=$T_ROOT/tests/peers/node
ARTIFACTS=${HOIST_TEST_ARTIFACTS:-$T_ROOT/build/artifacts}/dashboard

setup_browser() {
        [ -x /usr/bin/chromium ] || { echo "no /usr/bin/chromium: run scripts/deps.sh (Debian package chromium)"; return 1; }
        if [ ! -d "$NODE_DIR/node_modules/playwright-core" ]; then
                npm ci --prefix "$NODE_DIR" --no-audit --no-fund || { echo "cannot install npm playwright-core"; return 1; }
        fi
}
t_setup "chromium and npm playwright-core" setup_browser

serve_pid() { sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$HOIST_HOME/serve/serve.json"; }
serve_endpoint() { sed -n 's/.*"endpoint": *"\([^"]*\)".*/\1/p' "$HOIST_HOME/serve/serve.json"; }

# start_serve [ARGS]: hoist serve on a free loopback port, stopped at the
# end of the test; its stdout in $T_TMP/serve.out.
start_serve() {
        hoist serve --listen 127.0.0.1:0 "$@" >"$T_TMP/serve.out" 2>"$T_TMP/serve.err" &
        local pid=$!
        t_defer "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
        wait_for 30 test -s "$HOIST_HOME/serve/serve.json" || { cat "$T_TMP/serve.err"; fail "hoist serve did not start"; }
        EP=$(serve_endpoint)
}

# header FILE NAME: a header's value in a curl -D dump.
header() { sed -n "s/^$2: *//Ip" "$1" | tr -d '\r' | sed -n 1p; }

t_static_files() {
        new_home
        start_serve
        curl -sS -D "$T_TMP/h" -o "$T_TMP/index.html" "$EP/"
        grep -q '^HTTP/1.1 200' "$T_TMP/h" || fail "GET /: $(head -1 "$T_TMP/h")"
        [ "$(header "$T_TMP/h" Content-Type)" = "text/html; charset=utf-8" ] || fail "Content-Type of /: $(header "$T_TMP/h" Content-Type)"
        header "$T_TMP/h" Content-Security-Policy | grep_q "script-src 'self';" || fail "no strict CSP: $(cat "$T_TMP/h")"
        header "$T_TMP/h" Content-Security-Policy | grep_q "default-src 'none'" || fail "CSP does not default to none"
        # No inline script: every <script> names a file that is served.
        ! grep -q '<script>' "$T_TMP/index.html" || fail "index.html has an inline script"
        ! grep -qi 'https\?://' "$T_TMP/index.html" || fail "index.html refers to another site: $(grep -io 'https\?://[^"]*' "$T_TMP/index.html")"
        for f in $(grep -o '/_ui/[a-z0-9_.-]*' "$T_TMP/index.html"); do
                curl -sS -f -o /dev/null "$EP$f" || fail "$f, named in index.html, is not served"
        done
        curl -sS -D "$T_TMP/j" -o "$T_TMP/app.js" "$EP/_ui/app.js"
        [ "$(header "$T_TMP/j" Content-Type)" = "text/javascript; charset=utf-8" ] || fail "Content-Type of app.js: $(header "$T_TMP/j" Content-Type)"
        cmp -s "$T_TMP/app.js" "$T_ROOT/runner/serve/ui/app.js" || fail "app.js served is not runner/serve/ui/app.js"
        for m in $(grep -ho "from '\./[a-z0-9_-]*\.js'" "$T_ROOT"/runner/serve/ui/*.js | sort -u | sed "s/from '\.\/\(.*\)'/\1/"); do
                curl -sS -f -o /dev/null "$EP/_ui/$m" || fail "module $m, imported by the dashboard, is not served"
        done
        etag=$(header "$T_TMP/j" ETag)
        [ -n "$etag" ] && [ "$(header "$T_TMP/j" Cache-Control)" = no-cache ] || fail "app.js: ETag '$etag', Cache-Control '$(header "$T_TMP/j" Cache-Control)'"
        code=$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$EP/_ui/app.js")
        [ "$code" = 304 ] || fail "If-None-Match with the ETag got $code, not 304"
        code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'If-None-Match: "other"' "$EP/_ui/app.js")
        [ "$code" = 200 ] || fail "If-None-Match with another ETag got $code"
        curl -sS -I -o "$T_TMP/head" "$EP/_ui/app.css"
        [ "$(header "$T_TMP/head" Content-Type)" = "text/css; charset=utf-8" ] || fail "HEAD app.css: $(cat "$T_TMP/head")"
        code=$(curl -sS -o /dev/null -w '%{http_code}' "$EP/_ui/nothing.js")
        [ "$code" = 404 ] || fail "an unknown /_ui/ file got $code"
        # S3 keeps what is signed: an Authorization header or a presigned
        # query goes to the S3 endpoint, never to the dashboard.
        curl -sS -o "$T_TMP/s3" -H 'Authorization: AWS4-HMAC-SHA256 Credential=x' "$EP/"
        grep_q '<Error>' <"$T_TMP/s3" || fail "GET / with Authorization did not reach S3: $(head -c 200 "$T_TMP/s3")"
        curl -sS -o "$T_TMP/s3q" "$EP/_ui/app.js?X-Amz-Signature=00"
        grep_q '<Error>' <"$T_TMP/s3q" || fail "a presigned GET did not reach S3: $(head -c 200 "$T_TMP/s3q")"
        code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$EP/")
        [ "$code" != 200 ] || fail "POST / was answered 200"
}

# The quickstart trainer, long enough to be running while the browser looks.
# Its lines pass through a loop that stamps each with the wall clock in ms
# (STAMPS) as the trainer prints it, for the print-to-chart measure.
write_job() { # DIR
        mkdir -p "$1"
        cp -r "$T_ROOT/examples/quickstart/data" "$1/data"
        cat >"$1/stamp.sh" <<'SH'
hoist-quickstart train | while IFS= read -r l; do
        printf '%s\n' "$l"
        printf '%s %s\n' "$(date +%s%3N)" "$l" >>"$STAMPS"
done
SH
        cat >"$1/job.yaml" <<YAML
name: quickstart-dashboard
runtime: process
command: ["sh", "$1/stamp.sh"]
env: {STAMPS: "$1/stamps"}
inputs:
  train: data/
hyperparameters:
  steps: 2000000
  lr: 0.05
  hidden: 16
  seed: 7
  checkpoint_every: 5000
  log_every: 100
  sleep_ms: 4
limits:
  max_runtime: 10m
  stop_grace: 10s
YAML
}

t_browser() {
        new_home
        # The default storage, hoist serve's own endpoint: a job there also
        # reports its events to hoist serve (docs/job.md), which is what the
        # API's live views read.
        unset HOIST_STORAGE
        start_serve --open
        wait_for 30 grep -q '#token=' "$T_TMP/serve.out" || fail "hoist serve --open printed no URL: $(cat "$T_TMP/serve.out")"
        open_url=$(sed -n 's/^hoist serve: dashboard \(http:[^ ]*#token=[0-9a-f]*\)$/\1/p' "$T_TMP/serve.out")
        token=$(cat "$HOIST_HOME/serve/api.token")
        [ "$open_url" = "$EP/#token=$token" ] || fail "--open printed '$open_url'"
        # With hoist serve running, --open names the running one and exits.
        again=$(hoist serve --open) || fail "hoist serve --open beside a running one failed: $again"
        [ "$again" = "hoist serve: dashboard $open_url" ] || fail "--open beside a running serve printed '$again'"
        # A rate of our own for this machine (docs/cost.md): the cost view
        # shows it beside the job.
        cat >"$HOIST_HOME/prices.yaml" <<'YAML'
prices:
  - provider: local
    unit: cpu-hour
    price: 0.50
    source: "test_dashboard.sh"
YAML
        # And a daily spending limit (docs/cost.md), drawn as a line there.
        printf 'spending_limits:\n  - {period: day, amount: 0.25, currency: USD, action: warn}\n' \
                >>"$HOIST_HOME/config.yaml"
        write_job "$T_TMP/qs"
        id=$(hoist submit -q "$T_TMP/qs/job.yaml")
        wait_for 60 state_is "$id" running || fail "the job is $(job_field "$id" state), not running"
        wait_for 60 grep -q '"loss"' "$T_TMP/qs/stamps" || fail "the trainer printed no metrics"
        mkdir -p "$ARTIFACTS"
        if ! node "$T_ROOT/tests/peers/dashboard_browser.js" "$EP" "$token" "$id" "$T_TMP/qs/stamps" "$ARTIFACTS" \
                "$open_url" >"$ARTIFACTS/browser.log" 2>&1; then
                cat "$ARTIFACTS/browser.log"
                hoist status "$id" >&2 || true
                cp "$T_TMP/serve.err" "$ARTIFACTS/serve.err" 2>/dev/null || true
                fail "the browser run failed (serve's log: $(tail -3 "$T_TMP/serve.err"))"
        fi
        wait_for 30 state_is "$id" canceled || fail "after cancel in the UI the job is $(job_field "$id" state)"
        # The token went to the browser, never to a log.
        ! grep -rqF "$token" "$T_TMP/serve.err" "$HOIST_HOME/run" "$HOIST_HOME/serve"/*.log 2>/dev/null ||
                fail "the API token is in a log: $(grep -rlF "$token" "$T_TMP/serve.err" "$HOIST_HOME/run" "$HOIST_HOME/serve"/*.log)"
}

t_run "static files: types, ETag, CSP, S3 keeps signed requests" t_static_files
t_run "browser: list, live chart and log, cancel, cost, phone, --open" t_browser
# What the browser run measured (the print-to-chart delay) and where its
# screenshots are.
[ ! -s "$ARTIFACTS/browser.log" ] || grep '^#' "$ARTIFACTS/browser.log"
echo "# artifacts: $ARTIFACTS"
t_finish
