#!/usr/bin/env bash
# scripts/check-boundaries.sh (make check): lib/, providers/ and entrypoint/
# include only from the folders they may know.
. "$(dirname "$0")/lib.sh"

t_tree_clean() {
        "$T_ROOT/scripts/check-boundaries.sh" >"$T_TMP/out" 2>&1 ||
                fail "the tree crosses a boundary: $(cat "$T_TMP/out")"
}

# A tree with every folder's headers, and files including them.
mk_tree() { # DIR
        local d=$1 f
        mkdir -p "$d"/{lib,providers,entrypoint,runner/serve,runner/control}
        for f in lib/error.h lib/jobmodel.h providers/provider.h entrypoint/job.h runner/control/store.h \
                runner/serve/hooks.h; do
                echo '/* x */' >"$d/$f"
        done
}

t_flags_each_crossing() {
        local d=$T_TMP/bad n
        mk_tree "$d"
        cat >"$d/providers/slurm.c" <<'C'
#include <stdio.h>
#include "provider.h"
#include "jobmodel.h"
#include "runner/control/store.h"
#  include "../runner/serve/hooks.h"
#include <runner/control/store.h>
C
        cat >"$d/lib/x.c" <<'C'
#include "error.h"
#include "providers/provider.h"
#include "entrypoint/job.h"
#include "runner/control/store.h"
#include "../lib/jobmodel.h"
C
        cat >"$d/entrypoint/y.h" <<'C'
#include "job.h"
#include "error.h"
#include "providers/provider.h"
#include "runner/control/store.h"
C
        ! "$T_ROOT/scripts/check-boundaries.sh" "$d" >"$d/out" 2>&1 || fail "passed: $(cat "$d/out")"
        n=$(grep -c ': includes ' "$d/out") || true
        [ "$n" = 8 ] || fail "$n flagged, not 8: $(cat "$d/out")"
        for want in "providers/slurm.c:4: includes 'runner/control/store.h' from runner/" \
                "providers/slurm.c:5: includes '../runner/serve/hooks.h' from runner/" \
                "providers/slurm.c:6: includes 'runner/control/store.h' from runner/" \
                "lib/x.c:2: includes 'providers/provider.h' from providers/; lib/ may include only lib/" \
                "lib/x.c:3: includes 'entrypoint/job.h' from entrypoint/" \
                "lib/x.c:4: includes 'runner/control/store.h' from runner/" \
                "entrypoint/y.h:3: includes 'providers/provider.h' from providers/" \
                "entrypoint/y.h:4: includes 'runner/control/store.h' from runner/"; do
                grep -qF "$want" "$d/out" || fail "not flagged: $want: $(cat "$d/out")"
        done
        grep -q 'lib/jobmodel.h' "$d/out" || fail "no way out named: $(cat "$d/out")"
}

t_allows_own_and_lib() {
        local d=$T_TMP/good
        mk_tree "$d"
        printf '#include "provider.h"\n#include "jobmodel.h"\n#include <stdio.h>\n' >"$d/providers/a.c"
        printf '#include "job.h"\n#include "error.h"\n#include "../lib/jobmodel.h"\n' >"$d/entrypoint/b.c"
        printf '#include "runner/control/store.h"\n#include "providers/provider.h"\n' >"$d/runner/c.c"
        "$T_ROOT/scripts/check-boundaries.sh" "$d" >"$d/out" 2>&1 || fail "flagged: $(cat "$d/out")"
}

t_run "the tree: lib/, providers/, entrypoint/ include nothing across a boundary" t_tree_clean
t_run "check-boundaries.sh flags runner/ from providers/ and lib/, providers/ from lib/ and entrypoint/" \
        t_flags_each_crossing
t_run "check-boundaries.sh allows a folder's own headers and lib/'s, and runner/ anything" \
        t_allows_own_and_lib
t_finish
