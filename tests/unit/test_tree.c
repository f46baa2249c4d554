/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"
#include "xalloc.h"

#define A64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B64 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define C64 "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static char *manifest(const char *entries, const char *packs)
{
        return xasprintf("{\"format\":\"hoist.tree/v1\",\"entries\":[%s],\"packs\":[%s]}", entries,
                         packs);
}

/* Parses, expecting failure with NEEDLE in the message. */
static void refuses(const char *entries, const char *packs, const char *needle)
{
        char *text = manifest(entries, packs);
        struct tree_manifest *m = NULL;
        struct hoist_error *err = NULL;

        if (tree_manifest_parse(text, strlen(text), &m, &err) == 0)
                fail_msg("accepted: %s", text);
        assert_null(m);
        if (strstr(err->msg, needle) == NULL)
                fail_msg("'%s' lacks '%s'", err->msg, needle);
        hoist_error_free(err);
        free(text);
}

static struct tree_manifest *accepts(const char *entries, const char *packs)
{
        char *text = manifest(entries, packs);
        struct tree_manifest *m = NULL;
        struct hoist_error *err = NULL;

        if (tree_manifest_parse(text, strlen(text), &m, &err) < 0)
                fail_msg("refused %s: %s", text, err->msg);
        free(text);
        return m;
}

static void test_round_trip(void **state)
{
        (void)state;
        struct tree_manifest *m = tree_manifest_new(), *back = NULL;
        struct hoist_error *err = NULL;
        struct tree_pack *p;
        const struct tree_pack *where;
        uint64_t off;
        size_t len;
        char *text, *again;

        tree_manifest_add_file(m, "z.bin", 0644, 300000, C64);
        tree_manifest_add_dir(m, "d", 0755);
        tree_manifest_add_file(m, "d/a.txt", 0600, 5, A64);
        tree_manifest_add_file(m, "d/b.txt", 0644, 7, B64);
        tree_manifest_add_symlink(m, "d/link", "../z.bin");
        p = tree_manifest_add_pack(m);
        memcpy(p->sha256, C64, 65);
        p->sha256[0] = 'd';
        p->size = 12;
        tree_pack_add_file(p, A64, 0, 5);
        tree_pack_add_file(p, B64, 5, 7);

        text = tree_manifest_serialize(m, &len);
        /* canonical: sorted entries, sorted keys, compact */
        assert_non_null(strstr(text, "{\"entries\":[{\"mode\":493,\"path\":\"d\",\"type\":\"dir\"},"
                                     "{\"mode\":384,\"path\":\"d/a.txt\",\"sha256\":\"" A64
                                     "\",\"size\":5,\"type\":\"file\"}"));
        assert_non_null(strstr(text, "\"format\":\"hoist.tree/v1\""));
        assert_non_null(strstr(text, "\"files\":[[\"" A64 "\",0,5],[\"" B64 "\",5,7]]"));
        assert_int_equal(tree_manifest_parse(text, len, &back, &err), 0);
        assert_int_equal(back->n_entries, 5);
        assert_int_equal(tree_manifest_total_size(back), 300012);
        assert_int_equal(tree_manifest_count(back, TREE_ENTRY_SYMLINK), 1);
        assert_string_equal(back->entries[3].target, "../z.bin");
        tree_manifest_locate(back, B64, &where, &off);
        assert_non_null(where);
        assert_int_equal(off, 5);
        tree_manifest_locate(back, C64, &where, &off);
        assert_null(where);
        again = tree_manifest_serialize(back, NULL);
        assert_string_equal(text, again);
        free(again);
        free(text);
        tree_manifest_free(back);
        tree_manifest_free(m);
}

static void test_bad_paths(void **state)
{
        (void)state;
        static const char *const bad[] = {"",       ".",    "..", "/etc/passwd", "a//b", "a/./b",
                                          "a/../b", "../x", "a/", "a\\nb",       "x/.."};
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                char *e = xasprintf("{\"path\":\"%s\",\"type\":\"dir\",\"mode\":493}", bad[i]);
                refuses(e, "", "is not a relative path");
                free(e);
        }
        assert_true(tree_path_valid("a/b c/..d/.e"));
        assert_false(tree_path_valid(NULL));
}

