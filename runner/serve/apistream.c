/* SPDX-License-Identifier: MIT */
/*
 * The API's Server-Sent Events streams, on runner/serve/stream.h: each
 * poll appends what is new and never waits.  Jobs, events and metrics come
 * from the job store (a quick local read); a log comes from the job's
 * storage, which may be this very server over HTTP, so a thread of the
 * stream's own reads it every LOG_POLL_MS and the poll only takes what it
 * found.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cleanup.h"
#include "clock.h"
#include "fmt.h"
#include "log.h"
#include "runner/serve/api_internal.h"
#include "runner/serve/apilogs.h"
#include "runner/serve/stream.h"
#include "runner/control/storeapi.h"
#include "xalloc.h"

#define LOG_POLL_MS 200
#define LOG_CHUNK (256u << 10)
/* A stream of a finished job ends once nothing new came for this long
 * (an event may arrive after the state it reports). */
#define END_QUIET_MS 3000
#define PAGE 200

void api_sse_frame(struct buf *out, const char *id, const char *event, const char *data)
{
        if (id != NULL)
                buf_printf(out, "id: %s\n", id);
        buf_printf(out, "event: %s\ndata: %s\n\n", event, data);
}

static void frame_json(struct buf *out, const char *id, const char *event, json_t *data)
{
        char *text = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);

        json_decref(data);
        if (text != NULL)
                api_sse_frame(out, id, event, text);
        free(text);
}

/* The stream's start from Last-Event-ID (or DEF without one). */
static int last_event_id(struct MHD_Connection *conn, int64_t def, int64_t *ret,
                         struct hoist_error **err)
{
        const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID");

        if (h == NULL) {
                *ret = def;
                return 0;
        }
        return apiquery_last_event_id(h, ret, err);
}

/* Is the job finished (or gone)?  Reads the store. */
static int job_finished(struct api_service *api, const char *id)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;

        if (api_get_job(api, id, &job, &err) < 0)
                return err->code == HOIST_ERR_NOT_FOUND;
        return job_state_terminal(job->state);
}

/* ---- every job ---- */

struct jobs_stream {
        struct api_service *api;
        int64_t since_ms;
        /* Jobs sent for changes at exactly since_ms, with what they said:
         * a job that changes twice in one millisecond (canceled right
         * after "canceling") is sent again when what it says differs. */
        char **sent, **said;
        size_t n_sent;
};

static void jobs_stream_forget(struct jobs_stream *s)
{
        for (size_t i = 0; i < s->n_sent; i++) {
                free(s->sent[i]);
                free(s->said[i]);
        }
        s->n_sent = 0;
}

static void jobs_stream_free(void *p)
{
        struct jobs_stream *s = p;

        jobs_stream_forget(s);
        free(s->sent);
        free(s->said);
        free(s);
}

/* What a frame of JOB says, but for its clock-driven duration_ms. */
static char *job_says(const struct job_record *job, const char *last)
{
        return xasprintf("%s|%lld|%d|%s|%lld|%s", job_state_name(job->state),
                         (long long)job->attempt, job->exit_code,
                         job->reason != NULL ? job->reason : "", (long long)job->updated_at_ms,
                         last != NULL ? last : "");
}

/* Whether job ID was sent saying SAYS for a change at since_ms. */
static bool sent_already(const struct jobs_stream *s, const char *id, const char *says)
{
        for (size_t i = 0; i < s->n_sent; i++)
                if (strcmp(s->sent[i], id) == 0 && strcmp(s->said[i], says) == 0)
                        return true;
        return false;
}

static void mark_sent(struct jobs_stream *s, const char *id, int64_t at_ms, char *says)
{
        if (at_ms > s->since_ms) {
                jobs_stream_forget(s);
                s->since_ms = at_ms;
        }
        for (size_t i = 0; i < s->n_sent; i++)
                if (strcmp(s->sent[i], id) == 0) {
                        free(s->said[i]);
                        s->said[i] = says;
                        return;
                }
        s->sent = xreallocarray(s->sent, s->n_sent + 1, sizeof *s->sent);
        s->said = xreallocarray(s->said, s->n_sent + 1, sizeof *s->said);
        s->sent[s->n_sent] = xstrdup(id);
        s->said[s->n_sent++] = says;
}

