/* SPDX-License-Identifier: MIT */
/*
 * hoist serve's SigV4 request parser (runner/serve/s3auth): any request
 * must give a parse result or an error, never a crash or a leak.
 *
 * Input: an HTTP request head, "METHOD /path?query HTTP/1.1", then
 * "Name: value" lines up to a blank line.  Besides parsing and verifying it
 * as sent, the target re-signs whatever parsed (the same headers, time,
 * scope and query, with a known secret) and checks that the verifier accepts
 * what lib/sigv4 signs, in both the header and the presigned form.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "runner/serve/s3auth.h"
#include "xalloc.h"

#define MAX_HEADERS 64
#define SECRET "fuzz-secret-key"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_head {
        char *method, *path, *query;
        struct sigv4_header headers[MAX_HEADERS + 1];
        size_t n_headers;
};

static void head_free(struct fuzz_head *h)
{
        free(h->method);
        free(h->path);
        free(h->query);
        for (size_t i = 0; i < h->n_headers; i++) {
                free((char *)h->headers[i].name);
                free((char *)h->headers[i].value);
        }
}

static int head_parse(const char *text, struct fuzz_head *h)
{
        const char *eol = strchrnul(text, '\n');
        const char *sp = memchr(text, ' ', (size_t)(eol - text));
        const char *target, *tend, *q;

        if (sp == NULL)
                return -1;
        h->method = xstrndup(text, (size_t)(sp - text));
        target = sp + 1;
        tend = memchr(target, ' ', (size_t)(eol - target));
        if (tend == NULL)
                tend = eol;
        q = memchr(target, '?', (size_t)(tend - target));
        h->path = xstrndup(target, (size_t)((q != NULL ? q : tend) - target));
        h->query = q != NULL ? xstrndup(q + 1, (size_t)(tend - q - 1)) : NULL;
        for (const char *p = *eol == '\n' ? eol + 1 : eol; *p != '\0' && *p != '\n';) {
                const char *end = strchrnul(p, '\n');
                const char *colon = memchr(p, ':', (size_t)(end - p));
                const char *v;
                if (colon == NULL || h->n_headers == MAX_HEADERS)
                        return -1;
                v = colon + 1;
                while (v < end && *v == ' ')
                        v++;
                h->headers[h->n_headers].name = xstrndup(p, (size_t)(colon - p));
                h->headers[h->n_headers].value = xstrndup(v, (size_t)(end - v));
                h->n_headers++;
                p = *end == '\n' ? end + 1 : end;
        }
        return 0;
}

static int parse_verify(const struct s3auth_input *in, time_t now)
{
        struct s3auth_request r = {0};
        struct hoist_error *err = NULL;
        int rc = s3auth_parse(in, &r, &err);

        if (rc >= 0)
                rc = s3auth_verify(in, &r, SECRET, now, &err);
        hoist_error_free(err);
        s3auth_request_clear(&r);
        return rc;
}

/* Replaces the Authorization header (there is one) with AUTHZ. */
static void set_authz(struct fuzz_head *h, struct sigv4_header *out, const char *authz)
{
        for (size_t i = 0; i < h->n_headers; i++) {
                out[i] = h->headers[i];
                if (strcasecmp(out[i].name, "authorization") == 0)
                        out[i].value = authz;
        }
}

static void resign(struct fuzz_head *h, const struct s3auth_input *in,
                   const struct s3auth_request *r)
{
        struct sigv4_request req = s3auth_signing_request(in, r, SECRET);
        struct sigv4_result res = {0};
        struct hoist_error *err = NULL;

        if (r->kind == S3AUTH_HEADER && sigv4_sign(&req, &res, &err) == 0) {
                struct sigv4_header hs[MAX_HEADERS + 1];
                struct s3auth_input again = *in;
                set_authz(h, hs, res.authorization);
                again.headers = hs;
                if (parse_verify(&again, r->time) != 0)
                        abort(); /* the verifier must accept what the signer signs */
        } else if (r->kind == S3AUTH_PRESIGNED &&
                   sigv4_presign(&req, r->expires, &res, &err) == 0) {
                struct s3auth_input again = *in;
                again.query = res.presigned_query;
                if (parse_verify(&again, r->time) != 0)
                        abort();
        }
        sigv4_result_clear(&res);
        hoist_error_free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = xstrndup((const char *)data, size);
        struct fuzz_head h = {0};

        if (head_parse(text, &h) == 0) {
                struct s3auth_input in = {h.method, h.path, h.query, h.headers, h.n_headers};
                struct s3auth_request r = {0};
                struct hoist_error *err = NULL;

                if (s3auth_parse(&in, &r, &err) == 0) {
                        if (r.kind != S3AUTH_ANONYMOUS &&
                            (r.access_key_id == NULL || r.region == NULL ||
                             r.payload_hash == NULL || r.query == NULL))
                                abort();
                        (void)parse_verify(&in, r.time);
                        if (r.kind != S3AUTH_ANONYMOUS)
                                resign(&h, &in, &r);
                }
                hoist_error_free(err);
                s3auth_request_clear(&r);
        }
        head_free(&h);
        return 0;
}
