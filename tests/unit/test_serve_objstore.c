/* SPDX-License-Identifier: MIT */
/* hoist serve's object files: keys never become paths, writes are atomic,
 * prefix keys coexist, listing and multipart work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "runner/serve/objstore.h"
#include "runner/serve/s3err.h"
#include "xalloc.h"

static int setup(void **state)
{
        char *dir = xstrdup("/tmp/hoist-serve-os-XXXXXX");

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

static int put(struct objstore *os, const char *bucket, const char *key, const char *body,
               struct objstore_meta *ret)
{
        struct objstore_writer *w = NULL;
        struct hoist_error *err = NULL;
        int rc = objstore_writer_object(os, bucket, key, "text/plain", &w, &err);

        if (rc >= 0)
                rc = objstore_writer_write(w, body, strlen(body), &err);
        if (rc >= 0)
                rc = objstore_writer_commit(w, NULL, NULL, ret, &err);
        objstore_writer_free(w);
        hoist_error_free(err);
        return rc;
}

static char *get(struct objstore *os, const char *bucket, const char *key)
{
        _cleanup_close_ int fd = -1;
        struct objstore_meta m = {0};
        char *out;

        if (objstore_object_open(os, bucket, key, &fd, &m, NULL) < 0)
                return NULL;
        out = xzalloc(m.size + 1);
        assert_int_equal(pread(fd, out, m.size, OBJSTORE_HEADER_SIZE), (ssize_t)m.size);
        objstore_meta_clear(&m);
        return out;
}

/* Counts entries below DIR, recursively; fails on anything but the layout. */
static int count_files(const char *dir)
{
        _cleanup_free_ char *cmd = xasprintf("find '%s' -type f | wc -l", dir);
        FILE *f = popen(cmd, "r");
        int n = -1;

        assert_non_null(f);
        assert_int_equal(fscanf(f, "%d", &n), 1);
        pclose(f);
        return n;
}

static void test_names(void **state)
{
        static const char *const good_buckets[] = {"abc", "hoist", "my-bucket.1", "a1b"};
        static const char *const bad_buckets[] = {"ab",  "ABC",         "a..b", "-ab", "ab-",
                                                  "a_b", "192.168.1.1", ".ab",  "a.-b"};
        static const char *const bad_keys[] = {"",     "/abs", "..",  "../x", "a/../b",
                                               "a/..", ".",    "./a", "a/./b"};
        char name[65], big[OBJSTORE_MAX_KEY + 2];

        (void)state;
        for (size_t i = 0; i < sizeof good_buckets / sizeof good_buckets[0]; i++)
                assert_true(objstore_bucket_name_valid(good_buckets[i]));
        for (size_t i = 0; i < sizeof bad_buckets / sizeof bad_buckets[0]; i++)
                assert_false(objstore_bucket_name_valid(bad_buckets[i]));
        for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++)
                assert_false(objstore_key_valid(bad_keys[i]));
        assert_true(objstore_key_valid("a"));
        assert_true(objstore_key_valid("a/"));
        assert_true(objstore_key_valid("a//b"));
        assert_true(objstore_key_valid("..a/b.."));
        memset(big, 'k', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        assert_false(objstore_key_valid(big));
        big[OBJSTORE_MAX_KEY] = '\0';
        assert_true(objstore_key_valid(big));
        /* the file name is always 64 hex digits, whatever the key */
        objstore_key_filename("../../etc/passwd", name);
        assert_int_equal(strlen(name), 64);
        assert_int_equal(strspn(name, "0123456789abcdef"), 64);
}

static void test_put_get_prefix_keys(void **state)
{
        _cleanup_free_ char *root = path_join(*state, "data");
        struct objstore *os = NULL;
        struct objstore_meta m = {0};
        struct hoist_error *err = NULL;
        static const char *const keys[] = {"a", "a/", "a/b", "a/b/c", "../../escape", "a//b"};

        assert_int_equal(objstore_open(root, &os, NULL), 0);
        assert_int_equal(put(os, "nobucket", "a", "x", &m), -S3ERR_NO_SUCH_BUCKET);
        assert_int_equal(objstore_bucket_create(os, "bkt", NULL), 0);
        assert_int_equal(objstore_bucket_create(os, "bkt", &err), -S3ERR_BUCKET_ALREADY_OWNED);
        hoist_error_release(&err);
        assert_int_equal(objstore_bucket_create(os, "../x", &err), -S3ERR_INVALID_BUCKET_NAME);
        hoist_error_release(&err);
        assert_int_equal(put(os, "bkt", "../../escape", "x", &m), -S3ERR_INVALID_ARGUMENT);
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
                if (!objstore_key_valid(keys[i]))
                        continue;
                assert_int_equal(put(os, "bkt", keys[i], keys[i], &m), 0);
                objstore_meta_clear(&m);
        }
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
                _cleanup_free_ char *body = get(os, "bkt", keys[i]);
                if (!objstore_key_valid(keys[i])) {
                        assert_null(body);
                        continue;
                }
                assert_non_null(body);
                assert_string_equal(body, keys[i]);
        }
        /* "hello" has md5 5d41402abc4b2a76b9719d911017c592 */
        assert_int_equal(put(os, "bkt", "h", "hello", &m), 0);
        assert_string_equal(m.etag, "\"5d41402abc4b2a76b9719d911017c592\"");
        objstore_meta_clear(&m);
        /* 6 objects, nothing but files named by hashes, nothing left in tmp/ */
        assert_int_equal(count_files(root), 6);
        {
                _cleanup_free_ char *tmp = path_join(root, "bkt/tmp");
                assert_int_equal(count_files(tmp), 0);
        }
        assert_int_equal(objstore_bucket_delete(os, "bkt", &err), -S3ERR_BUCKET_NOT_EMPTY);
        hoist_error_release(&err);
        objstore_free(os);
}

