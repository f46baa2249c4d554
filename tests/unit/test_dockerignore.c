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

#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"
#include "runner/image/dockerignore.h"

#define S(x) ((char *)(x))

static struct dockerignore *rules(const char *text)
{
        struct dockerignore *di = NULL;
        struct hoist_error *err = NULL;

        if (dockerignore_parse(text, strlen(text), ".dockerignore", &di, &err) < 0) {
                fprintf(stderr, "unexpected error: %s\n", err->msg);
                fail();
        }
        return di;
}

static void bad_rules(const char *text, const char *msg)
{
        struct dockerignore *di = NULL;
        struct hoist_error *err = NULL;

        assert_int_equal(dockerignore_parse(text, strlen(text), ".dockerignore", &di, &err), -1);
        assert_null(di);
        if (strcmp(err->msg, msg) != 0)
                fprintf(stderr, "got:  %s\nwant: %s\n", err->msg, msg);
        assert_string_equal(err->msg, msg);
        hoist_error_free(err);
}

#define EXCLUDED(di, p) assert_int_equal(dockerignore_match((di), (p)), 1)
#define INCLUDED(di, p) assert_int_equal(dockerignore_match((di), (p)), 0)

/* The example in the Dockerfile reference's .dockerignore section. */
static void test_reference_example(void **state)
{
        (void)state;
        _cleanup_dockerignore_ struct dockerignore *di = rules("# comment\n"
                                                               "*/temp*\n"
                                                               "*/*/temp*\n"
                                                               "temp?\n");

        EXCLUDED(di, "somedir/temporary.txt");
        EXCLUDED(di, "somedir/temp");
        EXCLUDED(di, "somedir/temp/inside.txt"); /* a parent matches */
        EXCLUDED(di, "somedir/subdir/temporary.txt");
        EXCLUDED(di, "tempa");
        EXCLUDED(di, "tempb");
        INCLUDED(di, "temp");
        INCLUDED(di, "tempab");
        INCLUDED(di, "temporary.txt");
        INCLUDED(di, "a/b/c/temporary.txt");
        INCLUDED(di, "# comment");
}

static void test_double_star(void **state)
{
        (void)state;
        _cleanup_dockerignore_ struct dockerignore *go = rules("**/*.go\n");
        EXCLUDED(go, "main.go");
        EXCLUDED(go, "a/b/c/x.go");
        INCLUDED(go, "a/b/c/x.golang");

        _cleanup_dockerignore_ struct dockerignore *mid = rules("a/**/z\n");
        EXCLUDED(mid, "a/z");
        EXCLUDED(mid, "a/b/z");
        EXCLUDED(mid, "a/b/c/z/file");
        INCLUDED(mid, "a/bz");
        INCLUDED(mid, "b/a/z");

        _cleanup_dockerignore_ struct dockerignore *pre = rules("build/**\n");
        EXCLUDED(pre, "build/x");
        EXCLUDED(pre, "build/x/y");
        INCLUDED(pre, "build");
        INCLUDED(pre, "builder/x");

        _cleanup_dockerignore_ struct dockerignore *suf = rules("**/node_modules\n");
        EXCLUDED(suf, "node_modules");
        EXCLUDED(suf, "web/node_modules/react/index.js");
        INCLUDED(suf, "web/my_node_modules_x");

        _cleanup_dockerignore_ struct dockerignore *all = rules("**\n!keep\n");
        EXCLUDED(all, "anything/at/all");
        INCLUDED(all, "keep");
}

/* The reference's exception examples: the last matching line decides. */
static void test_exceptions(void **state)
{
        (void)state;
        _cleanup_dockerignore_ struct dockerignore *a = rules("*.md\n!README.md\n");
        EXCLUDED(a, "CHANGES.md");
        INCLUDED(a, "README.md");
        INCLUDED(a, "main.c");

        _cleanup_dockerignore_ struct dockerignore *b =
                rules("*.md\n!README*.md\nREADME-secret.md\n");
        EXCLUDED(b, "CHANGES.md");
        EXCLUDED(b, "README-secret.md");
        INCLUDED(b, "README-public.md");

        _cleanup_dockerignore_ struct dockerignore *c =
                rules("*.md\nREADME-secret.md\n!README*.md\n");
        INCLUDED(c, "README-secret.md");
        EXCLUDED(c, "docs.md");

        _cleanup_dockerignore_ struct dockerignore *d = rules("secret\n!secret/public.txt\n");
        EXCLUDED(d, "secret");
        EXCLUDED(d, "secret/key");
        INCLUDED(d, "secret/public.txt");
        assert_true(dockerignore_has_exceptions(d));
        assert_false(dockerignore_has_exceptions(c) == 0);
        assert_false(dockerignore_has_exceptions(NULL));
}

