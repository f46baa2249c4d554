#!/usr/bin/env bash
# job.yaml's code: and include: on file:// storage (no consent needed): a
# Python project run with `command: python3 train.py` and `code: .` finds
# train.py in $HOIST_CODE_DIR, its working directory; the uploaded tree (and
# the tar of HOIST_TREE=0) holds exactly what the ignore rules and the
# sensitive list keep plus include:, and the summary names every sensitive file left out; unchanged code sends
# nothing; a container job (podman, a busybox image) runs a shell project.
. "$(dirname "$0")/lib.sh"

IMAGE=localhost/hoist-it-code:$$
job_id_of() { sed -n 's/^submitted job \(j-[0-9a-f]*\)$/\1/p' "$1"; }
# code_blob ID: the local path of job ID's code tar.
code_blob() {
        python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['code']['source'])" \
                "$HOIST_HOME/storage/jobs/$1/job.json" | sed "s|^|$HOIST_HOME/storage/|"
}

# code_entries ID: the sorted paths of job ID's code tree manifest.
code_entries() {
        python3 -c "import json,sys; print('\n'.join(e['path'] for e in json.load(open(sys.argv[1]))['entries']))" \
                "$(code_blob "$1")" | sort
}

# A Python project: what it needs, what must never leave, what .gitignore
# leaves out, and the one sensitive file job.yaml names under include:.
make_project() { # DIR
        mkdir -p "$1/pkg" "$1/.git/objects" "$1/sub"
        cat >"$1/train.py" <<'PY'
import json, os, sys
sys.path.insert(0, os.getcwd())
from pkg.model import scale
cwd = os.getcwd()
print(json.dumps({"cwd": cwd, "code_dir": os.environ.get("HOIST_CODE_DIR"),
                  "env_sent": os.path.exists(".env"),
                  "local_env_sent": os.path.exists(".env.local"),
                  "big_sent": os.path.exists("big.bin"),
                  "value": scale(open("sub/keep.txt").read().strip())}))
with open(os.path.join(os.environ["HOIST_MODEL_DIR"], "model.txt"), "w") as f:
        f.write("trained\n")
PY
        printf 'def scale(x):\n    return int(x) * 2\n' >"$1/pkg/model.py"
        : >"$1/pkg/__init__.py"
        echo 21 >"$1/sub/keep.txt"
        printf 'big.bin\n*.log\n' >"$1/.gitignore"
        truncate -s 50M "$1/big.bin"
        echo noise >"$1/run.log"
        echo 'API_TOKEN=from-dotenv' >"$1/.env"
        echo 'API_TOKEN=local' >"$1/.env.local"
        echo '[core]' >"$1/.git/config"
        echo 'ref: refs/heads/main' >"$1/.git/HEAD"
        echo 'PRIVATE' >"$1/id_rsa"
        echo 'PUBLIC' >"$1/id_rsa.pub"
        echo '{"key": "x"}' >"$1/credentials.json"
        echo 'CERT' >"$1/sub/server.pem"
        cat >"$1/job.yaml" <<'YAML'
name: pyproj
runtime: process
command: python3 train.py
code: .
include:
  - .env
YAML
}

