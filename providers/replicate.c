/* SPDX-License-Identifier: MIT */
/*
 * The replicate provider: the job's image pushed to r8.im/<owner>/<name> as
 * a Cog image, one Replicate training per attempt
 * (docs/providers/replicate.md).
 *
 * Submit asks GET /v1/account whose REPLICATE_API_TOKEN it has (the
 * registry login), makes the model and the destination when missing,
 * pushes the image with the run.cog.* labels, reads the new version back
 * (GET /v1/models/{owner}/{name}/versions: the newest whose openapi_schema
 * is the one pushed), uploads each input's blob through the file API
 * (POST /v1/files; the provider's upload_limit keeps a blob over 100 MiB
 * from being uploaded anywhere) and creates the training.  The job's
 * secrets travel in the training input hoist_env, a Cog Secret that
 * Replicate never shows again.  Replicate names the training; until it
 * has answered, the job's ref is "pending": a hoist killed in between
 * leaves a job that status reports as never having reached Replicate.
 *
 * run/<id>/ keeps replicate.json (the job.yaml settings, for attempts that
 * hoist serve starts from job.json alone), version.json (the version the
 * first attempt pushed, reused by later ones) and training.json (the last
 * request body, hoist_env redacted).
 */
#include "provider.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "apiclient.h"
#include "cleanup.h"
#include "cogschema.h"
#include "fsutil.h"
#include "log.h"
#include "prices.h"
#include "replicate_api.h"
#include "replicate_image.h"
#include "replicate_settings.h"
#include "storage.h"
#include "xalloc.h"

#define SETTINGS_FILE "replicate.json"
#define VERSION_FILE "version.json"
#define TRAINING_FILE "training.json"
#define PENDING_REF "pending"
#define TOKEN_ENV "REPLICATE_API_TOKEN"
#define BASE_ENV "REPLICATE_API_BASE"
#define REGISTRY_ENV "REPLICATE_REGISTRY"
/* How long a pushed image may take to show up as a version. */
#define VERSION_WAIT_S 180

/* ---- settings ---- */

PROVIDER_SETTINGS_OPS(rp, replicate_settings)

static const char *api_base(void)
{
        const char *b = getenv(BASE_ENV);

        return b != NULL && *b != '\0' ? b : REPLICATE_API_DEFAULT;
}

static const char *registry_host(void)
{
        const char *r = getenv(REGISTRY_ENV);

        return r != NULL && *r != '\0' ? r : REPLICATE_REGISTRY_DEFAULT;
}

/* Trainings run in Replicate's cloud, where this machine's 127.0.0.1 is not
 * theirs; an API on loopback (a test server, which runs the job's container
 * here with host networking) is the one exception. */
static int rp_reaches_loopback(const void *settings)
{
        const char *e = getenv(BASE_ENV);

        (void)settings;
        return e != NULL &&
               (strncmp(e, "http://127.", 11) == 0 || strncmp(e, "http://localhost", 16) == 0 ||
                strncmp(e, "https://127.", 12) == 0);
}

static int read_settings(const char *state_dir, struct replicate_settings **ret,
                         struct hoist_error **err)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len = 0;

        if (provider_settings_read(state_dir, SETTINGS_FILE, "Replicate", &path, &text, &len, err) <
            0)
                return -1;
        return replicate_settings_from_json(text, len, path, ret, err);
}

static int write_settings(const char *state_dir, const struct replicate_settings *s,
                          struct hoist_error **err)
{
        _cleanup_free_ char *text = replicate_settings_to_json(s);

        return provider_settings_write(state_dir, SETTINGS_FILE, text, err);
}

/* Offline, so that --dry-run (which asks no engine) refuses it too. */
static int check_model(const struct replicate_settings *s, struct hoist_error **err)
{
        if (s == NULL || s->model == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "no model: set replicate.model in job.yaml, or "
                                        "HOIST_REPLICATE_MODEL, to owner/name (the image goes to "
                                        "r8.im/owner/name; docs/providers/replicate.md)");
        return 0;
}

