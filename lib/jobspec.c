/* SPDX-License-Identifier: MIT */
/*
 * job.json (hoist/v1) and result.json, read and written with jansson.  The
 * layout is documented in docs/jobspec.md; keep the two in step.
 *
 * Reading is lenient where a newer runner may add things (unknown fields are
 * ignored, JSON null counts as absent) and strict where a mistake would run
 * the wrong job (types, required fields, a major version we do not know).
 */
#include "jobspec.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "hfhub.h"
#include "resources.h"
#include "xalloc.h"

/* ---- reading ---- */

struct reader {
        const char *name; /* the document, as errors name it */
        struct hoist_error **err;
};

static int read_error(const struct reader *r, const char *path, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int read_error(const struct reader *r, const char *path, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        return hoist_error_make(r->err, HOIST_ERR_INPUT, "'%s': %s: %s", r->name, path, msg);
}

static const char *json_type_text(const json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
        case JSON_REAL:
                return "a number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        case JSON_NULL:
                return "null";
        }
        return "a value";
}

static char *child_path(const char *parent, const char *key)
{
        return parent != NULL ? xasprintf("%s.%s", parent, key) : xstrdup(key);
}

/* The member KEY of OBJ, with JSON null counted as absent. */
static json_t *member(json_t *obj, const char *key)
{
        json_t *v = json_object_get(obj, key);

        return json_is_null(v) ? NULL : v;
}

static int missing(const struct reader *r, const char *parent, const char *key)
{
        _cleanup_free_ char *path = child_path(parent, key);
        return read_error(r, path, "required field is missing");
}

static int wrong_type(const struct reader *r, const char *path, const char *what, const json_t *v)
{
        return read_error(r, path, "expected %s, got %s", what, json_type_text(v));
}

static int get_string(const struct reader *r, json_t *obj, const char *parent, const char *key,
                      int required, char **ret)
{
        json_t *v = member(obj, key);

        if (v == NULL)
                return required ? missing(r, parent, key) : 0;
        if (!json_is_string(v)) {
                _cleanup_free_ char *path = child_path(parent, key);
                return wrong_type(r, path, "a string", v);
        }
        free(*ret);
        *ret = xstrdup(json_string_value(v));
        return 0;
}

static int get_int(const struct reader *r, json_t *obj, const char *parent, const char *key,
                   int64_t min, int64_t max, int64_t *ret)
{
        json_t *v = member(obj, key);

        if (v == NULL)
                return 0;
        _cleanup_free_ char *path = child_path(parent, key);
        if (!json_is_integer(v))
                return wrong_type(r, path, "an integer", v);
        json_int_t i = json_integer_value(v);
        if (i < min || i > max)
                return read_error(r, path,
                                  "%" JSON_INTEGER_FORMAT " is out of range (%" PRId64
                                  " to %" PRId64 ")",
                                  i, min, max);
        *ret = i;
        return 0;
}

static int get_bool(const struct reader *r, json_t *obj, const char *parent, const char *key,
                    int *ret)
{
        json_t *v = member(obj, key);

        if (v == NULL)
                return 0;
        if (!json_is_boolean(v)) {
                _cleanup_free_ char *path = child_path(parent, key);
                return wrong_type(r, path, "true or false", v);
        }
        *ret = json_is_true(v);
        return 0;
}

/* An optional object member: *ret is NULL when absent. */
static int get_object(const struct reader *r, json_t *obj, const char *parent, const char *key,
                      int required, json_t **ret)
{
        json_t *v = member(obj, key);

        *ret = NULL;
        if (v == NULL)
                return required ? missing(r, parent, key) : 0;
        if (!json_is_object(v)) {
                _cleanup_free_ char *path = child_path(parent, key);
                return wrong_type(r, path, "an object", v);
        }
        *ret = v;
        return 0;
}

static int get_array(const struct reader *r, json_t *obj, const char *parent, const char *key,
                     json_t **ret)
{
        json_t *v = member(obj, key);

        *ret = NULL;
        if (v == NULL)
                return 0;
        if (!json_is_array(v)) {
                _cleanup_free_ char *path = child_path(parent, key);
                return wrong_type(r, path, "an array", v);
        }
        *ret = v;
        return 0;
}

static int get_strv(const struct reader *r, json_t *obj, const char *parent, const char *key,
                    char ***ret)
{
        _cleanup_strv_ char **v = NULL;
        json_t *arr, *item;
        size_t i;

        if (get_array(r, obj, parent, key, &arr) < 0)
                return -1;
        if (arr == NULL)
                return 0;
        v = xcalloc(json_array_size(arr) + 1, sizeof *v);
        json_array_foreach(arr, i, item)
        {
                if (!json_is_string(item)) {
                        _cleanup_free_ char *base = child_path(parent, key);
                        _cleanup_free_ char *path = xasprintf("%s[%zu]", base, i);
                        return wrong_type(r, path, "a string", item);
                }
                v[i] = xstrdup(json_string_value(item));
        }
        strv_free(*ret);
        *ret = TAKE_PTR(v);
        return 0;
}

/* The shortest text that reads back as D, keeping a ".0" so a float still
 * looks like one (what Python's str() gives a training script). */
static char *real_text(double d)
{
        char text[40];

        if (!isfinite(d))
                return xstrdup(isnan(d) ? "nan" : d > 0 ? "inf" : "-inf");
        for (int prec = 1; prec <= 17; prec++) {
                snprintf(text, sizeof text, "%.*g", prec, d);
                if (strtod(text, NULL) == d)
                        break;
        }
        if (strpbrk(text, ".e") == NULL)
                return xasprintf("%s.0", text);
        return xstrdup(text);
}

