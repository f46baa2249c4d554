/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_STATCACHE_H
#define HOIST_RUNNER_STATCACHE_H

/*
 * The stat cache, like git's index: for each file of a tree hoist sent,
 * (path, size, mtime_ns, ctime_ns, inode) -> sha256, kept under
 * $HOIST_HOME/cache/tree/, so that a file whose stat is unchanged is not
 * read again on the next submit.  ctime changes whenever a file's bytes or
 * inode do, so a file rewritten with its mtime restored is still caught;
 * `hoist submit --rehash` reads everything anyway.
 *
 * One text file per tree: a header line, then one line per file sorted by
 * path: "<sha256> <size> <mtime_ns> <ctime_ns> <inode> <path>".  A cache
 * that cannot be read is treated as empty (every file is hashed).
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "digest.h"
#include "error.h"

struct statcache_entry {
        char *path; /* relative to the tree's root */
        uint64_t size;
        int64_t mtime_ns, ctime_ns;
        uint64_t ino;
        char sha256[DIGEST_HEX_LEN + 1];
};

struct statcache {
        struct statcache_entry *entries; /* sorted by path */
        size_t n;
};

/* Loads FILE; a missing or unreadable cache loads empty (never fails). */
struct statcache *statcache_load(const char *file);
void statcache_free(struct statcache *c);
const struct statcache_entry *statcache_find(const struct statcache *c, const char *path);
/* Whether E still describes a file with stat ST. */
int statcache_fresh(const struct statcache_entry *e, const struct stat *st);
void statcache_fill(struct statcache_entry *e, const char *path, const struct stat *st,
                    const char *sha256);
/* Writes ENTRIES (sorted by path) to FILE atomically. */
int statcache_write(const char *file, const struct statcache_entry *entries, size_t n,
                    struct hoist_error **err);

static inline void statcache_freep(struct statcache **c)
{
        statcache_free(*c);
}
#define _cleanup_statcache_ __attribute__((cleanup(statcache_freep)))

#endif
