#!/usr/bin/env bash
# The local provider's process runtime, end to end through the hoist CLI:
# the quickstart job, logs, results, cancel, resume after a killed run,
# unchanged inputs, malformed job.yaml, and SIGKILL of `hoist submit`.
. "$(dirname "$0")/lib.sh"

QS=$T_ROOT/examples/quickstart
export HOIST_CONTAINER_ENGINE=none
# publish a checkpoint set 300 ms after the trainer's last write, so one is
# in storage while the trainer still runs
export HOIST_CHECKPOINT_DEBOUNCE_MS=300

# job.yaml for the quickstart trainer as a host process, in DIR, with STEPS.
write_qs_job() { # DIR NAME STEPS [EXTRA-YAML] [CHECKPOINT-EVERY]
        mkdir -p "$1"
        cp -r "$QS/data" "$1/data"
        cat >"$1/job.yaml" <<YAML
name: $2
runtime: process
command: ["hoist-quickstart", "train"]
inputs:
  train: data/
hyperparameters:
  steps: $3
  lr: 0.05
  hidden: 16
  seed: 7
  checkpoint_every: ${5:-100}
limits:
  stop_grace: 5s
${4:-}
YAML
}

job_id_of() { sed -n 's/^submitted job \(j-[0-9a-f]*\)$/\1/p' "$1"; }
model_of() { echo "$HOIST_HOME/storage/jobs/$1/output/model/model.bin"; }
# job_trainers ID: the pids of the quickstart trainers in job ID's session
# (not those of any other test that runs on this machine).
job_trainers() {
        local sid
        sid=$(cut -d' ' -f3 "$HOIST_HOME/run/$1/pid")
        ps -eo pid=,sid=,args= | awk -v s="$sid" '$2 == s && $3 == "hoist-quickstart" {print $1}'
}

t_quickstart() {
        new_home
        write_qs_job "$T_TMP/qs" quickstart 1500
        hoist submit --follow "$T_TMP/qs/job.yaml" >"$T_TMP/qs.out" 2>"$T_TMP/qs.err" ||
                { cat "$T_TMP/qs.out" "$T_TMP/qs.err"; fail "submit --follow failed"; }
        id=$(job_id_of "$T_TMP/qs.out")
        [ -n "$id" ] || fail "no job id in output"
        grep -q '"loss"' "$T_TMP/qs.out" || fail "no loss lines streamed"
        grep -q "succeeded" "$T_TMP/qs.err" || fail "no success line"
        [ "$(job_field "$id" state)" = succeeded ] || fail "state is not succeeded"
        [ "$(job_field "$id" exit_code)" = 0 ] || fail "exit code is not 0"
        [ -s "$(model_of "$id")" ] || fail "no model.bin in storage"
        hoist logs "$id" | grep_q '"step"' || fail "hoist logs lacks the training log"
        hoist results "$id" "$T_TMP/res" >/dev/null
        cmp "$(model_of "$id")" "$T_TMP/res/model/model.bin" || fail "results copy differs"
        hoist list | grep_q "$id.*quickstart.*succeeded.*process" || fail "list lacks the job"
        hoist list -o json | python3 -c "import json,sys; j=json.load(sys.stdin); assert j[0]['id']=='$id' and j[0]['state']=='succeeded'"
        # history: every transition recorded with a time, ending in succeeded
        hoist status -o json "$id" | python3 -c "
import json,sys
j=json.load(sys.stdin); t=[x['to'] for x in j['transitions']]
assert t[0]=='submitted' and t[-1]=='succeeded', t
assert all(x['at_ms']>0 for x in j['transitions'])"
}

