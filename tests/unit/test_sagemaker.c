/* SPDX-License-Identifier: MIT */
/*
 * SageMaker's config files as the entrypoint reads them: the files as
 * SageMaker writes them, and hostile ones (wrong types, huge values, names
 * that need escaping or would escape a directory), each an error naming
 * the file and what is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "entrypoint/sagemaker.h"
#include "fsutil.h"
#include "helpers/testutil.h"
#include "xalloc.h"

typedef int (*parse_fn)(struct sagemaker *, const char *, size_t, const char *,
                        struct hoist_error **);

/* Parses TEXT with PARSE into a fresh struct; NULL on success (*RET kept),
 * else the error message. */
static char *parse(parse_fn fn, const char *text, struct sagemaker **ret)
{
        struct sagemaker *sm = xzalloc(sizeof *sm);
        struct hoist_error *err = NULL;
        char *msg;

        sm->root = xstrdup("/opt/ml");
        if (fn(sm, text, strlen(text), "f.json", &err) == 0) {
                if (ret != NULL)
                        *ret = sm;
                else
                        sagemaker_free(sm);
                return NULL;
        }
        msg = xstrdup(err->msg);
        hoist_error_free(err);
        sagemaker_free(sm);
        return msg;
}

static void expect_error(parse_fn fn, const char *text, const char *want)
{
        _cleanup_free_ char *got = parse(fn, text, NULL);

        if (got == NULL)
                fail_msg("'%.80s' parsed; want an error with '%s'", text, want);
        if (strstr(got, want) == NULL || strstr(got, "f.json") == NULL)
                fail_msg("'%.80s': got '%s', want '%s' naming f.json", text, got, want);
}

static void test_hyperparameters(void **state)
{
        struct sagemaker *sm = NULL;
        _cleanup_free_ char *huge = NULL, *many = NULL, *longname = NULL;
        struct buf b = {0};

        (void)state;
        /* as SageMaker writes it: every value a string */
        assert_null(parse(sagemaker_parse_hyperparameters,
                          "{\"epochs\": \"3\", \"batch-size\": \"64\", "
                          "\"hoist_job_url\": \"s3://b/p/jobs/j-1/job.json\", "
                          "\"hoist_secrets_key\": \"jobs/j-1/secrets.json\"}",
                          &sm));
        assert_string_equal(sm->job_url, "s3://b/p/jobs/j-1/job.json");
        assert_string_equal(sm->secrets_key, "jobs/j-1/secrets.json");
        assert_int_equal(json_object_size(sm->hyperparameters), 2);
        assert_null(json_object_get(sm->hyperparameters, "hoist_job_url"));
        assert_null(json_object_get(sm->hyperparameters, "hoist_secrets_key"));
        assert_string_equal(json_string_value(json_object_get(sm->hyperparameters, "epochs")), "3");
        sagemaker_free(sm);
        sm = NULL;
        assert_null(parse(sagemaker_parse_hyperparameters, "{}", &sm));
        assert_null(sm->job_url);
        sagemaker_free(sm);

        expect_error(sagemaker_parse_hyperparameters, "{\"epochs\": 3}",
                     "hyperparameter 'epochs' is not a string");
        expect_error(sagemaker_parse_hyperparameters, "{\"x\": [\"a\"]}",
                     "hyperparameter 'x' is not a string");
        expect_error(sagemaker_parse_hyperparameters, "{\"x\": null}", "is not a string");
        expect_error(sagemaker_parse_hyperparameters, "[\"a\"]", "expected a JSON object");
        expect_error(sagemaker_parse_hyperparameters, "\"a\"", "line 1");
        expect_error(sagemaker_parse_hyperparameters, "{\"a\": \"1\", \"a\": \"2\"}",
                     "duplicate object key");
        expect_error(sagemaker_parse_hyperparameters, "{\"a\": \"x\\u0000y\"}", "line 1");
        expect_error(sagemaker_parse_hyperparameters, "{\"\": \"1\"}", "must have 1 to 256 bytes");
        expect_error(sagemaker_parse_hyperparameters, "{\"hoist_job_url\": \"http://x/job.json\"}",
                     "hoist_job_url 'http://x/job.json' is neither");
        expect_error(sagemaker_parse_hyperparameters, "{\"hoist_job_url\": \"\"}",
                     "hoist_job_url is empty");
        expect_error(sagemaker_parse_hyperparameters, "{\"hoist_job_url\": 7}", "is not a string");
        expect_error(sagemaker_parse_hyperparameters, "{\"hoist_secrets_key\": \"../etc/shadow\"}",
                     "is not a storage key");
        expect_error(sagemaker_parse_hyperparameters, "{\"a\": \"1\"", "line 1");

        /* huge: one value past the limit, too many names, a long name */
        buf_append_str(&b, "{\"big\": \"");
        for (int i = 0; i <= SAGEMAKER_HP_VALUE_MAX; i++)
                buf_append_char(&b, '9');
        buf_append_str(&b, "\"}");
        huge = buf_take(&b);
        expect_error(sagemaker_parse_hyperparameters, huge,
                     "hyperparameter 'big' is longer than 65536 bytes");
        buf_append_char(&b, '{');
        for (int i = 0; i <= SAGEMAKER_HP_MAX; i++)
                buf_printf(&b, "%s\"k%d\": \"v\"", i ? ", " : "", i);
        buf_append_char(&b, '}');
        many = buf_take(&b);
        expect_error(sagemaker_parse_hyperparameters, many, "1001 hyperparameters (at most 1000)");
        buf_append_str(&b, "{\"");
        for (int i = 0; i <= SAGEMAKER_HP_NAME_MAX; i++)
                buf_append_char(&b, 'n');
        buf_append_str(&b, "\": \"1\"}");
        longname = buf_take(&b);
        expect_error(sagemaker_parse_hyperparameters, longname, "must have 1 to 256 bytes");
}

