/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_JOBLOG_H
#define HOIST_ENTRYPOINT_JOBLOG_H

/*
 * The job's log: the command's stdout and stderr are teed to our own (raw,
 * as written) and appended to jobs/<id>/logs/<node>.log line by line, each
 * line stored as
 *
 *     2026-11-21T19:40:00.123Z stdout|the text of the line
 *
 * (UTC, milliseconds, the time its first byte arrived; the stream is
 * "stdout", "stderr" or "hoist" for the entrypoint's own lines).  The file
 * is written in place on file storage so `hoist logs -f` follows it live.
 * A partial line is kept until its newline, JOBLOG_LINE_MAX bytes, or
 * joblog_flush().  The last bytes of stderr are kept for the failure reason.
 * While the log is open, every line the entrypoint itself logs at info,
 * warning or error level (staging, restored and published checkpoint sets,
 * uploads; from any thread) is stored too, as a "hoist" line
 * "hoist-entrypoint: ...", so `hoist logs` shows it beside the command's.
 * With a redactor set, every secret value in all of it is "[secret NAME]"
 * (redact.h), wherever the pipe's reads happened to split it.
 */

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "init.h"
#include "redact.h"

#define JOBLOG_TAIL_SIZE 4096
/* A longer line is stored in pieces of this size. */
#define JOBLOG_LINE_MAX 65536
/* "2026-11-21T19:40:00.123Z stdout|": the stored prefix of every line. */
#define JOBLOG_STAMP_LEN 24

/* Receives each complete line of the command's output, without its newline
 * (a line cut at JOBLOG_LINE_MAX or flushed at the end comes in pieces). */
typedef void (*joblog_line_fn)(void *userdata, enum init_stream stream, const char *line,
                               size_t len);

struct joblog_partial {
        char *data;
        size_t len;
        int64_t started_ms; /* realtime ms of its first byte */
        int cut;            /* a full piece went out and nothing came since */
};

struct joblog {
        pthread_mutex_t lock; /* the file and the batch: other threads log too */
        int fd;               /* the log file, or -1 */
        char tail[JOBLOG_TAIL_SIZE];
        size_t tail_len;
        int tail_cut;                     /* older stderr bytes were dropped */
        struct joblog_partial partial[2]; /* stdout, stderr */
        joblog_line_fn on_line;           /* may be NULL */
        void *line_userdata;
        char *batch; /* the stored lines of one chunk, written at once */
        size_t batch_len, batch_cap;
        /* Set before the command starts (may be NULL): the command's output
         * is redacted as it is read, before the console, the tail, the
         * stored lines and on_line see it; our own lines too. */
        const struct redact *redact;
        struct redact_stream redact_streams[2]; /* stdout, stderr */
};

#define JOBLOG_INIT                                                                                \
        {                                                                                          \
                .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1                                        \
        }

/* Opens PATH for appending, creating its directory, and stores the
 * program's own log lines in it until joblog_close(). */
int joblog_open(struct joblog *log, const char *path, struct hoist_error **err);

/* Writes "hoist-entrypoint: <message>" to stderr and to the log. */
void joblog_say(struct joblog *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes "hoist-entrypoint: error: <message>" to stderr and to the log. */
void joblog_error(struct joblog *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The init_output_fn that tees a chunk (USERDATA is the joblog). */
void joblog_output(void *userdata, enum init_stream stream, const char *data, size_t len);

/* Writes out the partial lines (the command ended without a last newline). */
void joblog_flush(struct joblog *log);

/* The kept stderr tail as valid UTF-8 text, whole lines only, trimmed;
 * NULL when there was none. */
char *joblog_stderr_tail(const struct joblog *log);

/* DATA as valid UTF-8 text for JSON: invalid sequences and control bytes
 * other than tab and newline become '?'. */
char *joblog_text(const char *data, size_t len);

/* "2026-11-21T19:40:00.123Z" for MS since the epoch; BUF holds 25 bytes. */
void joblog_format_time(int64_t ms, char buf[25]);

/* Flushes the partial lines and closes the file. */
void joblog_close(struct joblog *log);

#endif
