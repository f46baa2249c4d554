/* SPDX-License-Identifier: MIT */
#include "sagemaker_api.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "prices.h"
#include "cleanup.h"
#include "xalloc.h"

/* ---- names ---- */

int sagemaker_name_valid(const char *name)
{
        size_t n = name != NULL ? strlen(name) : 0;

        if (n == 0 || n > SAGEMAKER_NAME_MAX || !isalnum((unsigned char)name[0]) ||
            !isalnum((unsigned char)name[n - 1]))
                return 0;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)name[i]) && name[i] != '-')
                        return 0;
        return 1;
}

char *sagemaker_job_name(const char *job_id, int64_t attempt)
{
        char *name;

        if (job_id == NULL || attempt < 1)
                return NULL;
        name = xasprintf(SAGEMAKER_NAME_PREFIX "%s-%" PRId64, job_id, attempt);
        if (!sagemaker_name_valid(name)) {
                free(name);
                return NULL;
        }
        return name;
}

int sagemaker_job_name_parse(const char *name, char **ret_id, int64_t *ret_attempt)
{
        const size_t pre = sizeof SAGEMAKER_NAME_PREFIX - 1;
        const char *dash;
        int64_t attempt = 0;

        if (!sagemaker_name_valid(name) || strncmp(name, SAGEMAKER_NAME_PREFIX, pre) != 0)
                return -1;
        dash = strrchr(name, '-');
        if (dash == NULL || dash <= name + pre || dash[1] == '\0' || dash[1] == '0')
                return -1;
        for (const char *p = dash + 1; *p != '\0'; p++) {
                if (!isdigit((unsigned char)*p) || attempt > INT64_MAX / 10 - 10)
                        return -1;
                attempt = attempt * 10 + (*p - '0');
        }
        *ret_id = xstrndup(name + pre, (size_t)(dash - name - (ptrdiff_t)pre));
        *ret_attempt = attempt;
        return 0;
}

/* ---- instance types ---- */

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

int sagemaker_pick_instance(const struct prices *p, const struct jobspec_resources *r,
                            const char *region, char **ret_sku, struct hoist_error **err)
{
        const struct price_entry *best = NULL;
        double best_price = 0;

        for (size_t i = 0; i < prices_count(p); i++) {
                const struct price_entry *e = prices_at(p, i), *here;
                if (strcmp(e->provider, "sagemaker") != 0 || e->sku == NULL || !fits(e, r))
                        continue;
                /* The price where the job runs; skip types not sold there. */
                here = prices_find(p, "sagemaker", e->sku, region);
                if (here == NULL)
                        continue;
                if (best == NULL || here->price < best_price ||
                    (here->price == best_price && strcmp(e->sku, best->sku) < 0)) {
                        best = e;
                        best_price = here->price;
                }
        }
        if (best == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "no SageMaker instance type in the price tables has "
                                        "%" PRId64 " GPU(s)%s%s, %.1f CPUs and %.1f GiB in %s "
                                        "(set sagemaker.instance_type, or add the type to "
                                        "$HOIST_HOME/prices.yaml)",
                                        r->gpus, r->gpu_type ? " of type " : "",
                                        r->gpu_type ? r->gpu_type : "",
                                        (double)r->cpus_milli / 1000,
                                        (double)r->memory_bytes / (1024.0 * 1024 * 1024),
                                        region ? region : "any region");
        *ret_sku = xstrdup(best->sku);
        return 0;
}

/* ---- CreateTrainingJob ---- */

char *sagemaker_storage_base(const char *job_url)
{
        const char *jobs;

        if (job_url == NULL || strncmp(job_url, "s3://", 5) != 0 || job_url[5] == '/' ||
            job_url[5] == '\0')
                return NULL;
        jobs = strstr(job_url + 5, "/jobs/");
        if (jobs == NULL)
                return NULL;
        return xstrndup(job_url, (size_t)(jobs - job_url) + 1);
}

static int env_key_valid(const char *k)
{
        if (!isalpha((unsigned char)*k) && *k != '_')
                return 0;
        for (; *k != '\0'; k++)
                if (!isalnum((unsigned char)*k) && *k != '_')
                        return 0;
        return strlen(k) <= 512;
}

