/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "fmt.h"
#include "runner/serve/api_internal.h"
#include "runner/serve/apimetrics.h"
#include "runner/control/storeapi.h"
#include "xalloc.h"

#define DEFAULT_POINTS 1000
#define MAX_POINTS 100000

/* A JSON string of S (keys and node names come from jobs). */
static void append_json_string(struct buf *out, const char *s)
{
        json_t *j = json_string(s);
        char *text = j != NULL ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

        buf_append_str(out, text != NULL ? text : "null");
        free(text);
        json_decref(j);
}

void apimetrics_append_point(struct buf *out, const struct storeapi_point *p)
{
        char num[FMT_DOUBLE_SIZE];

        buf_printf(out, "[%lld,%lld,%s]", (long long)p->step, (long long)p->t_ms,
                   isfinite(p->value) ? fmt_double(p->value, num, sizeof num) : "null");
}

size_t apimetrics_downsample(const struct storeapi_point *pts, size_t n, size_t max,
                             size_t *ret_idx)
{
        size_t buckets, k = 0;

        if (n <= max || max < 2) {
                for (size_t i = 0; i < n && (i < max || max < 2); i++)
                        ret_idx[k++] = i;
                return k;
        }
        /* Each bucket of consecutive points keeps its lowest and its highest
         * value, in their order: the curve keeps its spikes. */
        buckets = max / 2;
        for (size_t b = 0; b < buckets; b++) {
                size_t lo = b * n / buckets, hi = (b + 1) * n / buckets;
                size_t imin = lo, imax = lo;
                if (lo >= hi)
                        continue;
                for (size_t i = lo + 1; i < hi; i++) {
                        if (pts[i].value < pts[imin].value)
                                imin = i;
                        if (pts[i].value > pts[imax].value)
                                imax = i;
                }
                if (imin == imax) {
                        ret_idx[k++] = imin;
                } else {
                        ret_idx[k++] = imin < imax ? imin : imax;
                        ret_idx[k++] = imin < imax ? imax : imin;
                }
        }
        return k;
}

/* The reply for KEYS and SERIES, each downsampled to MAX points. */
static char *render(char **keys, const struct storeapi_series *s, size_t n, size_t max)
{
        _cleanup_buf_ struct buf out = {0};
        size_t *idx = NULL, cap = 0;
        int64_t last_id = 0;

        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < s[i].n; j++)
                        if (s[i].points[j].rowid > last_id)
                                last_id = s[i].points[j].rowid;
        buf_append_str(&out, "{\"keys\":[");
        for (size_t i = 0; keys[i] != NULL; i++) {
                if (i > 0)
                        buf_append_char(&out, ',');
                append_json_string(&out, keys[i]);
        }
        buf_append_str(&out, "],\"series\":[");
        for (size_t i = 0; i < n; i++) {
                size_t k;
                if (s[i].n > cap) {
                        cap = s[i].n;
                        idx = xreallocarray(idx, cap, sizeof *idx);
                }
                k = apimetrics_downsample(s[i].points, s[i].n, max, idx);
                buf_append_str(&out, i > 0 ? ",{\"key\":" : "{\"key\":");
                append_json_string(&out, s[i].key);
                buf_printf(&out, ",\"attempt\":%lld,\"node\":", (long long)s[i].attempt);
                append_json_string(&out, s[i].node);
                buf_append_str(&out, ",\"x\":\"step\",\"points\":[");
                for (size_t j = 0; j < k; j++) {
                        if (j > 0)
                                buf_append_char(&out, ',');
                        apimetrics_append_point(&out, &s[i].points[idx[j]]);
                }
                buf_append_str(&out, "]}");
        }
        /* metrics/stream?after=LAST_ID follows on from here. */
        buf_printf(&out, "],\"last_id\":%lld}", (long long)last_id);
        free(idx);
        return buf_take(&out);
}

