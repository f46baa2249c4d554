/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "imageref.h"

#define D "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void expect(const char *in, const char *host, const char *repo, const char *tag,
                   const char *digest, const char *full)
{
        _cleanup_imageref_ struct imageref *r = NULL;
        struct hoist_error *err = NULL;

        if (imageref_parse(in, &r, &err) < 0)
                fail_msg("'%s': %s", in, err->msg);
        assert_string_equal(r->host, host);
        assert_string_equal(r->repo, repo);
        if (tag)
                assert_string_equal(r->tag, tag);
        else
                assert_null(r->tag);
        if (digest)
                assert_string_equal(r->digest, digest);
        else
                assert_null(r->digest);
        _cleanup_free_ char *s = imageref_string(r);
        assert_string_equal(s, full);
        /* normal form is a fixed point */
        _cleanup_imageref_ struct imageref *again = NULL;
        assert_int_equal(imageref_parse(s, &again, &err), 0);
        _cleanup_free_ char *s2 = imageref_string(again);
        assert_string_equal(s2, full);
}

static void test_defaults(void **state)
{
        (void)state;
        expect("busybox", "docker.io", "library/busybox", "latest", NULL,
               "docker.io/library/busybox:latest");
        expect("busybox:1.36", "docker.io", "library/busybox", "1.36", NULL,
               "docker.io/library/busybox:1.36");
        expect("team/trainer", "docker.io", "team/trainer", "latest", NULL,
               "docker.io/team/trainer:latest");
        expect("index.docker.io/library/x:y", "docker.io", "library/x", "y", NULL,
               "docker.io/library/x:y");
        expect("registry-1.docker.io/busybox", "docker.io", "library/busybox", "latest", NULL,
               "docker.io/library/busybox:latest");
}

static void test_hosts(void **state)
{
        (void)state;
        expect("127.0.0.1:5000/team/trainer:v1", "127.0.0.1:5000", "team/trainer", "v1", NULL,
               "127.0.0.1:5000/team/trainer:v1");
        expect("localhost/x", "localhost", "x", "latest", NULL, "localhost/x:latest");
        expect("ghcr.io/a/b/c:v_1.2-3", "ghcr.io", "a/b/c", "v_1.2-3", NULL,
               "ghcr.io/a/b/c:v_1.2-3");
        expect("[::1]:5000/x:y", "[::1]:5000", "x", "y", NULL, "[::1]:5000/x:y");
        /* not a host: no '.', no ':', not localhost */
        expect("myhost/x", "docker.io", "myhost/x", "latest", NULL, "docker.io/myhost/x:latest");
}

static void test_digests(void **state)
{
        (void)state;
        _cleanup_imageref_ struct imageref *r = NULL;
        struct hoist_error *err = NULL;

        expect("127.0.0.1:5000/x@" D, "127.0.0.1:5000", "x", NULL, D, "127.0.0.1:5000/x@" D);
        expect("x:v1@" D, "docker.io", "library/x", "v1", D, "docker.io/library/x:v1@" D);
        assert_int_equal(imageref_parse("x:v1@" D, &r, &err), 0);
        assert_string_equal(imageref_reference(r), D);
        _cleanup_free_ char *name = imageref_name(r);
        assert_string_equal(name, "docker.io/library/x");
        assert_string_equal(imageref_api_host(r), "registry-1.docker.io");
}

static void test_invalid(void **state)
{
        (void)state;
        static const char *const bad[] = {
                "",
                "UPPER/case",
                "x:",
                "x:-tag",
                "x@sha256:abc",
                "x@md5:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "/x",
                "x/",
                "a//b",
                "h:5000/",
                "x:tag with space",
                "h o.st/x",
                "-x",
                "x..y/",
        };

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                struct imageref *r = NULL;
                struct hoist_error *err = NULL;
                if (imageref_parse(bad[i], &r, &err) == 0)
                        fail_msg("'%s' was accepted", bad[i]);
                assert_null(r);
                assert_non_null(err);
                assert_int_equal(err->code, HOIST_ERR_USAGE);
                hoist_error_free(err);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_hosts),
                cmocka_unit_test(test_digests),
                cmocka_unit_test(test_invalid),
        };
        return cmocka_run_group_tests_name("imageref", tests, NULL, NULL);
}