static enum serve_stream_rc jobs_poll(void *p, struct buf *out)
{
        struct jobs_stream *s = p;
        struct hoist_error *err = NULL;
        struct storeapi_change *c = NULL;
        struct store *st = NULL;
        size_t n = 0;

        if (api_store_take(s->api, &st, &err) < 0 ||
            storeapi_jobs_changed(st, s->since_ms, PAGE, &c, &n, &err) < 0) {
                log_warn("serve: api: jobs stream: %s; trying again", err->msg);
                hoist_error_free(err);
                api_store_give(s->api, st);
                return SERVE_STREAM_MORE;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_job_record_ struct job_record *job = NULL;
                char *last = NULL, *says;
                int64_t nodes = 0;
                if (c[i].at_ms < s->since_ms)
                        continue;
                if (store_get_job(st, c[i].job_id, &job, &err) < 0 ||
                    storeapi_job_extras(st, &job, 1, &nodes, &last, &err) < 0) {
                        hoist_error_release(&err); /* removed meanwhile */
                        continue;
                }
                says = job_says(job, last);
                if (c[i].at_ms == s->since_ms && sent_already(s, c[i].job_id, says)) {
                        free(says);
                        free(last);
                        continue;
                }
                mark_sent(s, c[i].job_id, c[i].at_ms, says);
                frame_json(out, NULL, "job", api_job_json(job, nodes, last));
                free(last);
        }
        storeapi_changes_free(c, n);
        api_store_give(s->api, st);
        return SERVE_STREAM_MORE;
}

enum MHD_Result api_jobs_stream(struct api_service *api, struct MHD_Connection *conn,
                                struct api_req *r)
{
        static const char *const params[] = {"since", NULL};
        _cleanup_error_ struct hoist_error *err = NULL;
        struct jobs_stream *s;
        int64_t since = 0;

        if (apiquery_only(&r->q, params, &err) < 0 ||
            apiquery_int(&r->q, "since", 0, INT64_MAX, 0, &since, &err) < 0)
                return api_reply_hoist_error(conn, err);
        s = xzalloc(sizeof *s);
        s->api = api;
        /* Without since: the changes from now on. */
        s->since_ms = apiquery_get(&r->q, "since") != NULL ? since : clock_wall_ms();
        return serve_stream_queue(conn, "text/event-stream", jobs_poll, jobs_stream_free, s);
}

/* ---- a job's events ---- */

struct events_stream {
        struct api_service *api;
        char *job_id;
        int64_t after;
        int64_t quiet_since; /* finished and nothing new since (0: not yet) */
};

static void events_stream_free(void *p)
{
        struct events_stream *s = p;

        free(s->job_id);
        free(s);
}

static enum serve_stream_rc events_poll(void *p, struct buf *out)
{
        struct events_stream *s = p;
        struct hoist_error *err = NULL;
        struct storeapi_event *ev = NULL;
        struct store *st = NULL;
        size_t n = 0;

        if (api_store_take(s->api, &st, &err) < 0 ||
            storeapi_list_events(st, s->job_id, NULL, s->after, PAGE, &ev, &n, &err) < 0) {
                log_warn("serve: api: events stream: %s; trying again", err->msg);
                hoist_error_free(err);
                api_store_give(s->api, st);
                return SERVE_STREAM_MORE;
        }
        api_store_give(s->api, st);
        for (size_t i = 0; i < n; i++) {
                char id[24];
                (void)snprintf(id, sizeof id, "%lld", (long long)ev[i].seq);
                frame_json(out, id, "event", api_event_json(&ev[i]));
                s->after = ev[i].seq;
        }
        storeapi_events_free(ev, n);
        if (n > 0) {
                s->quiet_since = 0;
                return SERVE_STREAM_MORE;
        }
        if (!job_finished(s->api, s->job_id))
                return SERVE_STREAM_MORE;
        if (s->quiet_since == 0)
                s->quiet_since = clock_wall_ms();
        if (clock_wall_ms() - s->quiet_since < END_QUIET_MS)
                return SERVE_STREAM_MORE;
        api_sse_frame(out, NULL, "end", "{}");
        return SERVE_STREAM_END;
}

