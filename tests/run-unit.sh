#!/usr/bin/env bash
# Runs each cmocka test binary given as an argument and counts test cases.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/tally.sh"
passed=0 failed=0 broken=()
for t in "$@"; do
        out=$("$t" 2>&1); rc=$?
        printf '%s\n' "$out"
        p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
        f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
        passed=$((passed + ${p:-0}))
        failed=$((failed + ${f:-0}))
        if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
                failed=$((failed + 1)); broken+=("$t (exit $rc)")
        fi
done
for b in "${broken[@]+"${broken[@]}"}"; do echo "unit: $b crashed"; done
tally_add "$passed" "$failed"
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