static void test_cleaning_and_syntax(void **state)
{
        (void)state;
        _cleanup_dockerignore_ struct dockerignore *di =
                rules("\xef\xbb\xbf/foo/../bar/\n"
                      "  ./spaced  \r\n"
                      "\n"
                      "  # not a comment: only a leading # is\n"
                      "lit\\*eral\n"
                      "[a-c]x\n"
                      "[^a]y\n"
                      "q?z\n"
                      "//abs//path\n");

        EXCLUDED(di, "bar");
        EXCLUDED(di, "bar/x");
        INCLUDED(di, "foo");
        EXCLUDED(di, "spaced");
        EXCLUDED(di, "# not a comment: only a leading # is");
        EXCLUDED(di, "lit*eral");
        INCLUDED(di, "litXeral");
        EXCLUDED(di, "bx");
        INCLUDED(di, "dx");
        EXCLUDED(di, "by");
        INCLUDED(di, "ay");
        EXCLUDED(di, "qaz");
        INCLUDED(di, "q/z");
        EXCLUDED(di, "abs/path");
        EXCLUDED(di, "/abs/path");
        EXCLUDED(di, "./abs/path");
        INCLUDED(NULL, "anything");

        bad_rules("ok\n[a-\n", "'.dockerignore' line 2: bad pattern '[a-' (an unclosed or "
                               "empty [...], or a trailing \\)");
        bad_rules("x\\\n", "'.dockerignore' line 1: bad pattern 'x\\' (an unclosed or empty "
                           "[...], or a trailing \\)");
        bad_rules("[]\n", "'.dockerignore' line 1: bad pattern '[]' (an unclosed or empty "
                          "[...], or a trailing \\)");
        bad_rules("a\n  !  \n",
                  "'.dockerignore' line 2: a lone '!' excludes nothing (write !PATTERN)");
}

/* ---- selection over a real context directory ---- */

static char ctx[64];

static void put(const char *rel, const char *data)
{
        _cleanup_free_ char *path = path_join(ctx, rel);
        struct hoist_error *err = NULL;
        _cleanup_free_ char *dir = xstrdup(path);

        *strrchr(dir, '/') = '\0';
        assert_int_equal(fs_mkdir_p(dir, 0755, &err), 0);
        assert_int_equal(fs_write_file_atomic(path, data, strlen(data), 0644, &err), 0);
}

static void link_at(const char *target, const char *rel)
{
        _cleanup_free_ char *path = path_join(ctx, rel);
        assert_int_equal(symlink(target, path), 0);
}

static int setup_ctx(void **state)
{
        struct hoist_error *err = NULL;
        _cleanup_free_ char *empty = NULL;
        (void)state;

        strcpy(ctx, "/tmp/hoist-dockerignore-XXXXXX");
        if (mkdtemp(ctx) == NULL)
                return -1;
        put("Dockerfile", "FROM scratch\n");
        put(".dockerignore", "*.log\nsecret\n!secret/public.txt\nbuild\n");
        put("a.txt", "a");
        put("b.txt", "b");
        put("app.log", "log");
        put("src/main.c", "int main;");
        put("src/lib/util.c", "util");
        put("src/lib/util.log", "log");
        put("secret/key", "k");
        put("secret/public.txt", "p");
        put("build/out.o", "o");
        put("onefile/x", "x");
        empty = path_join(ctx, "src/empty");
        if (fs_mkdir_p(empty, 0755, &err) < 0)
                return -1;
        link_at("a.txt", "link-to-a");
        link_at("/a.txt", "link-abs");
        link_at("../../../../etc", "escape");
        link_at("src", "dirlink");
        link_at("main.c", "src/lnk");
        return 0;
}

static int teardown_ctx(void **state)
{
        struct hoist_error *err = NULL;
        (void)state;
        return fs_remove_tree(ctx, &err);
}

static struct di_selection select_ok(char *const *srcs, size_t n)
{
        _cleanup_dockerignore_ struct dockerignore *di = NULL;
        struct hoist_error *err = NULL;
        struct di_selection sel;