static int get_kv(const struct reader *r, json_t *obj, const char *key, int scalars,
                  struct jobspec_kv **ret, size_t *ret_n)
{
        json_t *map, *v;
        const char *k;

        if (get_object(r, obj, NULL, key, 0, &map) < 0)
                return -1;
        if (map == NULL)
                return 0;
        json_object_foreach(map, k, v)
        {
                _cleanup_free_ char *text = NULL;

                if (json_is_string(v))
                        text = xstrdup(json_string_value(v));
                else if (scalars && json_is_integer(v))
                        text = xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
                else if (scalars && json_is_real(v))
                        text = real_text(json_real_value(v));
                else if (scalars && json_is_boolean(v))
                        text = xstrdup(json_is_true(v) ? "true" : "false");
                else {
                        _cleanup_free_ char *path = xasprintf("%s.%s", key, k);
                        return wrong_type(r, path,
                                          scalars ? "a string, number or boolean" : "a string", v);
                }
                jobspec_kv_add(ret, ret_n, k, text);
        }
        return 0;
}

static int read_input(const struct reader *r, json_t *v, const char *path, struct jobspec_input *in)
{
        _cleanup_free_ char *mode = NULL;
        int64_t size = 0, limit = 0;

        if (!json_is_object(v))
                return wrong_type(r, path, "an object", v);
        if (get_string(r, v, path, "channel", 1, &in->channel) < 0 ||
            get_string(r, v, path, "source", 1, &in->source) < 0 ||
            get_string(r, v, path, "sha256", 0, &in->sha256) < 0 ||
            get_string(r, v, path, "filename", 0, &in->filename) < 0 ||
            get_string(r, v, path, "mode", 0, &mode) < 0 ||
            get_int(r, v, path, "size", 0, INT64_MAX, &size) < 0 ||
            get_int(r, v, path, "extract_limit", 0, INT64_MAX, &limit) < 0)
                return -1;
        in->size = (uint64_t)size;
        in->extract_limit = (uint64_t)limit;
        if (in->sha256 != NULL && !digest_hex_valid(in->sha256)) {
                _cleanup_free_ char *p = child_path(path, "sha256");
                return read_error(r, p, "expected 64 lowercase hex digits");
        }
        if (mode == NULL || strcmp(mode, "file") == 0)
                in->mode = JOBSPEC_INPUT_FILE;
        else if (strcmp(mode, "archive") == 0)
                in->mode = JOBSPEC_INPUT_ARCHIVE;
        else if (strcmp(mode, "tree") == 0)
                in->mode = JOBSPEC_INPUT_TREE;
        else {
                _cleanup_free_ char *p = child_path(path, "mode");
                return read_error(r, p, "expected \"file\", \"archive\" or \"tree\"");
        }
        return 0;
}

static int read_inputs(const struct reader *r, json_t *root, struct jobspec *spec)
{
        json_t *arr, *v;
        size_t i;

        if (get_array(r, root, NULL, "inputs", &arr) < 0)
                return -1;
        if (arr == NULL || json_array_size(arr) == 0)
                return 0;
        spec->inputs = xcalloc(json_array_size(arr), sizeof *spec->inputs);
        json_array_foreach(arr, i, v)
        {
                _cleanup_free_ char *path = xasprintf("inputs[%zu]", i);
                spec->n_inputs = i + 1; /* so jobspec_free sees what was filled */
                if (read_input(r, v, path, &spec->inputs[i]) < 0)
                        return -1;
        }
        return 0;
}

static int read_code(const struct reader *r, json_t *root, struct jobspec *spec)
{
        _cleanup_free_ char *mode = NULL;
        int64_t size = 0;
        json_t *o;

        if (get_object(r, root, NULL, "code", 0, &o) < 0)
                return -1;
        if (o == NULL)
                return 0;
        if (get_string(r, o, "code", "source", 1, &spec->code.source) < 0 ||
            get_string(r, o, "code", "sha256", 0, &spec->code.sha256) < 0 ||
            get_int(r, o, "code", "size", 0, INT64_MAX, &size) < 0 ||
            get_string(r, o, "code", "mode", 0, &mode) < 0)
                return -1;
        spec->code.size = (uint64_t)size;
        if (mode == NULL || strcmp(mode, "archive") == 0)
                spec->code.mode = JOBSPEC_INPUT_ARCHIVE;
        else if (strcmp(mode, "tree") == 0)
                spec->code.mode = JOBSPEC_INPUT_TREE;
        else
                return read_error(r, "code.mode", "expected \"archive\" or \"tree\"");
        if (spec->code.sha256 != NULL && !digest_hex_valid(spec->code.sha256))
                return read_error(r, "code.sha256", "expected 64 lowercase hex digits");
        return 0;
}

static int read_webhooks(const struct reader *r, json_t *root, struct jobspec *spec)
{
        json_t *arr, *v;
        size_t i;

        if (get_array(r, root, NULL, "webhooks", &arr) < 0)
                return -1;
        if (arr == NULL || json_array_size(arr) == 0)
                return 0;
        spec->webhooks = xcalloc(json_array_size(arr), sizeof *spec->webhooks);
        json_array_foreach(arr, i, v)
        {
                _cleanup_free_ char *path = xasprintf("webhooks[%zu]", i);
                struct jobspec_webhook *w = &spec->webhooks[i];

                spec->n_webhooks = i + 1;
                if (!json_is_object(v))
                        return wrong_type(r, path, "an object", v);
                if (get_string(r, v, path, "url", 1, &w->url) < 0 ||
                    get_strv(r, v, path, "events", &w->events) < 0 ||
                    get_string(r, v, path, "secret_env", 0, &w->secret_env) < 0 ||
                    get_string(r, v, path, "secret_file", 0, &w->secret_file) < 0)
                        return -1;
        }
        return 0;
}

