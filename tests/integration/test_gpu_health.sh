#!/usr/bin/env bash
# The GPU health circuit breaker of hoist-entrypoint against the fake
# libnvidia-ml.so.1 built in tests/fake_nvml (no GPU here or in CI): a healthy
# GPU leaves the job alone; each fault kind (uncorrectable ECC, temperature
# over the shutdown threshold, XID 79, a row-remapping failure, a sustained
# thermal slowdown, a fault injected while the job runs) stops it with SIGTERM
# so it writes a final checkpoint, emits gpu.fault naming the check, and
# exits 122; an ignored XID (13) is no fault; without NVML the monitor says
# so in one line; gpu_health.enabled=false turns it off.
# Needs `make all` and the fake library (HOIST_BIN, HOIST_BUILD).
. "$(dirname "$0")/lib.sh"

E=$HOIST_BIN/hoist-entrypoint
FAKE=$HOIST_BUILD/tests/fake_nvml/libnvidia-ml.so.1
for f in "$E" "$FAKE"; do
        [ -e "$f" ] || { echo "not ok - '$f' is missing (make all $FAKE)"; echo "0 passed, 1 failed"; exit 1; }
done

# A trainer that saves a final checkpoint on SIGTERM, as a real one should.
# With WAIT_FOR=TEXT it first waits until the file $WAIT_IN holds TEXT (the
# monitor has looked at the GPU), then exits 0 unless INJECT names a fault
# to write into the fake's config; then it trains until stopped.
TRAINER=$T_TMP/trainer.sh
cat >"$TRAINER" <<'EOF'
#!/bin/sh
trap 'echo final > "$HOIST_CHECKPOINT_DIR/final"; exit 0' TERM
# the handler is in place: the fake may report its faults now
[ -z "${FAKE_NVML_FAULTS_AFTER:-}" ] || : >"$FAKE_NVML_FAULTS_AFTER"
echo "training"
if [ -n "${WAIT_FOR:-}" ]; then
        while ! grep -q "$WAIT_FOR" "$WAIT_IN" 2>/dev/null; do sleep 0.05; done
        if [ -z "${INJECT:-}" ]; then
                echo "done"
                exit 0
        fi
        echo "$INJECT" >>"$FAKE_NVML_CONFIG"
fi
while :; do sleep 0.1; done
EOF
chmod +x "$TRAINER"

# run_job NAME NVML_CONFIG [GPU_HEALTH_JSON]: runs job NAME on file storage
# under the fake NVML; its exit status goes to $T_TMP/NAME.rc, stderr to
# $T_TMP/NAME.err, the storage root is $T_TMP/NAME.store.
run_job() {
        local name=$1 config=$2 extra=${3:-} rc=0
        local store=$T_TMP/$name.store
        mkdir -p "$store"
        printf '%s\n' "$config" >"$T_TMP/$name.nvml"
        : >"$T_TMP/$name.trace"
        cat >"$T_TMP/$name.json" <<EOF
{"version": "hoist/v1", "id": "$name", "command": ["$TRAINER"],
 "storage": {"endpoint": "file://$store", "prefix": ""},
 ${extra:+$extra,}
 "limits": {"stop_grace_s": 20}, "attempt": 1}
EOF
        env HOIST_NVML_LIBRARY="${NVML_LIB-$FAKE}" FAKE_NVML_CONFIG="$T_TMP/$name.nvml" \
                FAKE_NVML_TRACE="$T_TMP/$name.trace" FAKE_NVML_FAULTS_AFTER="$T_TMP/$name.ready" \
                HOIST_GPU_HEALTH_INTERVAL_MS=50 \
                HOIST_JOB_FILE="$T_TMP/$name.json" HOIST_WORKDIR="$T_TMP/$name.work" \
                HOIST_NODE=main WAIT_IN="${WAIT_IN:-$T_TMP/$name.trace}" \
                timeout 120 "$E" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err" || rc=$?
        echo "$rc" >"$T_TMP/$name.rc"
}

# gpu.fault events of job NAME, one JSON object per line.
fault_events() {
        local f
        for f in "$T_TMP/$1.store/jobs/$1/events/"*.json; do
                [ -f "$f" ] && { cat "$f"; echo; }
        done | grep '"type": *"gpu.fault"' || true
}
result_field() {
        python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" \
                "$T_TMP/$1.store/jobs/$1/result.json" "$2"
}

