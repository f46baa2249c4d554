/* SPDX-License-Identifier: MIT */
#include "replicate_api.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "cogschema.h"
#include "replicate_settings.h"
#include "xalloc.h"

static char *str_of(json_t *o, const char *key)
{
        json_t *v = json_object_get(o, key);

        return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static int is(const char *a, const char *b)
{
        return a != NULL && strcmp(a, b) == 0;
}

/* ---- trainings ---- */

void replicate_training_clear(struct replicate_training *t)
{
        free(t->id);
        free(t->status);
        free(t->error);
        free(t->version);
        free(t->weights);
        free(t->logs_tail);
        free(t->hoist_job_url);
        *t = (struct replicate_training){.predict_time = -1};
}

/* The last non-empty line of LOGS, shortened to 400 bytes. */
static char *last_line(const char *logs)
{
        size_t n = strlen(logs), end, start;

        while (n > 0 && (logs[n - 1] == '\n' || logs[n - 1] == '\r' || logs[n - 1] == ' '))
                n--;
        if (n == 0)
                return NULL;
        end = n;
        start = end;
        while (start > 0 && logs[start - 1] != '\n')
                start--;
        if (end - start > 400)
                start = end - 400;
        return xstrndup(logs + start, end - start);
}

static char *error_text(json_t *v)
{
        if (json_is_string(v) && json_string_length(v) > 0)
                return xstrndup(json_string_value(v),
                                json_string_length(v) > 1000 ? 1000 : json_string_length(v));
        if (json_is_object(v) || json_is_array(v)) {
                char *t = json_dumps(v, JSON_COMPACT);
                if (t != NULL && strlen(t) > 1000)
                        t[1000] = '\0';
                return t;
        }
        return NULL;
}

int replicate_training_from_json(json_t *o, struct replicate_training *ret,
                                 struct hoist_error **err)
{
        struct replicate_training t = {.predict_time = -1};
        json_t *m, *pt, *out, *in, *logs;

        if (!json_is_object(o))
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "Replicate training: the answer is not a JSON object");
        t.id = str_of(o, "id");
        t.status = str_of(o, "status");
        if (t.id == NULL || *t.id == '\0' || t.status == NULL) {
                replicate_training_clear(&t);
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "Replicate training: the answer has no id or status");
        }
        t.error = error_text(json_object_get(o, "error"));
        t.version = str_of(o, "version");
        m = json_object_get(o, "metrics");
        pt = json_object_get(m, "predict_time");
        if (json_is_number(pt) && isfinite(json_number_value(pt)) && json_number_value(pt) >= 0 &&
            json_number_value(pt) < 1e9)
                t.predict_time = json_number_value(pt);
        out = json_object_get(o, "output");
        if (json_is_object(out))
                t.weights = str_of(out, "weights");
        else if (json_is_string(out))
                t.weights = xstrdup(json_string_value(out));
        in = json_object_get(o, "input");
        if (json_is_object(in))
                t.hoist_job_url = str_of(in, COG_INPUT_JOB_URL);
        logs = json_object_get(o, "logs");
        if (json_is_string(logs))
                t.logs_tail = last_line(json_string_value(logs));
        *ret = t;
        return 0;
}

int replicate_training_parse(const char *text, size_t len, struct replicate_training *ret,
                             struct hoist_error **err)
{
        json_error_t jerr;
        json_t *o = json_loadb(text, len, 0, &jerr);
        int r;

        if (o == NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "Replicate training: not JSON (line %d: %s)", jerr.line,
                                        jerr.text);
        r = replicate_training_from_json(o, ret, err);
        json_decref(o);
        return r;
}

int replicate_status_terminal(const char *status)
{
        return is(status, "succeeded") || is(status, "failed") || is(status, "canceled");
}

static char *reason_of(const struct replicate_training *t, const char *why)
{
        struct buf b = {0};

        buf_printf(&b, "Replicate training %s: %s", t->id, t->status);
        if (why != NULL && *why != '\0')
                buf_printf(&b, ": %.400s", why);
        return buf_take(&b);
}

