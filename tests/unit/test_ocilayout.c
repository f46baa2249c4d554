/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "ocilayout.h"
#include "xalloc.h"

#define MT "application/vnd.oci.image.manifest.v1+json"
/* sha256("hello") */
#define HELLO "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

static char dir[64];

static int setup(void **state)
{
        (void)state;
        strcpy(dir, "/tmp/hoist-test-ocilayout.XXXXXX");
        assert_non_null(mkdtemp(dir));
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        struct hoist_error *err = NULL;
        assert_int_equal(fs_remove_tree(dir, &err), 0);
        return 0;
}

static struct ocilayout *open_store(void)
{
        struct ocilayout *lay = NULL;
        struct hoist_error *err = NULL;
        _cleanup_free_ char *path = path_join(dir, "store");

        if (ocilayout_open(path, &lay, &err) < 0)
                fail_msg("%s", err->msg);
        return lay;
}

static void test_open_creates_layout(void **state)
{
        (void)state;
        _cleanup_ocilayout_ struct ocilayout *lay = open_store();
        _cleanup_free_ char *layout = NULL, *index = NULL;
        _cleanup_free_ char *lp = xasprintf("%s/store/oci-layout", dir);
        _cleanup_free_ char *ip = xasprintf("%s/store/index.json", dir);
        _cleanup_free_ char *bp = xasprintf("%s/store/blobs/sha256", dir);
        struct hoist_error *err = NULL;
        size_t n;

        assert_int_equal(fs_read_file(lp, &layout, &n, &err), 0);
        assert_non_null(strstr(layout, "\"imageLayoutVersion\": \"1.0.0\""));
        assert_int_equal(fs_read_file(ip, &index, &n, &err), 0);
        assert_non_null(strstr(index, "\"manifests\": []"));
        assert_true(fs_is_dir(bp));
        /* opening again keeps what is there */
        _cleanup_ocilayout_ struct ocilayout *again = open_store();
        assert_string_equal(ocilayout_dir(again), ocilayout_dir(lay));
}

