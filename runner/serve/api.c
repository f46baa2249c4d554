/* SPDX-License-Identifier: MIT */
#include "runner/serve/api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "runner/serve/api_internal.h"
#include "runner/serve/apitoken.h"
#include "xalloc.h"

/* A POST body of the API is a small JSON object. */
#define API_MAX_BODY (64u << 10)

/* runner/serve/openapi.json, embedded as it is (NUL-terminated). */
__asm__(".section .rodata\n"
        ".global api_openapi_json\n"
        ".type api_openapi_json, @object\n"
        "api_openapi_json:\n"
        ".incbin \"runner/serve/openapi.json\"\n"
        ".byte 0\n"
        ".previous\n");
extern const char api_openapi_json[];

int api_service_new(const struct hoist_home *home, const char *token, struct api_service **ret,
                    struct hoist_error **err)
{
        struct api_service *api;

        api = xzalloc(sizeof *api);
        if (apicache_new(home->db_path, &api->replies, err) < 0) {
                free(api);
                return -1;
        }
        api->home = home;
        api->token = xstrdup(token);
        api->hoist_bin = path_join(home->self_dir, "hoist");
        (void)pthread_mutex_init(&api->mu, NULL);
        (void)pthread_mutex_init(&api->mem_mu, NULL);
        (void)pthread_mutex_init(&api->acts_mu, NULL);
        (void)pthread_cond_init(&api->acts_done, NULL);
        *ret = api;
        return 0;
}

void api_service_free(struct api_service *api)
{
        if (api == NULL)
                return;
        for (size_t i = 0; i < api->n_pool; i++)
                store_close(api->pool[i]);
        for (size_t i = 0; i < API_METRICS_CACHE; i++) {
                free(api->cache[i].job_id);
                free(api->cache[i].key);
                free(api->cache[i].json);
        }
        apicache_free(api->replies);
        for (size_t i = 0; i < API_METRICS_MEM; i++) {
                free(api->mem[i].job_id);
                storeapi_series_free(api->mem[i].s, api->mem[i].n);
        }
        (void)pthread_mutex_destroy(&api->mem_mu);
        (void)pthread_cond_destroy(&api->acts_done);
        (void)pthread_mutex_destroy(&api->acts_mu);
        explicit_bzero(api->token, strlen(api->token));
        free(api->token);
        free(api->hoist_bin);
        (void)pthread_mutex_destroy(&api->mu);
        free(api);
}

void api_service_quiesce(struct api_service *api)
{
        if (api == NULL)
                return;
        (void)pthread_mutex_lock(&api->acts_mu);
        api->stopping = true;
        while (api->n_acts > 0)
                (void)pthread_cond_wait(&api->acts_done, &api->acts_mu);
        (void)pthread_mutex_unlock(&api->acts_mu);
}

int api_store_take(struct api_service *api, struct store **ret, struct hoist_error **err)
{
        struct store *st = NULL;

        (void)pthread_mutex_lock(&api->mu);
        if (api->n_pool > 0)
                st = api->pool[--api->n_pool];
        (void)pthread_mutex_unlock(&api->mu);
        if (st == NULL && store_open(api->home->db_path, &st, err) < 0)
                return -1;
        *ret = st;
        return 0;
}

void api_store_give(struct api_service *api, struct store *st)
{
        if (st == NULL)
                return;
        (void)pthread_mutex_lock(&api->mu);
        if (api->n_pool < API_STORE_POOL) {
                api->pool[api->n_pool++] = st;
                st = NULL;
        }
        (void)pthread_mutex_unlock(&api->mu);
        store_close(st);
}

/* ROUTE and the decoded query, in the order given. */
static char *cache_key(const char *route, const struct api_req *r)
{
        struct buf b = {0};

        buf_append_str(&b, route);
        for (size_t i = 0; i < r->q.n; i++) {
                buf_append(&b, "\x1f", 1);
                buf_append_str(&b, r->q.names[i]);
                buf_append(&b, "=", 1);
                buf_append_str(&b, r->q.values[i] != NULL ? r->q.values[i] : "");
        }
        return buf_take(&b);
}

char *api_cache_get(struct api_service *api, const char *route, const struct api_req *r,
                    int64_t *ret_version)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_free_ char *key = NULL;

        /* no counter: -1, never kept */
        if (apicache_version(api->replies, ret_version, &err) < 0) {
                *ret_version = -1;
                return NULL;
        }
        key = cache_key(route, r);
        return apicache_get(api->replies, key, *ret_version);
}

void api_cache_put(struct api_service *api, const char *route, const struct api_req *r,
                   int64_t version, bool live, const char *text)
{
        _cleanup_free_ char *key = NULL;

        if (version < 0 || text == NULL)
                return;
        key = cache_key(route, r);
        apicache_put(api->replies, key, version, live, text);
}

enum MHD_Result api_reply_text(struct MHD_Connection *conn, unsigned status, char *json_text)
{
        struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(json_text), json_text,
                                                                    MHD_RESPMEM_MUST_FREE);
        enum MHD_Result r;

        if (resp == NULL) {
                free(json_text);
                return MHD_NO;
        }
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        (void)MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        if (status == MHD_HTTP_UNAUTHORIZED)
                (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                              "Bearer realm=\"hoist\"");
        r = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return r;
}

