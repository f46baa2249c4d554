/* SPDX-License-Identifier: MIT */
/* What the compose provider writes (providers/compose_render.c): the
 * compose.yaml of a job on a network of its own and of one on the host's
 * network, and the env file with the values it refuses.  The integration
 * suite (test_compose.sh) runs what it writes and compares a 2-node GPU
 * job with tests/data/compose/golden/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "jobspec.h"
#include "providers/compose_render.h"
#include "xalloc.h"

static struct jobspec spec_of(int64_t nodes, const char *endpoint)
{
        return (struct jobspec){
                .id = (char *)"j-0123456789ab",
                .nodes = nodes,
                .stop_grace_s = 20,
                .storage = {.endpoint = (char *)endpoint},
        };
}

static char *render(const struct compose_plan *p)
{
        struct hoist_error *err = NULL;
        char *text = NULL;

        if (compose_render_yaml(p, &text, &err) < 0)
                fail_msg("%s", err->msg);
        return text;
}

static void test_own_network(void **state)
{
        struct jobspec spec = spec_of(3, "file:///srv/store");
        struct compose_plan p = {.spec = &spec,
                                 .job_id = "j-0123456789ab",
                                 .job_url = "file:///srv/store/jobs/j-0123456789ab/job.json",
                                 .storage_root = "/srv/store",
                                 .image = "img: with \"quotes\"",
                                 .bundle = "/opt/b",
                                 .secrets = 1};
        _cleanup_free_ char *y = NULL;

        (void)state;
        assert_int_equal(compose_needs_host_network(&spec), 0);
        y = render(&p);
        assert_non_null(strstr(y, "  node2:\n"));
        assert_null(strstr(y, "  node3:\n"));
        assert_non_null(strstr(y, "HOIST_NODE_HOSTS: \"node0,node1,node2\""));
        assert_non_null(strstr(y, "HOIST_NODE_RANK: \"2\""));
        assert_null(strstr(y, "HOIST_NODE:"));
        /* a value cannot change the file's structure */
        assert_non_null(strstr(y, "image: \"img: with \\\"quotes\\\"\""));
        assert_non_null(strstr(y, "stop_grace_period: \"50s\""));
        assert_non_null(strstr(y, "env_file: [\"secrets.env\"]"));
        assert_non_null(strstr(y, "\"/srv/store:/srv/store\""));
        assert_non_null(strstr(y, "\"/opt/b:/opt/hoist:ro\""));
        assert_non_null(strstr(y, "    name: \"hoist-j-0123456789ab\"\n"));
        assert_null(strstr(y, "network_mode"));
        assert_null(strstr(y, "deploy:"));
}

static void test_host_network(void **state)
{
        struct jobspec spec = spec_of(2, "http://127.0.0.1:9000");
        struct compose_plan p = {.spec = &spec,
                                 .job_id = "j-0123456789ab",
                                 .job_url = "s3://b/jobs/j-0123456789ab/job.json",
                                 .image = "i"};
        _cleanup_free_ char *y = NULL;

        (void)state;
        spec.resources.gpus = 4;
        spec.resources.cpus_milli = 500;
        p.host_network = compose_needs_host_network(&spec);
        assert_int_equal(p.host_network, 1);
        y = render(&p);
        assert_non_null(strstr(y, "HOIST_NODE_HOSTS: \"127.0.0.1,127.0.0.1\""));
        assert_non_null(strstr(y, "network_mode: \"host\""));
        assert_null(strstr(y, "networks:"));
        assert_null(strstr(y, "hostname:"));
        assert_null(strstr(y, "env_file"));
        assert_null(strstr(y, "volumes:"));
        assert_non_null(strstr(y, "cpus: \"0.5\""));
        assert_non_null(strstr(y, "count: 4\n"));
}

static void test_single_node_and_no_image(void **state)
{
        struct jobspec spec = spec_of(1, "https://s3.example.com");
        struct compose_plan p = {
                .spec = &spec, .job_id = "j-1", .job_url = "s3://b/j", .image = "i"};
        struct hoist_error *err = NULL;
        _cleanup_free_ char *y = NULL;
        char *none = NULL;

        (void)state;
        y = render(&p);
        assert_non_null(strstr(y, "HOIST_NODE: \"main\""));
        assert_null(strstr(y, "HOIST_NODE_HOSTS"));
        assert_null(strstr(y, "entrypoint:")); /* no command: the image's own */
        p.image = NULL;
        assert_int_equal(compose_render_yaml(&p, &none, &err), -1);
        assert_non_null(strstr(err->msg, "has no image"));
        hoist_error_free(err);
}

static void test_env_file(void **state)
{
        char *ok[] = {(char *)"AWS_SECRET_ACCESS_KEY=ab/cd+ef==", (char *)"EMPTY=",
                      (char *)"HASH=a#b", NULL};
        const char *bad[] = {"A=line\nbreak", "A='quoted'", "A=\"quoted\"", "A=pa$word",
                             "A=x #y",        "A= lead",    "A=trail ",     NULL};
        _cleanup_free_ char *text = NULL;
        struct hoist_error *err = NULL;

        (void)state;
        assert_int_equal(compose_env_file(ok, &text, &err), 0);
        assert_string_equal(text, "AWS_SECRET_ACCESS_KEY=ab/cd+ef==\nEMPTY=\nHASH=a#b\n");
        for (size_t i = 0; bad[i] != NULL; i++) {
                char *v[] = {(char *)bad[i], NULL};
                char *out = NULL;
                assert_int_equal(compose_env_file(v, &out, &err), -1);
                assert_null(out);
                /* names the secret, never shows its value */
                assert_non_null(strstr(err->msg, "secret 'A'"));
                assert_null(strstr(err->msg, bad[i] + 2));
                hoist_error_free(err);
                err = NULL;
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_own_network),
                cmocka_unit_test(test_host_network),
                cmocka_unit_test(test_single_node_and_no_image),
                cmocka_unit_test(test_env_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
