/* SPDX-License-Identifier: MIT */
#include "runner/serve/hooks.h"
#include "runner/serve/hooks_replicate.h"
#include "runner/serve/ingest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "runner/serve/stream.h"
#include "runner/control/store.h"
#include "webhook.h"
#include "xalloc.h"

/* An event body is small JSON (a job.log event carries at most ~32 KiB of
 * lines); anything far larger is not one. */
#define MAX_BODY (1u << 20)

struct hooks_service {
        struct webhook_key key;
        char *db_path;
        struct hooks_cidr *nets;
        size_t n_nets;
        struct ingest *ingest; /* group commit of the events */
        struct hooks_replicate *replicate;
};

struct hooks_req {
        struct buf body;
        int replicate; /* POST /api/webhooks/replicate */
        int too_big;
        int refused; /* answered before the body */
};

int hooks_secret_load(const char *serve_dir, char **ret_secret, struct hoist_error **err)
{
        _cleanup_free_ char *path = path_join(serve_dir, HOOKS_SECRET_FILE);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        struct webhook_key k;

        if (fs_exists(path)) {
                if (fs_read_file(path, &text, &len, err) < 0)
                        return hoist_error_wrap(err, "webhook secret");
                while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
                        text[--len] = '\0';
                if (webhook_key_parse(text, path, &k, err) < 0)
                        return hoist_error_wrap(err, "delete it to make a new one");
                explicit_bzero(&k, sizeof k);
                *ret_secret = TAKE_PTR(text);
                return 0;
        }
        if (fs_mkdir_p(serve_dir, 0700, err) < 0 || webhook_secret_generate(&text, err) < 0)
                return -1;
        if (fs_write_file_atomic(path, text, strlen(text), 0600, err) < 0)
                return hoist_error_wrap(err, "webhook secret");
        *ret_secret = TAKE_PTR(text);
        return 0;
}

int hooks_cidr_parse(const char *s, struct hooks_cidr *ret, struct hoist_error **err)
{
        const char *slash = strchr(s, '/');
        _cleanup_free_ char *addr = xstrndup(s, slash ? (size_t)(slash - s) : strlen(s));
        struct in_addr a;
        unsigned long bits = 32;
        char *end = NULL;

        if (inet_pton(AF_INET, addr, &a) != 1)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "--webhook-allow '%s': expected an IPv4 network such as "
                                        "10.0.0.0/8 or 127.0.0.1",
                                        s);
        if (slash != NULL) {
                errno = 0;
                bits = strtoul(slash + 1, &end, 10);
                if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || errno != 0 || bits > 32)
                        return hoist_error_make(err, HOIST_ERR_USAGE,
                                                "--webhook-allow '%s': the prefix length must be "
                                                "0-32",
                                                s);
        }
        ret->mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
        ret->addr = ntohl(a.s_addr) & ret->mask;
        return 0;
}

int hooks_cidr_match(const struct hooks_cidr *nets, size_t n, uint32_t addr)
{
        for (size_t i = 0; i < n; i++)
                if ((addr & nets[i].mask) == nets[i].addr)
                        return 1;
        return 0;
}

static const char *opt_string(json_t *obj, const char *key)
{
        json_t *v = json_object_get(obj, key);
        return json_is_string(v) ? json_string_value(v) : NULL;
}

/* hoist-entrypoint names each event "<job id>.<attempt>.<node>.<seq>"
 * (entrypoint/events.c); another sender's ids carry no attempt: 0. */
static int64_t id_attempt(const char *id, const char *job_id)
{
        size_t n = strlen(job_id);
        char *end;
        long long a;

        if (strncmp(id, job_id, n) != 0 || id[n] != '.' || id[n + 1] < '1' || id[n + 1] > '9')
                return 0;
        errno = 0;
        a = strtoll(id + n + 1, &end, 10);
        return errno == 0 && *end == '.' ? (int64_t)a : 0;
}

