/* SPDX-License-Identifier: MIT */
#ifndef HOIST_GLOB_H
#define HOIST_GLOB_H

/*
 * The matcher shared by hoist's two glob dialects: .dockerignore (moby's
 * patternmatcher, Go's filepath.Match; runner/image/dockerignore.c) and
 * .gitignore (git's wildmatch; lib/ignore.c).  Each dialect compiles its
 * syntax to these tokens; glob_match() runs them as an NFA, in time
 * O(len * tokens) whatever the pattern, since patterns are user input and
 * backtracking is exponential in the stars.
 */

#include <stddef.h>

enum glob_tok_kind {
        GLOB_LIT,     /* one byte */
        GLOB_STAR,    /* [^/]* */
        GLOB_ONE,     /* [^/] */
        GLOB_CLASS,   /* [...] */
        GLOB_ANY,     /* .* (a trailing **) */
        GLOB_ANY_DIR, /* (.*\/)? (a ** followed by '/', which it takes) */
};

struct glob_tok {
        enum glob_tok_kind kind;
        char c;                /* GLOB_LIT */
        int negated;           /* GLOB_CLASS */
        unsigned char set[32]; /* GLOB_CLASS: bitmap of bytes */
};

/* Appends TOK to the token array *T of *N tokens. */
void glob_push(struct glob_tok **t, size_t *n, struct glob_tok tok);

/* Adds byte C to the set of class token T. */
void glob_class_add(struct glob_tok *t, unsigned char c);

/* Whether class token T matches byte C. */
int glob_class_has(const struct glob_tok *t, unsigned char c);

/* Whether the N tokens T match all of S. */
int glob_match(const struct glob_tok *t, size_t n, const char *s);

#endif