static int read_secrets(const struct reader *r, json_t *root, struct jobspec *spec)
{
        json_t *arr, *v;
        size_t i;

        if (get_array(r, root, NULL, "secrets", &arr) < 0)
                return -1;
        if (arr == NULL || json_array_size(arr) == 0)
                return 0;
        spec->secrets = xcalloc(json_array_size(arr), sizeof *spec->secrets);
        json_array_foreach(arr, i, v)
        {
                _cleanup_free_ char *path = xasprintf("secrets[%zu]", i);
                struct jobspec_secret *s = &spec->secrets[i];

                spec->n_secrets = i + 1;
                if (!json_is_object(v))
                        return wrong_type(r, path, "an object", v);
                if (get_string(r, v, path, "name", 1, &s->name) < 0 ||
                    get_string(r, v, path, "env", 0, &s->env) < 0 ||
                    get_string(r, v, path, "file", 0, &s->file) < 0)
                        return -1;
        }
        return 0;
}

/* outputs.hub: {repo, private, revision, path_in_repo, token, from} */
static int read_hub(const struct reader *r, json_t *outputs, struct jobspec *spec)
{
        struct jobspec_hub *h = &spec->hub;
        _cleanup_free_ char *from = NULL;
        json_t *o;
        int from_v;

        if (get_object(r, outputs, "outputs", "hub", 0, &o) < 0)
                return -1;
        if (o == NULL)
                return 0;
        h->private_repo = 1;
        if (get_string(r, o, "outputs.hub", "repo", 1, &h->repo) < 0 ||
            get_bool(r, o, "outputs.hub", "private", &h->private_repo) < 0 ||
            get_string(r, o, "outputs.hub", "revision", 0, &h->revision) < 0 ||
            get_string(r, o, "outputs.hub", "path_in_repo", 0, &h->path_in_repo) < 0 ||
            get_string(r, o, "outputs.hub", "token", 1, &h->token) < 0 ||
            get_string(r, o, "outputs.hub", "from", 0, &from) < 0 ||
            get_string(r, o, "outputs.hub", "endpoint", 0, &h->endpoint) < 0)
                return -1;
        if (from != NULL) {
                if ((from_v = jobspec_hub_from_parse(from)) < 0)
                        return read_error(r, "outputs.hub.from",
                                          "'%.40s' is not \"host\" or \"entrypoint\"", from);
                h->from = (enum jobspec_hub_from)from_v;
        }
        return 0;
}

/* "hoist/v1" and later minor versions "hoist/v1.N", which only add fields. */
static int version_supported(const char *v)
{
        size_t n = strlen(JOBSPEC_VERSION);

        return strncmp(v, JOBSPEC_VERSION, n) == 0 && (v[n] == '\0' || v[n] == '.');
}

static int read_sections(const struct reader *r, json_t *root, struct jobspec *spec)
{
        json_t *o;

        if (get_object(r, root, NULL, "storage", 1, &o) < 0 ||
            get_string(r, o, "storage", "endpoint", 1, &spec->storage.endpoint) < 0 ||
            get_string(r, o, "storage", "region", 0, &spec->storage.region) < 0 ||
            get_string(r, o, "storage", "bucket", 0, &spec->storage.bucket) < 0 ||
            get_string(r, o, "storage", "prefix", 0, &spec->storage.prefix) < 0)
                return -1;
        if (get_object(r, root, NULL, "checkpoints", 0, &o) < 0 ||
            get_string(r, o, "checkpoints", "dir", 0, &spec->checkpoint_dir) < 0 ||
            get_string(r, o, "checkpoints", "prefix", 0, &spec->checkpoint_prefix) < 0 ||
            get_int(r, o, "checkpoints", "interval_s", 0, INT64_MAX, &spec->checkpoint_interval_s) <
                    0)
                return -1;
        if (get_object(r, root, NULL, "outputs", 0, &o) < 0 ||
            get_string(r, o, "outputs", "model_dir", 0, &spec->model_dir) < 0 ||
            get_string(r, o, "outputs", "output_dir", 0, &spec->output_dir) < 0 ||
            get_string(r, o, "outputs", "prefix", 0, &spec->output_prefix) < 0 ||
            (o != NULL && read_hub(r, o, spec) < 0))
                return -1;
        if (get_object(r, root, NULL, "logs", 0, &o) < 0 ||
            get_string(r, o, "logs", "prefix", 0, &spec->log_prefix) < 0)
                return -1;
        if (get_object(r, root, NULL, "limits", 0, &o) < 0 ||
            get_int(r, o, "limits", "max_runtime_s", 0, INT64_MAX, &spec->max_runtime_s) < 0 ||
            get_int(r, o, "limits", "stop_grace_s", 0, INT64_MAX, &spec->stop_grace_s) < 0)
                return -1;
        if (get_object(r, root, NULL, "distributed", 0, &o) < 0 ||
            get_int(r, o, "distributed", "nodes", 1, INT32_MAX, &spec->nodes) < 0 ||
            get_int(r, o, "distributed", "gpus_per_node", 0, INT32_MAX, &spec->gpus_per_node) < 0 ||
            get_string(r, o, "distributed", "launcher", 0, &spec->launcher) < 0 ||
            get_int(r, o, "distributed", "nproc_per_node", 0, JOBSPEC_MAX_NPROC,
                    &spec->nproc_per_node) < 0 ||
            get_int(r, o, "distributed", "port", 0, 65535, &spec->port) < 0 ||
            get_bool(r, o, "distributed", "checkpoints_per_rank", &spec->checkpoints_per_rank) < 0)
                return -1;
        if (get_object(r, root, NULL, "gpu_health", 0, &o) < 0 ||
            get_bool(r, o, "gpu_health", "enabled", &spec->gpu_health) < 0 ||
            get_int(r, o, "gpu_health", "interval_s", 0, INT64_MAX, &spec->gpu_health_interval_s) <
                    0)
                return -1;
        return 0;
}

