/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"
#include "jobspec.h"
#include "resources.h"
#include "xalloc.h"

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char **strv(const char *a, const char *b, const char *c)
{
        char **v = xcalloc(4, sizeof *v);
        v[0] = xstrdup(a);
        v[1] = xstrdup(b);
        v[2] = xstrdup(c);
        return v;
}

/* A spec with every field set. */
static struct jobspec *full_spec(void)
{
        struct jobspec *s = jobspec_new();

        s->id = xstrdup("job-20260101-abc");
        s->name = xstrdup("mnist");
        s->image = xstrdup("registry.local/mnist:1");
        s->image_digest = xstrdup("sha256:" SHA);
        s->command = strv("python", "train.py", "--epochs=3");
        s->workdir = xstrdup("/work");
        jobspec_kv_add(&s->env, &s->n_env, "B_VAR", "2");
        jobspec_kv_add(&s->env, &s->n_env, "A_VAR", "héllo \"quoted\"");
        jobspec_kv_add(&s->hyperparameters, &s->n_hyperparameters, "lr", "0.001");
        s->inputs = xcalloc(2, sizeof *s->inputs);
        s->n_inputs = 2;
        s->inputs[0] = (struct jobspec_input){
                .channel = xstrdup("train"),
                .source = xstrdup("s3://bucket/blobs/sha256/" SHA),
                .sha256 = xstrdup(SHA),
                .mode = JOBSPEC_INPUT_ARCHIVE,
                .size = 123456789012ULL,
        };
        s->inputs[1] = (struct jobspec_input){
                .channel = xstrdup("config"),
                .source = xstrdup("file:///data/c.json"),
                .filename = xstrdup("c.json"),
                .mode = JOBSPEC_INPUT_FILE,
        };
        s->code.source = xstrdup("blobs/sha256/" SHA);
        s->code.sha256 = xstrdup(SHA);
        s->code.size = 10240;
        s->storage.endpoint = xstrdup("http://127.0.0.1:9000");
        s->storage.region = xstrdup("us-east-1");
        s->storage.bucket = xstrdup("hoist");
        s->storage.prefix = xstrdup("team/");
        s->checkpoint_dir = xstrdup("/hoist/checkpoints");
        s->checkpoint_prefix = xstrdup("jobs/job-20260101-abc/checkpoints/");
        s->checkpoint_interval_s = 300;
        s->model_dir = xstrdup("/hoist/model");
        s->output_dir = xstrdup("/hoist/output");
        s->output_prefix = xstrdup("jobs/job-20260101-abc/output/");
        s->log_prefix = xstrdup("jobs/job-20260101-abc/logs/");
        s->webhooks = xcalloc(2, sizeof *s->webhooks);
        s->n_webhooks = 2;
        s->webhooks[0].url = xstrdup("https://example.org/hook");
        s->webhooks[0].events = strv("job.succeeded", "job.failed", "gpu.fault");
        s->webhooks[1].url = xstrdup("http://127.0.0.1:8080/all");
        s->max_runtime_s = 7200;
        s->stop_grace_s = 30;
        s->nodes = 2;
        s->gpus_per_node = 8;
        s->launcher = xstrdup("torchrun");
        s->nproc_per_node = 4;
        s->port = 29600;
        s->checkpoints_per_rank = 1;
        s->gpu_health = 1;
        s->gpu_health_interval_s = 15;
        s->attempt = 3;
        return s;
}

static void assert_str_eq(const char *a, const char *b)
{
        if (a == NULL || b == NULL)
                assert_ptr_equal(a, b);
        else
                assert_string_equal(a, b);
}

static void assert_strv_eq(char **a, char **b)
{
        size_t na = 0, nb = 0;

        while (a && a[na])
                na++;
        while (b && b[nb])
                nb++;
        assert_int_equal(na, nb);
        for (size_t i = 0; i < na; i++)
                assert_string_equal(a[i], b[i]);
}

static void assert_kv_eq(const struct jobspec_kv *a, size_t na, const struct jobspec_kv *b,
                         size_t nb)
{
        assert_int_equal(na, nb);
        for (size_t i = 0; i < na; i++) {
                assert_string_equal(a[i].key, b[i].key);
                assert_string_equal(a[i].value, b[i].value);
        }
}

