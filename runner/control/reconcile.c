/* SPDX-License-Identifier: MIT */
#include "runner/control/reconcile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "clock.h"
#include "runner/job/cost.h"
#include "fsutil.h"
#include "jobspec.h"
#include "runner/job/jobhooks.h"
#include "runner/job/jobsecrets.h"
#include "runner/job/jobstorage.h"
#include "runner/control/localserve.h"
#include "runner/job/noderesults.h"
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
 * write; its verdict stands (the store keeps the first final state). */
static int reread(struct store *st, struct job_record **job, struct hoist_error **err)
{
        struct job_record *fresh = NULL;

        if (store_get_job(st, (*job)->id, &fresh, err) < 0)
                return -1;
        job_record_free(*job);
        *job = fresh;
        return 0;
}

/* run/<id>/RELEASED_MARK holds the attempt whose end the provider was
 * told of: a job that ended by an event hoist serve received is released
 * by the next reconciler that sees it, once. */
#define RELEASED_MARK RECONCILE_RELEASED_MARK

static bool was_released(const struct hoist_home *home, const struct job_record *job)
{
        _cleanup_free_ char *dir = home_job_run_dir(home, job->id);
        _cleanup_free_ char *path = path_join(dir, RELEASED_MARK);
        _cleanup_free_ char *text = NULL;

        if (fs_read_file(path, &text, NULL, NULL) < 0)
                return false;
        return strtoll(text, NULL, 10) == job->attempt;
}

/* Once a job has ended, the provider may let go of it.  A failure here
 * leaves a stopped container behind, nothing worse: warn and go on. */
void reconcile_release(const struct hoist_home *home, const struct job_record *job)
{
        const struct provider_ops *prov = provider_find(job->provider);
        _cleanup_free_ char *state_dir = NULL, *mark = NULL, *text = NULL;
        struct hoist_error *err = NULL;

        if (prov == NULL || prov->release == NULL || !job_state_terminal(job->state))
                return;
        state_dir = home_job_run_dir(home, job->id);
        if (prov->release(job, state_dir, &err) < 0) {
                log_warn("job %s: %s, ignoring", job->id, err->msg);
                hoist_error_free(err);
                return;
        }
        if (!fs_is_dir(state_dir))
                return; /* released as the run dir went: nothing to mark */
        mark = path_join(state_dir, RELEASED_MARK);
        text = xasprintf("%lld\n", (long long)job->attempt);
        if (fs_write_file_atomic(mark, text, strlen(text), 0600, &err) < 0) {
                log_debug("job %s: %s, ignoring", job->id, err->msg);
                hoist_error_free(err);
        }
}

int reconcile_lock_job(const struct hoist_home *home, const char *job_id, int wait_ms, int *ret_fd,
                       struct hoist_error **err)
{
        _cleanup_free_ char *dir = home_job_run_dir(home, job_id);
        int r = provider_launch_lock(dir, wait_ms, ret_fd, err);

        return r < 0 ? hoist_error_wrap(err, "job %s", job_id) : r;
}

struct attempt_ref {
        struct store *st;
        const char *job_id;
};

/* provider_submit.record: STARTING and the ref, before the job may run.  A
 * job that ended meanwhile (canceled while it was being submitted) starts
 * nothing. */
static int record_attempt_ref(void *userdata, const char *runtime, const char *ref,
                              struct hoist_error **err)
{
        const struct attempt_ref *a = userdata;
        _cleanup_job_record_ struct job_record *job = NULL;

        if (store_transition(a->st, a->job_id, JOB_STARTING, NULL, err) < 0 ||
            store_set_provider_ref(a->st, a->job_id, runtime, ref, err) < 0 ||
            store_get_job(a->st, a->job_id, &job, err) < 0)
                return -1;
        if (job_state_terminal(job->state))
                return hoist_error_make(err, HOIST_ERR_STATE, "job %s was %s before it could start",
                                        a->job_id, job_state_name(job->state));
        return 0;
}