static json_t *load_object(const char *json, size_t len, const char *name, struct hoist_error **err)
{
        json_error_t jerr;
        json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);

        if (root == NULL) {
                (void)hoist_error_make(err, HOIST_ERR_INPUT, "'%s': line %d, column %d: %s", name,
                                       jerr.line, jerr.column, jerr.text);
                return NULL;
        }
        if (!json_is_object(root)) {
                (void)hoist_error_make(err, HOIST_ERR_INPUT, "'%s': expected a JSON object, got %s",
                                       name, json_type_text(root));
                json_decref(root);
                return NULL;
        }
        return root;
}

static int read_retry(const struct reader *r, json_t *root, struct jobspec *spec)
{
        json_t *o;

        if (get_object(r, root, NULL, "retry", 0, &o) < 0)
                return -1;
        if (o == NULL)
                return 0;
        if (get_strv(r, o, "retry", "on", &spec->retry_on) < 0 ||
            get_int(r, o, "retry", "max", 0, 100, &spec->retry_max) < 0)
                return -1;
        return 0;
}

/* resources: {gpus, gpu_type, cpus, memory_bytes, disk_bytes, spot} */
static int read_resources(const struct reader *r, json_t *root, struct jobspec *spec)
{
        struct jobspec_resources *res = &spec->resources;
        int64_t memory = 0, disk = 0;
        json_t *o, *cpus;

        if (get_object(r, root, NULL, "resources", 0, &o) < 0)
                return -1;
        if (o == NULL)
                return 0;
        if (get_int(r, o, "resources", "gpus", 0, RESOURCES_MAX_GPUS, &res->gpus) < 0 ||
            get_string(r, o, "resources", "gpu_type", 0, &res->gpu_type) < 0 ||
            get_int(r, o, "resources", "memory_bytes", 0, INT64_MAX, &memory) < 0 ||
            get_int(r, o, "resources", "disk_bytes", 0, INT64_MAX, &disk) < 0 ||
            get_bool(r, o, "resources", "spot", &res->spot) < 0)
                return -1;
        res->memory_bytes = (uint64_t)memory;
        res->disk_bytes = (uint64_t)disk;
        cpus = member(o, "cpus");
        if (cpus != NULL) {
                double v = json_number_value(cpus);
                if (!json_is_number(cpus))
                        return wrong_type(r, "resources.cpus", "a number", cpus);
                if (!(v >= 0 && v <= RESOURCES_MAX_CPUS_MILLI / 1000))
                        return read_error(r, "resources.cpus", "%g is out of range (0 to %d)", v,
                                          RESOURCES_MAX_CPUS_MILLI / 1000);
                res->cpus_milli = llround(v * 1000);
        }
        return 0;
}

int jobspec_parse(const char *json, size_t len, const char *name, struct jobspec **ret_spec,
                  struct hoist_error **err)
{
        _cleanup_jobspec_ struct jobspec *spec = jobspec_new();
        struct reader r = {.name = name ? name : "job.json", .err = err};
        json_auto_t *root = load_object(json, len, r.name, err);

        if (root == NULL)
                return -1;
        if (get_string(&r, root, NULL, "version", 1, &spec->version) < 0)
                return -1;
        if (!version_supported(spec->version)) {
                _cleanup_free_ char *q = xstrdup(spec->version);
                for (char *p = q; *p; p++)
                        if ((unsigned char)*p < 0x20)
                                *p = '?';
                return read_error(&r, "version",
                                  "'%.64s' is not supported (this hoist reads " JOBSPEC_VERSION
                                  " and its minor versions " JOBSPEC_VERSION ".N)",
                                  q);
        }
        if (get_string(&r, root, NULL, "id", 1, &spec->id) < 0 ||
            get_string(&r, root, NULL, "name", 0, &spec->name) < 0 ||
            get_string(&r, root, NULL, "image", 0, &spec->image) < 0 ||
            get_string(&r, root, NULL, "image_digest", 0, &spec->image_digest) < 0 ||
            get_strv(&r, root, NULL, "command", &spec->command) < 0 ||
            get_string(&r, root, NULL, "workdir", 0, &spec->workdir) < 0 ||
            get_kv(&r, root, "env", 0, &spec->env, &spec->n_env) < 0 ||
            get_kv(&r, root, "hyperparameters", 1, &spec->hyperparameters,
                   &spec->n_hyperparameters) < 0 ||
            read_inputs(&r, root, spec) < 0 || read_code(&r, root, spec) < 0 ||
            read_sections(&r, root, spec) < 0 || read_webhooks(&r, root, spec) < 0 ||
            read_secrets(&r, root, spec) < 0 ||
            get_int(&r, root, NULL, "attempt", 0, INT32_MAX, &spec->attempt) < 0 ||
            read_retry(&r, root, spec) < 0 || read_resources(&r, root, spec) < 0)
                return -1;
        *ret_spec = TAKE_PTR(spec);
        return 0;
}

int jobspec_load_file(const char *path, struct jobspec **ret_spec, struct hoist_error **err)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0;

        if (fs_read_file(path, &data, &len, err) < 0)
                return -1;
        return jobspec_parse(data, len, path, ret_spec, err);
}

/* ---- writing ---- */

/* json_string() refuses bytes that are not UTF-8; everything here came from
 * JSON or YAML, which are UTF-8, but never drop a field silently. */
static json_t *text(const char *s)
{
        json_t *v = json_string(s);

        if (v == NULL) {
                _cleanup_free_ char *copy = xstrdup(s);
                for (char *p = copy; *p; p++)
                        if ((unsigned char)*p >= 0x80)
                                *p = '?';
                v = json_string(copy);
        }
        if (v == NULL)
                abort(); /* only on out of memory */
        return v;
}

