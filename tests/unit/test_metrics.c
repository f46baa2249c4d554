/* SPDX-License-Identifier: MIT */
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

#include "cleanup.h"
#include "entrypoint/metrics.h"

static char *parse_dump(const char *line)
{
        json_t *m = metrics_parse(line, strlen(line));
        char *s;

        if (m == NULL)
                return NULL;
        s = json_dumps(m, JSON_SORT_KEYS | JSON_COMPACT);
        json_decref(m);
        return s;
}

static void test_metrics_lines(void **state)
{
        _cleanup_free_ char *a = parse_dump("{\"step\": 100, \"loss\": 0.25}");
        _cleanup_free_ char *b = parse_dump("  {\"epoch\": 2, \"name\": \"x\", \"ok\": true, "
                                            "\"lr\": 1e-4, \"nested\": {\"a\": 1}}\r");
        _cleanup_free_ char *c = parse_dump("{\"acc\":-1}");

        (void)state;
        assert_string_equal(a, "{\"loss\":0.25,\"step\":100}");
        assert_string_equal(b, "{\"epoch\":2,\"lr\":0.0001}");
        assert_string_equal(c, "{\"acc\":-1}");
}

static void test_not_metrics(void **state)
{
        static const char *const lines[] = {
                "",
                "epoch 1 loss 0.3",
                "{}",
                "{\"msg\": \"hello\", \"ok\": true}",
                "[1, 2, 3]",
                "{\"step\": 1} trailing",
                "{\"step\": 1",
                "{\"step\": 1, \"step\": 2}",
                "{\"\": 1}",
                "{\"step\": NaN}",
                "{\"a\": \"\xff\", \"b\": 1}",
                "100",
        };
        _cleanup_free_ char *huge = malloc(METRICS_MAX_LINE + 20);

        (void)state;
        for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
                json_t *m = metrics_parse(lines[i], strlen(lines[i]));
                if (m != NULL)
                        fail_msg("'%s' parsed as metrics", lines[i]);
        }
        /* Too long to look at, even when it would parse. */
        strcpy(huge, "{\"step\": 1, \"pad\": \"");
        memset(huge + strlen(huge), 'x', METRICS_MAX_LINE);
        strcpy(huge + METRICS_MAX_LINE + 10, "\"}");
        assert_null(metrics_parse(huge, strlen(huge)));
}

static void test_field_limit(void **state)
{
        char line[8192];
        size_t n = 0;
        json_t *m;

        (void)state;
        n += (size_t)snprintf(line + n, sizeof line - n, "{");
        for (int i = 0; i < METRICS_MAX_FIELDS + 10; i++)
                n += (size_t)snprintf(line + n, sizeof line - n, "%s\"f%d\": %d", i ? ", " : "", i,
                                      i);
        snprintf(line + n, sizeof line - n, "}");
        m = metrics_parse(line, strlen(line));
        assert_non_null(m);
        assert_int_equal(json_object_size(m), METRICS_MAX_FIELDS);
        json_decref(m);
}

static void test_status(void **state)
{
        json_t *both = json_pack("{s:i, s:f}", "step", 100, "loss", 0.3125);
        json_t *loss = json_pack("{s:f}", "loss", 2.5);
        json_t *none = json_pack("{s:i}", "epoch", 1);
        _cleanup_free_ char *a = metrics_status(both);
        _cleanup_free_ char *b = metrics_status(loss);

        (void)state;
        assert_string_equal(a, "STATUS=step 100 loss 0.3125");
        assert_string_equal(b, "STATUS=loss 2.5");
        assert_null(metrics_status(none));
        json_decref(both);
        json_decref(loss);
        json_decref(none);
}

/* metrics_line() sends the STATUS to NOTIFY_SOCKET (a real datagram socket). */
static void test_line_notifies(void **state)
{
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        char dir[] = "/tmp/test-metrics.XXXXXX", msg[256];
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct timeval tv = {5, 0};
        ssize_t n;

        (void)state;
        assert_non_null(mkdtemp(dir));
        snprintf(addr.sun_path, sizeof addr.sun_path, "%s/notify", dir);
        assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setenv("NOTIFY_SOCKET", addr.sun_path, 1);

        metrics_line(NULL, "not a metric", 12);
        metrics_line(NULL, "{\"step\": 7, \"loss\": 1.5}", 24);
        n = recv(fd, msg, sizeof msg - 1, 0);
        assert_true(n > 0);
        msg[n] = '\0';
        assert_string_equal(msg, "STATUS=step 7 loss 1.5");
        /* right after: throttled (one STATUS a second), the event still goes */
        metrics_line(NULL, "{\"step\": 8, \"loss\": 1.25}", 25);
        assert_true(recv(fd, msg, sizeof msg - 1, MSG_DONTWAIT) < 0);

        unsetenv("NOTIFY_SOCKET");
        close(fd);
        unlink(addr.sun_path);
        rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_metrics_lines), cmocka_unit_test(test_not_metrics),
                cmocka_unit_test(test_field_limit),   cmocka_unit_test(test_status),
                cmocka_unit_test(test_line_notifies),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
