#!/usr/bin/env bash
# hoist build against real peers: docker-registry (distribution 2.8) on
# loopback, podman (runc, the repo's containers.conf), skopeo, umoci and
# buildah (what hoist build must agree with).
# Builds images/quickstart FROM scratch and runs it under podman after a push;
# a two-stage build on a busybox-static base with RUN (whiteouts), USER,
# WORKDIR, ENV, ARG and COPY --from; reproducible digests across fresh
# HOIST_HOMEs; the cache rebuilding only what changed and the push uploading
# only that layer; .dockerignore; a bad Dockerfile's file:line error; and the
# same Dockerfiles built by buildah and by hoist giving the same WorkingDir,
# PATH, directories and owners.
. "$(dirname "$0")/lib.sh"

for tool in docker-registry podman skopeo umoci buildah python3; do
        command -v "$tool" >/dev/null || {
                echo "not ok - $tool is not installed (scripts/deps.sh installs it)"
                echo "0 passed, 1 failed"
                exit 1
        }
done
export HOIST_BUNDLE_DIR=${HOIST_BUNDLE_DIR:-$HOIST_BUILD/bundle/opt/hoist}
# the tar `make bundle` writes next to BUILD/bundle, as hoist build looks for it
[ -f "$HOIST_BUNDLE_DIR/../../../hoist-entrypoint-bundle.tar" ] || {
        echo "not ok - hoist-entrypoint-bundle.tar is missing next to '$HOIST_BUNDLE_DIR' (make bundle)"
        echo "0 passed, 1 failed"
        exit 1
}

# ---- the registry (tests/peers/registry.sh, no auth) ----
REG_DIR=$T_TMP/registry
t_defer "'$T_ROOT/tests/peers/registry.sh' stop '$REG_DIR'"
"$T_ROOT/tests/peers/registry.sh" start "$REG_DIR" none >/dev/null ||
        { echo "not ok - start docker-registry"; echo "0 passed, 1 failed"; exit 1; }
REG=127.0.0.1:$(cat "$REG_DIR/port")

# ---- a busybox-static base image, pushed with skopeo ----
make_busybox_base() {
        local root=$T_TMP/bbroot applet
        mkdir -p "$root"/{bin,etc,tmp,root}
        chmod 1777 "$root/tmp"
        install -m 0755 "${HOIST_BUSYBOX:-/bin/busybox}" "$root/bin/busybox"
        for applet in sh ls cat echo rm mkdir touch id pwd env test sleep; do
                ln -sf busybox "$root/bin/$applet"
        done
        printf 'root:x:0:0:root:/root:/bin/sh\ntrainer:x:1000:1000:t:/home/trainer:/bin/sh\n' >"$root/etc/passwd"
        printf 'root:x:0:\ntrainer:x:1000:\n' >"$root/etc/group"
        tar -C "$root" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$T_TMP/bb.tar" .
        BASE_IMAGE=localhost/hoist-build-base:$$
        podman import --quiet --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' "$T_TMP/bb.tar" "$BASE_IMAGE" >/dev/null
        t_defer "podman rmi -f $BASE_IMAGE >/dev/null 2>&1"
        BASE_REF=$REG/base/busybox:1
        podman push --quiet --tls-verify=false "$BASE_IMAGE" "docker://$BASE_REF" >/dev/null
}
make_busybox_base || { echo "not ok - build the busybox base image"; echo "0 passed, 1 failed"; exit 1; }

registry_blobs() { find "$REG_DIR/data" -path '*/blobs/sha256/*/data' | wc -l; }

