/* SPDX-License-Identifier: MIT */
/* The listing operations of the S3 endpoint: ListBuckets, ListObjects (V1
 * and V2, with prefix, delimiter, CommonPrefixes and paging),
 * ListMultipartUploads and ListParts. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "runner/serve/s3req.h"
#include "s3xml.h"
#include "xalloc.h"

#define MAX_KEYS 1000

enum MHD_Result s3op_list_buckets(struct s3_req *r)
{
        struct hoist_error *err = NULL;
        struct objstore_bucket *v = NULL;
        _cleanup_buf_ struct buf b = {0};
        size_t n = 0;
        int rc = objstore_bucket_list(r->svc->os, &v, &n, &err);

        if (rc < 0)
                return s3_reply_rc(r, rc, err);
        s3_xml_begin(&b, "ListAllMyBucketsResult");
        buf_append_str(&b, "<Owner><ID>hoist</ID><DisplayName>hoist</DisplayName></Owner>"
                           "<Buckets>");
        for (size_t i = 0; i < n; i++) {
                char date[32];
                s3_time_iso(v[i].created, date);
                buf_append_str(&b, "<Bucket>");
                s3xml_element(&b, "Name", v[i].name);
                s3xml_element(&b, "CreationDate", date);
                buf_append_str(&b, "</Bucket>");
        }
        buf_append_str(&b, "</Buckets></ListAllMyBucketsResult>\n");
        objstore_bucket_list_free(v, n);
        return s3_reply_xml(r, 200, &b);
}

/* max-keys and friends: a number 0..LIMIT (larger is clamped), DEF when absent. */
static int param_count(const struct s3_req *r, const char *name, unsigned def, unsigned limit,
                       unsigned *ret, struct hoist_error **err)
{
        const char *v = s3_param(r, name);
        char *end = NULL;
        unsigned long n;

        if (v == NULL) {
                *ret = def;
                return 0;
        }
        errno = 0;
        n = strtoul(v, &end, 10);
        if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0)
                return s3err_fail(err, S3ERR_INVALID_ARGUMENT, "%s must be a non-negative integer",
                                  name);
        *ret = n > limit ? limit : (unsigned)n;
        return 0;
}

static char *hex_encode(const char *s)
{
        size_t n = strlen(s);
        char *out = xmalloc(2 * n + 1);

        for (size_t i = 0; i < n; i++)
                (void)snprintf(out + 2 * i, 3, "%02x", (unsigned char)s[i]);
        out[2 * n] = '\0';
        return out;
}

static char *hex_decode(const char *s)
{
        size_t n = strlen(s);
        char *out;

        if (n % 2 != 0)
                return NULL;
        out = xmalloc(n / 2 + 1);
        for (size_t i = 0; i < n / 2; i++) {
                unsigned v;
                if (sscanf(s + 2 * i, "%2x", &v) != 1 || v == 0) {
                        free(out);
                        return NULL;
                }
                out[i] = (char)v;
        }
        out[n / 2] = '\0';
        return out;
}

/* An element whose text is URL-encoded when the client asked encoding-type=url. */
static void element_enc(struct buf *b, const char *name, const char *text, bool url)
{
        _cleanup_free_ char *enc = url ? sigv4_uri_encode_path(text) : NULL;

        s3xml_element(b, name, enc != NULL ? enc : text);
}

struct list_params {
        bool v2;
        bool url;
        const char *prefix;
        const char *delimiter;
        unsigned max_keys;
        char *after; /* list keys strictly after this name */
};

static int list_params_read(struct s3_req *r, struct list_params *p, struct hoist_error **err)
{
        const char *enc = s3_param(r, "encoding-type");
        const char *token = s3_param(r, "continuation-token");
        int rc;

        p->v2 = s3_has_param(r, "list-type") && strcmp(s3_param(r, "list-type"), "2") == 0;
        if (enc != NULL && strcmp(enc, "url") != 0)
                return s3err_fail(err, S3ERR_INVALID_ARGUMENT,
                                  "Invalid Encoding Method specified "
                                  "in Request");
        p->url = enc != NULL;
        p->prefix = s3_param(r, "prefix") != NULL ? s3_param(r, "prefix") : "";
        p->delimiter = s3_param(r, "delimiter");
        if (p->delimiter != NULL && p->delimiter[0] == '\0')
                p->delimiter = NULL;
        rc = param_count(r, "max-keys", MAX_KEYS, MAX_KEYS, &p->max_keys, err);
        if (rc < 0)
                return rc;
        if (p->v2 && token != NULL) {
                p->after = hex_decode(token);
                if (p->after == NULL)
                        return s3err_fail(err, S3ERR_INVALID_ARGUMENT,
                                          "The continuation token provided is incorrect");
        } else if (p->v2) {
                p->after = xstrdup(s3_param(r, "start-after"));
        } else {
                p->after = xstrdup(s3_param(r, "marker"));
        }
        return 0;
}

