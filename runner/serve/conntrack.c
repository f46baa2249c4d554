/* SPDX-License-Identifier: MIT */
/*
 * libmicrohttpd's own connection timeout is an idle timeout: a client that
 * sends one header byte every few seconds never trips it, and holds a
 * connection (and a slot of the per-address limit) for ever.  Here every
 * connection is known from its start (MHD_OPTION_NOTIFY_CONNECTION) to its
 * close; a reaper thread looks once a second for those still without a
 * complete head past the deadline and shuts their socket down, which the
 * daemon sees as the client leaving.  The socket is only touched under
 * ct->lock, and the close notification (which MHD sends before it closes the
 * socket) takes the connection off the list under the same lock, so a
 * shutdown() never hits a reused descriptor.
 */
#include "runner/serve/conntrack.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"
#include "xalloc.h"

struct track {
        struct track *prev, *next;
        struct serve_conntrack *ct;
        int fd;
        uint64_t since; /* ms, monotonic: when the current head became due */
        bool in_request;
        bool dropped;
};

struct serve_conntrack {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        pthread_t reaper;
        struct track *head;
        uint64_t timeout_ms;
        uint64_t dropped;
        bool stop;
};

static uint64_t now_ms(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static unsigned reap_locked(struct serve_conntrack *ct)
{
        uint64_t now = now_ms();
        unsigned n = 0;

        for (struct track *t = ct->head; t != NULL; t = t->next) {
                if (t->in_request || t->dropped || now - t->since < ct->timeout_ms)
                        continue;
                /* The daemon reads EOF (or an error) and closes it. */
                (void)shutdown(t->fd, SHUT_RDWR);
                t->dropped = true;
                n++;
        }
        ct->dropped += n;
        return n;
}

static void *reaper_main(void *arg)
{
        struct serve_conntrack *ct = arg;
        uint64_t period = ct->timeout_ms / 2 < 1000 ? ct->timeout_ms / 2 : 1000;

        if (period < 50)
                period = 50;
        pthread_mutex_lock(&ct->lock);
        while (!ct->stop) {
                struct timespec until;
                unsigned n;

                (void)clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec += (time_t)(period / 1000u);
                until.tv_nsec += (long)(period % 1000u) * 1000000L;
                if (until.tv_nsec >= 1000000000L) {
                        until.tv_sec++;
                        until.tv_nsec -= 1000000000L;
                }
                if (pthread_cond_timedwait(&ct->cond, &ct->lock, &until) != ETIMEDOUT)
                        continue;
                n = reap_locked(ct);
                if (n > 0)
                        log_debug("serve: dropped %u connection(s) that sent no whole request "
                                  "head within %u s",
                                  n, (unsigned)(ct->timeout_ms / 1000u));
        }
        pthread_mutex_unlock(&ct->lock);
        return NULL;
}

struct serve_conntrack *serve_conntrack_new(unsigned head_timeout_s)
{
        struct serve_conntrack *ct = xzalloc(sizeof *ct);
        sigset_t all, old;
        int rc;

        (void)pthread_mutex_init(&ct->lock, NULL);
        (void)pthread_cond_init(&ct->cond, NULL);
        ct->timeout_ms = (uint64_t)head_timeout_s * 1000u;
        /* Signals stay with the main thread's sigwait(). */
        (void)sigfillset(&all);
        (void)pthread_sigmask(SIG_SETMASK, &all, &old);
        rc = pthread_create(&ct->reaper, NULL, reaper_main, ct);
        (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc != 0) {
                log_error("serve: cannot start the request-head reaper (%s)", strerror(rc));
                abort(); /* like out of memory */
        }
        return ct;
}

void serve_conntrack_free(struct serve_conntrack *ct)
{
        if (ct == NULL)
                return;
        pthread_mutex_lock(&ct->lock);
        ct->stop = true;
        pthread_cond_signal(&ct->cond);
        pthread_mutex_unlock(&ct->lock);
        (void)pthread_join(ct->reaper, NULL);
        while (ct->head != NULL) {
                struct track *t = ct->head;
                ct->head = t->next;
                free(t);
        }
        (void)pthread_cond_destroy(&ct->cond);
        (void)pthread_mutex_destroy(&ct->lock);
        free(ct);
}

void serve_conntrack_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                            enum MHD_ConnectionNotificationCode toe)
{
        struct serve_conntrack *ct = cls;
        struct track *t = *socket_context;

        if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
                const union MHD_ConnectionInfo *ci =
                        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

                if (ci == NULL)
                        return; /* untracked: only the idle timeout applies */
                t = xzalloc(sizeof *t);
                t->ct = ct;
                t->fd = ci->connect_fd;
                t->since = now_ms();
                pthread_mutex_lock(&ct->lock);
                t->next = ct->head;
                if (ct->head != NULL)
                        ct->head->prev = t;
                ct->head = t;
                pthread_mutex_unlock(&ct->lock);
                *socket_context = t;
                return;
        }
        if (t == NULL)
                return;
        pthread_mutex_lock(&ct->lock);
        if (t->prev != NULL)
                t->prev->next = t->next;
        else
                ct->head = t->next;
        if (t->next != NULL)
                t->next->prev = t->prev;
        pthread_mutex_unlock(&ct->lock);
        free(t);
        *socket_context = NULL;
}

static void mark(struct MHD_Connection *conn, bool in_request)
{
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        struct track *t = ci != NULL ? ci->socket_context : NULL;

        if (t == NULL)
                return;
        pthread_mutex_lock(&t->ct->lock);
        t->in_request = in_request;
        t->since = now_ms();
        pthread_mutex_unlock(&t->ct->lock);
}

void serve_conntrack_request_started(struct MHD_Connection *conn)
{
        mark(conn, true);
}

void serve_conntrack_request_done(struct MHD_Connection *conn)
{
        mark(conn, false);
}

uint64_t serve_conntrack_dropped(struct serve_conntrack *ct)
{
        uint64_t n;

        pthread_mutex_lock(&ct->lock);
        n = ct->dropped;
        pthread_mutex_unlock(&ct->lock);
        return n;
}
