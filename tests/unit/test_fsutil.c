/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

static int setup(void **state)
{
        char *dir = xstrdup("/tmp/hoist-fsutil-XXXXXX");

        assert_non_null(mkdtemp(dir));
        *state = dir;
        return 0;
}

static int teardown(void **state)
{
        assert_int_equal(fs_remove_tree(*state, NULL), 0);
        free(*state);
        return 0;
}

static void test_path_join(void **state)
{
        (void)state;
        static const char *const cases[][3] = {
                {"a", "b", "a/b"}, {"a/", "b", "a/b"},    {"a//", "/b", "a/b"},  {"/", "b", "/b"},
                {"a", "", "a"},    {"/x/y/", "", "/x/y"}, {"a", "b/c", "a/b/c"},
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                _cleanup_free_ char *p = path_join(cases[i][0], cases[i][1]);
                assert_string_equal(p, cases[i][2]);
        }
}

static void check_clean(const char *in, const char *want)
{
        char *got = path_clean_in_root(in);

        assert_string_equal(got, want);
        free(got);
}

static void test_path_clean_in_root(void **state)
{
        (void)state;
        check_clean("/a/./b/../c/", "a/c");
        check_clean("../../x", "x");
        check_clean("/", "");
        check_clean("", "");
        check_clean("a//b", "a/b");
        check_clean("/usr/local/bin/..", "usr/local");
        check_clean("a/../..", "");
}

static void test_count_dir(void **state)
{
        char d[] = "/tmp/hoist-test-count-XXXXXX";
        char *f;

        (void)state;
        assert_non_null(mkdtemp(d));
        assert_int_equal(fs_count_dir(d), 0);
        f = path_join(d, "a");
        assert_int_equal(fs_write_file_atomic(f, "x", 1, 0644, NULL), 0);
        free(f);
        f = path_join(d, "sub");
        assert_int_equal(fs_mkdir_p(f, 0755, NULL), 0);
        assert_int_equal(fs_count_dir(d), 2);
        assert_int_equal(fs_count_dir(f), 0);
        free(f);
        f = path_join(d, "missing");
        assert_int_equal(fs_count_dir(f), -1);
        free(f);
        assert_int_equal(fs_remove_tree(d, NULL), 0);
}

static void test_mkdir_p_and_errors(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *deep = xasprintf("%s/a/b/c", dir);
        _cleanup_free_ char *file = xasprintf("%s/file", dir);
        _cleanup_free_ char *under = xasprintf("%s/file/sub", dir);
        _cleanup_error_ struct hoist_error *err = NULL;

        assert_int_equal(fs_mkdir_p(deep, 0755, &err), 0);
        assert_true(fs_is_dir(deep));
        assert_int_equal(fs_mkdir_p(deep, 0755, &err), 0); /* exists: fine */
        assert_int_equal(fs_write_file_atomic(file, "x", 1, 0644, &err), 0);
        assert_int_equal(fs_mkdir_p(under, 0755, &err), -1);
        assert_non_null(strstr(err->msg, under));
}

static void test_atomic_write_leaves_no_temp(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *path = xasprintf("%s/f", dir);
        _cleanup_free_ char *data = NULL;
        struct hoist_error *err = NULL;
        size_t len = 0;
        struct stat st;
        int entries = 0;

        assert_int_equal(fs_write_file_atomic(path, "old", 3, 0600, &err), 0);
        assert_int_equal(fs_write_file_atomic(path, "new!", 4, 0640, &err), 0);
        assert_int_equal(fs_read_file(path, &data, &len, &err), 0);
        assert_int_equal(len, 4);
        assert_string_equal(data, "new!");
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0640);
        DIR *d = opendir(dir);
        for (struct dirent *de; (de = readdir(d)) != NULL;)
                entries += de->d_name[0] != '.';
        closedir(d);
        assert_int_equal(entries, 1);
}

static void test_atomic_write_into_missing_dir_fails_cleanly(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *path = xasprintf("%s/missing/f", dir);
        _cleanup_error_ struct hoist_error *err = NULL;

        assert_int_equal(fs_write_file_atomic(path, "x", 1, 0644, &err), -1);
        assert_int_equal(err->code, ENOENT);
        assert_non_null(strstr(err->msg, path));
}