static void assert_spec_eq(const struct jobspec *a, const struct jobspec *b)
{
        assert_str_eq(a->version, b->version);
        assert_str_eq(a->id, b->id);
        assert_str_eq(a->name, b->name);
        assert_str_eq(a->image, b->image);
        assert_str_eq(a->image_digest, b->image_digest);
        assert_strv_eq(a->command, b->command);
        assert_int_equal(a->command == NULL, b->command == NULL);
        assert_str_eq(a->workdir, b->workdir);
        assert_kv_eq(a->env, a->n_env, b->env, b->n_env);
        assert_kv_eq(a->hyperparameters, a->n_hyperparameters, b->hyperparameters,
                     b->n_hyperparameters);
        assert_int_equal(a->n_inputs, b->n_inputs);
        for (size_t i = 0; i < a->n_inputs; i++) {
                assert_str_eq(a->inputs[i].channel, b->inputs[i].channel);
                assert_str_eq(a->inputs[i].source, b->inputs[i].source);
                assert_str_eq(a->inputs[i].sha256, b->inputs[i].sha256);
                assert_str_eq(a->inputs[i].filename, b->inputs[i].filename);
                assert_int_equal(a->inputs[i].mode, b->inputs[i].mode);
                assert_int_equal(a->inputs[i].size, b->inputs[i].size);
        }
        assert_str_eq(a->code.source, b->code.source);
        assert_str_eq(a->code.sha256, b->code.sha256);
        assert_int_equal(a->code.size, b->code.size);
        assert_str_eq(a->storage.endpoint, b->storage.endpoint);
        assert_str_eq(a->storage.region, b->storage.region);
        assert_str_eq(a->storage.bucket, b->storage.bucket);
        assert_str_eq(a->storage.prefix, b->storage.prefix);
        assert_str_eq(a->checkpoint_dir, b->checkpoint_dir);
        assert_str_eq(a->checkpoint_prefix, b->checkpoint_prefix);
        assert_int_equal(a->checkpoint_interval_s, b->checkpoint_interval_s);
        assert_str_eq(a->model_dir, b->model_dir);
        assert_str_eq(a->output_dir, b->output_dir);
        assert_str_eq(a->output_prefix, b->output_prefix);
        assert_str_eq(a->log_prefix, b->log_prefix);
        assert_int_equal(a->n_webhooks, b->n_webhooks);
        for (size_t i = 0; i < a->n_webhooks; i++) {
                assert_str_eq(a->webhooks[i].url, b->webhooks[i].url);
                assert_strv_eq(a->webhooks[i].events, b->webhooks[i].events);
        }
        assert_int_equal(a->max_runtime_s, b->max_runtime_s);
        assert_int_equal(a->stop_grace_s, b->stop_grace_s);
        assert_int_equal(a->nodes, b->nodes);
        assert_int_equal(a->gpus_per_node, b->gpus_per_node);
        assert_str_eq(a->launcher, b->launcher);
        assert_int_equal(a->nproc_per_node, b->nproc_per_node);
        assert_int_equal(a->port, b->port);
        assert_int_equal(a->checkpoints_per_rank, b->checkpoints_per_rank);
        assert_int_equal(a->gpu_health, b->gpu_health);
        assert_int_equal(a->gpu_health_interval_s, b->gpu_health_interval_s);
        assert_int_equal(a->attempt, b->attempt);
}

static struct jobspec *parse_ok(const char *json)
{
        struct jobspec *spec = NULL;
        struct hoist_error *err = NULL;

        if (jobspec_parse(json, strlen(json), "job.json", &spec, &err) < 0)
                fail_msg("unexpected error: %s", err->msg);
        return spec;
}

static void parse_fails(const char *json, const char *want)
{
        struct jobspec *spec = NULL;
        _cleanup_error_ struct hoist_error *err = NULL;

        assert_int_equal(jobspec_parse(json, strlen(json), "job.json", &spec, &err), -1);
        assert_null(spec);
        assert_non_null(err);
        assert_int_equal(err->code, HOIST_ERR_INPUT);
        assert_string_equal(err->msg, want);
}

#define MINIMAL_HEAD "{\"version\": \"hoist/v1\", \"id\": \"j1\", "
#define MINIMAL_STORAGE "\"storage\": {\"endpoint\": \"file:///srv\"}"

static void test_round_trip_full(void **state)
{
        (void)state;
        _cleanup_jobspec_ struct jobspec *spec = full_spec();
        _cleanup_free_ char *json = jobspec_to_json(spec);
        _cleanup_jobspec_ struct jobspec *back = parse_ok(json);
        _cleanup_free_ char *again = jobspec_to_json(back);

        assert_spec_eq(spec, back);
        assert_string_equal(json, again); /* stable output */
        assert_int_equal(jobspec_validate(back, NULL), 0);
        /* pretty, keys in a stable order, version first */
        assert_memory_equal(json, "{\n  \"version\": \"hoist/v1\",\n  \"id\": ", 34);
        assert_true(strstr(json, "\"image\"") < strstr(json, "\"command\""));
        assert_true(strstr(json, "\"storage\"") < strstr(json, "\"webhooks\""));
        assert_null(strstr(json, "secret"));
}

