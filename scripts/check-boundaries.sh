#!/usr/bin/env bash
# check-boundaries.sh [ROOT]: fails when a folder includes a header from a
# folder it must not know (STYLE.md: a folder is an architectural boundary).
#
#   lib/         libhoist, shared by both binaries: only lib/
#   providers/   lib/ and providers/ (the job model is lib/jobmodel.h)
#   entrypoint/  lib/ and entrypoint/
#
# runner/ may include any of them.  An include is resolved the way the
# compiler does with the Makefile's -iquote lib -I.: "x.h" in the including
# file's folder, then lib/, then ROOT; <x.h> in ROOT, else it is a system
# header.  So "../runner/store.h" counts as runner/ as much as
# "runner/control/store.h" does.  ROOT defaults to the repository.
set -euo pipefail

root=${1:-$(dirname "$0")/..}
root=$(cd "$root" && pwd)

allowed() { # FOLDER: the folders its files may include from
        case $1 in
        lib) echo "lib" ;;
        providers) echo "lib providers" ;;
        entrypoint) echo "lib entrypoint" ;;
        esac
}

# Sets TO to the folder under ROOT that the include INC (quoted: Q=1) of FILE
# (relative to ROOT) resolves to, or to nothing for a system header.  Pure
# bash: no process per include.
resolve() { # FILE INC Q
        local dir=${1%/*} path="" cand part
        local -a parts out=()
        TO=
        if [ "$3" = 1 ]; then
                for cand in "$dir/$2" "lib/$2" "$2"; do
                        [ -e "$root/$cand" ] && { path=$cand; break; }
                done
                # Not there (yet): where the compiler would look last.
                path=${path:-$2}
        else
                [ -e "$root/$2" ] || return 0
                path=$2
        fi
        IFS=/ read -r -a parts <<<"$path"
        for part in "${parts[@]}"; do
                case $part in
                "" | .) ;;
                ..)
                        [ ${#out[@]} -gt 0 ] || { TO="(outside the tree)"; return 0; }
                        unset 'out[${#out[@]}-1]'
                        ;;
                *) out+=("$part") ;;
                esac
        done
        if [ ${#out[@]} -gt 1 ]; then TO=${out[0]}; else TO="(the top folder)"; fi
}

bad=0
cd "$root"
for folder in lib providers entrypoint; do
        [ -d "$folder" ] || continue
        ok=$(allowed "$folder")
        mapfile -d '' files < <(find "$folder" -type f \( -name '*.c' -o -name '*.h' \) -print0)
        [ ${#files[@]} -gt 0 ] || continue
        while IFS=$'\t' read -r f line q inc; do
                resolve "$f" "$inc" "$q"
                [ -n "$TO" ] || continue
                case " $ok " in *" $TO "*) continue ;; esac
                case $TO in "("*) ;; *) TO=$TO/ ;; esac
                echo "$f:$line: includes '$inc' from $TO; $folder/ may include only" \
                        "$(echo "$ok" | sed 's/\([a-z]*\)/\1\//g; s/ /, /g')"
                bad=1
        done < <(awk '
                match($0, /^[ \t]*#[ \t]*include[ \t]*["<][^">]*[">]/) {
                        s = substr($0, RSTART, RLENGTH)
                        sub(/^[ \t]*#[ \t]*include[ \t]*/, "", s)
                        print FILENAME "\t" FNR "\t" (substr(s, 1, 1) == "\"") "\t" substr(s, 2, length(s) - 2)
                }' "${files[@]}")
done
if [ "$bad" -ne 0 ]; then
        echo "check-boundaries: move what is shared into lib/ (the job model is lib/jobmodel.h)," \
                "or pass it in through providers/provider.h"
        exit 1
fi
echo "check-boundaries: ok"
