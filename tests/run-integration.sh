#!/usr/bin/env bash
# run-integration.sh [SUITE...]: runs every tests/integration/test_*.sh (or
# those named) and adds up their "N passed, N failed" lines.
#
# A suite named MODE:PATH runs with other binaries:
#   valgrind:PATH  hoist and hoist-entrypoint under valgrind (HOIST_VALGRIND=1)
#   asan:PATH      the ASan+UBSan binaries of build-asan/ (make asan-integration
#                  builds them); containers still get build/'s bundle
#
# HOIST_TEST_LANES=N   runs up to N suites at once, in the order given (the
#                      longest first packs best); each suite's output is
#                      printed whole when it ends.  Default 1.
# HOIST_SUITE_TIMEOUT=S ends a suite still running after S seconds (SIGTERM,
#                      its cleanups run, SIGKILL a minute later) and counts it
#                      as failed, so a hang shows which suite it was instead of
#                      using up a CI run's time.  Default 1200.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/lib/tally.sh"
lanes=${HOIST_TEST_LANES:-1}
limit=${HOIST_SUITE_TIMEOUT:-1200}
case "$lanes" in '' | *[!0-9]* | 0) echo "HOIST_TEST_LANES='$lanes' is not a positive number" >&2; exit 2 ;; esac
case "$limit" in '' | *[!0-9]* | 0) echo "HOIST_SUITE_TIMEOUT='$limit' is not a positive number of seconds" >&2; exit 2 ;; esac

specs=("$@")
[ ${#specs[@]} -gt 0 ] || specs=("$here"/integration/test_*.sh)
for s in "${specs[@]}"; do
        p=${s#valgrind:}
        p=${p#asan:}
        [ -f "$p" ] || { echo "run-integration: no suite '$p'" >&2; exit 2; }
done

outs=$(mktemp -d /tmp/hoist-suites.XXXXXX)
declare -A running=() # pid of a suite's timeout -> its index in specs
stop_all() {
        local p
        # each lane's subshell, and the timeout it waits on (which passes the
        # signal to the suite's process group)
        for p in "${!running[@]}"; do pkill -TERM -P "$p" timeout 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
        for p in "${!running[@]}"; do wait "$p" 2>/dev/null; done
        rm -rf "$outs"
}
trap stop_all EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

label() { # SPEC: "test_x.sh", or "test_x.sh (valgrind)"
        case "$1" in
        valgrind:* | asan:*) echo "$(basename "${1#*:}") (${1%%:*})" ;;
        *) basename "$1" ;;
        esac
}

# run_suite SPEC OUT: the suite's output to OUT, "EXIT SECONDS" to OUT.rc.
# timeout puts the suite in a process group of its own and signals all of it.
run_suite() {
        local spec=$1 out=$2 path=${1#*:} start=$SECONDS rc
        local -a envs=()
        case "$spec" in
        valgrind:*) envs=(HOIST_VALGRIND=1) ;;
        asan:*)
                envs=(HOIST_BIN="$root/build-asan/bin" HOIST_BUILD="$root/build-asan"
                        HOIST_BUNDLE_DIR="${HOIST_ASAN_BUNDLE_DIR:-$root/build/bundle/opt/hoist}")
                ;;
        *) path=$spec ;;
        esac
        env "${envs[@]}" timeout -k 60 "$limit" bash "$path" >"$out" 2>&1 </dev/null
        rc=$?
        echo "$rc $((SECONDS - start))" >"$out.rc"
}

passed=0 failed=0
report() { # INDEX: prints a finished suite's output and adds its counts
        local i=$1 spec=${specs[$1]} out=$outs/$1 rc secs line p f
        read -r rc secs <"$out.rc" 2>/dev/null || { rc=1 secs=?; }
        echo "== $(label "$spec")"
        cat "$out"
        if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
                echo "not ok - $(label "$spec") ran past HOIST_SUITE_TIMEOUT=$limit s and was stopped"
        fi
        echo "-- $(label "$spec"): $secs s"
        line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
        p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
        f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
        passed=$((passed + ${p:-0}))
        failed=$((failed + ${f:-0}))
        if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
                [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] ||
                        echo "integration: $(label "$spec") exited $rc without reporting a failure"
                failed=$((failed + 1))
        fi
}

next=0
while [ "$next" -lt ${#specs[@]} ] || [ ${#running[@]} -gt 0 ]; do
        while [ "$next" -lt ${#specs[@]} ] && [ ${#running[@]} -lt "$lanes" ]; do
                [ "$lanes" -eq 1 ] || echo "== $(label "${specs[$next]}") started (lane $((${#running[@]} + 1)) of $lanes)"
                run_suite "${specs[$next]}" "$outs/$next" &
                running[$!]=$next
                next=$((next + 1))
        done
        done_pid=
        wait -n -p done_pid "${!running[@]}"
        [ -n "$done_pid" ] || continue
        report "${running[$done_pid]}"
        unset "running[$done_pid]"
done
tally_add "$passed" "$failed"
echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