/* secrets: names and sources round-trip; a name a job may not take is refused. */
static void test_secrets(void **state)
{
        (void)state;
        _cleanup_jobspec_ struct jobspec *spec = parse_ok(
                MINIMAL_HEAD MINIMAL_STORAGE ", \"secrets\": [{\"name\": \"HF_TOKEN\", \"env\": "
                                             "\"HF\"}, {\"name\": \"KEY\", \"file\": \"/k\"}]}");
        _cleanup_free_ char *json = jobspec_to_json(spec);
        _cleanup_jobspec_ struct jobspec *back = parse_ok(json);
        _cleanup_jobspec_ struct jobspec *bad = parse_ok(
                MINIMAL_HEAD MINIMAL_STORAGE ", \"secrets\": [{\"name\": \"HOIST_S3_X\"}]}");
        _cleanup_error_ struct hoist_error *err = NULL;

        assert_int_equal(back->n_secrets, 2);
        assert_string_equal(back->secrets[0].name, "HF_TOKEN");
        assert_string_equal(back->secrets[0].env, "HF");
        assert_null(back->secrets[0].file);
        assert_string_equal(back->secrets[1].file, "/k");
        assert_int_equal(jobspec_validate(back, NULL), 0);
        assert_int_equal(jobspec_validate(bad, &err), -1);
        assert_non_null(strstr(err->msg, "secrets[0].name: 'HOIST_S3_X'"));
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"secrets\": [{\"env\": \"A\"}]}",
                    "'job.json': secrets[0].name: required field is missing");
}

static void test_round_trip_minimal(void **state)
{
        (void)state;
        _cleanup_jobspec_ struct jobspec *spec = jobspec_new();
        spec->id = xstrdup("j1");
        spec->storage.endpoint = xstrdup("file:///srv/hoist");
        _cleanup_free_ char *json = jobspec_to_json(spec);
        _cleanup_jobspec_ struct jobspec *back = parse_ok(json);

        assert_spec_eq(spec, back);
        assert_string_equal(json, "{\n"
                                  "  \"version\": \"hoist/v1\",\n"
                                  "  \"id\": \"j1\",\n"
                                  "  \"storage\": {\n"
                                  "    \"endpoint\": \"file:///srv/hoist\"\n"
                                  "  },\n"
                                  "  \"attempt\": 1\n"
                                  "}\n");
        assert_null(back->command);
        assert_int_equal(back->nodes, 1);
}

static void test_unknown_fields_ignored(void **state)
{
        (void)state;
        _cleanup_jobspec_ struct jobspec *spec =
                parse_ok(MINIMAL_HEAD "\"future\": {\"x\": [1, 2]}, "
                                      "\"inputs\": [{\"channel\": \"train\", \"source\": "
                                      "\"s3://b/k\", \"compression\": \"zstd\"}],"
                                      "\"limits\": {\"max_runtime_s\": 60, \"max_cost\": 3.5},"
                                      "\"storage\": {\"endpoint\": \"file:///srv\", \"tls\": true},"
                                      "\"workdir\": null}");
        assert_string_equal(spec->id, "j1");
        assert_int_equal(spec->n_inputs, 1);
        assert_string_equal(spec->inputs[0].channel, "train");
        assert_int_equal(spec->inputs[0].mode, JOBSPEC_INPUT_FILE);
        assert_int_equal(spec->max_runtime_s, 60);
        assert_null(spec->workdir);
        assert_int_equal(spec->attempt, 1);
}

/* code: the source tree; an entrypoint that predates it ignores it (unknown
 * fields are), and one that knows it names what is wrong. */
static void test_code(void **state)
{
        (void)state;
        _cleanup_jobspec_ struct jobspec *spec = parse_ok(
                MINIMAL_HEAD MINIMAL_STORAGE ", \"code\": {\"source\": \"blobs/sha256/" SHA
                                             "\", \"sha256\": \"" SHA "\", \"size\": 20480}}");
        assert_string_equal(spec->code.source, "blobs/sha256/" SHA);
        assert_string_equal(spec->code.sha256, SHA);
        assert_int_equal(spec->code.size, 20480);
        assert_int_equal(jobspec_validate(spec, NULL), 0);

        _cleanup_jobspec_ struct jobspec *none = parse_ok(MINIMAL_HEAD MINIMAL_STORAGE "}");
        assert_null(none->code.source);
        _cleanup_free_ char *json = jobspec_to_json(none);
        assert_null(strstr(json, "\"code\""));

        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"code\": {\"sha256\": \"" SHA "\"}}",
                    "'job.json': code.source: required field is missing");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"code\": \"src/\"}",
                    "'job.json': code: expected an object, got a string");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"code\": {\"source\": \"k\", \"sha256\": "
                                                 "\"XYZ\"}}",
                    "'job.json': code.sha256: expected 64 lowercase hex digits");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"code\": {\"source\": \"k\", \"size\": -1}}",
                    "'job.json': code.size: -1 is out of range (0 to 9223372036854775807)");

        _cleanup_error_ struct hoist_error *err = NULL;
        free(spec->code.source);
        spec->code.source = xstrdup("");
        assert_int_equal(jobspec_validate(spec, &err), -1);
        assert_string_equal(err->msg, "code.source: is empty (give the URL of the code's tar)");
}

