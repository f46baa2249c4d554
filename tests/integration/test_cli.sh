#!/usr/bin/env bash
# The CLI a person reads (issue 10, items 15-18): options after the job,
# id prefixes, plurals, hoist status's reason and metrics, hoist logs with
# the entrypoint's own lines, --tail and --attempt, Ctrl-C during
# submit --follow, hoist serve --stop, and the quiet build.
. "$(dirname "$0")/lib.sh"

export HOIST_CONTAINER_ENGINE=none
export HOIST_CHECKPOINT_DEBOUNCE_MS=300

job_id_of() { sed -n 's/^submitted job \(j-[0-9a-f]*\)$/\1/p' "$1"; }

# write_job DIR NAME SCRIPT: a process-runtime job running `sh -c SCRIPT`.
write_job() {
        mkdir -p "$1"
        python3 - "$1/job.yaml" "$2" "$3" <<'PY'
import json, sys
path, name, script = sys.argv[1:4]
with open(path, "w") as f:
    f.write(f"name: {name}\nruntime: process\ncommand: {json.dumps(['sh', '-c', script])}\n"
            "limits:\n  stop_grace: 2s\n")
PY
}

# Options may follow the positional argument, for every command.
t_options_after_positional() {
        new_home
        write_job "$T_TMP/o" opts 'echo one; printf "t\000wo\n"; echo three'
        id=$(hoist submit "$T_TMP/o/job.yaml" -q)
        [[ $id =~ ^j-[0-9a-f]{12}$ ]] || fail "submit JOB.yaml -q printed '$id'"
        hoist logs "$id" -f >/dev/null
        # --tail keeps a line with a NUL byte whole
        hoist logs "$id" | tail -n 4 >"$T_TMP/o/last4"
        hoist logs "$id" -n 4 | cmp - "$T_TMP/o/last4" || fail "--tail 4 differs from the last 4 lines"
        grep -qa "^t.wo$" "$T_TMP/o/last4" || fail "the NUL line is not among the last 4"
        [ "$(hoist logs "$id" --tail 1)" = "hoist-entrypoint: attempt 1 finished: succeeded (exit code 0)" ] ||
                fail "logs JOB --tail 1: $(hoist logs "$id" --tail 1)"
        hoist status "$id" -o json | python3 -c "import json,sys; assert json.load(sys.stdin)['id']=='$id'"
        hoist list -o json >/dev/null
        hoist results "$id" "$T_TMP/o/res" -h | grep_q "usage: hoist results"
        hoist cancel "$id" -t 1 | grep_q "already succeeded"
        hoist serve --stop >/dev/null
        # and the other way round still works
        hoist logs --tail 1 "$id" | grep_q "attempt 1 finished"
}

# A prefix too short to be taken says so; an unknown one is not found.
t_prefix_too_short() {
        new_home
        write_job "$T_TMP/p" prefix 'true'
        id=$(hoist submit -q "$T_TMP/p/job.yaml")
        short=${id:0:3}
        set +e
        hoist status "$short" >/dev/null 2>"$T_TMP/p.err"
        rc=$?
        set -e
        [ $rc = 2 ] || fail "exit $rc, not 2"
        grep -qF "job id prefix '$short' is too short: give at least 4 characters of the id ($id)" \
                "$T_TMP/p.err" || fail "$(cat "$T_TMP/p.err")"
        hoist status "${id:0:4}" | grep_q "^id: *$id" || fail "a 4-character prefix is not taken"
        other=j-$(printf '%x' $(((0x${id:2:1} + 1) % 16)))
        set +e
        hoist status "$other" >/dev/null 2>"$T_TMP/p2.err"
        rc=$?
        set -e
        [ $rc = 4 ] || fail "a prefix of no job: exit $rc, not 4 ($(cat "$T_TMP/p2.err"))"
}

