/* SPDX-License-Identifier: MIT */
#include "reconcile.h"

#include <string.h>

#include "cleanup.h"
#include "jobstorage.h"
#include "jobspec.h"
#include "log.h"
#include "providers/provider.h"
#include "storage.h"
#include "xalloc.h"

char *reconcile_result_key(const char *job_id)
{
        return xasprintf("jobs/%s/result.json", job_id);
}

char *reconcile_log_key(const char *job_id, const char *node)
{
        return xasprintf("jobs/%s/logs/%s.log", job_id, node);
}

/* Reads the current attempt's result record: 1 found, 0 none, -1 error. */
static int read_result(const struct hoist_home *home, const struct job_record *job,
                       struct jobspec_result **ret, struct hoist_error **err)
{
        _cleanup_storage_ struct storage *sto = NULL;
        _cleanup_free_ char *key = reconcile_result_key(job->id);
        _cleanup_free_ char *text = NULL;
        struct jobspec_result *res = NULL;
        size_t len = 0;
        int r;

        if (jobstorage_open(home, job->storage_url, &sto, err) < 0)
                return -1;
        r = storage_exists(sto, key, NULL, err);
        if (r <= 0)
                return r;
        if (storage_get_bytes(sto, key, &text, &len, err) < 0 ||
            jobspec_result_parse(text, len, key, &res, err) < 0)
                return -1;
        if (res->attempt != job->attempt) { /* a previous attempt's record */
                jobspec_result_free(res);
                return 0;
        }
        *ret = res;
        return 1;
}

static enum job_state result_state(const char *status)
{
        enum job_state s;

        if (status != NULL && job_state_parse(status, &s) == 0 && job_state_terminal(s))
                return s;
        if (status != NULL && strcmp(status, "interrupted") == 0)
                return JOB_INTERRUPTED;
        return JOB_FAILED;
}

/* Another hoist process may have finished the job between our read and our
 * write; its verdict stands. */
static int finish(struct store *st, const char *id, enum job_state to, int exit_code,
                  const char *reason, struct hoist_error **err)
{
        if (store_finish(st, id, to, exit_code, reason, err) == 0)
                return 0;
        if ((*err)->code != HOIST_ERR_STATE)
                return -1;
        hoist_error_release(err);
        return 0;
}

static int reread(struct store *st, struct job_record **job, struct hoist_error **err)
{
        struct job_record *fresh = NULL;

        if (store_get_job(st, (*job)->id, &fresh, err) < 0)
                return -1;
        job_record_free(*job);
        *job = fresh;
        return 0;
}

/* Once a job has ended, the provider may let go of it.  A failure here
 * leaves a stopped container behind, nothing worse: warn and go on. */
void reconcile_release(const struct hoist_home *home, const struct job_record *job)
{
        const struct provider_ops *prov = provider_find(job->provider);
        _cleanup_free_ char *state_dir = NULL;
        struct hoist_error *err = NULL;

        if (prov == NULL || prov->release == NULL || !job_state_terminal(job->state))
                return;
        state_dir = home_job_run_dir(home, job->id);
        if (prov->release(job, state_dir, &err) < 0) {
                log_warn("job %s: %s, ignoring", job->id, err->msg);
                hoist_error_free(err);
        }
}

int reconcile_job(const struct hoist_home *home, struct store *st, struct job_record **job,
                  struct hoist_error **err)
{
        _cleanup_jobspec_result_ struct jobspec_result *res = NULL;
        const struct provider_ops *prov;
        struct provider_status ps = {.state = JOB_FAILED, .exit_code = -1, .reason = NULL};
        int r;

        if (job_state_terminal((*job)->state) || (*job)->state == JOB_INTERRUPTED)
                return 0;
        r = read_result(home, *job, &res, err);
        if (r < 0)
                return hoist_error_wrap(err, "job %s", (*job)->id);
        if (r == 1) {
                if (finish(st, (*job)->id, result_state(res->status), res->exit_code, res->reason,
                           err) < 0 ||
                    reread(st, job, err) < 0)
                        return -1;
                reconcile_release(home, *job);
                return 0;
        }
        prov = provider_find((*job)->provider);
        if (prov == NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "job %s: unknown provider '%s'",
                                        (*job)->id, (*job)->provider);
        _cleanup_free_ char *state_dir = home_job_run_dir(home, (*job)->id);
        if (prov->status(*job, state_dir, &ps, err) < 0)
                return hoist_error_wrap(err, "job %s: status from provider '%s'", (*job)->id,
                                        prov->name);
        if (job_state_terminal(ps.state)) {
                /* It may have written its result between our two looks. */
                r = read_result(home, *job, &res, err);
                if (r == 1)
                        r = store_finish(st, (*job)->id, result_state(res->status), res->exit_code,
                                         res->reason, err);
                else if (r == 0)
                        r = finish(st, (*job)->id, ps.state, ps.exit_code, ps.reason, err);
        } else if (ps.state != (*job)->state && ps.state > (*job)->state) {
                r = store_transition(st, (*job)->id, ps.state, NULL, err);
                if (r < 0 && (*err)->code == HOIST_ERR_STATE) {
                        hoist_error_release(err);
                        r = 0;
                }
        } else {
                r = 0;
        }
        provider_status_clear(&ps);
        if (r < 0 || reread(st, job, err) < 0)
                return -1;
        reconcile_release(home, *job);
        return 0;
}
