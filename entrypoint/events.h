/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_EVENTS_H
#define HOIST_ENTRYPOINT_EVENTS_H

/*
 * The job's events (DESIGN.md "Events"): each one is persisted to
 * jobs/<id>/events/<seq>.json before the first delivery try, then POSTed,
 * signed with Standard Webhooks, to every webhook of job.json whose filter
 * matches, in order per URL, retried with backoff under the same webhook-id.
 * job.log and job.metric events are throttled.  A worker thread does the I/O;
 * it is started only after the command was spawned.
 */

#include <jansson.h>
#include <stdint.h>

#include "error.h"
#include "jobspec.h"
#include "redact.h"

struct events;
/* The job's event sink: persists each event to jobs/<id>/events/<seq>.json and delivers
 * it to job.json's webhooks.  No thread yet: events queue until events_start(). */
int events_open(const struct jobspec *spec, const char *node, struct events **ret,
                struct hoist_error **err);
/* Queues one event; never blocks on I/O; thread-safe; EV may be NULL (no-op).
 * DATA (a json_t object, may be NULL) is stolen.  TYPE e.g. "job.metric". */
void events_emit(struct events *ev, const char *type, const char *status, json_t *data);
int events_start(struct events *ev, struct hoist_error **err); /* from on_spawned */
/* Every event's data is redacted with R from now on (R outlives EV). */
void events_set_redact(struct events *ev, const struct redact *r);
/* Persists and delivers what is queued, giving up at DEADLINE_MS (monotonic ms, see
 * result_now_ms()/CLOCK_MONOTONIC), then stops the thread.  Works whether or not
 * events_start() ran (then it delivers from the calling thread). */
void events_finish(struct events *ev, int64_t deadline_ms);
void events_close(struct events *ev);

/* The attempt's last event: job.<STATUS> ("succeeded", "failed", "canceled",
 * "interrupted") with data {exit_code, signal, reason}. */
void events_emit_final(struct events *ev, const char *status, int exit_code, int sig,
                       const char *reason);
/* job.output: the outputs are in storage, under data.prefix. */
void events_emit_output(struct events *ev, const struct jobspec *spec);

#endif
