/* SPDX-License-Identifier: MIT */
/* job.yaml's resources.nodes and distributed: (runner/job/jobfile_dist.c), and
 * the batch-size check (runner/job/distcheck.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "helpers/testutil.h"
#include "runner/job/distcheck.h"
#include "runner/job/jobfile.h"
#include "runner/job/jobfile_dist.h"
#include "xalloc.h"

#define HEAD "name: ddp\nruntime: process\ncommand: [python3, train.py]\n"

/* A temporary directory with data/ (3 kept files, one ignored, a .env) and
 * lines.txt (4 non-empty lines of 6). */
static int setup_dir(void **state)
{
        char tmpl[] = "/tmp/hoist-test-jobfile-dist-XXXXXX";
        struct hoist_error *err = NULL;
        static const struct {
                const char *path, *text;
        } files[] = {
                {"data/a.png", "a"},
                {"data/sub/b.png", "b"},
                {"data/sub/c.png", "c"},
                {"data/skip.tmp", "x"},
                {"data/.hoistignore", "*.tmp\n"},
                {"data/.env", "TOKEN=1\n"},
                {"lines.txt", "one\n\ntwo\r\n\r\nthree\nfour"},
        };

        if (mkdtemp(tmpl) == NULL)
                return -1;
        char *dir = realpath(tmpl, NULL);
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
                _cleanup_free_ char *p = path_join(dir, files[i].path);
                _cleanup_free_ char *parent = xstrdup(p);
                *strrchr(parent, '/') = '\0';
                if (fs_mkdir_p(parent, 0755, &err) < 0 ||
                    fs_write_file_atomic(p, files[i].text, strlen(files[i].text), 0644, &err) < 0) {
                        hoist_error_free(err);
                        free(dir);
                        return -1;
                }
        }
        *state = dir;
        return 0;
}

static void test_absent(void **state)
{
        _cleanup_jobfile_ struct jobfile *jf = t_parse_jobfile_ok(*state, HEAD);
        _cleanup_jobspec_ struct jobspec *spec = jobspec_new();
        _cleanup_free_ char *json = NULL;

        assert_non_null(jf->dist);
        assert_int_equal(jf->dist->nodes, 1);
        assert_int_equal(jf->dist->launcher, JOBSPEC_LAUNCHER_NONE);
        assert_null(jf->dist->check);
        jobfile_dist_fill_spec(jf, spec);
        assert_int_equal(spec->nodes, 1);
        assert_null(spec->launcher);
        assert_int_equal(distcheck_run(jf, NULL), 0);
}

static void test_full(void **state)
{
        _cleanup_jobfile_ struct jobfile *jf = t_parse_jobfile_ok(
                *state, HEAD "resources:\n  gpus: 4\n  nodes: 2\n"
                             "distributed:\n  launcher: hoist\n  nproc_per_node: auto\n"
                             "  port: 29600\n  checkpoints_per_rank: true\n"
                             "  check: {samples: 100000, batch_size: 32, grad_accum: 2}\n"
                             "  oversubscribe: false\n");
        _cleanup_jobspec_ struct jobspec *spec = jobspec_new();

        assert_int_equal(jf->dist->nodes, 2);
        assert_int_equal(jf->dist->nodes_line, 6);
        assert_int_equal(jf->dist->line, 7);
        assert_int_equal(jf->dist->launcher, JOBSPEC_LAUNCHER_HOIST);
        assert_int_equal(jf->dist->nproc_per_node, 0);
        assert_int_equal(jf->dist->port, 29600);
        assert_true(jf->dist->checkpoints_per_rank);
        assert_false(jf->dist->oversubscribe);
        assert_int_equal(jf->dist->check->samples, 100000);
        assert_int_equal(jf->dist->check->batch_size, 32);
        assert_int_equal(jf->dist->check->grad_accum, 2);
        assert_int_equal(jf->dist->check->line, 12);
        assert_int_equal(distcheck_world_size(jf), 8);
        jobfile_dist_fill_spec(jf, spec);
        assert_int_equal(spec->nodes, 2);
        assert_int_equal(spec->gpus_per_node, 4);
        assert_string_equal(spec->launcher, "hoist");
        assert_int_equal(spec->nproc_per_node, 0);
        assert_int_equal(spec->port, 29600);
        assert_true(spec->checkpoints_per_rank);
        assert_int_equal(jobspec_validate(spec, NULL), -1); /* no id, storage: not from here */

        _cleanup_jobfile_ struct jobfile *jf2 = t_parse_jobfile_ok(
                *state, HEAD "distributed:\n  launcher: torchrun\n  nproc_per_node: 3\n");
        assert_int_equal(jf2->dist->nodes, 1);
        assert_int_equal(jf2->dist->nproc_per_node, 3);
        assert_int_equal(distcheck_world_size(jf2), 3);
}