int reconcile_start_attempt(const struct hoist_home *home, struct store *st, struct storage *sto,
                            const char *storage_url, const struct jobspec *spec,
                            const char *provider_name, const char *runtime, const char *spec_key,
                            const void *settings, struct hoist_error **err)
{
        const struct provider_ops *prov = provider_find(provider_name);
        _cleanup_free_ char *state_dir = home_job_run_dir(home, spec->id);
        _cleanup_free_ char *job_url = jobstorage_job_url(sto, spec_key);
        _cleanup_free_ char *root = jobstorage_local_root(sto);
        _cleanup_strv_ char **secret_env = NULL;
        _cleanup_free_ char *entrypoint = home_find_entrypoint(home);
        _cleanup_free_ char *bundle = home_find_bundle(home);
        _cleanup_free_ char *images = path_join(home->dir, "images");
        _cleanup_localserve_ struct localserve *ls = NULL;
        struct attempt_ref aref = {.st = st, .job_id = spec->id};
        struct provider_submit req = {
                .spec = spec,
                .job_id = spec->id,
                .job_url = job_url,
                .storage_root = root,
                .image = spec->image,
                .runtime = runtime,
                .state_dir = state_dir,
                .entrypoint = entrypoint,
                .bundle = bundle,
                .bin_dir = home->self_dir,
                .images_dir = images,
                .settings = settings,
                .storage = sto,
                .record = record_attempt_ref,
                .userdata = &aref,
        };

        if (prov == NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "job %s: unknown provider '%s'",
                                        spec->id, provider_name);
        /* A retry, and a model's commit to the Hub, must happen with no
         * hoist command running: hoist serve reconciles in the background
         * (the built-in storage starts it anyway). */
        if (((spec->retry_on != NULL && spec->retry_on[0] != NULL) || hubresults_wanted(spec)) &&
            strcmp(storage_url, LOCALSERVE_URL) != 0 && localserve_ensure(home, &ls, err) < 0)
                return hoist_error_wrap(err,
                                        "job %s: start the control plane for its retries "
                                        "and outputs",
                                        spec->id);
        if (jobstorage_secret_env(home, storage_url, sto, spec, &secret_env, err) < 0 ||
            jobhooks_env(home, storage_url, sto, spec, &secret_env, err) < 0)
                return hoist_error_wrap(err, "job %s", spec->id);
        /* A secret gone since submit (a retry from hoist serve, which does
         * not have the variable): the attempt fails, naming it. */
        if (jobsecrets_env(spec, &secret_env, err) < 0) {
                struct hoist_error *e2 = NULL;
                if (store_finish(st, spec->id, JOB_FAILED, -1, (*err)->msg, &e2) < 0)
                        hoist_error_free(e2);
                return hoist_error_wrap(err, "job %s", spec->id);
        }
        req.secret_env = secret_env;
        /* A later attempt costs what the one before did (docs/cost.md). */
        cost_carry(st, spec->id, spec->attempt);
        if (prov->submit(&req, err) < 0) {
                struct hoist_error *e2 = NULL;
                if (store_finish(st, spec->id, JOB_FAILED, -1, (*err)->msg, &e2) < 0)
                        hoist_error_free(e2);
                return hoist_error_wrap(err, "job %s: provider '%s'", spec->id, prov->name);
        }
        return 0;
}

static int load_spec(const struct hoist_home *home, const struct job_record *job,
                     struct storage **ret_sto, struct jobspec **ret_spec, struct hoist_error **err)
{
        _cleanup_storage_ struct storage *sto = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;

        if (jobstorage_open(home, job->storage_url, &sto, err) < 0 ||
            storage_get_bytes(sto, job->spec_key, &text, &len, err) < 0 ||
            jobspec_parse(text, len, job->spec_key, ret_spec, err) < 0)
                return -1;
        if (ret_sto != NULL)
                *ret_sto = TAKE_PTR(sto);
        return 0;
}

/* Under the launch lock, so one hoist at a time starts an attempt: nothing of
 * JOB's attempt may run beside the next one.  Another hoist that started
 * the next attempt first wins (HOIST_ERR_STATE), and its attempt is left be. */
static int clear_previous_attempt(struct store *st, const struct job_record *job,
                                  const struct jobspec *spec, const char *state_dir,
                                  struct hoist_error **err)
{
        const struct provider_ops *prov = provider_find(job->provider);
        _cleanup_job_record_ struct job_record *now = NULL;

        if (store_get_job(st, job->id, &now, err) < 0)
                return -1;
        if (now->attempt != job->attempt)
                return hoist_error_make(err, HOIST_ERR_STATE,
                                        "attempt %" PRId64 " was started meanwhile", now->attempt);
        if (prov == NULL || prov->clear == NULL)
                return 0;
        return prov->clear(
                now, state_dir,
                spec->stop_grace_s > 0 ? spec->stop_grace_s : JOBSPEC_DEFAULT_STOP_GRACE_S, err);
}

/* Starts attempt JOB->attempt + 1; the caller holds the job's lock and
 * JOB is what the store said under it.  The store decides first (a racing
 * hoist that read the same attempt gets HOIST_ERR_STATE and starts
 * nothing); then job.json of the new attempt; then the provider. */
static int resume_locked(const struct hoist_home *home, struct store *st,
                         const struct job_record *job, const char *runtime_override,
                         struct hoist_error **err)
{
        _cleanup_jobspec_ struct jobspec *spec = NULL;
        _cleanup_storage_ struct storage *sto = NULL;
        _cleanup_free_ char *json = NULL;
        _cleanup_free_ char *state_dir = home_job_run_dir(home, job->id);
        const char *runtime = runtime_override ? runtime_override : "auto";

