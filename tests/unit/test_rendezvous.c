/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "distenv.h"
#include "entrypoint/rendezvous.h"
#include "xalloc.h"

static void check_hello_error(const char *line, const char *want)
{
        struct hoist_error *err = NULL;
        int64_t rank = -1;

        assert_int_equal(rendezvous_parse_hello(line, "j-1", 3, &rank, &err), -1);
        assert_non_null(err);
        if (strstr(err->msg, want) == NULL)
                fail_msg("'%s': got '%s', want '%s'", line, err->msg, want);
        assert_int_equal(rank, -1);
        hoist_error_release(&err);
}

static void test_hello(void **state)
{
        struct hoist_error *err = NULL;
        int64_t rank = -1;

        (void)state;
        assert_int_equal(
                rendezvous_parse_hello("hoist-rendezvous 1 j-1 2 3", "j-1", 3, &rank, &err), 0);
        assert_int_equal(rank, 2);
        check_hello_error("GET / HTTP/1.1", "not a hoist rendezvous line");
        check_hello_error("hoist-rendezvous 2 j-1 1 3", "not a hoist rendezvous line");
        check_hello_error("hoist-rendezvous 1 j-2 1 3", "a node of another job");
        check_hello_error("hoist-rendezvous 1 j-11 1 3", "a node of another job");
        check_hello_error("hoist-rendezvous 1 j-1 1 4", "counts 4 nodes");
        check_hello_error("hoist-rendezvous 1 j-1 0 3", "rank 0 is not one of 1 .. 2");
        check_hello_error("hoist-rendezvous 1 j-1 3 3", "rank 3 is not one of 1 .. 2");
        check_hello_error("hoist-rendezvous 1 j-1 -1 3", "without a rank");
        check_hello_error("hoist-rendezvous 1 j-1 1", "without a rank");
        check_hello_error("hoist-rendezvous 1 j-1 1 3 ", "without a rank");
        check_hello_error("hoist-rendezvous 1 j-1 99999999999 3", "without a rank");
}

static void test_reply(void **state)
{
        struct hoist_error *err = NULL;
        _cleanup_strv_ char **addrs = NULL;
        static const struct {
                const char *line, *want;
        } bad[] = {
                {"error a node of another job", "node 0 refused this node: a node of another job"},
                {"OK 1.2.3.4,1.2.3.5", "not a hoist rendezvous answer"},
                {"ok 1.2.3.4", "answered 1 addresses for 2 nodes"},
                {"ok 1.2.3.4,1.2.3.5,1.2.3.6", "more than 2 addresses"},
                {"ok 1.2.3.4,node1", "'node1' as node 1's address"},
                {"ok 1.2.3.4,", "'' as node 1's address"},
                {"ok ", "'' as node 0's address"},
        };

        (void)state;
        assert_int_equal(rendezvous_parse_reply("ok 10.89.0.3,fd00::2", 2, &addrs, &err), 0);
        assert_string_equal(addrs[0], "10.89.0.3");
        assert_string_equal(addrs[1], "fd00::2");
        assert_null(addrs[2]);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                char **none = NULL;
                assert_int_equal(rendezvous_parse_reply(bad[i].line, 2, &none, &err), -1);
                assert_null(none);
                if (strstr(err->msg, bad[i].want) == NULL)
                        fail_msg("'%s': got '%s', want '%s'", bad[i].line, err->msg, bad[i].want);
                hoist_error_release(&err);
        }
}

static int free_port(void)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
        close(fd);
        return ntohs(a.sin_port);
}

static struct distenv place(int64_t rank, int64_t n)
{
        struct distenv d = {.engine = DISTENV_HOIST, .node_rank = rank, .num_nodes = n};

        d.hosts = xcalloc((size_t)n + 1, sizeof *d.hosts);
        for (int64_t i = 0; i < n; i++)
                d.hosts[i] = xstrdup("127.0.0.1");
        return d;
}

/* Node RANK of N in a child process, started after DELAY_MS; it exits 0
 * when it got the addresses of all N nodes, 2 when it failed. */
static pid_t node(int64_t rank, int64_t n, int port, const char *job, int delay_ms)
{
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                struct distenv d = place(rank, n);
                struct timespec ts = {.tv_sec = delay_ms / 1000,
                                      .tv_nsec = (delay_ms % 1000) * 1000000L};
                char **addrs = NULL;
                struct hoist_error *err = NULL;
                int ok;
                nanosleep(&ts, NULL);
                ok = rendezvous_run(&d, job, port, 10, &addrs, &err) == 0;
                for (int64_t i = 0; ok && i < n; i++)
                        ok = addrs[i] != NULL && strcmp(addrs[i], "127.0.0.1") == 0;
                if (err != NULL)
                        fprintf(stderr, "node %lld: %s\n", (long long)rank, err->msg);
                _exit(ok ? 0 : 2);
        }
        return pid;
}

static int exit_of(pid_t pid)
{
        int st = 0;

        assert_int_equal(waitpid(pid, &st, 0), pid);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Three nodes on loopback: node 0 first, and node 0 last (the others try
 * again until it listens). */
static void test_meet(void **state)
{
        (void)state;
        for (int order = 0; order < 2; order++) {
                int port = free_port();
                pid_t p0 = node(0, 3, port, "j-meet", order == 0 ? 0 : 400);
                pid_t p1 = node(1, 3, port, "j-meet", order == 0 ? 200 : 0);
                pid_t p2 = node(2, 3, port, "j-meet", order == 0 ? 300 : 100);
                assert_int_equal(exit_of(p0), 0);
                assert_int_equal(exit_of(p1), 0);
                assert_int_equal(exit_of(p2), 0);
        }
}

/* A node of another job is refused, and the right one still joins. */
static void test_stranger(void **state)
{
        int port = free_port();
        pid_t p0 = node(0, 2, port, "j-mine", 0);
        pid_t stranger = node(1, 2, port, "j-other", 200);
        pid_t p1;

        (void)state;
        assert_int_equal(exit_of(stranger), 2);
        p1 = node(1, 2, port, "j-mine", 0);
        assert_int_equal(exit_of(p1), 0);
        assert_int_equal(exit_of(p0), 0);
}

/* Node 0 alone: it gives up after its wait, naming who did not come. */
static void test_nobody_came(void **state)
{
        struct distenv d = place(0, 3);
        char **addrs = NULL;
        struct hoist_error *err = NULL;

        (void)state;
        assert_int_equal(rendezvous_run(&d, "j-alone", free_port(), 1, &addrs, &err), -1);
        assert_null(addrs);
        assert_non_null(strstr(err->msg, "waited 1s for nodes 1, 2 to join"));
        hoist_error_release(&err);
        distenv_clear(&d);
}

/* A node whose node 0 never listens gives up too, naming it. */
static void test_no_leader(void **state)
{
        struct distenv d = place(1, 2);
        char **addrs = NULL;
        struct hoist_error *err = NULL;
        int port = free_port();
        _cleanup_free_ char *want =
                xasprintf("could not join node 0 at 127.0.0.1:%d within 1s", port);

        (void)state;
        assert_int_equal(rendezvous_run(&d, "j-alone", port, 1, &addrs, &err), -1);
        assert_null(addrs);
        if (strstr(err->msg, want) == NULL)
                fail_msg("got '%s'", err->msg);
        hoist_error_release(&err);
        distenv_clear(&d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hello),       cmocka_unit_test(test_reply),
                cmocka_unit_test(test_meet),        cmocka_unit_test(test_stranger),
                cmocka_unit_test(test_nobody_came), cmocka_unit_test(test_no_leader),
        };

        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
