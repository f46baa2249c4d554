#!/usr/bin/env bash
# `hoist push` and `hoist pull` against Debian's docker-registry on loopback
# (no auth, htpasswd Basic, Bearer tokens from tests/peers/tokenserver.py),
# with skopeo, umoci and podman reading what hoist pushed, the OCI JSON
# Schemas checking what it wrote, and tests/peers/flaky_proxy.py answering
# 503 to the first blob uploads.
. "$(dirname "$0")/lib.sh"

for p in docker-registry skopeo umoci htpasswd openssl podman; do
        command -v $p >/dev/null || { echo "not ok - $p is not installed (scripts/deps.sh installs it)"; echo "0 passed, 1 failed"; exit 1; }
done
OCITOOL=$HOIST_BUILD/tests/ocitool
[ -x "$OCITOOL" ] || { echo "not ok - $OCITOOL is missing (make $OCITOOL)"; echo "0 passed, 1 failed"; exit 1; }
VALIDATE=$T_ROOT/tests/tools/oci_validate.py
REG=$T_ROOT/tests/peers/registry.sh
STORE=$T_TMP/store
export HOIST_HOME=$T_TMP/home
# No credentials of this machine's user: only what a test sets.
ORIG_XDG=${XDG_RUNTIME_DIR-}
export DOCKER_CONFIG=$T_TMP/no-docker REGISTRY_AUTH_FILE=$T_TMP/no-auth.json XDG_RUNTIME_DIR=$T_TMP/xdg
unset HOIST_REGISTRY_USER HOIST_REGISTRY_PASSWORD HOIST_INSECURE_REGISTRIES
mkdir -p "$XDG_RUNTIME_DIR"

# A busybox-static image: `echo` through busybox, runnable by podman.
mkdir -p "$T_TMP/rootfs/bin" "$T_TMP/rootfs/tmp"
cp /bin/busybox "$T_TMP/rootfs/bin/busybox"
"$OCITOOL" mkimage "$STORE" img:v1 "$T_TMP/rootfs" /bin/busybox echo hello-from-hoist >"$T_TMP/img.digest" ||
        { echo "not ok - ocitool mkimage failed"; echo "0 passed, 1 failed"; exit 1; }
IMG_DIGEST=$(cat "$T_TMP/img.digest")

# Tests run in subshells, where t_defer would be lost: what they start is
# listed in files that one cleanup, deferred here, reads.
reg_cleanup() {
        local d p
        for d in $(cat "$T_TMP/registries" 2>/dev/null); do "$REG" stop "$d"; done
        for p in $(cat "$T_TMP/pids" 2>/dev/null); do kill "$p" 2>/dev/null; done
}
t_defer reg_cleanup

start_registry() { # NAME MODE [USER PASS]: sets PORT
        echo "$T_TMP/$1" >>"$T_TMP/registries"
        "$REG" start "$T_TMP/$1" "${@:2}"
        PORT=$(cat "$T_TMP/$1/port")
}
blob() { echo "$1/blobs/sha256/${2#sha256:}"; }
json_get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval('d'+sys.argv[2]))" "$@"; }
push() { hoist push --store "$STORE" "$@"; }
docker_login() { # PORT USER PASS
        mkdir -p "$DOCKER_CONFIG"
        printf '{"auths":{"127.0.0.1:%s":{"auth":"%s"}}}\n' "$1" "$(printf %s "$2:$3" | base64 -w0)" \
                >"$DOCKER_CONFIG/config.json"
}

start_registry plain none
PLAIN=127.0.0.1:$PORT

t_round_trip() {
        d=$(push img:v1 "$PLAIN/test/img:v1" 2>"$T_TMP/rt.err") || { cat "$T_TMP/rt.err"; fail "push failed"; }
        [ "$d" = "$IMG_DIGEST" ] || fail "pushed $d, the image is $IMG_DIGEST"
        grep -q "^pushed $PLAIN/test/img:v1: 2 blobs, 2 uploaded (.*), 0 already there; digest $IMG_DIGEST\$" "$T_TMP/rt.err" ||
                fail "summary: $(cat "$T_TMP/rt.err")"
        p=$(hoist pull -q --store "$T_TMP/pulled" "$PLAIN/test/img:v1")
        [ "$p" = "$IMG_DIGEST" ] || fail "pulled $p"
        cmp "$(blob "$STORE" "$IMG_DIGEST")" "$(blob "$T_TMP/pulled" "$IMG_DIGEST")"
        cfg=$(json_get "$(blob "$T_TMP/pulled" "$IMG_DIGEST")" "['config']['digest']")
        layer=$(json_get "$(blob "$T_TMP/pulled" "$IMG_DIGEST")" "['layers'][0]['digest']")
        cmp "$(blob "$STORE" "$cfg")" "$(blob "$T_TMP/pulled" "$cfg")"
        cmp "$(blob "$STORE" "$layer")" "$(blob "$T_TMP/pulled" "$layer")"
        # pulling again downloads nothing
        hoist pull --store "$T_TMP/pulled" "$PLAIN/test/img:v1" 2>&1 >/dev/null | grep_q "2 blobs, 0 downloaded (0 B), 2 already here"
}

