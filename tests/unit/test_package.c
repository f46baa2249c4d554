/* SPDX-License-Identifier: MIT */
/* The upload plan (runner/job/package.c): a provider's upload limit and the
 * summary, on plans made by hand; test_consent.sh plans real trees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"
#include "ignore.h"
#include "runner/job/package.h"
#include "xalloc.h"

#define MIB (1024ULL * 1024)

/* The code (2 MiB) and inputs 'train' (140 MiB, stored already) and
 * 'config' (1 KiB, the same blob as the code). */
static struct package_plan *sample(void)
{
        struct package_plan *p = xzalloc(sizeof *p);
        static char *sensitive[] = {(char *)".env", (char *)".git/", NULL};

        p->items = xcalloc(3, sizeof *p->items);
        p->n_items = 3;
        p->items[0] = (struct package_item){.shown = xstrdup("."),
                                            .is_dir = 1,
                                            .size = 2 * MIB,
                                            .n_files = 12,
                                            .file_bytes = 2 * MIB - 10240,
                                            .n_by_rules = 3,
                                            .to_send = 2 * MIB};
        p->items[0].sensitive = xcalloc(3, sizeof(char *));
        p->items[0].sensitive[0] = xstrdup(sensitive[0]);
        p->items[0].sensitive[1] = xstrdup(sensitive[1]);
        p->items[0].n_sensitive = 2;
        p->items[1] = (struct package_item){.channel = xstrdup("train"),
                                            .shown = xstrdup("data"),
                                            .is_dir = 1,
                                            .size = 140 * MIB,
                                            .n_files = 1,
                                            .file_bytes = 140 * MIB - 1536,
                                            .stored = 1};
        p->items[2] = (struct package_item){.channel = xstrdup("config"),
                                            .shown = xstrdup("c.json"),
                                            .size = 1024,
                                            .n_files = 1,
                                            .file_bytes = 1024,
                                            .dup = 1};
        p->to_send = 2 * MIB;
        return p;
}

static void test_limit(void **state)
{
        (void)state;
        _cleanup_package_plan_ struct package_plan *p = sample();
        _cleanup_error_ struct hoist_error *err = NULL;

        assert_int_equal(package_check_limit(p, "local", 0, NULL), 0);
        assert_int_equal(package_check_limit(p, "big", 140 * MIB, NULL), 0);
        /* the size of what is stored counts, sent before or not: the
         * provider takes the whole blob */
        assert_int_equal(package_check_limit(p, "replicate", 100 * MIB, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_INPUT);
        assert_string_equal(err->msg, "input 'train' ('data') is 140.0 MiB; the replicate provider "
                                      "accepts at most 100.0 MiB per upload; nothing was uploaded "
                                      "(leave files out with .hoistignore, or use another "
                                      "provider)");
        hoist_error_release(&err);
        assert_int_equal(package_check_limit(p, "tiny", 1 * MIB, &err), -1);
        assert_string_equal(err->msg, "code ('.') is 2.0 MiB; the tiny provider accepts at most "
                                      "1.0 MiB per upload; nothing was uploaded (leave files out "
                                      "with .hoistignore, or use another provider)");
        hoist_error_release(&err);
        /* a tree counts what it sends: its unchanged files went up before */
        p->items[1].tree = treesync_new("/nonexistent", NULL, "file:///x", 0);
        p->items[1].to_send = 3 * MIB;
        p->items[0].size = 1024;
        assert_int_equal(package_check_limit(p, "replicate", 100 * MIB, NULL), 0);
        assert_int_equal(package_check_limit(p, "tiny", 1 * MIB, &err), -1);
        assert_string_equal(err->msg, "input 'train' ('data') sends 3.0 MiB; the tiny provider "
                                      "accepts at most 1.0 MiB per upload; nothing was uploaded "
                                      "(leave files out with .hoistignore, or use another "
                                      "provider)");
}

static void test_summary(void **state)
{
        (void)state;
        _cleanup_package_plan_ struct package_plan *p = sample();
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);

        package_print_summary(p, "provider 'local' (runs on this machine), storage s3://b/p", out);
        fclose(out);
        assert_string_equal(text, "Upload plan:\n"
                                  "  code (.): 12 files, 2.0 MiB; sends 2.0 MiB\n"
                                  "    excluded by .gitignore/.hoistignore: 3\n"
                                  "    excluded as sensitive: .env\n"
                                  "    excluded as sensitive: .git/\n"
                                  "  input 'train' (data): 1 file, 140.0 MiB; sends 0 B (stored "
                                  "already)\n"
                                  "  input 'config' (c.json): 1 file, 1.0 KiB; sends 0 B (the "
                                  "same as an earlier upload)\n"
                                  "  total: sends 2.0 MiB, and the job's job.json\n"
                                  "  destination: provider 'local' (runs on this machine), "
                                  "storage s3://b/p\n");
}

/* docs/job.md lists the sensitive patterns that lib/ignore.c has, in its
 * order: the paragraph after "Never sent unless named", as `code` spans. */
static void test_docs_list(void **state)
{
        (void)state;
        _cleanup_free_ char *doc = NULL;
        const char *const *want = ignore_sensitive_patterns();
        size_t len = 0, n = 0;
        _cleanup_error_ struct hoist_error *err = NULL;

        if (fs_read_file("docs/job.md", &doc, &len, &err) < 0)
                fail_msg("%s", err->msg);
        const char *p = strstr(doc, "**Never sent unless named");
        assert_non_null(p);
        p = strstr(p, "\n\n");
        assert_non_null(p);
        const char *end = strstr(p + 2, "\n\n");
        assert_non_null(end);
        for (p = strchr(p, '`'); p != NULL && p < end; p = strchr(p + 1, '`')) {
                const char *close = strchr(p + 1, '`');
                assert_non_null(want[n]);
                assert_int_equal((size_t)(close - p - 1), strlen(want[n]));
                assert_memory_equal(p + 1, want[n], strlen(want[n]));
                n++;
                p = close;
        }
        assert_null(want[n]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_limit),
                cmocka_unit_test(test_summary),
                cmocka_unit_test(test_docs_list),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
