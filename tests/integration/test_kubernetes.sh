#!/usr/bin/env bash
# The kubernetes provider.  Every object hoist sends (single-node,
# multi-node, GPU, Kueue) is validated against the official batch/v1 and
# core/v1 OpenAPI schemas and read back by python3-kubernetes
# (tests/peers/kube_validate.py).  The REST flow runs against
# tests/peers/kube_server.py, an API server stand-in over HTTPS that checks
# the contract (auth, paths, content types, 201/200/404/409/410, the watch
# stream) and runs each pod's container for real with podman, from a local
# registry, with the Job's env and the Secret mounted.  Storage is hoist
# serve's built-in S3 endpoint.  kubeconfig kinds: token, client
# certificate, exec plugin, merged KUBECONFIG, in-cluster files.
. "$(dirname "$0")/lib.sh"

QS=$T_ROOT/examples/quickstart
K=$T_TMP/kube
REG=$T_TMP/registry
TOKEN=hoist-kube-token-$$-$RANDOM
PULL_PW=pull-pw-$$-$RANDOM

k_port() { cat "$K/port"; }
k_ctl() { curl -fsS --cacert "$K/ca.crt" -X POST "https://127.0.0.1:$(k_port)/_test/$1"; }
k_get() { curl -fsS --cacert "$K/ca.crt" -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$(k_port)$1"; }
requests() { cat "$K/requests.jsonl"; }

make_certs() {
        local d=$K
        mkdir -p "$d"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=hoist-test-ca \
                -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$d/server.key" \
                -out "$d/server.csr" 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/san.ext"
        openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
                -days 2 -extfile "$d/san.ext" -out "$d/server.crt" 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj "/CN=hoist-user/O=hoist" -keyout "$d/client.key" \
                -out "$d/client.csr" 2>/dev/null
        openssl x509 -req -in "$d/client.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
                -days 2 -out "$d/client.crt" 2>/dev/null
}

# kubeconfig FILE USER-YAML: a kubeconfig for the test server.
kubeconfig() {
        cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:$(k_port)
    certificate-authority: $K/ca.crt
contexts:
- name: test
  context: {cluster: test, user: u, namespace: ml}
current-context: test
users:
- name: u
  user:
$2
EOF
}

setup() {
        command -v podman >/dev/null || { echo "podman is missing (scripts/deps.sh)"; return 1; }
        /usr/bin/python3 -c 'import jsonschema, kubernetes, yaml' ||
                { echo "python3-jsonschema, python3-kubernetes, python3-yaml are missing (scripts/deps.sh)"; return 1; }
        make_certs
        echo "$TOKEN" >"$K/tokens"
        /usr/bin/python3 "$T_ROOT/tests/peers/kube_server.py" --dir "$K" --cert "$K/server.crt" \
                --key "$K/server.key" --ca "$K/ca.crt" --tokens-file "$K/tokens" >"$T_TMP/kube.out" 2>&1 &
        echo $! >"$T_TMP/kube.pid"
        T_CLEANUPS+=("kill $(cat "$T_TMP/kube.pid") 2>/dev/null; podman rm -f \$(podman ps -aq --filter name=kube-) >/dev/null 2>&1")
        wait_for 30 test -s "$K/port" || { cat "$T_TMP/kube.out"; return 1; }
        "$T_ROOT/tests/peers/podman-image.sh" "localhost/hoist-it-k8s:$$" \
                "$HOIST_BUILD/hoist-entrypoint-bundle.tar" "$HOIST_BIN/hoist-quickstart"
        t_defer "podman rmi -f localhost/hoist-it-k8s:$$ >/dev/null 2>&1"
        "$T_ROOT/tests/peers/registry.sh" start "$REG" none
        t_defer "'$T_ROOT/tests/peers/registry.sh' stop '$REG'"
        REG_HOST=127.0.0.1:$(cat "$REG/port")
        IMAGE=$REG_HOST/hoist-quickstart:k8s
        t_defer "podman rmi -f $IMAGE >/dev/null 2>&1"
        podman push --quiet --tls-verify=false "localhost/hoist-it-k8s:$$" "$IMAGE"
        HOIST_HOME=$T_TMP/home
        mkdir -p "$HOIST_HOME"
        echo 'consent: allow' >"$HOIST_HOME/config.yaml"
        export HOIST_HOME
        unset HOIST_STORAGE KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT
        kubeconfig "$K/config" "    token: $TOKEN"
        export KUBECONFIG=$K/config IMAGE REG_HOST
}

# pull_auth FILE: a containers auth file with credentials for the registry.
pull_auth() {
        printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$REG_HOST" "$(printf 'puller:%s' "$PULL_PW" | base64 -w0)" >"$1"
}

# job.yaml for the quickstart trainer in DIR, with EXTRA lines appended.
write_job() {
        local dir=$1
        shift
        mkdir -p "$dir"
        [ -d "$dir/data" ] || cp -r "$QS/data" "$dir/data"
        cat >"$dir/job.yaml" <<YAML
name: k8s-quickstart
provider: kubernetes
image: $IMAGE
command: ["/usr/local/bin/hoist-quickstart", "train"]
inputs:
  train: data/
hyperparameters:
  steps: 3000
  lr: 0.05
  hidden: 16
  seed: 7
  checkpoint_every: 250
limits:
  max_runtime: 10m
  stop_grace: 20s
YAML
        for line in "$@"; do echo "$line" >>"$dir/job.yaml"; done
}

why() {
        [ -n "$1" ] || { echo "(no job id)"; return 0; }
        echo "state $(job_field "$1" state): $(hoist status "$1" 2>&1 | tail -5)"
        tail -5 "$K/requests.jsonl"
        tail -n 15 "$K"/kube-*"$1"*.log 2>/dev/null
}

# ---- the objects ----

t_manifests() {
        local d=$T_TMP/manifests f
        mkdir -p "$d"
        write_job "$d/single"
        write_job "$d/multi" "resources: {nodes: 2, cpus: 1.5, memory: 2GiB}" \
                "distributed: {launcher: hoist, nproc_per_node: 1}"
        write_job "$d/gpu" "resources: {gpus: 8, cpus: 32, memory: 256GiB, disk: 500GiB}" \
                "kubernetes:" "  node_selector: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}" \
                "  tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]" \
                "  service_account: trainer" "  image_pull_secret: regcred" "  priority_class: high" \
                "  labels: {team: vision}" "  annotations: {example.com/owner: ada}"
        write_job "$d/kueue" "kubernetes: {queue: team-a, namespace: research}"
        # single: hoist has credentials for the registry and no
        # image_pull_secret is set, so a pull Secret is shown, redacted
        pull_auth "$d/auth.json"
        for f in single multi gpu kueue; do
                REGISTRY_AUTH_FILE=$([ $f != single ] || echo "$d/auth.json") \
                        hoist submit --dry-run -o yaml "$d/$f/job.yaml" >"$d/$f.yaml" 2>"$d/$f.err" ||
                        fail "dry run $f: $(cat "$d/$f.err")"
        done
        grep_q '^type: kubernetes.io/dockerconfigjson$' <"$d/single.yaml" || fail "no pull Secret: $(cat "$d/single.yaml")"
        grep_q "<the registry credentials for $REG_HOST from $d/auth.json: filled in at submit, never shown>" <"$d/single.yaml" ||
                fail "the pull Secret is not shown redacted"
        if grep -q -- "$PULL_PW" "$d/single.yaml"; then fail "the registry password is in --dry-run"; fi
        if grep -q "dockerconfigjson" "$d/multi.yaml"; then fail "a pull Secret without registry credentials"; fi
        # exactly the objects: YAML documents only, one each
        grep_q "^kind: Job$" <"$d/single.yaml" || fail "no Job: $(cat "$d/single.yaml")"
        [ "$(grep -c '^kind: Service$' <"$d/multi.yaml")" = 1 ] || fail "the 2-node job has no Service"
        grep_q '^  completionMode: Indexed$' <"$d/multi.yaml" || fail "not Indexed"
        grep_q 'kueue.x-k8s.io/queue-name: team-a' <"$d/kueue.yaml" || fail "no Kueue label"
        grep_q '^  suspend: true$' <"$d/kueue.yaml" || fail "the Kueue job is not suspended"
        grep_q 'namespace: research' <"$d/kueue.yaml" || fail "kubernetes.namespace not used"
        grep_q 'nvidia.com/gpu: "8"' <"$d/gpu.yaml" || fail "no GPU request"
        # the built-in storage's keys exist by now; none is in what is shown
        if grep -q 'AWS_SECRET_ACCESS_KEY\|HOIST_S3_SECRET' "$d"/*.yaml; then fail "a secret name or value in the manifests"; fi
        /usr/bin/python3 "$T_ROOT/tests/peers/kube_validate.py" "$T_ROOT/tests/data/k8s" "$d"/*.yaml \
                "$T_ROOT"/tests/data/kubernetes/golden/*.yaml "$T_ROOT"/k8s/job-*.yaml "$T_ROOT"/k8s/secret.yaml "$T_ROOT"/k8s/pull-secret.yaml >"$d/v" 2>&1 ||
                fail "$(cat "$d/v")"
        cat "$d/v"
        # the validator is strict: a misspelled field, a bad quantity, a
        # wrong type are each refused
        sed 's/^  backoffLimit:/  backofLimit:/' "$d/single.yaml" >"$d/bad1.yaml"
        sed 's/memory: "2Gi"/memory: "2 GiB"/' "$d/multi.yaml" >"$d/bad2.yaml"
        sed 's/^  parallelism: 1$/  parallelism: one/' "$d/single.yaml" >"$d/bad3.yaml"
        for f in bad1 bad2 bad3; do
                if /usr/bin/python3 "$T_ROOT/tests/peers/kube_validate.py" "$T_ROOT/tests/data/k8s" "$d/$f.yaml" >"$d/$f.out" 2>&1; then
                        fail "the validator took $f: $(cat "$d/$f.out")"
                fi
        done
        grep_q "backofLimit" <"$d/bad1.out" || fail "$(cat "$d/bad1.out")"
        grep_q "not a Kubernetes quantity" <"$d/bad2.out" || fail "$(cat "$d/bad2.out")"
}

# ---- the REST flow, pods under podman ----

t_single() {
        local d=$T_TMP/single id name uid sk
        # The image says something before hoist-entrypoint starts (as a
        # wrapper that loads a driver would): --follow shows it from the pod
        # log API, then the stored log, no line twice.
        mkdir -p "$d/img"
        printf '%s\n' "FROM localhost/hoist-it-k8s:$$" \
                'ENTRYPOINT ["/bin/sh", "-c", "echo before the entrypoint: warming up; sleep 2; exec /opt/hoist/bin/hoist-entrypoint \"$@\"", "sh"]' \
                'CMD ["train"]' >"$d/img/Containerfile"
        podman build -q -t "$REG_HOST/hoist-quickstart:k8s-wrapped" "$d/img" >/dev/null
        t_defer "podman rmi -f $REG_HOST/hoist-quickstart:k8s-wrapped >/dev/null 2>&1"
        podman push --quiet --tls-verify=false "$REG_HOST/hoist-quickstart:k8s-wrapped"
        write_job "$d"
        sed -i "s|^image: .*|image: $REG_HOST/hoist-quickstart:k8s-wrapped|" "$d/job.yaml"
        # No kubernetes.image_pull_secret, and hoist has credentials for the
        # registry (as docker/podman login saves them): a dockerconfigjson
        # Secret made from them, never shown.
        pull_auth "$d/auth.json"
        REGISTRY_AUTH_FILE=$d/auth.json hoist submit --follow "$d/job.yaml" >"$d/out" 2>&1 || fail "job failed: $(tail -5 "$d/out"; why "$(job_id_of "$d/out")")"
        [ "$(grep -c 'before the entrypoint: warming up' "$d/out")" = 1 ] ||
                fail "the pod's console before the entrypoint is not shown once: $(cat "$d/out")"
        id=$(job_id_of "$d/out")
        state_is "$id" succeeded || fail "$(why "$id")"
        name=hoist-$id-1
        requests | grep_q "\"POST\", \"path\": \"/apis/batch/v1/namespaces/ml/jobs\", \"status\": 201" || fail "no Job created: $(requests)"
        requests | grep_q "\"path\": \"/api/v1/namespaces/ml/secrets\", \"status\": 201" || fail "no Secret created"
        # the Secret is owned by the Job, and no secret is in the Job
        k_get "/apis/batch/v1/namespaces/ml/jobs/$name" >"$d/job.json"
        uid=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["uid"])' "$d/job.json")
        k_get "/api/v1/namespaces/ml/secrets/$name-secrets" >"$d/secret.json"
        grep_q "\"uid\": \"$uid\"" <"$d/secret.json" || fail "the Secret's ownerReference is not the Job: $(cat "$d/secret.json")"
        sk=$(sed -n 's/.*"secret_key": *"\([^"]*\)".*/\1/p' "$HOIST_HOME/serve/owner.json")
        [ -n "$sk" ] || fail "no owner key"
        if grep -q -- "$sk" "$d/job.json" "$K/requests.jsonl" "$d/out"; then fail "the storage secret key is in the Job, a log or the output"; fi
        # the pull Secret: owned by the Job, named by the pod, checked and used by the kubelet
        k_get "/api/v1/namespaces/ml/secrets/$name-pull" >"$d/pull.json" || fail "no pull Secret"
        grep_q '"type": "kubernetes.io/dockerconfigjson"' <"$d/pull.json" || fail "pull Secret type: $(cat "$d/pull.json")"
        grep_q "\"uid\": \"$uid\"" <"$d/pull.json" || fail "the pull Secret's ownerReference is not the Job"
        grep_q "\"name\": \"$name-pull\"" <"$d/job.json" || fail "imagePullSecrets does not name it"
        grep_q "^used $name-pull\$" <"$K/pull-secrets.log" || fail "the kubelet did not pull with it: $(cat "$K/pull-secrets.log" 2>&1)"
        # a dockerconfigjson Secret of the wrong shape is refused, as the API server does
        [ "$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$K/ca.crt" -H "Authorization: Bearer $TOKEN" \
                -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"badpull"},"type":"kubernetes.io/dockerconfigjson","stringData":{".dockerconfigjson":"{\"no\":1}"}}' \
                "https://127.0.0.1:$(k_port)/api/v1/namespaces/ml/secrets")" = 422 ] || fail "a malformed pull Secret was taken"
        if grep -rq -- "$PULL_PW" "$d/job.json" "$K/requests.jsonl" "$d/out" "$HOIST_HOME"; then fail "the registry password leaked"; fi
        # the entrypoint found its secrets in the mounted file: it reached storage
        hoist logs "$id" >"$d/logs" 2>&1 || fail "hoist logs: $(cat "$d/logs")"
        grep_q "loss" <"$d/logs" || fail "no training log: $(cat "$d/logs")"
        if grep -q "warming up" "$d/logs"; then fail "the pod's console is in the stored log"; fi
        [ "$(grep -c loss "$d/out")" = "$(grep -c loss "$d/logs")" ] ||
                fail "--follow showed lines twice: $(grep -c loss "$d/out") vs $(grep -c loss "$d/logs") 'loss' lines"
        hoist cost --provider kubernetes -o json >"$d/cost" 2>&1 || fail "hoist cost: $(cat "$d/cost")"
}

