/* SPDX-License-Identifier: MIT */
/*
 * The sagemaker provider: one SageMaker training job per attempt, named
 * hoist-<job id>-<attempt> (docs/providers/sagemaker.md).
 *
 * Submit writes the job's secrets (storage keys, secrets:, webhook secrets)
 * as one object under the job's prefix, jobs/<id>/secrets.json, whose key
 * goes to the container as the hyperparameter hoist_secrets_key: the
 * entrypoint reads it with the role's credentials and deletes it when the
 * job ends.  No secret is in any request body, so none shows in
 * DescribeTrainingJob or the console.  The training job's name is recorded
 * before CreateTrainingJob is sent: a hoist killed in between leaves a
 * name that DescribeTrainingJob does not know, which status reports as a
 * submit that never reached SageMaker.
 *
 * run/<id>/ keeps sagemaker.json (the job.yaml settings, for attempts that
 * hoist serve starts from job.json alone) and create.json (the last
 * CreateTrainingJob body, as sent).
 */
#include "provider.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "awsjson.h"
#include "cleanup.h"
#include "clock.h"
#include "fsutil.h"
#include "log.h"
#include "prices.h"
#include "sagemaker_api.h"
#include "sagemaker_settings.h"
#include "storage.h"
#include "xalloc.h"

#define SETTINGS_FILE "sagemaker.json"
#define CREATE_FILE "create.json"
#define ENDPOINT_ENV "HOIST_SAGEMAKER_ENDPOINT"

/* ---- settings ---- */

PROVIDER_SETTINGS_OPS(sm, sagemaker_settings)

/* Jobs run in AWS, where this machine's 127.0.0.1 is not theirs; a
 * SageMaker endpoint on loopback (a test server, which runs the job's
 * container here) is the one exception. */
static int sm_reaches_loopback(const void *settings)
{
        const char *e = getenv(ENDPOINT_ENV);

        (void)settings;
        return e != NULL &&
               (strncmp(e, "http://127.", 11) == 0 || strncmp(e, "http://localhost", 16) == 0 ||
                strncmp(e, "https://127.", 12) == 0);
}

static int read_settings(const char *state_dir, struct sagemaker_settings **ret,
                         struct hoist_error **err)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len = 0;

        if (provider_settings_read(state_dir, SETTINGS_FILE, "SageMaker", &path, &text, &len, err) <
            0)
                return -1;
        return sagemaker_settings_from_json(text, len, path, ret, err);
}

static int write_settings(const char *state_dir, const struct sagemaker_settings *s,
                          struct hoist_error **err)
{
        _cleanup_free_ char *text = sagemaker_settings_to_json(s);

        return provider_settings_write(state_dir, SETTINGS_FILE, text, err);
}

/* ---- the API ---- */

static int client_for(const struct sagemaker_settings *s, struct awsjson_client **ret,
                      struct hoist_error **err)
{
        _cleanup_free_ char *region =
                s != NULL && s->region != NULL ? xstrdup(s->region) : awsjson_default_region();

        if (region == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "no AWS region for SageMaker: set sagemaker.region in "
                                        "job.yaml, AWS_REGION, or a region in ~/.aws/config");
        return awsjson_client_new(&awsjson_sagemaker, region, getenv(ENDPOINT_ENV), NULL, ret, err);
}

static int describe(struct awsjson_client *c, const char *name, struct sagemaker_job *ret,
                    struct hoist_error **err)
{
        json_t *body = json_pack("{s:s}", "TrainingJobName", name);
        json_t *out = NULL;
        int r = awsjson_call(c, "DescribeTrainingJob", body, &out, err);

        json_decref(body);
        if (r < 0)
                return -1;
        r = sagemaker_job_from_json(out, ret, err);
        json_decref(out);
        return r;
}

/* ---- render, validate, submit ---- */

static char *region_of(const struct sagemaker_settings *s)
{
        return s != NULL && s->region != NULL ? xstrdup(s->region) : awsjson_default_region();
}

/* sagemaker.instance_type, or the cheapest type of the price tables (the
 * embedded ones and $HOIST_HOME/prices.yaml) that holds what the job asks. */
