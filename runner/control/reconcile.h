/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_RECONCILE_H
#define HOIST_RUNNER_RECONCILE_H

/*
 * Brings a job's row up to date.  The entrypoint's result record in storage
 * (jobs/<id>/result.json, for the current attempt) is the authority on how a
 * job ended; without one, the provider says whether it still runs.  `hoist
 * serve` reconciles every active job in the background (reconcile_pass()),
 * and every verb that shows a job reconciles it first too.
 *
 * Whoever starts an attempt, or decides that one never started, holds the
 * job's lock ($HOIST_HOME/run/<id>/launch.lock, flock) from the store's decision
 * until the provider's handle is recorded; the store decides who starts the
 * next attempt (store_new_attempt()).
 *
 * An attempt the entrypoint reports "interrupted" (it got SIGTERM from
 * outside: spot reclaim, node drain) is canceled when `hoist cancel` sent
 * it, else interrupted; an interrupted job whose job.json has
 * retry: {on: [interruption], max: N} gets a new attempt from its last
 * checkpoint while its attempt number is at most N (docs/job.md "retry").
 * Where the provider's engine requeues by itself (caps.requeues: Slurm
 * after preemption or a node failure), an interrupted attempt the engine
 * still holds is followed (queued or running again, "requeued by
 * <provider>") and decided once the engine's run ends.
 *
 * A multi-node job (job.json distributed.nodes > 1) is decided once its
 * provider says the attempt ended or every node's record
 * (jobs/<id>/results/<node>.json) is there: runner/job/noderesults.h.
 */

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "runner/cli/home.h"
#include "jobspec.h"
#include "runner/job/hubresults.h"
#include "runner/control/pollsched.h"
#include "storage.h"
#include "runner/control/store.h"

/* How long reconcile_job() waits for a job another hoist holds (then it
 * leaves the stored state as it is), and how long a resume waits (then it
 * refuses). */
#define RECONCILE_LOCK_WAIT_MS 2000
#define RECONCILE_RESUME_WAIT_MS 30000

/* Takes job JOB_ID's lock, waiting up to WAIT_MS: 1 and *RET_FD (close it to
 * unlock), 0 when another process still holds it, -1 on error. */
int reconcile_lock_job(const struct hoist_home *home, const char *job_id, int wait_ms, int *ret_fd,
                       struct hoist_error **err);

/* Refreshes JOB in the store and in *job (re-read after any change). */
int reconcile_job(const struct hoist_home *home, struct store *st, struct job_record **job,
                  struct hoist_error **err);
/* The same; without ASK it applies only what storage holds (a result
 * record) and leaves whatever needs the provider for a later look, so a
 * reader that looks often (hoist logs -f) asks the provider only every
 * reconcile_poll_ms(). */
int reconcile_job_look(const struct hoist_home *home, struct store *st, struct job_record **job,
                       bool ask, struct hoist_error **err);
/* How often to ask PROVIDER about a job, in ms (its poll_ms, else
 * POLLSCHED_DEFAULT_MS). */
int reconcile_poll_ms(const char *provider);

/* Lets the provider free what it holds for a finished job (warns on failure). */
/* The file in a job's run dir that says its provider let go of its last
 * attempt; clearing the run dir (hoist gc) keeps it, as it keeps the lock. */
#define RECONCILE_RELEASED_MARK "provider-released"
void reconcile_release(const struct hoist_home *home, const struct job_record *job);

/* Hands attempt SPEC->attempt of a job, whose job.json SPEC was just stored
 * at SPEC_KEY in STO, to PROVIDER and records how to find it again.  The
 * caller holds the job's lock.  A job with retry: also gets hoist serve
 * running, which retries it.  SETTINGS: what the provider's load_settings
 * made of job.yaml (provider_submit.settings), NULL for a later attempt. */
int reconcile_start_attempt(const struct hoist_home *home, struct store *st, struct storage *sto,
                            const char *storage_url, const struct jobspec *spec,
                            const char *provider, const char *runtime, const char *spec_key,
                            const void *settings, struct hoist_error **err);

/* Starts a new attempt of job JOB_ID (finished or interrupted) from its last
 * checkpoint: the store's new attempt, job.json with attempt+1, the
 * provider.  RUNTIME_OVERRIDE may be NULL (the job's own runtime).  A job
 * that succeeded is refused unless FORCE.  Another hoist that started it
 * first wins: the error's code is HOIST_ERR_STATE. */
int reconcile_resume(const struct hoist_home *home, struct store *st, const char *job_id,
                     const char *runtime_override, bool force, struct hoist_error **err);

/* One pass of hoist serve's control plane: reconciles every active job that
 * no other hoist holds (retries included) and revokes the storage keys of
 * attempts that have ended.  P carries what it warned about already and
 * each job's schedule: a job's stored result is applied on any pass, its
 * provider is asked only when the schedule says so. */
struct reconcile_seen {
        char *job_id;
        char *msg;       /* warned: the last warning */
        int64_t attempt; /* settled: an interrupted attempt with no retry left */
};
struct reconcile_pass {
        struct reconcile_seen *warned;
        size_t n;
        /* Looked at again only once their attempt changes (a --resume). */
        struct reconcile_seen *settled;
        size_t n_settled;
        /* When each active job's provider is asked next (runner/control/pollsched.h):
         * every poll_ms of its provider, backing off while looking fails.
         * Its stored results are applied on every pass. */
        struct pollsched sched;
        /* Succeeded jobs whose model goes to the Hub (runner/job/hubresults.h). */
        struct hubresults_pass hub;
        /* The clock the schedule runs on, in ms (NULL: CLOCK_MONOTONIC). */
        int64_t (*now_ms)(void);
};
int reconcile_pass(const struct hoist_home *home, struct store *st, struct reconcile_pass *p,
                   struct hoist_error **err);
void reconcile_pass_done(struct reconcile_pass *p);

/* Records that the user cancels JOB's current attempt, before its provider
 * is told: the SIGTERM the entrypoint then reports as an interruption is the
 * cancel (state canceled, no retry). */
int reconcile_mark_canceled(const struct hoist_home *home, const struct job_record *job,
                            struct hoist_error **err);
/* The same, with WHY the reason the job ends canceled with (NULL: "canceled
 * by the user"). */
int reconcile_mark_canceled_why(const struct hoist_home *home, const struct job_record *job,
                                const char *why, struct hoist_error **err);
/* Whether a cancel of JOB's current attempt was asked for (it may still be
 * stopping). */
int reconcile_cancel_requested(const struct hoist_home *home, const struct job_record *job);

/* The storage key of a job's result record / log of node NODE. */
char *reconcile_result_key(const char *job_id);
char *reconcile_log_key(const char *job_id, const char *node);

#endif
