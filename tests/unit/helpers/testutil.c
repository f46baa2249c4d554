/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "helpers/testutil.h"
#include "runner/image/dockerfile.h"
#include "runner/job/jobfile.h"

void t_write_file(const char *dir, const char *name, const char *text)
{
        _cleanup_free_ char *p = path_join(dir, name);
        FILE *f = fopen(p, "w");

        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

struct dockerfile *t_parse_dockerfile(const char *text)
{
        struct dockerfile *df = NULL;
        struct hoist_error *err = NULL;

        if (dockerfile_parse(text, strlen(text), "Dockerfile", &df, &err) < 0) {
                fprintf(stderr, "unexpected error: %s\n", err->msg);
                hoist_error_free(err);
                fail();
        }
        assert_non_null(df);
        return df;
}

int t_teardown_dir(void **state)
{
        struct hoist_error *err = NULL;
        char *dir = *state;
        int r = fs_remove_tree(dir, &err);

        hoist_error_free(err);
        free(dir);
        return r;
}

struct jobfile *t_parse_jobfile_ok(const char *dir, const char *text)
{
        _cleanup_free_ char *path = path_join(dir, "job.yaml");
        struct jobfile *jf = NULL;
        struct hoist_error *err = NULL;

        if (jobfile_parse(text, strlen(text), path, &jf, &err) < 0)
                fail_msg("unexpected error: %s", err->msg);
        assert_non_null(jf);
        return jf;
}

void t_parse_jobfile_fails(const char *dir, const char *text, const char *want)
{
        struct jobfile *jf = NULL;
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_free_ char *cwd = getcwd(NULL, 0);
        int r;

        assert_int_equal(chdir(dir), 0);
        r = jobfile_parse(text, strlen(text), "job.yaml", &jf, &err);
        assert_int_equal(chdir(cwd), 0);
        if (r == 0) {
                jobfile_free(jf);
                fail_msg("parsed, want the error '%s'", want);
        }
        assert_null(jf);
        assert_int_equal(err->code, HOIST_ERR_INPUT);
        if (strcmp(err->msg, want) != 0)
                fail_msg("got '%s'\nwant '%s'", err->msg, want);
}
