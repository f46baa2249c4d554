/* SPDX-License-Identifier: MIT */
/* lib/jobmodel: job states' names and final states, and freeing job records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "jobmodel.h"
#include "xalloc.h"

static void test_state_names(void **state)
{
        static const char *const names[] = {
                "queued",  "building",    "uploading", "submitted", "starting",
                "running", "interrupted", "succeeded", "failed",    "canceled",
        };
        enum job_state s;

        (void)state;
        assert_int_equal(sizeof names / sizeof names[0], JOB_STATE_COUNT);
        for (int i = 0; i < JOB_STATE_COUNT; i++) {
                /* The names are the store's schema and job.json's: they never change. */
                assert_string_equal(job_state_name((enum job_state)i), names[i]);
                s = JOB_QUEUED;
                assert_int_equal(job_state_parse(names[i], &s), 0);
                assert_int_equal(s, i);
        }
        assert_string_equal(job_state_name((enum job_state)JOB_STATE_COUNT), "unknown");
        assert_string_equal(job_state_name((enum job_state)99), "unknown");
        assert_string_equal(job_state_name((enum job_state) - 1), "unknown");
}

static void test_state_parse_refuses(void **state)
{
        enum job_state s = JOB_RUNNING;

        (void)state;
        assert_int_equal(job_state_parse("Running", &s), -1);
        assert_int_equal(job_state_parse("", &s), -1);
        assert_int_equal(job_state_parse("unknown", &s), -1);
        assert_int_equal(job_state_parse("running ", &s), -1);
        assert_int_equal(job_state_parse(NULL, &s), -1);
        assert_int_equal(s, JOB_RUNNING); /* untouched */
}

static void test_state_terminal(void **state)
{
        (void)state;
        for (int i = 0; i < JOB_STATE_COUNT; i++) {
                int final = i == JOB_SUCCEEDED || i == JOB_FAILED || i == JOB_CANCELED;

                assert_int_equal(job_state_terminal((enum job_state)i), final);
        }
        /* Interrupted is resumed, not final. */
        assert_false(job_state_terminal(JOB_INTERRUPTED));
}

static struct job_record *record(const char *id)
{
        struct job_record *j = xcalloc(1, sizeof *j);

        j->id = xstrdup(id);
        j->name = xstrdup("train");
        j->provider = xstrdup("local");
        j->runtime = xstrdup("process");
        j->provider_ref = xstrdup("pid");
        j->storage_url = xstrdup("file:///tmp/s");
        j->spec_key = xstrdup("jobs/x/job.json");
        j->reason = xstrdup("why");
        j->exit_code = -1;
        j->attempt = 1;
        return j;
}

/* Every field is freed (the leak checkers of make asan / valgrind see it),
 * NULL is accepted, and the cleanup attribute frees at scope end. */
static void test_record_free(void **state)
{
        struct job_record **jobs = xcalloc(3, sizeof *jobs);

        (void)state;
        job_record_free(NULL);
        job_records_free(NULL, 3);
        job_record_free(record("j-000000000001"));
        jobs[0] = record("j-000000000002");
        jobs[2] = record("j-000000000003"); /* a hole is fine */
        job_records_free(jobs, 3);
        {
                _cleanup_job_record_ struct job_record *j = record("j-000000000004");
                _cleanup_job_record_ struct job_record *none = NULL;

                assert_string_equal(j->id, "j-000000000004");
                assert_null(none);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_state_names),
                cmocka_unit_test(test_state_parse_refuses),
                cmocka_unit_test(test_state_terminal),
                cmocka_unit_test(test_record_free),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
