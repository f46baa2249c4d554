/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_STORE_H
#define HOIST_RUNNER_STORE_H

/*
 * The job store: SQLite at $HOIST_HOME/hoist.db, WAL mode, schema versioned
 * with PRAGMA user_version and applied by ordered migrations.  Every state
 * change is a row in `transitions` with its time, written in the same
 * transaction as the job row, so a crash at any point leaves either the old
 * state or the new one.
 */

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "jobmodel.h" /* enum job_state, struct job_record */

struct job_transition {
        enum job_state from; /* from == to for the first row of a job */
        enum job_state to;
        char *reason;
        int64_t at_ms;
};

struct store;

/* Opens (creating and migrating if needed) the database at PATH. */
int store_open(const char *path, struct store **ret, struct hoist_error **err);
void store_close(struct store *st);
int store_schema_version(struct store *st);

/* Makes a fresh random id ("j-" + 12 hex). */
char *store_new_job_id(void);

/* Inserts the job and its first transition in one transaction. */
int store_insert_job(struct store *st, const struct job_record *job, struct hoist_error **err);

/* Moves the job to TO with REASON (may be NULL), recording the transition.
 * States only move forward (in enum order) and a finished job (succeeded,
 * failed, canceled) does not move again: a move to the same state, to an
 * earlier one or out of a final one is late news, and returns 0 having
 * changed nothing (store_new_attempt() is what starts over). */
int store_transition(struct store *st, const char *id, enum job_state to, const char *reason,
                     struct hoist_error **err);
/* Like store_transition() and also sets exit_code, atomically; a job
 * already in TO whose exit code is not known yet gets EXIT_CODE. */
int store_finish(struct store *st, const char *id, enum job_state to, int exit_code,
                 const char *reason, struct hoist_error **err);
/* Like store_finish() for attempt ATTEMPT only: a job that has moved on to
 * another attempt (a resume that came first) is left as it is, and 0 is
 * returned.  What decides one attempt's end calls this, never the plain
 * one: a late decision must not end the attempt after it. */
int store_finish_attempt(struct store *st, const char *id, int64_t attempt, enum job_state to,
                         int exit_code, const char *reason, struct hoist_error **err);
/* What the job's engine says of attempt ATTEMPT, even where it is a step
 * back: a job it still queues (Slurm's PENDING, with its reason: Priority,
 * Resources) after submit moved it to starting, or an attempt that reported
 * interrupted and that the engine requeued (caps.requeues).  TO is not a
 * final state; a job at another attempt or already finished is left as it
 * is, and a new REASON in the same state replaces the old one with no
 * transition row.  Only the reconciler calls it, with the provider's word. */
int store_follow_engine(struct store *st, const char *id, int64_t attempt, enum job_state to,
                        const char *reason, struct hoist_error **err);
int store_set_provider_ref(struct store *st, const char *id, const char *runtime, const char *ref,
                           struct hoist_error **err);
/* Starts a new attempt of a finished or interrupted job that is at attempt
 * FROM_ATTEMPT: attempt+1, state submitted, exit code cleared; one
 * transaction.  The store decides who starts the next attempt: any other
 * caller that read the same attempt gets HOIST_ERR_STATE. */
int store_new_attempt(struct store *st, const char *id, int64_t from_attempt,
                      struct hoist_error **err);

/* Deletes a finished job's row, its transitions and its events, in one
 * transaction.  A job that is not finished (a resume started it again) is
 * HOIST_ERR_STATE and stays. */
int store_delete_job(struct store *st, const char *id, struct hoist_error **err);

/* Finds a job by full id, unique id prefix, or exact name of its newest run.
 * Not found: code HOIST_ERR_NOT_FOUND; ambiguous prefix: HOIST_ERR_USAGE. */
int store_get_job(struct store *st, const char *id_or_name, struct job_record **ret,
                  struct hoist_error **err);
/* A value bound to a query's ?N (store_select_jobs). */
struct store_param {
        const char *text; /* NULL: the integer */
        int64_t i;
};
/* SELECT of every job column FROM jobs followed by TAIL (WHERE ... ORDER BY
 * ... LIMIT ...), with PARAMS bound to ?1..?N. */