void replicate_map_status(const struct replicate_training *t, struct provider_status *ret)
{
        ret->exit_code = -1;
        ret->reason = NULL;
        if (is(t->status, "starting")) {
                ret->state = JOB_STARTING;
                ret->reason = reason_of(t, "booting the model's container");
        } else if (is(t->status, "processing")) {
                ret->state = JOB_RUNNING;
        } else if (is(t->status, "succeeded")) {
                /* Cog's succeeded is the entrypoint's own word on the job. */
                ret->state = JOB_SUCCEEDED;
                ret->exit_code = 0;
        } else if (is(t->status, "canceled")) {
                ret->state = JOB_CANCELED;
                ret->reason = reason_of(t, t->error);
        } else if (is(t->status, "failed")) {
                ret->state = JOB_FAILED;
                ret->reason = reason_of(t, t->error ? t->error : t->logs_tail);
        } else {
                ret->state = JOB_FAILED;
                ret->reason = reason_of(t, "a status hoist does not know");
        }
}

/* ---- account, hardware, versions, files ---- */

int replicate_account_parse(json_t *o, char **ret_username, char **ret_type,
                            struct hoist_error **err)
{
        char *user = str_of(o, "username");

        if (user == NULL || *user == '\0') {
                free(user);
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "Replicate GET /v1/account: the answer has no username");
        }
        *ret_username = user;
        if (ret_type != NULL)
                *ret_type = str_of(o, "type");
        return 0;
}

int replicate_hardware_parse(json_t *o, char ***ret_skus, struct hoist_error **err)
{
        json_t *a = json_is_array(o) ? o : json_object_get(o, "results"), *e;
        char **skus;
        size_t i, n = 0;

        if (!json_is_array(a))
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "Replicate GET /v1/hardware: the answer is not a list");
        skus = xcalloc(json_array_size(a) + 1, sizeof *skus);
        json_array_foreach(a, i, e)
        {
                char *sku = str_of(e, "sku");
                if (sku != NULL)
                        skus[n++] = sku;
        }
        *ret_skus = skus;
        return 0;
}

int replicate_versions_find(json_t *page, json_t *schema, char **ret_id, char **ret_next,
                            struct hoist_error **err)
{
        json_t *a = json_object_get(page, "results"), *v;
        size_t i;

        if (!json_is_array(a))
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "Replicate versions: the answer has no results list");
        *ret_id = NULL;
        /* Newest first, as Replicate lists them. */
        json_array_foreach(a, i, v)
        {
                json_t *id = json_object_get(v, "id");
                if (json_is_string(id) &&
                    json_equal(json_object_get(v, "openapi_schema"), schema)) {
                        *ret_id = xstrdup(json_string_value(id));
                        break;
                }
        }
        *ret_next = str_of(page, "next");
        return 0;
}

void replicate_file_clear(struct replicate_file *f)
{
        free(f->id);
        free(f->url);
        free(f->sha256);
        *f = (struct replicate_file){0};
}

int replicate_file_from_json(json_t *o, struct replicate_file *ret, struct hoist_error **err)
{
        struct replicate_file f = {0};
        json_t *size = json_object_get(o, "size");

        f.id = str_of(o, "id");
        f.url = str_of(json_object_get(o, "urls"), "get");
        f.sha256 = str_of(json_object_get(o, "checksums"), "sha256");
        f.size = json_is_integer(size) ? json_integer_value(size) : -1;
        if (f.id == NULL || f.url == NULL) {
                replicate_file_clear(&f);
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "Replicate file: the answer has no id or urls.get");
        }
        *ret = f;
        return 0;
}

/* ---- the training request ---- */

/* Whether the Cog contract lets a training set NAME through hoist_env: the
 * job's own secrets, and of hoist's variables the storage's, the webhooks'
 * secrets and hoist serve's receiver with its secret (docs/cog.md), so the
 * job's own events (log lines, metrics) reach hoist serve as they do under
 * every other provider, beside Replicate's webhooks about the training. */
