/* SPDX-License-Identifier: MIT */
/*
 * AWS Signature Version 4, after AWS's "Create a signed AWS API request" and
 * the S3 API reference ("Authenticating Requests").  Checked against AWS's
 * published test suite (tests/data/aws-sigv4-testsuite) and S3's examples.
 */
#include "sigv4.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "digest.h"
#include "xalloc.h"

/* Longest Authorization header the parser looks at; real ones are < 1 KiB. */
#define AUTH_HEADER_MAX 8192

static bool is_unreserved(unsigned char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.' || c == '~';
}

/* RFC 9110 tchar: what a method or a header name may be made of. */
static bool is_tchar(unsigned char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool is_token(const char *s)
{
        if (s == NULL || *s == '\0')
                return false;
        for (; *s != '\0'; s++)
                if (!is_tchar((unsigned char)*s))
                        return false;
        return true;
}

/* An access key id, region or service: it sits between '/' in the credential
 * scope and inside "Credential=...,", so those separators are out. */
static bool is_scope_part(const char *s, size_t n)
{
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c <= ' ' || c >= 0x7f || strchr("/,=;", c) != NULL)
                        return false;
        }
        return true;
}

/* Non-empty and only printable ASCII other than space. */
static bool is_visible(const char *s)
{
        if (*s == '\0')
                return false;
        for (; *s != '\0'; s++)
                if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
                        return false;
        return true;
}

static bool is_lower_hex(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

static bool is_http_space(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void encode_into(struct buf *b, const char *s, size_t n, bool keep_slash)
{
        static const char digits[] = "0123456789ABCDEF";

        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (is_unreserved(c) || (keep_slash && c == '/')) {
                        buf_append_char(b, (char)c);
                } else {
                        char esc[3] = {'%', digits[c >> 4], digits[c & 0xf]};
                        buf_append(b, esc, sizeof esc);
                }
        }
}

/* Percent-decodes S[0..N) into OUT; a '%' not followed by two hex digits
 * stands for itself. */
static void decode_into(struct buf *out, const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                int hi, lo;
                if (s[i] == '%' && i + 2 < n && (hi = digest_hex_digit(s[i + 1])) >= 0 &&
                    (lo = digest_hex_digit(s[i + 2])) >= 0) {
                        buf_append_char(out, (char)(hi << 4 | lo));
                        i += 2;
                } else {
                        buf_append_char(out, s[i]);
                }
        }
}

/* Decodes then re-encodes S[0..N): the canonical form of one encoded
 * component, whatever encoding choices the sender made. */
static void reencode_into(struct buf *b, const char *s, size_t n)
{
        _cleanup_buf_ struct buf raw = {0};

        decode_into(&raw, s, n);
        encode_into(b, raw.data != NULL ? raw.data : "", raw.len, false);
}

char *sigv4_uri_encode(const char *s)
{
        struct buf b = {0};

        encode_into(&b, s, strlen(s), false);
        return buf_take(&b);
}

char *sigv4_uri_encode_path(const char *s)
{
        struct buf b = {0};

        encode_into(&b, s, strlen(s), true);
        return buf_take(&b);
}

/* ---- canonical URI ---- */

struct segment {
        const char *p;
        size_t n;
};

/* Dot segments removed as RFC 3986 does, and empty segments dropped because
 * AWS collapses "//".  A path ending in '/', "." or ".." keeps a trailing
 * '/'. */
static void canonical_uri_normalized(struct buf *out, const char *path)
{
        size_t cap = 1;
        for (const char *p = path; *p != '\0'; p++)
                cap += *p == '/';
        _cleanup_free_ struct segment *segs = xcalloc(cap, sizeof *segs);
        size_t n = 0;
        bool trailing = false;

        for (const char *p = path;;) {
                const char *end = strchrnul(p, '/');
                size_t len = (size_t)(end - p);
                bool dot = len == 1 && p[0] == '.';
                bool dotdot = len == 2 && p[0] == '.' && p[1] == '.';

                if (dotdot && n > 0)
                        n--;
                else if (len > 0 && !dot && !dotdot)
                        segs[n++] = (struct segment){p, len};
                if (*end == '\0') {
                        trailing = len == 0 || dot || dotdot;
                        break;
                }
                p = end + 1;
        }

        buf_append_char(out, '/');
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        buf_append_char(out, '/');
                encode_into(out, segs[i].p, segs[i].n, false);
        }
        if (n > 0 && trailing)
                buf_append_char(out, '/');
}

