#!/usr/bin/env bash
# bench/serve/flood.sh: hoist serve under a flood of idle clients (issue 14
# item 8), the server before the rework and this one side by side in the
# same run.
#
# For each server: start it (own $HOIST_HOME, 127.0.0.1, free port), PUT one
# small object, measure BENCH_REQS sequential S3 GETs, GET /api/v1/jobs
# (with the API token) and signed webhook
# POSTs from 127.0.0.1 (curl's time_total; a request that fails or takes
# over 10 s counts as failed); then open BENCH_CONNS connections from
# 127.0.0.2..127.0.0.(1+BENCH_ADDRS) that each send a request line and never
# finish the head (tests/tools/flood.py), and measure the same requests
# while they are open, with the server's RSS and thread count.  Printed:
# p50 / p99 / max latency, failures, how many flood connections stayed open,
# and the ratios old/new.
#
# The old server is built from BENCH_OLD_REV (default 358740e, the commit
# before the rework) in a temporary worktree (a few minutes on 2 cores), or
# taken from BENCH_OLD_HOIST.  The new one gets --head-timeout 600 so that
# the flood stays open while it is measured (the default, 30 s, would drop
# it: that is the point of the deadline, measured by the test suite).
#
#   make bench-serve-flood
#   BENCH_CONNS=5000 BENCH_REQS=50 bench/serve/flood.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NEW=${BENCH_NEW_HOIST:-$ROOT/bin/hoist}
OLD=${BENCH_OLD_HOIST:-}
OLD_REV=${BENCH_OLD_REV:-358740e}
CONNS=${BENCH_CONNS:-5000}
ADDRS=${BENCH_ADDRS:-50}
REQS=${BENCH_REQS:-50}
TMP=$(mktemp -d "${BENCH_TMP:-/tmp}/hoist-bench-flood.XXXXXX")
PIDS=()
cleanup() {
        local p
        for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
        for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
        [ -z "${OLD_TREE:-}" ] || git -C "$ROOT" worktree remove --force "$OLD_TREE" 2>/dev/null || true
        rm -rf "$TMP"
}
trap cleanup EXIT

ulimit -n "$(ulimit -Hn)"
if [ -z "$OLD" ]; then
        OLD_TREE=$TMP/old-tree
        echo "building the old server from $OLD_REV ..." >&2
        git -C "$ROOT" worktree add --detach "$OLD_TREE" "$OLD_REV" >/dev/null 2>&1
        make -C "$OLD_TREE" -j2 bin/hoist >"$TMP/old-build.log" 2>&1 ||
                { tail -20 "$TMP/old-build.log"; exit 1; }
        OLD=$OLD_TREE/bin/hoist
fi

SRCS=$(seq -s, -f '127.0.0.%g' 2 $((1 + ADDRS)))

# start NAME HOIST ARGS...: sets PORT, PID, AK, SK, HOME_DIR
start() {
        local name=$1 bin=$2
        shift 2
        HOME_DIR=$TMP/home-$name
        mkdir -p "$HOME_DIR"
        HOIST_HOME=$HOME_DIR "$bin" serve --listen 127.0.0.1:0 --print-credentials "$@" \
                >"$TMP/$name.out" 2>"$TMP/$name.err" &
        PID=$!
        PIDS+=("$PID")
        for _ in $(seq 600); do
                grep -q '^secret_key=' "$TMP/$name.out" 2>/dev/null && break
                sleep 0.1
        done
        PORT=$(sed -n "s|^hoist serve: S3 endpoint http://127.0.0.1:\([0-9]*\) .*|\1|p" "$TMP/$name.out")
        AK=$(sed -n 's/^access_key=//p' "$TMP/$name.out")
        SK=$(sed -n 's/^secret_key=//p' "$TMP/$name.out")
        [ -n "$PORT" ] || { cat "$TMP/$name.err"; exit 1; }
}

