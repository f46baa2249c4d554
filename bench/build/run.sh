#!/usr/bin/env bash
# bench/build/run.sh: `hoist build` + `hoist push` against `buildah bud` +
# `buildah push`, to the same docker-registry on loopback, on one context: a
# data directory of BENCH_DATA_MB (200) MB in a few big files plus
# BENCH_FILES (3000) small source files, FROM scratch, three COPY steps.
#
#   bench/build/run.sh                                  200 MB + 3000 files
#   BENCH_DATA_MB=50 BENCH_FILES=500 bench/build/run.sh quick
#
# Two timed steps per tool:
#   cold: build with an empty cache and store, then push to an empty repo;
#   warm: change one small file, rebuild, push again; the bytes the
#         registry's storage gained show what the warm push sent.
# Both run once per compression in BENCH_COMPRESSIONS ("gzip zstd").
# buildah runs with its own storage in a temp dir (CONTAINERS_STORAGE_CONF),
# the repo's containers.conf, --isolation chroot, --layers (its cache),
# and pushes with --tls-verify=false --compression-format COMP.
# Knobs: BENCH_DATA_MB, BENCH_FILES, BENCH_TMP (/tmp), BENCH_HOIST_BIN (the
# directory holding hoist; default bin/), BENCH_RESULTS (default
# bench/build/results-<date>.tsv).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA_MB=${BENCH_DATA_MB:-200}
FILES=${BENCH_FILES:-3000}
HOIST_BIN=${BENCH_HOIST_BIN:-$ROOT/bin}
HOIST=$HOIST_BIN/hoist
STAMP=$(date +%Y%m%d-%H%M%S)
RESULTS=${BENCH_RESULTS:-$ROOT/bench/build/results-$STAMP.tsv}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/containers.conf}

die() { echo "bench/build: $*" >&2; exit 1; }
log() { echo "bench/build: $*" >&2; }

[ -x "$HOIST" ] || die "'$HOIST' does not exist (make all, or set BENCH_HOIST_BIN)"
command -v buildah >/dev/null || die "buildah is missing (apt-get install buildah)"
command -v docker-registry >/dev/null || die "docker-registry is missing"

W=$(mktemp -d "${BENCH_TMP:-/tmp}/hoist-bench-build.XXXXXX")
cleanup() {
        local d
        "$ROOT/tests/peers/registry.sh" stop "$W/registry" >/dev/null 2>&1 || true
        for d in "$W"/buildah-*; do
                [ -d "$d/root" ] || continue
                buildah --root "$d/root" --runroot "$d/run" rmi -a -f >/dev/null 2>&1 || true
        done
        rm -rf "$W"
}
trap cleanup EXIT

"$ROOT/tests/peers/registry.sh" start "$W/registry" none >/dev/null
REG=127.0.0.1:$(cat "$W/registry/port")
log "registry at $REG, work dir $W"

# ---- the context ----
CTX=$W/ctx
mkdir -p "$CTX/data" "$CTX/src"
log "making ${DATA_MB} MB of data and $FILES small files"
# Incompressible-ish data: what a dataset or weights look like to gzip.
n_big=$(((DATA_MB + 49) / 50))
for ((i = 0; i < n_big; i++)); do
        mb=$((DATA_MB - i * 50))
        [ $mb -gt 50 ] && mb=50
        head -c $((mb * 1048576)) /dev/urandom >"$CTX/data/shard-$i.bin"
done
python3 - "$CTX/src" "$FILES" <<'EOF'
import os, sys, random
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(1)
for i in range(n):
    d = os.path.join(root, "pkg%02d" % (i % 30))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "mod%04d.py" % i), "w") as f:
        f.write("# module %d\n" % i)
        for j in range(rnd.randint(5, 60)):
            f.write("def f%d(x):\n    return x * %d + %d\n" % (j, rnd.randint(1, 99), j))
EOF
echo "print('train')" >"$CTX/train.py"
cat >"$CTX/Dockerfile" <<'EOF'
FROM scratch
COPY data/ /data/
COPY src/ /app/src/
COPY train.py /app/train.py
ENV PYTHONUNBUFFERED=1
WORKDIR /app
CMD ["python", "train.py"]
EOF
printf '%s\n' Dockerfile >"$CTX/.dockerignore"

touch_one() { echo "# changed $(date +%s%N)" >>"$CTX/src/pkg07/mod0007.py"; }