static const char *destination_of(const struct replicate_settings *s)
{
        return s->destination != NULL ? s->destination : s->model;
}

/* ---- the API ---- */

static int client_new(struct apiclient **ret, struct hoist_error **err)
{
        const char *token = getenv(TOKEN_ENV);
        _cleanup_free_ char *auth = NULL;
        int r;

        if (token == NULL || *token == '\0')
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "no Replicate token: set " TOKEN_ENV " (an API token from "
                                        "https://replicate.com/account/api-tokens)");
        auth = xasprintf("Bearer %s", token);
        r = apiclient_new("Replicate", api_base(), auth, ret, err);
        explicit_bzero(auth, strlen(auth));
        return r;
}

static int get_account(struct apiclient *c, char **ret_user, char **ret_type,
                       struct hoist_error **err)
{
        json_t *o = NULL;
        int r;

        if (apiclient_call(c, "GET", "/account", NULL, NULL, &o, err) < 0)
                return hoist_error_wrap(err, "check " TOKEN_ENV);
        r = replicate_account_parse(o, ret_user, ret_type, err);
        json_decref(o);
        return r;
}

static int get_training(struct apiclient *c, const char *id, struct replicate_training *ret,
                        struct hoist_error **err)
{
        _cleanup_free_ char *path = xasprintf("/trainings/%s", id);
        json_t *o = NULL;
        int r;

        if (apiclient_call(c, "GET", path, NULL, NULL, &o, err) < 0)
                return -1;
        r = replicate_training_from_json(o, ret, err);
        json_decref(o);
        return r;
}

/* ---- render, validate, price ---- */