static void test_input_data_config(void **state)
{
        struct sagemaker *sm = NULL;

        (void)state;
        assert_null(parse(sagemaker_parse_input_data_config,
                          "{\"train\": {\"TrainingInputMode\": \"File\", \"S3DistributionType\": "
                          "\"FullyReplicated\", \"RecordWrapperType\": \"None\"}, "
                          "\"Val.set-2_b\": {\"ContentType\": \"text/csv\"}}",
                          &sm));
        assert_int_equal(json_object_size(sm->input_data_config), 2);
        sagemaker_free(sm);
        expect_error(sagemaker_parse_input_data_config, "{\"../etc\": {}}",
                     "'../etc' is not a channel name");
        expect_error(sagemaker_parse_input_data_config, "{\"..\": {}}", "'..' is not a channel");
        expect_error(sagemaker_parse_input_data_config, "{\"a/b\": {}}", "'a/b' is not a channel");
        expect_error(sagemaker_parse_input_data_config, "{\"\": {}}", "'' is not a channel");
        expect_error(sagemaker_parse_input_data_config, "{\"a b\": {}}", "is not a channel");
        expect_error(sagemaker_parse_input_data_config,
                     "{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": {}}",
                     "is not a channel name");
        expect_error(sagemaker_parse_input_data_config, "{\"train\": \"File\"}",
                     "channel 'train' is not an object");
        expect_error(sagemaker_parse_input_data_config, "[]", "expected a JSON object");
}

