/* SPDX-License-Identifier: MIT */
/* job.yaml's code:, include: and consent: (runner/job/jobfile_code.c). */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "helpers/testutil.h"
#include "runner/job/jobfile.h"
#include "runner/job/jobfile_code.h"
#include "xalloc.h"

/* A temporary directory: src/ (with .env and sub/), data/ (with .env),
 * one.txt, out/ (outside both trees) and link -> src. */
static int setup_dir(void **state)
{
        char tmpl[] = "/tmp/hoist-test-jobfile-code-XXXXXX";
        struct hoist_error *err = NULL;
        _cleanup_free_ char *link = NULL;
        static const char *const dirs[] = {"src/sub", "data", "out"};
        static const char *const files[] = {"src/.env", "data/.env", "one.txt", "out/x"};

        if (mkdtemp(tmpl) == NULL)
                return -1;
        char *dir = realpath(tmpl, NULL);
        for (size_t i = 0; i < 3; i++) {
                _cleanup_free_ char *p = path_join(dir, dirs[i]);
                if (fs_mkdir_p(p, 0755, &err) < 0)
                        goto fail;
        }
        for (size_t i = 0; i < 4; i++) {
                _cleanup_free_ char *p = path_join(dir, files[i]);
                if (fs_write_file_atomic(p, "x\n", 2, 0644, &err) < 0)
                        goto fail;
        }
        link = path_join(dir, "link");
        if (symlink("src", link) < 0)
                goto fail;
        *state = dir;
        return 0;
fail:
        hoist_error_free(err);
        free(dir);
        return -1;
}

#define HEAD "name: c\nruntime: process\ncommand: python3 train.py\n"

static void test_code(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *src = path_join(dir, "src");

        _cleanup_jobfile_ struct jobfile *none = t_parse_jobfile_ok(dir, HEAD);
        assert_null(none->code);
        assert_null(none->consent);
        assert_int_equal(none->n_includes, 0);

        _cleanup_jobfile_ struct jobfile *dot = t_parse_jobfile_ok(dir, HEAD "code: .\n");
        assert_string_equal(dot->code, dir);
        assert_int_equal(dot->code_line, 4);
        /* through a symlink: the tree it leads to */
        _cleanup_jobfile_ struct jobfile *viz = t_parse_jobfile_ok(dir, HEAD "code: link/\n");
        assert_string_equal(viz->code, src);
        _cleanup_jobfile_ struct jobfile *abs = NULL;
        _cleanup_free_ char *text = xasprintf(HEAD "code: %s\n", src);
        abs = t_parse_jobfile_ok(dir, text);
        assert_string_equal(abs->code, src);

        t_parse_jobfile_fails(
                dir, HEAD "code: nope\n",
                "'job.yaml':4: field 'code': 'nope' does not exist (paths are relative to the "
                "directory of 'job.yaml'; 'code: .' is that directory)");
        t_parse_jobfile_fails(
                dir, HEAD "code: one.txt\n",
                "'job.yaml':4: field 'code': 'one.txt' is not a directory (code: names the "
                "directory of the job's source tree, like 'code: .')");
        t_parse_jobfile_fails(dir, HEAD "code: [a]\n",
                              "'job.yaml':4: field 'code': expected a string, got a sequence");
        t_parse_jobfile_fails(
                dir, HEAD "cod: .\n",
                "'job.yaml':4: unknown field 'cod' (did you mean 'code'?); valid fields: "
                "name, image, command, workdir, runtime, provider, storage, inputs, "
                "hyperparameters, env, outputs, checkpoints, limits, retry, webhooks, build, "
                "resources, code, include, consent, secrets, distributed, slurm, sagemaker, "
                "replicate, compose, kubernetes");
}

