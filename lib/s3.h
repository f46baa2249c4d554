/* SPDX-License-Identifier: MIT */
#ifndef HOIST_S3_H
#define HOIST_S3_H

/*
 * An S3 client over libcurl: objects (GET, PUT, HEAD, DELETE), listings,
 * buckets, multipart uploads and presigned URLs, signed with SigV4.
 *
 * Addressing: a custom endpoint (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the
 * profile's endpoint_url, or s3_client_config.endpoint) is addressed
 * path-style, http(s)://endpoint/bucket/key; AWS itself virtual-host style,
 * https://bucket.s3.REGION.amazonaws.com/key, unless the bucket name is not
 * a DNS label (then path-style).
 *
 * Payloads: every body is signed with its real SHA-256 (x-amz-content-sha256),
 * over http and https alike.  This costs one extra read of a file (from the
 * page cache in practice) and lets the server refuse a corrupted body.  No
 * CRC checksum headers are sent: S3-compatible servers do not all know them.
 *
 * Retries: 5xx, 429, SlowDown, RequestTimeout and network failures are tried
 * again, up to max_attempts (AWS_MAX_ATTEMPTS, else 5, the first included),
 * after a jittered exponential backoff: attempt N waits between half and all
 * of base * 2^(N-1) ms ("equal jitter"), so the default retries of a request
 * span 7.5 to 15 s and outlive a restart of the server.  In a multipart upload or a parallel
 * download each part retries on its own; finished parts are never sent again.  A multipart upload
 * that fails is aborted, so no upload is left behind.
 *
 * Errors read "PUT s3://bucket/key: 403 SignatureDoesNotMatch: message".
 * Secrets and signatures never appear in errors or logs.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "error.h"
#include "s3creds.h"

#define S3_MIN_PART_SIZE (8u << 20)
#define S3_MAX_PARTS 10000
#define S3_MAX_PART_SIZE (5ull << 30)
#define S3_DEFAULT_MAX_ATTEMPTS 5
#define S3_DEFAULT_CONCURRENCY 8
/* Objects at least this large are fetched in parallel ranges. */
#define S3_PARALLEL_GET_MIN (32u << 20)

/* Called with the bytes moved so far and the total (0 when unknown) of the
 * running operation.  A non-zero return cancels it (ECANCELED); a cancelled
 * multipart upload is aborted like a failed one. */
typedef int (*s3_progress_fn)(void *userdata, uint64_t done, uint64_t total);

struct s3_client_config {
        const char *endpoint;            /* NULL: from the environment, else AWS */
        const char *region;              /* NULL: from the environment, else us-east-1 */
        int path_style;                  /* 1 path, 0 virtual-host, -1 (default) by endpoint */
        struct s3_creds_provider *creds; /* NULL: the default chain; else borrowed */
        unsigned max_attempts;           /* 0: AWS_MAX_ATTEMPTS, else S3_DEFAULT_MAX_ATTEMPTS */
        unsigned concurrency;            /* parallel parts; 0: S3_DEFAULT_CONCURRENCY */
        uint64_t part_size;              /* 0: adaptive from S3_MIN_PART_SIZE */
        unsigned backoff_base_ms;        /* 0: 1000 */
        unsigned backoff_max_ms;         /* 0: 20000 */
        s3_progress_fn progress;
        void *progress_userdata;
};

struct s3_client;

/* Makes a client; unset fields of CONFIG (which may be NULL) come from the
 * environment and the shared config file. */
int s3_client_new(const struct s3_client_config *config, struct s3_client **ret,
                  struct hoist_error **err);
void s3_client_free(struct s3_client *c);
/* Replaces the progress callback of s3_client_config (FN NULL: none), for
 * the operations that start after this call. */
void s3_client_set_progress(struct s3_client *c, s3_progress_fn fn, void *userdata);
const char *s3_client_endpoint(const struct s3_client *c);
const char *s3_client_region(const struct s3_client *c);
bool s3_client_path_style(const struct s3_client *c);

/* ---- objects ---- */

struct s3_object_info {
        uint64_t size;
        char *etag; /* as sent, quotes included */
        char *last_modified;
};
void s3_object_info_clear(struct s3_object_info *i);

/* HEAD: 1 and *ret when the object exists, 0 when it does not (404). */
int s3_head_object(struct s3_client *c, const char *bucket, const char *key,
                   struct s3_object_info *ret, struct hoist_error **err);

/* GET into a buffer (NUL-terminated, *ret_len excludes the NUL).  LENGTH 0
 * means "to the end"; OFFSET 0 and LENGTH 0 fetch the whole object. */
int s3_get_object(struct s3_client *c, const char *bucket, const char *key, uint64_t offset,
                  uint64_t length, char **ret_data, size_t *ret_len, struct hoist_error **err);

/* GET into the file PATH, atomically (a temporary file renamed into place).
 * An object of S3_PARALLEL_GET_MIN or more is fetched in parallel ranges
 * pinned to its ETag, so a change midway is an error, not a mix. */
int s3_get_file(struct s3_client *c, const char *bucket, const char *key, const char *path,
                struct hoist_error **err);

/* Receives the bytes of one ranged GET in order: POS is their offset in the
 * range.  A retry starts the range again, so POS 0 after bytes were given
 * means "forget them".  A non-zero return stops the whole batch. */
typedef int (*s3_sink_fn)(void *userdata, uint64_t pos, const void *data, size_t len);

