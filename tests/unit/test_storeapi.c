/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"
#include "runner/serve/apimetrics.h"
#include "runner/serve/apitoken.h"
#include "runner/control/store.h"
#include "runner/control/storeapi.h"
#include "xalloc.h"

struct fixture {
        char dir[64];
        char *db;
        struct store *st;
};

static int setup(void **state)
{
        struct fixture *f = xzalloc(sizeof *f);
        struct hoist_error *err = NULL;

        strcpy(f->dir, "/tmp/hoist-storeapi-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->db = path_join(f->dir, "hoist.db");
        assert_int_equal(store_open(f->db, &f->st, &err), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        store_close(f->st);
        assert_int_equal(fs_remove_tree(f->dir, NULL), 0);
        free(f->db);
        free(f);
        return 0;
}

static void insert_job(struct store *st, const char *id, const char *name, int64_t created)
{
        struct hoist_error *err = NULL;
        struct job_record job = {
                .id = (char *)id,
                .name = (char *)name,
                .provider = (char *)"local",
                .runtime = (char *)"process",
                .state = JOB_QUEUED,
                .exit_code = -1,
                .attempt = 1,
                .created_at_ms = created,
        };

        assert_int_equal(store_insert_job(st, &job, &err), 0);
}

static void metric(struct store *st, const char *job, int seq, const char *data)
{
        struct hoist_error *err = NULL;
        _cleanup_free_ char *id = xasprintf("%s.1.node0.%d", job, seq);
        _cleanup_free_ char *body = xasprintf(
                "{\"id\":\"%s\",\"type\":\"job.metric\",\"job_id\":\"%s\",\"node\":\"node0\","
                "\"data\":%s}",
                id, job, data);
        struct store_event e = {.id = id,
                                .job_id = job,
                                .type = "job.metric",
                                .node = "node0",
                                .status = "running",
                                .body = body,
                                .exit_code = -1,
                                .attempt = 1};

        assert_int_equal(store_apply_event(st, &e, &err), 1);
}

static void test_pages(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        struct storeapi_filter flt = {.limit = 2};
        struct job_record **jobs = NULL;
        size_t n = 0;
        int more = 0;

        insert_job(f->st, "j-000000000001", "alpha", 1000);
        insert_job(f->st, "j-000000000002", "beta", 2000);
        insert_job(f->st, "j-000000000003", "alpha", 2000);
        insert_job(f->st, "j-000000000004", "gamma", 3000);
        assert_int_equal(storeapi_list_jobs(f->st, &flt, &jobs, &n, &more, &err), 0);
        assert_int_equal(n, 2);
        assert_true(more);
        assert_string_equal(jobs[0]->id, "j-000000000004");
        assert_string_equal(jobs[1]->id, "j-000000000003");
        /* the next page starts after the last one, ties broken by id */
        flt.cursor_ms = jobs[1]->created_at_ms;
        flt.cursor_id = "j-000000000003";
        job_records_free(jobs, n);
        assert_int_equal(storeapi_list_jobs(f->st, &flt, &jobs, &n, &more, &err), 0);
        assert_int_equal(n, 2);
        assert_false(more);
        assert_string_equal(jobs[0]->id, "j-000000000002");
        assert_string_equal(jobs[1]->id, "j-000000000001");
        job_records_free(jobs, n);
        /* filters */
        flt = (struct storeapi_filter){.limit = 10, .name = "alpha", .since_ms = 1500};
        assert_int_equal(storeapi_list_jobs(f->st, &flt, &jobs, &n, &more, &err), 0);
        assert_int_equal(n, 1);
        assert_string_equal(jobs[0]->id, "j-000000000003");
        job_records_free(jobs, n);
        flt = (struct storeapi_filter){.limit = 10, .q = "mm", .states = 1u << JOB_QUEUED};
        assert_int_equal(storeapi_list_jobs(f->st, &flt, &jobs, &n, &more, &err), 0);
        assert_int_equal(n, 1);
        assert_string_equal(jobs[0]->name, "gamma");
        job_records_free(jobs, n);
        /* a LIKE wildcard is text like any other */
        flt = (struct storeapi_filter){.limit = 10, .q = "%"};
        assert_int_equal(storeapi_list_jobs(f->st, &flt, &jobs, &n, &more, &err), 0);
        assert_int_equal(n, 0);
        job_records_free(jobs, n);
        flt = (struct storeapi_filter){.limit = 10, .states = 1u << JOB_RUNNING};
        assert_int_equal(storeapi_list_jobs(f->st, &flt, &jobs, &n, &more, &err), 0);
        assert_int_equal(n, 0);
        job_records_free(jobs, n);
}

static void test_metrics_indexed(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        struct storeapi_series *s = NULL;
        struct job_record *job = NULL;
        _cleanup_strv_ char **keys = NULL, **nodes = NULL;
        char *last = NULL;
        int64_t count = 0, n_nodes = 0, rowid = 0;
        size_t n = 0;

        insert_job(f->st, "j-000000000001", "m", 1000);
        metric(f->st, "j-000000000001", 1, "{\"step\": 2, \"loss\": 0.5, \"lr\": 1e-3}");
        metric(f->st, "j-000000000001", 2, "{\"step\": 1, \"loss\": 0.75, \"tag\": \"x\"}");
        /* not an object: no point, no error */
        metric(f->st, "j-000000000001", 3, "[1, 2]");
        assert_int_equal(storeapi_metric_count(f->st, "j-000000000001", &count, &err), 0);
        assert_int_equal(count, 3);
        assert_int_equal(storeapi_metric_keys(f->st, "j-000000000001", &keys, &err), 0);
        assert_string_equal(keys[0], "loss");
        assert_string_equal(keys[1], "lr");
        assert_null(keys[2]);
        assert_int_equal(storeapi_metric_series(f->st, "j-000000000001", "loss", &s, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_int_equal(s[0].n, 2);
        assert_int_equal(s[0].points[0].step, 1); /* by step, not arrival */
        assert_true(s[0].points[0].value == 0.75);
        assert_string_equal(s[0].node, "node0");
        assert_int_equal(s[0].attempt, 1);
        storeapi_series_free(s, n);
        assert_int_equal(storeapi_metric_last_rowid(f->st, &rowid, &err), 0);
        assert_int_equal(
                storeapi_metric_since(f->st, "j-000000000001", rowid - 1, 10, &s, &n, &err), 0);
        assert_int_equal(n, 1);
        storeapi_series_free(s, n);
        assert_int_equal(store_get_job(f->st, "j-000000000001", &job, &err), 0);
        assert_int_equal(storeapi_job_extras(f->st, &job, 1, &n_nodes, &last, &err), 0);
        assert_int_equal(n_nodes, 1);
        /* the newest event that had points */
        assert_string_equal(last, "{\"step\":1,\"loss\":0.75,\"tag\":\"x\"}");
        free(last);
        assert_int_equal(storeapi_job_nodes(f->st, job->id, &nodes, &err), 0);
        assert_string_equal(nodes[0], "node0");
        job_record_free(job);
}

static void test_downsample(void **state)
{
        struct storeapi_point p[100];
        size_t idx[100], k;

        (void)state;
        for (int i = 0; i < 100; i++)
                p[i] = (struct storeapi_point){.step = i, .value = i == 37 ? 1000.0 : (double)i};
        k = apimetrics_downsample(p, 100, 10, idx);
        assert_true(k <= 10);
        /* the spike survives, and the order is kept */
        bool spike = false;
        for (size_t i = 0; i < k; i++) {
                spike |= idx[i] == 37;
                if (i > 0)
                        assert_true(idx[i] > idx[i - 1]);
        }
        assert_true(spike);
        assert_int_equal(apimetrics_downsample(p, 5, 10, idx), 5);
}

static void test_token(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        _cleanup_free_ char *t = NULL, *again = NULL, *hdr = NULL;

        assert_int_equal(apitoken_load(f->dir, &t, &err), 0);
        assert_int_equal(strlen(t), APITOKEN_LEN);
        assert_int_equal(apitoken_load(f->dir, &again, &err), 0);
        assert_string_equal(t, again);
        hdr = xasprintf("Bearer %s", t);
        assert_true(apitoken_check(t, hdr));
        hdr[7] = hdr[7] == 'a' ? 'b' : 'a';
        assert_false(apitoken_check(t, hdr));
        assert_false(apitoken_check(t, NULL));
        assert_false(apitoken_check(t, t));
        assert_false(apitoken_check(t, "Bearer "));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_pages, setup, teardown),
                cmocka_unit_test_setup_teardown(test_metrics_indexed, setup, teardown),
                cmocka_unit_test(test_downsample),
                cmocka_unit_test_setup_teardown(test_token, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
