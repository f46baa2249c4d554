# Sourced by the test runners.  Each suite adds its counts to $HOIST_TALLY
# (a file of "passed failed" lines) so .ci/run can print one total.
tally_add() { # passed failed
        if [ -n "${HOIST_TALLY:-}" ]; then echo "$1 $2" >>"$HOIST_TALLY"; fi
}
tally_total() { # prints "N passed, N failed" for the whole file
        awk '{p+=$1; f+=$2} END {printf "%d passed, %d failed\n", p, f}' "$1"
}
