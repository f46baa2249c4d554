#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Differential test of lib/ignore.c against git itself.

Builds random trees with random nested .gitignore (or .hoistignore) files,
then compares the files hoist would send (tests/tools/ignorewalk.c) with
`git ls-files -o --exclude-standard` (or --exclude-per-directory=.hoistignore)
on the same tree.  Deterministic for a seed.

    ignore_vs_git.py IGNOREWALK WORKDIR [--seed N] [--trees N] [--hoistignore]
"""
import argparse
import os
import random
import shutil
import subprocess
import sys

NAMES = ["a", "b", "c", "ab", "ba", "abc", "foo", "bar", "x.txt", "y.log", "a.txt",
         "build", "out", "lib", "src", "doc", "[x]", "sp ace", "tr ", "#h", "!b",
         "a*b", "q?", "back\\s", "dot.", ".cache", "Ab", "B1", "z-z", "m.c", "m.o"]
DIR_NAMES = ["a", "b", "ab", "foo", "bar", "build", "out", "lib", "src", "doc",
             ".cache", "x.txt", "d1", "deep"]
ATOMS = ["a", "b", "c", "ab", "foo", "bar", "build", "out", "lib", "src", "doc",
         "*", "?", "**", "*.txt", "*.log", "*.o", "[ab]", "[!a]", "[^b]", "[a-c]",
         "[[:alpha:]]", "[[:digit:]]*", "[]x]", "a*", "*b", "\\[x]", "x.*", ".cache",
         "d?", "deep", "[x]", "sp ace", "\\#h", "\\!b", "a\\*b", "q\\?", "back\\\\s",
         "tr\\ ", "[a-", "[[:bogus:]]", "***", "f**", "**o", "A*", "[A-Z]*",
         "z-z", "m.[co]", "[z-a]"]


def rand_pattern(rng):
    n = rng.choice([1, 1, 1, 2, 2, 3, 4])
    parts = [rng.choice(ATOMS) for _ in range(n)]
    p = "/".join(parts)
    r = rng.random()
    if r < 0.2:
        p = "/" + p
    elif r < 0.3:
        p = "**/" + p
    if rng.random() < 0.2:
        p += "/"
    if rng.random() < 0.25:
        p = "!" + p
    r = rng.random()
    if r < 0.05:
        p += "   "
    elif r < 0.08:
        p = "# " + p
    elif r < 0.1:
        p += "\\ "
    elif r < 0.12:
        p += "\r"
    return p


def make_tree(rng, root, depth, ignore_name, path=""):
    for _ in range(rng.randint(1, 5)):
        name = rng.choice(NAMES)
        full = os.path.join(root, name)
        if not os.path.exists(full):
            with open(full, "w") as f:
                f.write("x\n")
    if depth > 0:
        for _ in range(rng.randint(0, 3)):
            d = rng.choice(DIR_NAMES)
            full = os.path.join(root, d)
            if os.path.exists(full) and not os.path.isdir(full):
                continue
            os.makedirs(full, exist_ok=True)
            make_tree(rng, full, depth - 1, ignore_name, path + d + "/")
    if rng.random() < 0.2:
        # a symlink to a directory is a file to git: "name/" does not match it
        name = rng.choice(DIR_NAMES)
        if not os.path.lexists(os.path.join(root, name)):
            os.symlink(".", os.path.join(root, name))
    ignore = os.path.join(root, ignore_name)
    if rng.random() < 0.7 and not os.path.lexists(ignore):
        lines = [rand_pattern(rng) for _ in range(rng.randint(1, 8))]
        target = ignore
        if rng.random() < 0.1:
            # a symlinked ignore file: git does not follow it
            target = os.path.join(root, "real-ignore")
            os.symlink("real-ignore", ignore)
        with open(target, "w", newline="") as f:
            f.write("\n".join(lines) + ("\n" if rng.random() < 0.8 else ""))


def ignore_files(root, name):
    out = []
    for d, _, files in sorted(os.walk(root)):  # symlinks are not followed
        if "/.git" in d + "/" and d != root:
            continue
        if name in files:
            p = os.path.join(d, name)
            with open(p, "rb") as f:
                out.append("--- %s\n%s" % (os.path.relpath(p, root), f.read().decode()))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ignorewalk")
    ap.add_argument("workdir")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--trees", type=int, default=200)
    ap.add_argument("--hoistignore", action="store_true")
    a = ap.parse_args()
    name = ".hoistignore" if a.hoistignore else ".gitignore"
    git_args = (["--exclude-per-directory=.hoistignore"] if a.hoistignore
                else ["--exclude-standard"])
    home = os.path.join(a.workdir, "home")
    os.makedirs(home, exist_ok=True)
    env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=home, GIT_CONFIG_NOSYSTEM="1",
               GIT_CONFIG_GLOBAL=os.devnull, LC_ALL="C")
    failures = 0
    for i in range(a.trees):
        rng = random.Random(a.seed * 100003 + i)
        root = os.path.join(a.workdir, "t%d" % i)
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
        subprocess.run(["git", "init", "-q", root], check=True, env=env)
        make_tree(rng, root, 3, name)
        git = subprocess.run(["git", "-C", root, "ls-files", "-o", "-z"] + git_args,
                             check=True, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL).stdout
        want = sorted(x for x in git.decode().split("\0") if x)
        got = subprocess.run([a.ignorewalk, root], check=True, env=env,
                             stdout=subprocess.PIPE).stdout.decode().splitlines()
        got = sorted(got)
        if got != want:
            failures += 1
            print("tree %d (seed %d): hoist and git disagree" % (i, a.seed))
            print("  only hoist sends: %r" % sorted(set(got) - set(want)))
            print("  only git keeps:   %r" % sorted(set(want) - set(got)))
            print(ignore_files(root, name))
            if failures >= 3:
                break
        else:
            shutil.rmtree(root)
    print("%d trees, %d disagree" % (a.trees, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
