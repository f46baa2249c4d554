#!/usr/bin/env bash
# Directory inputs as tree manifests (docs/job.md "inputs", docs/jobspec.md
# "Tree manifests") on file:// storage, checked in the storage itself: small
# files in packs whose index points at their bytes, large files as blobs of
# their own, identical files stored once; the stat cache (an unchanged
# re-submit reads and sends nothing; a file rewritten with its mtime restored
# is caught by ctime; --rehash reads everything); .gitignore/.hoistignore
# and the sensitive list as for tars; extract: true; HOIST_TREE=0 keeps the
# old one-tar path.
. "$(dirname "$0")/lib.sh"
export HOIST_TREE=1

# job_json ID: the path of job ID's job.json in the file:// storage.
job_json() { echo "$HOIST_STORAGE" | sed "s|^file://||; s|\$|/jobs/$1/job.json|"; }
submit_json() { hoist submit -o json "$@" 2>"$T_TMP/submit.err"; }
field() { python3 -c "import json,sys; v=json.load(sys.stdin); print(eval('v' + sys.argv[1]))" "$1"; }

# check_tree ID CHANNEL: the channel's manifest, packs and blobs in storage
# agree with each other and with the files (python does the reading); prints
# the manifest's paths.
check_tree() {
        python3 - "$(job_json "$1")" "$2" "${HOIST_STORAGE#file://}" <<'PY'
import hashlib, json, os, sys
spec = json.load(open(sys.argv[1]))
root = sys.argv[3]
inp = [i for i in spec["inputs"] if i["channel"] == sys.argv[2]][0]
assert inp["mode"] == "tree", inp
raw = open(os.path.join(root, inp["source"]), "rb").read()
assert hashlib.sha256(raw).hexdigest() == inp["sha256"], "manifest digest"
m = json.loads(raw)
assert raw == json.dumps(m, sort_keys=True, separators=(",", ":")).encode(), "not canonical"
assert m["format"] == "hoist.tree/v1"
paths = [e["path"] for e in m["entries"]]
assert paths == sorted(paths, key=lambda p: p.encode()), "entries unsorted"
packed = {}
for p in m["packs"]:
    data = open(os.path.join(root, "blobs/sha256", p["sha256"]), "rb").read()
    assert hashlib.sha256(data).hexdigest() == p["sha256"] and len(data) == p["size"]
    for d, off, size in p["files"]:
        assert hashlib.sha256(data[off:off + size]).hexdigest() == d, "pack index"
        packed[d] = size
total = 0
for e in m["entries"]:
    if e["type"] != "file":
        continue
    total += e["size"]
    if e["sha256"] in packed:
        assert e["size"] < 256 * 1024
        continue
    blob = os.path.join(root, "blobs/sha256", e["sha256"])
    assert os.path.getsize(blob) == e["size"], "blob " + e["path"]
assert total == inp["size"], "size is the files' sum"
for e in m["entries"]:
    print(e["type"], e["path"], e.get("target", ""))
PY
}

make_data() { # DIR
        mkdir -p "$1/data/sub" "$1/data/skipped"
        for i in $(seq 1 40); do head -c 10240 /dev/urandom >"$1/data/s$i.bin"; done
        head -c 600000 /dev/urandom >"$1/data/big1.bin"
        head -c 700000 /dev/urandom >"$1/data/big2.bin"
        cp "$1/data/s1.bin" "$1/data/sub/same-as-s1.bin"
        cp "$1/data/big1.bin" "$1/data/sub/same-as-big1.bin"
        ln -s ../s2.bin "$1/data/sub/link"
        echo 'TOKEN=x' >"$1/data/.env"
        echo 'skipped/' >"$1/data/.hoistignore"
        echo 'x' >"$1/data/skipped/x.txt"
        printf 'name: sync\nruntime: process\ncommand: ["true"]\ninputs:\n  train: data\n' >"$1/job.yaml"
}

