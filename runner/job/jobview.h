/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_JOBVIEW_H
#define HOIST_RUNNER_JOBVIEW_H

/* How jobs are shown: one table for people, one JSON shape for programs
 * (the same keys in `list -o json` and `status -o json`). */

#include <jansson.h>
#include <stddef.h>

#include "providers/provider.h"
#include "runner/control/store.h"

/* {"estimated": N|null, "billed": N|null, "currency"} of JOB (docs/cost.md). */
json_t *jobview_cost_json(const struct job_record *job);
json_t *jobview_json(const struct job_record *job, const struct job_transition *t, size_t n_t);
/* Prints real numbers in their shortest exact form. */
void jobview_print_json(json_t *v);
void jobview_print_table(struct job_record **jobs, size_t n);
/* The status of one job; a multi-line reason shows its last line.
 * METRICS (may be NULL) as jobview_metrics_add() made it; BILLING (may be
 * NULL) what its provider's billing() said. */
void jobview_print_status(const struct job_record *job, const struct job_transition *t, size_t n_t,
                          const json_t *metrics, const struct provider_billing *billing);
/* BILLING as status -o json shows it: {billed_s, nodes, sku, region, spot,
 * run_s (when the engine bills less than it ran), source}. */
json_t *jobview_billing_json(const struct provider_billing *billing);

/* Adds the data of one job.metric event (its JSON body) to METRICS: each
 * key keeps its latest value. */
void jobview_metrics_add(json_t *metrics, const char *event_body);
/* "step=3000 loss=0.9445": METRICS with each number in its shortest exact
 * form; NULL when it has none. */
char *jobview_metrics_text(const json_t *metrics);

#endif
