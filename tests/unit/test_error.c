/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "error.h"

static int fail_inner(struct hoist_error **err)
{
        return hoist_error_make(err, ENOENT, "open '%s'", "job.yaml");
}

static int fail_outer(struct hoist_error **err)
{
        if (fail_inner(err) < 0)
                return hoist_error_wrap(err, "submit");
        return 0;
}

static void test_make_appends_strerror(void **state)
{
        (void)state;
        struct hoist_error *err = NULL;

        assert_int_equal(fail_inner(&err), -1);
        assert_non_null(err);
        assert_int_equal(err->code, ENOENT);
        assert_string_equal(err->msg, "open 'job.yaml': No such file or directory");
        hoist_error_release(&err);
        assert_null(err);
}

static void test_wrap_prefixes_context(void **state)
{
        (void)state;
        _cleanup_error_ struct hoist_error *err = NULL;

        assert_int_equal(fail_outer(&err), -1);
        assert_string_equal(err->msg, "submit: open 'job.yaml': No such file or directory");
        assert_int_equal(err->code, ENOENT);
}

static void test_hoist_codes_have_no_strerror(void **state)
{
        (void)state;
        _cleanup_error_ struct hoist_error *err = NULL;

        hoist_error_make(&err, HOIST_ERR_INPUT, "job.yaml:3: 'name' must be a string");
        assert_string_equal(err->msg, "job.yaml:3: 'name' must be a string");
        assert_int_equal(err->code, HOIST_ERR_INPUT);
}

static void test_make_replaces_previous(void **state)
{
        (void)state;
        _cleanup_error_ struct hoist_error *err = NULL;

        hoist_error_make(&err, 0, "first");
        hoist_error_make(&err, 0, "second");
        assert_string_equal(err->msg, "second");
}

static void test_wrap_without_error(void **state)
{
        (void)state;
        _cleanup_error_ struct hoist_error *err = NULL;

        assert_int_equal(hoist_error_wrap(&err, "context %d", 7), -1);
        assert_string_equal(err->msg, "context 7");
        assert_int_equal(hoist_error_make(NULL, 0, "ignored"), -1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_make_appends_strerror),
                cmocka_unit_test(test_wrap_prefixes_context),
                cmocka_unit_test(test_hoist_codes_have_no_strerror),
                cmocka_unit_test(test_make_replaces_previous),
                cmocka_unit_test(test_wrap_without_error),
        };
        return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
