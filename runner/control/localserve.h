/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_LOCALSERVE_H
#define HOIST_RUNNER_LOCALSERVE_H

/*
 * The built-in S3 endpoint as a job's storage: finds the `hoist serve` of
 * this $HOIST_HOME ($HOIST_HOME/serve/serve.json names its pid and endpoint),
 * or starts one, detached, bound to 127.0.0.1 on a free port.  The runner
 * talks to it with the owner key; each job gets a key of its own that can
 * touch only jobs/<id>/ (and read blobs/), and that expires.
 */

#include <sys/types.h>

#include "error.h"
#include "runner/cli/home.h"
#include "storage.h"

#define LOCALSERVE_URL "hoist://builtin"

struct localserve {
        char *serve_dir;
        char *endpoint; /* http://127.0.0.1:PORT */
        char *bucket;
        char *access_key;
        char *secret_key; /* the owner's: never logged */
};

/* Finds or starts the endpoint. */
int localserve_ensure(const struct hoist_home *home, struct localserve **ret,
                      struct hoist_error **err);
void localserve_free(struct localserve *ls);

/* 1 with its endpoint when the hoist serve of HOME runs and answers, else 0. */
int localserve_find(const struct hoist_home *home, char **ret_endpoint);

/* Stops the endpoint serve.json names (SIGTERM; it finishes the requests
 * in flight) and waits up to TIMEOUT_MS for it to end.  Returns 1 with its
 * endpoint and pid when one was stopped, 0 when none runs. */
int localserve_stop(const struct hoist_home *home, int timeout_ms, char **ret_endpoint,
                    pid_t *ret_pid, struct hoist_error **err);

/* Opens the endpoint's bucket as storage, with the owner key. */
int localserve_open_storage(const struct localserve *ls, struct storage **ret,
                            struct hoist_error **err);

/* A key for attempt ATTEMPT of job JOB_ID that lasts TTL_S seconds. */
int localserve_job_key(const struct localserve *ls, const char *job_id, int64_t attempt,
                       unsigned ttl_s, char **ret_access, char **ret_secret,
                       struct hoist_error **err);

/* Revokes job JOB_ID's keys of attempts up to THROUGH_ATTEMPT (hoist serve's
 * own directory, so no server needs to run); returns how many. */
int localserve_revoke_job_keys(const struct hoist_home *home, const char *job_id,
                               int64_t through_attempt, struct hoist_error **err);
/* The ids of the jobs that hold a key now (NULL-terminated, owned). */
int localserve_keyed_jobs(const struct hoist_home *home, char ***ret_ids, struct hoist_error **err);

static inline void localserve_freep(struct localserve **ls)
{
        localserve_free(*ls);
}
#define _cleanup_localserve_ __attribute__((cleanup(localserve_freep)))

#endif
