/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_JOBFILE_CODE_H
#define HOIST_RUNNER_JOBFILE_CODE_H

/*
 * job.yaml's `code:`, `include:` and `consent:` (docs/job.md): what of this
 * machine a job ships, and whether it may leave.  Part of jobfile_load();
 * kept apart so that jobfile.c stays one concern per section.
 */

#include "config.h"
#include "error.h"
#include "runner/job/jobfile.h"

/* Loads the three fields of ROOT (job.yaml FILE) into JF, whose inputs are
 * loaded already: every include must lie inside the code tree or a
 * directory input. */
int jobfile_code_load(const struct config_node *root, const char *file, struct jobfile *jf,
                      struct hoist_error **err);
void jobfile_code_free(struct jobfile *jf);

/* The include paths of JF that lie inside the directory ROOT (absolute,
 * symlinks resolved), relative to it: NULL-terminated, or NULL when none. */
char **jobfile_code_includes_in(const struct jobfile *jf, const char *root);

#endif
