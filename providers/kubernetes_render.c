/* SPDX-License-Identifier: MIT */
#include "kubernetes_render.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "xalloc.h"
#include "yamlout.h"

#define UID_PLACEHOLDER "<the uid of the Job above, known once it is created>"
#define SECRET_PLACEHOLDER "<the job's secrets object: filled in at submit, never shown>"
/* Indexed Jobs take at most 100000 completions (batch/v1 validation). */
#define MAX_INDEXED 100000

char *kubernetes_job_name(const char *job_id, int64_t attempt)
{
        return xasprintf("hoist-%s-%" PRId64, job_id, attempt > 0 ? attempt : 1);
}

char *kubernetes_collection_path(const char *ns, const char *kind)
{
        if (strcmp(kind, "Job") == 0)
                return xasprintf("/apis/batch/v1/namespaces/%s/jobs", ns);
        if (strcmp(kind, "Secret") == 0)
                return xasprintf("/api/v1/namespaces/%s/secrets", ns);
        if (strcmp(kind, "Service") == 0)
                return xasprintf("/api/v1/namespaces/%s/services", ns);
        return xasprintf("/api/v1/namespaces/%s/pods", ns);
}

static int64_t nodes_of(const struct kubernetes_plan *p)
{
        return p->spec->nodes > 1 ? p->spec->nodes : 1;
}

int kubernetes_plan_check(const struct kubernetes_plan *p, struct hoist_error **err)
{
        _cleanup_free_ char *name = kubernetes_job_name(p->job_id, p->attempt);

        if (p->image == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "the kubernetes provider runs the job's image, and the "
                                        "job has none: set 'image' (or 'build') in job.yaml");
        if (nodes_of(p) > MAX_INDEXED)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "resources.nodes is %" PRId64
                                        "; an Indexed Job takes at most %d",
                                        nodes_of(p), MAX_INDEXED);
        if (!kubernetes_dns_label_valid(p->namespace))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "namespace '%s' is not a Kubernetes namespace name "
                                        "(set kubernetes.namespace)",
                                        p->namespace);
        /* <name>-<index> is each pod's hostname: a DNS label. */
        if (strlen(name) + 7 > 63)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "job name '%s' is too long for Kubernetes", name);
        return 0;
}

static json_t *labels(const struct kubernetes_plan *p, int user)
{
        json_t *l = json_object();
        char attempt[24];

        snprintf(attempt, sizeof attempt, "%" PRId64, p->attempt > 0 ? p->attempt : 1);
        if (user && p->set->labels != NULL)
                (void)json_object_update(l, p->set->labels);
        (void)json_object_set_new(l, "app.kubernetes.io/managed-by", json_string("hoist"));
        (void)json_object_set_new(l, KUBERNETES_LABEL_JOB, json_string(p->job_id));
        (void)json_object_set_new(l, KUBERNETES_LABEL_ATTEMPT, json_string(attempt));
        return l;
}

static json_t *metadata(const struct kubernetes_plan *p, const char *name, int owned)
{
        json_t *m = json_pack("{s:s,s:s,s:o}", "name", name, "namespace", p->namespace, "labels",
                              labels(p, 1));
        _cleanup_free_ char *job = kubernetes_job_name(p->job_id, p->attempt);

        if (p->set->annotations != NULL)
                (void)json_object_set(m, "annotations", p->set->annotations);
        if (owned)
                (void)json_object_set_new(m, "ownerReferences",
                                          json_pack("[{s:s,s:s,s:s,s:s,s:b,s:b}]", "apiVersion",
                                                    "batch/v1", "kind", "Job", "name", job, "uid",
                                                    p->job_uid ? p->job_uid : UID_PLACEHOLDER,
                                                    "controller", 1, "blockOwnerDeletion", 1));
        return m;
}

/* A quantity as the API writes it: "1500m" or "2" CPUs, "2Gi" or bytes. */
static json_t *cpu_quantity(int64_t milli)
{
        if (milli % 1000 == 0)
                return json_sprintf("%" PRId64, milli / 1000);
        return json_sprintf("%" PRId64 "m", milli);
}