        if (!job_state_terminal(job->state) && job->state != JOB_INTERRUPTED)
                return hoist_error_make(err, HOIST_ERR_STATE,
                                        "job %s is %s; only a finished or interrupted job can be "
                                        "resumed (cancel it first)",
                                        job->id, job_state_name(job->state));
        if (load_spec(home, job, &sto, &spec, err) < 0)
                return hoist_error_wrap(err, "resume %s", job->id);
        if (clear_previous_attempt(st, job, spec, state_dir, err) < 0 ||
            store_new_attempt(st, job->id, job->attempt, err) < 0)
                return hoist_error_wrap(err, "resume %s", job->id);
        /* job.json next: a racing hoist was refused by the store above. */
        spec->attempt = job->attempt + 1;
        json = jobspec_to_json(spec);
        if (storage_put_bytes(sto, job->spec_key, json, strlen(json), err) < 0) {
                struct hoist_error *e2 = NULL;
                if (store_finish(st, job->id, JOB_FAILED, -1, (*err)->msg, &e2) < 0)
                        hoist_error_free(e2);
                return hoist_error_wrap(err, "resume %s", job->id);
        }
        if (job->runtime != NULL && runtime_override == NULL)
                runtime = strcmp(job->runtime, "process") == 0 ? "process" : "container";
        return reconcile_start_attempt(home, st, sto, job->storage_url, spec, job->provider,
                                       runtime, job->spec_key, NULL, err);
}

int reconcile_resume(const struct hoist_home *home, struct store *st, const char *job_id,
                     const char *runtime_override, bool force, struct hoist_error **err)
{
        _cleanup_job_record_ struct job_record *job = NULL;
        _cleanup_close_ int lock = -1;
        int r = reconcile_lock_job(home, job_id, RECONCILE_RESUME_WAIT_MS, &lock, err);

        if (r < 0)
                return -1;
        if (r == 0)
                return hoist_error_make(err, HOIST_ERR_STATE,
                                        "job %s is being started by another hoist process; try "
                                        "again",
                                        job_id);
        if (store_get_job(st, job_id, &job, err) < 0)
                return -1;
        if (job->state == JOB_SUCCEEDED && !force)
                return hoist_error_make(err, HOIST_ERR_STATE,
                                        "job %s succeeded (attempt %" PRId64 "); --resume would "
                                        "start attempt %" PRId64 " and replace its result (add "
                                        "--force to resume it anyway)",
                                        job->id, job->attempt, job->attempt + 1);
        return resume_locked(home, st, job, runtime_override, err);
}

static char *cancel_marker(const struct hoist_home *home, const char *job_id)
{
        _cleanup_free_ char *dir = home_job_run_dir(home, job_id);

        return path_join(dir, "canceled-attempt");
}

int reconcile_mark_canceled(const struct hoist_home *home, const struct job_record *job,
                            struct hoist_error **err)
{
        return reconcile_mark_canceled_why(home, job, NULL, err);
}

int reconcile_mark_canceled_why(const struct hoist_home *home, const struct job_record *job,
                                const char *why, struct hoist_error **err)
{
        _cleanup_free_ char *path = cancel_marker(home, job->id);
        _cleanup_free_ char *dir = home_job_run_dir(home, job->id);
        _cleanup_free_ char *text = why != NULL ? xasprintf("%" PRId64 "\n%s\n", job->attempt, why)
                                                : xasprintf("%" PRId64 "\n", job->attempt);

        if (fs_mkdir_p(dir, 0700, err) < 0 ||
            fs_write_file_atomic(path, text, strlen(text), 0600, err) < 0)
                return hoist_error_wrap(err, "record the cancel of job %s", job->id);
        return 0;
}

/* Whether the user canceled JOB's current attempt. */
static int cancel_requested(const struct hoist_home *home, const struct job_record *job)
{
        _cleanup_free_ char *path = cancel_marker(home, job->id);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;

        if (fs_read_file(path, &text, &len, NULL) < 0)
                return 0;
        return strtoll(text, NULL, 10) == job->attempt;
}

int reconcile_cancel_requested(const struct hoist_home *home, const struct job_record *job)
{
        return cancel_requested(home, job);
}

/* Why JOB's current attempt was canceled: the marker's second line (hoist
 * serve's "spending limit"), else the user's cancel.  Free the result. */
static char *cancel_reason(const struct hoist_home *home, const struct job_record *job)
{
        _cleanup_free_ char *path = cancel_marker(home, job->id);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        char *nl, *end;

        if (fs_read_file(path, &text, &len, NULL) < 0 || (nl = strchr(text, '\n')) == NULL ||
            nl[1] == '\0')
                return xstrdup("canceled by the user");
        end = strchr(nl + 1, '\n');
        return xstrndup(nl + 1, end != NULL ? (size_t)(end - nl - 1) : strlen(nl + 1));
}

static int retries_on(const struct jobspec *spec, const char *reason)
{
        for (char **r = spec->retry_on; r != NULL && *r != NULL; r++)
                if (strcmp(*r, reason) == 0)
                        return 1;
        return 0;
}