manifest_of() { # REF -> manifest JSON from the registry
        curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/${1#*/}" 2>/dev/null
}
digest_in_store() { # HOME REF
        python3 - "$1/images/index.json" "$2" <<'EOF'
import json, sys
idx = json.load(open(sys.argv[1]))
for m in idx.get("manifests", []):
    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == sys.argv[2]:
        print(m["digest"]); break
EOF
}

# ---- tests ----

t_quickstart_scratch_push_podman() {
        new_home
        local ref=$REG/hoist/quickstart:it$$
        hoist build --entrypoint --push -t "$ref" -f "$T_ROOT/images/quickstart/Dockerfile" "$HOIST_BIN" \
                >"$T_TMP/qs.out" 2>&1 || { cat "$T_TMP/qs.out"; fail "hoist build failed"; }
        cat "$T_TMP/qs.out"
        grep -q '^\[1/' "$T_TMP/qs.out" || fail "no per-step output"
        grep -q '^push: ' "$T_TMP/qs.out" || fail "no per-layer push progress"
        skopeo inspect --config --tls-verify=false "docker://$ref" >"$T_TMP/qs.inspect"
        grep -q '"/opt/hoist/bin/hoist-entrypoint"' "$T_TMP/qs.inspect" || fail "entrypoint not set"
        podman pull --quiet --tls-verify=false "$ref" >/dev/null
        t_defer "podman rmi -f $ref >/dev/null 2>&1"
        # the image's own ENTRYPOINT+CMD became the CMD that hoist-entrypoint runs
        podman inspect --format '{{json .Config.Cmd}}' "$ref" | grep_q '"/usr/local/bin/hoist-quickstart","train"' ||
                fail "CMD is not the training command: $(podman inspect --format '{{json .Config.Cmd}}' "$ref")"
        podman run --rm "$ref" /usr/local/bin/hoist-quickstart --help >"$T_TMP/qs.run" 2>&1 ||
                { cat "$T_TMP/qs.run"; fail "podman run failed"; }
        grep -q 'usage: ' "$T_TMP/qs.run" || fail "trainer did not run: $(cat "$T_TMP/qs.run")"
        podman run --rm --entrypoint /opt/hoist/bin/hoist-entrypoint "$ref" --version | grep_q hoist-entrypoint ||
                fail "hoist-entrypoint does not run in the image"
}

t_zstd_layers() {
        new_home
        local ref=$REG/hoist/quickstart-zstd:1
        hoist build --compression zstd --push -t "$ref" -f "$T_ROOT/images/quickstart/Dockerfile" "$HOIST_BIN" \
                >"$T_TMP/zs.out" 2>&1 || { cat "$T_TMP/zs.out"; fail "build failed"; }
        skopeo inspect --raw --tls-verify=false "docker://$ref" | grep_q 'tar+zstd' || fail "layers are not zstd"
        podman pull --quiet --tls-verify=false "$ref" >/dev/null || fail "podman cannot pull zstd layers"
        t_defer "podman rmi -f $ref >/dev/null 2>&1"
        podman run --rm "$ref" --help 2>&1 | grep_q 'usage: ' || fail "the zstd image does not run"
}

write_two_stage() { # DIR
        mkdir -p "$1/src" "$1/data"
        echo "hello from the context" >"$1/src/hello.txt"
        echo "v1" >"$1/src/version.txt"
        echo "secret" >"$1/data/secret.key"
        echo "big" >"$1/data/keep.bin"
        printf 'data/*.key\n*.log\n' >"$1/.dockerignore"
        echo "noise" >"$1/build.log"
        cat >"$1/Dockerfile" <<EOF
ARG BASE=$BASE_REF
FROM \${BASE} AS builder
ARG GREETING=hi
ENV OUT=/out
RUN mkdir -p \$OUT /junk && echo "\$GREETING" >\$OUT/greeting && touch /junk/a /junk/b /etc/old && rm -f /etc/old
RUN rm -rf /junk
COPY src/ /src/

FROM \${BASE}
ARG GREETING
WORKDIR /app
COPY --from=builder /out/greeting ./greeting
COPY --chown=1000:1000 --chmod=0640 src/hello.txt /app/hello.txt
COPY data /app/data
COPY src/version.txt /app/
RUN rm /bin/sleep && echo "built with \$GREETING" >/app/built
USER trainer
ENV MODE=train
EXPOSE 8080
LABEL org.example.test=yes
CMD ["cat", "/app/greeting"]
EOF
}

t_two_stage_busybox() {
        new_home
        write_two_stage "$T_TMP/ts"
        local ref=$REG/hoist/twostage:1
        hoist build --build-arg GREETING=hello-arg -t "$ref" "$T_TMP/ts" >"$T_TMP/ts.out" 2>&1 ||
                { cat "$T_TMP/ts.out"; fail "build failed"; }
        cat "$T_TMP/ts.out"
        # the whiteouts are in the layer tars
        local lay=$HOIST_HOME/images d found=0
        for d in $(python3 -c "
import json,sys
idx=json.load(open('$lay/index.json'))
m=[x for x in idx['manifests'] if x['annotations']['org.opencontainers.image.ref.name']=='$ref'][0]
man=json.load(open('$lay/blobs/sha256/'+m['digest'][7:]))
print(' '.join(l['digest'][7:] for l in man['layers']))"); do
                if tar -tzf "$lay/blobs/sha256/$d" 2>/dev/null | grep_q 'bin/.wh.sleep'; then found=1; fi
        done
        [ $found = 1 ] || fail "no whiteout for the deleted /bin/sleep in any layer"
        # umoci applies the deletions
        umoci unpack --image "$lay:$ref" "$T_TMP/ts.bundle" >/dev/null
        local r=$T_TMP/ts.bundle/rootfs
        [ ! -e "$r/bin/sleep" ] || fail "/bin/sleep was not deleted"
        [ "$(cat "$r/app/greeting")" = hello-arg ] || fail "COPY --from or ARG lost: $(cat "$r/app/greeting")"
        [ "$(cat "$r/app/built")" = "built with hello-arg" ] || fail "RUN did not see the ARG"
        [ -f "$r/app/version.txt" ] || fail "COPY into a directory destination"
        [ -f "$r/app/data/keep.bin" ] || fail "COPY data lost keep.bin"
        [ ! -e "$r/app/data/secret.key" ] || fail ".dockerignore did not exclude data/secret.key"
        [ ! -e "$r/junk" ] || fail "the first stage leaked into the final image"
        [ "$(stat -c %u:%g:%a "$r/app/hello.txt")" = 1000:1000:640 ] ||
                fail "--chown/--chmod: $(stat -c %u:%g:%a "$r/app/hello.txt")"
        python3 - "$T_TMP/ts.bundle/config.json" <<'EOF' || fail "runtime config"
import json, sys
c = json.load(open(sys.argv[1]))
p = c["process"]
assert p["cwd"] == "/app", p["cwd"]
assert p["user"]["uid"] == 1000, p["user"]
assert "MODE=train" in p["env"], p["env"]
assert p["args"] == ["cat", "/app/greeting"], p["args"]
EOF
        # the first stage's deletions: its RUN made and removed files
        hoist build --target builder -t "$REG/hoist/twostage:builder" "$T_TMP/ts" >/dev/null 2>&1 ||
                fail "--target builder failed"
        umoci unpack --image "$lay:$REG/hoist/twostage:builder" "$T_TMP/b.bundle" >/dev/null 2>&1 ||
                fail "umoci unpack of the builder stage"
        [ ! -e "$T_TMP/b.bundle/rootfs/junk" ] || fail "/junk not deleted in the builder stage"
        [ ! -e "$T_TMP/b.bundle/rootfs/etc/old" ] || fail "/etc/old not deleted"
        [ -f "$T_TMP/b.bundle/rootfs/src/hello.txt" ] || fail "COPY src/ in the builder stage"
        # and it runs
        hoist build --push --build-arg GREETING=hello-arg -t "$ref" "$T_TMP/ts" >"$T_TMP/ts.push" 2>&1 || fail "push failed"
        grep -q "CACHED" "$T_TMP/ts.push" || fail "the rebuild used no cache"
        podman pull --quiet --tls-verify=false "$ref" >/dev/null
        t_defer "podman rmi -f $ref >/dev/null 2>&1"
        out=$(podman run --rm "$ref" 2>&1) || true
        [ "$out" = hello-arg ] || fail "podman run of the two-stage image: $out"
        [ "$(podman run --rm "$ref" id -u)" = 1000 ] || fail "USER not applied"
}

t_reproducible() {
        write_two_stage "$T_TMP/rp"
        local ref=$REG/hoist/repro:1 a b
        new_home
        hoist build -q -t "$ref" "$T_TMP/rp" >"$T_TMP/rp.a" 2>"$T_TMP/rp.err" || { cat "$T_TMP/rp.err"; fail "first build"; }
        a=$(tail -1 "$T_TMP/rp.a")
        new_home
        hoist build -q -t "$ref" "$T_TMP/rp" >"$T_TMP/rp.b" 2>"$T_TMP/rp.err" || { cat "$T_TMP/rp.err"; fail "second build"; }
        b=$(tail -1 "$T_TMP/rp.b")
        echo "digests: $a $b"
        [ -n "$a" ] && [ "$a" = "$b" ] || fail "two fresh builds differ: $a vs $b"
        case $a in sha256:*) ;; *) fail "not a digest: $a" ;; esac
}

