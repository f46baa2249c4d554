/* SPDX-License-Identifier: MIT */
/* What the SageMaker provider sends and reads (providers/sagemaker_api.c,
 * providers/sagemaker_settings.c) and the JSON 1.1 client's pure parts
 * (lib/awsjson.c).  Rendered CreateTrainingJob bodies are compared with
 * golden copies in tests/data/sagemaker/golden/ (HOIST_UPDATE_GOLDEN=1
 * rewrites them), which tests/peers/sagemaker_validate.py checks against
 * botocore's model in test_sagemaker.sh; DescribeTrainingJob answers in
 * tests/data/sagemaker/describe/ go through the state table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awsjson.h"
#include "ecr.h"
#include "cleanup.h"
#include "config.h"
#include "fsutil.h"
#include "jobspec.h"
#include "providers/prices.h"
#include "providers/sagemaker_api.h"
#include "providers/sagemaker_settings.h"
#include "xalloc.h"

#define DATA "tests/data/sagemaker"

static struct sagemaker_settings *settings_from(const char *yaml)
{
        _cleanup_config_node_ struct config_node *root = NULL;
        struct sagemaker_settings *s = NULL;
        struct hoist_error *err = NULL;

        assert_int_equal(config_parse(yaml, strlen(yaml), "job.yaml", &root, &err), 0);
        if (sagemaker_settings_load(config_get(root, "sagemaker"), "job.yaml", &s, &err) < 0)
                fail_msg("%s", err->msg);
        return s;
}

static char *settings_error(const char *yaml)
{
        _cleanup_config_node_ struct config_node *root = NULL;
        struct sagemaker_settings *s = NULL;
        struct hoist_error *err = NULL;
        char *msg;

        assert_int_equal(config_parse(yaml, strlen(yaml), "job.yaml", &root, &err), 0);
        assert_int_equal(
                sagemaker_settings_load(config_get(root, "sagemaker"), "job.yaml", &s, &err), -1);
        assert_null(s);
        msg = xstrdup(err->msg);
        hoist_error_free(err);
        return msg;
}

static void check_golden(const char *name, const char *text)
{
        _cleanup_free_ char *path = xasprintf(DATA "/golden/%s", name);
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

static void kv_add(struct jobspec_kv **v, size_t *n, const char *k, const char *val)
{
        *v = xreallocarray(*v, *n + 1, sizeof **v);
        (*v)[*n].key = xstrdup(k);
        (*v)[*n].value = xstrdup(val);
        (*n)++;
}

static struct jobspec *spec_new(void)
{
        struct jobspec *spec = jobspec_new();

        spec->id = xstrdup("j-0123456789ab");
        spec->nodes = 1;
        spec->attempt = 1;
        spec->max_runtime_s = 3600;
        spec->checkpoint_prefix = xstrdup("jobs/j-0123456789ab/checkpoints/");
        kv_add(&spec->hyperparameters, &spec->n_hyperparameters, "epochs", "3");
        kv_add(&spec->env, &spec->n_env, "PYTHONUNBUFFERED", "1");
        return spec;
}

static char *render(const struct sagemaker_settings *s, const struct jobspec *spec,
                    const char *secrets_key)
{
        const struct sagemaker_plan p = {
                .spec = spec,
                .set = s,
                .job_id = spec->id,
                .attempt = spec->attempt,
                .job_url = "s3://my-bucket/team/jobs/j-0123456789ab/job.json",
                .image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:v1",
                .secrets_key = secrets_key,
                .s3_endpoint = "https://s3.us-east-1.amazonaws.com",
                .s3_region = "us-east-1",
        };
        struct hoist_error *err = NULL;
        json_t *body = NULL;
        char *text, *out;

        if (sagemaker_create_body(&p, &body, &err) < 0)
                fail_msg("%s", err->msg);
        text = json_dumps(body, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(body);
        out = xasprintf("%s\n", text ? text : "");
        free(text);
        return out;
}

static void test_names(void **state)
{
        _cleanup_free_ char *name = sagemaker_job_name("j-0123456789ab", 12);
        _cleanup_free_ char *id = NULL;
        char *bad_id = NULL;
        int64_t attempt = 0;

        (void)state;
        assert_string_equal(name, "hoist-j-0123456789ab-12");
        assert_true(sagemaker_name_valid(name));
        assert_int_equal(sagemaker_job_name_parse(name, &id, &attempt), 0);
        assert_string_equal(id, "j-0123456789ab");
        assert_int_equal(attempt, 12);
        /* SageMaker's pattern: alphanumeric ends, '-' inside, 63 at most. */
        assert_false(sagemaker_name_valid("-a"));
        assert_false(sagemaker_name_valid("a-"));
        assert_false(sagemaker_name_valid("a_b"));
        assert_false(sagemaker_name_valid(""));
        assert_true(sagemaker_name_valid("a--b"));
        char long_name[65];
        memset(long_name, 'a', 64);
        long_name[64] = '\0';
        assert_false(sagemaker_name_valid(long_name));
        long_name[63] = '\0';
        assert_true(sagemaker_name_valid(long_name));
        assert_null(sagemaker_job_name("j_bad", 1));
        assert_null(sagemaker_job_name("j-1", 0));
        /* Names hoist did not make do not map back. */
        assert_int_equal(sagemaker_job_name_parse("my-own-job", &bad_id, &attempt), -1);
        assert_int_equal(sagemaker_job_name_parse("hoist-j-1-0", &bad_id, &attempt), -1);
        assert_int_equal(sagemaker_job_name_parse("hoist-5", &bad_id, &attempt), -1);
        assert_null(bad_id);
}