enum MHD_Result api_events_stream(struct api_service *api, struct MHD_Connection *conn,
                                  struct api_req *r, const char *id)
{
        static const char *const params[] = {NULL};
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;
        struct events_stream *s;
        int64_t after = 0;

        if (apiquery_only(&r->q, params, &err) < 0 || last_event_id(conn, 0, &after, &err) < 0 ||
            api_get_job(api, id, &job, &err) < 0)
                return api_reply_hoist_error(conn, err);
        s = xzalloc(sizeof *s);
        s->api = api;
        s->job_id = xstrdup(job->id);
        s->after = after;
        return serve_stream_queue(conn, "text/event-stream", events_poll, events_stream_free, s);
}

/* ---- a job's metrics ---- */

struct metrics_stream {
        struct api_service *api;
        char *job_id;
        int64_t after; /* the last point's order of arrival */
        int64_t quiet_since;
};

static void metrics_stream_free(void *p)
{
        struct metrics_stream *s = p;

        free(s->job_id);
        free(s);
}

static enum serve_stream_rc metrics_poll(void *p, struct buf *out)
{
        struct metrics_stream *s = p;
        struct hoist_error *err = NULL;
        struct storeapi_series *pts = NULL;
        struct store *st = NULL;
        size_t n = 0;

        if (api_store_take(s->api, &st, &err) < 0 ||
            storeapi_metric_since(st, s->job_id, s->after, PAGE, &pts, &n, &err) < 0) {
                log_warn("serve: api: metrics stream: %s; trying again", err->msg);
                hoist_error_free(err);
                api_store_give(s->api, st);
                return SERVE_STREAM_MORE;
        }
        api_store_give(s->api, st);
        for (size_t i = 0; i < n; i++) {
                _cleanup_buf_ struct buf data = {0};
                const struct storeapi_point *pt = &pts[i].points[0];
                json_t *key = json_string(pts[i].key), *node = json_string(pts[i].node);
                char *k = key != NULL ? json_dumps(key, JSON_ENCODE_ANY) : NULL;
                char *nd = node != NULL ? json_dumps(node, JSON_ENCODE_ANY) : NULL;
                char id[24], num[FMT_DOUBLE_SIZE];

                buf_printf(&data, "{\"key\":%s,\"attempt\":%lld,\"node\":%s,", k ? k : "null",
                           (long long)pts[i].attempt, nd ? nd : "null");
                buf_printf(&data, "\"step\":%lld,\"t_ms\":%lld,\"value\":%s}", (long long)pt->step,
                           (long long)pt->t_ms,
                           isfinite(pt->value) ? fmt_double(pt->value, num, sizeof num) : "null");
                (void)snprintf(id, sizeof id, "%lld", (long long)pt->rowid);
                buf_append_char(&data, '\0');
                api_sse_frame(out, id, "metric", data.data);
                s->after = pt->rowid;
                free(k);
                free(nd);
                json_decref(key);
                json_decref(node);
        }
        storeapi_series_free(pts, n);
        if (n > 0) {
                s->quiet_since = 0;
                return SERVE_STREAM_MORE;
        }
        if (!job_finished(s->api, s->job_id))
                return SERVE_STREAM_MORE;
        if (s->quiet_since == 0)
                s->quiet_since = clock_wall_ms();
        if (clock_wall_ms() - s->quiet_since < END_QUIET_MS)
                return SERVE_STREAM_MORE;
        api_sse_frame(out, NULL, "end", "{}");
        return SERVE_STREAM_END;
}

