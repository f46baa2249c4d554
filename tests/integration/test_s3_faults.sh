#!/usr/bin/env bash
# lib/s3's multipart upload (through tests/tools/s3tool) against faults of
# `hoist serve` on a fixed loopback port: the server SIGKILLed with parts
# stored and parts in flight, then restarted on the same port and data
# directory; the server down for longer than the client's retries; 503
# SlowDown from a proxy (tests/peers/s3_fault_proxy.py) in front of it.
# Then `hoist submit`'s upload progress line, on a pty and off it.
# Numbers worth reading in a CI log are printed as "# " lines at the end.
. "$(dirname "$0")/lib.sh"

S3TOOL=$HOIST_BUILD/tests/s3tool
PROXY=$T_ROOT/tests/peers/s3_fault_proxy.py
AWS=/usr/bin/aws
[ -x "$S3TOOL" ] || { echo "not ok - no $S3TOOL (run 'make integration')"; exit 1; }
command -v "$AWS" >/dev/null || { echo "not ok - awscli v2 missing at $AWS (apt-get install awscli)"; exit 1; }
command -v script >/dev/null || { echo "not ok - script(1) missing (apt-get install util-linux)"; exit 1; }

sha() { sha256sum "$1" | cut -d' ' -f1; }
note() { echo "$*" >>"$T_TMP/notes"; }

# One server home, data directory and port for every case: a restart must
# find the uploads of the server it replaces.
new_home
SERVE_HOME=$HOIST_HOME
DATA=$SERVE_HOME/serve/data/hoist
PORT=$(free_port)
EP=http://127.0.0.1:$PORT
SERVE_BIN=$HOIST_BIN/hoist
[ "${HOIST_VALGRIND:-0}" != 1 ] || SERVE_BIN=$T_TMP/vg-hoist
# Cases run in subshells: the running server's pid lives in a file.
t_defer 'serve_stop'