struct s3_range_get {
        const char *key;
        uint64_t offset, length; /* LENGTH > 0 */
        s3_sink_fn sink;
        void *userdata;
};

/* The ranges GETS (of objects in BUCKET), concurrency at a time over one
 * event loop, each retried on its own; every sink sees exactly its range's
 * bytes.  A sink that stopped the batch makes it fail with ECANCELED (its
 * own error is the caller's to keep). */
int s3_get_ranges(struct s3_client *c, const char *bucket, const struct s3_range_get *gets,
                  size_t n, struct hoist_error **err);

/* PUT from memory or from a file.  A file larger than one part goes up as a
 * multipart upload.  *ret_etag (may be NULL) gets the ETag. */
int s3_put_object(struct s3_client *c, const char *bucket, const char *key, const void *data,
                  size_t len, const char *content_type, char **ret_etag, struct hoist_error **err);
int s3_put_file(struct s3_client *c, const char *bucket, const char *key, const char *path,
                const char *content_type, char **ret_etag, struct hoist_error **err);

/* DELETE; a missing object is not an error (S3 answers 204 either way). */
int s3_delete_object(struct s3_client *c, const char *bucket, const char *key,
                     struct hoist_error **err);

/* ---- listings and buckets ---- */

struct s3_object {
        char *key;
        uint64_t size;
        char *etag;
        char *last_modified;
};

struct s3_object_list {
        struct s3_object *objects;
        size_t n;
        char **common_prefixes; /* with a delimiter; NULL-terminated or NULL */
        unsigned pages;         /* requests it took */
};
void s3_object_list_clear(struct s3_object_list *l);

/* ListObjectsV2 over every page.  DELIMITER may be NULL; MAX_KEYS per page
 * (0: the server's default, 1000). */
int s3_list_objects(struct s3_client *c, const char *bucket, const char *prefix,
                    const char *delimiter, unsigned max_keys, struct s3_object_list *ret,
                    struct hoist_error **err);

/* ListBuckets: a NULL-terminated array of names. */
int s3_list_buckets(struct s3_client *c, char ***ret_names, struct hoist_error **err);
/* CreateBucket in the client's region; one that the caller owns already is
 * not an error. */
int s3_create_bucket(struct s3_client *c, const char *bucket, struct hoist_error **err);
int s3_delete_bucket(struct s3_client *c, const char *bucket, struct hoist_error **err);

/* ---- multipart uploads ---- */

struct s3_upload {
        char *key;
        char *upload_id;
        char *initiated; /* ISO 8601 as sent, or NULL */
};
/* ListMultipartUploads under PREFIX (every page). */
int s3_list_multipart_uploads(struct s3_client *c, const char *bucket, const char *prefix,
                              struct s3_upload **ret, size_t *ret_n, struct hoist_error **err);
void s3_uploads_free(struct s3_upload *u, size_t n);
int s3_abort_multipart_upload(struct s3_client *c, const char *bucket, const char *key,
                              const char *upload_id, struct hoist_error **err);

/* The upload of the file PATH in parts of s3_part_size(), sent in parallel. */
int s3_multipart_upload_file(struct s3_client *c, const char *bucket, const char *key,
                             const char *path, const char *content_type, char **ret_etag,
                             struct hoist_error **err);

/* ---- presigned URLs ---- */

/* A URL that lets anyone METHOD ("GET" or "PUT") the object for EXPIRES
 * seconds (1..604800).  The URL is a secret: do not log it. */
int s3_presign(struct s3_client *c, const char *method, const char *bucket, const char *key,
               unsigned expires, char **ret_url, struct hoist_error **err);

/* ---- the pure parts, exposed for tests ---- */

/* The part size for an object of SIZE bytes: PREFERRED (at least
 * S3_MIN_PART_SIZE) grown in MiB steps until the upload needs at most
 * S3_MAX_PARTS parts. */
uint64_t s3_part_size(uint64_t size, uint64_t preferred);

/* True when a request that ended with curl code RC (0 for a response), HTTP
 * STATUS and S3 error code CODE (may be NULL) is worth trying again. */
bool s3_retryable(int curl_rc, long status, const char *code);

/* The delay before attempt ATTEMPT (1 for the first retry): uniform in
 * [0, min(MAX_MS, BASE_MS * 2^(ATTEMPT-1))], drawn from RANDOM. */
unsigned s3_backoff_ms(unsigned attempt, unsigned base_ms, unsigned max_ms, uint32_t random);

/* True when BUCKET can be a virtual-host label (lowercase letters, digits and
 * '-', 3..63, no dots since they break TLS host matching). */
bool s3_bucket_dns_compatible(const char *bucket);

/* The URL of an object (KEY may be NULL for the bucket, BUCKET NULL for the
 * service) with the encoded QUERY (may be NULL), and the Host header and
 * request-line path it implies. */
struct s3_url {
        char *url;
        char *host; /* "host[:port]" as sent in Host */
        char *path; /* percent-encoded, for signing */
};
int s3_build_url(const struct s3_client *c, const char *bucket, const char *key, const char *query,
                 struct s3_url *ret, struct hoist_error **err);
void s3_url_clear(struct s3_url *u);

/* Turns an error response into *err: "WHAT: STATUS Code: Message", from the
 * XML body when there is one. */
int s3_error_from_response(long status, const char *body, size_t len, const char *what,
                           struct hoist_error **err);

static inline void s3_client_freep(struct s3_client **c)
{
        s3_client_free(*c);
}
#define _cleanup_s3_client_ __attribute__((cleanup(s3_client_freep)))

#endif