t_unchanged_inputs_upload_nothing() {
        new_home
        write_qs_job "$T_TMP/u" unchanged 50
        hoist submit "$T_TMP/u/job.yaml" >/dev/null 2>"$T_TMP/u1.err"
        grep -q "1 uploaded" "$T_TMP/u1.err" || { cat "$T_TMP/u1.err"; fail "first submit did not upload"; }
        blobs=$(ls "$HOIST_HOME/storage/blobs/sha256" | wc -l)
        hoist submit "$T_TMP/u/job.yaml" >/dev/null 2>"$T_TMP/u2.err"
        grep -q "0 uploaded (0 B), 1 unchanged" "$T_TMP/u2.err" || { cat "$T_TMP/u2.err"; fail "second submit uploaded again"; }
        grep -q "; 0 B sent$" "$T_TMP/u2.err" || { cat "$T_TMP/u2.err"; fail "second submit sent bytes"; }
        [ "$(ls "$HOIST_HOME/storage/blobs/sha256" | wc -l)" = "$blobs" ] || fail "the second submit stored more blobs"
}

t_cancel_running_job() {
        new_home
        mkdir -p "$T_TMP/c"
        cat >"$T_TMP/c/job.yaml" <<'YAML'
name: sleeper
runtime: process
command: ["sh", "-c", "echo started; sleep 300 & wait"]
limits:
  stop_grace: 2s
YAML
        id=$(hoist submit -q "$T_TMP/c/job.yaml")
        wait_for 20 grep -q started "$HOIST_HOME/storage/jobs/$id/logs/main.log"
        [ "$(job_field "$id" state)" = running ] || fail "not running"
        pid=$(cut -d' ' -f1 "$HOIST_HOME/run/$id/pid")
        sid=$(cut -d' ' -f3 "$HOIST_HOME/run/$id/pid")
        hoist cancel -t 2 "$id" | grep_q "canceled job $id"
        [ "$(job_field "$id" state)" = canceled ] || fail "state is not canceled"
        ! pid_alive "$pid" || fail "entrypoint still alive"
        # nothing of the job's session survives (the backgrounded sleep included)
        left=$(ps -eo sid=,stat=,pid=,comm= | awk -v s="$sid" '$1==s && $2 !~ /^Z/' || true)
        [ -z "$left" ] || fail "left behind: $left"
        hoist cancel "$id" | grep_q "already canceled"
}

t_resume_after_killed_run() {
        new_home
        # long enough (a few seconds) to be killed in the middle
        write_qs_job "$T_TMP/r" resumed 200000 "" 5000
        write_qs_job "$T_TMP/full" uninterrupted 200000 "" 5000
        full=$(hoist submit -q "$T_TMP/full/job.yaml")
        hoist logs -f "$full" >/dev/null 2>&1 || fail "uninterrupted run failed"

        id=$(hoist submit -q "$T_TMP/r/job.yaml")
        ck="$HOIST_HOME/storage/jobs/$id/checkpoints"
        wait_for 30 sh -c "ls '$ck' | grep -q ckpt"
        # kill the trainer itself, hard: no chance to write a final checkpoint
        kill -KILL $(job_trainers "$id") 2>/dev/null || true
        hoist logs -f "$id" >/dev/null 2>&1 && fail "killed run reported success"
        [ "$(job_field "$id" state)" = failed ] || fail "killed run is not failed"
        [ "$(job_field "$id" exit_code)" = 137 ] || fail "exit code $(job_field "$id" exit_code), not 137"

        hoist submit --resume "$id" --follow >"$T_TMP/r.out" 2>&1 || { cat "$T_TMP/r.out"; fail "resume failed"; }
        grep -q '"resumed"' "$T_TMP/r.out" || fail "trainer did not resume from a checkpoint"
        [ "$(job_field "$id" attempt)" = 2 ] || fail "attempt is not 2"
        cmp "$(model_of "$full")" "$(model_of "$id")" || fail "resumed model differs from the uninterrupted one"
}

