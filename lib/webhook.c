/* SPDX-License-Identifier: MIT */
#include "webhook.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "buf.h"
#include "cleanup.h"
#include "digest.h"
#include "xalloc.h"

#define SECRET_PREFIX "whsec_"

static const char b64_alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *webhook_base64_encode(const void *data, size_t len)
{
        const unsigned char *p = data;
        char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;

        for (size_t i = 0; i < len; i += 3) {
                uint32_t v = (uint32_t)p[i] << 16;
                size_t n = len - i < 3 ? len - i : 3;
                if (n > 1)
                        v |= (uint32_t)p[i + 1] << 8;
                if (n > 2)
                        v |= p[i + 2];
                *o++ = b64_alphabet[(v >> 18) & 63];
                *o++ = b64_alphabet[(v >> 12) & 63];
                *o++ = n > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
                *o++ = n > 2 ? b64_alphabet[v & 63] : '=';
        }
        *o = '\0';
        return out;
}

static int b64_value(char c)
{
        const char *p = c != '\0' ? strchr(b64_alphabet, c) : NULL;
        return p != NULL ? (int)(p - b64_alphabet) : -1;
}

int webhook_base64_decode(const char *text, size_t len, unsigned char *out, size_t out_size)
{
        size_t n = 0, pad = 0;
        uint32_t acc = 0;
        int bits = 0;

        if (len % 4 != 0)
                return -1;
        while (pad < 2 && pad < len && text[len - 1 - pad] == '=')
                pad++;
        for (size_t i = 0; i < len - pad; i++) {
                int v = b64_value(text[i]);
                if (v < 0)
                        return -1;
                acc = (acc << 6) | (uint32_t)v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        if (n >= out_size)
                                return -1;
                        out[n++] = (unsigned char)(acc >> bits);
                        acc &= (1u << bits) - 1;
                }
        }
        /* Leftover bits must be zero, or two texts would decode the same. */
        if (acc != 0)
                return -1;
        return (int)n;
}

int webhook_key_parse(const char *secret, const char *name, struct webhook_key *ret_key,
                      struct hoist_error **err)
{
        const char *b64 = secret;
        int n;

        if (secret == NULL || *secret == '\0')
                return hoist_error_make(err, HOIST_ERR_INPUT, "webhook secret from %s is empty",
                                        name);
        if (strncmp(secret, SECRET_PREFIX, strlen(SECRET_PREFIX)) == 0)
                b64 = secret + strlen(SECRET_PREFIX);
        n = webhook_base64_decode(b64, strlen(b64), ret_key->bytes, sizeof ret_key->bytes);
        if (n <= 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "webhook secret from %s is not 'whsec_' followed by "
                                        "base64 of at most %d bytes (make one with 'echo "
                                        "whsec_$(head -c 32 /dev/urandom | base64)')",
                                        name, WEBHOOK_KEY_MAX);
        ret_key->len = (size_t)n;
        return 0;
}

int webhook_secret_generate(char **ret_secret, struct hoist_error **err)
{
        unsigned char key[32];
        _cleanup_free_ char *b64 = NULL;
        size_t got = 0;

        while (got < sizeof key) {
                ssize_t r = getrandom(key + got, sizeof key - got, 0);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return hoist_error_errno(err, "webhook secret: getrandom");
                }
                got += (size_t)r;
        }
        b64 = webhook_base64_encode(key, sizeof key);
        explicit_bzero(key, sizeof key);
        *ret_secret = xasprintf(SECRET_PREFIX "%s", b64);
        explicit_bzero(b64, strlen(b64));
        return 0;
}

static void sign_raw(const struct webhook_key *key, const char *id, int64_t timestamp,
                     const void *body, size_t body_len, uint8_t mac[DIGEST_SHA256_LEN])
{
        _cleanup_buf_ struct buf msg = {0};

        buf_printf(&msg, "%s.%" PRId64 ".", id, timestamp);
        buf_append(&msg, body, body_len);
        digest_hmac_sha256(key->bytes, key->len, msg.data, msg.len, mac);
}

char *webhook_sign(const struct webhook_key *key, const char *id, int64_t timestamp,
                   const void *body, size_t body_len)
{
        uint8_t mac[DIGEST_SHA256_LEN];
        _cleanup_free_ char *b64 = NULL;

        sign_raw(key, id, timestamp, body, body_len, mac);
        b64 = webhook_base64_encode(mac, sizeof mac);
        return xasprintf("v1,%s", b64);
}

/* Compares without an early exit, so timing tells nothing of where a forged
 * signature first differs. */
static int equal_ct(const uint8_t *a, const uint8_t *b, size_t n)
{
        volatile uint8_t diff = 0;

        for (size_t i = 0; i < n; i++)
                diff |= a[i] ^ b[i];
        return diff == 0;
}

static int parse_timestamp(const char *s, int64_t *ret)
{
        char *end;
        long long v;

        if (s == NULL || *s < '0' || *s > '9' || strlen(s) > 18)
                return -1;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || *end != '\0')
                return -1;
        *ret = v;
        return 0;
}

/* 1 when one "v1,<base64>" item of the space-separated LIST equals MAC. */
static int any_signature_matches(const char *list, const uint8_t mac[DIGEST_SHA256_LEN])
{
        int found = 0;

        for (const char *p = list; *p != '\0';) {
                size_t n;
                p += strspn(p, " ");
                n = strcspn(p, " ");
                if (n > 3 && strncmp(p, "v1,", 3) == 0 && n - 3 <= 64) {
                        uint8_t got[48];
                        int len = webhook_base64_decode(p + 3, n - 3, got, sizeof got);
                        if (len == DIGEST_SHA256_LEN && equal_ct(got, mac, DIGEST_SHA256_LEN))
                                found = 1;
                }
                p += n;
        }
        return found;
}

int webhook_verify(const struct webhook_key *key, const char *id, const char *timestamp,
                   const char *signatures, const void *body, size_t body_len, int64_t now,
                   struct hoist_error **err)
{
        uint8_t mac[DIGEST_SHA256_LEN];
        int64_t ts;

        if (id == NULL || *id == '\0' || strlen(id) > 256) {
                hoist_error_make(err, HOIST_ERR_INPUT, "webhook-id header is missing or invalid");
                return WEBHOOK_BAD_HEADERS;
        }
        if (signatures == NULL || *signatures == '\0') {
                hoist_error_make(err, HOIST_ERR_INPUT, "webhook-signature header is missing");
                return WEBHOOK_BAD_HEADERS;
        }
        if (parse_timestamp(timestamp, &ts) < 0) {
                hoist_error_make(err, HOIST_ERR_INPUT,
                                 "webhook-timestamp header is missing or not Unix seconds");
                return WEBHOOK_BAD_HEADERS;
        }
        if (ts < now - WEBHOOK_TOLERANCE_S || ts > now + WEBHOOK_TOLERANCE_S) {
                hoist_error_make(err, HOIST_ERR_INPUT,
                                 "webhook-timestamp %" PRId64 " is more than %d s away from now "
                                 "(%" PRId64 "); check the sender's clock",
                                 ts, WEBHOOK_TOLERANCE_S, now);
                return WEBHOOK_BAD_TIMESTAMP;
        }
        sign_raw(key, id, ts, body, body_len, mac);
        if (!any_signature_matches(signatures, mac)) {
                hoist_error_make(err, HOIST_ERR_INPUT,
                                 "no webhook-signature matches (wrong secret or altered body)");
                return WEBHOOK_BAD_SIGNATURE;
        }
        return WEBHOOK_OK;
}
