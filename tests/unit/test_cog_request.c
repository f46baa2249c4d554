/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cogschema.h"
#include "entrypoint/cog_job.h"
#include "entrypoint/cog_request.h"
#include "error.h"
#include "jobspec.h"

static struct cog_request *parse_ok(const char *body, const json_t *schema, const char *path_id)
{
        struct cog_request *r = NULL;
        struct hoist_error *err = NULL;
        json_t *detail = NULL;

        assert_int_equal(cog_request_parse(body, strlen(body), schema, path_id, &r, &detail, &err),
                         0);
        assert_null(err);
        assert_null(detail);
        return r;
}

/* The 422's loc, as "body.input.x", and its message in *RET_MSG. */
static char *parse_bad(const char *body, const json_t *schema, const char *path_id)
{
        struct cog_request *r = NULL;
        struct hoist_error *err = NULL;
        json_t *detail = NULL, *loc, *e;
        char buf[256] = "";
        size_t i;

        assert_int_equal(cog_request_parse(body, strlen(body), schema, path_id, &r, &detail, &err),
                         -1);
        assert_null(r);
        assert_non_null(err);
        loc = json_object_get(json_array_get(json_object_get(detail, "detail"), 0), "loc");
        json_array_foreach(loc, i, e)
        {
                if (i > 0)
                        strcat(buf, ".");
                strncat(buf, json_string_value(e), 60);
        }
        assert_non_null(json_string_value(
                json_object_get(json_array_get(json_object_get(detail, "detail"), 0), "msg")));
        hoist_error_free(err);
        json_decref(detail);
        return strdup(buf);
}

static void test_valid(void **state)
{
        struct cog_request *r;
        char *shown;

        (void)state;
        r = parse_ok("{\"input\": {\"hoist_job_url\": \"s3://b/jobs/j/job.json\", \"epochs\": 4, "
                     "\"hoist_env\": \"{\\\"AWS_SECRET_ACCESS_KEY\\\": \\\"s3cr3t-v4lue\\\"}\"}, "
                     "\"webhook\": \"https://h/x\", \"webhook_events_filter\": [\"completed\"]}",
                     NULL, NULL);
        assert_string_equal(r->job_url, "s3://b/jobs/j/job.json");
        assert_int_equal(r->n_env, 1);
        assert_string_equal(r->env[0].key, "AWS_SECRET_ACCESS_KEY");
        assert_string_equal(r->env[0].value, "s3cr3t-v4lue");
        assert_int_equal(r->events, COG_EVENT_COMPLETED);
        assert_null(json_object_get(r->overrides, "hoist_env"));
        assert_int_equal(json_integer_value(json_object_get(r->overrides, "epochs")), 4);
        shown = json_dumps(r->input, JSON_COMPACT);
        assert_null(strstr(shown, "s3cr3t"));
        assert_non_null(strstr(shown, COG_SECRET_MASK));
        free(shown);
        assert_null(r->id);
        cog_request_free(r);

        r = parse_ok("{\"input\": {\"hoist_job_url\": \"file:///j.json\"}}", NULL, "tr-1");
        assert_string_equal(r->id, "tr-1");
        assert_int_equal(r->events, COG_EVENTS_ALL);
        cog_request_free(r);
}

static void test_invalid(void **state)
{
        static const struct {
                const char *body, *path_id, *loc;
        } cases[] = {
                {"{\"input\": {}}", NULL, "body.input.hoist_job_url"},
                {"{}", NULL, "body.input"},
                {"[]", NULL, "body"},
                {"{\"input\": {\"hoist_job_url\": \"ftp://x\"}}", NULL, "body.input.hoist_job_url"},
                {"{\"input\": {\"hoist_job_url\": \"s3://b/k\", \"hoist_env\": "
                 "\"{\\\"HOIST_JOB_URL\\\": \\\"x\\\"}\"}}",
                 NULL, "body.input.hoist_env"},
                {"{\"input\": {\"hoist_job_url\": \"s3://b/k\", \"hoist_env\": 3}}", NULL,
                 "body.input.hoist_env"},
                {"{\"input\": {\"hoist_job_url\": \"s3://b/k\", \"x\": [1]}}", NULL,
                 "body.input.x"},
                {"{\"input\": {\"hoist_job_url\": \"s3://b/k\", \"input_train\": \"x\"}}", NULL,
                 "body.input.input_train"},
                {"{\"input\": {\"hoist_job_url\": \"s3://b/k\"}, \"webhook\": \"ftp://h\"}", NULL,
                 "body.webhook"},
                {"{\"input\": {\"hoist_job_url\": \"s3://b/k\"}, \"webhook_events_filter\": "
                 "[\"x\"]}",
                 NULL, "body.webhook_events_filter"},
                {"{\"id\": \"a\", \"input\": {\"hoist_job_url\": \"s3://b/k\"}}", "b", "body.id"},
                {"{\"id\": \"a/b\", \"input\": {\"hoist_job_url\": \"s3://b/k\"}}", NULL,
                 "body.id"},
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                char *loc = parse_bad(cases[i].body, NULL, cases[i].path_id);
                if (strcmp(loc, cases[i].loc) != 0)
                        fail_msg("case %zu: loc %s, want %s", i, loc, cases[i].loc);
                free(loc);
        }
}