static void test_missing_required(void **state)
{
        (void)state;
        parse_fails("{\"id\": \"j1\", " MINIMAL_STORAGE "}",
                    "'job.json': version: required field is missing");
        parse_fails("{\"version\": \"hoist/v1\", " MINIMAL_STORAGE "}",
                    "'job.json': id: required field is missing");
        parse_fails(MINIMAL_HEAD "\"name\": \"x\"}",
                    "'job.json': storage: required field is missing");
        parse_fails(MINIMAL_HEAD "\"storage\": {\"region\": \"x\"}}",
                    "'job.json': storage.endpoint: required field is missing");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"inputs\": [{\"channel\": \"a\", \"source\": "
                                                 "\"s3://b/k\"}, {\"source\": \"s3://b/k\"}]}",
                    "'job.json': inputs[1].channel: required field is missing");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"inputs\": [{\"channel\": \"a\"}]}",
                    "'job.json': inputs[0].source: required field is missing");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"webhooks\": [{\"events\": []}]}",
                    "'job.json': webhooks[0].url: required field is missing");
}

static void test_wrong_types(void **state)
{
        (void)state;
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"inputs\": [{\"channel\": \"a\", \"source\": "
                                                 "\"s3://b/k\"}, {\"channel\": 7}]}",
                    "'job.json': inputs[1].channel: expected a string, got a number");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"command\": \"python train.py\"}",
                    "'job.json': command: expected an array, got a string");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"command\": [\"python\", 3]}",
                    "'job.json': command[1]: expected a string, got a number");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"env\": {\"A\": 1}}",
                    "'job.json': env.A: expected a string, got a number");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"env\": []}",
                    "'job.json': env: expected an object, got an array");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"limits\": {\"max_runtime_s\": \"1h\"}}",
                    "'job.json': limits.max_runtime_s: expected an integer, got a string");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"limits\": {\"stop_grace_s\": -1}}",
                    "'job.json': limits.stop_grace_s: -1 is out of range (0 to "
                    "9223372036854775807)");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"gpu_health\": {\"enabled\": 1}}",
                    "'job.json': gpu_health.enabled: expected true or false, got a number");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"inputs\": {}}",
                    "'job.json': inputs: expected an array, got an object");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"inputs\": [{\"channel\": \"a\", \"source\": "
                                                 "\"s\", \"mode\": \"tarball\"}]}",
                    "'job.json': inputs[0].mode: expected \"file\", \"archive\" or \"tree\"");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"inputs\": [{\"channel\": \"a\", \"source\": "
                                                 "\"s\", \"sha256\": \"abc\"}]}",
                    "'job.json': inputs[0].sha256: expected 64 lowercase hex digits");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"hyperparameters\": {\"lr\": [1]}}",
                    "'job.json': hyperparameters.lr: expected a string, number or boolean, got "
                    "an array");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"distributed\": {\"nodes\": 0}}",
                    "'job.json': distributed.nodes: 0 is out of range (1 to 2147483647)");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"distributed\": {\"nproc_per_node\": 2000}}",
                    "'job.json': distributed.nproc_per_node: 2000 is out of range (0 to 1024)");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"distributed\": {\"port\": 70000}}",
                    "'job.json': distributed.port: 70000 is out of range (0 to 65535)");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE
                    ", \"distributed\": {\"checkpoints_per_rank\": 1}}",
                    "'job.json': distributed.checkpoints_per_rank: expected true or false, got a "
                    "number");
        parse_fails("[1, 2]", "'job.json': expected a JSON object, got an array");
}

static void test_syntax_errors(void **state)
{
        (void)state;
        parse_fails("{\n  \"version\": \"hoist/v1\",\n  \"id\": j1\n}",
                    "'job.json': line 3, column 9: invalid token near 'j'");
        parse_fails("", "'job.json': line 1, column 0: '[' or '{' expected near end of file");
        parse_fails(MINIMAL_HEAD "\"id\": \"again\", " MINIMAL_STORAGE "}",
                    "'job.json': line 1, column 40: duplicate object key near '\"id\"'");
}

