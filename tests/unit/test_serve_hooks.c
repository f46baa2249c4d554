/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "cleanup.h"
#include "runner/serve/hooks.h"

static void parse(const char *body, const char *id, struct hooks_event *ret)
{
        struct hoist_error *err = NULL;

        assert_int_equal(hooks_event_parse(body, strlen(body), id, ret, &err), 0);
        assert_null(err);
}

/* The store ignores an earlier attempt's event (issue 10 item 3): the
 * receiver reads the attempt from hoist-entrypoint's event id. */
static void test_attempt_from_id(void **state)
{
        struct hooks_event e;

        (void)state;
        parse("{\"id\":\"j-0123456789ab.2.node-0.17\",\"type\":\"job.interrupted\","
              "\"job_id\":\"j-0123456789ab\",\"data\":{\"exit_code\":7,\"reason\":\"spot\"}}",
              "j-0123456789ab.2.node-0.17", &e);
        assert_int_equal(e.attempt, 2);
        assert_int_equal(e.exit_code, 7);
        assert_string_equal(e.reason, "spot");
        hooks_event_release(&e);

        parse("{\"id\":\"j-0123456789ab.12.n.1\",\"type\":\"job.running\","
              "\"job_id\":\"j-0123456789ab\"}",
              "j-0123456789ab.12.n.1", &e);
        assert_int_equal(e.attempt, 12);
        assert_int_equal(e.exit_code, -1);
        hooks_event_release(&e);
}

/* Another sender's ids say nothing about attempts: 0, never a guess. */
static void test_foreign_ids_have_no_attempt(void **state)
{
        static const char *const ids[] = {
                "evt-1",
                "j-0123456789ab",
                "j-0123456789ab.",
                "j-0123456789ab.x.n.1",
                "j-0123456789ab.0.n.1",
                "j-0123456789ab.3",
                "j-0123456789abc.3.n.1",
                "j-0123456789ab.99999999999999999999.n.1",
        };
        struct hooks_event e;

        (void)state;
        for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
                char body[256];

                (void)snprintf(body, sizeof body,
                               "{\"id\":\"%s\",\"type\":\"job.log\",\"job_id\":\"j-0123456789ab\"}",
                               ids[i]);
                parse(body, ids[i], &e);
                assert_int_equal(e.attempt, 0);
                hooks_event_release(&e);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_attempt_from_id),
                cmocka_unit_test(test_foreign_ids_have_no_attempt),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
