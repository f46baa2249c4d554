/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "runner/control/pollsched.h"

/* Asked every poll_ms while it answers (0: the default). */
static void test_period(void **state)
{
        struct pollsched s = {0};
        struct pollsched_entry *e;

        (void)state;
        e = pollsched_get(&s, "j-1");
        assert_true(pollsched_due(e, 0)); /* a new job: at once */
        pollsched_answered(e, 0, 0);
        assert_false(pollsched_due(e, POLLSCHED_DEFAULT_MS - 1));
        assert_true(pollsched_due(e, POLLSCHED_DEFAULT_MS));
        pollsched_answered(e, 1000, 30000);
        assert_false(pollsched_due(e, 30999));
        assert_true(pollsched_due(e, 31000));
        /* The same entry comes back for the same job. */
        assert_ptr_equal(pollsched_get(&s, "j-1"), e);
        assert_int_equal(s.n, 1);
        pollsched_free(&s);
}

/* Failures double the wait up to the cap; an answer resets it. */
static void test_backoff(void **state)
{
        static const int64_t want[] = {2000, 4000, 8000, 16000, 32000, 60000, 60000};
        struct pollsched s = {0};
        struct pollsched_entry *e;
        int64_t now = 0;

        (void)state;
        e = pollsched_get(&s, "j-1");
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
                assert_true(pollsched_due(e, now));
                pollsched_failed(e, now, 1000);
                assert_int_equal(e->wait_ms, want[i]);
                assert_false(pollsched_due(e, now + want[i] - 1));
                now += want[i];
        }
        assert_int_equal(e->failures, 7);
        pollsched_answered(e, now, 1000);
        assert_int_equal(e->failures, 0);
        assert_true(pollsched_due(e, now + 1000));
        /* After an answer, the next failure starts over. */
        pollsched_failed(e, now + 1000, 1000);
        assert_int_equal(e->wait_ms, 2000);
        /* A slow provider's own period still ends at the cap. */
        e = pollsched_get(&s, "j-2");
        pollsched_failed(e, 0, 45000);
        assert_int_equal(e->wait_ms, POLLSCHED_MAX_BACKOFF_MS);
        pollsched_free(&s);
}

/* A pass keeps the entries of the jobs it looked at and drops the rest. */
static void test_pass_forgets(void **state)
{
        struct pollsched s = {0};

        (void)state;
        pollsched_get(&s, "j-1");
        pollsched_get(&s, "j-2");
        pollsched_get(&s, "j-3");
        pollsched_begin(&s);
        pollsched_get(&s, "j-2");
        pollsched_end(&s);
        assert_int_equal(s.n, 1);
        assert_string_equal(s.e[0].job_id, "j-2");
        pollsched_free(&s);
        assert_int_equal(s.n, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_period),
                cmocka_unit_test(test_backoff),
                cmocka_unit_test(test_pass_forgets),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
