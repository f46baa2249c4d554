/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_JOBCANCEL_H
#define HOIST_RUNNER_JOBCANCEL_H

/*
 * Stopping a job as `hoist cancel` does (and `hoist rm --force` before it
 * removes one): the cancel is recorded first, so the SIGTERM the entrypoint
 * then reports is not taken for an interruption; then the provider stops
 * it (SIGTERM, SIGKILL after the grace period) and the job ends canceled.
 */

#include <stdint.h>

#include "error.h"
#include "runner/cli/home.h"
#include "runner/control/store.h"

/* Cancels *JOB (reconciled first, re-read after): 1 when it was finished
 * already (nothing done), 0 when canceled, -1 on error. */
int jobcancel(const struct hoist_home *home, struct store *st, struct job_record **job,
              int64_t grace_s, struct hoist_error **err);
/* The same with WHY as the reason the job ends canceled with ("spending
 * limit" when hoist serve stops it at a limit). */
int jobcancel_why(const struct hoist_home *home, struct store *st, struct job_record **job,
                  int64_t grace_s, const char *why, struct hoist_error **err);
/* The same for attempt ATTEMPT only (0: whichever runs): a job that has
 * moved on to another attempt (a resume came first) is HOIST_ERR_STATE and
 * nothing is canceled, so a cancel meant for the attempt a user saw never
 * stops the next one. */
int jobcancel_attempt(const struct hoist_home *home, struct store *st, struct job_record **job,
                      int64_t grace_s, const char *why, int64_t attempt, struct hoist_error **err);

#endif
