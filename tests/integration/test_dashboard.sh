#!/usr/bin/env bash
# The dashboard (docs/dashboard.md): hoist serve's static files with their
# headers.
. "$(dirname "$0")/lib.sh"

export HOIST_CONTAINER_ENGINE=none

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
header() { sed -n "s/^$2: *//Ip" "$1" | tr -d '\r' | head -1; }

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

t_run "static files: types, ETag, CSP, S3 keeps signed requests" t_static_files
t_finish