static void put(json_t *obj, const char *key, json_t *v)
{
        if (json_object_set_new(obj, key, v) < 0)
                abort(); /* keys are ours; only out of memory gets here */
}

static void put_string(json_t *obj, const char *key, const char *value)
{
        if (value != NULL)
                put(obj, key, text(value));
}

static void put_int(json_t *obj, const char *key, int64_t value)
{
        if (value != 0)
                put(obj, key, json_integer(value));
}

static json_t *strv_json(char *const *v)
{
        json_t *arr = json_array();

        for (; v != NULL && *v != NULL; v++)
                (void)json_array_append_new(arr, text(*v));
        return arr;
}

static void put_kv(json_t *obj, const char *key, const struct jobspec_kv *kv, size_t n)
{
        if (n == 0)
                return;
        json_t *map = json_object();
        for (size_t i = 0; i < n; i++) {
                json_t *k = text(kv[i].key); /* keys must be UTF-8 too */
                put(map, json_string_value(k), text(kv[i].value));
                json_decref(k);
        }
        put(obj, key, map);
}

/* Puts SECTION into OBJ unless it stayed empty. */
static void put_section(json_t *obj, const char *key, json_t *section)
{
        if (json_object_size(section) == 0) {
                json_decref(section);
                return;
        }
        put(obj, key, section);
}

static char *dump(json_t *root)
{
        char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));

        if (s == NULL)
                abort();
        char *r = xasprintf("%s\n", s);
        free(s);
        return r;
}

static json_t *inputs_json(const struct jobspec *spec)
{
        json_t *arr = json_array();

        for (size_t i = 0; i < spec->n_inputs; i++) {
                const struct jobspec_input *in = &spec->inputs[i];
                json_t *o = json_object();

                put_string(o, "channel", in->channel);
                put_string(o, "source", in->source);
                put_string(o, "sha256", in->sha256);
                put_string(o, "filename", in->filename);
                put_string(o, "mode", jobspec_input_mode_name(in->mode));
                put_int(o, "size", (int64_t)in->size);
                put_int(o, "extract_limit", (int64_t)in->extract_limit);
                (void)json_array_append_new(arr, o);
        }
        return arr;
}

static json_t *webhooks_json(const struct jobspec *spec)
{
        json_t *arr = json_array();

        for (size_t i = 0; i < spec->n_webhooks; i++) {
                const struct jobspec_webhook *w = &spec->webhooks[i];
                json_t *o = json_object();

                put_string(o, "url", w->url);
                if (w->events != NULL && w->events[0] != NULL)
                        put(o, "events", strv_json(w->events));
                put_string(o, "secret_env", w->secret_env);
                put_string(o, "secret_file", w->secret_file);
                (void)json_array_append_new(arr, o);
        }
        return arr;
}

static json_t *resources_json(const struct jobspec_resources *res)
{
        json_t *o = json_object();

        put_int(o, "gpus", res->gpus);
        put_string(o, "gpu_type", res->gpu_type);
        /* thousandths: JSON_REAL_PRECISION in dump() writes 0.5, not 0.50000000000000001 */
        if (res->cpus_milli % 1000 == 0)
                put_int(o, "cpus", res->cpus_milli / 1000);
        else
                put(o, "cpus", json_real((double)res->cpus_milli / 1000.0));
        put_int(o, "memory_bytes", (int64_t)res->memory_bytes);
        put_int(o, "disk_bytes", (int64_t)res->disk_bytes);
        if (res->spot)
                put(o, "spot", json_true());
        return o;
}

static json_t *secrets_json(const struct jobspec *spec)
{
        json_t *arr = json_array();

        for (size_t i = 0; i < spec->n_secrets; i++) {
                json_t *o = json_object();

                put_string(o, "name", spec->secrets[i].name);
                put_string(o, "env", spec->secrets[i].env);
                put_string(o, "file", spec->secrets[i].file);
                (void)json_array_append_new(arr, o);
        }
        return arr;
}

static json_t *hub_json(const struct jobspec_hub *h)
{
        json_t *o = json_object();

        put_string(o, "repo", h->repo);
        put(o, "private", json_boolean(h->private_repo));
        put_string(o, "revision", h->revision);
        put_string(o, "path_in_repo", h->path_in_repo);
        put_string(o, "token", h->token);
        put_string(o, "from", jobspec_hub_from_name(h->from));
        put_string(o, "endpoint", h->endpoint);
        return o;
}

