#!/usr/bin/env bash
# Kubernetes access (docs/providers/kubernetes.md "Access"): lib/kubeconfig
# and lib/kube driven by tests/tools/kubecurl against a minimal TLS stand-in
# of the API server (kube_access_server.py, beside this file) that checks the
# bearer token or the client certificate as the API server does: a token, a
# token file, client certificates as files and as data, CA data and files,
# an exec credential plugin (a shell script printing an ExecCredential, run
# again after a 401; one that fails), in-cluster service-account files,
# CURL_CA_BUNDLE only where the kubeconfig has no CA, 401/404/409 answers, a
# watch with a bookmark and an event split across chunks, a dropped stream,
# 410 Gone (as an ERROR event and as HTTP 410), and a streamed pod log.
. "$(dirname "$0")/lib.sh"

KC=$HOIST_BUILD/tests/kubecurl
D=$T_TMP/pki
NS=/api/v1/namespaces/team

# make_pki: a CA, the server's certificate for 127.0.0.1, a client
# certificate (CN alice) and a second CA that signed nothing of this server.
make_pki() {
        mkdir -p "$D"
        cd "$D"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca \
                -keyout ca.key -out ca.crt
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca \
                -keyout other.key -out other.crt
        openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr
        printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
                -extfile san.ext -out server.crt
        openssl req -newkey rsa:2048 -nodes -subj /CN=alice -keyout alice.key -out alice.csr
        openssl x509 -req -in alice.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
                -out alice.crt
        echo tok-static >tokens
        touch requests
}

start_server() {
        python3 "$T_ROOT/tests/integration/kube_access_server.py" "$D" >"$T_TMP/server.log" 2>&1 &
        echo $! >"$T_TMP/server.pid"
        wait_for 30 test -s "$D/port"
        PORT=$(cat "$D/port")
        export PORT
}
stop_server() { [ -s "$T_TMP/server.pid" ] && kill "$(cat "$T_TMP/server.pid")"; }
t_defer stop_server

setup() {
        [ -x "$KC" ] || { echo "build $KC first (make tools)"; return 1; }
        make_pki
        start_server
}
t_setup "PKI and the API stand-in" setup
PORT=$(cat "$D/port")
SERVER=https://127.0.0.1:$PORT
b64() { base64 -w0 "$1"; }

# kubeconfig FILE CLUSTER_EXTRA USER_YAML: one context "test" (namespace team).
kubeconfig() {
        cat >"$1" <<EOF
apiVersion: v1
kind: Config
current-context: test
clusters:
- name: c
  cluster:
    server: $SERVER
$2
contexts:
- name: test
  context: {cluster: c, user: u, namespace: team}
users:
- name: u
  user:
$3
EOF
}

# kc ARGS...: kubecurl with a fresh environment: no kubeconfig but $KUBECONFIG.
kc() { env -u CURL_CA_BUNDLE -u SSL_CERT_FILE HOME="$T_TMP/nohome" "$KC" "$@"; }

# no_sanitizer_report FILE: an expected failure that was not also a leak or
# a memory error (under `make asan-integration` both exit non-zero).
no_sanitizer_report() { ! grep -q "Sanitizer" "$1"; }

# last_auth: how the server saw the last request.
last_auth() { tail -1 "$D/requests" | awk '{print $3}'; }

test_token_ca_file() {
        mkdir -p "$T_TMP/t1/certs"
        cp "$D/ca.crt" "$T_TMP/t1/certs/"
        kubeconfig "$T_TMP/t1/config" "    certificate-authority: certs/ca.crt" \
                "    token: tok-static"
        export KUBECONFIG=$T_TMP/t1/config
        kc config >"$T_TMP/t1/cfg"
        grep -qx "ca=$T_TMP/t1/certs/ca.crt" "$T_TMP/t1/cfg" || fail "relative CA path: $(cat "$T_TMP/t1/cfg")"
        grep -qx namespace=team "$T_TMP/t1/cfg"
        kc request GET $NS/configmaps/cm1 >"$T_TMP/t1/out"
        grep -qx "status 404" "$T_TMP/t1/out"
        grep -q 'message HTTP 404 NotFound: configmaps "cm1" not found' "$T_TMP/t1/out"
        [ "$(last_auth)" = token:tok- ] || fail "auth $(last_auth)"
        kc request POST $NS/configmaps '{"metadata":{"name":"cm1"},"data":{"a":"1"}}' >"$T_TMP/t1/out"
        grep -qx "status 201" "$T_TMP/t1/out"
        grep -q '"resourceVersion":"7"' "$T_TMP/t1/out"
        kc request POST $NS/configmaps '{"metadata":{"name":"cm1"}}' >"$T_TMP/t1/out"
        grep -qx "status 409" "$T_TMP/t1/out"
        grep -q "AlreadyExists" "$T_TMP/t1/out"
        kc request GET $NS/configmaps/cm1 >"$T_TMP/t1/out"
        grep -qx "status 200" "$T_TMP/t1/out"
        grep -q '"a":"1"' "$T_TMP/t1/out"
}

