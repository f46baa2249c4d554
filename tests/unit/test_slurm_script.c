/* SPDX-License-Identifier: MIT */
/* What the Slurm provider sends (providers/slurm_script.c) and the slurm:
 * settings it comes from (providers/slurm_settings.c).  The rendered text
 * of two jobs is compared with golden copies in tests/data/slurm/golden/,
 * so a change to what hoist sends shows up as a diff in review
 * (HOIST_UPDATE_GOLDEN=1 rewrites them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "config.h"
#include "fsutil.h"
#include "jobspec.h"
#include "providers/slurm_script.h"
#include "providers/slurm_settings.h"
#include "xalloc.h"

#define GOLDEN "tests/data/slurm/golden"

static struct slurm_settings *settings_from(const char *yaml)
{
        _cleanup_config_node_ struct config_node *root = NULL;
        struct slurm_settings *s = NULL;
        struct hoist_error *err = NULL;

        assert_int_equal(config_parse(yaml, strlen(yaml), "job.yaml", &root, &err), 0);
        if (slurm_settings_load(root, "job.yaml", &s, &err) < 0)
                fail_msg("%s", err->msg);
        return s;
}

/* The error slurm_settings_load gives for YAML (the slurm: section). */
static char *settings_error(const char *yaml)
{
        _cleanup_config_node_ struct config_node *root = NULL;
        struct slurm_settings *s = NULL;
        struct hoist_error *err = NULL;
        char *msg;

        assert_int_equal(config_parse(yaml, strlen(yaml), "job.yaml", &root, &err), 0);
        assert_int_equal(slurm_settings_load(root, "job.yaml", &s, &err), -1);
        assert_null(s);
        msg = xstrdup(err->msg);
        hoist_error_free(err);
        return msg;
}

static struct jobspec *spec_new(void)
{
        struct jobspec *spec = jobspec_new();

        spec->id = xstrdup("j-0123456789ab");
        spec->command = xcalloc(3, sizeof *spec->command);
        spec->command[0] = xstrdup("python3");
        spec->command[1] = xstrdup("train.py");
        spec->nodes = 1;
        spec->attempt = 1;
        return spec;
}

static void check_golden(const char *name, const char *text)
{
        _cleanup_free_ char *path = path_join(GOLDEN, name);
        _cleanup_free_ char *want = NULL;
        struct hoist_error *err = NULL;

        if (getenv("HOIST_UPDATE_GOLDEN") != NULL) {
                assert_int_equal(fs_write_file_atomic(path, text, strlen(text), 0644, &err), 0);
                return;
        }
        if (fs_read_file(path, &want, NULL, &err) < 0)
                fail_msg("%s (HOIST_UPDATE_GOLDEN=1 writes it)", err->msg);
        assert_string_equal(text, want);
}

static void test_process_job_golden(void **state)
{
        struct slurm_settings *s = settings_from("partition: debug\ntime: 90m\n");
        struct jobspec *spec = spec_new();
        struct slurm_plan p = {
                .set = s,
                .spec = spec,
                .job_id = spec->id,
                .job_url = "file:///srv/hoist/jobs/j-0123456789ab/job.json",
                .storage_root = "/srv/hoist",
                .dir = "/home/me/.hoist/run/j-0123456789ab",
                .bundle = "/usr/local/share/hoist/bundle/opt/hoist",
                .bin_dir = "/usr/local/bin",
        };
        char *text = NULL;
        struct hoist_error *err = NULL;

        (void)state;
        spec->stop_grace_s = 30;
        assert_int_equal(slurm_render_text(&p, &text, &err), 0);
        check_golden("process.txt", text);
        free(text);
        jobspec_free(spec);
        slurm_settings_free(s);
}

/* A cluster job: GPUs by type, 2 hoist nodes per Slurm node, a container
 * runtime detected on the node, secrets, retries. */
static void test_container_job_golden(void **state)
{
        struct slurm_settings *s = settings_from(
                "partition: gpu\naccount: ml-team\nqos: high\nconstraint: \"a100&ib\"\n"
                "gres_type: a100\nnodes_per_host: 2\nextra_args: [--exclusive]\n"
                "host: me@login.cluster.example.org\n");
        struct jobspec *spec = spec_new();
        struct slurm_plan p = {
                .set = s,
                .spec = spec,
                .job_id = spec->id,
                .job_url = "s3://bucket/team/jobs/j-0123456789ab/job.json",
                .image = "registry.example.org/team/train:1.4",
                .dir = "/home/me/.cache/hoist/jobs/j-0123456789ab",
                .bundle = "/home/me/.cache/hoist/bundles/364d7d0166e00c33",
                .secrets = 1,
        };
        char *retry[] = {(char *)"interruption", NULL};
        char *text = NULL;
        struct hoist_error *err = NULL;

        (void)state;
        spec->nodes = 4;
        spec->max_runtime_s = 4 * 3600;
        spec->resources.gpus = 8;
        spec->resources.cpus_milli = 12500;
        spec->resources.memory_bytes = 64ULL << 30;
        spec->retry_on = retry;
        assert_int_equal(slurm_render_text(&p, &text, &err), 0);
        spec->retry_on = NULL;
        check_golden("container-multinode.txt", text);
        /* Each hoist node is a task; 2 share a Slurm node; per-node asks double. */
        assert_non_null(strstr(text, "--nodes=2 "));
        assert_non_null(strstr(text, "--ntasks=4 "));
        assert_non_null(strstr(text, "--ntasks-per-node=2 "));
        assert_non_null(strstr(text, "--gres=gpu:a100:16 "));
        assert_non_null(strstr(text, "--cpus-per-task=13 "));
        assert_non_null(strstr(text, "--mem=131072M "));
        assert_non_null(strstr(text, "--time=240 "));
        assert_non_null(strstr(text, "--signal=B:TERM@120 "));
        /* No node name for a multi-node job: each takes node<rank>. */
        assert_null(strstr(text, "HOIST_NODE='main'"));
        free(text);
        jobspec_free(spec);
        slurm_settings_free(s);
}