t_schemas() {
        m=$(blob "$STORE" "$IMG_DIGEST")
        "$VALIDATE" manifest "$m"
        "$VALIDATE" config "$(blob "$STORE" "$(json_get "$m" "['config']['digest']")")"
        "$VALIDATE" index "$STORE/index.json" "$T_TMP/pulled/index.json"
        "$VALIDATE" layout "$STORE/oci-layout"
        # what the registry serves is what was validated
        curl -sf -H "Accept: application/vnd.oci.image.manifest.v1+json" \
                "http://$PLAIN/v2/test/img/manifests/v1" >"$T_TMP/served.json"
        cmp "$T_TMP/served.json" "$m"
        "$VALIDATE" manifest "$T_TMP/served.json"
}

t_skopeo_umoci_read_it() {
        skopeo inspect --tls-verify=false "docker://$PLAIN/test/img:v1" >"$T_TMP/inspect.json"
        [ "$(json_get "$T_TMP/inspect.json" "['Digest']")" = "$IMG_DIGEST" ] || fail "skopeo sees another digest"
        [ "$(json_get "$T_TMP/inspect.json" "['Architecture']")" = amd64 ]
        skopeo copy -q --src-tls-verify=false "docker://$PLAIN/test/img:v1" "oci:$T_TMP/sk:v1"
        umoci unpack --rootless --image "$T_TMP/sk:v1" "$T_TMP/bundle" >/dev/null
        cmp /bin/busybox "$T_TMP/bundle/rootfs/bin/busybox"
        grep -q hello-from-hoist "$T_TMP/bundle/config.json"
        # hoist's own stores are OCI layouts those tools read by tag
        skopeo inspect "oci:$T_TMP/pulled:$PLAIN/test/img:v1" | grep_q "$IMG_DIGEST"
        umoci unpack --rootless --image "$STORE:img:v1" "$T_TMP/bundle2" >/dev/null
        cmp /bin/busybox "$T_TMP/bundle2/rootfs/bin/busybox"
}

t_second_push_uploads_nothing() {
        push img:v1 "$PLAIN/test/img:v1" 2>"$T_TMP/again.err" >/dev/null
        grep -q "2 blobs, 0 uploaded (0 B), 2 already there;" "$T_TMP/again.err" || fail "$(cat "$T_TMP/again.err")"
}

t_cross_repo_mount() {
        push img:v1 "$PLAIN/other/img:v2" 2>"$T_TMP/mount.err" >/dev/null
        grep -q "2 blobs, 0 uploaded (0 B), 0 already there, 2 mounted;" "$T_TMP/mount.err" || fail "$(cat "$T_TMP/mount.err")"
        skopeo inspect --tls-verify=false "docker://$PLAIN/other/img:v2" | grep_q "$IMG_DIGEST"
}

# A 3 MiB layer in 1 MB PATCHes, through a proxy that logs what it saw.
t_chunked_upload() {
        mkdir -p "$T_TMP/big/bin"
        cp /bin/busybox "$T_TMP/big/bin/"
        head -c 3145728 /dev/urandom >"$T_TMP/big/data"
        "$OCITOOL" mkimage "$STORE" big:v1 "$T_TMP/big" /bin/busybox true >/dev/null
        python3 "$T_ROOT/tests/peers/flaky_proxy.py" --upstream "${PLAIN#*:}" --fail 0 \
                --log "$T_TMP/chunk.log" --port-file "$T_TMP/chunk.port" &
        echo $! >>"$T_TMP/pids"
        wait_for 10 test -s "$T_TMP/chunk.port"
        HOIST_REGISTRY_CHUNK_SIZE=1000000 push -q big:v1 "127.0.0.1:$(cat "$T_TMP/chunk.port")/test/big:v1" >/dev/null
        [ "$(grep -c '^PATCH .* 202$' "$T_TMP/chunk.log")" -ge 4 ] || fail "no chunks: $(cat "$T_TMP/chunk.log")"
        skopeo copy -q --src-tls-verify=false "docker://$PLAIN/test/big:v1" "oci:$T_TMP/sk:big"
        umoci unpack --rootless --image "$T_TMP/sk:big" "$T_TMP/bigbundle" >/dev/null
        cmp "$T_TMP/big/data" "$T_TMP/bigbundle/rootfs/data"
}