/* Appends the Contents and CommonPrefixes of V (sorted) to B; returns
 * whether the listing was cut, with *ret_last the last name emitted. */
static bool list_emit(struct buf *b, const struct list_params *p, const struct objstore_meta *v,
                      size_t n, size_t *ret_count, char **ret_last)
{
        size_t count = 0, plen = strlen(p->prefix);
        const char *last_cp = NULL;
        size_t last_cp_len = 0;
        _cleanup_buf_ struct buf cps = {0};
        bool truncated = false;

        for (size_t i = 0; i < n; i++) {
                const char *key = v[i].key;
                const char *d = p->delimiter != NULL ? strstr(key + plen, p->delimiter) : NULL;
                size_t cp_len = d != NULL ? (size_t)(d - key) + strlen(p->delimiter) : 0;

                if (p->after != NULL && p->after[0] != '\0') {
                        size_t alen = strlen(p->after);
                        if (strcmp(key, p->after) <= 0)
                                continue;
                        /* the token was a common prefix: skip everything under it */
                        if (p->delimiter != NULL && alen >= strlen(p->delimiter) &&
                            strcmp(p->after + alen - strlen(p->delimiter), p->delimiter) == 0 &&
                            strncmp(key, p->after, alen) == 0)
                                continue;
                }
                if (d != NULL && last_cp != NULL && cp_len == last_cp_len &&
                    strncmp(key, last_cp, cp_len) == 0)
                        continue;
                if (count == p->max_keys) {
                        truncated = true;
                        break;
                }
                count++;
                if (d != NULL) {
                        _cleanup_free_ char *cp = xstrndup(key, cp_len);
                        last_cp = key;
                        last_cp_len = cp_len;
                        buf_append_str(&cps, "<CommonPrefixes>");
                        element_enc(&cps, "Prefix", cp, p->url);
                        buf_append_str(&cps, "</CommonPrefixes>");
                        free(*ret_last);
                        *ret_last = TAKE_PTR(cp);
                } else {
                        char date[32];
                        char size[24];
                        s3_time_iso(v[i].mtime, date);
                        (void)snprintf(size, sizeof size, "%" PRIu64, v[i].size);
                        buf_append_str(b, "<Contents>");
                        element_enc(b, "Key", key, p->url);
                        s3xml_element(b, "LastModified", date);
                        s3xml_element(b, "ETag", v[i].etag);
                        s3xml_element(b, "Size", size);
                        buf_append_str(b, "<Owner><ID>hoist</ID><DisplayName>hoist</DisplayName>"
                                          "</Owner><StorageClass>STANDARD</StorageClass>"
                                          "</Contents>");
                        free(*ret_last);
                        *ret_last = xstrdup(key);
                }
        }
        if (cps.len > 0)
                buf_append(b, cps.data, cps.len);
        *ret_count = count;
        return truncated;
}

enum MHD_Result s3op_list_objects(struct s3_req *r)
{
        struct hoist_error *err = NULL;
        struct list_params p = {0};
        struct objstore_meta *v = NULL;
        _cleanup_buf_ struct buf b = {0}, body = {0};
        _cleanup_free_ char *last = NULL;
        size_t n = 0, count = 0;
        char num[24];
        bool truncated;
        int rc = list_params_read(r, &p, &err);

        if (rc >= 0)
                rc = objstore_object_list(r->svc->os, r->bucket, p.prefix, &v, &n, &err);
        if (rc < 0) {
                free(p.after);
                return s3_reply_rc(r, rc, err);
        }
        truncated = list_emit(&body, &p, v, n, &count, &last);
        objstore_meta_list_free(v, n);

        s3_xml_begin(&b, "ListBucketResult");
        s3xml_element(&b, "Name", r->bucket);
        element_enc(&b, "Prefix", p.prefix, p.url);
        if (p.delimiter != NULL)
                element_enc(&b, "Delimiter", p.delimiter, p.url);
        (void)snprintf(num, sizeof num, "%u", p.max_keys);
        s3xml_element(&b, "MaxKeys", num);
        if (p.url)
                s3xml_element(&b, "EncodingType", "url");
        s3xml_element(&b, "IsTruncated", truncated ? "true" : "false");
        if (p.v2) {
                (void)snprintf(num, sizeof num, "%zu", count);
                s3xml_element(&b, "KeyCount", num);
                if (s3_param(r, "continuation-token") != NULL)
                        s3xml_element(&b, "ContinuationToken", s3_param(r, "continuation-token"));
                if (s3_param(r, "start-after") != NULL)
                        element_enc(&b, "StartAfter", s3_param(r, "start-after"), p.url);
                if (truncated && last != NULL) {
                        _cleanup_free_ char *tok = hex_encode(last);
                        s3xml_element(&b, "NextContinuationToken", tok);
                }
        } else {
                element_enc(&b, "Marker",
                            s3_param(r, "marker") != NULL ? s3_param(r, "marker") : "", p.url);
                if (truncated && last != NULL)
                        element_enc(&b, "NextMarker", last, p.url);
        }
        buf_append(&b, body.data != NULL ? body.data : "", body.len);
        buf_append_str(&b, "</ListBucketResult>\n");
        free(p.after);
        return s3_reply_xml(r, 200, &b);
}

