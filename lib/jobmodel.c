/* SPDX-License-Identifier: MIT */
#include "jobmodel.h"

#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {
        [JOB_QUEUED] = "queued",           [JOB_BUILDING] = "building",
        [JOB_UPLOADING] = "uploading",     [JOB_SUBMITTED] = "submitted",
        [JOB_STARTING] = "starting",       [JOB_RUNNING] = "running",
        [JOB_INTERRUPTED] = "interrupted", [JOB_SUCCEEDED] = "succeeded",
        [JOB_FAILED] = "failed",           [JOB_CANCELED] = "canceled",
};

_Static_assert(sizeof state_names / sizeof state_names[0] == JOB_STATE_COUNT,
               "a name for every job state");

const char *job_state_name(enum job_state s)
{
        if ((int)s < 0 || (int)s >= JOB_STATE_COUNT)
                return "unknown";
        return state_names[s];
}

int job_state_parse(const char *name, enum job_state *ret)
{
        if (name == NULL)
                return -1;
        for (int i = 0; i < JOB_STATE_COUNT; i++)
                if (strcmp(name, state_names[i]) == 0) {
                        *ret = (enum job_state)i;
                        return 0;
                }
        return -1;
}

int job_state_terminal(enum job_state s)
{
        return s == JOB_SUCCEEDED || s == JOB_FAILED || s == JOB_CANCELED;
}

void job_record_free(struct job_record *job)
{
        if (job == NULL)
                return;
        free(job->id);
        free(job->name);
        free(job->provider);
        free(job->runtime);
        free(job->provider_ref);
        free(job->storage_url);
        free(job->spec_key);
        free(job->reason);
        free(job->cost_currency);
        free(job);
}

void job_records_free(struct job_record **jobs, size_t n)
{
        if (jobs == NULL)
                return;
        for (size_t i = 0; i < n; i++)
                job_record_free(jobs[i]);
        free(jobs);
}