static json_t *hyperparameters(const struct sagemaker_plan *p, struct hoist_error **err)
{
        const struct jobspec *spec = p->spec;
        json_t *hp = json_object();

        if (spec->n_hyperparameters + 2 > 100) {
                json_decref(hp);
                (void)hoist_error_make(err, HOIST_ERR_INPUT,
                                       "the job has %zu hyperparameters; SageMaker takes 100, "
                                       "and hoist adds 2 (hoist_job_url, hoist_secrets_key)",
                                       spec->n_hyperparameters);
                return NULL;
        }
        for (size_t i = 0; i < spec->n_hyperparameters; i++) {
                const struct jobspec_kv *kv = &spec->hyperparameters[i];
                if (strncmp(kv->key, "hoist_", 6) == 0 || strlen(kv->key) > 256 ||
                    strlen(kv->value) > 2500) {
                        json_decref(hp);
                        (void)hoist_error_make(err, HOIST_ERR_INPUT,
                                               "hyperparameter '%.64s' cannot go to SageMaker "
                                               "(names hoist_* are hoist's; a name takes 256 "
                                               "characters, a value 2500)",
                                               kv->key);
                        return NULL;
                }
                (void)json_object_set_new(hp, kv->key, json_string(kv->value));
        }
        (void)json_object_set_new(hp, "hoist_job_url", json_string(p->job_url));
        if (p->secrets_key != NULL)
                (void)json_object_set_new(hp, "hoist_secrets_key", json_string(p->secrets_key));
        return hp;
}

static json_t *environment(const struct sagemaker_plan *p, struct hoist_error **err)
{
        const struct jobspec *spec = p->spec;
        json_t *env = json_object();

        if (spec->n_env > 45) {
                json_decref(env);
                (void)hoist_error_make(err, HOIST_ERR_INPUT,
                                       "the job sets %zu environment variables; SageMaker's "
                                       "Environment takes 48, and hoist sets three "
                                       "(HOIST_JOB_URL, HOIST_S3_ENDPOINT, HOIST_S3_REGION; put "
                                       "the rest in a file the command reads)",
                                       spec->n_env);
                return NULL;
        }
        for (size_t i = 0; i < spec->n_env; i++) {
                const struct jobspec_kv *kv = &spec->env[i];
                if (!env_key_valid(kv->key) || strlen(kv->value) > 512) {
                        json_decref(env);
                        (void)hoist_error_make(err, HOIST_ERR_INPUT,
                                               "env '%.64s' cannot go to SageMaker's Environment "
                                               "(a name of letters, digits and _, a value of at "
                                               "most 512 characters)",
                                               kv->key);
                        return NULL;
                }
                (void)json_object_set_new(env, kv->key, json_string(kv->value));
        }
        /* Not a secret: where job.json is, for an entrypoint that reads it
         * from the environment as on every other provider. */
        (void)json_object_set_new(env, "HOIST_JOB_URL", json_string(p->job_url));
        if (p->s3_endpoint != NULL)
                (void)json_object_set_new(env, "HOIST_S3_ENDPOINT", json_string(p->s3_endpoint));
        if (p->s3_region != NULL)
                (void)json_object_set_new(env, "HOIST_S3_REGION", json_string(p->s3_region));
        return env;
}

static json_t *strv_array(char **v)
{
        json_t *a = json_array();

        for (; v != NULL && *v != NULL; v++)
                (void)json_array_append_new(a, json_string(*v));
        return a;
}

static json_t *tags(const struct sagemaker_plan *p)
{
        json_t *a = json_array();
        json_t *t = json_object();

        (void)json_object_set_new(t, "Key", json_string("hoist:job-id"));
        (void)json_object_set_new(t, "Value", json_string(p->job_id));
        (void)json_array_append_new(a, t);
        for (size_t i = 0; p->set->tag_keys != NULL && p->set->tag_keys[i] != NULL; i++) {
                t = json_object();
                (void)json_object_set_new(t, "Key", json_string(p->set->tag_keys[i]));
                (void)json_object_set_new(t, "Value", json_string(p->set->tag_values[i]));
                (void)json_array_append_new(a, t);
        }
        return a;
}

