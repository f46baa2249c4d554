/* SPDX-License-Identifier: MIT */
/* What the kubernetes provider sends and how it reads what it gets back
 * (providers/kubernetes_render.c, kubernetes_settings.c, kubernetes_state.c,
 * lib/yamlout.c).  Rendered objects are compared with golden copies in
 * tests/data/kubernetes/golden/ (HOIST_UPDATE_GOLDEN=1 rewrites them), which
 * tests/peers/kube_validate.py checks against the official batch/v1 and
 * core/v1 schemas and reads with python3-kubernetes in test_kubernetes.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "config.h"
#include "fsutil.h"
#include "jobspec.h"
#include "providers/kubernetes_render.h"
#include "providers/kubernetes_settings.h"
#include "providers/kubernetes_state.h"
#include "xalloc.h"
#include "yamlout.h"

#define DATA "tests/data/kubernetes"

static struct kubernetes_settings *settings_from(const char *yaml)
{
        _cleanup_config_node_ struct config_node *root = NULL;
        struct kubernetes_settings *s = NULL;
        struct hoist_error *err = NULL;

        assert_int_equal(config_parse(yaml, strlen(yaml), "job.yaml", &root, &err), 0);
        if (kubernetes_settings_load(config_get(root, "kubernetes"), "job.yaml", &s, &err) < 0)
                fail_msg("%s", err->msg);
        return s;
}

static char *settings_error(const char *yaml)
{
        _cleanup_config_node_ struct config_node *root = NULL;
        struct kubernetes_settings *s = NULL;
        struct hoist_error *err = NULL;
        char *msg;

        assert_int_equal(config_parse(yaml, strlen(yaml), "job.yaml", &root, &err), 0);
        assert_int_equal(
                kubernetes_settings_load(config_get(root, "kubernetes"), "job.yaml", &s, &err), -1);
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

static struct jobspec *spec_new(int64_t nodes)
{
        struct jobspec *spec = jobspec_new();

        spec->id = xstrdup("j-0123456789ab");
        spec->nodes = nodes;
        spec->attempt = 1;
        spec->max_runtime_s = 3600;
        spec->stop_grace_s = 30;
        return spec;
}

static char *render(const struct kubernetes_settings *s, const struct jobspec *spec, int secrets)
{
        const struct kubernetes_plan p = {
                .spec = spec,
                .set = s,
                .job_id = spec->id,
                .attempt = spec->attempt,
                .namespace = "ml",
                .job_url = "s3://my-bucket/team/jobs/j-0123456789ab/job.json",
                .image = "registry.example.com/team/train:v1",
                .secrets = secrets,
        };
        struct hoist_error *err = NULL;
        char *text = NULL;

        if (kubernetes_plan_check(&p, &err) < 0 || kubernetes_render_yaml(&p, &text, &err) < 0)
                fail_msg("%s", err->msg);
        return text;
}

static void test_render_golden(void **state)
{
        _cleanup_kubernetes_settings_ struct kubernetes_settings *plain = kubernetes_settings_new();
        _cleanup_kubernetes_settings_ struct kubernetes_settings *full = settings_from(
                "kubernetes:\n"
                "  namespace: ml\n"
                "  node_selector: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}\n"
                "  tolerations:\n"
                "    - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}\n"
                "    - {key: spot, operator: Equal, value: \"true\", effect: NoExecute, "
                "toleration_seconds: 5m}\n"
                "  service_account: trainer\n"
                "  image_pull_secret: regcred\n"
                "  priority_class: high\n"
                "  labels: {team: vision, cost-center: \"1234\"}\n"
                "  annotations: {example.com/owner: \"ada@example.com\"}\n");
        _cleanup_kubernetes_settings_ struct kubernetes_settings *kueue =
                settings_from("kubernetes: {queue: team-a}\n");
        _cleanup_jobspec_ struct jobspec *one = spec_new(1);
        _cleanup_jobspec_ struct jobspec *two = spec_new(2);
        _cleanup_jobspec_ struct jobspec *gpu = spec_new(1);
        char *t;

        (void)state;
        t = render(plain, one, 1);
        check_golden("single.yaml", t);
        free(t);

        two->port = 29400;
        two->retry_on = xcalloc(2, sizeof(char *));
        two->retry_on[0] = xstrdup("failure");
        two->retry_max = 2;
        two->resources.cpus_milli = 1500;
        two->resources.memory_bytes = 2ULL << 30;
        t = render(plain, two, 1);
        check_golden("multinode.yaml", t);
        free(t);

        gpu->resources.gpus = 8;
        gpu->resources.cpus_milli = 32000;
        gpu->resources.memory_bytes = 256ULL << 30;
        gpu->resources.disk_bytes = 500000000000ULL;
        t = render(full, gpu, 1);
        check_golden("gpu.yaml", t);
        free(t);

        t = render(kueue, one, 0);
        check_golden("kueue.yaml", t);
        /* no Secret without secrets, no secret mount */
        assert_null(strstr(t, "kind: Secret"));
        assert_null(strstr(t, "HOIST_SECRETS_FILE"));
        free(t);
}

