/* SPDX-License-Identifier: MIT */
/*
 * Multipart upload: CreateMultipartUpload, the parts in parallel over curl's
 * multi interface (each retried on its own, a finished part never sent
 * again), CompleteMultipartUpload, and AbortMultipartUpload on any failure
 * so that no upload is left behind to be billed.
 */
#include <curl/curl.h>

#include "s3.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "s3_internal.h"
#include "s3xml.h"
#include "sigv4.h"
#include "xalloc.h"

static void xfer_clearp(struct s3_xfer *x)
{
        s3_xfer_clear(x);
}
#define _cleanup_xfer_ __attribute__((cleanup(xfer_clearp)))

static char *upload_query(const char *upload_id, unsigned part)
{
        _cleanup_free_ char *id = sigv4_uri_encode(upload_id);

        if (part == 0)
                return xasprintf("uploadId=%s", id);
        return xasprintf("partNumber=%u&uploadId=%s", part, id);
}

static int create_upload(struct s3_client *c, const char *bucket, const char *key,
                         const char *content_type, char **ret_id, struct hoist_error **err)
{
        _cleanup_xfer_ struct s3_xfer x = {0};
        _cleanup_s3xml_ struct s3xml_node *root = NULL;
        const char *id;

        s3_xfer_init(&x, "POST", bucket, key);
        x.query = xstrdup("uploads=");
        x.has_body = true;
        x.content_type = content_type;
        if (s3_perform(c, &x, false, err) < 0 ||
            s3_parse_xml_reply(&x, "InitiateMultipartUploadResult", &root, err) < 0)
                return -1;
        id = s3xml_child_text(root, "UploadId");
        if (id == NULL || *id == '\0')
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "%s: no UploadId in the answer",
                                        x.what);
        *ret_id = xstrdup(id);
        return 0;
}

int s3_abort_multipart_upload(struct s3_client *c, const char *bucket, const char *key,
                              const char *upload_id, struct hoist_error **err)
{
        _cleanup_xfer_ struct s3_xfer x = {0};

        s3_xfer_init(&x, "DELETE", bucket, key);
        x.query = upload_query(upload_id, 0);
        /* 404 NoSuchUpload: it is gone already, which is what we want. */
        return s3_perform(c, &x, true, err);
}

static int complete_upload(struct s3_client *c, const char *bucket, const char *key,
                           const char *upload_id, struct s3_xfer *parts, size_t n, char **ret_etag,
                           struct hoist_error **err)
{
        _cleanup_xfer_ struct s3_xfer x = {0};
        _cleanup_s3xml_ struct s3xml_node *root = NULL;
        _cleanup_buf_ struct buf body = {0};
        const char *etag;

        buf_append_str(&body, "<CompleteMultipartUpload "
                              "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
        for (size_t i = 0; i < n; i++) {
                char num[24];
                (void)snprintf(num, sizeof num, "%zu", i + 1);
                buf_append_str(&body, "<Part>");
                s3xml_element(&body, "PartNumber", num);
                s3xml_element(&body, "ETag", parts[i].etag);
                buf_append_str(&body, "</Part>");
        }
        buf_append_str(&body, "</CompleteMultipartUpload>");

        s3_xfer_init(&x, "POST", bucket, key);
        x.query = upload_query(upload_id, 0);
        x.has_body = true;
        x.body = body.data;
        x.body_len = body.len;
        x.content_type = "application/xml";
        /* A 200 can still carry an <Error>: s3_parse_xml_reply() reads it. */
        if (s3_perform(c, &x, false, err) < 0 ||
            s3_parse_xml_reply(&x, "CompleteMultipartUploadResult", &root, err) < 0)
                return -1;
        etag = s3xml_child_text(root, "ETag");
        if (ret_etag == NULL)
                return 0;
        if (etag != NULL && *etag != '\0') {
                *ret_etag = xstrdup(etag);
                return 0;
        }
        /* radosgw 16 answers an empty <ETag/>: ask for it. */
        struct s3_object_info info = {0};
        if (s3_head_object(c, bucket, key, &info, err) < 0)
                return -1;
        *ret_etag = TAKE_PTR(info.etag);
        s3_object_info_clear(&info);
        if (*ret_etag == NULL)
                *ret_etag = xstrdup("");
        return 0;
}

/* Sends every part of FD; PARTS[i] keeps its own state (done, ETag). */
static int send_parts(struct s3_client *c, const char *bucket, const char *key,
                      const char *upload_id, int fd, uint64_t size, uint64_t part,
                      struct s3_xfer *parts, size_t n, struct hoist_error **err)
{
        struct s3_progress p = {.client = c, .total = size};
        _cleanup_free_ struct s3_xfer **ptrs = xcalloc(n, sizeof *ptrs);