t_python_project() {
        new_home
        export HOIST_CONTAINER_ENGINE=none
        make_project "$T_TMP/py"
        hoist submit --follow "$T_TMP/py/job.yaml" >"$T_TMP/py.out" 2>"$T_TMP/py.err" ||
                { cat "$T_TMP/py.out" "$T_TMP/py.err"; fail "the job failed"; }
        id=$(job_id_of "$T_TMP/py.out")
        line=$(grep '^{"cwd"' "$T_TMP/py.out") || { cat "$T_TMP/py.out"; fail "train.py printed nothing"; }
        python3 - "$line" "$HOIST_HOME/run/$id/work/code" <<'PY' || fail "train.py saw: $line"
import json, os, sys
v = json.loads(sys.argv[1])
want = os.path.realpath(sys.argv[2])
assert os.path.realpath(v["cwd"]) == want, (v["cwd"], want)
assert os.path.realpath(v["code_dir"]) == want, v
assert v["env_sent"] is True and v["local_env_sent"] is False and v["big_sent"] is False, v
assert v["value"] == 42, v
PY
        [ "$(cat "$HOIST_HOME/storage/jobs/$id/output/model/model.txt")" = trained ] || fail "no model"

        # exactly these entries in the tree the job got
        code_entries "$id" >"$T_TMP/entries"
        printf '%s\n' .env .gitignore job.yaml pkg pkg/__init__.py pkg/model.py sub sub/keep.txt \
                train.py | sort >"$T_TMP/want"
        diff "$T_TMP/want" "$T_TMP/entries" || fail "the tree holds other entries than expected"
        # and in the tar of the old path (HOIST_TREE=0)
        HOIST_TREE=0 hoist submit "$T_TMP/py/job.yaml" >"$T_TMP/tar.out" 2>&1 || { cat "$T_TMP/tar.out"; fail "tar path"; }
        tid=$(job_id_of "$T_TMP/tar.out")
        tar -tf "$(code_blob "$tid")" | sed 's|^\./||; s|/$||' | grep -v '^$' | sort >"$T_TMP/tentries"
        diff "$T_TMP/want" "$T_TMP/tentries" || fail "the tar holds other entries than expected"

        # the summary: counts, and every sensitive entry by name
        for l in "  code (.): 7 files," \
                "    excluded by .gitignore/.hoistignore: 2" \
                "    excluded as sensitive: .env.local" \
                "    excluded as sensitive: .git/" \
                "    excluded as sensitive: credentials.json" \
                "    excluded as sensitive: id_rsa" \
                "    excluded as sensitive: id_rsa.pub" \
                "    excluded as sensitive: sub/server.pem" \
                "  destination: provider 'local' (runs on this machine), storage file://$HOIST_HOME/storage (this machine)"; do
                grep -qF -- "$l" "$T_TMP/py.err" || { cat "$T_TMP/py.err"; fail "no summary line '$l'"; }
        done
        n=$(grep -c 'excluded as sensitive' "$T_TMP/py.err")
        [ "$n" -eq 6 ] || { cat "$T_TMP/py.err"; fail "$n sensitive lines, not 6"; }
        ! grep -q 'excluded as sensitive: .env$' "$T_TMP/py.err" || fail "the included .env is reported excluded"
        ! grep -q "from-dotenv" "$T_TMP/py.err" "$T_TMP/py.out" || fail "a file's content reached the output"
}

t_unchanged_code_sends_nothing() {
        new_home
        export HOIST_CONTAINER_ENGINE=none
        make_project "$T_TMP/un"
        hoist submit "$T_TMP/un/job.yaml" >/dev/null 2>"$T_TMP/un1.err"
        grep -q "code and inputs: 1 uploaded" "$T_TMP/un1.err" || { cat "$T_TMP/un1.err"; fail "first submit"; }
        # a change the ignore rules leave out changes nothing either
        echo more >>"$T_TMP/un/run.log"
        echo rotated >"$T_TMP/un/id_rsa"
        hoist submit "$T_TMP/un/job.yaml" >/dev/null 2>"$T_TMP/un2.err"
        grep -q "sends 0 B (stored already)" "$T_TMP/un2.err" || { cat "$T_TMP/un2.err"; fail "no 'stored already'"; }
        grep -q "code and inputs: 0 uploaded (0 B), 1 unchanged" "$T_TMP/un2.err" || { cat "$T_TMP/un2.err"; fail "re-uploaded"; }
        echo 22 >"$T_TMP/un/sub/keep.txt"
        hoist submit "$T_TMP/un/job.yaml" >/dev/null 2>"$T_TMP/un3.err"
        grep -q "code and inputs: 1 uploaded" "$T_TMP/un3.err" || { cat "$T_TMP/un3.err"; fail "a changed file was not sent"; }
}

