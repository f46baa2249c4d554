/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_JOBLOG_H
#define HOIST_ENTRYPOINT_JOBLOG_H

/*
 * The job's log: the command's stdout and stderr are teed to our own and
 * appended to jobs/<id>/logs/<node>.log, written in place on file storage so
 * `hoist logs -f` follows it live.  The last bytes of stderr are kept for the
 * failure reason.
 */

#include <stddef.h>

#include "error.h"
#include "init.h"

#define JOBLOG_TAIL_SIZE 4096

struct joblog {
        int fd; /* the log file, or -1 */
        char tail[JOBLOG_TAIL_SIZE];
        size_t tail_len;
        int tail_cut; /* older stderr bytes were dropped */
};

#define JOBLOG_INIT                                                                                \
        {                                                                                          \
                .fd = -1                                                                           \
        }

/* Opens PATH for appending, creating its directory. */
int joblog_open(struct joblog *log, const char *path, struct hoist_error **err);

/* Writes "hoist-entrypoint: <message>" to stderr and to the log. */
void joblog_say(struct joblog *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes "hoist-entrypoint: error: <message>" to stderr and to the log. */
void joblog_error(struct joblog *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The init_output_fn that tees a chunk (USERDATA is the joblog). */
void joblog_output(void *userdata, enum init_stream stream, const char *data, size_t len);

/* The kept stderr tail as valid UTF-8 text, whole lines only, trimmed;
 * NULL when there was none. */
char *joblog_stderr_tail(const struct joblog *log);

void joblog_close(struct joblog *log);

#endif
