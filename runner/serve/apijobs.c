/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "clock.h"
#include "fsutil.h"
#include "log.h"
#include "runner/job/cost.h"
#include "runner/job/jobstorage.h"
#include "runner/job/jobview.h"
#include "runner/control/reconcile.h"
#include "runner/serve/api_internal.h"
#include "runner/control/storeapi.h"
#include "storage.h"
#include "xalloc.h"

extern char **environ;

#define DEFAULT_PAGE 50
#define DEFAULT_EVENTS 100
#define MAX_CHECKPOINTS 1000
/* How long a resume waits for a canceled attempt to stop. */
#define RESUME_WAIT_MS 10000

json_t *api_job_json(const struct job_record *job, int64_t nodes, const char *last_metrics)
{
        json_t *o = jobview_json(job, NULL, 0);
        int64_t end = job_state_terminal(job->state) ? job->updated_at_ms : clock_wall_ms();
        json_t *metrics = last_metrics != NULL ? json_loads(last_metrics, 0, NULL) : NULL;

        (void)json_object_set_new(o, "nodes", json_integer(nodes));
        (void)json_object_set_new(
                o, "duration_ms",
                json_integer(end > job->created_at_ms ? end - job->created_at_ms : 0));
        /* null until a cost is known (docs/cost.md): local jobs without a rate */
        (void)json_object_set_new(o, "cost",
                                  job->cost_estimated < 0 && job->cost_billed < 0
                                          ? json_null()
                                          : jobview_cost_json(job));
        (void)json_object_set_new(o, "last_metrics",
                                  json_is_object(metrics) ? metrics : json_null());
        if (metrics != NULL && !json_is_object(metrics))
                json_decref(metrics);
        return o;
}

int api_get_job(struct api_service *api, const char *id, struct job_record **ret,
                struct hoist_error **err)
{
        struct store *st = NULL;
        int r;

        if (api_store_take(api, &st, err) < 0)
                return -1;
        r = store_get_job(st, id, ret, err);
        api_store_give(api, st);
        return r;
}

/* "state=running,failed": a bit per state. */
static int parse_states(const char *s, unsigned *ret, struct hoist_error **err)
{
        unsigned bits = 0;

        while (s != NULL && *s != '\0') {
                const char *comma = strchrnul(s, ',');
                _cleanup_free_ char *name = xstrndup(s, (size_t)(comma - s));
                enum job_state st;
                if (job_state_parse(name, &st) < 0)
                        return hoist_error_make(err, HOIST_ERR_USAGE,
                                                "query parameter 'state': '%.40s' is not a job "
                                                "state (queued, building, uploading, submitted, "
                                                "starting, running, interrupted, succeeded, "
                                                "failed, canceled; several: comma-separated)",
                                                name);
                bits |= 1u << st;
                s = *comma == ',' ? comma + 1 : comma;
        }
        *ret = bits;
        return 0;
}

/* "<created_at_ms>:<id>", as next_cursor gives it. */
static int parse_cursor(const char *s, int64_t *ret_ms, const char **ret_id,
                        struct hoist_error **err)
{
        const char *colon = strchr(s, ':');
        struct apiquery one = {0};
        int64_t ms = 0;
        int r;

        if (colon == NULL || colon == s || colon[1] == '\0')
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "query parameter 'cursor' is not one this server gave "
                                        "(next_cursor); start again without it");
        one.names[0] = (char *)"cursor";
        one.values[0] = xstrndup(s, (size_t)(colon - s));
        one.n = 1;
        r = apiquery_int(&one, "cursor", 0, INT64_MAX, 0, &ms, err);
        free(one.values[0]);
        if (r < 0)
                return -1;
        *ret_ms = ms;
        *ret_id = colon + 1;
        return 0;
}

