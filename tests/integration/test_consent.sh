#!/usr/bin/env bash
# Consent before any byte leaves (docs/job.md "consent"), against Ceph
# radosgw as an S3 server that counts as "elsewhere" although it listens on
# loopback: ask with no terminal refuses (nothing in the bucket, no job row)
# unless --yes; never refuses even with --yes; allow in job.yaml overrides
# config.yaml; ask on a real pty waits for y/N and shows the summary first.
. "$(dirname "$0")/lib.sh"

RGW=$T_TMP/rgw
BUCKET=hoist-consent
s3() { "$HOIST_BUILD/tests/s3tool" "$@"; }
job_id_of() { sed -n 's/^submitted job \(j-[0-9a-f]*\)$/\1/p' "$1"; }
bucket_keys() { s3 ls "$BUCKET" 2>/dev/null; }
job_count() { hoist list -o json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

# Nothing was uploaded, no job row was written and no tar is left behind.
nothing_left() {
        [ -z "$(bucket_keys)" ] || fail "the bucket holds: $(bucket_keys)"
        [ "$(job_count)" = 0 ] || fail "a job row was written"
        [ -z "$(ls -A "$HOIST_HOME/tmp")" ] || fail "left in tmp/: $(ls -A "$HOIST_HOME/tmp")"
}

setup() {
        [ -x "$HOIST_BUILD/tests/s3tool" ] || { echo "run 'make integration' first"; return 1; }
        start_rgw "$RGW" || return 1
        s3 mb "$BUCKET"
}

# A home whose config.yaml holds CONSENT (none: no config.yaml at all).
consent_home() {
        new_home
        rm -f "$HOIST_HOME/config.yaml"
        [ "$1" = none ] || echo "consent: $1" >"$HOIST_HOME/config.yaml"
        export HOIST_CONTAINER_ENGINE=none
}

write_job() { # DIR [EXTRA-YAML]
        mkdir -p "$1/data"
        echo 'echo "ran in $(pwd)"; cat "$HOIST_INPUT_TRAIN/points.csv"' >"$1/run.sh"
        echo '1,2' >"$1/data/points.csv"
        echo 'TOKEN=x' >"$1/.env"
        printf 'name: consent\nruntime: process\ncommand: [sh, run.sh]\ncode: .\ninputs:\n  train: data\nstorage: s3://%s/c\n%s' \
                "$BUCKET" "${2:-}" >"$1/job.yaml"
}

t_ask_without_terminal_refuses() {
        consent_home none
        write_job "$T_TMP/a"
        rc=0
        hoist submit "$T_TMP/a/job.yaml" </dev/null >"$T_TMP/a.out" 2>"$T_TMP/a.err" || rc=$?
        [ "$rc" -eq 1 ] || { cat "$T_TMP/a.err"; fail "exit $rc, not 1"; }
        grep -qF "consent is 'ask' (the default) and there is no terminal to ask on: the job's files would leave this machine for provider 'local' (runs on this machine), storage s3://$BUCKET/c (endpoint $AWS_ENDPOINT_URL); nothing was uploaded (agree with 'hoist submit --yes', or set consent: allow in job.yaml or \$HOIST_HOME/config.yaml)" "$T_TMP/a.err" ||
                { cat "$T_TMP/a.err"; fail "unclear refusal"; }
        # the summary came first, with the destination
        grep -q "^  code (.): 3 files" "$T_TMP/a.err" || { cat "$T_TMP/a.err"; fail "no summary"; }
        grep -q "^    excluded as sensitive: .env$" "$T_TMP/a.err" || fail "the summary does not name .env"
        nothing_left
        # config.yaml saying ask is named as where it comes from
        echo "consent: ask" >"$HOIST_HOME/config.yaml"
        ! hoist submit "$T_TMP/a/job.yaml" </dev/null >/dev/null 2>"$T_TMP/a2.err" || fail "submitted"
        grep -qF "consent is 'ask' (set in '$HOIST_HOME/config.yaml':1)" "$T_TMP/a2.err" || { cat "$T_TMP/a2.err"; fail "origin not named"; }
        nothing_left
}

t_yes_uploads() {
        consent_home none
        write_job "$T_TMP/y"
        hoist submit --yes --follow "$T_TMP/y/job.yaml" </dev/null >"$T_TMP/y.out" 2>&1 ||
                { cat "$T_TMP/y.out"; fail "the job failed"; }
        id=$(job_id_of "$T_TMP/y.out")
        grep -q "^ran in .*/code$" "$T_TMP/y.out" || { cat "$T_TMP/y.out"; fail "not run in the code dir"; }
        grep -q "^1,2$" "$T_TMP/y.out" || fail "the input did not arrive"
        keys=$(bucket_keys)
        grep -q "^c/jobs/$id/job.json " <<<"$keys" || fail "no job.json in the bucket: $keys"
        # code and input are trees: the code's pack (points.csv in it too)
        # and two manifests; the input's one file is referenced in that pack
        [ "$(grep -c '^c/blobs/sha256/' <<<"$keys")" -eq 3 ] || fail "not three blobs (a pack, two manifests): $keys"
        [ "$(job_count)" = 1 ] || fail "no job row"
}

t_never_refuses_even_with_yes() {
        consent_home never
        write_job "$T_TMP/n"
        rc=0
        hoist submit --yes "$T_TMP/n/job.yaml" </dev/null >/dev/null 2>"$T_TMP/n.err" || rc=$?
        [ "$rc" -eq 1 ] || fail "exit $rc, not 1"
        grep -qF "consent is 'never' (set in '$HOIST_HOME/config.yaml':1): the job's files would leave this machine for provider 'local'" "$T_TMP/n.err" ||
                { cat "$T_TMP/n.err"; fail "unclear refusal"; }
        grep -qF "nothing was uploaded (use file:// storage, or set consent: ask or allow)" "$T_TMP/n.err" || fail "no way out named"
        nothing_left
        # file:// storage is this machine's: never does not stop it
        write_job "$T_TMP/nf"
        sed -i '/^storage:/d' "$T_TMP/nf/job.yaml"
        hoist submit --follow "$T_TMP/nf/job.yaml" </dev/null >"$T_TMP/nf.out" 2>&1 || { cat "$T_TMP/nf.out"; fail "file storage refused"; }
}

t_allow_in_job_yaml_wins() {
        consent_home never
        write_job "$T_TMP/al" "consent: allow
"
        hoist submit --follow "$T_TMP/al/job.yaml" </dev/null >"$T_TMP/al.out" 2>&1 || { cat "$T_TMP/al.out"; fail "refused"; }
        grep -q "^c/blobs/sha256/" <<<"$(bucket_keys)" || fail "nothing in the bucket"
        # and never in job.yaml wins over allow in config.yaml
        s3_clean
        consent_home allow
        write_job "$T_TMP/nv" "consent: never
"
        ! hoist submit "$T_TMP/nv/job.yaml" </dev/null >/dev/null 2>"$T_TMP/nv.err" || fail "submitted"
        grep -qF "consent is 'never' (set in '$T_TMP/nv/job.yaml':8)" "$T_TMP/nv.err" || { cat "$T_TMP/nv.err"; fail "origin not named"; }
        nothing_left
}

# Runs hoist submit on a pty (stdin and stderr), answers ANSWER to its
# question, and prints the pty's text to $T_TMP/pty.txt; exits as hoist did.
on_pty() { # ANSWER ARGS...
        python3 - "$HOIST_BIN/hoist" "$@" >"$T_TMP/pty.stdout" 2>"$T_TMP/pty.txt" <<'PY'
import os, pty, select, subprocess, sys, time
hoist, answer, args = sys.argv[1], sys.argv[2], sys.argv[3:]
master, slave = pty.openpty()
p = subprocess.Popen([hoist, "submit"] + args, stdin=slave, stderr=slave, stdout=subprocess.PIPE)
os.close(slave)
text, answered, deadline = b"", False, time.time() + 300
while time.time() < deadline:
    ready, _, _ = select.select([master], [], [], 0.2)
    if ready:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            break
        text += chunk
        if not answered and b"[y/N] " in text:
            os.write(master, answer.encode() + b"\n")
            answered = True
    elif p.poll() is not None:
        break
else:
    p.kill()
    sys.stderr.write("timed out\n")
sys.stdout.write(p.stdout.read().decode())
sys.stderr.write(text.decode(errors="replace"))
sys.exit(p.wait() if answered else 99)
PY
}

t_ask_on_a_terminal() {
        consent_home none
        write_job "$T_TMP/t"
        rc=0
        on_pty N "$T_TMP/t/job.yaml" || rc=$?
        [ "$rc" -eq 1 ] || { cat "$T_TMP/pty.txt"; fail "answering N: exit $rc, not 1"; }
        # the summary, then the question, then the refusal
        python3 - "$T_TMP/pty.txt" <<'PY' || { cat "$T_TMP/pty.txt"; fail "not summary, question, refusal in that order"; }
import sys
t = open(sys.argv[1]).read()
a, b, c = t.index("  code (.): "), t.index("Upload the files above to provider 'local'"), t.index("declined (consent 'ask', the default); nothing was uploaded")
assert a < b < c and "[y/N] " in t
PY
        nothing_left
        on_pty y "$T_TMP/t/job.yaml" || { cat "$T_TMP/pty.txt"; fail "answering y: refused"; }
        id=$(job_id_of "$T_TMP/pty.stdout")
        [ -n "$id" ] || { cat "$T_TMP/pty.stdout" "$T_TMP/pty.txt"; fail "no job id"; }
        grep -q "^c/jobs/$id/job.json " <<<"$(bucket_keys)" || fail "nothing uploaded after y"
        hoist logs -f "$id" >"$T_TMP/t.log" 2>&1 || { cat "$T_TMP/t.log"; fail "the job failed"; }
}

# build.push sends the image to a registry: asked before the build starts,
# so a refusal builds and pushes nothing (the registry here does not even
# exist: nothing may try it).
t_push_asks_first() {
        consent_home none
        mkdir -p "$T_TMP/p"
        printf 'FROM scratch\nCOPY x /x\n' >"$T_TMP/p/Dockerfile"
        echo x >"$T_TMP/p/x"
        printf 'name: pushes\nruntime: container\ncommand: [/x]\nbuild:\n  context: .\n  push: 127.0.0.1:1/team/pushes:1\n' >"$T_TMP/p/job.yaml"
        rc=0
        hoist submit "$T_TMP/p/job.yaml" </dev/null >/dev/null 2>"$T_TMP/p.err" || rc=$?
        [ "$rc" -eq 1 ] || { cat "$T_TMP/p.err"; fail "exit $rc, not 1"; }
        grep -qF "build: the image built from '$T_TMP/p' goes to registry '127.0.0.1:1/team/pushes:1' (build.push)" "$T_TMP/p.err" ||
                { cat "$T_TMP/p.err"; fail "the push was not announced"; }
        grep -qF "consent is 'ask' (the default) and there is no terminal to ask on: the job's files would leave this machine for registry '127.0.0.1:1/team/pushes:1' (build.push)" "$T_TMP/p.err" ||
                { cat "$T_TMP/p.err"; fail "unclear refusal"; }
        ! grep -q "Step\|FROM\|COPY" "$T_TMP/p.err" || { cat "$T_TMP/p.err"; fail "it built before asking"; }
        [ ! -e "$HOIST_HOME/images" ] || [ -z "$(ls -A "$HOIST_HOME/images")" ] || fail "an image was built: $(ls -A "$HOIST_HOME/images")"
        [ "$(job_count)" = 0 ] || fail "a job row was written"
}

# Each test starts from an empty bucket.
s3_clean() {
        local k
        for k in $(bucket_keys | cut -d' ' -f1); do s3 rm "$BUCKET" "$k"; done
}
run() { s3_clean; t_run "$1" "$2"; }

if setup >"$T_TMP/setup.log" 2>&1; then
        run "consent ask, no terminal: refused, nothing in the bucket, no job row" t_ask_without_terminal_refuses
        run "consent ask with --yes: uploaded, and the job runs its code from S3" t_yes_uploads
        run "consent never: refused even with --yes; file:// storage needs none" t_never_refuses_even_with_yes
        run "consent in job.yaml overrides config.yaml, both ways" t_allow_in_job_yaml_wins
        run "consent ask on a pty: summary, then y/N; N refuses, y uploads" t_ask_on_a_terminal
        run "build.push: consent is asked before anything is built or pushed" t_push_asks_first
else
        echo "not ok - start radosgw"
        sed 's/^/    # /' "$T_TMP/setup.log"
        T_FAILED=$((T_FAILED + 1))
fi
t_finish