t_exit_122() {
        local d=$T_TMP/gpufault id
        write_job "$d"
        sed -i 's|^command: .*|command: ["/bin/sh", "-c", "echo gpu gone; exit 122"]|' "$d/job.yaml"
        echo "retry: {on: [interruption], max: 3}" >>"$d/job.yaml"
        hoist submit --follow "$d/job.yaml" >"$d/out" 2>&1 && fail "a job exiting 122 succeeded"
        id=$(job_id_of "$d/out")
        state_is "$id" failed || fail "$(why "$id")"
        hoist status "$id" >"$d/st" 2>&1
        # the entrypoint's own result (exit 122) or the provider's reason
        grep_q "code 122\|GPU fault" <"$d/st" || fail "the reason does not say 122: $(cat "$d/st")"
        # podFailurePolicy FailJob: at once, though backoffLimit allows 3 more
        k_get "/apis/batch/v1/namespaces/ml/jobs/hoist-$id-1" >"$d/job.json"
        grep_q '"reason": "PodFailurePolicy"' <"$d/job.json" || fail "the Job did not fail by its podFailurePolicy: $(cat "$d/job.json")"
        grep_q '"backoffLimit": 3' <"$d/job.json" || fail "retry.max is not the backoffLimit"
        [ "$(k_get "/api/v1/namespaces/ml/pods?labelSelector=hoist.dev%2Fjob-id%3D$id" | grep -o '"phase": "Failed"' | wc -l)" = 1 ] ||
                fail "Kubernetes ran the pod again"
}