# A multi-line stderr tail as the reason: status shows its last line, says
# where the rest is, and every history row is one line.
t_status_reason_last_line() {
        new_home
        write_job "$T_TMP/r" reason 'echo "Traceback (most recent call last):" >&2
echo "  File \"train.py\", line 3" >&2
echo "ValueError: the learning rate must be positive" >&2
exit 3'
        id=$(hoist submit -q "$T_TMP/r/job.yaml")
        hoist logs -f "$id" >/dev/null 2>&1 && fail "the job did not fail"
        hoist status "$id" >"$T_TMP/r.out"
        cat "$T_TMP/r.out"
        grep -qx "reason:    ValueError: the learning rate must be positive" "$T_TMP/r.out" ||
                fail "reason is not the last line"
        grep -qF "(the last line; 'hoist logs $id' has the rest)" "$T_TMP/r.out" || fail "no pointer to hoist logs"
        ! grep -q "Traceback\|train.py" "$T_TMP/r.out" || fail "the whole tail is shown"
        # every history row: two spaces, a time, a state (and a one-line reason)
        sed -n '/^history:/,$p' "$T_TMP/r.out" | tail -n +2 |
                grep -vE '^  [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}  [a-z]+( .*)?$' && fail "a history row is broken"
        grep -qE '^  .* failed +ValueError: the learning rate must be positive$' "$T_TMP/r.out" ||
                fail "the failed row lacks the reason's last line"
        # programs still get all of it
        full=$(job_field "$id" reason)
        [[ $full == *Traceback* ]] || fail "status -o json lost the full reason: $full"
}

# The entrypoint's own lines are in the stored log, marked as its own; a
# resume says which checkpoint it restored; --attempt and --tail pick lines.
t_logs_entrypoint_lines_and_attempts() {
        new_home
        write_job "$T_TMP/a" attempts 'if [ "$HOIST_ATTEMPT" = 1 ]; then
  echo "{\"step\": 100}"; printf 100 >"$HOIST_CHECKPOINT_DIR/ckpt-000100.bin"; echo boom >&2; exit 3
fi
echo "resumed at step $HOIST_RESUME_STEP"'
        id=$(hoist submit -q "$T_TMP/a/job.yaml")
        hoist logs -f "$id" >/dev/null 2>&1 && fail "attempt 1 did not fail"
        hoist submit --resume "$id" -q >/dev/null
        hoist logs -f "$id" >/dev/null 2>&1 || fail "attempt 2 failed: $(hoist logs "$id")"
        hoist logs "$id" >"$T_TMP/a.all"
        cat "$T_TMP/a.all"
        grep -q "^hoist-entrypoint: checkpoints: published set 1 (step 100, 1 file, 3 bytes" "$T_TMP/a.all" ||
                fail "no published set (with its plural) in the log"
        grep -q "^hoist-entrypoint: checkpoints: restored set 1 (step 100, 1 file, 3 bytes" "$T_TMP/a.all" ||
                fail "the log does not say which checkpoint the resume restored"
        grep -q "^hoist-entrypoint: checkpoints: no complete set under" "$T_TMP/a.all" ||
                fail "attempt 1's fresh start is not in the log"
        # stored as the entrypoint's lines, not the command's
        hoist logs -t "$id" | grep_q " hoist|hoist-entrypoint: checkpoints: restored set 1" ||
                fail "not stored as a hoist line"

        hoist logs --attempt 2 "$id" >"$T_TMP/a.2"
        [ "$(sed -n 1p "$T_TMP/a.2")" = "hoist-entrypoint: attempt 2 started" ] || fail "attempt 2 starts with: $(sed -n 1p "$T_TMP/a.2")"
        grep -q "restored set 1" "$T_TMP/a.2" || fail "attempt 2 lacks its restore"
        grep -qx "resumed at step 100" "$T_TMP/a.2" || fail "attempt 2 lacks its output"
        ! grep -q "boom\|attempt 1" "$T_TMP/a.2" || fail "attempt 1's lines in --attempt 2"
        hoist logs -a 1 "$id" >"$T_TMP/a.1"
        grep -qx boom "$T_TMP/a.1" || fail "attempt 1 lacks its stderr"
        ! grep -q "resumed\|attempt 2" "$T_TMP/a.1" || fail "attempt 2's lines in --attempt 1"
        [ "$(cat "$T_TMP/a.1" "$T_TMP/a.2" | wc -l)" = "$(wc -l <"$T_TMP/a.all")" ] ||
                fail "the attempts do not add up to the log"

        [ "$(hoist logs --tail 2 "$id")" = "$(tail -n 2 "$T_TMP/a.all")" ] || fail "--tail 2: $(hoist logs --tail 2 "$id")"
        [ "$(hoist logs --tail 1 "$id")" = "hoist-entrypoint: attempt 2 finished: succeeded (exit code 0)" ] ||
                fail "--tail 1: $(hoist logs --tail 1 "$id")"
        [ "$(hoist logs -n 1 -a 1 "$id")" = "hoist-entrypoint: attempt 1 finished: failed (exit code 3)" ] ||
                fail "--tail 1 --attempt 1: $(hoist logs -n 1 -a 1 "$id")"
        [ -z "$(hoist logs --tail 0 "$id")" ] || fail "--tail 0 printed lines"
        hoist logs --tail 1000000000 "$id" | cmp - "$T_TMP/a.all" || fail "a tail longer than the log is not all of it"
        [ "$(hoist logs -t --tail 1 "$id" | grep -cE '^[0-9T:.-]+Z hoist\|hoist-entrypoint: attempt 2 finished')" = 1 ] ||
                fail "-t --tail 1: $(hoist logs -t --tail 1 "$id")"
        set +e
        hoist logs --attempt 3 "$id" 2>"$T_TMP/a3.err"; rc=$?
        hoist logs --tail -1 "$id" 2>/dev/null; rc2=$?
        set -e
        [ $rc = 4 ] || fail "--attempt 3 of 2: exit $rc"
        grep -qF "job $id has no attempt 3: it has had 2" "$T_TMP/a3.err" || fail "$(cat "$T_TMP/a3.err")"
        [ $rc2 = 2 ] || fail "--tail -1: exit $rc2"
}

