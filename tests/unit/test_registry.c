/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "registry.h"

#define D "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define DQ "sha256%3Ae3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void expect_loc(const char *base, const char *loc, const char *digest, const char *want)
{
        _cleanup_free_ char *got = registry_resolve_location(base, loc, digest);

        if (want == NULL) {
                assert_null(got);
                return;
        }
        assert_non_null(got);
        assert_string_equal(got, want);
}

static void test_location_absolute(void **state)
{
        (void)state;
        /* docker-registry 2.8: absolute, carrying _state */
        expect_loc("http://127.0.0.1:5000/v2/a/blobs/uploads/",
                   "http://127.0.0.1:5000/v2/a/blobs/uploads/u-1?_state=abc%3D", D,
                   "http://127.0.0.1:5000/v2/a/blobs/uploads/u-1?_state=abc%3D&digest=" DQ);
        expect_loc("http://r/v2/", "https://storage.example/x/y", NULL,
                   "https://storage.example/x/y");
        expect_loc("http://r/v2/a", "HTTP://R2/b", NULL, "HTTP://R2/b");
}

static void test_location_relative(void **state)
{
        (void)state;
        expect_loc("https://r.example:443/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/u2", D,
                   "https://r.example:443/v2/a/blobs/uploads/u2?digest=" DQ);
        expect_loc("https://r/v2/a/blobs/uploads/?mount=x&from=y", "u3?x=1", NULL,
                   "https://r/v2/a/blobs/uploads/u3?x=1");
        expect_loc("https://r/v2/a/blobs/uploads/u4?_state=s", "/v2/next?", D,
                   "https://r/v2/next?digest=" DQ);
        expect_loc("https://r", "u5", NULL, "https://r/u5");
        expect_loc("https://r/v2/x", "//cdn.example/p?q=1#frag", D,
                   "https://cdn.example/p?q=1&digest=" DQ);
        /* nothing to resolve */
        expect_loc("https://r/v2/", "", D, NULL);
        expect_loc("not a url", "/x", NULL, NULL);
}

static void test_host_insecure(void **state)
{
        (void)state;
        unsetenv("HOIST_INSECURE_REGISTRIES");
        assert_true(registry_host_insecure("127.0.0.1:5000", 0));
        assert_true(registry_host_insecure("localhost", 0));
        assert_true(registry_host_insecure("LOCALHOST:80", 0));
        assert_true(registry_host_insecure("[::1]:5000", 0));
        assert_false(registry_host_insecure("127.0.0.2:5000", 0));
        assert_false(registry_host_insecure("registry.example", 0));
        assert_false(registry_host_insecure("localhost.example.com", 0));
        assert_true(registry_host_insecure("registry.example", 1));
        setenv("HOIST_INSECURE_REGISTRIES", "a.example:5000, b.example", 1);
        assert_true(registry_host_insecure("a.example:5000", 0));
        assert_false(registry_host_insecure("a.example:6000", 0));
        assert_true(registry_host_insecure("b.example:6000", 0));
        assert_false(registry_host_insecure("c.example", 0));
        unsetenv("HOIST_INSECURE_REGISTRIES");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_location_absolute),
                cmocka_unit_test(test_location_relative),
                cmocka_unit_test(test_host_insecure),
        };
        return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