t_malformed_job_yaml() {
        new_home
        mkdir -p "$T_TMP/bad"
        printf 'name: bad\nruntime: process\ncommand: ["true"]\nlimits:\n  max_runtime: soon\n' >"$T_TMP/bad/job.yaml"
        set +e
        hoist submit "$T_TMP/bad/job.yaml" 2>"$T_TMP/bad.err"
        rc=$?
        set -e
        [ $rc = 3 ] || fail "exit $rc, not 3"
        grep -q "job.yaml'*:5" "$T_TMP/bad.err" || { cat "$T_TMP/bad.err"; fail "error lacks file:line"; }
        grep -q "max_runtime" "$T_TMP/bad.err" || fail "error does not name the field"
        [ "$(hoist list -o json)" = "[]" ] || fail "a job row was written"

        printf 'name: bad\nruntime: process\ncommand: ["true"]\ninputs:\n  train: nowhere/\n' >"$T_TMP/bad/job.yaml"
        set +e
        hoist submit "$T_TMP/bad/job.yaml" 2>"$T_TMP/bad2.err"
        rc=$?
        set -e
        [ $rc = 3 ] || fail "missing input: exit $rc, not 3"
        grep -q "nowhere" "$T_TMP/bad2.err" || fail "error does not name the path"

        set +e
        hoist submit "$T_TMP/bad/nonexistent.yaml" 2>/dev/null; rc=$?
        set -e
        [ $rc = 4 ] || fail "missing job.yaml: exit $rc, not 4"
}

# An input that is a symlink is followed; a symlink inside an input that
# leads out of it is refused by submit, before any byte is sent, exactly
# where the entrypoint would refuse it.
t_input_symlinks() {
        new_home
        d=$T_TMP/links
        mkdir -p "$d/outside" "$d/clean/d/e" "$d/bad/sub"
        echo "root:HOIST-SECRET-HASH" >"$d/outside/shadow"
        # "a" reaches f.txt through "l", which the tar lists after it
        echo "through the later link" >"$d/clean/f.txt"
        ln -s d/e "$d/clean/l"
        ln -s l/../../f.txt "$d/clean/a"
        ln -s clean "$d/cleanlink"
        echo data >"$d/bad/a.txt"
        ln -s ../a.txt "$d/bad/sub/ok"
        ln -s ../../outside/shadow "$d/bad/sub/esc"
        ln -s bad "$d/badlink"

        printf 'name: links\nruntime: process\ncommand: ["sh", "-c", "cat \\"$HOIST_INPUT_GOOD/a\\""]\ninputs:\n  good: cleanlink\n  train: badlink/\n' >"$d/job.yaml"
        set +e
        hoist submit "$d/job.yaml" >"$T_TMP/links.out" 2>"$T_TMP/links.err"
        rc=$?
        set -e
        cat "$T_TMP/links.err"
        [ $rc = 3 ] || fail "exit $rc, not 3"
        grep -q "job.yaml'*:6: input 'train'" "$T_TMP/links.err" || fail "error lacks job.yaml:line and the input"
        grep -q "symlink 'sub/esc' -> '../../outside/shadow' leads outside" "$T_TMP/links.err" ||
                fail "error does not name the link"
        [ ! -e "$HOIST_HOME/storage/blobs" ] || fail "something was uploaded: $(ls -R "$HOIST_HOME/storage")"
        ! grep -rq HOIST-SECRET-HASH "$HOIST_HOME" || fail "the file outside the input reached storage"
        [ "$(hoist list -o json)" = "[]" ] || fail "a job row was written"

        # Without the bad input: the top-level link is shown resolved, and the
        # entrypoint accepts the inner links that submit accepted.
        sed -i '/badlink/d' "$d/job.yaml"
        hoist submit --follow "$d/job.yaml" >"$T_TMP/links.out" 2>"$T_TMP/links.err" ||
                { cat "$T_TMP/links.out" "$T_TMP/links.err"; fail "the clean job failed"; }
        grep -q "input good: cleanlink -> $d/clean\$" "$T_TMP/links.err" || { cat "$T_TMP/links.err"; fail "no 'good: cleanlink -> $d/clean' line"; }
        grep -q "through the later link" "$T_TMP/links.out" || fail "the job did not read through the inner link"
}

