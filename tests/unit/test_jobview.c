/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>

#include "cleanup.h"
#include "runner/jobview.h"

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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_metrics_latest_of_each_key),
                cmocka_unit_test(test_metrics_none),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
