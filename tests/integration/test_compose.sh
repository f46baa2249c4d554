#!/usr/bin/env bash
# The compose provider (docs/providers/compose.md), for real: the
# compose.yaml it writes (a golden copy, the Compose Specification's JSON
# schema, docker-compose's own `config`), the quickstart job, a 2-node job
# whose nodes find each other by service name, and cancel under
# podman-compose; the quickstart under docker-compose talking to `podman
# system service` (../shared/PEERS.md); a missing engine.
# HOIST_UPDATE_GOLDEN=1 rewrites the golden copy from this run.  Every job must
# leave no container, network or env file behind.  One test image for all.
. "$(dirname "$0")/lib.sh"

IMAGE=localhost/hoist-it-compose:$$
QS=$T_ROOT/examples/quickstart
GOLDEN=$T_ROOT/tests/data/compose/golden

for tool in podman podman-compose docker-compose; do
        command -v $tool >/dev/null || {
                echo "not ok - $tool is not installed (scripts/deps.sh installs it)"
                echo "0 passed, 1 failed"
                exit 1
        }
done
"$T_ROOT/tests/peers/podman-image.sh" "$IMAGE" "$HOIST_BUILD/hoist-entrypoint-bundle.tar" "$HOIST_BIN/hoist-quickstart" >/dev/null ||
        { echo "not ok - build the test image"; echo "0 passed, 1 failed"; exit 1; }
t_defer "podman rmi -f $IMAGE >/dev/null 2>&1"

# write_job DIR NAME ENGINE STEPS [SLEEP-MS [NODES]]: the quickstart job, with a secret.
write_job() {
        mkdir -p "$1"
        cp -r "$QS/data" "$1/data"
        cat >"$1/job.yaml" <<YAML
name: $2
provider: compose
image: $IMAGE
command: ["/usr/local/bin/hoist-quickstart", "train"]
inputs:
  train: data/
hyperparameters:
  steps: $4
  seed: 7
  checkpoint_every: 100
  sleep_ms: ${5:-0}
resources:
  nodes: ${6:-1}
secrets:
  API_TOKEN: {env: COMPOSE_TEST_TOKEN}
limits:
  stop_grace: 10s
compose:
  engine: $3
YAML
}
export COMPOSE_TEST_TOKEN=tok-3b9f0c2e7d1a5468

# nothing_left ID: no container, network or env file of job ID remains.
nothing_left() {
        local c n
        c=$(podman ps -a -q --filter "label=io.hoist.job=$1")
        [ -z "$c" ] || { podman ps -a --filter "label=io.hoist.job=$1" >&2; fail "containers of $1 left"; }
        n=$(podman network ls -q --filter "name=hoist-$1")
        [ -z "$n" ] || fail "network hoist-$1 left ($n)"
        [ ! -e "$HOIST_HOME/run/$1/secrets.env" ] || fail "secrets.env of $1 left"
}

# validate FILE: FILE against the Compose Specification's schema.
validate() {
        python3 - "$1" "$T_ROOT/tests/data/compose/compose_spec.json" <<'PY'
import json, sys, yaml, jsonschema
doc = yaml.safe_load(open(sys.argv[1]))
jsonschema.validate(doc, json.load(open(sys.argv[2])))
PY
}

