/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_RECONCILE_H
#define HOIST_RUNNER_RECONCILE_H

/*
 * Brings a job's row up to date.  The entrypoint's result record in storage
 * (jobs/<id>/result.json, for the current attempt) is the authority on how a
 * job ended; without one, the provider says whether it still runs.  There is
 * no daemon: every verb that shows a job reconciles it first.
 *
 * An attempt the entrypoint reports "interrupted" (it got SIGTERM from
 * outside: spot reclaim, node drain) is canceled when `hoist cancel` sent
 * it, else interrupted; an interrupted job whose job.json has
 * retry: {on: [interruption], max: N} gets a new attempt from its last
 * checkpoint while its attempt number is at most N (docs/job.md "retry").
 */

#include "error.h"
#include "home.h"
#include "jobspec.h"
#include "storage.h"
#include "store.h"

/* Refreshes JOB in the store and in *job (re-read after any change). */
int reconcile_job(const struct hoist_home *home, struct store *st, struct job_record **job,
                  struct hoist_error **err);

/* Lets the provider free what it holds for a finished job (warns on failure). */
void reconcile_release(const struct hoist_home *home, const struct job_record *job);

/* Hands attempt SPEC->attempt of a job, whose job.json SPEC was just stored
 * at SPEC_KEY in STO, to PROVIDER and records how to find it again. */
int reconcile_start_attempt(const struct hoist_home *home, struct store *st, struct storage *sto,
                            const char *storage_url, const struct jobspec *spec,
                            const char *provider, const char *runtime, const char *spec_key,
                            struct hoist_error **err);

/* Starts a new attempt of JOB (finished or interrupted) from its last
 * checkpoint: job.json with attempt+1, the store's new attempt, the
 * provider.  RUNTIME_OVERRIDE may be NULL (the job's own runtime).  Another
 * hoist that started it first wins: the error's code is HOIST_ERR_STATE. */
int reconcile_resume(const struct hoist_home *home, struct store *st, const struct job_record *job,
                     const char *runtime_override, struct hoist_error **err);

/* Records that the user cancels JOB's current attempt, before its provider
 * is told: the SIGTERM the entrypoint then reports as an interruption is the
 * cancel (state canceled, no retry). */
int reconcile_mark_canceled(const struct hoist_home *home, const struct job_record *job,
                            struct hoist_error **err);

/* The storage key of a job's result record / log of node NODE. */
char *reconcile_result_key(const char *job_id);
char *reconcile_log_key(const char *job_id, const char *node);

#endif
