/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "runner/image/image.h"

static const char *const DIFF1 =
        "sha256:1111111111111111111111111111111111111111111111111111111111111111";
static const char *const DIGEST1 =
        "sha256:2222222222222222222222222222222222222222222222222222222222222222";
static const char *const CFGDIGEST =
        "sha256:3333333333333333333333333333333333333333333333333333333333333333";

static void test_new_config_shape(void **state)
{
        (void)state;
        _cleanup_image_config_ struct image_config *c = image_config_new();
        _cleanup_free_ char *s = image_config_serialize(c, 0);

        assert_string_equal(s, "{\"architecture\":\"amd64\",\"config\":{},\"created\":"
                               "\"1970-01-01T00:00:00Z\",\"history\":[],\"os\":\"linux\","
                               "\"rootfs\":{\"diff_ids\":[],\"type\":\"layers\"}}");
}

/* WORKDIR is cleaned on the text, as Docker and buildah do: never through
 * the image's links, never above "/", no '/' at the end. */
static void test_workdir_is_lexical(void **state)
{
        (void)state;
        static const struct {
                const char *cur, *dir, *want;
        } cases[] = {
                {NULL, "/x", "/x"},         {"/x", "y", "/x/y"},
                {"/x/y", "../z", "/x/z"},   {"/x/z", "e/d", "/x/z/e/d"},
                {NULL, "rel", "/rel"},      {"", "rel", "/rel"},
                {"/a", "../../../c", "/c"}, {"/a", "/b/./c/../d/", "/b/d"},
                {"/a", ".", "/a"},          {"/a", "..", "/"},
                {"/", "//x//y/", "/x/y"},
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                _cleanup_image_config_ struct image_config *c = image_config_new();
                _cleanup_free_ char *got = NULL;
                if (cases[i].cur != NULL)
                        image_config_set_string(c, "WorkingDir", cases[i].cur);
                got = image_config_workdir(c, cases[i].dir);
                if (strcmp(got, cases[i].want) != 0)
                        fail_msg("WorkingDir '%s' + WORKDIR '%s': '%s', want '%s'",
                                 cases[i].cur ? cases[i].cur : "(none)", cases[i].dir, got,
                                 cases[i].want);
        }
}