static void test_render_objects(void **state)
{
        _cleanup_kubernetes_settings_ struct kubernetes_settings *s = kubernetes_settings_new();
        _cleanup_jobspec_ struct jobspec *two = spec_new(2);
        const struct kubernetes_plan p = {
                .spec = two,
                .set = s,
                .job_id = two->id,
                .attempt = 3,
                .namespace = "default",
                .job_url = "s3://b/jobs/j-0123456789ab/job.json",
                .image = "img",
                .secrets = 1,
                .secrets_json = "{\"A\":\"b\"}",
                .job_uid = "0c8c2f0e-1111-2222-3333-444455556666",
        };
        json_t *all = kubernetes_render_all(&p);
        json_t *job = json_array_get(all, 0), *secret = json_array_get(all, 1);
        json_t *svc = json_array_get(all, 2);

        (void)state;
        assert_int_equal(json_array_size(all), 3);
        assert_string_equal(json_string_value(json_object_get(job, "kind")), "Job");
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(job, "metadata"), "name")),
                "hoist-j-0123456789ab-3");
        /* the value goes in the Secret, and only there */
        assert_string_equal(json_string_value(json_object_get(json_object_get(secret, "stringData"),
                                                              KUBERNETES_SECRETS_KEY)),
                            "{\"A\":\"b\"}");
        char *jt = json_dumps(job, 0);
        assert_null(strstr(jt, "\"b\""));
        free(jt);
        json_t *owner = json_array_get(
                json_object_get(json_object_get(svc, "metadata"), "ownerReferences"), 0);
        assert_string_equal(json_string_value(json_object_get(owner, "uid")),
                            "0c8c2f0e-1111-2222-3333-444455556666");
        assert_string_equal(json_string_value(json_object_get(owner, "kind")), "Job");
        json_decref(all);

        _cleanup_free_ char *path = kubernetes_collection_path("ml", "Job");
        assert_string_equal(path, "/apis/batch/v1/namespaces/ml/jobs");

        /* A pull Secret from hoist's registry credentials: named by the
         * pod, the credential in it only, a placeholder until submit. */
        struct kubernetes_plan q = p;
        q.pull_registry = "reg.example.com";
        q.pull_source = "/home/a/.docker/config.json";
        q.pull_json = "{\"auths\":{\"reg.example.com\":{\"auth\":\"dTpQVw==\"}}}";
        all = kubernetes_render_all(&q);
        assert_int_equal(json_array_size(all), 4);
        json_t *pull = json_array_get(all, 2);
        assert_string_equal(json_string_value(json_object_get(pull, "type")),
                            "kubernetes.io/dockerconfigjson");
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(pull, "metadata"), "name")),
                "hoist-j-0123456789ab-3-pull");
        assert_string_equal(json_string_value(json_object_get(json_object_get(pull, "stringData"),
                                                              ".dockerconfigjson")),
                            q.pull_json);
        json_t *ips = json_object_get(
                json_object_get(json_object_get(json_object_get(json_array_get(all, 0), "spec"),
                                                "template"),
                                "spec"),
                "imagePullSecrets");
        assert_string_equal(json_string_value(json_object_get(json_array_get(ips, 0), "name")),
                            "hoist-j-0123456789ab-3-pull");
        jt = json_dumps(json_array_get(all, 0), 0);
        assert_null(strstr(jt, "dTpQVw=="));
        free(jt);
        json_decref(all);
        q.pull_json = NULL;
        pull = kubernetes_render_pull_secret(&q);
        assert_string_equal(json_string_value(json_object_get(json_object_get(pull, "stringData"),
                                                              ".dockerconfigjson")),
                            "<the registry credentials for reg.example.com from "
                            "/home/a/.docker/config.json: filled in at submit, never shown>");
        json_decref(pull);
        /* an image_pull_secret named: that one, none made */
        _cleanup_kubernetes_settings_ struct kubernetes_settings *named = kubernetes_settings_new();
        named->image_pull_secret = xstrdup("regcred");
        q.set = named;
        all = kubernetes_render_all(&q);
        assert_int_equal(json_array_size(all), 3);
        jt = json_dumps(all, 0);
        assert_non_null(strstr(jt, "\"imagePullSecrets\": [{\"name\": \"regcred\"}]"));
        assert_null(strstr(jt, "-pull"));
        free(jt);
        json_decref(all);
}