/* S3: every segment kept as sent, encoded exactly once. */
static void canonical_uri_s3(struct buf *out, const char *path)
{
        for (const char *p = path;;) {
                const char *end = strchrnul(p, '/');
                reencode_into(out, p, (size_t)(end - p));
                if (*end == '\0')
                        break;
                buf_append_char(out, '/');
                p = end + 1;
        }
}

/* ---- canonical query ---- */

struct qparam {
        char *key; /* encoded */
        char *value;
};

struct qparams {
        struct qparam *v;
        size_t n, cap;
};

static void qparams_free(struct qparams *q)
{
        for (size_t i = 0; i < q->n; i++) {
                free(q->v[i].key);
                free(q->v[i].value);
        }
        free(q->v);
        *q = (struct qparams){0};
}

static void qparams_push(struct qparams *q, char *key, char *value)
{
        if (q->n == q->cap) {
                q->cap = q->cap ? 2 * q->cap : 8;
                q->v = xreallocarray(q->v, q->cap, sizeof *q->v);
        }
        q->v[q->n++] = (struct qparam){key, value};
}

/* Adds a parameter whose key and value are given unencoded. */
static void qparams_add_raw(struct qparams *q, const char *key, const char *value)
{
        qparams_push(q, sigv4_uri_encode(key), sigv4_uri_encode(value));
}

static void qparams_parse(struct qparams *q, const char *query)
{
        if (query == NULL)
                return;
        for (const char *p = query; *p != '\0';) {
                const char *end = strchrnul(p, '&');
                const char *eq = memchr(p, '=', (size_t)(end - p));
                struct buf k = {0}, v = {0};

                if (end > p) {
                        const char *kend = eq != NULL ? eq : end;
                        reencode_into(&k, p, (size_t)(kend - p));
                        if (eq != NULL)
                                reencode_into(&v, eq + 1, (size_t)(end - eq - 1));
                        qparams_push(q, buf_take(&k), buf_take(&v));
                }
                p = *end == '&' ? end + 1 : end;
        }
}

static bool qparams_has(const struct qparams *q, const char *key)
{
        for (size_t i = 0; i < q->n; i++)
                if (strcmp(q->v[i].key, key) == 0)
                        return true;
        return false;
}

static int qparam_cmp(const void *a, const void *b)
{
        const struct qparam *x = a, *y = b;
        int r = strcmp(x->key, y->key);

        return r != 0 ? r : strcmp(x->value, y->value);
}

static void qparams_join(struct qparams *q, struct buf *out)
{
        if (q->n > 0)
                qsort(q->v, q->n, sizeof *q->v, qparam_cmp);
        for (size_t i = 0; i < q->n; i++)
                buf_printf(out, "%s%s=%s", i > 0 ? "&" : "", q->v[i].key, q->v[i].value);
}

/* ---- canonical headers ---- */

struct hentry {
        char *name; /* lowercased */
        const char *value;
        size_t order;
};

static int hentry_cmp(const void *a, const void *b)
{
        const struct hentry *x = a, *y = b;
        int r = strcmp(x->name, y->name);

        if (r != 0)
                return r;
        return x->order < y->order ? -1 : x->order > y->order;
}

/* Trimmed, with every run of whitespace (a folded line included) one space. */
static void append_header_value(struct buf *out, const char *v)
{
        bool space = false, any = false;

        for (; *v != '\0'; v++) {
                if (is_http_space(*v)) {
                        space = any;
                        continue;
                }
                if (space)
                        buf_append_char(out, ' ');
                buf_append_char(out, *v);
                space = false;
                any = true;
        }
}

