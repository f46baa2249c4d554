#!/usr/bin/env bash
# outputs.hub (docs/results.md "The Hub"): a real process job writes a
# 30 MiB model file and small files; its model becomes one commit on a Hub
# contract server (tests/peers/hub_server.py), which checks every request as
# the Hub does: the 30 MiB file through LFS multipart (its size and sha256
# checked on completion, no token sent to the storage URLs), the small
# files inline in the NDJSON commit.  Made by `hoist submit --follow`, by
# hoist serve with no CLI call, by `hoist results --hub`, and by the
# entrypoint (from: entrypoint).  A refused token is a clear error and no
# commit; the token is then nowhere: logs, the job store, run dirs, storage,
# job.json, process command lines.
. "$(dirname "$0")/lib.sh"

export HOIST_CONTAINER_ENGINE=none
HUB=$T_TMP/hub

start_hub() {
        mkdir -p "$HUB"
        python3 -c 'import secrets, sys; sys.stdout.write("hf_" + secrets.token_hex(20))' >"$HUB/token"
        /usr/bin/python3 "$T_ROOT/tests/peers/hub_server.py" --dir "$HUB" --token-file "$HUB/token" \
                --throttle-once >"$HUB/server.log" 2>&1 &
        echo $! >"$HUB/pid"
        t_defer "kill $(cat "$HUB/pid") 2>/dev/null"
        wait_for 20 test -s "$HUB/port" || { cat "$HUB/server.log"; return 1; }
        export HF_ENDPOINT=http://127.0.0.1:$(cat "$HUB/port")
}
t_setup "the Hub contract server" start_hub

