/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_INGEST_H
#define HOIST_SERVE_INGEST_H

/* Group commit for the webhook receiver: one writer thread with a store
 * handle of its own records the events that arrived while it was busy in
 * one transaction (store_apply_events), and each request is answered only
 * once its event is committed.  Duplicates are found as one by one (the
 * events table's primary key), within a batch too. */

#include "error.h"
#include "runner/control/store.h"

struct ingest;

int ingest_start(const char *db_path, struct ingest **ret, struct hoist_error **err);
/* Records what is queued, then stops the writer. */
void ingest_stop(struct ingest *g);

/* Records E (waiting for its commit): 1 recorded, 0 a duplicate, -1 an
 * error (an unknown job is HOIST_ERR_NOT_FOUND). */
int ingest_apply(struct ingest *g, const struct store_event *e, struct hoist_error **err);

#endif