static int schema_text_for(const struct jobspec *spec, char **ret, struct hoist_error **err)
{
        json_t *schema = NULL;

        if (cog_openapi_schema(spec, &schema, err) < 0)
                return -1;
        *ret = json_dumps(schema, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(schema);
        if (*ret == NULL)
                abort(); /* out of memory */
        return 0;
}

static int fits(const struct price_entry *e, const struct jobspec_resources *r)
{
        const double gib = 1024.0 * 1024.0 * 1024.0;

        if (e->gpus < r->gpus || (double)e->vcpus * 1000 < (double)r->cpus_milli ||
            e->memory_gib * gib < (double)r->memory_bytes)
                return 0;
        if (r->gpus > 0 && r->gpu_type != NULL &&
            (e->gpu_type == NULL || strcasecmp(e->gpu_type, r->gpu_type) != 0))
                return 0;
        return 1;
}

/* The cheapest hardware of the price tables that holds what R asks. */
static int pick_hardware(const struct prices *p, const struct jobspec_resources *r, char **ret,
                         struct hoist_error **err)
{
        const struct price_entry *best = NULL;

        for (size_t i = 0; i < prices_count(p); i++) {
                const struct price_entry *e = prices_at(p, i);
                if (strcmp(e->provider, "replicate") != 0 || e->sku == NULL || !fits(e, r))
                        continue;
                if (best == NULL || e->price < best->price ||
                    (e->price == best->price && strcmp(e->sku, best->sku) < 0))
                        best = e;
        }
        if (best == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "no Replicate hardware in the price tables has %" PRId64
                                        " GPU(s)%s%s, %.1f CPUs and %.1f GiB (set "
                                        "replicate.hardware, or add it to $HOIST_HOME/prices.yaml)",
                                        r->gpus, r->gpu_type ? " of type " : "",
                                        r->gpu_type ? r->gpu_type : "",
                                        (double)r->cpus_milli / 1000,
                                        (double)r->memory_bytes / (1024.0 * 1024 * 1024));
        *ret = xstrdup(best->sku);
        return 0;
}

static int hardware_for(const struct replicate_settings *s, const struct jobspec_resources *r,
                        char **ret, struct hoist_error **err)
{
        _cleanup_prices_ struct prices *p = NULL;

        if (s->hardware != NULL) {
                *ret = xstrdup(s->hardware);
                return 0;
        }
        if (prices_load(getenv("HOIST_HOME"), &p, err) < 0 || pick_hardware(p, r, ret, err) < 0)
                return -1;
        return 0;
}

static int rp_price_key(const void *settings, const struct jobspec_resources *r,
                        const struct prices *p, struct provider_price_key *ret,
                        struct hoist_error **err)
{
        const struct replicate_settings *s = settings;
        _cleanup_free_ char *sku = NULL;

        if (s != NULL && s->hardware != NULL)
                sku = xstrdup(s->hardware);
        else if (pick_hardware(p, r, &sku, err) < 0)
                return -1;
        *ret = (struct provider_price_key){.sku = TAKE_PTR(sku), .count = 1};
        return 0;
}

/* The webhook URL: replicate.webhook, else hoist serve's own receiver when
 * the job reports to it (the built-in storage endpoint, which the job
 * reaches), else none: hoist polls. */
static char *webhook_for(const struct replicate_settings *s, char *const *secret_env,
                         const char *job_id, int64_t attempt)
{
        static const char hooks[] = "HOIST_HOOKS_URL=";
        _cleanup_free_ char *base = NULL;

        if (s->webhook != NULL)
                base = xstrdup(s->webhook);
        for (char *const *e = secret_env; base == NULL && e != NULL && *e != NULL; e++) {
                const char *v = *e + sizeof hooks - 1, *tail;
                if (strncmp(*e, hooks, sizeof hooks - 1) != 0)
                        continue;
                tail = strstr(v, "/hooks/events");
                if (tail != NULL && tail[13] == '\0')
                        base = xasprintf("%.*s/api/webhooks/replicate", (int)(tail - v), v);
        }
        if (base == NULL)
                return NULL;
        return xasprintf("%s%sjob=%s&attempt=%" PRId64, base, strchr(base, '?') ? "&" : "?", job_id,
                         attempt);
}

static int rp_render(const struct provider_submit *req, char **ret, struct hoist_error **err)
{
        _cleanup_replicate_settings_ struct replicate_settings *def = NULL;
        const struct replicate_settings *s = req->settings;
        _cleanup_free_ char *schema = NULL, *text = NULL, *hw = NULL, *hook = NULL;
        json_t *body = NULL, *shown;
        const char **urls = xcalloc(req->spec->n_inputs + 1, sizeof *urls);
        int64_t attempt = req->spec->attempt > 0 ? req->spec->attempt : 1;

        if (s == NULL && replicate_settings_load(NULL, NULL, &def, err) < 0)
                goto fail;
        if (s == NULL)
                s = def;
        if (check_model(s, err) < 0 || schema_text_for(req->spec, &schema, err) < 0 ||
            hardware_for(s, &req->spec->resources, &hw, err) < 0)
                goto fail;
        for (size_t i = 0; i < req->spec->n_inputs; i++)
                if (req->spec->inputs[i].mode == JOBSPEC_INPUT_FILE ||
                    req->spec->inputs[i].mode == JOBSPEC_INPUT_ARCHIVE)
                        urls[i] = "<POST /v1/files of the input's blob: urls.get>";
        hook = webhook_for(s, req->secret_env, req->job_id, attempt);
        const struct replicate_plan p = {
                .spec = req->spec,
                .destination = destination_of(s),
                .job_url = req->job_url,
                .secret_env = req->secret_env,
                .channel_urls = urls,
                .webhook = hook,
                .events = s->webhook_events,
        };
        if (replicate_training_body(&p, &body, err) < 0)
                goto fail;
        shown = replicate_training_body_redacted(body);
        json_decref(body);
        text = json_dumps(shown, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(shown);
        if (text == NULL)
                abort(); /* out of memory */
        *ret = xasprintf("# push %s to %s/%s:latest with the labels run.cog.version=%s, "
                         "run.cog.config and run.cog.openapi_schema:\n%s\n"
                         "# hardware %s (the model's, set when hoist creates it)\n"
                         "# POST %s/models/%s/versions/<the pushed version>/trainings\n"
                         "# (hoist_env carries the job's secrets; never shown)\n%s\n",
                         req->image ? req->image : "<the job's image>", registry_host(), s->model,
                         REPLICATE_COG_VERSION, schema, hw, api_base(), s->model, text);
        free(urls);
        return 0;
fail:
        free(urls);
        return -1;
}

static int rp_validate(const void *settings, struct hoist_error **err)
{
        const struct replicate_settings *s = settings;
        _cleanup_apiclient_ struct apiclient *c = NULL;
        _cleanup_free_ char *user = NULL, *type = NULL;
        json_t *o = NULL;
        char **skus = NULL;
        int found = 0;

        if (client_new(&c, err) < 0 || get_account(c, &user, &type, err) < 0)
                return -1;
        log_info("Replicate token of '%s' (%s) at %s", user, type ? type : "account", api_base());
        if (s == NULL || s->hardware == NULL)
                return 0;
        if (apiclient_call(c, "GET", "/hardware", NULL, NULL, &o, err) < 0 ||
            replicate_hardware_parse(o, &skus, err) < 0) {
                json_decref(o);
                return -1;
        }
        json_decref(o);
        for (char **k = skus; *k != NULL; k++)
                found |= strcmp(*k, s->hardware) == 0;
        if (!found) {
                _cleanup_free_ char *list = NULL;
                for (char **k = skus; *k != NULL; k++) {
                        char *more = list ? xasprintf("%s, %s", list, *k) : xstrdup(*k);
                        free(list);
                        list = more;
                }
                strv_free(skus);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "replicate.hardware '%s' is not one Replicate lists (GET "
                                        "/v1/hardware: %s)",
                                        s->hardware, list ? list : "none");
        }
        strv_free(skus);
        return 0;
}

/* ---- submit ---- */

/* The model OWNER/NAME, made (private, on HARDWARE) when missing. */
static int ensure_model(struct apiclient *c, const char *model, const char *hardware,
                        struct hoist_error **err)
{
        _cleanup_free_ char *path = xasprintf("/models/%s", model);
        _cleanup_free_ char *owner = xstrndup(model, strcspn(model, "/"));
        struct hoist_error *e = NULL;
        json_t *body;
        int r;

        if (apiclient_call(c, "GET", path, NULL, NULL, NULL, &e) == 0)
                return 0;
        if (e->code != HOIST_ERR_NOT_FOUND) {
                *err = e;
                return hoist_error_wrap(err, "model '%s'", model);
        }
        hoist_error_free(e);
        body = json_pack("{s:s,s:s,s:s,s:s}", "owner", owner, "name", strchr(model, '/') + 1,
                         "visibility", "private", "hardware", hardware);
        r = apiclient_call(c, "POST", "/models", body, NULL, NULL, err);
        json_decref(body);
        if (r < 0)
                return hoist_error_wrap(err, "create model '%s'", model);
        log_info("Replicate model %s created (private, %s)", model, hardware);
        return 0;
}

static int64_t now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec;
}