# storage: with an empty segment in its prefix is refused at its line,
# before anything is uploaded: every key under it is one the entrypoint
# refuses.
t_storage_prefix_refused() {
        new_home
        mkdir -p "$T_TMP/sp"
        printf 'name: dbl\nruntime: process\ncommand: ["true"]\n\nstorage: s3://bkt/team//dbl/\n' >"$T_TMP/sp/job.yaml"
        set +e
        hoist submit "$T_TMP/sp/job.yaml" 2>"$T_TMP/sp.err"
        rc=$?
        set -e
        cat "$T_TMP/sp.err"
        [ $rc = 3 ] || fail "exit $rc, not 3"
        grep -q "job.yaml'*:5: field 'storage'" "$T_TMP/sp.err" || fail "error lacks job.yaml:line"
        grep -q "write s3://bkt/team/dbl/" "$T_TMP/sp.err" || fail "error does not say how to write it"
        [ "$(wc -l <"$T_TMP/sp.err")" = 1 ] || fail "more than one line"
        [ "$(hoist list -o json)" = "[]" ] || fail "a job row was written"
}

# hoist results skips an output whose key it refuses, names it, fetches
# every other one, and exits non-zero at the end.
t_results_skip_refused_key() {
        new_home
        mkdir -p "$T_TMP/rk"
        printf 'name: outs\nruntime: process\ncommand: ["sh", "-c", "echo m >$HOIST_MODEL_DIR/m.bin; echo a >$HOIST_OUTPUT_DIR/a.txt; echo z >$HOIST_OUTPUT_DIR/z.txt"]\n' >"$T_TMP/rk/job.yaml"
        id=$(hoist submit -q "$T_TMP/rk/job.yaml")
        hoist logs -f "$id" >/dev/null 2>&1 || fail "job failed"
        out=$HOIST_HOME/storage/jobs/$id/output
        [ -s "$out/artifacts/a.txt" ] || fail "no artifacts/a.txt: $(ls -R "$out")"
        # A key no hoist writes (a control character), listed first.
        echo bad >"$out/artifacts/$(printf '\001')bad"
        set +e
        hoist results "$id" "$T_TMP/rk/res" >"$T_TMP/rk.out" 2>"$T_TMP/rk.err"
        rc=$?
        set -e
        cat "$T_TMP/rk.out" "$T_TMP/rk.err" >&2
        [ $rc = 1 ] || fail "exit $rc, not 1"
        grep -q "warning: output 'jobs/$id/output/artifacts/?bad' is not a key hoist accepts" "$T_TMP/rk.err" ||
                fail "no warning naming the key"
        grep -q "1 of the 4 outputs of job $id were not fetched" "$T_TMP/rk.err" || fail "no closing error"
        for f in model/m.bin artifacts/a.txt artifacts/z.txt; do
                cmp "$out/$f" "$T_TMP/rk/res/$f" || fail "$f was not fetched"
        done
        [ "$(find "$T_TMP/rk/res" -type f | wc -l)" = 3 ] || fail "unexpected files: $(find "$T_TMP/rk/res")"
}

t_failed_command() {
        new_home
        mkdir -p "$T_TMP/f"
        printf 'name: failing\nruntime: process\ncommand: ["sh", "-c", "echo bad input >&2; exit 3"]\n' >"$T_TMP/f/job.yaml"
        set +e
        hoist submit --follow "$T_TMP/f/job.yaml" >"$T_TMP/f.out" 2>&1
        rc=$?
        set -e
        [ $rc = 6 ] || fail "exit $rc, not 6"
        id=$(job_id_of "$T_TMP/f.out")
        [ "$(job_field "$id" exit_code)" = 3 ] || fail "exit code not 3"
        job_field "$id" reason | grep_q "bad input" || fail "reason lacks stderr tail"

        printf 'name: missing\nruntime: process\ncommand: ["no-such-program-hoist"]\n' >"$T_TMP/f/job.yaml"
        id=$(hoist submit -q "$T_TMP/f/job.yaml")
        hoist logs -f "$id" >/dev/null 2>&1 || true
        [ "$(job_field "$id" exit_code)" = 127 ] || fail "not found: exit code not 127"
}