enum MHD_Result api_metrics_stream(struct api_service *api, struct MHD_Connection *conn,
                                   struct api_req *r, const char *id)
{
        static const char *const params[] = {"after", NULL};
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;
        struct metrics_stream *s;
        struct store *st = NULL;
        int64_t now = 0, after = 0;

        if (apiquery_only(&r->q, params, &err) < 0 ||
            apiquery_int(&r->q, "after", 0, INT64_MAX, -1, &after, &err) < 0 ||
            api_get_job(api, id, &job, &err) < 0)
                return api_reply_hoist_error(conn, err);
        if (after < 0) {
                if (api_store_take(api, &st, &err) < 0 ||
                    storeapi_metric_last_rowid(st, &now, &err) < 0) {
                        api_store_give(api, st);
                        return api_reply_hoist_error(conn, err);
                }
                api_store_give(api, st);
                after = now;
        }
        if (last_event_id(conn, after, &after, &err) < 0)
                return api_reply_hoist_error(conn, err);
        s = xzalloc(sizeof *s);
        s->api = api;
        s->job_id = xstrdup(job->id);
        s->after = after;
        return serve_stream_queue(conn, "text/event-stream", metrics_poll, metrics_stream_free, s);
}

/* ---- a node's log ---- */

struct logs_stream {
        struct api_service *api;
        char *job_id;
        char *node;
        struct apilog log;
        pthread_t reader;
        pthread_mutex_t mu;
        pthread_cond_t cond;
        /* Shared with the reader, under MU. */
        struct buf pending; /* frames not yet polled */
        bool stop;
        bool ended;
        /* The reader's own. */
        uint64_t offset;
};

static void logs_stream_free(void *p)
{
        struct logs_stream *s = p;

        (void)pthread_mutex_lock(&s->mu);
        s->stop = true;
        (void)pthread_cond_signal(&s->cond);
        (void)pthread_mutex_unlock(&s->mu);
        (void)pthread_join(s->reader, NULL);
        apilog_close(&s->log);
        buf_free(&s->pending);
        (void)pthread_mutex_destroy(&s->mu);
        (void)pthread_cond_destroy(&s->cond);
        free(s->job_id);
        free(s->node);
        free(s);
}

/* Reads what the log holds past the offset: 1 when it found something. */
static int logs_read(struct logs_stream *s)
{
        _cleanup_free_ char *data = NULL;
        _cleanup_buf_ struct buf text = {0};
        struct hoist_error *err = NULL;
        size_t len = 0, took;
        json_t *chunk;
        char id[24];

        /* No node was asked and the job had no log when the stream began:
         * its first log, once there is one (a single-node job's is not
         * node0's). */
        if (s->offset == 0)
                (void)apilog_settle(&s->log, &s->node);
        if (apilog_read_from(&s->log, s->offset, LOG_CHUNK, &data, &len, &err) < 0) {
                log_debug("serve: api: log of %s: %s; trying again", s->job_id, err->msg);
                hoist_error_free(err);
                return 0;
        }
        took = apilog_utf8(&text, data, len, 0);
        if (took == 0)
                return 0;
        buf_append_char(&text, '\0');
        chunk = json_pack("{s:s,s:I,s:s}", "node", s->node, "offset", (json_int_t)s->offset, "text",
                          text.data);
        s->offset += took;
        (void)snprintf(id, sizeof id, "%llu", (unsigned long long)s->offset);
        (void)pthread_mutex_lock(&s->mu);
        frame_json(&s->pending, id, "log", chunk);
        (void)pthread_mutex_unlock(&s->mu);
        serve_stream_wake();
        return 1;
}

