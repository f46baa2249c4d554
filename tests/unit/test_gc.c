/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "runner/control/gc.h"
#include "xalloc.h"

#define HEX_A "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
#define HEX_B "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define HEX_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

/* Every string that names a blob keeps it, whatever field holds it: inputs
 * today, code or anything a later job.json adds. */
static void test_blob_refs_any_field(void **state)
{
        static const char json[] =
                "{\"id\": \"j-1\", \"inputs\": [{\"channel\": \"train\", \"source\": "
                "\"blobs/sha256/" HEX_A "\", \"sha256\": \"" HEX_A "\"}],"
                " \"code\": {\"source\": \"blobs/sha256/" HEX_B "\"},"
                " \"other\": [\"s3://b/p/blobs/sha256/" HEX_A "\", \"blobs/sha256/short\","
                " \"xblobs/sha256/" HEX_B "\", \"blobs/sha256/" HEX_A "/x\", 42, null]}";
        _cleanup_strv_ char **refs = xcalloc(1, sizeof *refs);
        struct hoist_error *err = NULL;
        size_t n = 0;

        (void)state;
        assert_int_equal(gc_blob_refs(json, strlen(json), "job.json", &refs, &n, &err), 0);
        assert_int_equal(n, 3);
        assert_string_equal(refs[0], "blobs/sha256/" HEX_A);
        assert_string_equal(refs[1], "blobs/sha256/" HEX_B);
        assert_string_equal(refs[2], "blobs/sha256/" HEX_A);
        assert_null(refs[3]);
}

/* A job.json gc cannot read keeps every blob of its storage. */
static void test_blob_refs_unreadable(void **state)
{
        _cleanup_strv_ char **refs = xcalloc(1, sizeof *refs);
        struct hoist_error *err = NULL;
        size_t n = 0;

        (void)state;
        assert_int_equal(gc_blob_refs("{\"inputs\": [", 12, "jobs/j-1/job.json", &refs, &n, &err),
                         -1);
        assert_non_null(strstr(err->msg, "jobs/j-1/job.json"));
        hoist_error_release(&err);
        assert_int_equal(gc_blob_refs("[]", 2, "j.json", &refs, &n, &err), -1);
        hoist_error_release(&err);
        assert_int_equal(n, 0);
}

/* A tree's packs and unpacked files are live through its manifest. */
static void test_tree_refs(void **state)
{
        static const char manifest[] =
                "{\"entries\":[{\"mode\":420,\"path\":\"a\",\"sha256\":\"" HEX_A
                "\",\"size\":3,\"type\":\"file\"},{\"mode\":420,\"path\":\"b\",\"sha256\":\"" HEX_B
                "\",\"size\":300000,\"type\":\"file\"}],\"format\":\"hoist.tree/v1\",\"packs\":[{"
                "\"files\":[[\"" HEX_A "\",0,3]],\"sha256\":\"" HEX_C "\",\"size\":3}]}";
        _cleanup_strv_ char **refs = xcalloc(1, sizeof *refs);
        struct hoist_error *err = NULL;
        size_t n = 0;

        (void)state;
        assert_int_equal(gc_tree_refs(manifest, strlen(manifest), "m", &refs, &n, &err), 0);
        assert_int_equal(n, 2);
        assert_string_equal(refs[0], "blobs/sha256/" HEX_C);
        assert_string_equal(refs[1], "blobs/sha256/" HEX_B);
        assert_int_equal(gc_tree_refs("{}", 2, "blobs/sha256/x", &refs, &n, &err), -1);
        assert_non_null(strstr(err->msg, "blobs/sha256/x"));
        hoist_error_release(&err);
}

static void test_tmp_owner(void **state)
{
        (void)state;
        assert_int_equal(gc_tmp_owner("input-train-4242.tar"), 4242);
        assert_int_equal(gc_tmp_owner("input-train-4242.tar.tmp.aB3x9Z"), 4242);
        assert_int_equal(gc_tmp_owner("input-data-5.v2-77.tar"), 77);
        assert_int_equal(gc_tmp_owner("input-a-1-2-3.tar"), 3);
        assert_int_equal(gc_tmp_owner("build-Ab12cd"), 0);
        assert_int_equal(gc_tmp_owner("input-x-.tar"), 0);
        assert_int_equal(gc_tmp_owner("plain"), 0);
}

/* gc.lock: submits share it, gc takes it alone. */
static void test_lock_shared_and_exclusive(void **state)
{
        char dir[] = "/tmp/hoist-gclock-XXXXXX";
        struct hoist_error *err = NULL;
        int a = -1, b = -1, c = -1;

        (void)state;
        assert_non_null(mkdtemp(dir));
        _cleanup_free_ char *path = path_join(dir, "gc.lock");
        assert_int_equal(fs_lock_file(path, 0, 0, &a, &err), 1);
        assert_int_equal(fs_lock_file(path, 0, 0, &b, &err), 1);
        assert_int_equal(fs_lock_file(path, 1, 100, &c, &err), 0);
        close(a);
        close(b);
        assert_int_equal(fs_lock_file(path, 1, 0, &c, &err), 1);
        assert_int_equal(fs_lock_file(path, 0, 0, &a, &err), 0);
        close(c);
        assert_int_equal(fs_remove_tree(dir, &err), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_blob_refs_any_field),
                cmocka_unit_test(test_blob_refs_unreadable),
                cmocka_unit_test(test_tree_refs),
                cmocka_unit_test(test_tmp_owner),
                cmocka_unit_test(test_lock_shared_and_exclusive),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
