/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_COG_H
#define HOIST_ENTRYPOINT_COG_H

/*
 * Cog's HTTP contract (docs/cog.md): hoist-entrypoint started as `cog` with
 * no job serves Cog's API on $PORT (default 5000) with libmicrohttpd, and
 * runs each training as a child hoist-entrypoint on the ordinary job path
 * (cog_job.h), so staging, checkpoints, outputs, SIGTERM with the grace and
 * the final checkpoint are the job path's own.
 */

#include "error.h"

#define COG_DEFAULT_PORT 5000

/* Serves until POST /shutdown or SIGTERM/SIGINT; returns the exit code.
 * SELF is how to start this program again (for the children); ARGS the
 * arguments after the mode word (the job's command when job.json gives
 * none).  Call from main() after init_setup(), before any thread. */
int cog_serve(const char *self, char **args);

#endif
