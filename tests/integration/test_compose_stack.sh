#!/usr/bin/env bash
# The compose/ dev stack (compose/README.md) under podman-compose: hoist's
# own image built by `hoist build` FROM scratch (images/hoist/Dockerfile,
# scripts/mkrootfs.sh), a registry image made the same way from Debian's
# docker-registry (nothing can be downloaded here), `up`, the registry and
# hoist serve answering on loopback (hoist serve over TLS with mkcert.sh's
# certificate), the example job submitted through the stack's hoist
# succeeding and seen through the REST API from this machine, and `down -v`
# leaving no container, network or volume.
. "$(dirname "$0")/lib.sh"

STACK=$T_ROOT/compose
PROJECT=hoist-it-stack-$$
HOIST_IMG=localhost/hoist-it-hoist:$$
REG_IMG=localhost/hoist-it-registry:$$

for tool in podman podman-compose skopeo openssl curl docker-registry; do
        command -v $tool >/dev/null || {
                echo "not ok - $tool is not installed (scripts/deps.sh installs it)"
                echo "0 passed, 1 failed"
                exit 1
        }
done


# image TAG ROOTFS DOCKERFILE: built by hoist, then copied into podman's store.
image() {
        HOIST_HOME=$T_TMP/build-home hoist build -q -t "$1" -f "$3" "$2" >/dev/null &&
                skopeo copy -q "oci:$T_TMP/build-home/images:$1" "containers-storage:$1"
}

build_images() {
        "$T_ROOT/scripts/mkrootfs.sh" "$T_TMP/hoist-rootfs" "$HOIST_BIN/hoist" \
                "$HOIST_BIN/hoist-entrypoint" "$HOIST_BIN/hoist-quickstart"
        image "$HOIST_IMG" "$T_TMP/hoist-rootfs" "$T_ROOT/images/hoist/Dockerfile"
        "$T_ROOT/scripts/mkrootfs.sh" "$T_TMP/registry-rootfs" "$(command -v docker-registry)"
        mkdir -p "$T_TMP/registry-rootfs/etc/docker/registry" "$T_TMP/registry-rootfs/var/lib/registry"
        cat >"$T_TMP/registry-rootfs/etc/docker/registry/config.yml" <<'YAML'
version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: 0.0.0.0:5000
YAML
        cat >"$T_TMP/registry.Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY . /
ENTRYPOINT ["/usr/local/bin/docker-registry", "serve", "/etc/docker/registry/config.yml"]
DOCKERFILE
        image "$REG_IMG" "$T_TMP/registry-rootfs" "$T_TMP/registry.Dockerfile"
        "$STACK/mkcert.sh" "$T_TMP/certs" >/dev/null
}
t_setup "build hoist's image and a registry image with hoist build" build_images
t_defer "podman rmi -f $HOIST_IMG $REG_IMG >/dev/null 2>&1"

export HOIST_IMAGE=$HOIST_IMG HOIST_REGISTRY_IMAGE=$REG_IMG HOIST_CERTS=$T_TMP/certs
export HOIST_PORT=$(free_port) HOIST_REGISTRY_PORT=$(free_port)
stack() { podman-compose -p "$PROJECT" -f "$STACK/compose.yaml" "$@"; }
left() { # what of the project is left: containers, networks, volumes
        podman ps -a -q --filter "label=io.podman.compose.project=$PROJECT"
        podman network ls -q --filter "name=$PROJECT"
        podman volume ls -q --filter "label=io.podman.compose.project=$PROJECT"
}
stack_down() {
        stack down -v >/dev/null 2>&1
        # podman-compose 1.0.x leaves the project's network (compose/README.md)
        podman network rm -f "${PROJECT}_default" >/dev/null 2>&1
        true
}
t_defer stack_down

t_stack() {
        stack up -d >"$T_TMP/up.log" 2>&1 || { cat "$T_TMP/up.log"; fail "up failed"; }
        wait_for 60 curl -fsS -o /dev/null "http://127.0.0.1:$HOIST_REGISTRY_PORT/v2/" ||
                { stack logs >&2; fail "the registry does not answer"; }
        # any HTTP answer over TLS with the stack's certificate: hoist serve is up
        wait_for 60 curl -sS -o /dev/null --cacert "$T_TMP/certs/cert.pem" "https://127.0.0.1:$HOIST_PORT/" ||
                { stack logs >&2; fail "hoist serve does not answer over TLS"; }

        # the example job, submitted through the stack's own hoist
        stack exec hoist hoist submit --follow /example/job-process.yaml >"$T_TMP/job.out" 2>&1 ||
                { cat "$T_TMP/job.out"; fail "the example job failed"; }
        id=$(sed -n 's/^submitted job \(j-[0-9a-f]*\).*/\1/p' "$T_TMP/job.out")
        [ -n "$id" ] || { cat "$T_TMP/job.out"; fail "no job id"; }
        grep -q "job $id succeeded" "$T_TMP/job.out" || { cat "$T_TMP/job.out"; fail "not succeeded"; }

        # the REST API, from this machine, over TLS
        token=$(stack exec hoist hoist serve --print-token 2>/dev/null | tr -d '\r' | grep -E '^[A-Za-z0-9_-]{20,}$' | tail -1)
        [ -n "$token" ] || fail "no API token"
        curl -fsS --cacert "$T_TMP/certs/cert.pem" -H "Authorization: Bearer $token" \
                "https://127.0.0.1:$HOIST_PORT/api/v1/jobs/$id" >"$T_TMP/api.json" || fail "GET /api/v1/jobs/$id failed"
        python3 - "$T_TMP/api.json" "$id" <<'PY' || fail "the API does not show the job succeeded: $(cat "$T_TMP/api.json")"
import json, sys
j = json.load(open(sys.argv[1]))
j = j.get("job", j)
assert j["id"] == sys.argv[2] and j["state"] == "succeeded", j
PY

        # down -v: nothing of the project is left
        stack_down
        [ -z "$(left)" ] || fail "left after down: $(left | tr '\n' ' ')"
}

t_run "compose/ dev stack: up, the example job through it, the API, down leaves nothing" t_stack
t_finish