/* An interrupted job with retry.on: [interruption] gets its next attempt
 * while its attempt number is at most retry.max. */
static int retry_interrupted(const struct hoist_home *home, struct store *st,
                             struct job_record **job, struct hoist_error **err)
{
        _cleanup_jobspec_ struct jobspec *spec = NULL;

        if (load_spec(home, *job, NULL, &spec, err) < 0)
                return hoist_error_wrap(err, "job %s: read its retry settings", (*job)->id);
        if (!retries_on(spec, "interruption") || (*job)->attempt > spec->retry_max)
                return 0;
        log_info("job %s: attempt %" PRId64 " was interrupted; starting attempt %" PRId64
                 " from its last checkpoint (retry.max %" PRId64 ")",
                 (*job)->id, (*job)->attempt, (*job)->attempt + 1, spec->retry_max);
        if (resume_locked(home, st, *job, NULL, err) < 0) {
                if ((*err)->code != HOIST_ERR_STATE)
                        return -1;
                hoist_error_release(err); /* another hoist started it */
        }
        return reread(st, job, err);
}

/* An attempt that was marked interrupted (by its event) before its result
 * record was read still gets the exit code the record holds. */
static int fill_interrupted_exit_code(const struct hoist_home *home, struct store *st,
                                      struct job_record **job, struct hoist_error **err)
{
        _cleanup_jobspec_result_ struct jobspec_result *res = NULL;
        int r;

        if ((*job)->exit_code >= 0)
                return 0;
        r = read_result(home, *job, &res, err);
        if (r <= 0)
                return r;
        if (result_state(res->status) != JOB_INTERRUPTED || res->exit_code < 0)
                return 0;
        if (store_finish_attempt(st, (*job)->id, (*job)->attempt, JOB_INTERRUPTED, res->exit_code,
                                 NULL, err) < 0)
                return -1;
        return reread(st, job, err);
}

/* What one look at a job may do, and what it did. */
struct look {
        bool may_ask;   /* the provider may be asked now (its time has come) */
        bool asked;     /* it was */
        bool undecided; /* it needed the provider and did not ask: look again */
        const struct provider_ops *prov;
};

static bool prov_requeues(const struct look *lk)
{
        return lk->prov != NULL && lk->prov->caps.requeues;
}

static int ask_provider(const struct hoist_home *home, const struct job_record *job,
                        struct look *lk, struct provider_status *ps, struct hoist_error **err)
{
        _cleanup_free_ char *state_dir = NULL;

        if (lk->prov == NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "job %s: unknown provider '%s'",
                                        job->id, job->provider);
        state_dir = home_job_run_dir(home, job->id);
        lk->asked = true;
        if (lk->prov->status(job, state_dir, ps, err) < 0)
                return hoist_error_wrap(err, "job %s: status from provider '%s'", job->id,
                                        lk->prov->name);
        return 0;
}

/* The engine still has the attempt: queued, starting or running (again). */
static bool engine_holds(const struct provider_status *ps)
{
        return ps->state < JOB_INTERRUPTED;
}

/* An attempt that reported interrupted and that the engine runs again
 * (Slurm requeued it): the job follows the engine, and its end is decided
 * once that run ends. */
static int follow_requeue(struct store *st, struct job_record **job, const struct look *lk,
                          const struct provider_status *ps, struct hoist_error **err)
{
        _cleanup_free_ char *reason = xasprintf("requeued by %s", lk->prov->name);
        enum job_state to =
                ps->state == JOB_RUNNING || ps->state == JOB_STARTING ? ps->state : JOB_QUEUED;

        if ((*job)->state != to || (*job)->reason == NULL || strcmp((*job)->reason, reason) != 0)
                log_info("job %s: attempt %" PRId64 " was interrupted and %s holds it again "
                         "(%s); following it",
                         (*job)->id, (*job)->attempt, lk->prov->name, job_state_name(ps->state));
        if (store_follow_engine(st, (*job)->id, (*job)->attempt, to, reason, err) < 0)
                return -1;
        return reread(st, job, err);
}

/* For a provider whose engine requeues, after the attempt reported
 * interrupted: 1 when the engine's run is over (the report stands), 0
 * when the engine holds the attempt again (followed) or cannot be asked
 * on this look (undecided), -1 on error. */
static int engine_run_over(const struct hoist_home *home, struct store *st, struct job_record **job,
                           struct look *lk, struct hoist_error **err)
{
        struct provider_status ps = {.state = JOB_FAILED, .exit_code = -1};
        int r;

        if (!lk->may_ask) {
                lk->undecided = true;
                return 0;
        }
        if (ask_provider(home, *job, lk, &ps, err) < 0)
                return -1;
        r = engine_holds(&ps) ? follow_requeue(st, job, lk, &ps, err) : 1;
        provider_status_clear(&ps);
        return r;
}

