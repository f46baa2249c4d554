#!/usr/bin/env bash
# Runs every tests/integration/test_*.sh (or those named on the command line)
# and adds up their "N passed, N failed" lines.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/tally.sh"
passed=0 failed=0
scripts=("$@")
[ ${#scripts[@]} -gt 0 ] || scripts=("$here"/integration/test_*.sh)
for t in "${scripts[@]}"; do
        echo "== $(basename "$t")"
        start=$SECONDS
        out=$(bash "$t" 2>&1); rc=$?
        printf '%s\n' "$out"
        echo "-- $(basename "$t"): $((SECONDS - start)) s"
        line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
        p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
        f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
        passed=$((passed + ${p:-0}))
        failed=$((failed + ${f:-0}))
        if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
                echo "integration: $(basename "$t") exited $rc without reporting a failure"
                failed=$((failed + 1))
        fi
done
tally_add "$passed" "$failed"
echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