static void test_bad_entries(void **state)
{
        (void)state;
        refuses("{\"path\":\"a\",\"type\":\"fifo\"}", "", "type 'fifo'");
        refuses("{\"path\":\"a\",\"type\":\"file\",\"mode\":420,\"size\":1,\"sha256\":\"AB\"}", "",
                "sha256 must be 64");
        refuses("{\"path\":\"a\",\"type\":\"file\",\"mode\":4095,\"size\":1,\"sha256\":\"" A64
                "\"}",
                "", "mode must be");
        refuses("{\"path\":\"a\",\"type\":\"file\",\"mode\":420,\"size\":-1,\"sha256\":\"" A64
                "\"}",
                "", "size must be");
        refuses("{\"path\":\"b\",\"type\":\"dir\",\"mode\":493},{\"path\":\"a\",\"type\":\"dir\","
                "\"mode\":493}",
                "", "not sorted");
        refuses("{\"path\":\"a\",\"type\":\"dir\",\"mode\":493},{\"path\":\"a\",\"type\":\"dir\","
                "\"mode\":493}",
                "", "listed twice");
        refuses("{\"path\":\"a\",\"type\":\"symlink\",\"target\":\"d\"},{\"path\":\"a/x\",\"type\":"
                "\"dir\",\"mode\":493}",
                "", "below 'a', which is a symlink");
        refuses("{\"path\":\"f\",\"type\":\"file\",\"mode\":420,\"size\":1,\"sha256\":\"" A64
                "\"},{\"path\":\"f/x\",\"type\":\"dir\",\"mode\":493}",
                "", "which is a file");
        {
                char *t = xasprintf("{\"format\":\"hoist.tree/v2\",\"entries\":[]}");
                struct tree_manifest *m = NULL;
                struct hoist_error *err = NULL;
                assert_int_equal(tree_manifest_parse(t, strlen(t), &m, &err), -1);
                assert_non_null(strstr(err->msg, "not supported"));
                hoist_error_free(err);
                free(t);
        }
}

static void test_escaping_symlinks(void **state)
{
        (void)state;
        refuses("{\"path\":\"l\",\"type\":\"symlink\",\"target\":\"/etc/passwd\"}", "",
                "stays inside");
        refuses("{\"path\":\"l\",\"type\":\"symlink\",\"target\":\"..\"}", "", "stays inside");
        refuses("{\"path\":\"d/l\",\"type\":\"symlink\",\"target\":\"../../x\"}", "",
                "stays inside");
        refuses("{\"path\":\"l\",\"type\":\"symlink\",\"target\":\"a/../../x\"}", "",
                "stays inside");
        /* d/l points at the root; m -> d/l/.. would be the root's parent */
        refuses("{\"path\":\"d\",\"type\":\"dir\",\"mode\":493},{\"path\":\"d/l\",\"type\":"
                "\"symlink\",\"target\":\"..\"},{\"path\":\"m\",\"type\":\"symlink\",\"target\":"
                "\"d/l/..\"}",
                "", "stays inside the tree (followed through");
        /* a -> l/../../f.txt with l -> d/e: the kernel lands on f.txt, inside */
        tree_manifest_free(
                accepts("{\"path\":\"a\",\"type\":\"symlink\",\"target\":\"l/../../f.txt\"},"
                        "{\"path\":\"d\",\"type\":\"dir\",\"mode\":493},"
                        "{\"path\":\"l\",\"type\":\"symlink\",\"target\":\"d/e\"}",
                        ""));
        /* links that loop are refused, not followed forever */
        refuses("{\"path\":\"a\",\"type\":\"symlink\",\"target\":\"b/x\"},"
                "{\"path\":\"b\",\"type\":\"symlink\",\"target\":\"a/x\"}",
                "", "stays inside");
        tree_manifest_free(accepts("{\"path\":\"d/l\",\"type\":\"symlink\",\"target\":\"../x\"},"
                                   "{\"path\":\"l\",\"type\":\"symlink\",\"target\":\"d/./../d\"}",
                                   ""));
        assert_true(tree_symlink_target_valid("a/b/c", "../../x"));
        assert_false(tree_symlink_target_valid("a/b/c", "../../../x"));
}

static void test_corrupt_pack_index(void **state)
{
        (void)state;
        static const char file_a[] =
                "{\"path\":\"a\",\"type\":\"file\",\"mode\":420,\"size\":5,\"sha256\":\"" A64 "\"}";
        refuses(file_a, "{\"sha256\":\"" C64 "\",\"size\":4,\"files\":[[\"" A64 "\",0,5]]}",
                "runs past");
        refuses(file_a,
                "{\"sha256\":\"" C64 "\",\"size\":20,\"files\":[[\"" A64 "\",0,5],[\"" B64
                "\",3,5]]}",
                "overlaps");
        refuses(file_a, "{\"sha256\":\"" C64 "\",\"size\":20,\"files\":[[\"" A64 "\",0,6]]}",
                "6 bytes in the index but 5");
        refuses(file_a, "{\"sha256\":\"" C64 "\",\"size\":20,\"files\":[[\"" A64 "\",0]]}",
                "is not [sha256, offset, size]");
        refuses(file_a,
                "{\"sha256\":\"" C64 "\",\"size\":18446744073709551615,\"files\":[[\"" A64
                "\",18446744073709551610,5]]}",
                "");
        refuses(file_a, "{\"sha256\":\"zz\",\"size\":5,\"files\":[]}", "packs[0].sha256");
        tree_manifest_free(accepts(file_a, "{\"sha256\":\"" C64 "\",\"size\":5,\"files\":[[\"" A64
                                           "\",0,5],[\"" B64 "\",5,0]]}"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),         cmocka_unit_test(test_bad_paths),
                cmocka_unit_test(test_bad_entries),        cmocka_unit_test(test_escaping_symlinks),
                cmocka_unit_test(test_corrupt_pack_index),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
