/* SPDX-License-Identifier: MIT */
/*
 * The kubernetes provider: one batch/v1 Job per attempt, named
 * hoist-<job id>-<attempt>, in the namespace kubernetes.namespace names
 * (else the kubeconfig context's, else "default"); an Indexed Job and a
 * headless Service for several nodes; a Secret with the job's secrets
 * (docs/providers/kubernetes.md).  The API client is lib/kube.h (kubeconfig,
 * exec plugins, in-cluster); the objects come from kubernetes_render.c and
 * their states map through kubernetes_state.c.
 *
 * The ref recorded is "<namespace>/<job name>", before the Job is created:
 * a hoist killed in between leaves a name the API server does not know,
 * which status reports as a submit that never reached the cluster.
 *
 * run/<id>/ keeps kubernetes.json (the job.yaml settings, for attempts that
 * hoist serve starts from job.json alone).
 */
#include "provider.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "clock.h"
#include "fsutil.h"
#include "imageref.h"
#include "kube.h"
#include "kubeconfig.h"
#include "kubeexec.h"
#include "kubernetes_render.h"
#include "kubernetes_settings.h"
#include "kubernetes_state.h"
#include "log.h"
#include "registry_auth.h"
#include "xalloc.h"

#define SETTINGS_FILE "kubernetes.json"
/* The ref of the Job hoist deleted itself (cancel, or before a new
 * attempt): its absence is then no failure. */
#define DELETED_FILE "deleted"
/* How long cancel waits past the grace period for the pods to go. */
#define CANCEL_SLACK_S 30

/* ---- settings ---- */

PROVIDER_SETTINGS_OPS(k8s, kubernetes_settings)

static int read_settings(const char *state_dir, struct kubernetes_settings **ret,
                         struct hoist_error **err)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len = 0;

        if (provider_settings_read(state_dir, SETTINGS_FILE, "Kubernetes", &path, &text, &len,
                                   err) < 0)
                return -1;
        return kubernetes_settings_from_json(text, len, path, ret, err);
}

static int write_settings(const char *state_dir, const struct kubernetes_settings *s,
                          struct hoist_error **err)
{
        _cleanup_free_ char *text = kubernetes_settings_to_json(s);

        return provider_settings_write(state_dir, SETTINGS_FILE, text, err);
}

/* ---- the API ---- */

struct conn {
        struct kube_client *c;
        char *ns;
};

static void conn_clear(struct conn *k)
{
        kube_client_free(k->c);
        free(k->ns);
}
#define _cleanup_conn_ __attribute__((cleanup(conn_clear)))

static int connect_to(const struct kubernetes_settings *s, struct conn *ret,
                      struct hoist_error **err)
{
        _cleanup_kube_config_ struct kube_config *cfg = NULL;

        if (kube_config_load(s != NULL ? s->context : NULL, &cfg, err) < 0)
                return hoist_error_wrap(err, "Kubernetes access");
        if (kube_client_new(cfg, &ret->c, err) < 0)
                return hoist_error_wrap(err, "Kubernetes access");
        ret->ns = xstrdup(s != NULL && s->namespace != NULL ? s->namespace
                          : cfg->namespace != NULL          ? cfg->namespace
                                                            : "default");
        return 0;
}

/* METHOD PATH with BODY (NULL: none): *RET the answer (may be NULL) and its
 * status; a status outside 2xx is an error carrying the API's Status,
 * except 404 when OK404 (then 0 and *RET_STATUS 404). */
static int api(struct kube_client *c, const char *method, const char *path, json_t *body, int ok404,
               long *ret_status, json_t **ret, struct hoist_error **err)
{
        _cleanup_free_ char *text = NULL;
        json_t *out = NULL;
        long status = 0;

        if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL)
                abort(); /* out of memory */
        if (kube_request(c, method, path, NULL, text, &status, &out, err) < 0) {
                if (text != NULL)
                        explicit_bzero(text, strlen(text));
                return hoist_error_wrap(err, "%s %s", method, path);
        }
        if (text != NULL)
                explicit_bzero(text, strlen(text));
        if (ret_status != NULL)
                *ret_status = status;
        if ((status < 200 || status > 299) && !(ok404 && status == 404)) {
                _cleanup_free_ char *msg = kube_status_message(status, out);
                json_decref(out);
                return hoist_error_make(err,
                                        status == 404 ? HOIST_ERR_NOT_FOUND : HOIST_ERR_PROVIDER,
                                        "%s %s: %s", method, path, msg);
        }
        if (ret != NULL)
                *ret = out;
        else
                json_decref(out);
        return 0;
}

/* "<namespace>/<name>" into its parts. */
static int split_ref(const char *ref, char **ret_ns, char **ret_name, struct hoist_error **err)
{
        const char *slash = ref != NULL ? strchr(ref, '/') : NULL;

        if (slash == NULL || slash == ref || slash[1] == '\0')
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' is not a Kubernetes job ref (namespace/name)",
                                        ref ? ref : "");
        *ret_ns = xstrndup(ref, (size_t)(slash - ref));
        *ret_name = xstrdup(slash + 1);
        return 0;
}

/* The job id and attempt hoist-<id>-<attempt> stands for. */
static int parse_name(const char *name, char **ret_id, int64_t *ret_attempt)
{
        const char *dash;
        char *end;
        long long a;

        if (strncmp(name, "hoist-", 6) != 0 || (dash = strrchr(name, '-')) == name + 5)
                return -1;
        a = strtoll(dash + 1, &end, 10);
        if (*end != '\0' || a < 1 || dash == name + 6)
                return -1;
        *ret_id = xstrndup(name + 6, (size_t)(dash - name - 6));
        *ret_attempt = a;
        return 0;
}

