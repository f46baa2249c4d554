#!/usr/bin/env bash
# hoist serve on an address other machines reach (issue 12 item 5): only
# with TLS.  A test CA made with openssl signs the server's certificate;
# curl (SigV4) stores and reads an object over HTTPS, refuses the server
# without the CA, and plain HTTP to the TLS port gets nothing; this
# machine's own hoist keeps a plain listener on loopback (serve.json).
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || { echo "not ok - openssl missing"; exit 1; }
command -v curl >/dev/null || { echo "not ok - curl missing"; exit 1; }

# The environment may point curl at another CA bundle: the tests name theirs.
unset CURL_CA_BUNDLE SSL_CERT_FILE AWS_CA_BUNDLE

# A CA, and a server certificate for 127.0.0.1 signed by it.
make_certs() { # DIR
        local d=$1
        mkdir -p "$d"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=hoist test CA" \
                -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
                -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
        printf 'subjectAltName = IP:127.0.0.1\n' >"$d/ext.cnf"
        openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
                -CAcreateserial -days 2 -extfile "$d/ext.cnf" -out "$d/server.pem" 2>/dev/null
        chmod 600 "$d/server.key"
}

t_refuses_clear_text() {
        new_home
        local out rc=0
        out=$(hoist serve --listen 0.0.0.0:0 2>&1) || rc=$?
        [ "$rc" -eq 2 ] || fail "exit $rc, not 2: $out"
        grep_q -- "--listen '0.0.0.0:0' is reachable from other machines" <<<"$out" || fail "$out"
        grep_q -- "--tls-cert FILE and --tls-key FILE" <<<"$out" || fail "$out"
        [ ! -e "$HOIST_HOME/serve/serve.json" ] || fail "it started anyway"
        rc=0
        out=$(hoist serve --listen 0.0.0.0:0 --tls-cert "$T_TMP/x.pem" 2>&1) || rc=$?
        [ "$rc" -eq 2 ] || fail "exit $rc: $out"
        grep_q -- "--tls-cert and --tls-key go together" <<<"$out" || fail "$out"
        # A file that is no certificate is named.
        echo "not a cert" >"$T_TMP/bad.pem"
        make_certs "$T_TMP/c0"
        rc=0
        out=$(hoist serve --listen 0.0.0.0:0 --tls-cert "$T_TMP/bad.pem" \
                --tls-key "$T_TMP/c0/server.key" 2>&1) || rc=$?
        [ "$rc" -ne 0 ] || fail "it started with no certificate"
        grep_q -- "--tls-cert '$T_TMP/bad.pem' holds no PEM certificate" <<<"$out" || fail "$out"
        rc=0
        out=$(hoist serve --listen 0.0.0.0:0 --tls-cert "$T_TMP/c0/server.pem" \
                --tls-key "$T_TMP/missing.key" 2>&1) || rc=$?
        [ "$rc" -ne 0 ] || fail "it started with no key"
        grep_q -- "--tls-key '$T_TMP/missing.key'" <<<"$out" || fail "$out"
        # Loopback needs no TLS, as before.
        hoist serve --listen 127.0.0.1:0 >"$T_TMP/plain.out" 2>&1 &
        local pid=$!
        t_defer "kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null"
        wait_for 10 grep -q "S3 endpoint http://127.0.0.1:" "$T_TMP/plain.out" || fail "$(cat "$T_TMP/plain.out")"
}

