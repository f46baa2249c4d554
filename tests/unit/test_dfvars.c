/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/testutil.h"
#include "cleanup.h"
#include "runner/image/dfvars.h"
#include "runner/image/dockerfile.h"

/* -Wwrite-strings: build args are char *const *, as argv. */
#define S(x) ((char *)(x))

static struct dfvars *global_ok(const struct dockerfile *df, char *const *build_args)
{
        struct dfvars *g = NULL;
        struct hoist_error *err = NULL;

        assert_int_equal(dfvars_new(build_args, df != NULL ? df->escape : '\\', NULL, &g, &err), 0);
        for (size_t i = 0; df != NULL && i < df->n_meta_args; i++)
                assert_int_equal(dfvars_apply(g, df, &df->meta_args[i], &err), 0);
        return g;
}

/* Walks stage S as the builder does: applies ARG/ENV, and returns the
 * expanded args of instruction WANT (an index into the stage). */
static char **walk_to(struct dfvars *v, const struct dockerfile *df, size_t s, size_t want)
{
        struct hoist_error *err = NULL;
        char **out = NULL;

        for (size_t i = 0; i <= want; i++) {
                const struct df_instr *in = &df->stages[s].instrs[i];
                if (i == want) {
                        if (dfvars_expand_instr(v, df, in, &out, &err) < 0) {
                                fprintf(stderr, "unexpected error: %s\n", err->msg);
                                fail();
                        }
                        return out;
                }
                if (in->kind == DF_ARG || in->kind == DF_ENV)
                        assert_int_equal(dfvars_apply(v, df, in, &err), 0);
        }
        return NULL;
}

static void expect(struct dfvars *v, const char *word, const char *want)
{
        _cleanup_free_ char *got = NULL;
        struct hoist_error *err = NULL;

        if (dfvars_expand(v, word, &got, &err) < 0) {
                fprintf(stderr, "expand %s: %s\n", word, err->msg);
                fail();
        }
        if (strcmp(got, want) != 0)
                fprintf(stderr, "expand [%s]: got [%s], want [%s]\n", word, got, want);
        assert_string_equal(got, want);
}

static void expect_error(struct dfvars *v, const char *word, const char *msg)
{
        char *got = NULL;
        struct hoist_error *err = NULL;

        assert_int_equal(dfvars_expand(v, word, &got, &err), -1);
        assert_null(got);
        if (strcmp(err->msg, msg) != 0)
                fprintf(stderr, "got:  %s\nwant: %s\n", err->msg, msg);
        assert_string_equal(err->msg, msg);
        assert_int_equal(err->code, HOIST_ERR_INPUT);
        hoist_error_free(err);
}

static int strv_has(char **v, const char *s)
{
        for (; v != NULL && *v != NULL; v++)
                if (strcmp(*v, s) == 0)
                        return 1;
        return 0;
}

static size_t strv_len(char **v)
{
        size_t n = 0;
        while (v[n] != NULL)
                n++;
        return n;
}

/* The reference's "Environment replacement" example. */
static void test_env_replacement_example(void **state)
{
        (void)state;
        _cleanup_dockerfile_ struct dockerfile *df = t_parse_dockerfile("FROM busybox\n"
                                                                        "ENV FOO=/bar\n"
                                                                        "WORKDIR ${FOO}\n"
                                                                        "ADD . $FOO\n"
                                                                        "COPY \\$FOO /quux\n");
        _cleanup_dfvars_ struct dfvars *g = global_ok(df, NULL);
        _cleanup_dfvars_ struct dfvars *v = dfvars_new_stage(g, NULL);
        _cleanup_strv_ char **w = walk_to(v, df, 0, 1);
        _cleanup_strv_ char **a = walk_to(v, df, 0, 2);
        _cleanup_strv_ char **c = walk_to(v, df, 0, 3);

        assert_string_equal(w[0], "/bar");
        assert_string_equal(a[0], ".");
        assert_string_equal(a[1], "/bar");
        assert_string_equal(c[0], "$FOO");
        assert_string_equal(c[1], "/quux");
}

