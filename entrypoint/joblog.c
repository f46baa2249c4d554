/* SPDX-License-Identifier: MIT */
#include "joblog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "xalloc.h"

/* Set while this thread holds a joblog's lock: a warning about the log
 * itself goes to stderr only. */
static _Thread_local int in_joblog;

static void joblog_lock(struct joblog *log)
{
        (void)pthread_mutex_lock(&log->lock);
        in_joblog = 1;
}

static void joblog_unlock(struct joblog *log)
{
        in_joblog = 0;
        (void)pthread_mutex_unlock(&log->lock);
}

static void sink(void *userdata, enum log_level level, const char *line);

int joblog_open(struct joblog *log, const char *path, struct hoist_error **err)
{
        _cleanup_free_ char *dir = xstrdup(path);
        char *slash = strrchr(dir, '/');

        if (slash != NULL && slash != dir) {
                *slash = '\0';
                if (fs_mkdir_p(dir, 0755, err) < 0)
                        return hoist_error_wrap(err, "job log '%s'", path);
        }
        log->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (log->fd < 0)
                return hoist_error_errno(err, "open job log '%s'", path);
        log_set_sink(sink, log);
        return 0;
}

static int64_t now_realtime_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void joblog_format_time(int64_t ms, char buf[25])
{
        /* Lines come in bursts: format each second once. */
        static _Thread_local time_t cached_secs = -1;
        static _Thread_local char cached[20];
        time_t secs = (time_t)(ms / 1000);
        struct tm tm;

        if (secs != cached_secs) {
                if (gmtime_r(&secs, &tm) == NULL ||
                    strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm) != 19)
                        memcpy(cached, "1970-01-01T00:00:00", 20);
                cached_secs = secs;
        }
        memcpy(buf, cached, 19);
        buf[19] = '.';
        buf[20] = (char)('0' + ms / 100 % 10);
        buf[21] = (char)('0' + ms / 10 % 10);
        buf[22] = (char)('0' + ms % 10);
        buf[23] = 'Z';
        buf[24] = '\0';
}

static void log_write(struct joblog *log, const char *data, size_t len)
{
        if (log->fd >= 0 && fs_write_all(log->fd, data, len) < 0) {
                log_warn("write to the job log failed (%s); continuing without it",
                         strerror(errno));
                (void)close(log->fd);
                log->fd = -1;
        }
}

static const char *stream_name(int stream)
{
        return stream == INIT_STDOUT ? "stdout" : stream == INIT_STDERR ? "stderr" : "hoist";
}

/* Writes out the lines batched so far. */
static void batch_flush(struct joblog *log)
{
        if (log->batch_len > 0)
                log_write(log, log->batch, log->batch_len);
        log->batch_len = 0;
}

/* One stored line, "<time> <stream>|<text>\n", added to the batch: the
 * batch is written with one write() of whole lines, so a reader following
 * the file never sees half a line. */
static void write_line(struct joblog *log, int64_t ms, const char *stream, const char *text,
                       size_t len)
{
        size_t slen = strlen(stream), need = JOBLOG_STAMP_LEN + 1 + slen + 1 + len + 1;
        char *p;

        if (log->fd < 0)
                return;
        if (log->batch_len + need > log->batch_cap) {
                batch_flush(log);
                if (need > log->batch_cap) {
                        log->batch_cap = need > 65536 ? need : 65536;
                        free(log->batch);
                        log->batch = xmalloc(log->batch_cap);
                }
        }
        p = log->batch + log->batch_len;
        joblog_format_time(ms, p); /* writes 25 bytes, the NUL overwritten next */
        p += JOBLOG_STAMP_LEN;
        *p++ = ' ';
        memcpy(p, stream, slen);
        p += slen;
        *p++ = '|';
        memcpy(p, text, len);
        p += len;
        *p++ = '\n';
        log->batch_len = (size_t)(p - log->batch);
}

/* The log_sink_fn: one line of our own into the job log. */
static void sink(void *userdata, enum log_level level, const char *line)
{
        struct joblog *log = userdata;

        (void)level;
        if (in_joblog)
                return;
        _cleanup_buf_ struct buf clean = {0};
        if (redact_count(log->redact) > 0) {
                redact_text(log->redact, line, strlen(line), &clean);
                line = clean.data;
        }
        joblog_lock(log);
        write_line(log, now_realtime_ms(), "hoist", line, strlen(line));
        batch_flush(log);
        joblog_unlock(log);
}