static void test_checks_and_list(void **state)
{
        _cleanup_free_ char *root = path_join(*state, "data");
        struct objstore *os = NULL;
        struct objstore_writer *w = NULL;
        struct objstore_meta m = {0}, *v = NULL;
        struct hoist_error *err = NULL;
        size_t n = 0;

        assert_int_equal(objstore_open(root, &os, NULL), 0);
        assert_int_equal(objstore_bucket_create(os, "bkt", NULL), 0);
        /* a body that does not match x-amz-content-sha256 or Content-MD5 is not stored */
        assert_int_equal(objstore_writer_object(os, "bkt", "k", NULL, &w, NULL), 0);
        assert_int_equal(objstore_writer_write(w, "abc", 3, NULL), 0);
        assert_int_equal(objstore_writer_commit(w,
                                                "0000000000000000000000000000000000000000000000"
                                                "000000000000000000",
                                                NULL, &m, &err),
                         -S3ERR_CONTENT_SHA256_MISMATCH);
        hoist_error_release(&err);
        objstore_writer_free(w);
        assert_int_equal(objstore_writer_object(os, "bkt", "k", NULL, &w, NULL), 0);
        assert_int_equal(objstore_writer_write(w, "abc", 3, NULL), 0);
        assert_int_equal(objstore_writer_commit(w, NULL, "AAAAAAAAAAAAAAAAAAAAAA==", &m, &err),
                         -S3ERR_BAD_DIGEST);
        hoist_error_release(&err);
        objstore_writer_free(w);
        assert_null(get(os, "bkt", "k"));
        assert_int_equal(objstore_writer_object(os, "bkt", "k", NULL, &w, NULL), 0);
        assert_int_equal(objstore_writer_write(w, "abc", 3, NULL), 0);
        assert_int_equal(objstore_writer_commit(w,
                                                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9c"
                                                "b410ff61f20015ad",
                                                "kAFQmDzST7DWlj99KOF/cg==", &m, NULL),
                         0);
        objstore_writer_free(w);
        objstore_meta_clear(&m);

        assert_int_equal(put(os, "bkt", "dir/b", "1", &m), 0);
        objstore_meta_clear(&m);
        assert_int_equal(put(os, "bkt", "dir/a", "1", &m), 0);
        objstore_meta_clear(&m);
        assert_int_equal(objstore_object_list(os, "bkt", "dir/", &v, &n, NULL), 0);
        assert_int_equal(n, 2);
        assert_string_equal(v[0].key, "dir/a");
        assert_string_equal(v[1].key, "dir/b");
        objstore_meta_list_free(v, n);
        assert_int_equal(objstore_object_delete(os, "bkt", "dir/a", NULL), 0);
        assert_int_equal(objstore_object_delete(os, "bkt", "dir/a", NULL), 0);
        assert_int_equal(objstore_object_list(os, "bkt", "", &v, &n, NULL), 0);
        assert_int_equal(n, 2);
        objstore_meta_list_free(v, n);
        objstore_free(os);
}

/* The bucket's obj/ directory last changed 10 s ago: a listing is kept. */
static void age_dir(const char *root)
{
        _cleanup_free_ char *dir = path_join(root, "bkt/obj");
        struct timespec t[2];

        (void)clock_gettime(CLOCK_REALTIME, &t[0]);
        t[0].tv_sec -= 10;
        t[1] = t[0];
        assert_int_equal(utimensat(AT_FDCWD, dir, t, 0), 0);
}

static size_t count(struct objstore *os, const char *prefix)
{
        struct objstore_meta *v = NULL;
        size_t n = 0;

        assert_int_equal(objstore_object_list(os, "bkt", prefix, &v, &n, NULL), 0);
        for (size_t i = 1; i < n; i++)
                assert_true(strcmp(v[i - 1].key, v[i].key) < 0);
        objstore_meta_list_free(v, n);
        return n;
}

/* Listings are kept between pages, and never outlive a change: a put, a
 * delete, or a file removed behind the server's back. */
