/* SPDX-License-Identifier: MIT */
#include "events.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "clock.h"
#include "fmt.h"
#include "job.h"
#include "log.h"
#include "storage.h"
#include "webhook.h"
#include "xalloc.h"

/* Throttling: job.log lines are coalesced over LOG_WINDOW_MS into one event
 * of at most LOG_MAX_LINES lines / LOG_MAX_BYTES (more in the same window are
 * counted as dropped); job.metric goes out at most once per METRIC_WINDOW_MS
 * per key set, the latest values winning. */
#define LOG_WINDOW_MS 1000
#define LOG_MAX_LINES 100
#define LOG_MAX_BYTES (32 * 1024)
#define METRIC_WINDOW_MS 1000
#define METRIC_MAX_SLOTS 64

/* Delivery: the first retry after BACKOFF_MIN_MS, doubling up to
 * BACKOFF_MAX_MS, until events_finish()'s deadline. */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define CONNECT_TIMEOUT_MS 5000
#define REQUEST_TIMEOUT_MS 15000
/* Events kept in memory for a receiver that is down; older ones stay only in
 * storage. */
#define MAX_BACKLOG 20000

struct item {
        size_t seq;
        char *id;
        char *type;
        char *body;
};

struct hook {
        char *url;
        char *label; /* scheme://host/... : paths and queries may hold tokens */
        char **events;
        struct webhook_key key;
        int has_key;
        size_t next; /* seq of the next event to consider */
        int gone;    /* answered 410 */
        int64_t retry_at;
        int64_t backoff_ms;
        int failing; /* warned about the current failure streak */
        CURL *curl;
};

struct metric_slot {
        char *keys;
        int64_t last_ms;
        json_t *pending;
        char *status;
};

struct events {
        /* Fixed after events_open(). */
        char *job_id;
        char *node;
        char *node_key; /* NODE made safe for a storage key */
        char *prefix;   /* "jobs/<id>/events" */
        int64_t attempt;
        const struct redact *redact; /* may be NULL */
        struct jobspec *spec;        /* a copy, for job_open_storage() in the worker */
        struct hook *hooks;
        size_t n_hooks;

        pthread_mutex_t mu;
        pthread_cond_t cond;
        /* Under MU. */
        struct item *incoming;
        size_t n_incoming;
        size_t next_seq;
        json_t *log_lines;
        char *log_status;
        size_t log_bytes;
        size_t log_dropped;
        int64_t log_since_ms;
        struct metric_slot metrics[METRIC_MAX_SLOTS];
        size_t n_metrics;
        int stopping;
        int64_t deadline_ms;

        /* The worker's own (or the caller's of events_finish() after it). */
        pthread_t thread;
        int started;
        struct storage *st;
        int storage_failed;
        struct item *items; /* seq items[0].seq ... */
        size_t n_items;
};

static char *iso_time_now(void)
{
        struct timespec ts;
        struct tm tm;
        char buf[32];

        (void)clock_gettime(CLOCK_REALTIME, &ts);
        (void)gmtime_r(&ts.tv_sec, &tm);
        (void)strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
        return xasprintf("%s.%03ldZ", buf, ts.tv_nsec / 1000000);
}

/* "https://host:port/..." without path or query: those may carry tokens. */
static char *url_label(const char *url)
{
        const char *host = strstr(url, "://");
        size_t n;

        if (host == NULL)
                return xstrdup("(webhook)");
        host += 3;
        n = strcspn(host, "/?#");
        return xasprintf("%.*s%s", (int)(host - url + (ptrdiff_t)n), url,
                         host[n] != '\0' ? "/..." : "");
}

