#!/usr/bin/env bash
# hoist import: a busybox-static root filesystem tar becomes a one-layer
# image whose config the --change flags make; hoist build builds FROM it
# (a RUN in it) and the result runs under podman (skopeo copies it from the
# local OCI store, as a job's build: section does).  Compressed tars, the
# same digest twice, and the refusals: an instruction podman import does not
# take, a file that is not a tar, a missing one; nothing tagged after them.
. "$(dirname "$0")/lib.sh"

for tool in podman skopeo python3; do
        command -v "$tool" >/dev/null || {
                echo "not ok - $tool is not installed (scripts/deps.sh installs it)"
                echo "0 passed, 1 failed"
                exit 1
        }
done

make_rootfs_tar() { # OUT.tar
        local root=$T_TMP/bbroot applet
        rm -rf "$root"
        mkdir -p "$root"/{bin,etc,tmp,root}
        chmod 1777 "$root/tmp"
        install -m 0755 "${HOIST_BUSYBOX:-/bin/busybox}" "$root/bin/busybox"
        for applet in sh ls cat echo pwd env test; do ln -sf busybox "$root/bin/$applet"; done
        printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
        printf 'root:x:0:\n' >"$root/etc/group"
        echo imported >"$root/etc/origin"
        tar -C "$root" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$1" .
}

config_of() { # REF: the image config from the local store
        skopeo inspect --config "oci:$HOIST_HOME/images:$1"
}

t_import_config() {
        new_home
        make_rootfs_tar "$T_TMP/root.tar"
        hoist import --change 'CMD ["/bin/sh","-c","echo hi"]' --change 'ENV A=b' \
                -c 'WORKDIR /work' -c 'LABEL org.example.k=v' -c 'USER 0:0' -c 'EXPOSE 8080' \
                -c 'VOLUME /data' -c 'STOPSIGNAL SIGINT' -c 'ENTRYPOINT ["/bin/env"]' \
                "$T_TMP/root.tar" localhost/imp/base:1 >"$T_TMP/imp.out"
        grep_q '^imported localhost/imp/base:1@sha256:' <"$T_TMP/imp.out" || fail "$(cat "$T_TMP/imp.out")"
        config_of localhost/imp/base:1 >"$T_TMP/cfg.json"
        python3 - "$T_TMP/cfg.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
cfg = c["config"]
assert len(c["rootfs"]["diff_ids"]) == 1, c["rootfs"]
assert cfg["Entrypoint"] == ["/bin/env"], cfg
# ENTRYPOINT after CMD in the same image keeps the CMD, as in a Dockerfile
assert cfg["Cmd"] == ["/bin/sh", "-c", "echo hi"], cfg
assert "A=b" in cfg["Env"] and any(e.startswith("PATH=") for e in cfg["Env"]), cfg
assert cfg["WorkingDir"] == "/work", cfg
assert cfg["Labels"] == {"org.example.k": "v"}, cfg
assert cfg["User"] == "0:0" and cfg["StopSignal"] == "SIGINT", cfg
assert "8080/tcp" in cfg["ExposedPorts"] and "/data" in cfg["Volumes"], cfg
assert c["history"][0]["created_by"] == "hoist import root.tar", c["history"]
PY
        # one gzip layer, as hoist build stores them
        skopeo inspect --raw "oci:$HOIST_HOME/images:localhost/imp/base:1" | grep_q 'tar+gzip' ||
                fail "the layer is not gzip"
}

t_import_build_run() {
        new_home
        make_rootfs_tar "$T_TMP/root.tar"
        hoist import -q -c 'ENV GREETING=hello' "$T_TMP/root.tar" localhost/imp/base:2 >/dev/null
        mkdir -p "$T_TMP/ctx"
        printf '%s\n' 'FROM localhost/imp/base:2' 'RUN echo "$GREETING from RUN" > /built' \
                'CMD ["/bin/sh","-c","cat /etc/origin /built"]' >"$T_TMP/ctx/Dockerfile"
        hoist build -t localhost/imp/built:$$ "$T_TMP/ctx" >"$T_TMP/build.out" 2>&1 ||
                { cat "$T_TMP/build.out"; fail "hoist build FROM the imported image"; }
        skopeo copy --quiet "oci:$HOIST_HOME/images:localhost/imp/built:$$" \
                "containers-storage:localhost/imp/built:$$"
        t_defer "podman rmi -f localhost/imp/built:$$ >/dev/null 2>&1"
        podman run --rm "localhost/imp/built:$$" >"$T_TMP/run.out" 2>&1 || { cat "$T_TMP/run.out"; fail "podman run"; }
        grep_q '^imported$' <"$T_TMP/run.out" || fail "the imported file is missing: $(cat "$T_TMP/run.out")"
        grep_q '^hello from RUN$' <"$T_TMP/run.out" || fail "the RUN did not see ENV: $(cat "$T_TMP/run.out")"
}