enum MHD_Result api_jobs_list(struct api_service *api, struct MHD_Connection *conn,
                              struct api_req *r)
{
        static const char *const params[] = {"state", "provider", "name",   "q",
                                             "since", "limit",    "cursor", NULL};
        _cleanup_error_ struct hoist_error *err = NULL;
        struct storeapi_filter f = {0};
        struct job_record **jobs = NULL;
        struct store *st = NULL;
        int64_t limit = 0, *nodes = NULL, version = -1;
        char **last = NULL, *text;
        bool live = false;
        size_t n = 0;
        int more = 0;
        json_t *arr, *body;

        if (apiquery_only(&r->q, params, &err) < 0 ||
            parse_states(apiquery_get(&r->q, "state"), &f.states, &err) < 0 ||
            apiquery_int(&r->q, "since", 0, INT64_MAX, 0, &f.since_ms, &err) < 0 ||
            apiquery_int(&r->q, "limit", 1, STOREAPI_MAX_PAGE, DEFAULT_PAGE, &limit, &err) < 0 ||
            (apiquery_get(&r->q, "cursor") != NULL &&
             parse_cursor(apiquery_get(&r->q, "cursor"), &f.cursor_ms, &f.cursor_id, &err) < 0))
                return api_reply_hoist_error(conn, err);
        f.provider = apiquery_get(&r->q, "provider");
        f.name = apiquery_get(&r->q, "name");
        f.q = apiquery_get(&r->q, "q");
        f.limit = (size_t)limit;
        text = api_cache_get(api, "jobs", r, &version);
        if (text != NULL)
                return api_reply_text(conn, MHD_HTTP_OK, text);
        if (api_store_take(api, &st, &err) < 0)
                return api_reply_hoist_error(conn, err);
        if (storeapi_read_begin(st, &err) < 0 ||
            storeapi_list_jobs(st, &f, &jobs, &n, &more, &err) < 0) {
                storeapi_read_end(st);
                api_store_give(api, st);
                return api_reply_hoist_error(conn, err);
        }
        nodes = xcalloc(n + 1, sizeof *nodes);
        last = xcalloc(n + 1, sizeof *last);
        if (storeapi_job_extras(st, jobs, n, nodes, last, &err) < 0) {
                storeapi_read_end(st);
                api_store_give(api, st);
                job_records_free(jobs, n);
                free(nodes);
                free(last);
                return api_reply_hoist_error(conn, err);
        }
        storeapi_read_end(st);
        api_store_give(api, st);
        arr = json_array();
        for (size_t i = 0; i < n; i++) {
                live = live || !job_state_terminal(jobs[i]->state);
                (void)json_array_append_new(arr, api_job_json(jobs[i], nodes[i], last[i]));
                free(last[i]);
        }
        body = json_pack("{s:o}", "jobs", arr);
        if (more && n > 0) {
                _cleanup_free_ char *cur = xasprintf(
                        "%lld:%s", (long long)jobs[n - 1]->created_at_ms, jobs[n - 1]->id);
                (void)json_object_set_new(body, "next_cursor", json_string(cur));
        } else {
                (void)json_object_set_new(body, "next_cursor", json_null());
        }
        job_records_free(jobs, n);
        free(nodes);
        free(last);
        /* a running job's duration_ms moves with the clock */
        text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(body);
        if (text == NULL)
                return api_reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                                       "the reply does not encode as JSON");
        api_cache_put(api, "jobs", r, version, live, text);
        return api_reply_text(conn, MHD_HTTP_OK, text);
}

json_t *api_event_json(const struct storeapi_event *e)
{
        json_auto_t *body = json_loads(e->body, 0, NULL);
        json_t *data = json_object_get(body, "data");

        return json_pack("{s:I,s:s,s:s?,s:I,s:O?}", "seq", (json_int_t)e->seq, "type", e->type,
                         "node", e->node, "at_ms", (json_int_t)e->at_ms, "data",
                         data != NULL ? data : json_null());
}

