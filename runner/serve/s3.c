/* SPDX-License-Identifier: MIT */
/*
 * The dispatcher: the first call of the access handler for a request parses
 * and authenticates it, routes it to an operation and checks the key's scope
 * (answering at once on failure, before any body is read); the calls that
 * follow stream the body to a file (PutObject, UploadPart) or to memory
 * (small XML bodies), hashing it; the last call runs the operation.
 */
#include "runner/serve/s3.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "cleanup.h"
#include "log.h"
#include "runner/serve/s3req.h"
#include "s3xml.h"
#include "xalloc.h"

#define SMALL_BODY_MAX (64u << 10)
#define XML_BODY_MAX (4u << 20)
#define PUT_MAX ((uint64_t)5 << 30)

struct s3_service *s3_service_new(struct objstore *os, struct serve_keys *keys)
{
        struct s3_service *svc = xzalloc(sizeof *svc);

        svc->os = os;
        svc->keys = keys;
        return svc;
}

void s3_service_free(struct s3_service *svc)
{
        free(svc);
}

/* ---- helpers shared with the operations ---- */

const char *s3_header(const struct s3_req *r, const char *name)
{
        for (size_t i = 0; i < r->n_headers; i++)
                if (strcasecmp(r->headers[i].name, name) == 0)
                        return r->headers[i].value;
        return NULL;
}

const char *s3_param(const struct s3_req *r, const char *name)
{
        for (size_t i = 0; i < r->n_params; i++)
                if (strcmp(r->params[i].name, name) == 0)
                        return r->params[i].value;
        return NULL;
}

bool s3_has_param(const struct s3_req *r, const char *name)
{
        return s3_param(r, name) != NULL;
}

void s3_time_iso(int64_t t, char out[32])
{
        time_t tt = (time_t)t;
        struct tm tm;

        if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm) == 0)
                (void)snprintf(out, 32, "1970-01-01T00:00:00.000Z");
}

void s3_time_http(int64_t t, char out[40])
{
        time_t tt = (time_t)t;
        struct tm tm;

        if (gmtime_r(&tt, &tm) == NULL || strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
                (void)snprintf(out, 40, "Thu, 01 Jan 1970 00:00:00 GMT");
}

void s3_xml_begin(struct buf *b, const char *root)
{
        buf_printf(b,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<%s xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
                   root);
}

enum MHD_Result s3_reply(struct s3_req *r, unsigned status, struct MHD_Response *resp)
{
        enum MHD_Result ret;

        if (resp == NULL)
                return MHD_NO;
        (void)MHD_add_response_header(resp, "x-amz-request-id", r->id);
        (void)MHD_add_response_header(resp, "Server", "hoist");
        ret = MHD_queue_response(r->conn, status, resp);
        r->replied = true;
        MHD_destroy_response(resp);
        log_debug("serve: %s %s -> %u (%s)", r->method, r->path, status,
                  r->who.access_key != NULL ? r->who.access_key : "anonymous");
        return ret;
}

enum MHD_Result s3_reply_xml(struct s3_req *r, unsigned status, struct buf *xml)
{
        size_t len = xml->len;
        char *data = buf_take(xml);
        struct MHD_Response *resp =
                MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);

        if (resp == NULL) {
                free(data);
                return MHD_NO;
        }
        (void)MHD_add_response_header(resp, "Content-Type", "application/xml");
        return s3_reply(r, status, resp);
}

enum MHD_Result s3_reply_empty(struct s3_req *r, unsigned status, const char *etag)
{
        struct MHD_Response *resp =
                MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);

        if (resp != NULL && etag != NULL)
                (void)MHD_add_response_header(resp, "ETag", etag);
        return s3_reply(r, status, resp);
}

enum MHD_Result s3_reply_error(struct s3_req *r, enum s3err e, const char *message)
{
        _cleanup_buf_ struct buf b = {0};
        _cleanup_free_ char *resource = NULL;

        if (r->bucket == NULL)
                resource = xstrdup("/");
        else
                resource = xasprintf("/%s%s%s", r->bucket, r->key != NULL ? "/" : "",
                                     r->key != NULL ? r->key : "");
        s3err_xml(&b, e, message, resource, r->id);
        if (e == S3ERR_INTERNAL)
                log_warn("serve: %s %s: %s", r->method, r->path,
                         message != NULL ? message : "internal error");
        return s3_reply_xml(r, s3err_status(e), &b);
}

/* Answers the error of a failed storage call: internal details go to the
 * log, the client gets S3's message for the code. */
