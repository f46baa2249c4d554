#!/usr/bin/env bash
# Cost (issue 13, docs/cost.md): the price tables and a user override, the
# estimate before submit and --estimate submitting nothing, spending limits
# (warn, block with exit 8 and no job row, running jobs counted at their
# ceiling, a running job stopped at a stop_running limit by hoist serve with
# its final checkpoint, then resumed), billed cost for local and Slurm jobs,
# and `hoist cost -o json` against the store.
. "$(dirname "$0")/lib.sh"

QS=$T_ROOT/examples/quickstart
SLURM_DIR=$T_TMP/slurm
export HOIST_CONTAINER_ENGINE=none HOIST_CHECKPOINT_DEBOUNCE_MS=300

serve_pid() { sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$HOIST_HOME/serve/serve.json"; }

# set_rate PROVIDER UNIT PRICE: the user's rate in $HOIST_HOME/prices.yaml.
set_rate() {
        cat >"$HOIST_HOME/prices.yaml" <<YAML
prices:
  - provider: $1
    unit: $2
    price: $3
    source: "test rate, 2026-12-06"
YAML
}

# set_limits YAML-LIST: config.yaml with consent and spending_limits.
set_limits() {
        printf 'consent: allow\nspending_limits: %s\n' "$1" >"$HOIST_HOME/config.yaml"
}

# write_job DIR NAME COMMAND [EXTRA-YAML]: a process job.
write_job() {
        mkdir -p "$1"
        cat >"$1/job.yaml" <<YAML
name: $2
runtime: process
command: $3
${4:-}
YAML
}

store_dump() { sqlite3 "$HOIST_HOME/hoist.db" .dump; }
jq_of() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

t_price_tables() {
        new_home
        hoist prices -o json >"$T_TMP/prices.json" || fail "hoist prices failed"
        python3 - "$T_TMP/prices.json" <<'PY' || fail "price tables"
import json, sys
entries = json.load(open(sys.argv[1]))
assert entries, "no entries"
for e in entries:
    assert e["source"].strip(), ("no source", e)
    assert e["unit"] in ("instance-hour", "second", "gpu-hour", "node-hour", "cpu-hour"), e
    assert e["price"] >= 0, e
sm = [e for e in entries if e["provider"] == "sagemaker"]
for fam in ("g4dn", "g5", "g6", "p3", "p4d", "p5"):
    for region in ("us-east-1", "us-west-2", "eu-west-1"):
        got = [e for e in sm if e["sku"].startswith("ml.%s." % fam) and e["region"] == region]
        assert got, (fam, region)
        for e in got:
            assert e["gpus"] > 0 and e["gpu_type"] and e["gpu_memory_gib"] > 0, e
            assert e["vcpus"] > 0 and e["memory_gib"] > 0, e
assert all(e["spot_discount"] > 0 for e in sm), "no managed-spot assumption"
rep = {e["sku"] for e in entries if e["provider"] == "replicate"}
for hw in ("cpu", "gpu-t4", "gpu-l40s", "gpu-l40s-2x", "gpu-a100-large", "gpu-a100-large-2x", "gpu-h100"):
    assert hw in rep, hw
assert all(e["unit"] == "second" for e in entries if e["provider"] == "replicate")
for p in ("local", "slurm", "kubernetes", "compose"):
    user = [e for e in entries if e["provider"] == p and e["sku"] is None]
    assert len(user) == 1 and user[0]["price"] == 0, (p, user)
PY
        hoist prices sagemaker | grep_q "ml.p5.48xlarge" || fail "hoist prices sagemaker lacks p5"
        hoist prices nosuch >/dev/null 2>&1 && fail "an unknown provider listed"
        # A user override wins, entry by entry; the others stay.
        cat >"$HOIST_HOME/prices.yaml" <<'YAML'
prices:
  - provider: sagemaker
    sku: ml.g5.xlarge
    region: us-east-1
    unit: instance-hour
    price: 0.99
    source: "our negotiated rate, 2026-12"
YAML
        hoist prices -o json sagemaker | python3 -c '
import json, sys
entries = json.load(sys.stdin)
e = {(x["sku"], x["region"]): x for x in entries}
assert len(e) == len(entries), "an entry listed twice"
o = e[("ml.g5.xlarge", "us-east-1")]
assert o["price"] == 0.99 and o["source"] == "our negotiated rate, 2026-12", o
assert e[("ml.g5.xlarge", "us-west-2")]["price"] == 1.408, e[("ml.g5.xlarge", "us-west-2")]
' || fail "the override did not win: $(hoist prices sagemaker | grep g5.xlarge)"
        # A broken user file is an error naming it and the line.
        printf 'prices:\n  - provider: local\n    unit: per-fortnight\n    price: 1\n' >"$HOIST_HOME/prices.yaml"
        hoist prices >"$T_TMP/bad.out" 2>&1 && fail "a bad unit accepted"
        grep_q "prices.yaml':3" <"$T_TMP/bad.out" || fail "the error names no line: $(cat "$T_TMP/bad.out")"
        grep_q "per-fortnight" <"$T_TMP/bad.out" || fail "the error names no unit: $(cat "$T_TMP/bad.out")"
}

t_estimate() {
        new_home
        write_job "$T_TMP/e" est '["true"]' 'limits: {max_runtime: 2h}
resources: {cpus: 2}'
        # no rate set: the estimate says so
        hoist submit --estimate "$T_TMP/e/job.yaml" >"$T_TMP/e/none" 2>&1 || fail "$(cat "$T_TMP/e/none")"
        grep_q "no rate set" <"$T_TMP/e/none" || fail "no 'no rate set': $(cat "$T_TMP/e/none")"
        set_rate local cpu-hour 0.5
        before=$(store_dump)
        hoist submit --estimate "$T_TMP/e/job.yaml" >"$T_TMP/e/out" 2>&1 || fail "$(cat "$T_TMP/e/out")"
        grep_q "0.5 USD per cpu-hour: 1.00 USD/hour" <"$T_TMP/e/out" || fail "rate: $(cat "$T_TMP/e/out")"
        grep_q "at most 2.00 USD" <"$T_TMP/e/out" || fail "ceiling: $(cat "$T_TMP/e/out")"
        hoist submit --estimate -o json "$T_TMP/e/job.yaml" >"$T_TMP/e/json" || fail "-o json"
        jq_of 'd["rate_per_hour"] == 1.0 and d["ceiling"] == 2.0 and d["expected"] is None and d["unit"] == "cpu-hour"' <"$T_TMP/e/json" | grep_q True ||
                fail "json: $(cat "$T_TMP/e/json")"
        [ "$(store_dump)" = "$before" ] || fail "--estimate changed the store"
        [ ! -d "$HOIST_HOME/storage/jobs" ] || [ -z "$(ls "$HOIST_HOME/storage/jobs")" ] || fail "--estimate uploaded"
        # no max_runtime on a paid provider: unbounded, said so
        write_job "$T_TMP/u" unb '["true"]'
        hoist submit --estimate "$T_TMP/u/job.yaml" >"$T_TMP/u/out" 2>&1 || fail "$(cat "$T_TMP/u/out")"
        grep_q "unbounded" <"$T_TMP/u/out" || fail "no unbounded warning: $(cat "$T_TMP/u/out")"
        # earlier runs of the same name: the median of their run times
        # (1, 1 and 4 s of sleep: neither their mean nor the longest)
        for s in 1 1 4; do
                write_job "$T_TMP/m" med "[\"sh\", \"-c\", \"sleep $s\"]" 'limits: {max_runtime: 1h}'
                hoist submit --follow "$T_TMP/m/job.yaml" >/dev/null 2>&1 || fail "run of med failed"
        done
        hoist submit --estimate -o json "$T_TMP/m/job.yaml" >"$T_TMP/m/json" || fail "estimate of med"
        hoist cost -o json >"$T_TMP/m/cost.json" || fail "hoist cost"
        python3 - "$T_TMP/m/json" "$T_TMP/m/cost.json" <<'PY' || fail "median: $(cat "$T_TMP/m/json")"
import json, sys
est = json.load(open(sys.argv[1]))
cost = json.load(open(sys.argv[2]))
runs = sorted(j["attempts"][0]["billed_s"] for j in cost["jobs"] if j["name"] == "med")
assert est["runs"] == 3, est
assert est["median_s"] == runs[1], (est, runs)
assert runs[2] > runs[1], runs
assert abs(est["expected"] - est["rate_per_hour"] * runs[1] / 3600) < 1e-9, est
PY
}

t_limits() {
        new_home
        set_rate local cpu-hour 1
        write_job "$T_TMP/l" lim '["true"]' 'limits: {max_runtime: 2h}'
        # warn: prints and submits
        set_limits '[{period: day, amount: 1, action: warn}]'
        hoist submit --follow "$T_TMP/l/job.yaml" >"$T_TMP/l/warn" 2>&1 || fail "warn refused: $(cat "$T_TMP/l/warn")"
        grep_q "warning:.*spending limit 1 USD per day" <"$T_TMP/l/warn" || fail "no warning: $(cat "$T_TMP/l/warn")"
        [ -n "$(job_id_of "$T_TMP/l/warn")" ] || fail "warn did not submit"
        # block: exit 8, the message names the limit, the spend and the ceiling; no row
        set_limits '[{period: day, amount: 1, action: block}]'
        before=$(store_dump)
        rc=0
        hoist submit "$T_TMP/l/job.yaml" >"$T_TMP/l/block" 2>&1 || rc=$?
        [ "$rc" = 8 ] || fail "exit $rc, not 8: $(cat "$T_TMP/l/block")"
        grep_q "spending limit 1 USD per day" <"$T_TMP/l/block" || fail "limit not named: $(cat "$T_TMP/l/block")"
        # what the warned job was billed, as hoist cost has it
        spent=$(sed -n 's/.*this day spent \([0-9.]*\) USD.*/\1/p' "$T_TMP/l/block")
        [ -n "$spent" ] || fail "spend not named: $(cat "$T_TMP/l/block")"
        hoist cost -o json | jq_of "abs(d['total']['billed'] - $spent) < 1e-4 and d['total']['billed'] > 0" | grep_q True ||
                fail "spent $spent is not what was billed: $(hoist cost -o json)"
        grep_q "ceiling is 2.00 USD" <"$T_TMP/l/block" || fail "ceiling not named: $(cat "$T_TMP/l/block")"
        [ "$(store_dump)" = "$before" ] || fail "a blocked submit changed the store"
}

t_running_ceiling() {
        new_home
        set_rate local cpu-hour 1
        set_limits '[{period: week, amount: 3, action: block}]'
        write_job "$T_TMP/r" long '["sh", "-c", "sleep 300"]' 'limits: {max_runtime: 2h, stop_grace: 5s}'
        write_job "$T_TMP/s" short '["true"]' 'limits: {max_runtime: 2h}'
        hoist submit --estimate "$T_TMP/s/job.yaml" >/dev/null 2>&1 || fail "alone, 2 of 3 passes"
        id=$(hoist submit -q "$T_TMP/r/job.yaml") || fail "the long job refused"
        wait_for 30 state_is "$id" running || fail "the long job does not run"
        rc=0
        hoist submit "$T_TMP/s/job.yaml" >"$T_TMP/s/out" 2>&1 || rc=$?
        [ "$rc" = 8 ] || fail "exit $rc with a running job that can reach 2: $(cat "$T_TMP/s/out")"
        grep_q "running jobs can reach 2.00 USD" <"$T_TMP/s/out" || fail "$(cat "$T_TMP/s/out")"
        hoist cancel "$id" >/dev/null || fail "cancel"
        # canceled at once: what it ran is billed, its ceiling no longer counts
        hoist submit --estimate "$T_TMP/s/job.yaml" >/dev/null 2>&1 || fail "still refused after the cancel"
}

t_stop_running() {
        new_home
        # 1 USD per second of run time; the limit is reached within seconds
        set_rate local cpu-hour 3600
        set_limits '[{period: day, amount: 3, action: block, stop_running: true}]'
        mkdir -p "$T_TMP/q"
        cp -r "$QS/data" "$T_TMP/q/data"
        write_job "$T_TMP/q" capped '["hoist-quickstart", "train"]' 'inputs: {train: data/}
hyperparameters: {steps: 100000, sleep_ms: 5, lr: 0.05, hidden: 16, seed: 7, checkpoint_every: 100000}
limits: {stop_grace: 20s}'
        hoist serve --listen 127.0.0.1:0 >"$T_TMP/q/serve.out" 2>&1 &
        t_defer "kill $!"
        wait_for 30 test -s "$HOIST_HOME/serve/serve.json" || fail "hoist serve did not start: $(cat "$T_TMP/q/serve.out")"
        id=$(hoist submit -q "$T_TMP/q/job.yaml") || fail "submit refused"
        # no CLI call from here: hoist serve stops it
        wait_for 60 sh -c "sqlite3 '$HOIST_HOME/hoist.db' \"select state from jobs where id='$id'\" | grep -qx canceled" ||
                fail "not stopped: $(hoist status "$id"; cat "$HOIST_HOME/serve/serve.log")"
        [ "$(job_field "$id" reason)" = "spending limit" ] || fail "reason: $(job_field "$id" reason)"
        log=$HOIST_HOME/storage/jobs/$id/logs/main.log
        grep_q '"event": "stopped".*SIGTERM' <"$log" || fail "the trainer was not stopped by SIGTERM: $(tail -3 "$log")"
        ls "$HOIST_HOME/storage/jobs/$id/checkpoints" | grep_q ckpt || fail "no final checkpoint stored"
        grep_q "spending limit" <"$T_TMP/q/serve.out" || fail "hoist serve does not say why: $(cat "$T_TMP/q/serve.out")"
        hoist cost -o json | jq_of '[j for j in d["jobs"] if j["id"] == "'"$id"'"][0]["billed"] >= 3' | grep_q True ||
                fail "billed below the limit: $(hoist cost -o json)"
        # raised limit: resumed from the checkpoint
        set_limits '[{period: day, amount: 100000, action: block, stop_running: true}]'
        hoist submit --resume "$id" >/dev/null || fail "resume refused"
        wait_for 60 grep -q '"event": "resumed"' "$log" || fail "attempt 2 did not resume: $(tail -3 "$log")"
        [ "$(job_field "$id" attempt)" = 2 ] || fail "attempt is not 2"
        hoist cancel "$id" >/dev/null || fail "cancel attempt 2"
        kill "$(serve_pid)" 2>/dev/null || true
}

t_billed_local() {
        new_home
        set_rate local node-hour 36
        write_job "$T_TMP/b" billed '["sh", "-c", "sleep 2"]' 'limits: {max_runtime: 1h}'
        hoist submit --follow "$T_TMP/b/job.yaml" >"$T_TMP/b/out" 2>&1 || fail "$(cat "$T_TMP/b/out")"
        id=$(job_id_of "$T_TMP/b/out")
        hoist status -o json "$id" >"$T_TMP/b/status" || fail "status"
        python3 - "$T_TMP/b/status" <<'PY' || fail "billed: $(cat "$T_TMP/b/status")"
import json, sys
c = json.load(open(sys.argv[1]))["cost"]
a = c["attempts"][0]
assert a["billed_s"] >= 2, a
assert abs(a["billed"] - 36 * a["billed_s"] / 3600) < 1e-9, a
assert c["billed"] == a["billed"] and c["currency"] == "USD", c
assert c["estimated"] == 36.0, c
PY
        hoist status "$id" | grep_q "^cost: *billed 0.0[2-9]" || fail "$(hoist status "$id")"
        hoist list | grep_q "^total: " || fail "no total line after hoist list"
}

# hoist cost -o json against the store's rows, job by job and in total.
t_cost_matches_store() {
        new_home
        set_rate local node-hour 36
        set_limits '[{period: month, amount: 50, action: warn, provider: local}]'
        write_job "$T_TMP/c" one '["sh", "-c", "sleep 1"]' 'limits: {max_runtime: 1h}'
        hoist submit --follow "$T_TMP/c/job.yaml" >/dev/null 2>&1 || fail "job one"
        hoist submit --follow "$T_TMP/c/job.yaml" >/dev/null 2>&1 || fail "job two"
        hoist list >/dev/null
        hoist cost -o json >"$T_TMP/c/cost.json" || fail "hoist cost"
        sqlite3 -json "$HOIST_HOME/hoist.db" "select job_id, sum(estimated) e, sum(billed) b from costs group by job_id" >"$T_TMP/c/store.json"
        python3 - "$T_TMP/c/cost.json" "$T_TMP/c/store.json" <<'PY' || fail "report vs store: $(cat "$T_TMP/c/cost.json")"
import json, sys
r = json.load(open(sys.argv[1]))
rows = {x["job_id"]: x for x in json.load(open(sys.argv[2]))}
assert len(r["jobs"]) == len(rows) == 2, (r["jobs"], rows)
for j in r["jobs"]:
    s = rows[j["id"]]
    assert abs(j["estimated"] - s["e"]) < 1e-9 and abs(j["billed"] - s["b"]) < 1e-9, (j, s)
assert abs(r["total"]["billed"] - sum(x["b"] for x in rows.values())) < 1e-9, r["total"]
p = r["providers"][0]
assert p["provider"] == "local" and p["jobs"] == 2, p
assert abs(r["periods"]["day"][0]["billed"] - r["total"]["billed"]) < 1e-9, r["periods"]
l = r["limits"][0]
assert l["period"] == "month" and l["amount"] == 50 and l["action"] == "warn" and l["provider"] == "local", l
assert abs(l["used"] - r["total"]["billed"]) < 1e-9, l
PY
        hoist cost --provider slurm -o json | jq_of 'len(d["jobs"])' | grep_q -x 0 || fail "--provider slurm lists local jobs"
        hoist cost --since 1h -o json | jq_of 'len(d["jobs"])' | grep_q -x 2 || fail "--since 1h"
        hoist cost | grep_q "^total: estimated" || fail "$(hoist cost)"
}

t_billed_slurm() {
        new_home
        set_rate slurm node-hour 3600
        write_job "$T_TMP/sl" sbilled '["sh", "-c", "sleep 2"]' 'provider: slurm
limits: {max_runtime: 10m}'
        hoist submit --follow "$T_TMP/sl/job.yaml" >"$T_TMP/sl/out" 2>&1 || fail "$(cat "$T_TMP/sl/out")"
        grep_q "1 node, on-demand at 3600 USD per node-hour" <"$T_TMP/sl/out" || fail "estimate: $(cat "$T_TMP/sl/out")"
        id=$(job_id_of "$T_TMP/sl/out")
        hoist status -o json "$id" >"$T_TMP/sl/status" || fail "status"
        python3 - "$T_TMP/sl/status" <<'PY' || fail "slurm billed: $(cat "$T_TMP/sl/status")"
import json, sys
s = json.load(open(sys.argv[1]))
a = s["cost"]["attempts"][0]
assert a["billed_s"] >= 2, a
assert "Slurm" in a["source"], a
assert abs(a["billed"] - a["billed_s"]) < 1e-9, a
PY
}

t_run "price tables: every entry has a source; a user override wins" t_price_tables
t_run "the estimate of a process job with a local rate; --estimate submits nothing" t_estimate
t_run "limits: warn submits, block exits 8 with no job row" t_limits
t_run "limits: a running job counts at its ceiling" t_running_ceiling
t_run "stop_running: hoist serve stops a job at the limit; resumed from its checkpoint" t_stop_running
t_run "billed cost of a local job" t_billed_local
t_run "hoist cost -o json matches the store" t_cost_matches_store
t_setup "start the Slurm peer" start_slurm "$SLURM_DIR"
t_run "billed cost of a Slurm job" t_billed_slurm
t_finish