static int check_header(const struct sigv4_header *h, struct hoist_error **err)
{
        if (!is_token(h->name))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "header name '%.64s' is not an HTTP token",
                                        h->name != NULL ? h->name : "");
        if (strcasecmp(h->name, "authorization") == 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "header 'Authorization' cannot be signed");
        if (h->value == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "header '%s' has no value", h->name);
        for (const char *v = h->value; *v != '\0'; v++) {
                unsigned char c = (unsigned char)*v;
                if ((c < ' ' && !is_http_space((char)c)) || c == 0x7f)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "header '%s' has a control character in its value",
                                                h->name);
        }
        return 0;
}

static const char *find_header(const struct sigv4_request *req, const char *name)
{
        for (size_t i = 0; i < req->n_headers; i++)
                if (strcasecmp(req->headers[i].name, name) == 0)
                        return req->headers[i].value;
        return NULL;
}

/* Writes "name:value\n" for every header to CANON and "a;b" to SIGNED.
 * TOKEN, when not NULL, is signed as X-Amz-Security-Token. */
static void canonical_headers(const struct sigv4_request *req, const char *token, struct buf *canon,
                              struct buf *signed_headers)
{
        size_t n = req->n_headers + (token != NULL);
        _cleanup_free_ struct hentry *h = xcalloc(n > 0 ? n : 1, sizeof *h);

        for (size_t i = 0; i < req->n_headers; i++) {
                h[i].name = xstrdup(req->headers[i].name);
                for (char *c = h[i].name; *c != '\0'; c++)
                        if (*c >= 'A' && *c <= 'Z')
                                *c = (char)(*c - 'A' + 'a');
                h[i].value = req->headers[i].value;
                h[i].order = i;
        }
        if (token != NULL)
                h[n - 1] = (struct hentry){xstrdup("x-amz-security-token"), token, n - 1};
        qsort(h, n, sizeof *h, hentry_cmp);

        for (size_t i = 0; i < n; i++) {
                bool same = i > 0 && strcmp(h[i].name, h[i - 1].name) == 0;
                if (same) {
                        buf_append_char(canon, ',');
                } else {
                        if (i > 0) {
                                buf_append_char(canon, '\n');
                                buf_append_char(signed_headers, ';');
                        }
                        buf_printf(canon, "%s:", h[i].name);
                        buf_append_str(signed_headers, h[i].name);
                }
                append_header_value(canon, h[i].value);
        }
        if (n > 0)
                buf_append_char(canon, '\n');
        for (size_t i = 0; i < n; i++)
                free(h[i].name);
}

/* ---- signing ---- */

int sigv4_amz_date(time_t t, char ret[SIGV4_AMZ_DATE_SIZE], struct hoist_error **err)
{
        struct tm tm;
        char out[32];

        if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "signing time %lld is outside years 0-9999", (long long)t);
        if (strftime(out, sizeof out, "%Y%m%dT%H%M%SZ", &tm) != SIGV4_AMZ_DATE_SIZE - 1)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "signing time %lld does not format as YYYYMMDDTHHMMSSZ",
                                        (long long)t);
        memcpy(ret, out, SIGV4_AMZ_DATE_SIZE);
        return 0;
}

void sigv4_signing_key(const char *secret_access_key, const char *date, const char *region,
                       const char *service, uint8_t ret_key[SIGV4_KEY_LEN])
{
        size_t n = strlen(secret_access_key);
        _cleanup_free_ char *k = xmalloc(4 + n);
        uint8_t a[SIGV4_KEY_LEN], b[SIGV4_KEY_LEN];

        memcpy(k, "AWS4", 4);
        memcpy(k + 4, secret_access_key, n);
        digest_hmac_sha256(k, 4 + n, date, strlen(date), a);
        OPENSSL_cleanse(k, 4 + n);
        digest_hmac_sha256(a, sizeof a, region, strlen(region), b);
        digest_hmac_sha256(b, sizeof b, service, strlen(service), a);
        digest_hmac_sha256(a, sizeof a, "aws4_request", 12, ret_key);
        OPENSSL_cleanse(a, sizeof a);
        OPENSSL_cleanse(b, sizeof b);
}

