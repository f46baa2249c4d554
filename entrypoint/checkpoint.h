/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_CHECKPOINT_H
#define HOIST_ENTRYPOINT_CHECKPOINT_H

/*
 * Checkpoints in storage, and the resume point (docs/jobspec.md
 * "Checkpoints").  The local checkpoint dir is mirrored to the storage prefix
 * <checkpoint_prefix> (jobs/<id>/checkpoints) as SETS: the files, then a
 * manifest <prefix>/.hoist/manifest-<seq>.json listing every file with its
 * size, sha256 and key, written last.  A set is complete when its manifest
 * exists and every file it names does; only complete sets are restored.
 *
 * A file is stored under <prefix>/<its path> unless a kept manifest already
 * names that key with other bytes; then under <prefix>/.hoist/objects/<sha256>,
 * so a published set is never changed under a reader.  A file whose bytes a
 * kept manifest already holds is not sent again.  The newest three manifests
 * are kept; keys none of them names are deleted.
 *
 * Before the command: checkpoint_restore() makes the local dir hold exactly
 * the newest complete set.  While it runs: a thread watches the dir with
 * inotify and publishes a new set
 *   - CHECKPOINT_SETTLE_MS after every file in the dir is complete (closed
 *     after writing, renamed into place, or deleted), even while the trainer
 *     goes on writing newer ones: a complete checkpoint file is in a
 *     published set at most CHECKPOINT_SETTLE_MS plus the sync then running
 *     plus its own sync after it was complete, whatever the trainer's pace;
 *   - while a file stays open for writing, after HOIST_CHECKPOINT_DEBOUNCE_MS
 *     of quiet (default 2000);
 *   - and at the latest job.json checkpoints.interval_s (default twice the
 *     debounce) after the first change it has not published (plus that
 *     set's sync), counted from the start of the sync that was running.
 * After it: checkpoint_finish() publishes the last changes.
 */

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "checkpoint_manifest.h"
#include "events.h"
#include "jobspec.h"
#include "storage.h"

#define CHECKPOINT_DEFAULT_DEBOUNCE_MS 2000
/* From the moment no file in the dir is being written to its set's sync. */
#define CHECKPOINT_SETTLE_MS 100

struct checkpoint_options {
        const struct jobspec *spec;
        const char *node;
        const char *dir;       /* the local checkpoint dir (created) */
        const char *prefix;    /* the storage prefix, no trailing '/' */
        struct events *events; /* job.checkpoint events go here; may be NULL */
        int64_t debounce_ms;   /* <= 0: HOIST_CHECKPOINT_DEBOUNCE_MS, else the default */
        /* Restore only: a node of a multi-node job other than rank 0 reads
         * rank 0's checkpoints but never publishes (docs/jobspec.md
         * "distributed"); start, sync_now and finish do nothing. */
        int restore_only;
};

struct checkpoints;

/* Sets up the sync (the dir, its inotify watches) without starting a thread. */
int checkpoint_open(const struct checkpoint_options *opts, struct checkpoints **ret,
                    struct hoist_error **err);
/* Restores the newest complete set into the dir (verifying every sha256),
 * replacing what the dir held, and exports HOIST_RESUME_STEP (0 when nothing
 * was restored) and HOIST_RESTART_COUNT (attempt - 1).  Call before the
 * command is spawned. */
int checkpoint_restore(struct checkpoints *ck, struct storage *st, struct hoist_error **err);
/* The step restored, or 0. */
int64_t checkpoint_resume_step(const struct checkpoints *ck);
/* Starts the sync thread (from init_config.on_spawned: after the spawn). */
int checkpoint_start(struct checkpoints *ck, struct hoist_error **err);
/* Publishes one set now from the calling thread, if anything changed:
 * returns 1 when a manifest was published, 0 when nothing changed. */
int checkpoint_sync_now(struct checkpoints *ck, int64_t deadline_ms, struct hoist_error **err);
/* After the command ended: stops the thread and publishes what changed
 * since its last set, giving up at DEADLINE_MS (CLOCK_MONOTONIC ms, see
 * checkpoint_now_ms()).  Works whether or not checkpoint_start() ran. */
int checkpoint_finish(struct checkpoints *ck, int64_t deadline_ms, struct hoist_error **err);
void checkpoint_close(struct checkpoints *ck);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t checkpoint_now_ms(void);

/* When the final sync must give up, the command having ended at NOW_MS.
 * After a stop from outside whose grace period ends at GRACE_END_MS (the
 * platform's SIGKILL comes then), by that end less a reserve for the result
 * and the log, but never less than a second from now; otherwise (GRACE_END_MS
 * 0: the command ended by itself, or the stop was the entrypoint's own) a
 * whole grace period of GRACE_S from now. */
int64_t checkpoint_final_deadline(int64_t now_ms, int64_t grace_end_ms, int64_t grace_s);

#endif