static int series_cmp(const struct storeapi_series *a, const struct storeapi_series *b)
{
        int c = strcmp(a->key, b->key);

        if (c == 0)
                c = a->attempt < b->attempt ? -1 : a->attempt > b->attempt;
        return c != 0 ? c : strcmp(a->node, b->node);
}

/* Adds the one point of ONE to M, where its series (made if new) keeps it
 * in step order.  A series' array holds 64 << k points (what the store's
 * reader leaves too): it grows when full. */
static void mem_add(struct api_metrics_mem *m, const struct storeapi_series *one)
{
        const struct storeapi_point *p = &one->points[0];
        struct storeapi_series *s;
        size_t i = 0, j;
        int c = 1;

        while (i < m->n && (c = series_cmp(&m->s[i], one)) < 0)
                i++;
        if (i == m->n || c != 0) {
                m->s = xreallocarray(m->s, m->n + 1, sizeof *m->s);
                memmove(&m->s[i + 1], &m->s[i], (m->n - i) * sizeof *m->s);
                m->s[i] = (struct storeapi_series){.key = xstrdup(one->key),
                                                   .node = xstrdup(one->node),
                                                   .attempt = one->attempt};
                m->n++;
        }
        s = &m->s[i];
        if (s->n == 0 || (s->n >= 64 && (s->n & (s->n - 1)) == 0))
                s->points = xreallocarray(s->points, s->n == 0 ? 64 : s->n * 2, sizeof *s->points);
        for (j = s->n; j > 0 && s->points[j - 1].step > p->step; j--)
                ;
        memmove(&s->points[j + 1], &s->points[j], (s->n - j) * sizeof *s->points);
        s->points[j] = *p;
        s->n++;
        if (p->rowid > m->last_rowid)
                m->last_rowid = p->rowid;
}

/* JOB_ID's slot of API->mem, brought up to date (API->mem_mu held). */
static struct api_metrics_mem *mem_get(struct api_service *api, struct store *st,
                                       const char *job_id, struct hoist_error **err)
{
        struct api_metrics_mem *m = NULL;
        struct storeapi_series *s = NULL;
        size_t n = 0;

        for (size_t i = 0; i < API_METRICS_MEM && m == NULL; i++)
                if (api->mem[i].job_id != NULL && strcmp(api->mem[i].job_id, job_id) == 0)
                        m = &api->mem[i];
        if (m == NULL) {
                m = &api->mem[0];
                for (size_t i = 1; i < API_METRICS_MEM; i++)
                        if (api->mem[i].used < m->used)
                                m = &api->mem[i];
                free(m->job_id);
                storeapi_series_free(m->s, m->n);
                *m = (struct api_metrics_mem){0};
                if (storeapi_metric_series(st, job_id, NULL, &m->s, &m->n, err) < 0)
                        return NULL;
                m->job_id = xstrdup(job_id);
                for (size_t i = 0; i < m->n; i++)
                        for (size_t j = 0; j < m->s[i].n; j++)
                                if (m->s[i].points[j].rowid > m->last_rowid)
                                        m->last_rowid = m->s[i].points[j].rowid;
        } else {
                /* LIMIT -1: every point since */
                if (storeapi_metric_since(st, job_id, m->last_rowid, SIZE_MAX, &s, &n, err) < 0)
                        return NULL;
                for (size_t i = 0; i < n; i++)
                        mem_add(m, &s[i]);
                storeapi_series_free(s, n);
        }
        m->used = ++api->cache_clock;
        return m;
}

/* The reply for JOB_ID's series (only KEY's unless NULL), from memory. */
static char *render_mem(struct api_service *api, struct store *st, const char *job_id,
                        const char *key, size_t max, struct hoist_error **err)
{
        struct api_metrics_mem *m;
        struct storeapi_series *view;
        const char **keys;
        size_t nv = 0, nk = 0;
        char *text = NULL;

        (void)pthread_mutex_lock(&api->mem_mu);
        m = mem_get(api, st, job_id, err);
        if (m != NULL) {
                view = xcalloc(m->n + 1, sizeof *view);
                keys = xcalloc(m->n + 1, sizeof *keys);
                for (size_t i = 0; i < m->n; i++) {
                        if (nk == 0 || strcmp(keys[nk - 1], m->s[i].key) != 0)
                                keys[nk++] = m->s[i].key;
                        if (key == NULL || strcmp(key, m->s[i].key) == 0)
                                view[nv++] = m->s[i];
                }
                text = render((char **)keys, view, nv, max);
                free(view);
                free(keys);
        }
        (void)pthread_mutex_unlock(&api->mem_mu);
        return text;
}

