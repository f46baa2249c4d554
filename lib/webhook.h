/* SPDX-License-Identifier: MIT */
#ifndef HOIST_WEBHOOK_H
#define HOIST_WEBHOOK_H

/*
 * Standard Webhooks (https://www.standardwebhooks.com/): a request carries
 * webhook-id, webhook-timestamp (Unix seconds) and webhook-signature, a
 * space-separated list of "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>".
 * The key is the base64 text after "whsec_" in the secret.  No function here
 * puts a secret or a signature into an error message.
 */

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Seconds a timestamp may be away from now, either way. */
#define WEBHOOK_TOLERANCE_S 300

/* Key bytes are at most this long (a 64-byte key is the usual maximum). */
#define WEBHOOK_KEY_MAX 256

struct webhook_key {
        unsigned char bytes[WEBHOOK_KEY_MAX];
        size_t len;
};

/* Parses "whsec_<base64>" (or bare base64, as the reference libraries accept)
 * into KEY.  NAME says where the secret came from, for the error. */
int webhook_key_parse(const char *secret, const char *name, struct webhook_key *ret_key,
                      struct hoist_error **err);

/* A new random secret, "whsec_" + base64 of 32 random bytes. */
int webhook_secret_generate(char **ret_secret, struct hoist_error **err);

/* "v1,<base64>" for ID, TIMESTAMP and BODY (a malloc'd string). */
char *webhook_sign(const struct webhook_key *key, const char *id, int64_t timestamp,
                   const void *body, size_t body_len);

enum webhook_verify_result {
        WEBHOOK_OK = 0,
        WEBHOOK_BAD_HEADERS = -1,   /* a header is missing or malformed */
        WEBHOOK_BAD_TIMESTAMP = -2, /* outside the tolerance */
        WEBHOOK_BAD_SIGNATURE = -3, /* no v1 signature matches */
};

/* Verifies a request's three header values against BODY at NOW (Unix
 * seconds).  Any one matching "v1," signature of SIGNATURES passes; the
 * comparison takes constant time.  On failure returns the reason (negative)
 * with *err saying which check failed (never what was expected). */
int webhook_verify(const struct webhook_key *key, const char *id, const char *timestamp,
                   const char *signatures, const void *body, size_t body_len, int64_t now,
                   struct hoist_error **err);

/* Base64 (standard alphabet, padded).  Decoding rejects anything else; the
 * result is written to OUT (room for len*3/4 bytes) and its length returned,
 * or -1. */
char *webhook_base64_encode(const void *data, size_t len);
int webhook_base64_decode(const char *text, size_t len, unsigned char *out, size_t out_size);

#endif