enum MHD_Result s3_reply_rc(struct s3_req *r, int rc, struct hoist_error *err)
{
        enum s3err e = s3err_from_rc(rc);
        enum MHD_Result ret;

        if (e == S3ERR_INTERNAL) {
                log_warn("serve: %s %s: %s", r->method, r->path,
                         err != NULL ? err->msg : "internal error");
                ret = s3_reply_error(r, e, NULL);
        } else {
                ret = s3_reply_error(r, e, err != NULL && e != S3ERR_NO_SUCH_KEY ? err->msg : NULL);
        }
        hoist_error_free(err);
        return ret;
}

/* ---- request state ---- */

static void req_free(struct s3_req *r)
{
        if (r == NULL)
                return;
        free(r->method);
        free(r->path);
        free(r->query);
        free(r->bucket);
        free(r->key);
        for (size_t i = 0; i < r->n_headers; i++) {
                free((char *)r->headers[i].name);
                free((char *)r->headers[i].value);
        }
        free(r->headers);
        for (size_t i = 0; i < r->n_params; i++) {
                free(r->params[i].name);
                free(r->params[i].value);
        }
        free(r->params);
        serve_key_clear(&r->who);
        s3auth_request_clear(&r->auth);
        objstore_writer_free(r->writer);
        buf_free(&r->body);
        digest_free(r->body_sha);
        free(r->pending_msg);
        free(r);
}

void s3_request_done(void *cls, struct MHD_Connection *conn, void **req_cls,
                     enum MHD_RequestTerminationCode toe)
{
        (void)cls;
        (void)conn;
        (void)toe;
        req_free(*req_cls);
        *req_cls = NULL;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
        struct s3_req *r = cls;

        (void)kind;
        r->headers = xreallocarray(r->headers, r->n_headers + 1, sizeof *r->headers);
        r->headers[r->n_headers].name = xstrdup(key);
        r->headers[r->n_headers].value = xstrdup(value != NULL ? value : "");
        r->n_headers++;
        return MHD_YES;
}

/* MHD hands us query arguments as sent (the daemon's unescape callback does
 * nothing) except that '+' became ' '; a raw space cannot be in a request
 * line, so turning it back gives the bytes that were signed. */
static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
        struct buf *q = cls;

        (void)kind;
        if (q->len > 0)
                buf_append_char(q, '&');
        for (const char *p = key; *p != '\0'; p++)
                buf_append_char(q, *p == ' ' ? '+' : *p);
        if (value != NULL) {
                buf_append_char(q, '=');
                for (const char *p = value; *p != '\0'; p++)
                        buf_append_char(q, *p == ' ' ? '+' : *p);
        }
        return MHD_YES;
}

/* Splits the raw path into bucket and key and the raw query into decoded
 * parameters. */
static int req_parse_target(struct s3_req *r, struct hoist_error **err)
{
        const char *p = r->path, *slash;

        if (p[0] != '/')
                return s3err_fail(err, S3ERR_INVALID_REQUEST, "the path must start with '/'");
        p++;
        slash = strchr(p, '/');
        if (*p != '\0') {
                r->bucket = s3auth_uri_decode(p, slash != NULL ? (size_t)(slash - p) : strlen(p));
                if (r->bucket == NULL)
                        return s3err_fail(err, S3ERR_INVALID_ARGUMENT,
                                          "the bucket name is badly "
                                          "encoded");
        }
        if (slash != NULL && slash[1] != '\0') {
                r->key = s3auth_uri_decode(slash + 1, strlen(slash + 1));
                if (r->key == NULL)
                        return s3err_fail(err, S3ERR_INVALID_ARGUMENT,
                                          "the object key is badly encoded or holds a NUL");
        }
        for (const char *s = r->query; *s != '\0';) {
                const char *end = strchrnul(s, '&');
                const char *eq = memchr(s, '=', (size_t)(end - s));
                char *k = s3auth_uri_decode(s, (size_t)((eq != NULL ? eq : end) - s));
                char *v = eq != NULL ? s3auth_uri_decode(eq + 1, (size_t)(end - eq - 1))
                                     : xstrdup("");
                if (k == NULL || v == NULL) {
                        free(k);
                        free(v);
                        return s3err_fail(err, S3ERR_INVALID_ARGUMENT,
                                          "a query parameter is badly encoded");
                }
                r->params = xreallocarray(r->params, r->n_params + 1, sizeof *r->params);
                r->params[r->n_params++] = (struct s3_param){k, v};
                s = *end == '&' ? end + 1 : end;
        }
        return 0;
}

