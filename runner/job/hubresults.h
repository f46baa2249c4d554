/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_HUBRESULTS_H
#define HOIST_RUNNER_HUBRESULTS_H

/*
 * outputs.hub with from: host (docs/results.md "The Hub"): once a job has
 * succeeded, its model (jobs/<id>/output/model/ in its storage) becomes one
 * commit on the Hugging Face Hub, made with lib/hfhub and the token of the
 * secret outputs.hub.token names, read where hoist runs.  hoist serve's
 * control plane does it by itself (reconcile_pass()); `hoist results --hub`
 * does it by hand.  The commit is recorded in the job's storage,
 * jobs/<id>/hub.json ({repo, revision, commit_url, commit_oid, files,
 * lfs_files, bytes, from, time_ms}), which the entrypoint writes too when it
 * uploads (from: entrypoint); a recorded commit is not made again.
 */

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "jobmodel.h"
#include "jobspec.h"
#include "runner/cli/home.h"
#include "storage.h"

/* The storage key of job JOB_ID's Hub record. */
char *hubresults_key(const char *job_id);

/* What jobs/<id>/hub.json says: 1 and *RET_URL (the commit URL), 0 when
 * there is none, -1 on error. */
int hubresults_read(struct storage *sto, const char *job_id, char **ret_url,
                    struct hoist_error **err);

/* How hubresults_deliver() goes about it. */
enum {
        HUBRESULTS_FORCE = 1, /* commit even when one is recorded, or from: entrypoint */
        HUBRESULTS_WAIT = 2,  /* wait for another hoist's upload of the job to end */
};
/* Uploads JOB's model to the Hub when its job.json asks for it from the
 * host and no commit is recorded.  1 when a commit was made now, 2 when one
 * was recorded already, with *RET_URL (may be NULL) its URL either way; 3
 * when another hoist uploads it now and FLAGS has no HUBRESULTS_WAIT; 0
 * when there is nothing to do (no outputs.hub, or from: entrypoint, or not
 * succeeded); -1 on error (a refused token names the secret). */
int hubresults_deliver(const struct hoist_home *home, const struct job_record *job, int flags,
                       char **ret_url, struct hoist_error **err);

/* hoist serve's side: each succeeded job is looked at once per serve
 * process; a failed upload is tried again with backoff (from a minute up
 * to an hour), except a refused token or another input error, which waits
 * for `hoist results --hub`. */
struct hubresults_seen {
        char *job_id;
        int64_t next_ms; /* INT64_MAX: settled */
        int tries;
};
struct hubresults_pass {
        struct hubresults_seen *v;
        size_t n;
};
void hubresults_pass_job(const struct hoist_home *home, struct hubresults_pass *p,
                         const struct job_record *job, int64_t now_ms);
void hubresults_pass_free(struct hubresults_pass *p);

/* Whether SPEC wants the host to upload (outputs.hub with from: host). */
bool hubresults_wanted(const struct jobspec *spec);

#endif