now() { date +%s.%N; }
secs() { python3 -c "print('%.2f' % ($2 - $1))"; }

reg_bytes() { du -sb "$W/registry/data" | cut -f1; }
ratio() { python3 -c "print('%.2fx' % ($1 / $2))"; }

# run_hoist COMP: sets h_cold_build h_cold h_warm h_warm_bytes h_warm_line
run_hoist() {
        local comp=$1 ref=$REG/bench/hoist-$1:1 t0 t1 t2 b0
        export HOIST_HOME=$W/hoist-home-$comp
        sync
        t0=$(now)
        "$HOIST" build -q --compression "$comp" -t "$ref" "$CTX" >/dev/null
        t1=$(now)
        "$HOIST" build --push -q --compression "$comp" -t "$ref" "$CTX" >"$W/hoist-push1.out" 2>&1 ||
                { cat "$W/hoist-push1.out"; die "hoist push failed"; }
        t2=$(now)
        h_cold_build=$(secs "$t0" "$t1")
        h_cold=$(secs "$t0" "$t2")
        touch_one
        sync
        b0=$(reg_bytes)
        t0=$(now)
        "$HOIST" build --push --compression "$comp" -t "$ref" "$CTX" >"$W/hoist-warm.out" 2>&1 ||
                { cat "$W/hoist-warm.out"; die "hoist warm build failed"; }
        t1=$(now)
        h_warm=$(secs "$t0" "$t1")
        h_warm_bytes=$(($(reg_bytes) - b0))
        h_warm_line=$(grep '^pushed ' "$W/hoist-warm.out" || true)
        log "hoist ($comp) warm: $h_warm_line"
}

# run_buildah COMP: sets b_cold_build b_cold b_warm b_warm_bytes
run_buildah() {
        local comp=$1 ref=$REG/bench/buildah-$1:1 t0 t1 t2 b0 d=$W/buildah-$1
        mkdir -p "$d"
        printf '[storage]\ndriver = "overlay"\nrunroot = "%s"\ngraphroot = "%s"\n' \
                "$d/run" "$d/root" >"$d/storage.conf"
        export CONTAINERS_STORAGE_CONF=$d/storage.conf
        local push=(buildah push --quiet --tls-verify=false --compression-format "$comp")
        local bud=(buildah bud --quiet --isolation chroot --layers)
        sync
        t0=$(now)
        "${bud[@]}" -t "$ref" "$CTX" >/dev/null
        t1=$(now)
        "${push[@]}" "$ref" "docker://$ref" >/dev/null
        t2=$(now)
        b_cold_build=$(secs "$t0" "$t1")
        b_cold=$(secs "$t0" "$t2")
        touch_one
        sync
        b0=$(reg_bytes)
        t0=$(now)
        "${bud[@]}" -t "$ref" "$CTX" >/dev/null
        "${push[@]}" "$ref" "docker://$ref" >/dev/null
        t1=$(now)
        b_warm=$(secs "$t0" "$t1")
        b_warm_bytes=$(($(reg_bytes) - b0))
        unset CONTAINERS_STORAGE_CONF
}

printf 'compression\tstep\thoist\tbuildah\tbuildah/hoist\n' >"$RESULTS"
for comp in ${BENCH_COMPRESSIONS:-gzip zstd}; do
        log "$comp: hoist"
        run_hoist "$comp"
        log "$comp: buildah"
        run_buildah "$comp"
        {
                printf '%s\tcold build (s)\t%s\t%s\t%s\n' "$comp" "$h_cold_build" "$b_cold_build" \
                        "$(ratio "$b_cold_build" "$h_cold_build")"
                printf '%s\tcold build+push (s)\t%s\t%s\t%s\n' "$comp" "$h_cold" "$b_cold" \
                        "$(ratio "$b_cold" "$h_cold")"
                printf '%s\twarm rebuild+push, 1 file changed (s)\t%s\t%s\t%s\n' "$comp" "$h_warm" \
                        "$b_warm" "$(ratio "$b_warm" "$h_warm")"
                printf '%s\twarm push: bytes the registry gained\t%s\t%s\t-\n' "$comp" \
                        "$h_warm_bytes" "$b_warm_bytes"
        } >>"$RESULTS"
done
column -t -s "$(printf '\t')" "$RESULTS"
echo "context: ${DATA_MB} MB of random data in $n_big files + $FILES small source files"
echo "results in $RESULTS"