start_proxy() { # NAME UPSTREAM_PORT ARGS...: sets PROXY (host:port); log in $T_TMP/NAME.log
        python3 "$T_ROOT/tests/peers/flaky_proxy.py" --upstream "$2" --fail 0 "${@:3}" \
                --log "$T_TMP/$1.log" --port-file "$T_TMP/$1.port" &
        echo $! >>"$T_TMP/pids"
        wait_for 10 test -s "$T_TMP/$1.port"
        PROXY=127.0.0.1:$(cat "$T_TMP/$1.port")
}

big_layer_size() { json_get "$(blob "$STORE" "$(hoist_resolve big:v1)")" "['layers'][0]['size']"; }
hoist_resolve() { python3 -c "import json,sys; print([m['digest'] for m in json.load(open('$STORE/index.json'))['manifests'] if m['annotations']['org.opencontainers.image.ref.name']==sys.argv[1]][0])" "$1"; }

t_chunk_fallback() {
        start_proxy nochunk "${PLAIN#*:}" --reject-patch
        HOIST_REGISTRY_CHUNK_SIZE=1000000 push -q big:v1 "$PROXY/fallback/big:v1" >/dev/null
        grep -q '^PATCH .* 416$' "$T_TMP/nochunk.log" || fail "no PATCH was tried: $(cat "$T_TMP/nochunk.log")"
        [ "$(grep -c '^PUT /v2/fallback/big/blobs/uploads/.* 201$' "$T_TMP/nochunk.log")" = 2 ] || fail "$(cat "$T_TMP/nochunk.log")"
        skopeo copy -q --src-tls-verify=false "docker://$PLAIN/fallback/big:v1" "oci:$T_TMP/sk:fb"
}

t_chunk_min_length() {
        start_proxy chunkmin "${PLAIN#*:}" --chunk-min 2000000
        HOIST_REGISTRY_CHUNK_SIZE=1000000 push -q big:v1 "$PROXY/chunkmin/big:v1" >/dev/null
        size=$(big_layer_size)
        want=$(((size + 1999999) / 2000000))
        [ "$(grep -c '^PATCH .* 202$' "$T_TMP/chunkmin.log")" = "$want" ] ||
                fail "want $want PATCHes of 2000000 bytes for $size: $(grep PATCH "$T_TMP/chunkmin.log")"
}

# The registry sends blob GETs to "storage" on another host name: the
# Authorization header stays behind, and the signed URL stays out of messages.
t_redirect_drops_auth() {
        start_proxy redirect "$(cat "$T_TMP/basic/port")" --redirect-blobs
        docker_login "${PROXY#*:}" alice 's3cret pass'
        [ "$(hoist pull -q --store "$T_TMP/pr" "$PROXY/test/img:v1")" = "$IMG_DIGEST" ]
        [ "$(grep -c '^GET .* 307$' "$T_TMP/redirect.log")" = 2 ] || fail "$(cat "$T_TMP/redirect.log")"
        [ "$(grep -c '^STORAGE auth=no$' "$T_TMP/redirect.log")" = 2 ] || fail "$(cat "$T_TMP/redirect.log")"
        if grep -q 'auth=yes' "$T_TMP/redirect.log"; then fail "Authorization went to storage"; fi
}

t_survives_503() {
        python3 "$T_ROOT/tests/peers/flaky_proxy.py" --upstream "${PLAIN#*:}" --fail 2 \
                --log "$T_TMP/flaky.log" --port-file "$T_TMP/flaky.port" &
        echo $! >>"$T_TMP/pids"
        wait_for 10 test -s "$T_TMP/flaky.port"
        push -q img:v1 "127.0.0.1:$(cat "$T_TMP/flaky.port")/flaky/img:v1" >/dev/null
        [ "$(grep -c '^PUT /v2/flaky/img/blobs/uploads/.* 503$' "$T_TMP/flaky.log")" = 2 ] || fail "$(cat "$T_TMP/flaky.log")"
        [ "$(grep -c '^PUT /v2/flaky/img/blobs/uploads/.* 201$' "$T_TMP/flaky.log")" = 2 ] || fail "$(cat "$T_TMP/flaky.log")"
        skopeo inspect --tls-verify=false "docker://$PLAIN/flaky/img:v1" | grep_q "$IMG_DIGEST"
}

t_docker_v2s2_pull() {
        skopeo copy -q --dest-tls-verify=false --format v2s2 "oci:$T_TMP/sk:v1" "docker://$PLAIN/test/docker:v1"
        hoist pull -q --store "$T_TMP/pulled-d" "$PLAIN/test/docker:v1" >"$T_TMP/d.digest"
        grep -q application/vnd.docker.distribution.manifest.v2+json "$T_TMP/pulled-d/index.json"
        m=$(blob "$T_TMP/pulled-d" "$(cat "$T_TMP/d.digest")")
        json_get "$m" "['mediaType']" | grep_q docker
        # by digest too
        hoist pull -q --store "$T_TMP/pulled-d2" "$PLAIN/test/docker@$(cat "$T_TMP/d.digest")" >/dev/null
}

