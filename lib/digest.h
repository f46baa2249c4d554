/* SPDX-License-Identifier: MIT */
#ifndef HOIST_DIGEST_H
#define HOIST_DIGEST_H

/* SHA-256 digests in the OCI form "sha256:<64 hex>" and as bare hex. */

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define DIGEST_SHA256_LEN 32
#define DIGEST_HEX_LEN 64
/* "sha256:" + 64 hex + NUL */
#define DIGEST_STR_SIZE (7 + DIGEST_HEX_LEN + 1)

struct digest_ctx; /* opaque streaming state */

struct digest_ctx *digest_new(void);
void digest_update(struct digest_ctx *ctx, const void *data, size_t len);
/* Writes 64 lowercase hex digits and a NUL to HEX (65 bytes), and frees ctx. */
void digest_final_hex(struct digest_ctx *ctx, char hex[DIGEST_HEX_LEN + 1]);
void digest_free(struct digest_ctx *ctx);

void digest_sha256(const void *data, size_t len, uint8_t out[DIGEST_SHA256_LEN]);
void digest_sha256_hex(const void *data, size_t len, char hex[DIGEST_HEX_LEN + 1]);
int digest_file_hex(const char *path, char hex[DIGEST_HEX_LEN + 1], uint64_t *ret_size,
                    struct hoist_error **err);
void digest_to_hex(const uint8_t *bytes, size_t n, char *hex);

/* The value of one hex digit (either case), or -1. */
int digest_hex_digit(char c);

/* True for exactly 64 lowercase hex digits. */
int digest_hex_valid(const char *hex);
/* Accepts "sha256:<hex>" and returns a pointer to the hex part, or NULL. */
const char *digest_parse(const char *s);

/* HMAC-SHA256 of DATA with KEY into out (32 bytes). */
void digest_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                        uint8_t out[DIGEST_SHA256_LEN]);

static inline void digest_freep(struct digest_ctx **c)
{
        digest_free(*c);
}
#define _cleanup_digest_ __attribute__((cleanup(digest_freep)))

#endif