static json_t *bytes_quantity(uint64_t n)
{
        static const char *const units[] = {"Ki", "Mi", "Gi", "Ti"};
        const char *unit = NULL;

        for (int i = 3; i >= 0 && unit == NULL; i--)
                if (n % (1ULL << (10 * (i + 1))) == 0) {
                        unit = units[i];
                        n >>= 10 * (i + 1);
                }
        return unit ? json_sprintf("%" PRIu64 "%s", n, unit) : json_sprintf("%" PRIu64, n);
}

static json_t *resources(const struct jobspec_resources *r)
{
        json_t *q = json_object();

        if (r->gpus > 0)
                (void)json_object_set_new(q, "nvidia.com/gpu", json_sprintf("%" PRId64, r->gpus));
        if (r->cpus_milli > 0)
                (void)json_object_set_new(q, "cpu", cpu_quantity(r->cpus_milli));
        if (r->memory_bytes > 0)
                (void)json_object_set_new(q, "memory", bytes_quantity(r->memory_bytes));
        if (r->disk_bytes > 0)
                (void)json_object_set_new(q, "ephemeral-storage", bytes_quantity(r->disk_bytes));
        if (json_object_size(q) == 0) {
                json_decref(q);
                return NULL;
        }
        /* Requests equal to limits: the Guaranteed class where all are
         * given, and GPUs (extended resources) must have both equal. */
        return json_pack("{s:O,s:o}", "requests", q, "limits", q);
}

static void env_add(json_t *env, const char *name, const char *value)
{
        (void)json_array_append_new(env, json_pack("{s:s,s:s}", "name", name, "value", value));
}

static json_t *container(const struct kubernetes_plan *p)
{
        _cleanup_free_ char *name = kubernetes_job_name(p->job_id, p->attempt);
        json_t *env = json_array();
        json_t *c, *res;
        char nodes[24];

        env_add(env, "HOIST_JOB_URL", p->job_url);
        if (p->secrets)
                env_add(env, "HOIST_SECRETS_FILE",
                        KUBERNETES_SECRETS_DIR "/" KUBERNETES_SECRETS_KEY);
        if (nodes_of(p) > 1) {
                /* lib/distenv.c: JOB_COMPLETION_INDEX is Kubernetes' own. */
                snprintf(nodes, sizeof nodes, "%" PRId64, nodes_of(p));
                env_add(env, "HOIST_NUM_NODES", nodes);
                env_add(env, "HOIST_K8S_JOB_NAME", name);
                env_add(env, "HOIST_K8S_SUBDOMAIN", name);
        }
        c = json_pack("{s:s,s:s,s:o}", "name", KUBERNETES_CONTAINER, "image", p->image, "env", env);
        if ((res = resources(&p->spec->resources)) != NULL)
                (void)json_object_set_new(c, "resources", res);
        if (p->secrets)
                (void)json_object_set_new(c, "volumeMounts",
                                          json_pack("[{s:s,s:s,s:b}]", "name", "hoist-secrets",
                                                    "mountPath", KUBERNETES_SECRETS_DIR, "readOnly",
                                                    1));
        return c;
}

