/* SPDX-License-Identifier: MIT */
/*
 * Streams park instead of waiting: when POLL has nothing, the content reader
 * suspends its connection and returns 0, so the worker thread goes back to
 * its other connections.  One ticker thread resumes the parked streams every
 * SERVE_STREAM_TICK_MS (or at once after serve_stream_wake()), and MHD calls
 * the reader again.
 *
 * Locking: g.lock guards the list and each stream's parking/parked flags; no
 * libmicrohttpd function is called while it is held (MHD takes its own locks,
 * and it may call our free callback under them).  A stream is only resumed
 * by whoever took it off the parked state under g.lock, and a suspended
 * connection is never closed by MHD, so the stream and its connection are
 * alive while that resume runs.
 */
#include "runner/serve/stream.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "xalloc.h"

#define BLOCK_SIZE (16u << 10)
#define KEEPALIVE ": keepalive\n\n"
/* How long serve_stream_close_daemon() waits for streams caught mid-park. */
#define CLOSE_WAIT_MS 5000
#define MAX_CLOSING 8

struct serve_stream {
        struct serve_stream *prev, *next;
        struct MHD_Connection *conn;
        int listen_fd; /* names its daemon: pool workers share the master's */
        serve_stream_poll_fn poll;
        void (*free_state)(void *);
        void *state;
        struct buf out;
        size_t off;         /* bytes of OUT already sent */
        int ended;          /* 0, or SERVE_STREAM_END / SERVE_STREAM_ERROR */
        uint64_t last_send; /* ms, monotonic */
        uint64_t seen_gen;  /* wake generation at the last POLL */
        /* Under g.lock: */
        bool parking; /* between deciding to suspend and MHD_suspend_connection() */
        bool parked;  /* suspended; the next resume is ours to do */
        bool resumed; /* resumed, and the reader has not run since */
        bool closing; /* its daemon is stopping: end after what is produced */
};

static struct {
        pthread_mutex_t lock;
        pthread_cond_t tick;    /* wakes the ticker */
        pthread_cond_t settled; /* a stream stopped parking or went away */
        struct serve_stream *head;
        size_t count;
        uint64_t gen;      /* bumped by serve_stream_wake() */
        unsigned resuming; /* ticker passes calling MHD_resume_connection() */
        bool ticker_started;
        int closing[MAX_CLOSING]; /* listen fds of daemons stopping, -1: none */
} g = {
        .lock = PTHREAD_MUTEX_INITIALIZER,
        .tick = PTHREAD_COND_INITIALIZER,
        .settled = PTHREAD_COND_INITIALIZER,
        .closing = {-1, -1, -1, -1, -1, -1, -1, -1},
};

static uint64_t now_ms(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A connection's daemon is a worker of the pool, not the daemon that
 * serve_server_start() holds; the listening socket they share says which. */
static int listen_fd_of(struct MHD_Daemon *d)
{
        const union MHD_DaemonInfo *di =
                d != NULL ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD) : NULL;

        return di != NULL ? di->listen_fd : -1;
}

static bool daemon_closing_locked(int listen_fd)
{
        for (size_t i = 0; i < MAX_CLOSING; i++)
                if (g.closing[i] == listen_fd)
                        return true;
        return false;
}

/* Takes every parked stream (of LISTEN_FD's daemon, or all but closing ones
 * when -1)
 * off the parked state; the caller resumes the returned connections. */
static struct MHD_Connection **unpark_locked(int listen_fd, size_t *ret_n)
{
        struct MHD_Connection **conns = NULL;
        size_t n = 0;

        for (struct serve_stream *s = g.head; s != NULL; s = s->next) {
                if (!s->parked)
                        continue;
                if (listen_fd >= 0 ? s->listen_fd != listen_fd : s->closing)
                        continue;
                if (n == 0)
                        conns = xreallocarray(NULL, g.count, sizeof *conns);
                s->parked = false;
                s->resumed = true;
                conns[n++] = s->conn;
        }
        *ret_n = n;
        return conns;
}

static void resume_all(struct MHD_Connection **conns, size_t n)
{
        for (size_t i = 0; i < n; i++)
                MHD_resume_connection(conns[i]);
        free(conns);
}

