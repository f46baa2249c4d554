/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Runs FN with stderr redirected to a temporary file; returns what it wrote. */
static char *capture(void (*fn)(void))
{
        static char out[4096];
        FILE *tmp = tmpfile();
        int saved = dup(STDERR_FILENO);
        size_t n;

        assert_non_null(tmp);
        fflush(stderr);
        dup2(fileno(tmp), STDERR_FILENO);
        fn();
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        rewind(tmp);
        n = fread(out, 1, sizeof out - 1, tmp);
        out[n] = '\0';
        fclose(tmp);
        return out;
}

static void emit(void)
{
        log_error("bad %s", "thing");
        log_warn("careful, ignoring");
        log_info("plain");
        log_debug("hidden at info");
}

static void test_levels_and_prefixes(void **state)
{
        (void)state;
        log_set_program("hoist");
        log_set_level(LOG_LEVEL_INFO);
        assert_string_equal(
                capture(emit),
                "hoist: error: bad thing\nhoist: warning: careful, ignoring\nhoist: plain\n");
        log_set_level(LOG_LEVEL_ERROR);
        assert_string_equal(capture(emit), "hoist: error: bad thing\n");
        log_set_level(LOG_LEVEL_DEBUG);
        assert_non_null(strstr(capture(emit), "hoist: debug: hidden at info\n"));
        log_set_level(LOG_LEVEL_INFO);
}

static void test_parse_and_env(void **state)
{
        (void)state;
        enum log_level l;

        assert_int_equal(log_level_parse("debug", &l), 0);
        assert_int_equal(l, LOG_LEVEL_DEBUG);
        assert_int_equal(log_level_parse("warn", &l), 0);
        assert_int_equal(l, LOG_LEVEL_WARN);
        assert_int_equal(log_level_parse("loud", &l), -1);
        assert_int_equal(log_level_parse(NULL, &l), -1);
        setenv("HOIST_LOG", "error", 1);
        log_init_from_env();
        assert_int_equal(log_get_level(), LOG_LEVEL_ERROR);
        setenv("HOIST_LOG", "nonsense", 1);
        log_init_from_env(); /* ignored */
        assert_int_equal(log_get_level(), LOG_LEVEL_ERROR);
        unsetenv("HOIST_LOG");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_levels_and_prefixes),
                cmocka_unit_test(test_parse_and_env),
        };
        return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