static void test_resource_config(void **state)
{
        struct sagemaker *sm = NULL;

        (void)state;
        /* the documented file, its hosts out of order: the rank is the
         * place in the sorted list, as SageMaker lists them */
        assert_null(parse(sagemaker_parse_resource_config,
                          "{\"current_host\": \"algo-1\", \"current_instance_type\": "
                          "\"ml.p3.16xlarge\", \"current_group_name\": \"homogeneousCluster\", "
                          "\"hosts\": [\"algo-3\", \"algo-1\", \"algo-2\"], \"instance_groups\": "
                          "[{\"instance_group_name\": \"homogeneousCluster\", \"instance_type\": "
                          "\"ml.p3.16xlarge\", \"hosts\": [\"algo-1\"]}], "
                          "\"network_interface_name\": \"eth1\"}",
                          &sm));
        assert_int_equal(sm->place.node_rank, 0);
        assert_int_equal(sm->place.num_nodes, 3);
        assert_string_equal(sm->place.hosts[0], "algo-1");
        assert_string_equal(sm->place.hosts[2], "algo-3");
        assert_string_equal(sm->network_interface, "eth1");
        sagemaker_free(sm);
        sm = NULL;
        assert_null(parse(sagemaker_parse_resource_config,
                          "{\"current_host\": \"algo-2\", \"hosts\": [\"algo-2\", \"algo-1\"]}",
                          &sm));
        assert_int_equal(sm->place.node_rank, 1);
        assert_string_equal(sm->network_interface, "eth0");
        sagemaker_free(sm);

        expect_error(sagemaker_parse_resource_config,
                     "{\"current_host\": \"a\", \"hosts\": [\"a\"], \"network_interface_name\": 5}",
                     "network_interface_name is not an interface name");
        expect_error(sagemaker_parse_resource_config,
                     "{\"current_host\": \"a\", \"hosts\": [\"a\"], \"network_interface_name\": "
                     "\"averyverylongname0\"}",
                     "network_interface_name is not an interface name");
        expect_error(sagemaker_parse_resource_config,
                     "{\"current_host\": \"a\", \"hosts\": [\"a\"], \"network_interface_name\": "
                     "\"eth0; rm -rf /\"}",
                     "is not an interface name");
        expect_error(sagemaker_parse_resource_config,
                     "{\"current_host\": \"c\", \"hosts\": [\"a\", \"b\"]}", "is not in \"hosts\"");
        expect_error(sagemaker_parse_resource_config, "{\"current_host\": 1, \"hosts\": [\"a\"]}",
                     "expected an object with \"current_host\"");
        expect_error(sagemaker_parse_resource_config,
                     "{\"current_host\": \"a\", \"hosts\": [\"a\", {}]}",
                     "hosts[1] is not a host name");
        expect_error(sagemaker_parse_resource_config, "{}", "expected an object");
}

static int parse_in(struct sagemaker *sm, const char *text)
{
        return sagemaker_parse_checkpoint_config(sm, text, strlen(text), "f", NULL);
}

static void test_checkpoint_config(void **state)
{
        struct sagemaker *sm = NULL;

        (void)state;
        assert_null(parse(sagemaker_parse_checkpoint_config,
                          "{\"LocalPath\": \"/opt/ml/checkpoints\", \"S3Uri\": \"s3://b/p/\"}",
                          &sm));
        assert_string_equal(sm->checkpoint_dir, "/opt/ml/checkpoints");
        assert_true(sagemaker_owns_checkpoints(sm, "/opt/ml/checkpoints"));
        assert_false(sagemaker_owns_checkpoints(sm, "/work/ckpt"));
        assert_false(sagemaker_owns_checkpoints(NULL, "/opt/ml/checkpoints"));
        /* a moved root (tests) moves SageMaker's path with it */
        free(sm->root);
        sm->root = xstrdup("/tmp/t/ml");
        assert_int_equal(parse_in(sm, "{\"LocalPath\": \"/opt/ml/checkpoints\"}"), 0);
        assert_string_equal(sm->checkpoint_dir, "/tmp/t/ml/checkpoints");
        assert_int_equal(parse_in(sm, "{}"), 0);
        assert_string_equal(sm->checkpoint_dir, "/tmp/t/ml/checkpoints");
        assert_int_equal(parse_in(sm, "{\"LocalPath\": \"/opt/mlx\"}"), 0);
        assert_string_equal(sm->checkpoint_dir, "/opt/mlx");
        sagemaker_free(sm);

        expect_error(sagemaker_parse_checkpoint_config, "{\"LocalPath\": \"ckpt\"}",
                     "LocalPath 'ckpt' is not an absolute path");
        expect_error(sagemaker_parse_checkpoint_config, "{\"LocalPath\": \"/opt/ml/../etc\"}",
                     "is not an absolute path without '..'");
        expect_error(sagemaker_parse_checkpoint_config, "{\"LocalPath\": \"/a/..\"}",
                     "without '..'");
        expect_error(sagemaker_parse_checkpoint_config, "{\"LocalPath\": [1]}",
                     "LocalPath is not a string");
}

static void test_channel_names(void **state)
{
        (void)state;
        assert_true(sagemaker_channel_valid("train"));
        assert_true(sagemaker_channel_valid("A.b-c_9"));
        assert_false(sagemaker_channel_valid(""));
        assert_false(sagemaker_channel_valid("."));
        assert_false(sagemaker_channel_valid(".."));
        assert_false(sagemaker_channel_valid("a/b"));
        assert_false(sagemaker_channel_valid("a\nb"));
}