static char *pods_path(const char *ns, const char *name)
{
        _cleanup_free_ char *id = NULL;
        _cleanup_free_ char *base = kubernetes_collection_path(ns, "Pod");
        _cleanup_free_ char *sel = NULL, *esc = NULL;
        int64_t attempt = 1;

        if (parse_name(name, &id, &attempt) < 0)
                sel = xasprintf("job-name=%s", name);
        else
                sel = xasprintf("%s=%s,%s=%" PRId64, KUBERNETES_LABEL_JOB, id,
                                KUBERNETES_LABEL_ATTEMPT, attempt);
        esc = kube_query_escape(sel);
        return xasprintf("%s?labelSelector=%s", base, esc);
}

static char *job_path(const char *ns, const char *name)
{
        _cleanup_free_ char *base = kubernetes_collection_path(ns, "Job");

        return xasprintf("%s/%s", base, name);
}

/* The Job (NULL when the API server has none) and its pods (an array). */
static int fetch(struct kube_client *c, const char *ns, const char *name, json_t **ret_job,
                 json_t **ret_pods, char **ret_rv, struct hoist_error **err)
{
        _cleanup_free_ char *jp = job_path(ns, name), *pp = pods_path(ns, name);
        json_t *job = NULL, *list = NULL;
        long status = 0;

        if (api(c, "GET", jp, NULL, 1, &status, &job, err) < 0)
                return -1;
        if (status == 404) {
                json_decref(job);
                job = NULL;
        }
        if (api(c, "GET", pp, NULL, 0, NULL, &list, err) < 0) {
                json_decref(job);
                return -1;
        }
        if (ret_rv != NULL) {
                const char *rv = json_string_value(
                        json_object_get(json_object_get(list, "metadata"), "resourceVersion"));
                *ret_rv = rv != NULL ? xstrdup(rv) : NULL;
        }
        *ret_pods = json_incref(json_object_get(list, "items"));
        if (*ret_pods == NULL)
                *ret_pods = json_array();
        json_decref(list);
        *ret_job = job;
        return 0;
}

/* ---- render, validate, submit ---- */

static char *namespace_of(const struct kubernetes_settings *s)
{
        _cleanup_kube_config_ struct kube_config *cfg = NULL;
        struct hoist_error *e = NULL;

        if (s->namespace != NULL)
                return xstrdup(s->namespace);
        if (kube_config_load(s->context, &cfg, &e) < 0) {
                hoist_error_free(e);
                return xstrdup("default");
        }
        return xstrdup(cfg->namespace != NULL ? cfg->namespace : "default");
}

static int has_secrets(const struct provider_submit *req)
{
        return req->secret_env != NULL && req->secret_env[0] != NULL;
}

/* kubernetes.image_pull_secret unset: hoist's own credentials for the
 * image's registry (lib/registry_auth.h: what hoist push and docker/podman
 * login use), if it has some.  *RET_HOST: that registry, NULL when there is
 * no pull secret to make; *RET_SOURCE: where they came from; with RET_JSON,
 * the .dockerconfigjson text ({"auths": {HOST: {...}}}). */
static int pull_credentials(const struct kubernetes_settings *s, const char *image, char **ret_host,
                            char **ret_source, char **ret_json, struct hoist_error **err)
{
        _cleanup_imageref_ struct imageref *ref = NULL;
        _cleanup_registry_creds_ struct registry_creds *c = NULL;
        int r;

        *ret_host = *ret_source = NULL;
        if (ret_json != NULL)
                *ret_json = NULL;
        if (s->image_pull_secret != NULL || image == NULL)
                return 0;
        if (imageref_parse(image, &ref, err) < 0)
                return -1;
        r = registry_auth_lookup(ref->host, &c, err);
        if (r < 0)
                return hoist_error_wrap(err,
                                        "the registry credentials for %s (or name an existing "
                                        "Secret in kubernetes.image_pull_secret)",
                                        ref->host);
        if (r == 0)
                return 0;
        if (ret_json != NULL) {
                /* The kubelet keys Docker Hub by its historical name. */
                const char *key = strcmp(ref->host, "docker.io") == 0
                                          ? "https://index.docker.io/v1/"
                                          : ref->host;
                _cleanup_free_ char *auth = registry_auth_basic(c);
                json_t *o = json_pack("{s:{s:{s:s,s:s,s:s}}}", "auths", key, "username",
                                      c->username, "password", c->password, "auth", auth);
                *ret_json = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
                json_decref(o);
                explicit_bzero(auth, strlen(auth));
                explicit_bzero(c->password, strlen(c->password));
                if (*ret_json == NULL)
                        abort(); /* out of memory */
        }
        *ret_host = xstrdup(ref->host);
        *ret_source = xstrdup(c->source ? c->source : "hoist's registry credentials");
        return 0;
}

static void fill_plan(const struct provider_submit *req, const struct kubernetes_settings *s,
                      const char *ns, struct kubernetes_plan *p)
{
        *p = (struct kubernetes_plan){
                .spec = req->spec,
                .set = s,
                .job_id = req->job_id,
                .attempt = req->spec->attempt > 0 ? req->spec->attempt : 1,
                .namespace = ns,
                .job_url = req->job_url,
                .image = req->image,
                .secrets = has_secrets(req),
        };
}