# expect_fault NAME CHECK TEXT: exit 122, the final checkpoint uploaded, one
# gpu.fault event whose check is CHECK, TEXT in stderr, the job log and the
# result's reason.
expect_fault() {
        local name=$1 check=$2 text=$3 ev
        [ "$(cat "$T_TMP/$name.rc")" = 122 ] || { cat "$T_TMP/$name.err"; fail "exit $(cat "$T_TMP/$name.rc"), not 122"; }
        [ "$(cat "$T_TMP/$name.store/jobs/$name/checkpoints/final" 2>/dev/null)" = final ] ||
                fail "no final checkpoint in storage"
        ev=$(fault_events "$name")
        [ "$(grep -c . <<<"$ev")" = 1 ] || fail "expected one gpu.fault event, got: $ev"
        python3 -c '
import json, sys
e = json.loads(sys.argv[2])
assert e["status"] == "failed", e
d = e["data"]
assert d["check"] == sys.argv[1], d
assert d["uuid"].startswith("GPU-fake"), d
assert isinstance(d["device"], int), d
' "$check" "$ev" || fail "bad gpu.fault event: $ev"
        grep -q "error: GPU fault: GPU [0-9] (GPU-fake[^)]*): $text" "$T_TMP/$name.err" ||
                fail "stderr does not name the fault: $(cat "$T_TMP/$name.err")"
        grep -q "GPU fault: .*$text.*replace the node" "$T_TMP/$name.store/jobs/$name/logs/main.log" ||
                fail "job log does not name the fault"
        [ "$(result_field "$name" status)" = failed ] || fail "result status is not failed"
        [ "$(result_field "$name" exit_code)" = 122 ] || fail "result exit code is not 122"
        result_field "$name" reason | grep_q "$text" || fail "result reason does not name the fault"
}

t_healthy() {
        WAIT_FOR=nvmlDeviceGetCurrentClocksEventReasons run_job healthy "temperature=60"
        [ "$(cat "$T_TMP/healthy.rc")" = 0 ] || { cat "$T_TMP/healthy.err"; fail "exit $(cat "$T_TMP/healthy.rc")"; }
        [ -z "$(fault_events healthy)" ] || fail "a healthy GPU raised gpu.fault"
        grep -q "GPU health monitor on: 1 GPU," "$T_TMP/healthy.err" || fail "monitor did not start"
        [ "$(result_field healthy status)" = succeeded ] || fail "not succeeded"
        # versioned NVML symbols first, the old ones unused
        for f in nvmlInit_v2 nvmlDeviceGetCount_v2 nvmlDeviceGetHandleByIndex_v2 nvmlEventSetWait_v2 \
                nvmlDeviceRegisterEvents nvmlDeviceGetCurrentClocksEventReasons; do
                grep -qx "$f" "$T_TMP/healthy.trace" || fail "$f was not called"
        done
        ! grep -qx 'nvmlInit\|nvmlDeviceGetCount\|nvmlDeviceGetHandleByIndex\|nvmlEventSetWait' \
                "$T_TMP/healthy.trace" || fail "an unversioned symbol was used"
        grep -qx nvmlShutdown "$T_TMP/healthy.trace" || fail "NVML was not shut down"
}

t_ecc() {
        run_job ecc "ecc_uncorrected=3"
        expect_fault ecc ecc "3 uncorrectable ECC error(s)"
}

t_temperature() {
        run_job temp "temperature=97"
        expect_fault temp temperature "temperature 97 C at or over the shutdown threshold 95 C"
}

t_xid79() {
        run_job xid "xid=79"
        expect_fault xid xid "critical XID 79"
        fault_events xid | grep_q '"xid":79' || fail "event has no xid"
}

t_remapped() {
        run_job remap "remapped_failure=1"
        expect_fault remap remapped_rows "row remapping failed"
}

t_slowdown() {
        run_job slow "clocks_reasons=0x40"
        expect_fault slow clock_slowdown "clocks slowed down (reasons 0x40"
}

