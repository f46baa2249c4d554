#!/usr/bin/env bash
# The /opt/hoist entrypoint bundle works unmodified in an image with no libc
# at all: the layer is complete and reproducible, mkbundle.sh refuses what it
# cannot resolve, and in a busybox-static image the entrypoint runs, passes
# exit codes through, and runs the static quickstart trainer end to end.
# Needs `make all bundle` (HOIST_BIN, HOIST_BUILD) and podman with runc.
# lib.sh sets -uo pipefail; each case runs under set -e in t_run.
. "$(dirname "$0")/lib.sh"

BUNDLE_BIN=$HOIST_BUILD/bundle-entrypoint
BUNDLE_TAR=$HOIST_BUILD/hoist-entrypoint-bundle.tar
QS=$HOIST_BIN/hoist-quickstart
DATA=$T_ROOT/examples/quickstart/data
IMAGE=localhost/hoist-bundle-test:$$
VERSION=$(cat "$T_ROOT/VERSION")
INTERP=/opt/hoist/lib/ld-linux-x86-64.so.2

t_defer "podman rmi -f $IMAGE >/dev/null 2>&1"

prun() { podman run --rm --network=none "$@"; }

t_linked_for_bundle() {
        readelf -l "$BUNDLE_BIN" | grep_q "Requesting program interpreter: $INTERP\]" ||
                fail "interpreter is not $INTERP"
        readelf -d "$BUNDLE_BIN" | grep_q '(RPATH).*\[/opt/hoist/lib\]' || fail "no DT_RPATH /opt/hoist/lib"
        ! readelf -d "$BUNDLE_BIN" | grep_q RUNPATH || fail "RUNPATH would let LD_LIBRARY_PATH win"
}

# Every DT_NEEDED of every ELF file in the layer is in the layer: checked from
# the files themselves, not from the ld.so listing mkbundle used.
t_layer_complete() {
        local x=$T_TMP/layer f need missing=""
        mkdir -p "$x"
        tar -xf "$BUNDLE_TAR" -C "$x"
        ! tar -tf "$BUNDLE_TAR" | grep -v '^opt/hoist/' || fail "paths outside opt/hoist/"
        [ -x "$x/opt/hoist/bin/hoist-entrypoint" ] || fail "no bin/hoist-entrypoint"
        [ -f "$x$INTERP" ] && [ ! -L "$x$INTERP" ] || fail "no real file at $INTERP"
        [ -f "$x/opt/hoist/lib/libc.so.6" ] || fail "no libc.so.6"
        ! find "$x" -type l | grep_q . || fail "symlinks in the layer: $(find "$x" -type l)"
        for f in "$x/opt/hoist/bin/hoist-entrypoint" "$x"/opt/hoist/lib/*.so*; do
                for need in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
                        [ -f "$x/opt/hoist/lib/$need" ] || missing="$missing $need(for ${f##*/})"
                done
        done
        [ -z "$missing" ] || fail "missing:$missing"
        # tar metadata: root-owned, one fixed mtime, no atime/ctime records
        ! tar -tvf "$BUNDLE_TAR" --numeric-owner | awk '$2 != "0/0"' | grep_q . || fail "non-root owner"
        [ "$(tar -tvf "$BUNDLE_TAR" | awk '{print $4, $5}' | sort -u | wc -l)" -eq 1 ] || fail "mtimes vary"
        ! grep -aq 'atime=\|ctime=' "$BUNDLE_TAR" || fail "atime/ctime in pax headers"
}

t_reproducible() {
        "$T_ROOT/scripts/mkbundle.sh" "$BUNDLE_BIN" "$T_TMP/b2" "$T_TMP/b2.tar" 2>/dev/null
        cmp "$BUNDLE_TAR" "$T_TMP/b2.tar" || fail "a second mkbundle.sh run gives another tar"
}