/* The attempt an event id "<job id>.<attempt>.<node>.<seq>" names (0: none). */
static int64_t id_attempt(const char *id, const char *job_id)
{
        size_t n = strlen(job_id);

        if (strncmp(id, job_id, n) != 0 || id[n] != '.')
                return 0;
        return strtoll(id + n + 1, NULL, 10);
}

static json_t *checkpoints_json(struct store *st, const char *job_id, struct hoist_error **err)
{
        struct storeapi_event *ev = NULL;
        size_t n = 0;
        json_t *arr;

        if (storeapi_list_events(st, job_id, "job.checkpoint", 0, MAX_CHECKPOINTS, &ev, &n, err) <
            0)
                return NULL;
        arr = json_array();
        for (size_t i = 0; i < n; i++) {
                json_auto_t *body = json_loads(ev[i].body, 0, NULL);
                json_t *data = json_object_get(body, "data");
                (void)json_array_append_new(arr, json_pack("{s:I,s:O?,s:O?,s:O?,s:I}", "attempt",
                                                           (json_int_t)id_attempt(ev[i].id, job_id),
                                                           "step", json_object_get(data, "step"),
                                                           "key", json_object_get(data, "manifest"),
                                                           "size", json_object_get(data, "bytes"),
                                                           "at_ms", (json_int_t)ev[i].at_ms));
        }
        storeapi_events_free(ev, n);
        return arr;
}

/* The nodes whose logs storage holds (what logs?node= takes) replace
 * those that sent events, which name themselves by host. */
static void add_log_nodes(struct storage *sto, const char *job_id, json_t *o)
{
        _cleanup_free_ char *prefix = xasprintf("jobs/%s/logs/", job_id);
        _cleanup_strv_ char **keys = NULL;
        struct hoist_error *err = NULL;
        json_t *list;

        if (storage_list(sto, prefix, &keys, &err) < 0) {
                hoist_error_free(err);
                return;
        }
        list = json_array();
        for (char **k = keys; *k != NULL; k++) {
                const char *name = *k + strlen(prefix);
                size_t len = strlen(name);
                if (len > 4 && strcmp(name + len - 4, ".log") == 0 && strchr(name, '/') == NULL)
                        (void)json_array_append_new(list, json_stringn(name, len - 4));
        }
        if (json_array_size(list) > 0)
                (void)json_object_set_new(o, "nodes_list", list);
        else
                json_decref(list);
}

/* What storage says of the job: job.json and the outputs ("spec",
 * "outputs"), or why it cannot ("storage_error"). */
static void add_storage_parts(struct api_service *api, const struct job_record *job, json_t *o)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_storage_ struct storage *sto = NULL;
        _cleanup_free_ char *text = NULL, *prefix = xasprintf("jobs/%s/output/", job->id);
        struct storage_entry *ent = NULL;
        size_t len = 0, n = 0;
        json_t *outs;

        (void)json_object_set_new(o, "spec", json_null());
        (void)json_object_set_new(o, "outputs", json_array());
        if (job->storage_url == NULL)
                return;
        if (jobstorage_open(api->home, job->storage_url, &sto, &err) < 0)
                goto fail;
        if (job->spec_key != NULL) {
                if (storage_get_bytes(sto, job->spec_key, &text, &len, &err) < 0)
                        goto fail;
                (void)json_object_set_new(o, "spec", json_loadb(text, len, 0, NULL));
        }
        add_log_nodes(sto, job->id, o);
        if (storage_list_entries(sto, prefix, &ent, &n, &err) < 0)
                goto fail;
        outs = json_object_get(o, "outputs");
        for (size_t i = 0; i < n; i++) {
                const char *rel = ent[i].key + strlen(prefix);
                _cleanup_free_ char *url = xasprintf("/api/v1/jobs/%s/outputs/%s", job->id, rel);
                (void)json_array_append_new(outs, json_pack("{s:s,s:I,s:s}", "path", rel, "size",
                                                            (json_int_t)ent[i].size, "url", url));
        }
        storage_entries_free(ent, n);
        return;
