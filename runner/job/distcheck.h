/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_DISTCHECK_H
#define HOIST_RUNNER_DISTCHECK_H

/*
 * The batch-size check (docs/job.md "distributed"), at submit, before
 * anything is uploaded: a dataset with fewer samples than one optimizer
 * step consumes (batch_size x world size x grad_accum) is refused, with the
 * effective batch size spelled out and the four ways out; with
 * distributed.oversubscribe: true it is a warning instead.
 */

#include <stdint.h>

#include "error.h"

struct jobfile;

/* How many processes train: nodes x nproc_per_node, where nproc_per_node
 * auto is resources.gpus (per node) when given, else 1. */
int64_t distcheck_world_size(const struct jobfile *jf);

/* The samples of the input at PATH: a directory's regular files that would
 * be sent (after .gitignore, .hoistignore and the sensitive list; INCLUDE
 * as job.yaml's include: within it), or a file's non-empty lines. */
int distcheck_count_samples(const char *path, char *const *include, uint64_t *ret,
                            struct hoist_error **err);

/* The explanation when SAMPLES (counted from SOURCE, e.g. "input 'train'
 * (its files)"; NULL: "the dataset") is fewer than one step needs, else NULL. */
char *distcheck_explain(uint64_t samples, const char *source, int64_t batch_size, int64_t world,
                        int64_t nodes, int64_t nproc, int64_t grad_accum);

/* Refuses resources.nodes > 1 on a provider whose caps say it runs a job
 * on one node only, naming job.yaml:line. */
int distcheck_provider(const struct jobfile *jf, const char *provider, int multi_node,
                       struct hoist_error **err);

/* Runs JF's check, if it has one: -1 with the explanation naming
 * job.yaml:line when it fails, 0 (after a warning, with oversubscribe) when
 * it passes. */
int distcheck_run(const struct jobfile *jf, struct hoist_error **err);

#endif