static int check_payload_hash(const char *h, struct hoist_error **err)
{
        if (h == NULL || strcmp(h, SIGV4_UNSIGNED_PAYLOAD) == 0)
                return 0;
        if (strlen(h) == DIGEST_HEX_LEN && is_lower_hex(h, DIGEST_HEX_LEN))
                return 0;
        if (strncmp(h, "STREAMING-", 10) == 0 && is_token(h))
                return 0;
        return hoist_error_make(err, HOIST_ERR_INPUT,
                                "payload hash '%.80s' is neither 64 lowercase hex digits, "
                                "'UNSIGNED-PAYLOAD' nor 'STREAMING-...'",
                                h);
}

static int check_request(const struct sigv4_request *req, struct hoist_error **err)
{
        const struct sigv4_credentials *c = &req->creds;

        if (!is_token(req->method))
                return hoist_error_make(err, HOIST_ERR_INPUT, "method '%.32s' is not an HTTP token",
                                        req->method != NULL ? req->method : "");
        if (req->path != NULL && req->path[0] != '\0' && req->path[0] != '/')
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "path '%.200s' does not start with '/'", req->path);
        if (c->access_key_id == NULL || !is_scope_part(c->access_key_id, strlen(c->access_key_id)))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "access key id is empty or has a space, '/', ',', "
                                        "'=' or ';'");
        if (c->secret_access_key == NULL || c->secret_access_key[0] == '\0')
                return hoist_error_make(err, HOIST_ERR_INPUT, "secret access key is empty");
        if (c->session_token != NULL && !is_visible(c->session_token))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "session token is empty or has a space or a "
                                        "non-printable byte");
        if (req->region == NULL || !is_scope_part(req->region, strlen(req->region)))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "region '%.64s' is empty or has a space, '/', ',', "
                                        "'=' or ';'",
                                        req->region != NULL ? req->region : "");
        if (req->service == NULL || !is_scope_part(req->service, strlen(req->service)))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "service '%.64s' is empty or has a space, '/', ',', "
                                        "'=' or ';'",
                                        req->service != NULL ? req->service : "");
        if (req->n_headers > 0 && req->headers == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "header list is missing");
        for (size_t i = 0; i < req->n_headers; i++)
                if (check_header(&req->headers[i], err) < 0)
                        return -1;
        return check_payload_hash(req->payload_hash, err);
}

/* Common part of both forms: checks REQ, dates it, and makes the credential
 * scope. */
static int sign_prepare(const struct sigv4_request *req, char amz_date[SIGV4_AMZ_DATE_SIZE],
                        char **ret_scope, struct hoist_error **err)
{
        const char *hdr_date;

        if (check_request(req, err) < 0 || sigv4_amz_date(req->time, amz_date, err) < 0)
                return -1;
        hdr_date = find_header(req, "x-amz-date");
        if (hdr_date != NULL) {
                _cleanup_buf_ struct buf v = {0};
                append_header_value(&v, hdr_date);
                if (v.data == NULL || strcmp(v.data, amz_date) != 0)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "header 'X-Amz-Date: %.32s' differs from the "
                                                "signing time %s",
                                                v.data != NULL ? v.data : "", amz_date);
        }
        *ret_scope = xasprintf("%.8s/%s/%s/aws4_request", amz_date, req->region, req->service);
        return 0;
}

static void append_canonical_uri(const struct sigv4_request *req, struct buf *out)
{
        const char *path = req->path != NULL && req->path[0] != '\0' ? req->path : "/";

        if (strcmp(req->service, "s3") == 0)
                canonical_uri_s3(out, path);
        else
                canonical_uri_normalized(out, path);
}

/* Fills ret's canonical request, string to sign and signature. */
static void sign_finish(const struct sigv4_request *req, const char *amz_date, const char *scope,
                        struct buf *creq, struct sigv4_result *ret)
{
        char creq_hash[DIGEST_HEX_LEN + 1];
        uint8_t key[SIGV4_KEY_LEN], mac[DIGEST_SHA256_LEN];
        char date[9];

