/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "entrypoint/logsync.h"
#include "fsutil.h"
#include "jobspec.h"
#include "storage.h"

#define KEY "jobs/ls/logs/main.log"

struct fixture {
        char dir[64];
        char log[128];
        char stored[160];
        struct jobspec *spec;
        struct storage *st;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof *f);
        _cleanup_free_ char *json = NULL;

        strcpy(f->dir, "/tmp/test-logsync.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->log, sizeof f->log, "%s/local.log", f->dir);
        snprintf(f->stored, sizeof f->stored, "%s/store/%s", f->dir, KEY);
        json = malloc(512);
        snprintf(json, 512,
                 "{\"version\": \"hoist/v1\", \"id\": \"ls\", \"command\": [\"true\"], "
                 "\"storage\": {\"endpoint\": \"file://%s/store\", \"prefix\": \"\"}}",
                 f->dir);
        assert_int_equal(jobspec_parse(json, strlen(json), "job.json", &f->spec, NULL), 0);
        {
                _cleanup_free_ char *url = malloc(256);
                snprintf(url, 256, "file://%s/store", f->dir);
                assert_int_equal(storage_open(url, &f->st, NULL), 0);
        }
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        storage_close(f->st);
        jobspec_free(f->spec);
        (void)fs_remove_tree(f->dir, NULL);
        free(f);
        unsetenv("HOIST_LOG_SYNC_S");
        return 0;
}

static void append(const char *path, const char *text)
{
        FILE *fp = fopen(path, "a");

        assert_non_null(fp);
        fputs(text, fp);
        fclose(fp);
}

/* 1 when the stored object holds exactly the local log. */
static int same(const struct fixture *f)
{
        _cleanup_free_ char *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;

        if (fs_read_file(f->log, &a, &na, NULL) < 0 || fs_read_file(f->stored, &b, &nb, NULL) < 0)
                return 0;
        return na == nb && memcmp(a, b, na) == 0;
}

static void test_thread_uploads_as_it_grows(void **state)
{
        struct fixture *f = *state;
        struct logsync *ls;
        struct timespec ts = {0, 50 * 1000000L};

        setenv("HOIST_LOG_SYNC_S", "0.1", 1);
        append(f->log, "first\n");
        ls = logsync_new(f->spec, f->log, KEY);
        assert_int_equal(logsync_start(ls, NULL), 0);
        for (int i = 0; i < 400 && !same(f); i++) /* a bound, not a timing assertion */
                nanosleep(&ts, NULL);
        assert_true(same(f));
        append(f->log, "second\n");
        for (int i = 0; i < 400 && !same(f); i++)
                nanosleep(&ts, NULL);
        assert_true(same(f));
        /* the last line goes up with the final flush, from this thread */
        append(f->log, "last words\n");
        assert_int_equal(logsync_finish(ls, f->st, NULL), 0);
        assert_true(same(f));
        logsync_free(ls);
}

static void test_finish_without_thread_and_unchanged(void **state)
{
        struct fixture *f = *state;
        struct logsync *ls;

        setenv("HOIST_LOG_SYNC_S", "0", 1); /* no thread: at the end only */
        append(f->log, "only line\n");
        ls = logsync_new(f->spec, f->log, KEY);
        assert_int_equal(logsync_start(ls, NULL), 0);
        assert_false(fs_exists(f->stored));
        assert_int_equal(logsync_finish(ls, f->st, NULL), 0);
        assert_true(same(f));
        /* nothing changed since: not sent again */
        assert_int_equal(unlink(f->stored), 0);
        assert_int_equal(logsync_finish(ls, f->st, NULL), 0);
        assert_false(fs_exists(f->stored));
        logsync_free(ls);
        logsync_free(NULL);
        assert_int_equal(logsync_finish(NULL, f->st, NULL), 0);
}

static void test_big_log_through_a_copy(void **state)
{
        struct fixture *f = *state;
        size_t n = LOGSYNC_MEMORY_MAX + 12345;
        _cleanup_free_ char *big = malloc(n + 1);
        _cleanup_free_ char *copy = NULL;
        struct logsync *ls;

        for (size_t i = 0; i < n; i++)
                big[i] = i % 80 == 79 ? '\n' : (char)('a' + i % 26);
        big[n] = '\0';
        append(f->log, big);
        setenv("HOIST_LOG_SYNC_S", "0", 1);
        ls = logsync_new(f->spec, f->log, KEY);
        assert_int_equal(logsync_finish(ls, f->st, NULL), 0);
        assert_true(same(f));
        copy = malloc(strlen(f->log) + 8);
        sprintf(copy, "%s.upload", f->log);
        assert_false(fs_exists(copy));
        logsync_free(ls);
}

static void test_bad_interval(void **state)
{
        struct fixture *f = *state;
        struct logsync *ls;

        setenv("HOIST_LOG_SYNC_S", "soon", 1); /* a warning, and the default */
        append(f->log, "x\n");
        ls = logsync_new(f->spec, f->log, KEY);
        assert_int_equal(logsync_start(ls, NULL), 0);
        assert_int_equal(logsync_finish(ls, f->st, NULL), 0);
        assert_true(same(f));
        logsync_free(ls);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_thread_uploads_as_it_grows, setup, teardown),
                cmocka_unit_test_setup_teardown(test_finish_without_thread_and_unchanged, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_big_log_through_a_copy, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_interval, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
