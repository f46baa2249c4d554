#!/usr/bin/env bash
# The entrypoint's side of incremental sync (entrypoint/stage_tree.c): tree
# inputs staged straight into their channel from `hoist serve`'s S3 endpoint
# (packs cut into ranges, a large file read in parallel parts), every file's
# digest checked as it is written.  A stored byte flipped is refused and
# named; a pack index that overlaps itself is refused; a node that still
# holds the files (the attempt before was killed) fetches nothing; old
# archive inputs still run, within their extract limit; and 20,000 small
# files staged end to end by the entrypoint in a podman container.
# The manifests come from tests/integration/tree_fixture.py, written from
# the documented format, not from hoist's own writer.
. "$(dirname "$0")/lib.sh"

E=$HOIST_BIN/hoist-entrypoint
FIXTURE=$T_ROOT/tests/integration/tree_fixture.py
S3TOOL=$HOIST_BUILD/tests/s3tool
BUNDLE_TAR=$HOIST_BUILD/hoist-entrypoint-bundle.tar
[ -x "$S3TOOL" ] || { echo "not ok - no $S3TOOL (run 'make integration')"; exit 1; }

die() { echo "$*" >&2; exit 1; }
. "$T_ROOT/bench/lib/serve.sh"
t_defer bench_serve_stop

serve_up() {
        new_home
        bench_serve_start "$HOIST_BIN/hoist" "$T_TMP/srv"
        unset AWS_PROFILE AWS_SESSION_TOKEN AWS_CA_BUNDLE
        export AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_REGION=us-east-1
        export AWS_ENDPOINT_URL=$EP AWS_EC2_METADATA_DISABLED=true
        export AWS_CONFIG_FILE=$T_TMP/aws.cfg AWS_SHARED_CREDENTIALS_FILE=/dev/null
        printf '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n' >"$AWS_CONFIG_FILE"
}
t_setup "hoist serve" serve_up

# publish SRC NAME [FIXTURE-ARGS...]: the tree of SRC under prefix NAME in
# the bucket; sets M (the manifest's digest) and MSIZE.
publish() {
        local src=$1 name=$2 out
        shift 2
        rm -rf "$T_TMP/pub-$name"
        out=$(python3 "$FIXTURE" "$src" "$T_TMP/pub-$name" "$@") || return 1
        M=${out% *}
        MSIZE=${out#* }
        for f in "$T_TMP/pub-$name"/blobs/sha256/*; do
                "$S3TOOL" put hoist "$name/blobs/sha256/${f##*/}" "$f" >/dev/null || return 1
        done
}

# job NAME CHANNEL-JSON COMMAND-JSON: job.json at $T_TMP/NAME.json on s3://hoist/NAME
job() {
        cat >"$T_TMP/$1.json" <<EOF
{"version": "hoist/v1", "id": "$1", "command": $3, "inputs": [$2],
 "storage": {"endpoint": "$EP", "region": "us-east-1", "bucket": "hoist", "prefix": "$1"},
 "attempt": 1}
EOF
}
tree_input() { echo "{\"channel\": \"data\", \"source\": \"blobs/sha256/$M\", \"sha256\": \"$M\", \"mode\": \"tree\", \"size\": $MSIZE}"; }
run() { # NAME WORKDIR: the entrypoint's exit code; its log in $T_TMP/NAME.log
        env HOIST_JOB_FILE="$T_TMP/$1.json" HOIST_WORKDIR="$2" HOIST_NODE=main HOIST_LOG=info \
                "$E" train >"$T_TMP/$1.log" 2>&1
        echo $?
}

make_tree() { # DIR: packed small files, a duplicate, an empty file, a 20 MiB file, a symlink
        mkdir -p "$1/a/b" "$1/ro"
        for i in $(seq 1 50); do echo "file $i" >"$1/a/f$i.txt"; done
        head -c 300000 /dev/urandom >"$1/a/b/mid.bin"
        head -c 20971520 /dev/urandom >"$1/big.bin"
        cp "$1/a/f1.txt" "$1/a/b/same-as-f1.txt"
        : >"$1/empty"
        echo x >"$1/ro/x"
        chmod 0555 "$1/ro"
        chmod 0600 "$1/a/f2.txt"
        ln -s a/f3.txt "$1/link"
}