static char *key_safe(const char *s)
{
        char *r = xstrdup(s && *s ? s : "node");

        for (char *p = r; *p != '\0'; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
                        *p = '_';
        return r;
}

static void item_free(struct item *it)
{
        free(it->id);
        free(it->type);
        free(it->body);
}

/* ---- queueing (any thread, under MU) ---- */

/* Makes the event body and queues it.  DATA is stolen. */
static void push_locked(struct events *ev, const char *type, const char *status, json_t *data)
{
        struct item it = {.seq = ev->next_seq++};
        _cleanup_free_ char *time = iso_time_now();
        json_t *body;

        it.id = xasprintf("%s.%" PRId64 ".%s.%zu", ev->job_id, ev->attempt, ev->node_key, it.seq);
        it.type = xstrdup(type);
        body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id", it.id, "type", type, "job_id",
                         ev->job_id, "node", ev->node, "time", time, "status",
                         status ? json_string(status) : json_null(), "data",
                         data ? data : json_object());
        if (body == NULL)
                abort(); /* out of memory, or a type that is not UTF-8: our bug */
        it.body = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
        json_decref(body);
        if (it.body == NULL)
                abort();
        ev->incoming = xreallocarray(ev->incoming, ev->n_incoming + 1, sizeof *ev->incoming);
        ev->incoming[ev->n_incoming++] = it;
        (void)pthread_cond_signal(&ev->cond);
}

static void flush_log_locked(struct events *ev)
{
        json_t *data;

        if (ev->log_lines == NULL)
                return;
        data = json_pack("{s:o}", "lines", ev->log_lines);
        if (ev->log_dropped > 0)
                (void)json_object_set_new(data, "dropped",
                                          json_integer((json_int_t)ev->log_dropped));
        push_locked(ev, "job.log", ev->log_status ? ev->log_status : "running", data);
        ev->log_lines = NULL;
        free(ev->log_status);
        ev->log_status = NULL;
        ev->log_bytes = 0;
        ev->log_dropped = 0;
}

static void flush_metric_locked(struct events *ev, struct metric_slot *m, int64_t now)
{
        if (m->pending == NULL)
                return;
        push_locked(ev, "job.metric", m->status ? m->status : "running", m->pending);
        m->pending = NULL;
        free(m->status);
        m->status = NULL;
        m->last_ms = now;
}

/* Everything throttled goes out: before an event that must follow it, and
 * at the end. */
static void flush_all_locked(struct events *ev, int64_t now)
{
        flush_log_locked(ev);
        for (size_t i = 0; i < ev->n_metrics; i++)
                flush_metric_locked(ev, &ev->metrics[i], now);
}

/* What is due by NOW; returns when the next throttled event falls due
 * (INT64_MAX for none). */
static int64_t flush_due_locked(struct events *ev, int64_t now)
{
        int64_t next = INT64_MAX;

        if (ev->log_lines != NULL) {
                if (now - ev->log_since_ms >= LOG_WINDOW_MS)
                        flush_log_locked(ev);
                else
                        next = ev->log_since_ms + LOG_WINDOW_MS;
        }
        for (size_t i = 0; i < ev->n_metrics; i++) {
                struct metric_slot *m = &ev->metrics[i];
                if (m->pending == NULL)
                        continue;
                if (now - m->last_ms >= METRIC_WINDOW_MS)
                        flush_metric_locked(ev, m, now);
                else if (m->last_ms + METRIC_WINDOW_MS < next)
                        next = m->last_ms + METRIC_WINDOW_MS;
        }
        return next;
}

static void add_log_locked(struct events *ev, const char *status, json_t *data, int64_t now)
{
        json_t *line = json_object_get(data, "line");
        size_t bytes = json_is_string(line) ? json_string_length(line) : 64;

        if (ev->log_lines != NULL && now - ev->log_since_ms >= LOG_WINDOW_MS)
                flush_log_locked(ev);
        if (ev->log_lines == NULL) {
                ev->log_lines = json_array();
                ev->log_since_ms = now;
                ev->log_status = xstrdup(status);
        }
        if (json_array_size(ev->log_lines) >= LOG_MAX_LINES ||
            (ev->log_bytes + bytes > LOG_MAX_BYTES && json_array_size(ev->log_lines) > 0)) {
                ev->log_dropped++;
                json_decref(data);
                return;
        }
        ev->log_bytes += bytes;
        (void)json_array_append_new(ev->log_lines, data);
}