/* FROM scratch has no Env: Docker's default PATH; a base's own stays. */
static void test_default_path(void **state)
{
        (void)state;
        _cleanup_image_config_ struct image_config *c = image_config_new();

        image_config_default_path(c);
        assert_string_equal(image_config_get_env(c, "PATH"),
                            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        image_config_set_env(c, "PATH", "/bin");
        image_config_default_path(c);
        assert_string_equal(image_config_get_env(c, "PATH"), "/bin");
}

static void test_metadata_fields(void **state)
{
        (void)state;
        _cleanup_image_config_ struct image_config *c = image_config_new();
        const char *const ep[] = {"/bin/app", "--x", NULL};
        _cleanup_free_ char *s = NULL;
        _cleanup_strv_ char **env = NULL;
        _cleanup_strv_ char **got = NULL;

        image_config_set_env(c, "PATH", "/bin");
        image_config_set_env(c, "A", "1");
        image_config_set_env(c, "PATH", "/usr/bin:/bin");
        assert_string_equal(image_config_get_env(c, "PATH"), "/usr/bin:/bin");
        assert_null(image_config_get_env(c, "PAT"));
        env = image_config_env(c);
        assert_string_equal(env[0], "PATH=/usr/bin:/bin");
        assert_string_equal(env[1], "A=1");
        assert_null(env[2]);
        image_config_set_string(c, "WorkingDir", "/work");
        image_config_set_string(c, "User", "1000:1000");
        image_config_set_string(c, "StopSignal", "SIGINT");
        image_config_set_argv(c, "Entrypoint", ep);
        got = image_config_get_argv(c, "Entrypoint");
        assert_string_equal(got[1], "--x");
        assert_null(image_config_get_argv(c, "Cmd"));
        image_config_set_label(c, "org.example", "yes");
        image_config_add_port(c, "8080");
        image_config_add_port(c, "53/udp");
        image_config_add_volume(c, "/data");
        s = image_config_state(c);
        assert_string_equal(
                s, "{\"Entrypoint\":[\"/bin/app\",\"--x\"],\"Env\":[\"PATH=/usr/bin:/bin\","
                   "\"A=1\"],\"ExposedPorts\":{\"53/udp\":{},\"8080/tcp\":{}},\"Labels\":{"
                   "\"org.example\":\"yes\"},\"StopSignal\":\"SIGINT\",\"User\":\"1000:1000\","
                   "\"Volumes\":{\"/data\":{}},\"WorkingDir\":\"/work\"}");
        image_config_set_string(c, "User", NULL);
        assert_null(image_config_get_string(c, "User"));
}

static void test_layers_history_created(void **state)
{
        (void)state;
        _cleanup_image_config_ struct image_config *c = image_config_new();
        _cleanup_free_ char *s = NULL;
        json_auto_t *doc = NULL;

        image_config_add_layer(c, DIFF1, "COPY a /a");
        image_config_add_empty_history(c, "ENV A=1");
        assert_int_equal(image_config_layer_count(c), 1);
        assert_string_equal(image_config_diff_id(c, 0), DIFF1);
        assert_null(image_config_diff_id(c, 1));
        s = image_config_serialize(c, 1700000000);
        doc = json_loads(s, 0, NULL);
        assert_non_null(doc);
        assert_string_equal(json_string_value(json_object_get(doc, "created")),
                            "2023-11-14T22:13:20Z");
        assert_true(json_is_true(json_object_get(json_array_get(json_object_get(doc, "history"), 1),
                                                 "empty_layer")));
        assert_string_equal(json_string_value(json_object_get(
                                    json_array_get(json_object_get(doc, "history"), 0), "created")),
                            "2023-11-14T22:13:20Z");
}

static void test_state_roundtrip(void **state)
{
        (void)state;
        _cleanup_image_config_ struct image_config *a = image_config_new();
        _cleanup_image_config_ struct image_config *b = image_config_new();
        _cleanup_free_ char *sa = NULL, *sb = NULL;
        struct hoist_error *err = NULL;

        image_config_set_env(a, "K", "V");
        image_config_set_string(a, "WorkingDir", "/w");
        sa = image_config_state(a);
        assert_int_equal(image_config_set_state(b, sa, &err), 0);
        sb = image_config_state(b);
        assert_string_equal(sa, sb);
        assert_int_equal(image_config_set_state(b, "[1]", &err), -1);
        assert_non_null(err);
        hoist_error_free(err);
}

static void test_parse_base_keeps_unknown(void **state)
{
        (void)state;
        static const char base[] =
                "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{"
                "\"Env\":[\"PATH=/usr/bin\"],\"Foo\":1},\"rootfs\":{\"type\":"
                "\"layers\",\"diff_ids\":[\"sha256:"
                "1111111111111111111111111111111111111111111111111111111111111111"
                "\"]},\"history\":[{\"created_by\":\"x\"}],\"x-extra\":true}";
        struct hoist_error *err = NULL;
        _cleanup_image_config_ struct image_config *c =
                image_config_parse(base, sizeof base - 1, "base", &err);
        _cleanup_image_config_ struct image_config *copy = NULL;
        _cleanup_free_ char *s = NULL;

        assert_non_null(c);
        assert_int_equal(image_config_layer_count(c), 1);
        assert_string_equal(image_config_get_env(c, "PATH"), "/usr/bin");
        copy = image_config_copy(c);
        image_config_set_env(copy, "PATH", "/x");
        assert_string_equal(image_config_get_env(c, "PATH"), "/usr/bin");
        s = image_config_serialize(c, 0);
        assert_non_null(strstr(s, "\"x-extra\":true"));
        assert_non_null(strstr(s, "\"Foo\":1"));
        assert_null(image_config_parse("{", 1, "base config", &err));
        assert_non_null(strstr(err->msg, "base config: invalid JSON"));
        hoist_error_release(&err);
        assert_null(image_config_parse("[]", 2, "base config", &err));
        hoist_error_release(&err);
}

static void test_manifest_build_parse(void **state)
{
        (void)state;
        struct image_layer l = {
                .media_type = (char *)IMAGE_MT_LAYER_GZIP, .digest = (char *)DIGEST1, .size = 1234};
        _cleanup_free_ char *m = image_manifest_build(CFGDIGEST, 99, &l, 1);
        _cleanup_free_ char *cfg = NULL;
        struct image_layer *layers = NULL;
        size_t n = 0;
        struct hoist_error *err = NULL;

        assert_string_equal(
                m, "{\"config\":{\"digest\":\"sha256:"
                   "3333333333333333333333333333333333333333333333333333333333333333\","
                   "\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"size\":99},"
                   "\"layers\":[{\"digest\":\"sha256:"
                   "2222222222222222222222222222222222222222222222222222222222222222\","
                   "\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"size\":"
                   "1234}],\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                   "\"schemaVersion\":2}");
        assert_int_equal(image_manifest_parse(m, strlen(m), "m", &cfg, &layers, &n, &err), 0);
        assert_string_equal(cfg, CFGDIGEST);
        assert_int_equal(n, 1);
        assert_string_equal(layers[0].digest, DIGEST1);
        assert_int_equal(layers[0].size, 1234);
        image_layers_free(layers, n);
        assert_int_equal(image_manifest_parse("{\"mediaType\":\"application/vnd.oci.image."
                                              "index.v1+json\",\"manifests\":[]}",
                                              70, "idx", &cfg, &layers, &n, &err),
                         -1);
        assert_non_null(strstr(err->msg, "idx: "));
        hoist_error_release(&err);
        assert_int_equal(image_manifest_parse("{\"config\":{\"digest\":\"bad\",\"size\":1},"
                                              "\"layers\":[]}",
                                              46, "bad", &cfg, &layers, &n, &err),
                         -1);
        hoist_error_release(&err);
}

static void test_source_date_epoch(void **state)
{
        (void)state;
        unsetenv("SOURCE_DATE_EPOCH");
        assert_int_equal(image_source_date_epoch(), 0);
        setenv("SOURCE_DATE_EPOCH", "1234", 1);
        assert_int_equal(image_source_date_epoch(), 1234);
        setenv("SOURCE_DATE_EPOCH", "12x", 1);
        assert_int_equal(image_source_date_epoch(), 0);
        unsetenv("SOURCE_DATE_EPOCH");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_new_config_shape),
                cmocka_unit_test(test_metadata_fields),
                cmocka_unit_test(test_workdir_is_lexical),
                cmocka_unit_test(test_default_path),
                cmocka_unit_test(test_layers_history_created),
                cmocka_unit_test(test_state_roundtrip),
                cmocka_unit_test(test_parse_base_keeps_unknown),
                cmocka_unit_test(test_manifest_build_parse),
                cmocka_unit_test(test_source_date_epoch),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