char *jobspec_to_json(const struct jobspec *spec)
{
        json_auto_t *root = json_object();
        json_t *o;

        put_string(root, "version", JOBSPEC_VERSION);
        put_string(root, "id", spec->id);
        put_string(root, "name", spec->name);
        put_string(root, "image", spec->image);
        put_string(root, "image_digest", spec->image_digest);
        if (spec->command != NULL)
                put(root, "command", strv_json(spec->command));
        put_string(root, "workdir", spec->workdir);
        put_kv(root, "env", spec->env, spec->n_env);
        put_kv(root, "hyperparameters", spec->hyperparameters, spec->n_hyperparameters);
        if (spec->n_inputs > 0)
                put(root, "inputs", inputs_json(spec));
        if (spec->code.source != NULL) {
                o = json_object();
                put_string(o, "source", spec->code.source);
                put_string(o, "sha256", spec->code.sha256);
                put_int(o, "size", (int64_t)spec->code.size);
                if (spec->code.mode == JOBSPEC_INPUT_TREE)
                        put_string(o, "mode", "tree");
                put(root, "code", o);
        }

        o = json_object();
        put_string(o, "endpoint", spec->storage.endpoint);
        put_string(o, "region", spec->storage.region);
        put_string(o, "bucket", spec->storage.bucket);
        put_string(o, "prefix", spec->storage.prefix);
        put_section(root, "storage", o);

        o = json_object();
        put_string(o, "dir", spec->checkpoint_dir);
        put_string(o, "prefix", spec->checkpoint_prefix);
        put_int(o, "interval_s", spec->checkpoint_interval_s);
        put_section(root, "checkpoints", o);

        o = json_object();
        put_string(o, "model_dir", spec->model_dir);
        put_string(o, "output_dir", spec->output_dir);
        put_string(o, "prefix", spec->output_prefix);
        if (spec->hub.repo != NULL)
                put(o, "hub", hub_json(&spec->hub));
        put_section(root, "outputs", o);

        o = json_object();
        put_string(o, "prefix", spec->log_prefix);
        put_section(root, "logs", o);

        if (spec->n_webhooks > 0)
                put(root, "webhooks", webhooks_json(spec));
        if (spec->n_secrets > 0)
                put(root, "secrets", secrets_json(spec));

        o = json_object();
        put_int(o, "max_runtime_s", spec->max_runtime_s);
        put_int(o, "stop_grace_s", spec->stop_grace_s);
        put_section(root, "limits", o);

        if (spec->nodes > 1 || spec->gpus_per_node != 0 || spec->launcher != NULL ||
            spec->nproc_per_node != 0 || spec->port != 0 || spec->checkpoints_per_rank) {
                o = json_object();
                put(o, "nodes", json_integer(spec->nodes));
                put_int(o, "gpus_per_node", spec->gpus_per_node);
                put_string(o, "launcher", spec->launcher);
                put_int(o, "nproc_per_node", spec->nproc_per_node);
                put_int(o, "port", spec->port);
                if (spec->checkpoints_per_rank)
                        put(o, "checkpoints_per_rank", json_true());
                put(root, "distributed", o);
        }
        if (!spec->gpu_health || spec->gpu_health_interval_s != 0) {
                o = json_object();
                put(o, "enabled", json_boolean(spec->gpu_health));
                put_int(o, "interval_s", spec->gpu_health_interval_s);
                put(root, "gpu_health", o);
        }
        put(root, "attempt", json_integer(spec->attempt));
        if (spec->retry_on != NULL && spec->retry_on[0] != NULL) {
                o = json_object();
                put(o, "on", strv_json(spec->retry_on));
                put(o, "max", json_integer(spec->retry_max));
                put(root, "retry", o);
        }
        put_section(root, "resources", resources_json(&spec->resources));
        return dump(root);
}

/* ---- the struct ---- */

struct jobspec *jobspec_new(void)
{
        struct jobspec *spec = xzalloc(sizeof *spec);

        spec->version = xstrdup(JOBSPEC_VERSION);
        spec->nodes = 1;
        spec->gpu_health = 1;
        spec->attempt = 1;
        return spec;
}

static void kv_free(struct jobspec_kv *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].key);
                free(v[i].value);
        }
        free(v);
}

void jobspec_free(struct jobspec *spec)
{
        if (spec == NULL)
                return;
        free(spec->version);
        free(spec->id);
        free(spec->name);
        free(spec->image);
        free(spec->image_digest);
        strv_free(spec->command);
        free(spec->workdir);
        kv_free(spec->env, spec->n_env);
        kv_free(spec->hyperparameters, spec->n_hyperparameters);
        for (size_t i = 0; i < spec->n_inputs; i++) {
                free(spec->inputs[i].channel);
                free(spec->inputs[i].source);
                free(spec->inputs[i].sha256);
                free(spec->inputs[i].filename);
        }
        free(spec->inputs);
        free(spec->code.source);
        free(spec->code.sha256);
        free(spec->storage.endpoint);
        free(spec->storage.region);
        free(spec->storage.bucket);
        free(spec->storage.prefix);
        free(spec->checkpoint_dir);
        free(spec->checkpoint_prefix);
        free(spec->model_dir);
        free(spec->output_dir);
        free(spec->output_prefix);
        free(spec->hub.repo);
        free(spec->hub.revision);
        free(spec->hub.path_in_repo);
        free(spec->hub.token);
        free(spec->hub.endpoint);
        free(spec->log_prefix);
        for (size_t i = 0; i < spec->n_webhooks; i++) {
                free(spec->webhooks[i].url);
                strv_free(spec->webhooks[i].events);
                free(spec->webhooks[i].secret_env);
                free(spec->webhooks[i].secret_file);
        }
        free(spec->webhooks);
        for (size_t i = 0; i < spec->n_secrets; i++) {
                free(spec->secrets[i].name);
                free(spec->secrets[i].env);
                free(spec->secrets[i].file);
        }
        free(spec->secrets);
        free(spec->launcher);
        strv_free(spec->retry_on);
        resources_clear(&spec->resources);
        free(spec);
}

void jobspec_kv_add(struct jobspec_kv **v, size_t *n, const char *key, const char *value)
{
        *v = xreallocarray(*v, *n + 1, sizeof **v);
        (*v)[*n].key = xstrdup(key);
        (*v)[*n].value = xstrdup(value);
        (*n)++;
}

const char *jobspec_kv_get(const struct jobspec_kv *v, size_t n, const char *key)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i].key, key) == 0)
                        return v[i].value;
        return NULL;
}

const char *jobspec_input_mode_name(enum jobspec_input_mode mode)
{
        switch (mode) {
        case JOBSPEC_INPUT_FILE:
                return "file";
        case JOBSPEC_INPUT_ARCHIVE:
                return "archive";
        case JOBSPEC_INPUT_TREE:
                return "tree";
        }
        return "file";
}

