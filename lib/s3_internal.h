/* SPDX-License-Identifier: MIT */
#ifndef HOIST_S3_INTERNAL_H
#define HOIST_S3_INTERNAL_H

/*
 * What lib/s3*.c share: the client, and one request ("transfer") that can be
 * run alone (s3_perform) or with others over curl's multi interface
 * (s3_perform_parallel), each retried on its own.  Include <curl/curl.h>
 * first.
 */

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "digest.h"
#include "s3.h"
#include "s3xml.h"

struct s3_client {
        char *scheme;    /* "http" or "https" */
        char *host;      /* "host[:port]" of the endpoint */
        char *base_path; /* the endpoint's own path, "" or "/x" (no trailing '/') */
        char *endpoint;  /* as given, for messages */
        char *region;
        bool path_style;
        struct s3_creds_provider *creds;
        bool own_creds;
        unsigned max_attempts, concurrency, backoff_base_ms, backoff_max_ms;
        uint64_t part_size;
        s3_progress_fn progress;
        void *progress_userdata;
        uint32_t rng;
        CURLSH *share; /* connections and DNS reused across requests */
};

/* The bytes of one operation, for the progress callback. */
struct s3_progress {
        struct s3_client *client;
        uint64_t done, total;
        bool canceled;
};

struct s3_xfer {
        /* the request */
        const char *method;
        const char *bucket, *key;
        char *query; /* encoded, or NULL */
        char *range; /* "bytes=a-b", or NULL */
        char *if_match;
        const char *content_type;
        bool has_body;
        const char *body; /* from memory ... */
        int body_fd;      /* ... or from a file at body_off */
        uint64_t body_off, body_len;
        char payload_hash[DIGEST_HEX_LEN + 1]; /* computed once */
        /* the response: a 2xx body goes to out_fd at out_off when out_fd >= 0,
         * anything else to resp */
        int out_fd;
        uint64_t out_off;
        s3_sink_fn sink; /* ... or to SINK, when set */
        void *sink_userdata;
        struct buf resp;
        long status;
        char *etag, *last_modified;
        uint64_t content_length;
        bool have_length;
        /* the engine */
        CURL *h;
        struct curl_slist *hdrs;
        char errbuf[CURL_ERROR_SIZE];
        uint64_t sent, received; /* this attempt */
        int64_t reported;        /* to the progress callback, this attempt */
        int sink_errno;
        unsigned attempt;
        uint64_t not_before_ms;
        bool running, done;
        size_t hash_slot; /* 1 + its index in s3_perform_parallel's hasher, or 0 */
        struct s3_progress *progress;
        char *what; /* "PUT s3://bucket/key" for errors */
};

void s3_xfer_init(struct s3_xfer *x, const char *method, const char *bucket, const char *key);
void s3_xfer_clear(struct s3_xfer *x);
/* Runs X to a 2xx answer (or 404 when ALLOW_404), retrying; on failure *err
 * names the request. */
int s3_perform(struct s3_client *c, struct s3_xfer *x, bool allow_404, struct hoist_error **err);
/* Runs XS together, CONCURRENCY at a time; X->done marks those finished, so a
 * second call sends only what is left.  Stops at the first failure that
 * retries cannot fix. */
int s3_perform_parallel(struct s3_client *c, struct s3_xfer **xs, size_t n,
                        struct hoist_error **err);

/* "s3://bucket/key" for messages. */
char *s3_describe(const char *bucket, const char *key);

/* Parses BODY as XML rooted at EXPECT (an <Error> root is turned into *err). */
int s3_parse_xml_reply(const struct s3_xfer *x, const char *expect, struct s3xml_node **ret,
                       struct hoist_error **err);

#endif
