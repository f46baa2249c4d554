/* SPDX-License-Identifier: MIT */
/* runner/serve/stream.c against a real libmicrohttpd daemon run the way
 * hoist serve runs it (epoll worker pool, suspend/resume), with a plain
 * socket client: frames arrive in order, a stream ends, its state is freed
 * exactly once, a client that leaves mid-stream frees it too, and a daemon
 * stops with streams parked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "runner/serve/stream.h"

/* Generous: a loaded CI machine; nothing here is a timed assertion. */
#define DEADLINE_MS 20000

struct counter {
        int frames; /* how many frames to send before END; < 0: never end */
        int sent;   /* frames sent */
        int polls;  /* POLL calls */
        bool gated; /* send a frame only after `open_gate` */
        atomic_int *freed;
};

static atomic_int open_gate;

static uint64_t now_ms(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static enum serve_stream_rc counter_poll(void *state, struct buf *out)
{
        struct counter *c = state;

        /* Every other poll has nothing: the stream parks in between. */
        if (c->polls++ % 2 == 0)
                return SERVE_STREAM_MORE;
        if (c->gated && atomic_load(&open_gate) == 0)
                return SERVE_STREAM_MORE;
        if (c->frames >= 0 && c->sent == c->frames)
                return SERVE_STREAM_END;
        buf_printf(out, "id: %d\nevent: n\ndata: %d\n\n", c->sent, c->sent);
        c->sent++;
        return SERVE_STREAM_MORE;
}

static void counter_free(void *state)
{
        struct counter *c = state;

        atomic_fetch_add(c->freed, 1);
        free(c);
}

struct fixture {
        struct MHD_Daemon *d;
        uint16_t port;
        atomic_int freed;
        int frames;
        bool gated;
};

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **req_cls)
{
        struct fixture *f = cls;
        struct counter *c;

        (void)url;
        (void)method;
        (void)version;
        (void)upload_data;
        (void)upload_data_size;
        if (*req_cls == NULL) {
                *req_cls = f;
                return MHD_YES;
        }
        c = calloc(1, sizeof *c);
        assert_non_null(c);
        c->frames = f->frames;
        c->gated = f->gated;
        c->freed = &f->freed;
        return serve_stream_queue(conn, "text/event-stream", counter_poll, counter_free, c);
}

static void start(struct fixture *f, int frames, bool gated)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        const union MHD_DaemonInfo *info;

        memset(f, 0, sizeof *f);
        f->frames = frames;
        f->gated = gated;
        atomic_store(&open_gate, 0);
        f->d = MHD_start_daemon(
                MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL,
                NULL, handler, f, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_END);
        assert_non_null(f->d);
        info = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
        assert_non_null(info);
        f->port = info->port;
}

static void stop(struct fixture *f)
{
        int listen_fd = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_LISTEN_FD)->listen_fd;

        serve_stream_close_daemon(f->d);
        MHD_stop_daemon(f->d);
        serve_stream_daemon_stopped(listen_fd);
}

static int connect_get(uint16_t port)
{
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons(port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        static const char req[] = "GET /s HTTP/1.0\r\nHost: x\r\n\r\n";
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
        assert_int_equal(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
        return fd;
}

/* Reads until EOF, or until the text read contains UNTIL (NULL: EOF only). */
static void read_until(int fd, struct buf *b, const char *until)
{
        uint64_t deadline = now_ms() + DEADLINE_MS;

        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                char chunk[4096];
                ssize_t n;

                if (until != NULL && b->len > 0 && strstr(b->data, until) != NULL)
                        return;
                assert_true(now_ms() < deadline);
                if (poll(&p, 1, 200) <= 0)
                        continue;
                n = read(fd, chunk, sizeof chunk);
                if (n == 0)
                        return;
                assert_true(n > 0);
                buf_append(b, chunk, (size_t)n);
        }
}

static void wait_freed(struct fixture *f, int want)
{
        uint64_t deadline = now_ms() + DEADLINE_MS;

        while (atomic_load(&f->freed) < want && now_ms() < deadline) {
                struct timespec t = {0, 10 * 1000 * 1000};
                (void)nanosleep(&t, NULL);
        }
        assert_int_equal(atomic_load(&f->freed), want);
}

static void test_frames_in_order_then_end(void **state)
{
        struct fixture f;
        struct buf b = {0};
        const char *body, *p;
        int fd;

        (void)state;
        start(&f, 5, false);
        fd = connect_get(f.port);
        read_until(fd, &b, NULL);
        (void)close(fd);
        assert_non_null(strstr(b.data, " 200 OK\r\n"));
        assert_non_null(strstr(b.data, "Content-Type: text/event-stream"));
        assert_non_null(strstr(b.data, "Cache-Control: no-store"));
        assert_non_null(strstr(b.data, "X-Accel-Buffering: no"));
        body = strstr(b.data, "\r\n\r\n");
        assert_non_null(body);
        p = body + 4;
        for (int i = 0; i < 5; i++) {
                char frame[64];

                (void)snprintf(frame, sizeof frame, "id: %d\nevent: n\ndata: %d\n\n", i, i);
                assert_int_equal(strncmp(p, frame, strlen(frame)), 0);
                p += strlen(frame);
        }
        assert_string_equal(p, "");
        wait_freed(&f, 1);
        stop(&f);
        /* Stopping the daemon does not free it a second time. */
        assert_int_equal(atomic_load(&f.freed), 1);
        buf_free(&b);
}

/* A stream with nothing to say parks; serve_stream_wake() brings its news. */
static void test_wake_delivers(void **state)
{
        struct fixture f;
        struct buf b = {0};
        int fd;

        (void)state;
        start(&f, 1, true);
        fd = connect_get(f.port);
        read_until(fd, &b, "\r\n\r\n");
        assert_null(strstr(b.data, "data: 0"));
        atomic_store(&open_gate, 1);
        serve_stream_wake();
        read_until(fd, &b, NULL);
        assert_non_null(strstr(b.data, "id: 0\nevent: n\ndata: 0\n\n"));
        (void)close(fd);
        wait_freed(&f, 1);
        stop(&f);
        buf_free(&b);
}

/* The client reads one frame and leaves: the stream ends and is freed once. */
static void test_client_leaves_mid_stream(void **state)
{
        struct fixture f;
        struct buf b = {0};
        int fd;

        (void)state;
        start(&f, -1, false);
        fd = connect_get(f.port);
        read_until(fd, &b, "data: 1\n\n");
        assert_int_equal(serve_stream_count(), 1);
        (void)close(fd);
        wait_freed(&f, 1);
        assert_int_equal(serve_stream_count(), 0);
        stop(&f);
        assert_int_equal(atomic_load(&f.freed), 1);
        buf_free(&b);
}

/* Streams parked when the daemon stops: ended, freed once, no MHD panic. */
static void test_stop_with_parked_streams(void **state)
{
        struct fixture f;
        struct buf b[3] = {{0}};
        int fd[3];

        (void)state;
        start(&f, -1, true);
        for (int i = 0; i < 3; i++) {
                fd[i] = connect_get(f.port);
                read_until(fd[i], &b[i], "\r\n\r\n");
        }
        stop(&f);
        assert_int_equal(atomic_load(&f.freed), 3);
        for (int i = 0; i < 3; i++) {
                (void)close(fd[i]);
                buf_free(&b[i]);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_frames_in_order_then_end),
                cmocka_unit_test(test_wake_delivers),
                cmocka_unit_test(test_client_leaves_mid_stream),
                cmocka_unit_test(test_stop_with_parked_streams),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
