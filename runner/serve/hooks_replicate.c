/* SPDX-License-Identifier: MIT */
#include "runner/serve/hooks_replicate.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiclient.h"
#include "cleanup.h"
#include "log.h"
#include "providers/replicate_api.h"
#include "runner/serve/ingest.h"
#include "runner/serve/stream.h"
#include "webhook.h"
#include "xalloc.h"

struct hooks_replicate {
        pthread_mutex_t lock;
        struct webhook_key key;
        int have_key;
        int64_t fetched_at; /* monotonic s of the last fetch */
};

struct hooks_replicate *hooks_replicate_new(void)
{
        struct hooks_replicate *r = xzalloc(sizeof *r);

        pthread_mutex_init(&r->lock, NULL);
        return r;
}

void hooks_replicate_free(struct hooks_replicate *r)
{
        if (r == NULL)
                return;
        explicit_bzero(&r->key, sizeof r->key);
        pthread_mutex_destroy(&r->lock);
        free(r);
}

static int64_t mono_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec;
}

/* GET /v1/webhooks/default/secret with the serve's REPLICATE_API_TOKEN. */
static int fetch_key(struct webhook_key *ret, struct hoist_error **err)
{
        const char *token = getenv("REPLICATE_API_TOKEN");
        const char *base = getenv("REPLICATE_API_BASE");
        _cleanup_apiclient_ struct apiclient *c = NULL;
        _cleanup_free_ char *auth = NULL;
        json_t *o = NULL, *key;
        int r;

        if (token == NULL || *token == '\0')
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "hoist serve has no REPLICATE_API_TOKEN to fetch "
                                        "Replicate's webhook secret with (start it with the "
                                        "variable set)");
        auth = xasprintf("Bearer %s", token);
        r = apiclient_new("Replicate", base && *base ? base : REPLICATE_API_DEFAULT, auth, &c, err);
        explicit_bzero(auth, strlen(auth));
        if (r < 0 || apiclient_call(c, "GET", "/webhooks/default/secret", NULL, NULL, &o, err) < 0)
                return -1;
        key = json_object_get(o, "key");
        r = json_is_string(key)
                    ? webhook_key_parse(json_string_value(key), "Replicate's webhook secret", ret,
                                        err)
                    : hoist_error_make(err, HOIST_ERR_PROVIDER,
                                       "Replicate GET /v1/webhooks/default/secret: no key");
        json_decref(o);
        return r;
}

/* The cached key (fetched when there is none, or again when AGAIN and the
 * last fetch is over a minute old: a rotated secret). */
static int current_key(struct hooks_replicate *r, int again, struct webhook_key *ret,
                       struct hoist_error **err)
{
        int rc = 0;

        pthread_mutex_lock(&r->lock);
        if (!r->have_key || (again && mono_s() - r->fetched_at >= 60)) {
                struct webhook_key k;
                if (fetch_key(&k, err) < 0) {
                        rc = -1;
                } else {
                        r->key = k;
                        r->have_key = 1;
                        r->fetched_at = mono_s();
                        explicit_bzero(&k, sizeof k);
                        rc = 1;
                }
        }
        if (rc >= 0)
                *ret = r->key;
        pthread_mutex_unlock(&r->lock);
        return rc;
}

static const char *type_of(const char *status, const char **ret_state)
{
        if (strcmp(status, "starting") == 0)
                return *ret_state = "starting", "job.starting";
        if (strcmp(status, "processing") == 0)
                return *ret_state = "running", "job.running";
        if (strcmp(status, "succeeded") == 0)
                return *ret_state = "succeeded", "replicate.succeeded";
        if (strcmp(status, "failed") == 0)
                return *ret_state = "failed", "replicate.failed";
        if (strcmp(status, "canceled") == 0)
                return *ret_state = "canceled", "replicate.canceled";
        return NULL;
}