/* "ENV abc=bye def=$abc": def sees abc from before the line. */
static void test_env_same_line(void **state)
{
        (void)state;
        _cleanup_dockerfile_ struct dockerfile *df =
                t_parse_dockerfile("FROM busybox\n"
                                   "ENV abc=hello\n"
                                   "ENV abc=bye def=$abc\n"
                                   "ENV ghi=$abc\n"
                                   "ENV MY_NAME=\"John Doe\" "
                                   "MY_DOG=Rex\\ The\\ Dog\n"
                                   "ENV OLD legacy  \"form\" kept\n"
                                   "RUN true\n");
        char *base_env[] = {S("PATH=/usr/bin:/bin"), S("abc=base"), NULL};
        _cleanup_dfvars_ struct dfvars *g = global_ok(df, NULL);
        _cleanup_dfvars_ struct dfvars *v = dfvars_new_stage(g, base_env);
        _cleanup_strv_ char **run = walk_to(v, df, 0, 5);
        _cleanup_strv_ char **env = dfvars_env(v);

        assert_string_equal(dfvars_get(v, "def"), "hello");
        assert_string_equal(dfvars_get(v, "ghi"), "bye");
        assert_string_equal(dfvars_get(v, "MY_NAME"), "John Doe");
        assert_string_equal(dfvars_get(v, "MY_DOG"), "Rex The Dog");
        assert_string_equal(dfvars_get(v, "OLD"), "legacy  form kept");
        assert_string_equal(run[0], "true");
        /* The base's order first, replaced in place, then the new ones. */
        assert_int_equal(strv_len(env), 7);
        assert_string_equal(env[0], "PATH=/usr/bin:/bin");
        assert_string_equal(env[1], "abc=bye");
        assert_string_equal(env[2], "def=hello");
        assert_string_equal(env[3], "ghi=bye");
}

/* The reference's ARG examples. */
static void test_arg_scope_examples(void **state)
{
        (void)state;
        char *bargs[] = {S("username=what_user"), S("CONT_IMG_VER=v2.0.1"), NULL};
        _cleanup_dockerfile_ struct dockerfile *df =
                t_parse_dockerfile("FROM busybox\n"
                                   "USER ${username:-some_user}\n"
                                   "ARG username\n"
                                   "USER $username\n"
                                   "ARG CONT_IMG_VER\n"
                                   "ENV CONT_IMG_VER=v1.0.0\n"
                                   "RUN echo $CONT_IMG_VER\n");
        _cleanup_dfvars_ struct dfvars *g = global_ok(df, bargs);
        _cleanup_dfvars_ struct dfvars *v = dfvars_new_stage(g, NULL);
        _cleanup_strv_ char **u1 = walk_to(v, df, 0, 0);
        _cleanup_strv_ char **u2 = walk_to(v, df, 0, 2);
        _cleanup_strv_ char **run = walk_to(v, df, 0, 5);
        _cleanup_strv_ char **env = dfvars_env_for_run(v);
        _cleanup_strv_ char **img = dfvars_env(v);
        _cleanup_strv_ char **args = dfvars_args(v);
        _cleanup_strv_ char **unused = dfvars_unused_build_args(g);

        assert_string_equal(u1[0], "some_user");
        assert_string_equal(u2[0], "what_user");
        assert_string_equal(run[0], "echo $CONT_IMG_VER"); /* the shell expands it */
        /* ENV overrides the ARG of the same name. */
        assert_true(strv_has(env, "CONT_IMG_VER=v1.0.0"));
        assert_false(strv_has(env, "CONT_IMG_VER=v2.0.1"));
        assert_true(strv_has(env, "username=what_user"));
        assert_int_equal(strv_len(env), 2);
        /* ARGs do not persist into the image. */
        assert_int_equal(strv_len(img), 1);
        assert_string_equal(img[0], "CONT_IMG_VER=v1.0.0");
        assert_int_equal(strv_len(args), 2);
        assert_string_equal(args[0], "username=what_user");
        assert_int_equal(strv_len(unused), 0);
}

