#!/usr/bin/env bash
# hoist serve as the control plane: it reconciles active jobs in the
# background (a retry happens with no hoist command running), survives its
# own restart, races safely with the CLI, and revokes a job's storage key
# once the job has ended.  Also: a succeeded job is not resumed by accident,
# and an interrupted job keeps its command's exit code.
. "$(dirname "$0")/lib.sh"

export HOIST_CONTAINER_ENGINE=none
job_id_of() { sed -n 's/^submitted job \(j-[0-9a-f]*\)$/\1/p' "$1"; }
entrypoint_pid() { cut -d' ' -f1 "$HOIST_HOME/run/$1/pid"; }
serve_pid() { sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$HOIST_HOME/serve/serve.json"; }
serve_endpoint() { sed -n 's/.*"endpoint": *"\([^"]*\)".*/\1/p' "$HOIST_HOME/serve/serve.json"; }
state_is() { [ "$(job_field "$1" state)" = "$2" ]; }

# A job whose attempt 1 waits until SIGTERM and exits 7 then; a later
# attempt appends its number to $DIR/attempts and exits 0.  Every attempt
# appends "started N" to $DIR/log first.
write_job() { # DIR NAME EXTRA-YAML
        mkdir -p "$1"
        cat >"$1/job.yaml" <<YAML
name: $2
runtime: process
command: ["sh", "-c", "echo started \$HOIST_ATTEMPT >>$1/log; if [ \$HOIST_ATTEMPT = 1 ]; then trap 'exit 7' TERM; while :; do sleep 0.1; done; fi; echo \$HOIST_ATTEMPT >>$1/attempts"]
limits: {stop_grace: 20s}
$3
YAML
}

# Waits for attempt 1 to run, sends its entrypoint SIGTERM and waits until
# that entrypoint has exited (its result written).  Sets $pid1.
interrupt_attempt1() { # DIR ID
        wait_for 60 grep -q "started 1" "$1/log" || { cat "$HOIST_HOME/run/$2/console.log"; fail "attempt 1 did not start"; }
        pid1=$(entrypoint_pid "$2")
        kill -TERM "$pid1"
        wait_for 60 sh -c "! kill -0 $pid1 2>/dev/null || grep -q Z /proc/$pid1/stat" || fail "attempt 1 did not stop"
}

# Issue 10 item 4: no CLI call between the interruption and attempt 2.
t_retry_without_cli() {
        new_home
        write_job "$T_TMP/r" retry "retry: {on: [interruption], max: 2}"
        id=$(hoist submit -q "$T_TMP/r/job.yaml")
        [ -s "$HOIST_HOME/serve/serve.json" ] || fail "submit did not start hoist serve for a job with retry"
        interrupt_attempt1 "$T_TMP/r" "$id"
        # From here until attempt 2 has run, no hoist command: hoist serve
        # alone resumes the job, within 5 s of the interruption.
        wait_for 5 grep -q "started 2" "$T_TMP/r/log" ||
                fail "attempt 2 did not start within 5 s: $(cat "$HOIST_HOME/serve/serve.log")"
        wait_for 60 grep -qx 2 "$T_TMP/r/attempts" || fail "attempt 2 did not finish"
        wait_for 30 state_is "$id" succeeded || fail "state is $(job_field "$id" state)"
        [ "$(job_field "$id" attempt)" = 2 ] || fail "attempt is $(job_field "$id" attempt), not 2"
        [ "$(grep -c started "$T_TMP/r/log")" = 2 ] || fail "attempts started: $(cat "$T_TMP/r/log")"
        hoist status "$id" | grep_q "attempt 2 after interrupted" || fail "$(hoist status "$id")"
}

# The CLI reconciling in a tight loop beside hoist serve: still exactly one
# attempt 2.
t_retry_races_cli() {
        new_home
        write_job "$T_TMP/c" race "retry: {on: [interruption], max: 3}"
        id=$(hoist submit -q "$T_TMP/c/job.yaml")
        wait_for 60 grep -q "started 1" "$T_TMP/c/log" || fail "attempt 1 did not start"
        ( for _ in $(seq 200); do hoist status "$id" >/dev/null 2>&1; hoist list >/dev/null 2>&1; \
                [ -e "$T_TMP/c/stop" ] && break; done ) &
        looper=$!
        t_defer "touch '$T_TMP/c/stop'; wait $looper 2>/dev/null"
        interrupt_attempt1 "$T_TMP/c" "$id"
        wait_for 60 grep -qx 2 "$T_TMP/c/attempts" || fail "attempt 2 did not run"
        touch "$T_TMP/c/stop"
        wait "$looper" || true
        wait_for 30 state_is "$id" succeeded || fail "state is $(job_field "$id" state)"
        [ "$(job_field "$id" attempt)" = 2 ] || fail "attempt is $(job_field "$id" attempt), not 2"
        [ "$(grep -c started "$T_TMP/c/log")" = 2 ] || fail "attempts started: $(cat "$T_TMP/c/log")"
}

# The control plane's state is the store: a serve started after the
# interruption resumes the job.
t_retry_after_serve_restart() {
        new_home
        write_job "$T_TMP/s" restart "retry: {on: [interruption], max: 1}"
        id=$(hoist submit -q "$T_TMP/s/job.yaml")
        wait_for 60 grep -q "started 1" "$T_TMP/s/log" || fail "attempt 1 did not start"
        old=$(serve_pid)
        kill -KILL "$old"
        wait_for 10 sh -c "! kill -0 $old 2>/dev/null || grep -q Z /proc/$old/stat"
        interrupt_attempt1 "$T_TMP/s" "$id"
        ! grep -q "started 2" "$T_TMP/s/log" || fail "attempt 2 started with no hoist serve running"
        hoist serve --listen 127.0.0.1:0 >"$T_TMP/s/serve.out" 2>&1 &
        t_defer "kill $! 2>/dev/null"
        wait_for 10 grep -q "started 2" "$T_TMP/s/log" || fail "the restarted serve did not resume the job: $(cat "$T_TMP/s/serve.out")"
        wait_for 60 grep -qx 2 "$T_TMP/s/attempts" || fail "attempt 2 did not finish"
}

# A cancel is no interruption, even when the job.interrupted event reaches
# hoist serve before anything else: canceled, never retried.
t_cancel_is_not_retried() {
        new_home
        unset HOIST_STORAGE
        write_job "$T_TMP/x" cancel "retry: {on: [interruption], max: 2}"
        id=$(hoist submit -q "$T_TMP/x/job.yaml")
        wait_for 60 grep -q "started 1" "$T_TMP/x/log" || fail "attempt 1 did not start"
        hoist cancel "$id" >/dev/null || fail "cancel failed"
        wait_for 30 state_is "$id" canceled || fail "state is $(job_field "$id" state)"
        # several passes of the control plane later: still no attempt 2
        until_t=$(($(date +%s) + 4))
        while [ "$(date +%s)" -lt $until_t ]; do
                ! grep -q "started 2" "$T_TMP/x/log" || fail "a canceled job was retried"
                sleep 0.2
        done
        state_is "$id" canceled || fail "state is $(job_field "$id" state)"
        [ "$(job_field "$id" attempt)" = 1 ] || fail "attempt is $(job_field "$id" attempt)"
}

# Issue 10 item 5.
t_resume_succeeded_needs_force() {
        new_home
        mkdir -p "$T_TMP/ok"
        cat >"$T_TMP/ok/job.yaml" <<YAML
name: done
runtime: process
command: ["sh", "-c", "echo run \$HOIST_ATTEMPT >>$T_TMP/ok/log"]
YAML
        id=$(hoist submit -q "$T_TMP/ok/job.yaml")
        hoist logs -f "$id" >/dev/null 2>&1 || fail "job failed"
        state_is "$id" succeeded || fail "state is $(job_field "$id" state)"
        rc=0
        hoist submit --resume "$id" >"$T_TMP/ok/out" 2>&1 || rc=$?
        [ "$rc" != 0 ] || fail "--resume of a succeeded job was accepted"
        grep -q "job $id succeeded" "$T_TMP/ok/out" || fail "message: $(cat "$T_TMP/ok/out")"
        grep -q -- "--force" "$T_TMP/ok/out" || fail "message does not name --force: $(cat "$T_TMP/ok/out")"
        state_is "$id" succeeded || fail "refused resume changed the state to $(job_field "$id" state)"
        [ "$(job_field "$id" attempt)" = 1 ] || fail "refused resume started attempt $(job_field "$id" attempt)"
        [ "$(wc -l <"$T_TMP/ok/log")" = 1 ] || fail "a second run happened"
        hoist submit --force "$T_TMP/ok/job.yaml" >"$T_TMP/ok/f.out" 2>&1 && fail "--force without --resume accepted"
        hoist submit --force --resume "$id" >/dev/null || fail "--force --resume refused"
        hoist logs -f "$id" >/dev/null 2>&1 || fail "forced attempt failed"
        [ "$(job_field "$id" attempt)" = 2 ] || fail "--force did not start attempt 2"
        grep -qx "run 2" "$T_TMP/ok/log" || fail "attempt 2 did not run"
}

# Issue 10 item 6: on the built-in endpoint, where the job.interrupted
# event reaches the store before the result record is read.
t_interrupted_keeps_exit_code() {
        new_home
        unset HOIST_STORAGE
        write_job "$T_TMP/e" exitcode ""
        id=$(hoist submit -q "$T_TMP/e/job.yaml")
        interrupt_attempt1 "$T_TMP/e" "$id"
        wait_for 30 state_is "$id" interrupted || fail "state is $(job_field "$id" state)"
        [ "$(job_field "$id" exit_code)" = 7 ] || fail "exit code is '$(job_field "$id" exit_code)', not 7"
        hoist list >"$T_TMP/e/list"
        awk -v id="$id" '$1 == id && $3 == "interrupted" && $5 == "7" { ok = 1 } END { exit !ok }' "$T_TMP/e/list" ||
                fail "hoist list: $(cat "$T_TMP/e/list")"
        hoist status "$id" | grep_q -x "exit code: 7" || fail "hoist status: $(hoist status "$id")"
}

# Issue 10 item 7: a running job's key works; once the job has ended the
# key no longer authenticates, with no hoist command run.
t_key_revoked_when_job_ends() {
        new_home
        unset HOIST_STORAGE
        mkdir -p "$T_TMP/k"
        cat >"$T_TMP/k/job.yaml" <<YAML
name: keyed
runtime: process
command: ["sh", "-c", "touch $T_TMP/k/running; while [ ! -e $T_TMP/k/go ]; do sleep 0.1; done"]
limits: {max_runtime: 10m, stop_grace: 30s}
YAML
        id=$(hoist submit -q "$T_TMP/k/job.yaml")
        wait_for 60 test -e "$T_TMP/k/running" || fail "job did not start"
        keyfile=$(grep -l "\"prefix\": \"jobs/$id/\"" "$HOIST_HOME"/serve/keys/*.json | sed -n 1p)
        [ -n "$keyfile" ] || fail "no key for the job"
        access=$(basename "$keyfile" .json)
        secret=$(sed -n 's/.*"secret_key": *"\([^"]*\)".*/\1/p' "$keyfile")
        expires=$(sed -n 's/.*"expires": *\([0-9]*\).*/\1/p' "$keyfile")
        # max_runtime + stop_grace + a 15 min margin, not 7 days
        ttl=$((expires - $(date +%s)))
        [ "$ttl" -le 1530 ] && [ "$ttl" -ge 1400 ] || fail "key lifetime is $ttl s, not 600+30+900"
        cat >"$T_TMP/k/st" <<SH
#!/bin/sh
AWS_ACCESS_KEY_ID=$access AWS_SECRET_ACCESS_KEY=$secret AWS_ENDPOINT_URL=$(serve_endpoint) \
AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
AWS_CONFIG_FILE=/nonexistent exec "$HOIST_BUILD/tests/storagetool" s3://hoist "\$@"
SH
        chmod +x "$T_TMP/k/st"
        echo probe >"$T_TMP/k/probe"
        "$T_TMP/k/st" put "jobs/$id/probe" "$T_TMP/k/probe" || fail "the running job's key does not work"
        # while it runs, the control plane leaves the key alone
        sleep_until=$(($(date +%s) + 3))
        while [ "$(date +%s)" -lt $sleep_until ]; do
                [ -e "$keyfile" ] || fail "the running job's key was revoked"
                sleep 0.2
        done
        "$T_TMP/k/st" put "jobs/$id/probe" "$T_TMP/k/probe" || fail "the running job's key stopped working"
        touch "$T_TMP/k/go"
        pid=$(entrypoint_pid "$id")
        wait_for 60 sh -c "! kill -0 $pid 2>/dev/null || grep -q Z /proc/$pid/stat" || fail "job did not end"
        # no hoist command from here: hoist serve revokes it
        wait_for 15 sh -c "! '$T_TMP/k/st' put 'jobs/$id/probe' '$T_TMP/k/probe' 2>'$T_TMP/k/err'" ||
                fail "the key still works after the job ended"
        grep -q InvalidAccessKeyId "$T_TMP/k/err" || fail "$(cat "$T_TMP/k/err")"
        grep -q "revoked its storage key" "$HOIST_HOME/serve/serve.log" || fail "serve.log does not say so"
        ! grep -q "$secret" "$HOIST_HOME/serve/serve.log" || fail "the secret is in serve.log"
        state_is "$id" succeeded || fail "state is $(job_field "$id" state)"
}

t_run "hoist serve retries an interrupted job within 5 s, with no CLI call" t_retry_without_cli
t_run "the CLI reconciling beside hoist serve: exactly one attempt 2" t_retry_races_cli
t_run "a restarted hoist serve resumes what the store says" t_retry_after_serve_restart
t_run "a canceled job with retry: is not retried" t_cancel_is_not_retried
t_run "--resume of a succeeded job needs --force" t_resume_succeeded_needs_force
t_run "an interrupted job keeps its command's exit code (7)" t_interrupted_keeps_exit_code
t_run "a job's storage key works while it runs and is revoked when it ends" t_key_revoked_when_job_ends
t_finish
