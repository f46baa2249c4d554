/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_S3AUTH_H
#define HOIST_SERVE_S3AUTH_H

/*
 * SigV4 on the server side of `hoist serve`: from a request as received
 * (method, raw path, raw query, every header) to the parts of its signature
 * (s3auth_parse(), a pure function), then the signature recomputed with
 * lib/sigv4 from the secret and compared in constant time (s3auth_verify()).
 *
 * Two forms: the Authorization header (X-Amz-Date and X-Amz-Content-Sha256
 * required), and presigned URLs (X-Amz-Algorithm, -Credential, -Date,
 * -Expires, -SignedHeaders, -Signature in the query; the payload is
 * UNSIGNED-PAYLOAD).  Clocks may differ by S3AUTH_MAX_SKEW seconds.
 * Failures return a negated enum s3err; messages never carry a secret or a
 * signature.
 */

#include <stddef.h>
#include <time.h>

#include "error.h"
#include "sigv4.h"

#define S3AUTH_MAX_SKEW (15 * 60)

struct s3auth_input {
        const char *method;
        const char *path;                   /* as in the request line, percent-encoded */
        const char *query;                  /* after '?', as sent; NULL or "" for none */
        const struct sigv4_header *headers; /* every header, in the order received */
        size_t n_headers;
};

enum s3auth_kind { S3AUTH_ANONYMOUS, S3AUTH_HEADER, S3AUTH_PRESIGNED };

enum s3auth_payload {
        S3AUTH_PAYLOAD_HASH,      /* payload_hash is 64 hex digits of the body */
        S3AUTH_PAYLOAD_UNSIGNED,  /* UNSIGNED-PAYLOAD */
        S3AUTH_PAYLOAD_STREAMING, /* STREAMING-...: aws-chunked, not supported */
};

/* Release with s3auth_request_clear(). */
struct s3auth_request {
        enum s3auth_kind kind;
        char *access_key_id;
        char *region;
        char signature[SIGV4_SIGNATURE_HEX_LEN + 1];
        time_t time;      /* X-Amz-Date */
        unsigned expires; /* presigned: X-Amz-Expires */
        char *payload_hash;
        enum s3auth_payload payload;
        char *query; /* the query to sign: presigned: without the X-Amz-* signing parameters */
        struct sigv4_header *headers; /* the signed headers and their values, owned */
        size_t n_headers;
};

/* Parses IN into *ret (written only on success).  A request with neither an
 * Authorization header nor X-Amz-Signature is S3AUTH_ANONYMOUS. */
int s3auth_parse(const struct s3auth_input *in, struct s3auth_request *ret,
                 struct hoist_error **err);
void s3auth_request_clear(struct s3auth_request *r);

/* Checks the time against NOW and recomputes the signature with SECRET:
 * 0, or -S3ERR_SIGNATURE_DOES_NOT_MATCH, -S3ERR_REQUEST_TIME_TOO_SKEWED,
 * -S3ERR_ACCESS_DENIED (an expired presigned URL). */
/* The request lib/sigv4 signs for R as parsed from IN, with SECRET: the
 * server recomputes the client's signature from exactly this. */
struct sigv4_request s3auth_signing_request(const struct s3auth_input *in,
                                            const struct s3auth_request *r, const char *secret);

int s3auth_verify(const struct s3auth_input *in, const struct s3auth_request *r, const char *secret,
                  time_t now, struct hoist_error **err);

/* "YYYYMMDDTHHMMSSZ" to a time; -1 when malformed. */
int s3auth_parse_amz_date(const char *s, time_t *ret);

/* Percent-decodes N bytes of S; NULL when the result would hold a NUL or a
 * '%' is not followed by two hex digits.  '+' stays '+'. */
char *s3auth_uri_decode(const char *s, size_t n);

#endif