static void test_version(void **state)
{
        (void)state;
        parse_fails("{\"version\": \"hoist/v2\", \"id\": \"j\", " MINIMAL_STORAGE "}",
                    "'job.json': version: 'hoist/v2' is not supported (this hoist reads hoist/v1 "
                    "and its minor versions hoist/v1.N)");
        parse_fails("{\"version\": \"hoist/v10\", \"id\": \"j\", " MINIMAL_STORAGE "}",
                    "'job.json': version: 'hoist/v10' is not supported (this hoist reads hoist/v1 "
                    "and its minor versions hoist/v1.N)");
        parse_fails("{\"version\": 1, \"id\": \"j\", " MINIMAL_STORAGE "}",
                    "'job.json': version: expected a string, got a number");
        _cleanup_jobspec_ struct jobspec *minor =
                parse_ok("{\"version\": \"hoist/v1.3\", \"id\": \"j\", " MINIMAL_STORAGE "}");
        assert_string_equal(minor->version, "hoist/v1.3");
        assert_int_equal(jobspec_validate(minor, NULL), 0);
}

static void test_hyperparameter_numbers(void **state)
{
        (void)state;
        _cleanup_jobspec_ struct jobspec *spec = parse_ok(
                MINIMAL_HEAD MINIMAL_STORAGE ", \"hyperparameters\": {\"lr\": 0.1, \"epochs\": 10, "
                                             "\"big\": 1e100, \"neg\": -2.5, \"whole\": 2.0, "
                                             "\"fp16\": true, \"shuffle\": false, \"s\": \"x y\", "
                                             "\"third\": 0.3333333333333333}}");
        const struct jobspec_kv *h = spec->hyperparameters;
        size_t n = spec->n_hyperparameters;

        assert_int_equal(n, 9);
        assert_string_equal(jobspec_kv_get(h, n, "lr"), "0.1");
        assert_string_equal(jobspec_kv_get(h, n, "epochs"), "10");
        assert_string_equal(jobspec_kv_get(h, n, "big"), "1e+100");
        assert_string_equal(jobspec_kv_get(h, n, "neg"), "-2.5");
        assert_string_equal(jobspec_kv_get(h, n, "whole"), "2.0");
        assert_string_equal(jobspec_kv_get(h, n, "fp16"), "true");
        assert_string_equal(jobspec_kv_get(h, n, "shuffle"), "false");
        assert_string_equal(jobspec_kv_get(h, n, "s"), "x y");
        assert_string_equal(jobspec_kv_get(h, n, "third"), "0.3333333333333333");
        assert_null(jobspec_kv_get(h, n, "missing"));
        /* the order written is kept */
        assert_string_equal(h[0].key, "lr");
        assert_string_equal(h[8].key, "third");
}

static struct jobspec_result *result_ok(const char *json)
{
        struct jobspec_result *r = NULL;
        struct hoist_error *err = NULL;

        if (jobspec_result_parse(json, strlen(json), "result.json", &r, &err) < 0)
                fail_msg("unexpected error: %s", err->msg);
        return r;
}

static void test_result_round_trip(void **state)
{
        (void)state;
        struct jobspec_result r = {
                .job_id = (char *)"j1",
                .node = (char *)"node-0",
                .status = (char *)"failed",
                .exit_code = 137,
                .signal = 9,
                .reason = (char *)"killed\nby \"OOM\"",
                .started_at_ms = 1767225600000,
                .finished_at_ms = 1767229200123,
                .attempt = 2,
        };
        _cleanup_free_ char *json = jobspec_result_to_json(&r);
        _cleanup_jobspec_result_ struct jobspec_result *back = result_ok(json);

        assert_string_equal(back->job_id, "j1");
        assert_string_equal(back->node, "node-0");
        assert_string_equal(back->status, "failed");
        assert_int_equal(back->exit_code, 137);
        assert_int_equal(back->signal, 9);
        assert_string_equal(back->reason, r.reason);
        assert_int_equal(back->started_at_ms, r.started_at_ms);
        assert_int_equal(back->finished_at_ms, r.finished_at_ms);
        assert_int_equal(back->attempt, 2);
        _cleanup_free_ char *again = jobspec_result_to_json(back);
        assert_string_equal(json, again);

        _cleanup_jobspec_result_ struct jobspec_result *min =
                result_ok("{\"job_id\": \"j\", \"status\": \"succeeded\", \"extra\": 1}");
        assert_null(min->node);
        assert_null(min->reason);
        assert_int_equal(min->exit_code, 0);
        assert_int_equal(min->attempt, 1);
}

