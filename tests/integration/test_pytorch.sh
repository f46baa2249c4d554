#!/usr/bin/env bash
# The PyTorch example (examples/pytorch) end to end, with Debian's
# python3-torch under /usr/bin/python3:
# - the trainer on its own: deterministic, SIGTERM checkpoints and exits 143,
#   the resumed run ends with the same model bytes, a missing secret is exit 3;
# - runtime process: an uninterrupted job, and one interrupted as a spot
#   reclaim would (SIGTERM to its entrypoint at a random step), resumed with
#   `hoist submit --resume`: the final model.pt is byte for byte the
#   uninterrupted one's (and so are its state_dict tensors);
# - runtime container: the Debian+torch base made by
#   scripts/make-torch-rootfs.sh (debootstrap; cached in
#   /var/cache/hoist-tests, so only the first run on a machine pays for it)
#   and `hoist import`, the job's image built from images/pytorch/Dockerfile
#   at submit, run under podman; the same interrupt (`podman stop`) and
#   resume, and the same model bytes as the process run's.
#
# The jobs are examples/pytorch/job.yaml and job-container.yaml (or the files
# HOIST_PYTORCH_JOB / HOIST_PYTORCH_CONTAINER_JOB name), copied with their
# directory.  For each of job.yaml's `code:`, `secrets:` and `resources:`
# that this hoist does not know yet, the test runs the equivalent (the code
# as an input channel, the secret in env:, no resources) and says so.
#
# Bitwise equality holds because train.py fixes the seeds, uses
# torch.use_deterministic_algorithms(True) and one thread, draws the data
# order from (seed, epoch) and saves the RNG state, the optimizer state and
# its place in the epoch in every checkpoint, and writes torch.save output
# through memory (the zip's inner name does not depend on the file name).
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PT=$T_ROOT/examples/pytorch
JOB=${HOIST_PYTORCH_JOB:-$PT/job.yaml}
CJOB=${HOIST_PYTORCH_CONTAINER_JOB:-$PT/job-container.yaml}
BASE=localhost/hoist/debian-torch:bookworm
export EXAMPLE_API_TOKEN=dummy-token-$$-not-a-real-one
export HOIST_CHECKPOINT_DEBOUNCE_MS=300
export HOIST_BUNDLE_DIR=${HOIST_BUNDLE_DIR:-$HOIST_BUILD/bundle/opt/hoist}

"$PY" -c 'import torch' 2>/dev/null || {
        echo "not ok - $PY cannot import torch (apt-get install python3-torch; scripts/deps.sh does)"
        echo "0 passed, 1 failed"
        exit 1
}

# measure WHAT SECONDS: a timing printed with the results
measure() { echo "# $1: $2 s" | tee -a "$T_TMP/timings" >&2; }
model_of() { echo "$HOIST_HOME/storage/jobs/$1/output/model/model.pt"; }
log_of() { echo "$HOIST_HOME/storage/jobs/$1/logs/main.log"; }
# the newest {"step": N} in job ID's log, 0 before the first
# (the stored log's lines are "TIME stdout|LINE")
last_step() { sed -n 's/^[^|]*|{"step": \([0-9]*\), "loss".*/\1/p' "$(log_of "$1")" 2>/dev/null | tail -n 1; }
step_at_least() { local s; s=$(last_step "$1"); [ "${s:-0}" -ge "$2" ]; }
entrypoint_gone() { ! kill -0 "$(cut -d' ' -f1 "$HOIST_HOME/run/$1/pid")" 2>/dev/null; }

# Which of job.yaml's code:, secrets: and resources: this hoist takes (a
# tiny job with each, in a scratch home): "code secrets resources" or fewer.
known_fields() { # (computed once, kept in $T_TMP/known-fields)
        if [ ! -f "$T_TMP/known-fields" ]; then
                local d f out line known=
                for f in code secrets resources; do
                        d=$T_TMP/fields-$f
                        mkdir -p "$d"
                        case $f in
                        code) line='code: .' ;;
                        secrets) line='secrets: {EXAMPLE_API_TOKEN: {env: EXAMPLE_API_TOKEN}}' ;;
                        resources) line='resources: {cpus: 1}' ;;
                        esac
                        printf '%s\n' "name: fields-$f" 'runtime: process' 'command: ["true"]' "$line" >"$d/job.yaml"
                        out=$(HOIST_HOME=$d/home HOIST_STORAGE=file://$d/home/storage "$HOIST_BIN/hoist" submit -q "$d/job.yaml" 2>&1) || true
                        if grep -q "unknown field '$f'" <<<"$out"; then
                                echo "# this hoist does not know job.yaml's $f: yet; the test runs its equivalent" |
                                        tee -a "$T_TMP/timings" >&2
                        else
                                known="$known $f"
                        fi
                done
                echo "$known" >"$T_TMP/known-fields"
        fi
        cat "$T_TMP/known-fields"
}
knows() { [[ " $(known_fields) " == *" $1 "* ]]; }

