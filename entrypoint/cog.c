/* SPDX-License-Identifier: MIT */
/*
 * The Cog server.  Threads: libmicrohttpd's (one per connection, so a
 * synchronous POST /trainings can wait for its training), one webhook
 * sender per training (cog_webhook.c), and this main thread, which owns
 * the children: it reads the training's output, reaps every child (it is
 * PID 1 in a container) and turns SIGTERM into a cancel.  Children are
 * started with posix_spawn, never fork, as threads are running.
 */
#include "cog.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "cog_request.h"
#include "cog_webhook.h"
#include "cogschema.h"
#include "fsutil.h"
#include "log.h"
#include "redact.h"
#include "xalloc.h"

extern char **environ;

#define LOGS_MAX (8u << 20) /* a training's logs kept for its responses */

enum health { H_STARTING, H_READY, H_BUSY, H_SETUP_FAILED, H_DEFUNCT };
static const char *const health_names[] = {"STARTING", "READY", "BUSY", "SETUP_FAILED", "DEFUNCT"};

struct training {
        char *id;
        struct cog_request *req;
        const char *status; /* Cog's Status */
        char *created_at, *started_at, *completed_at;
        struct buf logs;
        size_t logs_dropped;
        char *error;
        json_t *output;
        int64_t start_ms, end_ms;
        pid_t pid;
        int out_fd;
        int canceled; /* a cancel was asked for */
        int done;
        char *dir;
        struct redact *redact;
        struct redact_stream rs;
        struct cog_webhook *hook;
};

struct server {
        pthread_mutex_t lock;
        pthread_cond_t changed;
        enum health health;
        char *setup_started, *setup_completed, *setup_status;
        struct buf setup_logs;
        struct training *cur; /* running, or the last one */
        char *schema_text;
        json_t *schema;
        const json_t *training_input;
        const char *self;
        char **args;
        int wake_fd;
        int shutdown; /* POST /shutdown came: no new trainings */
        int exiting;  /* ... and was answered: the loop winds down */
        unsigned serial;
};

/* The connection's state: the body as it arrives. */
struct conn {
        struct buf body;
        int too_big;
        int wake_when_done; /* POST /shutdown: the loop ends once it is answered */
};

static char *iso_now(void)
{
        struct timespec ts;
        struct tm tm;
        char b[40];

        (void)clock_gettime(CLOCK_REALTIME, &ts);
        (void)gmtime_r(&ts.tv_sec, &tm);
        (void)strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
        return xasprintf("%s.%06ld+00:00", b, ts.tv_nsec / 1000);
}

static json_t *str_or_null(const char *s)
{
        return s != NULL ? json_string(s) : json_null();
}

static json_t *events_json(unsigned events)
{
        static const char *const names[] = {"start", "output", "logs", "completed"};
        json_t *a = json_array();

        for (unsigned i = 0; i < 4; i++)
                if (events & (1u << i))
                        (void)json_array_append_new(a, json_string(names[i]));
        return a;
}

/* The training's response body (Cog's TrainingResponse); under the lock. */
static json_t *training_json(const struct training *t)
{
        json_t *metrics = json_object();
        json_t *logs = json_string(t->logs.len > 0 ? t->logs.data : "");

        if (t->end_ms != 0)
                (void)json_object_set_new(metrics, "predict_time",
                                          json_real((double)(t->end_ms - t->start_ms) / 1000));
        return json_pack("{s:s, s:n, s:O, s:O*, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o*, s:o}",
                         "id", t->id, "version", "input", t->req->input, "output", t->output,
                         "created_at", str_or_null(t->created_at), "started_at",
                         str_or_null(t->started_at), "completed_at", str_or_null(t->completed_at),
                         "logs", logs != NULL ? logs : json_string(""), "error",
                         str_or_null(t->error), "status", t->status, "metrics", metrics, "webhook",
                         t->req->webhook != NULL ? json_string(t->req->webhook) : NULL,
                         "webhook_events_filter", events_json(t->req->events));
}

static void notify(struct training *t, unsigned event)
{
        if (t->hook != NULL)
                cog_webhook_send(t->hook, event, training_json(t));
}