static void *ticker_main(void *arg)
{
        uint64_t gen_done = 0;

        (void)arg;
        for (;;) {
                struct MHD_Connection **conns;
                struct timespec until;
                size_t n;

                (void)clock_gettime(CLOCK_REALTIME, &until);
                until.tv_nsec += SERVE_STREAM_TICK_MS * 1000000L;
                if (until.tv_nsec >= 1000000000L) {
                        until.tv_sec++;
                        until.tv_nsec -= 1000000000L;
                }
                pthread_mutex_lock(&g.lock);
                while (g.gen == gen_done &&
                       pthread_cond_timedwait(&g.tick, &g.lock, &until) != ETIMEDOUT)
                        ;
                gen_done = g.gen;
                conns = unpark_locked(-1, &n);
                g.resuming++;
                pthread_mutex_unlock(&g.lock);
                resume_all(conns, n);
                pthread_mutex_lock(&g.lock);
                g.resuming--;
                pthread_cond_broadcast(&g.settled);
                pthread_mutex_unlock(&g.lock);
        }
        return NULL;
}

/* With g.lock held.  Every signal stays blocked in the ticker: only the
 * main thread's sigwait() takes SIGTERM and SIGINT. */
static void ticker_start_locked(void)
{
        sigset_t all, old;
        pthread_attr_t attr;
        pthread_t t;
        int rc;

        if (g.ticker_started)
                return;
        (void)sigfillset(&all);
        (void)pthread_sigmask(SIG_SETMASK, &all, &old);
        (void)pthread_attr_init(&attr);
        (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        rc = pthread_create(&t, &attr, ticker_main, NULL);
        (void)pthread_attr_destroy(&attr);
        (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc != 0) {
                log_error("serve: cannot start the stream ticker (%s)", strerror(rc));
                abort(); /* like out of memory: streams would never wake */
        }
        g.ticker_started = true;
}

/* Suspends S's connection; returns false when S must end instead. */
static bool park(struct serve_stream *s)
{
        bool wake;

        pthread_mutex_lock(&g.lock);
        if (s->closing) {
                pthread_mutex_unlock(&g.lock);
                return false;
        }
        s->parking = true;
        pthread_mutex_unlock(&g.lock);
        MHD_suspend_connection(s->conn);
        pthread_mutex_lock(&g.lock);
        s->parking = false;
        s->parked = true;
        /* A wake or a close that came since the poll must not wait a tick. */
        wake = g.gen != s->seen_gen || s->closing;
        if (wake)
                pthread_cond_signal(&g.tick);
        if (s->closing)
                pthread_cond_broadcast(&g.settled);
        pthread_mutex_unlock(&g.lock);
        return true;
}

static void poll_once(struct serve_stream *s)
{
        bool closing;
        enum serve_stream_rc rc;

        buf_reset(&s->out);
        s->off = 0;
        pthread_mutex_lock(&g.lock);
        closing = s->closing;
        s->seen_gen = g.gen;
        if (s->resumed) {
                s->resumed = false;
                pthread_cond_broadcast(&g.settled);
        }
        pthread_mutex_unlock(&g.lock);
        if (closing) {
                s->ended = SERVE_STREAM_END;
                return;
        }
        rc = s->poll(s->state, &s->out);
        if (rc == SERVE_STREAM_END || rc == SERVE_STREAM_ERROR)
                s->ended = rc;
        else if (s->out.len == 0 && now_ms() - s->last_send >= SERVE_STREAM_KEEPALIVE_MS)
                buf_append_str(&s->out, KEEPALIVE);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *dst, size_t max)
{
        struct serve_stream *s = cls;
        size_t n;

        (void)pos;
        if (s->off == s->out.len && s->ended == 0)
                poll_once(s);
        if (s->off < s->out.len) {
                n = s->out.len - s->off < max ? s->out.len - s->off : max;
                memcpy(dst, s->out.data + s->off, n);
                s->off += n;
                s->last_send = now_ms();
                return (ssize_t)n;
        }
        if (s->ended == SERVE_STREAM_ERROR)
                return MHD_CONTENT_READER_END_WITH_ERROR;
        if (s->ended != 0 || !park(s))
                return MHD_CONTENT_READER_END_OF_STREAM;
        return 0;
}

static void stream_free(void *cls)
{
        struct serve_stream *s = cls;

        pthread_mutex_lock(&g.lock);
        if (s->prev != NULL)
                s->prev->next = s->next;
        else
                g.head = s->next;
        if (s->next != NULL)
                s->next->prev = s->prev;
        g.count--;
        pthread_cond_broadcast(&g.settled);
        pthread_mutex_unlock(&g.lock);
        if (s->free_state != NULL)
                s->free_state(s->state);
        buf_free(&s->out);
        free(s);
}

static enum MHD_Result queue_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
        struct MHD_Response *resp =
                MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
        enum MHD_Result r;

        if (resp == NULL)
                return MHD_NO;
        (void)MHD_add_response_header(resp, "Content-Type", "text/plain");
        r = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return r;
}