static int req_authenticate(struct s3_req *r, struct hoist_error **err)
{
        struct s3auth_input in = {.method = r->method,
                                  .path = r->path,
                                  .query = r->query,
                                  .headers = r->headers,
                                  .n_headers = r->n_headers};
        time_t now = time(NULL);
        int rc = s3auth_parse(&in, &r->auth, err);

        if (rc < 0)
                return rc;
        if (r->auth.kind == S3AUTH_ANONYMOUS)
                return s3err_fail(err, S3ERR_ACCESS_DENIED,
                                  "Access Denied (this endpoint needs signed requests)");
        rc = serve_keys_lookup(r->svc->keys, r->auth.access_key_id, now, &r->who, err);
        if (rc < 0)
                return rc;
        rc = s3auth_verify(&in, &r->auth, r->who.secret_key, now, err);
        if (rc < 0)
                return rc;
        if (r->auth.payload == S3AUTH_PAYLOAD_STREAMING)
                return s3err_fail(err, S3ERR_NOT_IMPLEMENTED,
                                  "aws-chunked uploads (x-amz-content-sha256: STREAMING-...) are "
                                  "not supported; sign the payload or send UNSIGNED-PAYLOAD");
        return 0;
}

static const char *const unsupported_subresources[] = {
        "acl",
        "policy",
        "cors",
        "lifecycle",
        "versioning",
        "tagging",
        "website",
        "logging",
        "torrent",
        "encryption",
        "versions",
        "replication",
        "object-lock",
        "notification",
        "accelerate",
        "requestPayment",
        "ownershipControls",
        "retention",
        "legal-hold",
        "restore",
        "select",
        "uploadId-marker-unused",
};

static int req_route(struct s3_req *r, struct hoist_error **err)
{
        const char *m = r->method;
        bool get = strcmp(m, "GET") == 0, head = strcmp(m, "HEAD") == 0;
        bool put = strcmp(m, "PUT") == 0, post = strcmp(m, "POST") == 0;
        bool del = strcmp(m, "DELETE") == 0;

        for (size_t i = 0; i < sizeof unsupported_subresources / sizeof unsupported_subresources[0];
             i++)
                if (s3_has_param(r, unsupported_subresources[i]))
                        return s3err_fail(err, S3ERR_NOT_IMPLEMENTED,
                                          "the '%s' subresource is not supported",
                                          unsupported_subresources[i]);
        if (r->bucket == NULL) {
                if (get)
                        return OP_LIST_BUCKETS;
        } else if (r->key == NULL) {
                if (put)
                        return OP_CREATE_BUCKET;
                if (del)
                        return OP_DELETE_BUCKET;
                if (head)
                        return OP_HEAD_BUCKET;
                if (get && s3_has_param(r, "location"))
                        return OP_GET_LOCATION;
                if (get && s3_has_param(r, "uploads"))
                        return OP_LIST_UPLOADS;
                if (get)
                        return OP_LIST_OBJECTS;
                if (post && s3_has_param(r, "delete"))
                        return OP_DELETE_OBJECTS;
        } else {
                bool upload = s3_has_param(r, "uploadId");
                if (put && upload && s3_has_param(r, "partNumber"))
                        return OP_UPLOAD_PART;
                if (put && s3_header(r, "x-amz-copy-source") != NULL)
                        return OP_COPY_OBJECT;
                if (put)
                        return OP_PUT_OBJECT;
                if (get && upload)
                        return OP_LIST_PARTS;
                if (get)
                        return OP_GET_OBJECT;
                if (head)
                        return OP_HEAD_OBJECT;
                if (del && upload)
                        return OP_ABORT_UPLOAD;
                if (del)
                        return OP_DELETE_OBJECT;
                if (post && s3_has_param(r, "uploads"))
                        return OP_CREATE_UPLOAD;
                if (post && upload)
                        return OP_COMPLETE_UPLOAD;
        }
        return s3err_fail(err, S3ERR_METHOD_NOT_ALLOWED,
                          "The specified method is not allowed against this resource.");
}

static int req_authorize(struct s3_req *r, struct hoist_error **err)
{
        enum serve_access a;
        const char *name = r->key;

        switch (r->op) {
        case OP_LIST_BUCKETS:
        case OP_CREATE_BUCKET:
        case OP_DELETE_BUCKET:
        case OP_LIST_UPLOADS:
                a = SERVE_ACCESS_ADMIN;
                break;
        case OP_HEAD_BUCKET:
        case OP_GET_LOCATION:
                a = SERVE_ACCESS_BUCKET_READ;
                break;
        case OP_LIST_OBJECTS:
                a = SERVE_ACCESS_LIST;
                name = s3_param(r, "prefix");
                break;
        case OP_GET_OBJECT:
        case OP_HEAD_OBJECT:
                a = SERVE_ACCESS_READ;
                break;
        case OP_DELETE_OBJECTS: /* checked per key */
                a = SERVE_ACCESS_BUCKET_READ;
                break;
        default:
                a = SERVE_ACCESS_WRITE;
                break;
        }
        if (!serve_key_allows(&r->who, a, r->bucket, name != NULL ? name : ""))
                return s3err_fail(err, S3ERR_ACCESS_DENIED, "Access Denied");
        return 0;
}