/* "loss,step": the sorted names of DATA's keys. */
static char *metric_keys(json_t *data)
{
        const char *k;
        json_t *v;
        size_t n = 0, i = 0;
        _cleanup_free_ const char **names = NULL;
        char *r;
        size_t len = 0;

        if (!json_is_object(data))
                return xstrdup("");
        names = xcalloc(json_object_size(data) + 1, sizeof *names);
        json_object_foreach(data, k, v)
        {
                names[n++] = k;
                len += strlen(k) + 1;
        }
        for (i = 1; i < n; i++)
                for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
                        const char *t = names[j];
                        names[j] = names[j - 1];
                        names[j - 1] = t;
                }
        r = xzalloc(len + 1);
        for (i = 0; i < n; i++) {
                if (i > 0)
                        strcat(r, ",");
                strcat(r, names[i]);
        }
        return r;
}

static void add_metric_locked(struct events *ev, const char *status, json_t *data, int64_t now)
{
        _cleanup_free_ char *keys = metric_keys(data);
        struct metric_slot *m = NULL;

        for (size_t i = 0; i < ev->n_metrics && m == NULL; i++)
                if (strcmp(ev->metrics[i].keys, keys) == 0)
                        m = &ev->metrics[i];
        if (m == NULL && ev->n_metrics < METRIC_MAX_SLOTS) {
                m = &ev->metrics[ev->n_metrics++];
                m->keys = TAKE_PTR(keys);
                m->last_ms = INT64_MIN / 2;
        }
        if (m == NULL) /* a program inventing key sets: share the last slot */
                m = &ev->metrics[METRIC_MAX_SLOTS - 1];
        json_decref(m->pending);
        m->pending = data;
        free(m->status);
        m->status = xstrdup(status);
        if (now - m->last_ms >= METRIC_WINDOW_MS) {
                flush_log_locked(ev);
                flush_metric_locked(ev, m, now);
        }
}

void events_emit(struct events *ev, const char *type, const char *status, json_t *data)
{
        int64_t now;

        if (ev == NULL || type == NULL) {
                json_decref(data);
                return;
        }
        if (data != NULL && !json_is_object(data)) {
                json_t *wrapped = json_pack("{s:o}", "value", data);
                data = wrapped;
        }
        /* A line or metric that did not make JSON (not UTF-8) carries nothing. */
        if (data == NULL && (strcmp(type, "job.log") == 0 || strcmp(type, "job.metric") == 0))
                return;
        /* job.log and job.metric come from lines redacted as they were
         * read (joblog.h); anything else may carry text of the command's
         * too (a failure reason, a file name). */
        if (strcmp(type, "job.log") != 0 && strcmp(type, "job.metric") != 0)
                redact_json(ev->redact, data);
        now = clock_mono_ms();
        (void)pthread_mutex_lock(&ev->mu);
        if (strcmp(type, "job.log") == 0) {
                add_log_locked(ev, status, data, now);
        } else if (strcmp(type, "job.metric") == 0) {
                add_metric_locked(ev, status, data, now);
        } else {
                flush_all_locked(ev, now);
                push_locked(ev, type, status, data);
        }
        (void)pthread_mutex_unlock(&ev->mu);
}

void events_emit_final(struct events *ev, const char *status, int exit_code, int sig,
                       const char *reason)
{
        _cleanup_free_ char *type = NULL;
        json_t *data;

        if (ev == NULL || status == NULL)
                return;
        type = xasprintf("job.%s", status);
        data = json_pack("{s:i, s:i}", "exit_code", exit_code, "signal", sig);
        if (reason != NULL)
                (void)json_object_set_new(data, "reason", json_string(reason));
        events_emit(ev, type, status, data);
}

void events_emit_output(struct events *ev, const struct jobspec *spec)
{
        _cleanup_free_ char *prefix = NULL;

        if (ev == NULL)
                return;
        prefix = job_prefix(spec, spec->output_prefix, "output");
        events_emit(ev, "job.output", "running", json_pack("{s:s}", "prefix", prefix));
}

/* ---- persistence and delivery (the worker) ---- */

