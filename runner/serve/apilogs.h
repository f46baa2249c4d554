/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_APILOGS_H
#define HOIST_SERVE_APILOGS_H

/* A job's node log (jobs/<id>/logs/<node>.log in its storage) as the API
 * reads it: byte ranges, the last lines, and text that is always UTF-8. */

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "runner/serve/api_internal.h"
#include "storage.h"

struct apilog {
        struct storage *sto;
        char *key;
        char *path;   /* file:// storage: the file itself; else NULL */
        char *job_id; /* set while the node is a guess: none asked, no log yet */
};

/* Opens the log of NODE (NULL: the job's first node log; while it has none,
 * node0, a guess apilog_settle() makes good once a log appears). */
int apilog_open(struct api_service *api, const struct job_record *job, const char *node,
                struct apilog *ret, char **ret_node, struct hoist_error **err);
void apilog_close(struct apilog *l);
/* When L's node was a guess and the job now has a node log: L follows that
 * log, *NODE (owned) names it, and 1 is returned; else 0. */
int apilog_settle(struct apilog *l, char **node);
/* The whole log as it is now (empty when there is none yet). */
int apilog_read(struct apilog *l, char **ret_data, size_t *ret_len, struct hoist_error **err);

/* The log from byte OFFSET on, at most MAX bytes (empty when it is not
 * that long, or there is none yet). */
int apilog_read_from(struct apilog *l, uint64_t offset, size_t max, char **ret_data,
                     size_t *ret_len, struct hoist_error **err);

/* Appends DATA (LEN bytes) to OUT as UTF-8: an invalid byte becomes
 * U+FFFD; a sequence cut short at the end is left out unless FINAL.
 * Returns how many bytes of DATA it took. */
size_t apilog_utf8(struct buf *out, const char *data, size_t len, int final);

#endif