t_cli_usage() {
        new_home
        hoist help | grep_q "Exit codes"
        for v in submit list status logs cancel results version; do
                hoist "$v" --help | grep_q "usage: hoist $v" || fail "$v --help"
        done
        set +e
        hoist frobnicate 2>/dev/null; [ $? = 2 ] || fail "unknown verb not 2"
        hoist status 2>/dev/null; [ $? = 2 ] || fail "status without job not 2"
        hoist status j-doesnotexist 2>/dev/null; [ $? = 4 ] || fail "unknown job not 4"
        hoist list -o yaml 2>/dev/null; [ $? = 2 ] || fail "bad -o not 2"
        set -e
        hoist version | grep_q "^hoist "
}

# A SIGKILLed entrypoint leaves its command running (one that prints nothing
# does not even die of SIGPIPE): the job ends failed with nothing of it left
# running, and its resume runs beside no process of the previous attempt.
t_killed_entrypoint_leaves_nothing() {
        new_home
        mkdir -p "$T_TMP/e"
        cp -r "$QS/data" "$T_TMP/e/data"
        cat >"$T_TMP/e/job.yaml" <<'YAML'
name: silent
runtime: process
command: ["sh", "-c", "exec hoist-quickstart train >/dev/null"]
inputs:
  train: data/
hyperparameters:
  steps: 100000
  checkpoint_every: 100
  sleep_ms: 2
limits:
  stop_grace: 2s
YAML
        t_defer 'job_procs | while read -r p _; do kill -KILL "$p" 2>/dev/null; done'
        id=$(hoist submit -q "$T_TMP/e/job.yaml")
        wait_for 60 sh -c "ls '$HOIST_HOME/storage/jobs/$id/checkpoints' | grep -q ckpt-"
        read -r pid _ sid <"$HOIST_HOME/run/$id/pid"
        trainer=$(job_trainers "$id")
        [ -n "$trainer" ] || fail "no trainer in the job's session $sid"
        kill -KILL "$pid"
        wait_for 10 sh -c "! ps -o stat= -p $pid | grep -qv Z"
        hoist submit --resume "$id" >/dev/null
        for t in $trainer; do
                ! pid_alive "$t" || fail "the first attempt's trainer (pid $t) still runs beside attempt 2"
        done
        [ "$(job_field "$id" attempt)" = 2 ] || fail "attempt is not 2"
        n=0
        while read -r p jid; do
                [ "$jid" = "$id" ] || continue
                case $(ps -o args= -p "$p") in hoist-quickstart*) n=$((n + 1)) ;; esac
        done < <(job_procs)
        [ "$n" -le 1 ] || fail "$n trainers run for $id"
        hoist cancel -t 2 "$id" >/dev/null
        left=$(job_procs)
        [ -z "$left" ] || fail "after cancel, still running: $left"
}

# job_procs: "PID JOB-ID" for each live process of a job of this HOIST_HOME
# (working directory or HOIST_WORKDIR under $HOIST_HOME/run/JOB-ID).
job_procs() {
        python3 - "$HOIST_HOME" <<'PY'
import os, re, sys
pat = re.compile(re.escape(sys.argv[1]) + r"/run/(j-[0-9a-f]+)(/|$)")
for p in filter(str.isdigit, os.listdir("/proc")):
    try:
        st = open(f"/proc/{p}/stat").read()
        if st[st.rindex(")") + 2] in "ZX":
            continue
        where = [os.readlink(f"/proc/{p}/cwd")]
        where += [e[14:].decode(errors="replace") for e in open(f"/proc/{p}/environ", "rb").read().split(b"\0")
                  if e.startswith(b"HOIST_WORKDIR=")]
    except (OSError, ValueError):
        continue
    ids = {m.group(1) for m in map(pat.match, where) if m}
    if ids:
        print(p, ids.pop())
PY
}

