/* SPDX-License-Identifier: MIT */
/* Server-side SigV4: requests signed by lib/sigv4 verify; a wrong secret,
 * an altered request, a skewed clock or an expired URL do not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "runner/serve/s3auth.h"
#include "runner/serve/s3err.h"
#include "xalloc.h"

#define AK "HOTESTACCESSKEY00001"
#define SK "secret/with+chars"
#define T0 ((time_t)1763740800) /* 2025-11-21T16:00:00Z */

struct signed_req {
        struct sigv4_header h[4];
        size_t n;
        char *authz;
        char date[SIGV4_AMZ_DATE_SIZE];
};

static void sign_header_form(struct signed_req *s, const char *method, const char *path,
                             const char *query, const char *payload)
{
        struct sigv4_request req = {
                .method = method,
                .path = path,
                .query = query,
                .headers = s->h,
                .payload_hash = payload,
                .creds = {.access_key_id = AK, .secret_access_key = SK},
                .region = "us-east-1",
                .service = "s3",
                .time = T0,
        };

        assert_int_equal(sigv4_amz_date(T0, s->date, NULL), 0);
        s->h[0] = (struct sigv4_header){"Host", "127.0.0.1:9000"};
        s->h[1] = (struct sigv4_header){"X-Amz-Date", s->date};
        s->h[2] = (struct sigv4_header){"x-amz-content-sha256", payload};
        s->n = 3;
        req.n_headers = 3;
        s->authz = sigv4_authorization(&req, NULL);
        assert_non_null(s->authz);
        s->h[3] = (struct sigv4_header){"Authorization", s->authz};
        s->n = 4;
}

static int check(const struct s3auth_input *in, const char *secret, time_t now)
{
        struct s3auth_request r = {0};
        struct hoist_error *err = NULL;
        int rc = s3auth_parse(in, &r, &err);

        if (rc >= 0)
                rc = s3auth_verify(in, &r, secret, now, &err);
        if (err != NULL) {
                /* no secret and no signature in any message */
                assert_null(strstr(err->msg, SK));
                if (r.signature[0] != '\0')
                        assert_null(strstr(err->msg, r.signature));
        }
        hoist_error_free(err);
        s3auth_request_clear(&r);
        return rc;
}

static void test_header_form(void **state)
{
        struct signed_req s = {0};
        struct s3auth_input in = {"PUT", "/hoist/a%20b/c", "uploadId=x&partNumber=1", s.h, 0};

        (void)state;
        sign_header_form(&s, "PUT", "/hoist/a%20b/c", "partNumber=1&uploadId=x",
                         SIGV4_UNSIGNED_PAYLOAD);
        in.headers = s.h;
        in.n_headers = s.n;
        assert_int_equal(check(&in, SK, T0), 0);
        assert_int_equal(check(&in, SK, T0 + S3AUTH_MAX_SKEW), 0);
        assert_int_equal(check(&in, "wrong", T0), -S3ERR_SIGNATURE_DOES_NOT_MATCH);
        assert_int_equal(check(&in, SK, T0 + S3AUTH_MAX_SKEW + 1), -S3ERR_REQUEST_TIME_TOO_SKEWED);
        assert_int_equal(check(&in, SK, T0 - S3AUTH_MAX_SKEW - 1), -S3ERR_REQUEST_TIME_TOO_SKEWED);
        in.method = "GET";
        assert_int_equal(check(&in, SK, T0), -S3ERR_SIGNATURE_DOES_NOT_MATCH);
        in.method = "PUT";
        in.path = "/hoist/a%20b/d";
        assert_int_equal(check(&in, SK, T0), -S3ERR_SIGNATURE_DOES_NOT_MATCH);
        in.path = "/hoist/a%20b/c";
        in.query = "uploadId=y&partNumber=1";
        assert_int_equal(check(&in, SK, T0), -S3ERR_SIGNATURE_DOES_NOT_MATCH);
        in.query = "uploadId=x&partNumber=1";
        /* a signed header missing from the request */
        in.headers = s.h + 1;
        in.n_headers = s.n - 1;
        assert_int_equal(check(&in, SK, T0), -S3ERR_SIGNATURE_DOES_NOT_MATCH);
        free(s.authz);
}

