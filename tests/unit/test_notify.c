/* SPDX-License-Identifier: MIT */
/*
 * lib/notify: nothing without NOTIFY_SOCKET; the exact datagram to a socket
 * bound to a path (libsystemd loaded on first use); an error naming a socket
 * nobody listens on; half the watchdog interval, and none when WATCHDOG_PID
 * names another process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

static void clear_env(void)
{
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
}

static void test_disabled(void **state)
{
        struct hoist_error *err = NULL;

        (void)state;
        clear_env();
        assert_false(notify_enabled());
        assert_int_equal(notify_send("READY=1", &err), 0);
        assert_null(err);
        notify_sendf("STATUS=%s", "nothing");
        setenv("WATCHDOG_USEC", "200000", 1);
        assert_int_equal(notify_watchdog_half_ms(), 100); /* asked for, even if nobody listens */
        clear_env();
        assert_int_equal(notify_watchdog_half_ms(), 0);
}

static void test_datagram(void **state)
{
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        struct hoist_error *err = NULL;
        char buf[256];
        ssize_t n;
        int fd;

        (void)state;
        clear_env();
        snprintf(addr.sun_path, sizeof addr.sun_path, "/tmp/hoist-test-notify-%d.sock",
                 (int)getpid());
        (void)unlink(addr.sun_path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
        setenv("NOTIFY_SOCKET", addr.sun_path, 1);
        assert_true(notify_enabled());
        assert_int_equal(notify_send("READY=1\nSTATUS=running", &err), 0);
        n = recv(fd, buf, sizeof buf - 1, 0);
        assert_true(n > 0);
        buf[n] = '\0';
        assert_string_equal(buf, "READY=1\nSTATUS=running");
        notify_sendf("STATUS=step %d", 7);
        n = recv(fd, buf, sizeof buf - 1, 0);
        assert_true(n > 0);
        buf[n] = '\0';
        assert_string_equal(buf, "STATUS=step 7");
        close(fd);
        (void)unlink(addr.sun_path);

        /* nobody listens any more: an error naming the socket */
        assert_int_equal(notify_send("WATCHDOG=1", &err), -1);
        assert_non_null(err);
        assert_non_null(strstr(err->msg, addr.sun_path));
        hoist_error_free(err);
        clear_env();
}

static void test_watchdog(void **state)
{
        char pid[32];

        (void)state;
        clear_env();
        setenv("WATCHDOG_USEC", "3000000", 1);
        assert_int_equal(notify_watchdog_half_ms(), 1500);
        snprintf(pid, sizeof pid, "%d", (int)getpid());
        setenv("WATCHDOG_PID", pid, 1);
        assert_int_equal(notify_watchdog_half_ms(), 1500);
        setenv("WATCHDOG_PID", "1", 1); /* someone else's watchdog */
        assert_int_equal(notify_watchdog_half_ms(), 0);
        setenv("WATCHDOG_USEC", "0", 1);
        unsetenv("WATCHDOG_PID");
        assert_int_equal(notify_watchdog_half_ms(), 0);
        clear_env();
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_disabled),
                cmocka_unit_test(test_datagram),
                cmocka_unit_test(test_watchdog),
        };
        return cmocka_run_group_tests_name("notify", tests, NULL, NULL);
}