t_cache_and_incremental_push() {
        new_home
        write_two_stage "$T_TMP/ca"
        local ref=$REG/hoist/cache:1 before
        hoist build --push -t "$ref" "$T_TMP/ca" >"$T_TMP/ca.1" 2>&1 || { cat "$T_TMP/ca.1"; fail "first build"; }
        hoist build -t "$ref" "$T_TMP/ca" >"$T_TMP/ca.2" 2>&1 || { cat "$T_TMP/ca.2"; fail "second build"; }
        before=$(digest_in_store "$HOIST_HOME" "$ref")
        cat "$T_TMP/ca.2"
        ! grep -E '^\[[0-9]+/[0-9]+\] (RUN|COPY)' "$T_TMP/ca.2" | grep_q -v CACHED || fail "an unchanged step was rebuilt"
        echo v2 >"$T_TMP/ca/src/version.txt"
        hoist build -t "$ref" "$T_TMP/ca" >"$T_TMP/ca.3" 2>&1 || { cat "$T_TMP/ca.3"; fail "third build"; }
        cat "$T_TMP/ca.3"
        grep -q 'COPY src/version.txt /app/$' "$T_TMP/ca.3" || fail "the changed COPY was not rebuilt"
        grep 'COPY src/version.txt' "$T_TMP/ca.3" | grep_q -v CACHED || fail "changed step reported CACHED"
        grep 'COPY --chown=1000:1000' "$T_TMP/ca.3" | grep_q CACHED || fail "the step before the change was rebuilt"
        # builder stage copied src/ too: it changed, so it is rebuilt; the
        # COPY --from output (greeting) did not change.
        # exactly the layers that are new in the manifest, and the config
        local new
        new=$(python3 - "$HOIST_HOME/images" "$before" "$ref" <<'EOF'
import json, sys
lay, before, ref = sys.argv[1:]
def layers(digest):
    return [l["digest"] for l in json.load(open(lay + "/blobs/sha256/" + digest[7:]))["layers"]]
idx = json.load(open(lay + "/index.json"))
cur = [m["digest"] for m in idx["manifests"]
       if m["annotations"]["org.opencontainers.image.ref.name"] == ref][0]
print(len(set(layers(cur)) - set(layers(before))))
EOF
)
        [ "$new" = 1 ] || fail "$new layers changed, not 1 (the changed COPY's)"
        # `hoist push`: the registry gains that layer, the config and the
        # manifest, nothing else
        local b0 b1
        b0=$(registry_blobs)
        hoist push "$ref" >"$T_TMP/ca.4" 2>&1 || { cat "$T_TMP/ca.4"; fail "hoist push failed"; }
        b1=$(registry_blobs)
        echo "new layers: $new; registry blobs $b0 -> $b1"
        [ $((b1 - b0)) = $((new + 2)) ] || fail "the registry gained $((b1 - b0)) blobs, not $((new + 2))"
}