t_render() {
        new_home
        write_job "$T_TMP/r" render podman-compose 10 0 2
        # GPUs, CPUs and memory, under deploy.resources
        sed -i 's/^  nodes: 2$/  nodes: 2\n  gpus: 2\n  cpus: 1.5\n  memory: 2GiB/' "$T_TMP/r/job.yaml"
        hoist submit --dry-run "$T_TMP/r/job.yaml" >"$T_TMP/r.out" 2>"$T_TMP/r.err" || { cat "$T_TMP/r.err"; fail "dry-run failed"; }
        ! grep -q "$COMPOSE_TEST_TOKEN" "$T_TMP/r.out" "$T_TMP/r.err" || fail "the secret's value was printed"
        id=$(sed -n 's/.*job id \(j-[0-9a-f]*\).*/\1/p' "$T_TMP/r.out")
        [ -n "$id" ] || fail "no job id in the dry-run"
        [ ! -e "$HOIST_HOME/run/$id" ] || fail "--dry-run wrote run/$id"
        sed -n '/^services:/,$p' "$T_TMP/r.out" | grep -v '^# secrets.env' >"$T_TMP/r/compose.yaml"
        validate "$T_TMP/r/compose.yaml" || fail "compose.yaml breaks the Compose Specification's schema"
        touch "$T_TMP/r/secrets.env"
        docker-compose -p check -f "$T_TMP/r/compose.yaml" config -q || fail "docker-compose config refused it"
        # the golden copy, with the run's own id and paths as placeholders
        sed -e "s/$id/JOB_ID/g" -e "s|$HOIST_HOME|HOIST_HOME|g" -e "s|$IMAGE|IMAGE|g" \
                -e "s|\"[^\"]*/opt/hoist:/opt/hoist:ro\"|\"BUNDLE:/opt/hoist:ro\"|" \
                "$T_TMP/r.out" | sed 1,2d >"$T_TMP/r.norm"
        [ "${HOIST_UPDATE_GOLDEN:-0}" != 1 ] || cp "$T_TMP/r.norm" "$GOLDEN/two-node-gpu.txt"
        diff -u "$GOLDEN/two-node-gpu.txt" "$T_TMP/r.norm" || fail "the rendered job differs from $GOLDEN/two-node-gpu.txt"
}

t_quickstart_podman_compose() {
        new_home
        write_job "$T_TMP/q" quickstart podman-compose 300
        hoist submit --follow "$T_TMP/q/job.yaml" >"$T_TMP/q.out" 2>&1 || { cat "$T_TMP/q.out"; fail "submit failed"; }
        id=$(job_id_of "$T_TMP/q.out")
        [ "$(job_field "$id" runtime)" = podman-compose ] || fail "did not run under podman-compose"
        state_is "$id" succeeded || fail "not succeeded"
        grep -q '"test_accuracy"' "$T_TMP/q.out" || fail "no training output streamed"
        [ -s "$HOIST_HOME/storage/jobs/$id/output/model/model.bin" ] || fail "no model"
        f=$HOIST_HOME/run/$id/compose.yaml
        [ "$(stat -c %a "$f")" = 600 ] || fail "compose.yaml is not 0600"
        ! grep -q "$COMPOSE_TEST_TOKEN" "$f" || fail "the secret is in compose.yaml"
        validate "$f" || fail "compose.yaml breaks the schema"
        ! grep -rq "$COMPOSE_TEST_TOKEN" "$HOIST_HOME/storage/jobs/$id/job.json" || fail "the secret is in job.json"
        wait_for 60 nothing_left "$id" || nothing_left "$id"
}

# A 2-node job whose command shows what each node got.  A node ends at
# once, and its service name with it: the nodes must meet before either runs
# its command (node 0 used to wait 60 s for node 1's name, gone by then).
t_two_nodes() {
        new_home
        write_job "$T_TMP/m" two podman-compose 10 0 2
        sed -i 's|^command: .*|command: ["/bin/sh", "-c", "echo place rank=$NODE_RANK of=$NNODES world=$WORLD_SIZE master=$MASTER_ADDR ips=$HOIST_NODE_IPS token=${#API_TOKEN}"]|' "$T_TMP/m/job.yaml"
        hoist submit --follow "$T_TMP/m/job.yaml" >"$T_TMP/m.out" 2>&1 || { cat "$T_TMP/m.out"; fail "submit failed"; }
        id=$(job_id_of "$T_TMP/m.out")
        state_is "$id" succeeded || fail "not succeeded"
        for r in 0 1; do
                line=$(grep -h "place rank=$r " "$HOIST_HOME/storage/jobs/$id/logs/"*.log) || fail "no line of node $r"
                case "$line" in
                *"of=2 world=2 master=node0 ips="*,*" token=${#COMPOSE_TEST_TOKEN}"*) ;;
                *) fail "node $r got: $line" ;;
                esac
        done
        wait_for 60 nothing_left "$id" || nothing_left "$id"
}

