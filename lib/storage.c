/* SPDX-License-Identifier: MIT */
/*
 * Storage: checks every key, picks the backend by the URL's scheme, and adds
 * the key to every error on the way out.  The backends live in
 * lib/storage_<scheme>.c behind lib/storage_backend.h.
 */
#include "storage.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "storage_backend.h"
#include "xalloc.h"

struct storage {
        const struct storage_ops *ops;
        void *impl;
        char *url;
};

static const struct storage_ops *const backends[] = {
        &storage_file_ops,
        &storage_s3_ops,
};

int storage_key_check(const char *key, struct hoist_error **err)
{
        const char *seg = key;

        if (key == NULL || *key == '\0')
                return hoist_error_make(err, HOIST_ERR_INPUT, "storage key is empty");
        if (*key == '/')
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "storage key '%s' must be relative (no leading '/')", key);
        for (;;) {
                const char *end = strchrnul(seg, '/');
                size_t n = (size_t)(end - seg);

                if ((n == 0 && *end == '/') || (n == 1 && seg[0] == '.') ||
                    (n == 2 && seg[0] == '.' && seg[1] == '.'))
                        return hoist_error_make(
                                err, HOIST_ERR_INPUT,
                                "storage key '%s' has an empty, '.' or '..' segment", key);
                if (*end == '\0')
                        break;
                seg = end + 1;
                if (*seg == '\0') /* a trailing '/' names a prefix, not an object */
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "storage key '%s' ends with '/'", key);
        }
        for (const char *p = key; *p; p++)
                if ((unsigned char)*p < 0x20)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "storage key has a control character");
        return 0;
}

/* The backend of URL's scheme, or NULL with an error. */
static const struct storage_ops *backend_of(const char *url, struct hoist_error **err)
{
        for (size_t i = 0; url != NULL && i < sizeof backends / sizeof backends[0]; i++)
                if (strncmp(url, backends[i]->scheme, strlen(backends[i]->scheme)) == 0)
                        return backends[i];
        hoist_error_make(err, HOIST_ERR_INPUT,
                         "storage '%s': use file:///abs/dir or s3://bucket/prefix",
                         url ? url : "(none)");
        return NULL;
}

int storage_url_check(const char *url, struct hoist_error **err)
{
        const struct storage_ops *ops = backend_of(url, err);

        if (ops == NULL)
                return -1;
        return ops->check_url(url, err);
}

int storage_open(const char *url, struct storage **ret, struct hoist_error **err)
{
        return storage_open_with(url, NULL, ret, err);
}

int storage_open_with(const char *url, const struct storage_options *opts, struct storage **ret,
                      struct hoist_error **err)
{
        const struct storage_ops *ops = backend_of(url, err);
        struct storage *st;
        void *impl = NULL;

        if (ops == NULL || ops->check_url(url, err) < 0 || ops->open(url, opts, &impl, err) < 0)
                return -1;
        st = xzalloc(sizeof *st);
        st->ops = ops;
        st->impl = impl;
        st->url = xstrdup(url);
        *ret = st;
        return 0;
}

void storage_close(struct storage *st)
{
        if (st == NULL)
                return;
        st->ops->close(st->impl);
        free(st->url);
        free(st);
}

const char *storage_url(const struct storage *st)
{
        return st->url;
}

void storage_locate(const struct storage *st, struct storage_location *ret)
{
        *ret = (struct storage_location){.endpoint = st->url};
        if (st->ops->locate != NULL)
                st->ops->locate(st->impl, ret);
}

char *storage_local_path(const struct storage *st, const char *key)
{
        return st->ops->local_path ? st->ops->local_path(st->impl, key) : NULL;
}

void storage_set_progress(struct storage *st, storage_progress_fn fn, void *userdata)
{
        if (st->ops->set_progress != NULL)
                st->ops->set_progress(st->impl, fn, userdata);
}

int storage_put_file(struct storage *st, const char *key, const char *src, struct hoist_error **err)
{
        if (storage_key_check(key, err) < 0 || st->ops->put_file(st->impl, key, src, err) < 0)
                return hoist_error_wrap(err, "store '%s'", key);
        return 0;
}

