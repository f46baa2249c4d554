/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_COG_WEBHOOK_H
#define HOIST_ENTRYPOINT_COG_WEBHOOK_H

/*
 * Cog's webhooks for one training: each POST carries the whole training
 * response (Cog's shape, unsigned, as Cog sends them).  start and completed
 * go at once; logs and output at most every COG_WEBHOOK_THROTTLE_MS, the
 * latest state going out when the interval is over (so the last lines are
 * never held back longer than that); a completed supersedes what waits.
 * Only the events of the filter are sent.  One thread per training.
 */

#include <jansson.h>
#include <stdint.h>

#define COG_WEBHOOK_THROTTLE_MS 500

struct cog_webhook;

/* Starts the sender for URL with the COG_EVENT_* bits of EVENTS. */
struct cog_webhook *cog_webhook_start(const char *url, unsigned events);

/* EVENT (one COG_EVENT_* bit) happened; PAYLOAD (taken) is the training
 * response now. */
void cog_webhook_send(struct cog_webhook *w, unsigned event, json_t *payload);

/* Waits until the completed webhook went out (retried until DEADLINE_MS,
 * CLOCK_MONOTONIC) or was given up, then frees W.  NULL is fine. */
void cog_webhook_finish(struct cog_webhook *w, int64_t deadline_ms);

int64_t cog_now_ms(void);

#endif