static void test_plan_refusals(void **state)
{
        _cleanup_kubernetes_settings_ struct kubernetes_settings *s = kubernetes_settings_new();
        _cleanup_jobspec_ struct jobspec *one = spec_new(1);
        struct kubernetes_plan p = {
                .spec = one,
                .set = s,
                .job_id = one->id,
                .attempt = 1,
                .namespace = "ml",
                .job_url = "s3://b/j",
                .image = NULL,
        };
        struct hoist_error *err = NULL;

        (void)state;
        assert_int_equal(kubernetes_plan_check(&p, &err), -1);
        assert_non_null(strstr(err->msg, "'image'"));
        hoist_error_free(err);
        err = NULL;
        p.image = "x";
        p.namespace = "Bad_NS";
        assert_int_equal(kubernetes_plan_check(&p, &err), -1);
        assert_non_null(strstr(err->msg, "kubernetes.namespace"));
        hoist_error_free(err);
}

static void test_settings(void **state)
{
        static const struct {
                const char *yaml, *want;
        } bad[] = {
                {"kubernetes: {namspace: ml}\n", "namespace"},
                {"kubernetes: {namespace: ML}\n", "not a namespace name"},
                {"kubernetes: {labels: {\"a b\": x}}\n", "not a Kubernetes key"},
                {"kubernetes: {labels: {team: \"-x\"}}\n", "not a label value"},
                {"kubernetes: {labels: {hoist.dev/job-id: x}}\n", "hoist's to set"},
                {"kubernetes: {labels: {kueue.x-k8s.io/queue-name: x}}\n", "kubernetes.queue"},
                {"kubernetes: {tolerations: [{key: a, operator: Maybe}]}\n", "Equal or Exists"},
                {"kubernetes: {tolerations: [{key: a, effect: Never}]}\n", "NoSchedule"},
                {"kubernetes: {tolerations: [{operator: Equal, value: x}]}\n",
                 "needs operator: Exists"},
                {"kubernetes: {tolerations: [{key: a, operator: Exists, value: x}]}\n",
                 "takes no value"},
                {"kubernetes: {tolerations: [{key: a, toleration_seconds: 5}]}\n", "NoExecute"},
                {"kubernetes: {tolerations: {key: a}}\n", "list of tolerations"},
                {"kubernetes: {service_account: \"Not_OK\"}\n", "service account"},
                {"kubernetes: {queue: \"a b\"}\n", "Kueue"},
        };
        (void)state;
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                _cleanup_free_ char *msg = settings_error(bad[i].yaml);
                if (strstr(msg, bad[i].want) == NULL)
                        fail_msg("%s: got '%s', want '%s'", bad[i].yaml, msg, bad[i].want);
                assert_non_null(strstr(msg, "job.yaml"));
        }
        /* kubernetes.json round trip */
        _cleanup_kubernetes_settings_ struct kubernetes_settings *s = settings_from(
                "kubernetes: {namespace: ml, context: prod, queue: q, node_selector: {a: b},\n"
                "  tolerations: [{operator: Exists}], labels: {x: y}, annotations: {n: \"1\"}}\n");
        _cleanup_free_ char *text = kubernetes_settings_to_json(s);
        _cleanup_kubernetes_settings_ struct kubernetes_settings *back = NULL;
        struct hoist_error *err = NULL;
        assert_int_equal(kubernetes_settings_from_json(text, strlen(text), "k.json", &back, &err),
                         0);
        _cleanup_free_ char *again = kubernetes_settings_to_json(back);
        assert_string_equal(text, again);
        assert_string_equal(back->context, "prod");

        assert_true(kubernetes_label_key_valid("example.com/a_b.c-d"));
        assert_false(kubernetes_label_key_valid("/a"));
        assert_false(kubernetes_label_key_valid("a/"));
        assert_true(kubernetes_dns_subdomain_valid("a.b-c"));
        assert_false(kubernetes_dns_subdomain_valid("a..b"));
        assert_false(kubernetes_dns_label_valid("a.b"));
}

