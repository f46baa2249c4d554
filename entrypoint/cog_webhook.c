/* SPDX-License-Identifier: MIT */
#include "cog_webhook.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "cog_request.h"
#include "log.h"
#include "xalloc.h"

struct cog_webhook {
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        char *url;
        unsigned events;     /* the filter */
        unsigned pending;    /* events not yet sent */
        json_t *payload;     /* the latest training response */
        int64_t last_ms;     /* when the last one went out */
        int64_t deadline_ms; /* set by finish: retries of completed end then */
        int completed;       /* completed happened (sent or not: the thread ends) */
        CURL *curl;
};

int64_t cog_now_ms(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t discard(char *data, size_t size, size_t n, void *userdata)
{
        (void)data;
        (void)userdata;
        return size * n;
}

static const char *event_name(unsigned e)
{
        return e == COG_EVENT_START    ? "start"
               : e == COG_EVENT_OUTPUT ? "output"
               : e == COG_EVENT_LOGS   ? "logs"
                                       : "completed";
}

/* One POST; 0 when the receiver answered 2xx. */
static int post(struct cog_webhook *w, const char *body, unsigned event)
{
        char errbuf[CURL_ERROR_SIZE] = "", hdr[64];
        struct curl_slist *hdrs = NULL;
        long status = 0;
        CURLcode rc;

        if (w->curl == NULL)
                w->curl = curl_easy_init();
        if (w->curl == NULL)
                return -1;
        (void)snprintf(hdr, sizeof hdr, "X-Hoist-Cog-Event: %s", event_name(event));
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        hdrs = curl_slist_append(hdrs, hdr);
        curl_easy_reset(w->curl);
        (void)curl_easy_setopt(w->curl, CURLOPT_URL, w->url);
        (void)curl_easy_setopt(w->curl, CURLOPT_PROTOCOLS_STR, "http,https");
        (void)curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
        (void)curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, hdrs);
        (void)curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body);
        (void)curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        (void)curl_easy_setopt(w->curl, CURLOPT_USERAGENT,
                               "hoist-entrypoint/" HOIST_VERSION " (Cog)");
        (void)curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, discard);
        (void)curl_easy_setopt(w->curl, CURLOPT_ERRORBUFFER, errbuf);
        (void)curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
        (void)curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, 10000L);
        rc = curl_easy_perform(w->curl);
        if (rc == CURLE_OK)
                (void)curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(hdrs);
        if (rc == CURLE_OK && status >= 200 && status < 300)
                return 0;
        /* The URL may carry a token in its query: only its scheme and host. */
        log_warn("Cog webhook (%s): %s, ignoring", event_name(event),
                 rc != CURLE_OK ? (errbuf[0] ? errbuf : curl_easy_strerror(rc)) : "HTTP error");
        if (rc == CURLE_OK)
                log_debug("Cog webhook answered HTTP %ld", status);
        return -1;
}

/* The event to send next, highest first. */
static unsigned next_event(unsigned pending)
{
        static const unsigned order[] = {COG_EVENT_COMPLETED, COG_EVENT_START, COG_EVENT_OUTPUT,
                                         COG_EVENT_LOGS};
        for (size_t i = 0; i < 4; i++)
                if (pending & order[i])
                        return order[i];
        return 0;
}

static void wait_until(struct cog_webhook *w, int64_t when_ms)
{
        struct timespec ts;
        int64_t now = cog_now_ms();

        (void)clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (when_ms - now) / 1000;
        ts.tv_nsec += ((when_ms - now) % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
        }
        (void)pthread_cond_timedwait(&w->cond, &w->lock, &ts);
}

static void *sender(void *arg)
{
        struct cog_webhook *w = arg;

        (void)pthread_mutex_lock(&w->lock);
        for (;;) {
                unsigned e = next_event(w->pending);
                _cleanup_free_ char *body = NULL;

                if (e == 0) {
                        if (w->completed)
                                break;
                        (void)pthread_cond_wait(&w->cond, &w->lock);
                        continue;
                }
                if ((e == COG_EVENT_LOGS || e == COG_EVENT_OUTPUT) &&
                    cog_now_ms() < w->last_ms + COG_WEBHOOK_THROTTLE_MS) {
                        wait_until(w, w->last_ms + COG_WEBHOOK_THROTTLE_MS);
                        continue;
                }
                /* What goes out is the latest state, whichever event asked. */
                w->pending = e == COG_EVENT_COMPLETED ? 0 : w->pending & ~(e | COG_EVENT_LOGS);
                if (e == COG_EVENT_OUTPUT)
                        w->pending &= ~COG_EVENT_OUTPUT;
                body = json_dumps(w->payload, JSON_COMPACT | JSON_REAL_PRECISION(9));
                w->last_ms = cog_now_ms();
                (void)pthread_mutex_unlock(&w->lock);
                int ok = body != NULL && post(w, body, e) == 0;
                (void)pthread_mutex_lock(&w->lock);
                if (e != COG_EVENT_COMPLETED)
                        continue;
                /* The end is the one a receiver must not miss: retried with
                 * backoff until finish's deadline. */
                for (int64_t delay = 200; !ok;) {
                        int64_t at = cog_now_ms() + delay;
                        if (w->deadline_ms != 0 && at > w->deadline_ms)
                                break;
                        while (cog_now_ms() < at)
                                wait_until(w, at);
                        (void)pthread_mutex_unlock(&w->lock);
                        ok = post(w, body, e) == 0;
                        (void)pthread_mutex_lock(&w->lock);
                        delay = delay * 2 > 5000 ? 5000 : delay * 2;
                }
                break;
        }
        (void)pthread_mutex_unlock(&w->lock);
        return NULL;
}

struct cog_webhook *cog_webhook_start(const char *url, unsigned events)
{
        struct cog_webhook *w = xcalloc(1, sizeof *w);

        w->url = xstrdup(url);
        w->events = events;
        w->last_ms = cog_now_ms() - COG_WEBHOOK_THROTTLE_MS;
        (void)pthread_mutex_init(&w->lock, NULL);
        (void)pthread_cond_init(&w->cond, NULL);
        if (pthread_create(&w->thread, NULL, sender, w) != 0)
                abort();
        return w;
}

void cog_webhook_send(struct cog_webhook *w, unsigned event, json_t *payload)
{
        if (w == NULL) {
                json_decref(payload);
                return;
        }
        (void)pthread_mutex_lock(&w->lock);
        json_decref(w->payload);
        w->payload = payload;
        if (w->events & event)
                w->pending |= event;
        if (event == COG_EVENT_COMPLETED)
                w->completed = 1;
        (void)pthread_cond_signal(&w->cond);
        (void)pthread_mutex_unlock(&w->lock);
}

void cog_webhook_finish(struct cog_webhook *w, int64_t deadline_ms)
{
        if (w == NULL)
                return;
        (void)pthread_mutex_lock(&w->lock);
        w->deadline_ms = deadline_ms;
        w->completed = 1;
        (void)pthread_cond_signal(&w->cond);
        (void)pthread_mutex_unlock(&w->lock);
        (void)pthread_join(w->thread, NULL);
        json_decref(w->payload);
        if (w->curl != NULL)
                curl_easy_cleanup(w->curl);
        (void)pthread_mutex_destroy(&w->lock);
        (void)pthread_cond_destroy(&w->cond);
        free(w->url);
        free(w);
}