/* Sets up where the body goes. */
static int req_open_body(struct s3_req *r, struct hoist_error **err)
{
        const char *cl = s3_header(r, "content-length");
        uint64_t len = cl != NULL ? strtoull(cl, NULL, 10) : 0;

        switch (r->op) {
        case OP_PUT_OBJECT:
                if (len > PUT_MAX)
                        return s3err_fail(err, S3ERR_ENTITY_TOO_LARGE,
                                          "a single PUT takes at most 5 GiB; use a multipart "
                                          "upload");
                return objstore_writer_object(r->svc->os, r->bucket, r->key,
                                              s3_header(r, "content-type"), &r->writer, err);
        case OP_UPLOAD_PART: {
                char *end = NULL;
                const char *pn = s3_param(r, "partNumber");
                unsigned long part = strtoul(pn, &end, 10);
                if (pn[0] < '0' || pn[0] > '9' || *end != '\0' || part > OBJSTORE_MAX_PARTS)
                        part = 0;
                if (len > PUT_MAX)
                        return s3err_fail(err, S3ERR_ENTITY_TOO_LARGE, "a part is at most 5 GiB");
                return objstore_writer_part(r->svc->os, r->bucket, s3_param(r, "uploadId"), r->key,
                                            (unsigned)part, &r->writer, err);
        }
        case OP_COMPLETE_UPLOAD:
        case OP_DELETE_OBJECTS:
        case OP_CREATE_BUCKET:
                r->body_max = XML_BODY_MAX;
                break;
        default:
                r->body_max = SMALL_BODY_MAX;
                break;
        }
        if (len > r->body_max)
                return s3err_fail(err, S3ERR_ENTITY_TOO_LARGE, "the request body is too large");
        r->body_sha = digest_new();
        return 0;
}

static void req_set_pending(struct s3_req *r, int rc, struct hoist_error *err)
{
        if (r->pending == S3ERR_NONE) {
                r->pending = s3err_from_rc(rc);
                r->pending_msg = err != NULL ? xstrdup(err->msg) : NULL;
        }
        hoist_error_free(err);
}

static void req_body_chunk(struct s3_req *r, const char *data, size_t len)
{
        struct hoist_error *err = NULL;
        int rc;

        if (r->pending != S3ERR_NONE)
                return; /* discard the rest */
        if (r->writer != NULL) {
                rc = objstore_writer_write(r->writer, data, len, &err);
                if (rc < 0)
                        req_set_pending(r, rc, err);
                return;
        }
        if (r->body.len + len > r->body_max) {
                req_set_pending(r, -S3ERR_ENTITY_TOO_LARGE, NULL);
                return;
        }
        buf_append(&r->body, data, len);
        digest_update(r->body_sha, data, len);
}

static enum MHD_Result req_start(struct s3_req *r)
{
        struct hoist_error *err = NULL;
        int rc;

        rc = req_parse_target(r, &err);
        if (rc >= 0)
                rc = req_authenticate(r, &err);
        if (rc >= 0) {
                rc = req_route(r, &err);
                if (rc >= 0)
                        r->op = (enum s3_op)rc;
        }
        if (rc >= 0)
                rc = req_authorize(r, &err);
        if (rc >= 0)
                rc = req_open_body(r, &err);
        if (rc < 0)
                return s3_reply_rc(r, rc, err);
        return MHD_YES;
}

static enum MHD_Result simple_bucket_op(struct s3_req *r)
{
        struct hoist_error *err = NULL;
        struct objstore *os = r->svc->os;
        int rc = 0;