static void training_free(struct training *t)
{
        if (t == NULL)
                return;
        free(t->id);
        cog_request_free(t->req);
        free(t->created_at);
        free(t->started_at);
        free(t->completed_at);
        buf_free(&t->logs);
        free(t->error);
        json_decref(t->output);
        if (t->out_fd >= 0)
                (void)close(t->out_fd);
        if (t->dir != NULL) {
                struct hoist_error *err = NULL;
                if (fs_remove_tree(t->dir, &err) < 0) {
                        log_warn("%s, ignoring", err->msg);
                        hoist_error_free(err);
                }
        }
        free(t->dir);
        redact_free(t->redact);
        redact_stream_free(&t->rs);
        free(t);
}

/* ---- responses ---- */

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *type,
                                  const char *body)
{
        struct MHD_Response *r =
                MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
        enum MHD_Result ret;

        if (r == NULL)
                return MHD_NO;
        (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *v)
{
        _cleanup_free_ char *text = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(9));

        json_decref(v);
        return reply_text(c, status, "application/json", text != NULL ? text : "{}");
}

static enum MHD_Result reply_detail(struct MHD_Connection *c, unsigned status, const char *msg)
{
        return reply_json(c, status, json_pack("{s:s}", "detail", msg));
}

/* ---- starting a training ---- */

static int write_input(struct training *t, const char *path, struct hoist_error **err)
{
        _cleanup_free_ char *text = json_dumps(t->req->overrides, JSON_COMPACT);

        return fs_write_file_atomic(path, text, strlen(text), 0600, err);
}

/* The child's environment: ours without what steers it, then hoist_env's
 * pairs and the training's own variables. */
static char **child_env(const struct training *t, const char *input, const char *result,
                        const char *failure)
{
        size_t n = 0, k = 0;
        char **env;

        for (char **e = environ; *e != NULL; e++)
                n++;
        env = xcalloc(n + t->req->n_env + 8, sizeof *env);
        for (char **e = environ; *e != NULL; e++) {
                size_t len = strcspn(*e, "=");
                int skip = strncmp(*e, "HOIST_COG_", 10) == 0 ||
                           strncmp(*e, "HOIST_JOB_", 10) == 0 ||
                           strncmp(*e, "HOIST_TERMINATION_LOG=", 22) == 0;
                for (size_t i = 0; !skip && i < t->req->n_env; i++)
                        skip = strlen(t->req->env[i].key) == len &&
                               strncmp(*e, t->req->env[i].key, len) == 0;
                if (!skip)
                        env[k++] = xstrdup(*e);
        }
        for (size_t i = 0; i < t->req->n_env; i++)
                env[k++] = xasprintf("%s=%s", t->req->env[i].key, t->req->env[i].value);
        env[k++] = xasprintf("HOIST_JOB_URL=%s", t->req->job_url);
        env[k++] = xasprintf("HOIST_COG_INPUT=%s", input);
        env[k++] = xasprintf("HOIST_COG_RESULT=%s", result);
        env[k++] = xasprintf("HOIST_TERMINATION_LOG=%s", failure);
        return env;
}

static int spawn_child(struct server *s, struct training *t, struct hoist_error **err)
{
        _cleanup_free_ char *input = path_join(t->dir, "input.json");
        _cleanup_free_ char *result = path_join(t->dir, "result.json");
        _cleanup_free_ char *failure = path_join(t->dir, "failure");
        _cleanup_strv_ char **env = NULL;
        _cleanup_free_ char **argv = NULL;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        int p[2], r;
        size_t n = 0;

        if (write_input(t, input, err) < 0)
                return -1;
        if (pipe2(p, O_CLOEXEC) < 0)
                return hoist_error_errno(err, "pipe");
        while (s->args[n] != NULL)
                n++;
        argv = xcalloc(n + 3, sizeof *argv);
        argv[0] = (char *)s->self;
        argv[1] = (char *)"--";
        for (size_t i = 0; i < n; i++)
                argv[i + 2] = s->args[i];
        if (n == 0)
                argv[1] = NULL;
        env = child_env(t, input, result, failure);
        (void)sigemptyset(&none);
        (void)sigfillset(&all);
        (void)sigdelset(&all, SIGKILL);
        (void)sigdelset(&all, SIGSTOP);
        (void)posix_spawn_file_actions_init(&fa);
        (void)posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        (void)posix_spawn_file_actions_adddup2(&fa, p[1], 1);
        (void)posix_spawn_file_actions_adddup2(&fa, p[1], 2);
        (void)posix_spawnattr_init(&attr);
        (void)posix_spawnattr_setsigmask(&attr, &none);
        (void)posix_spawnattr_setsigdefault(&attr, &all);
        (void)posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        r = posix_spawn(&t->pid, s->self, &fa, &attr, argv, env);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        (void)close(p[1]);
        if (r != 0) {
                (void)close(p[0]);
                return hoist_error_make(err, r, "start '%s'", s->self);
        }
        /* Never blocks the main loop, whatever poll said. */
        (void)fcntl(p[0], F_SETFL, O_NONBLOCK);
        t->out_fd = p[0];
        return 0;
}