static void test_malformed(void **state)
{
        struct sigv4_header h[3] = {
                {"Host", "h"}, {"X-Amz-Date", "20251121T160000Z"}, {NULL, NULL}};
        struct s3auth_input in = {"GET", "/", NULL, h, 2};
        struct s3auth_request r = {0};
        struct hoist_error *err = NULL;

        (void)state;
        assert_int_equal(s3auth_parse(&in, &r, NULL), 0);
        assert_int_equal(r.kind, S3AUTH_ANONYMOUS);
        assert_int_equal(s3auth_verify(&in, &r, SK, T0, &err), -S3ERR_ACCESS_DENIED);
        hoist_error_release(&err);
        s3auth_request_clear(&r);
        h[2] = (struct sigv4_header){"Authorization", "AWS4-HMAC-SHA256 Credential=x"};
        in.n_headers = 3;
        assert_int_equal(s3auth_parse(&in, &r, &err), -S3ERR_AUTH_HEADER_MALFORMED);
        hoist_error_release(&err);
        in.query = "X-Amz-Signature=00&X-Amz-Credential=a";
        assert_int_equal(s3auth_parse(&in, &r, &err), -S3ERR_INVALID_ARGUMENT);
        hoist_error_release(&err);
        in.n_headers = 2;
        assert_int_equal(s3auth_parse(&in, &r, &err), -S3ERR_AUTH_HEADER_MALFORMED);
        hoist_error_release(&err);
}

static void test_presigned(void **state)
{
        struct sigv4_header h[1] = {{"host", "127.0.0.1:9000"}};
        struct sigv4_request req = {
                .method = "GET",
                .path = "/hoist/jobs/j-1/x",
                .query = "response-content-type=text%2Fplain",
                .headers = h,
                .n_headers = 1,
                .payload_hash = SIGV4_UNSIGNED_PAYLOAD,
                .creds = {.access_key_id = AK, .secret_access_key = SK},
                .region = "us-east-1",
                .service = "s3",
                .time = T0,
        };
        _cleanup_free_ char *q = sigv4_presign_query(&req, 300, NULL);
        struct s3auth_input in = {"GET", "/hoist/jobs/j-1/x", q, h, 1};
        _cleanup_free_ char *tampered = NULL;

        (void)state;
        assert_non_null(q);
        assert_int_equal(check(&in, SK, T0 + 10), 0);
        assert_int_equal(check(&in, SK, T0 + 301), -S3ERR_ACCESS_DENIED);
        assert_int_equal(check(&in, SK, T0 - S3AUTH_MAX_SKEW - 1), -S3ERR_ACCESS_DENIED);
        assert_int_equal(check(&in, "wrong", T0), -S3ERR_SIGNATURE_DOES_NOT_MATCH);
        tampered = xstrdup(q);
        *strstr(tampered, "X-Amz-Expires=300") = 'Y';
        in.query = tampered;
        assert_true(check(&in, SK, T0) < 0);
        in.query = q;
        in.path = "/hoist/jobs/j-2/x";
        assert_int_equal(check(&in, SK, T0), -S3ERR_SIGNATURE_DOES_NOT_MATCH);
}

static void test_decode_and_dates(void **state)
{
        static const char *const bad[] = {"%", "%4", "%zz", "a%00b", "%G0"};
        time_t t = 0;

        (void)state;
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                assert_null(s3auth_uri_decode(bad[i], strlen(bad[i])));
        {
                _cleanup_free_ char *d = s3auth_uri_decode("a%2Fb+c%2e%2E", 13);
                assert_string_equal(d, "a/b+c..");
        }
        assert_int_equal(s3auth_parse_amz_date("20251121T160000Z", &t), 0);
        assert_int_equal(t, T0);
        assert_int_equal(s3auth_parse_amz_date("20251121T160000", &t), -1);
        assert_int_equal(s3auth_parse_amz_date("2025112XT160000Z", &t), -1);
        assert_int_equal(s3auth_parse_amz_date(NULL, &t), -1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_header_form),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_presigned),
                cmocka_unit_test(test_decode_and_dates),
        };
        return cmocka_run_group_tests_name("serve_s3auth", tests, NULL, NULL);
}