# prepare SRC_YAML DIR [SLEEP_MS]: the example's directory in DIR with
# DIR/job.yaml made from SRC_YAML: log every 10 steps, SLEEP_MS per step (a
# run slow enough to interrupt; it changes no number), build.dockerfile
# absolute; and, for each of the fields this hoist lacks, its equivalent:
# the code as an input channel and the command run there, the secret in
# env:, no resources.
prepare() {
        local known
        known=$(known_fields)
        mkdir -p "$2"
        cp -r "$PT/train.py" "$PT/data" "$PT/requirements.txt" "$PT/.dockerignore" "$2/"
        "$PY" - "$1" "$2/job.yaml" "${3:-0}" "$known" <<'PY'
import os, shlex, sys, yaml
src, dst, sleep_ms, known = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split()
j = yaml.safe_load(open(src))
j.setdefault("hyperparameters", {})
j["hyperparameters"]["log_every"] = 10
if sleep_ms:
    j["hyperparameters"]["sleep_ms"] = sleep_ms
b = j.get("build")
if b and not os.path.isabs(b.get("dockerfile", "Dockerfile")):
    b["dockerfile"] = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(src)), b.get("context", "."), b["dockerfile"]))
if "code" not in known and "code" in j:
    j.setdefault("inputs", {})["code"] = j.pop("code")
    j["command"] = ["sh", "-c", 'cd "$HOIST_INPUT_CODE" && exec ' + " ".join(shlex.quote(a) for a in j["command"])]
if "secrets" not in known:
    for name, where in (j.pop("secrets", None) or {}).items():
        j.setdefault("env", {})[name] = os.environ[where["env"]]
if "resources" not in known:
    j.pop("resources", None)
yaml.safe_dump(j, open(dst, "w"), sort_keys=False)
PY
}

# Whether two model.pt files hold the same tensors, bit for bit.
same_tensors() {
        "$PY" - "$1" "$2" <<'PY'
import sys, torch
a, b = torch.load(sys.argv[1]), torch.load(sys.argv[2])
assert a.keys() == b.keys(), (a.keys(), b.keys())
for k in a:
    assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and torch.equal(a[k], b[k]), k
PY
}

# run_job DIR: submits DIR/job.yaml, follows it to success; sets $id.
run_job() {
        hoist submit "$1/job.yaml" >"$1/submit.out" 2>&1 || { cat "$1/submit.out"; fail "submit $1"; }
        id=$(job_id_of "$1/submit.out")
        [ -n "$id" ] || fail "no job id: $(cat "$1/submit.out")"
        hoist logs -f "$id" >"$1/run.out" 2>&1 || { tail -30 "$1/run.out"; fail "job $id failed"; }
        state_is "$id" succeeded || fail "job $id is $(job_field "$id" state)"
}

# interrupt_resume DIR STOP_HOW: submits DIR/job.yaml, sends SIGTERM as a
# spot reclaim would (STOP_HOW: "process" kills the entrypoint, "podman"
# runs podman stop) once the log shows a random step, then resumes it to
# success; sets $id and $stopped.
interrupt_resume() {
        local at=$((RANDOM % 400 + 20))
        hoist submit "$1/job.yaml" >"$1/submit.out" 2>&1 || { cat "$1/submit.out"; fail "submit $1"; }
        id=$(job_id_of "$1/submit.out")
        [ -n "$id" ] || fail "no job id: $(cat "$1/submit.out")"
        echo "# interrupting $id after step $at" >&2
        wait_for 600 step_at_least "$id" "$at" || { cat "$HOIST_HOME/run/$id/console.log" 2>/dev/null; fail "step $at never came"; }
        if [ "$2" = podman ]; then
                podman stop "hoist-$id" >/dev/null
        else
                kill -TERM "$(cut -d' ' -f1 "$HOIST_HOME/run/$id/pid")"
        fi
        wait_for 120 entrypoint_gone "$id"
        wait_for 60 state_is "$id" interrupted || fail "state is $(job_field "$id" state), not interrupted"
        stopped=$(hoist logs "$id" | sed -n 's/^{"event": "stopped", "step": \([0-9]*\), "signal": "SIGTERM"}$/\1/p')
        [ -n "$stopped" ] || fail "train.py did not stop on SIGTERM: $(hoist logs "$id" | tail -n 5)"
        [ "$stopped" -lt 600 ] || fail "the run had finished before the SIGTERM"
        hoist submit --resume "$id" >/dev/null
        hoist logs -f "$id" >"$1/resumed.out" 2>&1 || { tail -30 "$1/resumed.out"; fail "the resumed attempt failed"; }
        grep -q "^{\"event\": \"resumed\", \"step\": $stopped}$" "$1/resumed.out" ||
                fail "train.py did not resume at step $stopped: $(grep event "$1/resumed.out")"
        [ "$(job_field "$id" attempt)" = 2 ] || fail "attempt is not 2"
        state_is "$id" succeeded || fail "the resumed job is $(job_field "$id" state)"
}