static struct training *training_new(struct server *s, struct cog_request *req)
{
        struct training *t = xcalloc(1, sizeof *t);
        const char *tmp = getenv("TMPDIR");

        t->out_fd = -1;
        t->req = req;
        t->id = req->id != NULL ? xstrdup(req->id)
                                : xasprintf("%08x%08x%04x", (unsigned)time(NULL),
                                            (unsigned)getpid() ^ (unsigned)random(), ++s->serial);
        t->created_at = req->created_at != NULL ? xstrdup(req->created_at) : iso_now();
        t->status = "starting";
        t->dir = xasprintf("%s/hoist-cog-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
        if (mkdtemp(t->dir) == NULL) {
                free(t->dir);
                t->dir = NULL;
        }
        t->redact = redact_new();
        for (size_t i = 0; i < req->n_env; i++)
                redact_add(t->redact, req->env[i].key, req->env[i].value);
        if (req->webhook != NULL && req->events != 0)
                t->hook = cog_webhook_start(req->webhook, req->events);
        return t;
}

/* Under the lock: starts REQ (taken) as the current training. */
static int start_training(struct server *s, struct cog_request *req, struct hoist_error **err)
{
        struct training *t = training_new(s, req);
        uint64_t one = 1;

        if (s->cur != NULL) {
                /* The last one's webhooks are all out or given up by now. */
                cog_webhook_finish(s->cur->hook, cog_now_ms());
                s->cur->hook = NULL;
                training_free(s->cur);
        }
        s->cur = t;
        t->start_ms = cog_now_ms();
        t->started_at = iso_now();
        if (t->dir == NULL || spawn_child(s, t, err) < 0) {
                if (t->dir == NULL)
                        (void)hoist_error_errno(err, "create the training's directory");
                t->status = "failed";
                t->error = xstrdup((*err)->msg);
                t->done = 1;
                t->end_ms = cog_now_ms();
                t->completed_at = iso_now();
                s->health = H_DEFUNCT;
                notify(t, COG_EVENT_COMPLETED);
                return -1;
        }
        t->status = "processing";
        s->health = H_BUSY;
        {
                _cleanup_free_ char *shown = cog_url_for_log(req->job_url);
                log_info("training %s started (job %s)", t->id, shown);
        }
        notify(t, COG_EVENT_START);
        if (write(s->wake_fd, &one, sizeof one) < 0)
                log_warn("wake the main loop: %s, ignoring", strerror(errno));
        return 0;
}

/* ---- the routes ---- */

static enum MHD_Result root(struct MHD_Connection *c)
{
        return reply_json(c, MHD_HTTP_OK,
                          json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                                    "cog_version", "hoist-" HOIST_VERSION, "docs_url", "/docs",
                                    "openapi_url", "/openapi.json", "shutdown_url", "/shutdown",
                                    "healthcheck_url", "/health-check", "predictions_url",
                                    "/predictions", "predictions_idempotent_url",
                                    "/predictions/{prediction_id}", "predictions_cancel_url",
                                    "/predictions/{prediction_id}/cancel", "trainings_url",
                                    "/trainings", "trainings_idempotent_url",
                                    "/trainings/{training_id}", "trainings_cancel_url",
                                    "/trainings/{training_id}/cancel"));
}

static enum MHD_Result health(struct server *s, struct MHD_Connection *c)
{
        json_t *v;