static json_t *pod_spec(const struct kubernetes_plan *p)
{
        const struct kubernetes_settings *s = p->set;
        _cleanup_free_ char *name = kubernetes_job_name(p->job_id, p->attempt);
        _cleanup_free_ char *secret = xasprintf("%s-secrets", name);
        int64_t grace =
                p->spec->stop_grace_s > 0 ? p->spec->stop_grace_s : JOBSPEC_DEFAULT_STOP_GRACE_S;
        json_t *ps = json_pack(
                "{s:s,s:I,s:[o]}", "restartPolicy", "Never", "terminationGracePeriodSeconds",
                (json_int_t)(grace + KUBERNETES_UPLOAD_MARGIN_S), "containers", container(p));

        if (nodes_of(p) > 1)
                (void)json_object_set_new(ps, "subdomain", json_string(name));
        if (s->service_account != NULL)
                (void)json_object_set_new(ps, "serviceAccountName",
                                          json_string(s->service_account));
        else
                /* The job talks to storage, not to the API server. */
                (void)json_object_set_new(ps, "automountServiceAccountToken", json_false());
        if (s->priority_class != NULL)
                (void)json_object_set_new(ps, "priorityClassName", json_string(s->priority_class));
        if (s->node_selector != NULL)
                (void)json_object_set(ps, "nodeSelector", s->node_selector);
        if (s->tolerations != NULL)
                (void)json_object_set(ps, "tolerations", s->tolerations);
        if (s->image_pull_secret != NULL)
                (void)json_object_set_new(ps, "imagePullSecrets",
                                          json_pack("[{s:s}]", "name", s->image_pull_secret));
        else if (p->pull_registry != NULL)
                (void)json_object_set_new(ps, "imagePullSecrets",
                                          json_pack("[{s:s+}]", "name", name, "-pull"));
        if (p->secrets)
                (void)json_object_set_new(ps, "volumes",
                                          json_pack("[{s:s,s:{s:s,s:i}}]", "name", "hoist-secrets",
                                                    "secret", "secretName", secret, "defaultMode",
                                                    0400));
        return ps;
}

static json_t *failure_policy(void)
{
        return json_pack("{s:[{s:s,s:[{s:s,s:s}]},{s:s,s:{s:s,s:s,s:[i,i]}}]}", "rules", "action",
                         "Ignore", "onPodConditions", "type", "DisruptionTarget", "status", "True",
                         "action", "FailJob", "onExitCodes", "containerName", KUBERNETES_CONTAINER,
                         "operator", "In", "values", KUBERNETES_EXIT_GPU_FAULT,
                         KUBERNETES_EXIT_SETUP);
}

json_t *kubernetes_render_job(const struct kubernetes_plan *p)
{
        _cleanup_free_ char *name = kubernetes_job_name(p->job_id, p->attempt);
        json_t *meta = metadata(p, name, 0);
        json_t *spec = json_object();
        int64_t n = nodes_of(p);
        json_int_t retries = p->spec->retry_on != NULL ? (json_int_t)p->spec->retry_max : 0;

        if (p->set->queue != NULL) {
                (void)json_object_set_new(json_object_get(meta, "labels"), KUBERNETES_LABEL_QUEUE,
                                          json_string(p->set->queue));
                /* Kueue admits a suspended Job by unsuspending it. */
                (void)json_object_set_new(spec, "suspend", json_true());
        }
        if (n > 1) {
                (void)json_object_set_new(spec, "completionMode", json_string("Indexed"));
                (void)json_object_set_new(spec, "completions", json_integer(n));
                (void)json_object_set_new(spec, "parallelism", json_integer(n));
                (void)json_object_set_new(spec, "backoffLimitPerIndex", json_integer(retries));
        } else {
                (void)json_object_set_new(spec, "completions", json_integer(1));
                (void)json_object_set_new(spec, "parallelism", json_integer(1));
                (void)json_object_set_new(spec, "backoffLimit", json_integer(retries));
        }
        if (p->spec->max_runtime_s > 0)
                (void)json_object_set_new(spec, "activeDeadlineSeconds",
                                          json_integer(p->spec->max_runtime_s));
        (void)json_object_set_new(spec, "podFailurePolicy", failure_policy());
        (void)json_object_set_new(spec, "template",
                                  json_pack("{s:{s:o},s:o}", "metadata", "labels", labels(p, 1),
                                            "spec", pod_spec(p)));
        return json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "batch/v1", "kind", "Job", "metadata",
                         meta, "spec", spec);
}