t_packs_and_dedupe() {
        new_home
        export HOIST_CONTAINER_ENGINE=none
        make_data "$T_TMP/p"
        submit_json "$T_TMP/p/job.yaml" >"$T_TMP/p.json" || { cat "$T_TMP/submit.err"; fail "submit"; }
        id=$(field "['id']" <"$T_TMP/p.json")
        check_tree "$id" train >"$T_TMP/p.entries" || fail "storage disagrees with the manifest"
        grep -q "^symlink sub/link ../s2.bin$" "$T_TMP/p.entries" || fail "the link is not kept as a link"
        ! grep -q "skipped\|\.env" "$T_TMP/p.entries" || fail ".hoistignore or .env not honoured: $(cat "$T_TMP/p.entries")"
        grep -q "^file .hoistignore" "$T_TMP/p.entries" || fail ".hoistignore itself is data"
        grep -q "excluded as sensitive: .env" "$T_TMP/submit.err" || fail "the summary does not name .env"
        # 40 small files + 1 copy in one pack, two large blobs (big1 once), one manifest
        blobs=$(find "${HOIST_STORAGE#file://}/blobs" -type f | wc -l)
        [ "$blobs" -eq 4 ] || fail "expected 4 blobs (pack, 2 large, manifest), got $blobs"
        [ "$(field "['upload']['files_new']" <"$T_TMP/p.json")" = 45 ] || fail "files_new: $(cat "$T_TMP/p.json")"
        # a second channel with the same files sends only its manifest
        printf 'name: sync\nruntime: process\ncommand: ["true"]\ninputs:\n  train: data\n  again: data2\n' >"$T_TMP/p/job.yaml"
        cp -a "$T_TMP/p/data" "$T_TMP/p/data2"
        echo 'one more' >"$T_TMP/p/data2/extra.txt"
        submit_json "$T_TMP/p/job.yaml" >"$T_TMP/p2.json" || { cat "$T_TMP/submit.err"; fail "submit 2"; }
        id2=$(field "['id']" <"$T_TMP/p2.json")
        check_tree "$id2" again >/dev/null || fail "second channel"
        sent=$(field "['upload']['bytes_sent']" <"$T_TMP/p2.json")
        [ "$sent" -lt 20000 ] || fail "a copy of the dataset sent $sent bytes"
        # gc keeps what the manifests name, though no job.json names it
        hoist gc --min-age 0s >"$T_TMP/gc.out" 2>&1 || { cat "$T_TMP/gc.out"; fail "gc"; }
        check_tree "$id" train >/dev/null || fail "gc removed part of a tree: $(cat "$T_TMP/gc.out")"
        check_tree "$id2" again >/dev/null || fail "gc removed part of a tree: $(cat "$T_TMP/gc.out")"
        # another dataset in another directory, submitted on its own: its
        # 20 small files already stored are referenced in the first tree's
        # pack; only the new one is packed and sent
        mkdir -p "$T_TMP/q/other"
        for i in $(seq 1 20); do cp "$T_TMP/p/data/s$i.bin" "$T_TMP/q/other/"; done
        head -c 5000 /dev/urandom >"$T_TMP/q/other/new.bin"
        printf 'name: sync\nruntime: process\ncommand: ["true"]\ninputs:\n  other: other\n' >"$T_TMP/q/job.yaml"
        submit_json "$T_TMP/q/job.yaml" >"$T_TMP/q.json" || { cat "$T_TMP/submit.err"; fail "submit 3"; }
        id3=$(field "['id']" <"$T_TMP/q.json")
        check_tree "$id3" other >/dev/null || fail "the other dataset's tree"
        sent=$(field "['upload']['bytes_sent']" <"$T_TMP/q.json")
        [ "$sent" -lt 20000 ] || fail "20 files stored by another dataset were sent again: $sent bytes"
}

t_stat_cache() {
        new_home
        export HOIST_CONTAINER_ENGINE=none
        make_data "$T_TMP/c"
        submit_json "$T_TMP/c/job.yaml" >/dev/null || { cat "$T_TMP/submit.err"; fail "submit"; }
        # unchanged: nothing read, nothing sent
        submit_json "$T_TMP/c/job.yaml" >"$T_TMP/c1.json" || fail "submit unchanged"
        [ "$(field "['upload']['files_hashed']" <"$T_TMP/c1.json")" = 0 ] || fail "re-read files: $(cat "$T_TMP/c1.json")"
        [ "$(field "['upload']['bytes_sent']" <"$T_TMP/c1.json")" = 0 ] || fail "sent bytes: $(cat "$T_TMP/c1.json")"
        [ "$(field "['upload']['files_unchanged']" <"$T_TMP/c1.json")" = 45 ] || fail "$(cat "$T_TMP/c1.json")"
        # same size, mtime put back: ctime still tells
        f=$T_TMP/c/data/big2.bin
        touch -r "$f" "$T_TMP/stamp"
        printf 'Z' | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null
        touch -r "$T_TMP/stamp" "$f"
        submit_json "$T_TMP/c/job.yaml" >"$T_TMP/c2.json" || fail "submit changed"
        [ "$(field "['upload']['files_changed']" <"$T_TMP/c2.json")" = 1 ] || fail "the change was missed: $(cat "$T_TMP/c2.json")"
        [ "$(field "['upload']['files_hashed']" <"$T_TMP/c2.json")" = 1 ] || fail "$(cat "$T_TMP/c2.json")"
        sent=$(field "['upload']['bytes_sent']" <"$T_TMP/c2.json")
        [ "$sent" -ge 700000 ] && [ "$sent" -lt 720000 ] || fail "one 700000-byte file changed, sent $sent"
        # one small file changed: a small new pack, not the old one again
        echo more >>"$T_TMP/c/data/s7.bin"
        submit_json "$T_TMP/c/job.yaml" >"$T_TMP/c3.json" || fail "submit small change"
        sent=$(field "['upload']['bytes_sent']" <"$T_TMP/c3.json")
        [ "$sent" -lt 30000 ] || fail "one 10 KiB file changed, sent $sent"
        id=$(field "['id']" <"$T_TMP/c3.json")
        check_tree "$id" train >/dev/null || fail "storage after the small change"
        # --rehash reads everything and still sends nothing new
        submit_json --rehash "$T_TMP/c/job.yaml" >"$T_TMP/c4.json" || fail "rehash"
        [ "$(field "['upload']['files_hashed']" <"$T_TMP/c4.json")" = 45 ] || fail "$(cat "$T_TMP/c4.json")"
        [ "$(field "['upload']['bytes_sent']" <"$T_TMP/c4.json")" = 0 ] || fail "$(cat "$T_TMP/c4.json")"
        # a lost cache costs a rehash and at most the small files' packs,
        # never the large blobs again
        rm -rf "$HOIST_HOME/cache"
        submit_json "$T_TMP/c/job.yaml" >"$T_TMP/c5.json" || fail "no cache"
        [ "$(field "['upload']['files_hashed']" <"$T_TMP/c5.json")" = 45 ] || fail "$(cat "$T_TMP/c5.json")"
        sent=$(field "['upload']['bytes_sent']" <"$T_TMP/c5.json")
        [ "$sent" -lt 500000 ] || fail "without a cache, sent $sent"
}