static void test_result_errors(void **state)
{
        (void)state;
        static const struct {
                const char *json, *want;
        } cases[] = {
                {"{\"status\": \"failed\"}", "'result.json': job_id: required field is missing"},
                {"{\"job_id\": \"j\"}", "'result.json': status: required field is missing"},
                {"{\"job_id\": \"j\", \"status\": \"exploded\"}",
                 "'result.json': status: 'exploded' is not a status (expected succeeded, failed, "
                 "canceled or interrupted)"},
                {"{\"job_id\": \"j\", \"status\": \"failed\", \"exit_code\": 256}",
                 "'result.json': exit_code: 256 is out of range (0 to 255)"},
                {"{\"job_id\": \"j\", \"status\": \"failed\", \"signal\": \"KILL\"}",
                 "'result.json': signal: expected an integer, got a string"},
                {"{\"job_id\": \"j\",", "'result.json': line 1, column 15: string or '}' expected "
                                        "near end of file"},
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct jobspec_result *r = NULL;
                _cleanup_error_ struct hoist_error *err = NULL;
                assert_int_equal(jobspec_result_parse(cases[i].json, strlen(cases[i].json),
                                                      "result.json", &r, &err),
                                 -1);
                assert_null(r);
                assert_string_equal(err->msg, cases[i].want);
        }
}

static void validate_fails(struct jobspec *spec, const char *want)
{
        _cleanup_error_ struct hoist_error *err = NULL;

        assert_int_equal(jobspec_validate(spec, &err), -1);
        assert_string_equal(err->msg, want);
        assert_int_equal(err->code, HOIST_ERR_INPUT);
}

static void test_validate(void **state)
{
        (void)state;
        _cleanup_jobspec_ struct jobspec *s = full_spec();

        assert_int_equal(jobspec_validate(s, NULL), 0);

        free(s->inputs[1].channel);
        s->inputs[1].channel = xstrdup("Train");
        validate_fails(s, "inputs[1].channel: 'Train' is not a valid channel name (1-64 of a-z, "
                          "0-9 and _, starting with a letter)");
        free(s->inputs[1].channel);
        s->inputs[1].channel = xstrdup("train");
        validate_fails(s, "inputs[1].channel: 'train' is used twice (also by inputs[0])");
        free(s->inputs[1].channel);
        s->inputs[1].channel = xstrdup("eval");
        free(s->inputs[1].source);
        s->inputs[1].source = NULL;
        validate_fails(s, "inputs[1].source: missing (input 'eval' needs a URL)");
        s->inputs[1].source = xstrdup("s3://b/k");
        assert_int_equal(jobspec_validate(s, NULL), 0);

        char *saved = s->command[0];
        s->command[0] = NULL;
        validate_fails(s, "command: is empty (give the program to run, or leave command out to "
                          "run the image's own command)");
        s->command[0] = saved;
        strv_free(s->command);
        s->command = NULL; /* the image's CMD */
        assert_int_equal(jobspec_validate(s, NULL), 0);

        free(s->launcher);
        s->launcher = xstrdup("mpirun");
        validate_fails(s, "distributed.launcher: 'mpirun' is not supported (expected \"hoist\", "
                          "\"torchrun\", \"accelerate\" or \"none\")");
        for (const char *const *l =
                     (const char *const[]){"hoist", "torchrun", "accelerate", "none", NULL};
             *l; l++) {
                free(s->launcher);
                s->launcher = xstrdup(*l);
                assert_int_equal(jobspec_validate(s, NULL), 0);
                assert_int_equal(jobspec_launcher(s), jobspec_launcher_parse(*l));
                assert_string_equal(jobspec_launcher_name(jobspec_launcher(s)), *l);
        }
        free(s->launcher);
        s->launcher = NULL;
        assert_int_equal(jobspec_launcher(s), JOBSPEC_LAUNCHER_NONE);
        assert_int_equal(jobspec_port(s), 29600);
        s->port = 0;
        assert_int_equal(jobspec_port(s), 29500);

        free(s->id);
        s->id = xstrdup("../etc");
        validate_fails(s, "id: '../etc' is not a valid job id (1-128 of A-Z, a-z, 0-9, '.', '_' "
                          "and '-', starting with a letter or digit)");
        free(s->id);
        s->id = NULL;
        validate_fails(s, "id: missing");
        s->id = xstrdup("ok");

        free(s->storage.endpoint);
        s->storage.endpoint = xstrdup("");
        validate_fails(s, "storage.endpoint: missing");
        free(s->storage.endpoint);
        s->storage.endpoint = xstrdup("file:///x");

        free(s->version);
        s->version = xstrdup("hoist/v0");
        validate_fails(s, "version: 'hoist/v0' is not supported (expected hoist/v1)");
}