/* One line of our own, to stderr and (by the sink) into the job log. */
static void __attribute__((format(printf, 3, 0)))
vsay(struct joblog *log, enum log_level level, const char *fmt, va_list ap)
{
        _cleanup_free_ char *msg = xvasprintf(fmt, ap);

        (void)log;
        log_msg(level, "%s", msg);
}

void joblog_say(struct joblog *log, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsay(log, LOG_LEVEL_INFO, fmt, ap);
        va_end(ap);
}

void joblog_error(struct joblog *log, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsay(log, LOG_LEVEL_ERROR, fmt, ap);
        va_end(ap);
}

static void tail_add(struct joblog *log, const char *data, size_t len)
{
        if (len >= JOBLOG_TAIL_SIZE) {
                memcpy(log->tail, data + len - JOBLOG_TAIL_SIZE, JOBLOG_TAIL_SIZE);
                log->tail_len = JOBLOG_TAIL_SIZE;
                log->tail_cut = 1;
                return;
        }
        if (log->tail_len + len > JOBLOG_TAIL_SIZE) {
                size_t drop = log->tail_len + len - JOBLOG_TAIL_SIZE;
                memmove(log->tail, log->tail + drop, log->tail_len - drop);
                log->tail_len -= drop;
                log->tail_cut = 1;
        }
        memcpy(log->tail + log->tail_len, data, len);
        log->tail_len += len;
}

/* A complete line (or a piece of a long one) of STREAM: stored, then handed
 * to the line callback. */
static void emit_line(struct joblog *log, enum init_stream stream, int64_t ms, const char *text,
                      size_t len)
{
        joblog_lock(log);
        write_line(log, ms, stream_name(stream), text, len);
        joblog_unlock(log);
        if (log->on_line != NULL)
                log->on_line(log->line_userdata, stream, text, len);
}

static void partial_flush(struct joblog *log, enum init_stream stream)
{
        struct joblog_partial *p = &log->partial[stream == INIT_STDERR];

        if (p->len == 0)
                return;
        emit_line(log, stream, p->started_ms, p->data, p->len);
        p->len = 0;
}

static void partial_add(struct joblog *log, enum init_stream stream, const char *data, size_t len,
                        int64_t now)
{
        struct joblog_partial *p = &log->partial[stream == INIT_STDERR];

        while (len > 0) {
                size_t n = len < JOBLOG_LINE_MAX - p->len ? len : JOBLOG_LINE_MAX - p->len;
                if (p->data == NULL)
                        p->data = xmalloc(JOBLOG_LINE_MAX);
                if (p->len == 0)
                        p->started_ms = now;
                memcpy(p->data + p->len, data, n);
                p->len += n;
                p->cut = 0;
                data += n;
                len -= n;
                if (p->len == JOBLOG_LINE_MAX) {
                        partial_flush(log, stream);
                        p->cut = 1;
                }
        }
}

/* A chunk of output, redacted already. */
static void output_chunk(struct joblog *log, enum init_stream stream, const char *data, size_t len)
{
        int fd = stream == INIT_STDERR ? STDERR_FILENO : STDOUT_FILENO;
        int64_t now = now_realtime_ms();
        const char *end = data + len;

        /* Our own stdout may be gone (EPIPE, SIGPIPE is ignored); the job
         * log still gets every byte. */
        (void)fs_write_all(fd, data, len);
        if (stream == INIT_STDERR)
                tail_add(log, data, len);
        while (data < end) {
                const char *nl = memchr(data, '\n', (size_t)(end - data));
                struct joblog_partial *p = &log->partial[stream == INIT_STDERR];
                if (nl == NULL) {
                        partial_add(log, stream, data, (size_t)(end - data), now);
                        break;
                }
                if (p->len == 0 && !(p->cut && nl == data)) { /* the common case: no copy */
                        emit_line(log, stream, now, data, (size_t)(nl - data));
                } else {
                        /* The end of a line begun in an earlier chunk; a
                         * line that ended right at a piece's end is out. */
                        partial_add(log, stream, data, (size_t)(nl - data), now);
                        partial_flush(log, stream); /* nothing when it is out */
                }
                p->cut = 0;
                data = nl + 1;
        }
        joblog_lock(log);
        batch_flush(log);
        joblog_unlock(log);
}

