/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_JOBSECRETS_H
#define HOIST_RUNNER_JOBSECRETS_H

/*
 * job.yaml's secrets: (docs/job.md "secrets").  job.json names each secret
 * and where its value is on the submitting machine (a variable or a file),
 * never the value: the runner reads the values at submit, to refuse a job
 * whose secret is missing before anything is uploaded, and again for every
 * attempt (--resume, the retries hoist serve starts), and hands them to the
 * provider beside hoist's own credentials (provider_submit.secret_env).
 */

#include <stddef.h>

#include "error.h"
#include "jobspec.h"

/* Below this many bytes a value still gets redacted, but every occurrence
 * of such a short string in the logs becomes "[secret NAME]": submit warns. */
#define JOBSECRETS_SHORT 8
/* A value is at most this long (it travels as an environment variable). */
#define JOBSECRETS_MAX (64 * 1024)

/* Copies the N secrets of job.yaml (V) into SPEC->secrets. */
void jobsecrets_copy(const struct jobspec_secret *v, size_t n, struct jobspec *spec);

/* Reads every secret of SPEC: HOIST_ERR_INPUT naming the secret and its
 * variable or file when one is missing, empty, or not text; warns about
 * values shorter than JOBSECRETS_SHORT. */
int jobsecrets_check(const struct jobspec *spec, struct hoist_error **err);

/* Appends "NAME=value" for every secret of SPEC to *ENV (NULL-terminated,
 * or NULL); the same errors as jobsecrets_check(). */
int jobsecrets_env(const struct jobspec *spec, char ***env, struct hoist_error **err);

/* The value of SPEC's secret NAME, read as for an attempt; the caller
 * wipes (explicit_bzero) and frees it. */
int jobsecrets_value(const struct jobspec *spec, const char *name, char **ret,
                     struct hoist_error **err);

/* Appends "NAME=VALUE" to *ENV (NULL-terminated, or NULL); nothing when
 * VALUE is NULL. */
void jobsecrets_env_add(char ***env, const char *name, const char *value);

#endif