static void persist(struct events *ev, const struct item *it)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_free_ char *key = NULL;

        if (ev->st == NULL && !ev->storage_failed &&
            job_open_storage(ev->spec, &ev->st, &err) < 0) {
                log_warn("events: %s; events are delivered but not stored", err->msg);
                ev->storage_failed = 1;
        }
        if (ev->st == NULL)
                return;
        key = xasprintf("%s/%04" PRId64 "-%08zu-%s.json", ev->prefix, ev->attempt, it->seq,
                        ev->node_key);
        if (storage_put_bytes(ev->st, key, it->body, strlen(it->body), &err) < 0)
                log_warn("event %s: store '%s': %s; delivering it anyway", it->type, key, err->msg);
}

static int hook_wants(const struct hook *h, const char *type)
{
        if (h->events == NULL || h->events[0] == NULL)
                return 1;
        for (char **e = h->events; *e != NULL; e++) {
                size_t n = strlen(*e);
                if (strcmp(*e, type) == 0 || strcmp(*e, "*") == 0)
                        return 1;
                if (n >= 2 && strcmp(*e + n - 2, ".*") == 0 && strncmp(*e, type, n - 1) == 0)
                        return 1;
        }
        return 0;
}

static size_t discard_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        (void)ptr;
        (void)userdata;
        return size * nmemb;
}

/* POSTs IT to H: 2xx → 1, 410 → 0 with H gone, anything else → -1. */
static int post(struct hook *h, const struct item *it, int64_t timeout_ms)
{
        _cleanup_curl_slist_ struct curl_slist *hdrs = NULL;
        _cleanup_free_ char *id = xasprintf("webhook-id: %s", it->id);
        _cleanup_free_ char *ts = NULL, *sig = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        int64_t now_s = (int64_t)time(NULL);
        long status = 0;
        CURLcode rc;

        if (h->curl == NULL)
                h->curl = curl_easy_init();
        if (h->curl == NULL)
                return -1;
        ts = xasprintf("webhook-timestamp: %" PRId64, now_s);
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        hdrs = curl_slist_append(hdrs, id);
        hdrs = curl_slist_append(hdrs, ts);
        if (h->has_key) {
                _cleanup_free_ char *v =
                        webhook_sign(&h->key, it->id, now_s, it->body, strlen(it->body));
                sig = xasprintf("webhook-signature: %s", v);
                hdrs = curl_slist_append(hdrs, sig);
        }
        hdrs = curl_slist_append(hdrs, "Expect:");
        curl_easy_reset(h->curl);
        (void)curl_easy_setopt(h->curl, CURLOPT_URL, h->url);
        (void)curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
        (void)curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
        (void)curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);
        (void)curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, it->body);
        (void)curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(it->body));
        (void)curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "hoist-entrypoint/" HOIST_VERSION);
        (void)curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, discard_body);
        (void)curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, errbuf);
        (void)curl_easy_setopt(
                h->curl, CURLOPT_CONNECTTIMEOUT_MS,
                (long)(timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms : CONNECT_TIMEOUT_MS));
        (void)curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
        rc = curl_easy_perform(h->curl);
        if (rc == CURLE_OK)
                (void)curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
        if (rc == CURLE_OK && status >= 200 && status < 300) {
                if (h->failing)
                        log_info("webhook %s: delivering again", h->label);
                h->failing = 0;
                return 1;
        }
        if (rc == CURLE_OK && status == 410) {
                log_warn("webhook %s answered 410 Gone; sending it no more events", h->label);
                h->gone = 1;
                return 0;
        }
        if (!h->failing) {
                if (rc != CURLE_OK)
                        log_warn("webhook %s: %s; retrying with backoff", h->label,
                                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
                else
                        log_warn("webhook %s answered HTTP %ld to %s; retrying with backoff",
                                 h->label, status, it->type);
        }
        h->failing = 1;
        return -1;
}

/* The first item at or after H->next that H wants, or NULL. */
static const struct item *next_for(struct events *ev, struct hook *h)
{
        size_t base = ev->n_items ? ev->items[0].seq : 0;

        if (h->next < base)
                h->next = base; /* dropped from the backlog: it is in storage */
        for (size_t i = h->next - base; i < ev->n_items; i++) {
                if (hook_wants(h, ev->items[i].type))
                        return &ev->items[i];
                h->next = ev->items[i].seq + 1;
        }
        return NULL;
}

