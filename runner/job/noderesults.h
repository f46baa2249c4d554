/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_NODERESULTS_H
#define HOIST_RUNNER_NODERESULTS_H

/*
 * How a multi-node attempt ended (DESIGN.md "Multi-node", contract C3):
 * every node writes its own result record at jobs/<id>/results/<node>.json
 * (result.json's shape), node rank 0 also jobs/<id>/result.json.  The
 * attempt is decided once the provider says it has ended or every node's
 * record is there: the first node that failed (its record's finished time,
 * then its place in the list) decides it, with its reason prefixed
 * "node NAME: "; otherwise rank 0's result.json does.
 */

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "jobspec.h"
#include "storage.h"

/* The key prefix of job JOB_ID's node records. */
char *noderesults_prefix(const char *job_id);

/* The node records of attempt ATTEMPT in STO, in key order: *RET (owned,
 * noderesults_free) and *RET_N.  A record that does not parse is an error
 * naming its key. */
int noderesults_read(struct storage *sto, const char *job_id, int64_t attempt,
                     struct jobspec_result ***ret, size_t *ret_n, struct hoist_error **err);
void noderesults_free(struct jobspec_result **r, size_t n);

/* The attempt's outcome from the N records NODES and rank 0's result.json
 * RANK0 (either may be missing): a new record (owned), or NULL when there
 * is neither a failed node nor RANK0. */
struct jobspec_result *noderesults_combine(struct jobspec_result *const *nodes, size_t n,
                                           const struct jobspec_result *rank0);

#endif
