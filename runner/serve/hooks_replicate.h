/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_HOOKS_REPLICATE_H
#define HOIST_SERVE_HOOKS_REPLICATE_H

/*
 * POST /api/webhooks/replicate?job=<id>&attempt=<n> of `hoist serve`:
 * Replicate's webhooks for a job's training (docs/providers/replicate.md
 * "Webhooks").  The source allowlist (--webhook-allow) is checked first
 * (403), as for /hooks/events; then the Standard Webhooks signature and
 * timestamp (±5 minutes) with the secret Replicate serves at GET
 * /v1/webhooks/default/secret (fetched with REPLICATE_API_TOKEN, kept in
 * memory, fetched again once when a signature does not match: 401), the
 * body as a training (400), and the event is recorded once per webhook-id
 * (a duplicate is answered 200 and changes nothing).  starting and
 * processing move the job to starting and running; a final status is
 * recorded, and the job's result record in storage (or the provider, when
 * there is none) decides how it ended.
 */

#include <stdint.h>

#include "error.h"
#include "runner/serve/hooks.h"

struct ingest;

#define HOOKS_REPLICATE_PATH "/api/webhooks/replicate"

/* The parts of a delivery the store needs, made from Replicate's training
 * BODY for JOB_ID's ATTEMPT and WEBHOOK_ID: *RET_TYPE ("job.running",
 * "replicate.succeeded"...), *RET_STATUS (hoist's state name) and
 * *RET_EVENT (the event body hoist stores: its own event shape, without the
 * training's input or logs). */
int hooks_replicate_event(const char *body, size_t len, const char *job_id, int64_t attempt,
                          const char *webhook_id, int64_t timestamp, char **ret_type,
                          char **ret_status, char **ret_event, struct hoist_error **err);

struct hooks_replicate;
struct hooks_replicate *hooks_replicate_new(void);
void hooks_replicate_free(struct hooks_replicate *r);

/* Answers one complete request (BODY of LEN bytes) on CONN. */
enum MHD_Result hooks_replicate_finish(struct hooks_replicate *r, struct ingest *ingest,
                                       struct MHD_Connection *conn, const char *body, size_t len);

#endif
