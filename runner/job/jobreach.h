/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_JOBREACH_H
#define HOIST_RUNNER_JOBREACH_H

/*
 * Whether a job can reach its storage from where it runs (DESIGN.md
 * "Remote providers").  Storage on this machine's loopback (a file://
 * directory, the built-in endpoint, an http(s) endpoint on 127.0.0.0/8,
 * ::1 or localhost) is for jobs that run here; a provider whose jobs run
 * elsewhere (provider_reaches_loopback() false) is refused it before
 * anything is uploaded.
 */

#include <stdbool.h>

#include "error.h"
#include "providers/provider.h"

/* 1 when URL is only reachable from this machine: file://, the built-in
 * endpoint (hoist://builtin), or http(s)://HOST... where HOST is in
 * 127.0.0.0/8, ::1 (or ::ffff:127.x.y.z), 0.0.0.0, ::, localhost or a name
 * under .localhost.  0 for anything else (s3:// itself: its endpoint
 * decides). */
bool jobreach_is_loopback(const char *url);

/* Refuses STORAGE_URL (s3://: checked by the endpoint it would use) for a
 * job of PROV with SETTINGS (its job.yaml section as load_settings made
 * it, or NULL) when PROV cannot reach loopback and the storage is there.
 * The error names the provider, the storage and the two ways out. */
int jobreach_check(const struct provider_ops *prov, const void *settings, const char *storage_url,
                   struct hoist_error **err);

#endif