/* ---- the state table ---- */

static json_t *obj(const char *text)
{
        json_error_t je;
        json_t *o = json_loads(text, 0, &je);

        if (o == NULL)
                fail_msg("fixture: line %d: %s", je.line, je.text);
        return o;
}

static void expect(const char *job, const char *pods, enum job_state state, int code,
                   const char *reason_part)
{
        json_t *j = job ? obj(job) : NULL, *p = obj(pods);
        struct provider_status st;

        kubernetes_map_status(j, p, &st);
        if (st.state != state)
                fail_msg("%s / %s: state %s, want %s (%s)", job ? job : "-", pods,
                         job_state_name(st.state), job_state_name(state),
                         st.reason ? st.reason : "");
        assert_int_equal(st.exit_code, code);
        if (reason_part == NULL)
                assert_null(st.reason);
        else if (st.reason == NULL || strstr(st.reason, reason_part) == NULL)
                fail_msg("reason '%s' lacks '%s'", st.reason ? st.reason : "(none)", reason_part);
        provider_status_clear(&st);
        json_decref(j);
        json_decref(p);
}

#define JOB(cond) "{\"metadata\":{\"name\":\"hoist-j-1-1\"},\"status\":{\"conditions\":[" cond "]}}"
#define POD(phase, extra)                                                                          \
        "{\"metadata\":{\"name\":\"p\"},\"status\":{\"phase\":\"" phase "\"" extra "}}"
#define TERM(code, why)                                                                            \
        ",\"containerStatuses\":[{\"name\":\"hoist\",\"state\":{\"terminated\":{"                  \
        "\"exitCode\":" #code ",\"reason\":\"" why "\",\"startedAt\":\"2026-12-06T20:00:00Z\"}}}]"