test_client_cert_data() {
        mkdir -p "$T_TMP/t2"
        kubeconfig "$T_TMP/t2/config" "    certificate-authority-data: $(b64 "$D/ca.crt")" \
                "    client-certificate-data: $(b64 "$D/alice.crt")
    client-key-data: $(b64 "$D/alice.key")"
        KUBECONFIG=$T_TMP/t2/config kc request GET $NS/configmaps/nope >"$T_TMP/t2/out"
        grep -qx "status 404" "$T_TMP/t2/out"
        [ "$(last_auth)" = cert:alice ] || fail "auth $(last_auth)"
}

test_client_cert_files() {
        mkdir -p "$T_TMP/t3/keys"
        cp "$D/alice.crt" "$D/alice.key" "$T_TMP/t3/keys/"
        kubeconfig "$T_TMP/t3/config" "    certificate-authority: $D/ca.crt" \
                "    client-certificate: keys/alice.crt
    client-key: keys/alice.key"
        # run from elsewhere: the paths are the kubeconfig's, not the cwd's
        (cd / && KUBECONFIG=$T_TMP/t3/config kc request GET $NS/configmaps/nope) >"$T_TMP/t3/out"
        grep -qx "status 404" "$T_TMP/t3/out"
        [ "$(last_auth)" = cert:alice ] || fail "auth $(last_auth)"
}

test_token_file_and_401() {
        mkdir -p "$T_TMP/t4"
        echo tok-wrong >"$T_TMP/t4/token"
        kubeconfig "$T_TMP/t4/config" "    certificate-authority: $D/ca.crt" \
                "    tokenFile: token"
        KUBECONFIG=$T_TMP/t4/config kc request GET $NS/configmaps/nope >"$T_TMP/t4/out"
        grep -qx "status 401" "$T_TMP/t4/out"
        grep -q "message HTTP 401 Unauthorized" "$T_TMP/t4/out"
        echo tok-static >"$T_TMP/t4/token"
        KUBECONFIG=$T_TMP/t4/config kc request GET $NS/configmaps/nope >"$T_TMP/t4/out"
        grep -qx "status 404" "$T_TMP/t4/out"
        # no credentials at all: the server's 401 comes back as an answer
        kubeconfig "$T_TMP/t4/anon" "    certificate-authority: $D/ca.crt" "    {}"
        KUBECONFIG=$T_TMP/t4/anon kc request GET $NS/configmaps/nope >"$T_TMP/t4/out"
        grep -qx "status 401" "$T_TMP/t4/out"
        [ "$(last_auth)" = none ]
}

# The plugin prints tok-execN for its Nth run (the count kept in a file),
# as client.authentication.k8s.io/v1, and checks what kubectl would give it.
write_plugin() {
        cat >"$1" <<'EOF'
#!/bin/sh
n=$(($(cat "$COUNT" 2>/dev/null || echo 0) + 1))
echo $n >"$COUNT"
case "$KUBERNETES_EXEC_INFO" in *'"interactive":false'*) ;; *) echo "no exec info" >&2; exit 3;; esac
[ "$1" = --cluster ] && [ "$2" = demo ] || { echo "args: $*" >&2; exit 4; }
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-exec%s","expirationTimestamp":"2099-01-01T00:00:00Z"}}\n' "$n"
EOF
        chmod +x "$1"
}