/* The version the push made: the newest whose schema is SCHEMA. */
static int find_version(struct apiclient *c, const char *model, const char *schema_text, char **ret,
                        struct hoist_error **err)
{
        json_t *schema = json_loads(schema_text, 0, NULL);
        int64_t deadline = now_s() + VERSION_WAIT_S;
        struct timespec tick = {1, 0};

        for (;;) {
                _cleanup_free_ char *next = xasprintf("/models/%s/versions", model);
                char *id = NULL;
                while (next != NULL && id == NULL) {
                        json_t *page = NULL;
                        char *more = NULL;
                        if (apiclient_call(c, "GET", next, NULL, NULL, &page, err) < 0 ||
                            replicate_versions_find(page, schema, &id, &more, err) < 0) {
                                json_decref(page);
                                json_decref(schema);
                                return hoist_error_wrap(err, "versions of '%s'", model);
                        }
                        json_decref(page);
                        free(next);
                        next = more;
                }
                if (id != NULL) {
                        json_decref(schema);
                        *ret = id;
                        return 0;
                }
                if (now_s() >= deadline) {
                        json_decref(schema);
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "Replicate shows no version of '%s' with the "
                                                "pushed image's schema %d s after the push",
                                                model, VERSION_WAIT_S);
                }
                nanosleep(&tick, NULL);
        }
}

