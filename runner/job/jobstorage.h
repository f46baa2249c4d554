/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_JOBSTORAGE_H
#define HOIST_RUNNER_JOBSTORAGE_H

/*
 * How a job finds its storage from inside its container: job.json's storage
 * block (never a secret), the URL of job.json itself, and the credentials,
 * which travel beside job.json as HOIST_S3_* environment variables that the
 * entrypoint takes out of the environment before the command starts.
 */

#include <stdint.h>

#include "error.h"
#include "runner/cli/home.h"
#include "jobspec.h"
#include "storage.h"

/* The storage a job uses when job.yaml names none: $HOIST_STORAGE, else the
 * built-in S3 endpoint (LOCALSERVE_URL, started on demand). */
const char *jobstorage_default_url(void);

/* 0 when jobstorage_open() would take URL (checked without opening it),
 * else an error saying how to write it. */
int jobstorage_check_url(const char *url, struct hoist_error **err);

/* Opens a job's storage URL: file://, s3://, or the built-in endpoint. */
int jobstorage_open(const struct hoist_home *home, const char *url, struct storage **ret,
                    struct hoist_error **err);

/* Fills SPEC->storage from where STO is. */
void jobstorage_fill_spec(const struct storage *sto, struct jobspec *spec);

/* The HOIST_JOB_URL of KEY: file:///path for file storage, else
 * s3://bucket/prefix/KEY. */
char *jobstorage_job_url(const struct storage *sto, const char *key);

/* The local directory of a file:// store (for bind mounts), else NULL. */
char *jobstorage_local_root(const struct storage *sto);

/* "NAME=value" strings (NULL-terminated, or NULL for file storage) that
 * give attempt SPEC->attempt of job SPEC->id the credentials to reach STO
 * (opened from URL): on the built-in endpoint a key of that attempt's own,
 * which lasts jobstorage_key_ttl(SPEC) and is revoked once the attempt
 * has ended (reconcile_revoke_keys()). */
int jobstorage_secret_env(const struct hoist_home *home, const char *url, const struct storage *sto,
                          const struct jobspec *spec, char ***ret_env, struct hoist_error **err);

/* The lifetime of a job key: the job's max runtime, its stop grace, and a
 * margin for staging and the final uploads; JOBSTORAGE_KEY_TTL_MAX (7 days)
 * for a job without a max runtime.  A key normally goes long before: when
 * its attempt ends. */
#define JOBSTORAGE_KEY_TTL_MARGIN 900
#define JOBSTORAGE_KEY_TTL_MAX 604800
int64_t jobstorage_key_ttl(const struct jobspec *spec);

#endif