t_unschedulable_cancel() {
        local d=$T_TMP/unsched id
        write_job "$d" "resources: {gpus: 1}"
        hoist submit "$d/job.yaml" >"$d/out" 2>&1 || fail "submit: $(cat "$d/out")"
        id=$(job_id_of "$d/out")
        wait_for 60 sh -c "'$HOIST_BIN/hoist' status '$id' 2>&1 | grep -q 'Insufficient nvidia.com/gpu'" ||
                fail "not reported unschedulable: $(hoist status "$id" 2>&1)"
        state_is "$id" queued || fail "an unschedulable job is $(job_field "$id" state)"
        hoist cancel "$id" >"$d/cancel" 2>&1 || fail "cancel: $(cat "$d/cancel")"
        state_is "$id" canceled || fail "$(why "$id")"
        requests | grep_q "\"DELETE\", \"path\": \"/apis/batch/v1/namespaces/ml/jobs/hoist-$id-1\", \"status\": 200" ||
                fail "no DELETE of the Job"
        # the garbage collector took the Secret with it
        if k_get "/api/v1/namespaces/ml/secrets/hoist-$id-1-secrets" >/dev/null 2>&1; then fail "the Secret outlived its Job"; fi
}

# hoist serve follows its jobs by a standing watch (Jobs and pods of the
# namespace), not by GETs every poll: while the job ticks for several poll
# periods, the stream is dropped and every resourceVersion expired, and
# serve relists, watches again and still never GETs the Job.  Then cancel
# waits for the pods to go by watching them through the same drop and
# expiry, and still ends.
t_cancel_watch() {
        local d=$T_TMP/cw id before n_watch n_list b t0 jw pw
        write_job "$d"
        sed -i 's|^command: .*|command: ["/bin/sh", "-c", "trap \\"\\" TERM; echo started; while :; do echo tick; sleep 1; done"]|' "$d/job.yaml"
        sed -i 's|stop_grace: 20s|stop_grace: 6s|' "$d/job.yaml"
        hoist submit "$d/job.yaml" >"$d/out" 2>&1 || fail "submit: $(cat "$d/out")"
        id=$(job_id_of "$d/out")
        wait_for 90 sh -c "'$HOIST_BIN/hoist' status '$id' 2>&1 | grep -q running" || fail "never ran: $(why "$id")"
        jw='"GET", "path": "/apis/batch/v1/namespaces/ml/jobs?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dhoist'
        pw='"GET", "path": "/api/v1/namespaces/ml/pods?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dhoist'
        watching() { [ "$(tail -n +$(($1 + 1)) "$K/requests.jsonl" | grep -F "$jw" | grep -c 'watch=1')" -ge 1 ] &&
                [ "$(tail -n +$(($1 + 1)) "$K/requests.jsonl" | grep -F "$pw" | grep -c 'watch=1')" -ge 1 ]; }
        wait_for 30 watching 0 || fail "hoist serve never watched its Jobs and pods"
        b=$(wc -l <"$K/requests.jsonl")
        ticks() { podman logs "$(podman ps -q --filter "name=kube-ml-hoist-$id-1")" 2>&1 | grep -c tick; }
        t0=$(ticks)
        k_ctl compact >/dev/null
        # the dropped streams come back from their (now expired) version:
        # 410 Gone, a relist, a new watch; Jobs and pods
        relisted() {
                local w
                for w in "$jw" "$pw"; do
                        [ "$(tail -n +$((b + 1)) "$K/requests.jsonl" | grep -F "$w" | grep -vc 'watch=1')" -ge 1 ] &&
                                [ "$(tail -n +$((b + 1)) "$K/requests.jsonl" | grep -F "$w" | grep -c 'watch=1')" -ge 2 ] ||
                                return 1
                done
        }
        wait_for 60 relisted || fail "the standing watch did not relist and watch again after a drop and 410 Gone: $(tail -n +$((b + 1)) "$K/requests.jsonl" | tail -8)"
        # several poll periods (poll_ms 2000) of the running job pass
        ticked() { [ "$(ticks)" -ge "$1" ]; }
        wait_for 60 ticked $((t0 + 8)) || fail "the job stopped ticking: $(why "$id")"
        [ "$(tail -n +$((b + 1)) "$K/requests.jsonl" | grep -c "\"GET\", \"path\": \"/apis/batch/v1/namespaces/ml/jobs/hoist-$id-1\"")" = 0 ] ||
                fail "hoist serve polled the Job by GET while its watch was current: $(tail -n +$((b + 1)) "$K/requests.jsonl" | grep -F "jobs/hoist-$id-1")"
        state_is "$id" running || fail "$(why "$id")"
        before=$(wc -l <"$K/requests.jsonl")
        hoist cancel "$id" >"$d/cancel" 2>&1 &
        local pid=$!
        wait_for 30 sh -c "tail -n +$((before + 1)) '$K/requests.jsonl' | grep -q 'watch=1'" || fail "cancel never watched"
        k_ctl compact >/dev/null
        wait "$pid" || fail "cancel: $(cat "$d/cancel")"
        state_is "$id" canceled || fail "$(why "$id")"
        n_watch=$(tail -n +$((before + 1)) "$K/requests.jsonl" | grep -c 'watch=1')
        n_list=$(tail -n +$((before + 1)) "$K/requests.jsonl" | grep '"GET", "path": "/api/v1/namespaces/ml/pods?labelSelector' | grep -vc 'watch=1')
        [ "$n_watch" -ge 2 ] || fail "no reconnect after the drop ($n_watch watches)"
        [ "$n_list" -ge 2 ] || fail "no relist after 410 Gone ($n_list lists)"
}

