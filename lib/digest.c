/* SPDX-License-Identifier: MIT */
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

struct digest_ctx {
        EVP_MD_CTX *md;
};

struct digest_ctx *digest_new(void)
{
        struct digest_ctx *ctx = malloc(sizeof *ctx);

        if (ctx == NULL)
                abort();
        ctx->md = EVP_MD_CTX_new();
        if (ctx->md == NULL || EVP_DigestInit_ex(ctx->md, EVP_sha256(), NULL) != 1)
                abort();
        return ctx;
}

void digest_update(struct digest_ctx *ctx, const void *data, size_t len)
{
        if (EVP_DigestUpdate(ctx->md, data, len) != 1)
                abort();
}

void digest_to_hex(const uint8_t *bytes, size_t n, char *hex)
{
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                hex[2 * i] = digits[bytes[i] >> 4];
                hex[2 * i + 1] = digits[bytes[i] & 0xf];
        }
        hex[2 * n] = '\0';
}

void digest_final_hex(struct digest_ctx *ctx, char hex[DIGEST_HEX_LEN + 1])
{
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;

        if (EVP_DigestFinal_ex(ctx->md, md, &n) != 1 || n != DIGEST_SHA256_LEN)
                abort();
        digest_to_hex(md, n, hex);
        digest_free(ctx);
}

void digest_free(struct digest_ctx *ctx)
{
        if (ctx == NULL)
                return;
        EVP_MD_CTX_free(ctx->md);
        free(ctx);
}

void digest_sha256(const void *data, size_t len, uint8_t out[DIGEST_SHA256_LEN])
{
        unsigned int n = 0;

        if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1)
                abort();
}

void digest_sha256_hex(const void *data, size_t len, char hex[DIGEST_HEX_LEN + 1])
{
        uint8_t md[DIGEST_SHA256_LEN];

        digest_sha256(data, len, md);
        digest_to_hex(md, sizeof md, hex);
}

int digest_file_hex(const char *path, char hex[DIGEST_HEX_LEN + 1], uint64_t *ret_size,
                    struct hoist_error **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct digest_ctx *ctx;
        uint64_t total = 0;
        static __thread char chunk[1 << 16];

        if (fd < 0)
                return hoist_error_errno(err, "open '%s'", path);
        ctx = digest_new();
        for (;;) {
                ssize_t n = read(fd, chunk, sizeof chunk);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int e = errno;
                        digest_free(ctx);
                        return hoist_error_make(err, e, "read '%s'", path);
                }
                if (n == 0)
                        break;
                digest_update(ctx, chunk, (size_t)n);
                total += (uint64_t)n;
        }
        digest_final_hex(ctx, hex);
        if (ret_size)
                *ret_size = total;
        return 0;
}

int digest_hex_digit(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int digest_hex_valid(const char *hex)
{
        size_t i;

        if (hex == NULL)
                return 0;
        for (i = 0; hex[i]; i++) {
                char c = hex[i];
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                        return 0;
        }
        return i == DIGEST_HEX_LEN;
}

const char *digest_parse(const char *s)
{
        if (s == NULL || strncmp(s, "sha256:", 7) != 0 || !digest_hex_valid(s + 7))
                return NULL;
        return s + 7;
}

void digest_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                        uint8_t out[DIGEST_SHA256_LEN])
{
        unsigned int n = 0;

        if (HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) == NULL)
                abort();
}