        digest_sha256_hex(creq->data, creq->len, creq_hash);
        ret->string_to_sign = xasprintf(SIGV4_ALGORITHM "\n%s\n%s\n%s", amz_date, scope, creq_hash);
        memcpy(date, amz_date, 8);
        date[8] = '\0';
        sigv4_signing_key(req->creds.secret_access_key, date, req->region, req->service, key);
        digest_hmac_sha256(key, sizeof key, ret->string_to_sign, strlen(ret->string_to_sign), mac);
        digest_to_hex(mac, sizeof mac, ret->signature);
        OPENSSL_cleanse(key, sizeof key);
        OPENSSL_cleanse(mac, sizeof mac);
        ret->canonical_request = buf_take(creq);
}

int sigv4_sign(const struct sigv4_request *req, struct sigv4_result *ret, struct hoist_error **err)
{
        char amz_date[SIGV4_AMZ_DATE_SIZE];
        _cleanup_free_ char *scope = NULL;
        _cleanup_buf_ struct buf creq = {0}, canon = {0}, signed_headers = {0}, query = {0};
        struct qparams q = {0};
        const char *token = req->creds.session_token;
        struct sigv4_result r = {0};

        if (sign_prepare(req, amz_date, &scope, err) < 0)
                return -1;
        if (token != NULL) {
                const char *hdr = find_header(req, "x-amz-security-token");
                if (hdr != NULL) {
                        _cleanup_buf_ struct buf v = {0};
                        append_header_value(&v, hdr);
                        if (v.data == NULL || strcmp(v.data, token) != 0)
                                return hoist_error_make(err, HOIST_ERR_INPUT,
                                                        "header 'X-Amz-Security-Token' differs "
                                                        "from the credentials' session token");
                        token = NULL;
                }
        }

        canonical_headers(req, token, &canon, &signed_headers);
        qparams_parse(&q, req->query);
        qparams_join(&q, &query);
        qparams_free(&q);

        buf_printf(&creq, "%s\n", req->method);
        append_canonical_uri(req, &creq);
        buf_printf(&creq, "\n%s\n%s\n%s\n%s", query.data != NULL ? query.data : "",
                   canon.data != NULL ? canon.data : "",
                   signed_headers.data != NULL ? signed_headers.data : "",
                   req->payload_hash != NULL ? req->payload_hash : SIGV4_EMPTY_PAYLOAD_SHA256);
        sign_finish(req, amz_date, scope, &creq, &r);
        r.authorization =
                xasprintf(SIGV4_ALGORITHM " Credential=%s/%s, SignedHeaders=%s, "
                                          "Signature=%s",
                          req->creds.access_key_id, scope,
                          signed_headers.data != NULL ? signed_headers.data : "", r.signature);
        *ret = r;
        return 0;
}

static const char *const presign_params[] = {
        "X-Amz-Algorithm",     "X-Amz-Credential",     "X-Amz-Date",      "X-Amz-Expires",
        "X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature",
};

int sigv4_presign(const struct sigv4_request *req, unsigned expires, struct sigv4_result *ret,
                  struct hoist_error **err)
{
        char amz_date[SIGV4_AMZ_DATE_SIZE], expires_str[16];
        _cleanup_free_ char *scope = NULL, *credential = NULL;
        _cleanup_buf_ struct buf creq = {0}, canon = {0}, signed_headers = {0}, query = {0};
        struct qparams q = {0};
        struct sigv4_result r = {0};