/* Where the engine has a job that has not ended: a job it still queues
 * (with its reason) after submit, a new reason in the same state, or a
 * step forward.  An engine that requeues by itself and has a running job
 * queued again (a node failed before the entrypoint could say anything)
 * is followed back. */
static int apply_engine_state(struct store *st, const struct job_record *job, const struct look *lk,
                              const struct provider_status *ps, struct hoist_error **err)
{
        if (ps->state == JOB_QUEUED && job->state <= JOB_STARTING)
                return store_follow_engine(st, job->id, job->attempt, JOB_QUEUED, ps->reason, err);
        if (prov_requeues(lk) && ps->state == JOB_QUEUED && job->state == JOB_RUNNING) {
                _cleanup_free_ char *reason = xasprintf("requeued by %s", lk->prov->name);
                log_info("job %s: %s queued attempt %" PRId64 " again; following it", job->id,
                         lk->prov->name, job->attempt);
                return store_follow_engine(st, job->id, job->attempt, JOB_QUEUED, reason, err);
        }
        if (ps->state == job->state)
                return ps->reason != NULL ? store_follow_engine(st, job->id, job->attempt,
                                                                ps->state, ps->reason, err)
                                          : 0;
        return store_transition(st, job->id, ps->state, ps->reason, err);
}

/* How many nodes the job runs on (job.json's distributed.nodes).  A
 * job.json that cannot be read counts as one node: its single result
 * record decides, as it always has. */
static int64_t job_nodes(const struct hoist_home *home, const struct job_record *job)
{
        _cleanup_jobspec_ struct jobspec *spec = NULL;
        struct hoist_error *err = NULL;

        if (load_spec(home, job, NULL, &spec, &err) < 0) {
                log_debug("job %s: %s; deciding it from result.json alone", job->id, err->msg);
                hoist_error_free(err);
                return 1;
        }
        return spec->nodes > 1 ? spec->nodes : 1;
}

/* A multi-node attempt's outcome from its node records and rank 0's
 * RANK0 (may be NULL), once ENDED or every one of NODES has its record:
 * 1 and *RET, 0 when not decided yet (or nothing in storage decides), -1. */
static int nodes_outcome(const struct hoist_home *home, const struct job_record *job, int64_t nodes,
                         const struct jobspec_result *rank0, bool ended,
                         struct jobspec_result **ret, struct hoist_error **err)
{
        _cleanup_storage_ struct storage *sto = NULL;
        struct jobspec_result **recs = NULL;
        size_t n = 0;

        if (jobstorage_open(home, job->storage_url, &sto, err) < 0 ||
            noderesults_read(sto, job->id, job->attempt, &recs, &n, err) < 0)
                return hoist_error_wrap(err, "job %s: node results", job->id);
        if (!ended && (int64_t)n < nodes) {
                noderesults_free(recs, n);
                return 0;
        }
        *ret = noderesults_combine(recs, n, rank0);
        noderesults_free(recs, n);
        return *ret != NULL;
}

/* The attempt ended as RES says. */
static int decide(const struct hoist_home *home, struct store *st, struct job_record **job,
                  const struct jobspec_result *res, struct hoist_error **err)
{
        enum job_state to = result_state(res->status);
        const char *reason = res->reason;
        _cleanup_free_ char *why = NULL;
        int64_t attempt = (*job)->attempt;

        if (to == JOB_INTERRUPTED && cancel_requested(home, *job)) {
                to = JOB_CANCELED;
                reason = why = cancel_reason(home, *job);
        }
        if (store_finish_attempt(st, (*job)->id, attempt, to, res->exit_code, reason, err) < 0 ||
            reread(st, job, err) < 0)
                return -1;
        /* A resume got there first: the job is another attempt's now. */
        if ((*job)->attempt != attempt)
                return 0;
        reconcile_release(home, *job);
        if ((*job)->state == JOB_INTERRUPTED)
                return retry_interrupted(home, st, job, err);
        return 0;
}

static int reconcile_interrupted(const struct hoist_home *home, struct store *st,
                                 struct job_record **job, struct look *lk, struct hoist_error **err)
{
        int r;

        if (fill_interrupted_exit_code(home, st, job, err) < 0)
                return hoist_error_wrap(err, "job %s", (*job)->id);
        /* Its job.interrupted event got here first; the SIGTERM was the
         * user's cancel all the same. */
        if (cancel_requested(home, *job)) {
                _cleanup_free_ char *why = cancel_reason(home, *job);
                return store_finish_attempt(st, (*job)->id, (*job)->attempt, JOB_CANCELED,
                                            (*job)->exit_code, why, err) < 0
                               ? -1
                               : reread(st, job, err);
        }
        if (prov_requeues(lk) && (r = engine_run_over(home, st, job, lk, err)) <= 0)
                return r;
        return retry_interrupted(home, st, job, err);
}

/* Result record RES of the attempt is there.  A multi-node attempt waits
 * for its engine's end or every node's record; an interrupted attempt of
 * a provider whose engine requeues waits while the engine holds it. */