/* Tries each hook that is due; returns when the next retry is due. */
static int64_t deliver(struct events *ev, int64_t deadline)
{
        int64_t wake = INT64_MAX;

        for (size_t i = 0; i < ev->n_hooks; i++) {
                struct hook *h = &ev->hooks[i];
                const struct item *it;
                while (!h->gone && (it = next_for(ev, h)) != NULL) {
                        int64_t now = clock_mono_ms(), left = deadline - now;
                        int r;
                        if (h->retry_at > now) {
                                if (h->retry_at < wake)
                                        wake = h->retry_at;
                                break;
                        }
                        if (left <= 0)
                                break;
                        r = post(h, it, left < REQUEST_TIMEOUT_MS ? left : REQUEST_TIMEOUT_MS);
                        if (r > 0) {
                                h->next = it->seq + 1;
                                h->backoff_ms = BACKOFF_MIN_MS;
                        } else if (r < 0) {
                                h->retry_at = clock_mono_ms() + h->backoff_ms;
                                h->backoff_ms = h->backoff_ms * 2 > BACKOFF_MAX_MS
                                                        ? BACKOFF_MAX_MS
                                                        : h->backoff_ms * 2;
                        }
                }
        }
        return wake;
}

/* Frees what every hook is past, and the oldest of an overlong backlog. */
static void compact(struct events *ev)
{
        size_t base, low = SIZE_MAX, drop;

        if (ev->n_items == 0)
                return;
        base = ev->items[0].seq;
        for (size_t i = 0; i < ev->n_hooks; i++)
                if (!ev->hooks[i].gone && ev->hooks[i].next < low)
                        low = ev->hooks[i].next;
        drop = low == SIZE_MAX ? ev->n_items : (low > base ? low - base : 0);
        if (drop > ev->n_items)
                drop = ev->n_items;
        if (ev->n_items - drop > MAX_BACKLOG) {
                log_warn("events: %zu events wait for a webhook; the oldest are kept only in "
                         "'%s/'",
                         ev->n_items - drop, ev->prefix);
                drop = ev->n_items - MAX_BACKLOG;
        }
        for (size_t i = 0; i < drop; i++)
                item_free(&ev->items[i]);
        memmove(ev->items, ev->items + drop, (ev->n_items - drop) * sizeof *ev->items);
        ev->n_items -= drop;
}

static int all_delivered(struct events *ev)
{
        for (size_t i = 0; i < ev->n_hooks; i++)
                if (!ev->hooks[i].gone && next_for(ev, &ev->hooks[i]) != NULL)
                        return 0;
        return 1;
}

static void report_undelivered(struct events *ev)
{
        for (size_t i = 0; i < ev->n_hooks; i++) {
                struct hook *h = &ev->hooks[i];
                size_t n = 0;
                if (h->gone)
                        continue;
                for (size_t j = 0; j < ev->n_items; j++)
                        if (ev->items[j].seq >= h->next && hook_wants(h, ev->items[j].type))
                                n++;
                if (n > 0)
                        log_warn("webhook %s: %zu %s not delivered before the deadline; "
                                 "kept in '%s/'",
                                 h->label, n, fmt_plural(n, "event", "events"), ev->prefix);
        }
}

static void take_incoming(struct events *ev, struct item **ret, size_t *ret_n)
{
        *ret = ev->incoming;
        *ret_n = ev->n_incoming;
        ev->incoming = NULL;
        ev->n_incoming = 0;
}

/* The worker: persists what was queued, delivers, waits.  Returns once
 * stopping and everything is delivered, or at the deadline. */
