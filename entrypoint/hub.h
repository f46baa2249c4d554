/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_HUB_H
#define HOIST_ENTRYPOINT_HUB_H

/*
 * outputs.hub with from: entrypoint (docs/results.md "The Hub"): once the
 * command succeeded, the model dir becomes one commit on the Hugging Face
 * Hub, with the token from the job's secret that outputs.hub.token names
 * (in this process's environment, as the command got it), and the commit
 * is recorded in the job's storage as jobs/<id>/hub.json, as the host
 * records its own.  For when the host cannot reach the Hub, or is gone
 * when the job ends.
 */

#include "error.h"
#include "jobspec.h"
#include "storage.h"

/* Nothing (0) unless SPEC asks for it; else uploads MODEL_DIR. */
int hub_publish(const struct jobspec *spec, struct storage *st, const char *model_dir,
                struct hoist_error **err);

#endif
