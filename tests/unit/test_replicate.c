/* SPDX-License-Identifier: MIT */
/*
 * The replicate provider's pure parts: job.yaml's replicate: section, what
 * Replicate answers (trainings, versions, files, the account) and the one
 * table of its statuses, the training request (hoist_env a JSON string,
 * redacted for --dry-run), the Cog image config, the webhook event hoist
 * serve records, and the JSON-over-HTTP client's Retry-After and error
 * messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiclient.h"
#include "cleanup.h"
#include "config.h"
#include "jobspec.h"
#include "providers/replicate_api.h"
#include "providers/replicate_image.h"
#include "providers/replicate_settings.h"
#include "runner/serve/hooks_replicate.h"
#include "xalloc.h"

static struct replicate_settings *load(const char *yaml, char **ret_msg)
{
        struct config_node *root = NULL;
        struct replicate_settings *s = NULL;
        struct hoist_error *err = NULL;

        *ret_msg = NULL;
        assert_int_equal(config_parse(yaml, strlen(yaml), "job.yaml", &root, &err), 0);
        if (replicate_settings_load(config_get(root, "replicate"), "job.yaml", &s, &err) < 0) {
                *ret_msg = xstrdup(err->msg);
                hoist_error_free(err);
        }
        config_node_free(root);
        return s;
}

static void test_settings(void **state)
{
        char *msg = NULL;
        struct replicate_settings *s;
        char *text;

        (void)state;
        unsetenv("HOIST_REPLICATE_MODEL");
        s = load("replicate:\n  model: alice/sdxl-lora\n  hardware: gpu-l40s\n"
                 "  destination: alice/sdxl-trained\n  webhook_events: [start, completed]\n",
                 &msg);
        assert_non_null(s);
        assert_string_equal(s->model, "alice/sdxl-lora");
        assert_string_equal(s->hardware, "gpu-l40s");
        assert_string_equal(s->webhook_events[1], "completed");
        text = replicate_settings_to_json(s);
        replicate_settings_free(s);
        assert_int_equal(replicate_settings_from_json(text, strlen(text), "r.json", &s, NULL), 0);
        assert_string_equal(s->destination, "alice/sdxl-trained");
        replicate_settings_free(s);
        free(text);

        assert_null(load("replicate:\n  model: Alice/x\n", &msg));
        assert_non_null(strstr(msg, "job.yaml':2"));
        assert_non_null(strstr(msg, "replicate.model"));
        free(msg);
        assert_null(load("replicate:\n  model: a/b\n  hardwre: gpu-t4\n", &msg));
        assert_non_null(strstr(msg, "hardwre"));
        free(msg);
        assert_null(load("replicate:\n  webhook_events: [start, done]\n", &msg));
        assert_non_null(strstr(msg, "'done'"));
        free(msg);
        assert_null(load("replicate:\n  webhook: ftp://x\n", &msg));
        free(msg);

        setenv("HOIST_REPLICATE_MODEL", "bob/m", 1);
        s = load("name: x\n", &msg);
        assert_non_null(s);
        assert_string_equal(s->model, "bob/m");
        replicate_settings_free(s);
        setenv("HOIST_REPLICATE_MODEL", "bob", 1);
        assert_null(load("name: x\n", &msg));
        assert_non_null(strstr(msg, "HOIST_REPLICATE_MODEL"));
        free(msg);
        unsetenv("HOIST_REPLICATE_MODEL");

        assert_true(replicate_model_valid("a-b_c.d/e"));
        assert_false(replicate_model_valid("a/b/c"));
        assert_false(replicate_model_valid("/b"));
        assert_false(replicate_model_valid("a/.b"));
        assert_true(replicate_hardware_valid("gpu-a100-large-2x"));
        assert_false(replicate_hardware_valid("GPU"));
}

static void status_of(const char *json, enum job_state want, const char *in_reason)
{
        struct replicate_training t = {0};
        struct provider_status st = {0};

        assert_int_equal(replicate_training_parse(json, strlen(json), &t, NULL), 0);
        replicate_map_status(&t, &st);
        assert_int_equal(st.state, want);
        if (in_reason != NULL) {
                assert_non_null(st.reason);
                assert_non_null(strstr(st.reason, in_reason));
        }
        provider_status_clear(&st);
        replicate_training_clear(&t);
}

static void test_training(void **state)
{
        static const char ok[] =
                "{\"id\":\"t1\",\"status\":\"succeeded\",\"version\":\"v1\",\"logs\":\"a\\nlast "
                "line\\n\",\"metrics\":{\"predict_time\":12.25},\"input\":{\"hoist_job_url\":"
                "\"s3://b/jobs/j-1/job.json\"},\"output\":{\"weights\":\"s3://b/jobs/j-1/output/"
                "\"}}";
        struct replicate_training t = {0};
        struct hoist_error *err = NULL;

        (void)state;
        assert_int_equal(replicate_training_parse(ok, strlen(ok), &t, NULL), 0);
        assert_string_equal(t.logs_tail, "last line");
        assert_true(t.predict_time == 12.25);
        assert_string_equal(t.weights, "s3://b/jobs/j-1/output/");
        assert_string_equal(t.hoist_job_url, "s3://b/jobs/j-1/job.json");
        replicate_training_clear(&t);
        status_of(ok, JOB_SUCCEEDED, NULL);
        status_of("{\"id\":\"t2\",\"status\":\"starting\"}", JOB_STARTING, "t2: starting");
        status_of("{\"id\":\"t2\",\"status\":\"processing\"}", JOB_RUNNING, NULL);
        status_of("{\"id\":\"t3\",\"status\":\"failed\",\"error\":\"CUDA out of memory\"}",
                  JOB_FAILED, "t3: failed: CUDA out of memory");
        status_of("{\"id\":\"t4\",\"status\":\"failed\",\"logs\":\"x\\nTraceback: boom\"}",
                  JOB_FAILED, "Traceback: boom");
        status_of("{\"id\":\"t5\",\"status\":\"canceled\"}", JOB_CANCELED, "t5: canceled");
        status_of("{\"id\":\"t6\",\"status\":\"paused\"}", JOB_FAILED, "does not know");
        assert_int_equal(replicate_training_parse("{\"status\":\"x\"}", 14, &t, &err), -1);
        assert_non_null(strstr(err->msg, "no id"));
        hoist_error_free(err);
        err = NULL;
        assert_int_equal(replicate_training_parse("[", 1, &t, &err), -1);
        hoist_error_free(err);
}

static void test_answers(void **state)
{
        json_t *page = json_loads(
                "{\"next\":null,\"results\":[{\"id\":\"new\",\"openapi_schema\":{\"a\":2}},"
                "{\"id\":\"old\",\"openapi_schema\":{\"a\":1}},{\"id\":\"older\","
                "\"openapi_schema\":{\"a\":1}}]}",
                0, NULL);
        json_t *want = json_loads("{\"a\":1}", 0, NULL), *o;
        char *id = NULL, *next = NULL, *user = NULL, *type = NULL, **skus = NULL;
        struct replicate_file f = {0};

        (void)state;
        assert_int_equal(replicate_versions_find(page, want, &id, &next, NULL), 0);
        assert_string_equal(id, "old");
        assert_null(next);
        free(id);
        json_decref(page);
        json_decref(want);

        o = json_loads("{\"type\":\"user\",\"username\":\"alice\"}", 0, NULL);
        assert_int_equal(replicate_account_parse(o, &user, &type, NULL), 0);
        assert_string_equal(user, "alice");
        free(user);
        free(type);
        json_decref(o);

        o = json_loads("[{\"sku\":\"cpu\"},{\"name\":\"x\"},{\"sku\":\"gpu-t4\"}]", 0, NULL);
        assert_int_equal(replicate_hardware_parse(o, &skus, NULL), 0);
        assert_string_equal(skus[1], "gpu-t4");
        assert_null(skus[2]);
        strv_free(skus);
        json_decref(o);

        o = json_loads("{\"id\":\"f1\",\"size\":3,\"urls\":{\"get\":\"https://x/f1\"},"
                       "\"checksums\":{\"sha256\":\"ab\"}}",
                       0, NULL);
        assert_int_equal(replicate_file_from_json(o, &f, NULL), 0);
        assert_string_equal(f.url, "https://x/f1");
        assert_string_equal(f.sha256, "ab");
        replicate_file_clear(&f);
        json_decref(o);
}

static void test_training_body(void **state)
{
        struct jobspec_kv hp[] = {{(char *)"steps", (char *)"3000"}, {(char *)"lr", (char *)"0.5"}};
        struct jobspec_input in[] = {{.channel = (char *)"train"}, {.channel = (char *)"val"}};
        struct jobspec spec = {
                .hyperparameters = hp, .n_hyperparameters = 2, .inputs = in, .n_inputs = 2};
        char *env[] = {(char *)"HOIST_S3_SECRET_ACCESS_KEY=sekrit", (char *)"A=b=c",
                       (char *)"HOIST_HOOKS_URL=http://h/hooks/events", (char *)"HOIST_JOB_URL=x",
                       NULL};
        const char *urls[] = {"https://api/v1/files/f1", NULL};
        struct replicate_plan p = {
                .spec = &spec,
                .destination = "alice/out",
                .job_url = "s3://b/jobs/j-1/job.json",
                .secret_env = env,
                .channel_urls = urls,
                .webhook = "https://h/api/webhooks/replicate?job=j-1&attempt=1",
        };
        json_t *body = NULL, *input, *shown, *envobj;
        struct hoist_error *err = NULL;
        char *text;

        (void)state;
        assert_int_equal(replicate_training_body(&p, &body, NULL), 0);
        input = json_object_get(body, "input");
        assert_int_equal(json_integer_value(json_object_get(input, "steps")), 3000);
        assert_true(json_real_value(json_object_get(input, "lr")) == 0.5);
        assert_string_equal(json_string_value(json_object_get(input, "input_train")),
                            "https://api/v1/files/f1");
        assert_null(json_object_get(input, "input_val"));
        envobj = json_loads(json_string_value(json_object_get(input, "hoist_env")), 0, NULL);
        assert_string_equal(json_string_value(json_object_get(envobj, "A")), "b=c");
        assert_non_null(json_object_get(envobj, "HOIST_S3_SECRET_ACCESS_KEY"));
        /* hoist serve's receiver travels (the job's events reach it)... */
        assert_non_null(json_object_get(envobj, "HOIST_HOOKS_URL"));
        /* ...but not a name the Cog contract keeps for the server itself */
        assert_null(json_object_get(envobj, "HOIST_JOB_URL"));
        json_decref(envobj);
        assert_string_equal(json_string_value(json_array_get(
                                    json_object_get(body, "webhook_events_filter"), 1)),
                            "completed");
        shown = replicate_training_body_redacted(body);
        text = json_dumps(shown, JSON_COMPACT);
        assert_null(strstr(text, "sekrit"));
        assert_non_null(strstr(text, "\"hoist_env\":\"**********\""));
        free(text);
        json_decref(shown);
        json_decref(body);

        p.webhook = NULL;
        assert_int_equal(replicate_training_body(&p, &body, NULL), 0);
        assert_null(json_object_get(body, "webhook_events_filter"));
        json_decref(body);
        hp[0].key = (char *)"hoist_env";
        assert_int_equal(replicate_training_body(&p, &body, &err), -1);
        assert_non_null(strstr(err->msg, "'hoist_env'"));
        hoist_error_free(err);
}