json_t *kubernetes_render_secret(const struct kubernetes_plan *p)
{
        _cleanup_free_ char *name = kubernetes_job_name(p->job_id, p->attempt);
        _cleanup_free_ char *secret = xasprintf("%s-secrets", name);

        if (!p->secrets)
                return NULL;
        /* stringData: the API server stores it base64-encoded under data. */
        return json_pack("{s:s,s:s,s:o,s:s,s:b,s:{s:s}}", "apiVersion", "v1", "kind", "Secret",
                         "metadata", metadata(p, secret, 1), "type", "Opaque", "immutable", 1,
                         "stringData", KUBERNETES_SECRETS_KEY,
                         p->secrets_json ? p->secrets_json : SECRET_PLACEHOLDER);
}

json_t *kubernetes_render_pull_secret(const struct kubernetes_plan *p)
{
        _cleanup_free_ char *name = kubernetes_job_name(p->job_id, p->attempt);
        _cleanup_free_ char *secret = xasprintf("%s-pull", name);
        _cleanup_free_ char *placeholder = NULL;

        if (p->pull_registry == NULL || p->set->image_pull_secret != NULL)
                return NULL;
        if (p->pull_json == NULL)
                placeholder = xasprintf("<the registry credentials for %s from %s: filled in "
                                        "at submit, never shown>",
                                        p->pull_registry, p->pull_source ? p->pull_source : "?");
        return json_pack("{s:s,s:s,s:o,s:s,s:b,s:{s:s}}", "apiVersion", "v1", "kind", "Secret",
                         "metadata", metadata(p, secret, 1), "type",
                         "kubernetes.io/dockerconfigjson", "immutable", 1, "stringData",
                         ".dockerconfigjson", p->pull_json ? p->pull_json : placeholder);
}

json_t *kubernetes_render_service(const struct kubernetes_plan *p)
{
        _cleanup_free_ char *name = kubernetes_job_name(p->job_id, p->attempt);
        json_t *selector;

        if (nodes_of(p) <= 1)
                return NULL;
        selector = labels(p, 0);
        (void)json_object_del(selector, "app.kubernetes.io/managed-by");
        /* Headless, and the pods' names resolve before they are ready:
         * rank 0 must be found while the others start. */
        return json_pack("{s:s,s:s,s:o,s:{s:s,s:o,s:b,s:[{s:s,s:I,s:s}]}}", "apiVersion", "v1",
                         "kind", "Service", "metadata", metadata(p, name, 1), "spec", "clusterIP",
                         "None", "selector", selector, "publishNotReadyAddresses", 1, "ports",
                         "name", "rendezvous", "port", (json_int_t)jobspec_port(p->spec),
                         "protocol", "TCP");
}

json_t *kubernetes_render_all(const struct kubernetes_plan *p)
{
        json_t *a = json_array();
        json_t *o;

        (void)json_array_append_new(a, kubernetes_render_job(p));
        if ((o = kubernetes_render_secret(p)) != NULL)
                (void)json_array_append_new(a, o);
        if ((o = kubernetes_render_pull_secret(p)) != NULL)
                (void)json_array_append_new(a, o);
        if ((o = kubernetes_render_service(p)) != NULL)
                (void)json_array_append_new(a, o);
        return a;
}

int kubernetes_render_yaml(const struct kubernetes_plan *p, char **ret, struct hoist_error **err)
{
        json_t *all = kubernetes_render_all(p);
        struct buf out = {0};
        size_t i;
        json_t *o;

        json_array_foreach(all, i, o)
        {
                const char *kind = json_string_value(json_object_get(o, "kind"));
                _cleanup_free_ char *path = kubernetes_collection_path(p->namespace, kind);
                _cleanup_free_ char *text = NULL;
                if (yamlout_value(o, &text, err) < 0) {
                        json_decref(all);
                        buf_free(&out);
                        return -1;
                }
                buf_printf(&out, "---\n# POST %s%s\n%s", path,
                           i == 0 ? "" : " (after the Job: its ownerReference names the Job's uid)",
                           text);
        }
        json_decref(all);
        *ret = buf_take(&out);
        return 0;
}
