/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"

static void test_plural(void **state)
{
        (void)state;
        assert_string_equal(fmt_plural(0, "file", "files"), "files");
        assert_string_equal(fmt_plural(1, "file", "files"), "file");
        assert_string_equal(fmt_plural(2, "file", "files"), "files");
        assert_string_equal(fmt_plural(UINT64_MAX, "entry", "entries"), "entries");
}

/* What a trainer prints comes back as it printed it, not with float noise. */
static void test_double_shortest(void **state)
{
        static const struct {
                double v;
                const char *want;
        } cases[] = {
                {0.9445, "0.9445"},
                {0.105275, "0.105275"},
                {3000, "3000"},
                {0.5, "0.5"},
                {1e20, "1e+20"},
                {2.5e6, "2500000"},
                {0, "0"},
                {-0.25, "-0.25"},
                {1e-07, "1e-07"},
                {0.1 + 0.2, "0.30000000000000004"},
                {1.0 / 3, "0.3333333333333333"},
                {123456789012345678.0, "1.2345678901234568e+17"},
                {5e-324, "5e-324"},
        };
        char buf[FMT_DOUBLE_SIZE];

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                assert_string_equal(fmt_double(cases[i].v, buf, sizeof buf), cases[i].want);
}

/* Every value reads back exactly, whatever its digits. */
static void test_double_round_trips(void **state)
{
        char buf[FMT_DOUBLE_SIZE];
        unsigned seed = 7;

        (void)state;
        for (int i = 0; i < 20000; i++) {
                double v = (double)rand_r(&seed) / RAND_MAX * pow(10, rand_r(&seed) % 40 - 20);
                assert_true(strtod(fmt_double(v, buf, sizeof buf), NULL) == v);
        }
        assert_int_equal(fmt_double_precision(0.9445), 4);
        assert_int_equal(fmt_double_precision(0.1 + 0.2), 17);
        assert_int_equal(fmt_double_precision(NAN), 17);
        assert_int_equal(fmt_double_precision(3000), 4);
        assert_int_equal(fmt_double_precision(1e20), 1);
}

/* Untrusted text in an error message: cut, and only printable ASCII. */
static void test_quote(void **state)
{
        char *q;

        (void)state;
        q = fmt_quote("gpu[01-", 7, 80);
        assert_string_equal(q, "gpu[01-");
        free(q);
        q = fmt_quote("a\nb\x1b[31m\xc3\xa9", 10, 80);
        assert_string_equal(q, "a?b?[31m??");
        free(q);
        q = fmt_quote("abcdef", 6, 3);
        assert_string_equal(q, "abc...");
        free(q);
        q = fmt_quote("ab\0cd", 5, 80);
        assert_string_equal(q, "ab?cd");
        free(q);
        q = fmt_quote("", 0, 80);
        assert_string_equal(q, "");
        free(q);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plural),
                cmocka_unit_test(test_double_shortest),
                cmocka_unit_test(test_double_round_trips),
                cmocka_unit_test(test_quote),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