static void test_blobs(void **state)
{
        (void)state;
        _cleanup_ocilayout_ struct ocilayout *lay = open_store();
        _cleanup_free_ char *d1 = NULL, *d2 = NULL, *d3 = NULL, *path = NULL, *data = NULL;
        _cleanup_free_ char *src = xasprintf("%s/src", dir), *src2 = xasprintf("%s/src2", dir);
        struct hoist_error *err = NULL;
        size_t n;

        assert_null(ocilayout_blob_path(lay, "sha256:zz"));
        assert_null(ocilayout_blob_path(lay, "md5:x"));
        assert_false(ocilayout_has_blob(lay, HELLO));
        assert_int_equal(ocilayout_put_blob_bytes(lay, "hello", 5, &d1, &err), 0);
        assert_string_equal(d1, HELLO);
        assert_true(ocilayout_has_blob(lay, HELLO));
        path = ocilayout_blob_path(lay, HELLO);
        assert_int_equal(fs_read_file(path, &data, &n, &err), 0);
        assert_string_equal(data, "hello");

        /* a file with the wrong digest is refused and nothing is stored */
        assert_int_equal(fs_write_file_atomic(src, "world", 5, 0600, &err), 0);
        assert_int_equal(ocilayout_put_blob_file(lay, src, HELLO, 0, &d2, &err), -1);
        assert_non_null(strstr(err->msg, "not " HELLO));
        assert_null(d2);
        hoist_error_release(&err);
        assert_int_equal(ocilayout_put_blob_file(lay, src, "sha256:nope", 0, &d2, &err), -1);
        hoist_error_release(&err);

        /* copy keeps the source; move takes it */
        assert_int_equal(ocilayout_put_blob_file(lay, src, NULL, 0, &d2, &err), 0);
        assert_true(fs_exists(src));
        assert_true(ocilayout_has_blob(lay, d2));
        assert_int_equal(fs_write_file_atomic(src2, "moved", 5, 0600, &err), 0);
        assert_int_equal(ocilayout_put_blob_file(lay, src2, NULL, 1, &d3, &err), 0);
        assert_false(fs_exists(src2));
        assert_true(ocilayout_has_blob(lay, d3));
        struct stat st;
        _cleanup_free_ char *p3 = ocilayout_blob_path(lay, d3);
        assert_int_equal(stat(p3, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);
        /* the same content again is fine */
        assert_int_equal(ocilayout_put_blob_file(lay, src, d2, 1, NULL, &err), 0);
        assert_false(fs_exists(src));
}

static void test_tags(void **state)
{
        (void)state;
        _cleanup_ocilayout_ struct ocilayout *lay = open_store();
        _cleanup_free_ char *mt = NULL, *dg = NULL;
        _cleanup_strv_ char **refs = NULL;
        struct hoist_error *err = NULL;
        int64_t size = 0;

        assert_int_equal(ocilayout_resolve(lay, "img:v1", &mt, &dg, &size, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        assert_non_null(strstr(err->msg, "'img:v1'"));
        hoist_error_release(&err);

        assert_int_equal(ocilayout_tag(lay, "img:v1", MT, HELLO, 5, &err), 0);
        assert_int_equal(ocilayout_tag(lay, "127.0.0.1:5000/team/img:v1", MT, HELLO, 5, &err), 0);
        assert_int_equal(ocilayout_tag(lay, "bad", MT, "sha256:x", 5, &err), -1);
        hoist_error_release(&err);
        assert_int_equal(ocilayout_resolve(lay, "img:v1", &mt, &dg, &size, &err), 0);
        assert_string_equal(mt, MT);
        assert_string_equal(dg, HELLO);
        assert_int_equal(size, 5);
        /* the normalised name finds it too */
        assert_int_equal(ocilayout_resolve(lay, "docker.io/library/img:v1", NULL, NULL, NULL, &err),
                         0);
        assert_int_equal(ocilayout_resolve(lay, "img", NULL, NULL, NULL, &err), -1);
        hoist_error_release(&err);

        /* retagging replaces */
        assert_int_equal(
                ocilayout_tag(
                        lay, "img:v1", "application/vnd.oci.image.index.v1+json",
                        "sha256:2222222222222222222222222222222222222222222222222222222222222222",
                        9, &err),
                0);
        free(mt);
        free(dg);
        assert_int_equal(ocilayout_resolve(lay, "img:v1", &mt, &dg, &size, &err), 0);
        assert_string_equal(mt, "application/vnd.oci.image.index.v1+json");
        assert_int_equal(size, 9);
        assert_int_equal(ocilayout_list(lay, &refs, &err), 0);
        assert_string_equal(refs[0], "127.0.0.1:5000/team/img:v1");
        assert_string_equal(refs[1], "img:v1");
        assert_null(refs[2]);

        /* index.json stays an OCI index with one entry per tag */
        _cleanup_free_ char *ip = xasprintf("%s/store/index.json", dir);
        json_error_t jerr;
        json_t *root = json_load_file(ip, 0, &jerr);
        assert_non_null(root);
        assert_int_equal(json_integer_value(json_object_get(root, "schemaVersion")), 2);
        assert_int_equal(json_array_size(json_object_get(root, "manifests")), 2);
        json_decref(root);
}

static void test_broken_index(void **state)
{
        (void)state;
        _cleanup_ocilayout_ struct ocilayout *lay = open_store();
        _cleanup_free_ char *ip = xasprintf("%s/store/index.json", dir);
        struct hoist_error *err = NULL;

        assert_int_equal(fs_write_file_atomic(ip, "{\"manifests\": 3}", 16, 0644, &err), 0);
        assert_int_equal(ocilayout_resolve(lay, "x", NULL, NULL, NULL, &err), -1);
        assert_non_null(strstr(err->msg, "index.json"));
        hoist_error_release(&err);
        assert_int_equal(fs_write_file_atomic(ip, "{", 1, 0644, &err), 0);
        assert_int_equal(ocilayout_tag(lay, "x", MT, HELLO, 5, &err), -1);
        assert_non_null(strstr(err->msg, "line 1"));
        hoist_error_release(&err);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_open_creates_layout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_blobs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
                cmocka_unit_test_setup_teardown(test_broken_index, setup, teardown),
        };
        return cmocka_run_group_tests_name("ocilayout", tests, NULL, NULL);
}
