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
#include "runner/job/jobview.h"

/* Each key keeps its latest value: a short job's last line ({"step":3000})
 * does not hide the loss reported before it; numbers print as written. */
static void test_metrics_latest_of_each_key(void **state)
{
        json_auto_t *m = json_object();
        _cleanup_free_ char *text = NULL;

        (void)state;
        jobview_metrics_add(m, "{\"type\":\"job.metric\",\"data\":{\"step\":100,"
                               "\"loss\":0.94450000000000001,\"lr\":0.001}}");
        jobview_metrics_add(m, "{\"type\":\"job.metric\",\"data\":{\"step\":200,\"loss\":0.5}}");
        jobview_metrics_add(m, "{\"type\":\"job.metric\",\"data\":{\"step\":3000}}");
        jobview_metrics_add(m, "not json");
        jobview_metrics_add(m, "{\"type\":\"job.metric\",\"data\":[1]}");
        text = jobview_metrics_text(m);
        assert_string_equal(text, "step=3000 loss=0.5 lr=0.001");
        free(text);

        jobview_metrics_add(m, "{\"data\":{\"loss\":0.94450000000000001,\"acc\":1e-07}}");
        text = jobview_metrics_text(m);
        assert_string_equal(text, "step=3000 loss=0.9445 lr=0.001 acc=1e-07");
}

static void test_metrics_none(void **state)
{
        json_auto_t *m = json_object();

        (void)state;
        assert_null(jobview_metrics_text(m));
}

/* What jobview_print_status() prints for JOB with BILLING. */
static char *status_text(const struct job_record *job, const struct provider_billing *billing)
{
        char path[] = "/tmp/hoist-jobview-XXXXXX";
        int fd = mkstemp(path), saved;
        char *text = NULL;
        size_t len = 0;

        assert_true(fd >= 0);
        fflush(stdout);
        saved = dup(STDOUT_FILENO);
        assert_true(dup2(fd, STDOUT_FILENO) >= 0);
        jobview_print_status(job, NULL, 0, NULL, billing);
        fflush(stdout);
        assert_true(dup2(saved, STDOUT_FILENO) >= 0);
        close(saved);
        close(fd);
        assert_int_equal(fs_read_file(path, &text, &len, NULL), 0);
        unlink(path);
        return text;
}

/* A job its engine still queues shows the engine's reason; what the
 * engine billed shows when the provider says. */
static void test_status_reason_and_billing(void **state)
{
        struct job_record job = {
                .id = (char *)"j-0000000000c1",
                .name = (char *)"train",
                .provider = (char *)"slurm",
                .runtime = (char *)"process",
                .state = JOB_QUEUED,
                .reason = (char *)"Priority",
                .exit_code = -1,
                .attempt = 1,
        };
        struct provider_billing b = {.billed_s = 7200, .nodes = 2, .source = (char *)"sacct"};
        _cleanup_free_ char *text = NULL;
        json_auto_t *o = NULL;

        (void)state;
        text = status_text(&job, NULL);
        assert_non_null(strstr(text, "state:     queued\n"));
        assert_non_null(strstr(text, "reason:    Priority\n"));
        assert_null(strstr(text, "billed:"));
        free(text);
        text = status_text(&job, &b);
        assert_non_null(strstr(text, "billed:    7200 s over 2 nodes (sacct)\n"));
        o = jobview_billing_json(&b);
        assert_int_equal(json_integer_value(json_object_get(o, "billed_s")), 7200);
        assert_int_equal(json_integer_value(json_object_get(o, "nodes")), 2);
        assert_true(json_is_null(json_object_get(o, "sku")));
        assert_true(json_is_false(json_object_get(o, "spot")));
        assert_string_equal(json_string_value(json_object_get(o, "source")), "sacct");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_metrics_latest_of_each_key),
                cmocka_unit_test(test_metrics_none),
                cmocka_unit_test(test_status_reason_and_billing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