/* The version for this job: the one an earlier attempt pushed, else a new push. */
static int version_for(const struct provider_submit *req, const struct replicate_settings *s,
                       struct apiclient *c, const char *user, const char *hardware, char **ret,
                       struct hoist_error **err)
{
        _cleanup_free_ char *path = path_join(req->state_dir, VERSION_FILE);
        _cleanup_free_ char *text = NULL, *schema = NULL, *ref = NULL, *digest = NULL;
        const char *token = getenv(TOKEN_ENV);
        size_t len = 0;

        if (fs_read_file(path, &text, &len, NULL) == 0) {
                json_t *o = json_loadb(text, len, 0, NULL);
                json_t *v = json_object_get(o, "version");
                if (json_is_string(v)) {
                        *ret = xstrdup(json_string_value(v));
                        json_decref(o);
                        return 0;
                }
                json_decref(o);
        }
        if (ensure_model(c, s->model, hardware, err) < 0 ||
            (strcmp(destination_of(s), s->model) != 0 &&
             ensure_model(c, destination_of(s), hardware, err) < 0) ||
            schema_text_for(req->spec, &schema, err) < 0)
                return -1;
        if (req->image == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "Replicate runs an image: give the job a build: section "
                                        "(or an image:)");
        ref = xasprintf("%s/%s:latest", registry_host(), s->model);
        const struct replicate_push p = {
                .images_dir = req->images_dir,
                .local_ref = req->image,
                .remote_ref = ref,
                .schema_text = schema,
                .gpu = req->spec->resources.gpus > 0,
                .username = user,
                .token = token,
        };
        if (replicate_image_push(&p, &digest, err) < 0 ||
            find_version(c, s->model, schema, ret, err) < 0)
                return -1;
        log_info("pushed %s@%s: Replicate version %s", ref, digest, *ret);
        json_t *o = json_pack("{s:s,s:s,s:s}", "version", *ret, "image", ref, "digest", digest);
        free(text);
        text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(o);
        return fs_write_file_atomic(path, text, strlen(text), 0600, err);
}

/* The storage key of an input's SOURCE: a key "blobs/sha256/<hex>", or a
 * URL ".../blobs/sha256/<hex>". */
static const char *blob_key(const char *source)
{
        static const char pre[] = "blobs/sha256/";
        const char *k;

        if (source == NULL)
                return NULL;
        if (strncmp(source, pre, sizeof pre - 1) == 0)
                return source;
        k = strstr(source, "/blobs/sha256/");
        return k != NULL ? k + 1 : NULL;
}

/* A file Replicate has already with SHA256, or NULL (the newest page only:
 * a miss uploads again, which is only slower). */
static char *known_file(struct apiclient *c, const char *sha256)
{
        struct hoist_error *e = NULL;
        json_t *page = NULL, *f;
        char *url = NULL;
        size_t i;

        if (apiclient_call(c, "GET", "/files", NULL, NULL, &page, &e) < 0) {
                log_debug("list Replicate files: %s", e->msg);
                hoist_error_free(e);
                return NULL;
        }
        json_array_foreach(json_object_get(page, "results"), i, f)
        {
                struct replicate_file rf = {0};
                if (replicate_file_from_json(f, &rf, &e) < 0) {
                        hoist_error_release(&e);
                        continue;
                }
                if (rf.sha256 != NULL && strcmp(rf.sha256, sha256) == 0)
                        url = TAKE_PTR(rf.url);
                replicate_file_clear(&rf);
                if (url != NULL)
                        break;
        }
        json_decref(page);
        return url;
}

