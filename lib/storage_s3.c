/* SPDX-License-Identifier: MIT */
/*
 * The s3:// storage backend: "s3://bucket/prefix", every key stored as
 * "prefix/key" in the bucket, through lib/s3 (SigV4, retries, multipart for
 * large files).  Keys arrive checked (lib/storage.c).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "archive.h"
#include "cleanup.h"
#include "s3.h"
#include "s3creds.h"
#include "storage_backend.h"
#include "xalloc.h"

/* Files at least this large go up in parallel parts. */
#define MULTIPART_THRESHOLD (16u << 20)

struct s3_store {
        struct s3_client *client;
        struct s3_creds_provider *creds; /* owned when set from options */
        char *bucket;
        char *prefix; /* "" or "dir/sub" without slashes at either end */
};

static char *full_key(const struct s3_store *s, const char *key)
{
        if (*s->prefix == '\0')
                return xstrdup(key);
        return xasprintf("%s/%s", s->prefix, key);
}

/* Splits "s3://bucket[/prefix[/]]" into its bucket and its prefix (without
 * slashes at either end), refusing a prefix that no key may start with:
 * every key the store writes is "prefix/key", checked by the one rule
 * (storage_key_check), and the entrypoint reads them by that rule too. */
static int parse_url(const char *url, char **ret_bucket, char **ret_prefix,
                     struct hoist_error **err)
{
        const char *rest = url + strlen("s3://");
        const char *slash = strchr(rest, '/');
        _cleanup_free_ char *prefix = xstrdup(slash ? slash + 1 : "");
        size_t n = strlen(prefix);

        if (*rest == '\0' || slash == rest)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "storage '%s': expected s3://bucket or s3://bucket/prefix",
                                        url);
        while (n > 0 && prefix[n - 1] == '/')
                prefix[--n] = '\0';
        if (n > 0 && storage_key_check(prefix, NULL) < 0) {
                /* "a//b/./c" means "a/b/c" to a person; ".." means nothing sure. */
                _cleanup_free_ char *fixed = archive_name_normalize(prefix, 1);
                _cleanup_free_ char *hint =
                        fixed != NULL && *fixed != '\0' && storage_key_check(fixed, NULL) == 0
                                ? xasprintf("write s3://%.*s/%s/", (int)(slash - rest), rest, fixed)
                                : xstrdup("use '/'-separated names, without '.' or '..'");
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "storage '%s': the prefix '%s' has an empty, '.' or '..' "
                                        "segment, or a control character, and so would every key "
                                        "under it (%s)",
                                        url, prefix, hint);
        }
        if (ret_bucket != NULL)
                *ret_bucket = slash ? xstrndup(rest, (size_t)(slash - rest)) : xstrdup(rest);
        if (ret_prefix != NULL)
                *ret_prefix = TAKE_PTR(prefix);
        return 0;
}

static int s3s_check_url(const char *url, struct hoist_error **err)
{
        return parse_url(url, NULL, NULL, err);
}

static int s3s_open(const char *url, const struct storage_options *opts, void **ret_impl,
                    struct hoist_error **err)
{
        struct s3_client_config cfg = {.path_style = -1};
        struct s3_store *s = xzalloc(sizeof *s);

        if (parse_url(url, &s->bucket, &s->prefix, err) < 0) {
                free(s);
                return -1;
        }
        if (opts != NULL) {
                cfg.endpoint = opts->endpoint;
                cfg.region = opts->region;
                if (opts->access_key_id != NULL && opts->secret_access_key != NULL) {
                        s->creds = s3_creds_provider_static(
                                opts->access_key_id, opts->secret_access_key, opts->session_token);
                        cfg.creds = s->creds;
                }
        }
        if (s3_client_new(&cfg, &s->client, err) < 0) {
                s3_creds_provider_free(s->creds);
                free(s->bucket);
                free(s->prefix);
                free(s);
                return hoist_error_wrap(err, "storage '%s'", url);
        }
        *ret_impl = s;
        return 0;
}

static void s3s_close(void *impl)
{
        struct s3_store *s = impl;

        s3_client_free(s->client);
        s3_creds_provider_free(s->creds);
        free(s->bucket);
        free(s->prefix);
        free(s);
}

static int s3s_put_file(void *impl, const char *key, const char *src, struct hoist_error **err)
{
        struct s3_store *s = impl;
        _cleanup_free_ char *k = full_key(s, key);
        _cleanup_free_ char *etag = NULL;
        struct stat st;

        if (stat(src, &st) < 0)
                return hoist_error_errno(err, "stat '%s'", src);
        if ((uint64_t)st.st_size >= MULTIPART_THRESHOLD)
                return s3_multipart_upload_file(s->client, s->bucket, k, src, NULL, &etag, err);
        return s3_put_file(s->client, s->bucket, k, src, NULL, &etag, err);
}

static int s3s_put_bytes(void *impl, const char *key, const void *data, size_t len,
                         struct hoist_error **err)
{
        struct s3_store *s = impl;
        _cleanup_free_ char *k = full_key(s, key);
        _cleanup_free_ char *etag = NULL;

        return s3_put_object(s->client, s->bucket, k, data, len, NULL, &etag, err);
}

static int s3s_get_file(void *impl, const char *key, const char *dst, struct hoist_error **err)
{
        struct s3_store *s = impl;
        _cleanup_free_ char *k = full_key(s, key);

        return s3_get_file(s->client, s->bucket, k, dst, err);
}

static int s3s_get_bytes(void *impl, const char *key, char **ret_data, size_t *ret_len,
                         struct hoist_error **err)
{
        struct s3_store *s = impl;
        _cleanup_free_ char *k = full_key(s, key);