        if (expires < 1 || expires > SIGV4_MAX_EXPIRES)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "presigned URL expiry %u s is outside 1..%d s", expires,
                                        SIGV4_MAX_EXPIRES);
        if (sign_prepare(req, amz_date, &scope, err) < 0)
                return -1;
        qparams_parse(&q, req->query);
        for (size_t i = 0; i < sizeof presign_params / sizeof presign_params[0]; i++) {
                if (qparams_has(&q, presign_params[i])) {
                        qparams_free(&q);
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "query already has '%s'; the presigner adds it",
                                                presign_params[i]);
                }
        }

        canonical_headers(req, NULL, &canon, &signed_headers);
        credential = xasprintf("%s/%s", req->creds.access_key_id, scope);
        (void)snprintf(expires_str, sizeof expires_str, "%u", expires);
        qparams_add_raw(&q, "X-Amz-Algorithm", SIGV4_ALGORITHM);
        qparams_add_raw(&q, "X-Amz-Credential", credential);
        qparams_add_raw(&q, "X-Amz-Date", amz_date);
        qparams_add_raw(&q, "X-Amz-Expires", expires_str);
        qparams_add_raw(&q, "X-Amz-SignedHeaders",
                        signed_headers.data != NULL ? signed_headers.data : "");
        if (req->creds.session_token != NULL)
                qparams_add_raw(&q, "X-Amz-Security-Token", req->creds.session_token);
        qparams_join(&q, &query);
        qparams_free(&q);

        buf_printf(&creq, "%s\n", req->method);
        append_canonical_uri(req, &creq);
        buf_printf(&creq, "\n%s\n%s\n%s\n%s", query.data, canon.data != NULL ? canon.data : "",
                   signed_headers.data != NULL ? signed_headers.data : "",
                   req->payload_hash != NULL ? req->payload_hash : SIGV4_EMPTY_PAYLOAD_SHA256);
        sign_finish(req, amz_date, scope, &creq, &r);
        r.presigned_query = xasprintf("%s&X-Amz-Signature=%s", query.data, r.signature);
        *ret = r;
        return 0;
}

void sigv4_result_clear(struct sigv4_result *r)
{
        if (r == NULL)
                return;
        free(r->canonical_request);
        free(r->string_to_sign);
        /* both carry the signature */
        if (r->authorization != NULL)
                OPENSSL_cleanse(r->authorization, strlen(r->authorization));
        free(r->authorization);
        if (r->presigned_query != NULL)
                OPENSSL_cleanse(r->presigned_query, strlen(r->presigned_query));
        free(r->presigned_query);
        OPENSSL_cleanse(r->signature, sizeof r->signature);
        *r = (struct sigv4_result){0};
}

char *sigv4_canonical_request(const struct sigv4_request *req, struct hoist_error **err)
{
        _cleanup_sigv4_result_ struct sigv4_result r = {0};

        if (sigv4_sign(req, &r, err) < 0)
                return NULL;
        return TAKE_PTR(r.canonical_request);
}

char *sigv4_string_to_sign(const struct sigv4_request *req, struct hoist_error **err)
{
        _cleanup_sigv4_result_ struct sigv4_result r = {0};

        if (sigv4_sign(req, &r, err) < 0)
                return NULL;
        return TAKE_PTR(r.string_to_sign);
}

int sigv4_signature(const struct sigv4_request *req, char ret_hex[SIGV4_SIGNATURE_HEX_LEN + 1],
                    struct hoist_error **err)
{
        _cleanup_sigv4_result_ struct sigv4_result r = {0};

        if (sigv4_sign(req, &r, err) < 0)
                return -1;
        memcpy(ret_hex, r.signature, sizeof r.signature);
        return 0;
}

char *sigv4_authorization(const struct sigv4_request *req, struct hoist_error **err)
{
        _cleanup_sigv4_result_ struct sigv4_result r = {0};

        if (sigv4_sign(req, &r, err) < 0)
                return NULL;
        return TAKE_PTR(r.authorization);
}

char *sigv4_presign_query(const struct sigv4_request *req, unsigned expires,
                          struct hoist_error **err)
{
        _cleanup_sigv4_result_ struct sigv4_result r = {0};

        if (sigv4_presign(req, expires, &r, err) < 0)
                return NULL;
        return TAKE_PTR(r.presigned_query);
}

/* ---- the verifier side ---- */