uint64_t jobspec_extract_limit(const struct jobspec_input *in)
{
        uint64_t by_ratio;

        if (in->extract_limit > 0)
                return in->extract_limit;
        by_ratio = in->size > UINT64_MAX / JOBSPEC_EXTRACT_RATIO ? UINT64_MAX
                                                                 : in->size * JOBSPEC_EXTRACT_RATIO;
        return by_ratio > JOBSPEC_EXTRACT_FLOOR ? by_ratio : JOBSPEC_EXTRACT_FLOOR;
}

/* ---- validation ---- */

int jobspec_channel_valid(const char *channel)
{
        size_t n = 0;

        if (channel == NULL || !(channel[0] >= 'a' && channel[0] <= 'z'))
                return 0;
        for (const char *p = channel; *p; p++, n++) {
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
                        return 0;
        }
        return n <= 64;
}

/* Job ids become storage keys ("jobs/<id>/...") and file names. */
static int id_valid(const char *id)
{
        size_t n = 0;

        if (id == NULL || !((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z') ||
                            (id[0] >= '0' && id[0] <= '9')))
                return 0;
        for (const char *p = id; *p; p++, n++) {
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
                        return 0;
        }
        return n <= 128;
}

static int invalid(struct hoist_error **err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static int invalid(struct hoist_error **err, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        (void)hoist_error_makev(err, HOIST_ERR_INPUT, fmt, ap);
        va_end(ap);
        return -1;
}

static int validate_inputs(const struct jobspec *spec, struct hoist_error **err)
{
        for (size_t i = 0; i < spec->n_inputs; i++) {
                const struct jobspec_input *in = &spec->inputs[i];

                if (!jobspec_channel_valid(in->channel))
                        return invalid(err,
                                       "inputs[%zu].channel: '%.64s' is not a valid channel name "
                                       "(1-64 of a-z, 0-9 and _, starting with a letter)",
                                       i, in->channel ? in->channel : "");
                for (size_t j = 0; j < i; j++)
                        if (strcmp(spec->inputs[j].channel, in->channel) == 0)
                                return invalid(err,
                                               "inputs[%zu].channel: '%s' is used twice (also by "
                                               "inputs[%zu])",
                                               i, in->channel, j);
                if (in->source == NULL || in->source[0] == '\0')
                        return invalid(err, "inputs[%zu].source: missing (input '%s' needs a URL)",
                                       i, in->channel);
        }
        return 0;
}

int jobspec_secret_name_valid(const char *name)
{
        if (name == NULL || strncmp(name, "HOIST_", 6) == 0 ||
            !((*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z') || *name == '_'))
                return 0;
        for (const char *p = name + 1; *p; p++)
                if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                      (*p >= '0' && *p <= '9') || *p == '_'))
                        return 0;
        return 1;
}

int jobspec_hub_from_parse(const char *name)
{
        if (strcmp(name, "host") == 0)
                return JOBSPEC_HUB_FROM_HOST;
        if (strcmp(name, "entrypoint") == 0)
                return JOBSPEC_HUB_FROM_ENTRYPOINT;
        return -1;
}

const char *jobspec_hub_from_name(enum jobspec_hub_from from)
{
        return from == JOBSPEC_HUB_FROM_ENTRYPOINT ? "entrypoint" : "host";
}

/* outputs.hub: a repo id, a path inside the repo, a token that names one of
 * the job's secrets. */
static int validate_hub(const struct jobspec *spec, struct hoist_error **err)
{
        const struct jobspec_hub *h = &spec->hub;
        size_t i;

        if (h->repo == NULL)
                return 0;
        if (!hfhub_repo_valid(h->repo))
                return invalid(err,
                               "outputs.hub.repo: '%.100s' is not a Hub repo id (write it as "
                               "user/name: letters, digits, '-', '_' and '.')",
                               h->repo);
        if (h->path_in_repo != NULL && !hfhub_path_valid(h->path_in_repo))
                return invalid(err,
                               "outputs.hub.path_in_repo: '%.100s' is not a relative path inside "
                               "the repo (use \".\" for its root)",
                               h->path_in_repo);
        if (h->revision != NULL &&
            (h->revision[0] == '\0' ||
             strspn(h->revision, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
                                 "nopqrstuvwxyz0123456789-_./") != strlen(h->revision)))
                return invalid(err, "outputs.hub.revision: '%.100s' is not a branch name",
                               h->revision);
        if (h->endpoint != NULL && strncmp(h->endpoint, "https://", 8) != 0 &&
            strncmp(h->endpoint, "http://", 7) != 0)
                return invalid(err, "outputs.hub.endpoint: '%.100s' is not an http(s) URL",
                               h->endpoint);
        if (h->token == NULL)
                return invalid(err, "outputs.hub.token: missing (name the secret that holds the "
                                    "Hub token)");
        for (i = 0; i < spec->n_secrets && strcmp(spec->secrets[i].name, h->token) != 0; i++)
                ;
        if (i == spec->n_secrets)
                return invalid(err,
                               "outputs.hub.token: '%.64s' is not one of the job's secrets (add it "
                               "under secrets:, e.g. %.64s: {env: %.64s})",
                               h->token, h->token, h->token);
        return 0;
}

int jobspec_validate(const struct jobspec *spec, struct hoist_error **err)
{
        if (spec->version == NULL || !version_supported(spec->version))
                return invalid(err,
                               "version: '%.64s' is not supported (expected " JOBSPEC_VERSION ")",
                               spec->version ? spec->version : "");
        if (spec->id == NULL || spec->id[0] == '\0')
                return invalid(err, "id: missing");
        if (!id_valid(spec->id))
                return invalid(err,
                               "id: '%.64s' is not a valid job id (1-128 of A-Z, a-z, 0-9, '.', "
                               "'_' and '-', starting with a letter or digit)",
                               spec->id);
        if (spec->storage.endpoint == NULL || spec->storage.endpoint[0] == '\0')
                return invalid(err, "storage.endpoint: missing");
        if (spec->command != NULL && (spec->command[0] == NULL || spec->command[0][0] == '\0'))
                return invalid(err, "command: is empty (give the program to run, or leave "
                                    "command out to run the image's own command)");
        if (validate_inputs(spec, err) < 0)
                return -1;
        if (spec->code.source != NULL && spec->code.source[0] == '\0')
                return invalid(err, "code.source: is empty (give the URL of the code's tar)");
        for (size_t i = 0; i < spec->n_webhooks; i++)
                if (spec->webhooks[i].url == NULL || spec->webhooks[i].url[0] == '\0')
                        return invalid(err, "webhooks[%zu].url: missing", i);
        for (size_t i = 0; i < spec->n_secrets; i++)
                if (!jobspec_secret_name_valid(spec->secrets[i].name))
                        return invalid(err,
                                       "secrets[%zu].name: '%.64s' is not a variable name a job "
                                       "may take (A-Z, a-z, 0-9 and _, not starting with a digit "
                                       "or HOIST_)",
                                       i, spec->secrets[i].name);
        if (validate_hub(spec, err) < 0)
                return -1;
        if (spec->nodes < 1)
                return invalid(err, "distributed.nodes: %" PRId64 " (expected at least 1)",
                               spec->nodes);
        if (spec->launcher != NULL && jobspec_launcher_parse(spec->launcher) < 0)
                return invalid(err,
                               "distributed.launcher: '%.64s' is not supported (expected "
                               "\"hoist\", \"torchrun\", \"accelerate\" or \"none\")",
                               spec->launcher);
        return 0;
}

static const char *const launcher_names[] = {
        [JOBSPEC_LAUNCHER_NONE] = "none",
        [JOBSPEC_LAUNCHER_HOIST] = "hoist",
        [JOBSPEC_LAUNCHER_TORCHRUN] = "torchrun",
        [JOBSPEC_LAUNCHER_ACCELERATE] = "accelerate",
};

int jobspec_launcher_parse(const char *name)
{
        if (name == NULL)
                return JOBSPEC_LAUNCHER_NONE;
        for (size_t i = 0; i < sizeof launcher_names / sizeof launcher_names[0]; i++)
                if (strcmp(name, launcher_names[i]) == 0)
                        return (int)i;
        return -1;
}

enum jobspec_launcher jobspec_launcher(const struct jobspec *spec)
{
        int l = jobspec_launcher_parse(spec->launcher);

        return l < 0 ? JOBSPEC_LAUNCHER_NONE : (enum jobspec_launcher)l;
}

const char *jobspec_launcher_name(enum jobspec_launcher l)
{
        return launcher_names[l];
}

int64_t jobspec_port(const struct jobspec *spec)
{
        return spec->port > 0 ? spec->port : JOBSPEC_DEFAULT_PORT;
}

/* ---- result.json ---- */

static const char *const result_statuses[] = {"succeeded", "failed", "canceled", "interrupted",
                                              NULL};

int jobspec_result_parse(const char *json, size_t len, const char *name,
                         struct jobspec_result **ret, struct hoist_error **err)
{
        _cleanup_jobspec_result_ struct jobspec_result *res = xzalloc(sizeof *res);
        struct reader r = {.name = name ? name : "result.json", .err = err};
        json_auto_t *root = load_object(json, len, r.name, err);
        int64_t exit_code = 0, sig = 0;
        int known = 0;

        if (root == NULL)
                return -1;
        res->attempt = 1;
        if (get_string(&r, root, NULL, "job_id", 1, &res->job_id) < 0 ||
            get_string(&r, root, NULL, "node", 0, &res->node) < 0 ||
            get_string(&r, root, NULL, "status", 1, &res->status) < 0 ||
            get_int(&r, root, NULL, "exit_code", 0, 255, &exit_code) < 0 ||
            get_int(&r, root, NULL, "signal", 0, 255, &sig) < 0 ||
            get_string(&r, root, NULL, "reason", 0, &res->reason) < 0 ||
            get_int(&r, root, NULL, "started_at_ms", 0, INT64_MAX, &res->started_at_ms) < 0 ||
            get_int(&r, root, NULL, "finished_at_ms", 0, INT64_MAX, &res->finished_at_ms) < 0 ||
            get_int(&r, root, NULL, "attempt", 0, INT32_MAX, &res->attempt) < 0)
                return -1;
        for (const char *const *s = result_statuses; *s; s++)
                known |= strcmp(*s, res->status) == 0;
        if (!known)
                return read_error(&r, "status",
                                  "'%.64s' is not a status (expected succeeded, failed, canceled "
                                  "or interrupted)",
                                  res->status);
        res->exit_code = (int)exit_code;
        res->signal = (int)sig;
        *ret = TAKE_PTR(res);
        return 0;
}

char *jobspec_result_to_json(const struct jobspec_result *r)
{
        json_auto_t *root = json_object();

        put_string(root, "job_id", r->job_id);
        put_string(root, "node", r->node);
        put_string(root, "status", r->status);
        put(root, "exit_code", json_integer(r->exit_code));
        put(root, "signal", json_integer(r->signal));
        put_string(root, "reason", r->reason);
        put(root, "started_at_ms", json_integer(r->started_at_ms));
        put(root, "finished_at_ms", json_integer(r->finished_at_ms));
        put(root, "attempt", json_integer(r->attempt));
        return dump(root);
}

void jobspec_result_free(struct jobspec_result *r)
{
        if (r == NULL)
                return;
        free(r->job_id);
        free(r->node);
        free(r->status);
        free(r->reason);
        free(r);
}
