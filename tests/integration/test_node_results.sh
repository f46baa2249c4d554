#!/usr/bin/env bash
# Contract C3 on the runner's side: a multi-node job (job.json
# distributed.nodes > 1) is decided once its provider says it ended, from
# every node's results/<node>.json: the first failed node wins, its reason
# naming the node, else rank 0's result.json.  No provider runs several
# nodes on main yet: a real local job plays rank 0, its job.json says two
# nodes, and node1's record is written by hand into its file:// storage.
. "$(dirname "$0")/lib.sh"

export HOIST_CONTAINER_ENGINE=none

# Submits a job in DIR that waits for DIR/go, then exits 0; prints its id.
submit_waiting() { # DIR NAME
        mkdir -p "$1"
        cat >"$1/job.yaml" <<YAML
name: $2
runtime: process
command: ["sh", "-c", "echo rank0; while [ ! -e $1/go ]; do sleep 0.1; done"]
YAML
        hoist submit -q "$1/job.yaml"
}

# Makes job ID's job.json say NODES nodes (its entrypoint read it already).
set_nodes() { # ID NODES
        local f=$HOIST_HOME/storage/jobs/$1/job.json
        /usr/bin/python3 - "$f" "$2" <<'PY'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
spec = json.load(open(path))
spec.setdefault("distributed", {})["nodes"] = n
json.dump(spec, open(path, "w"), indent=2)
PY
}

node_record() { # ID NODE STATUS CODE REASON
        mkdir -p "$HOIST_HOME/storage/jobs/$1/results"
        printf '{"job_id": "%s", "node": "%s", "status": "%s", "exit_code": %s, "reason": "%s", "finished_at_ms": 1000, "attempt": 1}\n' \
                "$1" "$2" "$3" "$4" "$5" >"$HOIST_HOME/storage/jobs/$1/results/$2.json"
}

t_failed_node_wins() {
        new_home
        local id
        id=$(submit_waiting "$T_TMP/a" failnode)
        wait_for 60 state_is "$id" running || fail "state $(job_field "$id" state)"
        set_nodes "$id" 2
        node_record "$id" node1 failed 3 "exit code 3"
        # Rank 0 has not ended: the job runs on.
        state_is "$id" running || fail "decided before rank 0 ended: $(hoist status "$id")"
        touch "$T_TMP/a/go"
        wait_for 60 state_is "$id" failed || fail "$(hoist status "$id")"
        [ "$(job_field "$id" reason)" = "node node1: exit code 3" ] || fail "$(hoist status "$id")"
        [ "$(job_field "$id" exit_code)" = 3 ] || fail "$(hoist status "$id")"
        # rank 0's own record says it succeeded: the failed node decided.
        grep_q '"status": "succeeded"' <"$HOIST_HOME/storage/jobs/$id/result.json" ||
                fail "$(cat "$HOIST_HOME/storage/jobs/$id/result.json")"
        # job.json says two nodes: even the one log there is shown with its node.
        local out
        out=$(hoist logs "$id")
        grep -qx "\[main\] rank0" <<<"$out" || fail "$out"
}

t_rank0_decides() {
        new_home
        local id
        id=$(submit_waiting "$T_TMP/b" allgood)
        wait_for 60 state_is "$id" running || fail "state $(job_field "$id" state)"
        set_nodes "$id" 2
        node_record "$id" node1 succeeded 0 ""
        touch "$T_TMP/b/go"
        wait_for 60 state_is "$id" succeeded || fail "$(hoist status "$id")"
        # A record of another attempt does not count.
        id=$(submit_waiting "$T_TMP/c" oldrecord)
        wait_for 60 state_is "$id" running || fail "state $(job_field "$id" state)"
        set_nodes "$id" 2
        node_record "$id" node1 failed 9 "old"
        sed -i 's/"attempt": 1/"attempt": 0/' "$HOIST_HOME/storage/jobs/$id/results/node1.json"
        touch "$T_TMP/c/go"
        wait_for 60 state_is "$id" succeeded || fail "$(hoist status "$id")"
}

t_run "two nodes: node1's failure decides once rank 0 ends, its reason naming node1" t_failed_node_wins
t_run "two nodes: rank 0's result decides when no node failed; another attempt's record does not count" t_rank0_decides
t_finish