# On the built-in S3 endpoint the log is uploaded from a copy: the
# entrypoint's lines are in what is stored too, and --tail follows.
t_logs_entrypoint_lines_builtin_storage() {
        new_home
        unset HOIST_STORAGE
        write_job "$T_TMP/b" stored 'printf 7 >"$HOIST_CHECKPOINT_DIR/ckpt-000007.bin"; echo done'
        hoist submit --follow "$T_TMP/b/job.yaml" >"$T_TMP/b.out" 2>"$T_TMP/b.err" ||
                fail "the job failed: $(cat "$T_TMP/b.out" "$T_TMP/b.err")"
        id=$(job_id_of "$T_TMP/b.out")
        hoist logs "$id" >"$T_TMP/b.log"
        grep -q "^hoist-entrypoint: checkpoints: published set 1 (step 7, 1 file, 1 byte" "$T_TMP/b.log" ||
                fail "the stored log lacks the entrypoint's lines: $(cat "$T_TMP/b.log")"
        [ "$(hoist logs --tail 1 "$id")" = "hoist-entrypoint: attempt 1 finished: succeeded (exit code 0)" ] ||
                fail "--tail 1: $(hoist logs --tail 1 "$id")"
        grep -qF "'hoist results $id DIR' copies them" "$T_TMP/b.err" || fail "the end does not name hoist results: $(cat "$T_TMP/b.err")"
        hoist serve --stop | grep_q "hoist serve: stopped http://127.0.0.1:" || fail "serve --stop"
}

