/* SPDX-License-Identifier: MIT */
/* The object operations of the S3 endpoint: get/head (with Range), put,
 * copy, multipart, and multi-object delete. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "runner/serve/s3req.h"
#include "s3xml.h"
#include "xalloc.h"

#define DEFAULT_CONTENT_TYPE "binary/octet-stream"

/* Parses "bytes=a-b", "bytes=a-", "bytes=-n" against SIZE: 1 and the range
 * when satisfiable, 0 to ignore the header (absent, malformed or several
 * ranges: S3 then sends the whole object), -1 when unsatisfiable. */
static int parse_range(const char *h, uint64_t size, uint64_t *ret_start, uint64_t *ret_end)
{
        uint64_t a = 0, b = 0;
        char *end = NULL;
        const char *p;

        if (h == NULL || strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
                return 0;
        p = h + 6;
        if (*p == '-') {
                if (p[1] < '0' || p[1] > '9')
                        return 0;
                errno = 0;
                b = strtoull(p + 1, &end, 10);
                if (*end != '\0' || errno != 0)
                        return 0;
                if (b == 0 || size == 0)
                        return -1;
                *ret_start = b >= size ? 0 : size - b;
                *ret_end = size - 1;
                return 1;
        }
        if (*p < '0' || *p > '9')
                return 0;
        errno = 0;
        a = strtoull(p, &end, 10);
        if (*end != '-' || errno != 0)
                return 0;
        p = end + 1;
        if (*p == '\0') {
                b = UINT64_MAX;
        } else {
                if (*p < '0' || *p > '9')
                        return 0;
                b = strtoull(p, &end, 10);
                if (*end != '\0' || errno != 0 || b < a)
                        return 0;
        }
        if (a >= size)
                return -1;
        *ret_start = a;
        *ret_end = b >= size ? size - 1 : b;
        return 1;
}

enum MHD_Result s3op_get_object(struct s3_req *r, bool head)
{
        struct hoist_error *err = NULL;
        _cleanup_close_ int fd = -1;
        struct objstore_meta m = {0};
        struct MHD_Response *resp;
        uint64_t start = 0, end = 0, len;
        char date[40], cr[96];
        unsigned status = 200;
        enum MHD_Result ret;
        int rc, range;

        rc = objstore_object_open(r->svc->os, r->bucket, r->key, &fd, &m, &err);
        if (rc < 0)
                return s3_reply_rc(r, rc, err);
        range = head ? 0 : parse_range(s3_header(r, "range"), m.size, &start, &end);
        if (range < 0) {
                _cleanup_buf_ struct buf b = {0};
                s3err_xml(&b, S3ERR_INVALID_RANGE, NULL, r->key, r->id);
                resp = MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_COPY);
                (void)snprintf(cr, sizeof cr, "bytes */%" PRIu64, m.size);
                if (resp != NULL) {
                        (void)MHD_add_response_header(resp, "Content-Range", cr);
                        (void)MHD_add_response_header(resp, "Content-Type", "application/xml");
                }
                objstore_meta_clear(&m);
                return s3_reply(r, 416, resp);
        }
        if (range > 0) {
                status = 206;
                len = end - start + 1;
                (void)snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start, end,
                               m.size);
        } else {
                len = m.size;
        }
        if (len == 0)
                resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        else
                resp = MHD_create_response_from_fd_at_offset64(
                        len, fd, (int64_t)(OBJSTORE_HEADER_SIZE + start));
        if (resp != NULL && len != 0)
                fd = -1; /* the response owns it now */
        if (resp == NULL) {
                objstore_meta_clear(&m);
                return MHD_NO;
        }
        s3_time_http(m.mtime, date);
        (void)MHD_add_response_header(resp, "ETag", m.etag);
        (void)MHD_add_response_header(resp, "Last-Modified", date);
        (void)MHD_add_response_header(resp, "Accept-Ranges", "bytes");
        (void)MHD_add_response_header(resp, "Content-Type",
                                      m.content_type != NULL ? m.content_type
                                                             : DEFAULT_CONTENT_TYPE);
        if (status == 206)
                (void)MHD_add_response_header(resp, "Content-Range", cr);
        ret = s3_reply(r, status, resp);
        objstore_meta_clear(&m);
        return ret;
}

enum MHD_Result s3op_put_object(struct s3_req *r)
{
        struct hoist_error *err = NULL;
        struct objstore_meta m = {0};
        enum MHD_Result ret;
        int rc = objstore_writer_commit(
                r->writer, r->auth.payload == S3AUTH_PAYLOAD_HASH ? r->auth.payload_hash : NULL,
                s3_header(r, "content-md5"), &m, &err);

        if (rc < 0)
                return s3_reply_rc(r, rc, err);
        ret = s3_reply_empty(r, 200, m.etag);
        objstore_meta_clear(&m);
        return ret;
}

enum MHD_Result s3op_upload_part(struct s3_req *r)
{
        return s3op_put_object(r);
}