t_basic_auth() {
        start_registry basic basic alice 's3cret pass'
        out=$(push img:v1 "127.0.0.1:$PORT/test/img:v1" 2>&1) && fail "pushed without credentials"
        grep -q "requires authentication.*podman login 127.0.0.1:$PORT" <<<"$out" || fail "$out"
        docker_login "$PORT" alice wrong-password
        out=$(push img:v1 "127.0.0.1:$PORT/test/img:v1" 2>&1) && fail "pushed with a wrong password"
        grep -q "401 unauthorized.*'127.0.0.1:$PORT'.*log in again" <<<"$out" || fail "$out"
        if grep -q wrong-password <<<"$out"; then fail "the password is in the error"; fi
        docker_login "$PORT" alice 's3cret pass'
        [ "$(push -q img:v1 "127.0.0.1:$PORT/test/img:v1")" = "$IMG_DIGEST" ]
        [ "$(hoist pull -q --store "$T_TMP/pb" "127.0.0.1:$PORT/test/img:v1")" = "$IMG_DIGEST" ]
        skopeo inspect --tls-verify=false --creds 'alice:s3cret pass' "docker://127.0.0.1:$PORT/test/img:v1" | grep_q "$IMG_DIGEST"
}

t_cred_helper() {
        port=$(cat "$T_TMP/basic/port")
        mkdir -p "$T_TMP/helper-bin" "$DOCKER_CONFIG"
        cat >"$T_TMP/helper-bin/docker-credential-hoisttest" <<HELPER
#!/bin/sh
read server
[ "\$1" = get ] && [ "\$server" = "127.0.0.1:$port" ] || { echo "credentials not found in native keychain"; exit 1; }
echo '{"ServerURL":"127.0.0.1:$port","Username":"alice","Secret":"s3cret pass"}'
HELPER
        chmod +x "$T_TMP/helper-bin/docker-credential-hoisttest"
        echo '{"credHelpers":{"127.0.0.1:'"$port"'":"hoisttest"}}' >"$DOCKER_CONFIG/config.json"
        PATH=$T_TMP/helper-bin:$PATH push -q img:v1 "127.0.0.1:$port/helper/img:v1" >/dev/null
        echo '{"credsStore":"hoisttest"}' >"$DOCKER_CONFIG/config.json"
        PATH=$T_TMP/helper-bin:$PATH hoist pull -q --store "$T_TMP/ph" "127.0.0.1:$port/helper/img:v1" >/dev/null
        # containers' auth.json comes first
        rm "$DOCKER_CONFIG/config.json"
        mkdir -p "$XDG_RUNTIME_DIR/containers"
        printf '{"auths":{"127.0.0.1:%s":{"auth":"%s"}}}\n' "$port" "$(printf 'alice:s3cret pass' | base64 -w0)" \
                >"$XDG_RUNTIME_DIR/containers/auth.json"
        hoist pull -q --store "$T_TMP/px" "127.0.0.1:$port/helper/img:v1" >/dev/null
        rm "$XDG_RUNTIME_DIR/containers/auth.json"
}

t_token_auth() {
        start_registry token token bob 'tok pass'
        tok=127.0.0.1:$PORT
        out=$(push img:v1 "$tok/test/img:v1" 2>&1) && fail "pushed without credentials"
        grep -q "requires authentication" <<<"$out" || fail "$out"
        docker_login "$PORT" bob nope-nope
        out=$(push img:v1 "$tok/test/img:v1" 2>&1) && fail "pushed with a wrong password"
        grep -q "token server .* 401 unauthorized.*'$tok'.*log in again" <<<"$out" || fail "$out"
        if grep -q nope-nope <<<"$out"; then fail "the password is in the error"; fi
        docker_login "$PORT" bob 'tok pass'
        [ "$(push -q img:v1 "$tok/test/img:v1")" = "$IMG_DIGEST" ]
        push img:v1 "$tok/second/img:v1" 2>"$T_TMP/tm.err" >/dev/null
        grep -q "2 mounted" "$T_TMP/tm.err" || fail "no mount behind tokens: $(cat "$T_TMP/tm.err")"
        grep "scopes=repository:second/img:pull,push .*status=200" "$T_TMP/token/token.log" |
                grep_q "repository:test/img:pull" ||
                fail "mount scope not asked: $(cat "$T_TMP/token/token.log")"
        [ "$(hoist pull -q --store "$T_TMP/pt" "$tok/second/img:v1")" = "$IMG_DIGEST" ]
        skopeo inspect --tls-verify=false --creds 'bob:tok pass' "docker://$tok/second/img:v1" | grep_q "$IMG_DIGEST"
}