static void run_loop(struct events *ev)
{
        int was_stopping = 0;

        for (;;) {
                struct item *fresh;
                size_t n_fresh;
                int stopping;
                int64_t deadline, now = clock_mono_ms(), wake;

                (void)pthread_mutex_lock(&ev->mu);
                if (ev->stopping)
                        flush_all_locked(ev, now);
                wake = flush_due_locked(ev, now);
                take_incoming(ev, &fresh, &n_fresh);
                stopping = ev->stopping;
                deadline = stopping ? ev->deadline_ms : INT64_MAX;
                (void)pthread_mutex_unlock(&ev->mu);

                /* At the end, a receiver in backoff may be back: try each at once. */
                if (stopping && !was_stopping)
                        for (size_t i = 0; i < ev->n_hooks; i++)
                                ev->hooks[i].retry_at = 0;
                was_stopping = stopping;
                for (size_t i = 0; i < n_fresh; i++)
                        persist(ev, &fresh[i]);
                if (n_fresh > 0) {
                        ev->items =
                                xreallocarray(ev->items, ev->n_items + n_fresh, sizeof *ev->items);
                        memcpy(ev->items + ev->n_items, fresh, n_fresh * sizeof *fresh);
                        ev->n_items += n_fresh;
                }
                free(fresh);

                int64_t retry = deliver(ev, deadline);
                if (retry < wake)
                        wake = retry;
                compact(ev);
                if (stopping && all_delivered(ev)) {
                        (void)pthread_mutex_lock(&ev->mu);
                        int more = ev->n_incoming > 0;
                        (void)pthread_mutex_unlock(&ev->mu);
                        if (!more)
                                return;
                        continue;
                }
                if (stopping && clock_mono_ms() >= deadline) {
                        report_undelivered(ev);
                        return;
                }
                if (deadline < wake)
                        wake = deadline;

                (void)pthread_mutex_lock(&ev->mu);
                if (ev->n_incoming == 0 && ev->stopping == stopping && wake > clock_mono_ms()) {
                        if (wake == INT64_MAX) {
                                (void)pthread_cond_wait(&ev->cond, &ev->mu);
                        } else {
                                struct timespec ts = {.tv_sec = (time_t)(wake / 1000),
                                                      .tv_nsec = (long)(wake % 1000) * 1000000};
                                (void)pthread_cond_timedwait(&ev->cond, &ev->mu, &ts);
                        }
                }
                (void)pthread_mutex_unlock(&ev->mu);
        }
}

static void *worker(void *arg)
{
        run_loop(arg);
        return NULL;
}

/* ---- lifecycle ---- */

/* hoist serve's receiver, which the runner adds on its built-in endpoint:
 * every event, signed with the serve's secret. */
static int open_runner_hook(struct events *ev, struct hoist_error **err)
{
        const char *secret = NULL;
        const char *url = job_runner_hook(&secret);
        struct hook *h;

        if (url == NULL)
                return 0;
        h = &ev->hooks[ev->n_hooks++];
        h->url = xstrdup(url);
        h->label = url_label(url);
        h->backoff_ms = BACKOFF_MIN_MS;
        if (secret == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "HOIST_HOOKS_URL is set without HOIST_HOOKS_SECRET");
        if (webhook_key_parse(secret, "HOIST_HOOKS_SECRET", &h->key, err) < 0)
                return -1;
        h->has_key = 1;
        return 0;
}

static int open_hooks(struct events *ev, const struct jobspec *spec, struct hoist_error **err)
{
        ev->hooks = xcalloc(spec->n_webhooks + 1, sizeof *ev->hooks);
        for (size_t i = 0; i < spec->n_webhooks; i++) {
                struct hook *h = &ev->hooks[i];
                const char *name = NULL;
                const char *secret = job_webhook_secret(i, &name);

                ev->n_hooks = i + 1;
                h->url = xstrdup(spec->webhooks[i].url);
                h->label = url_label(h->url);
                h->events = ev->spec->webhooks[i].events;
                h->backoff_ms = BACKOFF_MIN_MS;
                if (strncmp(h->url, "http://", 7) != 0 && strncmp(h->url, "https://", 8) != 0)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "job.json webhooks[%zu]: '%s' is not an http(s) "
                                                "URL",
                                                i, h->label);
                if (secret == NULL) {
                        log_warn("webhook %s: no secret (HOIST_WEBHOOK_SECRET); its events go "
                                 "unsigned",
                                 h->label);
                        continue;
                }
                if (webhook_key_parse(secret, name, &h->key, err) < 0)
                        return hoist_error_wrap(err, "webhook %s", h->label);
                h->has_key = 1;
        }
        return open_runner_hook(ev, err);
}

