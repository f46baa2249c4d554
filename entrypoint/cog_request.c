/* SPDX-License-Identifier: MIT */
#include "cog_request.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cogschema.h"
#include "xalloc.h"

#define COG_ENV_MAX 256

void cog_request_free(struct cog_request *r)
{
        if (r == NULL)
                return;
        free(r->id);
        free(r->created_at);
        free(r->webhook);
        free(r->job_url);
        json_decref(r->input);
        json_decref(r->overrides);
        for (size_t i = 0; i < r->n_env; i++) {
                free(r->env[i].key);
                if (r->env[i].value != NULL)
                        explicit_bzero(r->env[i].value, strlen(r->env[i].value));
                free(r->env[i].value);
        }
        free(r->env);
        free(r);
}

char *cog_url_for_log(const char *url)
{
        size_t n = strcspn(url, "?#");
        const char *at = memchr(url, '@', n);
        const char *scheme = strstr(url, "://");

        /* user:password@host as well */
        if (at != NULL && scheme != NULL && scheme < at)
                return xasprintf("%.*s[credentials]%.*s%s", (int)(scheme + 3 - url), url,
                                 (int)(n - (size_t)(at - url)), at, url[n] ? "?..." : "");
        return xasprintf("%.*s%s", (int)n, url, url[n] ? "?..." : "");
}

int cog_id_valid(const char *id)
{
        size_t n = strlen(id);

        return n >= 1 && n <= 128 &&
               strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
                       n &&
               strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

int cog_env_name_valid(const char *name)
{
        static const char *const hoist_ok[] = {"HOIST_WEBHOOK_SECRET", "HOIST_S3_",
                                               "HOIST_HOOKS_SECRET", "HOIST_HOOKS_URL"};
        size_t n = strlen(name);

        if (n == 0 || n > 128 || isdigit((unsigned char)name[0]) ||
            strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != n)
                return 0;
        if (strncmp(name, "HOIST_", 6) != 0)
                return 1;
        /* The rest of HOIST_ steers the entrypoint itself (which job, where
         * its result goes): the server sets those. */
        for (size_t i = 0; i < sizeof hoist_ok / sizeof *hoist_ok; i++)
                if (strncmp(name, hoist_ok[i], strlen(hoist_ok[i])) == 0)
                        return 1;
        return 0;
}

/* Sets *DETAIL to Cog's 422 body for LOC and MSG and returns -1. */
static int invalid(json_t **detail, struct hoist_error **err, const char *loc1, const char *loc2,
                   const char *type, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int invalid(json_t **detail, struct hoist_error **err, const char *loc1, const char *loc2,
                   const char *type, const char *fmt, ...)
{
        va_list ap;
        _cleanup_free_ char *msg = NULL;
        json_t *loc = json_pack("[s]", "body");

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        /* Quoted input may be anything: printable ASCII only in the body. */
        for (char *c = msg; *c != '\0'; c++)
                if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
                        *c = '?';
        if (loc1 != NULL)
                (void)json_array_append_new(loc, json_string(loc1));
        if (loc2 != NULL) {
                json_t *s = json_stringn(loc2, strnlen(loc2, 200));
                (void)json_array_append_new(loc, s != NULL ? s : json_string("?"));
        }
        *detail =
                json_pack("{s:[{s:o, s:s, s:s}]}", "detail", "loc", loc, "msg", msg, "type", type);
        return hoist_error_make(err, HOIST_ERR_INPUT, "training request: %s", msg);
}

static int url_scheme_ok(const char *url, int allow_file)
{
        if (strncmp(url, "s3://", 5) == 0)
                return url[5] != '\0' && url[5] != '/';
        if (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0)
                return strlen(url) > 8;
        return allow_file && strncmp(url, "file:///", 8) == 0;
}

static int parse_env(const char *text, struct cog_request *r, json_t **detail,
                     struct hoist_error **err)
{
        json_error_t jerr;
        json_auto_t *obj = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
        const char *k;
        json_t *v;

        /* Never the text in a message: it is the secret. */
        if (!json_is_object(obj))
                return invalid(detail, err, "input", COG_INPUT_ENV, "value_error",
                               "hoist_env must be a JSON object as a string, "
                               "{\"NAME\": \"value\"} (line %d, column %d)",
                               obj == NULL ? jerr.line : 1, obj == NULL ? jerr.column : 1);
        if (json_object_size(obj) > COG_ENV_MAX)
                return invalid(detail, err, "input", COG_INPUT_ENV, "value_error",
                               "hoist_env has %zu variables (at most %d)", json_object_size(obj),
                               COG_ENV_MAX);
        r->env = xcalloc(json_object_size(obj) + 1, sizeof *r->env);
        json_object_foreach(obj, k, v)
        {
                if (!cog_env_name_valid(k))
                        return invalid(detail, err, "input", COG_INPUT_ENV, "value_error",
                                       "hoist_env: '%.64s' is not a name it may set (letters, "
                                       "digits and _; of HOIST_ only HOIST_WEBHOOK_SECRET*, "
                                       "HOIST_S3_*, HOIST_HOOKS_URL and HOIST_HOOKS_SECRET)",
                                       k);
                if (!json_is_string(v) ||
                    memchr(json_string_value(v), '\0', json_string_length(v)) != NULL)
                        return invalid(detail, err, "input", COG_INPUT_ENV, "type_error",
                                       "hoist_env: the value of '%s' must be a string", k);
                r->env[r->n_env].key = xstrdup(k);
                r->env[r->n_env].value = xstrdup(json_string_value(v));
                r->n_env++;
        }
        return 0;
}

static int type_matches(const char *type, const json_t *v)
{
        if (type == NULL)
                return 1;
        if (strcmp(type, "string") == 0)
                return json_is_string(v);
        if (strcmp(type, "integer") == 0)
                return json_is_integer(v);
        if (strcmp(type, "number") == 0)
                return json_is_number(v);
        if (strcmp(type, "boolean") == 0)
                return json_is_boolean(v);
        return 1;
}

/* One property of input other than hoist_job_url and hoist_env. */
static int check_property(const char *k, json_t *v, const json_t *props, json_t **detail,
                          struct hoist_error **err)
{
        const json_t *schema = props != NULL ? json_object_get(props, k) : NULL;
        const char *type = json_string_value(json_object_get(schema, "type"));
        size_t plen = strlen(COG_INPUT_CHANNEL_PREFIX);

        if (props != NULL && schema == NULL)
                return invalid(detail, err, "input", k, "value_error.extra",
                               "input '%.64s' is not a property of this model's TrainingInput "
                               "(see /openapi.json)",
                               k);
        if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v))
                return invalid(detail, err, "input", k, "type_error",
                               "input '%.64s' must be a string, a number or a boolean", k);
        if (!type_matches(type, v))
                return invalid(detail, err, "input", k, "type_error",
                               "input '%.64s' must be "
                               "of type %s",
                               k, type);
        if (strncmp(k, COG_INPUT_CHANNEL_PREFIX, plen) == 0) {
                if (!json_is_string(v) || !url_scheme_ok(json_string_value(v), 1))
                        return invalid(detail, err, "input", k, "value_error.url",
                                       "input '%.64s' must be an s3://, https://, http:// or "
                                       "file:/// URL",
                                       k);
                if (!jobspec_channel_valid(k + plen))
                        return invalid(detail, err, "input", k, "value_error",
                                       "input '%.64s' does not name a valid input channel", k);
        }
        return 0;
}