t_https() {
        new_home
        make_certs "$T_TMP/c"
        local serve_bin=$HOIST_BIN/hoist
        [ "${HOIST_VALGRIND:-0}" != 1 ] || serve_bin=$T_TMP/vg-hoist
        "$serve_bin" serve --listen 0.0.0.0:0 --tls-cert "$T_TMP/c/server.pem" \
                --tls-key "$T_TMP/c/server.key" --print-credentials >"$T_TMP/s.out" 2>"$T_TMP/s.err" &
        local pid=$!
        t_defer "kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null"
        wait_for 10 grep -q '^secret_key=' "$T_TMP/s.out" || fail "$(cat "$T_TMP/s.err" "$T_TMP/s.out")"
        local port local_ep ak sk
        port=$(sed -n "s|^hoist serve: S3 endpoint https://0.0.0.0:\([0-9]*\) (TLS; bucket 'hoist'), and http://127.0.0.1:[0-9]* for this machine$|\1|p" "$T_TMP/s.out")
        [ -n "$port" ] || fail "no https endpoint: $(cat "$T_TMP/s.out")"
        ak=$(sed -n 's/^access_key=//p' "$T_TMP/s.out")
        sk=$(sed -n 's/^secret_key=//p' "$T_TMP/s.out")
        # serve.json: this machine's hoist uses the plain loopback listener.
        local_ep=$(sed -n 's/.*"endpoint": *"\([^"]*\)".*/\1/p' "$HOIST_HOME/serve/serve.json")
        grep_q "\"tls_endpoint\": \"https://0.0.0.0:$port\"" <"$HOIST_HOME/serve/serve.json" ||
                fail "$(cat "$HOIST_HOME/serve/serve.json")"
        case $local_ep in http://127.0.0.1:*) ;; *) fail "serve.json endpoint '$local_ep'" ;; esac
        head -c 300000 /dev/urandom >"$T_TMP/obj"
        local url=https://127.0.0.1:$port/hoist/tls/obj
        curl -sS --fail --cacert "$T_TMP/c/ca.pem" --aws-sigv4 "aws:amz:us-east-1:s3" \
                --user "$ak:$sk" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
                -T "$T_TMP/obj" "$url" || fail "PUT over https"
        curl -sS --fail --cacert "$T_TMP/c/ca.pem" --aws-sigv4 "aws:amz:us-east-1:s3" \
                --user "$ak:$sk" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
                -o "$T_TMP/back" "$url" || fail "GET over https"
        cmp "$T_TMP/obj" "$T_TMP/back" || fail "the object came back changed"
        # The same object through the loopback listener.
        curl -sS --fail --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ak:$sk" \
                -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -o "$T_TMP/back2" \
                "$local_ep/hoist/tls/obj" || fail "GET on loopback"
        cmp "$T_TMP/obj" "$T_TMP/back2" || fail "loopback copy differs"
        # Without the CA the certificate is not trusted (curl: 60).
        local rc=0
        curl -sS -o /dev/null --capath /nonexistent --cacert /dev/null "$url" 2>/dev/null || rc=$?
        [ "$rc" -eq 60 ] || [ "$rc" -eq 77 ] || fail "curl without the CA: exit $rc"
        # Plain HTTP on the TLS port gets no S3 answer.
        rc=0
        curl -sS -o "$T_TMP/plain" "http://127.0.0.1:$port/hoist/tls/obj" 2>/dev/null || rc=$?
        [ "$rc" -ne 0 ] || ! grep -q "<Error>" "$T_TMP/plain" || fail "plain HTTP answered on the TLS port"
        # Anonymous over TLS: refused by S3 auth, as on http.
        local code
        code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$T_TMP/c/ca.pem" "$url")
        [ "$code" = 403 ] || fail "anonymous GET: $code"
        # A job on the built-in storage uses this serve through its loopback
        # listener: no second serve is started, and it reconciles the job.
        local spid id
        spid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$HOIST_HOME/serve/serve.json")
        mkdir -p "$T_TMP/j"
        printf 'name: viatls\nruntime: process\ncommand: ["sh", "-c", "echo hello"]\n' >"$T_TMP/j/job.yaml"
        id=$(env -u HOIST_STORAGE HOIST_CONTAINER_ENGINE=none "$HOIST_BIN/hoist" submit -q "$T_TMP/j/job.yaml") ||
                fail "submit on the built-in storage"
        wait_for 60 state_is "$id" succeeded || fail "$(hoist status "$id")"
        hoist logs "$id" | grep_q -x hello || fail "$(hoist logs "$id")"
        [ "$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$HOIST_HOME/serve/serve.json")" = "$spid" ] ||
                fail "another serve took over: $(cat "$HOIST_HOME/serve/serve.json")"
        # The key never reaches the log.
        ! grep -q "PRIVATE KEY" "$T_TMP/s.err" || fail "the key is in the log"
        kill -TERM "$pid"
        wait "$pid" || fail "serve exited $?"
        [ ! -e "$HOIST_HOME/serve/serve.json" ] || fail "serve.json left behind"
}

t_run "a listen address off loopback is refused without TLS; bad cert and key files are named" t_refuses_clear_text
t_run "HTTPS with a test CA: put and get with curl SigV4, untrusted without the CA, loopback listener for this machine" t_https
t_finish