static void test_errors(void **state)
{
        const char *dir = *state;

        t_parse_jobfile_fails(
                dir, HEAD "distributed:\n  launcher: mpirun\n",
                "'job.yaml':5: field 'distributed.launcher': unknown launcher 'mpirun' "
                "(known: hoist, torchrun, accelerate, none)");
        t_parse_jobfile_fails(
                dir, HEAD "distributed:\n  lancher: hoist\n",
                "'job.yaml':5: unknown field 'lancher' in 'distributed' (did you mean "
                "'launcher'?); valid fields: launcher, nproc_per_node, port, "
                "checkpoints_per_rank, check, oversubscribe");
        t_parse_jobfile_fails(
                dir, HEAD "distributed:\n  nproc_per_node: many\n",
                "'job.yaml':5: field 'distributed.nproc_per_node': expected 'auto' or a "
                "number of processes from 1 to 1024, got 'many'");
        t_parse_jobfile_fails(
                dir, HEAD "distributed:\n  nproc_per_node: 0\n",
                "'job.yaml':5: field 'distributed.nproc_per_node': expected an integer from 1 "
                "to 1024, got '0'");
        t_parse_jobfile_fails(
                dir, HEAD "distributed:\n  port: 70000\n",
                "'job.yaml':5: field 'distributed.port': expected an integer from 1 to 65535, "
                "got '70000'");
        t_parse_jobfile_fails(
                dir, HEAD "distributed:\n  oversubscribe: maybe\n",
                "'job.yaml':5: field 'distributed.oversubscribe': expected true or false, got "
                "'maybe'");
        t_parse_jobfile_fails(
                dir, HEAD "resources:\n  nodes: 0\n",
                "'job.yaml':5: field 'resources.nodes': expected an integer from 1 to 65536, "
                "got '0'");
        t_parse_jobfile_fails(
                dir, HEAD "nodes: 2\n",
                "'job.yaml':4: field 'nodes' goes under 'resources:' (resources: {nodes: "
                "...}; docs/job.md \"resources\")");
        t_parse_jobfile_fails(
                dir, HEAD "distributed:\n  check: {batch_size: 8}\n",
                "'job.yaml':5: field 'distributed.check': give the dataset's size as one of "
                "samples: N or from_input: CHANNEL (an input to count), not neither");
        t_parse_jobfile_fails(
                dir, HEAD "distributed:\n  check: {samples: 8, from_input: x, batch_size: 8}\n",
                "'job.yaml':5: field 'distributed.check': give the dataset's size as one of "
                "samples: N or from_input: CHANNEL (an input to count), not both");
        t_parse_jobfile_fails(
                dir, HEAD "distributed:\n  check: {samples: 8}\n",
                "'job.yaml':5: field 'distributed.check': batch_size: is missing (the "
                "per-GPU batch size the training script uses)");
        t_parse_jobfile_fails(
                dir, HEAD "distributed:\n  check: {samples: 8, batch_size: 8, grad_accum: 0}\n",
                "'job.yaml':5: field 'distributed.check.grad_accum': expected an integer from "
                "1 to 2147483647, got '0'");
        t_parse_jobfile_fails(
                dir, HEAD "distributed:\n  check: {from_input: train, batch_size: 8}\n",
                "'job.yaml':5: field 'distributed.check.from_input': 'train' is not an input: "
                "job.yaml has no inputs: (give the dataset as an input, or the count as "
                "samples: N)");
        t_parse_jobfile_fails(
                dir,
                HEAD "inputs:\n  images: data\ndistributed:\n"
                     "  check: {from_input: train, batch_size: 8}\n",
                "'job.yaml':7: field 'distributed.check.from_input': 'train' is not an input "
                "(job.yaml's inputs: images)");
        t_parse_jobfile_fails(
                dir, HEAD "distributed:\n  check: {samples: 8, batch_size: 8, epochs: 2}\n",
                "'job.yaml':5: unknown field 'epochs' in 'distributed.check'; valid fields: "
                "samples, from_input, batch_size, grad_accum");
}

static void test_count_samples(void **state)
{
        _cleanup_free_ char *data = path_join(*state, "data");
        _cleanup_free_ char *lines = path_join(*state, "lines.txt");
        _cleanup_free_ char *missing = path_join(*state, "nope");
        struct hoist_error *err = NULL;
        uint64_t n = 0;

        /* a.png, sub/b.png, sub/c.png; not skip.tmp (.hoistignore), .env
         * (sensitive) or the .hoistignore itself */
        assert_int_equal(distcheck_count_samples(data, NULL, &n, &err), 0);
        assert_int_equal(n, 3);
        assert_int_equal(distcheck_count_samples(lines, NULL, &n, &err), 0);
        assert_int_equal(n, 4);
        assert_int_equal(distcheck_count_samples(missing, NULL, &n, &err), -1);
        assert_non_null(strstr(err->msg, "nope"));
        hoist_error_free(err);
}

