#!/usr/bin/env bash
# hoist rm and hoist gc on real storage (file:// and Ceph radosgw): 50 small
# process jobs leave no staged input copies in $HOIST_HOME; after `hoist rm`
# of some and `hoist gc`, $HOIST_HOME plus the storage hold exactly the job
# store, the remaining jobs' objects and the blobs their job.json names;
# --dry-run removes nothing; a SIGKILLed submit's scratch files and a stale
# multipart upload go; rm refuses a running job without --force.
. "$(dirname "$0")/lib.sh"
# Directory inputs go the old way here, one tar each: the suite counts one
# blob per input and needs the tar's scratch file of a killed submit (the
# tree path writes none); test_sync.sh covers gc of trees.
export HOIST_TREE=0

RGW=$T_TMP/rgw
BUCKET=hoist-gc
S3TOOL=$HOIST_BUILD/tests/s3tool
AWS=/usr/bin/aws
# Fewer under valgrind, where every hoist takes seconds.
NJOBS=50
[ "${HOIST_VALGRIND:-0}" != 1 ] || NJOBS=10
# hoist rm takes every job of input sets 0 and 1 (then unused) and one of set 2
NRM=$((2 * NJOBS / 5 + 1))
note() { echo "$*" >>"$T_TMP/notes"; }

setup() {
        [ -x "$S3TOOL" ] || { echo "run 'make integration' first"; return 1; }
        start_rgw "$RGW" || return 1
        "$S3TOOL" mb "$BUCKET"
}

# write_jobs DIR: five job files, each with an input directory of its own
# content (five blobs), a tiny process command that reads it.
write_jobs() {
        local d=$1 k
        for k in 0 1 2 3 4; do
                mkdir -p "$d/$k/data"
                echo "set $k" >"$d/$k/data/a.txt"
                head -c $((20000 + k * 1000)) /dev/zero >"$d/$k/data/b.bin"
                cat >"$d/$k/job.yaml" <<YAML
name: gc-$k
runtime: process
command: ["sh", "-c", "cat \$HOIST_INPUT_TRAIN/a.txt > \$HOIST_MODEL_DIR/m.txt"]
inputs:
  train: data/
limits:
  stop_grace: 5s
YAML
        done
}

