/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_JOBHOOKS_H
#define HOIST_RUNNER_JOBHOOKS_H

/*
 * How a job's webhook secrets reach its container: never through job.json,
 * but as HOIST_WEBHOOK_SECRET_<n> (for job.json's webhooks[n]) beside the
 * HOIST_S3_* credentials, read on every attempt from the variable or file
 * job.yaml names.  On the built-in endpoint the job also reports to hoist
 * serve's own receiver (POST /hooks/events): HOIST_HOOKS_URL and
 * HOIST_HOOKS_SECRET.  The entrypoint takes all of them out of the
 * environment before the command starts.
 */

#include "error.h"
#include "runner/cli/home.h"
#include "jobspec.h"
#include "storage.h"

/* Fails, naming the webhook and the variable or file, when a webhook's
 * secret cannot be read or is not "whsec_<base64>". */
int jobhooks_check(const struct jobspec *spec, struct hoist_error **err);

/* Appends the variables above to *ENV (a NULL-terminated list, or NULL). */
int jobhooks_env(const struct hoist_home *home, const char *storage_url, const struct storage *sto,
                 const struct jobspec *spec, char ***env, struct hoist_error **err);

#endif