static int parse_input(json_t *input, const json_t *schema, struct cog_request *r, json_t **detail,
                       struct hoist_error **err)
{
        const json_t *props = schema != NULL ? json_object_get(schema, "properties") : NULL;
        json_t *url = json_object_get(input, COG_INPUT_JOB_URL);
        json_t *env = json_object_get(input, COG_INPUT_ENV);
        const char *k;
        json_t *v;

        if (!json_is_string(url))
                return invalid(detail, err, "input", COG_INPUT_JOB_URL,
                               url == NULL ? "value_error.missing" : "type_error.str",
                               url == NULL ? "field required: hoist_job_url, the URL of the "
                                             "job's job.json"
                                           : "hoist_job_url must be a string");
        if (!url_scheme_ok(json_string_value(url), 1) ||
            strlen(json_string_value(url)) != json_string_length(url)) {
                _cleanup_free_ char *shown = cog_url_for_log(json_string_value(url));
                return invalid(detail, err, "input", COG_INPUT_JOB_URL, "value_error.url",
                               "hoist_job_url '%.200s' must be an s3://, https://, http:// or "
                               "file:/// URL",
                               shown);
        }
        r->job_url = xstrdup(json_string_value(url));
        if (env != NULL && !json_is_string(env))
                return invalid(detail, err, "input", COG_INPUT_ENV, "type_error.str",
                               "hoist_env must be a string holding a JSON object");
        if (env != NULL && parse_env(json_string_value(env), r, detail, err) < 0)
                return -1;
        r->overrides = json_object();
        json_object_foreach(input, k, v)
        {
                if (strcmp(k, COG_INPUT_JOB_URL) == 0 || strcmp(k, COG_INPUT_ENV) == 0)
                        continue;
                if (check_property(k, v, props, detail, err) < 0)
                        return -1;
                (void)json_object_set(r->overrides, k, v);
        }
        r->input = json_deep_copy(input);
        if (env != NULL)
                (void)json_object_set_new(r->input, COG_INPUT_ENV, json_string(COG_SECRET_MASK));
        return 0;
}