static void test_create_golden(void **state)
{
        struct sagemaker_settings *s = settings_from(
                "sagemaker:\n  role: arn:aws:iam::123456789012:role/SageMakerRole\n"
                "  instance_type: ml.g5.xlarge\n  spot: true\n  max_wait: 2h\n"
                "  volume_size: 50\n  tags:\n    team: ml\n"
                "  vpc:\n    subnets: [subnet-0abc]\n    security_groups: [sg-0def]\n");
        struct jobspec *spec = spec_new();
        _cleanup_free_ char *a = NULL, *b = NULL;

        (void)state;
        /* settings_from() took the section's parent: load it directly. */
        a = render(s, spec, "jobs/j-0123456789ab/secrets.json");
        check_golden("create-spot.json", a);
        spec->nodes = 2;
        spec->attempt = 3;
        s->spot = 0;
        b = render(s, spec, NULL);
        check_golden("create-2-nodes.json", b);
        /* No secret value can be in a body: only the key of the object. */
        assert_null(strstr(a, "SECRET"));
        jobspec_free(spec);
        sagemaker_settings_free(s);
}

static void test_create_refusals(void **state)
{
        struct sagemaker_settings *s = sagemaker_settings_new();
        struct jobspec *spec = spec_new();
        struct hoist_error *err = NULL;
        json_t *body = NULL;
        struct sagemaker_plan p = {
                .spec = spec,
                .set = s,
                .job_id = spec->id,
                .attempt = 1,
                .job_url = "file:///srv/hoist/jobs/j-0123456789ab/job.json",
                .image = "img:1",
        };

        (void)state;
        assert_int_equal(sagemaker_create_body(&p, &body, &err), -1);
        assert_non_null(strstr(err->msg, "s3:// storage"));
        hoist_error_release(&err);
        p.job_url = "s3://b/jobs/j-0123456789ab/job.json";
        assert_int_equal(sagemaker_create_body(&p, &body, &err), -1);
        assert_non_null(strstr(err->msg, "sagemaker.role"));
        hoist_error_release(&err);
        s->role = xstrdup("arn:aws:iam::123456789012:role/R");
        s->instance_type = xstrdup("ml.m5.large");
        s->spot = 1;
        s->max_wait_s = 60;
        assert_int_equal(sagemaker_create_body(&p, &body, &err), -1);
        assert_non_null(strstr(err->msg, "max_wait"));
        hoist_error_release(&err);
        s->max_wait_s = 0;
        kv_add(&spec->hyperparameters, &spec->n_hyperparameters, "hoist_job_url", "x");
        assert_int_equal(sagemaker_create_body(&p, &body, &err), -1);
        assert_non_null(strstr(err->msg, "hoist_job_url"));
        hoist_error_release(&err);
        jobspec_free(spec);
        sagemaker_settings_free(s);
}

