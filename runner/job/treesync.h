/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_TREESYNC_H
#define HOIST_RUNNER_TREESYNC_H

/*
 * A directory sent as a tree manifest (lib/tree.h): every file hashed once
 * (the stat cache skips files whose stat is unchanged), large files stored
 * as their own blobs, small ones grouped into packs, the manifest last.
 * What the storage holds already is not sent: a blob or pack named in the
 * tree's previous manifest (kept beside the stat cache) counts as stored
 * when that manifest is, and small files of a stored pack are referenced
 * there rather than packed again.  Nothing is copied to a temporary file.
 *
 * In two steps like runner/job/package.h: treesync_plan() walks nothing
 * itself (the caller's walk adds each kept entry with treesync_add()),
 * hashes, and works out what to send; treesync_upload() sends it, many
 * files at once over several storage handles, then the manifest, then
 * writes the stat cache.
 */

#include <jansson.h>
#include <stdint.h>
#include <sys/stat.h>

#include "error.h"
#include "storage.h"
#include "tree.h"

/* Files and bytes, by what happened to them since the last submit. */
struct treesync_stats {
        size_t files_new, files_changed, files_unchanged;
        uint64_t bytes_new, bytes_changed, bytes_unchanged;
        size_t files_hashed; /* read to hash them: the stat cache did not know them */
        uint64_t bytes_hashed;
        size_t blobs_sent; /* file blobs, packs and the manifest */
        uint64_t bytes_sent;
};

/* Opens another handle on the job's storage, for a parallel upload. */
typedef int (*treesync_open_fn)(void *ud, struct storage **ret, struct hoist_error **err);

struct treesync;

/* A tree rooted at ROOT whose stat cache and previous manifest live under
 * CACHE_DIR (NULL: none), keyed by ROOT and STORAGE_URL.  REHASH: read
 * every file whatever the cache says. */
struct treesync *treesync_new(const char *root, const char *cache_dir, const char *storage_url,
                              int rehash);
void treesync_free(struct treesync *t);

/* Adds the entry REL (lstat ST) that the walk keeps: a file, a directory or
 * a symlink (its target read here). */
int treesync_add(struct treesync *t, const char *rel, const struct stat *st,
                 struct hoist_error **err);

/* Hashes what needs it, builds the manifest and asks ST what it holds.
 * PLANNED (a JSON object used as a set of digests) spans every tree of one
 * submit, so that a blob two trees share is sent once; EARLIER are the
 * trees of this submit planned (and so sent) before T, whose packs T may
 * reference for small files they hold. */
int treesync_plan(struct treesync *t, struct storage *st, json_t *planned,
                  struct treesync *const *earlier, size_t n_earlier, struct hoist_error **err);

const char *treesync_manifest_sha256(const struct treesync *t);
uint64_t treesync_total_size(const struct treesync *t); /* the files' bytes */
uint64_t treesync_to_send(const struct treesync *t);
const struct treesync_stats *treesync_stats(const struct treesync *t);

/* Sends what the plan found missing (OPEN: NULL sends one at a time over
 * ST), the manifest last, then records the stat cache. */
int treesync_upload(struct treesync *t, struct storage *st, treesync_open_fn open, void *open_ud,
                    struct hoist_error **err);

static inline void treesync_freep(struct treesync **t)
{
        treesync_free(*t);
}
#define _cleanup_treesync_ __attribute__((cleanup(treesync_freep)))

#endif
