/* SPDX-License-Identifier: MIT */
/*
 * The SM_* variables in the SageMaker training toolkit's formats.  Every
 * expected value below is what the toolkit's own code gives for the same
 * input (sagemaker_training.mapping.to_env_vars and
 * environment.read_hyperparameters, run with Python 3.11's json module).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "entrypoint/smenv.h"
#include "xalloc.h"

static void test_py_float(void **state)
{
        static const struct {
                double v;
                const char *want;
        } cases[] = {
                {0.1, "0.1"},
                {1000.0, "1000.0"},
                {1e-05, "1e-05"},
                {0.0001, "0.0001"},
                {0.00012, "0.00012"},
                {1e16, "1e+16"},
                {1.5e16, "1.5e+16"},
                {1234567890123456.0, "1234567890123456.0"},
                {123456789012345.6, "123456789012345.6"},
                {-0.0, "-0.0"},
                {2.5, "2.5"},
                {-3.25e-7, "-3.25e-07"},
                {5e-324, "5e-324"},
                {2.5e-310, "2.5e-310"},
                {DBL_MAX, "1.7976931348623157e+308"},
                {1.0 / 3.0, "0.3333333333333333"},
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                _cleanup_free_ char *got = smenv_py_float(cases[i].v);
                if (strcmp(got, cases[i].want) != 0)
                        fail_msg("%.17g: got '%s', want '%s'", cases[i].v, got, cases[i].want);
        }
}

static void test_hp_value(void **state)
{
        static const struct {
                const char *raw, *want;
        } cases[] = {
                {"3", "3"},
                {"0.10", "0.1"},
                {"\"a\"", "a"},
                {"abc", "abc"},
                {"true", "true"},
                {"null", ""},
                {"[1, 2.0]", "[1,2.0]"},
                {"{\"b\":1,\"a\":2}", "{\"a\":2,\"b\":1}"},
                {"\xc3\xa9", "\xc3\xa9"},
                {"\"\\u00e9\"", "\xc3\xa9"},
                {"[\"\xc3\xa9\"]", "[\"\\u00e9\"]"},
                {" 7 ", "7"},
                {"1e3", "1000.0"},
                {"99999999999999999999999", "99999999999999999999999"},
                {"-0", "0"},
                {"[0.1,1e-7]", "[0.1,1e-07]"},
                {"NaN", "NaN"},
                {"{\"k\": [1, {\"z\": null, \"a\": false}]}",
                 "{\"k\":[1,{\"a\":false,\"z\":null}]}"},
                {"", ""},
                {"{", "{"},
                {"[\"\x7f\"]", "[\"\\u007f\"]"},
                {"[\"\xf0\x9f\x98\x80\"]", "[\"\\ud83d\\ude00\"]"},
                {"[\"a\\nb\\u0001\"]", "[\"a\\nb\\u0001\"]"},
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                _cleanup_free_ char *got = smenv_hp_value(cases[i].raw);
                if (strcmp(got, cases[i].want) != 0)
                        fail_msg("'%s': got '%s', want '%s'", cases[i].raw, got, cases[i].want);
        }
}

static void test_hp_name(void **state)
{
        static const struct {
                const char *name, *want;
        } cases[] = {
                {"epochs", "SM_HP_EPOCHS"},
                {"batch-size", "SM_HP_BATCH-SIZE"},
                {"learning_rate", "SM_HP_LEARNING_RATE"},
                {"Mixed.Case9", "SM_HP_MIXED.CASE9"},
                {"a\"b", "SM_HP_A\"B"},
                {"\xc3\xa9t\xc3\xa9", "SM_HP_\xc3\xa9T\xc3\xa9"},
                {"a=b", NULL},
                {"", NULL},
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                _cleanup_free_ char *got = smenv_hp_name(cases[i].name);
                if (cases[i].want == NULL ? got != NULL : got == NULL || strcmp(got, cases[i].want))
                        fail_msg("'%s': got '%s', want '%s'", cases[i].name, got ? got : "(none)",
                                 cases[i].want ? cases[i].want : "(none)");
        }
}

/* The whole set for one SageMaker host, compared line by line. */
static void test_build(void **state)
{
        json_auto_t *hps = json_pack("{s:s, s:s, s:s, s:s, s:s}", "epochs", "12", "batch-size",
                                     "64", "lr", "0.1", "tag", "\"nightly\"", "a=b", "1");
        json_auto_t *channels = json_pack("{s:s, s:s}", "train", "/opt/ml/input/data/train",
                                          "odd \"dir\"", "/opt/ml/input/data/odd \"dir\"");
        json_auto_t *idc = json_pack("{s:{s:s}}", "train", "TrainingInputMode", "File");
        json_auto_t *rc =
                json_pack("{s:s, s:[s, s]}", "current_host", "algo-2", "hosts", "algo-1", "algo-2");
        char h1[] = "algo-1", h2[] = "algo-2";
        char *hosts[] = {h1, h2, NULL};
        struct smenv e = {
                .input_dir = "/opt/ml/input",
                .input_config_dir = "/opt/ml/input/config",
                .model_dir = "/opt/ml/model",
                .output_dir = "/opt/ml/output",
                .output_data_dir = "/opt/ml/output/data",
                .output_intermediate_dir = "/opt/ml/output/intermediate",
                .hyperparameters = hps,
                .channels = channels,
                .input_data_config = idc,
                .resource_config = rc,
                .current_host = "algo-2",
                .hosts = hosts,
                .network_interface = "eth0",
                .job_name = "j-1",
                .num_gpus = 8,
                .num_cpus = 96,
        };
        static const char *const want[] = {
                "SM_CHANNELS=[\"train\",\"odd \\\"dir\\\"\"]",
                "SM_CHANNEL_ODD \"DIR\"=/opt/ml/input/data/odd \"dir\"",
                "SM_CHANNEL_TRAIN=/opt/ml/input/data/train",
                "SM_CURRENT_HOST=algo-2",
                "SM_HOSTS=[\"algo-1\",\"algo-2\"]",
                "SM_HPS={\"a=b\":1,\"batch-size\":64,\"epochs\":12,\"lr\":0.1,\"tag\":\"nightly\"}",
                "SM_HP_BATCH-SIZE=64",
                "SM_HP_EPOCHS=12",
                "SM_HP_LR=0.1",
                "SM_HP_TAG=nightly",
                "SM_INPUT_CONFIG_DIR=/opt/ml/input/config",
                "SM_INPUT_DATA_CONFIG={\"train\":{\"TrainingInputMode\":\"File\"}}",
                "SM_INPUT_DIR=/opt/ml/input",
                "SM_IS_MASTER=false",
                "SM_LOG_LEVEL=20",
                "SM_MASTER_HOSTNAME=algo-1",
                "SM_MODEL_DIR=/opt/ml/model",
                "SM_NETWORK_INTERFACE_NAME=eth0",
                "SM_NUM_CPUS=96",
                "SM_NUM_GPUS=8",
                "SM_OUTPUT_DATA_DIR=/opt/ml/output/data",
                "SM_OUTPUT_DIR=/opt/ml/output",
                "SM_OUTPUT_INTERMEDIATE_DIR=/opt/ml/output/intermediate",
                "SM_RESOURCE_CONFIG={\"current_host\":\"algo-2\",\"hosts\":[\"algo-1\",\"algo-2\"]"
                "}",
                NULL, /* SM_TRAINING_ENV: checked below */
        };
        _cleanup_strv_ char **got = smenv_build(&e);
        json_auto_t *training = NULL;
        size_t n = 0;

        (void)state;
        while (got[n] != NULL)
                n++;
        assert_int_equal(n, sizeof want / sizeof want[0]);
        for (size_t i = 0; want[i] != NULL; i++)
                assert_string_equal(got[i], want[i]);
        assert_true(strncmp(got[n - 1], "SM_TRAINING_ENV=", 16) == 0);
        training = json_loads(got[n - 1] + 16, 0, NULL);
        assert_non_null(training);
        assert_string_equal(json_string_value(json_object_get(training, "current_host")), "algo-2");
        assert_int_equal(json_integer_value(json_object_get(
                                 json_object_get(training, "hyperparameters"), "epochs")),
                         12);
        assert_string_equal(json_string_value(json_object_get(training, "job_name")), "j-1");
        assert_true(json_is_false(json_object_get(training, "is_master")));
        assert_int_equal(json_integer_value(json_object_get(training, "num_gpus")), 8);
        /* sorted keys, compact, as json.dumps(sort_keys=True) writes them */
        {
                static const char start[] = "{\"channel_input_dirs\":{\"odd \\\"dir\\\"\":";
                assert_true(strncmp(got[n - 1] + 16, start, strlen(start)) == 0);
        }
}

static void test_export(void **state)
{
        char v1[] = "SM_HP_BATCH-SIZE=64", v2[] = "SM_X=a=b";
        char *vars[] = {v1, v2, NULL};
        struct hoist_error *err = NULL;

        (void)state;
        assert_int_equal(smenv_export(vars, &err), 0);
        assert_string_equal(getenv("SM_HP_BATCH-SIZE"), "64");
        assert_string_equal(getenv("SM_X"), "a=b");

        /* one past exec()'s limit on a variable: left out, the rest set */
        {
                char *huge = xmalloc(SMENV_VAR_MAX + 1);
                char ok[] = "SM_Y=1";
                char *more[] = {huge, ok, NULL};
                memcpy(huge, "SM_HUGE=", 8);
                memset(huge + 8, 'x', SMENV_VAR_MAX - 8);
                huge[SMENV_VAR_MAX] = '\0';
                assert_int_equal(smenv_export(more, &err), 0);
                assert_null(getenv("SM_HUGE"));
                assert_string_equal(getenv("SM_Y"), "1");
                free(huge);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_py_float), cmocka_unit_test(test_hp_value),
                cmocka_unit_test(test_hp_name),  cmocka_unit_test(test_build),
                cmocka_unit_test(test_export),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
