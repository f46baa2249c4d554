/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_RECONCILE_H
#define HOIST_RUNNER_RECONCILE_H

/*
 * Brings a job's row up to date.  The entrypoint's result record in storage
 * (jobs/<id>/result.json, for the current attempt) is the authority on how a
 * job ended; without one, the provider says whether it still runs.  There is
 * no daemon: every verb that shows a job reconciles it first.
 */

#include "error.h"
#include "home.h"
#include "store.h"

/* Refreshes JOB in the store and in *job (re-read after any change). */
int reconcile_job(const struct hoist_home *home, struct store *st, struct job_record **job,
                  struct hoist_error **err);

/* Lets the provider free what it holds for a finished job (warns on failure). */
void reconcile_release(const struct hoist_home *home, const struct job_record *job);

/* The storage key of a job's result record / log of node NODE. */
char *reconcile_result_key(const char *job_id);
char *reconcile_log_key(const char *job_id, const char *node);

#endif