static int instance_type(const struct sagemaker_settings *s, const struct jobspec_resources *r,
                         char **ret, struct hoist_error **err)
{
        _cleanup_prices_ struct prices *p = NULL;
        _cleanup_free_ char *region = NULL;

        if (s->instance_type != NULL) {
                *ret = xstrdup(s->instance_type);
                return 0;
        }
        region = region_of(s);
        if (prices_load(getenv("HOIST_HOME"), &p, err) < 0 ||
            sagemaker_pick_instance(p, r, region, ret, err) < 0)
                return -1;
        log_info("SageMaker instance type %s: the cheapest in %s with what resources: asks "
                 "(set sagemaker.instance_type to choose)",
                 *ret, region ? region : "any region");
        return 0;
}

static int plan_for(const struct provider_submit *req, const struct sagemaker_settings *s,
                    const char *secrets_key, json_t **ret, struct hoist_error **err)
{
        struct storage_location loc = {0};
        struct sagemaker_settings chosen;
        _cleanup_free_ char *type = NULL;

        if (instance_type(s, &req->spec->resources, &type, err) < 0)
                return -1;
        chosen = *s;
        chosen.instance_type = type;
        s = &chosen;
        if (req->storage != NULL)
                storage_locate(req->storage, &loc);
        const struct sagemaker_plan p = {
                .spec = req->spec,
                .set = s,
                .job_id = req->job_id,
                .attempt = req->spec->attempt > 0 ? req->spec->attempt : 1,
                .job_url = req->job_url,
                .image = req->image,
                .secrets_key = secrets_key,
                .s3_endpoint = loc.endpoint,
                .s3_region = loc.region,
        };

        return sagemaker_create_body(&p, ret, err);
}

static int has_secrets(const struct provider_submit *req)
{
        return req->secret_env != NULL && req->secret_env[0] != NULL;
}

static char *secrets_key(const char *job_id)
{
        return xasprintf("jobs/%s/secrets.json", job_id);
}

/* Offline, so that --dry-run (which asks no engine) refuses it too. */
static int check_role(const struct sagemaker_settings *s, struct hoist_error **err)
{
        if (s->role == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "no execution role: set sagemaker.role in job.yaml, or "
                                        "HOIST_SAGEMAKER_ROLE, to the ARN of a role SageMaker "
                                        "may assume (docs/providers/sagemaker.md)");
        return 0;
}

static int sm_render(const struct provider_submit *req, char **ret, struct hoist_error **err)
{
        _cleanup_sagemaker_settings_ struct sagemaker_settings *def = NULL;
        const struct sagemaker_settings *s = req->settings;
        _cleanup_free_ char *key = has_secrets(req) ? secrets_key(req->job_id) : NULL;
        _cleanup_free_ char *region = NULL, *text = NULL;
        const char *endpoint = getenv(ENDPOINT_ENV);
        json_t *body = NULL;

        if (s == NULL && sagemaker_settings_load(NULL, NULL, &def, err) < 0)
                return -1;
        if (s == NULL)
                s = def;
        if (check_role(s, err) < 0 || plan_for(req, s, key, &body, err) < 0)
                return -1;
        text = json_dumps(body, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(body);
        if (text == NULL)
                abort(); /* out of memory */
        region = s->region != NULL ? xstrdup(s->region) : awsjson_default_region();
        if (endpoint != NULL && *endpoint != '\0')
                *ret = xasprintf("# POST %s/ (region %s)\n", endpoint, region ? region : "?");
        else
                *ret = xasprintf("# POST https://api.sagemaker.%s.amazonaws.com/\n",
                                 region ? region : "<region>");
        char *all = xasprintf("%s# X-Amz-Target: SageMaker.CreateTrainingJob\n"
                              "# Content-Type: application/x-amz-json-1.1\n"
                              "%s%s%s%s\n",
                              *ret, key ? "# the job's secrets go to the storage object " : "",
                              key ? key : "", key ? " (never in this body)\n" : "", text);
        free(*ret);
        *ret = all;
        return 0;
}

static int sm_validate(const void *settings, struct hoist_error **err)
{
        const struct sagemaker_settings *s = settings;
        _cleanup_awsjson_client_ struct awsjson_client *c = NULL;
        json_t *body, *out = NULL;
        int r;

        if (s != NULL && check_role(s, err) < 0)
                return -1;
        if (client_for(s, &c, err) < 0)
                return -1;
        /* The cheapest call that proves the credentials, the region and
         * the endpoint. */
        body = json_pack("{s:i}", "MaxResults", 1);
        r = awsjson_call(c, "ListTrainingJobs", body, &out, err);
        json_decref(body);
        json_decref(out);
        if (r < 0)
                return hoist_error_wrap(err, "check SageMaker at %s", awsjson_client_endpoint(c));
        return 0;
}

/* secret_env as the JSON object hoist-entrypoint reads. */
static int secrets_json(char *const *secret_env, char **ret, struct hoist_error **err)
{
        json_t *o = json_object();

        for (char *const *e = secret_env; *e != NULL; e++) {
                const char *eq = strchr(*e, '=');
                _cleanup_free_ char *name = xstrndup(*e, (size_t)(eq - *e));
                json_t *v = json_string(eq + 1);
                if (v == NULL) {
                        json_decref(o);
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "secret '%s' is not UTF-8 text, which the job's "
                                                "secrets object cannot carry (encode it, e.g. in "
                                                "base64)",
                                                name);
                }
                (void)json_object_set_new(o, name, v);
        }
        *ret = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (*ret == NULL)
                abort(); /* out of memory */
        return 0;
}

