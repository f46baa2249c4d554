/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_GC_H
#define HOIST_RUNNER_GC_H

/*
 * hoist gc: frees what no job needs, on this machine and in every storage
 * the job store names (and the default storage: $HOIST_STORAGE, or the
 * built-in endpoint once it has been used):
 *   - with OLDER_THAN_S, finished jobs that ended longer ago (as hoist rm);
 *   - the run directories of finished jobs ($HOIST_HOME/run/<id>: the
 *     staged copies of inputs, outputs and console log; log and outputs are
 *     in storage) and run directories of no job;
 *   - scratch files of killed submits in $HOIST_HOME/tmp: a name that holds
 *     "-<pid>." belongs to that process and goes once it is dead; any other
 *     entry once untouched for GC_TMP_MAX_AGE_S;
 *   - unfinished writes in storage (S3 multipart uploads, file:// temporary
 *     files) begun more than MIN_AGE_S ago;
 *   - blobs (blobs/sha256/<hex>) that no job.json in that storage names,
 *     last written more than MIN_AGE_S ago.
 *
 * Concurrency: gc holds $HOIST_HOME/gc.lock exclusively throughout, and a
 * submit holds it shared from before its first upload until its job row
 * (and job.json) is written, so a blob a submit of this $HOIST_HOME has
 * uploaded is named by a job.json before gc can look.  MIN_AGE_S covers
 * submits from other machines that share a storage.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "error.h"
#include "runner/cli/home.h"
#include "runner/control/store.h"

#define GC_DEFAULT_MIN_AGE_S 3600
#define GC_TMP_MAX_AGE_S 86400

struct gc_options {
        int64_t older_than_s; /* -1: remove no job */
        int64_t min_age_s;
        bool dry_run;
        FILE *out; /* one line per thing removed (or that would be) */
};

struct gc_stats {
        size_t jobs, run_dirs, tmp_files, partials, blobs;
        uint64_t bytes;
};

int gc_run(const struct hoist_home *home, struct store *st, const struct gc_options *o,
           struct gc_stats *ret, struct hoist_error **err);

/* Appends to *REFS (a NULL-terminated strv, *N entries) the key of every
 * blob that job.json JSON names: any string, in any field (inputs'
 * sources, code, whatever comes next), that is or ends with
 * "blobs/sha256/<64 hex>".  An unreadable job.json is an error: gc then
 * deletes no blob of that storage. */
int gc_blob_refs(const char *json, size_t len, const char *name, char ***refs, size_t *n,
                 struct hoist_error **err);
/* Adds to REFS the keys of the packs and file blobs the tree manifest
 * MANIFEST (LEN bytes, NAME for errors) names: what keeps a tree's files
 * alive besides its manifest. */
int gc_tree_refs(const char *manifest, size_t len, const char *name, char ***refs, size_t *n,
                 struct hoist_error **err);

/* The pid that scratch file NAME in tmp/ belongs to ("input-data-4242.tar",
 * "input-data-4242.tar.tmp.Xy12ab"): the last "-<digits>." in it; 0 if none. */
pid_t gc_tmp_owner(const char *name);

#endif
