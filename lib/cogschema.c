/* SPDX-License-Identifier: MIT */
/*
 * Cog's OpenAPI document for a training-only model, shaped as Cog's own
 * generator writes it (cog/python/cog/server/http.py through FastAPI): the
 * same paths, operation ids and component names, so Replicate and Cog's
 * clients read it as they read a Cog image's.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cogschema.h"
#include "xalloc.h"

#define REF(name) "#/components/schemas/" name

char *cog_title(const char *name)
{
        char *t = xstrdup(name);
        int start = 1;

        for (char *p = t; *p != '\0'; p++) {
                if (*p == '_') {
                        *p = ' ';
                        start = 1;
                } else if (start) {
                        *p = (char)toupper((unsigned char)*p);
                        start = 0;
                }
        }
        return t;
}

json_t *cog_hyperparameter_value(const char *text)
{
        char *end;

        if (strcmp(text, "true") == 0)
                return json_true();
        if (strcmp(text, "false") == 0)
                return json_false();
        if (*text != '\0' && !isspace((unsigned char)*text)) {
                long long i;
                double d;

                errno = 0;
                i = strtoll(text, &end, 10);
                if (errno == 0 && *end == '\0')
                        return json_integer(i);
                /* strtod also reads "inf", "nan" and hex: JSON has none. */
                if (strspn(text, "+-0123456789.eE") == strlen(text)) {
                        errno = 0;
                        d = strtod(text, &end);
                        if (errno == 0 && *end == '\0')
                                return json_real(d);
                }
        }
        return json_string(text);
}

static const char *json_type_name(const json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_INTEGER:
                return "integer";
        case JSON_REAL:
                return "number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "boolean";
        default:
                return "string";
        }
}

static json_t *response_200(json_t *schema)
{
        return json_pack("{s:s, s:{s:{s:o}}}", "description", "Successful Response", "content",
                         "application/json", "schema", schema);
}

static json_t *response_422(void)
{
        return json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", "Validation Error", "content",
                         "application/json", "schema", "$ref", REF("HTTPValidationError"));
}

static json_t *param_prefer(void)
{
        return json_pack("{s:b, s:{s:s, s:s}, s:s, s:s}", "required", 0, "schema", "title",
                         "Prefer", "type", "string", "name", "prefer", "in", "header");
}

static json_t *param_training_id(void)
{
        return json_pack("{s:b, s:{s:s, s:s}, s:s, s:s}", "required", 1, "schema", "title",
                         "Training Id", "type", "string", "name", "training_id", "in", "path");
}

static json_t *training_body(void)
{
        return json_pack("{s:{s:{s:{s:s}}}}", "content", "application/json", "schema", "$ref",
                         REF("TrainingRequest"));
}

static json_t *train_operation(const char *summary, const char *op_id, int with_id)
{
        json_t *params = json_array();

        if (with_id)
                (void)json_array_append_new(params, param_training_id());
        (void)json_array_append_new(params, param_prefer());
        return json_pack("{s:s, s:s, s:s, s:o, s:o, s:{s:o, s:o}}", "summary", summary,
                         "description", "Run a training", "operationId", op_id, "parameters",
                         params, "requestBody", training_body(), "responses", "200",
                         response_200(json_pack("{s:s}", "$ref", REF("TrainingResponse"))), "422",
                         response_422());
}

static json_t *simple_get(const char *summary, const char *op_id, const char *resp_title)
{
        return json_pack("{s:{s:s, s:s, s:{s:o}}}", "get", "summary", summary, "operationId", op_id,
                         "responses", "200", response_200(json_pack("{s:s}", "title", resp_title)));
}

static json_t *paths(void)
{
        json_t *p = json_object();

        (void)json_object_set_new(p, "/", simple_get("Root", "root__get", "Response Root  Get"));
        (void)json_object_set_new(p, "/health-check",
                                  simple_get("Healthcheck", "healthcheck_health_check_get",
                                             "Response Healthcheck Health Check Get"));
        (void)json_object_set_new(
                p, "/trainings",
                json_pack("{s:o}", "post", train_operation("Train", "train_trainings_post", 0)));
        (void)json_object_set_new(
                p, "/trainings/{training_id}",
                json_pack("{s:o}", "put",
                          train_operation("Train Idempotent",
                                          "train_idempotent_trainings__training_id__put", 1)));
        (void)json_object_set_new(
                p, "/trainings/{training_id}/cancel",
                json_pack("{s:{s:s, s:s, s:[o], s:{s:o, s:o}}}", "post", "summary",
                          "Cancel Training", "operationId",
                          "cancel_training_trainings__training_id__cancel_post", "parameters",
                          param_training_id(), "responses", "200",
                          response_200(json_pack(
                                  "{s:s}", "title",
                                  "Response Cancel Training Trainings  Training Id  Cancel Post")),
                          "422", response_422()));
        (void)json_object_set_new(
                p, "/shutdown",
                json_pack("{s:{s:s, s:s, s:{s:o}}}", "post", "summary", "Start Shutdown",
                          "operationId", "start_shutdown_shutdown_post", "responses", "200",
                          response_200(json_pack("{s:s}", "title",
                                                 "Response Start Shutdown Shutdown Post"))));
        return p;
}