        return s3_get_object(s->client, s->bucket, k, 0, 0, ret_data, ret_len, err);
}

static int s3s_read_ranges(void *impl, const struct storage_range *ranges, size_t n,
                           struct hoist_error **err)
{
        struct s3_store *s = impl;
        _cleanup_free_ struct s3_range_get *gets = xcalloc(n ? n : 1, sizeof *gets);
        int r;

        for (size_t i = 0; i < n; i++)
                gets[i] = (struct s3_range_get){
                        .key = full_key(s, ranges[i].key),
                        .offset = ranges[i].offset,
                        .length = ranges[i].length,
                        .sink = ranges[i].sink,
                        .userdata = ranges[i].userdata,
                };
        r = s3_get_ranges(s->client, s->bucket, gets, n, err);
        for (size_t i = 0; i < n; i++)
                free((char *)gets[i].key);
        return r;
}

static int s3s_exists(void *impl, const char *key, uint64_t *ret_size, struct hoist_error **err)
{
        struct s3_store *s = impl;
        _cleanup_free_ char *k = full_key(s, key);
        struct s3_object_info info = {0};
        int r = s3_head_object(s->client, s->bucket, k, &info, err);

        if (r <= 0)
                return r;
        if (ret_size)
                *ret_size = info.size;
        s3_object_info_clear(&info);
        return 1;
}

static int s3s_delete(void *impl, const char *key, struct hoist_error **err)
{
        struct s3_store *s = impl;
        _cleanup_free_ char *k = full_key(s, key);

        return s3_delete_object(s->client, s->bucket, k, err);
}

/* The bucket's prefix for PREFIX ("" or a checked key) of the store. */
static char *list_prefix(const struct s3_store *s, const char *prefix)
{
        if (*prefix)
                return *s->prefix ? xasprintf("%s/%s/", s->prefix, prefix)
                                  : xasprintf("%s/", prefix);
        return *s->prefix ? xasprintf("%s/", s->prefix) : xstrdup("");
}

static int64_t iso_time(const char *text)
{
        time_t t;

        return s3_parse_iso8601(text, &t) == 0 ? (int64_t)t : 0;
}

static int s3s_list_entries(void *impl, const char *prefix, struct storage_entry **ret,
                            size_t *ret_n, struct hoist_error **err)
{
        struct s3_store *s = impl;
        struct s3_object_list l = {0};
        _cleanup_free_ char *want = list_prefix(s, prefix);
        size_t strip = *s->prefix ? strlen(s->prefix) + 1 : 0;
        struct storage_entry *e;

        if (s3_list_objects(s->client, s->bucket, want, NULL, 0, &l, err) < 0)
                return -1;
        e = xcalloc(l.n ? l.n : 1, sizeof *e);
        for (size_t i = 0; i < l.n; i++)
                e[i] = (struct storage_entry){.key = xstrdup(l.objects[i].key + strip),
                                              .size = l.objects[i].size,
                                              .mtime_s = iso_time(l.objects[i].last_modified)};
        *ret_n = l.n;
        s3_object_list_clear(&l);
        *ret = e;
        return 0;
}

static int s3s_list_partials(void *impl, struct storage_partial **ret, size_t *ret_n,
                             struct hoist_error **err)
{
        struct s3_store *s = impl;
        _cleanup_free_ char *want = list_prefix(s, "");
        size_t strip = *s->prefix ? strlen(s->prefix) + 1 : 0;
        struct s3_upload *u = NULL;
        struct storage_partial *p;
        size_t n = 0;

        if (s3_list_multipart_uploads(s->client, s->bucket, *want ? want : NULL, &u, &n, err) < 0)
                return -1;
        p = xcalloc(n ? n : 1, sizeof *p);
        for (size_t i = 0; i < n; i++)
                p[i] = (struct storage_partial){.key = xstrdup(u[i].key + strip),
                                                .id = xstrdup(u[i].upload_id),
                                                .start_s = iso_time(u[i].initiated)};
        s3_uploads_free(u, n);
        *ret = p;
        *ret_n = n;
        return 0;
}

static int s3s_abort_partial(void *impl, const struct storage_partial *p, struct hoist_error **err)
{
        struct s3_store *s = impl;
        _cleanup_free_ char *k = full_key(s, p->key);

        if (p->id == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "no upload id");
        return s3_abort_multipart_upload(s->client, s->bucket, k, p->id, err);
}

static void s3s_locate(const void *impl, struct storage_location *ret)
{
        const struct s3_store *s = impl;

        ret->endpoint = s3_client_endpoint(s->client);
        ret->region = s3_client_region(s->client);
        ret->bucket = s->bucket;
        ret->prefix = s->prefix;
}

static void s3s_set_progress(void *impl, storage_progress_fn fn, void *userdata)
{
        struct s3_store *s = impl;

        /* The same signature as s3_progress_fn, kept apart so that storage.h
         * need not include s3.h. */
        s3_client_set_progress(s->client, fn, userdata);
}

const struct storage_ops storage_s3_ops = {
        .scheme = "s3://",
        .check_url = s3s_check_url,
        .open = s3s_open,
        .close = s3s_close,
        .put_file = s3s_put_file,
        .put_bytes = s3s_put_bytes,
        .get_file = s3s_get_file,
        .get_bytes = s3s_get_bytes,
        .read_ranges = s3s_read_ranges,
        .exists = s3s_exists,
        .delete = s3s_delete,
        .list_entries = s3s_list_entries,
        .list_partials = s3s_list_partials,
        .abort_partial = s3s_abort_partial,
        .locate = s3s_locate,
        .set_progress = s3s_set_progress,
        .local_path = NULL,
};
