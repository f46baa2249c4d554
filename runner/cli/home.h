/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_HOME_H
#define HOIST_RUNNER_HOME_H

/*
 * $HOIST_HOME (default ~/.hoist): where the host side keeps its state.
 *   hoist.db        the job store
 *   storage/        the default file:// storage (DESIGN.md storage layout)
 *   run/<job-id>/   a provider's own files for a job (pid file, console log)
 *   tmp/            scratch space for packaging
 */

#include "error.h"
#include "storage.h"
#include "runner/control/store.h"

struct hoist_home {
        char *dir;
        char *db_path;
        char *storage_url; /* default storage: file://<dir>/storage */
        char *run_dir;
        char *tmp_dir;
        char *self_dir; /* directory holding the running hoist binary */
};

/* Resolves and creates $HOIST_HOME and its subdirectories. */
int home_open(struct hoist_home **ret, struct hoist_error **err);
void home_free(struct hoist_home *h);

/* Opens the job store in HOME. */
int home_open_store(const struct hoist_home *h, struct store **ret, struct hoist_error **err);

/* The provider state directory of a job (created). */
char *home_job_run_dir(const struct hoist_home *h, const char *job_id);

/* $HOIST_HOME/gc.lock.  A submit holds it shared (EXCLUSIVE 0) from before
 * its first upload until its job row is written; hoist gc holds it
 * exclusive while it sweeps tmp/ and decides which blobs no job needs, so
 * neither a blob a submit has just uploaded nor its scratch files are taken
 * for garbage.  As fs_lock_file(): 1 and *RET_FD, 0 when not got within
 * WAIT_MS, -1 on error. */
int home_lock_gc(const struct hoist_home *h, int exclusive, int wait_ms, int *ret_fd,
                 struct hoist_error **err);

/* Finds a helper binary next to the running hoist (bin/hoist-entrypoint) or
 * under PREFIX/share/hoist; NULL when missing. */
char *home_find_entrypoint(const struct hoist_home *h);
/* The /opt/hoist bundle directory (build/bundle/opt/hoist or share/hoist/bundle). */
char *home_find_bundle(const struct hoist_home *h);

static inline void home_freep(struct hoist_home **h)
{
        home_free(*h);
}
#define _cleanup_home_ __attribute__((cleanup(home_freep)))

#endif