/* The files in a directory, as sagemaker_load() reads them. */
static void test_load(void **state)
{
        char tmpl[] = "/tmp/hoist-test-sm.XXXXXX";
        char *dir = mkdtemp(tmpl);
        _cleanup_free_ char *config = NULL;
        struct sagemaker *sm = NULL;
        struct hoist_error *err = NULL;

        assert_non_null(dir);
        *state = xstrdup(dir);
        config = path_join(dir, "input/config");
        assert_int_equal(fs_mkdir_p(config, 0755, NULL), 0);
        setenv("HOIST_SM_ROOT", dir, 1);
        assert_string_equal(sagemaker_root(), dir);
        assert_true(sagemaker_detect(1));
        assert_false(sagemaker_detect(0));

        /* hyperparameters.json is required */
        assert_int_equal(sagemaker_load(dir, &sm, &err), -1);
        assert_non_null(strstr(err->msg, "hyperparameters.json"));
        hoist_error_release(&err);
        t_write_file(config, "hyperparameters.json",
                     "{\"epochs\": \"2\", \"hoist_job_url\": \"file:///j/job.json\"}");
        assert_int_equal(sagemaker_load(dir, &sm, &err), -1);
        assert_non_null(strstr(err->msg, "resourceconfig.json"));
        hoist_error_release(&err);
        t_write_file(config, "resourceconfig.json",
                     "{\"current_host\": \"algo-1\", \"hosts\": [\"algo-1\"]}");
        assert_int_equal(sagemaker_load(dir, &sm, &err), 0);
        assert_int_equal(json_object_size(sm->input_data_config), 0);
        assert_null(sm->checkpoint_dir);

        /* before the job: its URL, distenv's file, the grace capped */
        setenv("HOIST_JOB_URL", "file:///elsewhere.json", 1);
        setenv("HOIST_JOB_FILE", "/elsewhere.json", 1);
        setenv("HOIST_STOP_GRACE_S", "600", 1);
        assert_int_equal(sagemaker_apply_early(sm, &err), 0);
        assert_string_equal(getenv("HOIST_JOB_URL"), "file:///j/job.json");
        assert_null(getenv("HOIST_JOB_FILE"));
        assert_string_equal(getenv("HOIST_STOP_GRACE_S"), "120");
        assert_non_null(strstr(getenv("HOIST_SAGEMAKER_RESOURCECONFIG"),
                               "/input/config/resourceconfig.json"));
        setenv("HOIST_STOP_GRACE_S", "30", 1);
        assert_int_equal(sagemaker_apply_early(sm, &err), 0);
        assert_string_equal(getenv("HOIST_STOP_GRACE_S"), "30");
        setenv("HOIST_STOP_GRACE_S", "soon", 1);
        assert_int_equal(sagemaker_apply_early(sm, &err), 0);
        assert_string_equal(getenv("HOIST_STOP_GRACE_S"), "120");
        unsetenv("HOIST_STOP_GRACE_S");
        assert_int_equal(sagemaker_apply_early(sm, &err), 0);
        assert_string_equal(getenv("HOIST_STOP_GRACE_S"), "120");
        sagemaker_free(sm);

        /* a broken optional file is still an error, naming it */
        t_write_file(config, "inputdataconfig.json", "{\"train\": 1}");
        assert_int_equal(sagemaker_load(dir, &sm, &err), -1);
        assert_non_null(strstr(err->msg, "inputdataconfig.json"));
        assert_non_null(strstr(err->msg, "channel 'train' is not an object"));
        hoist_error_release(&err);
        unsetenv("HOIST_SM_ROOT");
        unsetenv("HOIST_JOB_URL");
        unsetenv("HOIST_SAGEMAKER_RESOURCECONFIG");
        assert_string_equal(sagemaker_root(), "/opt/ml");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hyperparameters),
                cmocka_unit_test(test_input_data_config),
                cmocka_unit_test(test_resource_config),
                cmocka_unit_test(test_checkpoint_config),
                cmocka_unit_test(test_channel_names),
                cmocka_unit_test_teardown(test_load, t_teardown_dir),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
