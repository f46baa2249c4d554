/* SPDX-License-Identifier: MIT */
/* Single objects: HEAD, GET (to memory, to a file, in parallel ranges), PUT,
 * DELETE and presigned URLs. */
#include <curl/curl.h>

#include "s3.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "s3_internal.h"
#include "sigv4.h"
#include "xalloc.h"

void s3_object_info_clear(struct s3_object_info *i)
{
        if (i == NULL)
                return;
        free(i->etag);
        free(i->last_modified);
        *i = (struct s3_object_info){0};
}

static void xfer_clearp(struct s3_xfer *x)
{
        s3_xfer_clear(x);
}
#define _cleanup_xfer_ __attribute__((cleanup(xfer_clearp)))

int s3_head_object(struct s3_client *c, const char *bucket, const char *key,
                   struct s3_object_info *ret, struct hoist_error **err)
{
        _cleanup_xfer_ struct s3_xfer x = {0};

        s3_xfer_init(&x, "HEAD", bucket, key);
        if (s3_perform(c, &x, true, err) < 0)
                return -1;
        if (x.status == 404)
                return 0;
        if (!x.have_length)
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "%s: no Content-Length", x.what);
        ret->size = x.content_length;
        ret->etag = TAKE_PTR(x.etag);
        ret->last_modified = TAKE_PTR(x.last_modified);
        return 1;
}

static char *range_header(uint64_t offset, uint64_t length)
{
        if (length == 0)
                return xasprintf("bytes=%" PRIu64 "-", offset);
        return xasprintf("bytes=%" PRIu64 "-%" PRIu64, offset, offset + length - 1);
}

int s3_get_object(struct s3_client *c, const char *bucket, const char *key, uint64_t offset,
                  uint64_t length, char **ret_data, size_t *ret_len, struct hoist_error **err)
{
        _cleanup_xfer_ struct s3_xfer x = {0};
        struct s3_progress p = {.client = c};

        s3_xfer_init(&x, "GET", bucket, key);
        x.progress = &p;
        if (offset != 0 || length != 0)
                x.range = range_header(offset, length);
        if (s3_perform(c, &x, false, err) < 0)
                return -1;
        buf_append(&x.resp, "", 0);
        *ret_len = x.resp.len;
        *ret_data = buf_take(&x.resp);
        return 0;
}

/* Fetches the whole object into FD in parallel ranges, each pinned to ETAG. */
static int get_ranges(struct s3_client *c, const char *bucket, const char *key, int fd,
                      const struct s3_object_info *info, struct hoist_error **err)
{
        uint64_t part = s3_part_size(info->size, c->part_size);
        size_t n = (size_t)((info->size + part - 1) / part);
        struct s3_progress p = {.client = c, .total = info->size};
        _cleanup_free_ struct s3_xfer *xs = xcalloc(n, sizeof *xs);
        _cleanup_free_ struct s3_xfer **ptrs = xcalloc(n, sizeof *ptrs);
        int r;

        for (size_t i = 0; i < n; i++) {
                uint64_t off = (uint64_t)i * part;
                uint64_t len = info->size - off < part ? info->size - off : part;
                s3_xfer_init(&xs[i], "GET", bucket, key);
                xs[i].range = range_header(off, len);
                xs[i].if_match = xstrdup(info->etag);
                xs[i].out_fd = fd;
                xs[i].out_off = off;
                xs[i].progress = &p;
                ptrs[i] = &xs[i];
        }
        log_debug("s3: GET s3://%s/%s in %zu ranges of %" PRIu64 " bytes", bucket, key, n, part);
        r = s3_perform_parallel(c, ptrs, n, err);
        for (size_t i = 0; i < n; i++) {
                if (r == 0 && xs[i].status != 206)
                        r = hoist_error_make(err, HOIST_ERR_PROVIDER,
                                             "%s: the server ignored the Range (status %ld)",
                                             xs[i].what, xs[i].status);
                s3_xfer_clear(&xs[i]);
        }
        return r;
}