static int reconcile_with_result(const struct hoist_home *home, struct store *st,
                                 struct job_record **job, struct look *lk,
                                 const struct jobspec_result *res, struct hoist_error **err)
{
        _cleanup_jobspec_result_ struct jobspec_result *combined = NULL;
        struct provider_status ps = {.state = JOB_FAILED, .exit_code = -1};
        bool ended = false;
        int64_t nodes;
        int r;

        if (result_state(res->status) == JOB_INTERRUPTED && prov_requeues(lk) &&
            !cancel_requested(home, *job)) {
                if ((r = engine_run_over(home, st, job, lk, err)) <= 0)
                        return r;
                ended = true;
        }
        nodes = job_nodes(home, *job);
        if (nodes <= 1)
                return decide(home, st, job, res, err);
        r = nodes_outcome(home, *job, nodes, res, ended, &combined, err);
        if (r == 0 && !ended) {
                /* Not every node has its record: its engine says whether
                 * the others still run. */
                if (!lk->may_ask) {
                        lk->undecided = true;
                        return 0;
                }
                if (ask_provider(home, *job, lk, &ps, err) < 0)
                        return -1;
                if (!job_state_terminal(ps.state) && ps.state != JOB_INTERRUPTED) {
                        r = apply_engine_state(st, *job, lk, &ps, err);
                        provider_status_clear(&ps);
                        return r < 0 ? -1 : reread(st, job, err);
                }
                provider_status_clear(&ps);
                r = nodes_outcome(home, *job, nodes, res, true, &combined, err);
        }
        if (r < 0)
                return -1;
        return decide(home, st, job, combined != NULL ? combined : res, err);
}

/* The provider says the attempt has ended (PS): what storage holds decides
 * when it holds anything, else the provider's word. */
static int reconcile_ended(const struct hoist_home *home, struct store *st, struct job_record **job,
                           const struct provider_status *ps, struct hoist_error **err)
{
        _cleanup_jobspec_result_ struct jobspec_result *res = NULL;
        _cleanup_jobspec_result_ struct jobspec_result *combined = NULL;
        int64_t nodes;
        int r;

        /* It may have written its result between our two looks. */
        r = read_result(home, *job, &res, err);
        if (r < 0)
                return -1;
        nodes = job_nodes(home, *job);
        if (nodes > 1 && nodes_outcome(home, *job, nodes, res, true, &combined, err) < 0)
                return -1;
        if (combined != NULL)
                return decide(home, st, job, combined, err);
        if (res != NULL)
                return decide(home, st, job, res, err);
        if (store_finish_attempt(st, (*job)->id, (*job)->attempt, ps->state, ps->exit_code,
                                 ps->reason, err) < 0 ||
            reread(st, job, err) < 0)
                return -1;
        reconcile_release(home, *job);
        return 0;
}

static int reconcile_job_locked(const struct hoist_home *home, struct store *st,
                                struct job_record **job, struct look *lk, struct hoist_error **err)
{
        _cleanup_jobspec_result_ struct jobspec_result *res = NULL;
        struct provider_status ps = {.state = JOB_FAILED, .exit_code = -1, .reason = NULL};
        int r;

        if (job_state_terminal((*job)->state))
                return 0;
        lk->prov = provider_find((*job)->provider);
        if ((*job)->state == JOB_INTERRUPTED)
                return reconcile_interrupted(home, st, job, lk, err);
        r = read_result(home, *job, &res, err);
        if (r < 0)
                return hoist_error_wrap(err, "job %s", (*job)->id);
        if (r == 1)
                return reconcile_with_result(home, st, job, lk, res, err);
        if (!lk->may_ask)
                return 0;
        if (ask_provider(home, *job, lk, &ps, err) < 0)
                return -1;
        if (job_state_terminal(ps.state))
                r = reconcile_ended(home, st, job, &ps, err);
        else
                r = apply_engine_state(st, *job, lk, &ps, err) < 0 ? -1 : reread(st, job, err);
        provider_status_clear(&ps);
        return r < 0 ? -1 : 0;
}

/* With WAIT_MS 0 (hoist serve's pass) a job another hoist holds is left for
 * the next pass; a CLI waits for it.  1: looked at it, 0: another hoist
 * held it, -1: error. */
static int reconcile_job_wait(const struct hoist_home *home, struct store *st,
                              struct job_record **job, int wait_ms, struct look *lk,
                              struct hoist_error **err)
{
        _cleanup_close_ int lock = -1;
        int r;

