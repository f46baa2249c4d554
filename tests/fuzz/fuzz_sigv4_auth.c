/* SPDX-License-Identifier: MIT */
/*
 * SigV4: the Authorization header parser and the canonical-request builder
 * must turn any bytes into a result or an error, never a crash or a leak.
 *
 * Input: the first line is an Authorization header for
 * sigv4_parse_authorization(); the rest is a request in the AWS test suite's
 * .req form ("GET /path?query HTTP/1.1", headers, folded lines, a blank
 * line, a body), signed for S3 and for a generic service, and presigned.
 * What the signer writes, the parser must read back; and an S3 canonical
 * URI, sent again as the path, must come back unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "digest.h"
#include "sigv4.h"
#include "xalloc.h"

#define MAX_HEADERS 64
#define FUZZ_TIME ((time_t)1440938160) /* 20150830T123600Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_req {
        char *method, *path, *query;
        struct sigv4_header headers[MAX_HEADERS];
        size_t n_headers;
        char payload_hash[DIGEST_HEX_LEN + 1];
};

static void fuzz_req_free(struct fuzz_req *r)
{
        free(r->method);
        free(r->path);
        free(r->query);
        for (size_t i = 0; i < r->n_headers; i++) {
                free((char *)r->headers[i].name);
                free((char *)r->headers[i].value);
        }
}

/* TEXT is NUL-terminated; a NUL inside ends it early, which is fine here. */
static int fuzz_req_parse(const char *text, struct fuzz_req *r)
{
        const char *eol = strchrnul(text, '\n');
        const char *sp1 = memchr(text, ' ', (size_t)(eol - text));
        const char *sp2 = eol, *body = "";

        while (sp2 > text && sp2[-1] != ' ')
                sp2--;
        if (sp1 == NULL || sp2 <= sp1 + 1)
                return -1;
        r->method = xstrndup(text, (size_t)(sp1 - text));
        const char *target = sp1 + 1, *tend = sp2 - 1;
        const char *q = memchr(target, '?', (size_t)(tend - target));
        r->path = xstrndup(target, (size_t)((q != NULL ? q : tend) - target));
        r->query = q != NULL ? xstrndup(q + 1, (size_t)(tend - q - 1)) : NULL;

        for (const char *p = *eol == '\n' ? eol + 1 : eol; *p != '\0';) {
                const char *end = strchrnul(p, '\n');
                if (end == p) {
                        body = end + 1;
                        break;
                }
                if ((*p == ' ' || *p == '\t') && r->n_headers > 0) {
                        struct sigv4_header *h = &r->headers[r->n_headers - 1];
                        char *v = xasprintf("%s\n%.*s", h->value, (int)(end - p), p);
                        free((char *)h->value);
                        h->value = v;
                } else {
                        const char *colon = memchr(p, ':', (size_t)(end - p));
                        if (colon == NULL || r->n_headers == MAX_HEADERS)
                                return -1;
                        r->headers[r->n_headers].name = xstrndup(p, (size_t)(colon - p));
                        r->headers[r->n_headers].value =
                                xstrndup(colon + 1, (size_t)(end - colon - 1));
                        r->n_headers++;
                }
                p = *end == '\n' ? end + 1 : end;
        }
        digest_sha256_hex(body, strlen(body), r->payload_hash);
        return 0;
}

static bool has_host(const struct fuzz_req *r)
{
        for (size_t i = 0; i < r->n_headers; i++)
                if (strcasecmp(r->headers[i].name, "host") == 0)
                        return true;
        return false;
}

static void check_roundtrip(const struct fuzz_req *fr, const struct sigv4_result *res)
{
        struct sigv4_auth a = {0};
        struct hoist_error *err = NULL;

        /* the parser's limits: host signed, at most 8 KiB */
        if (!has_host(fr) || strlen(res->authorization) > 8192)
                return;
        if (sigv4_parse_authorization(res->authorization, &a, &err) < 0)
                abort(); /* what we sign we must parse */
        if (!sigv4_signature_equal(a.signature, res->signature))
                abort();
        sigv4_auth_clear(&a);
}

/* The second line of a canonical request is its URI. */
static char *canonical_uri(const char *creq)
{
        const char *p = strchr(creq, '\n') + 1;

        return xstrndup(p, strcspn(p, "\n"));
}

static void sign_all(struct fuzz_req *fr)
{
        static const char *const services[] = {"s3", "service"};

        for (size_t i = 0; i < 2; i++) {
                struct sigv4_request req = {
                        .method = fr->method,
                        .path = fr->path,
                        .query = fr->query,
                        .headers = fr->headers,
                        .n_headers = fr->n_headers,
                        .payload_hash = fr->payload_hash,
                        .creds = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                  i == 0 ? NULL : "session/token+=="},
                        .region = "us-east-1",
                        .service = services[i],
                        .time = FUZZ_TIME,
                };
                struct sigv4_result res = {0};
                struct hoist_error *err = NULL;

                if (sigv4_sign(&req, &res, &err) == 0) {
                        check_roundtrip(fr, &res);
                        if (i == 0) {
                                _cleanup_free_ char *uri = canonical_uri(res.canonical_request);
                                struct sigv4_request again = req;
                                struct sigv4_result res2 = {0};

                                again.path = uri;
                                if (sigv4_sign(&again, &res2, &err) < 0)
                                        abort();
                                _cleanup_free_ char *uri2 = canonical_uri(res2.canonical_request);
                                if (strcmp(uri, uri2) != 0)
                                        abort(); /* S3 encodes exactly once */
                                sigv4_result_clear(&res2);
                        }
                        sigv4_result_clear(&res);
                }
                hoist_error_release(&err);

                if (sigv4_presign(&req, 3600, &res, &err) == 0)
                        sigv4_result_clear(&res);
                hoist_error_release(&err);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = xstrndup((const char *)data, size);
        const char *nl = strchr(text, '\n');
        _cleanup_free_ char *header = xstrndup(text, nl != NULL ? (size_t)(nl - text) : size);
        struct sigv4_auth a = {0};
        struct hoist_error *err = NULL;
        struct fuzz_req fr = {0};

        if (sigv4_parse_authorization(header, &a, &err) == 0) {
                if (a.access_key_id == NULL || a.signed_headers == NULL ||
                    strlen(a.signature) != SIGV4_SIGNATURE_HEX_LEN)
                        abort();
                sigv4_auth_clear(&a);
        }
        hoist_error_release(&err);

        if (nl != NULL && fuzz_req_parse(nl + 1, &fr) == 0)
                sign_all(&fr);
        fuzz_req_free(&fr);
        return 0;
}