int s3_get_ranges(struct s3_client *c, const char *bucket, const struct s3_range_get *gets,
                  size_t n, struct hoist_error **err)
{
        _cleanup_free_ struct s3_xfer *xs = xcalloc(n ? n : 1, sizeof *xs);
        _cleanup_free_ struct s3_xfer **ptrs = xcalloc(n ? n : 1, sizeof *ptrs);
        struct s3_progress p = {.client = c};
        int r;

        for (size_t i = 0; i < n; i++) {
                s3_xfer_init(&xs[i], "GET", bucket, gets[i].key);
                xs[i].range = range_header(gets[i].offset, gets[i].length);
                xs[i].sink = gets[i].sink;
                xs[i].sink_userdata = gets[i].userdata;
                xs[i].progress = &p;
                p.total += gets[i].length;
                ptrs[i] = &xs[i];
        }
        r = s3_perform_parallel(c, ptrs, n, err);
        for (size_t i = 0; i < n; i++) {
                /* A 200 is the whole object: right only when that is the range. */
                if (r == 0 && xs[i].status != 206 &&
                    !(xs[i].status == 200 && gets[i].offset == 0 &&
                      xs[i].received == gets[i].length))
                        r = hoist_error_make(err, HOIST_ERR_PROVIDER,
                                             "%s: the server ignored the Range (status %ld)",
                                             xs[i].what, xs[i].status);
                if (r == 0 && xs[i].received != gets[i].length)
                        r = hoist_error_make(err, HOIST_ERR_PROVIDER,
                                             "%s: got %" PRIu64 " bytes of a %" PRIu64
                                             "-byte range",
                                             xs[i].what, xs[i].received, gets[i].length);
                s3_xfer_clear(&xs[i]);
        }
        return r;
}

static int get_whole(struct s3_client *c, const char *bucket, const char *key, int fd,
                     uint64_t size, struct hoist_error **err)
{
        _cleanup_xfer_ struct s3_xfer x = {0};
        struct s3_progress p = {.client = c, .total = size};

        s3_xfer_init(&x, "GET", bucket, key);
        x.out_fd = fd;
        x.progress = &p;
        return s3_perform(c, &x, false, err);
}

int s3_get_file(struct s3_client *c, const char *bucket, const char *key, const char *path,
                struct hoist_error **err)
{
        struct s3_object_info info = {0};
        _cleanup_free_ char *tmp = xasprintf("%s.s3tmp.XXXXXX", path);
        _cleanup_close_ int fd = -1;
        int r;

        r = s3_head_object(c, bucket, key, &info, err);
        if (r <= 0) {
                if (r == 0) {
                        _cleanup_free_ char *d = s3_describe(bucket, key);
                        return hoist_error_make(err, HOIST_ERR_NOT_FOUND, "GET %s: no such object",
                                                d);
                }
                return -1;
        }
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                s3_object_info_clear(&info);
                return hoist_error_errno(err, "create '%s'", tmp);
        }
        if (info.size >= S3_PARALLEL_GET_MIN && info.etag != NULL) {
                if (ftruncate(fd, (off_t)info.size) < 0)
                        r = hoist_error_errno(err, "size '%s'", tmp);
                else
                        r = get_ranges(c, bucket, key, fd, &info, err);
        } else {
                r = get_whole(c, bucket, key, fd, info.size, err);
        }
        s3_object_info_clear(&info);
        if (r == 0 && fsync(fd) < 0)
                r = hoist_error_errno(err, "fsync '%s'", tmp);
        if (r == 0 && fchmod(fd, 0644) < 0)
                r = hoist_error_errno(err, "chmod '%s'", tmp);
        if (r == 0 && rename(tmp, path) < 0)
                r = hoist_error_errno(err, "rename '%s' to '%s'", tmp, path);
        if (r < 0) {
                (void)unlink(tmp);
                return -1;
        }
        return 0;
}