static int upload_input(const struct provider_submit *req, struct apiclient *c,
                        const struct jobspec_input *in, char **ret, struct hoist_error **err)
{
        const char *key = blob_key(in->source);
        _cleanup_free_ char *data = NULL, *name = NULL;
        struct replicate_file f = {0};
        json_t *o = NULL;
        size_t len = 0;

        if (in->sha256 != NULL && (*ret = known_file(c, in->sha256)) != NULL) {
                log_info("input %s: Replicate has its blob already", in->channel);
                return 0;
        }
        if (key == NULL || req->storage == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "input '%s' is not a blob in the job's storage",
                                        in->channel);
        if (in->size > REPLICATE_FILE_LIMIT)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "input '%s' is %" PRIu64 " bytes; Replicate's file API "
                                        "takes at most 100 MiB",
                                        in->channel, in->size);
        if (storage_get_bytes(req->storage, key, &data, &len, err) < 0)
                return hoist_error_wrap(err, "input '%s'", in->channel);
        name = xasprintf("%s.%s", in->channel, in->mode == JOBSPEC_INPUT_ARCHIVE ? "tar" : "bin");
        if (apiclient_upload(c, "/files", "content", name, "application/octet-stream", data, len,
                             &o, err) < 0 ||
            replicate_file_from_json(o, &f, err) < 0) {
                json_decref(o);
                return hoist_error_wrap(err, "upload input '%s'", in->channel);
        }
        json_decref(o);
        log_info("input %s: %zu bytes uploaded to Replicate as %s", in->channel, len, f.id);
        *ret = TAKE_PTR(f.url);
        replicate_file_clear(&f);
        return 0;
}

static int upload_inputs(const struct provider_submit *req, struct apiclient *c, char ***ret,
                         struct hoist_error **err)
{
        char **urls = xcalloc(req->spec->n_inputs + 1, sizeof *urls);

        for (size_t i = 0; i < req->spec->n_inputs; i++) {
                const struct jobspec_input *in = &req->spec->inputs[i];
                if (in->mode != JOBSPEC_INPUT_FILE && in->mode != JOBSPEC_INPUT_ARCHIVE)
                        continue; /* the entrypoint fetches it from the job's storage */
                if (upload_input(req, c, in, &urls[i], err) < 0) {
                        for (size_t k = 0; k < req->spec->n_inputs; k++)
                                free(urls[k]);
                        free(urls);
                        return -1;
                }
        }
        *ret = urls;
        return 0;
}

