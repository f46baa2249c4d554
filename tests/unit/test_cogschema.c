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
#include "error.h"
#include "jobspec.h"

static const char job_json[] =
        "{\"version\":\"hoist/v1\",\"id\":\"j-1\",\"storage\":{\"endpoint\":\"file:///tmp/s\"},"
        "\"hyperparameters\":{\"epochs\":\"3\",\"lr\":\"0.001\",\"fp16\":\"true\",\"name\":\"x\"},"
        "\"inputs\":[{\"channel\":\"train\",\"source\":\"blobs/sha256/aa\"}]}";

static json_t *prop(json_t *doc, const char *name)
{
        return json_object_get(
                json_object_get(json_object_get(json_object_get(json_object_get(doc, "components"),
                                                                "schemas"),
                                                "TrainingInput"),
                                "properties"),
                name);
}

static void test_generic(void **state)
{
        json_t *doc = NULL, *p;
        struct hoist_error *err = NULL;
        const char *paths[] = {"/",
                               "/health-check",
                               "/trainings",
                               "/trainings/{training_id}",
                               "/trainings/{training_id}/cancel",
                               "/shutdown"};
        const char *schemas[] = {
                "TrainingInput", "TrainingOutput", "TrainingRequest", "TrainingResponse",
                "Status",        "Input",          "Output"};

        (void)state;
        assert_int_equal(cog_openapi_schema(NULL, &doc, &err), 0);
        assert_non_null(doc);
        assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.0.2");
        for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
                assert_non_null(json_object_get(json_object_get(doc, "paths"), paths[i]));
        assert_int_equal(json_object_size(json_object_get(doc, "paths")), 6);
        for (size_t i = 0; i < sizeof schemas / sizeof *schemas; i++)
                assert_non_null(json_object_get(
                        json_object_get(json_object_get(doc, "components"), "schemas"),
                        schemas[i]));
        p = prop(doc, "hoist_env");
        assert_true(json_is_true(json_object_get(p, "x-cog-secret")));
        assert_true(json_is_true(json_object_get(p, "writeOnly")));
        assert_string_equal(json_string_value(json_object_get(p, "format")), "password");
        assert_string_equal(json_string_value(json_object_get(prop(doc, "hoist_job_url"), "title")),
                            "Hoist Job Url");
        assert_null(prop(doc, "epochs"));
        json_decref(doc);
}

static void test_job(void **state)
{
        json_t *doc = NULL, *p;
        struct jobspec *spec = NULL;
        struct hoist_error *err = NULL;
        char *a, *b;

        (void)state;
        assert_int_equal(jobspec_parse(job_json, strlen(job_json), "t", &spec, &err), 0);
        assert_int_equal(cog_openapi_schema(spec, &doc, &err), 0);
        p = prop(doc, "epochs");
        assert_string_equal(json_string_value(json_object_get(p, "type")), "integer");
        assert_int_equal(json_integer_value(json_object_get(p, "default")), 3);
        assert_int_equal(json_integer_value(json_object_get(p, "x-order")), 2);
        p = prop(doc, "lr");
        assert_string_equal(json_string_value(json_object_get(p, "type")), "number");
        assert_true(json_real_value(json_object_get(p, "default")) == 0.001);
        assert_string_equal(json_string_value(json_object_get(prop(doc, "fp16"), "type")),
                            "boolean");
        assert_string_equal(json_string_value(json_object_get(prop(doc, "name"), "type")),
                            "string");
        p = prop(doc, "input_train");
        assert_string_equal(json_string_value(json_object_get(p, "format")), "uri");
        /* The same job gives the same bytes: the label is reproducible. */
        a = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(doc);
        assert_int_equal(cog_openapi_schema(spec, &doc, &err), 0);
        b = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(a, b);
        free(a);
        free(b);
        json_decref(doc);
        jobspec_free(spec);
}

static void test_reserved_name(void **state)
{
        struct jobspec *spec = jobspec_new();
        json_t *doc = NULL;
        struct hoist_error *err = NULL;

        (void)state;
        spec->id = strdup("j-2");
        jobspec_kv_add(&spec->hyperparameters, &spec->n_hyperparameters, "hoist_env", "x");
        assert_int_equal(cog_openapi_schema(spec, &doc, &err), -1);
        assert_null(doc);
        assert_non_null(strstr(err->msg, "'hoist_env'"));
        hoist_error_free(err);
        jobspec_free(spec);
}

static void test_values(void **state)
{
        static const struct {
                const char *in;
                int type;
        } cases[] = {{"1", JSON_INTEGER},   {"-7", JSON_INTEGER},  {"1e3", JSON_REAL},
                     {"0.5", JSON_REAL},    {"inf", JSON_STRING},  {"nan", JSON_STRING},
                     {"0x10", JSON_STRING}, {" 1", JSON_STRING},   {"", JSON_STRING},
                     {"true", JSON_TRUE},   {"True", JSON_STRING}, {"1.2.3", JSON_STRING}};
        char *t;

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                json_t *v = cog_hyperparameter_value(cases[i].in);
                assert_int_equal(json_typeof(v), cases[i].type);
                json_decref(v);
        }
        t = cog_title("max_train_steps");
        assert_string_equal(t, "Max Train Steps");
        free(t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_generic),
                cmocka_unit_test(test_job),
                cmocka_unit_test(test_reserved_name),
                cmocka_unit_test(test_values),
        };
        return cmocka_run_group_tests_name("cogschema", tests, NULL, NULL);
}