test_exec_plugin() {
        mkdir -p "$T_TMP/t5/bin"
        write_plugin "$T_TMP/t5/bin/get-token"
        kubeconfig "$T_TMP/t5/config" "    certificate-authority: $D/ca.crt" \
                "    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/get-token
      args: [--cluster, demo]
      env: [{name: COUNT, value: $T_TMP/t5/count}]
      interactiveMode: Never"
        echo tok-exec1 >>"$D/tokens"
        KUBECONFIG=$T_TMP/t5/config kc request GET $NS/configmaps/nope >"$T_TMP/t5/out"
        grep -qx "status 404" "$T_TMP/t5/out"
        [ "$(last_auth)" = token:tok- ]
        [ "$(cat "$T_TMP/t5/count")" = 1 ] || fail "plugin ran $(cat "$T_TMP/t5/count") times"
        # the next process's first run prints tok-exec2, which the server no
        # longer takes: the 401 runs the plugin once more (tok-exec3) and the
        # request goes through
        echo tok-static >"$D/tokens"
        echo tok-exec3 >>"$D/tokens"
        KUBECONFIG=$T_TMP/t5/config kc request GET $NS/configmaps/nope >"$T_TMP/t5/out"
        grep -qx "status 404" "$T_TMP/t5/out"
        [ "$(cat "$T_TMP/t5/count")" = 3 ] || fail "plugin ran $(cat "$T_TMP/t5/count") times in all"
        # cached: a credential that has not expired is not asked for again
        rm -f "$T_TMP/t5/count"
        KUBECONFIG=$T_TMP/t5/config kc creds 5 >/dev/null
        [ "$(cat "$T_TMP/t5/count")" = 1 ]
}

test_exec_plugin_fails() {
        mkdir -p "$T_TMP/t6"
        printf '#!/bin/sh\necho "error: you must be logged in to the server (run aws sso login)" >&2\nexit 1\n' \
                >"$T_TMP/t6/plugin"
        chmod +x "$T_TMP/t6/plugin"
        kubeconfig "$T_TMP/t6/config" "    certificate-authority: $D/ca.crt" \
                "    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: $T_TMP/t6/plugin"
        ! KUBECONFIG=$T_TMP/t6/config kc request GET $NS/configmaps/x >"$T_TMP/t6/out" 2>&1
        grep -q "user 'u'" "$T_TMP/t6/out"
        grep -q "exec credential plugin '$T_TMP/t6/plugin' failed (exit 1)" "$T_TMP/t6/out"
        grep -q "run aws sso login" "$T_TMP/t6/out"
        no_sanitizer_report "$T_TMP/t6/out"
}

test_tls() {
        mkdir -p "$T_TMP/t7"
        kubeconfig "$T_TMP/t7/wrong" "    certificate-authority: $D/other.crt" "    token: tok-static"
        ! KUBECONFIG=$T_TMP/t7/wrong kc request GET $NS/configmaps/x >"$T_TMP/t7/out" 2>&1
        grep -q "certificate-authority" "$T_TMP/t7/out"
        no_sanitizer_report "$T_TMP/t7/out"
        kubeconfig "$T_TMP/t7/insecure" "    insecure-skip-tls-verify: true" "    token: tok-static"
        KUBECONFIG=$T_TMP/t7/insecure kc request GET $NS/configmaps/x | grep_q -x "status 404"
        # no CA in the kubeconfig: CURL_CA_BUNDLE is honoured; with one, it is not
        kubeconfig "$T_TMP/t7/noca" "" "    token: tok-static"
        KUBECONFIG=$T_TMP/t7/noca HOME=$T_TMP CURL_CA_BUNDLE=$D/ca.crt "$KC" request GET \
                $NS/configmaps/x | grep_q -x "status 404"
        ! KUBECONFIG=$T_TMP/t7/wrong HOME=$T_TMP CURL_CA_BUNDLE=$D/ca.crt "$KC" request GET \
                $NS/configmaps/x >/dev/null 2>&1
}

test_in_cluster() {
        local sa=$T_TMP/t8/sa
        mkdir -p "$sa" "$T_TMP/t8/home"
        cp "$D/ca.crt" "$sa/ca.crt"
        echo tok-static >"$sa/token"
        echo jobs >"$sa/namespace"
        env -u KUBECONFIG HOME="$T_TMP/t8/home" HOIST_KUBE_SA_DIR="$sa" \
                KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="$PORT" \
                "$KC" config >"$T_TMP/t8/cfg"
        grep -qx namespace=jobs "$T_TMP/t8/cfg"
        grep -qx "server=$SERVER" "$T_TMP/t8/cfg"
        env -u KUBECONFIG HOME="$T_TMP/t8/home" HOIST_KUBE_SA_DIR="$sa" \
                KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="$PORT" \
                "$KC" request GET /api/v1/namespaces/jobs/configmaps/x | grep_q -x "status 404"
        # nothing at all: a clear error saying what to set
        ! env -u KUBECONFIG -u KUBERNETES_SERVICE_HOST HOME="$T_TMP/t8/home" \
                HOIST_KUBE_SA_DIR="$T_TMP/t8/none" "$KC" config >"$T_TMP/t8/out" 2>&1
        grep -q "set KUBECONFIG" "$T_TMP/t8/out"
        no_sanitizer_report "$T_TMP/t8/out"
}