        for (size_t i = 0; i < n; i++) {
                uint64_t off = (uint64_t)i * part;
                s3_xfer_init(&parts[i], "PUT", bucket, key);
                parts[i].query = upload_query(upload_id, (unsigned)(i + 1));
                parts[i].has_body = true;
                parts[i].body_fd = fd;
                parts[i].body_off = off;
                parts[i].body_len = size - off < part ? size - off : part;
                parts[i].progress = &p;
                ptrs[i] = &parts[i];
        }
        if (s3_perform_parallel(c, ptrs, n, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++)
                if (parts[i].etag == NULL || parts[i].etag[0] == '\0')
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "%s part %zu: no ETag in the answer", parts[i].what,
                                                i + 1);
        return 0;
}

int s3_multipart_upload_file(struct s3_client *c, const char *bucket, const char *key,
                             const char *path, const char *content_type, char **ret_etag,
                             struct hoist_error **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *upload_id = NULL;
        _cleanup_free_ struct s3_xfer *parts = NULL;
        struct stat st;
        uint64_t size, part;
        size_t n;
        int r;

        if (fd < 0 || fstat(fd, &st) < 0)
                return hoist_error_errno(err, "open '%s'", path);
        if (!S_ISREG(st.st_mode))
                return hoist_error_make(err, HOIST_ERR_INPUT, "'%s' is not a regular file", path);
        size = (uint64_t)st.st_size;
        part = s3_part_size(size, c->part_size);
        n = size == 0 ? 1 : (size_t)((size + part - 1) / part);
        if (n > S3_MAX_PARTS)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' is %" PRIu64 " bytes; S3 takes at most %u parts "
                                        "of %llu bytes",
                                        path, size, S3_MAX_PARTS, S3_MAX_PART_SIZE);
        if (create_upload(c, bucket, key, content_type, &upload_id, err) < 0)
                return -1;
        log_debug("s3: multipart upload of '%s' to s3://%s/%s: %zu parts of %" PRIu64 " bytes",
                  path, bucket, key, n, part);
        parts = xcalloc(n, sizeof *parts);
        r = send_parts(c, bucket, key, upload_id, fd, size, part, parts, n, err);
        if (r == 0)
                r = complete_upload(c, bucket, key, upload_id, parts, n, ret_etag, err);
        for (size_t i = 0; i < n; i++)
                s3_xfer_clear(&parts[i]);
        if (r < 0) {
                struct hoist_error *aerr = NULL;
                if (s3_abort_multipart_upload(c, bucket, key, upload_id, &aerr) < 0) {
                        /* The upload is named so that it can be aborted by
                         * hand: nothing else removes it (S3 bills it until a
                         * lifecycle rule does).  Made with code 0, then
                         * given E's: an errno code would repeat its text. */
                        struct hoist_error *e = TAKE_PTR(*err);
                        (void)hoist_error_make(err, 0,
                                               "%s; upload %s of s3://%s/%s is left on the "
                                               "server (aborting it failed: %s)",
                                               e->msg, upload_id, bucket, key, aerr->msg);
                        (*err)->code = e->code;
                        hoist_error_free(e);
                        hoist_error_free(aerr);
                }
                return -1;
        }
        return 0;
}
