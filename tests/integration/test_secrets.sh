#!/usr/bin/env bash
# job.yaml's secrets (docs/job.md "secrets") and the clean environment of a
# process job, end to end: secrets from a variable, a file and a ~/ file
# reach the command of a process job and of a podman container, which
# prints them (whole, and split across two writes) and checks them; their
# values are then nowhere in $HOIST_HOME (the job store, run dirs, the
# file:// storage with its logs and events), in `podman inspect`, on the
# command line of any process while the job runs, or in hoist status/logs,
# and the logs say "[secret NAME]" where they were printed.  Also: hoist's
# own S3 key on the built-in endpoint is redacted too; a missing secret
# stops submit with exit 3 before anything is uploaded; --resume reads the
# secrets again; a variable of the submitting shell does not reach a
# process job.
. "$(dirname "$0")/lib.sh"

IMAGE=localhost/hoist-it-secrets:$$

# A random value in FILE, made without putting it on any command line (the
# tests look for the values in every process's cmdline).
new_value() { python3 -c 'import secrets, sys; sys.stdout.write("sv-" + secrets.token_hex(16))' >"$1"; }

# The job: checks each value against its sha256 (job.json holds the hash,
# not the value), prints them, one split across two writes, to stdout and
# stderr and in a metrics line, dumps its environment, then waits for GO.
# DIR RUNTIME IMAGE-OR-EMPTY GO
write_job() {
        local dir=$1 rt=$2 image=$3 go=$4 h1 h2 h3
        h1=$(sha256sum <"$dir/env.value" | cut -c1-64)
        h2=$(sha256sum <"$dir/file.value" | cut -c1-64)
        h3=$(sha256sum <"$HOME/.config/hoist-it/key" | cut -c1-64)
        cat >"$dir/run.sh" <<SH
set -e
sum() { printf '%s' "\$1" | sha256sum | cut -c1-64; }
[ "\$(sum "\$HF_TOKEN")" = $h1 ] || { echo "HF_TOKEN is wrong" >&2; exit 9; }
[ "\$(sum "\$FILE_TOK")" = $h2 ] || { echo "FILE_TOK is wrong" >&2; exit 9; }
[ "\$(sum "\$HOME_TOK")" = $h3 ] || { echo "HOME_TOK is wrong" >&2; exit 9; }
echo "token=\$HF_TOKEN"
echo "file=\$FILE_TOK home=\$HOME_TOK"
echo "to stderr \$HF_TOKEN" >&2
a=\${HF_TOKEN%????????????????}
printf 'split=%s' "\$a"
sleep 0.5
printf '%s\n' "\${HF_TOKEN#"\$a"}"
echo "{\"step\": 1, \"loss\": 0.5, \"note\": \"\$HF_TOKEN\"}"
env | sort | sed 's/^/env:/'
echo ready
while [ ! -e $go ]; do sleep 0.1; done
SH
        mkdir -p "$dir/data"
        echo "some data" >"$dir/data/a.txt"
        {
                echo "name: secrets-$rt"
                echo "runtime: $rt"
                [ -z "$image" ] || echo "image: $image"
                echo "command: [\"sh\", \"$STORE/run-$rt.sh\"]"
                echo "inputs: {train: data/}"
                echo "env: {FOO: bar}"
                echo "secrets:"
                echo "  HF_TOKEN: {env: SRC_TOKEN}"
                echo "  FILE_TOK: {file: tok.txt}"
                echo "  HOME_TOK: {file: ~/.config/hoist-it/key}"
        } >"$dir/job.yaml"
        mkdir -p "$STORE"
        cp "$dir/run.sh" "$STORE/run-$rt.sh" # in storage: containers see it there
}