static int k8s_render(const struct provider_submit *req, char **ret, struct hoist_error **err)
{
        _cleanup_kubernetes_settings_ struct kubernetes_settings *def = NULL;
        const struct kubernetes_settings *s = req->settings;
        _cleanup_free_ char *ns = NULL, *pull_host = NULL, *pull_source = NULL;
        struct kubernetes_plan p;

        if (s == NULL)
                s = def = kubernetes_settings_new();
        ns = namespace_of(s);
        fill_plan(req, s, ns, &p);
        if (kubernetes_plan_check(&p, err) < 0 ||
            pull_credentials(s, req->image, &pull_host, &pull_source, NULL, err) < 0)
                return -1;
        p.pull_registry = pull_host;
        p.pull_source = pull_source;
        if (req->spec->resources.gpu_type != NULL)
                log_warn("resources.gpus names a model ('%s'); Kubernetes asks only for "
                         "nvidia.com/gpu: choose the nodes with kubernetes.node_selector "
                         "(e.g. nvidia.com/gpu.product), ignoring the model",
                         req->spec->resources.gpu_type);
        return kubernetes_render_yaml(&p, ret, err);
}

static int k8s_validate(const void *settings, struct hoist_error **err)
{
        _cleanup_conn_ struct conn k = {0};
        _cleanup_free_ char *base = NULL, *path = NULL;

        if (connect_to(settings, &k, err) < 0)
                return -1;
        base = kubernetes_collection_path(k.ns, "Job");
        path = xasprintf("%s?limit=1", base);
        if (api(k.c, "GET", path, NULL, 0, NULL, NULL, err) < 0)
                return hoist_error_wrap(err, "check Kubernetes (namespace '%s')", k.ns);
        return 0;
}

/* secret_env as the JSON object hoist-entrypoint reads. */
static int secrets_text(char *const *secret_env, char **ret, struct hoist_error **err)
{
        json_t *o = json_object();
        char *text;

        for (char *const *e = secret_env; *e != NULL; e++) {
                const char *eq = strchr(*e, '=');
                _cleanup_free_ char *name = xstrndup(*e, (size_t)(eq - *e));
                json_t *v = json_string(eq + 1);
                if (v == NULL) {
                        json_decref(o);
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "secret '%s' is not UTF-8 text, which the job's "
                                                "Secret cannot carry (encode it, e.g. in base64)",
                                                name);
                }
                (void)json_object_set_new(o, name, v);
        }
        text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (text == NULL)
                abort(); /* out of memory */
        *ret = text;
        return 0;
}

/* POSTs the Job; an existing one of the same attempt (a submit run again
 * after a crash) is taken as it is.  *RET_UID: its uid. */
static int create_job(struct kube_client *c, const struct kubernetes_plan *p, char **ret_uid,
                      struct hoist_error **err)
{
        _cleanup_free_ char *coll = kubernetes_collection_path(p->namespace, "Job");
        _cleanup_free_ char *name = kubernetes_job_name(p->job_id, p->attempt);
        _cleanup_free_ char *path = job_path(p->namespace, name);
        json_t *job = kubernetes_render_job(p), *out = NULL;
        long status = 0;
        struct hoist_error *e = NULL;
        int r = api(c, "POST", coll, job, 0, &status, &out, &e);
        const char *uid;

        json_decref(job);
        if (r < 0 && status == 409) {
                hoist_error_free(e);
                if (api(c, "GET", path, NULL, 0, NULL, &out, err) < 0)
                        return -1;
                const char *owner = json_string_value(
                        json_object_get(json_object_get(json_object_get(out, "metadata"), "labels"),
                                        KUBERNETES_LABEL_JOB));
                if (owner == NULL || strcmp(owner, p->job_id) != 0) {
                        json_decref(out);
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "a Job named '%s' exists in namespace '%s' and "
                                                "is not this job's; delete it first",
                                                name, p->namespace);
                }
        } else if (r < 0) {
                *err = e;
                return hoist_error_wrap(err, "create Job %s", name);
        }
        uid = json_string_value(json_object_get(json_object_get(out, "metadata"), "uid"));
        if (uid == NULL) {
                json_decref(out);
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "the API server answered the Job '%s' without a uid", name);
        }
        *ret_uid = xstrdup(uid);
        json_decref(out);
        return 0;
}

static int create_owned(struct kube_client *c, const char *ns, json_t *obj,
                        struct hoist_error **err)
{
        const char *kind = json_string_value(json_object_get(obj, "kind"));
        _cleanup_free_ char *coll = kubernetes_collection_path(ns, kind);
        long status = 0;
        struct hoist_error *e = NULL;

        if (api(c, "POST", coll, obj, 0, &status, NULL, &e) == 0)
                return 0;
        if (status == 409) { /* made by an earlier try of this submit */
                hoist_error_free(e);
                return 0;
        }
        *err = e;
        return hoist_error_wrap(err, "create %s", kind);
}

static int delete_job(struct kube_client *c, const char *ns, const char *name, int64_t grace_s,
                      struct hoist_error **err)
{
        _cleanup_free_ char *path = job_path(ns, name);
        json_t *opts = json_pack("{s:s,s:s,s:s,s:I}", "apiVersion", "v1", "kind", "DeleteOptions",
                                 "propagationPolicy", "Background", "gracePeriodSeconds",
                                 (json_int_t)grace_s);
        int r = api(c, "DELETE", path, opts, 1, NULL, NULL, err);

        json_decref(opts);
        return r;
}

