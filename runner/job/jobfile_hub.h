/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_JOBFILE_HUB_H
#define HOIST_RUNNER_JOBFILE_HUB_H

/*
 * job.yaml's `outputs: hub:` (docs/results.md "The Hub"): {repo, private,
 * revision, path_in_repo, token, from}.  token names one of the job's
 * secrets: (its value never reaches job.json).  Part of jobfile_load().
 */

#include "config.h"
#include "error.h"
#include "jobspec.h"

struct jobfile;

/* Reads outputs.hub from OUTPUTS (the outputs: mapping) into JF->hub. */
int jobfile_hub_load(const struct config_node *outputs, struct jobfile *jf,
                     struct hoist_error **err);
/* Copies JF->hub into SPEC->hub. */
void jobfile_hub_fill_spec(const struct jobfile *jf, struct jobspec *spec);
void jobfile_hub_free(struct jobfile *jf);

#endif