t_evicted() {
        local d=$T_TMP/evict id pod
        write_job "$d"
        sed -i 's|^command: .*|command: ["/bin/sh", "-c", "echo started; while :; do sleep 1; done"]|; s|stop_grace: 20s|stop_grace: 3s|' "$d/job.yaml"
        hoist submit "$d/job.yaml" >"$d/out" 2>&1 || fail "submit: $(cat "$d/out")"
        id=$(job_id_of "$d/out")
        wait_for 90 sh -c "'$HOIST_BIN/hoist' status '$id' 2>&1 | grep -q running" || fail "never ran: $(why "$id")"
        pod=$(k_get "/api/v1/namespaces/ml/pods?labelSelector=hoist.dev%2Fjob-id%3D$id" |
                /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["metadata"]["name"])')
        k_ctl "evict/ml/$pod" >/dev/null
        # DisruptionTarget is ignored by the podFailurePolicy: the entrypoint
        # reports the interruption (SIGTERM), Kubernetes makes a new pod, and
        # hoist follows it (requeued) instead of starting an attempt itself
        wait_for 90 sh -c "'$HOIST_BIN/hoist' status '$id' 2>&1 | grep -q 'requeued by kubernetes'" ||
                fail "the requeue is not followed: $(hoist status "$id" 2>&1)"
        hoist status "$id" 2>&1 | grep_q "interrupted" || fail "the interruption is not in the history"
        k_get "/api/v1/namespaces/ml/pods/$pod" | grep_q '"reason": "EvictionByEvictionAPI"' ||
                fail "the evicted pod has no DisruptionTarget"
        wait_for 90 sh -c "curl -fsS --cacert '$K/ca.crt' -H 'Authorization: Bearer $TOKEN' \
                'https://127.0.0.1:$(k_port)/api/v1/namespaces/ml/pods?labelSelector=hoist.dev%2Fjob-id%3D$id' | grep -o '\"phase\": \"Running\"' | grep -q ." ||
                fail "no new pod after the eviction"
        [ "$(job_field "$id" attempt)" = 1 ] || fail "hoist started an attempt of its own"
        hoist cancel "$id" >"$d/cancel" 2>&1 || fail "cancel: $(cat "$d/cancel")"
        state_is "$id" canceled || fail "$(why "$id")"
        requests | grep_q "\"DELETE\", \"path\": \"/apis/batch/v1/namespaces/ml/jobs/hoist-$id-1\", \"status\": 200" ||
                fail "no DELETE of the Job"
        # the garbage collector took the Secret with it
        if k_get "/api/v1/namespaces/ml/secrets/hoist-$id-1-secrets" >/dev/null 2>&1; then fail "the Secret outlived its Job"; fi
}

