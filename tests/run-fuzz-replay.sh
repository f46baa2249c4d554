#!/usr/bin/env bash
# Replays tests/data/fuzz/<target>/ through each fuzz target built with the
# replay main(); one test per target.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/tally.sh"
passed=0 failed=0
for t in "$@"; do
        name=$(basename "$t")
        corpus="$here/data/fuzz/${name#fuzz_}"
        if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus")" ]; then
                echo "fuzz: $name: no corpus in $corpus"; failed=$((failed + 1)); continue
        fi
        if "$t" "$corpus"; then passed=$((passed + 1)); else
                echo "fuzz: $name failed"; failed=$((failed + 1)); fi
done
tally_add "$passed" "$failed"
echo "fuzz-replay: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
