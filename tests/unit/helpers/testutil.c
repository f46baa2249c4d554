/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"
#include "helpers/testutil.h"
#include "runner/build/dockerfile.h"

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