# A HOIST_HOME, a HOME with a secret under it, the three values (in
# $T_TMP/values, one a line, for grep -F -f) and the submitting shell's
# variables.  DIR
setup_secrets() {
        local dir=$1
        new_home
        STORE=$HOIST_HOME/storage
        export HOME=$T_TMP/h
        mkdir -p "$dir" "$HOME/.config/hoist-it"
        new_value "$dir/env.value"
        new_value "$dir/file.value"
        new_value "$HOME/.config/hoist-it/key"
        { cat "$dir/file.value"; echo; } >"$dir/tok.txt" # a trailing newline is no part of it
        for f in "$dir/env.value" "$dir/file.value" "$HOME/.config/hoist-it/key"; do
                cat "$f"
                echo
        done >"$T_TMP/values"
        SRC_TOKEN=$(cat "$dir/env.value")
        export SRC_TOKEN
        # the submitting shell's own: none of them is the job's business
        export AWS_SECRET_ACCESS_KEY=fake-aws-key-of-the-shell HOIST_REGISTRY_PASSWORD=shell-pw
        export LANG=C.UTF-8 TZ=UTC
}

# Every process's command line on this machine, NUL turned to space.  A
# process may end between the glob and the read: that is no failure.
all_cmdlines() {
        local p
        for p in /proc/[0-9]*; do
                { tr '\0' ' ' <"$p/cmdline" && echo; } 2>/dev/null || true
        done
}

# no_values FILE-OR-DIR...: none of the values in $T_TMP/values is there.
no_values() {
        if grep -rlF -f "$T_TMP/values" "$@" >"$T_TMP/found" 2>/dev/null; then
                fail "a secret value is in: $(cat "$T_TMP/found")"
        fi
}