static int put_secrets(const struct provider_submit *req, const char *key, struct hoist_error **err)
{
        _cleanup_free_ char *text = NULL;
        int r;

        if (req->storage == NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "job %s has secrets and no storage to hand them over in",
                                        req->job_id);
        if (secrets_json(req->secret_env, &text, err) < 0)
                return -1;
        r = storage_put_bytes(req->storage, key, text, strlen(text), err);
        explicit_bzero(text, strlen(text));
        return r < 0 ? hoist_error_wrap(err, "store the job's secrets object '%s'", key) : 0;
}

static int sm_submit(const struct provider_submit *req, struct hoist_error **err)
{
        _cleanup_sagemaker_settings_ struct sagemaker_settings *stored = NULL;
        const struct sagemaker_settings *s = req->settings;
        _cleanup_awsjson_client_ struct awsjson_client *c = NULL;
        _cleanup_free_ char *key = has_secrets(req) ? secrets_key(req->job_id) : NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ char *create = path_join(req->state_dir, CREATE_FILE);
        _cleanup_free_ char *name = NULL;
        json_t *body = NULL, *out = NULL;
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
        if (plan_for(req, s, key, &body, err) < 0 || client_for(s, &c, err) < 0) {
                json_decref(body);
                return -1;
        }
        name = xstrdup(json_string_value(json_object_get(body, "TrainingJobName")));
        text = json_dumps(body, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (text == NULL)
                abort(); /* out of memory */
        if (fs_write_file_atomic(create, text, strlen(text), 0600, err) < 0 ||
            (key != NULL && put_secrets(req, key, err) < 0) ||
            req->record(req->userdata, "container", name, err) < 0) {
                json_decref(body);
                return -1;
        }
        r = awsjson_call(c, "CreateTrainingJob", body, &out, err);
        json_decref(body);
        json_decref(out);
        if (r < 0) {
                if (key != NULL) {
                        struct hoist_error *e2 = NULL;
                        if (storage_delete(req->storage, key, &e2) < 0) {
                                log_warn("delete the secrets object '%s': %s, ignoring", key,
                                         e2->msg);
                                hoist_error_free(e2);
                        }
                }
                return hoist_error_wrap(err, "submit to SageMaker");
        }
        log_info("SageMaker training job %s created", name);
        return 0;
}

/* ---- status ---- */

static int sm_status(const struct job_record *job, const char *state_dir,
                     struct provider_status *ret, struct hoist_error **err)
{
        _cleanup_sagemaker_settings_ struct sagemaker_settings *s = NULL;
        _cleanup_awsjson_client_ struct awsjson_client *c = NULL;
        _cleanup_sagemaker_job_ struct sagemaker_job j = {0};
        struct hoist_error *e = NULL;

        ret->exit_code = -1;
        if (job->provider_ref == NULL) {
                ret->state = JOB_FAILED;
                ret->reason = xstrdup("the job never reached SageMaker (hoist submit was "
                                      "interrupted before it named the training job)");
                return 0;
        }
        if (read_settings(state_dir, &s, err) < 0 || client_for(s, &c, err) < 0)
                return -1;
        if (describe(c, job->provider_ref, &j, &e) < 0) {
                if (e->code != HOIST_ERR_NOT_FOUND &&
                    strstr(e->msg, "ValidationException") == NULL) {
                        *err = e;
                        return hoist_error_wrap(err, "SageMaker job %s", job->provider_ref);
                }
                ret->state = JOB_FAILED;
                ret->reason = xasprintf("SageMaker does not know training job %s (hoist submit "
                                        "stopped before CreateTrainingJob was answered): %s",
                                        job->provider_ref, e->msg);
                hoist_error_free(e);
                return 0;
        }
        sagemaker_map_status(&j, ret);
        return 0;
}

/* ---- cancel, clear, release ---- */

static int active(const struct sagemaker_job *j)
{
        return strcmp(j->status, "InProgress") == 0 || strcmp(j->status, "Stopping") == 0;
}

/* SageMaker gives the container SIGTERM and 120 s (its own, whatever
 * GRACE_S says) before SIGKILL; this waits that long and a little more. */
static int stop_job(const struct sagemaker_settings *s, const char *name, int64_t grace_s,
                    struct hoist_error **err)
{
        _cleanup_awsjson_client_ struct awsjson_client *c = NULL;
        struct timespec tick = {1, 0};
        int64_t deadline;
        json_t *body, *out = NULL;
        int r;

        if (client_for(s, &c, err) < 0)
                return -1;
        for (;;) {
                _cleanup_sagemaker_job_ struct sagemaker_job j = {0};
                struct hoist_error *e = NULL;
                if (describe(c, name, &j, &e) < 0) {
                        if (e->code == HOIST_ERR_NOT_FOUND ||
                            strstr(e->msg, "ValidationException") != NULL) {
                                hoist_error_free(e);
                                return 0; /* never created */
                        }
                        *err = e;
                        return -1;
                }
                if (!active(&j))
                        return 0;
                if (strcmp(j.status, "InProgress") == 0)
                        break;
                nanosleep(&tick, NULL); /* Stopping already */
        }
        body = json_pack("{s:s}", "TrainingJobName", name);
        r = awsjson_call(c, "StopTrainingJob", body, &out, err);
        json_decref(body);
        json_decref(out);
        if (r < 0)
                return hoist_error_wrap(err, "stop SageMaker job %s", name);
        deadline = clock_mono_ms() + ((grace_s > 120 ? grace_s : 120) + 60) * 1000;
        for (;;) {
                _cleanup_sagemaker_job_ struct sagemaker_job j = {0};
                if (describe(c, name, &j, err) < 0)
                        return -1;
                if (!active(&j))
                        return 0;
                if (clock_mono_ms() >= deadline)
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "SageMaker job %s is still %s after "
                                                "StopTrainingJob and its 120 s",
                                                name, j.status);
                nanosleep(&tick, NULL);
        }
}