static void test_channel_valid(void **state)
{
        (void)state;
        char long_name[66];

        assert_true(jobspec_channel_valid("train"));
        assert_true(jobspec_channel_valid("train_2"));
        assert_true(jobspec_channel_valid("a"));
        assert_false(jobspec_channel_valid(""));
        assert_false(jobspec_channel_valid(NULL));
        assert_false(jobspec_channel_valid("2train"));
        assert_false(jobspec_channel_valid("_train"));
        assert_false(jobspec_channel_valid("Train"));
        assert_false(jobspec_channel_valid("train-set"));
        assert_false(jobspec_channel_valid("../x"));
        memset(long_name, 'a', 64);
        long_name[64] = '\0';
        assert_true(jobspec_channel_valid(long_name));
        long_name[64] = 'a';
        long_name[65] = '\0';
        assert_false(jobspec_channel_valid(long_name));
        assert_string_equal(jobspec_input_mode_name(JOBSPEC_INPUT_FILE), "file");
        assert_string_equal(jobspec_input_mode_name(JOBSPEC_INPUT_ARCHIVE), "archive");
        assert_string_equal(jobspec_input_mode_name(JOBSPEC_INPUT_TREE), "tree");
}

/* Tree inputs and code, extract_limit; an old job.json's code is an archive. */
static void test_tree_and_extract(void **state)
{
        (void)state;
        struct jobspec *spec = parse_ok(
                MINIMAL_HEAD MINIMAL_STORAGE
                ", \"inputs\": [{\"channel\": \"a\", \"source\": \"s3://b/blobs/sha256/x\", "
                "\"mode\": \"tree\", \"size\": 10}, {\"channel\": \"b\", \"source\": \"s\", "
                "\"mode\": \"archive\", \"size\": 1000, \"extract_limit\": 5368709120}], "
                "\"code\": {\"source\": \"s3://b/blobs/sha256/y\", \"mode\": \"tree\"}}");
        struct jobspec_input small = {.mode = JOBSPEC_INPUT_ARCHIVE, .size = 1000};
        struct jobspec_input large = {.mode = JOBSPEC_INPUT_ARCHIVE, .size = 1ull << 30};
        char *json;

        assert_int_equal(spec->inputs[0].mode, JOBSPEC_INPUT_TREE);
        assert_int_equal(spec->inputs[1].extract_limit, 5368709120ull);
        assert_int_equal(jobspec_extract_limit(&spec->inputs[1]), 5368709120ull);
        assert_int_equal(jobspec_extract_limit(&small), JOBSPEC_EXTRACT_FLOOR);
        assert_int_equal(jobspec_extract_limit(&large), 100ull << 30);
        assert_int_equal(spec->code.mode, JOBSPEC_INPUT_TREE);
        json = jobspec_to_json(spec);
        assert_non_null(strstr(json, "\"mode\": \"tree\""));
        assert_non_null(strstr(json, "\"extract_limit\": 5368709120"));
        free(json);
        jobspec_free(spec);

        spec = parse_ok(MINIMAL_HEAD MINIMAL_STORAGE ", \"code\": {\"source\": \"s\"}}");
        assert_int_equal(spec->code.mode, JOBSPEC_INPUT_ARCHIVE);
        json = jobspec_to_json(spec);
        assert_null(strstr(json, "\"mode\""));
        free(json);
        jobspec_free(spec);
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"code\": {\"source\": \"s\", \"mode\": "
                                                 "\"zip\"}}",
                    "'job.json': code.mode: expected \"archive\" or \"tree\"");
}

static void test_load_file(void **state)
{
        (void)state;
        char dir[] = "/tmp/hoist-test-jobspec-XXXXXX";
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_jobspec_ struct jobspec *spec = full_spec();
        struct jobspec *back = NULL;

        assert_non_null(mkdtemp(dir));
        _cleanup_free_ char *path = path_join(dir, "job.json");
        _cleanup_free_ char *json = jobspec_to_json(spec);
        assert_int_equal(fs_write_file_atomic(path, json, strlen(json), 0644, &err), 0);
        assert_int_equal(jobspec_load_file(path, &back, &err), 0);
        assert_spec_eq(spec, back);
        jobspec_free(back);
        back = NULL;

        assert_int_equal(fs_write_file_atomic(path, "{\"id\": 1}", 9, 0644, &err), 0);
        assert_int_equal(jobspec_load_file(path, &back, &err), -1);
        _cleanup_free_ char *want = NULL;
        want = xasprintf("'%s': version: required field is missing", path);
        assert_string_equal(err->msg, want);
        hoist_error_release(&err);
        _cleanup_free_ char *missing = path_join(dir, "nope.json");
        assert_int_equal(jobspec_load_file(missing, &back, &err), -1);
        assert_int_equal(err->code, ENOENT);
        assert_null(back);
        assert_int_equal(fs_remove_tree(dir, &err), 0);
}