t_import_compressed_reproducible() {
        local d1 d2 d3
        new_home
        make_rootfs_tar "$T_TMP/root.tar"
        gzip -c "$T_TMP/root.tar" >"$T_TMP/root.tar.gz"
        zstd -q -c "$T_TMP/root.tar" >"$T_TMP/root.tar.zst"
        d1=$(hoist import -q "$T_TMP/root.tar" localhost/imp/c:1)
        d2=$(hoist import -q "$T_TMP/root.tar.gz" localhost/imp/c:2)
        d3=$(hoist import -q "$T_TMP/root.tar.zst" localhost/imp/c:3)
        # the same content gives the same layer; only the history's file name differs
        [ "$(config_of localhost/imp/c:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["rootfs"])')" = \
                "$(config_of localhost/imp/c:2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["rootfs"])')" ] ||
                fail "a gzip tar gives another layer"
        [ "$d1" != "$d3" ] || fail "the histories should differ"
        new_home
        [ "$(hoist import -q "$T_TMP/root.tar" localhost/imp/c:1)" = "$d1" ] || fail "the digest is not reproducible"
        new_home
        [ "$(hoist import -q --compression zstd "$T_TMP/root.tar" localhost/imp/z:1)" != "$d1" ] ||
                fail "--compression zstd changed nothing"
        skopeo inspect --raw "oci:$HOIST_HOME/images:localhost/imp/z:1" | grep_q 'tar+zstd' || fail "not zstd"
}

t_import_refusals() {
        local rc
        new_home
        make_rootfs_tar "$T_TMP/root.tar"
        rc=0; hoist import -c 'RUN echo x' "$T_TMP/root.tar" localhost/imp/bad:1 2>"$T_TMP/e1" || rc=$?
        [ "$rc" = 2 ] || fail "RUN: exit $rc"
        grep_q "RUN is not allowed" <"$T_TMP/e1" || fail "$(cat "$T_TMP/e1")"
        rc=0; hoist import -c 'NOPE x' "$T_TMP/root.tar" localhost/imp/bad:1 2>"$T_TMP/e2" || rc=$?
        [ "$rc" = 2 ] && grep_q "NOPE" <"$T_TMP/e2" || fail "unknown instruction: $(cat "$T_TMP/e2")"
        rc=0; hoist import -c "$(printf 'ENV A=1\nRUN x')" "$T_TMP/root.tar" localhost/imp/bad:1 2>"$T_TMP/e3" || rc=$?
        [ "$rc" = 2 ] && grep_q "one instruction per --change" <"$T_TMP/e3" || fail "newline: $(cat "$T_TMP/e3")"
        rc=0; hoist import /etc/hostname localhost/imp/bad:1 2>"$T_TMP/e4" || rc=$?
        [ "$rc" = 3 ] && grep_q "is not a tar archive" <"$T_TMP/e4" || fail "not a tar: exit $rc $(cat "$T_TMP/e4")"
        rc=0; hoist import "$T_TMP/none.tar" localhost/imp/bad:1 2>"$T_TMP/e5" || rc=$?
        [ "$rc" = 4 ] || fail "missing tar: exit $rc"
        rc=0; hoist import "$T_TMP/root.tar" 'Bad Ref' 2>"$T_TMP/e6" || rc=$?
        [ "$rc" != 0 ] || fail "a bad REF was taken"
        rc=0; hoist import "$T_TMP/root.tar" 2>/dev/null || rc=$?
        [ "$rc" = 2 ] || fail "missing REF: exit $rc"
        [ ! -e "$HOIST_HOME/images/index.json" ] || ! grep_q 'imp/bad' <"$HOIST_HOME/images/index.json" ||
                fail "a refused import was tagged"
        hoist import --help | grep_q 'usage: hoist import' || fail "--help"
}

t_run "import: --change instructions make the config; one gzip layer" t_import_config
t_run "import: hoist build FROM the imported image (RUN) and podman runs it" t_import_build_run
t_run "import: gzip/zstd tars, reproducible digest, --compression zstd" t_import_compressed_reproducible
t_run "import: RUN, unknown, multi-line changes, non-tar, missing file, bad REF refused" t_import_refusals
t_finish