static int create_training(const struct provider_submit *req, const struct replicate_settings *s,
                           struct apiclient *c, const char *version, char **channel_urls,
                           char **ret_id, struct hoist_error **err)
{
        int64_t attempt = req->spec->attempt > 0 ? req->spec->attempt : 1;
        _cleanup_free_ char *hook = webhook_for(s, req->secret_env, req->job_id, attempt);
        _cleanup_free_ char *path =
                xasprintf("/models/%s/versions/%s/trainings", s->model, version);
        _cleanup_free_ char *saved = path_join(req->state_dir, TRAINING_FILE);
        _cleanup_replicate_training_ struct replicate_training t = {.predict_time = -1};
        json_t *body = NULL, *shown, *out = NULL;
        char *text;
        const struct replicate_plan p = {
                .spec = req->spec,
                .destination = destination_of(s),
                .job_url = req->job_url,
                .secret_env = req->secret_env,
                .channel_urls = (const char *const *)channel_urls,
                .webhook = hook,
                .events = s->webhook_events,
        };
        int r;

        if (replicate_training_body(&p, &body, err) < 0)
                return -1;
        shown = replicate_training_body_redacted(body);
        text = json_dumps(shown, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(shown);
        if (text == NULL)
                abort(); /* out of memory */
        r = fs_write_file_atomic(saved, text, strlen(text), 0600, err);
        free(text);
        if (r < 0 || req->record(req->userdata, "container", PENDING_REF, err) < 0) {
                json_decref(body);
                return -1;
        }
        r = apiclient_call(c, "POST", path, body, NULL, &out, err);
        json_decref(body);
        if (r < 0 || replicate_training_from_json(out, &t, err) < 0) {
                json_decref(out);
                return hoist_error_wrap(err, "create the training");
        }
        json_decref(out);
        log_info("Replicate training %s created (%s)%s", t.id, t.status,
                 hook ? "" : "; no webhook URL, hoist polls it");
        *ret_id = TAKE_PTR(t.id);
        return 0;
}

static int rp_submit(const struct provider_submit *req, struct hoist_error **err)
{
        _cleanup_replicate_settings_ struct replicate_settings *stored = NULL;
        const struct replicate_settings *s = req->settings;
        _cleanup_apiclient_ struct apiclient *c = NULL;
        _cleanup_free_ char *user = NULL, *hw = NULL, *version = NULL, *id = NULL;
        char **urls = NULL;
        int r;

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
        if (check_model(s, err) < 0 || client_new(&c, err) < 0 ||
            get_account(c, &user, NULL, err) < 0 ||
            hardware_for(s, &req->spec->resources, &hw, err) < 0 ||
            version_for(req, s, c, user, hw, &version, err) < 0 ||
            upload_inputs(req, c, &urls, err) < 0)
                return hoist_error_wrap(err, "submit to Replicate");
        r = create_training(req, s, c, version, urls, &id, err);
        for (size_t i = 0; i < req->spec->n_inputs; i++)
                free(urls[i]);
        free(urls);
        if (r < 0)
                return hoist_error_wrap(err, "submit to Replicate");
        return req->record(req->userdata, "container", id, err);
}

/* ---- status, cancel ---- */

static int pending(const struct job_record *job, struct provider_status *ret)
{
        if (job->provider_ref != NULL && strcmp(job->provider_ref, PENDING_REF) != 0)
                return 0;
        ret->state = JOB_FAILED;
        ret->exit_code = -1;
        ret->reason = xstrdup("the job never reached Replicate (hoist submit was interrupted "
                              "before Replicate named the training)");
        return 1;
}

static int rp_status(const struct job_record *job, const char *state_dir,
                     struct provider_status *ret, struct hoist_error **err)
{
        _cleanup_apiclient_ struct apiclient *c = NULL;
        _cleanup_replicate_training_ struct replicate_training t = {.predict_time = -1};

        (void)state_dir;
        ret->exit_code = -1;
        if (pending(job, ret))
                return 0;
        if (client_new(&c, err) < 0 || get_training(c, job->provider_ref, &t, err) < 0)
                return hoist_error_wrap(err, "Replicate training %s", job->provider_ref);
        replicate_map_status(&t, ret);
        return 0;
}

static int rp_cancel(const struct job_record *job, const char *state_dir, int64_t grace_s,
                     struct hoist_error **err)
{
        _cleanup_apiclient_ struct apiclient *c = NULL;
        _cleanup_free_ char *path = NULL;
        struct timespec tick = {1, 0};
        int64_t deadline;

        (void)state_dir;
        if (job->provider_ref == NULL || strcmp(job->provider_ref, PENDING_REF) == 0)
                return 0;
        if (client_new(&c, err) < 0)
                return -1;
        path = xasprintf("/trainings/%s/cancel", job->provider_ref);
        if (apiclient_call(c, "POST", path, NULL, NULL, NULL, err) < 0)
                return hoist_error_wrap(err, "cancel Replicate training %s", job->provider_ref);
        /* The container gets SIGTERM and the job's stop grace for its
         * final checkpoint; this waits that long and a little more. */
        deadline = now_s() + (grace_s > 0 ? grace_s : 30) + 60;
        for (;;) {
                _cleanup_replicate_training_ struct replicate_training t = {.predict_time = -1};
                if (get_training(c, job->provider_ref, &t, err) < 0)
                        return -1;
                if (replicate_status_terminal(t.status))
                        return 0;
                if (now_s() >= deadline)
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "Replicate training %s is still %s after its "
                                                "cancel",
                                                job->provider_ref, t.status);
                nanosleep(&tick, NULL);
        }
}

static int rp_clear(const struct job_record *job, const char *state_dir, int64_t grace_s,
                    struct hoist_error **err)
{
        if (rp_cancel(job, state_dir, grace_s, err) < 0)
                return hoist_error_wrap(err, "stop the previous attempt of job %s", job->id);
        return 0;
}

/* ---- billing ---- */

