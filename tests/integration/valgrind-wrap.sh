#!/usr/bin/env bash
# valgrind-wrap.sh --make LOGDIR REAL WRAPPER: writes WRAPPER, a script that
#   runs REAL under valgrind (leaks and errors), logging to LOGDIR.
# valgrind-wrap.sh --check LOGDIR: fails, printing them, if any log has content.
# A process killed by SIGKILL writes no leak report; that is expected.
set -euo pipefail
case ${1:-} in
--make)
        mkdir -p "$2"
        cat >"$4" <<WRAP
#!/bin/sh
exec valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \\
        --errors-for-leak-kinds=definite,indirect --child-silent-after-fork=yes \\
        --log-file="$2/valgrind-%p.log" "$3" "\$@"
WRAP
        chmod +x "$4"
        ;;
--check)
        bad=$(find "$2" -name 'valgrind-*.log' -size +0 2>/dev/null || true)
        if [ -n "$bad" ]; then
                for f in $bad; do echo "== $f"; head -40 "$f"; done
                exit 1
        fi
        ;;
*)
        echo "usage: $0 --make LOGDIR REAL WRAPPER | --check LOGDIR" >&2
        exit 2
        ;;
esac