/* x-amz-copy-source: "[/]bucket/key", URL-encoded, maybe "?versionId=". */
static int parse_copy_source(const char *src, char **ret_bucket, char **ret_key,
                             struct hoist_error **err)
{
        _cleanup_free_ char *dec = NULL;
        const char *q, *slash;
        size_t n;

        if (*src == '/')
                src++;
        q = strchr(src, '?');
        n = q != NULL ? (size_t)(q - src) : strlen(src);
        dec = s3auth_uri_decode(src, n);
        if (dec == NULL || (slash = strchr(dec, '/')) == NULL || slash[1] == '\0')
                return s3err_fail(err, S3ERR_INVALID_ARGUMENT,
                                  "x-amz-copy-source must be 'bucket/key'");
        *ret_bucket = xstrndup(dec, (size_t)(slash - dec));
        *ret_key = xstrdup(slash + 1);
        return 0;
}

enum MHD_Result s3op_copy_object(struct s3_req *r)
{
        struct hoist_error *err = NULL;
        _cleanup_free_ char *sb = NULL, *sk = NULL;
        _cleanup_close_ int fd = -1;
        struct objstore_meta src = {0}, m = {0};
        struct objstore_writer *w = NULL;
        const char *directive = s3_header(r, "x-amz-metadata-directive");
        const char *ct;
        char date[32];
        _cleanup_buf_ struct buf b = {0};
        off_t off = OBJSTORE_HEADER_SIZE;
        int rc;

        rc = parse_copy_source(s3_header(r, "x-amz-copy-source"), &sb, &sk, &err);
        if (rc < 0)
                return s3_reply_rc(r, rc, err);
        if (!serve_key_allows(&r->who, SERVE_ACCESS_READ, sb, sk))
                return s3_reply_error(r, S3ERR_ACCESS_DENIED, NULL);
        rc = objstore_object_open(r->svc->os, sb, sk, &fd, &src, &err);
        if (rc < 0)
                return s3_reply_rc(r, rc, err);
        ct = directive != NULL && strcmp(directive, "REPLACE") == 0 ? s3_header(r, "content-type")
                                                                    : src.content_type;
        rc = objstore_writer_object(r->svc->os, r->bucket, r->key, ct, &w, &err);
        for (uint64_t left = src.size; rc >= 0 && left > 0;) {
                char chunk[1 << 16];
                ssize_t n = pread(fd, chunk, left < sizeof chunk ? left : sizeof chunk, off);
                if (n <= 0) {
                        (void)hoist_error_errno(&err, "read '%s'", sk);
                        rc = -S3ERR_INTERNAL;
                        break;
                }
                rc = objstore_writer_write(w, chunk, (size_t)n, &err);
                off += n;
                left -= (uint64_t)n;
        }
        if (rc >= 0)
                rc = objstore_writer_commit(w, NULL, NULL, &m, &err);
        objstore_writer_free(w);
        objstore_meta_clear(&src);
        if (rc < 0)
                return s3_reply_rc(r, rc, err);
        s3_time_iso(m.mtime, date);
        s3_xml_begin(&b, "CopyObjectResult");
        s3xml_element(&b, "LastModified", date);
        s3xml_element(&b, "ETag", m.etag);
        buf_append_str(&b, "</CopyObjectResult>\n");
        objstore_meta_clear(&m);
        return s3_reply_xml(r, 200, &b);
}

enum MHD_Result s3op_create_upload(struct s3_req *r)
{
        struct hoist_error *err = NULL;
        char id[OBJSTORE_UPLOAD_ID_LEN + 1];
        _cleanup_buf_ struct buf b = {0};
        int rc = objstore_upload_create(r->svc->os, r->bucket, r->key, s3_header(r, "content-type"),
                                        id, &err);

        if (rc < 0)
                return s3_reply_rc(r, rc, err);
        s3_xml_begin(&b, "InitiateMultipartUploadResult");
        s3xml_element(&b, "Bucket", r->bucket);
        s3xml_element(&b, "Key", r->key);
        s3xml_element(&b, "UploadId", id);
        buf_append_str(&b, "</InitiateMultipartUploadResult>\n");
        return s3_reply_xml(r, 200, &b);
}

/* Reads <CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>... */
static int parse_complete(const struct s3xml_node *root, struct objstore_part **ret, size_t *ret_n,
                          struct hoist_error **err)
{
        struct objstore_part *v = NULL;
        size_t n = 0;

