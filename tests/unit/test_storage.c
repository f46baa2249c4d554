/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "storage.h"
#include "xalloc.h"

struct fixture {
        char dir[64];
        struct storage *st;
};

static int setup(void **state)
{
        struct fixture *f = xzalloc(sizeof *f);
        struct hoist_error *err = NULL;

        strcpy(f->dir, "/tmp/hoist-storage-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        _cleanup_free_ char *url = xasprintf("file://%s/root", f->dir);
        assert_int_equal(storage_open(url, &f->st, &err), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        storage_close(f->st);
        assert_int_equal(fs_remove_tree(f->dir, NULL), 0);
        free(f);
        return 0;
}

static void test_put_get_bytes(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        char *data = NULL;
        size_t len = 0;
        uint64_t size = 0;

        assert_int_equal(storage_put_bytes(f->st, "jobs/j-1/job.json", "{}", 2, &err), 0);
        assert_int_equal(storage_exists(f->st, "jobs/j-1/job.json", &size, &err), 1);
        assert_int_equal(size, 2);
        assert_int_equal(storage_get_bytes(f->st, "jobs/j-1/job.json", &data, &len, &err), 0);
        assert_int_equal(len, 2);
        assert_string_equal(data, "{}");
        free(data);
        assert_int_equal(storage_exists(f->st, "jobs/j-2/job.json", NULL, &err), 0);
}

static void test_missing_object_is_not_found(void **state)
{
        struct fixture *f = *state;
        _cleanup_error_ struct hoist_error *err = NULL;
        char *data = NULL;

        assert_int_equal(storage_get_bytes(f->st, "nope", &data, NULL, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        assert_non_null(strstr(err->msg, "'nope'"));
}

static void test_keys_cannot_escape(void **state)
{
        struct fixture *f = *state;
        static const char *const bad[] = {"/etc/passwd", "../x", "a/../../x", "a//b", "a/./b",
                                          "a/",          "",     "..",        "a/.."};

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                struct hoist_error *err = NULL;
                assert_int_equal(storage_put_bytes(f->st, bad[i], "x", 1, &err), -1);
                assert_int_equal(err->code, HOIST_ERR_INPUT);
                hoist_error_free(err);
        }
        _cleanup_free_ char *outside = xasprintf("%s/x", f->dir);
        assert_false(fs_exists(outside));
        assert_int_equal(storage_key_check("blobs/sha256/ab..cd", NULL), 0);
}

static void test_list_sorted_recursive_no_temp(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        _cleanup_strv_ char **keys = NULL;

        assert_int_equal(storage_put_bytes(f->st, "jobs/j/output/model/b.bin", "b", 1, &err), 0);
        assert_int_equal(storage_put_bytes(f->st, "jobs/j/output/a.txt", "a", 1, &err), 0);
        assert_int_equal(storage_put_bytes(f->st, "jobs/k/x", "k", 1, &err), 0);
        /* an unfinished write is not an object */
        _cleanup_free_ char *tmp = storage_local_path(f->st, "jobs/j/output/c.tmp.123456");
        assert_int_equal(fs_write_file_atomic(tmp, "c", 1, 0644, &err), 0);

        assert_int_equal(storage_list(f->st, "jobs/j/", &keys, &err), 0);
        assert_non_null(keys[0]);
        assert_string_equal(keys[0], "jobs/j/output/a.txt");
        assert_string_equal(keys[1], "jobs/j/output/model/b.bin");
        assert_null(keys[2]);
}

static void test_list_missing_prefix_is_empty(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        _cleanup_strv_ char **keys = NULL;

        assert_int_equal(storage_list(f->st, "jobs/none", &keys, &err), 0);
        assert_null(keys[0]);
}

static void test_put_get_file(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        _cleanup_free_ char *src = xasprintf("%s/src", f->dir);
        _cleanup_free_ char *dst = xasprintf("%s/dst", f->dir);
        char *data = NULL;

        assert_int_equal(fs_write_file_atomic(src, "payload", 7, 0600, &err), 0);
        assert_int_equal(storage_put_file(f->st, "blobs/sha256/abc", src, &err), 0);
        assert_int_equal(storage_get_file(f->st, "blobs/sha256/abc", dst, &err), 0);
        assert_int_equal(fs_read_file(dst, &data, NULL, &err), 0);
        assert_string_equal(data, "payload");
        free(data);
        assert_int_equal(storage_delete(f->st, "blobs/sha256/abc", &err), 0);
        assert_int_equal(storage_exists(f->st, "blobs/sha256/abc", NULL, &err), 0);
}

static void test_unknown_scheme_and_relative_path(void **state)
{
        (void)state;
        struct storage *st = NULL;
        _cleanup_error_ struct hoist_error *err = NULL;

        assert_int_equal(storage_open("ftp://host/dir", &st, &err), -1);
        assert_non_null(strstr(err->msg, "use file:///abs/dir or s3://bucket/prefix"));
        hoist_error_release(&err);
        assert_int_equal(storage_open("file://relative", &st, &err), -1);
        assert_non_null(strstr(err->msg, "absolute"));
}

/* An s3:// prefix is held to the rule of the keys under it: the entrypoint
 * would refuse every key of a job stored under "team//dbl". */
static void test_s3_prefix_follows_the_key_rule(void **state)
{
        static const struct {
                const char *url;
                const char *hint; /* NULL: accepted */
        } cases[] = {
                {"s3://b", NULL},
                {"s3://b/", NULL},
                {"s3://b/team/a", NULL},
                {"s3://b/team/a///", NULL},
                {"s3://b/team//dbl/", "(write s3://b/team/dbl/)"},
                {"s3://b//team", "(write s3://b/team/)"},
                {"s3://b/./x/.", "(write s3://b/x/)"},
                {"s3://b/team/../x", "without '.' or '..'"},
                {"s3://b/a\tb", "without '.' or '..'"},
                {"s3://", "expected s3://bucket"},
                {"s3:///x", "expected s3://bucket"},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                _cleanup_error_ struct hoist_error *err = NULL;
                struct storage *st = NULL;
                int r = storage_url_check(cases[i].url, &err);
                if (cases[i].hint == NULL) {
                        if (r != 0)
                                fail_msg("'%s' refused: %s", cases[i].url, err->msg);
                        continue;
                }
                if (r != -1 || strstr(err->msg, cases[i].hint) == NULL)
                        fail_msg("'%s': %s", cases[i].url, err ? err->msg : "accepted");
                assert_int_equal(err->code, HOIST_ERR_INPUT);
                hoist_error_release(&err);
                /* Opening checks the same way, before any client exists. */
                assert_int_equal(storage_open(cases[i].url, &st, &err), -1);
                assert_non_null(strstr(err->msg, cases[i].hint));
        }
}

/* What hoist gc sweeps: objects with sizes and times, and the temporary
 * files of writes that never finished, which are not objects. */
static void test_entries_and_partials(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        struct storage_entry *e = NULL;
        struct storage_partial *p = NULL;
        size_t n = 0;
        _cleanup_free_ char *tmp = xasprintf("%s/root/blobs/sha256/ab.tmp.XyZ123", f->dir);

        assert_int_equal(storage_put_bytes(f->st, "blobs/sha256/ab", "12345", 5, &err), 0);
        assert_int_equal(storage_put_bytes(f->st, "jobs/j-1/job.json", "{}", 2, &err), 0);
        assert_int_equal(fs_write_file_atomic(tmp, "xyz", 3, 0600, &err), 0);

        assert_int_equal(storage_list_entries(f->st, "blobs/sha256/", &e, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_string_equal(e[0].key, "blobs/sha256/ab");
        assert_int_equal(e[0].size, 5);
        assert_true(e[0].mtime_s > 1600000000);
        storage_entries_free(e, n);

        assert_int_equal(storage_list_partials(f->st, &p, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_string_equal(p[0].key, "blobs/sha256/ab.tmp.XyZ123");
        assert_null(p[0].id);
        assert_int_equal(p[0].size, 3);
        assert_int_equal(storage_abort_partial(f->st, &p[0], &err), 0);
        assert_false(fs_exists(tmp));
        /* Only a temporary file can be discarded that way, never an object. */
        free(p[0].key);
        p[0].key = xstrdup("blobs/sha256/ab");
        assert_int_equal(storage_abort_partial(f->st, &p[0], &err), -1);
        assert_non_null(strstr(err->msg, "not a temporary file"));
        hoist_error_release(&err);
        storage_partials_free(p, n);
        assert_int_equal(storage_exists(f->st, "blobs/sha256/ab", NULL, &err), 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_put_get_bytes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_object_is_not_found, setup, teardown),
                cmocka_unit_test_setup_teardown(test_keys_cannot_escape, setup, teardown),
                cmocka_unit_test_setup_teardown(test_list_sorted_recursive_no_temp, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_list_missing_prefix_is_empty, setup, teardown),
                cmocka_unit_test_setup_teardown(test_put_get_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_entries_and_partials, setup, teardown),
                cmocka_unit_test(test_unknown_scheme_and_relative_path),
                cmocka_unit_test(test_s3_prefix_follows_the_key_rule),
        };
        return cmocka_run_group_tests_name("storage", tests, NULL, NULL);
}