static void test_settings(void **state)
{
        char *m;
        struct sagemaker_settings *s, *back = NULL;
        struct hoist_error *err = NULL;
        char *text;

        (void)state;
        m = settings_error("sagemaker:\n  role: admin\n");
        assert_non_null(strstr(m, "'job.yaml':2"));
        assert_non_null(strstr(m, "IAM role ARN"));
        free(m);
        m = settings_error("sagemaker:\n  instance_typ: ml.g5.xlarge\n");
        assert_non_null(strstr(m, "instance_type"));
        free(m);
        m = settings_error("sagemaker:\n  instance_type: g5.xlarge\n");
        assert_non_null(strstr(m, "ml.g5.xlarge"));
        free(m);
        m = settings_error("sagemaker:\n  vpc:\n    subnets: [subnet-1]\n");
        assert_non_null(strstr(m, "security_groups"));
        free(m);
        m = settings_error("sagemaker:\n  tags:\n    \"aws:x\": y\n");
        assert_non_null(strstr(m, "tag key"));
        free(m);
        m = settings_error("sagemaker:\n  max_wait: 30d\n");
        assert_non_null(strstr(m, "28d"));
        free(m);

        /* The environment fills what the section leaves out; the section wins. */
        setenv("HOIST_SAGEMAKER_ROLE", "arn:aws:iam::123456789012:role/FromEnv", 1);
        setenv("HOIST_SAGEMAKER_INSTANCE_TYPE", "ml.m5.xlarge", 1);
        s = settings_from("sagemaker:\n  instance_type: ml.g5.2xlarge\n");
        assert_string_equal(s->role, "arn:aws:iam::123456789012:role/FromEnv");
        assert_string_equal(s->instance_type, "ml.g5.2xlarge");
        setenv("HOIST_SAGEMAKER_ROLE", "nope", 1);
        m = settings_error("other: 1\n");
        assert_non_null(strstr(m, "HOIST_SAGEMAKER_ROLE"));
        free(m);
        unsetenv("HOIST_SAGEMAKER_ROLE");
        unsetenv("HOIST_SAGEMAKER_INSTANCE_TYPE");

        text = sagemaker_settings_to_json(s);
        assert_int_equal(sagemaker_settings_from_json(text, strlen(text), "s.json", &back, &err),
                         0);
        assert_string_equal(back->instance_type, "ml.g5.2xlarge");
        assert_int_equal(back->spot, -1);
        free(text);
        sagemaker_settings_free(back);
        sagemaker_settings_free(s);
        assert_int_equal(sagemaker_settings_from_json("{\"role\": 5}", 11, "s.json", &back, &err),
                         -1);
        hoist_error_release(&err);
}

/* One fixture of tests/data/sagemaker/describe/ through the table. */
static void check_describe(const char *file, enum job_state want, const char *reason_part)
{
        _cleanup_free_ char *path = xasprintf(DATA "/describe/%s", file);
        _cleanup_free_ char *text = NULL;
        _cleanup_sagemaker_job_ struct sagemaker_job j = {0};
        struct provider_status st = {0};
        struct hoist_error *err = NULL;
        size_t len = 0;

        if (fs_read_file(path, &text, &len, &err) < 0)
                fail_msg("%s", err->msg);
        if (sagemaker_parse_describe(text, len, &j, &err) < 0)
                fail_msg("%s: %s", file, err->msg);
        sagemaker_map_status(&j, &st);
        if (st.state != want)
                fail_msg("%s: %s, want %s (%s)", file, job_state_name(st.state),
                         job_state_name(want), st.reason ? st.reason : "");
        if (reason_part == NULL)
                assert_null(st.reason);
        else if (st.reason == NULL || strstr(st.reason, reason_part) == NULL)
                fail_msg("%s: reason '%s' lacks '%s'", file, st.reason ? st.reason : "",
                         reason_part);
        provider_status_clear(&st);
}

static void test_status_table(void **state)
{
        (void)state;
        check_describe("starting.json", JOB_STARTING, "InProgress (Starting)");
        check_describe("downloading.json", JOB_STARTING, "Downloading");
        check_describe("training.json", JOB_RUNNING, NULL);
        check_describe("uploading.json", JOB_RUNNING, "Uploading");
        check_describe("interrupted.json", JOB_QUEUED, "Interrupted");
        check_describe("completed.json", JOB_FAILED, "wrote no result");
        check_describe("failed.json", JOB_FAILED, "loss is NaN at step 40");
        check_describe("stopping.json", JOB_RUNNING, "Stopping");
        check_describe("stopped.json", JOB_CANCELED, "Stopped");
        check_describe("max-runtime.json", JOB_FAILED, "MaxRuntimeExceeded");
        check_describe("max-wait.json", JOB_FAILED, "MaxWaitTimeExceeded");
}