static void test_read_large_and_missing(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *path = xasprintf("%s/big", dir);
        _cleanup_free_ char *big = xmalloc(300000);
        _cleanup_free_ char *back = NULL;
        _cleanup_error_ struct hoist_error *err = NULL;
        size_t len = 0;

        for (size_t i = 0; i < 300000; i++)
                big[i] = (char)('a' + i % 26);
        assert_int_equal(fs_write_file_atomic(path, big, 300000, 0644, &err), 0);
        assert_int_equal(fs_read_file(path, &back, &len, &err), 0);
        assert_int_equal(len, 300000);
        assert_memory_equal(back, big, 300000);
        assert_int_equal(back[len], '\0');
        free(TAKE_PTR(back));
        assert_int_equal(fs_read_file("/nonexistent/hoist", &back, &len, &err), -1);
        assert_int_equal(err->code, ENOENT);
}

static void test_copy_tree_and_remove(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *src = xasprintf("%s/src", dir);
        _cleanup_free_ char *sub = xasprintf("%s/src/sub", dir);
        _cleanup_free_ char *f = xasprintf("%s/src/sub/f.txt", dir);
        _cleanup_free_ char *lnk = xasprintf("%s/src/link", dir);
        _cleanup_free_ char *dst = xasprintf("%s/dst", dir);
        _cleanup_free_ char *df = xasprintf("%s/dst/sub/f.txt", dir);
        _cleanup_free_ char *dl = xasprintf("%s/dst/link", dir);
        _cleanup_free_ char *data = NULL;
        struct hoist_error *err = NULL;
        char target[64];
        struct stat st;

        assert_int_equal(fs_mkdir_p(sub, 0755, &err), 0);
        assert_int_equal(fs_write_file_atomic(f, "hello", 5, 0755, &err), 0);
        assert_int_equal(symlink("sub/f.txt", lnk), 0);
        assert_int_equal(fs_copy_tree(src, dst, &err), 0);
        assert_int_equal(fs_read_file(df, &data, NULL, &err), 0);
        assert_string_equal(data, "hello");
        assert_int_equal(stat(df, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0755);
        ssize_t n = readlink(dl, target, sizeof target - 1);
        assert_true(n > 0);
        target[n] = '\0';
        assert_string_equal(target, "sub/f.txt");
        assert_int_equal(fs_remove_tree(dst, &err), 0);
        assert_false(fs_exists(dst));
        assert_int_equal(fs_remove_tree(dst, &err), 0); /* already gone: fine */
}

static void test_list_dir(void **state)
{
        const char *dir = *state;
        static const char *const names[] = {"b", "a", "B", "_z", ".hidden", "a.b", "\xc3\xa9"};
        static const char *const sorted[] = {".hidden", "B", "_z", "a", "a.b", "b", "\xc3\xa9"};
        _cleanup_free_ char *missing = xasprintf("%s/missing", dir);
        _cleanup_strv_ char **v = NULL;
        struct hoist_error *err = NULL;
        size_t n = 0;

        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, names[i]);
                assert_int_equal(fs_write_file_atomic(p, "x", 1, 0644, &err), 0);
        }
        v = fs_list_dir(dir, &err);
        assert_non_null(v);
        for (; v[n] != NULL; n++)
                assert_string_equal(v[n], sorted[n]); /* bytes, not the locale */
        assert_int_equal(n, sizeof sorted / sizeof sorted[0]);

        assert_null(fs_list_dir(missing, &err));
        assert_non_null(err);
        assert_int_equal(err->code, ENOENT);
        assert_non_null(strstr(err->msg, "list '"));
        hoist_error_release(&err);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_path_join),
                cmocka_unit_test(test_path_clean_in_root),
                cmocka_unit_test(test_count_dir),
                cmocka_unit_test_setup_teardown(test_mkdir_p_and_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_atomic_write_leaves_no_temp, setup, teardown),
                cmocka_unit_test_setup_teardown(test_atomic_write_into_missing_dir_fails_cleanly,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_read_large_and_missing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_copy_tree_and_remove, setup, teardown),
                cmocka_unit_test_setup_teardown(test_list_dir, setup, teardown),
        };
        return cmocka_run_group_tests_name("fsutil", tests, NULL, NULL);
}
