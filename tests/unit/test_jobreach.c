/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "runner/job/jobreach.h"

static void test_is_loopback(void **state)
{
        static const struct {
                const char *url;
                bool loopback;
        } cases[] = {
                {"file:///srv/hoist", true},
                {"FILE:///srv/hoist", true},
                {"hoist://builtin", true},
                {"http://127.0.0.1:9000", true},
                {"http://127.8.9.10:9000/", true},
                {"https://127.0.0.1", true},
                {"http://localhost:9000", true},
                {"http://LocalHost.:9000/x", true},
                {"http://minio.localhost:9000", true},
                {"http://[::1]:9000", true},
                {"http://[::ffff:127.0.0.1]:9000", true},
                {"http://0.0.0.0:9000", true},
                {"http://[::]:9000", true},
                {"http://user:pw@127.0.0.1:9000", true},
                {"http://a@b@localhost/", true},
                {"http://10.0.0.5:9000", false},
                {"https://s3.us-east-1.amazonaws.com", false},
                {"http://128.0.0.1", false},
                {"http://localhost.example.com:9000", false},
                {"http://notlocalhost:9000", false},
                {"http://[::2]:9000", false},
                {"http://[fe80::1]:9000", false},
                {"http://127.0.0.1@storage.example.com/", false},
                {"http://storage.example.com/127.0.0.1", false},
                {"http://[::1", false},
                {"s3://bucket/prefix", false},
                {"", false},
                {NULL, false},
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                if (jobreach_is_loopback(cases[i].url) != cases[i].loopback)
                        fail_msg("'%s': want %s", cases[i].url ? cases[i].url : "(null)",
                                 cases[i].loopback ? "loopback" : "not loopback");
        }
}

static int here_only(const void *settings)
{
        /* A cluster that is this machine (e.g. its own slurmd). */
        return settings != NULL && strcmp(settings, "here") == 0;
}

static const struct provider_ops far = {.name = "faraway", .remote = 1};
static const struct provider_ops near = {.name = "nearby", .remote = 0};
static const struct provider_ops maybe = {
        .name = "cluster", .remote = 1, .reaches_loopback = here_only};

static void test_check(void **state)
{
        struct hoist_error *err = NULL;

        (void)state;
        /* Jobs that run here reach anything. */
        assert_int_equal(jobreach_check(&near, NULL, "file:///srv", &err), 0);
        assert_int_equal(jobreach_check(&near, NULL, "hoist://builtin", &err), 0);
        /* Jobs that run elsewhere do not reach loopback. */
        assert_int_equal(jobreach_check(&far, NULL, "file:///srv/hoist", &err), -1);
        assert_int_equal(err->code, HOIST_ERR_INPUT);
        assert_non_null(strstr(err->msg, "provider 'faraway'"));
        assert_non_null(strstr(err->msg, "file:///srv/hoist"));
        assert_non_null(strstr(err->msg, "storage: s3://"));
        assert_non_null(strstr(err->msg, "hoist serve --listen"));
        assert_non_null(strstr(err->msg, "--tls-cert"));
        hoist_error_free(err);
        err = NULL;
        assert_int_equal(jobreach_check(&far, NULL, "hoist://builtin", &err), -1);
        assert_non_null(strstr(err->msg, "built-in endpoint"));
        hoist_error_free(err);
        err = NULL;
        /* s3://: its endpoint decides. */
        assert_int_equal(setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000", 1), 0);
        assert_int_equal(jobreach_check(&far, NULL, "s3://bucket/p", &err), -1);
        assert_non_null(strstr(err->msg, "s3://bucket/p (endpoint http://127.0.0.1:9000)"));
        hoist_error_free(err);
        err = NULL;
        assert_int_equal(setenv("AWS_ENDPOINT_URL_S3", "https://storage.example.com", 1), 0);
        assert_int_equal(jobreach_check(&far, NULL, "s3://bucket/p", &err), 0);
        assert_int_equal(unsetenv("AWS_ENDPOINT_URL_S3"), 0);
        /* The provider's settings decide where it has a say. */
        assert_int_equal(jobreach_check(&maybe, "here", "file:///srv", &err), 0);
        assert_int_equal(jobreach_check(&maybe, "there", "file:///srv", &err), -1);
        assert_non_null(strstr(err->msg, "provider 'cluster'"));
        hoist_error_free(err);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_is_loopback),
                cmocka_unit_test(test_check),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