/* ENV CONT_IMG_VER=${CONT_IMG_VER:-v1.0.0}, with and without the arg. */
static void test_arg_default_through_env(void **state)
{
        (void)state;
        static const char text[] = "FROM ubuntu\n"
                                   "ARG CONT_IMG_VER\n"
                                   "ENV CONT_IMG_VER=${CONT_IMG_VER:-v1.0.0}\n"
                                   "RUN echo $CONT_IMG_VER\n";
        _cleanup_dockerfile_ struct dockerfile *df = t_parse_dockerfile(text);
        char *bargs[] = {S("CONT_IMG_VER=v2.0.1"), NULL};

        _cleanup_dfvars_ struct dfvars *g1 = global_ok(df, NULL);
        _cleanup_dfvars_ struct dfvars *v1 = dfvars_new_stage(g1, NULL);
        _cleanup_strv_ char **r1 = walk_to(v1, df, 0, 2);
        assert_string_equal(dfvars_get(v1, "CONT_IMG_VER"), "v1.0.0");

        _cleanup_dfvars_ struct dfvars *g2 = global_ok(df, bargs);
        _cleanup_dfvars_ struct dfvars *v2 = dfvars_new_stage(g2, NULL);
        _cleanup_strv_ char **r2 = walk_to(v2, df, 0, 2);
        assert_string_equal(dfvars_get(v2, "CONT_IMG_VER"), "v2.0.1");
}

/* Global ARGs: usable in FROM, re-declared to be used in a stage, and a
 * stage's ARG ends with the stage. */
static void test_global_args(void **state)
{
        (void)state;
        _cleanup_dockerfile_ struct dockerfile *df =
                t_parse_dockerfile("ARG VERSION=latest\n"
                                   "ARG BASE=busybox\n"
                                   "FROM ${BASE}:$VERSION AS one\n"
                                   "RUN echo $VERSION\n"
                                   "WORKDIR /v/${VERSION}\n"
                                   "ARG VERSION\n"
                                   "WORKDIR /v/${VERSION}\n"
                                   "ARG STAGE_ONLY=1\n"
                                   "FROM busybox:${VERSION}\n"
                                   "WORKDIR /s${STAGE_ONLY}\n"
                                   "ARG TARGETARCH\n"
                                   "WORKDIR /$TARGETARCH\n");
        char *bargs[] = {S("VERSION=1.36"), S("UNUSED=x"), S("HTTP_PROXY=http://proxy:3128"), NULL};
        _cleanup_dfvars_ struct dfvars *g = global_ok(df, bargs);
        _cleanup_free_ char *base0 = NULL, *base1 = NULL;
        struct hoist_error *err = NULL;

        assert_int_equal(dfvars_expand(g, df->stages[0].base, &base0, &err), 0);
        assert_string_equal(base0, "busybox:1.36");
        assert_int_equal(dfvars_expand(g, df->stages[1].base, &base1, &err), 0);
        assert_string_equal(base1, "busybox:1.36");
        assert_non_null(dfvars_get(g, "TARGETARCH"));
        assert_non_null(dfvars_get(g, "BUILDPLATFORM"));

        _cleanup_dfvars_ struct dfvars *s0 = dfvars_new_stage(g, NULL);
        _cleanup_strv_ char **w_before = walk_to(s0, df, 0, 1);
        _cleanup_strv_ char **w_after = walk_to(s0, df, 0, 3);
        assert_string_equal(w_before[0], "/v/");
        assert_string_equal(w_after[0], "/v/1.36");
        /* The proxy arg reaches RUN without a declaration, not the image. */
        _cleanup_strv_ char **run_env = dfvars_env_for_run(s0);
        _cleanup_strv_ char **img_env = dfvars_env(s0);
        assert_true(strv_has(run_env, "HTTP_PROXY=http://proxy:3128"));
        assert_true(strv_has(run_env, "VERSION=1.36"));
        assert_int_equal(strv_len(img_env), 0);

        _cleanup_dfvars_ struct dfvars *s1 = dfvars_new_stage(g, NULL);
        _cleanup_strv_ char **w1 = walk_to(s1, df, 1, 0);
        _cleanup_strv_ char **w2 = walk_to(s1, df, 1, 2);
        assert_string_equal(w1[0], "/s");
        _cleanup_free_ char *want = NULL;
        want = malloc(strlen(dfvars_get(g, "TARGETARCH")) + 2);
        assert_non_null(want);
        sprintf(want, "/%s", dfvars_get(g, "TARGETARCH"));
        assert_string_equal(w2[0], want);
        assert_null(dfvars_get(s1, "VERSION"));

        _cleanup_strv_ char **unused = dfvars_unused_build_args(g);
        assert_int_equal(strv_len(unused), 1);
        assert_string_equal(unused[0], "UNUSED");
}

