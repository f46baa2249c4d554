/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "s3.h"

static struct s3_client *client(const char *endpoint, const char *region)
{
        struct s3_client_config cfg = {.endpoint = endpoint, .region = region, .path_style = -1};
        struct s3_client *c = NULL;
        struct hoist_error *err = NULL;

        setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        unsetenv("AWS_ENDPOINT_URL");
        unsetenv("AWS_ENDPOINT_URL_S3");
        unsetenv("AWS_REGION");
        unsetenv("AWS_DEFAULT_REGION");
        if (s3_client_new(&cfg, &c, &err) < 0)
                fail_msg("%s", err->msg);
        return c;
}

static void expect_url(struct s3_client *c, const char *bucket, const char *key, const char *query,
                       const char *url, const char *host, const char *path)
{
        struct s3_url u = {0};
        struct hoist_error *err = NULL;

        assert_int_equal(s3_build_url(c, bucket, key, query, &u, &err), 0);
        assert_string_equal(u.url, url);
        assert_string_equal(u.host, host);
        assert_string_equal(u.path, path);
        s3_url_clear(&u);
}

static void test_custom_endpoint_path_style(void **state)
{
        (void)state;
        struct s3_client *c = client("http://127.0.0.1:7480", NULL);

        assert_true(s3_client_path_style(c));
        assert_string_equal(s3_client_region(c), "us-east-1");
        expect_url(c, "bkt", "a b/c+d.txt", NULL, "http://127.0.0.1:7480/bkt/a%20b/c%2Bd.txt",
                   "127.0.0.1:7480", "/bkt/a%20b/c%2Bd.txt");
        expect_url(c, "bkt", NULL, "list-type=2", "http://127.0.0.1:7480/bkt/?list-type=2",
                   "127.0.0.1:7480", "/bkt/");
        expect_url(c, NULL, NULL, NULL, "http://127.0.0.1:7480/", "127.0.0.1:7480", "/");
        s3_client_free(c);

        c = client("https://minio.example.com/base/", "eu-west-1");
        expect_url(c, "bkt", "k", NULL, "https://minio.example.com/base/bkt/k", "minio.example.com",
                   "/base/bkt/k");
        s3_client_free(c);
}

static void test_aws_virtual_host(void **state)
{
        (void)state;
        struct s3_client *c = client(NULL, "eu-central-1");

        assert_false(s3_client_path_style(c));
        expect_url(c, "my-bucket", "dir/ü.bin", NULL,
                   "https://my-bucket.s3.eu-central-1.amazonaws.com/dir/%C3%BC.bin",
                   "my-bucket.s3.eu-central-1.amazonaws.com", "/dir/%C3%BC.bin");
        /* Dots break TLS host matching: path-style instead. */
        expect_url(c, "my.bucket", "k", NULL, "https://s3.eu-central-1.amazonaws.com/my.bucket/k",
                   "s3.eu-central-1.amazonaws.com", "/my.bucket/k");
        s3_client_free(c);
}

static void test_endpoint_from_env(void **state)
{
        (void)state;
        struct s3_client *c = NULL;
        struct hoist_error *err = NULL;
        struct s3_client_config cfg = {.path_style = -1};

        s3_client_free(client(NULL, NULL)); /* resets the environment */
        setenv("AWS_ENDPOINT_URL", "http://generic:1", 1);
        setenv("AWS_ENDPOINT_URL_S3", "http://s3only:2", 1);
        setenv("AWS_DEFAULT_REGION", "ap-south-1", 1);
        assert_int_equal(s3_client_new(&cfg, &c, &err), 0);
        assert_string_equal(s3_client_endpoint(c), "http://s3only:2");
        assert_string_equal(s3_client_region(c), "ap-south-1");
        s3_client_free(c);
        unsetenv("AWS_ENDPOINT_URL_S3");
        setenv("AWS_REGION", "us-west-1", 1);
        assert_int_equal(s3_client_new(&cfg, &c, &err), 0);
        assert_string_equal(s3_client_endpoint(c), "http://generic:1");
        assert_string_equal(s3_client_region(c), "us-west-1");
        s3_client_free(c);
        unsetenv("AWS_ENDPOINT_URL");

        cfg.endpoint = "ftp://x";
        assert_int_equal(s3_client_new(&cfg, &c, &err), -1);
        assert_non_null(strstr(err->msg, "'ftp://x'"));
        hoist_error_release(&err);
}

