/* SPDX-License-Identifier: MIT */
/* Listings and buckets: ListObjectsV2, ListBuckets, CreateBucket,
 * DeleteBucket, ListMultipartUploads. */
#include <curl/curl.h>

#include "s3.h"

#include <stdlib.h>
#include <string.h>

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

void s3_object_list_clear(struct s3_object_list *l)
{
        if (l == NULL)
                return;
        for (size_t i = 0; i < l->n; i++) {
                free(l->objects[i].key);
                free(l->objects[i].etag);
                free(l->objects[i].last_modified);
        }
        free(l->objects);
        strv_free(l->common_prefixes);
        *l = (struct s3_object_list){0};
}

/* Appends "&name=encoded value" (or without '&' first). */
static void query_add(struct buf *q, const char *name, const char *value)
{
        _cleanup_free_ char *v = sigv4_uri_encode(value);

        buf_printf(q, "%s%s=%s", q->len > 0 ? "&" : "", name, v);
}

static void strv_push(char ***v, size_t *n, const char *s)
{
        *v = xreallocarray(*v, *n + 2, sizeof **v);
        (*v)[(*n)++] = xstrdup(s);
        (*v)[*n] = NULL;
}

static int list_page(const struct s3xml_node *root, struct s3_object_list *l, size_t *n_prefixes,
                     const char *what, struct hoist_error **err)
{
        const struct s3xml_node *e = NULL;

        while ((e = s3xml_next(root, "Contents", e)) != NULL) {
                const char *key = s3xml_child_text(e, "Key");
                uint64_t size = 0;
                if (key == NULL)
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "%s: a <Contents> without <Key>", what);
                if (s3xml_child_u64(e, "Size", &size, err) < 0)
                        return hoist_error_wrap(err, "%s", what);
                l->objects = xreallocarray(l->objects, l->n + 1, sizeof *l->objects);
                l->objects[l->n++] = (struct s3_object){
                        .key = xstrdup(key),
                        .size = size,
                        .etag = xstrdup(s3xml_child_text(e, "ETag")),
                        .last_modified = xstrdup(s3xml_child_text(e, "LastModified")),
                };
        }
        while ((e = s3xml_next(root, "CommonPrefixes", e)) != NULL) {
                const char *p = s3xml_child_text(e, "Prefix");
                if (p != NULL)
                        strv_push(&l->common_prefixes, n_prefixes, p);
        }
        return 0;
}

int s3_list_objects(struct s3_client *c, const char *bucket, const char *prefix,
                    const char *delimiter, unsigned max_keys, struct s3_object_list *ret,
                    struct hoist_error **err)
{
        struct s3_object_list l = {0};
        _cleanup_free_ char *token = NULL;
        size_t n_prefixes = 0;

        for (;;) {
                _cleanup_xfer_ struct s3_xfer x = {0};
                _cleanup_s3xml_ struct s3xml_node *root = NULL;
                _cleanup_buf_ struct buf q = {0};
                int truncated = 0;

                if (token != NULL)
                        query_add(&q, "continuation-token", token);
                if (delimiter != NULL)
                        query_add(&q, "delimiter", delimiter);
                query_add(&q, "list-type", "2");
                if (max_keys > 0)
                        buf_printf(&q, "&max-keys=%u", max_keys);
                if (prefix != NULL)
                        query_add(&q, "prefix", prefix);
                s3_xfer_init(&x, "GET", bucket, NULL);
                x.query = buf_take(&q);
                if (s3_perform(c, &x, false, err) < 0 ||
                    s3_parse_xml_reply(&x, "ListBucketResult", &root, err) < 0 ||
                    list_page(root, &l, &n_prefixes, x.what, err) < 0)
                        goto fail;
                l.pages++;
                if (s3xml_child(root, "IsTruncated") != NULL &&
                    s3xml_child_bool(root, "IsTruncated", &truncated, err) < 0)
                        goto fail;
                if (!truncated)
                        break;
                const char *next = s3xml_child_text(root, "NextContinuationToken");
                if (next == NULL || *next == '\0') {
                        hoist_error_make(err, HOIST_ERR_PROVIDER,
                                         "%s: truncated listing without NextContinuationToken",
                                         x.what);
                        goto fail;
                }
                free(token);
                token = xstrdup(next);
        }
        *ret = l;
        return 0;
fail:
        s3_object_list_clear(&l);
        return -1;
}

