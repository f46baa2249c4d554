/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_JOBVIEW_H
#define HOIST_RUNNER_JOBVIEW_H

/* How jobs are shown: one table for people, one JSON shape for programs
 * (the same keys in `list -o json` and `status -o json`). */

#include <jansson.h>
#include <stddef.h>

#include "store.h"

json_t *jobview_json(const struct job_record *job, const struct job_transition *t, size_t n_t);
void jobview_print_json(json_t *v);
void jobview_print_table(struct job_record **jobs, size_t n);
void jobview_print_status(const struct job_record *job, const struct job_transition *t, size_t n_t);

#endif