# A loader cache larger than a pipe buffer (78 KB with python3-torch): an
# ldconfig earlier on PATH prints the real cache, then 200 KB more, so a
# reader that stops at its match kills it with SIGPIPE every time.
t_large_loader_cache() {
        local d=$T_TMP/bigcache real
        real=$(PATH=/usr/sbin:/sbin:$PATH command -v ldconfig)
        mkdir -p "$d/bin"
        cat >"$d/bin/ldconfig" <<EOF
#!/bin/sh
"$real" "\$@" || exit
i=0
while [ \$i -lt 2000 ]; do
        echo "	libhoistfiller\$i.so.1 (libc6,x86-64) => /nonexistent/filler/path/of/some/length/libhoistfiller\$i.so.1"
        i=\$((i + 1))
done
EOF
        chmod +x "$d/bin/ldconfig"
        [ "$(PATH=$d/bin:$PATH ldconfig -p | wc -c)" -gt 200000 ] || fail "the fake cache is too small"
        PATH=$d/bin:$PATH "$T_ROOT/scripts/mkbundle.sh" "$BUNDLE_BIN" "$d/b" "$d/b.tar" 2>"$d/err" ||
                fail "mkbundle.sh failed with a large loader cache: $(cat "$d/err")"
        cmp "$BUNDLE_TAR" "$d/b.tar" || fail "a large loader cache gives another tar"
}

# No script pipes a producer into a reader that stops early under pipefail.
t_no_early_exit_pipes() {
        "$T_ROOT/scripts/check-pipes.sh" || fail "scripts/check-pipes.sh found pipelines that die of SIGPIPE"
}

# check-pipes.sh flags each early-exit reader, and only those.
t_check_pipes_flags() {
        local d=$T_TMP/pipes n
        mkdir -p "$d"
        cat >"$d/bad.sh" <<'BAD'
set -euo pipefail
readelf -d x | grep -q RPATH
ldconfig -p | awk '$1 == s {print $NF; exit}'
ps ax | head -1
seq 100000 | sed 3q
cmd | grep -qx a ||
        echo x
cmd | LC_ALL=C grep -m1 a
printf x | read -r v
BAD
        cat >"$d/good.sh" <<'GOOD'
set -euo pipefail
out=$(readelf -d x); grep -q RPATH <<<"$out"
grep -q x file || true
cmd | grep_q -x a
cmd | grep -v a | sort | tail -1
cmd | sed -n 's/q/r/p'
wait_for 10 sh -c "cmd | grep -q \"a b\""
cat <<EOT
x | head -1
EOT
cmd | head -1 # pipefail-ok: cmd prints one line
GOOD
        ! "$T_ROOT/scripts/check-pipes.sh" "$d/bad.sh" >"$d/out" 2>&1 || fail "bad.sh passed"
        [ "$(grep -c "^$d/bad.sh:[0-9]*: " "$d/out")" = 7 ] || fail "not 7 flagged: $(cat "$d/out")"
        for n in 2 3 4 5 6 8 9; do
                grep -q "^$d/bad.sh:$n: " "$d/out" || fail "line $n not flagged: $(cat "$d/out")"
        done
        "$T_ROOT/scripts/check-pipes.sh" "$d/good.sh" >"$d/out2" 2>&1 || fail "good.sh flagged: $(cat "$d/out2")"
}

t_fails_loudly() {
        local d=$T_TMP/loud rc=0
        mkdir -p "$d"
        echo 'int hoist_test_fn(void) { return 7; }' >"$d/foo.c"
        echo 'int hoist_test_fn(void); int main(void) { return hoist_test_fn(); }' >"$d/main.c"
        cc -shared -fPIC -Wl,-soname,libhoisttestfoo.so.1 -o "$d/libhoisttestfoo.so.1" "$d/foo.c"
        cc -o "$d/prog" "$d/main.c" "$d/libhoisttestfoo.so.1" -Wl,--dynamic-linker=$INTERP \
                -Wl,--disable-new-dtags -Wl,-rpath,/opt/hoist/lib
        # libhoisttestfoo.so.1 is nowhere the loader looks
        "$T_ROOT/scripts/mkbundle.sh" "$d/prog" "$d/b" "$d/b.tar" 2>"$d/err" || rc=$?
        [ $rc -ne 0 ] || fail "mkbundle.sh accepted an unresolvable library"
        grep -q 'libhoisttestfoo.so.1' "$d/err" || fail "error does not name the library: $(cat "$d/err")"
        [ ! -e "$d/b.tar" ] || fail "wrote a tar anyway"
        # a binary not linked for the bundle is refused too
        rc=0
        "$T_ROOT/scripts/mkbundle.sh" /bin/true "$d/b" "$d/b.tar" 2>"$d/err2" || rc=$?
        [ $rc -ne 0 ] && grep -q "dynamic-linker=$INTERP" "$d/err2" || fail "accepted /bin/true"
}

