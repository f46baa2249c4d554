/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_JOB_H
#define HOIST_ENTRYPOINT_JOB_H

/* Where the job comes from (HOIST_JOB_FILE, HOIST_JOB_URL) and the storage
 * keys it writes to. */

#include "error.h"
#include "jobspec.h"
#include "redact.h"
#include "storage.h"

/* Takes the storage credentials the runner passed (HOIST_S3_ACCESS_KEY_ID,
 * HOIST_S3_SECRET_ACCESS_KEY, HOIST_S3_SESSION_TOKEN, HOIST_S3_ENDPOINT,
 * HOIST_S3_REGION) out of the environment, so the command never inherits
 * them.  Call before anything is spawned; a second call (after SageMaker's
 * secrets object is read) takes what has been set since and keeps the rest. */
void job_take_credentials(void);

/* Adds the secrets among the taken credentials (the S3 secret key and
 * session token, the webhook and runner hook secrets; not the key id, the
 * endpoint or the region) to R. */
void job_redact_credentials(struct redact *r);

/* The webhook signing secret for job.json's webhooks[INDEX], taken from the
 * environment by job_take_credentials(): HOIST_WEBHOOK_SECRET_<INDEX>, else
 * HOIST_WEBHOOK_SECRET, else the contents of the file named by
 * HOIST_WEBHOOK_SECRET_FILE.  NULL when none was given (NAME is left NULL);
 * *RET_NAME names the source for errors, never the secret itself. */
const char *job_webhook_secret(size_t index, const char **ret_name);

/* The runner's own event receiver (hoist serve's POST /hooks/events) when
 * the runner gave one: HOIST_HOOKS_URL, with its secret HOIST_HOOKS_SECRET
 * in *RET_SECRET.  NULL when none. */
const char *job_runner_hook(const char **ret_secret);

/* Opens the job's storage: job.json's file:// endpoint as it is, or
 * s3://bucket/prefix at its http(s) endpoint with the taken credentials
 * (else the usual AWS chain). */
int job_open_storage(const struct jobspec *spec, struct storage **ret, struct hoist_error **err);

/* Loads and validates job.json from the environment.  Returns 1 with
 * *ret_spec set, 0 when neither variable is set, -1 on error. */
int job_load_from_env(struct jobspec **ret_spec, struct hoist_error **err);

/* A storage prefix without its trailing '/': CONFIGURED when job.json gives
 * one, else "jobs/<id>/<what>". */
char *job_prefix(const struct jobspec *spec, const char *configured, const char *what);

/* The key of the job's result record: "jobs/<id>/result.json". */
char *job_result_key(const struct jobspec *spec);
/* The key of one node's result record: "jobs/<id>/results/<node>.json". */
char *job_node_result_key(const struct jobspec *spec, const char *node);

/* The node name used for logs and results: $HOIST_NODE, else the hostname. */
char *job_node_name(void);

/* spec->attempt, or 1 when job.json leaves it out. */
int64_t job_attempt(const struct jobspec *spec);

#endif
