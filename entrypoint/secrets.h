/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_SECRETS_H
#define HOIST_ENTRYPOINT_SECRETS_H

/*
 * The job's secrets (docs/job.md "secrets").  A process job gets them in
 * the entrypoint's environment; a container in one file that the engine
 * mounts (HOIST_SECRETS_FILE: a JSON object {NAME: value}), so that no value
 * shows in the engine's `inspect`.  Either way the command sees each of
 * job.json's secrets as a variable, and hoist's own (HOIST_S3_*, webhook
 * secrets) are taken out by job_take_credentials() as before.
 */

#include "error.h"
#include "jobspec.h"
#include "redact.h"

/* Moves the variables of $HOIST_SECRETS_FILE into the environment and
 * forgets the variable.  Nothing when it is unset.  Call before
 * job_take_credentials() and before any thread starts. */
int secrets_load_file(struct hoist_error **err);

/* Sets each variable of TEXT (LEN bytes: a JSON object {"NAME": "value"})
 * in the environment, then wipes TEXT.  NAME labels errors, which never
 * quote a value. */
int secrets_load_json(char *text, size_t len, const char *name, struct hoist_error **err);

/* The redactor of the job: every value of SPEC's secrets (from the
 * environment) and of hoist's own credentials.  An error names the first
 * secret of job.json that did not reach this attempt; *RET is set either
 * way (with what there is), so the error itself can be logged redacted. */
int secrets_redactor(const struct jobspec *spec, struct redact **ret, struct hoist_error **err);

#endif
