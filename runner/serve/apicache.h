/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_APICACHE_H
#define HOIST_SERVE_APICACHE_H

/* Replies of the REST API's read routes kept in memory while the store does
 * not change.  The store's change counter is SQLite's PRAGMA data_version,
 * read on a connection of the cache's own that never writes: it moves on
 * every commit by any other connection (hoist serve's writers, the CLI).
 * A reply whose content depends on the clock too (a running job's
 * duration_ms) is kept at most APICACHE_LIVE_MS. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define APICACHE_LIVE_MS 1000

struct apicache;

int apicache_new(const char *db_path, struct apicache **ret, struct hoist_error **err);
void apicache_free(struct apicache *c);

/* The store's change counter now; read it before reading what a reply is
 * made of, so a commit in between only makes the entry stale early. */
int apicache_version(struct apicache *c, int64_t *ret, struct hoist_error **err);

/* A copy of the reply kept for KEY at VERSION (malloc'ed), or NULL. */
char *apicache_get(struct apicache *c, const char *key, int64_t version);
/* Keeps a copy of TEXT for KEY at VERSION; LIVE: it also ages with the clock. */
void apicache_put(struct apicache *c, const char *key, int64_t version, bool live,
                  const char *text);

#endif
