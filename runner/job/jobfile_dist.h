/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_JOBFILE_DIST_H
#define HOIST_RUNNER_JOBFILE_DIST_H

/*
 * job.yaml's `resources: nodes:` and `distributed:` (docs/job.md
 * "distributed"): how many nodes, who starts the processes on each, and the
 * batch-size check done at submit (runner/job/distcheck.h).  Part of
 * jobfile_load(); kept apart so that jobfile.c stays one concern per section.
 */

#include <stdint.h>

#include "config.h"
#include "error.h"
#include "jobspec.h"

struct jobfile;

/* distributed.check: {samples: N | from_input: CHANNEL, batch_size: B,
 * grad_accum: G} */
struct jobfile_dist_check {
        int64_t samples;  /* -1: count from_input's */
        char *from_input; /* an input channel, or NULL */
        int64_t batch_size;
        int64_t grad_accum; /* 1 when absent */
        int line;           /* where check: is */
};

struct jobfile_dist {
        int64_t nodes; /* resources.nodes; 1 when absent */
        int nodes_line;
        enum jobspec_launcher launcher;
        int64_t nproc_per_node; /* 0 = auto */
        int64_t port;           /* 0 = the default */
        int checkpoints_per_rank;
        int oversubscribe;
        struct jobfile_dist_check *check; /* NULL when absent */
        int line;                         /* where distributed: is; 0 = absent */
};

#define JOBFILE_MAX_NODES 65536

/* Loads resources.nodes and distributed: of ROOT (job.yaml FILE) into
 * JF->dist; JF's inputs are loaded already (check.from_input names one). */
int jobfile_dist_load(const struct config_node *root, const char *file, struct jobfile *jf,
                      struct hoist_error **err);
void jobfile_dist_free(struct jobfile *jf);

/* job.json's distributed object from JF: nodes, gpus_per_node (resources'
 * gpus), launcher, nproc_per_node, port, checkpoints_per_rank. */
void jobfile_dist_fill_spec(const struct jobfile *jf, struct jobspec *spec);

#endif