# Tokens whose JWT expires 2 s after issue (the registry allows 60 s of
# skew) while expires_in says 300 s: uploads delayed by 503s (3.5 s of
# backoff) meet a 401 with a fresh challenge, get a new token and are replayed.
t_token_expiry_replay() {
        TOKEN_JWT_TTL=-58 start_registry short token carol 'c pass'
        docker_login "$PORT" carol 'c pass'
        python3 "$T_ROOT/tests/peers/flaky_proxy.py" --upstream "$PORT" --fail 3 \
                --log "$T_TMP/exp.log" --port-file "$T_TMP/exp.port" &
        echo $! >>"$T_TMP/pids"
        wait_for 10 test -s "$T_TMP/exp.port"
        docker_login "$(cat "$T_TMP/exp.port")" carol 'c pass'
        HOIST_REGISTRY_RETRIES=5 push -q -j 1 img:v1 "127.0.0.1:$(cat "$T_TMP/exp.port")/exp/img:v1" >/dev/null
        grep -q ' 401$' "$T_TMP/exp.log" || fail "no request met an expired token: $(cat "$T_TMP/exp.log")"
        [ "$(grep -c 'status=200' "$T_TMP/short/token.log")" -ge 2 ] || fail "one token only: $(cat "$T_TMP/short/token.log")"
        [ "$(grep -c '^PUT /v2/exp/img/blobs/uploads/.* 201$' "$T_TMP/exp.log")" = 2 ] || fail "$(cat "$T_TMP/exp.log")"
}

# An index of two images: pushed whole, pulled as its linux/amd64 image.
t_index() {
        mkdir -p "$T_TMP/arm/bin"
        echo arm >"$T_TMP/arm/bin/marker"
        "$OCITOOL" mkimage "$STORE" arm:v1 "$T_TMP/arm" /bin/true >/dev/null
        idx=$("$OCITOOL" mkindex "$STORE" multi:v1 arm:v1=linux/arm64 img:v1=linux/amd64)
        [ "$(push -q multi:v1 "$PLAIN/test/multi:v1")" = "$idx" ]
        skopeo inspect --raw --tls-verify=false "docker://$PLAIN/test/multi:v1" | grep_q image.index.v1
        "$VALIDATE" index "$(blob "$STORE" "$idx")"
        [ "$(hoist pull -q --store "$T_TMP/pi" "$PLAIN/test/multi:v1")" = "$IMG_DIGEST" ] || fail "not the amd64 image"
        # by the index's digest too
        out=$(hoist pull -q --store "$T_TMP/pi2" "$PLAIN/test/multi@$idx" 2>&1)
        [ "$out" = "$IMG_DIGEST" ] || fail "$out"
}

t_podman_runs_pushed_image() {
        name=$PLAIN/podman/img:$$
        push -q img:v1 "$name" >/dev/null
        # podman as it runs for its own tests: its own credentials, if any
        pm() { env -u REGISTRY_AUTH_FILE -u DOCKER_CONFIG XDG_RUNTIME_DIR="$ORIG_XDG" podman "$@"; }
        trap "pm rmi -f '$name' >/dev/null 2>&1" EXIT
        pm pull -q --tls-verify=false "$name" >/dev/null
        out=$(pm run --rm "$name")
        [ "$out" = hello-from-hoist ] || fail "podman run printed '$out'"
}

t_errors_name_input() {
        out=$(hoist pull -q --store "$T_TMP/pe" "$PLAIN/test/img:nosuchtag" 2>&1) && fail "pulled a missing tag"
        grep -q "no image '$PLAIN/test/img:nosuchtag'" <<<"$out" || fail "$out"
        out=$(push img:nope "$PLAIN/test/img:v1" 2>&1) && fail "pushed a missing image"
        grep -q "no image 'img:nope' in the image store" <<<"$out" || fail "$out"
        out=$(hoist push --store "$STORE" img:v1 "example.invalid/x:y" 2>&1) && fail "pushed to nowhere"
        grep -q "https://example.invalid" <<<"$out" || fail "not https for a remote host: $out"
        out=$(hoist push --store "$STORE" img:v1 "Bad/Repo" 2>&1) && fail "accepted an uppercase repo"
        grep -q "invalid repository" <<<"$out" || fail "$out"
}

# ---- per-blob progress ----