serve_pid() { cat "$T_TMP/serve.pid" 2>/dev/null; }
serve_up() { # the server of serve.pid answers on $PORT
        grep -q "\"pid\": *$(serve_pid)[,}]" "$SERVE_HOME/serve/serve.json" 2>/dev/null &&
                (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}
serve_start() {
        "$SERVE_BIN" serve --listen "127.0.0.1:$PORT" --print-credentials \
                >"$T_TMP/serve.out" 2>>"$T_TMP/serve.err" &
        echo $! >"$T_TMP/serve.pid"
        wait_for 10 serve_up || { tail "$T_TMP/serve.err"; return 1; }
        # it prints the keys just after it starts listening
        wait_for 10 grep -q '^secret_key=' "$T_TMP/serve.out" || { tail "$T_TMP/serve.err"; return 1; }
        AWS_ACCESS_KEY_ID=$(sed -n 's/^access_key=//p' "$T_TMP/serve.out")
        AWS_SECRET_ACCESS_KEY=$(sed -n 's/^secret_key=//p' "$T_TMP/serve.out")
        export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
}
serve_kill() { # SIGKILL: no shutdown, no cleanup, serve.json left behind
        local pid
        pid=$(serve_pid)
        kill -KILL "$pid"
        wait_for 10 sh -c "! kill -0 $pid 2>/dev/null || grep -q ' Z ' /proc/$pid/stat"
}
serve_stop() {
        local pid
        pid=$(serve_pid)
        [ -n "$pid" ] || return 0
        kill -TERM "$pid" 2>/dev/null || true
        wait_for 10 sh -c "! kill -0 $pid 2>/dev/null || grep -q ' Z ' /proc/$pid/stat" || true
        rm -f "$T_TMP/serve.pid"
}

# lib/s3 and awscli see only this server: no profile, no IMDS, no proxy CA.
unset AWS_CA_BUNDLE AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3 AWS_MAX_ATTEMPTS
export AWS_ENDPOINT_URL=$EP AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=
export AWS_CONFIG_FILE=$T_TMP/aws.cfg AWS_SHARED_CREDENTIALS_FILE=$T_TMP/aws.creds
printf '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n' >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
# 8 MiB parts: a 200 MiB file is 25 parts, 8 of them in flight at a time.
export S3TOOL_PART_SIZE=$((8 << 20))

s3() { "$S3TOOL" "$@"; }
parts_stored() { find "$DATA/mpu" -name 'part.*' 2>/dev/null | wc -l; }
# bodies being received (tmp/ holds each until it is complete)
parts_in_flight() { find "$DATA/tmp" -type f -size +1M 2>/dev/null | wc -l; }

# Waits until at least STORED parts are stored and one more is being
# received, while the upload of pid CLIENT still runs.
wait_mid_upload() { # STORED CLIENT
        local i
        for i in $(seq 3000); do
                if [ "$(parts_stored)" -ge "$1" ] && [ "$(parts_in_flight)" -ge 1 ]; then
                        return 0
                fi
                kill -0 "$2" 2>/dev/null || fail "the upload ended before the server was killed"
                sleep 0.01
        done
        fail "no part stored in 30 s"
}

# The upload left nothing: not listed, no upload directory.
no_upload_left() {
        [ -z "$(s3 uploads hoist)" ] || fail "uploads left: $(s3 uploads hoist)"
        [ -z "$(ls -A "$DATA/mpu")" ] || fail "mpu/ holds $(ls -A "$DATA/mpu")"
}

head -c $((200 << 20)) /dev/urandom >"$T_TMP/src200"

t_kill_and_restart() {
        serve_start
        HOIST_LOG=debug "$S3TOOL" putmp hoist faults/restart.bin "$T_TMP/src200" \
                >"$T_TMP/k.etag" 2>"$T_TMP/k.log" &
        client=$!
        wait_mid_upload 3 "$client"
        serve_kill
        stored=$(parts_stored) inflight=$(parts_in_flight)
        touch "$T_TMP/k.restart"
        sleep 1
        serve_start # same port, same data directory
        wait "$client" || { tail "$T_TMP/k.log"; fail "s3tool failed across the restart"; }
        retries=$(grep -c 'retrying in' "$T_TMP/k.log" || true)
        [ "$retries" -ge 1 ] || fail "the client saw no failure: was the server killed mid-part?"
        grep -q -- '-25"$' "$T_TMP/k.etag" || fail "etag $(cat "$T_TMP/k.etag") is not of 25 parts"
        s3 get hoist faults/restart.bin "$T_TMP/k.out"
        [ "$(sha "$T_TMP/src200")" = "$(sha "$T_TMP/k.out")" ] || fail "sha256 differs after the restart"
        rm -f "$T_TMP/k.out"
        no_upload_left
        # The restarted server swept the killed one's half-received bodies,
        # and left none of its own.
        [ -z "$(find "$DATA/tmp" -type f)" ] || fail "bodies left in tmp/: $(ls "$DATA/tmp")"
        note "kill/restart: killed with $stored parts stored and $inflight in flight; down 1 s;" \
                "$retries retries; 200 MiB sha256 equal; 0 uploads, mpu/ and tmp/ empty"
        serve_stop
}

# AWS_MAX_ATTEMPTS=2: a part gives up after one retry (0.5-1 s later), and
# the abort it then sends does the same, so the client is done in 1-2 s.
t_down_past_budget() {
        serve_start
        AWS_MAX_ATTEMPTS=2 HOIST_LOG=debug "$S3TOOL" putmp hoist faults/down.bin "$T_TMP/src200" \
                >/dev/null 2>"$T_TMP/d.log" &
        client=$!
        wait_mid_upload 2 "$client"
        serve_kill
        stored=$(parts_stored)
        # down until the client has given up
        if wait "$client"; then fail "s3tool succeeded with the server down"; fi
        err=$(grep '^s3tool:' "$T_TMP/d.log")
        # the part's error, and the upload it could not abort, by id
        grep -q "after 2 attempts: PUT s3://hoist/faults/down.bin: .*Couldn't connect" <<<"$err" || fail "$err"
        id=$(sed -n 's/.*; upload \([0-9a-f]*\) of s3:\/\/hoist\/faults\/down.bin is left on the server (aborting it failed: after 2 attempts: DELETE .*/\1/p' <<<"$err")
        [ -n "$id" ] || fail "the orphaned upload is not named: $err"
        serve_start
        # Orphaned: nothing on the client's side can remove it any more, and
        # hoist serve does not expire uploads; it is listed with its parts
        # until someone aborts it.
        [ "$(s3 uploads hoist)" = "faults/down.bin $id" ] || fail "uploads: $(s3 uploads hoist)"
        left=$(find "$DATA/mpu/$id" -name 'part.*' | wc -l)
        [ "$left" -ge 1 ] || fail "no parts under mpu/$id"
        "$AWS" --endpoint-url "$EP" s3api abort-multipart-upload --bucket hoist --key faults/down.bin --upload-id "$id"
        no_upload_left
        note "down past budget (AWS_MAX_ATTEMPTS=2): killed with $stored parts stored; s3tool failed:" \
                "${err#s3tool: }"
        note "  orphan $id kept $left parts until aws s3api abort-multipart-upload"
        serve_stop
}

# The server back while the client's abort is still retrying: the abort
# lands and nothing is left, though the upload itself failed.
t_back_during_abort() {
        serve_start
        AWS_MAX_ATTEMPTS=3 HOIST_LOG=debug "$S3TOOL" putmp hoist faults/abort.bin "$T_TMP/src200" \
                >/dev/null 2>"$T_TMP/a.log" &
        client=$!
        wait_mid_upload 2 "$client"
        serve_kill
        wait_for 30 grep -q 'DELETE s3://hoist/faults/abort.bin: .*retrying in' "$T_TMP/a.log"
        serve_start
        if wait "$client"; then fail "s3tool succeeded with the server down"; fi
        err=$(grep '^s3tool:' "$T_TMP/a.log")
        grep -q "after 3 attempts: PUT s3://hoist/faults/abort.bin" <<<"$err" || fail "$err"
        ! grep -q "left on the server" <<<"$err" || fail "the abort failed: $err"
        no_upload_left
        note "back during the abort: s3tool failed (${err#s3tool: }); the abort landed, 0 uploads"
        serve_stop
}

# 503 SlowDown to the first 6 UploadPart requests of a 10-part upload: each
# refused part is sent again, and no part is sent again once stored.
t_slowdown_retries_parts() {
        serve_start
        head -c $((80 << 20)) /dev/urandom >"$T_TMP/src80"
        python3 "$PROXY" --upstream "$PORT" --fail-part-puts 6 --log "$T_TMP/proxy.log" \
                --port-file "$T_TMP/proxy.port" 2>"$T_TMP/proxy.err" &
        proxy=$!
        t_defer "kill $proxy 2>/dev/null"
        wait_for 10 test -s "$T_TMP/proxy.port" || { cat "$T_TMP/proxy.err"; fail "proxy did not start"; }
        pep=http://127.0.0.1:$(cat "$T_TMP/proxy.port")
        AWS_ENDPOINT_URL=$pep "$S3TOOL" putmp hoist faults/slow.bin "$T_TMP/src80" >"$T_TMP/s.etag" ||
                fail "s3tool failed through 503s"
        kill "$proxy"
        grep -q -- '-10"$' "$T_TMP/s.etag" || fail "etag $(cat "$T_TMP/s.etag") is not of 10 parts"
        s3 get hoist faults/slow.bin "$T_TMP/s.out"
        [ "$(sha "$T_TMP/src80")" = "$(sha "$T_TMP/s.out")" ] || fail "sha256 differs"
        no_upload_left
        # PUT lines: "PUT PART STATUS"
        [ "$(grep -c '^PUT [0-9]* 503$' "$T_TMP/proxy.log")" = 6 ] || fail "not 6 503s: $(cat "$T_TMP/proxy.log")"
        for p in $(seq 10); do
                ok=$(grep -c "^PUT $p 200$" "$T_TMP/proxy.log" || true)
                all=$(grep -c "^PUT $p " "$T_TMP/proxy.log" || true)
                [ "$ok" = 1 ] || fail "part $p stored $ok times: $(grep "^PUT $p " "$T_TMP/proxy.log")"
                # a stored part is the last PUT of its number
                [ "$(grep "^PUT $p " "$T_TMP/proxy.log" | tail -1)" = "PUT $p 200" ] ||
                        fail "part $p was sent after it was stored"
                [ "$all" -le 2 ] || fail "part $p sent $all times"
        done
        [ "$(grep -c '^PUT ' "$T_TMP/proxy.log")" = 16 ] || fail "not 10 + 6 part PUTs"
        note "503 SlowDown: $(grep -c '^PUT ' "$T_TMP/proxy.log") part PUTs for 10 parts," \
                "6 refused and sent again, every part stored once; sha256 equal"
        serve_stop
}

# Ctrl-C while hoist submit uploads a tree: the PUTs after the fourth are
# held by the proxy (a client stuck mid-upload), then SIGINT.  It dies of
# the signal saying nothing was submitted, no job row is left, and the next
# submit sends only what the first did not.
t_interrupted_submit() {
        serve_start
        python3 "$PROXY" --upstream "$PORT" --hold-puts-after 4 --log "$T_TMP/hold.log" \
                --port-file "$T_TMP/hold.port" 2>"$T_TMP/hold.err" &
        proxy=$!
        t_defer "kill $proxy 2>/dev/null"
        wait_for 10 test -s "$T_TMP/hold.port" || { cat "$T_TMP/hold.err"; fail "proxy did not start"; }
        new_home
        export HOIST_CONTAINER_ENGINE=none HOIST_STORAGE=s3://hoist/interrupted HOIST_TREE=1
        mkdir -p "$T_TMP/int/data"
        for i in $(seq 1 12); do head -c $((3 << 20)) /dev/urandom >"$T_TMP/int/data/f$i.bin"; done
        printf 'name: interrupted\nruntime: process\ncommand: ["true"]\ninputs:\n  data: data\n' \
                >"$T_TMP/int/job.yaml"
        # (a background job of a script ignores SIGINT unless told not to)
        AWS_ENDPOINT_URL=http://127.0.0.1:$(cat "$T_TMP/hold.port") env --default-signal=INT \
                "$HOIST_CMD" submit "$T_TMP/int/job.yaml" >"$T_TMP/int/out" 2>"$T_TMP/int/err" &
        local pid=$! rc=0
        wait_for 60 grep -q "^PUT .* held$" "$T_TMP/hold.log" || fail "no PUT reached the proxy: $(cat "$T_TMP/int/err")"
        kill -INT "$pid"
        wait "$pid" || rc=$?
        [ "$rc" = 130 ] || fail "exit $rc after SIGINT, not 130 (death by SIGINT): $(tail -3 "$T_TMP/int/err")"
        grep -q "interrupted: no job was submitted or started" "$T_TMP/int/err" || fail "no word of it: $(tail -3 "$T_TMP/int/err")"
        [ -z "$(hoist list 2>/dev/null | grep '^j-')" ] || fail "a job row was left: $(hoist list)"
        kill "$proxy"
        hoist submit -o json "$T_TMP/int/job.yaml" >"$T_TMP/int/json" 2>"$T_TMP/int/err2" ||
                fail "the next submit: $(cat "$T_TMP/int/err2")"
        python3 - "$T_TMP/int/json" <<'PY' || fail "the next submit sent it all again: $(cat "$T_TMP/int/json")"
import json, sys
u = json.load(open(sys.argv[1]))["upload"]
total = 12 * (3 << 20)
assert 0 < u["bytes_sent"] <= total - 4 * (3 << 20) + (1 << 20), u
PY
        id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T_TMP/int/json")
        hoist logs -f "$id" >/dev/null 2>&1 || fail "job $id failed"
        note "SIGINT mid-upload: exit 130, no job row; the next submit sent" \
                "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["upload"]["bytes_sent"])' "$T_TMP/int/json") of $((12 * 3 << 20)) bytes"
        serve_stop
}

# ---- hoist submit's progress line, against the built-in endpoint ----

progress_home() {
        new_home
        unset HOIST_STORAGE HOIST_PROGRESS AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
        export HOIST_CONTAINER_ENGINE=none
}
# A job whose one input, channel 'data', is 40 MiB of fresh bytes in DIR.
progress_job() { # DIR
        mkdir -p "$1"
        head -c $((40 << 20)) /dev/urandom >"$1/data.bin"
        printf 'name: progress\nruntime: process\ncommand: ["true"]\ninputs:\n  data: data.bin\n' >"$1/job.yaml"
}
HOIST_CMD=$HOIST_BIN/hoist
[ "${HOIST_VALGRIND:-0}" != 1 ] || HOIST_CMD=$T_TMP/vg-hoist

t_progress_tty() {
        progress_home
        progress_job "$T_TMP/p1"
        script -q -e -c "'$HOIST_CMD' submit '$T_TMP/p1/job.yaml'" /dev/null >"$T_TMP/p1.out" </dev/null ||
                { cat "$T_TMP/p1.out"; fail "submit on a pty failed"; }
        tr '\r' '\n' <"$T_TMP/p1.out" >"$T_TMP/p1.lines"
        grep -q "^input 'data': 40.0 MiB / 40.0 MiB (100%), [0-9.]* MiB/s" "$T_TMP/p1.lines" ||
                { head "$T_TMP/p1.out" | cat -A; fail "no 100% progress line"; }
        grep -q $'\r' "$T_TMP/p1.out" || fail "the line is not redrawn in place"
        # at most ~10 redraws a second, whatever the number of callbacks
        draws=$(grep -c "^input 'data':" "$T_TMP/p1.lines")
        note "progress on a pty: $draws draws; last: $(grep "^input 'data':" "$T_TMP/p1.lines" | tail -1 | sed 's/\x1b\[K//')"
        id=$(grep -o 'j-[0-9a-f]*' "$T_TMP/p1.out" | tail -1)
        hoist logs -f "$id" >/dev/null 2>&1 || fail "job $id failed"
}

t_progress_not_a_tty() {
        progress_home
        progress_job "$T_TMP/p2"
        id=$(hoist submit "$T_TMP/p2/job.yaml" 2>"$T_TMP/p2.err" | sed -n 's/^submitted job //p') ||
                { cat "$T_TMP/p2.err"; fail "submit failed"; }
        ! grep -q "MiB/s\|^input 'data': " "$T_TMP/p2.err" || fail "progress without a tty: $(cat "$T_TMP/p2.err")"
        hoist logs -f "$id" >/dev/null 2>&1 || fail "job $id failed"
        # HOIST_PROGRESS=lines: one line per tenth, no \r
        progress_job "$T_TMP/p3"
        id=$(HOIST_PROGRESS=lines hoist submit "$T_TMP/p3/job.yaml" 2>"$T_TMP/p3.err" |
                sed -n 's/^submitted job //p') || { cat "$T_TMP/p3.err"; fail "submit failed"; }
        # -q: the job id only, no progress even when asked for
        progress_job "$T_TMP/p4"
        id=$(HOIST_PROGRESS=lines hoist submit -q "$T_TMP/p4/job.yaml" 2>"$T_TMP/p4.err")
        ! grep -q "MiB/s" "$T_TMP/p4.err" || fail "progress despite -q"
        hoist logs -f "$id" >/dev/null 2>&1 || fail "job $id failed"
        ! grep -q $'\r' "$T_TMP/p3.err" || fail "\\r in lines mode"
        [ "$(grep -c "^input 'data': .* MiB/s$" "$T_TMP/p3.err")" = 10 ] || fail "not 10 lines: $(cat "$T_TMP/p3.err")"
        grep "^input 'data':" "$T_TMP/p3.err" | tail -1 | grep_q "(100%)" || fail "last line is not 100%"
        hoist logs -f "$id" >/dev/null 2>&1 || fail "job $id failed"
}

t_run "SIGKILL mid-multipart, restart on the same port: upload completes, sha256 equal, nothing left" t_kill_and_restart
t_run "server down past the retries: clear error naming the orphaned upload, which abort removes" t_down_past_budget
t_run "server back while the client aborts: the abort lands, no upload left" t_back_during_abort
t_run "503 SlowDown on 6 part PUTs: each part retried on its own, none stored twice" t_slowdown_retries_parts
t_run "Ctrl-C mid-upload: dies of SIGINT saying nothing was submitted; no job row; the next submit sends the rest" t_interrupted_submit
t_run "submit on a pty: a progress line redrawn in place, ending at 100% with MiB/s" t_progress_tty
t_run "submit without a tty: no progress; HOIST_PROGRESS=lines: one line per 10%" t_progress_not_a_tty
[ ! -s "$T_TMP/notes" ] || sed 's/^/# /' "$T_TMP/notes"
t_finish