static int rp_billing(const struct job_record *job, const char *state_dir,
                      struct provider_billing *ret, struct hoist_error **err)
{
        _cleanup_replicate_settings_ struct replicate_settings *s = NULL;
        _cleanup_apiclient_ struct apiclient *c = NULL;
        _cleanup_replicate_training_ struct replicate_training t = {.predict_time = -1};

        *ret = (struct provider_billing){.nodes = 1};
        if (job->provider_ref == NULL || strcmp(job->provider_ref, PENDING_REF) == 0)
                return 0;
        if (read_settings(state_dir, &s, err) < 0 || client_new(&c, err) < 0 ||
            get_training(c, job->provider_ref, &t, err) < 0)
                return -1;
        if (t.predict_time < 0) {
                ret->source = xstrdup("Replicate reports no metrics.predict_time yet");
                return 0;
        }
        ret->billed_exact_s = t.predict_time;
        ret->billed_s = (int64_t)ceil(t.predict_time);
        ret->sku = s->hardware ? xstrdup(s->hardware) : NULL;
        ret->source = xasprintf("Replicate training %s metrics.predict_time %.3f s (%s)", t.id,
                                t.predict_time, s->hardware ? s->hardware : "?");
        return 0;
}

/* ---- hoist list --remote ---- */

/* The hoist job of a training: .../jobs/<id>/job.json in its input. */
static char *job_of(const char *job_url)
{
        const char *j = job_url ? strstr(job_url, "/jobs/") : NULL;
        size_t n;

        if (j == NULL)
                return NULL;
        j += 6;
        n = strcspn(j, "/");
        return strcmp(j + n, "/job.json") == 0 && n > 0 ? xstrndup(j, n) : NULL;
}

static int rp_list_remote(size_t limit, struct provider_remote_job **ret, size_t *ret_n,
                          struct hoist_error **err)
{
        _cleanup_apiclient_ struct apiclient *c = NULL;
        _cleanup_free_ char *next = xstrdup("/trainings");
        struct provider_remote_job *out = NULL;
        size_t n = 0;

        if (client_new(&c, err) < 0)
                return -1;
        while (next != NULL && n < limit) {
                json_t *page = NULL, *a, *e;
                size_t i;
                if (apiclient_call(c, "GET", next, NULL, NULL, &page, err) < 0) {
                        provider_remote_jobs_free(out, n);
                        return -1;
                }
                a = json_object_get(page, "results");
                out = xreallocarray(out, n + json_array_size(a) + 1, sizeof *out);
                json_array_foreach(a, i, e)
                {
                        _cleanup_replicate_training_ struct replicate_training t = {0};
                        struct hoist_error *e2 = NULL;
                        if (n >= limit)
                                break;
                        if (replicate_training_from_json(e, &t, &e2) < 0) {
                                hoist_error_free(e2);
                                continue;
                        }
                        memset(&out[n], 0, sizeof out[n]);
                        out[n].job_id = job_of(t.hoist_job_url);
                        out[n].ref = t.id;
                        out[n].state = t.status;
                        t.id = t.status = NULL;
                        n++;
                }
                free(next);
                next = json_is_string(json_object_get(page, "next"))
                               ? xstrdup(json_string_value(json_object_get(page, "next")))
                               : NULL;
                json_decref(page);
        }
        *ret = out;
        *ret_n = n;
        return 0;
}

const struct provider_ops provider_replicate = {
        .name = "replicate",
        .remote = 1,
        .upload_limit = REPLICATE_FILE_LIMIT,
        .caps = {.gpus = 1, .multi_node = 0, .spot = 0, .max_runtime_s = 0, .requeues = 0},
        .poll_ms = 5000,
        .section = "replicate",
        .load_settings = rp_load_settings,
        .free_settings = rp_free_settings,
        .reaches_loopback = rp_reaches_loopback,
        .render = rp_render,
        .price_key = rp_price_key,
        .billing = rp_billing,
        .validate = rp_validate,
        .check_image = NULL,
        .check_resources = NULL,
        .submit = rp_submit,
        .status = rp_status,
        .logs = NULL,
        .cancel = rp_cancel,
        .clear = rp_clear,
        .release = NULL,
        .list_remote = rp_list_remote,
};