# all_finished IDS_FILE: every job in it has a result record (the entrypoint
# wrote it: nothing of hoist's looked at the jobs meanwhile).
all_finished() {
        local n
        n=$(hoist list -o json | python3 -c '
import json, sys
print(sum(1 for j in json.load(sys.stdin) if j["state"] in ("succeeded", "failed", "canceled")))')
        [ "$n" -ge "$(wc -l <"$1")" ]
}

# The bytes of $HOIST_HOME and of the storage against what should be left:
# the job store, the objects of the jobs in it, and the blobs their job.json
# names.  Prints "actual expected" and fails on any difference.
check_sizes() { # STORAGE_URL
        HOIST_BIN_=$HOIST_BIN/hoist S3TOOL=$S3TOOL BUCKET=$BUCKET python3 - "$1" <<'PY'
import json, os, re, subprocess, sys
url = sys.argv[1]
home = os.environ["HOIST_HOME"]
jobs = json.loads(subprocess.check_output([os.environ["HOIST_BIN_"], "list", "-o", "json"]))
ids = {j["id"] for j in jobs}
# config.yaml: the settings new_home writes (consent), not the store's
store = {"hoist.db", "hoist.db-wal", "hoist.db-shm", "gc.lock", "config.yaml"}

def walk(root):
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            if os.path.isfile(p) and not os.path.islink(p):
                yield os.path.relpath(p, root), os.path.getsize(p)

# the marks that a job's provider let go of it: kept, as the lock is
home_files = {k: s for k, s in walk(home) if not k.endswith("/provider-released")}
bad = [k for k in home_files if k.startswith("tmp/") or
       (k.startswith("run/") and not k.endswith("/launch.lock"))]
if bad:
    sys.exit("left in HOIST_HOME: %s" % bad[:10])
if url.startswith("file://"):
    root = url[len("file://"):]
    objects = dict(walk(root))
    home_extra = sum(s for k, s in home_files.items()
                     if k.split("/")[0] not in ("storage",) and k not in store)
else:
    bucket_prefix = url[len("s3://"):].split("/", 1)[1] + "/"
    out = subprocess.check_output([os.environ["S3TOOL"], "ls", os.environ["BUCKET"],
                                   bucket_prefix], stderr=subprocess.DEVNULL).decode()
    objects = {}
    for line in out.splitlines():
        k, s = line.rsplit(" ", 1)
        objects[k[len(bucket_prefix):]] = int(s)
    home_extra = sum(s for k, s in home_files.items() if k not in store)
live = set()
for j in ids:
    if "jobs/%s/job.json" % j not in objects:
        sys.exit("job %s has no job.json" % j)
# the blobs each remaining job's job.json names
if url.startswith("file://"):
    for j in ids:
        with open(os.path.join(root, "jobs", j, "job.json")) as f:
            spec = json.load(f)
        live |= {i["source"] for i in spec.get("inputs", [])}
        live |= {spec["code"]["source"]} if "code" in spec else set()
else:
    for j in ids:
        spec = json.loads(subprocess.check_output(
            [os.environ["S3TOOL"], "cat", os.environ["BUCKET"], bucket_prefix + "jobs/%s/job.json" % j]))
        live |= {i["source"] for i in spec.get("inputs", [])}
        live |= {spec["code"]["source"]} if "code" in spec else set()
blobs = {k for k in objects if k.startswith("blobs/")}
if blobs != live:
    sys.exit("blobs %s, expected %s" % (sorted(blobs), sorted(live)))
stray = [k for k in objects if not k.startswith("blobs/") and k.split("/")[1] not in ids]
if stray:
    sys.exit("objects of no job: %s" % stray[:10])
actual = sum(objects.values()) + home_extra
expected = sum(s for k, s in objects.items() if k.startswith("jobs/")) + \
    sum(objects[b] for b in live)
print(actual, expected, len(live))
if actual != expected:
    sys.exit("HOIST_HOME and storage hold %d bytes, expected %d" % (actual, expected))
PY
}

# The file list of $HOIST_HOME (but the store) and of the storage, with sizes.
snapshot() { # STORAGE_URL OUT
        {
                (cd "$HOIST_HOME" && find . -path ./hoist.db\* -prune -o -printf '%p %s\n' | sort)
                case $1 in
                s3://*) "$S3TOOL" ls "$BUCKET" "${1#s3://$BUCKET/}/" 2>/dev/null ;;
                esac
                "$S3TOOL" uploads "$BUCKET" 2>/dev/null || true
        } >"$2"
}

# ms COMMAND...: runs it, its wall time in milliseconds in $took.
ms() {
        local start rc=0
        start=$(date +%s%N)
        "$@" || rc=$?
        took=$((($(date +%s%N) - start) / 1000000))
        return $rc
}

fifty_jobs() { # STORAGE_URL
        local url=$1 i k ids=$T_TMP/ids start end
        new_home
        export HOIST_STORAGE=$url HOIST_CONTAINER_ENGINE=none
        write_jobs "$T_TMP/jobs"
        : >"$ids"
        for ((i = 0; i < NJOBS; i++)); do
                k=$((i % 5))
                echo "$k $(hoist submit -q "$T_TMP/jobs/$k/job.yaml")" >>"$ids"
        done
        wait_for 300 all_finished "$ids"
        # staged input copies are gone as each job ends, looked at or not
        left=$(find "$HOIST_HOME" -path '*/input/*' -print -quit)
        [ -z "$left" ] || fail "staged input copies left: $left"
        [ -z "$(ls "$HOIST_HOME/tmp")" ] || fail "tmp/ not empty: $(ls "$HOIST_HOME/tmp")"
        hoist list -o json | python3 -c '
import json, sys
bad = [j["id"] for j in json.load(sys.stdin) if j["state"] != "succeeded"]
sys.exit("not succeeded: %s" % bad if bad else 0)'
        # every run directory of a finished job: no work copies once released
        [ -z "$(find "$HOIST_HOME/run" -name work)" ] || fail "work dirs left after hoist list"

        # rm: every job of sets 0 and 1 (their blobs are then unused), one of set 2
        hoist rm $(awk '$1 <= 1 {print $2}' "$ids") "$(awk '$1 == 2 {print $2; exit}' "$ids")" \
                >"$T_TMP/rm.out"
        [ "$(grep -c '^removed job ' "$T_TMP/rm.out")" = "$NRM" ] || fail "rm: $(cat "$T_TMP/rm.out")"

        # a submit killed while it packages its input leaves scratch files
        mkdir -p "$T_TMP/big/data"
        truncate -s 400M "$T_TMP/big/data/big.bin"
        sed 's/gc-0/gc-big/' "$T_TMP/jobs/0/job.yaml" >"$T_TMP/big/job.yaml"
        # (not through hoist(): $! must be the submit itself)
        "$HOIST_BIN/hoist" submit -q "$T_TMP/big/job.yaml" >/dev/null 2>&1 &
        pid=$!
        wait_for 60 compgen -G "$HOIST_HOME/tmp/input-train-$pid.tar.tmp.*"
        kill -KILL "$pid"
        wait "$pid" || true
        [ -n "$(ls "$HOIST_HOME/tmp")" ] || fail "the killed submit left nothing to collect"
        # a write that never finished: a multipart upload, a file:// temporary file
        case $url in
        s3://*)
                stale="unfinished upload of 'blobs/sha256/stale'"
                "$AWS" --endpoint-url "$AWS_ENDPOINT_URL" s3api create-multipart-upload \
                        --bucket "$BUCKET" --key "${url#s3://$BUCKET/}/blobs/sha256/stale" >/dev/null
                [ -n "$("$S3TOOL" uploads "$BUCKET")" ] || fail "no upload to abort"
                ;;
        file://*)
                stale="unfinished write 'blobs/sha256/stale.tmp.AbC123'"
                echo partial >"${url#file://}/blobs/sha256/stale.tmp.AbC123"
                ;;
        esac
        # --dry-run lists and removes nothing
        snapshot "$url" "$T_TMP/before"
        hoist gc --dry-run --min-age 0 >"$T_TMP/dry.out"
        snapshot "$url" "$T_TMP/after"
        diff "$T_TMP/before" "$T_TMP/after" || fail "--dry-run changed something"
        grep -q '^would remove tmp/input-train-' "$T_TMP/dry.out" || fail "dry run: $(cat "$T_TMP/dry.out")"
        grep -q "^would remove blob 'blobs/sha256/" "$T_TMP/dry.out" || fail "dry run lists no blob"
        grep -q '^gc (dry run): would remove 0 jobs, .* 2 blobs: .* would be freed$' "$T_TMP/dry.out" ||
                fail "dry run summary: $(tail -1 "$T_TMP/dry.out")"

        # the default keeps what is younger than an hour: the fresh blobs and upload
        ms hoist gc >"$T_TMP/gc1.out"
        grep -q "^gc: removed 0 jobs, $((NJOBS - NRM)) run directories, [1-9][0-9]* scratch files\?, 0 unfinished uploads, 0 blobs: " \
                "$T_TMP/gc1.out" || fail "first gc: $(tail -1 "$T_TMP/gc1.out")"
        t1=$took
        grep -q ' 0 blobs' "$T_TMP/gc1.out" || fail "fresh blobs removed: $(cat "$T_TMP/gc1.out")"
        grep -q ' 0 unfinished uploads' "$T_TMP/gc1.out" || fail "a fresh upload was aborted"

        ms hoist gc --min-age 0 >"$T_TMP/gc.out"
        t2=$took
        grep -q "^removed $stale" "$T_TMP/gc.out" || fail "stale write not removed: $(cat "$T_TMP/gc.out")"
        [ -z "$("$S3TOOL" uploads "$BUCKET")" ] || fail "uploads left: $("$S3TOOL" uploads "$BUCKET")"
        sizes=$(check_sizes "$url") || fail "sizes"
        note "$url: $NJOBS jobs, 'hoist rm' of $NRM, then 'hoist gc': $t1 ms ($(tail -1 "$T_TMP/gc1.out"))"
        note "  then 'hoist gc --min-age 0': $t2 ms ($(tail -1 "$T_TMP/gc.out"));" \
                "left (bytes actual, expected, live blobs): $sizes"
        # what remains still works
        id=$(awk '$1 == 4 {print $2; exit}' "$ids")
        hoist logs "$id" | grep_q 'finished: succeeded' || fail "no log for $id after gc"
        hoist results "$id" "$T_TMP/res-${url%%:*}" >/dev/null
        # a second gc finds nothing
        hoist gc --min-age 0 >"$T_TMP/gc2.out"
        grep -q 'removed 0 jobs, 0 run directories, 0 scratch files, 0 unfinished uploads, 0 blobs' \
                "$T_TMP/gc2.out" || fail "second gc: $(cat "$T_TMP/gc2.out")"
        # --older-than removes the rest, and their blobs with them
        ms hoist gc --older-than 0s --min-age 0 >"$T_TMP/gc3.out"
        note "  then 'hoist gc --older-than 0s --min-age 0': $took ms ($(tail -1 "$T_TMP/gc3.out"))"
        grep -q "^gc: removed $((NJOBS - NRM)) jobs, " "$T_TMP/gc3.out" || fail "$(tail -1 "$T_TMP/gc3.out")"
        [ "$(hoist list -o json)" = "[]" ] || fail "jobs left: $(hoist list)"
        check_sizes "$url" >/dev/null || fail "sizes after --older-than"
}

t_fifty_jobs_file() { fifty_jobs "file://$T_TMP/file-storage"; }
t_fifty_jobs_s3() { fifty_jobs "s3://$BUCKET/gc"; }

state_is() { [ "$(job_field "$1" state)" = "$2" ]; }
dead() { ! pid_alive "$1"; }

t_rm_running_and_unknown() {
        local nap=$((100000 + RANDOM))
        new_home
        export HOIST_CONTAINER_ENGINE=none
        mkdir -p "$T_TMP/r"
        cat >"$T_TMP/r/job.yaml" <<YAML
name: sleeper
runtime: process
command: ["sh", "-c", "echo started; exec sleep $nap"]
limits:
  stop_grace: 5s
YAML
        sed "s/exec sleep $nap/true/" "$T_TMP/r/job.yaml" >"$T_TMP/r/done.yaml"
        id=$(hoist submit -q "$T_TMP/r/job.yaml")
        done_id=$(hoist submit -q "$T_TMP/r/done.yaml")
        wait_for 30 grep -q started "$HOIST_HOME/storage/jobs/$id/logs/main.log"
        pid=$(cut -d' ' -f1 "$HOIST_HOME/run/$id/pid")
        pid_alive "$pid" || fail "entrypoint $pid not running"
        if hoist rm "$id" 2>"$T_TMP/rm.err"; then fail "removed a running job"; fi
        grep -q "job $id is running: stop it first ('hoist cancel $id'), or remove it with 'hoist rm --force'" \
                "$T_TMP/rm.err" || fail "$(cat "$T_TMP/rm.err")"
        state_is "$id" running || fail "the refused rm changed the job"
        [ -f "$HOIST_HOME/storage/jobs/$id/job.json" ] || fail "the refused rm removed objects"
        hoist rm --force "$id" >"$T_TMP/rmf.out" || fail "rm --force failed"
        grep -q "^removed job $id " "$T_TMP/rmf.out" || fail "$(cat "$T_TMP/rmf.out")"
        wait_for 20 dead "$pid" || fail "entrypoint $pid still runs"
        [ -z "$(pgrep -fx "sleep $nap")" ] || fail "the job's command still runs"
        [ ! -e "$HOIST_HOME/storage/jobs/$id" ] || fail "its objects are left"
        [ ! -e "$HOIST_HOME/run/$id" ] || fail "its run directory is left"
        # an unknown id is reported, the others removed all the same, exit 4
        wait_for 30 state_is "$done_id" succeeded
        rc=0
        hoist rm j-nosuchjob "$done_id" >"$T_TMP/rm2.out" 2>"$T_TMP/rm2.err" || rc=$?
        [ "$rc" = 4 ] || fail "exit $rc, not 4"
        grep -q "rm 'j-nosuchjob': no job 'j-nosuchjob'" "$T_TMP/rm2.err" || fail "$(cat "$T_TMP/rm2.err")"
        grep -q "^removed job $done_id " "$T_TMP/rm2.out" || fail "the known job was not removed"
        [ "$(hoist list -o json)" = "[]" ] || fail "jobs left: $(hoist list)"
        hoist rm --help | grep_q -- '--force'
        hoist gc --help | grep_q -- '--dry-run'
        hoist --help | grep_q '^  gc '
}

serve_endpoint() { sed -n 's/.*"endpoint": *"\([^"]*\)".*/\1/p' "$HOIST_HOME/serve/serve.json"; }
owner_field() { sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" "$HOIST_HOME/serve/owner.json"; }
# COMMAND... with the built-in endpoint's owner key and address.
as_owner() {
        AWS_ACCESS_KEY_ID=$(owner_field access_key) AWS_SECRET_ACCESS_KEY=$(owner_field secret_key) \
                AWS_ENDPOINT_URL=$(serve_endpoint) "$@"
}

# The default storage, hoist's own S3 endpoint, lists and aborts uploads too.
t_builtin_endpoint() {
        new_home
        unset HOIST_STORAGE
        export HOIST_CONTAINER_ENGINE=none
        write_jobs "$T_TMP/b"
        a=$(hoist submit -q "$T_TMP/b/0/job.yaml")
        b=$(hoist submit -q "$T_TMP/b/1/job.yaml")
        wait_for 60 state_is "$a" succeeded
        wait_for 60 state_is "$b" succeeded
        hoist rm "$a" >/dev/null
        as_owner "$AWS" --endpoint-url "$(serve_endpoint)" s3api create-multipart-upload \
                --bucket hoist --key blobs/sha256/stale >/dev/null
        [ -n "$(as_owner "$S3TOOL" uploads hoist)" ] || fail "no upload to abort"
        hoist gc --min-age 0 >"$T_TMP/b.out"
        grep -q "^removed unfinished upload of 'blobs/sha256/stale' in 'hoist://builtin'" "$T_TMP/b.out" ||
                fail "$(cat "$T_TMP/b.out")"
        grep -q ", 1 unfinished upload, 1 blob: " "$T_TMP/b.out" || fail "$(tail -1 "$T_TMP/b.out")"
        [ -z "$(as_owner "$S3TOOL" uploads hoist)" ] || fail "uploads left: $(as_owner "$S3TOOL" uploads hoist)"
        as_owner "$S3TOOL" ls hoist blobs/ >"$T_TMP/b.blobs" 2>/dev/null
        [ "$(wc -l <"$T_TMP/b.blobs")" = 1 ] || fail "blobs left: $(cat "$T_TMP/b.blobs")"
        as_owner "$S3TOOL" ls hoist "jobs/$a/" >"$T_TMP/b.objs" 2>/dev/null
        [ ! -s "$T_TMP/b.objs" ] || fail "objects of $a left: $(cat "$T_TMP/b.objs")"
        # with no job left, gc still sweeps the built-in endpoint it used
        hoist rm "$b" >/dev/null
        hoist gc --min-age 0 >"$T_TMP/b2.out"
        grep -q ", 1 blob: " "$T_TMP/b2.out" || fail "$(tail -1 "$T_TMP/b2.out")"
}

# A container job: once it has ended, its container goes with the anonymous
# volume its image declares (podman rm -f -v), and its staged inputs with it.
t_container_released() {
        local img=localhost/hoist-it-gcvol:$$ base=localhost/hoist-it-gc:$$
        new_home
        unset HOIST_CONTAINER_ENGINE
        "$T_ROOT/tests/peers/podman-image.sh" "$base" "$HOIST_BUILD/hoist-entrypoint-bundle.tar" \
                "$HOIST_BIN/hoist-quickstart" >/dev/null
        t_defer "podman rmi -f $img $base >/dev/null 2>&1"
        printf 'FROM %s\nVOLUME /scratch\n' "$base" | podman build -q -t "$img" -f - "$T_TMP" >/dev/null
        mkdir -p "$T_TMP/c/data"
        echo hello >"$T_TMP/c/data/a.txt"
        cat >"$T_TMP/c/job.yaml" <<YAML
name: gc-container
image: $img
command: ["sh", "-c", "cat \$HOIST_INPUT_TRAIN/a.txt > \$HOIST_MODEL_DIR/m.txt; echo x > /scratch/f"]
inputs:
  train: data/
YAML
        id=$(hoist submit -q "$T_TMP/c/job.yaml")
        t_defer "podman rm -f -v hoist-$id >/dev/null 2>&1"
        wait_for 120 test -e "$HOIST_HOME/storage/jobs/$id/result.json"
        wait_for 60 sh -c "[ \"\$(podman inspect --format '{{.State.Status}}' hoist-$id)\" = exited ]"
        vol=$(podman inspect --format '{{range .Mounts}}{{if eq .Destination "/scratch"}}{{.Name}}{{end}}{{end}}' "hoist-$id")
        [ -n "$vol" ] || fail "no anonymous volume on hoist-$id"
        podman volume exists "$vol" || fail "volume $vol missing while the container is there"
        # the staged copy inside the stopped container is gone already
        podman cp "hoist-$id:/hoist/input" "$T_TMP/c/input" 2>/dev/null && fail "/hoist/input left in the container"
        state_is "$id" succeeded || fail "state: $(job_field "$id" state)"
        ! podman container exists "hoist-$id" || fail "container hoist-$id left after the job ended"
        ! podman volume exists "$vol" || fail "volume $vol left"
}

if ! setup >"$T_TMP/setup.log" 2>&1; then
        echo "not ok - setup: start radosgw"
        sed 's/^/    # /' "$T_TMP/setup.log" | tail -30
        T_FAILED=$((T_FAILED + 1))
        t_finish
        exit 1
fi
t_run "rm refuses a running job without --force, stops and removes it with; unknown ids exit 4" \
        t_rm_running_and_unknown
t_run "$NJOBS jobs on file storage: no staged copies; rm, dry run, gc back to store plus live blobs" \
        t_fifty_jobs_file
t_run "$NJOBS jobs on S3 (radosgw): the same, and a stale multipart upload aborted" t_fifty_jobs_s3
t_run "the built-in endpoint: a stale upload aborted, an unused blob removed" t_builtin_endpoint
t_run "a container job that ended: container, its anonymous volume and staged inputs removed" \
        t_container_released
[ ! -s "$T_TMP/notes" ] || sed 's/^/# /' "$T_TMP/notes"
t_finish