HOIST_CMD=$HOIST_BIN/hoist
[ "${HOIST_VALGRIND:-0}" != 1 ] || HOIST_CMD=$T_TMP/vg-hoist
# What a terminal shows after the bytes of FILE (\r, \n, ESC[nA, ESC[K).
screen() {
        python3 - "$1" <<'PY'
import re, sys
data = open(sys.argv[1], encoding="utf-8", errors="replace", newline="").read()
lines, row, col = [[]], 0, 0
for m in re.finditer(r"\x1b\[(\d*)([A-Za-z])|\r|\n|[^\x1b\r\n]", data):
    t = m.group(0)
    while len(lines) <= row:
        lines.append([])
    if t == "\r":
        col = 0
    elif t == "\n":
        row += 1
    elif t.startswith("\x1b"):
        if m.group(2) == "A":
            row = max(0, row - int(m.group(1) or 1))
        elif m.group(2) == "K":
            del lines[row][col:]
        else:
            sys.exit("unexpected escape " + repr(t))
    else:
        lines[row][col:col + 1] = [t] if col <= len(lines[row]) else [" "] * (col - len(lines[row])) + [t]
        col += 1
print("\n".join(s for s in ("".join(l) for l in lines) if s))
PY
}
# on_pty FILE CMD...: runs CMD on a pseudo-terminal, what it showed in FILE.
on_pty() {
        local out=$1 cmd="" a
        shift
        for a in "$@"; do cmd+=" $(printf %q "$a")"; done
        script -qfec "$cmd" /dev/null >"$out" </dev/null
}
# The short digests ("sha256:" and 12 hex digits) of the config and layers of image REF in $STORE.
short_blobs() {
        python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print('\n'.join(d['digest'][:19] for d in [m['config']]+m['layers']))" \
                "$(blob "$STORE" "$(hoist_resolve "$1")")"
}
# blob_states VERB SHORT FILE: the states one blob went through in FILE, one line each.
blob_states() { grep "^$1: $2 " "$3" | awk '{print $NF}' | tr '\n' ' '; }
# A fresh image NAME:v1 whose blobs no registry has: busybox and 2 MiB of noise.
fresh_image() {
        mkdir -p "$T_TMP/$1/bin"
        cp /bin/busybox "$T_TMP/$1/bin/"
        head -c 2097152 /dev/urandom >"$T_TMP/$1/data"
        "$OCITOOL" mkimage "$STORE" "$1:v1" "$T_TMP/$1" /bin/busybox true
}

t_progress_tty() {
        dg=$(fresh_image pg)
        short_blobs pg:v1 >"$T_TMP/pg.blobs"
        n=$(wc -l <"$T_TMP/pg.blobs")
        [ "$n" -ge 2 ] || fail "$n blobs"
        on_pty "$T_TMP/pg1.raw" "$HOIST_CMD" push --store "$STORE" pg:v1 "$PLAIN/prog/pg:v1" ||
                { cat -A "$T_TMP/pg1.raw"; fail "push on a pty failed"; }
        screen "$T_TMP/pg1.raw" >"$T_TMP/pg1.screen"
        cat "$T_TMP/pg1.screen"
        grep -q $'\033\\[K' "$T_TMP/pg1.raw" || fail "no line redrawn in place: $(cat -A "$T_TMP/pg1.raw")"
        # one line per blob, in place: as many blob lines as blobs, each pushed
        [ "$(grep -Ec '^sha256:[0-9a-f]{12}  ' "$T_TMP/pg1.screen")" = "$n" ] || fail "not one line per blob"
        while read -r d; do
                grep -Eqx "$d +[0-9.]+ [KMG]?i?B  pushed" "$T_TMP/pg1.screen" || fail "no 'pushed' line for $d"
        done <"$T_TMP/pg.blobs"
        grep -Eqx "pushed $PLAIN/prog/pg:v1: $n blobs, $n uploaded \([0-9.]+ [KM]iB\), 0 already there; digest $dg" \
                "$T_TMP/pg1.screen" || fail "summary"
        grep -qx "$dg" "$T_TMP/pg1.screen" || fail "no digest printed"
        # again: the registry has every blob
        on_pty "$T_TMP/pg2.raw" "$HOIST_CMD" push --store "$STORE" pg:v1 "$PLAIN/prog/pg:v1"
        screen "$T_TMP/pg2.raw" >"$T_TMP/pg2.screen"
        cat "$T_TMP/pg2.screen"
        [ "$(grep -Ec '^sha256:[0-9a-f]{12}  ' "$T_TMP/pg2.screen")" = "$n" ] || fail "not one line per blob"
        while read -r d; do
                grep -Eqx "$d +[0-9.]+ [KMG]?i?B  exists" "$T_TMP/pg2.screen" || fail "no 'exists' line for $d"
        done <"$T_TMP/pg.blobs"
        grep -q "^pushed $PLAIN/prog/pg:v1: $n blobs, 0 uploaded (0 B), $n already there; digest $dg" \
                "$T_TMP/pg2.screen" || fail "summary of the second push"
        # a pull shows downloads, verified, done
        on_pty "$T_TMP/pg3.raw" "$HOIST_CMD" pull --store "$T_TMP/pg-pulled" "$PLAIN/prog/pg:v1"
        screen "$T_TMP/pg3.raw" >"$T_TMP/pg3.screen"
        cat "$T_TMP/pg3.screen"
        while read -r d; do
                grep -Eqx "$d +[0-9.]+ [KMG]?i?B  done" "$T_TMP/pg3.screen" || fail "no 'done' line for $d"
        done <"$T_TMP/pg.blobs"
        grep -q "^pulled $PLAIN/prog/pg:v1: $n blobs, $n downloaded (.*), 0 already here; digest $dg" \
                "$T_TMP/pg3.screen" || fail "summary of the pull"
        # -q: the digest only
        on_pty "$T_TMP/pg4.raw" "$HOIST_CMD" push -q --store "$STORE" pg:v1 "$PLAIN/prog/pg:v1"
        [ "$(screen "$T_TMP/pg4.raw")" = "$dg" ] || fail "-q printed: $(cat -A "$T_TMP/pg4.raw")"
}

