/* SPDX-License-Identifier: MIT */
#ifndef HOIST_IGNORE_H
#define HOIST_IGNORE_H

/*
 * Which files of a tree hoist sends: the code tree (job.yaml `code:`) and
 * every directory input.
 *
 * Three layers decide, in this order:
 *  1. `include:` paths (relative to the tree's root) are always sent, with
 *     everything below them when they name a directory.
 *  2. The sensitive list (ignore_sensitive_patterns()) is never sent:
 *     `.env`, `.git/`, `id_rsa*`, `*.pem`, `credentials*.json`, ... at any
 *     depth, whatever the ignore files say.
 *  3. `.gitignore` files (at any depth, with git's rules: `#` comments,
 *     trailing blanks trimmed unless escaped, `!` negation, `\` escapes,
 *     `*` `?` `[...]` not matching '/', `**` in the leading, trailing and
 *     middle forms, a pattern with a '/' at its start or middle anchored to
 *     the directory of its file, a trailing '/' matching only directories,
 *     and no re-including a file whose parent directory is excluded), then
 *     `.hoistignore` files with the same syntax, which win over .gitignore
 *     in the same directory.
 */

#include <stddef.h>
#include <sys/stat.h>

#include "error.h"

/* One parsed .gitignore or .hoistignore. */
struct ignore_file;

/* Parses TEXT (LEN bytes, any bytes) of the ignore file NAME (for
 * messages).  Never fails on a pattern git would accept; a line git would
 * ignore as invalid is skipped, as git does. */
int ignore_file_parse(const char *text, size_t len, const char *name, struct ignore_file **ret,
                      struct hoist_error **err);
void ignore_file_free(struct ignore_file *f);

/* Whether REL (relative to the ignore file's directory, no leading '/')
 * matches F: 1 excluded, 0 re-included by a `!` pattern, -1 no pattern
 * decides it.  IS_DIR says whether REL is a directory. */
int ignore_file_match(const struct ignore_file *f, const char *rel, int is_dir);

/* The rules of one tree. */
struct ignore_tree;

enum ignore_verdict {
        IGNORE_KEEP = 0,      /* sent */
        IGNORE_BY_RULES = 1,  /* left out by a .gitignore or .hoistignore */
        IGNORE_SENSITIVE = 2, /* left out by the sensitive list */
};

/* Rules for the directory tree ROOT.  INCLUDE (NULL-terminated, or NULL)
 * holds paths relative to ROOT that are sent whatever the other layers say.
 * The ignore files are read as the walk enters each directory. */
int ignore_tree_open(const char *root, char *const *include, struct ignore_tree **ret,
                     struct hoist_error **err);
void ignore_tree_free(struct ignore_tree *t);

/* The verdict for REL (relative to ROOT, components separated by '/') with
 * lstat() result ST.  Call it for a directory before any of its entries (a
 * walk in tree order): entering a kept directory reads its .gitignore and
 * .hoistignore.  A directory that is not kept is not descended into.  -1
 * (with *ERR) when an ignore file cannot be read. */
int ignore_tree_check(struct ignore_tree *t, const char *rel, const struct stat *st,
                      enum ignore_verdict *ret, struct hoist_error **err);

/* The sensitive list, as documented in docs/job.md: gitignore-syntax
 * patterns, NULL-terminated. */
const char *const *ignore_sensitive_patterns(void);

static inline void ignore_tree_freep(struct ignore_tree **t)
{
        ignore_tree_free(*t);
}
#define _cleanup_ignore_tree_ __attribute__((cleanup(ignore_tree_freep)))

static inline void ignore_file_freep(struct ignore_file **f)
{
        ignore_file_free(*f);
}
#define _cleanup_ignore_file_ __attribute__((cleanup(ignore_file_freep)))

#endif
