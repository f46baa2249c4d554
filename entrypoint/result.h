/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_RESULT_H
#define HOIST_ENTRYPOINT_RESULT_H

/* After the command: outputs to storage, then the result record last, so a
 * reader that sees result.json also sees everything it describes. */

#include <stdint.h>

#include "error.h"
#include "init.h"
#include "jobspec.h"
#include "stage.h"
#include "storage.h"

/* Copies the model dir to <output prefix>/model/, the output dir to
 * <output prefix>/artifacts/. */
int result_publish(const struct jobspec *spec, struct storage *st, const struct stage *s,
                   struct hoist_error **err);

/* "succeeded", "failed" or "interrupted" (stopped by SIGTERM or SIGINT). */
const char *result_status(const struct init_result *r);

/* Why it ended, for the record: the limit, the missing command, the signal,
 * the stderr tail, or the exit code.  NULL when it succeeded. */
char *result_reason(const struct init_result *r, const char *command, int64_t max_runtime_s,
                    const char *stderr_tail);

/* Writes jobs/<id>/result.json atomically. */
int result_write(const struct jobspec *spec, struct storage *st, const struct jobspec_result *rec,
                 struct hoist_error **err);
/* Writes the node's own copy, jobs/<id>/results/<rec->node>.json (a node of
 * a multi-node job: docs/jobspec.md "distributed"). */
int result_write_node(const struct jobspec *spec, struct storage *st,
                      const struct jobspec_result *rec, struct hoist_error **err);

/* Where a platform looks for why a container failed: Kubernetes'
 * /dev/termination-log when that file exists ($HOIST_TERMINATION_LOG
 * instead, when set) and SageMaker's /opt/ml/output/failure when that
 * directory exists (<root>/output with HOIST_SM_ROOT), there only when the
 * trainer has not written one itself.  REASON (at most RESULT_FAILURE_MAX
 * bytes of it) is written to each; a failure is logged and ignored. */
#define RESULT_FAILURE_MAX 4096
void result_write_failure(const char *reason);

/* Milliseconds since the epoch. */
int64_t result_now_ms(void);

#endif
