#!/usr/bin/env bash
# Which files of a tree hoist sends (lib/ignore.c) agrees with git itself:
# random trees with random nested .gitignore files (negation, **, anchors,
# directory-only patterns, escapes, classes, trailing blanks; symlinks to
# directories, symlinked ignore files) give the same files as
# `git ls-files -o --exclude-standard`, and .hoistignore files the same as
# git told to read them instead.  Then the sensitive list and
# include: paths, which git knows nothing of, on a typical project.
# Needs `make build/tests/ignorewalk` (HOIST_BUILD), git and python3.
# HOIST_IGNORE_SEED and HOIST_IGNORE_TREES change the trees tried.
. "$(dirname "$0")/lib.sh"

WALK=$HOIST_BUILD/tests/ignorewalk
SEED=${HOIST_IGNORE_SEED:-11}
TREES=${HOIST_IGNORE_TREES:-200}

t_gitignore_like_git() {
        python3 "$T_ROOT/tests/tools/ignore_vs_git.py" "$WALK" "$T_TMP/g" --seed "$SEED" --trees "$TREES"
}

t_hoistignore_like_git() {
        python3 "$T_ROOT/tests/tools/ignore_vs_git.py" "$WALK" "$T_TMP/h" --seed "$SEED" \
                --trees "$TREES" --hoistignore
}

# A project as users have them: git's answer for what .gitignore says, and
# on top of it the sensitive list and the include: overrides.
t_project() {
        local p=$T_TMP/project got want
        mkdir -p "$p"/{src/pkg/__pycache__,data/raw,.venv/bin,notebooks/.ipynb_checkpoints,keys,.ssh}
        git init -q "$p"
        printf '__pycache__/\n*.py[cod]\n.venv/\n/data/*\n!/data/README.md\n.ipynb_checkpoints\n*.ckpt\n' \
                >"$p/.gitignore"
        printf '!important.ckpt\n' >"$p/src/.gitignore"
        printf 'notebooks/\n' >"$p/.hoistignore"
        touch "$p"/{train.py,README.md,.env,.env.example,config.json,credentials.json} \
                "$p"/src/{main.py,model.ckpt,important.ckpt,server.pem} \
                "$p"/src/pkg/{__init__.py,util.py,util.pyc} "$p"/src/pkg/__pycache__/util.cpython-311.pyc \
                "$p"/data/{README.md,train.csv} "$p"/data/raw/big.bin "$p"/.venv/bin/python \
                "$p"/notebooks/a.ipynb "$p"/notebooks/.ipynb_checkpoints/a.ipynb \
                "$p"/keys/{id_ed25519,id_ed25519.pub,deploy.key} "$p"/.ssh/{config,known_hosts}
        # git, with notebooks/ from .hoistignore added to the exclusions
        want=$(cd "$p" && HOME=$T_TMP GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null \
                git ls-files -o --exclude-standard --exclude=notebooks/ | LC_ALL=C sort)
        printf '%s\n' "$want" | grep_q -x src/important.ckpt || fail "git: $want"
        got=$("$WALK" "$p" | LC_ALL=C sort)
        # what git sends and hoist does not: exactly the sensitive files
        [ "$(comm -23 <(echo "$want") <(echo "$got") | tr '\n' ' ')" = \
                ".env .env.example .ssh/config .ssh/known_hosts credentials.json keys/deploy.key keys/id_ed25519 keys/id_ed25519.pub src/server.pem " ] ||
                fail "hoist leaves out $(comm -23 <(echo "$want") <(echo "$got") | tr '\n' ' ')"
        [ -z "$(comm -13 <(echo "$want") <(echo "$got"))" ] ||
                fail "hoist sends what git ignores: $(comm -13 <(echo "$want") <(echo "$got"))"
        # include: names brings them back, and a file under an ignored directory too
        got=$("$WALK" -i .env.example -i .ssh/config -i data/raw "$p" | LC_ALL=C sort)
        for f in .env.example .ssh/config data/raw/big.bin; do
                printf '%s\n' "$got" | grep_q -x "$f" || fail "include: $f not sent: $got"
        done
        for f in .env .ssh/known_hosts data/train.csv; do
                ! printf '%s\n' "$got" | grep_q -x "$f" || fail "$f sent with the includes"
        done
}

t_run "random trees: .gitignore verdicts are git's" t_gitignore_like_git
t_run "random trees: .hoistignore verdicts are git's (as a per-directory file)" t_hoistignore_like_git
t_run "a project: git's verdicts, less the sensitive files, plus include:" t_project
t_finish