static void test_empty_names(void **state)
{
        (void)state;
        struct s3_client *c = client("http://127.0.0.1:1", NULL);
        struct s3_url u = {0};
        struct hoist_error *err = NULL;

        assert_int_equal(s3_build_url(c, "", "k", NULL, &u, &err), -1);
        hoist_error_release(&err);
        assert_int_equal(s3_build_url(c, "b", "", NULL, &u, &err), -1);
        hoist_error_release(&err);
        s3_client_free(c);
}

static void test_dns_compatible(void **state)
{
        (void)state;
        assert_true(s3_bucket_dns_compatible("abc"));
        assert_true(s3_bucket_dns_compatible("a-b-1"));
        assert_false(s3_bucket_dns_compatible("ab"));
        assert_false(s3_bucket_dns_compatible("Upper"));
        assert_false(s3_bucket_dns_compatible("a.b.c"));
        assert_false(s3_bucket_dns_compatible("-abc"));
        assert_false(s3_bucket_dns_compatible("a_bc"));
}

static void test_retryable(void **state)
{
        (void)state;
        assert_true(s3_retryable(CURLE_COULDNT_CONNECT, 0, NULL));
        assert_true(s3_retryable(CURLE_RECV_ERROR, 0, NULL));
        assert_true(s3_retryable(CURLE_SEND_ERROR, 0, NULL));
        assert_true(s3_retryable(CURLE_PARTIAL_FILE, 0, NULL));
        assert_true(s3_retryable(CURLE_OPERATION_TIMEDOUT, 0, NULL));
        assert_false(s3_retryable(CURLE_URL_MALFORMAT, 0, NULL));
        assert_false(s3_retryable(CURLE_ABORTED_BY_CALLBACK, 0, NULL));
        assert_true(s3_retryable(CURLE_OK, 500, "InternalError"));
        assert_true(s3_retryable(CURLE_OK, 503, "SlowDown"));
        assert_true(s3_retryable(CURLE_OK, 429, NULL));
        assert_true(s3_retryable(CURLE_OK, 400, "RequestTimeout"));
        assert_false(s3_retryable(CURLE_OK, 403, "SignatureDoesNotMatch"));
        assert_false(s3_retryable(CURLE_OK, 404, "NoSuchKey"));
        assert_false(s3_retryable(CURLE_OK, 400, "XAmzContentSHA256Mismatch"));
}

static void test_backoff_bounds(void **state)
{
        (void)state;
        for (uint32_t r = 0; r < 100000; r += 7919) {
                assert_true(s3_backoff_ms(1, 100, 20000, r) <= 100);
                assert_true(s3_backoff_ms(2, 100, 20000, r) <= 200);
                assert_true(s3_backoff_ms(4, 100, 20000, r) <= 800);
                assert_true(s3_backoff_ms(40, 100, 20000, r) <= 20000);
        }
        assert_int_equal(s3_backoff_ms(3, 100, 20000, 400), 400);
        assert_int_equal(s3_backoff_ms(3, 100, 20000, 401), 0);
        assert_int_equal(s3_backoff_ms(100, 100, 20000, UINT32_MAX), UINT32_MAX % 20001);
}