/* A copy of the cached reply for the query, or NULL. */
static char *cache_get(struct api_service *api, const char *job_id, const char *key, int64_t points,
                       int64_t count)
{
        char *hit = NULL;

        (void)pthread_mutex_lock(&api->mu);
        for (size_t i = 0; i < API_METRICS_CACHE && hit == NULL; i++) {
                struct api_metrics_cached *c = &api->cache[i];
                if (c->json == NULL || c->points != points || c->count != count ||
                    strcmp(c->job_id, job_id) != 0 || (c->key == NULL) != (key == NULL) ||
                    (key != NULL && strcmp(c->key, key) != 0))
                        continue;
                c->used = ++api->cache_clock;
                hit = xstrdup(c->json);
        }
        (void)pthread_mutex_unlock(&api->mu);
        return hit;
}

static void cache_put(struct api_service *api, const char *job_id, const char *key, int64_t points,
                      int64_t count, const char *json)
{
        struct api_metrics_cached *victim = &api->cache[0];

        (void)pthread_mutex_lock(&api->mu);
        for (size_t i = 0; i < API_METRICS_CACHE; i++) {
                struct api_metrics_cached *c = &api->cache[i];
                if (c->json == NULL || c->used < victim->used)
                        victim = c;
                if (c->json == NULL)
                        break;
        }
        free(victim->job_id);
        free(victim->key);
        free(victim->json);
        victim->job_id = xstrdup(job_id);
        victim->key = key != NULL ? xstrdup(key) : NULL;
        victim->points = points;
        victim->count = count;
        victim->json = xstrdup(json);
        victim->used = ++api->cache_clock;
        (void)pthread_mutex_unlock(&api->mu);
}

enum MHD_Result api_job_metrics(struct api_service *api, struct MHD_Connection *conn,
                                struct api_req *r, const char *id)
{
        static const char *const params[] = {"key", "points", NULL};
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;
        struct store *st = NULL;
        const char *key;
        _cleanup_free_ char *route = NULL;
        int64_t points = 0, count = 0, version = -1;
        char *text;

        if (apiquery_only(&r->q, params, &err) < 0 ||
            apiquery_int(&r->q, "points", 2, MAX_POINTS, DEFAULT_POINTS, &points, &err) < 0)
                return api_reply_hoist_error(conn, err);
        key = apiquery_get(&r->q, "key");
        route = xasprintf("metrics/%s", id);
        text = api_cache_get(api, route, r, &version);
        if (text != NULL)
                return api_reply_text(conn, MHD_HTTP_OK, text);
        if (api_store_take(api, &st, &err) < 0)
                return api_reply_hoist_error(conn, err);
        if (store_get_job(st, id, &job, &err) < 0 ||
            storeapi_metric_count(st, job->id, &count, &err) < 0) {
                api_store_give(api, st);
                return api_reply_hoist_error(conn, err);
        }
        text = cache_get(api, job->id, key, points, count);
        if (text != NULL) {
                api_store_give(api, st);
                api_cache_put(api, route, r, version, false, text);
                return api_reply_text(conn, MHD_HTTP_OK, text);
        }
        text = render_mem(api, st, job->id, key, (size_t)points, &err);
        api_store_give(api, st);
        if (text == NULL)
                return api_reply_hoist_error(conn, err);
        cache_put(api, job->id, key, points, count, text);
        api_cache_put(api, route, r, version, false, text);
        return api_reply_text(conn, MHD_HTTP_OK, text);
}