t_dockerignore_only() {
        new_home
        mkdir -p "$T_TMP/di/keep" "$T_TMP/di/skip"
        echo a >"$T_TMP/di/keep/a.txt"
        echo b >"$T_TMP/di/skip/b.txt"
        echo c >"$T_TMP/di/keep/c.tmp"
        printf 'skip\n**/*.tmp\nDockerfile\n' >"$T_TMP/di/.dockerignore"
        printf 'FROM scratch\nCOPY . /ctx/\n' >"$T_TMP/di/Dockerfile"
        hoist build -t localhost/di:1 "$T_TMP/di" >"$T_TMP/di.out" 2>&1 || { cat "$T_TMP/di.out"; fail "build"; }
        umoci unpack --image "$HOIST_HOME/images:localhost/di:1" "$T_TMP/di.bundle" >/dev/null 2>&1 || fail "umoci unpack"
        [ -f "$T_TMP/di.bundle/rootfs/ctx/keep/a.txt" ] || fail "keep/a.txt missing"
        [ ! -e "$T_TMP/di.bundle/rootfs/ctx/skip" ] || fail "skip/ not excluded"
        [ ! -e "$T_TMP/di.bundle/rootfs/ctx/keep/c.tmp" ] || fail "**/*.tmp not excluded"
}