static void test_arg_defaults(void **state)
{
        (void)state;
        _cleanup_dockerfile_ struct dockerfile *df = t_parse_dockerfile("FROM x\n"
                                                                        "ENV BASE=/opt\n"
                                                                        "ARG A=1 B=${A}2 C\n"
                                                                        "ARG D=\"$BASE/d e\"\n"
                                                                        "WORKDIR $A$B$C$D\n");
        _cleanup_dfvars_ struct dfvars *g = global_ok(df, NULL);
        _cleanup_dfvars_ struct dfvars *v = dfvars_new_stage(g, NULL);
        _cleanup_strv_ char **w = walk_to(v, df, 0, 3);
        _cleanup_strv_ char **args = dfvars_args(v);

        assert_string_equal(w[0], "112/opt/d e");
        assert_int_equal(strv_len(args), 3); /* C has no value */
}

static void test_expand_syntax(void **state)
{
        (void)state;
        char *bargs[] = {S("SET=value"), S("EMPTY="), NULL};
        _cleanup_dockerfile_ struct dockerfile *df =
                t_parse_dockerfile("FROM x\nARG SET EMPTY UNSET\nRUN x\n");
        _cleanup_dfvars_ struct dfvars *g = global_ok(df, bargs);
        _cleanup_dfvars_ struct dfvars *v = dfvars_new_stage(g, NULL);
        _cleanup_strv_ char **run = walk_to(v, df, 0, 1);

        expect(v, "$SET", "value");
        expect(v, "${SET}", "value");
        expect(v, "a${SET}b", "avalueb");
        expect(v, "$SET-x", "value-x");
        expect(v, "$SETx", "");
        expect(v, "${UNSET:-dflt}", "dflt");
        expect(v, "${EMPTY:-dflt}", "dflt");
        expect(v, "${EMPTY-dflt}", "");
        expect(v, "${UNSET-dflt}", "dflt");
        expect(v, "${SET:-dflt}", "value");
        expect(v, "${SET:+alt}", "alt");
        expect(v, "${EMPTY:+alt}", "");
        expect(v, "${EMPTY+alt}", "alt");
        expect(v, "${UNSET+alt}", "");
        expect(v, "${UNSET:-${SET}}", "value");
        expect(v, "${UNSET:-a b}", "a b");
        expect(v, "${UNSET:-'q}'}", "q}");
        expect(v, "${SET:?must be set}", "value");
        expect(v, "'$SET'", "$SET");
        expect(v, "\"$SET\"", "value");
        expect(v, "\"a\\\"b\\$SET\\x\"", "a\"b$SET\\x");
        expect(v, "\\$SET", "$SET");
        expect(v, "\\\\$SET", "\\value");
        expect(v, "a\\ b", "a b");
        expect(v, "trail\\", "trail");
        expect(v, "$", "$");
        expect(v, "a$ b", "a$ b");
        expect(v, "$1", "");
        expect(v, "$$", "");
        expect(v, "", "");
        expect_error(v, "${UNSET:?must be set}", "in '${UNSET:?must be set}': UNSET: must be set");
        expect_error(v, "${EMPTY:?}", "in '${EMPTY:?}': EMPTY: is not allowed to be empty");
        expect_error(v, "${UNSET?}", "in '${UNSET?}': UNSET: is not allowed to be unset");
        expect_error(v, "${SET", "in '${SET': no closing '}' in ${...}");
        expect_error(v, "${SET:-x", "in '${SET:-x': no closing '}' in ${...}");
        expect_error(v, "${}", "in '${}': bad substitution (write ${NAME})");
        expect_error(v, "${:x}", "in '${:x}': bad substitution (write ${NAME})");
        expect_error(v, "${SET#x}",
                     "in '${SET#x}': unsupported modifier '#' in ${SET...} "
                     "(hoist supports :- - :+ + :? ?)");
        expect_error(v, "'open", "in ''open': no closing single quote (')");

        /* Nesting is bounded (the lexer recurses). */
        char deep[64 * 4 + 2 * 66 + 8] = "";
        for (int i = 0; i < 65; i++)
                strcat(deep, "${X:-");
        for (int i = 0; i < 65; i++)
                strcat(deep, "}");
        char *got = NULL;
        struct hoist_error *err = NULL;
        assert_int_equal(dfvars_expand(v, deep, &got, &err), -1);
        assert_non_null(strstr(err->msg, "${...} nested more than 64 deep"));
        hoist_error_free(err);
        deep[strlen(deep) - 1] = '\0';
        memmove(deep, deep + 5, strlen(deep + 5) + 1); /* 64 levels: fine */
        expect(v, deep, "");
        expect_error(v, "\"open", "in '\"open': no closing double quote (\")");
}

