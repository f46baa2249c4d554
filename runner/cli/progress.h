/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_PROGRESS_H
#define HOIST_RUNNER_PROGRESS_H

/*
 * The progress of one long transfer on stderr:
 *   input 'data': 12.0 MiB / 40.0 MiB (30%), 95.1 MiB/s
 * On a terminal the line is redrawn in place (\r) at most ten times a
 * second.  Elsewhere nothing is shown, unless HOIST_PROGRESS=lines asks for
 * one line at every tenth of the way; HOIST_PROGRESS=none hides it on a
 * terminal too.
 */

#include <stdint.h>

struct progress;

/* No progress lines from now on (`-q`). */
void progress_quiet(void);

/* A progress line named LABEL ("input 'data'"), drawn by progress_update(). */
struct progress *progress_new(const char *label);
/* Ends the line (the cursor moves to the next one) and frees P; NULL is fine. */
void progress_free(struct progress *p);

/* Records DONE of TOTAL bytes (TOTAL 0: unknown) and redraws when it is
 * time; USERDATA is the struct progress.  Always returns 0 (go on), so it
 * fits storage_progress_fn and s3_progress_fn. */
int progress_update(void *userdata, uint64_t done, uint64_t total);

static inline void progress_freep(struct progress **p)
{
        progress_free(*p);
}
#define _cleanup_progress_ __attribute__((cleanup(progress_freep)))

#endif