static void add_property(json_t *props, const char *name, json_t *schema, int *order)
{
        _cleanup_free_ char *title = cog_title(name);

        if (json_object_get(schema, "title") == NULL)
                (void)json_object_set_new(schema, "title", json_string(title));
        (void)json_object_set_new(schema, "x-order", json_integer((*order)++));
        (void)json_object_set_new(props, name, schema);
}

static int training_input(const struct jobspec *spec, json_t **ret, struct hoist_error **err)
{
        json_t *props = json_object();
        json_t *input;
        int order = 0;

        add_property(props, COG_INPUT_JOB_URL,
                     json_pack("{s:s, s:s, s:s}", "type", "string", "format", "uri", "description",
                               "URL of the hoist job's job.json (s3:// or https://)"),
                     &order);
        add_property(props, COG_INPUT_ENV,
                     json_pack("{s:s, s:s, s:b, s:b, s:s}", "type", "string", "format", "password",
                               "x-cog-secret", 1, "writeOnly", 1, "description",
                               "A JSON object as a string, {\"NAME\": \"value\"}: the storage "
                               "credentials, the job's secrets and HOIST_WEBHOOK_SECRET; put "
                               "into the job's environment only, never echoed"),
                     &order);
        for (size_t i = 0; spec != NULL && i < spec->n_hyperparameters; i++) {
                const struct jobspec_kv *hp = &spec->hyperparameters[i];
                json_t *dflt;

                if (json_object_get(props, hp->key) != NULL ||
                    strncmp(hp->key, COG_INPUT_CHANNEL_PREFIX, strlen(COG_INPUT_CHANNEL_PREFIX)) ==
                            0) {
                        json_decref(props);
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "hyperparameter '%s' is a name the Cog training "
                                                "input keeps for hoist (hoist_job_url, hoist_env, "
                                                "input_<channel>); rename it",
                                                hp->key);
                }
                dflt = cog_hyperparameter_value(hp->value);
                add_property(props, hp->key,
                             json_pack("{s:s, s:o, s:s}", "type", json_type_name(dflt), "default",
                                       dflt, "description", "Hyperparameter (default: job.json's)"),
                             &order);
        }
        for (size_t i = 0; spec != NULL && i < spec->n_inputs; i++) {
                _cleanup_free_ char *name =
                        xasprintf(COG_INPUT_CHANNEL_PREFIX "%s", spec->inputs[i].channel);
                _cleanup_free_ char *desc =
                        xasprintf("Where input channel '%s' is fetched from instead of the "
                                  "job's storage (checked against job.json's sha256)",
                                  spec->inputs[i].channel);

                if (json_object_get(props, name) != NULL) {
                        json_decref(props);
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "input channel '%s' appears twice",
                                                spec->inputs[i].channel);
                }
                add_property(props, name,
                             json_pack("{s:s, s:s, s:s}", "type", "string", "format", "uri",
                                       "description", desc),
                             &order);
        }
        input = json_pack("{s:s, s:s, s:o, s:[s]}", "title", "TrainingInput", "type", "object",
                          "properties", props, "required", COG_INPUT_JOB_URL);
        *ret = input;
        return 0;
}

static json_t *status_enum(void)
{
        return json_pack("{s:s, s:s, s:[s,s,s,s,s], s:s}", "title", "Status", "type", "string",
                         "enum", "starting", "processing", "succeeded", "canceled", "failed",
                         "description", "An enumeration.");
}

static json_t *webhook_event_enum(void)
{
        return json_pack("{s:s, s:s, s:[s,s,s,s], s:s}", "title", "WebhookEvent", "type", "string",
                         "enum", "start", "output", "logs", "completed", "description",
                         "An enumeration.");
}