        if (job_state_terminal((*job)->state)) {
                /* Ended while no reconciler looked (an event hoist serve
                 * received): its billed cost is still to record. */
                if (cost_unsettled(*job)) {
                        cost_settle(home, st, *job);
                        if (reread(st, job, err) < 0)
                                return -1;
                }
                /* ... and the provider still holds it (a compose project,
                 * a stopped container).  A job whose run dir hoist rm or
                 * gc has cleared holds nothing here any more: looking would
                 * only make the dir again. */
                _cleanup_free_ char *run_dir = home_job_run_dir(home, (*job)->id);
                if (fs_is_dir(run_dir) && !was_released(home, *job)) {
                        r = reconcile_lock_job(home, (*job)->id, wait_ms, &lock, err);
                        if (r < 0)
                                return -1;
                        if (r > 0 && reread(st, job, err) < 0)
                                return -1;
                        if (r > 0 && job_state_terminal((*job)->state) && !was_released(home, *job))
                                reconcile_release(home, *job);
                }
                return 1;
        }
        r = reconcile_lock_job(home, (*job)->id, wait_ms, &lock, err);
        if (r <= 0) {
                if (r == 0)
                        log_debug("job %s: another hoist holds it; showing the stored state",
                                  (*job)->id);
                return r;
        }
        /* What the store says now, under the lock. */
        if (reread(st, job, err) < 0 || reconcile_job_locked(home, st, job, lk, err) < 0)
                return -1;
        /* An attempt that just ended gets its billed cost (docs/cost.md). */
        if (cost_unsettled(*job)) {
                cost_settle(home, st, *job);
                if (reread(st, job, err) < 0)
                        return -1;
        }
        return 1;
}

int reconcile_job_look(const struct hoist_home *home, struct store *st, struct job_record **job,
                       bool ask, struct hoist_error **err)
{
        struct look lk = {.may_ask = ask};

        return reconcile_job_wait(home, st, job, RECONCILE_LOCK_WAIT_MS, &lk, err) < 0 ? -1 : 0;
}

int reconcile_job(const struct hoist_home *home, struct store *st, struct job_record **job,
                  struct hoist_error **err)
{
        return reconcile_job_look(home, st, job, true, err);
}

int reconcile_poll_ms(const char *provider)
{
        const struct provider_ops *prov = provider_find(provider);

        return prov != NULL && prov->poll_ms > 0 ? prov->poll_ms : POLLSCHED_DEFAULT_MS;
}

static int provider_poll_ms(const char *name)
{
        const struct provider_ops *prov = provider_find(name);

        return prov != NULL ? prov->poll_ms : 0;
}

/* Whether the attempt JOB is at has ended for good: it reached a final or
 * interrupted state and its provider runs nothing of it any more (the
 * entrypoint's last uploads and events are done).  The provider is asked
 * on the job's schedule in P. */
static int attempt_over(const struct hoist_home *home, struct reconcile_pass *p, int64_t now,
                        const struct job_record *job)
{
        const struct provider_ops *prov = provider_find(job->provider);
        _cleanup_free_ char *state_dir = NULL;
        struct provider_status ps = {.state = JOB_RUNNING, .exit_code = -1};
        struct pollsched_entry *e;
        struct hoist_error *err = NULL;
        int over;

        if (!job_state_terminal(job->state) && job->state != JOB_INTERRUPTED)
                return 0;
        if (prov == NULL)
                return 1;
        e = pollsched_get(&p->sched, job->id);
        if (!pollsched_due(e, now))
                return 0;
        state_dir = home_job_run_dir(home, job->id);
        e->asks++;
        if (prov->status(job, state_dir, &ps, &err) < 0) {
                log_debug("job %s: %s; its key stays for now", job->id, err->msg);
                hoist_error_free(err);
                pollsched_failed(e, now, prov->poll_ms);
                return 0;
        }
        pollsched_answered(e, now, prov->poll_ms);
        over = job_state_terminal(ps.state);
        provider_status_clear(&ps);
        return over;
}

/* Revokes the built-in endpoint's keys of every attempt that has ended. */
static int revoke_keys(const struct hoist_home *home, struct store *st, struct reconcile_pass *p,
                       int64_t now, struct hoist_error **err)
{
        _cleanup_strv_ char **ids = NULL;

        if (localserve_keyed_jobs(home, &ids, err) < 0)
                return -1;
        for (char **id = ids; *id != NULL; id++) {
                _cleanup_job_record_ struct job_record *job = NULL;
                struct hoist_error *e = NULL;
                int64_t through;
                int n;

                if (store_get_job(st, *id, &job, &e) < 0 || strcmp(job->id, *id) != 0) {
                        hoist_error_free(e); /* a key issued by hand for no job of ours */
                        continue;
                }
                through = attempt_over(home, p, now, job) ? job->attempt : job->attempt - 1;
                if (through < 1)
                        continue;
                n = localserve_revoke_job_keys(home, job->id, through, err);
                if (n < 0)
                        return -1;
                if (n > 0)
                        log_info("job %s: attempt %" PRId64 " has ended; revoked its storage key%s",
                                 job->id, through, n > 1 ? "s" : "");
        }
        return 0;
}

/* Warns once per job and message, so a pass every second does not repeat
 * a standing problem; a job that reconciles again forgets its warning. */
