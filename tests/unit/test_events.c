/* SPDX-License-Identifier: MIT */
/* entrypoint/events: persistence and throttling, without a receiver (the
 * delivery path is tests/integration/test_events.sh, against npm
 * standardwebhooks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "entrypoint/events.h"
#include "fsutil.h"
#include "jobspec.h"
#include "storage.h"
#include "xalloc.h"

struct fixture {
        char dir[64];
        struct jobspec *spec;
};

static int setup(void **state)
{
        struct fixture *f = xzalloc(sizeof *f);

        strcpy(f->dir, "/tmp/hoist-events-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->spec = jobspec_new();
        f->spec->id = xstrdup("j-0000000000ev");
        f->spec->storage.endpoint = xasprintf("file://%s", f->dir);
        f->spec->attempt = 2;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        jobspec_free(f->spec);
        assert_int_equal(fs_remove_tree(f->dir, NULL), 0);
        free(f);
        return 0;
}

static int64_t mono_ms(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The stored events, in key order. */
static json_t *stored(const struct fixture *f)
{
        struct storage *st = NULL;
        char **keys = NULL;
        json_t *all = json_array();

        assert_int_equal(storage_open(f->spec->storage.endpoint, &st, NULL), 0);
        assert_int_equal(storage_list(st, "jobs/j-0000000000ev/events/", &keys, NULL), 0);
        for (size_t i = 0; keys[i] != NULL; i++) {
                char *text = NULL;
                size_t len = 0;
                assert_int_equal(storage_get_bytes(st, keys[i], &text, &len, NULL), 0);
                json_t *e = json_loadb(text, len, 0, NULL);
                assert_non_null(e);
                (void)json_array_append_new(all, e);
                free(text);
        }
        strv_free(keys);
        storage_close(st);
        return all;
}

static const char *type_of(json_t *all, size_t i)
{
        return json_string_value(json_object_get(json_array_get(all, i), "type"));
}

static void test_persist_and_throttle(void **state)
{
        struct fixture *f = *state;
        struct events *ev = NULL;
        json_t *all, *e;

        assert_int_equal(events_open(f->spec, "node-1", &ev, NULL), 0);
        events_emit(ev, "job.starting", "starting", NULL);
        for (int i = 0; i < 150; i++)
                events_emit(ev, "job.log", "running",
                            json_pack("{s:s, s:i}", "stream", "stdout", "line", i));
        for (int i = 1; i <= 5; i++)
                events_emit(ev, "job.metric", "running",
                            json_pack("{s:i, s:f}", "step", i, "loss", 1.0 / i));
        events_emit(ev, "job.metric", "running", json_pack("{s:i}", "epoch", 1));
        events_emit_final(ev, "succeeded", 0, 0, NULL);
        events_finish(ev, mono_ms() + 5000); /* no thread: delivers from here */
        events_close(ev);

        all = stored(f);
        /* Usually: starting, one coalesced log, the step metric at once, the
         * epoch metric at once, the latest step metric (flushed before the
         * final event), the final event.  A slow machine may cut the
         * one-second windows elsewhere; what holds regardless: */
        size_t n = json_array_size(all), lines = 0, dropped = 0, steps = 0;
        int64_t last_step = 0;
        assert_true(n >= 6);
        assert_string_equal(type_of(all, 0), "job.starting");
        for (size_t i = 1; i + 1 < n; i++) {
                json_t *data = json_object_get(json_array_get(all, i), "data");
                if (strcmp(type_of(all, i), "job.log") == 0) {
                        assert_true(json_array_size(json_object_get(data, "lines")) <= 100);
                        lines += json_array_size(json_object_get(data, "lines"));
                        dropped += (size_t)json_integer_value(json_object_get(data, "dropped"));
                } else if (json_object_get(data, "step") != NULL) {
                        assert_string_equal(type_of(all, i), "job.metric");
                        assert_true(json_integer_value(json_object_get(data, "step")) > last_step);
                        last_step = json_integer_value(json_object_get(data, "step"));
                        steps++;
                }
        }
        assert_int_equal(lines + dropped, 150);
        assert_true(dropped > 0);       /* at most 100 lines a second */
        assert_int_equal(last_step, 5); /* the latest values win */
        assert_true(steps >= 1 && steps <= 5);
        assert_string_equal(type_of(all, n - 1), "job.succeeded");
        e = json_array_get(all, n - 1);
        char want[64];
        (void)snprintf(want, sizeof want, "j-0000000000ev.2.node-1.%zu", n - 1);
        assert_string_equal(json_string_value(json_object_get(e, "id")), want);
        assert_string_equal(json_string_value(json_object_get(e, "node")), "node-1");
        assert_string_equal(json_string_value(json_object_get(e, "status")), "succeeded");
        assert_int_equal(json_object_size(e), 7);
        json_decref(all);
}

static void test_thread_and_null(void **state)
{
        struct fixture *f = *state;
        struct events *ev = NULL;
        json_t *all;

        events_emit(NULL, "job.log", "running", json_object()); /* a no-op, no leak */
        events_finish(NULL, 0);
        events_close(NULL);
        assert_int_equal(events_open(f->spec, "n/2", &ev, NULL), 0);
        assert_int_equal(events_start(ev, NULL), 0);
        for (int i = 0; i < 20; i++)
                events_emit(ev, "job.checkpoint", "running", json_pack("{s:i}", "step", i));
        events_finish(ev, mono_ms() + 5000);
        events_close(ev);
        all = stored(f);
        assert_int_equal(json_array_size(all), 20);
        assert_string_equal(json_string_value(json_object_get(json_array_get(all, 19), "node")),
                            "n/2");
        json_decref(all);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_persist_and_throttle, setup, teardown),
                cmocka_unit_test_setup_teardown(test_thread_and_null, setup, teardown),
        };
        return cmocka_run_group_tests_name("events", tests, NULL, NULL);
}