t_progress_off_tty() {
        fresh_image pl >/dev/null
        short_blobs pl:v1 >"$T_TMP/pl.blobs"
        n=$(wc -l <"$T_TMP/pl.blobs")
        # HOIST_PROGRESS=lines: a line per change of state, none per byte
        HOIST_PROGRESS=lines push pl:v1 "$PLAIN/prog/pl:v1" 2>"$T_TMP/pl1.err" >/dev/null
        cat "$T_TMP/pl1.err"
        while read -r d; do
                [ "$(blob_states push "$d" "$T_TMP/pl1.err")" = "waiting uploading pushed " ] ||
                        fail "$d: $(blob_states push "$d" "$T_TMP/pl1.err")"
        done <"$T_TMP/pl.blobs"
        [ "$(wc -l <"$T_TMP/pl1.err")" = $((3 * n + 1)) ] || fail "not 3 lines per blob and a summary"
        HOIST_PROGRESS=lines push pl:v1 "$PLAIN/prog/pl:v1" 2>"$T_TMP/pl2.err" >/dev/null
        while read -r d; do
                [ "$(blob_states push "$d" "$T_TMP/pl2.err")" = "waiting exists " ] ||
                        fail "$d: $(blob_states push "$d" "$T_TMP/pl2.err")"
        done <"$T_TMP/pl.blobs"
        HOIST_PROGRESS=lines hoist pull --store "$T_TMP/pl-pulled" "$PLAIN/prog/pl:v1" 2>"$T_TMP/pl3.err" >/dev/null
        cat "$T_TMP/pl3.err"
        while read -r d; do
                [ "$(blob_states pull "$d" "$T_TMP/pl3.err")" = "waiting downloading verified done " ] ||
                        fail "$d: $(blob_states pull "$d" "$T_TMP/pl3.err")"
        done <"$T_TMP/pl.blobs"
        [ "$(wc -l <"$T_TMP/pl3.err")" = $((4 * n + 1)) ] || fail "not 4 lines per blob and a summary"
        # by default: the summary only
        push pl:v1 "$PLAIN/prog/pl:v2" 2>"$T_TMP/pl4.err" >/dev/null
        [ "$(wc -l <"$T_TMP/pl4.err")" = 1 ] && grep -q "^pushed $PLAIN/prog/pl:v2: $n blobs, " "$T_TMP/pl4.err" ||
                fail "$(cat "$T_TMP/pl4.err")"
        hoist pull --store "$T_TMP/pl-pulled2" "$PLAIN/prog/pl:v1" 2>"$T_TMP/pl5.err" >/dev/null
        [ "$(wc -l <"$T_TMP/pl5.err")" = 1 ] && grep -q "^pulled $PLAIN/prog/pl:v1: $n blobs, $n downloaded" "$T_TMP/pl5.err" ||
                fail "$(cat "$T_TMP/pl5.err")"
        # -q: nothing but the digest, whatever HOIST_PROGRESS says
        [ "$(HOIST_PROGRESS=lines push -q pl:v1 "$PLAIN/prog/pl:v3" 2>&1)" = "$(hoist_resolve pl:v1)" ] ||
                fail "-q printed more than the digest"
}

# A CA in DIR/ca.crt and DIR/reg.{crt,key}, signed by it, for 127.0.0.1,
# localhost and the names given.
make_tls() { # DIR [NAME...]
        local d=$1 san="IP:127.0.0.1,DNS:localhost" n
        shift
        for n in "$@"; do san="$san,DNS:$n"; done
        mkdir -p "$d"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.crt" -days 2 \
                -subj /CN=hoist-test-ca 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout "$d/reg.key" -out "$d/reg.csr" \
                -subj /CN=hoist-test-registry 2>/dev/null
        echo "subjectAltName=$san" >"$d/ext"
        openssl x509 -req -in "$d/reg.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
                -extfile "$d/ext" -out "$d/reg.crt" 2>/dev/null
}

# This machine's name when /etc/hosts gives it 127.0.0.1: a name hoist does
# not take for loopback (https only), reaching nothing but 127.0.0.1.
loopback_name() {
        local n
        n=$(hostname)
        [ "$(getent ahostsv4 "$n" | awk 'NR == 1 {print $1}')" = 127.0.0.1 ] && echo "$n"
        return 0
}