fail:
        (void)json_object_set_new(o, "storage_error", json_string(err->msg));
}

enum MHD_Result api_job_get(struct api_service *api, struct MHD_Connection *conn, struct api_req *r,
                            const char *id)
{
        static const char *const params[] = {NULL};
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;
        _cleanup_strv_ char **nodes = NULL;
        struct job_transition *t = NULL;
        struct store *st = NULL;
        char *last = NULL;
        int64_t n_nodes = 0;
        size_t n_t = 0, n = 0;
        json_t *o, *trans, *list, *ckpts;

        if (apiquery_only(&r->q, params, &err) < 0)
                return api_reply_hoist_error(conn, err);
        if (api_store_take(api, &st, &err) < 0)
                return api_reply_hoist_error(conn, err);
        if (store_get_job(st, id, &job, &err) < 0 ||
            store_list_transitions(st, job->id, &t, &n_t, &err) < 0 ||
            storeapi_job_extras(st, &job, 1, &n_nodes, &last, &err) < 0 ||
            storeapi_job_nodes(st, job->id, &nodes, &err) < 0 ||
            (ckpts = checkpoints_json(st, job->id, &err)) == NULL) {
                api_store_give(api, st);
                job_transitions_free(t, n_t);
                return api_reply_hoist_error(conn, err);
        }
        api_store_give(api, st);
        o = api_job_json(job, n_nodes, last);
        free(last);
        trans = jobview_json(job, t, n_t);
        (void)json_object_set(o, "transitions", json_object_get(trans, "transitions"));
        json_decref(trans);
        job_transitions_free(t, n_t);
        (void)json_object_set_new(o, "attempts", json_integer(job->attempt));
        list = json_array();
        for (n = 0; nodes[n] != NULL; n++)
                (void)json_array_append_new(list, json_string(nodes[n]));
        (void)json_object_set_new(o, "nodes_list", list);
        (void)json_object_set_new(o, "checkpoints", ckpts);
        add_storage_parts(api, job, o);
        return api_reply_json(conn, MHD_HTTP_OK, o);
}

/* Runs this hoist with ARGS (NULL-terminated, after the program) as a
 * command would run, with no signal blocked (serve's threads block
 * SIGTERM, and a job the command starts must not inherit that); its
 * stderr's last line is kept in *RET_MSG.  Returns its exit status. */
static int run_hoist(struct api_service *api, const char *const *args, char **ret_msg,
                     struct hoist_error **err)
{
        const char *argv[8] = {api->hoist_bin};
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t at;
        sigset_t none, def;
        _cleanup_buf_ struct buf out = {0};
        int pipefd[2], status = 0, rc;
        pid_t pid;
        char chunk[4096];
        ssize_t got;

        for (size_t i = 0; args[i] != NULL && i + 2 < sizeof argv / sizeof argv[0]; i++)
                argv[i + 1] = args[i];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return hoist_error_errno(err, "pipe");
        (void)sigemptyset(&none);
        (void)sigemptyset(&def);
        (void)sigaddset(&def, SIGPIPE);
        (void)sigaddset(&def, SIGTERM);
        (void)sigaddset(&def, SIGINT);
        (void)posix_spawnattr_init(&at);
        (void)posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        (void)posix_spawnattr_setsigmask(&at, &none);
        (void)posix_spawnattr_setsigdefault(&at, &def);
        (void)posix_spawn_file_actions_init(&fa);
        (void)posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        (void)posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        (void)posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
        rc = posix_spawn(&pid, api->hoist_bin, &fa, &at, (char *const *)argv, environ);
        (void)posix_spawn_file_actions_destroy(&fa);
        (void)posix_spawnattr_destroy(&at);
        (void)close(pipefd[1]);
        if (rc != 0) {
                (void)close(pipefd[0]);
                return hoist_error_make(err, rc, "run '%s'", api->hoist_bin);
        }
        while ((got = read(pipefd[0], chunk, sizeof chunk)) != 0) {
                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0)
                        break;
                if (out.len < (64u << 10))
                        buf_append(&out, chunk, (size_t)got);
        }
        (void)close(pipefd[0]);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        buf_append_char(&out, '\0');
        {
                char *end = out.data + strlen(out.data), *start;
                while (end > out.data && (end[-1] == '\n' || end[-1] == ' '))
                        *--end = '\0';
                start = strrchr(out.data, '\n');
                start = start != NULL ? start + 1 : out.data;
                if (strncmp(start, "hoist: ", 7) == 0)
                        start += 7;
                *ret_msg = xstrdup(start);
        }
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A cancel or a resume, run on a thread of its own while its connection
 * is suspended: it waits for a command (a cancel for the job's grace
 * period), and the worker thread it came from serves other connections,
 * the job's own webhooks and storage requests among them. */