static void test_schema_types(void **state)
{
        struct jobspec *spec = jobspec_new();
        struct hoist_error *err = NULL;
        json_t *doc = NULL;
        const json_t *ti;
        char *loc;

        (void)state;
        spec->id = strdup("j");
        jobspec_kv_add(&spec->hyperparameters, &spec->n_hyperparameters, "epochs", "3");
        jobspec_kv_add(&spec->hyperparameters, &spec->n_hyperparameters, "lr", "0.1");
        assert_int_equal(cog_openapi_schema(spec, &doc, &err), 0);
        ti = json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"),
                             "TrainingInput");
        cog_request_free(parse_ok("{\"input\": {\"hoist_job_url\": \"s3://b/k\", \"epochs\": 5, "
                                  "\"lr\": 1}}",
                                  ti, NULL));
        loc = parse_bad("{\"input\": {\"hoist_job_url\": \"s3://b/k\", \"epochs\": 0.5}}", ti,
                        NULL);
        assert_string_equal(loc, "body.input.epochs");
        free(loc);
        loc = parse_bad("{\"input\": {\"hoist_job_url\": \"s3://b/k\", \"other\": 1}}", ti, NULL);
        assert_string_equal(loc, "body.input.other");
        free(loc);
        json_decref(doc);
        jobspec_free(spec);
}

static void test_value_text(void **state)
{
        static const struct {
                const char *json, *text;
        } cases[] = {{"5", "5"},          {"-3", "-3"},     {"0.1", "0.1"},     {"2.0", "2.0"},
                     {"1e100", "1e+100"}, {"true", "true"}, {"false", "false"}, {"\"x y\"", "x y"}};

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
                char *t = cog_job_value_text(v);
                assert_string_equal(t, cases[i].text);
                free(t);
                json_decref(v);
        }
        json_t *a = json_array();
        assert_null(cog_job_value_text(a));
        json_decref(a);
}

static void test_weights_url(void **state)
{
        struct jobspec *spec = jobspec_new();
        char *u;

        (void)state;
        spec->id = strdup("j-1");
        spec->storage.endpoint = strdup("http://127.0.0.1:9000");
        spec->storage.bucket = strdup("bkt");
        spec->storage.prefix = strdup("team/");
        u = cog_job_weights_url(spec);
        assert_string_equal(u, "s3://bkt/team/jobs/j-1/output/");
        free(u);
        free(spec->storage.endpoint);
        spec->storage.endpoint = strdup("file:///srv/store/");
        free(spec->storage.prefix);
        spec->storage.prefix = strdup("");
        u = cog_job_weights_url(spec);
        assert_string_equal(u, "file:///srv/store/jobs/j-1/output/");
        free(u);
        jobspec_free(spec);
}

static void test_url_for_log(void **state)
{
        static const struct {
                const char *in, *out;
        } cases[] = {
                {"https://h/p/job.json?X-Amz-Signature=abc", "https://h/p/job.json?..."},
                {"https://u:pw@h/p#frag", "https://[credentials]@h/p?..."},
                {"s3://b/k", "s3://b/k"},
                {"file:///a/b", "file:///a/b"},
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                char *o = cog_url_for_log(cases[i].in);
                assert_string_equal(o, cases[i].out);
                free(o);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid),        cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_schema_types), cmocka_unit_test(test_value_text),
                cmocka_unit_test(test_weights_url),  cmocka_unit_test(test_url_for_log),
        };
        return cmocka_run_group_tests_name("cog_request", tests, NULL, NULL);
}