static void test_image_config(void **state)
{
        static const char cfg[] =
                "{\"architecture\":\"amd64\",\"config\":{\"Env\":[\"PATH=/bin\","
                "\"HOIST_COG_OPENAPI=old\"],\"Entrypoint\":[\"/opt/hoist/bin/hoist-entrypoint\"],"
                "\"Cmd\":[\"train\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
        char *out = NULL;
        json_t *o, *c, *labels;

        (void)state;
        assert_int_equal(
                replicate_image_config(cfg, strlen(cfg), "{\"openapi\":\"3.0.2\"}", 1, &out, NULL),
                0);
        o = json_loads(out, 0, NULL);
        c = json_object_get(o, "config");
        labels = json_object_get(c, "Labels");
        assert_string_equal(json_string_value(json_object_get(labels, "run.cog.openapi_schema")),
                            "{\"openapi\":\"3.0.2\"}");
        assert_non_null(
                strstr(json_string_value(json_object_get(labels, "run.cog.config")), "\"train\""));
        assert_string_equal(json_string_value(json_object_get(labels, "run.cog.version")),
                            REPLICATE_COG_VERSION);
        assert_string_equal(json_string_value(json_array_get(json_object_get(c, "Cmd"), 0)), "cog");
        assert_int_equal(json_array_size(json_object_get(c, "Env")), 2);
        assert_string_equal(json_string_value(json_array_get(json_object_get(c, "Env"), 1)),
                            "HOIST_COG_OPENAPI={\"openapi\":\"3.0.2\"}");
        assert_string_equal(json_string_value(json_array_get(json_object_get(c, "Entrypoint"), 0)),
                            "/opt/hoist/bin/hoist-entrypoint");
        json_decref(o);
        free(out);
        assert_int_equal(replicate_image_config("[]", 2, "{}", 0, &out, NULL), -1);
}