struct act {
        struct api_service *api;
        struct MHD_Connection *conn;
        struct api_req *r;
        char *id;
        int64_t attempt; /* cancel: the attempt the caller saw */
        bool force;      /* resume: of a job that succeeded */
        void (*work)(struct act *a, unsigned *status, char **text);
};

/* Runs ARGS and sets the reply: the job as it then is, or the error. */
static void run_act(struct api_service *api, const char *id, const char *const *args,
                    const char *what, unsigned *status, char **text)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_free_ char *msg = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;
        int64_t nodes = 0;
        char *last = NULL;
        struct store *st = NULL;
        int rc = run_hoist(api, args, &msg, &err);
        json_t *o;

        if (rc < 0) {
                *text = api_hoist_error_text(err, status);
                return;
        }
        if (rc == 4 || rc == 2) {
                *status = rc == 4 ? MHD_HTTP_NOT_FOUND : MHD_HTTP_BAD_REQUEST;
                *text = api_error_text(rc == 4 ? "not_found" : "bad_request", "%s", msg);
                return;
        }
        if (rc != 0) {
                log_warn("serve: api: %s %s: %s", what, id, msg);
                *status = MHD_HTTP_CONFLICT;
                *text = api_error_text("conflict", "%s %s: %s", what, id, msg);
                return;
        }
        if (api_store_take(api, &st, &err) < 0) {
                *text = api_hoist_error_text(err, status);
                return;
        }
        if (store_get_job(st, id, &job, &err) < 0 ||
            storeapi_job_extras(st, &job, 1, &nodes, &last, &err) < 0) {
                api_store_give(api, st);
                *text = api_hoist_error_text(err, status);
                return;
        }
        api_store_give(api, st);
        o = api_job_json(job, nodes, last);
        free(last);
        *status = MHD_HTTP_OK;
        *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
}

/* A's reply is set: its connection goes back to MHD, A is done. */
static void act_end(struct act *a)
{
        struct api_service *api = a->api;

        MHD_resume_connection(a->conn);
        free(a->id);
        free(a);
        (void)pthread_mutex_lock(&api->acts_mu);
        if (--api->n_acts == 0)
                (void)pthread_cond_broadcast(&api->acts_done);
        (void)pthread_mutex_unlock(&api->acts_mu);
}

static void *act_thread(void *arg)
{
        struct act *a = arg;
        unsigned status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        char *text = NULL;

        a->work(a, &status, &text);
        a->r->reply_status = status;
        a->r->reply_text = text;
        /* MHD calls api_handle again, on the connection's worker, which
         * queues the reply. */
        act_end(a);
        return NULL;
}

/* Starts A on its thread and suspends its connection (A is the thread's). */
static enum MHD_Result act_start(struct act *a)
{
        struct api_service *api = a->api;
        struct MHD_Connection *conn = a->conn;
        pthread_attr_t attr;
        pthread_t t;
        bool busy;
        int rc;