static void test_list_kept_until_changed(void **state)
{
        _cleanup_free_ char *root = path_join(*state, "data");
        struct objstore *os = NULL;
        struct objstore_meta m = {0};
        char key[32];

        assert_int_equal(objstore_open(root, &os, NULL), 0);
        assert_int_equal(objstore_bucket_create(os, "bkt", NULL), 0);
        for (int i = 0; i < 50; i++) {
                (void)snprintf(key, sizeof key, "%s/%02d", i % 2 ? "odd" : "even", i);
                assert_int_equal(put(os, "bkt", key, "x", &m), 0);
                objstore_meta_clear(&m);
        }
        age_dir(root);
        assert_int_equal(count(os, ""), 50);
        assert_int_equal(count(os, "odd/"), 25);
        assert_int_equal(count(os, "even/1"), 5);
        assert_int_equal(count(os, "none/"), 0);
        assert_int_equal(count(os, "odd/49"), 1);
        assert_int_equal(put(os, "bkt", "odd/99", "y", &m), 0);
        objstore_meta_clear(&m);
        assert_int_equal(count(os, "odd/"), 26);
        age_dir(root);
        assert_int_equal(count(os, ""), 51);
        assert_int_equal(objstore_object_delete(os, "bkt", "odd/99", NULL), 0);
        assert_int_equal(count(os, "odd/"), 25);
        age_dir(root);
        assert_int_equal(count(os, ""), 50);
        /* behind the server's back: the directory's times tell */
        _cleanup_free_ char *path = NULL;
        {
                _cleanup_free_ char *dir = path_join(root, "bkt/obj");
                DIR *d = opendir(dir);
                struct dirent *de;
                assert_non_null(d);
                while ((de = readdir(d)) != NULL)
                        if (strlen(de->d_name) == 64 && path == NULL)
                                path = path_join(dir, de->d_name);
                (void)closedir(d);
        }
        assert_non_null(path);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(count(os, ""), 49);
        objstore_free(os);
}

static void test_multipart(void **state)
{
        _cleanup_free_ char *root = path_join(*state, "data");
        _cleanup_free_ char *big = xmalloc(OBJSTORE_MIN_PART_SIZE);
        struct objstore *os = NULL;
        struct objstore_writer *w = NULL;
        struct objstore_meta m = {0};
        struct objstore_part *have = NULL, want[2];
        struct hoist_error *err = NULL;
        char id[OBJSTORE_UPLOAD_ID_LEN + 1];
        size_t n = 0;

        memset(big, 'x', OBJSTORE_MIN_PART_SIZE);
        assert_int_equal(objstore_open(root, &os, NULL), 0);
        assert_int_equal(objstore_bucket_create(os, "bkt", NULL), 0);
        assert_int_equal(objstore_upload_create(os, "bkt", "mp", NULL, id, NULL), 0);
        assert_int_equal(objstore_upload_check(os, "bkt", id, "other", &err),
                         -S3ERR_NO_SUCH_UPLOAD);
        hoist_error_release(&err);
        assert_int_equal(objstore_upload_check(os, "bkt", "../../x", "mp", &err),
                         -S3ERR_NO_SUCH_UPLOAD);
        hoist_error_release(&err);
        for (unsigned p = 1; p <= 2; p++) {
                assert_int_equal(objstore_writer_part(os, "bkt", id, "mp", p, &w, NULL), 0);
                assert_int_equal(
                        objstore_writer_write(w, big, p == 1 ? OBJSTORE_MIN_PART_SIZE : 3, NULL),
                        0);
                assert_int_equal(objstore_writer_commit(w, NULL, NULL, &m, NULL), 0);
                objstore_writer_free(w);
                objstore_meta_clear(&m);
        }
        assert_int_equal(objstore_upload_parts(os, "bkt", id, "mp", &have, &n, NULL), 0);
        assert_int_equal(n, 2);
        want[0] = have[1];
        want[1] = have[0];
        assert_int_equal(objstore_upload_complete(os, "bkt", id, "mp", want, 2, &m, &err),
                         -S3ERR_INVALID_PART_ORDER);
        hoist_error_release(&err);
        want[0] = have[0];
        want[1] = have[1];
        strcpy(want[1].etag, "\"00000000000000000000000000000000\"");
        assert_int_equal(objstore_upload_complete(os, "bkt", id, "mp", want, 2, &m, &err),
                         -S3ERR_INVALID_PART);
        hoist_error_release(&err);
        want[1] = have[1];
        assert_int_equal(objstore_upload_complete(os, "bkt", id, "mp", want, 2, &m, NULL), 0);
        assert_int_equal(m.size, OBJSTORE_MIN_PART_SIZE + 3);
        assert_non_null(strstr(m.etag, "-2\""));
        objstore_meta_clear(&m);
        free(have);
        assert_int_equal(objstore_upload_check(os, "bkt", id, "mp", &err), -S3ERR_NO_SUCH_UPLOAD);
        hoist_error_release(&err);
        objstore_free(os);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test_setup_teardown(test_put_get_prefix_keys, setup, teardown),
                cmocka_unit_test_setup_teardown(test_checks_and_list, setup, teardown),
                cmocka_unit_test_setup_teardown(test_list_kept_until_changed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_multipart, setup, teardown),
        };
        return cmocka_run_group_tests_name("serve_objstore", tests, NULL, NULL);
}