# Runs the job of DIR (already written) to the end, checking while it runs.
# Sets ID.
run_and_check() { # DIR RUNTIME
        local dir=$1 rt=$2
        ID=$(hoist submit -q "$dir/job.yaml") || fail "submit failed"
        wait_for 60 grep -q '|ready$' "$STORE/jobs/$ID/logs/main.log" ||
                { cat "$STORE/jobs/$ID/logs/main.log" "$HOIST_HOME/run/$ID/console.log" 2>/dev/null; fail "the job did not get ready"; }
        all_cmdlines >"$T_TMP/cmdlines"
        [ "$(wc -l <"$T_TMP/cmdlines")" -gt 3 ] || fail "no command lines read"
        no_values "$T_TMP/cmdlines"
        if [ "$rt" = container ]; then
                podman inspect "hoist-$ID" >"$T_TMP/inspect.json" || fail "podman inspect"
                no_values "$T_TMP/inspect.json"
                grep -q 'HOIST_SECRETS_FILE=/run/hoist/secrets.json' "$T_TMP/inspect.json" ||
                        fail "the container has no secrets file"
                # the secrets file on the host went once the container started
                src=$(python3 -c 'import json,sys; print([m["Source"] for m in json.load(sys.stdin)[0]["Mounts"] if m["Destination"]=="/run/hoist/secrets.json"][0])' <"$T_TMP/inspect.json")
                [ ! -e "$src" ] || fail "the secrets file '$src' is still on the host"
        fi
        touch "$GO"
        hoist logs -f "$ID" >"$T_TMP/logs.out" 2>&1 || { cat "$T_TMP/logs.out"; fail "the job failed"; }
        hoist status "$ID" >"$T_TMP/status.out" 2>&1
        hoist status -o json "$ID" >>"$T_TMP/status.out" 2>&1
        hoist list >>"$T_TMP/status.out" 2>&1
        no_values "$HOIST_HOME" "$T_TMP/logs.out" "$T_TMP/status.out"
        for want in 'token=\[secret HF_TOKEN\]' 'file=\[secret FILE_TOK\] home=\[secret HOME_TOK\]' \
                'to stderr \[secret HF_TOKEN\]' 'split=\[secret HF_TOKEN\]' 'env:HF_TOKEN=\[secret HF_TOKEN\]' \
                'env:FOO=bar' 'env:PATH=/' 'env:HOME=/' \
                '"note": "\[secret HF_TOKEN\]"'; do
                grep -q "$want" "$T_TMP/logs.out" || { cat "$T_TMP/logs.out"; fail "hoist logs lacks '$want'"; }
        done
        grep -q 'secret HF_TOKEN' "$STORE/jobs/$ID/logs/main.log" || fail "the stored log lacks it"
        cat "$STORE/jobs/$ID"/events/*.json >"$T_TMP/events.json"
        grep -q '\[secret HF_TOKEN\]' "$T_TMP/events.json" || fail "the job.log events lack it"
        no_values "$T_TMP/events.json"
        grep -q '"job.metric"' "$T_TMP/events.json" || fail "no job.metric event"
        # not even the names of the variables that held them travel
        ! grep -q 'env:SRC_TOKEN\|env:HOIST_S3\|env:HOIST_SECRETS' "$T_TMP/logs.out" ||
                fail "the command got a variable it should not have"
}

t_process_job() {
        setup_secrets "$T_TMP/p"
        export HOIST_CONTAINER_ENGINE=none
        GO=$STORE/go-p
        write_job "$T_TMP/p" process "" "$GO"
        run_and_check "$T_TMP/p" process
        # a clean environment: the submitting shell's other variables stay there
        ! grep -q 'env:AWS_SECRET_ACCESS_KEY\|env:HOIST_REGISTRY_PASSWORD\|fake-aws\|shell-pw' "$T_TMP/logs.out" ||
                fail "the shell's variables reached the job"
        grep -q "env:HOIST_JOB_ID=$ID" "$T_TMP/logs.out" || fail "no HOIST_JOB_ID"
        grep -q "env:LANG=C.UTF-8" "$T_TMP/logs.out" || fail "no LANG"
        grep -q "env:TZ=UTC" "$T_TMP/logs.out" || fail "no TZ"
        grep -q "env:HOME=$HOME\$" "$T_TMP/logs.out" || fail "no HOME"
        grep -q 'env:HOIST_INPUT_TRAIN=/' "$T_TMP/logs.out" || fail "no HOIST_INPUT_TRAIN"
        # a failure's reason (the stderr tail) is redacted in the store too
        mkdir -p "$T_TMP/pf"
        printf 'name: fails\nruntime: process\ncommand: ["sh", "-c", "echo \\"bad $HF_TOKEN\\" >&2; exit 4"]\nsecrets:\n  HF_TOKEN: {env: SRC_TOKEN}\n' >"$T_TMP/pf/job.yaml"
        set +e
        hoist submit --follow "$T_TMP/pf/job.yaml" >"$T_TMP/pf.out" 2>&1
        rc=$?
        set -e
        [ $rc = 6 ] || { cat "$T_TMP/pf.out"; fail "exit $rc, not 6"; }
        f=$(sed -n 's/^submitted job \(j-[0-9a-f]*\)$/\1/p' "$T_TMP/pf.out")
        [ "$(job_field "$f" reason)" = "bad [secret HF_TOKEN]" ] || fail "reason: $(job_field "$f" reason)"
        no_values "$HOIST_HOME" "$T_TMP/pf.out"
}

t_container_job() {
        setup_secrets "$T_TMP/c"
        export HOIST_CONTAINER_ENGINE=podman
        "$T_ROOT/tests/peers/podman-image.sh" "$IMAGE" "$HOIST_BUILD/hoist-entrypoint-bundle.tar" \
                "$HOIST_BIN/hoist-quickstart" >/dev/null || fail "build the test image"
        t_defer "podman rmi -f $IMAGE >/dev/null 2>&1"
        GO=$STORE/go-c
        write_job "$T_TMP/c" container "$IMAGE" "$GO"
        run_and_check "$T_TMP/c" container
        [ "$(job_field "$ID" runtime)" = podman ] || fail "not podman"
        # a value that is not text cannot go in the secrets file: said, by name
        mkdir -p "$T_TMP/cb"
        printf 'bin\377ary' >"$T_TMP/cb/bin"
        printf 'name: binary\nimage: %s\ncommand: ["true"]\nsecrets:\n  BIN: {file: bin}\n' "$IMAGE" >"$T_TMP/cb/job.yaml"
        set +e
        hoist submit "$T_TMP/cb/job.yaml" >"$T_TMP/cb.out" 2>&1
        rc=$?
        set -e
        [ $rc = 3 ] || { cat "$T_TMP/cb.out"; fail "exit $rc, not 3"; }
        grep -q "secret 'BIN' is not UTF-8 text" "$T_TMP/cb.out" || fail "unclear: $(cat "$T_TMP/cb.out")"
}

# The built-in endpoint's job key (HOIST_S3_SECRET_ACCESS_KEY) is hoist's
# own secret: the command prints what its entrypoint was given, and the
# stored log and events show it redacted.
t_builtin_s3_key_redacted() {
        new_home
        unset HOIST_STORAGE
        export HOIST_CONTAINER_ENGINE=none
        mkdir -p "$T_TMP/b"
        cat >"$T_TMP/b/job.yaml" <<'YAML'
name: s3-key
runtime: process
command: ["sh", "-c", "tr '\\0' '\\n' </proc/$PPID/environ | grep '^HOIST_S3_SECRET_ACCESS_KEY='; echo tok=$TOK; echo ready; while [ ! -e $HOIST_WORKDIR/../go ]; do sleep 0.1; done"]
secrets:
  TOK: {env: SRC_TOKEN}
YAML
        new_value "$T_TMP/b/user.value"
        SRC_TOKEN=$(cat "$T_TMP/b/user.value")
        export SRC_TOKEN
        id=$(hoist submit -q "$T_TMP/b/job.yaml")
        wait_for 60 grep -q ready "$HOIST_HOME/run/$id/console.log" || fail "not ready"
        pid=$(cut -d' ' -f1 "$HOIST_HOME/run/$id/pid")
        tr '\0' '\n' <"/proc/$pid/environ" | sed -n 's/^HOIST_S3_SECRET_ACCESS_KEY=//p' >"$T_TMP/values"
        [ -s "$T_TMP/values" ] || fail "the entrypoint has no S3 key"
        { cat "$T_TMP/b/user.value"; echo; } >>"$T_TMP/values"
        all_cmdlines >"$T_TMP/cmdlines"
        no_values "$T_TMP/cmdlines"
        touch "$HOIST_HOME/run/$id/go"
        hoist logs -f "$id" >"$T_TMP/b.out" 2>&1 || { cat "$T_TMP/b.out"; fail "job failed"; }
        grep -q '^HOIST_S3_SECRET_ACCESS_KEY=\[secret HOIST_S3_SECRET_ACCESS_KEY\]$' "$T_TMP/b.out" ||
                { cat "$T_TMP/b.out"; fail "the key was not redacted"; }
        grep -q '^tok=\[secret TOK\]$' "$T_TMP/b.out" || fail "the job's secret was not redacted"
        # the endpoint keeps the key it issued (serve/keys); nothing else does
        no_values "$T_TMP/b.out" "$HOIST_HOME/serve/data" "$HOIST_HOME/hoist.db" "$HOIST_HOME/run"
        # the job's own secret is nowhere: not in the S3 peer's data, the store, the run dir
        { cat "$T_TMP/b/user.value"; echo; } >"$T_TMP/values"
        no_values "$HOIST_HOME" "$T_TMP/b.out"
}

t_missing_secret_exit_3() {
        setup_secrets "$T_TMP/m"
        export HOIST_CONTAINER_ENGINE=none
        write_job "$T_TMP/m" process "" "$STORE/go-m"
        set +e
        env -u SRC_TOKEN "$HOIST_BIN/hoist" submit "$T_TMP/m/job.yaml" >"$T_TMP/m.out" 2>&1
        rc=$?
        set -e
        [ $rc = 3 ] || { cat "$T_TMP/m.out"; fail "exit $rc, not 3"; }
        grep -q "secret 'HF_TOKEN': the variable 'SRC_TOKEN' is not set" "$T_TMP/m.out" ||
                fail "unclear: $(cat "$T_TMP/m.out")"
        rm "$T_TMP/m/tok.txt"
        set +e
        hoist submit "$T_TMP/m/job.yaml" >"$T_TMP/m2.out" 2>&1
        rc=$?
        set -e
        [ $rc = 3 ] || { cat "$T_TMP/m2.out"; fail "exit $rc, not 3"; }
        grep -q "secret 'FILE_TOK': cannot read its file: .*tok.txt" "$T_TMP/m2.out" ||
                fail "unclear: $(cat "$T_TMP/m2.out")"
        # nothing went up, no job was made
        [ ! -e "$STORE/blobs" ] && [ ! -e "$STORE/jobs" ] || fail "something was uploaded: $(find "$STORE")"
        [ "$(hoist list -o json)" = "[]" ] || fail "a job was recorded: $(hoist list)"
        # an empty variable is no secret either
        set +e
        SRC_TOKEN= hoist submit "$T_TMP/m/job.yaml" >"$T_TMP/m3.out" 2>&1
        rc=$?
        set -e
        [ $rc = 3 ] || fail "empty variable: exit $rc"
}

# Every attempt reads the secrets again: a --resume where the variable is
# gone fails that attempt, naming the secret; with it, the command has it.
t_resume_reads_again() {
        setup_secrets "$T_TMP/r"
        export HOIST_CONTAINER_ENGINE=none
        write_job "$T_TMP/r" process "" "$STORE/go-r"
        touch "$STORE/go-r"
        id=$(hoist submit -q "$T_TMP/r/job.yaml")
        hoist logs -f "$id" >/dev/null 2>&1 || fail "first attempt failed"
        set +e
        env -u SRC_TOKEN "$HOIST_BIN/hoist" submit --resume "$id" --force >"$T_TMP/r.out" 2>&1
        rc=$?
        set -e
        [ $rc = 3 ] || { cat "$T_TMP/r.out"; fail "exit $rc, not 3"; }
        grep -q "secret 'HF_TOKEN': the variable 'SRC_TOKEN' is not set" "$T_TMP/r.out" || fail "$(cat "$T_TMP/r.out")"
        [ "$(job_field "$id" state)" = failed ] || fail "state $(job_field "$id" state)"
        job_field "$id" reason | grep_q "secret 'HF_TOKEN'" || fail "reason: $(job_field "$id" reason)"
        hoist submit --resume "$id" >/dev/null 2>&1 || fail "resume with the secret failed"
        hoist logs -f "$id" >"$T_TMP/r2.out" 2>&1 || { cat "$T_TMP/r2.out"; fail "the new attempt failed"; }
        [ "$(job_field "$id" attempt)" = 3 ] || fail "attempt $(job_field "$id" attempt)"
        no_values "$HOIST_HOME"
}

# An entrypoint whose job.json names a secret that did not reach it fails
# the attempt (125) with a reason naming it.
t_entrypoint_missing_secret() {
        local d=$T_TMP/e
        mkdir -p "$d/store"
        cat >"$d/job.json" <<JSON
{"version": "hoist/v1", "id": "sec-e", "command": ["true"],
 "storage": {"endpoint": "file://$d/store"},
 "secrets": [{"name": "HF_TOKEN", "env": "HF_TOKEN"}]}
JSON
        set +e
        env -u HF_TOKEN HOIST_JOB_FILE="$d/job.json" HOIST_WORKDIR="$d/work" HOIST_NODE=main \
                "$HOIST_BIN/hoist-entrypoint" train >"$d/out" 2>&1
        rc=$?
        set -e
        [ $rc = 125 ] || { cat "$d/out"; fail "exit $rc, not 125"; }
        grep -q "secret 'HF_TOKEN' did not reach this attempt" "$d/store/jobs/sec-e/result.json" ||
                fail "result: $(cat "$d/store/jobs/sec-e/result.json")"
}

t_run "process job: secrets from env, file and ~/ reach the command and nothing else" t_process_job
t_run "podman job: secrets through a mounted file, absent from podman inspect" t_container_job
t_run "built-in S3 endpoint: hoist's own S3 key and the job's secret are redacted" t_builtin_s3_key_redacted
t_run "a missing or empty secret: exit 3 naming it, nothing uploaded" t_missing_secret_exit_3
t_run "--resume reads the secrets again; without them the attempt fails naming one" t_resume_reads_again
t_run "entrypoint: a secret of job.json that did not arrive fails the attempt" t_entrypoint_missing_secret
t_finish
