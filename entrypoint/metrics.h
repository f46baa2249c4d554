/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_METRICS_H
#define HOIST_ENTRYPOINT_METRICS_H

/*
 * Metrics from the command's output: a line that is a JSON object with at
 * least one numeric field, e.g. {"step": 100, "loss": 0.31}, becomes a
 * job.metric event whose data holds its numeric fields (at most
 * METRICS_MAX_FIELDS; other fields are dropped), and the sd_notify STATUS
 * names the step and loss when it has them (at most once a second).  Anything else is a plain log
 * line: metrics never fail and never stop the job.
 */

#include <jansson.h>
#include <stddef.h>

#include "events.h"

#define METRICS_MAX_FIELDS 64
/* Longer lines are not looked at. */
#define METRICS_MAX_LINE 16384
/* At most one sd_notify STATUS per this many ms. */
#define METRICS_STATUS_MS 1000

/* The metrics of LINE as a new JSON object of its numeric fields (names
 * kept, booleans dropped), or NULL when LINE is not a metrics line. */
json_t *metrics_parse(const char *line, size_t len);

/* "STATUS=step 100 loss 0.31" for M, or NULL when it has neither field. */
char *metrics_status(const json_t *m);

/* One line of output: a job.metric event to EV (may be NULL) and the
 * sd_notify STATUS when LINE is a metrics line; nothing otherwise. */
void metrics_line(struct events *ev, const char *line, size_t len);

#endif
