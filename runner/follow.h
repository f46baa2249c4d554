/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_FOLLOW_H
#define HOIST_RUNNER_FOLLOW_H

#include "error.h"
#include "home.h"
#include "store.h"

/* Writes job ID's log to FD.  With FOLLOW, keeps writing as it grows until
 * the job ends, then says how it ended on stderr and returns EXIT_OK,
 * EXIT_JOB_FAILED or EXIT_JOB_CANCELED; without, returns EXIT_OK.  Each
 * line's stored "<time> <stream>|" prefix is left out unless FOLLOW has
 * FOLLOW_TIMESTAMPS set too. */
#define FOLLOW_TIMESTAMPS 2
int follow_job(const struct hoist_home *home, struct store *st, const char *id, int fd, int follow,
               struct hoist_error **err);

/* The exit code that reports a finished job's state. */
int follow_exit_code(enum job_state s);

#endif