# workdir set: the command starts where it did without code:, and the code
# is still at $HOIST_CODE_DIR.
t_workdir_wins() {
        new_home
        export HOIST_CONTAINER_ENGINE=none
        mkdir -p "$T_TMP/wd/src"
        echo 'echo "pwd=$(pwd) code=$HOIST_CODE_DIR"; cat "$HOIST_CODE_DIR/hello.txt"' >"$T_TMP/wd/src/run.sh"
        echo hello-from-code >"$T_TMP/wd/src/hello.txt"
        printf 'name: wd\nruntime: process\ncommand: [sh, -c, "sh $HOIST_CODE_DIR/run.sh"]\nworkdir: /tmp\ncode: src\n' \
                >"$T_TMP/wd/job.yaml"
        # the command is not a shell: $HOIST_CODE_DIR reaches sh -c as written
        hoist submit --follow "$T_TMP/wd/job.yaml" >"$T_TMP/wd.out" 2>&1 || { cat "$T_TMP/wd.out"; fail "job failed"; }
        grep -q "^hello-from-code" "$T_TMP/wd.out" || { cat "$T_TMP/wd.out"; fail "code not staged"; }
        code=$(sed -n 's/^pwd=.* code=\(.*\)$/\1/p' "$T_TMP/wd.out")
        pwd_=$(sed -n 's/^pwd=\(.*\) code=.*$/\1/p' "$T_TMP/wd.out")
        [ -n "$code" ] && [ "$pwd_" != "$code" ] || { cat "$T_TMP/wd.out"; fail "workdir set, yet the command started in the code dir"; }
}

t_include_errors() {
        new_home
        mkdir -p "$T_TMP/ie/src" "$T_TMP/ie/other"
        echo x >"$T_TMP/ie/other/.env"
        printf 'name: ie\nruntime: process\ncommand: "true"\ncode: src\ninclude:\n  - other/.env\n' >"$T_TMP/ie/job.yaml"
        rc=0
        hoist submit "$T_TMP/ie/job.yaml" >/dev/null 2>"$T_TMP/ie.err" || rc=$?
        [ "$rc" -eq 3 ] || fail "exit $rc, not 3"
        grep -qF "job.yaml':6: field 'include[0]': 'other/.env' lies neither inside 'code:' nor inside a directory input" "$T_TMP/ie.err" ||
                { cat "$T_TMP/ie.err"; fail "unclear error"; }
        [ "$(hoist list -o json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 0 ] ||
                fail "a job row was written"
}

t_container_shell_project() {
        command -v podman >/dev/null || fail "podman is not installed (scripts/deps.sh installs it)"
        "$T_ROOT/tests/peers/podman-image.sh" "$IMAGE" "$HOIST_BUILD/hoist-entrypoint-bundle.tar" \
                "$HOIST_BIN/hoist-quickstart" >/dev/null || fail "build the test image"
        t_defer "podman rmi -f $IMAGE >/dev/null 2>&1"
        new_home
        export HOIST_CONTAINER_ENGINE=podman
        mkdir -p "$T_TMP/ct/lib"
        echo 'echo "pwd=$(pwd) code=$HOIST_CODE_DIR"; . ./lib/greet.sh; greet' >"$T_TMP/ct/train.sh"
        echo 'greet() { echo "greeting-from-lib"; }' >"$T_TMP/ct/lib/greet.sh"
        echo 'SECRET=1' >"$T_TMP/ct/.env"
        printf 'name: ct\nruntime: container\nimage: %s\ncommand: [sh, train.sh]\ncode: .\n' "$IMAGE" >"$T_TMP/ct/job.yaml"
        hoist submit --follow "$T_TMP/ct/job.yaml" >"$T_TMP/ct.out" 2>&1 || { cat "$T_TMP/ct.out"; fail "job failed"; }
        grep -q "^pwd=/hoist/code code=/hoist/code$" "$T_TMP/ct.out" || { cat "$T_TMP/ct.out"; fail "not run in /hoist/code"; }
        grep -q "^greeting-from-lib" "$T_TMP/ct.out" || { cat "$T_TMP/ct.out"; fail "the project's lib was not found"; }
        grep -q "excluded as sensitive: .env" "$T_TMP/ct.out" || { cat "$T_TMP/ct.out"; fail ".env not reported"; }
}

t_run "code: . runs python3 train.py in \$HOIST_CODE_DIR; tar and summary are exact" t_python_project
t_run "unchanged code (ignored files aside) sends nothing; a changed file is sent" t_unchanged_code_sends_nothing
t_run "workdir set: the command does not start in the code dir" t_workdir_wins
t_run "include: outside code and inputs is refused at its line, exit 3, no job" t_include_errors
t_run "container runtime: a shell project runs in /hoist/code" t_container_shell_project
t_finish