hub_get() { curl -sf "$HF_ENDPOINT$1"; }
commits_of() { hub_get "/_test/repo/$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["commits"]))'; }

# A job that writes model.safetensors (30 MiB), config.json, README.md and
# tokenizer/vocab.txt into its model dir and a log line into artifacts/.
# DIR NAME REPO [FROM] [SECRET-SOURCE]
write_job() {
        local dir=$1 name=$2 repo=$3 from=${4:-host} src=${5:-"{file: $HUB/token}"}
        mkdir -p "$dir"
        cat >"$dir/train.sh" <<'SH'
set -e
m=$HOIST_MODEL_DIR
mkdir -p "$m/tokenizer"
head -c 31457280 /dev/urandom >"$m/model.safetensors"
printf '{"hidden": 16, "layers": 2}\n' >"$m/config.json"
printf '# a model trained by hoist\n' >"$m/README.md"
printf 'a\nb\nc\n' >"$m/tokenizer/vocab.txt"
echo "token seen: $HF_TOKEN"
echo done >"$HOIST_OUTPUT_DIR/train.log"
SH
        cat >"$dir/job.yaml" <<YAML
name: $name
runtime: process
command: ["sh", "$dir/train.sh"]
secrets:
  HF_TOKEN: $src
outputs:
  hub: {repo: $repo, private: true, revision: main, path_in_repo: ".", token: HF_TOKEN, from: $from}
YAML
}

# The repo REPO holds, at its head, exactly the model dir of job ID (from
# storage), the large file through LFS and the small ones inline.
check_repo() {
        local repo=$1 id=$2 m=$HOIST_HOME/storage/jobs/$2/output/model f
        hub_get "/_test/repo/$repo" >"$T_TMP/repo.json"
        python3 - "$T_TMP/repo.json" "$m" <<'PY' || return 1
import hashlib, json, os, sys
repo = json.load(open(sys.argv[1]))
root = sys.argv[2]
want = {}
for d, _, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        want[os.path.relpath(p, root)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
head = repo["files"]
assert set(head) == set(want), f"repo has {sorted(head)}, model dir {sorted(want)}"
for p, sha in want.items():
    assert head[p]["sha256"] == sha, f"{p}: sha256 differs"
    assert head[p]["lfs"] == (p == "model.safetensors"), f"{p}: lfs is {head[p]['lfs']}"
assert head["model.safetensors"]["size"] == 31457280
assert repo["private"] is True
PY
        for f in model.safetensors config.json tokenizer/vocab.txt; do
                hub_get "/_test/file/$repo/$f" | cmp - "$m/$f" || fail "$f differs in the repo"
        done
}

# The token is nowhere hoist writes or shows: HOIST_HOME (store, run dirs,
# file:// storage with logs, events, job.json, hub.json), the test's own
# outputs, the contract server's log, any process's command line.
check_no_token() {
        local tok cmdlines
        tok=$(cat "$HUB/token")
        ! grep -rqF -- "$tok" "$HOIST_HOME" || fail "the token is under HOIST_HOME: $(grep -rlF -- "$tok" "$HOIST_HOME")"
        ! grep -qF -- "$tok" "$T_TMP"/*.out "$T_TMP"/*.err "$HUB/server.log" 2>/dev/null || fail "the token is in an output"
        cmdlines=$(cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' '\n' || true)
        ! grep -qF -- "$tok" <<<"$cmdlines" || fail "the token is on a command line"
}

t_follow_commits_once() {
        new_home
        write_job "$T_TMP/a" hub-follow alice/tiny-model
        t_defer "hoist serve --stop >/dev/null 2>&1"
        hoist submit --follow "$T_TMP/a/job.yaml" >"$T_TMP/a.out" 2>"$T_TMP/a.err" ||
                { cat "$T_TMP/a.out" "$T_TMP/a.err"; fail "submit --follow failed"; }
        id=$(job_id_of "$T_TMP/a.out")
        grep -q "model committed to the Hub: $HF_ENDPOINT/alice/tiny-model/commit/" "$T_TMP/a.err" ||
                fail "no commit line: $(cat "$T_TMP/a.err")"
        [ "$(commits_of alice/tiny-model)" = 1 ] || fail "not exactly one commit"
        check_repo alice/tiny-model "$id"
        # the 30 MiB file went multipart (8 MiB parts: 4 PUTs) with no token
        hub_get /_test/requests >"$T_TMP/req.json"
        python3 - "$T_TMP/req.json" <<'PY' || fail "requests: $(cat "$T_TMP/req.json")"
import json, sys
r = json.load(open(sys.argv[1]))
parts = [x for x in r if x["path"].startswith("/_storage/part/")]
assert len(parts) == 4, parts
assert not any(x["auth"] for x in r if x["path"].startswith("/_storage/")), "token sent to storage"
assert all(x["auth"] for x in r if not x["path"].startswith("/_storage/"))
assert sum(x["path"].endswith("/commit/main") for x in r) == 1
PY
        python3 -c 'import json,sys; h=json.load(open(sys.argv[1])); assert h["from"]=="host" and h["lfs_files"]==1 and h["files"]==4, h' \
                "$HOIST_HOME/storage/jobs/$id/hub.json"
        grep -q '"token": "HF_TOKEN"' "$HOIST_HOME/storage/jobs/$id/job.json" || fail "job.json lacks outputs.hub"
        [ "$(job_field "$id" hub_commit)" = "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["commit_url"])' "$HOIST_HOME/storage/jobs/$id/hub.json")" ] ||
                fail "hoist status does not show the commit"
        hoist results "$id" "$T_TMP/a/res" >"$T_TMP/a-res.out"
        grep -q "the model is on the Hub: $HF_ENDPOINT/alice/tiny-model/commit/" "$T_TMP/a-res.out" ||
                fail "hoist results does not name the commit"
        # by hand, again: a second commit; the LFS object is there already
        hoist results --hub "$id" >"$T_TMP/a-hub.out" 2>"$T_TMP/a-hub.err" || fail "results --hub: $(cat "$T_TMP/a-hub.err")"
        grep -q "model committed to the Hub" "$T_TMP/a-hub.out" || fail "results --hub says nothing"
        [ "$(commits_of alice/tiny-model)" = 2 ] || fail "results --hub made no second commit"
        hub_get /_test/requests >"$T_TMP/req2.json"
        python3 - "$T_TMP/req.json" "$T_TMP/req2.json" <<'PY' || fail "the stored LFS object was uploaded again"
import json, sys
n = [sum(x["path"].startswith("/_storage/") for x in json.load(open(f))) for f in sys.argv[1:]]
assert n[0] == n[1], n
PY
        check_no_token
}

t_serve_commits_by_itself() {
        new_home
        write_job "$T_TMP/s" hub-serve alice/serve-model
        id=$(hoist submit -q "$T_TMP/s/job.yaml")
        [ -s "$HOIST_HOME/serve/serve.json" ] || fail "submit did not start hoist serve for a job with outputs.hub"
        t_defer "hoist serve --stop >/dev/null 2>&1"
        wait_for 120 test -s "$HOIST_HOME/storage/jobs/$id/hub.json" ||
                fail "no commit with no CLI call: $(cat "$HOIST_HOME/serve/serve.log")"
        [ "$(commits_of alice/serve-model)" = 1 ] || fail "not exactly one commit"
        check_repo alice/serve-model "$id"
        grep -q "model committed to the Hub" "$HOIST_HOME/serve/serve.log" || fail "serve.log does not say so"
        check_no_token
}

t_entrypoint_commits() {
        new_home
        write_job "$T_TMP/e" hub-entry alice/entry-model entrypoint
        hoist submit --follow "$T_TMP/e/job.yaml" >"$T_TMP/e.out" 2>"$T_TMP/e.err" ||
                { cat "$T_TMP/e.out" "$T_TMP/e.err"; fail "submit --follow failed"; }
        id=$(job_id_of "$T_TMP/e.out")
        [ "$(commits_of alice/entry-model)" = 1 ] || fail "not exactly one commit"
        check_repo alice/entry-model "$id"
        python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["from"]=="entrypoint"' \
                "$HOIST_HOME/storage/jobs/$id/hub.json" || fail "hub.json is not the entrypoint's"
        hoist logs "$id" | grep_q "model committed to the Hub" || fail "the job log does not say so"
        check_no_token
}

t_refused_token() {
        new_home
        python3 -c 'import secrets, sys; sys.stdout.write("hf_" + secrets.token_hex(20))' >"$T_TMP/bad"
        write_job "$T_TMP/b" hub-bad alice/bad-model host "{file: $T_TMP/bad}"
        t_defer "hoist serve --stop >/dev/null 2>&1"
        rc=0
        hoist submit --follow "$T_TMP/b/job.yaml" >"$T_TMP/b.out" 2>"$T_TMP/b.err" || rc=$?
        [ "$rc" -ne 0 ] || fail "a refused token still exited 0"
        grep -q "the Hub refused the token (HTTP 401" "$T_TMP/b.err" || fail "unclear error: $(cat "$T_TMP/b.err")"
        grep -q "secret 'HF_TOKEN'" "$T_TMP/b.err" || fail "the error does not name the secret"
        grep -q "alice/bad-model" "$T_TMP/b.err" || fail "the error does not name the repo"
        ! hub_get /_test/repo/alice/bad-model >/dev/null || fail "a repo was created with a bad token"
        ! grep -rqF -- "$(cat "$T_TMP/bad")" "$HOIST_HOME" "$T_TMP/b.out" "$T_TMP/b.err" ||
                fail "the refused token was written somewhere"
        check_no_token
        # and a job.yaml whose token names no secret stops at submit
        sed -i 's/token: HF_TOKEN/token: NOPE/' "$T_TMP/b/job.yaml"
        rc=0
        hoist submit "$T_TMP/b/job.yaml" >"$T_TMP/c.out" 2>"$T_TMP/c.err" || rc=$?
        [ "$rc" -ne 0 ] || fail "submit took a token that names no secret"
        grep -q "outputs.hub.token.*'NOPE' is not one of the job's secrets" "$T_TMP/c.err" ||
                fail "unclear error: $(cat "$T_TMP/c.err")"
}

t_run "submit --follow: one commit, 30 MiB through LFS multipart, small files inline; results --hub" t_follow_commits_once
t_run "hoist serve commits a succeeded job's model with no CLI call" t_serve_commits_by_itself
t_run "from: entrypoint: the job commits its model dir itself" t_entrypoint_commits
t_run "a refused token is a clear error, no commit, no token anywhere" t_refused_token
t_finish