# `hoist results` counts what it copied per directory, in the singular too.
t_results_message() {
        new_home
        write_job "$T_TMP/m" results 'echo w >"$HOIST_MODEL_DIR/model.bin"; echo a >"$HOIST_OUTPUT_DIR/a.txt"; echo b >"$HOIST_OUTPUT_DIR/b.txt"'
        id=$(hoist submit -q "$T_TMP/m/job.yaml")
        hoist logs -f "$id" >/dev/null
        hoist results "$id" "$T_TMP/m/res" >"$T_TMP/m.out"
        grep -qx "3 files of job $id (succeeded) in $T_TMP/m/res: artifacts/ (2 files), model/ (1 file)" "$T_TMP/m.out" ||
                grep -qx "3 files of job $id (succeeded) in $T_TMP/m/res: model/ (1 file), artifacts/ (2 files)" "$T_TMP/m.out" ||
                fail "$(cat "$T_TMP/m.out")"
        [ -s "$T_TMP/m/res/artifacts/a.txt" ] && [ -s "$T_TMP/m/res/model/model.bin" ] || fail "files not copied"
}

# Ctrl-C during submit --follow stops the following, not the job, and says
# how to follow or cancel it.
t_ctrl_c_submit_follow() {
        new_home
        write_job "$T_TMP/c" interrupted 'echo started; sleep 300 & wait'
        # its own process group, as a terminal's foreground job is
        setsid "$HOIST_BIN/hoist" submit --follow "$T_TMP/c/job.yaml" >"$T_TMP/c.out" 2>"$T_TMP/c.err" &
        p=$!
        t_defer "kill -KILL $p 2>/dev/null"
        wait_for 30 grep -qx started "$T_TMP/c.out" || fail "the job did not start: $(cat "$T_TMP/c.err")"
        id=$(job_id_of "$T_TMP/c.out")
        t_defer "'$HOIST_BIN/hoist' cancel -t 1 $id >/dev/null 2>&1"
        kill -INT -- "-$p" 2>/dev/null || kill -INT "$p"
        set +e
        wait "$p"
        rc=$?
        set -e
        [ $rc = 130 ] || fail "exit $rc, not 130: $(cat "$T_TMP/c.err")"
        grep -qF "stopped following job $id; it keeps running (running).  Follow it again with 'hoist logs -f $id', stop it with 'hoist cancel $id'" \
                "$T_TMP/c.err" || fail "no message: $(cat "$T_TMP/c.err")"
        [ "$(job_field "$id" state)" = running ] || fail "the job is $(job_field "$id" state)"
        pid=$(cut -d' ' -f1 "$HOIST_HOME/run/$id/pid")
        pid_alive "$pid" || fail "the entrypoint is gone"
        hoist cancel -t 1 "$id" | grep_q "canceled job $id"

        # piped (| tee in make run): the reader dies of the same Ctrl-C (a
        # command started with & ignores SIGINT: the reader gets it back)
        write_job "$T_TMP/c2" chatty 'while :; do echo tick; sleep 0.05; done'
        setsid bash -c "'$HOIST_BIN/hoist' submit --follow '$T_TMP/c2/job.yaml' 2>'$T_TMP/c2.err' |
                env --default-signal=INT cat >'$T_TMP/c2.out'" &
        p=$!
        t_defer "kill -KILL -- -$p 2>/dev/null"
        wait_for 30 grep -q tick "$T_TMP/c2.out" || fail "the job did not start: $(cat "$T_TMP/c2.err")"
        id=$(job_id_of "$T_TMP/c2.out")
        t_defer "'$HOIST_BIN/hoist' cancel -t 1 $id >/dev/null 2>&1"
        kill -INT -- "-$p"
        wait "$p" || true
        grep -qF "stopped following job $id; it keeps running" "$T_TMP/c2.err" || fail "piped: $(cat "$T_TMP/c2.err")"
        [ "$(job_field "$id" state)" = running ] || fail "the piped job is $(job_field "$id" state)"
        hoist cancel -t 1 "$id" | grep_q "canceled job $id"
}