/* With `# escape=\``, the backslash is an ordinary character. */
static void test_backtick_escape(void **state)
{
        (void)state;
        _cleanup_dockerfile_ struct dockerfile *df =
                t_parse_dockerfile("# escape=`\nFROM x\nENV P=c:\\dir\nWORKDIR `$P\\$P\n");
        _cleanup_dfvars_ struct dfvars *g = global_ok(df, NULL);
        _cleanup_dfvars_ struct dfvars *v = dfvars_new_stage(g, NULL);
        _cleanup_strv_ char **w = walk_to(v, df, 0, 1);

        assert_string_equal(w[0], "$P\\c:\\dir");
}

static void test_flags_and_errors(void **state)
{
        (void)state;
        char *bargs[] = {S("STAGE=builder"), NULL};
        _cleanup_dockerfile_ struct dockerfile *df = t_parse_dockerfile(
                "FROM x\nARG STAGE\nCOPY --from=$STAGE --chown=${UID:-1000} a b\n"
                "COPY ${oops c d\n");
        _cleanup_dfvars_ struct dfvars *g = global_ok(df, bargs);
        _cleanup_dfvars_ struct dfvars *v = dfvars_new_stage(g, NULL);
        _cleanup_strv_ char **cp = walk_to(v, df, 0, 1);
        _cleanup_free_ char *from = NULL, *chown = NULL, *chmod = NULL;
        struct hoist_error *err = NULL;
        char **out = NULL;

        assert_int_equal(dfvars_expand_flag(v, df, &df->stages[0].instrs[1], "from", &from, &err),
                         0);
        assert_string_equal(from, "builder");
        assert_int_equal(dfvars_expand_flag(v, df, &df->stages[0].instrs[1], "chown", &chown, &err),
                         0);
        assert_string_equal(chown, "1000");
        assert_int_equal(dfvars_expand_flag(v, df, &df->stages[0].instrs[1], "chmod", &chmod, &err),
                         0);
        assert_null(chmod);

        assert_int_equal(dfvars_expand_instr(v, df, &df->stages[0].instrs[2], &out, &err), -1);
        assert_null(out);
        assert_string_equal(err->msg, "'Dockerfile' line 4: in '${oops': no closing '}' in ${...}");
        hoist_error_release(&err);

        assert_int_equal(dfvars_apply(v, df, &df->stages[0].instrs[1], &err), -1);
        assert_string_equal(err->msg,
                            "'Dockerfile' line 3: dfvars_apply() takes ARG or ENV, not COPY");
        hoist_error_release(&err);

        struct dfvars *bad = NULL;
        char *bad_args[] = {S("=x"), NULL};
        assert_int_equal(dfvars_new(bad_args, '\\', NULL, &bad, &err), -1);
        assert_string_equal(err->msg, "--build-arg '=x': expected NAME=VALUE (or NAME to take it "
                                      "from the environment)");
        hoist_error_release(&err);
        assert_int_equal(dfvars_new(NULL, '\\', "linux", &bad, &err), -1);
        hoist_error_release(&err);
}

static void test_build_arg_from_environment(void **state)
{
        (void)state;
        char *bargs[] = {S("HOIST_TEST_FROM_ENV"), S("HOIST_TEST_NOT_SET"), NULL};
        _cleanup_dockerfile_ struct dockerfile *df =
                t_parse_dockerfile("FROM x\nARG HOIST_TEST_FROM_ENV HOIST_TEST_NOT_SET=dflt\n");
        struct hoist_error *err = NULL;

        setenv("HOIST_TEST_FROM_ENV", "from-env", 1);
        unsetenv("HOIST_TEST_NOT_SET");
        _cleanup_dfvars_ struct dfvars *g = global_ok(df, bargs);
        _cleanup_dfvars_ struct dfvars *v = dfvars_new_stage(g, NULL);
        assert_int_equal(dfvars_apply(v, df, &df->stages[0].instrs[0], &err), 0);
        assert_string_equal(dfvars_get(v, "HOIST_TEST_FROM_ENV"), "from-env");
        assert_string_equal(dfvars_get(v, "HOIST_TEST_NOT_SET"), "dflt");
}