# A single file COPY'd to a directory the base image has, named without a
# trailing '/', goes into it (as with Docker), whether the base's layers
# are unpacked (after a RUN) or only read; a symlink to a directory counts.
t_copy_into_base_dir() {
        new_home
        mkdir -p "$T_TMP/cb"
        echo tool >"$T_TMP/cb/tool.sh"
        echo motd >"$T_TMP/cb/motd"
        echo conf >"$T_TMP/cb/a.conf"
        printf 'FROM %s\nRUN ln -s /etc /conf\n' "$BASE_REF" >"$T_TMP/cb/Dockerfile.base"
        hoist build -t localhost/cbbase:1 -f "$T_TMP/cb/Dockerfile.base" "$T_TMP/cb" \
                >"$T_TMP/cb0.out" 2>&1 || { cat "$T_TMP/cb0.out"; fail "build the base"; }
        # Only COPY steps: the base's layers are read, never unpacked.
        printf 'FROM localhost/cbbase:1\nCOPY tool.sh /bin\nCOPY motd /etc/motd\nCOPY a.conf /conf\n' \
                >"$T_TMP/cb/Dockerfile"
        hoist build -t localhost/cb:1 "$T_TMP/cb" >"$T_TMP/cb1.out" 2>&1 || { cat "$T_TMP/cb1.out"; fail "build"; }
        # The same after a RUN: the root filesystem is unpacked.
        printf 'FROM localhost/cbbase:1\nRUN touch /tmp/x\nCOPY tool.sh /bin\nCOPY motd /etc/motd\nCOPY a.conf /conf\n' \
                >"$T_TMP/cb/Dockerfile.run"
        hoist build -t localhost/cb:2 -f "$T_TMP/cb/Dockerfile.run" "$T_TMP/cb" >"$T_TMP/cb2.out" 2>&1 ||
                { cat "$T_TMP/cb2.out"; fail "build after RUN"; }
        for tag in 1 2; do
                b=$T_TMP/cb$tag.bundle
                umoci unpack --image "$HOIST_HOME/images:localhost/cb:$tag" "$b" >/dev/null 2>&1 ||
                        fail "umoci unpack cb:$tag"
                [ -d "$b/rootfs/bin" ] || fail "cb:$tag: /bin is no longer a directory"
                [ "$(cat "$b/rootfs/bin/tool.sh")" = tool ] || fail "cb:$tag: tool.sh not in /bin"
                [ -x "$b/rootfs/bin/busybox" ] || fail "cb:$tag: /bin lost its files"
                [ "$(cat "$b/rootfs/etc/motd")" = motd ] || fail "cb:$tag: /etc/motd"
                [ -L "$b/rootfs/conf" ] || fail "cb:$tag: the /conf link was replaced"
                [ "$(cat "$b/rootfs/etc/a.conf")" = conf ] || fail "cb:$tag: a.conf not through /conf into /etc"
        done
}

t_add_archive() {
        new_home
        mkdir -p "$T_TMP/ad/tree/sub"
        echo inside >"$T_TMP/ad/tree/sub/f.txt"
        tar -C "$T_TMP/ad/tree" -czf "$T_TMP/ad/payload.tar.gz" .
        echo plain >"$T_TMP/ad/plain.txt"
        printf 'FROM scratch\nADD payload.tar.gz /opt/p/\nADD plain.txt /opt/plain.txt\n' >"$T_TMP/ad/Dockerfile"
        hoist build -t localhost/ad:1 "$T_TMP/ad" >"$T_TMP/ad.out" 2>&1 || { cat "$T_TMP/ad.out"; fail "build"; }
        umoci unpack --image "$HOIST_HOME/images:localhost/ad:1" "$T_TMP/ad.bundle" >/dev/null 2>&1 || fail "umoci unpack"
        [ "$(cat "$T_TMP/ad.bundle/rootfs/opt/p/sub/f.txt")" = inside ] || fail "ADD did not unpack the archive"
        [ "$(cat "$T_TMP/ad.bundle/rootfs/opt/plain.txt")" = plain ] || fail "ADD of a plain file"
        printf 'FROM scratch\nADD https://example.com/x /x\n' >"$T_TMP/ad/Dockerfile"
        if hoist build -t localhost/ad:2 "$T_TMP/ad" >"$T_TMP/ad2.out" 2>&1; then fail "ADD of a URL built"; fi
        grep -q "line 2: ADD: source 'https://example.com/x' is a URL" "$T_TMP/ad2.out" || fail "ADD URL error: $(cat "$T_TMP/ad2.out")"
}

