#!/usr/bin/env bash
# Every test hoist has, in the order CI runs them, ending with one line
# "total: N passed, N failed".  Run as root on Debian 12 after scripts/deps.sh.
set -u
cd "$(dirname "$0")/.."
. tests/lib/tally.sh
HOIST_TALLY=$(mktemp /tmp/hoist-tally.XXXXXX)
export HOIST_TALLY
trap 'rm -f "$HOIST_TALLY"' EXIT
jobs=$(nproc 2>/dev/null || echo 2)

step() { # NAME COMMAND...: a step that is not a test suite counts as one test
        local name=$1
        shift
        local start=$SECONDS
        echo "==== $name"
        if "$@"; then tally_add 1 0; else echo "==== $name FAILED"; tally_add 0 1; fi
        echo "---- $name: $((SECONDS - start)) s (at $SECONDS s)"
}
suite() { # NAME COMMAND...: a suite adds its own counts; a suite that fails
        # without counting (it did not build, say) still counts as a failure
        local name=$1 before after start=$SECONDS
        shift
        echo "==== $name"
        before=$(awk '{f+=$2} END {print f+0}' "$HOIST_TALLY")
        if ! "$@"; then
                echo "==== $name FAILED"
                after=$(awk '{f+=$2} END {print f+0}' "$HOIST_TALLY")
                [ "$after" -gt "$before" ] || tally_add 0 1
        fi
        echo "---- $name: $((SECONDS - start)) s (at $SECONDS s)"
}

step "build (-Werror)" make -j"$jobs" all bundle
# The PyTorch suite's base image starts as a debootstrap root filesystem
# (minutes of downloading and unpacking on a new machine, cached after): it
# is made while the unit and sanitizer steps run, and test_pytorch.sh, which
# takes the same lock, waits for it or reports its failure.
rootfs_log=$(mktemp /tmp/hoist-rootfs.XXXXXX)
scripts/make-torch-rootfs.sh >/dev/null 2>"$rootfs_log" &
rootfs_pid=$!
trap '[ -z "$rootfs_pid" ] || { kill "$rootfs_pid"; wait "$rootfs_pid"; } 2>/dev/null; rm -f "$HOIST_TALLY" "$rootfs_log"' EXIT
suite "unit tests + fuzz corpus replay" make -j"$jobs" test
step "check-format" make check-format
step "analyze (cppcheck)" make analyze
suite "ASan+UBSan: unit tests + fuzz replay" make -j"$jobs" asan
# Every integration suite once: plainly, under valgrind or with ASan+UBSan
# binaries (Makefile: VALGRIND_SUITES, ASAN_SUITES), several at a time.
suite "integration (plain, valgrind, ASan+UBSan; make integration-ci)" make integration-ci

# its own line of how long it took (nothing when the tar was there already)
if wait "$rootfs_pid" 2>/dev/null; then grep -h '^make-torch-rootfs: .* in [0-9]* s$' "$rootfs_log"; else
        echo "make-torch-rootfs.sh (in the background):"; cat "$rootfs_log"; fi
rootfs_pid=
echo "total: $(tally_total "$HOIST_TALLY")"
awk '{f+=$2} END {exit f>0}' "$HOIST_TALLY"
