/* SPDX-License-Identifier: MIT */
/* job.yaml's build: section (runner/job/jobfile.c) and the reference a job's
 * build is tagged as (runner/job/jobbuild.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "runner/job/jobbuild.h"
#include "runner/job/jobfile.h"

static struct jobfile *parse(const char *text, struct hoist_error **err)
{
        struct jobfile *jf = NULL;

        if (jobfile_parse(text, strlen(text), "/work/proj/job.yaml", &jf, err) < 0)
                return NULL;
        return jf;
}

static void test_full_section(void **state)
{
        (void)state;
        struct hoist_error *err = NULL;
        _cleanup_jobfile_ struct jobfile *jf = parse("name: t\n"
                                                     "build:\n"
                                                     "  context: src\n"
                                                     "  dockerfile: docker/Dockerfile\n"
                                                     "  args: {A: 1, B: two words}\n"
                                                     "  target: train\n"
                                                     "  push: 127.0.0.1:5000/team/t:v1\n",
                                                     &err);
        _cleanup_free_ char *ref = NULL;

        assert_non_null(jf);
        assert_non_null(jf->build);
        assert_string_equal(jf->build->context, "/work/proj/src");
        assert_string_equal(jf->build->dockerfile, "/work/proj/src/docker/Dockerfile");
        assert_string_equal(jf->build->args[0], "A=1");
        assert_string_equal(jf->build->args[1], "B=two words");
        assert_null(jf->build->args[2]);
        assert_string_equal(jf->build->target, "train");
        ref = jobbuild_ref(jf);
        assert_string_equal(ref, "127.0.0.1:5000/team/t:v1");
}

static void test_minimal_section_and_refs(void **state)
{
        (void)state;
        struct hoist_error *err = NULL;
        _cleanup_jobfile_ struct jobfile *jf =
                parse("name: small\nruntime: container\nbuild: {context: /abs/ctx}\n", &err);
        _cleanup_jobfile_ struct jobfile *named = NULL;
        _cleanup_free_ char *ref = NULL, *ref2 = NULL;

        assert_non_null(jf);
        assert_string_equal(jf->build->context, "/abs/ctx");
        assert_null(jf->build->dockerfile);
        assert_null(jf->build->args[0]);
        assert_null(jf->build->push);
        ref = jobbuild_ref(jf);
        assert_string_equal(ref, "localhost/hoist-small:latest");
        named = parse("name: n\nimage: localhost/mine:2\nbuild: {context: .}\n", &err);
        assert_non_null(named);
        ref2 = jobbuild_ref(named);
        assert_string_equal(ref2, "localhost/mine:2");
}

static void test_errors(void **state)
{
        (void)state;
        static const struct {
                const char *yaml, *want;
        } cases[] = {
                {"name: e\nbuild: {dockerfile: x}\n", "needs 'context'"},
                {"name: e\nbuild: {context: ., tag: x}\n", "tag"},
                {"name: e\nbuild: [a]\n", "build"},
                {"name: e\nbuild: {context: ., args: [a]}\n", "build.args"},
                {"name: e\nruntime: container\n", "needs 'image'"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct hoist_error *err = NULL;
                struct jobfile *jf = parse(cases[i].yaml, &err);
                assert_null(jf);
                assert_non_null(err);
                if (strstr(err->msg, cases[i].want) == NULL)
                        fail_msg("case %zu: '%s' lacks '%s'", i, err->msg, cases[i].want);
                assert_non_null(strstr(err->msg, "job.yaml"));
                hoist_error_free(err);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_full_section),
                cmocka_unit_test(test_minimal_section_and_refs),
                cmocka_unit_test(test_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
