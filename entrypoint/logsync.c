/* SPDX-License-Identifier: MIT */
/*
 * The log upload thread.  The main thread appends to the local file while
 * we read it, so each upload sends a snapshot: the bytes up to the size seen
 * when it began (whole lines, as joblog writes a line in one write()).
 */
#include "logsync.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "clock.h"
#include "fsutil.h"
#include "job.h"
#include "log.h"
#include "xalloc.h"

struct logsync {
        const struct jobspec *spec;
        char *path;
        char *key;
        int64_t interval_ms;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        pthread_t thread;
        int running; /* the thread was started and not yet joined */
        int stop;    /* under LOCK */
        off_t sent;  /* the size of the last upload; the thread's until joined */
        int warned;  /* an upload failed; said once */
};

struct logsync *logsync_new(const struct jobspec *spec, const char *path, const char *key)
{
        struct logsync *ls = xcalloc(1, sizeof *ls);
        const char *v = getenv("HOIST_LOG_SYNC_S");
        pthread_condattr_t attr;

        ls->spec = spec;
        ls->path = xstrdup(path);
        ls->key = xstrdup(key);
        ls->interval_ms = LOGSYNC_DEFAULT_INTERVAL_S * 1000;
        if (v != NULL && *v != '\0') {
                char *end;
                double secs;
                errno = 0;
                secs = strtod(v, &end);
                if (errno != 0 || *end != '\0' || !(secs >= 0) || secs > 86400)
                        log_warn("HOIST_LOG_SYNC_S='%s' is not a number of seconds; using %d", v,
                                 LOGSYNC_DEFAULT_INTERVAL_S);
                else
                        ls->interval_ms = (int64_t)(secs * 1000);
        }
        (void)pthread_mutex_init(&ls->lock, NULL);
        (void)pthread_condattr_init(&attr);
        (void)pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        (void)pthread_cond_init(&ls->wake, &attr);
        (void)pthread_condattr_destroy(&attr);
        return ls;
}

/* Copies the first LEN bytes of FD to the file DST. */
static int copy_prefix(int fd, off_t len, const char *dst, struct hoist_error **err)
{
        _cleanup_close_ int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        char chunk[65536];
        off_t done = 0;

        if (out < 0)
                return hoist_error_errno(err, "create '%s'", dst);
        while (done < len) {
                size_t want =
                        len - done < (off_t)sizeof chunk ? (size_t)(len - done) : sizeof chunk;
                ssize_t n = pread(fd, chunk, want, done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (fs_write_all(out, chunk, (size_t)n) < 0)
                        return hoist_error_errno(err, "write '%s'", dst);
                done += n;
        }
        return 0;
}

/* Uploads the log as it is now: the bytes up to its current size (lines
 * appended meanwhile go next time), from memory when small, else through a
 * copy next to it, so a long log never sits in memory whole. */
static int upload_snapshot(struct logsync *ls, struct storage *st, off_t *ret_len,
                           struct hoist_error **err)
{
        _cleanup_close_ int fd = open(ls->path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *data = NULL;
        _cleanup_free_ char *copy = NULL;
        struct stat sb;
        ssize_t got = 0;
        int r;

        if (fd < 0 || fstat(fd, &sb) < 0)
                return hoist_error_errno(err, "read the job log '%s'", ls->path);
        if (sb.st_size > LOGSYNC_MEMORY_MAX) {
                copy = xasprintf("%s.upload", ls->path);
                r = copy_prefix(fd, sb.st_size, copy, err);
                if (r == 0)
                        r = storage_put_file(st, ls->key, copy, err);
                (void)unlink(copy);
                if (r < 0)
                        return -1;
                *ret_len = sb.st_size;
                return 0;
        }
        data = xmalloc((size_t)sb.st_size + 1);
        while (got < sb.st_size) {
                ssize_t n = pread(fd, data + got, (size_t)(sb.st_size - got), got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return hoist_error_errno(err, "read the job log '%s'", ls->path);
                if (n == 0)
                        break;
                got += n;
        }
        if (storage_put_bytes(st, ls->key, data, (size_t)got, err) < 0)
                return -1;
        *ret_len = got;
        return 0;
}

/* Uploads the file when it changed since the last upload: 1 uploaded, 0
 * nothing new, -1 failed. */
static int sync_once(struct logsync *ls, struct storage *st, struct hoist_error **err)
{
        struct stat sb;
        off_t len = 0;

        if (stat(ls->path, &sb) < 0)
                return hoist_error_errno(err, "stat the job log '%s'", ls->path);
        if (sb.st_size == ls->sent)
                return 0;
        if (upload_snapshot(ls, st, &len, err) < 0)
                return hoist_error_wrap(err, "upload the job log to '%s'", ls->key);
        ls->sent = len;
        return 1;
}

static void *sync_thread(void *arg)
{
        struct logsync *ls = arg;
        struct storage *st = NULL;
        _cleanup_error_ struct hoist_error *err = NULL;

        if (job_open_storage(ls->spec, &st, &err) < 0) {
                log_warn("job log: %s; uploading it at the end only", err->msg);
                return NULL;
        }
        (void)pthread_mutex_lock(&ls->lock);
        while (!ls->stop) {
                int64_t until = clock_mono_ms() + ls->interval_ms;
                struct timespec ts = {.tv_sec = until / 1000, .tv_nsec = until % 1000 * 1000000};
                while (!ls->stop && pthread_cond_timedwait(&ls->wake, &ls->lock, &ts) != ETIMEDOUT)
                        ;
                if (ls->stop)
                        break;
                (void)pthread_mutex_unlock(&ls->lock);
                if (sync_once(ls, st, &err) < 0) {
                        if (!ls->warned)
                                log_warn("job log: %s; retrying", err->msg);
                        ls->warned = 1;
                        hoist_error_release(&err);
                }
                (void)pthread_mutex_lock(&ls->lock);
        }
        (void)pthread_mutex_unlock(&ls->lock);
        storage_close(st);
        return NULL;
}

int logsync_start(struct logsync *ls, struct hoist_error **err)
{
        int e;

        if (ls == NULL || ls->running || ls->interval_ms == 0)
                return 0;
        e = pthread_create(&ls->thread, NULL, sync_thread, ls);
        if (e != 0)
                return hoist_error_make(err, e, "start the job log upload thread");
        ls->running = 1;
        return 0;
}

static void stop_thread(struct logsync *ls)
{
        if (!ls->running)
                return;
        (void)pthread_mutex_lock(&ls->lock);
        ls->stop = 1;
        (void)pthread_cond_signal(&ls->wake);
        (void)pthread_mutex_unlock(&ls->lock);
        (void)pthread_join(ls->thread, NULL);
        ls->running = 0;
}

int logsync_finish(struct logsync *ls, struct storage *st, struct hoist_error **err)
{
        if (ls == NULL)
                return 0;
        stop_thread(ls);
        return sync_once(ls, st, err) < 0 ? -1 : 0;
}

void logsync_free(struct logsync *ls)
{
        if (ls == NULL)
                return;
        stop_thread(ls);
        (void)pthread_cond_destroy(&ls->wake);
        (void)pthread_mutex_destroy(&ls->lock);
        free(ls->path);
        free(ls->key);
        free(ls);
}
