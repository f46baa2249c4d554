/* SPDX-License-Identifier: MIT */
#ifndef HOIST_KUBERNETES_STATE_H
#define HOIST_KUBERNETES_STATE_H

/*
 * A Job and its pods, as the API server shows them, mapped onto hoist's
 * states with the reason a user needs (docs/providers/kubernetes.md
 * "States"): one table of pod and Job conditions, pure, unit-tested
 * against objects shaped as the API server writes them.
 */

#include <jansson.h>

#include "provider.h"

/* JOB: the batch/v1 Job (NULL: the API server has none by that name);
 * PODS: a JSON array of its pods (NULL: none listed). */
void kubernetes_map_status(json_t *job, json_t *pods, struct provider_status *ret);

#endif