int events_open(const struct jobspec *spec, const char *node, struct events **ret,
                struct hoist_error **err)
{
        struct events *ev = xzalloc(sizeof *ev);
        pthread_condattr_t attr;
        _cleanup_free_ char *json = NULL;
        json_t *valid = json_string(node); /* NULL unless UTF-8 */

        ev->job_id = xstrdup(spec->id);
        ev->node_key = key_safe(node);
        ev->node = xstrdup(valid != NULL ? node : ev->node_key);
        json_decref(valid);
        ev->prefix = job_prefix(spec, NULL, "events");
        ev->attempt = job_attempt(spec);
        (void)pthread_mutex_init(&ev->mu, NULL);
        (void)pthread_condattr_init(&attr);
        (void)pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        (void)pthread_cond_init(&ev->cond, &attr);
        (void)pthread_condattr_destroy(&attr);
        json = jobspec_to_json(spec);
        if (jobspec_parse(json, strlen(json), "job.json", &ev->spec, err) < 0 ||
            open_hooks(ev, spec, err) < 0) {
                events_close(ev);
                return -1;
        }
        *ret = ev;
        return 0;
}

void events_set_redact(struct events *ev, const struct redact *r)
{
        if (ev != NULL)
                ev->redact = r;
}

int events_start(struct events *ev, struct hoist_error **err)
{
        int r;

        if (ev == NULL || ev->started)
                return 0;
        r = pthread_create(&ev->thread, NULL, worker, ev);
        if (r != 0)
                return hoist_error_make(err, r, "events: start the delivery thread");
        ev->started = 1;
        return 0;
}

/* DEADLINE_MS is monotonic; a caller that passed wall-clock ms (result_now_ms()
 * + N) gets what it meant. */
static int64_t to_monotonic(int64_t deadline_ms)
{
        int64_t now = clock_mono_ms();
        struct timespec ts;

        if (deadline_ms > 1000000000000LL && now < 1000000000000LL) {
                (void)clock_gettime(CLOCK_REALTIME, &ts);
                return now + (deadline_ms - ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
        }
        return deadline_ms;
}

void events_finish(struct events *ev, int64_t deadline_ms)
{
        if (ev == NULL)
                return;
        (void)pthread_mutex_lock(&ev->mu);
        if (ev->stopping) {
                (void)pthread_mutex_unlock(&ev->mu);
                return;
        }
        ev->stopping = 1;
        ev->deadline_ms = to_monotonic(deadline_ms);
        (void)pthread_cond_signal(&ev->cond);
        (void)pthread_mutex_unlock(&ev->mu);
        if (!ev->started) {
                run_loop(ev);
                return;
        }
        (void)pthread_join(ev->thread, NULL);
        ev->started = 0;
}

void events_close(struct events *ev)
{
        if (ev == NULL)
                return;
        if (ev->started)
                events_finish(ev, clock_mono_ms());
        for (size_t i = 0; i < ev->n_hooks; i++) {
                explicit_bzero(&ev->hooks[i].key, sizeof ev->hooks[i].key);
                free(ev->hooks[i].url);
                free(ev->hooks[i].label);
                if (ev->hooks[i].curl != NULL)
                        curl_easy_cleanup(ev->hooks[i].curl);
        }
        free(ev->hooks);
        for (size_t i = 0; i < ev->n_incoming; i++)
                item_free(&ev->incoming[i]);
        free(ev->incoming);
        for (size_t i = 0; i < ev->n_items; i++)
                item_free(&ev->items[i]);
        free(ev->items);
        json_decref(ev->log_lines);
        free(ev->log_status);
        for (size_t i = 0; i < ev->n_metrics; i++) {
                free(ev->metrics[i].keys);
                json_decref(ev->metrics[i].pending);
                free(ev->metrics[i].status);
        }
        storage_close(ev->st);
        jobspec_free(ev->spec);
        (void)pthread_mutex_destroy(&ev->mu);
        (void)pthread_cond_destroy(&ev->cond);
        free(ev->job_id);
        free(ev->node);
        free(ev->node_key);
        free(ev->prefix);
        free(ev);
}