void joblog_output(void *userdata, enum init_stream stream, const char *data, size_t len)
{
        struct joblog *log = userdata;
        _cleanup_buf_ struct buf clean = {0};

        if (redact_count(log->redact) == 0) {
                output_chunk(log, stream, data, len);
                return;
        }
        redact_feed(log->redact, &log->redact_streams[stream == INIT_STDERR], data, len, &clean);
        if (clean.len > 0)
                output_chunk(log, stream, clean.data, clean.len);
}

void joblog_flush(struct joblog *log)
{
        for (int i = 0; i < 2 && redact_count(log->redact) > 0; i++) {
                _cleanup_buf_ struct buf clean = {0};
                enum init_stream stream = i ? INIT_STDERR : INIT_STDOUT;
                redact_stream_flush(log->redact, &log->redact_streams[i], &clean);
                if (clean.len > 0)
                        output_chunk(log, stream, clean.data, clean.len);
        }
        partial_flush(log, INIT_STDOUT);
        partial_flush(log, INIT_STDERR);
        joblog_lock(log);
        batch_flush(log);
        joblog_unlock(log);
}

/* Length of the valid UTF-8 sequence at P (at most N bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
        size_t need;

        if (p[0] < 0x80)
                return 1;
        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                need = 2;
        else if (p[0] >= 0xe0 && p[0] <= 0xef)
                need = 3;
        else if (p[0] >= 0xf0 && p[0] <= 0xf4)
                need = 4;
        else
                return 0;
        if (need > n)
                return 0;
        for (size_t i = 1; i < need; i++)
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
        return need;
}

/* Appends P..END to B as valid UTF-8 text: CR becomes a newline (progress
 * bars redraw with CR) when CR_NL is set, other control bytes and invalid
 * sequences '?'. */
static void append_text(struct buf *b, const char *p, const char *end, int cr_nl)
{
        while (p < end) {
                size_t n = utf8_len((const unsigned char *)p, (size_t)(end - p));
                unsigned char c = (unsigned char)*p;
                if (c == '\r' && cr_nl) {
                        buf_append_char(b, '\n');
                        p++;
                        continue;
                }
                if (n == 0 || (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
                        buf_append_char(b, '?'); /* JSON wants valid text */
                        p++;
                        continue;
                }
                buf_append(b, p, n);
                p += n;
        }
}

char *joblog_text(const char *data, size_t len)
{
        struct buf b = {0};

        buf_reserve(&b, len);
        append_text(&b, data, data + len, 0);
        return buf_take(&b);
}

char *joblog_stderr_tail(const struct joblog *log)
{
        const char *p = log->tail, *end = log->tail + log->tail_len;
        struct buf b = {0};

        if (log->tail_cut) { /* start at a line boundary */
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                if (nl != NULL && nl + 1 < end)
                        p = nl + 1;
        }
        append_text(&b, p, end, 1);
        while (b.len > 0 &&
               (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == ' ' || b.data[b.len - 1] == '\t'))
                buf_truncate(&b, b.len - 1);
        if (b.len == 0) {
                buf_free(&b);
                return NULL;
        }
        return buf_take(&b);
}

void joblog_close(struct joblog *log)
{
        log_set_sink(NULL, NULL);
        joblog_flush(log);
        for (int i = 0; i < 2; i++) {
                redact_stream_free(&log->redact_streams[i]);
                free(log->partial[i].data);
                log->partial[i] = (struct joblog_partial){0};
        }
        free(log->batch);
        log->batch = NULL;
        log->batch_len = log->batch_cap = 0;
        if (log->fd >= 0) {
                if (fsync(log->fd) < 0 && errno != EINVAL)
                        log_debug("fsync job log: %s", strerror(errno));
                (void)close(log->fd);
                log->fd = -1;
        }
}