t_image() {
        local first second
        first=$("$T_ROOT/tests/peers/podman-image.sh" "$IMAGE" "$BUNDLE_TAR" "$QS")
        # idempotent: a second build replaces the tag and leaves no <none>
        # image of its own behind (other images on the machine are not ours
        # to count: other work may add or remove them meanwhile)
        second=$("$T_ROOT/tests/peers/podman-image.sh" "$IMAGE" "$BUNDLE_TAR" "$QS")
        first=${first##* } second=${second##* }
        first=${first#sha256:} second=${second#sha256:}
        [ "$(podman image inspect --format '{{.Id}}' "$IMAGE")" = "$second" ] || fail "the tag is not the new image"
        [ "$first" = "$second" ] || ! podman image exists "$first" || fail "the first build ($first) was left behind"
        [ "$(podman image inspect --format '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' "$IMAGE")" = \
                '["/opt/hoist/bin/hoist-entrypoint"] ["train"]' ] || fail "entrypoint/cmd not set"
}

t_no_libc() {
        local out
        # look with busybox itself, not through the entrypoint
        out=$(prun --entrypoint /bin/busybox "$IMAGE" find / -xdev \
                \( -name 'libc.so*' -o -name 'ld-linux*' -o -name 'libc-*.so' -o -name 'ld.so*' \) | sort)
        [ "$out" = "$(printf '%s\n' "$INTERP" /opt/hoist/lib/libc.so.6)" ] ||
                fail "libc or loader outside /opt/hoist: $out"
        ! prun --entrypoint /bin/busybox "$IMAGE" ls /lib /usr/lib /lib64 2>/dev/null ||
                fail "the image has /lib, /usr/lib or /lib64"
}

t_version() {
        local out
        out=$(prun "$IMAGE" --version)
        grep -q "$VERSION" <<<"$out" || fail "--version printed '$out', not $VERSION"
        out=$(prun --entrypoint /opt/hoist/bin/hoist-entrypoint "$IMAGE" --version)
        grep -q "$VERSION" <<<"$out" || fail "direct --version printed '$out'"
}

t_exit_code() {
        local rc=0
        prun "$IMAGE" /bin/sh -c 'exit 7' || rc=$?
        [ $rc -eq 7 ] || fail "exit status $rc, not 7"
}

# The trainer inside the container, through the entrypoint, gives the same
# model (byte for byte) as the same static binary on the host.
t_quickstart_inside() {
        local v=$T_TMP/vol
        mkdir -p "$v" "$T_TMP/host"
        prun -v "$v:/work" "$IMAGE" /usr/local/bin/hoist-quickstart gen-data --out /work/d >/dev/null
        cmp "$v/d/train.csv" "$DATA/train.csv" || fail "gen-data in the image differs from data/"
        prun -v "$v:/work" -e HOIST_INPUT_TRAIN=/work/d -e HOIST_MODEL_DIR=/work/m \
                -e HOIST_CHECKPOINT_DIR=/work/c -e HOIST_HP_STEPS=1000 \
                "$IMAGE" /usr/local/bin/hoist-quickstart train >"$T_TMP/in.out"
        grep -q '"event": "completed"' "$T_TMP/in.out" || fail "no completed event: $(tail -3 "$T_TMP/in.out")"
        HOIST_INPUT_TRAIN=$DATA HOIST_MODEL_DIR=$T_TMP/host/m HOIST_CHECKPOINT_DIR=$T_TMP/host/c \
                HOIST_HP_STEPS=1000 "$QS" train >/dev/null
        cmp "$v/m/model.bin" "$T_TMP/host/m/model.bin" || fail "container and host models differ"
        "$QS" eval --model "$v/m/model.bin" --data "$DATA" | grep_q '"accuracy": 0\.[6-9]' ||
                fail "the model from the container does not evaluate"
}

# podman stop sends SIGTERM to the entrypoint, which must reach the trainer:
# it checkpoints and the container exits 143.
t_stop_checkpoints() {
        local v=$T_TMP/stop name=hoist-bundle-stop-$$ rc step
        mkdir -p "$v"
        t_defer "podman rm -f $name >/dev/null 2>&1"
        podman run -d --name "$name" --network=none -v "$DATA:/data:ro" -v "$v:/work" \
                -e HOIST_INPUT_TRAIN=/data -e HOIST_MODEL_DIR=/work/m -e HOIST_CHECKPOINT_DIR=/work/c \
                -e HOIST_HP_CHECKPOINT_EVERY=50 -e HOIST_HP_SLEEP_MS=5 \
                "$IMAGE" /usr/local/bin/hoist-quickstart train >/dev/null
        wait_for 60 sh -c "test -e '$v/c/ckpt-000100.bin' ||
                [ \"\$(podman inspect --format '{{.State.Running}}' $name)\" = false ]"
        [ -e "$v/c/ckpt-000100.bin" ] || fail "container ended early: $(podman logs "$name" 2>&1 | tail -5)"
        podman stop -t 30 "$name" >/dev/null
        rc=$(podman inspect --format '{{.State.ExitCode}}' "$name")
        # conmon may still be writing the log out when podman stop returns
        wait_for 10 sh -c "podman logs '$name' 2>&1 | grep -q '\"event\": \"stopped\"'" || true
        podman logs "$name" >"$T_TMP/stop.out" 2>&1
        [ "$rc" -eq 143 ] || fail "exit code $rc, not 143: $(tail -3 "$T_TMP/stop.out")"
        step=$(sed -n 's/^{"event": "stopped", "step": \([0-9]*\),.*/\1/p' "$T_TMP/stop.out")
        [ -n "$step" ] || fail "trainer did not see SIGTERM: $(tail -3 "$T_TMP/stop.out")"
        [ "$(cat "$v/c/latest")" = "$(printf 'ckpt-%06d.bin' "$step")" ] ||
                fail "latest is $(cat "$v/c/latest"), not the stop step $step"
        [ ! -e "$v/m/model.bin" ] || fail "a stopped run wrote a final model"
}

t_run "build/bundle-entrypoint asks for the bundled loader, DT_RPATH" t_linked_for_bundle
t_run "bundle layer: opt/hoist only, loader, every DT_NEEDED, clean tar metadata" t_layer_complete
t_run "mkbundle.sh is reproducible" t_reproducible
t_run "mkbundle.sh works with a loader cache larger than a pipe buffer" t_large_loader_cache
t_run "no script pipes into a reader that stops early under pipefail" t_no_early_exit_pipes
t_run "check-pipes.sh flags grep -q, head, awk exit, sed q, read after a pipe" t_check_pipes_flags
t_run "mkbundle.sh fails loudly on unresolvable libraries" t_fails_loudly
t_run "podman-image.sh builds the busybox image, idempotently" t_image
t_run "the image has no libc outside /opt/hoist" t_no_libc
t_run "hoist-entrypoint --version in the image" t_version
t_run "hoist-entrypoint passes the exit code through (7)" t_exit_code
t_run "static quickstart trains via the entrypoint; model equals the host's" t_quickstart_inside
t_run "podman stop: trainer checkpoints, container exits 143" t_stop_checkpoints
t_finish