static int put_one(struct s3_client *c, struct s3_xfer *x, const char *content_type,
                   char **ret_etag, struct hoist_error **err)
{
        struct s3_progress p = {.client = c, .total = x->body_len};

        int r;

        x->has_body = true;
        x->content_type = content_type;
        x->progress = &p;
        r = s3_perform(c, x, false, err);
        x->progress = NULL; /* P dies with this frame */
        if (r < 0)
                return -1;
        if (ret_etag != NULL)
                *ret_etag = TAKE_PTR(x->etag);
        return 0;
}

int s3_put_object(struct s3_client *c, const char *bucket, const char *key, const void *data,
                  size_t len, const char *content_type, char **ret_etag, struct hoist_error **err)
{
        _cleanup_xfer_ struct s3_xfer x = {0};

        s3_xfer_init(&x, "PUT", bucket, key);
        x.body = data;
        x.body_len = len;
        return put_one(c, &x, content_type, ret_etag, err);
}

int s3_put_file(struct s3_client *c, const char *bucket, const char *key, const char *path,
                const char *content_type, char **ret_etag, struct hoist_error **err)
{
        _cleanup_xfer_ struct s3_xfer x = {0};
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;

        if (fd < 0 || fstat(fd, &st) < 0)
                return hoist_error_errno(err, "open '%s'", path);
        if (!S_ISREG(st.st_mode))
                return hoist_error_make(err, HOIST_ERR_INPUT, "'%s' is not a regular file", path);
        if ((uint64_t)st.st_size > s3_part_size((uint64_t)st.st_size, c->part_size))
                return s3_multipart_upload_file(c, bucket, key, path, content_type, ret_etag, err);
        s3_xfer_init(&x, "PUT", bucket, key);
        x.body_fd = fd;
        x.body_len = (uint64_t)st.st_size;
        return put_one(c, &x, content_type, ret_etag, err);
}

int s3_delete_object(struct s3_client *c, const char *bucket, const char *key,
                     struct hoist_error **err)
{
        _cleanup_xfer_ struct s3_xfer x = {0};

        s3_xfer_init(&x, "DELETE", bucket, key);
        return s3_perform(c, &x, false, err);
}

int s3_presign(struct s3_client *c, const char *method, const char *bucket, const char *key,
               unsigned expires, char **ret_url, struct hoist_error **err)
{
        _cleanup_sigv4_result_ struct sigv4_result sig = {0};
        _cleanup_free_ char *d = s3_describe(bucket, key);
        struct s3_url u = {0};
        const struct s3_credentials *cr;
        int r;

        if (strcmp(method, "GET") != 0 && strcmp(method, "PUT") != 0)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "presign %s: method '%s' is not GET or PUT", d, method);
        cr = s3_creds_get(c->creds, err);
        if (cr == NULL)
                return hoist_error_wrap(err, "presign %s", d);
        if (s3_build_url(c, bucket, key, NULL, &u, err) < 0)
                return hoist_error_wrap(err, "presign %s", d);
        struct sigv4_header sh[] = {{"Host", u.host}};
        struct sigv4_request req = {
                .method = method,
                .path = u.path,
                .headers = sh,
                .n_headers = 1,
                .payload_hash = SIGV4_UNSIGNED_PAYLOAD,
                .creds = {cr->access_key_id, cr->secret_access_key, cr->session_token},
                .region = c->region,
                .service = "s3",
                .time = time(NULL),
        };
        r = sigv4_presign(&req, expires, &sig, err);
        if (r == 0)
                *ret_url =
                        xasprintf("%s://%s%s?%s", c->scheme, u.host, u.path, sig.presigned_query);
        s3_url_clear(&u);
        if (r < 0)
                return hoist_error_wrap(err, "presign %s", d);
        return 0;
}