static int parse_events(const json_t *filter, unsigned *ret, json_t **detail,
                        struct hoist_error **err)
{
        static const char *const names[] = {"start", "output", "logs", "completed"};
        size_t i;
        json_t *e;

        if (filter == NULL) {
                *ret = COG_EVENTS_ALL;
                return 0;
        }
        if (!json_is_array(filter))
                return invalid(detail, err, "webhook_events_filter", NULL, "type_error.list",
                               "webhook_events_filter must be a list of start, output, logs, "
                               "completed");
        *ret = 0;
        json_array_foreach(filter, i, e)
        {
                size_t j = 0;
                while (j < 4 && (!json_is_string(e) || strcmp(json_string_value(e), names[j]) != 0))
                        j++;
                if (j == 4)
                        return invalid(detail, err, "webhook_events_filter", NULL,
                                       "type_error.enum",
                                       "webhook_events_filter[%zu] is not one of start, output, "
                                       "logs, completed",
                                       i);
                *ret |= 1u << j;
        }
        return 0;
}

static int opt_string(json_t *root, const char *key, char **ret, json_t **detail,
                      struct hoist_error **err)
{
        json_t *v = json_object_get(root, key);

        if (v == NULL || json_is_null(v))
                return 0;
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
                return invalid(detail, err, key, NULL, "type_error.str", "%s must be a string",
                               key);
        *ret = xstrdup(json_string_value(v));
        return 0;
}

int cog_request_parse(const char *body, size_t len, const json_t *training_input,
                      const char *path_id, struct cog_request **ret, json_t **ret_detail,
                      struct hoist_error **err)
{
        _cleanup_cog_request_ struct cog_request *r = xcalloc(1, sizeof *r);
        json_error_t jerr;
        json_auto_t *root = NULL;
        json_t *input;

        if (len > COG_REQUEST_MAX_BYTES)
                return invalid(ret_detail, err, NULL, NULL, "value_error",
                               "the request body is %zu bytes (at most %d)", len,
                               COG_REQUEST_MAX_BYTES);
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (root == NULL)
                return invalid(ret_detail, err, NULL, NULL, "value_error.jsondecode",
                               "the body is not JSON: line %d, column %d: %s", jerr.line,
                               jerr.column, jerr.text);
        if (!json_is_object(root))
                return invalid(ret_detail, err, NULL, NULL, "type_error.dict",
                               "the body must be a JSON object");
        if (opt_string(root, "id", &r->id, ret_detail, err) < 0 ||
            opt_string(root, "created_at", &r->created_at, ret_detail, err) < 0 ||
            opt_string(root, "webhook", &r->webhook, ret_detail, err) < 0)
                return -1;
        if (r->id != NULL && !cog_id_valid(r->id))
                return invalid(ret_detail, err, "id", NULL, "value_error",
                               "id must be 1-128 of A-Z a-z 0-9 . _ -");
        if (path_id != NULL && !cog_id_valid(path_id))
                return invalid(ret_detail, err, "id", NULL, "value_error",
                               "the training id in the path must be 1-128 of A-Z a-z 0-9 . _ -");
        if (path_id != NULL && r->id != NULL && strcmp(path_id, r->id) != 0)
                return invalid(ret_detail, err, "id", NULL, "value_error",
                               "id '%s' does not match the training id in the path", r->id);
        if (path_id != NULL && r->id == NULL)
                r->id = xstrdup(path_id);
        if (r->webhook != NULL &&
            (strlen(r->webhook) > 65536 ||
             (strncmp(r->webhook, "http://", 7) != 0 && strncmp(r->webhook, "https://", 8) != 0)))
                return invalid(ret_detail, err, "webhook", NULL, "value_error.url",
                               "webhook must be an http:// or https:// URL");
        if (parse_events(json_object_get(root, "webhook_events_filter"), &r->events, ret_detail,
                         err) < 0)
                return -1;
        input = json_object_get(root, "input");
        if (!json_is_object(input))
                return invalid(ret_detail, err, "input", NULL,
                               input == NULL ? "value_error.missing" : "type_error.dict",
                               input == NULL ? "field required: input (hoist_job_url, "
                                               "hoist_env, hyperparameters)"
                                             : "input must be an object");
        if (parse_input(input, training_input, r, ret_detail, err) < 0)
                return -1;
        *ret = TAKE_PTR(r);
        return 0;
}
