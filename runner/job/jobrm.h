/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_JOBRM_H
#define HOIST_RUNNER_JOBRM_H

/*
 * Removing finished jobs (hoist rm, hoist gc): a job's objects in its
 * storage (jobs/<id>/...), its run directory ($HOIST_HOME/run/<id>) and its
 * row, in that order, under the job's lock, so a removal cut short leaves
 * a row that the next `hoist rm` finishes.  Blobs are shared by every job
 * that names the same content: hoist gc removes those no job names.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "runner/cli/home.h"
#include "storage.h"
#include "runner/control/store.h"

/* Storages opened once per URL for a run of rm or gc. */
struct jobrm_storages {
        char **urls;
        struct storage **stos;
        size_t n;
};
int jobrm_storage(const struct hoist_home *home, struct jobrm_storages *set, const char *url,
                  struct storage **ret, struct hoist_error **err);
void jobrm_storages_clear(struct jobrm_storages *set);

struct jobrm_stats {
        size_t objects;
        uint64_t bytes;
};

/* Removes finished job JOB_ID (a full id); with DRY_RUN measures only.
 * A job that is not finished is HOIST_ERR_STATE and stays. */
int jobrm_remove(const struct hoist_home *home, struct store *st, struct jobrm_storages *set,
                 const char *job_id, bool dry_run, struct jobrm_stats *ret,
                 struct hoist_error **err);

/* Empties the run directory of finished job JOB_ID but its lock (work
 * copies, pid file, console log: its log and outputs are in storage).
 * 1 when it did (or would), 0 when the job is not finished or another
 * hoist holds it, -1 on error. */
int jobrm_clear_run_dir(const struct hoist_home *home, struct store *st, const char *job_id,
                        bool dry_run, struct jobrm_stats *ret, struct hoist_error **err);

#endif