enum MHD_Result api_reply_json(struct MHD_Connection *conn, unsigned status, json_t *body)
{
        char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);

        json_decref(body);
        if (text == NULL)
                return api_reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                                       "the reply does not encode as JSON");
        return api_reply_text(conn, status, text);
}

static char *error_text_v(const char *code, const char *fmt, va_list ap)
{
        _cleanup_free_ char *msg = NULL;
        json_t *body;
        char *text;

        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        body = json_pack("{s:{s:s,s:s?}}", "error", "code", code, "message", msg);
        /* A message that is not UTF-8 (a name from the request) still answers. */
        if (body == NULL)
                body = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message",
                                 "(the message is not UTF-8)");
        text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(body);
        return text;
}

char *api_error_text(const char *code, const char *fmt, ...)
{
        va_list ap;
        char *text;

        va_start(ap, fmt);
        text = error_text_v(code, fmt, ap);
        va_end(ap);
        return text;
}

enum MHD_Result api_reply_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                const char *fmt, ...)
{
        va_list ap;
        char *text;

        va_start(ap, fmt);
        text = error_text_v(code, fmt, ap);
        va_end(ap);
        if (text == NULL)
                return MHD_NO;
        return api_reply_text(conn, status, text);
}

char *api_hoist_error_text(const struct hoist_error *err, unsigned *ret_status)
{
        switch (err->code) {
        case HOIST_ERR_NOT_FOUND:
                *ret_status = MHD_HTTP_NOT_FOUND;
                return api_error_text("not_found", "%s", err->msg);
        case HOIST_ERR_USAGE:
        case HOIST_ERR_INPUT:
                *ret_status = MHD_HTTP_BAD_REQUEST;
                return api_error_text("bad_request", "%s", err->msg);
        case HOIST_ERR_STATE:
                *ret_status = MHD_HTTP_CONFLICT;
                return api_error_text("conflict", "%s", err->msg);
        default:
                log_warn("serve: api: %s", err->msg);
                *ret_status = MHD_HTTP_INTERNAL_SERVER_ERROR;
                return api_error_text("internal", "%s", err->msg);
        }
}

enum MHD_Result api_reply_hoist_error(struct MHD_Connection *conn, const struct hoist_error *err)
{
        unsigned status = 0;
        char *text = api_hoist_error_text(err, &status);

        if (text == NULL)
                return MHD_NO;
        return api_reply_text(conn, status, text);
}

enum MHD_Result api_act_reply(struct MHD_Connection *conn, struct api_req *r)
{
        char *text = r->reply_text;

        r->reply_text = NULL;
        if (text == NULL)
                return MHD_NO; /* answered already, or no reply could be made */
        return api_reply_text(conn, r->reply_status, text);
}

static enum MHD_Result reply_openapi(struct MHD_Connection *conn)
{
        return api_reply_text(conn, MHD_HTTP_OK, xstrdup(api_openapi_json));
}

static enum MHD_Result method_not_allowed(struct MHD_Connection *conn, const char *allow)
{
        struct MHD_Response *resp;
        json_t *body = json_pack("{s:{s:s,s:s}}", "error", "code", "method_not_allowed", "message",
                                 "this route answers only the methods in the Allow header");
        char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
        enum MHD_Result r;

        json_decref(body);
        if (text == NULL)
                return MHD_NO;
        resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        if (resp == NULL) {
                free(text);
                return MHD_NO;
        }
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
        r = MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
        MHD_destroy_response(resp);
        return r;
}

struct query_reader {
        struct apiquery *q;
        struct hoist_error *err;
};

static enum MHD_Result add_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
        struct query_reader *qr = cls;

        (void)kind;
        if (qr->err != NULL)
                return MHD_NO;
        return apiquery_add_raw(qr->q, key, value, &qr->err) < 0 ? MHD_NO : MHD_YES;
}

/* The request's query parameters, decoded. */
static int read_query(struct MHD_Connection *conn, struct apiquery *q, struct hoist_error **err)
{
        struct query_reader qr = {.q = q};

        (void)MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_param, &qr);
        if (qr.err != NULL) {
                *err = qr.err;
                return -1;
        }
        return 0;
}

/* The next path segment of *P ("jobs/ID/logs"), decoded; NULL at the end. */
static int next_segment(const char **p, char **ret, struct hoist_error **err)
{
        const char *s = *p, *end;

        *ret = NULL;
        if (*s == '\0')
                return 0;
        end = strchrnul(s, '/');
        if (apiquery_decode(s, (size_t)(end - s), false, ret, err) < 0)
                return -1;
        *p = *end == '/' ? end + 1 : end;
        return 0;
}

static bool is(const char *a, const char *b)
{
        return a != NULL && strcmp(a, b) == 0;
}

