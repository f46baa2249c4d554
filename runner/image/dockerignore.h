/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_BUILD_DOCKERIGNORE_H
#define HOIST_RUNNER_BUILD_DOCKERIGNORE_H

/*
 * .dockerignore, and which files a COPY/ADD source selects.
 *
 * .dockerignore (Docker's patternmatcher): one pattern a line; lines
 * starting with '#' are comments; blanks around a pattern are trimmed; a
 * pattern is cleaned like Go's filepath.Clean and a leading '/' dropped, so
 * "/a/../b/" is "b".  `*` matches any run of characters but '/', `?` one
 * character but '/', `[...]` a class (`[^...]` negated, ranges), `\`
 * escapes the next character, `**` any number of directories (also none).
 * A path is excluded when it or one of its parent directories matches the
 * last pattern that decides it; `!pattern` re-includes.
 *
 * COPY sources (dockerignore_select()) are context-relative paths with Go
 * filepath.Match wildcards per path component (`*`, `?`, `[...]`, `\`;
 * `**` is just `*` there).  A leading '/' means the context root; a source
 * that leaves the root through ".." is an error.  Symlinks met on the way
 * are resolved inside ROOT (as a chroot would), so a source never reads
 * outside it; symlinks found inside a selected directory are listed as
 * symlinks, not followed.
 */

#include <stddef.h>
#include <sys/stat.h>

#include "error.h"

struct dockerignore;

/* Parses .dockerignore TEXT of LEN bytes; NAME names it in messages.  A
 * pattern Go's filepath.Match would reject ("[a-", "x\\" at the end, a lone
 * "!") is an error with its line (HOIST_ERR_INPUT). */
int dockerignore_parse(const char *text, size_t len, const char *name, struct dockerignore **ret,
                       struct hoist_error **err);

/* Loads the rules for a build: DOCKERFILE.dockerignore when that file
 * exists (BuildKit's per-Dockerfile ignore file; DOCKERFILE may be NULL),
 * else CONTEXT/.dockerignore, else no rules (an empty, valid set). */
int dockerignore_load(const char *context, const char *dockerfile, struct dockerignore **ret,
                      struct hoist_error **err);

void dockerignore_free(struct dockerignore *di);
static inline void dockerignore_freep(struct dockerignore **di)
{
        dockerignore_free(*di);
}
#define _cleanup_dockerignore_ __attribute__((cleanup(dockerignore_freep)))

/* 1 when context-relative PATH ("src/a.c", no leading '/') is excluded,
 * 0 when not.  DI NULL excludes nothing. */
int dockerignore_match(const struct dockerignore *di, const char *path);

/* 1 when DI has `!` rules: an excluded directory may still hold included
 * files, so a walker must descend into it. */
int dockerignore_has_exceptions(const struct dockerignore *di);

/* One file, directory or symlink a COPY/ADD copies. */
struct di_entry {
        char *path;     /* below ROOT, symlinks resolved: "src/lib/a.c" */
        char *dest;     /* below DEST: the basename for a file matched
                           directly ("a.c"), the path below the matched
                           directory for what is found inside one
                           ("lib/a.c"); never empty */
        struct stat st; /* lstat() of ROOT/path */
        size_t match;   /* which top-level match it came from (0-based) */
};

/* What the sources of one COPY/ADD select, in order of match, and within
 * a matched directory in walk order (parents before their children,
 * siblings sorted by name).  A matched directory is not itself an entry
 * (Docker copies its contents, not the directory); directories inside it
 * are, so empty ones are kept; excluded directories are not (the builder
 * creates missing parents, e.g. of a file re-included with `!`).  A
 * top-level symlink is followed (path is its target, dest keeps the
 * link's name). */
struct di_selection {
        struct di_entry *entries;
        size_t n_entries;
        size_t n_matches; /* top-level matches over all sources */
        /* 1 when there is exactly one match and it is not a directory:
         * then DEST not ending in '/' names the file itself. */
        int single_file;
};

/* Resolves SRCS (N_SRCS raw paths after substitution) under ROOT (the
 * context directory, or a stage's or image's root filesystem for
 * COPY --from), leaving out what DI excludes (DI NULL: nothing; pass NULL
 * for --from).  A source that matches nothing, or only excluded files, is
 * an error naming it: "source 'x' matches no file" or "source 'x' is
 * excluded by .dockerignore" (HOIST_ERR_NOT_FOUND; the builder prefixes
 * file:line and the instruction); one leaving ROOT through ".." is
 * HOIST_ERR_INPUT.  Clear *RET with
 * dockerignore_selection_clear(). */
int dockerignore_select(const struct dockerignore *di, const char *root, char *const *srcs,
                        size_t n_srcs, struct di_selection *ret, struct hoist_error **err);

void dockerignore_selection_clear(struct di_selection *sel);

#endif