        (void)pthread_mutex_lock(&api->acts_mu);
        busy = api->stopping || api->n_acts >= API_MAX_ACTS;
        if (!busy)
                api->n_acts++;
        (void)pthread_mutex_unlock(&api->acts_mu);
        if (busy) {
                free(a->id);
                free(a);
                return api_reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
                                       "%u cancels and resumes are under way, or hoist serve is "
                                       "stopping; retry in a few seconds",
                                       API_MAX_ACTS);
        }
        a->r->acting = true;
        MHD_suspend_connection(conn);
        (void)pthread_attr_init(&attr);
        (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        rc = pthread_create(&t, &attr, act_thread, a);
        (void)pthread_attr_destroy(&attr);
        if (rc != 0) {
                /* Answered where it stands, on this worker. */
                a->r->reply_status = MHD_HTTP_SERVICE_UNAVAILABLE;
                a->r->reply_text =
                        api_error_text("busy", "cannot start a thread (%s); retry", strerror(rc));
                act_end(a);
        }
        return MHD_YES;
}

static struct act *act_new(struct api_service *api, struct MHD_Connection *conn, struct api_req *r,
                           const char *id, void (*work)(struct act *, unsigned *, char **))
{
        struct act *a = xzalloc(sizeof *a);

        a->api = api;
        a->conn = conn;
        a->r = r;
        a->id = xstrdup(id);
        a->work = work;
        return a;
}

static void cancel_work(struct act *a, unsigned *status, char **text)
{
        /* The attempt the caller saw, and no other: a cancel that waits
         * for a resume in progress must not stop the new attempt. */
        char attempt[24];
        (void)snprintf(attempt, sizeof attempt, "%" PRId64, a->attempt);
        const char *args[] = {"cancel", "--attempt", attempt, a->id, NULL};
        run_act(a->api, a->id, args, "cancel", status, text);
}

enum MHD_Result api_job_cancel(struct api_service *api, struct MHD_Connection *conn,
                               struct api_req *r, const char *id)
{
        static const char *const params[] = {NULL};
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;
        struct act *a;

        int64_t want = 0;

        if (apiquery_only(&r->q, params, &err) < 0 ||
            apiquery_cancel_body(r->body != NULL ? r->body : "", r->body_len, &want, &err) < 0 ||
            api_get_job(api, id, &job, &err) < 0)
                return api_reply_hoist_error(conn, err);
        if (want > 0 && want != job->attempt)
                return api_reply_error(conn, MHD_HTTP_CONFLICT, "conflict",
                                       "job %s is at attempt %" PRId64 " now, not %" PRId64
                                       "; nothing was canceled",
                                       job->id, job->attempt, want);
        if (job_state_terminal(job->state))
                return api_reply_error(conn, MHD_HTTP_CONFLICT, "conflict",
                                       "job %s is already %s; only a job that has not finished "
                                       "can be canceled",
                                       job->id, job_state_name(job->state));
        a = act_new(api, conn, r, job->id, cancel_work);
        a->attempt = want > 0 ? want : job->attempt;
        return act_start(a);
}

/* A job whose cancel is under way is waited for, up to
 * RESUME_WAIT_MS: a resume right after a cancel then just works. */
static int wait_stopped(struct api_service *api, struct job_record **job, struct hoist_error **err)
{
        int64_t deadline = clock_wall_ms() + RESUME_WAIT_MS;

        while (!job_state_terminal((*job)->state) && (*job)->state != JOB_INTERRUPTED &&
               reconcile_cancel_requested(api->home, *job) && clock_wall_ms() < deadline) {
                struct job_record *fresh = NULL;
                struct timespec pause = {.tv_nsec = 100 * 1000 * 1000};
                (void)nanosleep(&pause, NULL);
                if (api_get_job(api, (*job)->id, &fresh, err) < 0)
                        return -1;
                job_record_free(*job);
                *job = fresh;
        }
        return 0;
}

