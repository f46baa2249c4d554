/* SPDX-License-Identifier: MIT */
/*
 * What the entrypoint's Cog server parses from a training request
 * (entrypoint/cog_request.c).  Input: a first line naming the path's
 * training id (empty: POST /trainings) and a second line choosing the
 * schema ("job": a job's TrainingInput, anything else: the generic one),
 * then the body.  Any bytes must give a request or Cog's 422 body, never a
 * crash or a leak; a parsed request never shows hoist_env's value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cogschema.h"
#include "entrypoint/cog_request.h"
#include "error.h"
#include "jobspec.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *next_line(const char **p, const char *end)
{
        const char *nl = memchr(*p, '\n', (size_t)(end - *p));
        const char *stop = nl != NULL ? nl : end;
        char *line = xstrndup(*p, (size_t)(stop - *p));

        *p = nl != NULL ? nl + 1 : end;
        return line;
}

static json_t *job_training_input(json_t **ret_doc)
{
        struct jobspec *spec = jobspec_new();
        struct hoist_error *err = NULL;
        json_t *doc = NULL;

        spec->id = xstrdup("j-fuzz");
        jobspec_kv_add(&spec->hyperparameters, &spec->n_hyperparameters, "epochs", "3");
        jobspec_kv_add(&spec->hyperparameters, &spec->n_hyperparameters, "lr", "0.1");
        jobspec_kv_add(&spec->hyperparameters, &spec->n_hyperparameters, "fp16", "true");
        jobspec_kv_add(&spec->hyperparameters, &spec->n_hyperparameters, "name", "x");
        spec->inputs = xcalloc(1, sizeof *spec->inputs);
        spec->inputs[0].channel = xstrdup("train");
        spec->inputs[0].source = xstrdup("blobs/sha256/00");
        spec->n_inputs = 1;
        if (cog_openapi_schema(spec, &doc, &err) < 0)
                abort();
        jobspec_free(spec);
        *ret_doc = doc;
        return json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"),
                               "TrainingInput");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *p = (const char *)data, *end = p + size;
        char *path_id = next_line(&p, end), *which = next_line(&p, end);
        struct hoist_error *err = NULL;
        struct cog_request *req = NULL;
        json_t *detail = NULL, *doc = NULL;
        const json_t *schema = strcmp(which, "job") == 0 ? job_training_input(&doc) : NULL;
        int r;

        r = cog_request_parse(p, (size_t)(end - p), schema, *path_id ? path_id : NULL, &req,
                              &detail, &err);
        if ((r < 0) != (err != NULL) || (r < 0) != (req == NULL) || (r < 0) != (detail != NULL))
                abort();
        if (r < 0) {
                if (!json_is_array(json_object_get(detail, "detail")))
                        abort();
        } else {
                char *shown = json_dumps(req->input, JSON_COMPACT);
                if (req->job_url == NULL || (req->events & ~(unsigned)COG_EVENTS_ALL) != 0 ||
                    json_object_get(req->overrides, COG_INPUT_ENV) != NULL ||
                    json_object_get(req->overrides, COG_INPUT_JOB_URL) != NULL ||
                    (req->id != NULL && !cog_id_valid(req->id)) ||
                    (*path_id && (req->id == NULL || strcmp(req->id, path_id) != 0)))
                        abort();
                for (size_t i = 0; i < req->n_env; i++)
                        if (!cog_env_name_valid(req->env[i].key))
                                abort();
                if (req->n_env > 0 &&
                    strcmp(json_string_value(json_object_get(req->input, COG_INPUT_ENV)),
                           COG_SECRET_MASK) != 0)
                        abort();
                free(shown);
        }
        hoist_error_release(&err);
        json_decref(detail);
        json_decref(doc);
        cog_request_free(req);
        free(path_id);
        free(which);
        return 0;
}