static void test_describe_fields(void **state)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_sagemaker_job_ struct sagemaker_job j = {0};
        struct hoist_error *err = NULL;
        size_t len = 0;

        (void)state;
        assert_int_equal(fs_read_file(DATA "/describe/completed.json", &text, &len, &err), 0);
        assert_int_equal(sagemaker_parse_describe(text, len, &j, &err), 0);
        assert_int_equal(j.billable_s, 1234);
        assert_int_equal(j.training_s, 2000);
        assert_int_equal(j.instance_count, 2);
        assert_string_equal(j.instance_type, "ml.g5.xlarge");
        assert_true(j.spot);
        assert_int_equal(j.interruptions, 1);
        assert_int_equal(sagemaker_parse_describe("[1]", 3, &j, &err), -1);
        hoist_error_release(&err);
        assert_int_equal(sagemaker_parse_describe("{\"TrainingJobName\": \"a\"}", 24, &j, &err),
                         -1);
        hoist_error_release(&err);
}

static void test_list_and_ecr(void **state)
{
        json_t *o = json_loads("{\"TrainingJobSummaries\": [{\"TrainingJobName\": "
                               "\"hoist-j-1-1\", \"TrainingJobStatus\": \"Completed\", "
                               "\"CreationTime\": 1700000000.5}, {\"x\": 1}], \"NextToken\": "
                               "\"t2\"}",
                               0, NULL);
        struct sagemaker_summary *s = NULL;
        size_t n = 0;
        char *next = NULL, *region = NULL, *user = NULL, *pass = NULL;
        struct hoist_error *err = NULL;

        (void)state;
        assert_int_equal(sagemaker_parse_list(o, &s, &n, &next, &err), 0);
        assert_int_equal(n, 1);
        assert_string_equal(s[0].name, "hoist-j-1-1");
        assert_string_equal(next, "t2");
        sagemaker_summaries_free(s, n);
        free(next);
        json_decref(o);

        assert_true(ecr_registry_host("123456789012.dkr.ecr.eu-west-1.amazonaws.com", &region));
        assert_string_equal(region, "eu-west-1");
        free(region);
        assert_false(ecr_registry_host("12345.dkr.ecr.eu-west-1.amazonaws.com", NULL));
        assert_false(ecr_registry_host("123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil", NULL));
        assert_false(ecr_registry_host("ghcr.io", NULL));

        /* "AWS:pa55" */
        o = json_loads("{\"authorizationData\": [{\"authorizationToken\": \"QVdTOnBhNTU=\"}]}", 0,
                       NULL);
        assert_int_equal(ecr_parse_token(o, &user, &pass, &err), 0);
        assert_string_equal(user, "AWS");
        assert_string_equal(pass, "pa55");
        free(user);
        free(pass);
        json_decref(o);
        o = json_loads("{\"authorizationData\": [{\"authorizationToken\": \"bm9jb2xvbg==\"}]}", 0,
                       NULL);
        assert_int_equal(ecr_parse_token(o, &user, &pass, &err), -1);
        assert_null(strstr(err->msg, "nocolon"));
        hoist_error_release(&err);
        json_decref(o);
}

static void test_pick_instance(void **state)
{
        static const char table[] =
                "provider: sagemaker\ncurrency: USD\nunit: instance-hour\nsource: test\n"
                "prices:\n"
                "  - {sku: ml.m5.large, gpus: 0, vcpus: 2, memory_gib: 8, regions: {us-east-1: "
                "0.115}}\n"
                "  - {sku: ml.g4dn.xlarge, gpus: 1, gpu_type: T4, vcpus: 4, memory_gib: 16, "
                "regions: {us-east-1: 0.736}}\n"
                "  - {sku: ml.g5.xlarge, gpus: 1, gpu_type: A10G, vcpus: 4, memory_gib: 16, "
                "regions: {us-east-1: 1.408}}\n"
                "  - {sku: ml.p3.2xlarge, gpus: 1, gpu_type: V100, vcpus: 8, memory_gib: 61, "
                "regions: {eu-west-1: 4.2}}\n";
        struct prices *p = prices_new();
        struct jobspec_resources r = {0};
        struct hoist_error *err = NULL;
        char *sku = NULL;

        (void)state;
        if (prices_parse(table, strlen(table), "t.yaml", NULL, p, &err) < 0)
                fail_msg("%s", err->msg);
        assert_int_equal(sagemaker_pick_instance(p, &r, "us-east-1", &sku, &err), 0);
        assert_string_equal(sku, "ml.m5.large");
        free(sku);
        r.gpus = 1;
        assert_int_equal(sagemaker_pick_instance(p, &r, "us-east-1", &sku, &err), 0);
        assert_string_equal(sku, "ml.g4dn.xlarge");
        free(sku);
        r.gpu_type = (char *)"a10g";
        assert_int_equal(sagemaker_pick_instance(p, &r, "us-east-1", &sku, &err), 0);
        assert_string_equal(sku, "ml.g5.xlarge");
        free(sku);
        /* V100 is sold in eu-west-1 only */
        r.gpu_type = (char *)"V100";
        assert_int_equal(sagemaker_pick_instance(p, &r, "us-east-1", &sku, &err), -1);
        assert_non_null(strstr(err->msg, "V100"));
        assert_non_null(strstr(err->msg, "sagemaker.instance_type"));
        hoist_error_release(&err);
        assert_int_equal(sagemaker_pick_instance(p, &r, "eu-west-1", &sku, &err), 0);
        assert_string_equal(sku, "ml.p3.2xlarge");
        free(sku);
        prices_free(p);
}