int hooks_event_parse(const char *body, size_t len, const char *header_id, struct hooks_event *ret,
                      struct hoist_error **err)
{
        json_error_t je;
        json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
        json_t *data, *code;
        struct hooks_event e = {.root = root, .exit_code = -1};

        if (root == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "event body: line %d column %d: %s",
                                        je.line, je.column, je.text);
        if (!json_is_object(root)) {
                hooks_event_release(&e);
                return hoist_error_make(err, HOIST_ERR_INPUT, "event body is not a JSON object");
        }
        e.id = opt_string(root, "id");
        e.type = opt_string(root, "type");
        e.job_id = opt_string(root, "job_id");
        e.node = opt_string(root, "node");
        e.status = opt_string(root, "status");
        if (e.id == NULL || e.type == NULL || e.job_id == NULL) {
                hooks_event_release(&e);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "event body needs string fields id, type and job_id");
        }
        if (header_id == NULL || strcmp(e.id, header_id) != 0) {
                hooks_event_release(&e);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "event id differs from the webhook-id header");
        }
        data = json_object_get(root, "data");
        code = json_object_get(data, "exit_code");
        if (json_is_integer(code) && json_integer_value(code) >= 0 &&
            json_integer_value(code) <= 255)
                e.exit_code = (int)json_integer_value(code);
        e.reason = opt_string(data, "reason");
        e.attempt = id_attempt(e.id, e.job_id);
        *ret = e;
        return 0;
}

void hooks_event_release(struct hooks_event *e)
{
        json_decref(e->root);
        e->root = NULL;
}

int hooks_service_new(const char *secret, const char *db_path, const struct hooks_cidr *nets,
                      size_t n, struct hooks_service **ret, struct hoist_error **err)
{
        struct hooks_service *svc = xzalloc(sizeof *svc);

        if (webhook_key_parse(secret, "the serve's webhook secret", &svc->key, err) < 0) {
                free(svc);
                return -1;
        }
        if (ingest_start(db_path, &svc->ingest, err) < 0) {
                free(svc);
                return -1;
        }
        svc->db_path = xstrdup(db_path);
        svc->replicate = hooks_replicate_new();
        if (n > 0) {
                svc->nets = xcalloc(n, sizeof *nets);
                memcpy(svc->nets, nets, n * sizeof *nets);
                svc->n_nets = n;
        }
        *ret = svc;
        return 0;
}

void hooks_service_free(struct hooks_service *svc)
{
        if (svc == NULL)
                return;
        explicit_bzero(&svc->key, sizeof svc->key);
        ingest_stop(svc->ingest);
        hooks_replicate_free(svc->replicate);
        free(svc->db_path);
        free(svc->nets);
        free(svc);
}

enum MHD_Result hooks_reply(struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
{
        json_auto_t *j = json_object();
        _cleanup_free_ char *msg = NULL;
        char *text;
        struct MHD_Response *resp;
        enum MHD_Result r;
        va_list ap;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        (void)json_object_set_new(j, "ok", json_boolean(status >= 200 && status < 300));
        (void)json_object_set_new(j, "message", json_string(msg));
        text = json_dumps(j, JSON_COMPACT);
        if (text == NULL)
                text = xstrdup("{}");
        resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        if (resp == NULL) {
                free(text);
                return MHD_NO;
        }
        (void)MHD_add_response_header(resp, "Content-Type", "application/json");
        r = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return r;
}

static int source_allowed(const struct hooks_service *svc, struct MHD_Connection *conn)
{
        const union MHD_ConnectionInfo *ci;
        const struct sockaddr *sa;

        if (svc->n_nets == 0)
                return 1;
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci == NULL || ci->client_addr == NULL)
                return 0;
        sa = ci->client_addr;
        if (sa->sa_family != AF_INET)
                return 0;
        return hooks_cidr_match(
                svc->nets, svc->n_nets,
                ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr));
}

