/* SPDX-License-Identifier: MIT */
#ifndef HOIST_STORAGE_H
#define HOIST_STORAGE_H

/*
 * Where jobs keep their bytes (DESIGN.md "Storage layout"), behind one narrow
 * interface so that a backend is one module:
 *   blobs/sha256/<digest>   content-addressed inputs
 *   jobs/<id>/job.json, checkpoints/, output/, logs/<node>.log, events/, result.json
 * Keys are relative, '/'-separated, with no empty, "." or ".." segment.
 * Backend v0 is file://: a directory tree, every write atomic.
 */

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct storage;

/* How to reach an s3:// store when the environment's AWS settings are not
 * the ones to use (the built-in endpoint, a job's own short-lived key).
 * Every field may be NULL: the usual AWS variables and files decide. */
struct storage_options {
        const char *endpoint; /* "http://127.0.0.1:9000" */
        const char *region;
        const char *access_key_id;
        const char *secret_access_key; /* never logged */
        const char *session_token;
};

/* Opens a storage URL: "file:///abs/dir" (the directory is created) or
 * "s3://bucket[/prefix]" (endpoint, region and credentials from the usual
 * AWS environment variables and files). */
int storage_open(const char *url, struct storage **ret, struct hoist_error **err);
/* The same with explicit options for s3:// (ignored for file://). */
int storage_open_with(const char *url, const struct storage_options *opts, struct storage **ret,
                      struct hoist_error **err);
void storage_close(struct storage *st);
const char *storage_url(const struct storage *st);

/* Called with the bytes sent so far and the total (0 when unknown) while a
 * file goes up; a non-zero return cancels the transfer (ECANCELED). */
typedef int (*storage_progress_fn)(void *userdata, uint64_t done, uint64_t total);

/* Reports the transfers that start after this call to FN (NULL: to nobody).
 * Backends with nothing to report (file://) never call it. */
void storage_set_progress(struct storage *st, storage_progress_fn fn, void *userdata);

/* Stores the local file SRC under KEY (atomic: readers never see part of it). */
int storage_put_file(struct storage *st, const char *key, const char *src,
                     struct hoist_error **err);
int storage_put_bytes(struct storage *st, const char *key, const void *data, size_t len,
                      struct hoist_error **err);
/* Fetches KEY into the local file DST (atomic). */
int storage_get_file(struct storage *st, const char *key, const char *dst,
                     struct hoist_error **err);
int storage_get_bytes(struct storage *st, const char *key, char **ret_data, size_t *ret_len,
                      struct hoist_error **err);
/* Receives the bytes of one range in order (POS: their offset in it); a
 * retry starts the range again, so POS 0 after bytes means "forget them".
 * Non-zero stops every read. */
typedef int (*storage_sink_fn)(void *userdata, uint64_t pos, const void *data, size_t len);

struct storage_range {
        const char *key;
        uint64_t offset, length; /* LENGTH > 0 */
        storage_sink_fn sink;
        void *userdata;
};

/* Reads every range of RANGES, in parallel where the backend can (s3://:
 * one event loop, the client's concurrency), each into its sink.  A sink
 * that stopped the reads makes this fail with ECANCELED; a range past its
 * object's end is an error. */
int storage_read_ranges(struct storage *st, const struct storage_range *ranges, size_t n,
                        struct hoist_error **err);

/* 1 if KEY exists (writing its size to *ret_size when given), 0 if not, -1 on error. */
int storage_exists(struct storage *st, const char *key, uint64_t *ret_size,
                   struct hoist_error **err);
int storage_delete(struct storage *st, const char *key, struct hoist_error **err);
/* Every key under PREFIX (recursive), sorted; NULL-terminated. */
int storage_list(struct storage *st, const char *prefix, char ***ret_keys,
                 struct hoist_error **err);

/* An object with what a sweep needs to know of it. */
struct storage_entry {
        char *key;
        uint64_t size;
        int64_t mtime_s; /* last written, seconds since the epoch; 0 when unknown */
};
/* Every object under PREFIX (recursive, like storage_list) with its size
 * and time. */
int storage_list_entries(struct storage *st, const char *prefix, struct storage_entry **ret,
                         size_t *ret_n, struct hoist_error **err);
void storage_entries_free(struct storage_entry *e, size_t n);

/* A write that never finished: an S3 multipart upload never completed or
 * aborted, or a file:// temporary file ("KEY.tmp.XXXXXX") whose writer was
 * killed before its rename.  Neither is an object: storage_list skips them. */
struct storage_partial {
        char *key;       /* the object it would have become (file://: the temporary file) */
        char *id;        /* the upload id, or NULL */
        uint64_t size;   /* bytes held, when known */
        int64_t start_s; /* when it began (file://: last written) */
};
int storage_list_partials(struct storage *st, struct storage_partial **ret, size_t *ret_n,
                          struct hoist_error **err);
/* Discards P (AbortMultipartUpload, or unlink). */
int storage_abort_partial(struct storage *st, const struct storage_partial *p,
                          struct hoist_error **err);
void storage_partials_free(struct storage_partial *p, size_t n);

/* Where a store is, as job.json's storage block gives it (docs/jobspec.md):
 * ENDPOINT is the file:// URL itself, or the S3 endpoint in use; REGION,
 * BUCKET and PREFIX are NULL for file://.  Strings are owned by the store. */
struct storage_location {
        const char *endpoint;
        const char *region;
        const char *bucket;
        const char *prefix;
};
void storage_locate(const struct storage *st, struct storage_location *ret);

/* For a file:// store, the local path of KEY (not checked for existence);
 * NULL for a remote store.  Lets a local runtime bind-mount instead of copy. */
char *storage_local_path(const struct storage *st, const char *key);

/* 0 when KEY is a valid relative key, else an error naming it.  The one
 * rule for keys: the runner's writes, the entrypoint's reads and an s3://
 * URL's prefix all go through it. */
int storage_key_check(const char *key, struct hoist_error **err);

/* 0 when URL is one storage_open() accepts (checked without opening it:
 * nothing is created or contacted), else an error saying how to write it. */
int storage_url_check(const char *url, struct hoist_error **err);

static inline void storage_closep(struct storage **s)
{
        storage_close(*s);
}
#define _cleanup_storage_ __attribute__((cleanup(storage_closep)))

#endif
