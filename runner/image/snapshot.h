/* SPDX-License-Identifier: MIT */
#ifndef HOIST_BUILD_SNAPSHOT_H
#define HOIST_BUILD_SNAPSHOT_H

/*
 * The filesystem difference one build step makes to an image's root
 * filesystem, turned into a layer.
 *
 *   snapshot_begin(root)      the step starts
 *   ... change ROOT ...       sandbox_run() for RUN; the builder writes files
 *                             for COPY/ADD straight into ROOT
 *   snapshot_commit()         the layer blob, diff_id and digest; ROOT now
 *                             holds the full new state as a plain directory
 *
 * Two ways to see the difference; snapshot_begin() tries overlay first:
 * - overlay: ROOT is covered by an overlayfs mount (lowerdir=ROOT, a fresh
 *   upperdir per step in a directory beside ROOT, redirect_dir and metacopy
 *   off) inside a private mount namespace that the calling thread enters
 *   once (unshare(CLONE_NEWNS), mounts made private), so no mount outlives
 *   the process or shows on the host.  Paths under ROOT show the merged
 *   view while the snapshot is open.  The layer is read from the upperdir:
 *   overlay whiteouts (char devices 0/0) become `.wh.` files and the
 *   trusted.overlay.opaque xattr becomes `.wh..wh..opq`.  Commit unmounts
 *   and moves the upperdir's entries into ROOT (renames, same filesystem).
 * - walk: ROOT is scanned before (path, type, mode, uid, gid, size, mtime
 *   and ctime in ns, inode, link target) and after; what differs is added,
 *   what is gone becomes a whiteout.  ctime catches a rewrite that keeps
 *   size and mtime; only files changed in the 2 seconds before the first
 *   scan are hashed too, as a change within the same timestamp tick could
 *   leave even ctime as it was.
 * AUTO falls back to walk when overlay cannot be mounted (no overlayfs, no
 * privilege, ROOT on a filesystem overlay cannot use as upper, ROOT and the
 * directory beside it on different filesystems).
 *
 * Not thread-safe; one open snapshot per ROOT.  While a snapshot is open in
 * overlay mode, ROOT must be used through its path only (a directory fd
 * opened before snapshot_begin() sees the lower layer).
 */

#include <stdint.h>

#include "runner/image/compress.h"
#include "error.h"
#include "runner/image/layer.h"

enum snapshot_mode { SNAPSHOT_AUTO, SNAPSHOT_OVERLAY, SNAPSHOT_WALK };

struct snapshot;

/* Opens a snapshot of the directory ROOT.  MODE forces one way (an error
 * when it cannot work) or lets AUTO choose.  HOIST_BUILD_SNAPSHOT=overlay|
 * walk in the environment overrides AUTO. */
int snapshot_begin(const char *root, enum snapshot_mode mode, struct snapshot **ret,
                   struct hoist_error **err);

/* SNAPSHOT_OVERLAY or SNAPSHOT_WALK: the way this snapshot works. */
enum snapshot_mode snapshot_mode_of(const struct snapshot *s);

/* Ends the step: writes the layer of the changes to OUT_PATH (compressed
 * with C, mtimes clamped to EPOCH, see layer.h) and fills *ret.  When
 * nothing changed, *ret_empty = 1, no file is written and *ret is left
 * zeroed; else *ret_empty = 0.  Either way ROOT afterwards holds the new
 * state as a plain directory and S is closed (it must still be freed).
 * THREADS as in compress_sink_new(). */
int snapshot_commit(struct snapshot *s, enum compression c, int threads, int64_t epoch,
                    const char *out_path, struct layer_info *ret, int *ret_empty,
                    struct hoist_error **err);

/* Frees S.  A snapshot not committed is discarded: in overlay mode ROOT
 * returns to its state at snapshot_begin(); in walk mode the changes stay
 * in ROOT (there is nothing to undo them with).  Accepts NULL. */
void snapshot_free(struct snapshot *s);

static inline void snapshot_freep(struct snapshot **s)
{
        snapshot_free(*s);
}
#define _cleanup_snapshot_ __attribute__((cleanup(snapshot_freep)))

#endif