int s3_list_buckets(struct s3_client *c, char ***ret_names, struct hoist_error **err)
{
        _cleanup_xfer_ struct s3_xfer x = {0};
        _cleanup_s3xml_ struct s3xml_node *root = NULL;
        _cleanup_strv_ char **names = xcalloc(1, sizeof *names);
        const struct s3xml_node *buckets, *b = NULL;
        size_t n = 0;

        s3_xfer_init(&x, "GET", NULL, NULL);
        if (s3_perform(c, &x, false, err) < 0 ||
            s3_parse_xml_reply(&x, "ListAllMyBucketsResult", &root, err) < 0)
                return -1;
        buckets = s3xml_child(root, "Buckets");
        while (buckets != NULL && (b = s3xml_next(buckets, "Bucket", b)) != NULL) {
                const char *name = s3xml_child_text(b, "Name");
                if (name != NULL)
                        strv_push(&names, &n, name);
        }
        *ret_names = TAKE_PTR(names);
        return 0;
}

int s3_create_bucket(struct s3_client *c, const char *bucket, struct hoist_error **err)
{
        _cleanup_xfer_ struct s3_xfer x = {0};
        _cleanup_buf_ struct buf body = {0};
        struct hoist_error *e = NULL;

        s3_xfer_init(&x, "PUT", bucket, NULL);
        x.has_body = true;
        /* us-east-1 is the one region that takes no LocationConstraint. */
        if (strcmp(c->region, "us-east-1") != 0) {
                buf_append_str(&body, "<CreateBucketConfiguration "
                                      "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
                s3xml_element(&body, "LocationConstraint", c->region);
                buf_append_str(&body, "</CreateBucketConfiguration>");
                x.body = body.data;
                x.body_len = body.len;
                x.content_type = "application/xml";
        }
        if (s3_perform(c, &x, false, &e) == 0)
                return 0;
        if (x.status == 409 && strstr(e->msg, "BucketAlreadyOwnedByYou") != NULL) {
                hoist_error_free(e);
                return 0;
        }
        *err = e;
        return -1;
}

int s3_delete_bucket(struct s3_client *c, const char *bucket, struct hoist_error **err)
{
        _cleanup_xfer_ struct s3_xfer x = {0};

        s3_xfer_init(&x, "DELETE", bucket, NULL);
        return s3_perform(c, &x, false, err);
}

void s3_uploads_free(struct s3_upload *u, size_t n)
{
        if (u == NULL)
                return;
        for (size_t i = 0; i < n; i++) {
                free(u[i].key);
                free(u[i].upload_id);
                free(u[i].initiated);
        }
        free(u);
}

int s3_list_multipart_uploads(struct s3_client *c, const char *bucket, const char *prefix,
                              struct s3_upload **ret, size_t *ret_n, struct hoist_error **err)
{
        struct s3_upload *ups = NULL;
        size_t n = 0;
        _cleanup_free_ char *key_marker = NULL, *id_marker = NULL;

        for (;;) {
                _cleanup_xfer_ struct s3_xfer x = {0};
                _cleanup_s3xml_ struct s3xml_node *root = NULL;
                _cleanup_buf_ struct buf q = {0};
                const struct s3xml_node *u = NULL;
                int truncated = 0;

                if (key_marker != NULL)
                        query_add(&q, "key-marker", key_marker);
                if (prefix != NULL)
                        query_add(&q, "prefix", prefix);
                if (id_marker != NULL)
                        query_add(&q, "upload-id-marker", id_marker);
                buf_printf(&q, "%suploads=", q.len > 0 ? "&" : "");
                s3_xfer_init(&x, "GET", bucket, NULL);
                x.query = buf_take(&q);
                if (s3_perform(c, &x, false, err) < 0 ||
                    s3_parse_xml_reply(&x, "ListMultipartUploadsResult", &root, err) < 0)
                        goto fail;
                while ((u = s3xml_next(root, "Upload", u)) != NULL) {
                        const char *key = s3xml_child_text(u, "Key");
                        const char *id = s3xml_child_text(u, "UploadId");
                        if (key == NULL || id == NULL)
                                continue;
                        ups = xreallocarray(ups, n + 1, sizeof *ups);
                        ups[n++] = (struct s3_upload){xstrdup(key), xstrdup(id),
                                                      xstrdup(s3xml_child_text(u, "Initiated"))};
                }
                if (s3xml_child(root, "IsTruncated") != NULL &&
                    s3xml_child_bool(root, "IsTruncated", &truncated, err) < 0)
                        goto fail;
                if (!truncated)
                        break;
                free(key_marker);
                free(id_marker);
                key_marker = xstrdup(s3xml_child_text(root, "NextKeyMarker"));
                id_marker = xstrdup(s3xml_child_text(root, "NextUploadIdMarker"));
                if (key_marker == NULL) {
                        hoist_error_make(err, HOIST_ERR_PROVIDER,
                                         "%s: truncated listing without NextKeyMarker", x.what);
                        goto fail;
                }
        }
        *ret = ups;
        *ret_n = n;
        return 0;
fail:
        s3_uploads_free(ups, n);
        return -1;
}