        (void)pthread_mutex_lock(&s->lock);
        v = json_pack("{s:s, s:{s:o, s:o, s:s, s:o}}", "status", health_names[s->health], "setup",
                      "started_at", str_or_null(s->setup_started), "completed_at",
                      str_or_null(s->setup_completed), "logs",
                      s->setup_logs.len > 0 ? s->setup_logs.data : "", "status",
                      str_or_null(s->setup_status));
        (void)pthread_mutex_unlock(&s->lock);
        return reply_json(c, MHD_HTTP_OK, v);
}

static int prefers_async(struct MHD_Connection *c)
{
        const char *p = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Prefer");

        return p != NULL && strstr(p, "respond-async") != NULL;
}

/* Waits for T to end (a synchronous request) and answers with it. */
static enum MHD_Result answer_training(struct server *s, struct MHD_Connection *c,
                                       struct training *t, int async)
{
        json_t *v;

        if (!async)
                while (s->cur == t && !t->done)
                        (void)pthread_cond_wait(&s->changed, &s->lock);
        if (s->cur != t) {
                (void)pthread_mutex_unlock(&s->lock);
                return reply_detail(c, MHD_HTTP_GONE, "the training was replaced by a newer one");
        }
        v = training_json(t);
        (void)pthread_mutex_unlock(&s->lock);
        return reply_json(c, async ? MHD_HTTP_ACCEPTED : MHD_HTTP_OK, v);
}

static enum MHD_Result train(struct server *s, struct MHD_Connection *c, const char *path_id,
                             const struct conn *cc)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        struct cog_request *req = NULL;
        json_t *detail = NULL;
        int async = prefers_async(c);

        if (path_id != NULL && !cog_id_valid(path_id))
                return reply_detail(c, 422, "the training id must be 1-128 of A-Z a-z 0-9 . _ -");
        if (cog_request_parse(cc->body.data != NULL ? cc->body.data : "", cc->body.len,
                              s->training_input, path_id, &req, &detail, &err) < 0) {
                log_info("%s", err->msg);
                return reply_json(c, 422, detail);
        }
        (void)pthread_mutex_lock(&s->lock);
        /* PUT of the training that is running, or that ran last: the same
         * training, not a second one. */
        if (path_id != NULL && s->cur != NULL && strcmp(s->cur->id, path_id) == 0) {
                cog_request_free(req);
                return answer_training(s, c, s->cur, async);
        }
        if (s->health != H_READY || s->shutdown) {
                enum health h = s->health;
                int down = s->shutdown;
                (void)pthread_mutex_unlock(&s->lock);
                cog_request_free(req);
                if (h == H_BUSY)
                        return reply_detail(c, MHD_HTTP_CONFLICT,
                                            "Already running a training: one at a time");
                return reply_detail(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                                    down                  ? "shutting down"
                                    : h == H_STARTING     ? "setup is still running"
                                    : h == H_SETUP_FAILED ? "setup failed: see GET /health-check"
                                                          : "the server is defunct: restart it");
        }
        if (start_training(s, req, &err) < 0)
                log_error("training: %s", err->msg);
        return answer_training(s, c, s->cur, async);
}

static enum MHD_Result cancel(struct server *s, struct MHD_Connection *c, const char *id)
{
        struct training *t;

        (void)pthread_mutex_lock(&s->lock);
        t = s->cur;
        if (t == NULL || strcmp(t->id, id) != 0) {
                (void)pthread_mutex_unlock(&s->lock);
                return reply_detail(c, MHD_HTTP_NOT_FOUND, "no training with that id");
        }
        if (!t->done && !t->canceled) {
                t->canceled = 1;
                log_info("training %s: canceled; SIGTERM to the job (it has its grace period "
                         "and a final checkpoint)",
                         t->id);
                if (t->pid > 0)
                        (void)kill(t->pid, SIGTERM);
        }
        (void)pthread_mutex_unlock(&s->lock);
        return reply_json(c, MHD_HTTP_OK, json_object());
}

static enum MHD_Result shutdown_route(struct server *s, struct MHD_Connection *c, struct conn *cc)
{
        (void)pthread_mutex_lock(&s->lock);
        s->shutdown = 1;
        (void)pthread_mutex_unlock(&s->lock);
        cc->wake_when_done = 1;
        return reply_json(c, MHD_HTTP_OK, json_object());
}