push_pull() { # HOST TAG: a round trip through HOST
        local d
        d=$(push img:v1 "$1/tls/img:$2" 2>"$T_TMP/tls.err") || fail "push to $1: $(cat "$T_TMP/tls.err")"
        [ "$d" = "$IMG_DIGEST" ] || fail "pushed $d to $1"
        d=$(hoist pull -q --store "$T_TMP/tlspull" "$1/tls/img:$2" 2>"$T_TMP/tls.err") ||
                fail "pull from $1: $(cat "$T_TMP/tls.err")"
        [ "$d" = "$IMG_DIGEST" ] || fail "pulled $d from $1"
}

# docker-registry serving TLS on 127.0.0.1: hoist tries https first on
# loopback, as Docker does (it spoke plain http and got "HTTP 400").
t_tls_registry() {
        local name out
        name=$(loopback_name)
        make_tls "$T_TMP/tls" $name
        TLS_CERT=$T_TMP/tls/reg.crt TLS_KEY=$T_TMP/tls/reg.key start_registry tls none
        # hoist reads CURL_CA_BUNDLE first, then SSL_CERT_FILE
        export SSL_CERT_FILE=$T_TMP/tls/ca.crt
        unset CURL_CA_BUNDLE
        push_pull "127.0.0.1:$PORT" v1
        push_pull "localhost:$PORT" v2
        if [ -n "$name" ]; then
                push_pull "$name:$PORT" v3 # not loopback to hoist: https only
        else
                echo "no name but localhost has 127.0.0.1 in /etc/hosts: the non-loopback case is not run"
        fi
        # the CA is not given: a clear error, on loopback and off it
        for h in "127.0.0.1:$PORT" ${name:+"$name:$PORT"}; do
                out=$(CURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt push img:v1 "$h/tls/img:v9" 2>&1) &&
                        fail "pushed to $h with an untrusted certificate"
                grep -q "https://$h/v2/: .*certificate is not trusted.*SSL_CERT_FILE" <<<"$out" || fail "$out"
        done
}

# A TLS registry that https cannot reach (it wants a client certificate):
# hoist falls back to plain http, and the 400 it gets says https.
t_tls_plain_http_400() {
        local out
        make_tls "$T_TMP/mtls"
        TLS_CERT=$T_TMP/mtls/reg.crt TLS_KEY=$T_TMP/mtls/reg.key TLS_CLIENT_CA=$T_TMP/mtls/ca.crt \
                start_registry mtls none
        out=$(CURL_CA_BUNDLE=$T_TMP/mtls/ca.crt push img:v1 "127.0.0.1:$PORT/tls/img:v1" 2>&1) &&
                fail "pushed without a client certificate"
        grep -q "registry '127.0.0.1:$PORT' serves https, not plain http (it answered HTTP 400 to http://127.0.0.1:$PORT/v2/), and https failed: " <<<"$out" ||
                fail "$out"
}

t_run "push and pull round trip, no auth" t_round_trip
t_run "a TLS registry on 127.0.0.1 and localhost (https first), and off loopback; untrusted CA: clear error" t_tls_registry
t_run "plain http to a TLS registry: the error says it serves https" t_tls_plain_http_400
t_run "manifests, configs, index.json validate against the OCI JSON Schemas" t_schemas
t_run "skopeo inspect/copy and umoci unpack read what hoist pushed" t_skopeo_umoci_read_it
t_run "a second push uploads 0 blobs (HEAD)" t_second_push_uploads_nothing
t_run "a push to a second repository mounts the blobs" t_cross_repo_mount
t_run "chunked upload (PATCH + Content-Range) round-trips a 3 MiB layer" t_chunked_upload
t_run "a registry answering 503 twice to a blob upload is survived" t_survives_503
t_run "a registry refusing chunks gets one PUT instead" t_chunk_fallback
t_run "OCI-Chunk-Min-Length raises the chunk size" t_chunk_min_length
t_run "pull of a Docker v2 schema 2 manifest, by tag and by digest" t_docker_v2s2_pull
t_run "htpasswd Basic: no creds, wrong password (clear 401), right password" t_basic_auth
t_run "credHelpers, credsStore and containers auth.json" t_cred_helper
t_run "a blob redirect to another host gets no Authorization" t_redirect_drops_auth
t_run "Bearer token server: wrong password (clear 401), push, mount, pull" t_token_auth
t_run "an expired token: 401, new token, request replayed" t_token_expiry_replay
t_run "an image index: pushed whole, pulled as linux/amd64" t_index
t_run "podman pulls and runs a pushed busybox image" t_podman_runs_pushed_image
t_run "errors name the input and what to do" t_errors_name_input
t_run "on a terminal: a line per blob redrawn in place (pushed, exists, done), -q silent" t_progress_tty
t_run "off a terminal: the summary only; HOIST_PROGRESS=lines: a line per blob state" t_progress_off_tty
t_finish
