/* SPDX-License-Identifier: MIT */
#ifndef HOIST_STAGE_TREE_H
#define HOIST_STAGE_TREE_H

/*
 * Stages a tree manifest (lib/tree.h, job.json "mode": "tree") straight
 * into a directory: the manifest is fetched and checked against its digest,
 * directories and symlinks are made, and every file is fetched from its own
 * blob or its pack in parallel ranges (storage_read_ranges) and written in
 * place, its SHA-256 computed as it is written and compared before the file
 * counts as staged.  A mismatch names the channel, the path and both
 * digests, and the file is removed.  Nothing of the dataset is held in
 * memory but the ranges in flight.
 *
 * A record outside DIR (STATE, e.g. <workdir>/.hoist/input-data.tree: the
 * command sees no file the tree does not hold) keeps what this stager
 * wrote (path, size, mtime, ctime, inode, sha256) and the kernel's boot
 * id; a later attempt on the
 * same node fetches only the files whose record no longer matches (after a
 * reboot, a file that matches is hashed again before it is kept: nothing
 * is synced to disk while staging).  Anything in DIR that the manifest does not name is removed, so
 * the command sees exactly the tree that was submitted.
 */

#include <stdint.h>

#include "error.h"
#include "storage.h"

struct stage_tree_stats {
        uint64_t files, bytes;                 /* in the manifest */
        uint64_t fetched_files, fetched_bytes; /* read from storage */
        uint64_t kept_files;                   /* already here, not fetched */
        uint64_t ranges;                       /* range reads it took */
};

/* Stages the tree whose manifest is SOURCE (a key in ST, or a file:// URL of
 * a blob under a directory holding blobs/sha256/) with digest SHA256 into
 * the directory DIR (created when missing), its record in the file STATE
 * (its directory created when missing).  LABEL names it in errors
 * ("input 'data'", "code").  STATS may be NULL. */
int stage_tree(struct storage *st, const char *label, const char *source, const char *sha256,
               const char *dir, const char *state, struct stage_tree_stats *stats,
               struct hoist_error **err);

#endif
