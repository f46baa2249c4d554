/* SPDX-License-Identifier: MIT */
#ifndef HOIST_JOBMODEL_H
#define HOIST_JOBMODEL_H

/*
 * The job model every part of the runner shares: a job's state and the record
 * the store keeps for it (runner/control/store.h), which providers read
 * (providers/provider.h).  Pure data and its helpers; no storage here, so a
 * provider needs nothing from runner/ to know what a job is.
 */

#include <stddef.h>
#include <stdint.h>

/* In the order a job moves through them: states only move forward, and the
 * last three are final (job_state_terminal). */
enum job_state {
        JOB_QUEUED,
        JOB_BUILDING,
        JOB_UPLOADING,
        JOB_SUBMITTED,
        JOB_STARTING,
        JOB_RUNNING,
        JOB_INTERRUPTED,
        JOB_SUCCEEDED,
        JOB_FAILED,
        JOB_CANCELED,
};

/* How many states there are: valid values are 0 to JOB_STATE_COUNT - 1. */
#define JOB_STATE_COUNT ((int)JOB_CANCELED + 1)

struct job_record {
        char *id; /* "j-" + 12 lowercase hex (store_new_job_id) */
        char *name;
        char *provider;     /* "local" */
        char *runtime;      /* provider-specific: "process", "podman", "docker" */
        char *provider_ref; /* the provider's handle (container name, pid file ...) */
        char *storage_url;  /* where job.json lives, e.g. file:///root/.hoist/storage */
        char *spec_key;     /* storage key of job.json */
        enum job_state state;
        char *reason;    /* why it is in this state, or NULL */
        int exit_code;   /* -1 until known */
        int64_t attempt; /* 1, then +1 per resume */
        int64_t created_at_ms;
        int64_t updated_at_ms;
        /* Summed over attempts (docs/cost.md); < 0 when unknown. */
        double cost_estimated, cost_billed;
        char *cost_currency; /* "USD", or NULL when no cost is known */
};

void job_record_free(struct job_record *job);
void job_records_free(struct job_record **jobs, size_t n);

/* "queued", "running", ... as the store, job.json and the CLI spell them;
 * "unknown" for a value out of range. */
const char *job_state_name(enum job_state s);
/* The state called NAME (exactly, lowercase): 0 and *RET, or -1. */
int job_state_parse(const char *name, enum job_state *ret);
/* 1 for succeeded, failed and canceled: a job there does not move again. */
int job_state_terminal(enum job_state s);

static inline void job_record_freep(struct job_record **j)
{
        job_record_free(*j);
}
#define _cleanup_job_record_ __attribute__((cleanup(job_record_freep)))

#endif
