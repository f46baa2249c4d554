#!/usr/bin/env bash
# hoist logs reads the stored log, node by node (issue 12 items 2 and 10):
# a single-node job's log as it always was; several node logs interleaved,
# each line prefixed "[NODE] "; --node K by rank or name; --tail per node;
# -f following every node's log until the job ends.  The node logs beside
# a real local job are written by hand into its file:// storage, as the
# nodes of a multi-node job would write them.
. "$(dirname "$0")/lib.sh"

export HOIST_CONTAINER_ENGINE=none

# A stored log line: <UTC time> <stream>|<text>
line() { printf '2026-12-06T10:00:0%s.000Z stdout|%s\n' "$1" "$2"; }

t_single_and_nodes() {
        new_home
        mkdir -p "$T_TMP/a"
        cat >"$T_TMP/a/job.yaml" <<'YAML'
name: lines
runtime: process
command: ["sh", "-c", "echo first line; echo second line; echo third line"]
YAML
        local id out rc logs
        id=$(hoist submit -q "$T_TMP/a/job.yaml")
        wait_for 60 state_is "$id" succeeded || fail "state $(job_field "$id" state)"
        # One node: its lines as written, no prefix.
        out=$(hoist logs "$id")
        grep -qx "first line" <<<"$out" || fail "$out"
        grep -qx "third line" <<<"$out" || fail "$out"
        ! grep -q '^\[' <<<"$out" || fail "a single-node log got a prefix: $out"
        [ "$(grep -n 'line$' <<<"$out" | cut -d: -f2 | tr '\n' ,)" = "first line,second line,third line," ] ||
                fail "order: $out"

        # Two nodes' logs instead, as a multi-node job writes them.
        logs=$HOIST_HOME/storage/jobs/$id/logs
        rm "$logs/main.log"
        { line 1 "zero a"; line 3 "zero b"; line 5 "zero c"; } >"$logs/node0.log"
        { line 2 "one a"; line 4 "one b"; } >"$logs/node1.log"
        out=$(hoist logs "$id")
        [ "$(printf '%s\n' "$out" | grep -c .)" = 5 ] || fail "$out"
        grep -qx "\[node0\] zero a" <<<"$out" || fail "$out"
        grep -qx "\[node1\] one b" <<<"$out" || fail "$out"
        # Each node's lines keep their order.
        [ "$(grep '^\[node0\]' <<<"$out" | tr '\n' ,)" = "[node0] zero a,[node0] zero b,[node0] zero c," ] ||
                fail "node0 order: $out"
        # --node by rank and by name, without prefix.
        out=$(hoist logs --node 1 "$id")
        [ "$out" = "$(printf 'one a\none b')" ] || fail "--node 1: $out"
        out=$(hoist logs --node node0 "$id")
        [ "$out" = "$(printf 'zero a\nzero b\nzero c')" ] || fail "--node node0: $out"
        # The stored prefix, with -t.
        out=$(hoist logs -t --node 1 "$id")
        grep -qx "2026-12-06T10:00:02.000Z stdout|one a" <<<"$out" || fail "-t: $out"
        # --tail: of each node.
        out=$(hoist logs --tail 1 "$id")
        [ "$(printf '%s\n' "$out" | sort | tr '\n' ,)" = "[node0] zero c,[node1] one b," ] ||
                fail "--tail 1: $out"
        # A node with no log is named, with those there are.
        rc=0
        out=$(hoist logs --node 7 "$id" 2>&1) || rc=$?
        [ "$rc" -ne 0 ] || fail "--node 7 succeeded: $out"
        grep_q "job $id has no log of node 'node7' (it has: node0, node1)" <<<"$out" || fail "$out"
        rc=0
        out=$(hoist logs --node ../x "$id" 2>&1) || rc=$?
        [ "$rc" = 2 ] || fail "--node ../x: exit $rc: $out"
}

t_follow_nodes() {
        new_home
        mkdir -p "$T_TMP/f"
        cat >"$T_TMP/f/job.yaml" <<YAML
name: follow
runtime: process
command: ["sh", "-c", "echo started; while [ ! -e $T_TMP/f/go ]; do sleep 0.1; done; echo finished"]
YAML
        local id logs pid rc=0
        id=$(hoist submit -q "$T_TMP/f/job.yaml")
        logs=$HOIST_HOME/storage/jobs/$id/logs
        wait_for 60 grep -q "stdout|started" "$logs/main.log" || fail "the job did not start"
        line 1 "node0 up" >"$logs/node0.log"
        hoist logs -f "$id" >"$T_TMP/f/out" 2>"$T_TMP/f/err" &
        pid=$!
        t_defer "kill $pid 2>/dev/null"
        wait_for 30 grep -qx "\[node0\] node0 up" "$T_TMP/f/out" || fail "$(cat "$T_TMP/f/out")"
        grep -qx "\[main\] started" "$T_TMP/f/out" || fail "$(cat "$T_TMP/f/out")"
        # A node whose log appears later, and lines that come while following.
        line 2 "node1 up" >"$logs/node1.log"
        wait_for 30 grep -qx "\[node1\] node1 up" "$T_TMP/f/out" || fail "$(cat "$T_TMP/f/out")"
        line 3 "node0 step 1" >>"$logs/node0.log"
        line 4 "node1 step 1" >>"$logs/node1.log"
        wait_for 30 grep -qx "\[node0\] node0 step 1" "$T_TMP/f/out" || fail "$(cat "$T_TMP/f/out")"
        wait_for 30 grep -qx "\[node1\] node1 step 1" "$T_TMP/f/out" || fail "$(cat "$T_TMP/f/out")"
        pid_alive "$pid" || fail "hoist logs -f stopped while the job runs"
        # The job ends: so does the following, with the job's outcome.
        touch "$T_TMP/f/go"
        wait "$pid" || rc=$?
        [ "$rc" = 0 ] || fail "hoist logs -f exited $rc: $(cat "$T_TMP/f/err")"
        grep -qx "\[main\] finished" "$T_TMP/f/out" || fail "$(cat "$T_TMP/f/out")"
        grep_q "job $id succeeded" <"$T_TMP/f/err" || fail "$(cat "$T_TMP/f/err")"
        # --node with -f: one node only.
        out=$(hoist logs -f --node 0 "$id")
        [ "$out" = "$(printf 'node0 up\nnode0 step 1')" ] || fail "-f --node 0: $out"
}

t_help_names_the_lag() {
        local out
        out=$(hoist logs --help)
        grep_q "HOIST_LOG_SYNC_S (default 2 s) + 0.2 s" <<<"$out" || fail "$out"
        grep_q -- "--node K" <<<"$out" || fail "$out"
        grep_q "HOIST_LOG_SYNC_S (default 2 s) + 0.2 s" <"$T_ROOT/docs/logs.md" || fail "docs/logs.md"
}

t_run "single-node log unchanged; node logs interleaved with [NODE], --node, --tail, -t" t_single_and_nodes
t_run "-f follows every node's log, a node that appears later too, until the job ends" t_follow_nodes
t_run "hoist logs --help and docs/logs.md state the lag bound" t_help_names_the_lag
t_finish