t_cancel() {
        new_home
        write_job "$T_TMP/c" cancel podman-compose 100000 50
        id=$(hoist submit -q "$T_TMP/c/job.yaml") || fail "submit failed"
        wait_for 60 state_is "$id" running || fail "never running: $(hoist status "$id")"
        [ "$(stat -c %a "$HOIST_HOME/run/$id/secrets.env")" = 600 ] || fail "secrets.env is not 0600"
        grep -q "^API_TOKEN=$COMPOSE_TEST_TOKEN\$" "$HOIST_HOME/run/$id/secrets.env" || fail "secret not in secrets.env"
        [ -n "$(podman network ls -q --filter "name=hoist-$id")" ] || fail "no network of its own"
        hoist cancel "$id" >/dev/null || fail "cancel failed"
        wait_for 60 state_is "$id" canceled || fail "not canceled: $(hoist status "$id")"
        wait_for 60 nothing_left "$id" || nothing_left "$id"
}

# docker-compose against podman's Docker-compatible API on a socket of this test.
t_quickstart_docker_compose() {
        new_home
        sock=$T_TMP/podman.sock
        podman system service --time=0 "unix://$sock" >"$T_TMP/service.log" 2>&1 &
        t_defer "kill $! 2>/dev/null"
        wait_for 30 test -S "$sock" || fail "podman system service did not start"
        export DOCKER_HOST=unix://$sock
        # the default storage, the built-in endpoint on loopback: the
        # services are on the host's network
        unset HOIST_STORAGE
        write_job "$T_TMP/d" docker docker-compose 300
        hoist submit --follow "$T_TMP/d/job.yaml" >"$T_TMP/d.out" 2>&1 || { cat "$T_TMP/d.out"; fail "submit failed"; }
        id=$(job_id_of "$T_TMP/d.out")
        [ "$(job_field "$id" runtime)" = docker-compose ] || fail "did not run under docker-compose"
        state_is "$id" succeeded || fail "not succeeded"
        grep -q 'network_mode: "host"' "$HOIST_HOME/run/$id/compose.yaml" || fail "not on the host's network"
        hoist results "$id" "$T_TMP/d-out" >/dev/null || fail "no results"
        [ -s "$T_TMP/d-out/model/model.bin" ] || fail "no model"
        wait_for 60 nothing_left "$id" || nothing_left "$id"
        # podman-compose cannot: refused with the reason, before anything starts
        sed -i 's/engine: docker-compose/engine: podman-compose/' "$T_TMP/d/job.yaml"
        ! hoist submit "$T_TMP/d/job.yaml" >"$T_TMP/d2.out" 2>&1 || fail "podman-compose took a loopback store"
        grep -q "podman-compose cannot put a service there" "$T_TMP/d2.out" || fail "unclear error: $(cat "$T_TMP/d2.out")"
}

t_no_engine() {
        new_home
        write_job "$T_TMP/n" none auto 10
        mkdir -p "$T_TMP/emptybin"
        if env PATH="$T_TMP/emptybin" "$HOIST_BIN/hoist" submit "$T_TMP/n/job.yaml" >"$T_TMP/n.out" 2>&1; then
                fail "submit without an engine succeeded"
        fi
        grep -q "no compose engine is installed here: install docker compose.*podman-compose" "$T_TMP/n.out" ||
                fail "unclear error: $(cat "$T_TMP/n.out")"
        ! grep -q "^j-" <<<"$(hoist list 2>/dev/null)" || fail "a job was stored"
        sed -i 's/engine: auto/engine: nerdctl/' "$T_TMP/n/job.yaml"
        ! hoist submit --dry-run "$T_TMP/n/job.yaml" >"$T_TMP/n2.out" 2>&1 || fail "an unknown engine was taken"
        grep -q "compose.engine.*'nerdctl' is not one of" "$T_TMP/n2.out" || fail "unclear error: $(cat "$T_TMP/n2.out")"
}

# HOIST_TEST_ONLY=t_render runs that test alone.
only() { [ -z "${HOIST_TEST_ONLY:-}" ] || [ "$HOIST_TEST_ONLY" = "$1" ]; }
only t_render && t_run "compose.yaml: golden copy, Compose Specification schema, docker-compose config" t_render
only t_quickstart_podman_compose && t_run "podman-compose: the quickstart job, nothing left after" t_quickstart_podman_compose
only t_two_nodes && t_run "podman-compose: a 2-node job whose node 1 ends at once: the nodes meet at node0 first" t_two_nodes
only t_cancel && t_run "podman-compose: cancel a running job" t_cancel
only t_quickstart_docker_compose && t_run "docker-compose against podman system service: the quickstart job, built-in storage" t_quickstart_docker_compose
only t_no_engine && t_run "no compose engine: a clear error, nothing stored" t_no_engine
t_finish