static int sm_cancel(const struct job_record *job, const char *state_dir, int64_t grace_s,
                     struct hoist_error **err)
{
        _cleanup_sagemaker_settings_ struct sagemaker_settings *s = NULL;

        if (job->provider_ref == NULL)
                return 0;
        if (read_settings(state_dir, &s, err) < 0)
                return -1;
        return stop_job(s, job->provider_ref, grace_s, err);
}

static int sm_clear(const struct job_record *job, const char *state_dir, int64_t grace_s,
                    struct hoist_error **err)
{
        if (sm_cancel(job, state_dir, grace_s, err) < 0)
                return hoist_error_wrap(err, "stop the previous attempt of job %s", job->id);
        return 0;
}

/* SageMaker frees its instances itself when a job ends; the secrets object
 * is the entrypoint's to delete (it holds the role that may). */
static int sm_release(const struct job_record *job, const char *state_dir, struct hoist_error **err)
{
        (void)job;
        (void)state_dir;
        (void)err;
        return 0;
}

/* ---- billing ---- */

static int sm_billing(const struct job_record *job, const char *state_dir,
                      struct provider_billing *ret, struct hoist_error **err)
{
        _cleanup_sagemaker_settings_ struct sagemaker_settings *s = NULL;
        _cleanup_awsjson_client_ struct awsjson_client *c = NULL;
        _cleanup_sagemaker_job_ struct sagemaker_job j = {0};