static void test_include(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *src = path_join(dir, "src");
        _cleanup_free_ char *data = path_join(dir, "data");
        _cleanup_jobfile_ struct jobfile *jf = t_parse_jobfile_ok(
                dir, HEAD "code: src\ninputs:\n  train: data\n  one: one.txt\n"
                          "include:\n  - src/.env\n  - data/.env\n  - link/sub/\n");
        _cleanup_strv_ char **in_src = jobfile_code_includes_in(jf, src);
        _cleanup_strv_ char **in_data = jobfile_code_includes_in(jf, data);
        _cleanup_strv_ char **in_dir = jobfile_code_includes_in(jf, dir);

        assert_int_equal(jf->n_includes, 3);
        assert_int_equal(jf->includes[0].line, 9);
        assert_non_null(in_src);
        assert_string_equal(in_src[0], ".env");
        assert_string_equal(in_src[1], "sub");
        assert_null(in_src[2]);
        assert_string_equal(in_data[0], ".env");
        assert_null(in_data[1]);
        /* dir holds both trees: what lies below it, relative to it */
        assert_string_equal(in_dir[0], "src/.env");
        assert_string_equal(in_dir[1], "data/.env");
        assert_string_equal(in_dir[2], "src/sub");
        _cleanup_free_ char *out = path_join(dir, "out");
        assert_null(jobfile_code_includes_in(jf, out));

        /* an included symlink is the link itself, inside the tree */
        _cleanup_jobfile_ struct jobfile *lk =
                t_parse_jobfile_ok(dir, HEAD "code: .\ninclude: [link]\n");
        _cleanup_strv_ char **in_lk = jobfile_code_includes_in(lk, dir);
        assert_string_equal(in_lk[0], "link");

        t_parse_jobfile_fails(
                dir, HEAD "code: src\ninclude:\n  - out/x\n",
                "'job.yaml':6: field 'include[0]': 'out/x' lies neither inside 'code:' nor "
                "inside a directory input: include: names what those trees would otherwise "
                "leave out");
        t_parse_jobfile_fails(
                dir, HEAD "inputs:\n  one: one.txt\ninclude: [one.txt]\n",
                "'job.yaml':6: field 'include[0]': 'one.txt' lies neither inside 'code:' nor "
                "inside a directory input: include: names what those trees would otherwise "
                "leave out");
        t_parse_jobfile_fails(
                dir, HEAD "code: src\ninclude: [src/.envrc]\n",
                "'job.yaml':5: field 'include[0]': 'src/.envrc' does not exist (paths are "
                "relative to job.yaml's directory)");
}

static void test_include_errors(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *want =
                xasprintf("'job.yaml':5: field 'include[0]': 'src/' is the whole of the tree "
                          "'%s/src': name the files or directories in it to send",
                          dir);

        t_parse_jobfile_fails(dir, HEAD "code: src\ninclude: [src/]\n", want);
        t_parse_jobfile_fails(
                dir, HEAD "code: src\ninclude: src/.env\n",
                "'job.yaml':5: field 'include': expected a list of paths (relative to "
                "job.yaml's directory), got 'src/.env'");
        t_parse_jobfile_fails(dir, HEAD "code: src\ninclude: ['']\n",
                              "'job.yaml':5: field 'include[0]': expected a path, got ''");
        /* include: comes after the trees it needs, whatever the order written */
        _cleanup_jobfile_ struct jobfile *jf =
                t_parse_jobfile_ok(dir, HEAD "include: [src/.env]\ncode: src\n");
        assert_int_equal(jf->n_includes, 1);
}

static void test_consent(void **state)
{
        const char *dir = *state;

        _cleanup_jobfile_ struct jobfile *jf = t_parse_jobfile_ok(dir, HEAD "consent: never\n");
        assert_string_equal(jf->consent, "never");
        assert_int_equal(jf->consent_line, 4);
        t_parse_jobfile_fails(
                dir, HEAD "consent: yes\n",
                "'job.yaml':4: field 'consent': expected ask, allow or never, got 'yes'");
        t_parse_jobfile_fails(dir, HEAD "consent:\n",
                              "'job.yaml':4: field 'consent': expected a string, got nothing");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_code, setup_dir, t_teardown_dir),
                cmocka_unit_test_setup_teardown(test_include, setup_dir, t_teardown_dir),
                cmocka_unit_test_setup_teardown(test_include_errors, setup_dir, t_teardown_dir),
                cmocka_unit_test_setup_teardown(test_consent, setup_dir, t_teardown_dir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