# SIGKILL `hoist submit` at 50 random moments of its first 300 ms: the
# database stays consistent, every job row that exists is complete, and the
# store matches what runs: no process for a job recorded as ended (or never
# started), and every process belongs to a job that `hoist cancel` stops.
t_submit_sigkill() {
        new_home
        mkdir -p "$T_TMP/k"
        printf 'name: killed\nruntime: process\ncommand: ["sleep", "300"]\nlimits:\n  stop_grace: 2s\n' >"$T_TMP/k/job.yaml"
        # whatever this test leaves running is stopped, pass or fail
        t_defer 'job_procs | while read -r p _; do kill -KILL "$p" 2>/dev/null; done'
        for i in $(seq 1 50); do
                "$HOIST_BIN/hoist" submit -q "$T_TMP/k/job.yaml" >/dev/null 2>&1 &
                p=$!
                sleep "0.$((RANDOM % 3))$((RANDOM % 10))$((RANDOM % 10))"
                kill -KILL $p 2>/dev/null || true
                wait $p 2>/dev/null || true
        done
        [ "$(sqlite3 "$HOIST_HOME/hoist.db" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
        # a launcher whose hoist died exits at once: wait for those to go
        declare -A state
        wait_for 30 sh -c "! ps -eo stat=,args= | grep -v '^Z' | grep -q '[h]oist submit -q $T_TMP/k/'"
        ids=$(sqlite3 "$HOIST_HOME/hoist.db" 'select id from jobs')
        for id in $ids; do
                state[$id]=$(job_field "$id" state)
                [ -s "$HOIST_HOME/storage/jobs/$id/job.json" ] || fail "job $id has no job.json"
        done
        while read -r pid id; do
                [ -n "${state[$id]+x}" ] || fail "pid $pid runs for $id, which the store does not know"
                case ${state[$id]} in
                starting | running) ;;
                *) fail "pid $pid runs for $id, recorded as ${state[$id]}: $(job_field "$id" reason)" ;;
                esac
        done < <(job_procs)
        n=0
        for id in $ids; do
                case ${state[$id]} in
                starting | running)
                        n=$((n + 1))
                        hoist cancel -t 2 "$id" | grep_q "canceled job $id" || fail "cancel $id"
                        ;;
                failed) ;;
                *) fail "job $id is ${state[$id]}" ;;
                esac
        done
        left=$(job_procs)
        [ -z "$left" ] || fail "after cancel, still running: $left"
        # rows and their transitions agree
        bad=$(sqlite3 "$HOIST_HOME/hoist.db" "select j.id from jobs j where j.state != (select to_state from transitions t where t.job_id=j.id order by t.id desc limit 1)")
        [ -z "$bad" ] || fail "rows disagree with transitions: $bad"
        echo "$(echo "$ids" | wc -w) jobs survived 50 kills, $n of them running"
}

t_run "quickstart job as a host process, end to end" t_quickstart
t_run "unchanged inputs upload 0 bytes" t_unchanged_inputs_upload_nothing
t_run "cancel a running job (SIGTERM, then SIGKILL)" t_cancel_running_job
t_run "resume after a killed run gives the uninterrupted model" t_resume_after_killed_run
t_run "malformed job.yaml: file:line, exit 3, no job row" t_malformed_job_yaml
t_run "input symlinks: a top-level link is followed, a link out of an input is refused before upload" t_input_symlinks
t_run "storage: s3://BUCKET/team//dbl/ is refused at its line, exit 3" t_storage_prefix_refused
t_run "results: a refused key is skipped with a warning, the rest fetched, exit 1" t_results_skip_refused_key
t_run "failing command: exit code, reason, 127" t_failed_command
t_run "CLI help, usage errors, exit codes" t_cli_usage
t_run "SIGKILLed entrypoint: nothing of its attempt runs beside the next" t_killed_entrypoint_leaves_nothing
t_run "SIGKILL of hoist submit: every job's recorded state matches what runs" t_submit_sigkill
t_finish
