#!/usr/bin/env bash
# check-pipes.sh [FILE...]: flags pipelines that fail at random under
# `set -o pipefail`.
#
# In `producer | grep -q x` grep exits at its first match; if the producer is
# still writing, it dies of SIGPIPE and pipefail turns the pipeline's status
# into 141, at random or, once the output is larger than a pipe buffer
# (64 KiB), every time.  The consumers that stop reading early are flagged:
# grep -q/-m/-l (and --quiet, --max-count, --files-with-matches), head, awk
# with `exit`, sed with `q`, and read.  Write instead
#     out=$(producer); grep -q x <<<"$out"
# or, in tests, `producer | grep_q x` (tests/integration/lib.sh).  A line
# that is right as it is ends in `# pipefail-ok: <why>`.
#
# Checked: every git-tracked shell script that sets pipefail or sources
# tests/integration/lib.sh (which does).  Text inside `sh -c "..."` is
# skipped (dash has no pipefail), and so are here-documents.
set -euo pipefail

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
        cd "$(dirname "$0")/.."
        while IFS= read -r f; do
                case $f in
                *.sh) ;;
                *) [ "$(sed -n '1{/^#!.*sh/p}' "$f")" ] || continue ;;
                esac
                files+=("$f")
        done < <(git ls-files)
fi

bad=0
for f in "${files[@]}"; do
        grep -Eq 'set -[a-z]*o pipefail|set -o pipefail|/lib\.sh"' "$f" || continue
        awk -v F="$f" '
        function flag(why) { t = text; gsub(/[ \t]+/, " ", t); printf "%s:%d: %s\n    %s\n", F, start, why, t; found = 1 }
        # Here-document bodies are not shell.
        heredoc != "" {
                t = $0; sub(/^\t+/, "", t)
                if (t == heredoc) heredoc = ""
                next
        }
        {
                line = $0
                if (logical == "") start = NR
                if (match(line, /<<-?[ ]*["'"'"']?[A-Za-z_][A-Za-z0-9_]*["'"'"']?/) && line !~ /<<</) {
                        tag = substr(line, RSTART, RLENGTH)
                        gsub(/[<\-"'"'"' ]/, "", tag)
                        heredoc = tag
                }
                # a pipeline continued on the next line
                if (line ~ /(\||\\)[ \t]*$/) { sub(/\\[ \t]*$/, "", line); logical = logical line " "; next }
                logical = logical line
                s = text = logical
                logical = ""
                if (s ~ /^[ \t]*#/ || s ~ /# pipefail-ok/) next
                gsub(/sh -c "([^"\\]|\\.)*"/, "sh -c Q", s)
                gsub(/sh -c '"'"'[^'"'"']*'"'"'/, "sh -c Q", s)
                gsub(/\|\|/, " OR ", s)
                n = split(s, seg, "|")
                for (i = 2; i <= n; i++) {
                        c = seg[i]
                        sub(/^[ \t]*([A-Za-z_][A-Za-z0-9_]*=[^ ]* +)*/, "", c)
                        # awk and sed programs hold ; and }: look at all of it
                        whole = c
                        # the command ends at ; && OR ) }
                        sub(/(;|&&| OR |\)|\}).*/, "", c)
                        if (c ~ /^grep / && c ~ / (-[A-Za-z]*[qlm]|--quiet|--silent|--max-count|--files-with-matches)/)
                                flag("grep stops at its first match; the command before it dies of SIGPIPE")
                        else if (c ~ /^head( |$)/)
                                flag("head stops reading; the command before it dies of SIGPIPE")
                        else if (c ~ /^awk / && whole ~ /[{; ]exit[ };]/)
                                flag("awk exits before reading everything; the command before it dies of SIGPIPE")
                        else if (c ~ /^sed / && whole ~ /([0-9\/;{ '"'"'"]|^)q([ ;}'"'"'"]|$)/)
                                flag("sed quits before reading everything; the command before it dies of SIGPIPE")
                        else if (c ~ /^read /)
                                flag("read takes one line; the command before it dies of SIGPIPE")
                }
        }
        END { exit found }' "$f" || bad=1
done
if [ $bad -ne 0 ]; then
        echo "check-pipes: these pipelines fail at random under pipefail (see scripts/check-pipes.sh)" >&2
        exit 1
fi
echo "check-pipes: ok"
