/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_STORE_INTERNAL_H
#define HOIST_RUNNER_STORE_INTERNAL_H

/* What the files of the job store share (store.c, storeapi.c); nothing
 * outside them includes this. */

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "runner/control/store.h"

struct store {
        sqlite3 *db;
        char *path;
};

int64_t store_now_ms(void);
/* Converts the connection's last error, once, at the call that failed. */
int store_fail(struct store *st, const char *what, struct hoist_error **err);
int store_exec(struct store *st, const char *sql, const char *what, struct hoist_error **err);
int store_prepare(struct store *st, const char *sql, sqlite3_stmt **ret, struct hoist_error **err);
/* Steps a statement that returns no row. */
int store_step_done(struct store *st, sqlite3_stmt *stmt, const char *what,
                    struct hoist_error **err);
int store_begin_write(struct store *st, struct hoist_error **err);
/* Ends the transaction: commits after R == 0, rolls back otherwise. */
int store_end(struct store *st, int r, struct hoist_error **err);
char *store_column_dup(sqlite3_stmt *stmt, int i);
int store_row_to_job(struct store *st, sqlite3_stmt *stmt, struct job_record **ret,
                     struct hoist_error **err);

/* Binds PARAMS[i] to ?(i+1). */
void store_bind_params(sqlite3_stmt *stmt, const struct store_param *params, size_t n);

/* Indexes a new event E for the API (storeapi.c): its node, and the
 * points of a job.metric; JOB_ATTEMPT stands in for an unknown attempt.
 * Inside the caller's write transaction. */
int store_index_event(struct store *st, const struct store_event *e, int64_t job_attempt,
                      struct hoist_error **err);

#endif