t_ddp_two_nodes() {
        local d=$T_TMP/ddp id tar ctx=$T_TMP/pyimage n
        tar=$("$T_ROOT/scripts/make-torch-rootfs.sh") || fail "make-torch-rootfs.sh failed"
        mkdir -p "$ctx" "$d/job"
        podman import --quiet "$tar" "localhost/hoist-it-k8spy-base:$$" >/dev/null
        t_defer "podman rmi -f $REG_HOST/k8s-ddp:py localhost/hoist-it-k8spy-base:$$ >/dev/null 2>&1"
        cp "$HOIST_BUILD/hoist-entrypoint-bundle.tar" "$ctx/"
        printf '%s\n' "FROM localhost/hoist-it-k8spy-base:$$" "ADD hoist-entrypoint-bundle.tar /" \
                'ENTRYPOINT ["/opt/hoist/bin/hoist-entrypoint"]' >"$ctx/Containerfile"
        podman build -q -t "$REG_HOST/k8s-ddp:py" "$ctx" >/dev/null
        podman push --quiet --tls-verify=false "$REG_HOST/k8s-ddp:py"
        cp "$T_ROOT/examples/pytorch-ddp/train.py" "$d/job/"
        printf '%s\n' "name: k8s-ddp" "provider: kubernetes" "image: $REG_HOST/k8s-ddp:py" "code: ." \
                'command: ["/usr/bin/python3", "train.py"]' "resources: {nodes: 2, cpus: 1, memory: 2GiB}" \
                "distributed: {launcher: hoist, nproc_per_node: 2, port: $(free_port)}" \
                "limits: {max_runtime: 10m, stop_grace: 30s}" \
                "hyperparameters: {steps: 20, lr: 0.01, batch: 16, hidden: 32, seed: 11, checkpoint_every: 10, log_every: 10, backend: gloo}" >"$d/job/job.yaml"
        hoist submit --follow "$d/job/job.yaml" >"$d/out" 2>&1 ||
                fail "job failed: $(tail -5 "$d/out"; why "$(job_id_of "$d/out")")"
        id=$(job_id_of "$d/out")
        state_is "$id" succeeded || fail "$(why "$id")"
        for n in 0 1; do
                hoist logs --node "$n" "$id" >"$d/node$n.log" 2>&1 || fail "hoist logs --node $n: $(cat "$d/node$n.log")"
                grep_q "\"world_size\": 4" <"$d/node$n.log" || fail "node $n did not join a world of 4: $(tail -5 "$d/node$n.log")"
        done
        requests | grep_q "\"path\": \"/api/v1/namespaces/ml/services\", \"status\": 201" || fail "no headless Service"
}