t_bad_dockerfile() {
        new_home
        mkdir -p "$T_TMP/bad"
        printf 'FROM scratch\nCOPY a /a\nFROBNICATE x\n' >"$T_TMP/bad/Dockerfile"
        echo a >"$T_TMP/bad/a"
        if hoist build -t localhost/bad:1 "$T_TMP/bad" >"$T_TMP/bad.out" 2>&1; then fail "a bad Dockerfile built"; fi
        cat "$T_TMP/bad.out"
        grep -q "Dockerfile' line 3" "$T_TMP/bad.out" || fail "no file:line in the error"
        [ -z "$(digest_in_store "$HOIST_HOME" localhost/bad:1 2>/dev/null)" ] || fail "a failed build left a tag"
        # a COPY of a missing file: file:line too, still no tag
        printf 'FROM scratch\nCOPY missing /m\n' >"$T_TMP/bad/Dockerfile"
        if hoist build -t localhost/bad:1 "$T_TMP/bad" >"$T_TMP/bad2.out" 2>&1; then fail "COPY of a missing file built"; fi
        grep -q "Dockerfile' line 2" "$T_TMP/bad2.out" || fail "no file:line for the missing source: $(cat "$T_TMP/bad2.out")"
        [ -z "$(digest_in_store "$HOIST_HOME" localhost/bad:1 2>/dev/null)" ] || fail "a failed build left a tag"
}

t_pytorch_dockerfile_parses() {
        hoist build --check -f "$T_ROOT/images/pytorch/Dockerfile" "$T_ROOT/images/pytorch" ||
                fail "images/pytorch/Dockerfile does not parse"
}

t_job_build_section() {
        new_home
        export HOIST_CONTAINER_ENGINE=podman
        mkdir -p "$T_TMP/jb"
        cp -r "$T_ROOT/examples/quickstart/data" "$T_TMP/jb/data"
        local ref=$REG/hoist/jobbuild:1 id
        # no command: the image's own CMD (the trainer) runs under the
        # entrypoint the build added
        cat >"$T_TMP/jb/job.yaml" <<YAML
name: built
build:
  context: $HOIST_BIN
  dockerfile: $T_ROOT/images/quickstart/Dockerfile
  args:
    TRAINER: hoist-quickstart
  push: $ref
runtime: container
inputs:
  train: data/
hyperparameters:
  steps: 300
  seed: 7
  checkpoint_every: 100
YAML
        t_defer "podman rmi -f $ref >/dev/null 2>&1"
        hoist submit --follow "$T_TMP/jb/job.yaml" >"$T_TMP/jb.out" 2>&1 || { cat "$T_TMP/jb.out"; fail "submit failed"; }
        cat "$T_TMP/jb.out"
        grep -q 'ENTRYPOINT layer /opt/hoist' "$T_TMP/jb.out" || fail "no entrypoint layer built"
        id=$(sed -n 's/^submitted job \(j-[0-9a-f]*\)$/\1/p' "$T_TMP/jb.out")
        [ "$(job_field "$id" state)" = succeeded ] || fail "job did not succeed"
        [ -s "$HOIST_HOME/storage/jobs/$id/output/model/model.bin" ] || fail "no model"
        skopeo inspect --tls-verify=false "docker://$ref" >/dev/null || fail "not pushed"
}

# ---- buildah, the peer: its own storage under $T_TMP, as bench/build does ----
BUILDAH_DIR=$T_TMP/buildah
mkdir -p "$BUILDAH_DIR"
printf '[storage]\ndriver = "vfs"\nrunroot = "%s"\ngraphroot = "%s"\n' \
        "$BUILDAH_DIR/run" "$BUILDAH_DIR/root" >"$BUILDAH_DIR/storage.conf"
