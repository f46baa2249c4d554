/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "oci.h"

#define H1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define H3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static struct oci_manifest *parse_ok(const char *json, const char *ctype)
{
        struct oci_manifest *m = NULL;
        struct hoist_error *err = NULL;

        if (oci_manifest_parse(json, strlen(json), ctype, &m, &err) < 0)
                fail_msg("%s", err->msg);
        return m;
}

static void parse_bad(const char *json, const char *needle)
{
        struct oci_manifest *m = NULL;
        struct hoist_error *err = NULL;

        assert_int_equal(oci_manifest_parse(json, strlen(json), NULL, &m, &err), -1);
        assert_null(m);
        if (strstr(err->msg, needle) == NULL)
                fail_msg("'%s' lacks '%s'", err->msg, needle);
        hoist_error_free(err);
}

static void test_oci_image(void **state)
{
        (void)state;
        _cleanup_oci_manifest_ struct oci_manifest *m = parse_ok(
                "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_MANIFEST "\","
                "\"config\":{\"mediaType\":\"" OCI_MT_CONFIG "\",\"digest\":\"" H1 "\",\"size\":7},"
                "\"layers\":[{\"mediaType\":\"" OCI_MT_LAYER_GZIP "\",\"digest\":\"" H2 "\","
                "\"size\":1000},{\"mediaType\":\"x\",\"digest\":\"" H3 "\",\"size\":0}]}",
                NULL);
        assert_false(m->is_index);
        assert_string_equal(m->media_type, OCI_MT_MANIFEST);
        assert_string_equal(m->config.digest, H1);
        assert_int_equal(m->config.size, 7);
        assert_int_equal(m->n_items, 2);
        assert_string_equal(m->items[0].digest, H2);
        assert_int_equal(m->items[0].size, 1000);
        assert_string_equal(m->items[1].media_type, "x");
}

static void test_docker_image_from_content_type(void **state)
{
        (void)state;
        /* no mediaType in the document: the Content-Type says what it is */
        _cleanup_oci_manifest_ struct oci_manifest *m = parse_ok(
                "{\"schemaVersion\":2,\"config\":{\"digest\":\"" H1 "\",\"size\":1},\"layers\":[]}",
                DOCKER_MT_MANIFEST);
        assert_string_equal(m->media_type, DOCKER_MT_MANIFEST);
        assert_false(m->is_index);
        assert_int_equal(m->n_items, 0);
}

static void test_index_select(void **state)
{
        (void)state;
        _cleanup_oci_manifest_ struct oci_manifest *m = parse_ok(
                "{\"schemaVersion\":2,\"mediaType\":\"" DOCKER_MT_LIST "\",\"manifests\":["
                "{\"mediaType\":\"" DOCKER_MT_MANIFEST "\",\"digest\":\"" H1 "\",\"size\":1,"
                "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
                "{\"mediaType\":\"" DOCKER_MT_MANIFEST "\",\"digest\":\"" H2 "\",\"size\":2,"
                "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
                "{\"digest\":\"" H3 "\",\"size\":3}]}",
                NULL);
        const struct oci_descriptor *d;

        assert_true(m->is_index);
        assert_int_equal(m->n_items, 3);
        d = oci_index_select(m, "linux", "amd64");
        assert_non_null(d);
        assert_string_equal(d->digest, H2);
        d = oci_index_select(m, "linux", "arm64");
        assert_string_equal(d->variant, "v8");
        assert_null(oci_index_select(m, "windows", "amd64"));

        /* an OCI index recognised by its manifests array alone */
        _cleanup_oci_manifest_ struct oci_manifest *i =
                parse_ok("{\"schemaVersion\":2,\"manifests\":[]}", NULL);
        assert_true(i->is_index);
        assert_string_equal(i->media_type, OCI_MT_INDEX);
}

static void test_invalid(void **state)
{
        (void)state;
        parse_bad("", "not JSON");
        parse_bad("[]", "not a JSON object");
        parse_bad("{\"schemaVersion\":1}", "schema 1");
        parse_bad("{\"schemaVersion\":2,\"mediaType\":\"text/plain\"}", "text/plain");
        parse_bad("{\"schemaVersion\":2,\"layers\":[]}", "config");
        parse_bad("{\"schemaVersion\":2,\"config\":{\"digest\":\"" H1 "\",\"size\":1}}", "layers");
        parse_bad("{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:12\",\"size\":1},"
                  "\"layers\":[]}",
                  "digest");
        parse_bad("{\"schemaVersion\":2,\"config\":{\"digest\":\"" H1
                  "\",\"size\":-1},\"layers\":[]}",
                  "size");
        parse_bad("{\"schemaVersion\":2,\"config\":{\"digest\":\"" H1 "\",\"size\":1},"
                  "\"layers\":[{\"digest\":\"" H1 "\"}]}",
                  "layers[0]");
        parse_bad("{\"schemaVersion\":2,\"schemaVersion\":2}", "not JSON");
        parse_bad("{\"schemaVersion\":2,\"manifests\":[7]}", "manifests[0]");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_oci_image),
                cmocka_unit_test(test_docker_image_from_content_type),
                cmocka_unit_test(test_index_select),
                cmocka_unit_test(test_invalid),
        };
        return cmocka_run_group_tests_name("oci", tests, NULL, NULL);
}