static json_t *training_request(void)
{
        return json_pack(
                "{s:s, s:s, s:{s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:{s:s}, "
                "s:{s:s, s:i, s:i, s:s, s:s}, s:{s:s, s:{s:s}, s:[s,s,s,s]}, s:{s:s, s:s}}}",
                "title", "TrainingRequest", "type", "object", "properties", "id", "title", "Id",
                "type", "string", "created_at", "title", "Created At", "type", "string", "format",
                "date-time", "input", "$ref", REF("TrainingInput"), "webhook", "title", "Webhook",
                "maxLength", 65536, "minLength", 1, "type", "string", "format", "uri",
                "webhook_events_filter", "type", "array", "items", "$ref", REF("WebhookEvent"),
                "default", "start", "output", "logs", "completed", "output_file_prefix", "title",
                "Output File Prefix", "type", "string");
}

static json_t *training_response(void)
{
        return json_pack("{s:s, s:s, s:{s:{s:s}, s:{s:s}, s:{s:s, s:s}, s:{s:s, s:s}, "
                         "s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, "
                         "s:{s:s, s:s, s:s}, s:{s:s, s:s}, s:{s:s}, s:{s:s, s:s}}}",
                         "title", "TrainingResponse", "type", "object", "properties", "input",
                         "$ref", REF("TrainingInput"), "output", "$ref", REF("TrainingOutput"),
                         "id", "title", "Id", "type", "string", "version", "title", "Version",
                         "type", "string", "created_at", "title", "Created At", "type", "string",
                         "format", "date-time", "started_at", "title", "Started At", "type",
                         "string", "format", "date-time", "completed_at", "title", "Completed At",
                         "type", "string", "format", "date-time", "logs", "title", "Logs", "type",
                         "string", "default", "", "error", "title", "Error", "type", "string",
                         "status", "$ref", REF("Status"), "metrics", "title", "Metrics", "type",
                         "object");
}

static json_t *training_output(void)
{
        return json_pack("{s:s, s:s, s:{s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s}}, s:[s,s]}",
                         "title", "TrainingOutput", "type", "object", "properties", "weights",
                         "title", "Weights", "type", "string", "format", "uri", "description",
                         "URL of the job's output prefix in its storage", "job_id", "title",
                         "Job Id", "type", "string", "description", "The hoist job's id",
                         "required", "weights", "job_id");
}

static json_t *validation_errors(json_t *schemas)
{
        (void)json_object_set_new(
                schemas, "ValidationError",
                json_pack("{s:s, s:[s,s,s], s:s, s:{s:{s:s, s:s, s:{s:[{s:s},{s:s}]}}, "
                          "s:{s:s, s:s}, s:{s:s, s:s}}}",
                          "title", "ValidationError", "required", "loc", "msg", "type", "type",
                          "object", "properties", "loc", "title", "Location", "type", "array",
                          "items", "anyOf", "type", "string", "type", "integer", "msg", "title",
                          "Message", "type", "string", "type", "title", "Error Type", "type",
                          "string"));
        return json_pack("{s:s, s:s, s:{s:{s:s, s:s, s:{s:s}}}}", "title", "HTTPValidationError",
                         "type", "object", "properties", "detail", "title", "Detail", "type",
                         "array", "items", "$ref", REF("ValidationError"));
}

int cog_openapi_schema(const struct jobspec *spec, json_t **ret, struct hoist_error **err)
{
        json_t *schemas, *tin = NULL;

        if (training_input(spec, &tin, err) < 0)
                return hoist_error_wrap(err, "Cog schema of job '%s'",
                                        spec != NULL ? spec->id : "");
        schemas = json_object();
        /* A training-only model declares no predictor: an empty Input and
         * an Output of no type, as Cog writes them. */
        (void)json_object_set_new(
                schemas, "Input",
                json_pack("{s:s, s:s, s:{}}", "title", "Input", "type", "object", "properties"));
        (void)json_object_set_new(schemas, "Output", json_pack("{s:s}", "title", "Output"));
        (void)json_object_set_new(schemas, "Status", status_enum());
        (void)json_object_set_new(schemas, "WebhookEvent", webhook_event_enum());
        (void)json_object_set_new(schemas, "TrainingInput", tin);
        (void)json_object_set_new(schemas, "TrainingOutput", training_output());
        (void)json_object_set_new(schemas, "TrainingRequest", training_request());
        (void)json_object_set_new(schemas, "TrainingResponse", training_response());
        (void)json_object_set_new(schemas, "HTTPValidationError", validation_errors(schemas));
        *ret = json_pack("{s:s, s:{s:s, s:s}, s:o, s:{s:o}}", "openapi", "3.0.2", "info", "title",
                         "Cog", "version", "0.1.0", "paths", paths(), "components", "schemas",
                         schemas);
        return 0;
}