/* The instance count: sagemaker.instance_count, else resources.nodes. */
static int instance_count(const struct sagemaker_plan *p, int64_t *ret, struct hoist_error **err)
{
        int64_t nodes = p->spec->nodes > 0 ? p->spec->nodes : 1;

        if (p->set->instance_count > 0 && p->spec->nodes > 1 &&
            p->set->instance_count != p->spec->nodes)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "sagemaker.instance_count is %" PRId64
                                        " and resources.nodes %" PRId64
                                        ": give one of them (each instance is one node)",
                                        p->set->instance_count, p->spec->nodes);
        *ret = p->set->instance_count > 0 ? p->set->instance_count : nodes;
        return 0;
}

static int stopping_condition(const struct sagemaker_plan *p, int spot, json_t **ret,
                              struct hoist_error **err)
{
        int64_t run =
                p->spec->max_runtime_s > 0 ? p->spec->max_runtime_s : SAGEMAKER_DEFAULT_RUNTIME_S;
        int64_t wait = p->set->max_wait_s > 0 ? p->set->max_wait_s : run;
        json_t *o;

        if (run > SAGEMAKER_MAX_RUNTIME_S)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "limits.max_runtime is %" PRId64
                                        " s; SageMaker runs a job for 28 days at most",
                                        run);
        if (spot && wait < run)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "sagemaker.max_wait (%" PRId64
                                        " s) is shorter than the job's max runtime (%" PRId64
                                        " s); SageMaker wants max_wait >= max_runtime",
                                        wait, run);
        o = json_object();
        (void)json_object_set_new(o, "MaxRuntimeInSeconds", json_integer(run));
        if (spot)
                (void)json_object_set_new(o, "MaxWaitTimeInSeconds", json_integer(wait));
        *ret = o;
        return 0;
}

int sagemaker_create_body(const struct sagemaker_plan *p, json_t **ret, struct hoist_error **err)
{
        _cleanup_free_ char *name = sagemaker_job_name(p->job_id, p->attempt);
        _cleanup_free_ char *base = sagemaker_storage_base(p->job_url);
        _cleanup_free_ char *out = NULL, *ckpt = NULL;
        json_t *body, *alg, *res, *hp, *env, *stop = NULL;
        int spot = p->set->spot >= 0 ? p->set->spot : p->spec->resources.spot;
        int64_t count = 0;

        if (name == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "job id '%s' makes no valid SageMaker training job name",
                                        p->job_id);
        if (base == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "the job's storage is '%s'; SageMaker jobs need s3:// "
                                        "storage (set storage: s3://BUCKET/PREFIX in job.yaml)",
                                        p->job_url);
        if (p->set->role == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "no execution role: set sagemaker.role in job.yaml, or "
                                        "HOIST_SAGEMAKER_ROLE, to the ARN of a role SageMaker "
                                        "may assume (docs/providers/sagemaker.md)");
        if (p->set->instance_type == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "no instance type: set sagemaker.instance_type (e.g. "
                                        "ml.g5.xlarge) or HOIST_SAGEMAKER_INSTANCE_TYPE");
        if (p->image == NULL || strlen(p->image) > 255)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "SageMaker runs an image: give the job an image (at most "
                                        "255 characters, e.g. an ECR repository:tag)");
        if (instance_count(p, &count, err) < 0 || stopping_condition(p, spot, &stop, err) < 0)
                return -1;
        hp = hyperparameters(p, err);
        if (hp == NULL) {
                json_decref(stop);
                return -1;
        }
        env = environment(p, err);
        if (env == NULL) {
                json_decref(stop);
                json_decref(hp);
                return -1;
        }
        out = xasprintf("%sjobs/%s/sagemaker/", base, p->job_id);
        ckpt = p->spec->checkpoint_prefix != NULL
                       ? xasprintf("%s%s", base, p->spec->checkpoint_prefix)
                       : xasprintf("%sjobs/%s/checkpoints/", base, p->job_id);

        body = json_object();
        (void)json_object_set_new(body, "TrainingJobName", json_string(name));
        alg = json_object();
        (void)json_object_set_new(alg, "TrainingImage", json_string(p->image));
        (void)json_object_set_new(alg, "TrainingInputMode", json_string("File"));
        (void)json_object_set_new(body, "AlgorithmSpecification", alg);
        (void)json_object_set_new(body, "RoleArn", json_string(p->set->role));
        (void)json_object_set_new(body, "HyperParameters", hp);
        (void)json_object_set_new(body, "Environment", env);
        (void)json_object_set_new(body, "OutputDataConfig",
                                  json_pack("{s:s}", "S3OutputPath", out));
        res = json_object();
        (void)json_object_set_new(res, "InstanceType", json_string(p->set->instance_type));
        (void)json_object_set_new(res, "InstanceCount", json_integer(count));
        (void)json_object_set_new(res, "VolumeSizeInGB",
                                  json_integer(p->set->volume_size_gb > 0
                                                       ? p->set->volume_size_gb
                                                       : SAGEMAKER_DEFAULT_VOLUME_GB));
        (void)json_object_set_new(body, "ResourceConfig", res);
        (void)json_object_set_new(body, "StoppingCondition", stop);
        (void)json_object_set_new(body, "EnableManagedSpotTraining", json_boolean(spot));
        (void)json_object_set_new(
                body, "CheckpointConfig",
                json_pack("{s:s,s:s}", "S3Uri", ckpt, "LocalPath", SAGEMAKER_CHECKPOINT_DIR));
        if (p->set->subnets != NULL)
                (void)json_object_set_new(body, "VpcConfig",
                                          json_pack("{s:o,s:o}", "SecurityGroupIds",
                                                    strv_array(p->set->security_groups), "Subnets",
                                                    strv_array(p->set->subnets)));
        (void)json_object_set_new(body, "Tags", tags(p));
        *ret = body;
        return 0;
}