# The second of two GPUs goes bad while the job runs.
t_injected() {
        WAIT_FOR=nvmlDeviceGetCurrentClocksEventReasons INJECT="ecc_uncorrected=1" \
                run_job inject "$(printf 'device_count=2\nfault_device=1')"
        expect_fault inject ecc "1 uncorrectable ECC error(s)"
        grep -q "GPU 1 (GPU-fake0000-0000-0000-0000-000000000001)" "$T_TMP/inject.err" ||
                fail "fault not on GPU 1"
        grep -q "GPU health monitor on: 2 GPUs," "$T_TMP/inject.err" || fail "not 2 GPUs"
}

# XID 13 is the application's fault, not the GPU's: the trainer goes on
# until the monitor has logged that it ignored it, then finishes.
t_ignored_xid() {
        WAIT_FOR="XID 13" WAIT_IN=$T_TMP/xid13.err run_job xid13 "xid=13"
        [ "$(cat "$T_TMP/xid13.rc")" = 0 ] || { cat "$T_TMP/xid13.err"; fail "exit $(cat "$T_TMP/xid13.rc")"; }
        [ -z "$(fault_events xid13)" ] || fail "XID 13 raised gpu.fault"
        grep -q "XID 13 (an application error, not a GPU fault), ignoring" "$T_TMP/xid13.err" ||
                fail "no line about the ignored XID"
}

# No NVML on this machine: one info line, nothing else about GPUs.
t_no_nvml() {
        NVML_LIB="" WAIT_FOR="monitor off" WAIT_IN=$T_TMP/nonvml.err run_job nonvml ""
        [ "$(cat "$T_TMP/nonvml.rc")" = 0 ] || { cat "$T_TMP/nonvml.err"; fail "exit $(cat "$T_TMP/nonvml.rc")"; }
        [ "$(grep -c GPU "$T_TMP/nonvml.err")" = 1 ] || fail "expected one GPU line: $(grep GPU "$T_TMP/nonvml.err")"
        grep -qx "hoist-entrypoint: GPU health monitor off: libnvidia-ml.so.1 not found" "$T_TMP/nonvml.err" ||
                fail "not the documented line: $(grep GPU "$T_TMP/nonvml.err")"
}

t_driver_not_loaded() {
        WAIT_FOR="monitor off" WAIT_IN=$T_TMP/nodrv.err run_job nodrv "init_error=9"
        [ "$(cat "$T_TMP/nodrv.rc")" = 0 ] || fail "exit $(cat "$T_TMP/nodrv.rc")"
        grep -qx "hoist-entrypoint: GPU health monitor off: nvmlInit: Driver Not Loaded" "$T_TMP/nodrv.err" ||
                fail "no line about the driver: $(cat "$T_TMP/nodrv.err")"
}

# gpu_health.enabled=false: not even a faulty GPU is looked at.
t_disabled() {
        WAIT_FOR=training WAIT_IN=$T_TMP/off.out run_job off "temperature=120" '"gpu_health": {"enabled": false}'
        [ "$(cat "$T_TMP/off.rc")" = 0 ] || fail "exit $(cat "$T_TMP/off.rc")"
        ! grep -q GPU "$T_TMP/off.err" || fail "GPU lines with the monitor off: $(grep GPU "$T_TMP/off.err")"
        [ ! -s "$T_TMP/off.trace" ] || fail "NVML was loaded"
}

t_run "healthy GPU: the job succeeds, versioned NVML symbols used" t_healthy
t_run "uncorrectable ECC error: exit 122, final checkpoint, gpu.fault ecc" t_ecc
t_run "temperature over the shutdown threshold: exit 122, gpu.fault temperature" t_temperature
t_run "XID 79: exit 122, gpu.fault xid" t_xid79
t_run "row-remapping failure: exit 122, gpu.fault remapped_rows" t_remapped
t_run "sustained HW thermal slowdown: exit 122, gpu.fault clock_slowdown" t_slowdown
t_run "fault injected on GPU 1 of 2 while the job runs: exit 122" t_injected
t_run "ignored XID 13: no fault, the job succeeds" t_ignored_xid
t_run "no NVML: one info line, the job succeeds" t_no_nvml
t_run "NVML without a driver: monitor off, the job succeeds" t_driver_not_loaded
t_run "gpu_health.enabled=false: monitor off, no line" t_disabled
t_finish