static void test_part_size(void **state)
{
        (void)state;
        const uint64_t mib = 1u << 20;

        assert_int_equal(s3_part_size(1, 0), 8 * mib);
        assert_int_equal(s3_part_size(50 * mib, 0), 8 * mib);
        assert_int_equal(s3_part_size(50 * mib, 16 * mib), 16 * mib);
        assert_int_equal(s3_part_size(50 * mib, 1), 8 * mib);
        /* 8 MiB x 10000 fits exactly; one byte more needs 9 MiB parts. */
        assert_int_equal(s3_part_size(80000 * mib, 0), 8 * mib);
        assert_int_equal(s3_part_size(80000 * mib + 1, 0), 9 * mib);
        for (uint64_t size = 1ull << 30; size < 5ull << 40; size = size * 3 + 12345) {
                uint64_t p = s3_part_size(size, 0);
                assert_true(p >= 8 * mib);
                assert_true((size + p - 1) / p <= S3_MAX_PARTS);
        }
        assert_int_equal(s3_part_size(1ull << 50, 0), S3_MAX_PART_SIZE);
}

static void test_error_mapping(void **state)
{
        (void)state;
        struct hoist_error *err = NULL;
        static const char body[] =
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SignatureDoesNotMatch"
                "</Code><Message>The request signature we calculated does not match"
                "</Message><RequestId>r1</RequestId></Error>";
        static const char no_message[] = "<Error><Code>NoSuchBucket</Code><Message></Message>"
                                         "<BucketName>b</BucketName></Error>";

        s3_error_from_response(403, body, strlen(body), "PUT s3://b/k", &err);
        assert_string_equal(err->msg, "PUT s3://b/k: 403 SignatureDoesNotMatch: The request "
                                      "signature we calculated does not match");
        hoist_error_release(&err);
        s3_error_from_response(404, no_message, strlen(no_message), "GET s3://b/k", &err);
        assert_string_equal(err->msg, "GET s3://b/k: 404 NoSuchBucket");
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        hoist_error_release(&err);
        s3_error_from_response(404, "", 0, "HEAD s3://b/k", &err);
        assert_string_equal(err->msg, "HEAD s3://b/k: 404 Not Found");
        hoist_error_release(&err);
        s3_error_from_response(502, "<html>bad gateway</html>", 24, "GET s3://b/k", &err);
        assert_string_equal(err->msg, "GET s3://b/k: 502 Bad Gateway");
        hoist_error_release(&err);
}

static void test_presign(void **state)
{
        (void)state;
        struct s3_creds_provider *p = s3_creds_provider_static("AKIDEXAMPLE", "secret", NULL);
        struct s3_client_config cfg = {
                .endpoint = "http://127.0.0.1:9000", .path_style = -1, .creds = p};
        struct s3_client *c = NULL;
        struct hoist_error *err = NULL;
        char *url = NULL;

        assert_int_equal(s3_client_new(&cfg, &c, &err), 0);
        assert_int_equal(s3_presign(c, "GET", "bkt", "a b", 600, &url, &err), 0);
        assert_true(strncmp(url, "http://127.0.0.1:9000/bkt/a%20b?", 32) == 0);
        assert_non_null(strstr(url, "X-Amz-Expires=600"));
        assert_non_null(strstr(url, "X-Amz-Credential=AKIDEXAMPLE%2F"));
        assert_non_null(strstr(url, "X-Amz-Signature="));
        assert_null(strstr(url, "secret"));
        free(url);
        assert_int_equal(s3_presign(c, "DELETE", "bkt", "k", 600, &url, &err), -1);
        hoist_error_release(&err);
        s3_client_free(c);
        s3_creds_provider_free(p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_custom_endpoint_path_style),
                cmocka_unit_test(test_aws_virtual_host),
                cmocka_unit_test(test_endpoint_from_env),
                cmocka_unit_test(test_empty_names),
                cmocka_unit_test(test_dns_compatible),
                cmocka_unit_test(test_retryable),
                cmocka_unit_test(test_backoff_bounds),
                cmocka_unit_test(test_part_size),
                cmocka_unit_test(test_error_mapping),
                cmocka_unit_test(test_presign),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
