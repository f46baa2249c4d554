/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_FOLLOW_H
#define HOIST_RUNNER_FOLLOW_H

#include <stdint.h>

#include "error.h"
#include "runner/cli/home.h"
#include "runner/control/store.h"

/* How often hoist logs -f reads storage. */
#define FOLLOW_POLL_MS 200

/* What follow_job() writes. */
struct follow_options {
        int follow;       /* keep writing as the log grows until the job ends */
        int timestamps;   /* keep each line's stored "<time> <stream>|" prefix */
        int64_t attempt;  /* only the lines of this attempt (0: every attempt's) */
        long tail;        /* of the log as it is now, only the last TAIL lines (-1: all);
                           * with several nodes, of each node's */
        const char *node; /* only this node's log: a rank ("1": node1) or a name; NULL: all */
};

/* Writes job ID's log to FD: what storage holds (jobs/<id>/logs/<node>.log),
 * whatever the provider.  A job with several node logs gets them
 * interleaved as they are read, each line beginning "[NODE] ".  With
 * FOLLOW, storage is read every FOLLOW_POLL_MS, so a line reaches FD at
 * most that long after it reaches storage (docs/logs.md has the whole
 * bound: the entrypoint's log sync adds its interval on remote storage).
 * With FOLLOW, keeps writing as it grows until
 * the job ends, then says how it ended on stderr and returns EXIT_OK,
 * EXIT_JOB_FAILED or EXIT_JOB_CANCELED; without, returns EXIT_OK.  SIGINT
 * (Ctrl-C) while following stops the following, not the job: it says how
 * to follow or cancel the job and returns 130. */
int follow_job(const struct hoist_home *home, struct store *st, const char *id, int fd,
               const struct follow_options *opts, struct hoist_error **err);

/* The exit code that reports a finished job's state. */
int follow_exit_code(enum job_state s);

#endif
