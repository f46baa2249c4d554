/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_SDNOTIFY_H
#define HOIST_ENTRYPOINT_SDNOTIFY_H

/*
 * The entrypoint's sd_notify(3) messages (lib/notify.h sends them; without
 * NOTIFY_SOCKET each call does nothing):
 *   staging    STATUS=staging inputs 2/5 (name), EXTEND_TIMEOUT_USEC while
 *              inputs are fetched (every few seconds during a long download)
 *   started    READY=1, STATUS=running ...
 *   running    WATCHDOG=1 every half WATCHDOG_USEC (sdnotify_tick)
 *   ending     STOPPING=1, STATUS=stopping: ...
 *   ended      STATUS=succeeded (exit code 0) ...
 */

#include <stdint.h>

#include "storage.h"

/* How long each EXTEND_TIMEOUT_USEC extends the start-up timeout. */
#define SDNOTIFY_EXTEND_MS 60000
/* How often a running download re-extends it. */
#define SDNOTIFY_PROGRESS_MS 5000

/* Before stage_prepare(): reports each input and the bytes fetched from ST,
 * extending the start-up timeout as it goes. */
void sdnotify_staging_begin(struct storage *st, size_t n_inputs);
/* A later step of the start-up that downloads too, e.g. "restoring
 * checkpoints": reported (and extending the timeout) like an input. */
void sdnotify_staging_phase(const char *what);
/* After the start-up's downloads: stops reporting. */
void sdnotify_staging_end(struct storage *st);

/* The command started (init_config.on_spawned): READY=1, STATUS=running
 * WHAT.  A failure to send it is logged as a warning. */
void sdnotify_ready(const char *what);

/* The tick interval the watchdog needs (half WATCHDOG_USEC), or 0. */
int64_t sdnotify_tick_ms(void);
/* WATCHDOG=1 when half the watchdog interval passed since the last one;
 * call from init_config.on_tick, as often as one likes. */
void sdnotify_tick(void);

/* STOPPING=1 with WHY as the status; only the first call sends. */
void sdnotify_stopping(const char *why);

/* STATUS= with the outcome. */
void sdnotify_finished(const char *status, int exit_code);

#endif