static enum MHD_Result docs(struct MHD_Connection *c)
{
        return reply_text(c, MHD_HTTP_OK, "text/html; charset=utf-8",
                          "<!doctype html><title>hoist Cog API</title><h1>hoist Cog API</h1>"
                          "<p>A training-only model: <a href=\"/openapi.json\">/openapi.json</a> "
                          "describes it; POST /trainings runs one.</p>");
}

/* The id in "/trainings/{id}" or "/trainings/{id}/cancel" (SUFFIX), or NULL. */
static char *path_param(const char *url, const char *prefix, const char *suffix)
{
        size_t pl = strlen(prefix), ul = strlen(url), sl = strlen(suffix);
        const char *id = url + pl;

        if (strncmp(url, prefix, pl) != 0 || ul <= pl + sl || strcmp(url + ul - sl, suffix) != 0)
                return NULL;
        if (memchr(id, '/', ul - pl - sl) != NULL)
                return NULL;
        return xstrndup(id, ul - pl - sl);
}

static enum MHD_Result route(struct server *s, struct MHD_Connection *c, const char *url,
                             const char *method, struct conn *cc)
{
        int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
        int post = strcmp(method, "POST") == 0, put = strcmp(method, "PUT") == 0;
        _cleanup_free_ char *id = NULL;

        if (strcmp(url, "/") == 0)
                return get ? root(c) : reply_detail(c, 405, "Method Not Allowed");
        if (strcmp(url, "/health-check") == 0)
                return get ? health(s, c) : reply_detail(c, 405, "Method Not Allowed");
        if (strcmp(url, "/openapi.json") == 0)
                return get ? reply_text(c, MHD_HTTP_OK, "application/json", s->schema_text)
                           : reply_detail(c, 405, "Method Not Allowed");
        if (strcmp(url, "/docs") == 0)
                return get ? docs(c) : reply_detail(c, 405, "Method Not Allowed");
        if (strcmp(url, "/shutdown") == 0)
                return post ? shutdown_route(s, c, cc) : reply_detail(c, 405, "Method Not Allowed");
        if (strcmp(url, "/trainings") == 0)
                return post ? train(s, c, NULL, cc) : reply_detail(c, 405, "Method Not Allowed");
        if ((id = path_param(url, "/trainings/", "/cancel")) != NULL)
                return post ? cancel(s, c, id) : reply_detail(c, 405, "Method Not Allowed");
        if ((id = path_param(url, "/trainings/", "")) != NULL)
                return put ? train(s, c, id, cc) : reply_detail(c, 405, "Method Not Allowed");
        if (strcmp(url, "/predictions") == 0 || strncmp(url, "/predictions/", 13) == 0)
                return reply_detail(c, MHD_HTTP_NOT_FOUND,
                                    "this model is training-only: it serves no predictions "
                                    "(use POST /trainings; see /openapi.json)");
        return reply_detail(c, MHD_HTTP_NOT_FOUND, "Not Found");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
        struct server *s = cls;
        struct conn *cc = *con_cls;

        (void)version;
        if (cc == NULL) {
                *con_cls = xcalloc(1, sizeof *cc);
                return MHD_YES;
        }
        if (*upload_size > 0) {
                if (cc->body.len + *upload_size > COG_REQUEST_MAX_BYTES)
                        cc->too_big = 1;
                else
                        buf_append(&cc->body, upload, *upload_size);
                *upload_size = 0;
                return MHD_YES;
        }
        if (cc->too_big)
                return reply_detail(c, MHD_HTTP_CONTENT_TOO_LARGE,
                                    "the request body is over 1 MiB");
        return route(s, c, url, method, cc);
}

static void handle_done(void *cls, struct MHD_Connection *c, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
        struct server *s = cls;
        struct conn *cc = *con_cls;
        uint64_t one = 1;

        (void)c;
        (void)toe;
        if (cc == NULL)
                return;
        if (cc->wake_when_done) {
                (void)pthread_mutex_lock(&s->lock);
                s->exiting = 1;
                (void)pthread_mutex_unlock(&s->lock);
                if (write(s->wake_fd, &one, sizeof one) < 0)
                        log_warn("wake the main loop: %s, ignoring", strerror(errno));
        }
        buf_free(&cc->body);
        free(cc);
        *con_cls = NULL;
}

/* ---- the main loop: the children ---- */