        switch (r->op) {
        case OP_CREATE_BUCKET:
                rc = objstore_bucket_create(os, r->bucket, &err);
                if (rc >= 0) {
                        struct MHD_Response *resp = MHD_create_response_from_buffer(
                                0, (void *)"", MHD_RESPMEM_PERSISTENT);
                        _cleanup_free_ char *loc = xasprintf("/%s", r->bucket);
                        if (resp != NULL)
                                (void)MHD_add_response_header(resp, "Location", loc);
                        return s3_reply(r, 200, resp);
                }
                break;
        case OP_DELETE_BUCKET:
                rc = objstore_bucket_delete(os, r->bucket, &err);
                if (rc >= 0)
                        return s3_reply_empty(r, 204, NULL);
                break;
        case OP_HEAD_BUCKET:
                rc = objstore_bucket_check(os, r->bucket, &err);
                if (rc >= 0)
                        return s3_reply_empty(r, 200, NULL);
                break;
        case OP_GET_LOCATION:
                rc = objstore_bucket_check(os, r->bucket, &err);
                if (rc >= 0) {
                        _cleanup_buf_ struct buf b = {0};
                        buf_append_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                           "<LocationConstraint xmlns=\"http://s3.amazonaws.com/"
                                           "doc/2006-03-01/\"></LocationConstraint>");
                        return s3_reply_xml(r, 200, &b);
                }
                break;
        case OP_DELETE_OBJECT:
                rc = objstore_object_delete(os, r->bucket, r->key, &err);
                if (rc >= 0)
                        return s3_reply_empty(r, 204, NULL);
                break;
        case OP_ABORT_UPLOAD:
                rc = objstore_upload_abort(os, r->bucket, s3_param(r, "uploadId"), r->key, &err);
                if (rc >= 0)
                        return s3_reply_empty(r, 204, NULL);
                break;
        default:
                return s3_reply_error(r, S3ERR_INTERNAL, "unrouted operation");
        }
        return s3_reply_rc(r, rc, err);
}

static enum MHD_Result req_finish(struct s3_req *r)
{
        if (r->pending != S3ERR_NONE)
                return s3_reply_error(r, r->pending,
                                      r->pending == S3ERR_INTERNAL ? NULL : r->pending_msg);
        if (r->writer == NULL && r->auth.payload == S3AUTH_PAYLOAD_HASH) {
                char hex[DIGEST_HEX_LEN + 1];
                digest_final_hex(r->body_sha, hex);
                r->body_sha = NULL;
                if (strcmp(hex, r->auth.payload_hash) != 0)
                        return s3_reply_error(r, S3ERR_CONTENT_SHA256_MISMATCH, NULL);
        }
        switch (r->op) {
        case OP_LIST_BUCKETS:
                return s3op_list_buckets(r);
        case OP_LIST_OBJECTS:
                return s3op_list_objects(r);
        case OP_LIST_UPLOADS:
                return s3op_list_uploads(r);
        case OP_LIST_PARTS:
                return s3op_list_parts(r);
        case OP_GET_OBJECT:
                return s3op_get_object(r, false);
        case OP_HEAD_OBJECT:
                return s3op_get_object(r, true);
        case OP_PUT_OBJECT:
                return s3op_put_object(r);
        case OP_COPY_OBJECT:
                return s3op_copy_object(r);
        case OP_UPLOAD_PART:
                return s3op_upload_part(r);
        case OP_CREATE_UPLOAD:
                return s3op_create_upload(r);
        case OP_COMPLETE_UPLOAD:
                return s3op_complete_upload(r);
        case OP_DELETE_OBJECTS:
                return s3op_delete_objects(r);
        default:
                return simple_bucket_op(r);
        }
}

static struct s3_req *req_new(struct s3_service *svc, struct MHD_Connection *conn, const char *url,
                              const char *method)
{
        static atomic_uint_fast64_t counter;
        struct s3_req *r = xzalloc(sizeof *r);
        struct buf q = {0};
        uint32_t salt = 0;

        r->svc = svc;
        r->conn = conn;
        r->method = xstrdup(method);
        r->path = xstrdup(url);
        if (getrandom(&salt, sizeof salt, GRND_NONBLOCK) != sizeof salt)
                salt = (uint32_t)time(NULL);
        (void)snprintf(r->id, sizeof r->id, "%08X%08X", salt,
                       (unsigned)atomic_fetch_add(&counter, 1));
        (void)MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, r);
        (void)MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &q);
        buf_append_str(&q, "");
        r->query = buf_take(&q);
        return r;
}

enum MHD_Result s3_handle(void *cls, struct MHD_Connection *conn, const char *url,
                          const char *method, const char *version, const char *upload_data,
                          size_t *upload_data_size, void **req_cls)
{
        struct s3_req *r = *req_cls;

        (void)version;
        if (r == NULL) {
                r = req_new(cls, conn, url, method);
                *req_cls = r;
                return req_start(r);
        }
        if (r->replied) { /* refused before its body: drop the body */
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                req_body_chunk(r, upload_data, *upload_data_size);
                *upload_data_size = 0;
                return MHD_YES;
        }
        return req_finish(r);
}
