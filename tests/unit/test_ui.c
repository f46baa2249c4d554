/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/serve/ui.h"

/* The page is at "/", and every file has a type, a quoted ETag and bytes. */
static void test_table(void **state)
{
        const struct ui_file *index = ui_find("/");

        (void)state;
        assert_non_null(index);
        assert_string_equal(index->content_type, "text/html; charset=utf-8");
        assert_null(ui_find("/index.html"));
        assert_null(ui_find("/_ui/index.html"));
        assert_non_null(ui_find("/_ui/app.js"));
        assert_string_equal(ui_find("/_ui/app.js")->content_type, "text/javascript; charset=utf-8");
        assert_string_equal(ui_find("/_ui/app.css")->content_type, "text/css; charset=utf-8");
        for (size_t i = 0; i < ui_files_count; i++) {
                const struct ui_file *f = &ui_files[i];
                assert_true(f->size > 0);
                assert_true(strcmp(f->path, "/") == 0 || strncmp(f->path, "/_ui/", 5) == 0);
                assert_int_equal(strlen(f->etag), 34);
                assert_int_equal(f->etag[0], '"');
                for (size_t j = 0; j < i; j++)
                        assert_string_not_equal(ui_files[j].path, f->path);
        }
}

/* Every module a script imports ("from './x.js'") and every file the page
 * names ("/_ui/...") is embedded: a missing one would break the page only
 * in a browser. */
static void test_references_resolve(void **state)
{
        (void)state;
        for (size_t i = 0; i < ui_files_count; i++) {
                const struct ui_file *f = &ui_files[i];
                char *text = strndup((const char *)f->data, f->size);
                const char *p = text;

                assert_non_null(text);
                while ((p = strstr(p, "from './")) != NULL) {
                        char name[128], path[160];
                        const char *end = strchr(p + 8, '\'');

                        assert_non_null(end);
                        assert_true((size_t)(end - (p + 8)) < sizeof name);
                        memcpy(name, p + 8, (size_t)(end - (p + 8)));
                        name[end - (p + 8)] = '\0';
                        (void)snprintf(path, sizeof path, "/_ui/%s", name);
                        if (ui_find(path) == NULL)
                                fail_msg("%s imports '%s', which is not embedded", f->path, name);
                        p = end;
                }
                if (strcmp(f->path, "/") == 0) {
                        for (p = strstr(text, "\"/_ui/"); p != NULL; p = strstr(p + 1, "\"/_ui/")) {
                                char path[160];
                                const char *end = strchr(p + 1, '"');

                                assert_non_null(end);
                                assert_true((size_t)(end - (p + 1)) < sizeof path);
                                memcpy(path, p + 1, (size_t)(end - (p + 1)));
                                path[end - (p + 1)] = '\0';
                                if (ui_find(path) == NULL)
                                        fail_msg("index.html names '%s', which is not embedded",
                                                 path);
                        }
                        assert_null(strstr(text, "<script>")); /* the CSP forbids inline script */
                }
                free(text);
        }
}

static void test_etag_matches(void **state)
{
        (void)state;
        assert_false(ui_etag_matches(NULL, "\"abc\""));
        assert_false(ui_etag_matches("", "\"abc\""));
        assert_true(ui_etag_matches("\"abc\"", "\"abc\""));
        assert_true(ui_etag_matches("W/\"abc\"", "\"abc\""));
        assert_true(ui_etag_matches("\"x\", \"abc\"", "\"abc\""));
        assert_true(ui_etag_matches("\"x\",\"abc\"", "\"abc\""));
        assert_true(ui_etag_matches("*", "\"abc\""));
        assert_false(ui_etag_matches("\"abcd\"", "\"abc\""));
        assert_false(ui_etag_matches("\"ab\"", "\"abc\""));
        assert_false(ui_etag_matches("abc", "\"abc\""));
        assert_false(ui_etag_matches("\"x\", W/\"y\"", "\"abc\""));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_references_resolve),
                cmocka_unit_test(test_etag_matches),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