        assert_int_equal(dockerignore_load(ctx, NULL, &di, &err), 0);
        if (dockerignore_select(di, ctx, srcs, n, &sel, &err) < 0) {
                fprintf(stderr, "unexpected error: %s\n", err->msg);
                fail();
        }
        return sel;
}

static void select_fails(const char *src, int code, const char *msg)
{
        _cleanup_dockerignore_ struct dockerignore *di = NULL;
        struct hoist_error *err = NULL;
        struct di_selection sel = {0};
        char *srcs[] = {S(src)};

        assert_int_equal(dockerignore_load(ctx, NULL, &di, &err), 0);
        if (dockerignore_select(di, ctx, srcs, 1, &sel, &err) == 0) {
                fprintf(stderr, "'%s' selected %zu entries\n", src, sel.n_entries);
                fail();
        }
        assert_null(sel.entries);
        if (strcmp(err->msg, msg) != 0)
                fprintf(stderr, "got:  %s\nwant: %s\n", err->msg, msg);
        assert_string_equal(err->msg, msg);
        assert_int_equal(err->code, code);
        hoist_error_free(err);
}

static void test_select_files(void **state)
{
        (void)state;
        char *one[] = {S("a.txt")};
        struct di_selection s = select_ok(one, 1);
        assert_int_equal(s.n_matches, 1);
        assert_int_equal(s.n_entries, 1);
        assert_true(s.single_file);
        assert_string_equal(s.entries[0].path, "a.txt");
        assert_string_equal(s.entries[0].dest, "a.txt");
        assert_true(S_ISREG(s.entries[0].st.st_mode));
        dockerignore_selection_clear(&s);

        char *glob[] = {S("*.txt"), S("/src/main.c")};
        s = select_ok(glob, 2);
        assert_int_equal(s.n_matches, 3);
        assert_false(s.single_file);
        assert_string_equal(s.entries[0].path, "a.txt");
        assert_string_equal(s.entries[1].path, "b.txt");
        assert_string_equal(s.entries[2].path, "src/main.c");
        assert_string_equal(s.entries[2].dest, "main.c");
        assert_int_equal(s.entries[2].match, 2);
        dockerignore_selection_clear(&s);

        char *logs[] = {S("*.l?g")}; /* app.log is excluded */
        {
                _cleanup_dockerignore_ struct dockerignore *di = NULL;
                struct hoist_error *err = NULL;
                assert_int_equal(dockerignore_load(ctx, NULL, &di, &err), 0);
                assert_int_equal(dockerignore_select(di, ctx, logs, 1, &s, &err), -1);
                assert_string_equal(err->msg, "source '*.l?g' is excluded by .dockerignore");
                hoist_error_free(err);
                /* Without rules (COPY --from) it is there. */
                assert_int_equal(dockerignore_select(NULL, ctx, logs, 1, &s, &err), 0);
                assert_int_equal(s.n_entries, 1);
                dockerignore_selection_clear(&s);
        }
}

static void test_select_directory(void **state)
{
        (void)state;
        char *src[] = {S("src")};
        struct di_selection s = select_ok(src, 1);
        static const char *const want[] = {"empty",        "lib", "lib/util.c",
                                           "lib/util.log", "lnk", "main.c"};

        assert_int_equal(s.n_matches, 1);
        assert_false(s.single_file);
        /* "*.log" is for the top level only: src/lib/util.log stays. */
        assert_int_equal(s.n_entries, 6);
        for (size_t i = 0; i < 6; i++) {
                assert_string_equal(s.entries[i].dest, want[i]);
                assert_int_equal(s.entries[i].match, 0);
        }
        assert_string_equal(s.entries[2].path, "src/lib/util.c");
        assert_true(S_ISDIR(s.entries[0].st.st_mode));
        assert_true(S_ISLNK(s.entries[4].st.st_mode)); /* listed, not followed */
        dockerignore_selection_clear(&s);

        /* A directory holding one file is still a directory match. */
        char *one[] = {S("onefile")};
        s = select_ok(one, 1);
        assert_int_equal(s.n_entries, 1);
        assert_string_equal(s.entries[0].dest, "x");
        assert_false(s.single_file);
        dockerignore_selection_clear(&s);

        /* An excluded directory with an exception inside: only that. */
        char *sec[] = {S("secret")};
        s = select_ok(sec, 1);
        assert_int_equal(s.n_entries, 1);
        assert_string_equal(s.entries[0].path, "secret/public.txt");
        assert_string_equal(s.entries[0].dest, "public.txt");
        dockerignore_selection_clear(&s);

        /* The whole context. */
        char *dot[] = {S(".")};
        s = select_ok(dot, 1);
        int saw_public = 0;
        for (size_t i = 0; i < s.n_entries; i++) {
                const char *p = s.entries[i].dest;
                assert_string_not_equal(p, "app.log");
                assert_string_not_equal(p, "secret");
                assert_string_not_equal(p, "secret/key");
                assert_string_not_equal(p, "build");
                assert_string_not_equal(p, "build/out.o");
                saw_public |= strcmp(p, "secret/public.txt") == 0;
        }
        assert_true(saw_public);
        dockerignore_selection_clear(&s);
}