static void read_output(struct server *s, struct training *t)
{
        char chunk[16384];
        ssize_t n = read(t->out_fd, chunk, sizeof chunk);
        _cleanup_buf_ struct buf clean = {0};

        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        (void)pthread_mutex_lock(&s->lock);
        if (n <= 0) {
                redact_stream_flush(t->redact, &t->rs, &clean);
                (void)close(t->out_fd);
                t->out_fd = -1;
        } else {
                redact_feed(t->redact, &t->rs, chunk, (size_t)n, &clean);
        }
        if (clean.len > 0) {
                /* The container's own log shows what the training says. */
                if (write(STDERR_FILENO, clean.data, clean.len) < 0)
                        (void)0;
                if (t->logs.len + clean.len > LOGS_MAX) {
                        size_t drop = t->logs.len + clean.len - LOGS_MAX;
                        drop = drop > t->logs.len ? t->logs.len : drop;
                        memmove(t->logs.data, t->logs.data + drop, t->logs.len - drop);
                        buf_truncate(&t->logs, t->logs.len - drop);
                        t->logs_dropped += drop;
                }
                buf_append(&t->logs, clean.data, clean.len);
                notify(t, COG_EVENT_LOGS);
        }
        (void)pthread_mutex_unlock(&s->lock);
}

static char *read_small(const char *dir, const char *name)
{
        _cleanup_free_ char *path = path_join(dir, name);
        char *data = NULL;
        size_t len = 0;
        struct hoist_error *err = NULL;

        if (fs_read_file(path, &data, &len, &err) < 0) {
                hoist_error_free(err);
                return NULL;
        }
        while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == ' '))
                data[--len] = '\0';
        return data;
}

/* The child ended with wait status WS: the training's end. */
static void finish_training(struct server *s, struct training *t, int ws)
{
        _cleanup_free_ char *result = read_small(t->dir, "result.json");
        _cleanup_free_ char *failure = read_small(t->dir, "failure");
        int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);

        while (t->out_fd >= 0) {
                struct pollfd p = {.fd = t->out_fd, .events = POLLIN};
                if (poll(&p, 1, 0) <= 0)
                        break;
                read_output(s, t);
        }
        (void)pthread_mutex_lock(&s->lock);
        if (t->out_fd >= 0) {
                /* Held open by something the job left behind: its output
                 * is no longer the training's. */
                (void)close(t->out_fd);
                t->out_fd = -1;
        }
        t->end_ms = cog_now_ms();
        t->completed_at = iso_now();
        t->pid = 0;
        if (code == 0 && !t->canceled) {
                json_error_t jerr;
                t->status = "succeeded";
                t->output = result != NULL ? json_loads(result, 0, &jerr) : NULL;
                if (t->output == NULL) {
                        t->status = "failed";
                        t->error = xstrdup("the job ended without saying where its output is");
                }
        } else if (t->canceled) {
                t->status = "canceled";
        } else {
                t->status = "failed";
                t->error = failure != NULL && *failure != '\0'
                                   ? redact_string(t->redact, failure)
                                   : xasprintf("the job ended with exit code %d", code);
        }
        if (WIFSIGNALED(ws) && !t->canceled) {
                /* hoist-entrypoint itself died (the job's own end is an exit
                 * code): nothing here can be trusted to run another. */
                s->health = H_DEFUNCT;
                log_error("the training's hoist-entrypoint died of signal %d", WTERMSIG(ws));
        } else if (s->health == H_BUSY) {
                s->health = H_READY;
        }
        t->done = 1;
        log_info("training %s %s%s%s", t->id, t->status, t->error ? ": " : "",
                 t->error ? t->error : "");
        if (t->output != NULL)
                notify(t, COG_EVENT_OUTPUT);
        notify(t, COG_EVENT_COMPLETED);
        (void)pthread_cond_broadcast(&s->changed);
        (void)pthread_mutex_unlock(&s->lock);
}

static void reap(struct server *s)
{
        int ws;
        pid_t pid;

        while ((pid = waitpid(-1, &ws, WNOHANG)) > 0) {
                struct training *t;
                (void)pthread_mutex_lock(&s->lock);
                t = s->cur != NULL && s->cur->pid == pid ? s->cur : NULL;
                (void)pthread_mutex_unlock(&s->lock);
                if (t != NULL)
                        finish_training(s, t, ws);
        }
}

