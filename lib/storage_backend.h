/* SPDX-License-Identifier: MIT */
#ifndef HOIST_STORAGE_BACKEND_H
#define HOIST_STORAGE_BACKEND_H

/*
 * What a storage backend implements (lib/storage_<scheme>.c).  lib/storage.c
 * checks every key before a backend sees it and picks the backend by the URL's
 * scheme; a new backend is one new module and one line in storage.c.
 */

#include "storage.h"

struct storage_ops {
        const char *scheme; /* "file://" */
        /* Checks URL (which starts with scheme) without touching anything;
         * open() runs it first. */
        int (*check_url)(const char *url, struct hoist_error **err);
        /* Opens URL (which starts with scheme); sets *ret_impl.  OPTS may be NULL. */
        int (*open)(const char *url, const struct storage_options *opts, void **ret_impl,
                    struct hoist_error **err);
        void (*close)(void *impl);
        int (*put_file)(void *impl, const char *key, const char *src, struct hoist_error **err);
        int (*put_bytes)(void *impl, const char *key, const void *data, size_t len,
                         struct hoist_error **err);
        int (*get_file)(void *impl, const char *key, const char *dst, struct hoist_error **err);
        int (*get_bytes)(void *impl, const char *key, char **ret_data, size_t *ret_len,
                         struct hoist_error **err);
        int (*read_ranges)(void *impl, const struct storage_range *ranges, size_t n,
                           struct hoist_error **err);
        int (*exists)(void *impl, const char *key, uint64_t *ret_size, struct hoist_error **err);
        int (*delete)(void *impl, const char *key, struct hoist_error **err);
        /* PREFIX is "" or a checked key: every key under it, with sizes and
         * times (storage_list() takes the keys from it). */
        int (*list_entries)(void *impl, const char *prefix, struct storage_entry **ret,
                            size_t *ret_n, struct hoist_error **err);
        /* Unfinished writes anywhere in the store. */
        int (*list_partials)(void *impl, struct storage_partial **ret, size_t *ret_n,
                             struct hoist_error **err);
        int (*abort_partial)(void *impl, const struct storage_partial *p, struct hoist_error **err);
        void (*locate)(const void *impl, struct storage_location *ret);
        /* NULL when the backend reports no progress. */
        void (*set_progress)(void *impl, storage_progress_fn fn, void *userdata);
        /* NULL when the backend has no local paths. */
        char *(*local_path)(const void *impl, const char *key);
};

extern const struct storage_ops storage_file_ops;
extern const struct storage_ops storage_s3_ops;

#endif
