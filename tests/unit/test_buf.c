/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void test_append_and_printf(void **state)
{
        (void)state;
        _cleanup_buf_ struct buf b = {0};

        buf_append_str(&b, "step=");
        buf_printf(&b, "%d loss=%.2f", 42, 0.5);
        buf_append_char(&b, '!');
        assert_string_equal(b.data, "step=42 loss=0.50!");
        assert_int_equal(b.len, strlen("step=42 loss=0.50!"));
}

static void test_grows_past_many_doublings(void **state)
{
        (void)state;
        _cleanup_buf_ struct buf b = {0};

        for (int i = 0; i < 100000; i++)
                buf_append(&b, "abcdefgh", 8);
        assert_int_equal(b.len, 800000);
        assert_int_equal(b.data[b.len], '\0');
        assert_memory_equal(b.data + 799992, "abcdefgh", 8);
}

static void test_binary_and_truncate(void **state)
{
        (void)state;
        _cleanup_buf_ struct buf b = {0};

        buf_append(&b, "a\0b", 3);
        assert_int_equal(b.len, 3);
        buf_truncate(&b, 1);
        assert_string_equal(b.data, "a");
        buf_truncate(&b, 10); /* longer than len: no change */
        assert_int_equal(b.len, 1);
        buf_reset(&b);
        assert_string_equal(b.data, "");
}

static void test_take_empty_is_string(void **state)
{
        (void)state;
        struct buf b = {0};
        char *s = buf_take(&b);

        assert_non_null(s);
        assert_string_equal(s, "");
        assert_null(b.data);
        free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_append_and_printf),
                cmocka_unit_test(test_grows_past_many_doublings),
                cmocka_unit_test(test_binary_and_truncate),
                cmocka_unit_test(test_take_empty_is_string),
        };
        return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
