/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_LOGSYNC_H
#define HOIST_ENTRYPOINT_LOGSYNC_H

/*
 * The job log on remote storage: the entrypoint writes it to a local file
 * and a worker thread re-PUTs the whole object whenever the file has grown,
 * at most every HOIST_LOG_SYNC_S seconds (default 2; 0 turns the thread
 * off), with its own storage handle.  logsync_finish() stops the thread and
 * uploads the file a last time from the calling thread, so no line is lost
 * when the command is SIGKILLed or the entrypoint shuts down.  On file
 * storage the log is written in place and no logsync is made.
 */

#include <stdint.h>

#include "error.h"
#include "jobspec.h"
#include "storage.h"

#define LOGSYNC_DEFAULT_INTERVAL_S 2
/* A larger log is uploaded from a copy on disk, not from memory. */
#define LOGSYNC_MEMORY_MAX (4 << 20)

struct logsync;

/* Uploads the file PATH to KEY of SPEC's storage.  Starts no thread. */
struct logsync *logsync_new(const struct jobspec *spec, const char *path, const char *key);

/* Starts the upload thread (from init_config.on_spawned).  LS may be NULL. */
int logsync_start(struct logsync *ls, struct hoist_error **err);

/* Stops the thread and uploads the file once more with ST when it changed
 * since the last upload.  LS may be NULL. */
int logsync_finish(struct logsync *ls, struct storage *st, struct hoist_error **err);

/* Stops the thread if still running; LS may be NULL. */
void logsync_free(struct logsync *ls);

#endif
