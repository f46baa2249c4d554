/* SPDX-License-Identifier: MIT */
#include "runner/serve/s3auth.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cleanup.h"
#include "digest.h"
#include "runner/serve/s3err.h"
#include "xalloc.h"

static const char *const presign_params[] = {
        "X-Amz-Algorithm",     "X-Amz-Credential",     "X-Amz-Date",      "X-Amz-Expires",
        "X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature",
};
enum { P_ALGORITHM, P_CREDENTIAL, P_DATE, P_EXPIRES, P_SIGNED_HEADERS, P_TOKEN, P_SIGNATURE, P_N };

char *s3auth_uri_decode(const char *s, size_t n)
{
        _cleanup_buf_ struct buf b = {0};

        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c == '%') {
                        int hi = i + 1 < n ? digest_hex_digit(s[i + 1]) : -1;
                        int lo = i + 2 < n ? digest_hex_digit(s[i + 2]) : -1;
                        if (hi < 0 || lo < 0)
                                return NULL;
                        c = (char)(hi * 16 + lo);
                        i += 2;
                }
                if (c == '\0')
                        return NULL;
                buf_append_char(&b, c);
        }
        buf_append_str(&b, "");
        return buf_take(&b);
}

int s3auth_parse_amz_date(const char *s, time_t *ret)
{
        struct tm tm = {0};
        const char *end;

        if (s == NULL || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
                return -1;
        for (int i = 0; i < 15; i++)
                if (i != 8 && (s[i] < '0' || s[i] > '9'))
                        return -1;
        end = strptime(s, "%Y%m%dT%H%M%SZ", &tm);
        if (end == NULL || *end != '\0')
                return -1;
        *ret = timegm(&tm);
        return 0;
}

void s3auth_request_clear(struct s3auth_request *r)
{
        if (r == NULL)
                return;
        free(r->access_key_id);
        free(r->region);
        free(r->payload_hash);
        free(r->query);
        for (size_t i = 0; i < r->n_headers; i++) {
                free((char *)r->headers[i].name);
                free((char *)r->headers[i].value);
        }
        free(r->headers);
        *r = (struct s3auth_request){0};
}

static const char *header_get(const struct s3auth_input *in, const char *name)
{
        for (size_t i = 0; i < in->n_headers; i++)
                if (in->headers[i].name != NULL && strcasecmp(in->headers[i].name, name) == 0)
                        return in->headers[i].value != NULL ? in->headers[i].value : "";
        return NULL;
}

/* Copies the headers named in SIGNED (lowercase), every occurrence, in order. */
static int collect_signed(const struct s3auth_input *in, char *const *signed_headers,
                          struct s3auth_request *r, struct hoist_error **err)
{
        for (char *const *h = signed_headers; *h != NULL; h++) {
                bool found = false;
                for (size_t i = 0; i < in->n_headers; i++) {
                        if (in->headers[i].name == NULL || strcasecmp(in->headers[i].name, *h) != 0)
                                continue;
                        r->headers =
                                xreallocarray(r->headers, r->n_headers + 1, sizeof *r->headers);
                        r->headers[r->n_headers].name = xstrdup(*h);
                        r->headers[r->n_headers].value =
                                xstrdup(in->headers[i].value != NULL ? in->headers[i].value : "");
                        r->n_headers++;
                        found = true;
                }
                if (!found)
                        return s3err_fail(err, S3ERR_SIGNATURE_DOES_NOT_MATCH,
                                          "signed header '%.64s' is not in the request", *h);
        }
        return 0;
}

static int set_payload(struct s3auth_request *r, const char *hash, struct hoist_error **err)
{
        if (hash == NULL)
                return s3err_fail(err, S3ERR_INVALID_REQUEST,
                                  "Missing required header for this request: "
                                  "x-amz-content-sha256");
        if (strcmp(hash, SIGV4_UNSIGNED_PAYLOAD) == 0)
                r->payload = S3AUTH_PAYLOAD_UNSIGNED;
        else if (strncmp(hash, "STREAMING-", 10) == 0)
                r->payload = S3AUTH_PAYLOAD_STREAMING;
        else if (digest_hex_valid(hash))
                r->payload = S3AUTH_PAYLOAD_HASH;
        else
                return s3err_fail(err, S3ERR_INVALID_ARGUMENT,
                                  "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a SHA-256 "
                                  "in lowercase hex");
        r->payload_hash = xstrdup(hash);
        return 0;
}

static int parse_header_form(const struct s3auth_input *in, const char *authz,
                             struct s3auth_request *r, struct hoist_error **err)
{
        _cleanup_sigv4_auth_ struct sigv4_auth a = {0};
        struct hoist_error *e = NULL;
        const char *date = header_get(in, "x-amz-date");
        int rc;

        if (sigv4_parse_authorization(authz, &a, &e) < 0) {
                rc = s3err_fail(err, S3ERR_AUTH_HEADER_MALFORMED,
                                "The authorization header is malformed: %s", e->msg);
                hoist_error_free(e);
                return rc;
        }
        if (strcmp(a.service, "s3") != 0)
                return s3err_fail(err, S3ERR_AUTH_HEADER_MALFORMED,
                                  "The authorization header is malformed; the credential scope "
                                  "names service '%.32s', expected 's3'",
                                  a.service);
        if (date == NULL || s3auth_parse_amz_date(date, &r->time) < 0)
                return s3err_fail(err, S3ERR_ACCESS_DENIED,
                                  "AWS authentication requires a valid X-Amz-Date header "
                                  "(YYYYMMDDTHHMMSSZ)");
        if (strncmp(date, a.date, 8) != 0)
                return s3err_fail(err, S3ERR_SIGNATURE_DOES_NOT_MATCH,
                                  "the credential scope date differs from X-Amz-Date");
        rc = set_payload(r, header_get(in, "x-amz-content-sha256"), err);
        if (rc < 0)
                return rc;
        r->kind = S3AUTH_HEADER;
        r->access_key_id = TAKE_PTR(a.access_key_id);
        r->region = TAKE_PTR(a.region);
        memcpy(r->signature, a.signature, sizeof r->signature);
        r->query = xstrdup(in->query != NULL ? in->query : "");
        return collect_signed(in, a.signed_headers, r, err);
}

/* Splits the raw query: the presign parameters (decoded) into P, the rest
 * (as sent) into REST. */
static int split_query(const char *query, char *p[P_N], struct buf *rest, struct hoist_error **err)
{
        for (const char *s = query; s != NULL && *s != '\0';) {
                const char *end = strchrnul(s, '&');
                const char *eq = memchr(s, '=', (size_t)(end - s));
                size_t klen = (size_t)((eq != NULL ? eq : end) - s);
                _cleanup_free_ char *k = s3auth_uri_decode(s, klen);
                int idx = -1;

                for (int i = 0; k != NULL && i < P_N; i++)
                        if (strcmp(k, presign_params[i]) == 0)
                                idx = i;
                if (idx >= 0) {
                        const char *v = eq != NULL ? eq + 1 : end;
                        if (p[idx] != NULL)
                                return s3err_fail(err, S3ERR_INVALID_ARGUMENT,
                                                  "query parameter '%s' is repeated",
                                                  presign_params[idx]);
                        p[idx] = s3auth_uri_decode(v, (size_t)(end - v));
                        if (p[idx] == NULL)
                                return s3err_fail(err, S3ERR_INVALID_ARGUMENT,
                                                  "query parameter '%s' is badly encoded",
                                                  presign_params[idx]);
                } else if (end > s) {
                        if (rest->len > 0)
                                buf_append_char(rest, '&');
                        buf_append(rest, s, (size_t)(end - s));
                }
                s = *end == '&' ? end + 1 : end;
        }
        return 0;
}

static void free_params(char *p[P_N])
{
        for (int i = 0; i < P_N; i++)
                free(p[i]);
}

static int parse_presigned(const struct s3auth_input *in, struct s3auth_request *r,
                           struct hoist_error **err)
{
        char *p[P_N] = {0};
        _cleanup_buf_ struct buf rest = {0};
        _cleanup_free_ char *authz = NULL;
        _cleanup_sigv4_auth_ struct sigv4_auth a = {0};
        struct hoist_error *e = NULL;
        char *endp = NULL;
        unsigned long expires;
        int rc = split_query(in->query, p, &rest, err);

        if (rc < 0)
                goto out;
        for (int i = 0; i < P_N; i++) {
                if (p[i] == NULL && i != P_TOKEN) {
                        rc = s3err_fail(err, S3ERR_AUTH_HEADER_MALFORMED,
                                        "Query-string authentication requires the %s parameter",
                                        presign_params[i]);
                        goto out;
                }
        }
        if (strcmp(p[P_ALGORITHM], SIGV4_ALGORITHM) != 0) {
                rc = s3err_fail(err, S3ERR_AUTH_HEADER_MALFORMED,
                                "X-Amz-Algorithm must be " SIGV4_ALGORITHM);
                goto out;
        }
        authz = xasprintf(SIGV4_ALGORITHM " Credential=%s, SignedHeaders=%s, Signature=%s",
                          p[P_CREDENTIAL], p[P_SIGNED_HEADERS], p[P_SIGNATURE]);
        if (sigv4_parse_authorization(authz, &a, &e) < 0) {
                rc = s3err_fail(err, S3ERR_AUTH_HEADER_MALFORMED,
                                "the presigned URL is malformed: %s", e->msg);
                hoist_error_free(e);
                goto out;
        }
        errno = 0;
        expires = strtoul(p[P_EXPIRES], &endp, 10);
        if (strcmp(a.service, "s3") != 0 || s3auth_parse_amz_date(p[P_DATE], &r->time) < 0 ||
            strncmp(p[P_DATE], a.date, 8) != 0 || p[P_EXPIRES][0] < '0' || p[P_EXPIRES][0] > '9' ||
            *endp != '\0' || expires < 1 || expires > SIGV4_MAX_EXPIRES) {
                rc = s3err_fail(err, S3ERR_AUTH_HEADER_MALFORMED,
                                "the presigned URL's X-Amz-Date, X-Amz-Expires (1..604800) or "
                                "credential scope is malformed");
                goto out;
        }
        r->kind = S3AUTH_PRESIGNED;
        r->expires = (unsigned)expires;
        r->access_key_id = TAKE_PTR(a.access_key_id);
        r->region = TAKE_PTR(a.region);
        memcpy(r->signature, a.signature, sizeof r->signature);
        r->payload = S3AUTH_PAYLOAD_UNSIGNED;
        r->payload_hash = xstrdup(SIGV4_UNSIGNED_PAYLOAD);
        r->query = buf_take(&rest);
        rc = collect_signed(in, a.signed_headers, r, err);
out:
        free_params(p);
        return rc;
}

static bool query_has_signature(const char *query)
{
        for (const char *s = query; s != NULL && *s != '\0';) {
                const char *end = strchrnul(s, '&');
                if (strncasecmp(s, "X-Amz-Signature=", 16) == 0 ||
                    strncasecmp(s, "X-Amz-Credential=", 17) == 0)
                        return true;
                s = *end == '&' ? end + 1 : end;
        }
        return false;
}

int s3auth_parse(const struct s3auth_input *in, struct s3auth_request *ret,
                 struct hoist_error **err)
{
        struct s3auth_request r = {0};
        const char *authz = header_get(in, "authorization");
        int rc = 0;

        if (in->method == NULL || in->path == NULL)
                return s3err_fail(err, S3ERR_INVALID_REQUEST, "request lacks a method or path");
        if (authz != NULL && query_has_signature(in->query))
                return s3err_fail(err, S3ERR_INVALID_ARGUMENT,
                                  "Only one auth mechanism allowed; only the X-Amz-Algorithm "
                                  "query parameter or the Authorization header may be given");
        if (authz != NULL)
                rc = parse_header_form(in, authz, &r, err);
        else if (query_has_signature(in->query))
                rc = parse_presigned(in, &r, err);
        else
                r.kind = S3AUTH_ANONYMOUS;
        if (rc < 0) {
                s3auth_request_clear(&r);
                return rc;
        }
        *ret = r;
        return 0;
}

struct sigv4_request s3auth_signing_request(const struct s3auth_input *in,
                                            const struct s3auth_request *r, const char *secret)
{
        return (struct sigv4_request){
                .method = in->method,
                .path = in->path,
                .query = r->query,
                .headers = r->headers,
                .n_headers = r->n_headers,
                .payload_hash = r->payload_hash,
                .creds = {.access_key_id = r->access_key_id, .secret_access_key = secret},
                .region = r->region,
                .service = "s3",
                .time = r->time,
        };
}

int s3auth_verify(const struct s3auth_input *in, const struct s3auth_request *r, const char *secret,
                  time_t now, struct hoist_error **err)
{
        _cleanup_sigv4_result_ struct sigv4_result res = {0};
        struct hoist_error *e = NULL;
        struct sigv4_request req = s3auth_signing_request(in, r, secret);
        int rc;

        if (r->kind == S3AUTH_ANONYMOUS)
                return s3err_fail(err, S3ERR_ACCESS_DENIED, "anonymous requests are refused");
        if (r->kind == S3AUTH_HEADER) {
                if (r->time > now + S3AUTH_MAX_SKEW || r->time < now - S3AUTH_MAX_SKEW)
                        return s3err_fail(err, S3ERR_REQUEST_TIME_TOO_SKEWED,
                                          "The difference between the request time and the "
                                          "server's time is too large.");
                rc = sigv4_sign(&req, &res, &e);
        } else {
                if (r->time > now + S3AUTH_MAX_SKEW)
                        return s3err_fail(err, S3ERR_ACCESS_DENIED, "Request is not valid yet");
                if (now > r->time + (time_t)r->expires)
                        return s3err_fail(err, S3ERR_ACCESS_DENIED, "Request has expired");
                rc = sigv4_presign(&req, r->expires, &res, &e);
        }
        if (rc < 0) {
                rc = s3err_fail(err, S3ERR_SIGNATURE_DOES_NOT_MATCH,
                                "The request cannot be signed as sent: %s", e->msg);
                hoist_error_free(e);
                return rc;
        }
        if (!sigv4_signature_equal(res.signature, r->signature))
                return s3err_fail(err, S3ERR_SIGNATURE_DOES_NOT_MATCH,
                                  "The request signature we calculated does not match the "
                                  "signature you provided. Check your key and signing method.");
        return 0;
}
