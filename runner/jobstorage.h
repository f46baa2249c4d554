/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_JOBSTORAGE_H
#define HOIST_RUNNER_JOBSTORAGE_H

/*
 * How a job finds its storage from inside its container: job.json's storage
 * block (never a secret), the URL of job.json itself, and the credentials,
 * which travel beside job.json as HOIST_S3_* environment variables that the
 * entrypoint takes out of the environment before the command starts.
 */

#include "error.h"
#include "jobspec.h"
#include "storage.h"

/* Fills SPEC->storage from where STO is. */
void jobstorage_fill_spec(const struct storage *sto, struct jobspec *spec);

/* The HOIST_JOB_URL of KEY: file:///path for file storage, else
 * s3://bucket/prefix/KEY. */
char *jobstorage_job_url(const struct storage *sto, const char *key);

/* The local directory of a file:// store (for bind mounts), else NULL. */
char *jobstorage_local_root(const struct storage *sto);

/* "NAME=value" strings (NULL-terminated, or NULL for file storage) that
 * give the job the credentials to reach STO. */
int jobstorage_secret_env(const struct storage *sto, char ***ret_env, struct hoist_error **err);

#endif