bah() { CONTAINERS_STORAGE_CONF=$BUILDAH_DIR/storage.conf buildah "$@"; }
t_defer "CONTAINERS_STORAGE_CONF='$BUILDAH_DIR/storage.conf' buildah rmi -a -f >/dev/null 2>&1"

# Builds the context CTX with buildah and with hoist, and unpacks both images
# with umoci into $T_TMP/NAME.buildah and $T_TMP/NAME.hoist.
build_both() { # NAME CTX
        local name=$1 ctx=$2
        bah bud --quiet --isolation chroot --tls-verify=false -t "localhost/$name:1" "$ctx" \
                >"$T_TMP/$name.bah.out" 2>&1 || { cat "$T_TMP/$name.bah.out"; fail "buildah bud $name"; }
        bah push --quiet "localhost/$name:1" "oci:$T_TMP/$name.oci:1" >/dev/null 2>&1 ||
                fail "buildah push $name into an OCI layout"
        umoci unpack --image "$T_TMP/$name.oci:1" "$T_TMP/$name.buildah" >/dev/null 2>&1 ||
                fail "umoci unpack of buildah's $name"
        hoist build -t "localhost/$name:1" "$ctx" >"$T_TMP/$name.hoist.out" 2>&1 ||
                { cat "$T_TMP/$name.hoist.out"; fail "hoist build $name"; }
        umoci unpack --image "$HOIST_HOME/images:localhost/$name:1" "$T_TMP/$name.hoist" >/dev/null 2>&1 ||
                fail "umoci unpack of hoist's $name"
}

# "WorkingDir PATH=..." from the config of REF in the OCI layout LAYOUT (the
# image's own: umoci's runtime config would add a PATH the image lacks).
image_cwd_path() { # LAYOUT REF
        python3 - "$1" "$2" <<'EOF'
import json, sys
lay, ref = sys.argv[1:]
def blob(d):
    return json.load(open(lay + "/blobs/sha256/" + d[7:]))
idx = json.load(open(lay + "/index.json"))
m = [x for x in idx["manifests"]
     if x.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref][0]
cfg = blob(blob(m["digest"])["config"]["digest"])["config"]
path = [e for e in cfg.get("Env") or [] if e.startswith("PATH=")]
print(cfg.get("WorkingDir", ""), path[0] if path else "PATH-unset")
EOF
}
buildah_cwd_path() { image_cwd_path "$T_TMP/$1.oci" 1; }         # NAME
hoist_cwd_path() { image_cwd_path "$HOIST_HOME/images" "localhost/$1:1"; } # NAME

# "path type uid:gid mode" of each PATH in BUNDLE's rootfs ("path -" when absent).
bundle_stat() { # BUNDLE PATH...
        local b=$1 p
        shift
        for p in "$@"; do
                if [ -e "$b/rootfs/$p" ] || [ -L "$b/rootfs/$p" ]; then
                        (cd "$b/rootfs" && find "$p" -maxdepth 0 -printf '%p %y %U:%G %m\n')
                else
                        echo "$p -"
                fi
        done
}

rootfs_list() { # BUNDLE: every path of its rootfs with type, owner and mode
        (cd "$1/rootfs" && find . -mindepth 1 -printf '%P %y %U:%G %m\n' | sort)
}

# The issue's WORKDIR sequence, WORKDIR under USER 1000, COPY --chown to a
# destination that does not exist, FROM scratch (no PATH of its own), no RUN:
# the whole root filesystem, WorkingDir and PATH as buildah makes them.
t_same_as_buildah_scratch() {
        new_home
        local c=$T_TMP/bs
        mkdir -p "$c/tree/sub"
        echo f >"$c/tree/f"
        echo g >"$c/tree/sub/g"
        cat >"$c/Dockerfile" <<'EOF'
FROM scratch
USER 1000
WORKDIR /u/v
USER 0
WORKDIR /x
WORKDIR y
WORKDIR ../z
ENV REL=e
WORKDIR $REL/d
COPY --chown=1000:1000 tree/ /owned/
COPY --chown=1000:1000 tree/ /deep/er/
EOF
        build_both bs "$c"
        local want="/x/z/e/d PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        [ "$(buildah_cwd_path bs)" = "$want" ] ||
                fail "buildah no longer gives '$want': $(buildah_cwd_path bs)"
        [ "$(hoist_cwd_path bs)" = "$want" ] ||
                fail "hoist's WorkingDir and PATH: $(hoist_cwd_path bs), buildah's: $want"
        rootfs_list "$T_TMP/bs.buildah" >"$T_TMP/bs.buildah.list"
        rootfs_list "$T_TMP/bs.hoist" >"$T_TMP/bs.hoist.list"
        cat "$T_TMP/bs.hoist.list"
        diff -u "$T_TMP/bs.buildah.list" "$T_TMP/bs.hoist.list" || fail "the root filesystems differ (- buildah, + hoist)"
        grep -qx 'x/y d 0:0 755' "$T_TMP/bs.hoist.list" || fail "WORKDIR y was not created"
        grep -qx 'owned d 1000:1000 755' "$T_TMP/bs.hoist.list" || fail "/owned is not 1000:1000"
}