static bool is_valid_date(const char *s, size_t n)
{
        int month, day;

        if (n != 8)
                return false;
        for (size_t i = 0; i < 8; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        month = (s[4] - '0') * 10 + (s[5] - '0');
        day = (s[6] - '0') * 10 + (s[7] - '0');
        return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

static int parse_credential(const char *v, size_t n, struct sigv4_auth *a, struct hoist_error **err)
{
        struct segment part[5];
        size_t count = 0;

        for (const char *p = v, *end = v + n;;) {
                const char *slash = memchr(p, '/', (size_t)(end - p));
                const char *stop = slash != NULL ? slash : end;
                if (count == 5)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "Authorization header: Credential has more than "
                                                "5 '/'-separated parts");
                part[count++] = (struct segment){p, (size_t)(stop - p)};
                if (slash == NULL)
                        break;
                p = slash + 1;
        }
        if (count != 5)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "Authorization header: Credential has %zu "
                                        "'/'-separated parts, not 5 "
                                        "(KEY/YYYYMMDD/REGION/SERVICE/aws4_request)",
                                        count);
        if (!is_scope_part(part[0].p, part[0].n))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "Authorization header: Credential access key id is "
                                        "empty or has a space, ',', '=' or ';'");
        if (!is_valid_date(part[1].p, part[1].n))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "Authorization header: Credential date '%.*s' is not "
                                        "YYYYMMDD",
                                        (int)(part[1].n > 16 ? 16 : part[1].n), part[1].p);
        if (!is_scope_part(part[2].p, part[2].n) || !is_scope_part(part[3].p, part[3].n))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "Authorization header: Credential region or service "
                                        "is empty or has a space, ',', '=' or ';'");
        if (part[4].n != 12 || memcmp(part[4].p, "aws4_request", 12) != 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "Authorization header: Credential scope does not end "
                                        "in 'aws4_request'");
        a->access_key_id = xstrndup(part[0].p, part[0].n);
        memcpy(a->date, part[1].p, 8);
        a->date[8] = '\0';
        a->region = xstrndup(part[2].p, part[2].n);
        a->service = xstrndup(part[3].p, part[3].n);
        return 0;
}

static int parse_signed_headers(const char *v, size_t n, struct sigv4_auth *a,
                                struct hoist_error **err)
{
        size_t count = 1, i = 0;
        bool host = false;
        _cleanup_strv_ char **names = NULL;

        for (size_t j = 0; j < n; j++)
                count += v[j] == ';';
        names = xcalloc(count + 1, sizeof *names);
        for (const char *p = v, *end = v + n;; i++) {
                const char *semi = memchr(p, ';', (size_t)(end - p));
                const char *stop = semi != NULL ? semi : end;
                size_t len = (size_t)(stop - p);

                if (len == 0)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "Authorization header: SignedHeaders has an "
                                                "empty name");
                for (size_t j = 0; j < len; j++)
                        if (!is_tchar((unsigned char)p[j]) || (p[j] >= 'A' && p[j] <= 'Z'))
                                return hoist_error_make(err, HOIST_ERR_INPUT,
                                                        "Authorization header: SignedHeaders "
                                                        "name '%.*s' is not a lowercase token",
                                                        (int)(len > 64 ? 64 : len), p);
                names[i] = xstrndup(p, len);
                if (i > 0 && strcmp(names[i - 1], names[i]) >= 0)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "Authorization header: SignedHeaders are not "
                                                "sorted and unique at '%.64s'",
                                                names[i]);
                host = host || strcmp(names[i], "host") == 0;
                if (semi == NULL)
                        break;
                p = semi + 1;
        }
        if (!host)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "Authorization header: SignedHeaders does not include "
                                        "'host'");
        a->signed_headers = TAKE_PTR(names);
        a->signed_headers_str = xstrndup(v, n);
        return 0;
}

enum { AUTH_CREDENTIAL, AUTH_SIGNED_HEADERS, AUTH_SIGNATURE, AUTH_N };
static const char *const auth_names[AUTH_N] = {"Credential", "SignedHeaders", "Signature"};

/* Splits the comma-separated components after the algorithm into VALUE
 * slices, by name, each present exactly once. */
