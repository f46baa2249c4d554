/* SPDX-License-Identifier: MIT */
#include "joblog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "xalloc.h"

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
        return 0;
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

/* One line of our own, to stderr and into the job log. */
static void __attribute__((format(printf, 3, 0)))
vsay(struct joblog *log, enum log_level level, const char *fmt, va_list ap)
{
        _cleanup_free_ char *msg = xvasprintf(fmt, ap);
        _cleanup_free_ char *line = NULL;

        log_msg(level, "%s", msg);
        line = xasprintf("hoist-entrypoint: %s%s\n", level == LOG_LEVEL_ERROR ? "error: " : "",
                         msg);
        log_write(log, line, strlen(line));
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

void joblog_output(void *userdata, enum init_stream stream, const char *data, size_t len)
{
        struct joblog *log = userdata;
        int fd = stream == INIT_STDERR ? STDERR_FILENO : STDOUT_FILENO;

        /* Our own stdout may be gone (EPIPE, SIGPIPE is ignored); the job
         * log still gets every byte. */
        (void)fs_write_all(fd, data, len);
        log_write(log, data, len);
        if (stream == INIT_STDERR)
                tail_add(log, data, len);
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

char *joblog_stderr_tail(const struct joblog *log)
{
        const char *p = log->tail, *end = log->tail + log->tail_len;
        struct buf b = {0};

        if (log->tail_cut) { /* start at a line boundary */
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                if (nl != NULL && nl + 1 < end)
                        p = nl + 1;
        }
        while (p < end) {
                size_t n = utf8_len((const unsigned char *)p, (size_t)(end - p));
                unsigned char c = (unsigned char)*p;
                if (c == '\r') { /* progress bars redraw with CR */
                        buf_append_char(&b, '\n');
                        p++;
                        continue;
                }
                if (n == 0 || (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
                        buf_append_char(&b, '?'); /* JSON wants valid text */
                        p++;
                        continue;
                }
                buf_append(&b, p, n);
                p += n;
        }
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
        if (log->fd >= 0) {
                if (fsync(log->fd) < 0 && errno != EINVAL)
                        log_debug("fsync job log: %s", strerror(errno));
                (void)close(log->fd);
                log->fd = -1;
        }
}