int storage_put_bytes(struct storage *st, const char *key, const void *data, size_t len,
                      struct hoist_error **err)
{
        if (storage_key_check(key, err) < 0 ||
            st->ops->put_bytes(st->impl, key, data, len, err) < 0)
                return hoist_error_wrap(err, "store '%s'", key);
        return 0;
}

int storage_get_file(struct storage *st, const char *key, const char *dst, struct hoist_error **err)
{
        if (storage_key_check(key, err) < 0 || st->ops->get_file(st->impl, key, dst, err) < 0)
                return hoist_error_wrap(err, "fetch '%s'", key);
        return 0;
}

int storage_get_bytes(struct storage *st, const char *key, char **ret_data, size_t *ret_len,
                      struct hoist_error **err)
{
        if (storage_key_check(key, err) < 0 ||
            st->ops->get_bytes(st->impl, key, ret_data, ret_len, err) < 0)
                return hoist_error_wrap(err, "fetch '%s'", key);
        return 0;
}

int storage_read_ranges(struct storage *st, const struct storage_range *ranges, size_t n,
                        struct hoist_error **err)
{
        for (size_t i = 0; i < n; i++) {
                if (storage_key_check(ranges[i].key, err) < 0)
                        return -1;
                if (ranges[i].length == 0)
                        return hoist_error_make(err, HOIST_ERR_USAGE, "read '%s': an empty range",
                                                ranges[i].key);
        }
        return st->ops->read_ranges(st->impl, ranges, n, err);
}

int storage_exists(struct storage *st, const char *key, uint64_t *ret_size,
                   struct hoist_error **err)
{
        if (storage_key_check(key, err) < 0)
                return -1;
        return st->ops->exists(st->impl, key, ret_size, err);
}

int storage_delete(struct storage *st, const char *key, struct hoist_error **err)
{
        if (storage_key_check(key, err) < 0)
                return -1;
        return st->ops->delete (st->impl, key, err);
}

/* PREFIX without its trailing slashes, checked: *RET "" or a key. */
static int list_prefix(const char *prefix, char **ret, struct hoist_error **err)
{
        _cleanup_free_ char *rel = xstrdup(prefix ? prefix : "");
        size_t rl = strlen(rel);

        while (rl > 0 && rel[rl - 1] == '/')
                rel[--rl] = '\0';
        if (rl > 0 && storage_key_check(rel, err) < 0)
                return -1;
        *ret = TAKE_PTR(rel);
        return 0;
}

int storage_list(struct storage *st, const char *prefix, char ***ret_keys, struct hoist_error **err)
{
        struct storage_entry *e = NULL;
        size_t n = 0;
        char **keys;

        if (storage_list_entries(st, prefix, &e, &n, err) < 0)
                return -1;
        keys = xcalloc(n + 1, sizeof *keys);
        for (size_t i = 0; i < n; i++)
                keys[i] = TAKE_PTR(e[i].key);
        storage_entries_free(e, n);
        *ret_keys = keys;
        return 0;
}

int storage_list_entries(struct storage *st, const char *prefix, struct storage_entry **ret,
                         size_t *ret_n, struct hoist_error **err)
{
        _cleanup_free_ char *rel = NULL;

        if (list_prefix(prefix, &rel, err) < 0)
                return -1;
        return st->ops->list_entries(st->impl, rel, ret, ret_n, err);
}

void storage_entries_free(struct storage_entry *e, size_t n)
{
        if (e == NULL)
                return;
        for (size_t i = 0; i < n; i++)
                free(e[i].key);
        free(e);
}

int storage_list_partials(struct storage *st, struct storage_partial **ret, size_t *ret_n,
                          struct hoist_error **err)
{
        return st->ops->list_partials(st->impl, ret, ret_n, err);
}

int storage_abort_partial(struct storage *st, const struct storage_partial *p,
                          struct hoist_error **err)
{
        if (storage_key_check(p->key, err) < 0 || st->ops->abort_partial(st->impl, p, err) < 0)
                return hoist_error_wrap(err, "discard the unfinished write of '%s'", p->key);
        return 0;
}

void storage_partials_free(struct storage_partial *p, size_t n)
{
        if (p == NULL)
                return;
        for (size_t i = 0; i < n; i++) {
                free(p[i].key);
                free(p[i].id);
        }
        free(p);
}