static int split_components(const char *s, struct segment value[AUTH_N], struct hoist_error **err)
{
        bool seen[AUTH_N] = {false};

        for (const char *p = s;;) {
                const char *comma = strchrnul(p, ',');
                const char *end = comma;
                const char *eq;
                size_t k;

                while (*p == ' ')
                        p++;
                while (end > p && end[-1] == ' ')
                        end--;
                if (end == p)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "Authorization header: empty component "
                                                "(stray ',')");
                eq = memchr(p, '=', (size_t)(end - p));
                if (eq == NULL)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "Authorization header: component '%.*s' has "
                                                "no '='",
                                                (int)(end - p > 32 ? 32 : end - p), p);
                for (k = 0; k < AUTH_N; k++)
                        if (strlen(auth_names[k]) == (size_t)(eq - p) &&
                            memcmp(auth_names[k], p, (size_t)(eq - p)) == 0)
                                break;
                if (k == AUTH_N)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "Authorization header: unknown component "
                                                "'%.*s' (expected Credential, SignedHeaders, "
                                                "Signature)",
                                                (int)(eq - p > 32 ? 32 : eq - p), p);
                if (seen[k])
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "Authorization header: %s given twice",
                                                auth_names[k]);
                seen[k] = true;
                value[k] = (struct segment){eq + 1, (size_t)(end - eq - 1)};
                if (*comma == '\0')
                        break;
                p = comma + 1;
        }
        for (size_t k = 0; k < AUTH_N; k++)
                if (!seen[k])
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "Authorization header: %s is missing",
                                                auth_names[k]);
        return 0;
}

int sigv4_parse_authorization(const char *header, struct sigv4_auth *ret, struct hoist_error **err)
{
        static const char algo[] = SIGV4_ALGORITHM " ";
        struct segment value[AUTH_N];
        _cleanup_sigv4_auth_ struct sigv4_auth a = {0};
        size_t n;

        if (header == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "Authorization header is missing");
        n = strnlen(header, AUTH_HEADER_MAX + 1);
        if (n > AUTH_HEADER_MAX)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "Authorization header is longer than %d bytes",
                                        AUTH_HEADER_MAX);
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)header[i] < ' ' || (unsigned char)header[i] >= 0x7f)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "Authorization header has a control or "
                                                "non-ASCII byte");
        if (strncmp(header, algo, sizeof algo - 1) != 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "Authorization header does not start with '%s '",
                                        SIGV4_ALGORITHM);
        if (split_components(header + sizeof algo - 1, value, err) < 0)
                return -1;

        if (parse_credential(value[AUTH_CREDENTIAL].p, value[AUTH_CREDENTIAL].n, &a, err) < 0 ||
            parse_signed_headers(value[AUTH_SIGNED_HEADERS].p, value[AUTH_SIGNED_HEADERS].n, &a,
                                 err) < 0)
                return -1;
        if (value[AUTH_SIGNATURE].n != SIGV4_SIGNATURE_HEX_LEN ||
            !is_lower_hex(value[AUTH_SIGNATURE].p, SIGV4_SIGNATURE_HEX_LEN))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "Authorization header: Signature is not 64 lowercase "
                                        "hex digits");
        memcpy(a.signature, value[AUTH_SIGNATURE].p, SIGV4_SIGNATURE_HEX_LEN);
        a.signature[SIGV4_SIGNATURE_HEX_LEN] = '\0';
        *ret = a;
        a = (struct sigv4_auth){0};
        return 0;
}

void sigv4_auth_clear(struct sigv4_auth *a)
{
        if (a == NULL)
                return;
        free(a->access_key_id);
        free(a->region);
        free(a->service);
        strv_free(a->signed_headers);
        free(a->signed_headers_str);
        OPENSSL_cleanse(a->signature, sizeof a->signature);
        *a = (struct sigv4_auth){0};
}

bool sigv4_signature_equal(const char *a, const char *b)
{
        if (a == NULL || b == NULL)
                return false;
        if (strnlen(a, SIGV4_SIGNATURE_HEX_LEN + 1) != SIGV4_SIGNATURE_HEX_LEN ||
            strnlen(b, SIGV4_SIGNATURE_HEX_LEN + 1) != SIGV4_SIGNATURE_HEX_LEN)
                return false;
        return CRYPTO_memcmp(a, b, SIGV4_SIGNATURE_HEX_LEN) == 0;
}