/* A global ARG without a value leaves the automatic platform value. */
static void test_platform_redeclared(void **state)
{
        (void)state;
        _cleanup_dockerfile_ struct dockerfile *df =
                t_parse_dockerfile("ARG TARGETOS\nFROM x\nARG TARGETOS BUILDOS\n");
        _cleanup_dfvars_ struct dfvars *g = global_ok(df, NULL);
        _cleanup_dfvars_ struct dfvars *v = dfvars_new_stage(g, NULL);
        struct hoist_error *err = NULL;

        assert_null(dfvars_get(v, "TARGETOS"));
        assert_int_equal(dfvars_apply(v, df, &df->stages[0].instrs[0], &err), 0);
        assert_string_equal(dfvars_get(v, "TARGETOS"), "linux");
        assert_string_equal(dfvars_get(v, "BUILDOS"), "linux");
}

static void test_platform(void **state)
{
        (void)state;
        struct dfvars *g = NULL;
        struct hoist_error *err = NULL;

        assert_int_equal(dfvars_new(NULL, '\\', "linux/arm/v7", &g, &err), 0);
        assert_string_equal(dfvars_get(g, "TARGETPLATFORM"), "linux/arm/v7");
        assert_string_equal(dfvars_get(g, "TARGETOS"), "linux");
        assert_string_equal(dfvars_get(g, "TARGETARCH"), "arm");
        assert_string_equal(dfvars_get(g, "TARGETVARIANT"), "v7");
        assert_string_equal(dfvars_get(g, "BUILDOS"), "linux");
        dfvars_free(g);
}

static void test_split(void **state)
{
        (void)state;
        char **v = NULL;
        size_t n = 0;
        struct hoist_error *err = NULL;

        dfvars_split_words("  a 'b c'  \"d\\\" e\" f\\ g  ", '\\', &v, &n);
        assert_int_equal(n, 4);
        assert_string_equal(v[0], "a");
        assert_string_equal(v[1], "'b c'");
        assert_string_equal(v[2], "\"d\\\" e\"");
        assert_string_equal(v[3], "f\\ g");
        assert_null(v[4]);
        strv_free(v);

        dfvars_split_words("   ", '\\', &v, &n);
        assert_int_equal(n, 0);
        assert_null(v[0]);
        strv_free(v);

        dfvars_split_words("x=\"\" ''", '\\', &v, &n);
        assert_int_equal(n, 2);
        assert_string_equal(v[0], "x=\"\"");
        assert_string_equal(v[1], "''");
        strv_free(v);

        assert_int_equal(dfvars_split_pairs("k=v k2=\"v 2\" k3=a=b", '\\', 1, &v, &n, &err), 0);
        assert_int_equal(n, 6);
        assert_string_equal(v[3], "\"v 2\"");
        assert_string_equal(v[4], "k3");
        assert_string_equal(v[5], "a=b");
        strv_free(v);

        assert_int_equal(dfvars_split_pairs("key  the value ", '\\', 1, &v, &n, &err), 0);
        assert_int_equal(n, 2);
        assert_string_equal(v[1], "the value ");
        strv_free(v);

        assert_int_equal(dfvars_split_pairs("key value", '\\', 0, &v, &n, &err), -1);
        assert_string_equal(err->msg, "'key' is not of the form KEY=VALUE");
        hoist_error_release(&err);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_env_replacement_example),
                cmocka_unit_test(test_env_same_line),
                cmocka_unit_test(test_arg_scope_examples),
                cmocka_unit_test(test_arg_default_through_env),
                cmocka_unit_test(test_global_args),
                cmocka_unit_test(test_arg_defaults),
                cmocka_unit_test(test_expand_syntax),
                cmocka_unit_test(test_backtick_escape),
                cmocka_unit_test(test_flags_and_errors),
                cmocka_unit_test(test_build_arg_from_environment),
                cmocka_unit_test(test_platform),
                cmocka_unit_test(test_platform_redeclared),
                cmocka_unit_test(test_split),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