        if (strcmp(root->name, "CompleteMultipartUpload") != 0)
                return s3err_fail(err, S3ERR_MALFORMED_XML,
                                  "the body is not a CompleteMultipartUpload document");
        for (const struct s3xml_node *p = s3xml_next(root, "Part", NULL); p != NULL;
             p = s3xml_next(root, "Part", p)) {
                uint64_t num = 0;
                const char *etag = s3xml_child_text(p, "ETag");
                struct hoist_error *e = NULL;
                if (s3xml_child_u64(p, "PartNumber", &num, &e) < 0 || etag == NULL || num < 1 ||
                    num > OBJSTORE_MAX_PARTS || strlen(etag) >= OBJSTORE_ETAG_SIZE ||
                    n >= OBJSTORE_MAX_PARTS) {
                        hoist_error_free(e);
                        free(v);
                        return s3err_fail(err, S3ERR_MALFORMED_XML,
                                          "each Part needs a PartNumber (1-10000) and an ETag");
                }
                v = xreallocarray(v, n + 1, sizeof *v);
                v[n] = (struct objstore_part){.number = (unsigned)num};
                memcpy(v[n].etag, etag, strlen(etag) + 1);
                n++;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

enum MHD_Result s3op_complete_upload(struct s3_req *r)
{
        struct hoist_error *err = NULL;
        _cleanup_s3xml_ struct s3xml_node *root = NULL;
        _cleanup_free_ struct objstore_part *parts = NULL;
        _cleanup_buf_ struct buf b = {0};
        _cleanup_free_ char *loc = NULL, *enc = NULL;
        struct objstore_meta m = {0};
        const char *host = s3_header(r, "host");
        size_t n = 0;
        int rc;

        if (s3xml_parse(r->body.data != NULL ? r->body.data : "", r->body.len,
                        "CompleteMultipartUpload", &root, &err) < 0) {
                hoist_error_free(err);
                return s3_reply_error(r, S3ERR_MALFORMED_XML, NULL);
        }
        rc = parse_complete(root, &parts, &n, &err);
        if (rc >= 0)
                rc = objstore_upload_complete(r->svc->os, r->bucket, s3_param(r, "uploadId"),
                                              r->key, parts, n, &m, &err);
        if (rc < 0)
                return s3_reply_rc(r, rc, err);
        enc = sigv4_uri_encode_path(r->key);
        loc = xasprintf("http://%s/%s/%s", host != NULL ? host : "localhost", r->bucket, enc);
        s3_xml_begin(&b, "CompleteMultipartUploadResult");
        s3xml_element(&b, "Location", loc);
        s3xml_element(&b, "Bucket", r->bucket);
        s3xml_element(&b, "Key", r->key);
        s3xml_element(&b, "ETag", m.etag);
        buf_append_str(&b, "</CompleteMultipartUploadResult>\n");
        objstore_meta_clear(&m);
        return s3_reply_xml(r, 200, &b);
}

enum MHD_Result s3op_delete_objects(struct s3_req *r)
{
        struct hoist_error *err = NULL;
        _cleanup_s3xml_ struct s3xml_node *root = NULL;
        _cleanup_buf_ struct buf b = {0};
        int quiet = 0;
        size_t n = 0;

        if (s3xml_parse(r->body.data != NULL ? r->body.data : "", r->body.len, "Delete", &root,
                        &err) < 0 ||
            strcmp(root->name, "Delete") != 0) {
                hoist_error_free(err);
                return s3_reply_error(r, S3ERR_MALFORMED_XML, NULL);
        }
        if (s3xml_child(root, "Quiet") != NULL &&
            s3xml_child_bool(root, "Quiet", &quiet, &err) < 0) {
                hoist_error_free(err);
                err = NULL;
                quiet = 0;
        }
        s3_xml_begin(&b, "DeleteResult");
        for (const struct s3xml_node *o = s3xml_next(root, "Object", NULL); o != NULL;
             o = s3xml_next(root, "Object", o)) {
                const char *key = s3xml_child_text(o, "Key");
                enum s3err e = S3ERR_NONE;
                if (++n > 1000)
                        return s3_reply_error(r, S3ERR_MALFORMED_XML,
                                              "at most 1000 keys per request");
                if (key == NULL || key[0] == '\0') {
                        e = S3ERR_INVALID_ARGUMENT;
                } else if (!serve_key_allows(&r->who, SERVE_ACCESS_WRITE, r->bucket, key)) {
                        e = S3ERR_ACCESS_DENIED;
                } else {
                        int rc = objstore_object_delete(r->svc->os, r->bucket, key, &err);
                        if (rc < 0) {
                                e = s3err_from_rc(rc);
                                if (e == S3ERR_NO_SUCH_BUCKET) {
                                        hoist_error_free(err);
                                        return s3_reply_error(r, e, NULL);
                                }
                                if (e == S3ERR_INTERNAL)
                                        log_warn("serve: delete: %s", err->msg);
                                hoist_error_release(&err);
                        }
                }
                if (e == S3ERR_NONE && !quiet) {
                        buf_append_str(&b, "<Deleted>");
                        s3xml_element(&b, "Key", key);
                        buf_append_str(&b, "</Deleted>");
                } else if (e != S3ERR_NONE) {
                        buf_append_str(&b, "<Error>");
                        s3xml_element(&b, "Key", key != NULL ? key : "");
                        s3xml_element(&b, "Code", s3err_code(e));
                        s3xml_element(&b, "Message", s3err_message(e));
                        buf_append_str(&b, "</Error>");
                }
        }
        buf_append_str(&b, "</DeleteResult>\n");
        return s3_reply_xml(r, 200, &b);
}
