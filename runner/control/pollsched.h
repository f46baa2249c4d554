/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_POLLSCHED_H
#define HOIST_RUNNER_POLLSCHED_H

/*
 * When hoist serve's control plane asks a job's provider again: every
 * poll_ms (the provider's, 0 = POLLSCHED_DEFAULT_MS) while status() answers,
 * and after a failure twice as long as the last wait, up to
 * POLLSCHED_MAX_BACKOFF_MS; an answer resets it.  A job that is not due
 * for its provider still gets its stored results applied on every pass
 * (runner/control/reconcile.c).  Times are in ms of
 * any monotonic clock the caller picks.  The schedule is only memory: a
 * restarted hoist serve asks every provider at once and carries on.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POLLSCHED_DEFAULT_MS 1000
#define POLLSCHED_MAX_BACKOFF_MS 60000

struct pollsched_entry {
        char *job_id;
        int64_t next_ms;  /* ask the provider from then on (0: now) */
        int64_t wait_ms;  /* the wait that led to NEXT_MS */
        int64_t failures; /* in a row */
        int64_t asks;     /* every time the provider was asked */
        bool seen;        /* looked at in this pass */
};

struct pollsched {
        struct pollsched_entry *e;
        size_t n;
};

/* JOB_ID's entry, made (due at once) when it has none. */
struct pollsched_entry *pollsched_get(struct pollsched *s, const char *job_id);
/* 1 when E's provider may be asked at NOW. */
bool pollsched_due(const struct pollsched_entry *e, int64_t now);
/* The provider was asked at NOW and answered (POLL_MS: the provider's). */
void pollsched_answered(struct pollsched_entry *e, int64_t now, int poll_ms);
/* Asking the provider failed at NOW: the next ask waits twice as long as
 * the last wait, at most POLLSCHED_MAX_BACKOFF_MS. */
void pollsched_failed(struct pollsched_entry *e, int64_t now, int poll_ms);
/* Starts a pass: every entry unseen. */
void pollsched_begin(struct pollsched *s);
/* Ends a pass: drops the entries of jobs it did not look at (finished). */
void pollsched_end(struct pollsched *s);
void pollsched_free(struct pollsched *s);

#endif