static void test_gpus_without_type(void **state)
{
        struct slurm_settings *s = slurm_settings_new();
        struct jobspec *spec = spec_new();
        struct slurm_plan p = {.set = s,
                               .spec = spec,
                               .job_id = spec->id,
                               .job_url = "x",
                               .dir = "/d",
                               .bundle = "/b"};
        _cleanup_strv_ char **argv = NULL;
        struct hoist_error *err = NULL;
        int found = 0;

        (void)state;
        spec->resources.gpus = 2;
        assert_int_equal(slurm_sbatch_argv(&p, &argv, &err), 0);
        for (char **a = argv; *a != NULL; a++) {
                found |= strcmp(*a, "--gpus-per-node=2") == 0;
                assert_null(strstr(*a, "--gres"));
        }
        assert_true(found);
        assert_string_equal(argv[0], "sbatch");
        jobspec_free(spec);
        slurm_settings_free(s);
}

static void test_time_limit_must_pass_the_grace(void **state)
{
        struct slurm_settings *s = settings_from("time: 1m\n");
        struct jobspec *spec = spec_new();
        struct slurm_plan p = {.set = s,
                               .spec = spec,
                               .job_id = spec->id,
                               .job_url = "x",
                               .dir = "/d",
                               .bundle = "/b"};
        char **argv = NULL;
        struct hoist_error *err = NULL;

        (void)state;
        spec->stop_grace_s = 60;
        assert_int_equal(slurm_sbatch_argv(&p, &argv, &err), -1);
        assert_non_null(strstr(err->msg, "limits.stop_grace"));
        hoist_error_free(err);
        err = NULL;
        spec->stop_grace_s = 20; /* slurm.time wins over limits.max_runtime */
        spec->max_runtime_s = 10;
        assert_int_equal(slurm_sbatch_argv(&p, &argv, &err), 0);
        strv_free(argv);
        jobspec_free(spec);
        slurm_settings_free(s);
}

static void test_settings_errors(void **state)
{
        static const struct {
                const char *yaml, *want;
        } cases[] = {
                {"partiton: debug\n", "'job.yaml':1: unknown field 'partiton' in 'slurm' (did you "
                                      "mean 'partition'?); valid fields: partition, account"},
                {"time: soon\n", "'job.yaml':1: field 'slurm.time'"},
                {"time: 30s\n", "field 'slurm.time': Slurm counts time limits in minutes"},
                {"host: \"-oProxyCommand=x\"\n", "field 'slurm.host': '-oProxyCommand=x' is not "
                                                 "[user@]host[:port]"},
                {"host: \"a:99999\"\n", "is not [user@]host[:port]"},
                {"partition: \"a b\"\n", "field 'slurm.partition': 'a b' is not a partition name"},
                {"nodes_per_host: 0\n", "field 'slurm.nodes_per_host'"},
                {"container_runtime: docker\n",
                 "'docker' is not one of auto, podman, enroot, apptainer"},
                {"extra_args: --exclusive\n", "field 'slurm.extra_args': expected a list"},
                {"extra_args: [\"a\\nb\"]\n", "item 1 holds a control character"},
                {"- partition\n", "slurm"},
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                _cleanup_free_ char *msg = settings_error(cases[i].yaml);
                if (strstr(msg, cases[i].want) == NULL)
                        fail_msg("%s: got '%s', want '%s'", cases[i].yaml, msg, cases[i].want);
        }
}

static void test_settings_roundtrip_and_loopback(void **state)
{
        struct slurm_settings *s =
                settings_from("host: me@127.0.0.1:2222\ntime: 2h\nextra_args: [--x=1]\n");
        _cleanup_free_ char *json = slurm_settings_to_json(s);
        struct slurm_settings *back = NULL;
        struct hoist_error *err = NULL;

        (void)state;
        assert_int_equal(slurm_settings_from_json(json, strlen(json), "slurm.json", &back, &err),
                         0);
        assert_string_equal(back->host, "me@127.0.0.1:2222");
        assert_int_equal(back->time_s, 7200);
        assert_string_equal(back->extra_args[0], "--x=1");
        assert_null(back->extra_args[1]);
        assert_int_equal(back->nodes_per_host, 1);
        assert_string_equal(back->container_runtime, "auto");
        assert_true(slurm_settings_local_node(back));
        free(back->host);
        back->host = xstrdup("login.example.org");
        assert_false(slurm_settings_local_node(back));
        assert_true(slurm_settings_local_node(NULL));
        slurm_settings_free(back);
        slurm_settings_free(s);
}

static void test_shell_quote(void **state)
{
        _cleanup_free_ char *a = slurm_shell_quote("it's $(x)");
        _cleanup_free_ char *b = slurm_shell_quote("");

        (void)state;
        assert_string_equal(a, "'it'\\''s $(x)'");
        assert_string_equal(b, "''");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_process_job_golden),
                cmocka_unit_test(test_container_job_golden),
                cmocka_unit_test(test_gpus_without_type),
                cmocka_unit_test(test_time_limit_must_pass_the_grace),
                cmocka_unit_test(test_settings_errors),
                cmocka_unit_test(test_settings_roundtrip_and_loopback),
                cmocka_unit_test(test_shell_quote),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