static void resume_work(struct act *a, unsigned *status, char **text)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;

        if (api_get_job(a->api, a->id, &job, &err) < 0 || wait_stopped(a->api, &job, &err) < 0) {
                *text = api_hoist_error_text(err, status);
                return;
        }
        *status = MHD_HTTP_CONFLICT;
        if (!job_state_terminal(job->state) && job->state != JOB_INTERRUPTED &&
            reconcile_cancel_requested(a->api->home, job)) {
                *text = api_error_text("conflict",
                                       "job %s is still stopping after a cancel (it has its "
                                       "stop_grace to end); retry once GET /api/v1/jobs/%s says "
                                       "canceled, in a few seconds",
                                       job->id, job->id);
                return;
        }
        if (!job_state_terminal(job->state) && job->state != JOB_INTERRUPTED) {
                *text = api_error_text("conflict",
                                       "job %s is %s; only a finished or interrupted job can be "
                                       "resumed (cancel it first)",
                                       job->id, job_state_name(job->state));
                return;
        }
        if (job->state == JOB_SUCCEEDED && !a->force) {
                *text = api_error_text("conflict",
                                       "job %s succeeded; send {\"force\": true} to run it again "
                                       "from its last checkpoint",
                                       job->id);
                return;
        }
        const char *args[] = {"submit", "--resume", job->id, a->force ? "--force" : NULL, NULL};
        run_act(a->api, job->id, args, "resume", status, text);
}

enum MHD_Result api_job_resume(struct api_service *api, struct MHD_Connection *conn,
                               struct api_req *r, const char *id)
{
        static const char *const params[] = {NULL};
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;
        struct act *a;
        bool force = false;

        if (apiquery_only(&r->q, params, &err) < 0 ||
            apiquery_resume_body(r->body != NULL ? r->body : "", r->body_len, &force, &err) < 0 ||
            api_get_job(api, id, &job, &err) < 0)
                return api_reply_hoist_error(conn, err);
        a = act_new(api, conn, r, job->id, resume_work);
        a->force = force;
        return act_start(a);
}

enum MHD_Result api_job_events(struct api_service *api, struct MHD_Connection *conn,
                               struct api_req *r, const char *id)
{
        static const char *const params[] = {"after", "limit", NULL};
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;
        struct storeapi_event *ev = NULL;
        struct store *st = NULL;
        int64_t after = 0, limit = 0;
        size_t n = 0;
        json_t *arr;

        if (apiquery_only(&r->q, params, &err) < 0 ||
            apiquery_int(&r->q, "after", 0, INT64_MAX, 0, &after, &err) < 0 ||
            apiquery_int(&r->q, "limit", 1, STOREAPI_MAX_PAGE, DEFAULT_EVENTS, &limit, &err) < 0)
                return api_reply_hoist_error(conn, err);
        if (api_store_take(api, &st, &err) < 0)
                return api_reply_hoist_error(conn, err);
        if (store_get_job(st, id, &job, &err) < 0 ||
            storeapi_list_events(st, job->id, NULL, after, (size_t)limit, &ev, &n, &err) < 0) {
                api_store_give(api, st);
                return api_reply_hoist_error(conn, err);
        }
        api_store_give(api, st);
        arr = json_array();
        for (size_t i = 0; i < n; i++)
                (void)json_array_append_new(arr, api_event_json(&ev[i]));
        if (n > 0)
                after = ev[n - 1].seq;
        storeapi_events_free(ev, n);
        return api_reply_json(
                conn, MHD_HTTP_OK,
                json_pack("{s:o,s:I}", "events", arr, "next_after", (json_int_t)after));
}

