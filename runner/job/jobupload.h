/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_JOBUPLOAD_H
#define HOIST_RUNNER_JOBUPLOAD_H

/*
 * The step of `hoist submit` where a job's code and inputs go to its
 * storage: plan everything (runner/job/package.h), print the summary, check the
 * provider's upload limit, decide consent (runner/job/consent.h), and only then
 * upload.  A refusal leaves nothing uploaded.
 */

#include <stdbool.h>

#include "error.h"
#include "runner/cli/home.h"
#include "runner/job/jobfile.h"
#include "runner/job/package.h"
#include "jobspec.h"
#include "providers/provider.h"
#include "storage.h"

struct jobupload_options {
        const char *storage_url; /* as job.yaml or HOIST_STORAGE gave it */
        bool yes;                /* --yes: agree to what consent: ask would ask */
        bool quiet;              /* -q: no summary unless it asks */
        bool rehash;             /* --rehash: read every file, whatever the stat cache says */
        struct package_stats *ret_stats; /* filled with what was sent, when not NULL */
};

/* Uploads JF's code and inputs to STO for provider PROV and fills SPEC's
 * code and inputs. */
int jobupload_run(const struct hoist_home *home, const struct jobfile *jf,
                  const struct provider_ops *prov, struct storage *sto,
                  const struct jobupload_options *opts, struct jobspec *spec,
                  struct hoist_error **err);

/* Decides consent, as for uploads, before a build: section pushes the
 * image it builds to build.push's registry (which counts as leaving this
 * machine whatever its address).  0 when JF pushes nothing. */
int jobupload_consent_push(const struct hoist_home *home, const struct jobfile *jf,
                           const struct jobupload_options *opts, struct hoist_error **err);

#endif
