/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_PACKAGE_H
#define HOIST_RUNNER_PACKAGE_H

/*
 * Packages a job's local inputs into content-addressed blobs:
 * a directory becomes a reproducible tar, a file stays itself, and each is
 * stored once under blobs/sha256/<digest>, so an unchanged dataset uploads
 * nothing on the next submit.
 */

#include <stdint.h>

#include "error.h"
#include "jobspec.h"
#include "runner/jobfile.h"
#include "storage.h"

struct package_stats {
        uint64_t bytes_uploaded;
        uint64_t bytes_unchanged;
        size_t blobs_uploaded;
        size_t blobs_unchanged;
};

/* Packages every input of JF into ST and appends them to SPEC->inputs.
 * TMP_DIR holds the tars while they are hashed. */
int package_inputs(const struct jobfile *jf, struct storage *st, const char *tmp_dir,
                   struct jobspec *spec, struct package_stats *stats, struct hoist_error **err);

#endif
