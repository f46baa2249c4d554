/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers/testutil.h"
#include "cleanup.h"
#include "fsutil.h"
#include "runner/image/cache.h"

static void test_key_depends_on_every_input(void **state)
{
        (void)state;
        const char *const args1[] = {"A=1", "B=2", NULL};
        const char *const args2[] = {"B=2", "A=1", NULL};
        const char *const args3[] = {"A=1", "B=3", NULL};
        struct cache_key_input in = {.parent = "scratch",
                                     .instruction = "COPY a /a",
                                     .args = args1,
                                     .content = "abc",
                                     .compression = "gzip"};
        char k0[65], k[65];

        cache_key(&in, k0);
        assert_int_equal(strlen(k0), 64);
        cache_key(&in, k);
        assert_string_equal(k0, k);
        in.args = args2; /* order of args does not matter */
        cache_key(&in, k);
        assert_string_equal(k0, k);
        in.args = args3;
        cache_key(&in, k);
        assert_string_not_equal(k0, k);
        in.args = args1;
        in.parent = "sha256:x";
        cache_key(&in, k);
        assert_string_not_equal(k0, k);
        in.parent = "scratch";
        in.instruction = "COPY a /b";
        cache_key(&in, k);
        assert_string_not_equal(k0, k);
        in.instruction = "COPY a /a";
        in.content = NULL;
        cache_key(&in, k);
        assert_string_not_equal(k0, k);
        in.content = "abc";
        in.compression = "zstd";
        cache_key(&in, k);
        assert_string_not_equal(k0, k);
}

static void test_key_fields_do_not_run_together(void **state)
{
        (void)state;
        struct cache_key_input a = {.parent = "p", .instruction = "RUN x", .compression = "gzip"};
        struct cache_key_input b = {.parent = "pRUN x", .instruction = "", .compression = "gzip"};
        char ka[65], kb[65];

        cache_key(&a, ka);
        cache_key(&b, kb);
        assert_string_not_equal(ka, kb);
}

/* Sources as dockerignore_select() lists them: lstat() of each. */
static void sources(const char *dir, const char *const *paths, size_t n, struct stat *st,
                    struct cache_source *out)
{
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = path_join(dir, paths[i]);
                assert_int_equal(lstat(p, &st[i]), 0);
                out[i] = (struct cache_source){
                        .path = paths[i], .dest = paths[i], .st = &st[i], .match = 0};
        }
}

static void test_content_hash(void **state)
{
        (void)state;
        char dir[] = "/tmp/hoist-cache-test-XXXXXX";
        const char *const order1[] = {"a.txt", "sub", "sub/b.txt", "link"};
        const char *const order2[] = {"sub/b.txt", "link", "a.txt", "sub"};
        struct stat st[4];
        struct cache_source src[4];
        char h1[65], h2[65], h3[65];
        struct hoist_error *err = NULL;
        _cleanup_free_ char *sub = NULL, *a = NULL, *link = NULL;

        assert_non_null(mkdtemp(dir));
        sub = path_join(dir, "sub");
        link = path_join(dir, "link");
        assert_int_equal(mkdir(sub, 0755), 0);
        assert_int_equal(symlink("a.txt", link), 0);
        t_write_file(dir, "a.txt", "hello");
        t_write_file(dir, "sub/b.txt", "world");
        sources(dir, order1, 4, st, src);
        assert_int_equal(cache_hash_sources(dir, src, 4, h1, &err), 0);
        sources(dir, order2, 4, st, src);
        assert_int_equal(cache_hash_sources(dir, src, 4, h2, &err), 0);
        assert_string_equal(h1, h2);
        /* same size, other bytes */
        t_write_file(dir, "sub/b.txt", "World");
        sources(dir, order1, 4, st, src);
        assert_int_equal(cache_hash_sources(dir, src, 4, h3, &err), 0);
        assert_string_not_equal(h1, h3);
        /* a mode */
        a = path_join(dir, "a.txt");
        assert_int_equal(chmod(a, 0600), 0);
        sources(dir, order1, 4, st, src);
        assert_int_equal(cache_hash_sources(dir, src, 4, h2, &err), 0);
        assert_string_not_equal(h2, h3);
        /* the destination */
        src[0].dest = "renamed.txt";
        assert_int_equal(cache_hash_sources(dir, src, 4, h3, &err), 0);
        assert_string_not_equal(h2, h3);
        /* a link target */
        sources(dir, order1, 4, st, src);
        assert_int_equal(unlink(link), 0);
        assert_int_equal(symlink("sub", link), 0);
        sources(dir, order1, 4, st, src);
        assert_int_equal(cache_hash_sources(dir, src, 4, h3, &err), 0);
        assert_string_not_equal(h2, h3);
        /* a file gone since it was listed */
        assert_int_equal(unlink(a), 0);
        assert_int_equal(cache_hash_sources(dir, src, 4, h3, &err), -1);
        assert_non_null(strstr(err->msg, "'a.txt'"));
        hoist_error_release(&err);
        assert_int_equal(cache_hash_sources(dir, src, 0, h3, &err), 0);
        assert_int_equal(fs_remove_tree(dir, &err), 0);
}

static void test_store_roundtrip(void **state)
{
        (void)state;
        char dir[] = "/tmp/hoist-cache-store-XXXXXX";
        struct hoist_error *err = NULL;
        _cleanup_build_cache_ struct build_cache *c = NULL;
        struct cache_entry e = {0}, got = {0};
        char key[65];
        struct cache_key_input in = {.parent = "scratch", .instruction = "ENV A=1"};
        _cleanup_free_ char *cdir = NULL;

        assert_non_null(mkdtemp(dir));
        cdir = path_join(dir, "cache/build");
        assert_int_equal(build_cache_open(cdir, &c, &err), 0);
        cache_key(&in, key);
        assert_int_equal(build_cache_get(c, key, &got, &err), 0);
        e.state = strdup("{\"Env\":[\"A=1\"]}");
        assert_int_equal(build_cache_put(c, key, &e, &err), 0);
        assert_int_equal(build_cache_get(c, key, &got, &err), 1);
        assert_int_equal(got.has_layer, 0);
        assert_string_equal(got.state, e.state);
        cache_entry_clear(&got);
        e.has_layer = 1;
        e.layer.media_type = strdup("application/vnd.oci.image.layer.v1.tar+gzip");
        e.layer.digest = strdup("sha256:aa");
        e.layer.diff_id = strdup("sha256:bb");
        e.layer.size = 42;
        assert_int_equal(build_cache_put(c, key, &e, &err), 0);
        assert_int_equal(build_cache_get(c, key, &got, &err), 1);
        assert_int_equal(got.has_layer, 1);
        assert_string_equal(got.layer.diff_id, "sha256:bb");
        assert_int_equal(got.layer.size, 42);
        cache_entry_clear(&got);
        cache_entry_clear(&e);
        /* a corrupt entry is a miss */
        {
                _cleanup_free_ char *name = NULL;
                assert_true(asprintf(&name, "cache/build/%s.json", key) > 0);
                t_write_file(dir, name, "{not json");
        }
        assert_int_equal(build_cache_get(c, key, &got, &err), 0);
        assert_int_equal(build_cache_get(c, "../../etc/passwd", &got, &err), 0);
        assert_int_equal(fs_remove_tree(dir, &err), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_key_depends_on_every_input),
                cmocka_unit_test(test_key_fields_do_not_run_together),
                cmocka_unit_test(test_content_hash),
                cmocka_unit_test(test_store_roundtrip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