static void test_explain(void **state)
{
        _cleanup_free_ char *why = distcheck_explain(1000, NULL, 32, 8, 2, 4, 4);

        (void)state;
        assert_null(distcheck_explain(1024, NULL, 32, 8, 2, 4, 4));
        assert_string_equal(why, "the dataset has 1000 samples but one optimizer step takes "
                                 "1024: the effective batch size is batch_size 32 x 8 processes "
                                 "(2 nodes x 4 per node) x grad_accum 4 = 1024. Ways out: lower "
                                 "batch_size (at most 31 fits), lower grad_accum, run on fewer "
                                 "GPUs or nodes, or add data (at least 1024 samples)");
}

static void test_run(void **state)
{
        const char *dir = *state;
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_jobfile_ struct jobfile *small = t_parse_jobfile_ok(
                dir, HEAD "inputs:\n  images: data\nresources:\n  gpus: 2\n  nodes: 2\n"
                          "distributed:\n  launcher: hoist\n"
                          "  check: {from_input: images, batch_size: 1}\n");
        _cleanup_jobfile_ struct jobfile *fits =
                t_parse_jobfile_ok(dir, HEAD "inputs:\n  images: data\nresources:\n  nodes: 2\n"
                                             "distributed:\n  nproc_per_node: 1\n"
                                             "  check: {from_input: images, batch_size: 1}\n");
        _cleanup_jobfile_ struct jobfile *over = t_parse_jobfile_ok(
                dir, HEAD "inputs:\n  lines: lines.txt\nresources:\n  gpus: 2\n  nodes: 2\n"
                          "distributed:\n  oversubscribe: true\n"
                          "  check: {from_input: lines, batch_size: 1}\n");

        /* 3 files, 2 nodes x 1 process x batch 1 = 2: fits */
        assert_int_equal(distcheck_run(fits, &err), 0);
        /* 4 lines, 4 processes x batch 1: fits exactly */
        assert_int_equal(distcheck_run(over, &err), 0);
        /* 3 files, 2 nodes x 2 GPUs x batch 1 = 4: refused */
        assert_int_equal(distcheck_run(small, &err), -1);
        assert_non_null(strstr(err->msg, "input 'images' (its files) has 3 samples but one "
                                         "optimizer step takes 4"));
        hoist_error_release(&err);

        _cleanup_jobfile_ struct jobfile *grad = t_parse_jobfile_ok(
                dir, HEAD "inputs:\n  images: data\nresources:\n  gpus: 2\n  nodes: 2\n"
                          "distributed:\n  launcher: hoist\n"
                          "  check: {from_input: images, batch_size: 1, grad_accum: 2}\n");
        assert_int_equal(distcheck_run(grad, &err), -1);
        /* job.yaml's absolute path, then: */
        assert_string_equal(strstr(err->msg, "job.yaml'"),
                            "job.yaml':11: distributed.check: input 'images' (its files) has 3 "
                            "samples but one optimizer step takes 8: the effective batch size is "
                            "batch_size 1 x 4 processes (2 nodes x 2 per node) x grad_accum 2 = 8. "
                            "Ways out: lower batch_size (even 1 needs 8 samples), lower "
                            "grad_accum, run on fewer GPUs or nodes, or add data (at least 8 "
                            "samples); or set distributed.oversubscribe: true to run it anyway");
}

static void test_provider(void **state)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_jobfile_ struct jobfile *two =
                t_parse_jobfile_ok(*state, HEAD "resources:\n  gpus: 1\n  nodes: 2\n");
        _cleanup_jobfile_ struct jobfile *one =
                t_parse_jobfile_ok(*state, HEAD "resources:\n  gpus: 1\n");

        assert_int_equal(distcheck_provider(two, "slurm", 1, &err), 0);
        assert_int_equal(distcheck_provider(one, "local", 0, &err), 0);
        assert_int_equal(distcheck_provider(two, "local", 0, &err), -1);
        assert_string_equal(strstr(err->msg, "job.yaml'"),
                            "job.yaml':6: resources.nodes: 2, but provider 'local' runs "
                            "a job on one node (use a provider that runs several, like "
                            "slurm, or nodes: 1 with distributed.nproc_per_node for the "
                            "GPUs of one machine)");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_absent, setup_dir, t_teardown_dir),
                cmocka_unit_test_setup_teardown(test_full, setup_dir, t_teardown_dir),
                cmocka_unit_test_setup_teardown(test_errors, setup_dir, t_teardown_dir),
                cmocka_unit_test_setup_teardown(test_count_samples, setup_dir, t_teardown_dir),
                cmocka_unit_test(test_explain),
                cmocka_unit_test_setup_teardown(test_run, setup_dir, t_teardown_dir),
                cmocka_unit_test_setup_teardown(test_provider, setup_dir, t_teardown_dir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