/* Routes one authorized request (PATH: what follows "/api/v1/"). */
static enum MHD_Result route(struct api_service *api, struct MHD_Connection *conn,
                             struct api_req *r, const char *path, const char *method)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_free_ char *s0 = NULL, *s1 = NULL, *s2 = NULL, *s3 = NULL;
        const char *p = path;
        bool get = is(method, MHD_HTTP_METHOD_GET) || is(method, MHD_HTTP_METHOD_HEAD);
        bool post = is(method, MHD_HTTP_METHOD_POST);

        if (read_query(conn, &r->q, &err) < 0 || next_segment(&p, &s0, &err) < 0 ||
            next_segment(&p, &s1, &err) < 0 || next_segment(&p, &s2, &err) < 0)
                return api_reply_hoist_error(conn, err);
        /* outputs/{path}: the rest of the path, slashes and all. */
        if (is(s0, "jobs") && s1 != NULL && is(s2, "outputs") && *p != '\0') {
                if (apiquery_decode(p, strlen(p), false, &s3, &err) < 0)
                        return api_reply_hoist_error(conn, err);
                if (!get)
                        return method_not_allowed(conn, "GET, HEAD");
                return api_job_output(api, conn, r, s1, s3);
        }
        if (next_segment(&p, &s3, &err) < 0)
                return api_reply_hoist_error(conn, err);
        if (*p != '\0')
                goto not_found;
        if (s3 != NULL) {
                if (!is(s0, "jobs") || !is(s3, "stream") || s1 == NULL)
                        goto not_found;
                if (!get && (is(s2, "events") || is(s2, "logs") || is(s2, "metrics")))
                        return method_not_allowed(conn, "GET, HEAD");
                if (is(s2, "events"))
                        return api_events_stream(api, conn, r, s1);
                if (is(s2, "logs"))
                        return api_logs_stream(api, conn, r, s1);
                if (is(s2, "metrics"))
                        return api_metrics_stream(api, conn, r, s1);
                goto not_found;
        }
        if (is(s0, "openapi.json") && s1 == NULL)
                return get ? reply_openapi(conn) : method_not_allowed(conn, "GET, HEAD");
        if (is(s0, "cost") && s1 == NULL)
                return get ? api_cost(api, conn, r) : method_not_allowed(conn, "GET, HEAD");
        if (!is(s0, "jobs"))
                goto not_found;
        if (s1 == NULL)
                return get ? api_jobs_list(api, conn, r) : method_not_allowed(conn, "GET, HEAD");
        if (is(s1, "stream") && s2 == NULL)
                return get ? api_jobs_stream(api, conn, r) : method_not_allowed(conn, "GET, HEAD");
        if (s2 == NULL)
                return get ? api_job_get(api, conn, r, s1) : method_not_allowed(conn, "GET, HEAD");
        if (is(s2, "cancel"))
                return post ? api_job_cancel(api, conn, r, s1) : method_not_allowed(conn, "POST");
        if (is(s2, "resume"))
                return post ? api_job_resume(api, conn, r, s1) : method_not_allowed(conn, "POST");
        if (!get && (is(s2, "events") || is(s2, "logs") || is(s2, "metrics")))
                return method_not_allowed(conn, "GET, HEAD");
        if (is(s2, "events"))
                return api_job_events(api, conn, r, s1);
        if (is(s2, "logs"))
                return api_job_logs(api, conn, r, s1);
        if (is(s2, "metrics"))
                return api_job_metrics(api, conn, r, s1);
not_found:
        return api_reply_error(conn, MHD_HTTP_NOT_FOUND, "not_found",
                               "no API route '%.200s' (the routes: GET /api/v1/openapi.json)",
                               path);
}

enum MHD_Result api_handle(struct api_service *api, struct MHD_Connection *conn, const char *url,
                           const char *method, const char *upload_data, size_t *upload_data_size,
                           void **req_cls)
{
        struct api_req *r = *req_cls;
        const char *auth;

        if (r == NULL) {
                *req_cls = xzalloc(sizeof *r);
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                if (r->body_len + *upload_data_size > API_MAX_BODY) {
                        r->too_big = true;
                } else {
                        r->body = xrealloc(r->body, r->body_len + *upload_data_size + 1);
                        memcpy(r->body + r->body_len, upload_data, *upload_data_size);
                        r->body_len += *upload_data_size;
                        r->body[r->body_len] = '\0';
                }
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (r->acting)
                return api_act_reply(conn, r);
        auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        if (!apitoken_check(api->token, auth))
                return api_reply_error(conn, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                                       "%s; send 'Authorization: Bearer <token>' with the token "
                                       "that 'hoist serve --print-token' prints",
                                       auth == NULL ? "no API token" : "wrong API token");
        if (r->too_big)
                return api_reply_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
                                       "the request body is over %u bytes", API_MAX_BODY);
        if (strncmp(url, "/api/v1/", 8) != 0)
                return api_reply_error(conn, MHD_HTTP_NOT_FOUND, "not_found",
                                       "no API route '%.200s' (this server speaks /api/v1/)", url);
        return route(api, conn, r, url + 8, method);
}

void api_request_done(void **req_cls)
{
        struct api_req *r = *req_cls;

        if (r == NULL)
                return;
        apiquery_release(&r->q);
        free(r->body);
        free(r->reply_text);
        free(r);
        *req_cls = NULL;
}