static int k8s_submit(const struct provider_submit *req, struct hoist_error **err)
{
        _cleanup_kubernetes_settings_ struct kubernetes_settings *stored = NULL;
        const struct kubernetes_settings *s = req->settings;
        _cleanup_conn_ struct conn k = {0};
        _cleanup_free_ char *name = NULL, *ref = NULL, *uid = NULL, *secrets = NULL;
        _cleanup_free_ char *pull_host = NULL, *pull_source = NULL, *pull_json = NULL;
        struct kubernetes_plan p;
        json_t *o;

        if (fs_mkdir_p(req->state_dir, 0700, err) < 0)
                return -1;
        if (s != NULL) {
                if (write_settings(req->state_dir, s, err) < 0)
                        return -1;
        } else {
                if (read_settings(req->state_dir, &stored, err) < 0)
                        return -1;
                s = stored;
        }
        if (connect_to(s, &k, err) < 0)
                return -1;
        fill_plan(req, s, k.ns, &p);
        if (kubernetes_plan_check(&p, err) < 0)
                return -1;
        if (p.secrets && secrets_text(req->secret_env, &secrets, err) < 0)
                return -1;
        p.secrets_json = secrets;
        if (pull_credentials(s, req->image, &pull_host, &pull_source, &pull_json, err) < 0)
                goto fail;
        p.pull_registry = pull_host;
        p.pull_source = pull_source;
        p.pull_json = pull_json;
        name = kubernetes_job_name(req->job_id, p.attempt);
        ref = xasprintf("%s/%s", k.ns, name);
        if (req->record(req->userdata, "container", ref, err) < 0 ||
            create_job(k.c, &p, &uid, err) < 0)
                goto fail;
        p.job_uid = uid;
        if ((o = kubernetes_render_secret(&p)) != NULL) {
                int r = create_owned(k.c, k.ns, o, err);
                json_decref(o);
                if (r < 0)
                        goto undo;
        }
        if ((o = kubernetes_render_pull_secret(&p)) != NULL) {
                int r = create_owned(k.c, k.ns, o, err);
                json_decref(o);
                if (r < 0)
                        goto undo;
                log_info("image pull Secret %s-pull made from %s for %s", name, pull_source,
                         pull_host);
        }
        if ((o = kubernetes_render_service(&p)) != NULL) {
                int r = create_owned(k.c, k.ns, o, err);
                json_decref(o);
                if (r < 0)
                        goto undo;
        }
        if (secrets != NULL)
                explicit_bzero(secrets, strlen(secrets));
        if (pull_json != NULL)
                explicit_bzero(pull_json, strlen(pull_json));
        log_info("Kubernetes Job %s created in namespace %s", name, k.ns);
        return 0;
undo : {
        /* The Job takes what it owns with it. */
        struct hoist_error *e2 = NULL;
        if (delete_job(k.c, k.ns, name, 0, &e2) < 0) {
                log_warn("delete Job %s after a failed submit: %s, ignoring", name, e2->msg);
                hoist_error_free(e2);
        }
}
fail:
        if (secrets != NULL)
                explicit_bzero(secrets, strlen(secrets));
        if (pull_json != NULL)
                explicit_bzero(pull_json, strlen(pull_json));
        return hoist_error_wrap(err, "submit to Kubernetes");
}

/* ---- the standing watch ----
 *
 * A long-lived process (provider_long_lived: hoist serve, whose control
 * plane asks status() every poll_ms) follows its jobs by watching instead
 * of polling: the first status() for a context/namespace starts two
 * detached threads, one for hoist's Jobs there and one for their pods (label
 * app.kubernetes.io/managed-by=hoist), each with its own client.  Each
 * lists, then watches from the list's resourceVersion with bookmarks; 410
 * Gone relists; a dropped stream reconnects with backoff (0.2 s doubling to
 * 30 s).  The latest objects sit in a cache under one mutex; status()
 * answers from it while both watches are current (a list, an event, a
 * bookmark or a stream that ended cleanly within WATCH_FRESH_MS) and the
 * Job is in it, and otherwise GETs as before (a one-shot CLI, the watch
 * down, a Job created after the last event).  The threads live as long as
 * the process. */

#define WATCH_FRESH_MS 60000
/* The watch's timeoutSeconds: a clean end at least this often proves the
 * stream was current when events and bookmarks are rare. */
#define WATCH_TIMEOUT_S 30
#define WATCH_BACKOFF_MAX_MS 30000

struct kwatch {
        struct kwatch *next;
        char *context; /* NULL: the kubeconfig's current one */
        char *ns;
        int started;
        json_t *jobs;             /* by name; guarded by kwatch_lock */
        json_t *pods;             /* by name */
        int64_t jobs_ok, pods_ok; /* monotonic ms the cache was last known current; 0: never */
};

struct kwatch_run {
        struct kwatch *w;
        const char *kind; /* "Job" or "Pod" */
};

static pthread_mutex_t kwatch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kwatch *kwatches;

static void kwatch_touch(struct kwatch_run *r)
{
        int64_t t = clock_mono_ms();

        if (strcmp(r->kind, "Job") == 0)
                r->w->jobs_ok = t;
        else
                r->w->pods_ok = t;
}

static json_t *kwatch_map(struct kwatch_run *r)
{
        return strcmp(r->kind, "Job") == 0 ? r->w->jobs : r->w->pods;
}

static int kwatch_event(void *ud, const char *type, json_t *object)
{
        struct kwatch_run *r = ud;
        const char *name =
                json_string_value(json_object_get(json_object_get(object, "metadata"), "name"));

        pthread_mutex_lock(&kwatch_lock);
        if (strcmp(type, "ERROR") != 0)
                kwatch_touch(r);
        if (name != NULL && strcmp(type, "DELETED") == 0)
                (void)json_object_del(kwatch_map(r), name);
        else if (name != NULL && (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0))
                (void)json_object_set_new(kwatch_map(r), name, json_deep_copy(object));
        pthread_mutex_unlock(&kwatch_lock);
        return 0;
}

static void kwatch_pause(int64_t *backoff)
{
        struct timespec ts = {*backoff / 1000, (*backoff % 1000) * 1000000};

        nanosleep(&ts, NULL);
        *backoff = *backoff * 2 > WATCH_BACKOFF_MAX_MS ? WATCH_BACKOFF_MAX_MS : *backoff * 2;
}