int replicate_env_name_ok(const char *name)
{
        static const char *const ok[] = {"HOIST_WEBHOOK_SECRET", "HOIST_S3_", "HOIST_HOOKS_URL",
                                         "HOIST_HOOKS_SECRET"};

        if (strncmp(name, "HOIST_", 6) != 0)
                return 1;
        for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
                if (strncmp(name, ok[i], strlen(ok[i])) == 0)
                        return 1;
        return 0;
}

static int hoist_env(char *const *secret_env, json_t **ret, struct hoist_error **err)
{
        json_t *o = json_object();
        char *text;

        for (char *const *e = secret_env; e != NULL && *e != NULL; e++) {
                const char *eq = strchr(*e, '=');
                _cleanup_free_ char *name = eq ? xstrndup(*e, (size_t)(eq - *e)) : xstrdup(*e);
                json_t *v;

                if (!replicate_env_name_ok(name))
                        continue;
                v = json_string(eq ? eq + 1 : "");
                if (v == NULL) {
                        json_decref(o);
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "secret '%s' is not UTF-8 text, which Replicate's "
                                                "training input cannot carry (encode it, e.g. in "
                                                "base64)",
                                                name);
                }
                (void)json_object_set_new(o, name, v);
        }
        text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(o);
        if (text == NULL)
                abort(); /* out of memory */
        *ret = json_string(text);
        explicit_bzero(text, strlen(text));
        free(text);
        return 0;
}

int replicate_training_body(const struct replicate_plan *p, json_t **ret, struct hoist_error **err)
{
        const struct jobspec *spec = p->spec;
        json_t *input = json_object(), *env = NULL, *body, *ev;

        if (p->destination == NULL || !replicate_model_valid(p->destination)) {
                json_decref(input);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "no destination: set replicate.destination (or "
                                        "replicate.model) to owner/name");
        }
        for (size_t i = 0; i < spec->n_hyperparameters; i++) {
                const struct jobspec_kv *kv = &spec->hyperparameters[i];
                if (strcmp(kv->key, COG_INPUT_JOB_URL) == 0 ||
                    strcmp(kv->key, COG_INPUT_ENV) == 0 ||
                    strncmp(kv->key, COG_INPUT_CHANNEL_PREFIX, strlen(COG_INPUT_CHANNEL_PREFIX)) ==
                            0) {
                        json_decref(input);
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "hyperparameter '%.64s' is a name hoist's Cog "
                                                "training input uses itself (rename it)",
                                                kv->key);
                }
                (void)json_object_set_new(input, kv->key, cog_hyperparameter_value(kv->value));
        }
        (void)json_object_set_new(input, COG_INPUT_JOB_URL, json_string(p->job_url));
        if (hoist_env(p->secret_env, &env, err) < 0) {
                json_decref(input);
                return -1;
        }
        (void)json_object_set_new(input, COG_INPUT_ENV, env);
        for (size_t i = 0; p->channel_urls != NULL && i < spec->n_inputs; i++) {
                _cleanup_free_ char *key = NULL;
                if (p->channel_urls[i] == NULL)
                        continue;
                key = xasprintf(COG_INPUT_CHANNEL_PREFIX "%s", spec->inputs[i].channel);
                (void)json_object_set_new(input, key, json_string(p->channel_urls[i]));
        }
        body = json_object();
        (void)json_object_set_new(body, "destination", json_string(p->destination));
        (void)json_object_set_new(body, "input", input);
        if (p->webhook != NULL) {
                (void)json_object_set_new(body, "webhook", json_string(p->webhook));
                ev = json_array();
                if (p->events != NULL) {
                        for (char *const *e = p->events; *e != NULL; e++)
                                (void)json_array_append_new(ev, json_string(*e));
                } else {
                        (void)json_array_append_new(ev, json_string("start"));
                        (void)json_array_append_new(ev, json_string("completed"));
                }
                (void)json_object_set_new(body, "webhook_events_filter", ev);
        }
        *ret = body;
        return 0;
}

json_t *replicate_training_body_redacted(json_t *body)
{
        json_t *copy = json_deep_copy(body);
        json_t *input = json_object_get(copy, "input");

        if (json_object_get(input, COG_INPUT_ENV) != NULL)
                (void)json_object_set_new(input, COG_INPUT_ENV, json_string("**********"));
        return copy;
}
