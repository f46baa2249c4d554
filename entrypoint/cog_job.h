/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_COG_JOB_H
#define HOIST_ENTRYPOINT_COG_JOB_H

/*
 * The job side of a Cog training (docs/cog.md).  The Cog server (cog.c)
 * runs each training as a child hoist-entrypoint on the ordinary job path,
 * passing the training's input in HOIST_COG_INPUT (a file: hyperparameters
 * and input_<channel> URLs) and asking for the training's output in
 * HOIST_COG_RESULT (a file it reads back: {"job_id", "weights"}).
 */

#include <jansson.h>

#include "error.h"
#include "jobspec.h"

/* Applies HOIST_COG_INPUT to SPEC: a value given replaces job.json's
 * hyperparameter, an input_<channel> URL is fetched into the training's
 * directory and staged from there (still checked against job.json's
 * sha256).  Writes HOIST_COG_RESULT.  Nothing to do (0) without
 * HOIST_COG_INPUT.  Call after job_take_credentials(). */
int cog_job_apply(struct jobspec *spec, struct hoist_error **err);

/* hoist_job_url over http(s): fetched into the training's directory and
 * handed on as HOIST_JOB_FILE (HOIST_JOB_URL reads s3:// and file://).
 * Nothing to do (0) outside a Cog training. */
int cog_job_fetch_spec(struct hoist_error **err);

/* The URL of SPEC's output prefix in its storage, ending in '/':
 * s3://bucket/prefix/jobs/<id>/output/ or file:///root/jobs/<id>/output/. */
char *cog_job_weights_url(const struct jobspec *spec);

/* A hyperparameter's JSON value as job.json's text (jobspec.md
 * "hyperparameters"): NULL for an array, an object or null. */
char *cog_job_value_text(const json_t *v);

#endif