static void test_webhook_event(void **state)
{
        static const char body[] = "{\"id\":\"t1\",\"status\":\"processing\",\"input\":"
                                   "{\"hoist_env\":\"**********\"},\"logs\":\"secret logs\"}";
        char *type = NULL, *status = NULL, *event = NULL;
        struct hoist_error *err = NULL;
        json_t *o;

        (void)state;
        assert_int_equal(hooks_replicate_event(body, strlen(body), "j-1", 2, "msg_9", 0, &type,
                                               &status, &event, NULL),
                         0);
        assert_string_equal(type, "job.running");
        assert_string_equal(status, "running");
        o = json_loads(event, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(o, "id")), "replicate.msg_9");
        assert_string_equal(json_string_value(json_object_get(o, "time")), "1970-01-01T00:00:00Z");
        assert_null(strstr(event, "secret logs"));
        assert_null(strstr(event, "hoist_env"));
        json_decref(o);
        free(type);
        free(status);
        free(event);
        assert_int_equal(hooks_replicate_event("{\"id\":\"t1\",\"status\":\"odd\"}", 26, "j-1", 1,
                                               "m", 0, &type, &status, &event, &err),
                         -1);
        hoist_error_free(err);
}

static void test_apiclient_helpers(void **state)
{
        char *m;

        (void)state;
        assert_int_equal(apiclient_retry_after_ms("3", 0), 3000);
        assert_int_equal(apiclient_retry_after_ms(" 0 ", 0), 0);
        assert_int_equal(apiclient_retry_after_ms("-1", 0), -1);
        assert_int_equal(apiclient_retry_after_ms("soon", 0), -1);
        assert_int_equal(apiclient_retry_after_ms(NULL, 0), -1);
        /* Wed, 21 Oct 2015 07:28:00 GMT = 1445412480 */
        assert_int_equal(apiclient_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470),
                         10000);
        assert_int_equal(apiclient_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490), 0);
        m = apiclient_error_message("{\"detail\":\"Invalid token.\"}",
                                    strlen("{\"detail\":\"Invalid token.\"}"));
        assert_string_equal(m, "Invalid token.");
        free(m);
        m = apiclient_error_message("{\"detail\":[{\"msg\":\"field required\"}]}",
                                    strlen("{\"detail\":[{\"msg\":\"field required\"}]}"));
        assert_string_equal(m, "field required");
        free(m);
        m = apiclient_error_message("{\"error\":{\"message\":\"nope\"}}",
                                    strlen("{\"error\":{\"message\":\"nope\"}}"));
        assert_string_equal(m, "nope");
        free(m);
        m = apiclient_error_message("<html>\nBad Gateway", strlen("<html>\nBad Gateway"));
        assert_string_equal(m, "<html>");
        free(m);
        assert_null(apiclient_error_message("  ", strlen("  ")));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_settings),          cmocka_unit_test(test_training),
                cmocka_unit_test(test_answers),           cmocka_unit_test(test_training_body),
                cmocka_unit_test(test_image_config),      cmocka_unit_test(test_webhook_event),
                cmocka_unit_test(test_apiclient_helpers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