test_watch() {
        export KUBECONFIG=$T_TMP/t1/config
        kc watch "$NS/pods?labelSelector=app%3Dx" 100 30 >"$T_TMP/t9.out"
        printf '%s\n' "event ADDED pod-a 101" "event BOOKMARK - 102" "event MODIFIED pod-a 103" \
                "result ended rv=103" | diff - "$T_TMP/t9.out"
        grep -q "GET $NS/pods?labelSelector=app%3Dx&watch=1&allowWatchBookmarks=true&resourceVersion=100&timeoutSeconds=30 token:tok-" \
                "$D/requests"
        # a caller that has seen enough stops the watch; the rv is the last seen
        kc watch "$NS/pods" 100 0 1 | grep_q -x "result ended rv=101"
}

test_watch_dropped() {
        export KUBECONFIG=$T_TMP/t1/config
        kc watch "$NS/pods?labelSelector=drop" 100 >"$T_TMP/t10.out"
        printf '%s\n' "event ADDED pod-a 101" "event BOOKMARK - 102" "event MODIFIED pod-a 103" \
                "result ended rv=103" | diff - "$T_TMP/t10.out"
}

test_watch_gone() {
        export KUBECONFIG=$T_TMP/t1/config
        kc watch "$NS/pods" expired | grep_q -x "result gone rv=expired"
        kc watch "$NS/pods" gone | grep_q -x "result gone rv=gone"
        # a watch the server refuses otherwise is an error naming the path
        ! kc watch /api/v1/namespaces/team/nothing 5 >"$T_TMP/t11.out" 2>&1
        grep -q "kubernetes watch /api/v1/namespaces/team/nothing: HTTP 404" "$T_TMP/t11.out"
        no_sanitizer_report "$T_TMP/t11.out"
}

test_stream() {
        export KUBECONFIG=$T_TMP/t1/config
        kc stream "$NS/pods/p/log?follow=true&container=main" >"$T_TMP/t12.out"
        printf 'log line 1\nlog line 2\n' | diff - "$T_TMP/t12.out"
        ! kc stream "$NS/pods/p/log" >"$T_TMP/t12.err" 2>&1
        grep -q "HTTP 400 BadRequest: follow=true expected" "$T_TMP/t12.err"
        no_sanitizer_report "$T_TMP/t12.err"
}

test_secrets_not_shown() {
        # no token or key reaches an error message or kubecurl's config output
        kubeconfig "$T_TMP/t13" "    certificate-authority: $D/other.crt" \
                "    token: tok-static-secret-value"
        ! KUBECONFIG=$T_TMP/t13 kc request GET $NS/configmaps/x >"$T_TMP/t13.out" 2>&1
        KUBECONFIG=$T_TMP/t13 kc config >>"$T_TMP/t13.out" 2>&1
        ! grep -q "tok-static-secret-value" "$T_TMP/t13.out"
        no_sanitizer_report "$T_TMP/t13.out"
}

t_run "token, relative certificate-authority, 404/201/409/200 answers" test_token_ca_file
t_run "client certificate and CA as data" test_client_cert_data
t_run "client certificate and key as files relative to the kubeconfig" test_client_cert_files
t_run "tokenFile re-read after a 401; no credentials is the server's 401" test_token_file_and_401
t_run "exec plugin: token, re-run once after a 401, cached until expiry" test_exec_plugin
t_run "exec plugin that fails: the error names the user, the command and its stderr" test_exec_plugin_fails
t_run "TLS: a wrong CA fails clearly, insecure-skip-tls-verify, CURL_CA_BUNDLE only without a CA" test_tls
t_run "in-cluster service account files" test_in_cluster
t_run "watch: events split across chunks, a bookmark, resourceVersion tracking" test_watch
t_run "watch: a dropped stream returns the last resourceVersion" test_watch_dropped
t_run "watch: 410 Gone as an ERROR event and as HTTP 410" test_watch_gone
t_run "a streamed pod log" test_stream
t_run "tokens stay out of errors and output" test_secrets_not_shown
t_finish
