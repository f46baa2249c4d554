/* SPDX-License-Identifier: MIT */
#ifndef HOIST_COGSCHEMA_H
#define HOIST_COGSCHEMA_H

/*
 * The OpenAPI 3 document Cog serves at /openapi.json for a training-only
 * model (docs/cog.md).  Replicate reads it from the image label
 * run.cog.openapi_schema; the entrypoint's Cog mode serves it.  Its
 * TrainingInput is the hoist job: hoist_job_url (required), hoist_env (a Cog
 * Secret), one property per hyperparameter of job.json and an optional
 * input_<channel> URL per input channel.
 */

#include <jansson.h>

#include "error.h"
#include "jobspec.h"

/* The TrainingInput property that carries the job's URL, and the secret one. */
#define COG_INPUT_JOB_URL "hoist_job_url"
#define COG_INPUT_ENV "hoist_env"
#define COG_INPUT_CHANNEL_PREFIX "input_"

/* Cog's title for a property: "learning_rate" -> "Learning Rate". */
char *cog_title(const char *name);

/* The JSON value a job.json hyperparameter (always text) stands for: an
 * integer, a real, true/false, else the string itself.  Never NULL. */
json_t *cog_hyperparameter_value(const char *text);

/* Builds the document.  SPEC NULL: the generic schema, whose TrainingInput
 * holds hoist_job_url and hoist_env only.  A hyperparameter whose name is
 * taken by hoist's own properties is an error naming it. */
int cog_openapi_schema(const struct jobspec *spec, json_t **ret, struct hoist_error **err);

#endif
