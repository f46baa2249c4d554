/* SPDX-License-Identifier: MIT */
#include "runner/job/jobcancel.h"

#include <inttypes.h>
#include <stdlib.h>

#include "cleanup.h"
#include "runner/job/cost.h"
#include "providers/provider.h"
#include "runner/control/reconcile.h"

int jobcancel(const struct hoist_home *home, struct store *st, struct job_record **job,
              int64_t grace_s, struct hoist_error **err)
{
        return jobcancel_why(home, st, job, grace_s, "canceled by the user", err);
}

int jobcancel_why(const struct hoist_home *home, struct store *st, struct job_record **job,
                  int64_t grace_s, const char *why, struct hoist_error **err)
{
        return jobcancel_attempt(home, st, job, grace_s, why, 0, err);
}

int jobcancel_attempt(const struct hoist_home *home, struct store *st, struct job_record **job,
                      int64_t grace_s, const char *why, int64_t attempt, struct hoist_error **err)
{
        /* Reconciling waits for a launch in progress (its lock): only then
         * is the attempt the one that runs. */
        if (reconcile_job(home, st, job, err) < 0)
                return -1;
        if (attempt > 0 && (*job)->attempt != attempt)
                return hoist_error_make(err, HOIST_ERR_STATE,
                                        "job %s is at attempt %" PRId64 " now, not %" PRId64
                                        "; nothing was canceled (cancel again to stop attempt "
                                        "%" PRId64 ")",
                                        (*job)->id, (*job)->attempt, attempt, (*job)->attempt);
        if (job_state_terminal((*job)->state))
                return 1;
        /* The attempt this cancel stops: once it has stopped, hoist serve
         * may record it canceled and a resume may start the next one before
         * we look again; that one is not ours to end. */
        const int64_t target = (*job)->attempt;
        const struct provider_ops *prov = provider_find((*job)->provider);
        if (prov == NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "job %s: unknown provider '%s'",
                                        (*job)->id, (*job)->provider);
        _cleanup_free_ char *state_dir = home_job_run_dir(home, (*job)->id);
        /* First, so the SIGTERM it sends is not taken for an interruption. */
        if (reconcile_mark_canceled_why(home, *job, why, err) < 0)
                return -1;
        if (prov->cancel(*job, state_dir, grace_s, err) < 0)
                return hoist_error_wrap(err, "cancel %s", (*job)->id);
        /* The entrypoint records how the command ended; cancel is the reason. */
        if (reconcile_job(home, st, job, err) < 0)
                return -1;
        if ((*job)->attempt == target &&
            (!job_state_terminal((*job)->state) || (*job)->state == JOB_FAILED)) {
                if (store_finish_attempt(st, (*job)->id, target, JOB_CANCELED, (*job)->exit_code,
                                         why, err) < 0 &&
                    (*err)->code != HOIST_ERR_STATE)
                        return -1;
                hoist_error_release(err);
                struct job_record *fresh = NULL;
                if (store_get_job(st, (*job)->id, &fresh, err) < 0)
                        return -1;
                job_record_free(*job);
                *job = fresh;
                cost_settle(home, st, *job);
        }
        return 0;
}