static void *kwatch_main(void *arg)
{
        struct kwatch_run *r = arg;
        struct kube_client *c = NULL;
        _cleanup_free_ char *coll = kubernetes_collection_path(r->w->ns, r->kind);
        _cleanup_free_ char *sel = kube_query_escape("app.kubernetes.io/managed-by=hoist");
        _cleanup_free_ char *path = xasprintf("%s?labelSelector=%s", coll, sel);
        char *rv = NULL;
        int64_t backoff = 200;
        int relist = 1;

        for (;;) {
                struct hoist_error *e = NULL;

                if (c == NULL) {
                        struct kube_config *cfg = NULL;
                        if (kube_config_load(r->w->context, &cfg, &e) < 0 ||
                            kube_client_new(cfg, &c, &e) < 0) {
                                log_debug("watch %s: %s", path, e != NULL ? e->msg : "?");
                                hoist_error_free(e);
                                kube_config_free(cfg);
                                kwatch_pause(&backoff);
                                continue;
                        }
                        kube_config_free(cfg);
                }
                if (relist) {
                        json_t *list = NULL, *item, *by_name = json_object();
                        size_t i;
                        if (api(c, "GET", path, NULL, 0, NULL, &list, &e) < 0) {
                                log_debug("watch %s: %s", path, e != NULL ? e->msg : "?");
                                hoist_error_free(e);
                                json_decref(by_name);
                                kwatch_pause(&backoff);
                                continue;
                        }
                        json_array_foreach(json_object_get(list, "items"), i, item)
                        {
                                const char *n = json_string_value(
                                        json_object_get(json_object_get(item, "metadata"), "name"));
                                if (n != NULL)
                                        (void)json_object_set(by_name, n, item);
                        }
                        free(rv);
                        rv = xstrdup(json_string_value(json_object_get(
                                             json_object_get(list, "metadata"), "resourceVersion"))
                                             ?: "0");
                        json_decref(list);
                        pthread_mutex_lock(&kwatch_lock);
                        if (strcmp(r->kind, "Job") == 0) {
                                json_decref(r->w->jobs);
                                r->w->jobs = by_name;
                        } else {
                                json_decref(r->w->pods);
                                r->w->pods = by_name;
                        }
                        kwatch_touch(r);
                        pthread_mutex_unlock(&kwatch_lock);
                        relist = 0;
                }
                char *next = NULL;
                int64_t began = clock_mono_ms();
                int w = kube_watch(c, path, rv, WATCH_TIMEOUT_S, kwatch_event, r, &next, &e);
                if (next != NULL) {
                        free(rv);
                        rv = next;
                }
                if (w == KUBE_WATCH_GONE) {
                        log_debug("watch %s: 410 Gone, listing again", path);
                        relist = 1;
                        continue;
                }
                if (w < 0) {
                        log_debug("watch %s: %s; listing again", path, e != NULL ? e->msg : "?");
                        hoist_error_free(e);
                        relist = 1;
                        kwatch_pause(&backoff);
                        continue;
                }
                /* The stream ended or dropped: again from rv, after a pause
                 * unless it had run a while (then it was current until now). */
                if (clock_mono_ms() - began < 1000) {
                        kwatch_pause(&backoff);
                } else {
                        pthread_mutex_lock(&kwatch_lock);
                        kwatch_touch(r);
                        pthread_mutex_unlock(&kwatch_lock);
                        backoff = 200;
                }
        }
        return NULL;
}

static void kwatch_start(struct kwatch *w, const char *kind)
{
        struct kwatch_run *r = xcalloc(1, sizeof *r);
        pthread_attr_t attr;
        pthread_t t;

        r->w = w;
        r->kind = kind;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, kwatch_main, r) != 0) {
                log_warn("could not start the Kubernetes %s watch; status polls instead", kind);
                free(r);
        }
        pthread_attr_destroy(&attr);
}