        *ret = (struct provider_billing){.nodes = 1};
        if (job->provider_ref == NULL)
                return 0;
        if (read_settings(state_dir, &s, err) < 0 || client_for(s, &c, err) < 0 ||
            describe(c, job->provider_ref, &j, err) < 0)
                return -1;
        ret->nodes = j.instance_count;
        if (j.billable_s < 0) {
                ret->source = xstrdup("SageMaker reports no BillableTimeInSeconds yet");
                return 0;
        }
        ret->billed_s = j.billable_s * j.instance_count;
        ret->source =
                xasprintf("SageMaker DescribeTrainingJob BillableTimeInSeconds x "
                          "InstanceCount (%s%s)",
                          j.instance_type ? j.instance_type : "?", j.spot ? ", managed spot" : "");
        return 0;
}

/* ---- prices ---- */

static int sm_price_key(const void *settings, const struct jobspec_resources *r,
                        const struct prices *p, struct provider_price_key *ret,
                        struct hoist_error **err)
{
        _cleanup_sagemaker_settings_ struct sagemaker_settings *def = NULL;
        const struct sagemaker_settings *s = settings;
        _cleanup_free_ char *region = NULL, *sku = NULL;

        if (s == NULL && sagemaker_settings_load(NULL, NULL, &def, err) < 0)
                return -1;
        if (s == NULL)
                s = def;
        region = region_of(s);
        if (s->instance_type != NULL)
                sku = xstrdup(s->instance_type);
        else if (sagemaker_pick_instance(p, r, region, &sku, err) < 0)
                return -1;
        *ret = (struct provider_price_key){
                .sku = TAKE_PTR(sku),
                .region = TAKE_PTR(region),
                .spot = s->spot >= 0 ? s->spot : r->spot,
                .count = s->instance_count > 0 ? s->instance_count : 1,
        };
        return 0;
}

/* ---- hoist list --remote ---- */

static int sm_list_remote(size_t limit, struct provider_remote_job **ret, size_t *ret_n,
                          struct hoist_error **err)
{
        _cleanup_awsjson_client_ struct awsjson_client *c = NULL;
        _cleanup_free_ char *next = NULL;
        struct provider_remote_job *out = NULL;
        size_t n = 0;

        if (client_for(NULL, &c, err) < 0)
                return -1;
        do {
                json_t *body = json_pack("{s:i,s:s,s:s}", "MaxResults", 100, "SortBy",
                                         "CreationTime", "SortOrder", "Descending");
                json_t *page = NULL;
                struct sagemaker_summary *s = NULL;
                size_t k = 0;
                int r;

                if (next != NULL)
                        (void)json_object_set_new(body, "NextToken", json_string(next));
                r = awsjson_call(c, "ListTrainingJobs", body, &page, err);
                json_decref(body);
                free(TAKE_PTR(next));
                if (r < 0 || sagemaker_parse_list(page, &s, &k, &next, err) < 0) {
                        json_decref(page);
                        provider_remote_jobs_free(out, n);
                        return -1;
                }
                json_decref(page);
                out = xreallocarray(out, n + k + 1, sizeof *out);
                for (size_t i = 0; i < k && n < limit; i++, n++) {
                        out[n] = (struct provider_remote_job){
                                .ref = TAKE_PTR(s[i].name),
                                .state = TAKE_PTR(s[i].status),
                                .created_ms = (int64_t)(s[i].created * 1000),
                        };
                        if (sagemaker_job_name_parse(out[n].ref, &out[n].job_id, &out[n].attempt) <
                            0)
                                out[n].job_id = NULL;
                }
                sagemaker_summaries_free(s, k);
        } while (next != NULL && n < limit);
        *ret = out;
        *ret_n = n;
        return 0;
}

const struct provider_ops provider_sagemaker = {
        .name = "sagemaker",
        .remote = 1,
        .upload_limit = 0,
        .caps = {.gpus = 1,
                 .multi_node = 1,
                 .spot = 1,
                 .max_runtime_s = SAGEMAKER_MAX_RUNTIME_S,
                 .requeues = 1},
        .poll_ms = 5000,
        .section = "sagemaker",
        .load_settings = sm_load_settings,
        .free_settings = sm_free_settings,
        .reaches_loopback = sm_reaches_loopback,
        .render = sm_render,
        .price_key = sm_price_key,
        .billing = sm_billing,
        .validate = sm_validate,
        .check_image = NULL,
        .check_resources = NULL,
        .submit = sm_submit,
        .status = sm_status,
        .logs = NULL,
        .cancel = sm_cancel,
        .clear = sm_clear,
        .release = sm_release,
        .list_remote = sm_list_remote,
};