enum MHD_Result serve_stream_queue(struct MHD_Connection *conn, const char *content_type,
                                   serve_stream_poll_fn poll, void (*free_state)(void *),
                                   void *state)
{
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_DAEMON);
        int listen_fd = listen_fd_of(ci != NULL ? ci->daemon : NULL);
        struct MHD_Response *resp;
        struct serve_stream *s;
        enum MHD_Result r;
        bool closing;

        pthread_mutex_lock(&g.lock);
        closing = listen_fd < 0 || daemon_closing_locked(listen_fd);
        pthread_mutex_unlock(&g.lock);
        if (closing) {
                if (free_state != NULL)
                        free_state(state);
                return queue_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down\n");
        }
        s = xzalloc(sizeof *s);
        s->conn = conn;
        s->listen_fd = listen_fd;
        s->poll = poll;
        s->free_state = free_state;
        s->state = state;
        s->last_send = now_ms();
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, BLOCK_SIZE, stream_read, s,
                                                 stream_free);
        if (resp == NULL) {
                if (free_state != NULL)
                        free_state(state);
                free(s);
                return MHD_NO;
        }
        pthread_mutex_lock(&g.lock);
        ticker_start_locked();
        s->next = g.head;
        if (g.head != NULL)
                g.head->prev = s;
        g.head = s;
        g.count++;
        pthread_mutex_unlock(&g.lock);
        (void)MHD_add_response_header(resp, "Content-Type", content_type);
        (void)MHD_add_response_header(resp, "Cache-Control", "no-store");
        (void)MHD_add_response_header(resp, "X-Accel-Buffering", "no");
        r = MHD_queue_response(conn, MHD_HTTP_OK, resp);
        /* On failure this drops the last reference: stream_free() runs. */
        MHD_destroy_response(resp);
        return r;
}

void serve_stream_wake(void)
{
        pthread_mutex_lock(&g.lock);
        g.gen++;
        pthread_cond_signal(&g.tick);
        pthread_mutex_unlock(&g.lock);
}

/* Whether a stream of DAEMON is suspended or on its way in or out: a resume
 * only raises a flag that the daemon's thread acts on later, so a resumed
 * stream counts until its reader has run again, and a ticker pass counts
 * until its resume calls have returned. */
static bool any_unsettled_locked(int listen_fd)
{
        if (g.resuming > 0)
                return true;
        for (struct serve_stream *s = g.head; s != NULL; s = s->next)
                if (s->listen_fd == listen_fd && (s->parking || s->parked || s->resumed))
                        return true;
        return false;
}

void serve_stream_close_daemon(struct MHD_Daemon *daemon)
{
        uint64_t deadline = now_ms() + CLOSE_WAIT_MS;
        int listen_fd = listen_fd_of(daemon);

        if (listen_fd < 0)
                return;

        pthread_mutex_lock(&g.lock);
        for (size_t i = 0; i < MAX_CLOSING; i++)
                if (g.closing[i] < 0) {
                        g.closing[i] = listen_fd;
                        break;
                }
        for (struct serve_stream *s = g.head; s != NULL; s = s->next)
                if (s->listen_fd == listen_fd)
                        s->closing = true;
        /* Those caught between deciding to park and parking park anyway, then
         * signal: resume them too, until none of this daemon's is parked. */
        while (any_unsettled_locked(listen_fd)) {
                struct MHD_Connection **conns;
                struct timespec until;
                uint64_t left;
                size_t n;

                conns = unpark_locked(listen_fd, &n);
                if (n > 0) {
                        pthread_mutex_unlock(&g.lock);
                        resume_all(conns, n);
                        pthread_mutex_lock(&g.lock);
                        continue;
                }
                if (now_ms() >= deadline) {
                        log_warn("serve: a stream did not settle within %d ms; stopping anyway",
                                 CLOSE_WAIT_MS);
                        break;
                }
                left = deadline - now_ms();
                (void)clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec += (time_t)(left / 1000u);
                until.tv_nsec += (long)(left % 1000u) * 1000000L;
                if (until.tv_nsec >= 1000000000L) {
                        until.tv_sec++;
                        until.tv_nsec -= 1000000000L;
                }
                (void)pthread_cond_timedwait(&g.settled, &g.lock, &until);
        }
        pthread_mutex_unlock(&g.lock);
}

void serve_stream_daemon_stopped(int listen_fd)
{
        pthread_mutex_lock(&g.lock);
        for (size_t i = 0; i < MAX_CLOSING; i++)
                if (g.closing[i] == listen_fd)
                        g.closing[i] = -1;
        pthread_mutex_unlock(&g.lock);
}

size_t serve_stream_count(void)
{
        size_t n;

        pthread_mutex_lock(&g.lock);
        n = g.count;
        pthread_mutex_unlock(&g.lock);
        return n;
}