int hooks_replicate_event(const char *body, size_t len, const char *job_id, int64_t attempt,
                          const char *webhook_id, int64_t timestamp, char **ret_type,
                          char **ret_status, char **ret_event, struct hoist_error **err)
{
        _cleanup_replicate_training_ struct replicate_training t = {.predict_time = -1};
        const char *state = NULL, *type;
        json_t *ev, *data;
        char *text, when[32];
        struct tm tm;
        time_t ts = (time_t)timestamp;

        if (replicate_training_parse(body, len, &t, err) < 0)
                return -1;
        type = type_of(t.status, &state);
        if (type == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "training %s: status '%.40s' is not one Replicate "
                                        "documents",
                                        t.id, t.status);
        if (gmtime_r(&ts, &tm) == NULL ||
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(when, sizeof when, "%" PRId64, timestamp);
        data = json_pack("{s:s,s:s,s:s,s:I}", "source", "replicate", "training_id", t.id,
                         "replicate_status", t.status, "attempt", (json_int_t)attempt);
        if (t.error != NULL)
                (void)json_object_set_new(data, "reason", json_string(t.error));
        if (t.predict_time >= 0)
                (void)json_object_set_new(data, "predict_time", json_real(t.predict_time));
        if (t.weights != NULL)
                (void)json_object_set_new(data, "weights", json_string(t.weights));
        ev = json_pack("{s:s+,s:s,s:s,s:s,s:s,s:s,s:o}", "id", "replicate.", webhook_id, "type",
                       type, "job_id", job_id, "node", "replicate", "time", when, "status", state,
                       "data", data);
        if (ev == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "training %s: not UTF-8 text", t.id);
        text = json_dumps(ev, JSON_COMPACT);
        json_decref(ev);
        if (text == NULL)
                abort(); /* out of memory */
        *ret_type = xstrdup(type);
        *ret_status = xstrdup(state);
        *ret_event = text;
        return 0;
}

static int parse_attempt(const char *s, int64_t *ret)
{
        char *end;
        long long v;

        if (s == NULL || *s < '1' || *s > '9')
                return -1;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || *end != '\0')
                return -1;
        *ret = v;
        return 0;
}

static int verify(struct hooks_replicate *r, const char *id, const char *ts, const char *sig,
                  const char *body, size_t len, struct hoist_error **err)
{
        struct webhook_key k;
        int got = current_key(r, 0, &k, err), rc;

        if (got < 0)
                return -2;
        rc = webhook_verify(&k, id, ts, sig, body, len, (int64_t)time(NULL), err);
        /* A signature that does not match a key fetched earlier: the secret
         * may have been rotated since; ask once more. */
        if (rc == WEBHOOK_BAD_SIGNATURE && got == 0) {
                struct hoist_error *e2 = NULL;
                if (current_key(r, 1, &k, &e2) == 1) {
                        hoist_error_release(err);
                        rc = webhook_verify(&k, id, ts, sig, body, len, (int64_t)time(NULL), err);
                }
                hoist_error_free(e2);
        }
        explicit_bzero(&k, sizeof k);
        return rc < 0 ? -1 : 0;
}

enum MHD_Result hooks_replicate_finish(struct hooks_replicate *r, struct ingest *ingest,
                                       struct MHD_Connection *conn, const char *body, size_t len)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        const char *id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "webhook-id");
        const char *ts = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "webhook-timestamp");
        const char *sig = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "webhook-signature");
        const char *job = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "job");
        const char *att = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "attempt");
        _cleanup_free_ char *type = NULL, *status = NULL, *event = NULL;
        int64_t attempt = 0;
        int rc;

        if (job == NULL || *job == '\0' || parse_attempt(att, &attempt) < 0)
                return hooks_reply(conn, MHD_HTTP_BAD_REQUEST,
                                   "the URL needs ?job=<id>&attempt=<n> (hoist's provider sets "
                                   "it on the training)");
        rc = verify(r, id, ts, sig, body, len, &err);
        if (rc == -2) {
                log_warn("serve: replicate webhook: %s", err->msg);
                return hooks_reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                                   "cannot get Replicate's webhook secret");
        }
        if (rc < 0)
                return hooks_reply(conn, MHD_HTTP_UNAUTHORIZED, "%s", err->msg);
        if (hooks_replicate_event(body, len, job, attempt, id, strtoll(ts, NULL, 10), &type,
                                  &status, &event, &err) < 0)
                return hooks_reply(conn, MHD_HTTP_BAD_REQUEST, "%s", err->msg);
        _cleanup_free_ char *ev_id = xasprintf("replicate.%s", id);
        struct store_event se = {
                .id = ev_id,
                .job_id = job,
                .type = type,
                .node = "replicate",
                .status = status,
                .body = event,
                .exit_code = -1,
                .attempt = attempt,
        };
        rc = ingest_apply(ingest, &se, &err);
        if (rc < 0 && err->code == HOIST_ERR_NOT_FOUND)
                return hooks_reply(conn, MHD_HTTP_NOT_FOUND, "no job '%s' here", job);
        if (rc < 0) {
                log_warn("serve: replicate webhook '%s': %s", id, err->msg);
                return hooks_reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "cannot record the event");
        }
        log_debug("serve: replicate webhook %s (%s) for job %s%s", id, type, job,
                  rc == 0 ? " (duplicate)" : "");
        if (rc > 0)
                serve_stream_wake();
        return hooks_reply(conn, MHD_HTTP_OK, rc == 0 ? "duplicate" : "recorded");
}
