/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SIGV4_H
#define HOIST_SIGV4_H

/*
 * AWS Signature Version 4 (AWS4-HMAC-SHA256): the signing side for S3 and
 * other AWS-style endpoints, and the parsing half of a server-side verifier.
 *
 * A request is described by struct sigv4_request.  Its path is the path as
 * sent in the HTTP request line, percent-encoded (build it from an object key
 * with sigv4_uri_encode_path()).  How the canonical URI comes from it depends
 * on the service, as AWS specifies:
 *   - "s3": no normalization at all ("a/../b" and "//" stay); each segment is
 *     percent-decoded and re-encoded once, so an already-encoded path keeps
 *     its form and stray raw bytes (a space, UTF-8) get encoded.
 *   - any other service: dot segments are removed and runs of '/' collapsed,
 *     then each segment is URI-encoded again ('%' becomes "%25"), which is
 *     AWS's "double encoding" of the original name.
 * The query string is split on '&' and '=', each key and value decoded and
 * re-encoded (RFC 3986 unreserved set kept, '+' is a literal plus), then
 * sorted by key and value.
 *
 * Every header in the list is signed.  Names are lowercased, values trimmed
 * and runs of whitespace (folded lines included) collapsed to one space, and
 * repeated names joined with ',' in order.  The caller sends the same headers;
 * Host and X-Amz-Date (sigv4_amz_date()) must be among them for the
 * Authorization form, and S3 also wants X-Amz-Content-Sha256.  With a session
 * token and no X-Amz-Security-Token header in the list, the token is signed as
 * that header, and the caller must send it.
 *
 * Secret keys and signatures never appear in an error message.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "error.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* SHA-256 of the empty payload. */
#define SIGV4_EMPTY_PAYLOAD_SHA256                                                                 \
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_SIGNATURE_HEX_LEN 64
#define SIGV4_KEY_LEN 32
/* "20150830T123600Z" and a NUL. */
#define SIGV4_AMZ_DATE_SIZE 17
/* Longest X-Amz-Expires AWS accepts: seven days. */
#define SIGV4_MAX_EXPIRES 604800

struct sigv4_header {
        const char *name;
        const char *value;
};

struct sigv4_credentials {
        const char *access_key_id;
        const char *secret_access_key;
        const char *session_token; /* NULL for long-term keys */
};

struct sigv4_request {
        const char *method; /* "GET", sent as is */
        const char *path;   /* request-line path, percent-encoded; NULL or "" is "/" */
        const char *query;  /* after '?', encoded; NULL or "" for none */
        const struct sigv4_header *headers;
        size_t n_headers;
        /* 64 lowercase hex, "UNSIGNED-PAYLOAD" or "STREAMING-..."; NULL is the
         * hash of an empty payload. */
        const char *payload_hash;
        struct sigv4_credentials creds;
        const char *region;
        const char *service;
        time_t time; /* signing time, UTC */
};

/* Everything a signature is made of.  Release with sigv4_result_clear(). */
struct sigv4_result {
        char *canonical_request;
        char *string_to_sign;
        char signature[SIGV4_SIGNATURE_HEX_LEN + 1];
        char *authorization; /* sigv4_sign(): the Authorization header value */
        /* sigv4_presign(): the query string to send after '?', the request's
         * own parameters and the X-Amz-* ones, X-Amz-Signature last. */
        char *presigned_query;
};

/* Signs REQ for an Authorization header; fills every field but
 * presigned_query. */
int sigv4_sign(const struct sigv4_request *req, struct sigv4_result *ret, struct hoist_error **err);

/* Signs REQ as a presigned URL valid for EXPIRES seconds (1..604800): the
 * X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders and, with a
 * session token, -Security-Token parameters are signed in the query.  S3
 * wants payload_hash "UNSIGNED-PAYLOAD" here.  Fills every field but
 * authorization. */
int sigv4_presign(const struct sigv4_request *req, unsigned expires, struct sigv4_result *ret,
                  struct hoist_error **err);

/* Frees the strings and wipes the signature; accepts a zeroed struct. */
void sigv4_result_clear(struct sigv4_result *r);

/* Shortcuts over sigv4_sign() that return one field (NULL on failure). */
char *sigv4_canonical_request(const struct sigv4_request *req, struct hoist_error **err);
char *sigv4_string_to_sign(const struct sigv4_request *req, struct hoist_error **err);
int sigv4_signature(const struct sigv4_request *req, char ret_hex[SIGV4_SIGNATURE_HEX_LEN + 1],
                    struct hoist_error **err);
char *sigv4_authorization(const struct sigv4_request *req, struct hoist_error **err);
/* The presigned query string of sigv4_presign(). */
char *sigv4_presign_query(const struct sigv4_request *req, unsigned expires,
                          struct hoist_error **err);

/* Formats T as "YYYYMMDDTHHMMSSZ" (UTC). */
int sigv4_amz_date(time_t t, char ret[SIGV4_AMZ_DATE_SIZE], struct hoist_error **err);

/* The signing key for DATE ("YYYYMMDD"), REGION and SERVICE.  A caller that
 * signs many requests may keep it per (secret, date, region, service); wipe
 * it with OPENSSL_cleanse() when done. */
void sigv4_signing_key(const char *secret_access_key, const char *date, const char *region,
                       const char *service, uint8_t ret_key[SIGV4_KEY_LEN]);

/* Percent-encodes every byte outside A-Z a-z 0-9 - _ . ~ ("%2F" for '/'). */
char *sigv4_uri_encode(const char *s);
/* The same, keeping '/': turns an object key such as "/bucket/my file" into
 * the request-line path "/bucket/my%20file". */
char *sigv4_uri_encode_path(const char *s);

/* ---- the verifier side ---- */

/* A parsed "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..."
 * header.  Release with sigv4_auth_clear(). */
struct sigv4_auth {
        char *access_key_id;
        char date[9]; /* YYYYMMDD of the credential scope */
        char *region;
        char *service;
        char **signed_headers;    /* NULL-terminated, lowercase, sorted */
        char *signed_headers_str; /* "host;x-amz-date" as sent */
        char signature[SIGV4_SIGNATURE_HEX_LEN + 1];
};

/* Parses HEADER strictly: the algorithm, then Credential, SignedHeaders and
 * Signature, each exactly once, separated by ',' and optional spaces.  The
 * credential scope has exactly five parts ending in "aws4_request"; the
 * signed headers are lowercase, sorted, unique and include "host"; the
 * signature is 64 lowercase hex digits.  *ret is written only on success. */
int sigv4_parse_authorization(const char *header, struct sigv4_auth *ret, struct hoist_error **err);
void sigv4_auth_clear(struct sigv4_auth *a);

/* Compares two signatures in constant time; false unless both are 64 hex
 * digits and equal. */
bool sigv4_signature_equal(const char *a, const char *b);

static inline void sigv4_result_clearp(struct sigv4_result *r)
{
        sigv4_result_clear(r);
}
static inline void sigv4_auth_clearp(struct sigv4_auth *a)
{
        sigv4_auth_clear(a);
}
#define _cleanup_sigv4_result_ __attribute__((cleanup(sigv4_result_clearp)))
#define _cleanup_sigv4_auth_ __attribute__((cleanup(sigv4_auth_clearp)))

#endif