enum MHD_Result s3op_list_uploads(struct s3_req *r)
{
        struct hoist_error *err = NULL;
        struct objstore_upload *v = NULL;
        _cleanup_buf_ struct buf b = {0};
        const char *prefix = s3_param(r, "prefix");
        size_t n = 0;
        int rc = objstore_upload_list(r->svc->os, r->bucket, &v, &n, &err);

        if (rc < 0)
                return s3_reply_rc(r, rc, err);
        s3_xml_begin(&b, "ListMultipartUploadsResult");
        s3xml_element(&b, "Bucket", r->bucket);
        buf_append_str(&b, "<KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>");
        s3xml_element(&b, "Prefix", prefix != NULL ? prefix : "");
        buf_append_str(&b, "<MaxUploads>10000</MaxUploads><IsTruncated>false</IsTruncated>");
        for (size_t i = 0; i < n; i++) {
                char date[32];
                if (prefix != NULL && strncmp(v[i].key, prefix, strlen(prefix)) != 0)
                        continue;
                s3_time_iso(v[i].initiated, date);
                buf_append_str(&b, "<Upload>");
                s3xml_element(&b, "Key", v[i].key);
                s3xml_element(&b, "UploadId", v[i].id);
                s3xml_element(&b, "Initiated", date);
                buf_append_str(&b, "<StorageClass>STANDARD</StorageClass></Upload>");
        }
        buf_append_str(&b, "</ListMultipartUploadsResult>\n");
        objstore_upload_list_free(v, n);
        return s3_reply_xml(r, 200, &b);
}

enum MHD_Result s3op_list_parts(struct s3_req *r)
{
        struct hoist_error *err = NULL;
        struct objstore_part *v = NULL;
        _cleanup_buf_ struct buf b = {0};
        const char *id = s3_param(r, "uploadId");
        unsigned max_parts = 1000, marker = 0, count = 0, last = 0;
        size_t n = 0;
        char num[24];
        bool truncated = false;
        int rc = param_count(r, "max-parts", 1000, 1000, &max_parts, &err);

        if (rc >= 0)
                rc = param_count(r, "part-number-marker", 0, OBJSTORE_MAX_PARTS, &marker, &err);
        if (rc >= 0)
                rc = objstore_upload_parts(r->svc->os, r->bucket, id, r->key, &v, &n, &err);
        if (rc < 0)
                return s3_reply_rc(r, rc, err);
        s3_xml_begin(&b, "ListPartsResult");
        s3xml_element(&b, "Bucket", r->bucket);
        s3xml_element(&b, "Key", r->key);
        s3xml_element(&b, "UploadId", id);
        (void)snprintf(num, sizeof num, "%u", marker);
        s3xml_element(&b, "PartNumberMarker", num);
        (void)snprintf(num, sizeof num, "%u", max_parts);
        s3xml_element(&b, "MaxParts", num);
        buf_append_str(&b, "<StorageClass>STANDARD</StorageClass>");
        for (size_t i = 0; i < n; i++) {
                char date[32], size[24];
                if (v[i].number <= marker)
                        continue;
                if (count == max_parts) {
                        truncated = true;
                        break;
                }
                count++;
                last = v[i].number;
                s3_time_iso(v[i].mtime, date);
                (void)snprintf(num, sizeof num, "%u", v[i].number);
                (void)snprintf(size, sizeof size, "%" PRIu64, v[i].size);
                buf_append_str(&b, "<Part>");
                s3xml_element(&b, "PartNumber", num);
                s3xml_element(&b, "LastModified", date);
                s3xml_element(&b, "ETag", v[i].etag);
                s3xml_element(&b, "Size", size);
                buf_append_str(&b, "</Part>");
        }
        (void)snprintf(num, sizeof num, "%u", last);
        s3xml_element(&b, "NextPartNumberMarker", num);
        s3xml_element(&b, "IsTruncated", truncated ? "true" : "false");
        buf_append_str(&b, "</ListPartsResult>\n");
        free(v);
        return s3_reply_xml(r, 200, &b);
}