static enum MHD_Result apply(struct hooks_service *svc, struct MHD_Connection *conn,
                             const struct hooks_event *e, const char *body)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        struct store_event se = {
                .id = e->id,
                .job_id = e->job_id,
                .type = e->type,
                .node = e->node,
                .status = e->status,
                .body = body,
                .exit_code = e->exit_code,
                .attempt = e->attempt,
                .reason = e->reason,
        };
        int r;

        r = ingest_apply(svc->ingest, &se, &err);
        if (r < 0 && err->code == HOIST_ERR_NOT_FOUND)
                return hooks_reply(conn, MHD_HTTP_NOT_FOUND, "no job '%s' here", e->job_id);
        if (r < 0) {
                log_warn("serve: hooks: event '%s': %s", e->id, err->msg);
                return hooks_reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "cannot record the event");
        }
        log_debug("serve: hooks: %s %s for job %s%s", e->type, e->id, e->job_id,
                  r == 0 ? " (duplicate)" : "");
        /* The API's streams of this job have news. */
        if (r > 0)
                serve_stream_wake();
        return hooks_reply(conn, MHD_HTTP_OK, r == 0 ? "duplicate" : "recorded");
}

static enum MHD_Result finish(struct hooks_service *svc, struct MHD_Connection *conn,
                              struct hooks_req *q)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        const char *id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "webhook-id");
        const char *ts = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "webhook-timestamp");
        const char *sig = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "webhook-signature");
        struct hooks_event e = {0};
        enum MHD_Result r;

        if (q->too_big)
                return hooks_reply(conn, MHD_HTTP_CONTENT_TOO_LARGE, "event body over %u bytes",
                                   MAX_BODY);
        buf_append_char(&q->body, '\0');
        if (q->replicate)
                return hooks_replicate_finish(svc->replicate, svc->ingest, conn, q->body.data,
                                              q->body.len - 1);
        if (webhook_verify(&svc->key, id, ts, sig, q->body.data, q->body.len - 1,
                           (int64_t)time(NULL), &err) < 0)
                return hooks_reply(conn, MHD_HTTP_UNAUTHORIZED, "%s", err->msg);
        if (hooks_event_parse(q->body.data, q->body.len - 1, id, &e, &err) < 0)
                return hooks_reply(conn, MHD_HTTP_BAD_REQUEST, "%s", err->msg);
        r = apply(svc, conn, &e, q->body.data);
        hooks_event_release(&e);
        return r;
}

enum MHD_Result hooks_handle(struct hooks_service *svc, struct MHD_Connection *conn,
                             const char *url, const char *method, const char *upload_data,
                             size_t *upload_data_size, void **req_cls)
{
        struct hooks_req *q = *req_cls;

        if (q == NULL) {
                q = xzalloc(sizeof *q);
                *req_cls = q;
                if (svc == NULL) {
                        q->refused = 1;
                        return hooks_reply(conn, MHD_HTTP_NOT_FOUND, "no webhook receiver here");
                }
                if (!source_allowed(svc, conn)) {
                        q->refused = 1;
                        return hooks_reply(conn, MHD_HTTP_FORBIDDEN,
                                           "source address not allowed (--webhook-allow)");
                }
                q->replicate = strcmp(url, HOOKS_REPLICATE_PATH) == 0;
                if (strcmp(url, "/hooks/events") != 0 && !q->replicate) {
                        q->refused = 1;
                        return hooks_reply(
                                conn, MHD_HTTP_NOT_FOUND,
                                "no such hook; POST /hooks/events or " HOOKS_REPLICATE_PATH);
                }
                if (strcmp(method, "POST") != 0) {
                        q->refused = 1;
                        return hooks_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "POST events here");
                }
                return MHD_YES;
        }
        if (q->refused) {
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                if (q->body.len + *upload_data_size > MAX_BODY)
                        q->too_big = 1;
                else
                        buf_append(&q->body, upload_data, *upload_data_size);
                *upload_data_size = 0;
                return MHD_YES;
        }
        return finish(svc, conn, q);
}

void hooks_request_done(void **req_cls)
{
        struct hooks_req *q = *req_cls;

        if (q == NULL)
                return;
        buf_free(&q->body);
        free(q);
        *req_cls = NULL;
}