t_refusals_and_old_path() {
        new_home
        export HOIST_CONTAINER_ENGINE=none
        mkdir -p "$T_TMP/r/data"
        echo hi >"$T_TMP/r/data/a.txt"
        ln -s ../../etc/passwd "$T_TMP/r/data/out"
        printf 'name: sync\nruntime: process\ncommand: ["true"]\ninputs:\n  train: data\n' >"$T_TMP/r/job.yaml"
        ! hoist submit "$T_TMP/r/job.yaml" >/dev/null 2>"$T_TMP/r.err" || fail "an escaping link was sent"
        grep -q "symlink 'out' -> '../../etc/passwd' leads outside the directory" "$T_TMP/r.err" || fail "$(cat "$T_TMP/r.err")"
        [ ! -d "${HOIST_STORAGE#file://}/blobs" ] || [ -z "$(ls -A "${HOIST_STORAGE#file://}/blobs/sha256" 2>/dev/null)" ] || fail "something was stored"
        rm "$T_TMP/r/data/out"
        # HOIST_TREE=0: one tar per directory, as before
        HOIST_TREE=0 submit_json "$T_TMP/r/job.yaml" >"$T_TMP/r.json" || { cat "$T_TMP/submit.err"; fail "tar path"; }
        id=$(field "['id']" <"$T_TMP/r.json")
        [ "$(field "['inputs'][0]['mode']" <"$(job_json "$id")")" = archive ] || fail "not an archive"
        # extract: true on an archive file; not on a directory
        tar -czf "$T_TMP/r/d.tar.gz" -C "$T_TMP/r" data
        printf 'name: sync\nruntime: process\ncommand: ["true"]\ninputs:\n  train: {path: d.tar.gz, extract: true, extract_limit: 5GiB}\n' >"$T_TMP/r/job.yaml"
        submit_json "$T_TMP/r/job.yaml" >"$T_TMP/x.json" || { cat "$T_TMP/submit.err"; fail "extract"; }
        id=$(field "['id']" <"$T_TMP/x.json")
        [ "$(field "['inputs'][0]['mode']" <"$(job_json "$id")")" = archive ] || fail "extract: not an archive"
        [ "$(field "['inputs'][0]['extract_limit']" <"$(job_json "$id")")" = 5368709120 ] || fail "extract_limit"
        printf 'name: sync\nruntime: process\ncommand: ["true"]\ninputs:\n  train: {path: data, extract: true}\n' >"$T_TMP/r/job.yaml"
        ! hoist submit "$T_TMP/r/job.yaml" >/dev/null 2>"$T_TMP/x.err" || fail "extract on a directory"
        grep -q "extract: true takes a .tar, .tar.gz, .tgz or .zip file" "$T_TMP/x.err" || fail "$(cat "$T_TMP/x.err")"
}

t_run "a tree in storage: packs with a true index, large blobs, identical files once" t_packs_and_dedupe
t_run "stat cache: unchanged reads nothing; ctime catches a restored mtime; --rehash" t_stat_cache
t_run "escaping links refused before any byte; HOIST_TREE=0 tars; extract: true" t_refusals_and_old_path
t_finish