# The command checks the staged channel against the source, in place.
same_cmd() { echo "[\"sh\", \"-c\", \"diff -r --no-dereference $1 \$HOIST_INPUT_DATA && [ \\\"\$(stat -c %a \$HOIST_INPUT_DATA/a/f2.txt)\\\" = 600 ] && [ \\\"\$(readlink \$HOIST_INPUT_DATA/link)\\\" = a/f3.txt ]\"]"; }

t_tree_staged() {
        make_tree "$T_TMP/src"
        publish "$T_TMP/src" tree1
        job tree1 "$(tree_input)" "$(same_cmd "$T_TMP/src")"
        [ "$(run tree1 "$T_TMP/w1")" = 0 ] || { cat "$T_TMP/tree1.log"; fail "staging or the diff failed"; }
        grep -q "input 'data': tree of 55 files" "$T_TMP/tree1.log" || { cat "$T_TMP/tree1.log"; fail "no summary"; }
        # 55 files: one has the content of another and one is empty, so 53 reads of content
        grep -q "53 fetched" "$T_TMP/tree1.log" || fail "the duplicate was fetched twice: $(grep tree "$T_TMP/tree1.log")"
}

t_digest_mismatch() {
        publish "$T_TMP/src" bad1 --corrupt-file a/f7.txt
        job bad1 "$(tree_input)" '["true"]'
        [ "$(run bad1 "$T_TMP/wb1")" != 0 ] || fail "a flipped byte in a pack was staged"
        want=$(sha256sum "$T_TMP/src/a/f7.txt" | cut -d' ' -f1)
        grep -q "input 'data': 'a/f7.txt': sha256 mismatch: the manifest says $want, the bytes fetched have [0-9a-f]\{64\}; refusing" \
                "$T_TMP/bad1.log" || { cat "$T_TMP/bad1.log"; fail "the mismatch is not named"; }
        [ ! -e "$T_TMP/wb1/input/data/a/f7.txt" ] || fail "the bad file was left under its name"
        publish "$T_TMP/src" bad2 --corrupt-file big.bin
        job bad2 "$(tree_input)" '["true"]'
        [ "$(run bad2 "$T_TMP/wb2")" != 0 ] || fail "a flipped byte in a large blob was staged"
        grep -q "'big.bin': sha256 mismatch" "$T_TMP/bad2.log" || { cat "$T_TMP/bad2.log"; fail "big.bin not named"; }
        [ ! -e "$T_TMP/wb2/input/data/big.bin" ] || fail "the bad big file was left under its name"
}

t_corrupt_index() {
        publish "$T_TMP/src" idx --corrupt-index
        job idx "$(tree_input)" '["true"]'
        [ "$(run idx "$T_TMP/wi")" != 0 ] || fail "an overlapping pack index was accepted"
        grep -q "input 'data': 'blobs/sha256/$M': tree manifest: pack [0-9a-f]*: file [0-9a-f]* at offset [0-9]* overlaps the file before it (corrupt pack index)" "$T_TMP/idx.log" || { cat "$T_TMP/idx.log"; fail "no clear error"; }
        [ -z "$(find "$T_TMP/wi/input/data" -type f 2>/dev/null)" ] || fail "files were staged from a bad manifest"
}

# killed_attempt NAME WORKDIR CHECK-COMMAND: runs the job with a command that
# runs CHECK-COMMAND, records its status in $T_TMP/NAME.ok, then waits; the
# entrypoint and the command are then SIGKILLed, as a node losing its
# container would: the staged inputs stay in WORKDIR.
killed_attempt() {
        local name=$1 wd=$2 check=$3 pid
        rm -f "$T_TMP/$name.ok" "$T_TMP/$name.pid"
        job "$name" "$(tree_input)" "[\"sh\", \"-c\", \"echo \$\$ >$T_TMP/$name.pid; if $check; then echo 0; else echo 1; fi >$T_TMP/$name.ok; exec sleep 600\"]"
        env HOIST_JOB_FILE="$T_TMP/$name.json" HOIST_WORKDIR="$wd" HOIST_NODE=main HOIST_LOG=info \
                "$E" train >"$T_TMP/$name.log" 2>&1 &
        pid=$!
        wait_for 120 test -s "$T_TMP/$name.ok" || { kill -KILL $pid; cat "$T_TMP/$name.log"; fail "never ran"; }
        kill -KILL $pid
        kill -KILL "$(cat "$T_TMP/$name.pid")"
        wait $pid 2>/dev/null || true
        [ "$(cat "$T_TMP/$name.ok")" = 0 ] || { cat "$T_TMP/$name.log"; fail "$name: the staged tree is not the source"; }
}
same_check() { echo "diff -r --no-dereference $1 \$HOIST_INPUT_DATA"; }