/* ---- DescribeTrainingJob ---- */

static char *str_of(json_t *o, const char *key)
{
        json_t *v = json_object_get(o, key);

        return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static int64_t int_of(json_t *o, const char *key)
{
        json_t *v = json_object_get(o, key);

        if (json_is_integer(v))
                return json_integer_value(v);
        if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 9e15)
                return (int64_t)json_real_value(v);
        return -1;
}

void sagemaker_job_clear(struct sagemaker_job *j)
{
        free(j->name);
        free(j->status);
        free(j->secondary);
        free(j->failure_reason);
        free(j->status_message);
        free(j->instance_type);
        *j = (struct sagemaker_job){0};
}

int sagemaker_job_from_json(json_t *o, struct sagemaker_job *ret, struct hoist_error **err)
{
        struct sagemaker_job j = {.billable_s = -1, .training_s = -1, .instance_count = 1};
        json_t *tr, *t, *res;
        size_t i;

        if (!json_is_object(o))
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "DescribeTrainingJob: the answer is not an object");
        j.name = str_of(o, "TrainingJobName");
        j.status = str_of(o, "TrainingJobStatus");
        j.secondary = str_of(o, "SecondaryStatus");
        if (j.name == NULL || j.status == NULL) {
                sagemaker_job_clear(&j);
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "DescribeTrainingJob: the answer has no "
                                        "TrainingJobName or TrainingJobStatus");
        }
        j.failure_reason = str_of(o, "FailureReason");
        j.billable_s = int_of(o, "BillableTimeInSeconds");
        j.training_s = int_of(o, "TrainingTimeInSeconds");
        j.spot = json_is_true(json_object_get(o, "EnableManagedSpotTraining"));
        res = json_object_get(o, "ResourceConfig");
        if (json_is_object(res)) {
                j.instance_type = str_of(res, "InstanceType");
                if (int_of(res, "InstanceCount") > 0)
                        j.instance_count = int_of(res, "InstanceCount");
        }
        tr = json_object_get(o, "SecondaryStatusTransitions");
        if (json_is_array(tr)) {
                json_array_foreach(tr, i, t)
                {
                        json_t *st = json_object_get(t, "Status");
                        if (json_is_string(st) && strcmp(json_string_value(st), "Interrupted") == 0)
                                j.interruptions++;
                }
                t = json_array_get(tr, json_array_size(tr) - 1);
                if (json_is_object(t))
                        j.status_message = str_of(t, "StatusMessage");
        }
        *ret = j;
        return 0;
}

int sagemaker_parse_describe(const char *text, size_t len, struct sagemaker_job *ret,
                             struct hoist_error **err)
{
        json_error_t jerr;
        json_t *o = json_loadb(text, len, 0, &jerr);
        int r;

        if (o == NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "DescribeTrainingJob: not JSON (line %d: %s)", jerr.line,
                                        jerr.text);
        r = sagemaker_job_from_json(o, ret, err);
        json_decref(o);
        return r;
}

