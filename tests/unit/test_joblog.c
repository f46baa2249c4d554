/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "entrypoint/joblog.h"
#include "fsutil.h"
#include "log.h"

/* What on_line received: "<stream>:<line>\n" each. */
static struct buf lines;

static void record_line(void *userdata, enum init_stream stream, const char *line, size_t len)
{
        (void)userdata;
        buf_printf(&lines, "%s:", stream == INIT_STDERR ? "err" : "out");
        buf_append(&lines, line, len);
        buf_append_char(&lines, '\n');
}

struct fixture {
        char dir[64];
        char path[128];
        struct joblog log;
        int saved_out, saved_err;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof *f);
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

        strcpy(f->dir, "/tmp/test-joblog.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof f->path, "%s/logs/node.log", f->dir);
        log_set_program("hoist-entrypoint");
        log_set_level(LOG_LEVEL_INFO);
        f->log = (struct joblog)JOBLOG_INIT;
        assert_int_equal(joblog_open(&f->log, f->path, NULL), 0);
        f->log.on_line = record_line;
        /* joblog tees to our stdout and stderr: keep the test output clean. */
        f->saved_out = dup(STDOUT_FILENO);
        f->saved_err = dup(STDERR_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        close(null);
        buf_reset(&lines);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        joblog_close(&f->log);
        dup2(f->saved_out, STDOUT_FILENO);
        dup2(f->saved_err, STDERR_FILENO);
        close(f->saved_out);
        close(f->saved_err);
        (void)fs_remove_tree(f->dir, NULL);
        free(f);
        buf_free(&lines);
        return 0;
}

static char *read_log(struct fixture *f)
{
        char *data = NULL;
        size_t len;

        assert_int_equal(fs_read_file(f->path, &data, &len, NULL), 0);
        return data;
}

/* Every line of TEXT matches "<stamp> <stream>|" followed by the texts in
 * EXPECT ("stdout|a", ...), in order. */
static void assert_stamped(const char *text, const char *const *expect, size_t n)
{
        regex_t re;
        regmatch_t m[2];
        const char *p = text;
        size_t i = 0;

        assert_int_equal(
                regcomp(&re,
                        "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                        "([a-z]+\\|[^\n]*)\n",
                        REG_EXTENDED),
                0);
        while (*p != '\0') {
                assert_int_equal(regexec(&re, p, 2, m, 0), 0);
                assert_true(i < n);
                assert_int_equal((size_t)(m[1].rm_eo - m[1].rm_so), strlen(expect[i]));
                assert_memory_equal(p + m[1].rm_so, expect[i], strlen(expect[i]));
                p += m[0].rm_eo;
                i++;
        }
        assert_int_equal(i, n);
        regfree(&re);
}

static void test_lines_across_chunks(void **state)
{
        struct fixture *f = *state;
        static const char *const expect[] = {"stdout|hello world", "stderr|oops", "stdout|",
                                             "stdout|a|b", "stderr|no newline"};
        _cleanup_free_ char *text = NULL;

        joblog_output(&f->log, INIT_STDOUT, "hel", 3);
        joblog_output(&f->log, INIT_STDERR, "oo", 2);
        joblog_output(&f->log, INIT_STDOUT, "lo world\n", 9);
        joblog_output(&f->log, INIT_STDERR, "ps\n", 3);
        joblog_output(&f->log, INIT_STDOUT, "\na|b\n", 5);
        joblog_output(&f->log, INIT_STDERR, "no newline", 10);
        assert_string_equal(lines.data, "out:hello world\nerr:oops\nout:\nout:a|b\n");
        joblog_flush(&f->log);
        joblog_flush(&f->log); /* nothing left: no empty line */
        assert_string_equal(lines.data,
                            "out:hello world\nerr:oops\nout:\nout:a|b\nerr:no newline\n");
        text = read_log(f);
        assert_stamped(text, expect, 5);
}

static void test_say_is_stamped_hoist(void **state)
{
        struct fixture *f = *state;
        static const char *const expect[] = {"hoist|hoist-entrypoint: attempt 1 started",
                                             "hoist|hoist-entrypoint: error: it broke"};
        _cleanup_free_ char *text = NULL;

        joblog_say(&f->log, "attempt %d started", 1);
        joblog_error(&f->log, "it %s", "broke");
        text = read_log(f);
        assert_stamped(text, expect, 2);
        assert_null(lines.data); /* our own lines are not the command's */
}

static void *log_from_thread(void *arg)
{
        (void)arg;
        log_info("checkpoints: published set %d (step %d)", 3, 300);
        return NULL;
}

/* What the entrypoint itself logs (restored and published checkpoint sets,
 * staging, uploads), from any thread, is in the job log too, as "hoist"
 * lines: `hoist logs` shows which checkpoint a resume used.  Debug lines
 * are not, and a quieter HOIST_LOG does not keep a line out of the log. */
static void test_own_log_lines_stored(void **state)
{
        struct fixture *f = *state;
        static const char *const expect[] = {
                "hoist|hoist-entrypoint: checkpoints: restored set 2 (step 200)", "stdout|step 201",
                "hoist|hoist-entrypoint: checkpoints: published set 3 (step 300)",
                "hoist|hoist-entrypoint: warning: upload slow, retrying",
                "hoist|hoist-entrypoint: input 'train': staged"};
        _cleanup_free_ char *text = NULL;
        pthread_t t;

        log_info("checkpoints: restored set %d (step %d)", 2, 200);
        joblog_output(&f->log, INIT_STDOUT, "step 201\n", 9);
        assert_int_equal(pthread_create(&t, NULL, log_from_thread, NULL), 0);
        assert_int_equal(pthread_join(t, NULL), 0);
        log_debug("not stored");
        log_warn("upload slow, retrying");
        log_set_level(LOG_LEVEL_ERROR);
        log_info("input 'train': staged");
        log_set_level(LOG_LEVEL_INFO);
        joblog_close(&f->log);
        log_info("after the log is closed: not stored");
        text = read_log(f);
        assert_stamped(text, expect, 5);
        assert_string_equal(lines.data, "out:step 201\n");
}

static void test_long_line_in_pieces(void **state)
{
        struct fixture *f = *state;
        size_t n = JOBLOG_LINE_MAX * 2 + 10;
        _cleanup_free_ char *big = malloc(n + 1);
        _cleanup_free_ char *text = NULL;
        size_t count = 0;

        memset(big, 'x', n);
        big[n] = '\n';
        joblog_output(&f->log, INIT_STDOUT, big, n / 3);
        joblog_output(&f->log, INIT_STDOUT, big + n / 3, n + 1 - n / 3);
        for (const char *p = lines.data; (p = strchr(p, '\n')) != NULL; p++)
                count++;
        assert_int_equal(count, 3); /* two full pieces and the rest */
        assert_int_equal(lines.len, n + 3 * strlen("out:\n"));
        text = read_log(f);
        assert_non_null(strstr(text, "stdout|xxxx"));
}

/* A line of exactly JOBLOG_LINE_MAX bytes is one piece: its newline, in the
 * next chunk or the same, adds no empty line. */
static void test_line_of_exactly_max(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *big = malloc(JOBLOG_LINE_MAX + 1);

        memset(big, 'y', JOBLOG_LINE_MAX);
        big[JOBLOG_LINE_MAX] = '\n';
        joblog_output(&f->log, INIT_STDOUT, big, JOBLOG_LINE_MAX);
        joblog_output(&f->log, INIT_STDOUT, "\nnext\n", 6);
        joblog_output(&f->log, INIT_STDERR, big, JOBLOG_LINE_MAX + 1);
        joblog_output(&f->log, INIT_STDERR, "after\n", 6);
        assert_int_equal(lines.len, 2 * (JOBLOG_LINE_MAX + 5) + strlen("out:next\nerr:after\n"));
        assert_memory_equal(lines.data + JOBLOG_LINE_MAX + 5, "out:next\nerr:", 13);
        assert_string_equal(lines.data + lines.len - 10, "err:after\n");
}

static void test_stderr_tail(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *tail = NULL;

        assert_null(joblog_stderr_tail(&f->log));
        joblog_output(&f->log, INIT_STDOUT, "not this\n", 9);
        joblog_output(&f->log, INIT_STDERR, "step 1\r\xff bad\x01\nCUDA out of memory\n  \n", 36);
        tail = joblog_stderr_tail(&f->log);
        assert_string_equal(tail, "step 1\n? bad?\nCUDA out of memory");
}

static void test_text_and_time(void **state)
{
        char stamp[25];
        _cleanup_free_ char *t = joblog_text("caf\xc3\xa9\t\x1b[0m\xc3", 11);

        (void)state;
        assert_string_equal(t, "caf\xc3\xa9\t?[0m?");
        joblog_format_time(0, stamp);
        assert_string_equal(stamp, "1970-01-01T00:00:00.000Z");
        joblog_format_time(1795808400123LL, stamp);
        assert_string_equal(stamp, "2026-11-27T19:40:00.123Z");
}

/* Secrets split across reads: redacted in the stored lines, on_line and
 * the stderr tail; the console (our stdout) gets the same bytes. */
static void test_redacted_across_chunks(void **state)
{
        struct fixture *f = *state;
        static const char *const expect[] = {
                "hoist|hoist-entrypoint: key [secret TOKEN] said", "stdout|tok=[secret TOKEN] ok",
                "stderr|[secret TOKEN]", "stdout|tok=TOKEN-ish", "stdout|s3cr3t"};
        struct redact *r = redact_new();
        _cleanup_free_ char *text = NULL, *tail = NULL;

        redact_add(r, "TOKEN", "s3cr3t-v4lue");
        f->log.redact = r;
        joblog_say(&f->log, "key %s said", "s3cr3t-v4lue");
        joblog_output(&f->log, INIT_STDOUT, "tok=s3c", 7);
        joblog_output(&f->log, INIT_STDOUT, "r3t-v", 5);
        joblog_output(&f->log, INIT_STDOUT, "4lue ok\n", 8);
        joblog_output(&f->log, INIT_STDERR, "s3cr3t-v4lu", 11);
        joblog_output(&f->log, INIT_STDERR, "e\n", 2);
        /* a start of the value that the stream's end shows was none */
        joblog_output(&f->log, INIT_STDOUT, "tok=TOKEN-ish\ns3cr3t", 20);
        assert_string_equal(lines.data,
                            "out:tok=[secret TOKEN] ok\nerr:[secret TOKEN]\nout:tok=TOKEN-ish\n");
        joblog_flush(&f->log);
        assert_string_equal(lines.data, "out:tok=[secret TOKEN] ok\nerr:[secret TOKEN]\n"
                                        "out:tok=TOKEN-ish\nout:s3cr3t\n");
        text = read_log(f);
        assert_stamped(text, expect, 5);
        tail = joblog_stderr_tail(&f->log);
        assert_string_equal(tail, "[secret TOKEN]");
        f->log.redact = NULL;
        redact_free(r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_lines_across_chunks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_say_is_stamped_hoist, setup, teardown),
                cmocka_unit_test_setup_teardown(test_own_log_lines_stored, setup, teardown),
                cmocka_unit_test_setup_teardown(test_long_line_in_pieces, setup, teardown),
                cmocka_unit_test_setup_teardown(test_line_of_exactly_max, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stderr_tail, setup, teardown),
                cmocka_unit_test_setup_teardown(test_redacted_across_chunks, setup, teardown),
                cmocka_unit_test(test_text_and_time),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