/* Cancels what runs; 1 once nothing runs. */
static int wind_down(struct server *s)
{
        int idle;

        (void)pthread_mutex_lock(&s->lock);
        idle = s->cur == NULL || s->cur->done;
        if (!idle && !s->cur->canceled) {
                s->cur->canceled = 1;
                if (s->cur->pid > 0)
                        (void)kill(s->cur->pid, SIGTERM);
        }
        (void)pthread_mutex_unlock(&s->lock);
        return idle;
}

static int loop(struct server *s, int sfd)
{
        int stopping = 0;

        for (;;) {
                struct pollfd p[3] = {{.fd = sfd, .events = POLLIN},
                                      {.fd = s->wake_fd, .events = POLLIN},
                                      {.fd = -1, .events = POLLIN}};
                int out_fd;

                (void)pthread_mutex_lock(&s->lock);
                out_fd = s->cur != NULL ? s->cur->out_fd : -1;
                stopping |= s->exiting;
                (void)pthread_mutex_unlock(&s->lock);
                if (stopping && wind_down(s))
                        return 0;
                p[2].fd = out_fd;
                if (poll(p, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        log_error("poll: %s", strerror(errno));
                        return 125;
                }
                if (p[1].revents & POLLIN) {
                        uint64_t n;
                        if (read(s->wake_fd, &n, sizeof n) < 0)
                                (void)0;
                }
                if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
                        /* Only this thread ends a training (finish_training),
                         * so the one whose fd was polled is still there. */
                        struct training *t;
                        (void)pthread_mutex_lock(&s->lock);
                        t = s->cur != NULL && s->cur->out_fd == out_fd ? s->cur : NULL;
                        (void)pthread_mutex_unlock(&s->lock);
                        if (t != NULL)
                                read_output(s, t);
                }
                if (p[0].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                                if (si.ssi_signo == SIGCHLD)
                                        reap(s);
                                else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
                                        log_info("%s: canceling what runs, then exiting",
                                                 strsignal((int)si.ssi_signo));
                                        stopping = 1;
                                }
                        }
                        reap(s);
                }
        }
}

/* HOIST_COG_SETUP: a command run once before READY, Cog's setup(). */
static void run_setup(struct server *s)
{
        const char *cmd = getenv("HOIST_COG_SETUP");
        char *argv[] = {(char *)"sh", (char *)"-c", (char *)cmd, NULL};
        posix_spawn_file_actions_t fa;
        int p[2], ws = 0, r;
        pid_t pid;
        char chunk[4096];
        ssize_t n;

        (void)pthread_mutex_lock(&s->lock);
        s->setup_started = iso_now();
        (void)pthread_mutex_unlock(&s->lock);
        if (cmd == NULL || *cmd == '\0') {
                (void)pthread_mutex_lock(&s->lock);
                s->setup_completed = iso_now();
                s->setup_status = xstrdup("succeeded");
                s->health = H_READY;
                (void)pthread_mutex_unlock(&s->lock);
                return;
        }
        if (pipe2(p, O_CLOEXEC) < 0)
                abort();
        (void)posix_spawn_file_actions_init(&fa);
        (void)posix_spawn_file_actions_adddup2(&fa, p[1], 1);
        (void)posix_spawn_file_actions_adddup2(&fa, p[1], 2);
        r = posix_spawnp(&pid, "sh", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        (void)close(p[1]);
        while (r == 0 && (n = read(p[0], chunk, sizeof chunk)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        break;
                if (write(STDERR_FILENO, chunk, (size_t)n) < 0)
                        (void)0;
                (void)pthread_mutex_lock(&s->lock);
                if (s->setup_logs.len < LOGS_MAX)
                        buf_append(&s->setup_logs, chunk, (size_t)n);
                (void)pthread_mutex_unlock(&s->lock);
        }
        (void)close(p[0]);
        while (r == 0 && waitpid(pid, &ws, 0) < 0 && errno == EINTR)
                ;
        (void)pthread_mutex_lock(&s->lock);
        s->setup_completed = iso_now();
        if (r == 0 && WIFEXITED(ws) && WEXITSTATUS(ws) == 0) {
                s->setup_status = xstrdup("succeeded");
                s->health = H_READY;
        } else {
                s->setup_status = xstrdup("failed");
                s->health = H_SETUP_FAILED;
                log_error("HOIST_COG_SETUP failed (%s); trainings are refused",
                          r != 0 ? strerror(r) : "a non-zero exit");
        }
        (void)pthread_mutex_unlock(&s->lock);
}

static int load_schema(struct server *s, struct hoist_error **err)
{
        const char *text = getenv("HOIST_COG_OPENAPI");
        json_error_t jerr;

        if (text != NULL && *text != '\0') {
                s->schema = json_loads(text, 0, &jerr);
                if (s->schema == NULL)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "HOIST_COG_OPENAPI is not JSON: line %d, column "
                                                "%d: %s",
                                                jerr.line, jerr.column, jerr.text);
                s->schema_text = xstrdup(text);
        } else {
                if (cog_openapi_schema(NULL, &s->schema, err) < 0)
                        return -1;
                s->schema_text = json_dumps(s->schema, JSON_COMPACT | JSON_SORT_KEYS);
        }
        s->training_input = json_object_get(
                json_object_get(json_object_get(s->schema, "components"), "schemas"),
                "TrainingInput");
        if (!json_is_object(json_object_get(s->training_input, "properties")))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "HOIST_COG_OPENAPI has no "
                                        "components.schemas.TrainingInput.properties");
        /* The generic schema lets hyperparameters through for job.json to
         * judge; a job's own schema names them all. */
        if (text == NULL || *text == '\0')
                s->training_input = NULL;
        return 0;
}