# On a base with a shell: WORKDIR through a link is lexical (RUN pwd -P
# says /c, not /real/c), USER 1000 can write into a COPY --chown
# destination hoist created, and WORKDIRs under USER (a number, or a name
# from /etc/passwd) belong to that user; each as buildah does it.
t_same_as_buildah_run() {
        new_home
        local c=$T_TMP/br
        mkdir -p "$c/tree/sub"
        echo f >"$c/tree/f"
        cat >"$c/Dockerfile" <<EOF
FROM $BASE_REF
RUN mkdir -p /real/sub && ln -s /real/sub /a
WORKDIR /a
WORKDIR ../c
RUN pwd -P >/pwd.txt
COPY --chown=1000:1000 tree/ /owned/
USER 1000
RUN touch /owned/new
WORKDIR /srv/one/two
USER trainer
WORKDIR /opt/named
USER root
EOF
        build_both br "$c"
        [ "$(cat "$T_TMP/br.buildah/rootfs/pwd.txt")" = /c ] ||
                fail "buildah no longer says /c: $(cat "$T_TMP/br.buildah/rootfs/pwd.txt")"
        [ "$(cat "$T_TMP/br.hoist/rootfs/pwd.txt")" = /c ] ||
                fail "RUN pwd -P after WORKDIR /a, ../c: $(cat "$T_TMP/br.hoist/rootfs/pwd.txt"), not /c"
        local paths=(c real/sub real/c owned owned/f owned/new srv srv/one srv/one/two opt opt/named)
        bundle_stat "$T_TMP/br.buildah" "${paths[@]}" >"$T_TMP/br.buildah.list"
        bundle_stat "$T_TMP/br.hoist" "${paths[@]}" >"$T_TMP/br.hoist.list"
        cat "$T_TMP/br.hoist.list"
        diff -u "$T_TMP/br.buildah.list" "$T_TMP/br.hoist.list" || fail "the directories differ (- buildah, + hoist)"
        [ "$(hoist_cwd_path br)" = "$(buildah_cwd_path br)" ] ||
                fail "WorkingDir or PATH: hoist $(hoist_cwd_path br), buildah $(buildah_cwd_path br)"
}

t_run "quickstart FROM scratch: build --entrypoint --push, podman pull + run" t_quickstart_scratch_push_podman
t_run "--compression zstd: pushed, pulled and run by podman" t_zstd_layers
t_run "two stages on busybox: RUN whiteouts, USER, WORKDIR, ENV, ARG, COPY --from, umoci" t_two_stage_busybox
t_run "two fresh HOIST_HOMEs give the same manifest digest" t_reproducible
t_run "one-file change rebuilds one step; push uploads only that layer" t_cache_and_incremental_push
t_run ".dockerignore excludes files from COPY ." t_dockerignore_only
t_run "COPY of one file to a directory of the base image goes into it" t_copy_into_base_dir
t_run "ADD unpacks a local archive; ADD of a URL is refused" t_add_archive
t_run "a bad Dockerfile: file:line, non-zero exit, no tag" t_bad_dockerfile
t_run "job.yaml build: builds, pushes, loads into podman and runs" t_job_build_section
t_run "images/pytorch/Dockerfile passes hoist build --check" t_pytorch_dockerfile_parses
t_run "FROM scratch: WORKDIR (lexical, created), COPY --chown dirs, PATH as buildah" t_same_as_buildah_scratch
t_run "RUN base: WORKDIR through a link, USER writes a --chown dir, as buildah" t_same_as_buildah_run
t_finish