# hoist serve --stop ends the endpoint submit started, and says when none runs.
t_serve_stop() {
        new_home
        unset HOIST_STORAGE
        [ "$(hoist serve --stop)" = "hoist serve: not running for $HOIST_HOME" ] || fail "nothing to stop"
        write_job "$T_TMP/s" serve 'true'
        hoist submit -q "$T_TMP/s/job.yaml" >/dev/null
        pid=$(python3 -c "import json; print(json.load(open('$HOIST_HOME/serve/serve.json'))['pid'])")
        pid_alive "$pid" || fail "no hoist serve"
        hoist serve --stop | grep_q -x "hoist serve: stopped http://127.0.0.1:[0-9]* (pid $pid)" || fail "--stop"
        ! pid_alive "$pid" || fail "hoist serve $pid still runs"
        [ ! -e "$HOIST_HOME/serve/serve.json" ] || fail "serve.json left behind"
        # a stale serve.json (a pid that is something else now) is not killed
        sleep 300 &
        other=$!
        t_defer "kill $other 2>/dev/null"
        printf '{"pid": %d, "endpoint": "http://127.0.0.1:1", "bucket": "hoist"}' "$other" >"$HOIST_HOME/serve/serve.json"
        hoist serve --stop | grep_q "not running" || fail "a stale serve.json was acted on"
        pid_alive "$other" || fail "killed a process that is not hoist serve"
        # the README's way to stop it is this one
        grep -qF 'bin/hoist serve --stop' "$T_ROOT/README.md" || fail "README does not use serve --stop"
        ! grep -q "kill.*serve.json" "$T_ROOT/README.md" || fail "README still kills by serve.json"
}

# make builds quietly: one short line per step; V=1 prints the commands.
t_quiet_build() {
        b=$T_TMP/qb
        make -C "$T_ROOT" --no-print-directory BUILD="$b" "$b/lib/fmt.o" >"$T_TMP/qb.out" 2>&1 || fail "$(cat "$T_TMP/qb.out")"
        [ "$(cat "$T_TMP/qb.out")" = "  CC      $b/lib/fmt.o" ] || fail "quiet: $(cat "$T_TMP/qb.out")"
        rm -f "$b/lib/fmt.o"
        make -C "$T_ROOT" --no-print-directory V=1 BUILD="$b" "$b/lib/fmt.o" >"$T_TMP/qb.v" 2>&1 || fail "$(cat "$T_TMP/qb.v")"
        grep -q -- "-Wall .* -c -o $b/lib/fmt.o lib/fmt.c" "$T_TMP/qb.v" || fail "V=1: $(cat "$T_TMP/qb.v")"
        rm -f "$b/lib/fmt.o"
        make -s -C "$T_ROOT" --no-print-directory BUILD="$b" "$b/lib/fmt.o" >"$T_TMP/qb.s" 2>&1 || fail "$(cat "$T_TMP/qb.s")"
        [ ! -s "$T_TMP/qb.s" ] || fail "make -s: $(cat "$T_TMP/qb.s")"
}

t_run "options after the positional argument, for every command" t_options_after_positional
t_run "a job id prefix too short says so" t_prefix_too_short
t_run "status: a multi-line reason shows its last line and points to hoist logs" t_status_reason_last_line
t_run "logs: the entrypoint's lines, the restored checkpoint, --attempt, --tail" t_logs_entrypoint_lines_and_attempts
t_run "logs: the entrypoint's lines are in the log stored on S3" t_logs_entrypoint_lines_builtin_storage
t_run "results: files per directory, singular and plural" t_results_message
t_run "Ctrl-C during submit --follow: the job keeps running, and it says so" t_ctrl_c_submit_follow
t_run "serve --stop" t_serve_stop
t_run "make is quiet by default, V=1 prints the commands" t_quiet_build
t_finish