static int listen_port(void)
{
        const char *v = getenv("PORT");
        char *end;
        long n;

        if (v == NULL || *v == '\0')
                return COG_DEFAULT_PORT;
        n = strtol(v, &end, 10);
        if (*end != '\0' || n < 1 || n > 65535) {
                log_error("PORT='%s' is not a port number (1-65535)", v);
                return -1;
        }
        return (int)n;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
        char line[512];

        (void)cls;
        (void)vsnprintf(line, sizeof line, fmt, ap);
        log_debug("libmicrohttpd: %s", line);
}

int cog_serve(const char *self, char **args)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        struct server s = {.lock = PTHREAD_MUTEX_INITIALIZER,
                           .changed = PTHREAD_COND_INITIALIZER,
                           .health = H_STARTING,
                           .self = self,
                           .args = args};
        struct MHD_Daemon *d;
        sigset_t set;
        int port = listen_port(), sfd, r;

        if (port < 0)
                return 125;
        if (load_schema(&s, &err) < 0) {
                log_error("%s", err->msg);
                s.health = H_SETUP_FAILED;
        }
        if (s.schema_text == NULL)
                s.schema_text = xstrdup("{}");
        (void)sigemptyset(&set);
        (void)sigaddset(&set, SIGCHLD);
        (void)sigaddset(&set, SIGTERM);
        (void)sigaddset(&set, SIGINT);
        (void)sigprocmask(SIG_BLOCK, &set, NULL);
        sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        s.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (sfd < 0 || s.wake_fd < 0) {
                log_error("signalfd/eventfd: %s", strerror(errno));
                return 125;
        }
        d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                     MHD_USE_ERROR_LOG,
                             (uint16_t)port, NULL, NULL, handle, &s, MHD_OPTION_NOTIFY_COMPLETED,
                             handle_done, &s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                             MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_END);
        if (d == NULL) {
                log_error("Cog mode: cannot listen on port %d (set PORT)", port);
                return 125;
        }
        log_info("Cog mode: serving Cog's HTTP API on 0.0.0.0:%d", port);
        if (s.health == H_STARTING)
                run_setup(&s);
        r = loop(&s, sfd);
        MHD_stop_daemon(d);
        if (s.cur != NULL) {
                cog_webhook_finish(s.cur->hook, cog_now_ms() + 30000);
                s.cur->hook = NULL;
                training_free(s.cur);
        }
        (void)close(sfd);
        (void)close(s.wake_fd);
        json_decref(s.schema);
        free(s.schema_text);
        free(s.setup_started);
        free(s.setup_completed);
        free(s.setup_status);
        buf_free(&s.setup_logs);
        log_info("Cog mode: shut down");
        return r;
}