t_node_keeps_files() {
        publish "$T_TMP/src" keep
        killed_attempt keep "$T_TMP/wk" "$(same_check "$T_TMP/src")"
        grep -q "53 fetched" "$T_TMP/keep.log" || { grep tree "$T_TMP/keep.log"; fail "first attempt"; }
        [ "$(stat -c %a "$T_TMP/wk/.hoist")" = 700 ] || fail "the stager's records are not in a 0700 .hoist"
        killed_attempt keep "$T_TMP/wk" "$(same_check "$T_TMP/src")"
        grep -q "0 fetched (0 bytes in 0 reads), 55 already here" "$T_TMP/keep.log" ||
                { grep tree "$T_TMP/keep.log"; fail "fetched again what the node holds"; }
        # A record from an earlier boot is not trusted blindly: every file is
        # read and hashed again, and those that match are kept.
        local rec=$T_TMP/wk/.hoist/input-data.tree
        # (python, not jq: jq 1.6 rounds the nanosecond times to doubles)
        python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d["boot_id"] = "0" * 32; json.dump(d, open(sys.argv[1], "w"))' "$rec"
        killed_attempt keep "$T_TMP/wk" "$(same_check "$T_TMP/src")"
        grep -q "0 fetched (0 bytes in 0 reads), 55 already here" "$T_TMP/keep.log" ||
                { grep tree "$T_TMP/keep.log"; fail "after a reboot, files that hash right were fetched again"; }
        # One file changed and one added since: only those travel.
        cp -r "$T_TMP/src" "$T_TMP/src2"
        chmod -R u+w "$T_TMP/src2"
        echo changed >>"$T_TMP/src2/a/f9.txt"
        echo new >"$T_TMP/src2/a/new.txt"
        chmod 0555 "$T_TMP/src2/ro"
        publish "$T_TMP/src2" keep
        killed_attempt keep "$T_TMP/wk" "$(same_check "$T_TMP/src2")"
        grep -q "2 fetched .*, 54 already here" "$T_TMP/keep.log" ||
                { grep tree "$T_TMP/keep.log"; fail "more than the changed files were fetched"; }
        # A file changed on the node (size kept, mtime put back) is caught by its ctime.
        local f=$T_TMP/wk/input/data/a/f5.txt
        local m
        m=$(stat -c %y "$f")
        printf 'FILE 5\n' >"$f"
        touch -d "$m" "$f"
        killed_attempt keep "$T_TMP/wk" "$(same_check "$T_TMP/src2")"
        grep -q "1 fetched .*, 55 already here" "$T_TMP/keep.log" ||
                { grep tree "$T_TMP/keep.log"; fail "a file changed on the node was not fetched again"; }
}

