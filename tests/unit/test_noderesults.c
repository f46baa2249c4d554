/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "runner/job/noderesults.h"
#include "xalloc.h"

static struct jobspec_result *rec(const char *node, const char *status, int code,
                                  const char *reason, int64_t finished)
{
        struct jobspec_result *r = xzalloc(sizeof *r);

        r->job_id = xstrdup("j-000000000001");
        r->node = xstrdup(node);
        r->status = xstrdup(status);
        r->exit_code = code;
        r->reason = xstrdup(reason);
        r->finished_at_ms = finished;
        r->attempt = 1;
        return r;
}

/* No node failed: rank 0's result.json decides, as it is. */
static void test_rank0_decides(void **state)
{
        struct jobspec_result *nodes[2];
        struct jobspec_result *rank0 = rec("node0", "succeeded", 0, NULL, 10);
        struct jobspec_result *c;

        (void)state;
        nodes[0] = rec("node0", "succeeded", 0, NULL, 10);
        nodes[1] = rec("node1", "succeeded", 0, NULL, 12);
        c = noderesults_combine(nodes, 2, rank0);
        assert_non_null(c);
        assert_string_equal(c->status, "succeeded");
        assert_int_equal(c->exit_code, 0);
        assert_null(c->reason);
        jobspec_result_free(c);
        /* Interrupted everywhere (preempted): rank 0's word. */
        free(rank0->status);
        rank0->status = xstrdup("interrupted");
        free(nodes[1]->status);
        nodes[1]->status = xstrdup("interrupted");
        c = noderesults_combine(nodes, 2, rank0);
        assert_string_equal(c->status, "interrupted");
        jobspec_result_free(c);
        /* Nothing decides: no failure and no rank 0. */
        assert_null(noderesults_combine(nodes, 2, NULL));
        assert_null(noderesults_combine(NULL, 0, NULL));
        jobspec_result_free(nodes[0]);
        jobspec_result_free(nodes[1]);
        jobspec_result_free(rank0);
}

/* The first node that failed (by its finished time) wins over rank 0's
 * interrupted result (srun stopped it), its reason naming the node. */
static void test_first_failure_wins(void **state)
{
        struct jobspec_result *nodes[3];
        struct jobspec_result *rank0 = rec("node0", "interrupted", 143, "stopped by SIGTERM", 30);
        struct jobspec_result *c;

        (void)state;
        nodes[0] = rec("node0", "interrupted", 143, "stopped by SIGTERM", 30);
        nodes[1] = rec("node1", "failed", 1, "worker 3 exited with code 1", 25);
        nodes[2] = rec("node2", "failed", 3, "exit code 3", 20);
        c = noderesults_combine(nodes, 3, rank0);
        assert_string_equal(c->status, "failed");
        assert_int_equal(c->exit_code, 3);
        assert_string_equal(c->reason, "node node2: exit code 3");
        assert_string_equal(c->node, "node2");
        jobspec_result_free(c);
        /* Same time: the order given (key order) decides. */
        nodes[1]->finished_at_ms = 20;
        c = noderesults_combine(nodes, 3, NULL);
        assert_string_equal(c->reason, "node node1: worker 3 exited with code 1");
        jobspec_result_free(c);
        /* A failure with no reason of its own still names its node. */
        free(nodes[1]->reason);
        nodes[1]->reason = NULL;
        c = noderesults_combine(nodes, 3, NULL);
        assert_string_equal(c->reason, "node node1: failed");
        jobspec_result_free(c);
        for (int i = 0; i < 3; i++)
                jobspec_result_free(nodes[i]);
        jobspec_result_free(rank0);
}

static void put(const char *root, const char *key, const char *text)
{
        _cleanup_free_ char *path = path_join(root, key);
        _cleanup_free_ char *dir = xstrdup(path);

        *strrchr(dir, '/') = '\0';
        assert_int_equal(fs_mkdir_p(dir, 0700, NULL), 0);
        assert_int_equal(fs_write_file_atomic(path, text, strlen(text), 0600, NULL), 0);
}

/* Reading: only this attempt's records directly under results/, each
 * named by its node (the file's name when the record has none). */
static void test_read(void **state)
{
        char dir[] = "/tmp/hoist-noderesults-XXXXXX";
        _cleanup_free_ char *url = NULL;
        struct storage *sto = NULL;
        struct jobspec_result **r = NULL;
        struct hoist_error *err = NULL;
        size_t n = 0;

        (void)state;
        assert_non_null(mkdtemp(dir));
        url = xasprintf("file://%s", dir);
        put(dir, "jobs/j-1/results/node0.json",
            "{\"job_id\":\"j-1\",\"node\":\"node0\",\"status\":\"succeeded\",\"exit_code\":0,"
            "\"attempt\":2}");
        put(dir, "jobs/j-1/results/node1.json",
            "{\"job_id\":\"j-1\",\"status\":\"failed\",\"exit_code\":1,\"attempt\":2}");
        put(dir, "jobs/j-1/results/node2.json",
            "{\"job_id\":\"j-1\",\"node\":\"node2\",\"status\":\"failed\",\"exit_code\":1,"
            "\"attempt\":1}");
        put(dir, "jobs/j-1/results/old/node3.json", "not read");
        put(dir, "jobs/j-1/results/notes.txt", "not read");
        assert_int_equal(storage_open(url, &sto, &err), 0);
        assert_int_equal(noderesults_read(sto, "j-1", 2, &r, &n, &err), 0);
        assert_int_equal(n, 2);
        assert_string_equal(r[0]->node, "node0");
        assert_string_equal(r[1]->node, "node1");
        noderesults_free(r, n);
        /* A record that does not parse names its key. */
        put(dir, "jobs/j-1/results/node4.json", "{");
        assert_int_equal(noderesults_read(sto, "j-1", 2, &r, &n, &err), -1);
        assert_non_null(strstr(err->msg, "jobs/j-1/results/node4.json"));
        hoist_error_free(err);
        storage_close(sto);
        assert_int_equal(fs_remove_tree(dir, NULL), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rank0_decides),
                cmocka_unit_test(test_first_failure_wins),
                cmocka_unit_test(test_read),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