int store_select_jobs(struct store *st, const char *tail, const struct store_param *params,
                      size_t n_params, struct job_record ***ret_jobs, size_t *ret_n,
                      struct hoist_error **err);
/* All jobs, newest first. */
int store_list_jobs(struct store *st, struct job_record ***ret_jobs, size_t *ret_n,
                    struct hoist_error **err);
int store_list_transitions(struct store *st, const char *id, struct job_transition **ret,
                           size_t *ret_n, struct hoist_error **err);

/* An event a job sent (DESIGN.md "Events"), as hoist serve received it. */
struct store_event {
        const char *id; /* unique: a second event with this id is a duplicate */
        const char *job_id;
        const char *type; /* "job.running", ... */
        const char *node;
        const char *status;
        const char *body;   /* the JSON text as received */
        int exit_code;      /* for a final or interrupted state; -1 when unknown */
        int64_t attempt;    /* the sender's attempt; 0 when unknown */
        const char *reason; /* for the transition; may be NULL */
};

/* Records E and, when its type carries a state (job.starting, job.running,
 * job.succeeded, job.failed, job.canceled, job.interrupted), moves the job
 * there as store_transition() would, with its transition row, in one
 * transaction; an event of another attempt than the job's moves nothing.
 * Returns 1 when recorded, 0 for a duplicate id (nothing changes), -1 on
 * error (an unknown job is HOIST_ERR_NOT_FOUND). */
int store_apply_event(struct store *st, const struct store_event *e, struct hoist_error **err);
/* Records N events in one transaction (group commit), each as
 * store_apply_event() would: RET_RESULTS[i] is its 1, 0 or -1, with
 * RET_ERRS[i] set for -1 (the caller frees those).  An event that fails
 * leaves the others recorded.  Returns -1 when the transaction itself
 * fails (then nothing is recorded and no RET_ERRS[i] is set). */
int store_apply_events(struct store *st, const struct store_event *const *ev, size_t n,
                       int *ret_results, struct hoist_error **ret_errs, struct hoist_error **err);
/* The body of the job's newest event of TYPE, or NULL in *RET_BODY. */
int store_last_event(struct store *st, const char *job_id, const char *type, char **ret_body,
                     struct hoist_error **err);
/* Calls FN with the body of each of the job's events of TYPE, oldest first. */
typedef void (*store_event_fn)(void *userdata, const char *body);
int store_each_event(struct store *st, const char *job_id, const char *type, store_event_fn fn,
                     void *userdata, struct hoist_error **err);
int store_count_events(struct store *st, const char *job_id, int64_t *ret,
                       struct hoist_error **err);

void job_transitions_free(struct job_transition *t, size_t n);

/* What one attempt of a job costs (runner/job/cost.c, docs/cost.md).  A money
 * amount or count < 0 is unknown (NULL in the store). */
struct store_cost {
        int64_t attempt;
        double rate_per_hour; /* what the whole job pays per hour it runs */
        double ceiling;       /* rate x limits.max_runtime; < 0: unbounded */
        double estimated;     /* the expected cost (median of earlier runs), else the ceiling */
        double billed;        /* what the provider billed, priced */
        int64_t billed_s, nodes;
        char *sku, *region; /* NULL: the provider's user rate; any region */
        int spot;
        char *unit, *currency, *source;
        int64_t updated_at_ms;
};

/* Writes the cost of attempt C->attempt of job ID, replacing what was there. */
int store_put_cost(struct store *st, const char *id, const struct store_cost *c,
                   struct hoist_error **err);
/* The job's cost rows, by attempt; *RET freed with store_costs_free. */
int store_list_costs(struct store *st, const char *id, struct store_cost **ret, size_t *ret_n,
                     struct hoist_error **err);
void store_cost_clear(struct store_cost *c);
void store_costs_free(struct store_cost *v, size_t n);

static inline void store_closep(struct store **s)
{
        store_close(*s);
}
#define _cleanup_store_ __attribute__((cleanup(store_closep)))

#endif