# ---- kubeconfig kinds ----

# list_as NAME: hoist list --remote through the current environment's
# kubeconfig, answered, and the server saw auth NAME.
list_as() {
        local before
        before=$(wc -l <"$K/requests.jsonl")
        hoist list --provider kubernetes --remote >"$T_TMP/list.$1" 2>&1 || fail "$1: $(cat "$T_TMP/list.$1")"
        tail -n +$((before + 1)) "$K/requests.jsonl" | grep_q "\"status\": 200, \"auth\": \"$2\"" ||
                fail "$1: the server saw no $2 request: $(tail -n 3 "$K/requests.jsonl")"
}

t_kubeconfig() {
        local d=$T_TMP/kc
        mkdir -p "$d/sa" "$d/home"
        list_as token bearer
        # client certificate and key (files)
        kubeconfig "$d/cert" "    client-certificate: $K/client.crt
    client-key: $K/client.key"
        KUBECONFIG=$d/cert list_as cert client-certificate
        # an exec plugin printing an ExecCredential
        cat >"$d/plugin.sh" <<EOF
#!/bin/sh
echo run >>"$d/plugin.runs"
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-$TOKEN","expirationTimestamp":"2099-01-01T00:00:00Z"}}\n'
EOF
        chmod +x "$d/plugin.sh"
        echo "exec-$TOKEN" >>"$K/tokens"
        kubeconfig "$d/exec" "    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: $d/plugin.sh
      interactiveMode: Never"
        KUBECONFIG=$d/exec list_as exec bearer
        [ -s "$d/plugin.runs" ] || fail "the exec plugin never ran"
        # merged KUBECONFIG: the context in one file, cluster and user in another
        kubeconfig "$d/m1" "    token: $TOKEN"
        sed -i '/^current-context/d; /^contexts:/,/^current-context\|^users:/{/^users:/!d}' "$d/m1"
        printf '%s\n' "apiVersion: v1" "kind: Config" "contexts:" "- name: merged" \
                "  context: {cluster: test, user: u, namespace: ml}" "current-context: merged" >"$d/m2"
        KUBECONFIG=$d/m2:$d/m1 list_as merged bearer
        # in-cluster: the service account's files, no kubeconfig at all
        echo "$TOKEN" >"$d/sa/token"
        cp "$K/ca.crt" "$d/sa/ca.crt"
        echo ml >"$d/sa/namespace"
        env -u KUBECONFIG HOME="$d/home" HOIST_KUBE_SA_DIR="$d/sa" KUBERNETES_SERVICE_HOST=127.0.0.1 \
                KUBERNETES_SERVICE_PORT="$(k_port)" bash -c ". '$T_ROOT/tests/integration/lib.sh' >/dev/null; $(declare -f list_as fail); K='$K' T_TMP='$T_TMP' HOIST_HOME='$HOIST_HOME' list_as incluster bearer" ||
                fail "in-cluster"
        # a wrong token: 401, said plainly
        kubeconfig "$d/bad" "    token: wrong"
        if KUBECONFIG=$d/bad hoist list --provider kubernetes --remote >"$d/bad.out" 2>&1; then fail "a wrong token was taken"; fi
        grep_q "401" <"$d/bad.out" || fail "$(cat "$d/bad.out")"
        if grep -q "wrong" "$d/bad.out"; then fail "the token is in the error"; fi
}

t_setup "API server stand-in (HTTPS), registry, podman image" setup
t_run "manifests: batch/v1 and core/v1 schemas, python3-kubernetes, --dry-run -o yaml" t_manifests
t_run "kubeconfig: token, client cert, exec plugin, merged KUBECONFIG, in-cluster" t_kubeconfig
t_run "one node: Job + Secret created, the pod runs the quickstart, succeeded" t_single
t_run "exit 122 (GPU fault): the podFailurePolicy fails the Job at once" t_exit_122
t_run "pending unschedulable (nvidia.com/gpu): queued with the scheduler's message; cancel" t_unschedulable_cancel
t_run "cancel waits on a watch: dropped stream, 410 Gone, relist" t_cancel_watch
t_run "evicted (DisruptionTarget): reported, Kubernetes makes a new pod" t_evicted
t_run "two nodes: Indexed Job + headless Service, PyTorch DDP across both" t_ddp_two_nodes
t_finish