t_archive_inputs() {
        mkdir -p "$T_TMP/arc/sub"
        echo hello >"$T_TMP/arc/sub/readme.txt"
        tar -C "$T_TMP/arc" -cf "$T_TMP/old.tar" sub
        local sha
        sha=$(sha256sum "$T_TMP/old.tar" | cut -d' ' -f1)
        "$S3TOOL" put hoist "arc/blobs/sha256/$sha" "$T_TMP/old.tar" >/dev/null
        # job.json as runners before tree inputs wrote it
        job arc "{\"channel\": \"data\", \"source\": \"blobs/sha256/$sha\", \"sha256\": \"$sha\", \"mode\": \"archive\", \"size\": $(stat -c %s "$T_TMP/old.tar")}" \
                '["sh", "-c", "grep -qx hello $HOIST_INPUT_DATA/sub/readme.txt"]'
        [ "$(run arc "$T_TMP/wa")" = 0 ] || { cat "$T_TMP/arc.log"; fail "an old archive input did not stage"; }
        # 80 MiB of zeros in a tar.gz of about 80 KiB: over max(100 x size, 64 MiB)
        mkdir -p "$T_TMP/bomb"
        head -c 83886080 /dev/zero >"$T_TMP/bomb/zeros"
        tar -C "$T_TMP/bomb" -czf "$T_TMP/bomb.tgz" zeros
        sha=$(sha256sum "$T_TMP/bomb.tgz" | cut -d' ' -f1)
        "$S3TOOL" put hoist "bomb/blobs/sha256/$sha" "$T_TMP/bomb.tgz" >/dev/null
        local in="{\"channel\": \"data\", \"source\": \"blobs/sha256/$sha\", \"sha256\": \"$sha\", \"mode\": \"archive\", \"size\": $(stat -c %s "$T_TMP/bomb.tgz")"
        job bomb "$in}" '["true"]'
        [ "$(run bomb "$T_TMP/wz")" != 0 ] || fail "an archive past its limit was extracted"
        grep -q "expands to more than 67108864 bytes .*raise it with \`extract_limit:\`" "$T_TMP/bomb.log" ||
                { cat "$T_TMP/bomb.log"; fail "the limit error does not say how to raise it"; }
        [ -z "$(ls -A "$T_TMP/wz/input/data" 2>/dev/null)" ] || fail "a refused archive left files"
        job bomb "$in, \"extract_limit\": 100000000}" '["sh", "-c", "[ $(stat -c %s $HOIST_INPUT_DATA/zeros) = 83886080 ]"]'
        [ "$(run bomb "$T_TMP/wz2")" = 0 ] || { cat "$T_TMP/bomb.log"; fail "a raised extract_limit was not honoured"; }
}

t_podman_20000() {
        command -v podman >/dev/null || fail "podman is not installed (scripts/deps.sh installs it)"
        [ -f "$BUNDLE_TAR" ] || fail "no $BUNDLE_TAR (run 'make bundle')"
        local image=localhost/hoist-it-syncstage:$$ src=$T_TMP/many
        mkdir -p "$src"
        # 20,000 files of 10 KiB in 100 directories, from one random stream
        python3 - "$src" <<'PY'
import os, sys
root = sys.argv[1]
data = os.urandom(10240 * 20000)
for d in range(100):
    os.makedirs(f"{root}/d{d:03}")
    for i in range(200):
        k = d * 200 + i
        with open(f"{root}/d{d:03}/f{i:03}.bin", "wb") as f:
            f.write(data[k * 10240:(k + 1) * 10240])
PY
        (cd "$src" && find . -type f | sort | xargs sha256sum) >"$T_TMP/many.sums"
        publish "$src" many
        "$T_ROOT/tests/peers/podman-image.sh" "$image" "$BUNDLE_TAR" "$HOIST_BIN/hoist-quickstart" >/dev/null ||
                fail "build the test image"
        t_defer "podman rmi -f $image >/dev/null 2>&1"
        job many "$(tree_input)" '["sh", "-c", "cd $HOIST_INPUT_DATA && find . -type f | sort | xargs sha256sum > /out/sums"]'
        mkdir -p "$T_TMP/many-out"
        podman run --rm --network=host -v "$T_TMP/many.json:/job.json:ro" -v "$T_TMP/many-out:/out" \
                -e HOIST_JOB_FILE=/job.json -e HOIST_NODE=main -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY \
                -e AWS_REGION "$image" train >"$T_TMP/many.log" 2>&1 || { tail -20 "$T_TMP/many.log"; fail "podman run failed"; }
        cmp "$T_TMP/many.sums" "$T_TMP/many-out/sums" || fail "the staged 20,000 files differ from the source"
        grep -q "tree of 20000 files" "$T_TMP/many.log" || fail "no summary: $(tail -5 "$T_TMP/many.log")"
}

t_run "tree input: packs, parts, modes, symlinks and duplicates staged in place" t_tree_staged
t_run "digest mismatch in a pack and in a large blob: refused, named, removed" t_digest_mismatch
t_run "a pack index that overlaps itself: refused before anything is staged" t_corrupt_index
t_run "a node that holds the files fetches nothing; one change fetches one file" t_node_keeps_files
t_run "old archive inputs still stage; extract_limit enforced and raisable" t_archive_inputs
t_run "20,000 files of 10 KiB end to end in a podman container" t_podman_20000
t_finish