/* resources round-trip exactly, with cpus in thousandths and sizes in bytes. */
static void test_resources(void **state)
{
        (void)state;
        _cleanup_jobspec_ struct jobspec *spec = jobspec_new();
        spec->id = xstrdup("j1");
        spec->storage.endpoint = xstrdup("file:///srv/hoist");
        spec->resources = (struct jobspec_resources){.gpus = 8,
                                                     .gpu_type = xstrdup("A100-80GB"),
                                                     .cpus_milli = 1100,
                                                     .memory_bytes = 32ULL << 30,
                                                     .disk_bytes = 100ULL << 30,
                                                     .spot = 1};
        _cleanup_free_ char *json = jobspec_to_json(spec);
        _cleanup_jobspec_ struct jobspec *back = parse_ok(json);
        _cleanup_free_ char *again = jobspec_to_json(back);

        assert_non_null(strstr(json, "  \"resources\": {\n"
                                     "    \"gpus\": 8,\n"
                                     "    \"gpu_type\": \"A100-80GB\",\n"
                                     "    \"cpus\": 1.1,\n"
                                     "    \"memory_bytes\": 34359738368,\n"
                                     "    \"disk_bytes\": 107374182400,\n"
                                     "    \"spot\": true\n"
                                     "  }\n"));
        assert_string_equal(json, again);
        assert_int_equal(back->resources.gpus, 8);
        assert_string_equal(back->resources.gpu_type, "A100-80GB");
        assert_int_equal(back->resources.cpus_milli, 1100);
        assert_int_equal(back->resources.memory_bytes, 32ULL << 30);
        assert_int_equal(back->resources.disk_bytes, 100ULL << 30);
        assert_int_equal(back->resources.spot, 1);

        /* whole CPUs are an integer; a job that asks nothing has no section */
        resources_clear(&spec->resources);
        spec->resources.cpus_milli = 8000;
        _cleanup_free_ char *whole = jobspec_to_json(spec);
        assert_non_null(strstr(whole, "\"resources\": {\n    \"cpus\": 8\n  }"));
        spec->resources.cpus_milli = 0;
        _cleanup_free_ char *none = jobspec_to_json(spec);
        assert_null(strstr(none, "resources"));
        _cleanup_jobspec_ struct jobspec *half =
                parse_ok(MINIMAL_HEAD MINIMAL_STORAGE ", \"resources\": {\"cpus\": 0.5}}");
        assert_int_equal(half->resources.cpus_milli, 500);

        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"resources\": {\"gpus\": 65}}",
                    "'job.json': resources.gpus: 65 is out of range (0 to 64)");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"resources\": {\"cpus\": \"8\"}}",
                    "'job.json': resources.cpus: expected a number, got a string");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"resources\": {\"cpus\": -1}}",
                    "'job.json': resources.cpus: -1 is out of range (0 to 65536)");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"resources\": {\"memory_bytes\": 1.5}}",
                    "'job.json': resources.memory_bytes: expected an integer, got a number");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"resources\": {\"spot\": \"yes\"}}",
                    "'job.json': resources.spot: expected true or false, got a string");
        parse_fails(MINIMAL_HEAD MINIMAL_STORAGE ", \"resources\": 2}",
                    "'job.json': resources: expected an object, got a number");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip_full),
                cmocka_unit_test(test_secrets),
                cmocka_unit_test(test_round_trip_minimal),
                cmocka_unit_test(test_unknown_fields_ignored),
                cmocka_unit_test(test_code),
                cmocka_unit_test(test_missing_required),
                cmocka_unit_test(test_wrong_types),
                cmocka_unit_test(test_syntax_errors),
                cmocka_unit_test(test_version),
                cmocka_unit_test(test_hyperparameter_numbers),
                cmocka_unit_test(test_result_round_trip),
                cmocka_unit_test(test_result_errors),
                cmocka_unit_test(test_validate),
                cmocka_unit_test(test_channel_valid),
                cmocka_unit_test(test_load_file),
                cmocka_unit_test(test_tree_and_extract),
                cmocka_unit_test(test_resources),
        };
        return cmocka_run_group_tests_name("jobspec", tests, NULL, NULL);
}