static void test_awsjson_errors(void **state)
{
        struct awsjson_error e;
        static const char t1[] = "{\"__type\": \"com.amazonaws.sagemaker#ResourceNotFound\", "
                                 "\"Message\": \"Requested resource not found.\"}";
        static const char t2[] = "{\"__type\": \"ThrottlingException:http://internal\", "
                                 "\"message\": \"Rate exceeded\"}";

        (void)state;
        awsjson_parse_error(t1, strlen(t1), &e);
        assert_string_equal(e.code, "ResourceNotFound");
        assert_string_equal(e.message, "Requested resource not found.");
        awsjson_error_clear(&e);
        awsjson_parse_error(t2, strlen(t2), &e);
        assert_string_equal(e.code, "ThrottlingException");
        assert_string_equal(e.message, "Rate exceeded");
        assert_true(awsjson_retryable(400, e.code));
        awsjson_error_clear(&e);
        awsjson_parse_error("<html>", 6, &e);
        assert_null(e.code);
        assert_null(e.message);
        awsjson_parse_error(NULL, 0, &e);
        assert_null(e.code);

        assert_true(awsjson_retryable(500, NULL));
        assert_true(awsjson_retryable(503, "ServiceUnavailable"));
        assert_true(awsjson_retryable(429, NULL));
        assert_false(awsjson_retryable(400, "ValidationException"));
        assert_false(awsjson_retryable(403, "AccessDeniedException"));

        /* Full jitter under an exponential ceiling, capped. */
        assert_int_equal(awsjson_backoff_ms(1, 100, 20000, 0.5), 100);
        assert_int_equal(awsjson_backoff_ms(3, 100, 20000, 0.5), 400);
        assert_int_equal(awsjson_backoff_ms(30, 100, 20000, 0.99), 19800);
        assert_int_equal(awsjson_backoff_ms(2, 100, 20000, 0), 0);
}

static void test_awsjson_client(void **state)
{
        struct awsjson_client *c = NULL;
        struct hoist_error *err = NULL;

        (void)state;
        assert_int_equal(awsjson_client_new(&awsjson_sagemaker, "us-east-1", NULL, NULL, &c, &err),
                         0);
        assert_string_equal(awsjson_client_endpoint(c),
                            "https://api.sagemaker.us-east-1.amazonaws.com");
        awsjson_client_free(c);
        assert_int_equal(awsjson_client_new(&awsjson_ecr, "eu-west-1", "http://127.0.0.1:9/", NULL,
                                            &c, &err),
                         0);
        assert_string_equal(awsjson_client_endpoint(c), "http://127.0.0.1:9");
        awsjson_client_free(c);
        assert_int_equal(awsjson_client_new(&awsjson_ecr, "Not A Region", NULL, NULL, &c, &err),
                         -1);
        assert_non_null(strstr(err->msg, "AWS_REGION"));
        hoist_error_release(&err);
        assert_int_equal(awsjson_client_new(&awsjson_ecr, "us-east-1", "ftp://x", NULL, &c, &err),
                         -1);
        hoist_error_release(&err);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),           cmocka_unit_test(test_create_golden),
                cmocka_unit_test(test_create_refusals), cmocka_unit_test(test_settings),
                cmocka_unit_test(test_status_table),    cmocka_unit_test(test_describe_fields),
                cmocka_unit_test(test_list_and_ecr),    cmocka_unit_test(test_pick_instance),
                cmocka_unit_test(test_awsjson_errors),  cmocka_unit_test(test_awsjson_client),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