static void pass_warn(struct reconcile_pass *p, const char *job_id, const char *msg)
{
        size_t i;

        for (i = 0; i < p->n; i++)
                if (strcmp(p->warned[i].job_id, job_id) == 0)
                        break;
        if (i < p->n && msg != NULL && strcmp(p->warned[i].msg, msg) == 0)
                return;
        if (i < p->n) {
                free(p->warned[i].job_id);
                free(p->warned[i].msg);
                p->warned[i] = p->warned[--p->n];
        }
        if (msg == NULL)
                return;
        log_warn("%s; retrying in the background", msg);
        p->warned = xreallocarray(p->warned, p->n + 1, sizeof *p->warned);
        p->warned[p->n].job_id = xstrdup(job_id);
        p->warned[p->n].msg = xstrdup(msg);
        p->n++;
}

static bool pass_settled(const struct reconcile_pass *p, const struct job_record *job)
{
        for (size_t i = 0; i < p->n_settled; i++)
                if (strcmp(p->settled[i].job_id, job->id) == 0)
                        return job->state == JOB_INTERRUPTED &&
                               p->settled[i].attempt == job->attempt;
        return false;
}

static void pass_settle(struct reconcile_pass *p, const struct job_record *job)
{
        size_t i;

        for (i = 0; i < p->n_settled; i++)
                if (strcmp(p->settled[i].job_id, job->id) == 0)
                        break;
        if (i == p->n_settled) {
                p->settled = xreallocarray(p->settled, p->n_settled + 1, sizeof *p->settled);
                p->settled[p->n_settled++] = (struct reconcile_seen){.job_id = xstrdup(job->id)};
        }
        p->settled[i].attempt = job->attempt;
}

/* Looks at active job JOB as its schedule allows at NOW. */
static void pass_job(const struct hoist_home *home, struct store *st, struct reconcile_pass *p,
                     int64_t now, struct job_record **job)
{
        int poll_ms = provider_poll_ms((*job)->provider);
        struct pollsched_entry *e = pollsched_get(&p->sched, (*job)->id);
        struct look lk = {.may_ask = pollsched_due(e, now)};
        struct hoist_error *err = NULL;
        int r;

        r = reconcile_job_wait(home, st, job, 0, &lk, &err);
        if (lk.asked)
                e->asks++;
        if (r < 0) {
                /* Only the provider's failures make it wait longer: what
                 * storage holds is looked at on every pass. */
                if (lk.asked)
                        pollsched_failed(e, now, poll_ms);
                pass_warn(p, (*job)->id, err->msg);
                hoist_error_free(err);
                return;
        }
        if (r == 0)
                return;
        /* A job that reconciles again forgets its warning. */
        if (lk.asked || job_state_terminal((*job)->state)) {
                if (lk.asked)
                        pollsched_answered(e, now, poll_ms);
                pass_warn(p, (*job)->id, NULL);
        }
        /* Still interrupted after a look that decided: no retry is left. */
        if ((*job)->state == JOB_INTERRUPTED && !lk.undecided)
                pass_settle(p, *job);
}

int reconcile_pass(const struct hoist_home *home, struct store *st, struct reconcile_pass *p,
                   struct hoist_error **err)
{
        int64_t now = p->now_ms != NULL ? p->now_ms() : clock_mono_ms();
        struct job_record **jobs = NULL;
        size_t n = 0;
        int r;

        if (store_list_jobs(st, &jobs, &n, err) < 0)
                return -1;
        pollsched_begin(&p->sched);
        for (size_t i = 0; i < n; i++) {
                if (!job_state_terminal(jobs[i]->state) && !pass_settled(p, jobs[i]))
                        pass_job(home, st, p, now, &jobs[i]);
                else if (cost_unsettled(jobs[i]))
                        cost_settle(home, st, jobs[i]);
                /* Its model to the Hub (outputs.hub, docs/results.md). */
                if (jobs[i]->state == JOB_SUCCEEDED)
                        hubresults_pass_job(home, &p->hub, jobs[i], now);
        }
        job_records_free(jobs, n);
        /* Spending limits with stop_running (docs/cost.md). */
        struct hoist_error *limit_err = NULL;
        if (cost_enforce(home, st, &limit_err) < 0) {
                pass_warn(p, "spending-limits", limit_err->msg);
                hoist_error_free(limit_err);
        }
        r = revoke_keys(home, st, p, now, err);
        pollsched_end(&p->sched);
        return r;
}

void reconcile_pass_done(struct reconcile_pass *p)
{
        for (size_t i = 0; i < p->n; i++) {
                free(p->warned[i].job_id);
                free(p->warned[i].msg);
        }
        free(p->warned);
        for (size_t i = 0; i < p->n_settled; i++)
                free(p->settled[i].job_id);
        free(p->settled);
        pollsched_free(&p->sched);
        hubresults_pass_free(&p->hub);
        *p = (struct reconcile_pass){0};
}