# The secret's value is nowhere in HOIST_HOME (only with secrets: support;
# the equivalent job carries it in env:, which is stored).
secret_kept() {
        if knows secrets && grep -rqF "$EXAMPLE_API_TOKEN" "$HOIST_HOME"; then
                fail "the secret's value is stored: $(grep -rlF "$EXAMPLE_API_TOKEN" "$HOIST_HOME")"
        fi
        return 0
}

t_trainer_alone() {
        local d=$T_TMP/alone rc=0 stopped
        run() { # NAME [ENV...]
                local n=$1
                shift
                env HOIST_INPUT_TRAIN="$PT/data" HOIST_CHECKPOINT_DIR="$d/$n/c" HOIST_MODEL_DIR="$d/$n/m" \
                        HOIST_HP_STEPS=200 HOIST_HP_CHECKPOINT_EVERY=50 "$@" "$PY" "$PT/train.py" >>"$d/$n.out" 2>>"$d/$n.err"
        }
        mkdir -p "$d"
        run a || { cat "$d/a.err"; fail "the trainer failed"; }
        run b
        cmp "$d/a/m/model.pt" "$d/b/m/model.pt" || fail "two runs differ"
        grep -q '^{"step": 200, "loss": [0-9.e-]*}$' "$d/a.out" || fail "no metric line: $(tail -3 "$d/a.out")"
        grep -q '"test_accuracy": 0\.[5-9]' "$d/a/m/metrics.json" || fail "test accuracy: $(cat "$d/a/m/metrics.json")"
        [ "$(ls "$d/a/c" | tr '\n' ' ')" = "ckpt-000100.pt ckpt-000150.pt ckpt-000200.pt " ] ||
                fail "checkpoints: $(ls -A "$d/a/c")"
        # SIGTERM: a checkpoint at the step it stopped at, exit 143; the rerun resumes there
        # (env execs python: $! is the trainer itself)
        env HOIST_INPUT_TRAIN="$PT/data" HOIST_CHECKPOINT_DIR="$d/t/c" HOIST_MODEL_DIR="$d/t/m" \
                HOIST_HP_STEPS=200 HOIST_HP_CHECKPOINT_EVERY=50 HOIST_HP_SLEEP_MS=20 \
                "$PY" "$PT/train.py" >>"$d/t.out" 2>>"$d/t.err" &
        local pid=$!
        wait_for 120 grep -q '"step": 60,' "$d/t.out"
        kill -TERM "$pid"
        wait "$pid" || rc=$?
        [ "$rc" = 143 ] || fail "SIGTERM: exit $rc, not 143"
        stopped=$(sed -n 's/^{"event": "stopped", "step": \([0-9]*\), "signal": "SIGTERM"}$/\1/p' "$d/t.out")
        [ -e "$d/t/c/ckpt-$(printf %06d "$stopped").pt" ] || fail "no checkpoint at step $stopped"
        ! ls -A "$d/t/c" | grep_q tmp || fail "temporary files left"
        run t
        grep -q "^{\"event\": \"resumed\", \"step\": $stopped}$" "$d/t.out" || fail "no resume at $stopped"
        cmp "$d/a/m/model.pt" "$d/t/m/model.pt" || fail "the resumed model differs"
        # no secret: exit 3, naming it
        rc=0
        env -u EXAMPLE_API_TOKEN HOIST_INPUT_TRAIN="$PT/data" HOIST_CHECKPOINT_DIR="$d/n/c" HOIST_MODEL_DIR="$d/n/m" \
                "$PY" "$PT/train.py" >/dev/null 2>"$d/n.err" || rc=$?
        [ "$rc" = 3 ] && grep -q EXAMPLE_API_TOKEN "$d/n.err" || fail "missing secret: exit $rc, $(cat "$d/n.err")"
        # the committed data is what make_data.py makes
        "$PY" "$PT/make_data.py" --out "$d/gen"
        cmp "$d/gen/train.csv" "$PT/data/train.csv" && cmp "$d/gen/test.csv" "$PT/data/test.csv" ||
                fail "data/ is not what make_data.py writes"
}