enum MHD_Result api_job_output(struct api_service *api, struct MHD_Connection *conn,
                               struct api_req *r, const char *id, const char *path)
{
        static const char *const params[] = {NULL};
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;
        _cleanup_storage_ struct storage *sto = NULL;
        _cleanup_free_ char *key = NULL, *local = NULL, *tmp = NULL, *disp = NULL;
        struct MHD_Response *resp;
        const char *base;
        struct stat sb;
        enum MHD_Result res;
        int fd;

        if (apiquery_only(&r->q, params, &err) < 0 || api_get_job(api, id, &job, &err) < 0)
                return api_reply_hoist_error(conn, err);
        key = xasprintf("jobs/%s/output/%s", job->id, path);
        if (storage_key_check(key, &err) < 0)
                return api_reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad_request",
                                       "output path '%.200s' is not one the job has", path);
        if (job->storage_url == NULL)
                return api_reply_error(conn, MHD_HTTP_NOT_FOUND, "not_found",
                                       "job %s has no storage yet", job->id);
        if (jobstorage_open(api->home, job->storage_url, &sto, &err) < 0)
                return api_reply_hoist_error(conn, err);
        switch (storage_exists(sto, key, NULL, &err)) {
        case 0:
                return api_reply_error(conn, MHD_HTTP_NOT_FOUND, "not_found",
                                       "job %s has no output '%.200s'", job->id, path);
        case 1:
                break;
        default:
                return api_reply_hoist_error(conn, err);
        }
        local = storage_local_path(sto, key);
        if (local == NULL) {
                tmp = xasprintf("%s/api-output.XXXXXX", api->home->tmp_dir);
                if (fs_mkdir_p(api->home->tmp_dir, 0700, &err) < 0)
                        return api_reply_hoist_error(conn, err);
                fd = mkostemp(tmp, O_CLOEXEC);
                if (fd < 0)
                        return api_reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                                               "cannot make a temporary file in '%s': %s",
                                               api->home->tmp_dir, strerror(errno));
                (void)close(fd);
                if (storage_get_file(sto, key, tmp, &err) < 0) {
                        (void)unlink(tmp);
                        return api_reply_hoist_error(conn, err);
                }
                fd = open(tmp, O_RDONLY | O_CLOEXEC);
                (void)unlink(tmp);
        } else {
                fd = open(local, O_RDONLY | O_CLOEXEC);
        }
        if (fd < 0 || fstat(fd, &sb) < 0) {
                if (fd >= 0)
                        (void)close(fd);
                return api_reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                                       "cannot read output '%.200s' of job %s", path, job->id);
        }
        resp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
        if (resp == NULL) {
                (void)close(fd);
                return MHD_NO;
        }
        base = strrchr(path, '/');
        base = base != NULL ? base + 1 : path;
        disp = xasprintf("attachment; filename=\"%s\"", base);
        for (char *c = disp + 22; *c != '\0' && c[1] != '\0'; c++)
                if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
                        *c = '_';
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                      "application/octet-stream");
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disp);
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        res = MHD_queue_response(conn, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return res;
}

enum MHD_Result api_cost(struct api_service *api, struct MHD_Connection *conn, struct api_req *r)
{
        static const char *const params[] = {"since", "provider", NULL};
        _cleanup_error_ struct hoist_error *err = NULL;
        struct cost_query q = {0};
        struct store *st = NULL;
        json_t *report = NULL;
        int rc;

        if (apiquery_only(&r->q, params, &err) < 0 ||
            apiquery_int(&r->q, "since", 0, INT64_MAX, 0, &q.since_ms, &err) < 0)
                return api_reply_hoist_error(conn, err);
        q.provider = apiquery_get(&r->q, "provider");
        if (api_store_take(api, &st, &err) < 0)
                return api_reply_hoist_error(conn, err);
        rc = cost_report_json(st, api->home->dir, &q, &report, &err);
        api_store_give(api, st);
        if (rc < 0)
                return api_reply_hoist_error(conn, err);
        return api_reply_json(conn, MHD_HTTP_OK, report);
}