static void *logs_reader(void *p)
{
        struct logs_stream *s = p;
        int64_t quiet_since = 0;

        for (;;) {
                struct timespec until;
                bool stop;

                if (logs_read(s)) {
                        quiet_since = 0;
                } else if (job_finished(s->api, s->job_id)) {
                        if (quiet_since == 0)
                                quiet_since = clock_wall_ms();
                        else if (clock_wall_ms() - quiet_since >= END_QUIET_MS && !logs_read(s))
                                break;
                }
                (void)clock_gettime(CLOCK_REALTIME, &until);
                until.tv_nsec += LOG_POLL_MS * 1000000L;
                if (until.tv_nsec >= 1000000000L) {
                        until.tv_sec++;
                        until.tv_nsec -= 1000000000L;
                }
                (void)pthread_mutex_lock(&s->mu);
                if (!s->stop)
                        (void)pthread_cond_timedwait(&s->cond, &s->mu, &until);
                stop = s->stop;
                (void)pthread_mutex_unlock(&s->mu);
                if (stop)
                        return NULL;
        }
        (void)pthread_mutex_lock(&s->mu);
        api_sse_frame(&s->pending, NULL, "end", "{}");
        s->ended = true;
        (void)pthread_mutex_unlock(&s->mu);
        serve_stream_wake();
        return NULL;
}

static enum serve_stream_rc logs_poll(void *p, struct buf *out)
{
        struct logs_stream *s = p;
        bool ended;

        (void)pthread_mutex_lock(&s->mu);
        if (s->pending.len > 0) {
                buf_append(out, s->pending.data, s->pending.len);
                buf_truncate(&s->pending, 0);
        }
        ended = s->ended;
        (void)pthread_mutex_unlock(&s->mu);
        return ended ? SERVE_STREAM_END : SERVE_STREAM_MORE;
}

/* Where the last TAIL lines of the log begin, as it is now. */
static int tail_offset(struct apilog *log, int64_t tail, int64_t *ret, struct hoist_error **err)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0, i;

        if (apilog_read(log, &data, &len, err) < 0)
                return -1;
        i = len;
        if (i > 0 && data[i - 1] == '\n')
                i--;
        while (i > 0 && !(data[i - 1] == '\n' && --tail == 0))
                i--;
        *ret = (int64_t)i;
        return 0;
}

enum MHD_Result api_logs_stream(struct api_service *api, struct MHD_Connection *conn,
                                struct api_req *r, const char *id)
{
        static const char *const params[] = {"node", "offset", "tail", NULL};
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;
        struct logs_stream *s;
        pthread_condattr_t ca;
        int64_t offset = 0, tail = 0;

        if (apiquery_only(&r->q, params, &err) < 0 ||
            apiquery_int(&r->q, "offset", 0, INT64_MAX, 0, &offset, &err) < 0 ||
            apiquery_int(&r->q, "tail", 1, 100000, 0, &tail, &err) < 0 ||
            last_event_id(conn, offset, &offset, &err) < 0 || api_get_job(api, id, &job, &err) < 0)
                return api_reply_hoist_error(conn, err);
        s = xzalloc(sizeof *s);
        s->api = api;
        s->job_id = xstrdup(job->id);
        if (apilog_open(api, job, apiquery_get(&r->q, "node"), &s->log, &s->node, &err) < 0 ||
            (tail > 0 &&
             MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID") == NULL &&
             tail_offset(&s->log, tail, &offset, &err) < 0)) {
                apilog_close(&s->log);
                free(s->job_id);
                free(s->node);
                free(s);
                return api_reply_hoist_error(conn, err);
        }
        s->offset = (uint64_t)offset;
        (void)pthread_mutex_init(&s->mu, NULL);
        (void)pthread_condattr_init(&ca);
        (void)pthread_cond_init(&s->cond, &ca);
        (void)pthread_condattr_destroy(&ca);
        if (pthread_create(&s->reader, NULL, logs_reader, s) != 0) {
                apilog_close(&s->log);
                (void)pthread_mutex_destroy(&s->mu);
                (void)pthread_cond_destroy(&s->cond);
                free(s->job_id);
                free(s->node);
                free(s);
                return api_reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                       "cannot start a log reader; try again");
        }
        return serve_stream_queue(conn, "text/event-stream", logs_poll, logs_stream_free, s);
}