t_process() {
        local ref t0 t1
        new_home
        prepare "$JOB" "$T_TMP/pref"
        t0=$(date +%s)
        run_job "$T_TMP/pref"
        t1=$(date +%s)
        measure "process job, 600 steps (submit to end)" $((t1 - t0))
        ref=$(model_of "$id")
        cp "$ref" "$T_TMP/process-model.pt"
        grep -q '"event": "completed"' "$T_TMP/pref/run.out" || fail "no completed line"
        prepare "$JOB" "$T_TMP/pint" 40
        interrupt_resume "$T_TMP/pint" process
        cmp "$ref" "$(model_of "$id")" || fail "the resumed model's bytes differ from the uninterrupted run's"
        same_tensors "$ref" "$(model_of "$id")" || fail "the resumed model's tensors differ"
        secret_kept
}

# The base image from the cached debootstrap tar, once per test run.
import_base() {
        local tar t0 t1
        tar=$("$T_ROOT/scripts/make-torch-rootfs.sh" 2>"$T_TMP/rootfs.err") ||
                { cat "$T_TMP/rootfs.err"; fail "make-torch-rootfs.sh failed"; }
        # the first run on this machine: debootstrap
        t0=$(sed -n 's/^make-torch-rootfs: .* in \([0-9]*\) s$/\1/p' "$T_TMP/rootfs.err")
        [ -z "$t0" ] || measure "debootstrap + tar of the rootfs (first run on this machine)" "$t0"
        t0=$(date +%s)
        hoist import -q --change 'CMD ["/usr/bin/python3"]' "$tar" "$BASE" >/dev/null || fail "hoist import $tar"
        t1=$(date +%s)
        measure "hoist import of the $(du -h "$tar" | cut -f1) rootfs tar" $((t1 - t0))
}

t_container() {
        local t0 t1 ref=$T_TMP/process-model.pt
        command -v podman >/dev/null && command -v skopeo >/dev/null || fail "podman and skopeo are needed"
        new_home
        export HOIST_CONTAINER_ENGINE=podman
        import_base
        prepare "$CJOB" "$T_TMP/cref"
        t_defer "podman rmi -f localhost/hoist-$(sed -n 's/^name: //p' "$T_TMP/cref/job.yaml"):latest >/dev/null 2>&1"
        t0=$(date +%s)
        run_job "$T_TMP/cref"
        t1=$(date +%s)
        measure "container job, 600 steps (image build from images/pytorch/Dockerfile included)" $((t1 - t0))
        [ "$(job_field "$id" runtime)" = podman ] || fail "did not run under podman"
        grep -q '"device": "cpu", "torch": "1.13' "$T_TMP/cref/run.out" || fail "not Debian's torch: $(grep started "$T_TMP/cref/run.out")"
        [ ! -s "$ref" ] || cmp "$ref" "$(model_of "$id")" || fail "the container's model differs from the process run's"
        ref=$(model_of "$id")
        prepare "$CJOB" "$T_TMP/cint" 40
        interrupt_resume "$T_TMP/cint" podman
        cmp "$ref" "$(model_of "$id")" || fail "the resumed model's bytes differ from the uninterrupted run's"
        same_tensors "$ref" "$(model_of "$id")" || fail "the resumed model's tensors differ"
        secret_kept
}

t_run "pytorch: train.py alone: deterministic, SIGTERM checkpoint + resume, missing secret" t_trainer_alone
t_run "pytorch: process job, SIGTERM at a random step, --resume: the same model bytes" t_process
t_run "pytorch: container built FROM the imported Debian+torch base, podman stop, --resume: the same model bytes" t_container
[ ! -f "$T_TMP/timings" ] || cat "$T_TMP/timings"
t_finish