# measure NAME PHASE: REQS S3 GETs, REQS GET /api/v1/jobs and REQS
# webhooks; appends to $TMP/lat
measure() {
        local name=$1 phase=$2 i out
        # the API token goes in a header file, not on curl's command line
        # (a server from before the API has none: its 404 is measured)
        (umask 077 && printf 'Authorization: Bearer %s\n' \
                "$(cat "$HOME_DIR/serve/api.token" 2>/dev/null || echo none)" >"$TMP/api.hdr")
        for i in $(seq "$REQS"); do
                out=$(curl -s --max-time 10 -o /dev/null -w '%{http_code} %{time_total}' \
                        -H @"$TMP/api.hdr" "http://127.0.0.1:$PORT/api/v1/jobs" || true)
                echo "$name $phase api ${out:-000 10}" >>"$TMP/lat"
        done
        for i in $(seq "$REQS"); do
                out=$(curl -s --max-time 10 -o /dev/null -w '%{http_code} %{time_total}' \
                        --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AK:$SK" \
                        -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
                        "http://127.0.0.1:$PORT/hoist/bench/obj" || true)
                echo "$name $phase get ${out:-000 10}" >>"$TMP/lat"
        done
        python3 - "$PORT" "$(cat "$HOME_DIR/serve/webhook_secret")" "$REQS" <<'PY' |
import base64, hashlib, hmac, json, sys, time, urllib.request, urllib.error
port, secret, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
key = base64.b64decode(secret[len("whsec_"):])
for i in range(n):
    eid = "bench-%d" % time.time_ns()
    body = json.dumps({"id": eid, "type": "job.running", "job_id": "j-000000000000",
                       "node": "n", "time": "t", "status": None, "data": {}})
    ts = str(int(time.time()))
    sig = "v1," + base64.b64encode(hmac.new(key, f"{eid}.{ts}.{body}".encode(),
                                            hashlib.sha256).digest()).decode()
    req = urllib.request.Request("http://127.0.0.1:%s/hooks/events" % port, data=body.encode(),
                                 method="POST", headers={"content-type": "application/json",
                                 "webhook-id": eid, "webhook-timestamp": ts,
                                 "webhook-signature": sig})
    t0 = time.monotonic()
    try:
        code = urllib.request.urlopen(req, timeout=10).status
    except urllib.error.HTTPError as e:
        code = e.code
    except Exception:
        code = 0
    print("%03d %.6f" % (code, time.monotonic() - t0))
PY
        sed "s/^/$name $phase hook /" >>"$TMP/lat"
}

proc_stat() { # PID: "rss=KiB threads=N" of the server process, or "exited"
        awk '/^VmRSS:/ {r=$2} /^Threads:/ {t=$2} END {print "rss_kib=" r, "threads=" t}' \
                "/proc/$1/status" 2>/dev/null || echo exited
}

run_one() { # NAME HOIST ARGS...
        local name=$1 bin=$2 hold
        shift 2
        start "$name" "$bin" "$@"
        echo bench >"$TMP/obj"
        curl -s -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AK:$SK" \
                -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$TMP/obj" \
                "http://127.0.0.1:$PORT/hoist/bench/obj"
        measure "$name" idle
        echo "$name idle-proc $(proc_stat "$PID")" >>"$TMP/proc"
        hold=$TMP/$name.hold
        python3 "$ROOT/tests/tools/flood.py" hold --port "$PORT" --count "$CONNS" --src "$SRCS" \
                --status "$hold" &
        PIDS+=("$!")
        local hold_pid=$!
        for _ in $(seq 1200); do
                [ -s "$hold" ] && break
                sleep 0.1
        done
        echo "$name flood-open $(cat "$hold")" >>"$TMP/proc"
        echo "$name flood-proc $(proc_stat "$PID")" >>"$TMP/proc"
        measure "$name" flood
        echo "$name flood-after $(cat "$hold")" >>"$TMP/proc"
        kill -TERM "$hold_pid" 2>/dev/null || true
        wait "$hold_pid" 2>/dev/null || true
        kill -TERM "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
}

echo "flood: $CONNS connections from $ADDRS addresses, $REQS requests of each kind; $(nproc) cores" >&2
run_one old "$OLD"
run_one new "$NEW" --head-timeout 600

python3 - "$TMP/lat" "$TMP/proc" "$CONNS" <<'PY'
import sys
lat, proc, conns = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = {}
for line in open(lat):
    name, phase, kind, code, t = line.split()
    rows.setdefault((name, phase, kind), []).append((int(code), float(t)))
def stats(v):
    ok = sorted(t for c, t in v if c in (200, 404))
    fail = len(v) - len(ok)
    if not ok:
        return None, None, None, fail
    p = lambda q: ok[min(len(ok) - 1, int(q * len(ok)))]
    return p(0.5), p(0.99), ok[-1], fail
print("%-4s %-6s %-5s %9s %9s %9s %7s" % ("srv", "phase", "req", "p50 ms", "p99 ms", "max ms", "failed"))
res = {}
for name in ("old", "new"):
    for phase in ("idle", "flood"):
        for kind in ("get", "api", "hook"):
            s = stats(rows.get((name, phase, kind), []))
            res[(name, phase, kind)] = s
            f = lambda x: "-" if x is None else "%.2f" % (x * 1000)
            print("%-4s %-6s %-5s %9s %9s %9s %7d" % (name, phase, kind, f(s[0]), f(s[1]), f(s[2]), s[3]))
print()
for line in open(proc):
    print(line.rstrip())
print()
for phase in ("idle", "flood"):
    for kind in ("get", "api", "hook"):
        o, n = res[("old", phase, kind)], res[("new", phase, kind)]
        if o[0] is None or n[0] is None:
            print("ratio old/new %s %s: old answered %s, new answered %s of its requests" %
                  (phase, kind, "none" if o[0] is None else "some", "none" if n[0] is None else "some"))
            continue
        print("ratio old/new %-5s %-4s p50 %.2fx  p99 %.2fx  (failed: old %d, new %d)" %
              (phase, kind, o[0] / n[0], o[1] / n[1], o[3], n[3]))
PY