static void test_status_table(void **state)
{
        (void)state;
        expect(NULL, "[]", JOB_FAILED, -1, "gone from the cluster");
        expect(JOB(""), "[]", JOB_SUBMITTED, -1, "no pod yet");
        expect(JOB(""),
               "[" POD("Pending",
                       ",\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"False\","
                       "\"reason\":\"Unschedulable\",\"message\":\"0/3 nodes are available: 3 "
                       "Insufficient nvidia.com/gpu.\"}]") "]",
               JOB_QUEUED, -1,
               "Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.");
        expect(JOB(""),
               "[" POD("Pending",
                       ",\"containerStatuses\":[{\"name\":\"hoist\",\"state\":{\"waiting\":"
                       "{\"reason\":\"ImagePullBackOff\",\"message\":\"Back-off pulling "
                       "image \\\"x\\\"\"}}}]") "]",
               JOB_STARTING, -1, "ImagePullBackOff: the node cannot pull the image");
        expect(JOB(""),
               "[" POD("Pending",
                       ",\"containerStatuses\":[{\"name\":\"hoist\",\"state\":{\"waiting\":"
                       "{\"reason\":\"CreateContainerConfigError\",\"message\":\"secret "
                       "\\\"s\\\" not found\"}}}]") "]",
               JOB_STARTING, -1, "CreateContainerConfigError");
        expect(JOB(""), "[" POD("Running", "") "]", JOB_RUNNING, -1, NULL);
        expect(JOB(""), "[" POD("Running", "") "," POD("Pending", "") "]", JOB_STARTING, -1,
               "still starting");
        expect(JOB("{\"type\":\"Complete\",\"status\":\"True\"}"),
               "[" POD("Succeeded", TERM(0, "Completed")) "]", JOB_SUCCEEDED, 0, NULL);
        expect(JOB("{\"type\":\"Failed\",\"status\":\"True\",\"reason\":\"PodFailurePolicy\","
                   "\"message\":\"Container hoist for pod ns/p failed with exit code 122 matching "
                   "FailJob rule at index 1\"}"),
               "[" POD("Failed", TERM(122, "Error")) "]", JOB_FAILED, 122, "GPU fault");
        expect(JOB("{\"type\":\"Failed\",\"status\":\"True\",\"reason\":\"BackoffLimitExceeded\"}"),
               "[" POD("Failed", TERM(137, "OOMKilled")) "]", JOB_FAILED, 137, "OOMKilled");
        expect(JOB("{\"type\":\"Failed\",\"status\":\"True\",\"reason\":\"BackoffLimitExceeded\"}"),
               "[" POD("Failed", TERM(3, "Error")) "]", JOB_FAILED, 3,
               "exit 3 Error (Job BackoffLimitExceeded)");
        expect(JOB("{\"type\":\"Failed\",\"status\":\"True\",\"reason\":\"DeadlineExceeded\","
                   "\"message\":\"Job was active longer than specified deadline\"}"),
               "[]", JOB_FAILED, -1, "DeadlineExceeded");
        /* evicted: DisruptionTarget, ignored by the podFailurePolicy */
        expect(JOB(""),
               "[" POD("Failed",
                       ",\"reason\":\"Evicted\",\"conditions\":[{\"type\":"
                       "\"DisruptionTarget\",\"status\":\"True\",\"reason\":"
                       "\"EvictionByEvictionAPI\",\"message\":\"Eviction API: evicting\"}]") "]",
               JOB_INTERRUPTED, -1, "EvictionByEvictionAPI: Eviction API: evicting");
        expect(JOB(""),
               "[" POD("Failed", ",\"reason\":\"Evicted\",\"message\":\"The node was low on "
                                 "resource: memory.\"") "]",
               JOB_INTERRUPTED, -1, "Evicted: The node was low");
        /* evicted, and Kubernetes made a new pod: follow that one */
        expect(JOB(""),
               "[" POD("Failed",
                       ",\"conditions\":[{\"type\":\"DisruptionTarget\",\"status\":"
                       "\"True\",\"reason\":\"PreemptionByScheduler\"}]") "," POD("Running",
                                                                                  "") "]",
               JOB_RUNNING, -1, "PreemptionByScheduler");
        expect("{\"metadata\":{\"name\":\"j\",\"labels\":{\"kueue.x-k8s.io/"
               "queue-name\":\"team-a\"}},"
               "\"spec\":{\"suspend\":true},\"status\":{}}",
               "[]", JOB_QUEUED, -1, "Kueue to admit it to queue 'team-a'");
}

static void test_yamlout(void **state)
{
        json_t *v = obj("{\"a\":\"1\",\"b\":\"yes\",\"c\":1,\"d\":\"plain text\",\"e\":[true,null,"
                        "\"\"],\"f\":\"x: y\",\"g\":\"0x1F\",\"h\":\"-5\",\"i\":\"~\"}");
        struct hoist_error *err = NULL;
        char *text = NULL;

        (void)state;
        assert_int_equal(yamlout_value(v, &text, &err), 0);
        assert_string_equal(text, "a: \"1\"\n"
                                  "b: \"yes\"\n"
                                  "c: 1\n"
                                  "d: plain text\n"
                                  "e:\n"
                                  "- true\n"
                                  "- null\n"
                                  "- \"\"\n"
                                  "f: 'x: y'\n"
                                  "g: \"0x1F\"\n"
                                  "h: \"-5\"\n"
                                  "i: \"~\"\n");
        free(text);
        json_decref(v);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_render_golden), cmocka_unit_test(test_render_objects),
                cmocka_unit_test(test_plan_refusals), cmocka_unit_test(test_settings),
                cmocka_unit_test(test_status_table),  cmocka_unit_test(test_yamlout),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