static void test_select_symlinks(void **state)
{
        (void)state;
        char *rel[] = {S("link-to-a")};
        struct di_selection s = select_ok(rel, 1);
        assert_true(s.single_file);
        assert_string_equal(s.entries[0].path, "a.txt");
        assert_string_equal(s.entries[0].dest, "link-to-a");
        dockerignore_selection_clear(&s);

        char *abs[] = {S("link-abs")}; /* "/a.txt" is the context's */
        s = select_ok(abs, 1);
        assert_string_equal(s.entries[0].path, "a.txt");
        dockerignore_selection_clear(&s);

        char *through[] = {S("dirlink/lib/*.c"), S("src/*/util.c")};
        s = select_ok(through, 2);
        assert_int_equal(s.n_matches, 2);
        assert_string_equal(s.entries[0].path, "src/lib/util.c");
        assert_string_equal(s.entries[0].dest, "util.c");
        assert_string_equal(s.entries[1].path, "src/lib/util.c");
        dockerignore_selection_clear(&s);

        /* A link out of the context resolves inside it: nothing there. */
        select_fails("escape/passwd", HOIST_ERR_NOT_FOUND,
                     "source 'escape/passwd' matches no file");
}

static void test_select_errors(void **state)
{
        (void)state;
        select_fails("nope.txt", HOIST_ERR_NOT_FOUND, "source 'nope.txt' matches no file");
        select_fails("*.nope", HOIST_ERR_NOT_FOUND, "source '*.nope' matches no file");
        select_fails("app.log", HOIST_ERR_NOT_FOUND,
                     "source 'app.log' is excluded by .dockerignore");
        select_fails("build", HOIST_ERR_NOT_FOUND, "source 'build' is excluded by .dockerignore");
        select_fails("../x", HOIST_ERR_INPUT,
                     "source '../x' is outside the build context (sources are relative to the "
                     "context directory)");
        select_fails("src/../../x", HOIST_ERR_INPUT,
                     "source 'src/../../x' is outside the build context (sources are relative to "
                     "the context directory)");
        select_fails("[a", HOIST_ERR_INPUT,
                     "bad pattern '[a' (an unclosed or empty [...], or a trailing \\)");
}

static void test_load_precedence(void **state)
{
        (void)state;
        _cleanup_free_ char *df = path_join(ctx, "other.Dockerfile");
        _cleanup_dockerignore_ struct dockerignore *di = NULL, *di2 = NULL, *none = NULL;
        struct hoist_error *err = NULL;

        put("other.Dockerfile", "FROM scratch\n");
        put("other.Dockerfile.dockerignore", "a.txt\n");
        assert_int_equal(dockerignore_load(ctx, df, &di, &err), 0);
        EXCLUDED(di, "a.txt");
        INCLUDED(di, "app.log");
        assert_int_equal(dockerignore_load(ctx, NULL, &di2, &err), 0);
        INCLUDED(di2, "a.txt");
        EXCLUDED(di2, "app.log");
        assert_int_equal(dockerignore_load("/nonexistent-hoist-ctx", NULL, &none, &err), 0);
        INCLUDED(none, "anything");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_reference_example),
                cmocka_unit_test(test_double_star),
                cmocka_unit_test(test_exceptions),
                cmocka_unit_test(test_cleaning_and_syntax),
                cmocka_unit_test(test_select_files),
                cmocka_unit_test(test_select_directory),
                cmocka_unit_test(test_select_symlinks),
                cmocka_unit_test(test_select_errors),
                cmocka_unit_test(test_load_precedence),
        };
        return cmocka_run_group_tests(tests, setup_ctx, teardown_ctx);
}