static int is(const char *a, const char *b)
{
        return a != NULL && strcmp(a, b) == 0;
}

/* "SageMaker job NAME: STATUS (SECONDARY): message" */
static char *reason_of(const struct sagemaker_job *j, const char *why)
{
        struct buf b = {0};

        buf_printf(&b, "SageMaker job %s: %s", j->name, j->status);
        if (j->secondary != NULL && !is(j->secondary, j->status))
                buf_printf(&b, " (%s)", j->secondary);
        if (why != NULL && *why != '\0')
                buf_printf(&b, ": %.400s", why);
        return buf_take(&b);
}

void sagemaker_map_status(const struct sagemaker_job *j, struct provider_status *ret)
{
        const char *sec = j->secondary != NULL ? j->secondary : "";

        ret->exit_code = -1;
        ret->reason = NULL;
        if (is(j->status, "InProgress")) {
                if (is(sec, "Training") || is(sec, "Uploading")) {
                        ret->state = JOB_RUNNING;
                        if (is(sec, "Training"))
                                return;
                } else if (is(sec, "Interrupted") || is(sec, "Restarting")) {
                        /* Spot capacity taken back: SageMaker starts the
                         * job again by itself, from its checkpoints (the
                         * entrypoint reported interrupted; hoist follows
                         * the engine, as for a Slurm requeue). */
                        ret->state = JOB_QUEUED;
                        ret->reason =
                                reason_of(j, j->status_message ? j->status_message
                                                               : "spot capacity was reclaimed; "
                                                                 "SageMaker restarts the job");
                        return;
                } else {
                        ret->state = JOB_STARTING;
                }
                ret->reason = reason_of(j, j->status_message);
                return;
        }
        if (is(j->status, "Completed")) {
                /* The entrypoint's result decides; reaching here, it wrote none. */
                ret->state = JOB_FAILED;
                ret->reason = reason_of(j, "SageMaker says Completed, and hoist-entrypoint "
                                           "wrote no result");
                return;
        }
        if (is(j->status, "Stopping")) {
                ret->state = JOB_RUNNING;
                ret->reason = reason_of(j, j->status_message);
                return;
        }
        if (is(j->status, "Stopped") &&
            !(is(sec, "MaxRuntimeExceeded") || is(sec, "MaxWaitTimeExceeded"))) {
                ret->state = JOB_CANCELED;
                ret->reason = reason_of(j, j->status_message);
                return;
        }
        /* Failed, a stop by a limit, or a status this table does not know. */
        ret->state = JOB_FAILED;
        if (is(sec, "MaxRuntimeExceeded"))
                ret->reason = reason_of(j, "MaxRuntimeExceeded: the job ran for its whole "
                                           "limits.max_runtime");
        else if (is(sec, "MaxWaitTimeExceeded"))
                ret->reason = reason_of(j, "MaxWaitTimeExceeded: spot capacity and run time "
                                           "together passed sagemaker.max_wait");
        else
                ret->reason =
                        reason_of(j, j->failure_reason ? j->failure_reason : j->status_message);
}

/* ---- ListTrainingJobs ---- */

void sagemaker_summaries_free(struct sagemaker_summary *s, size_t n)
{
        for (size_t i = 0; s != NULL && i < n; i++) {
                free(s[i].name);
                free(s[i].status);
        }
        free(s);
}

int sagemaker_parse_list(json_t *o, struct sagemaker_summary **ret, size_t *ret_n, char **ret_next,
                         struct hoist_error **err)
{
        json_t *a = json_object_get(o, "TrainingJobSummaries"), *e;
        struct sagemaker_summary *s;
        size_t i, n = 0;

        if (!json_is_array(a))
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "ListTrainingJobs: the answer has no "
                                        "TrainingJobSummaries list");
        s = xcalloc(json_array_size(a) + 1, sizeof *s);
        json_array_foreach(a, i, e)
        {
                json_t *c = json_object_get(e, "CreationTime");
                char *name = str_of(e, "TrainingJobName");
                if (name == NULL)
                        continue;
                s[n].name = name;
                s[n].status = str_of(e, "TrainingJobStatus");
                s[n].created = json_is_number(c) ? json_number_value(c) : 0;
                n++;
        }
        *ret = s;
        *ret_n = n;
        *ret_next = str_of(o, "NextToken");
        return 0;
}