static int same(const char *a, const char *b)
{
        return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Whether POD belongs to Job NAME (the labels pods_path selects by). */
static int pod_of(json_t *pod, const char *name)
{
        json_t *l = json_object_get(json_object_get(pod, "metadata"), "labels");
        _cleanup_free_ char *id = NULL, *attempt = NULL;
        int64_t a = 1;

        if (parse_name(name, &id, &a) < 0)
                return same(json_string_value(json_object_get(l, "job-name")), name);
        attempt = xasprintf("%" PRId64, a);
        return same(json_string_value(json_object_get(l, KUBERNETES_LABEL_JOB)), id) &&
               same(json_string_value(json_object_get(l, KUBERNETES_LABEL_ATTEMPT)), attempt);
}

/* The Job NS/NAME and its pods from the watch's cache: 1 when it answered
 * (*RET_JOB, *RET_PODS new references), 0 when status() must GET.  Starts
 * the watch of the namespace at the first call in a long-lived process. */
static int kwatch_lookup(const char *context, const char *ns, const char *name, json_t **ret_job,
                         json_t **ret_pods)
{
        struct kwatch *w;
        int64_t t = clock_mono_ms();
        int r = 0;

        pthread_mutex_lock(&kwatch_lock);
        for (w = kwatches; w != NULL; w = w->next)
                if (same(w->context, context) && strcmp(w->ns, ns) == 0)
                        break;
        if (w == NULL) {
                w = xcalloc(1, sizeof *w);
                w->context = context != NULL ? xstrdup(context) : NULL;
                w->ns = xstrdup(ns);
                w->jobs = json_object();
                w->pods = json_object();
                w->next = kwatches;
                kwatches = w;
        }
        if (!w->started && provider_long_lived) {
                w->started = 1;
                kwatch_start(w, "Job");
                kwatch_start(w, "Pod");
        }
        json_t *job = json_object_get(w->jobs, name);
        if (w->jobs_ok > 0 && w->pods_ok > 0 && t - w->jobs_ok < WATCH_FRESH_MS &&
            t - w->pods_ok < WATCH_FRESH_MS && job != NULL) {
                json_t *pods = json_array(), *pod;
                const char *k;
                json_object_foreach(w->pods, k, pod)
                {
                        if (pod_of(pod, name))
                                (void)json_array_append_new(pods, json_deep_copy(pod));
                }
                *ret_job = json_deep_copy(job);
                *ret_pods = pods;
                r = 1;
        }
        pthread_mutex_unlock(&kwatch_lock);
        return r;
}

/* ---- status ---- */

static int was_deleted(const char *state_dir, const char *ref)
{
        _cleanup_free_ char *path = path_join(state_dir, DELETED_FILE);
        _cleanup_free_ char *text = NULL;

        return fs_read_file(path, &text, NULL, NULL) == 0 && strcmp(text, ref) == 0;
}

static int k8s_status(const struct job_record *job, const char *state_dir,
                      struct provider_status *ret, struct hoist_error **err)
{
        _cleanup_kubernetes_settings_ struct kubernetes_settings *s = NULL;
        _cleanup_conn_ struct conn k = {0};
        _cleanup_free_ char *ns = NULL, *name = NULL;
        json_t *j = NULL, *pods = NULL;

        if (job->provider_ref == NULL) {
                *ret = (struct provider_status){
                        .state = JOB_FAILED,
                        .exit_code = -1,
                        .reason = xstrdup("the job never reached Kubernetes (hoist submit was "
                                          "interrupted before it named the Job)"),
                };
                return 0;
        }
        if (split_ref(job->provider_ref, &ns, &name, err) < 0 ||
            read_settings(state_dir, &s, err) < 0)
                return -1;
        /* The same mapping whichever way the objects came. */
        if (kwatch_lookup(s->context, ns, name, &j, &pods) == 0 &&
            (connect_to(s, &k, err) < 0 || fetch(k.c, ns, name, &j, &pods, NULL, err) < 0))
                return -1;
        kubernetes_map_status(j, pods, ret);
        if (j == NULL && was_deleted(state_dir, job->provider_ref)) {
                provider_status_clear(ret);
                *ret = (struct provider_status){
                        .state = JOB_CANCELED,
                        .exit_code = -1,
                        .reason = xstrdup("hoist deleted the Job (cancel)"),
                };
        }
        json_decref(j);
        json_decref(pods);
        return 0;
}

/* ---- following the pods: list, then watch ---- */

/* Whether the pods reached what the caller waits for. */
typedef int (*pods_done_fn)(json_t *pods, void *ud);

struct watch_state {
        json_t *pods; /* by name */
        pods_done_fn done;
        void *ud;
};

static json_t *pods_array(json_t *by_name)
{
        json_t *a = json_array(), *v;
        const char *k;

        json_object_foreach(by_name, k, v)(void) json_array_append(a, v);
        return a;
}

static int on_pod_event(void *ud, const char *type, json_t *object)
{
        struct watch_state *w = ud;
        const char *name =
                json_string_value(json_object_get(json_object_get(object, "metadata"), "name"));
        json_t *a;
        int r;

        if (strcmp(type, "BOOKMARK") == 0 || name == NULL)
                return 0;
        if (strcmp(type, "DELETED") == 0)
                (void)json_object_del(w->pods, name);
        else
                (void)json_object_set(w->pods, name, object);
        a = pods_array(w->pods);
        r = w->done(a, w->ud);
        json_decref(a);
        return r;
}

/* Lists the pods of job NS/NAME, then watches them from the list's
 * resourceVersion until DONE says so or DEADLINE (monotonic ms): 410 Gone
 * relists, a dropped stream reconnects with backoff (0.2 s doubling to
 * 5 s).  1 when DONE held, 0 at the deadline. */
static int watch_pods(struct kube_client *c, const char *ns, const char *name, int64_t deadline,
                      pods_done_fn done, void *ud, struct hoist_error **err)
{
        _cleanup_free_ char *path = pods_path(ns, name);
        _cleanup_free_ char *rv = NULL;
        struct watch_state w = {.done = done, .ud = ud};
        int64_t backoff = 200;
        int relist = 1, result = 0;

        while (clock_mono_ms() < deadline) {
                if (relist) {
                        json_t *list = NULL, *item;
                        size_t i;
                        if (api(c, "GET", path, NULL, 0, NULL, &list, err) < 0)
                                goto out;
                        json_decref(w.pods);
                        w.pods = json_object();
                        json_array_foreach(json_object_get(list, "items"), i, item)(void)
                                json_object_set(w.pods,
                                                json_string_value(json_object_get(
                                                        json_object_get(item, "metadata"), "name")),
                                                item);
                        free(rv);
                        rv = xstrdup(json_string_value(json_object_get(
                                             json_object_get(list, "metadata"), "resourceVersion"))
                                             ?: "0");
                        json_decref(list);
                        json_t *a = pods_array(w.pods);
                        int d = done(a, ud);
                        json_decref(a);
                        if (d) {
                                result = 1;
                                goto out;
                        }
                        relist = 0;
                }
                int64_t left_s = (deadline - clock_mono_ms()) / 1000;
                char *next = NULL;
                int64_t began = clock_mono_ms();
                int r = kube_watch(c, path, rv, left_s > 1 ? (int)left_s : 1, on_pod_event, &w,
                                   &next, err);
                if (next != NULL) {
                        free(rv);
                        rv = next;
                }
                if (r < 0)
                        goto out;
                if (r == KUBE_WATCH_GONE) {
                        log_debug("watch %s: 410 Gone, listing again", path);
                        relist = 1;
                        continue;
                }
                json_t *a = pods_array(w.pods);
                int d = done(a, ud);
                json_decref(a);
                if (d) {
                        result = 1;
                        goto out;
                }
                /* The stream ended or dropped: again from rv, after a pause
                 * unless it had run a while. */
                if (clock_mono_ms() - began < 1000) {
                        struct timespec ts = {backoff / 1000, (backoff % 1000) * 1000000};
                        nanosleep(&ts, NULL);
                        backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
                } else {
                        backoff = 200;
                }
        }
out:
        json_decref(w.pods);
        return *err != NULL && result == 0 && clock_mono_ms() < deadline ? -1 : result;
}

static int no_pods(json_t *pods, void *ud)
{
        (void)ud;
        return json_array_size(pods) == 0;
}

/* A pod whose log can be read: running, or ended. */
static int pod_started(json_t *pods, void *ud)
{
        json_t *pod;
        size_t i;

        (void)ud;
        json_array_foreach(pods, i, pod)
        {
                const char *phase =
                        json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
                if (phase != NULL && strcmp(phase, "Pending") != 0)
                        return 1;
        }
        return 0;
}

/* ---- cancel, clear, release ---- */

static int stop(const struct job_record *job, const char *state_dir, int64_t grace_s,
                struct hoist_error **err)
{
        _cleanup_kubernetes_settings_ struct kubernetes_settings *s = NULL;
        _cleanup_conn_ struct conn k = {0};
        _cleanup_free_ char *ns = NULL, *name = NULL;
        int r;

        if (job->provider_ref == NULL)
                return 0;
        _cleanup_free_ char *marker = path_join(state_dir, DELETED_FILE);
        if (split_ref(job->provider_ref, &ns, &name, err) < 0 ||
            read_settings(state_dir, &s, err) < 0 || connect_to(s, &k, err) < 0 ||
            fs_write_file_atomic(marker, job->provider_ref, strlen(job->provider_ref), 0600, err) <
                    0 ||
            delete_job(k.c, ns, name, grace_s, err) < 0)
                return -1;
        r = watch_pods(k.c, ns, name, clock_mono_ms() + (grace_s + CANCEL_SLACK_S) * 1000, no_pods,
                       NULL, err);
        if (r < 0)
                return -1;
        /* The Job is gone: what its pods still do is the kubelet's to
         * finish (a node that is down holds them Terminating until it is
         * back); saying so beats a cancel that cannot succeed. */
        if (r == 0)
                log_warn("the pods of Job %s are still terminating %" PRId64
                         " s after it was deleted; the cluster finishes that without hoist",
                         job->provider_ref, grace_s + CANCEL_SLACK_S);
        return 0;
}

static int k8s_cancel(const struct job_record *job, const char *state_dir, int64_t grace_s,
                      struct hoist_error **err)
{
        return stop(job, state_dir, grace_s, err);
}

static int k8s_clear(const struct job_record *job, const char *state_dir, int64_t grace_s,
                     struct hoist_error **err)
{
        if (stop(job, state_dir, grace_s, err) < 0)
                return hoist_error_wrap(err, "stop the previous attempt of job %s", job->id);
        return 0;
}

/* The Job stays, for kubectl describe, until hoist cancel, a new attempt or
 * the cluster's own cleanup; its outputs and logs are in storage. */
static int k8s_release(const struct job_record *job, const char *state_dir,
                       struct hoist_error **err)
{
        (void)job;
        (void)state_dir;
        (void)err;
        return 0;
}

/* ---- logs ---- */

/* The pod log API, for what the entrypoint never wrote to storage (a pod
 * that could not start it) and for hoist logs -f before it starts: the
 * first pod (rank 0) once it runs or ended. */
static int k8s_logs(const struct job_record *job, const char *state_dir, int follow, int fd,
                    struct hoist_error **err)
{
        _cleanup_kubernetes_settings_ struct kubernetes_settings *s = NULL;
        _cleanup_conn_ struct conn k = {0};
        _cleanup_free_ char *ns = NULL, *name = NULL, *path = NULL, *coll = NULL;
        json_t *j = NULL, *pods = NULL, *pod, *best = NULL;
        size_t i;
        int r;

        if (job->provider_ref == NULL || read_settings(state_dir, &s, NULL) < 0)
                return 0;
        if (split_ref(job->provider_ref, &ns, &name, err) < 0 || connect_to(s, &k, err) < 0)
                return -1;
        if (follow &&
            watch_pods(k.c, ns, name, clock_mono_ms() + 600 * 1000, pod_started, NULL, err) < 0)
                return -1;
        if (fetch(k.c, ns, name, &j, &pods, NULL, err) < 0)
                return -1;
        json_decref(j);
        json_array_foreach(pods, i, pod)
        {
                const char *idx = json_string_value(json_object_get(
                        json_object_get(json_object_get(pod, "metadata"), "annotations"),
                        "batch.kubernetes.io/job-completion-index"));
                if (best == NULL || (idx != NULL && strcmp(idx, "0") == 0))
                        best = pod;
        }
        if (best == NULL) {
                json_decref(pods);
                return 0;
        }
        coll = kubernetes_collection_path(ns, "Pod");
        path = xasprintf(
                "%s/%s/log?container=%s&tailLines=%d%s", coll,
                json_string_value(json_object_get(json_object_get(best, "metadata"), "name")),
                KUBERNETES_CONTAINER, 1000, follow ? "&follow=true" : "");
        json_decref(pods);
        r = kube_stream(k.c, path, fd, err);
        return r < 0 ? hoist_error_wrap(err, "the pod log of %s", job->provider_ref) : 0;
}

/* ---- billing ---- */

/* Node-hours: each pod's container from start to finish (or now), summed;
 * priced by the user's rate (providers/prices/kubernetes.yaml). */
static int k8s_billing(const struct job_record *job, const char *state_dir,
                       struct provider_billing *ret, struct hoist_error **err)
{
        _cleanup_kubernetes_settings_ struct kubernetes_settings *s = NULL;
        _cleanup_conn_ struct conn k = {0};
        _cleanup_free_ char *ns = NULL, *name = NULL;
        json_t *j = NULL, *pods = NULL, *pod;
        int64_t total = 0, n = 0;
        size_t i;

        *ret = (struct provider_billing){.nodes = 1};
        if (job->provider_ref == NULL)
                return 0;
        if (split_ref(job->provider_ref, &ns, &name, err) < 0 ||
            read_settings(state_dir, &s, err) < 0 || connect_to(s, &k, err) < 0 ||
            fetch(k.c, ns, name, &j, &pods, NULL, err) < 0)
                return -1;
        json_array_foreach(pods, i, pod)
        {
                json_t *cs, *st;
                size_t x;
                json_array_foreach(
                        json_object_get(json_object_get(pod, "status"), "containerStatuses"), x, cs)
                {
                        json_t *state = json_object_get(cs, "state");
                        int64_t a = -1, b = -1;
                        if ((st = json_object_get(state, "running")) != NULL) {
                                a = kube_parse_time(
                                        json_string_value(json_object_get(st, "startedAt")));
                                b = (int64_t)time(NULL);
                        } else if ((st = json_object_get(state, "terminated")) != NULL) {
                                a = kube_parse_time(
                                        json_string_value(json_object_get(st, "startedAt")));
                                b = kube_parse_time(
                                        json_string_value(json_object_get(st, "finishedAt")));
                        }
                        if (a >= 0 && b >= a) {
                                total += b - a;
                                n++;
                        }
                }
        }
        json_decref(j);
        json_decref(pods);
        ret->billed_s = total;
        ret->nodes = n > 0 ? n : 1;
        ret->source = xstrdup("Kubernetes pod container startedAt..finishedAt, summed over pods");
        return 0;
}

/* ---- hoist list --remote ---- */

static int k8s_list_remote(size_t limit, struct provider_remote_job **ret, size_t *ret_n,
                           struct hoist_error **err)
{
        _cleanup_conn_ struct conn k = {0};
        _cleanup_free_ char *coll = NULL, *path = NULL, *sel = NULL;
        json_t *list = NULL, *item;
        struct provider_remote_job *out;
        size_t i, n = 0;

        if (connect_to(NULL, &k, err) < 0)
                return -1;
        coll = kubernetes_collection_path(k.ns, "Job");
        sel = kube_query_escape("app.kubernetes.io/managed-by=hoist");
        path = xasprintf("%s?labelSelector=%s", coll, sel);
        if (api(k.c, "GET", path, NULL, 0, NULL, &list, err) < 0)
                return -1;
        out = xcalloc(json_array_size(json_object_get(list, "items")) + 1, sizeof *out);
        json_array_foreach(json_object_get(list, "items"), i, item)
        {
                json_t *m = json_object_get(item, "metadata");
                const char *nm = json_string_value(json_object_get(m, "name"));
                struct provider_status st;
                if (nm == NULL || n >= limit)
                        continue;
                out[n].ref = xasprintf("%s/%s", k.ns, nm);
                if (parse_name(nm, &out[n].job_id, &out[n].attempt) < 0)
                        out[n].job_id = NULL;
                kubernetes_map_status(item, NULL, &st);
                out[n].state = xstrdup(job_state_name(st.state));
                provider_status_clear(&st);
                int64_t t =
                        kube_parse_time(json_string_value(json_object_get(m, "creationTimestamp")));
                out[n].created_ms = t > 0 ? t * 1000 : 0;
                n++;
        }
        json_decref(list);
        *ret = out;
        *ret_n = n;
        return 0;
}

/* Jobs run in the cluster, where this machine's 127.0.0.1 is not theirs;
 * an API server on loopback (a test server running pods here) is the one
 * exception. */
static int k8s_reaches_loopback(const void *settings)
{
        const struct kubernetes_settings *s = settings;
        _cleanup_kube_config_ struct kube_config *cfg = NULL;
        struct hoist_error *e = NULL;

        if (kube_config_load(s != NULL ? s->context : NULL, &cfg, &e) < 0) {
                hoist_error_free(e);
                return 0;
        }
        return strncmp(cfg->server, "https://127.", 12) == 0 ||
               strncmp(cfg->server, "https://localhost:", 18) == 0;
}

const struct provider_ops provider_kubernetes = {
        .name = "kubernetes",
        .remote = 1,
        .upload_limit = 0,
        .caps = {.gpus = 1, .multi_node = 1, .spot = 0, .max_runtime_s = 0, .requeues = 1},
        .poll_ms = 2000,
        .section = "kubernetes",
        .load_settings = k8s_load_settings,
        .free_settings = k8s_free_settings,
        .reaches_loopback = k8s_reaches_loopback,
        .render = k8s_render,
        .render_yaml = 1,
        .price_key = NULL,
        .billing = k8s_billing,
        .validate = k8s_validate,
        .check_image = NULL,
        .check_resources = NULL,
        .submit = k8s_submit,
        .status = k8s_status,
        .logs = k8s_logs,
        .logs_before_start = 1,
        .cancel = k8s_cancel,
        .clear = k8s_clear,
        .release = k8s_release,
        .list_remote = k8s_list_remote,
};
