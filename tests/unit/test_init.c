/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's hooks (entrypoint/init.h): on_spawned, the watches,
 * on_tick, and init_request_stop() from the loop and from another thread,
 * against real child processes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "entrypoint/checkpoint.h"
#include "entrypoint/init.h"

/* Exits 9 on SIGTERM, else runs until stopped. */
static char *const stoppable[] = {
        (char *)"sh", (char *)"-c",
        (char *)"trap 'exit 9' TERM; echo ready; while :; do sleep 0.05; done", NULL};

struct probe {
        pid_t pid;
        int pipe[2]; /* on_spawned writes, the watch reads */
        int watch_fired;
        int ticks;
        enum init_stop_reason ask; /* requested from on_tick once the watch fired */
        pthread_t thread;
        int threaded;
        int term_child_then_self; /* a TERM for the command, then one for us */
        int sent_child, sent_self;
        struct buf out;
};

static void *request_from_thread(void *arg)
{
        (void)arg;
        init_request_stop(INIT_STOP_GPU_FAULT);
        return NULL;
}

static void on_spawned(void *userdata, pid_t pid)
{
        struct probe *p = userdata;

        p->pid = pid;
        assert_int_equal(write(p->pipe[1], "x", 1), 1);
        if (p->threaded)
                assert_int_equal(pthread_create(&p->thread, NULL, request_from_thread, NULL), 0);
}

static void on_ready(void *userdata)
{
        struct probe *p = userdata;
        char c;

        assert_int_equal(read(p->pipe[0], &c, 1), 1);
        p->watch_fired++;
}

static void on_tick(void *userdata)
{
        struct probe *p = userdata;

        p->ticks++;
        if (p->term_child_then_self && strstr(p->out.data ? p->out.data : "", "ready")) {
                if (!p->sent_child) {
                        p->sent_child = kill(p->pid, SIGTERM) == 0;
                } else if (!p->sent_self && kill(p->pid, 0) < 0) {
                        /* reaped: our TERM comes after the command's end */
                        p->sent_self = kill(getpid(), SIGTERM) == 0;
                }
        }
        if (p->watch_fired && p->ask != INIT_STOP_NONE &&
            strstr(p->out.data ? p->out.data : "", "ready"))
                init_request_stop(p->ask);
}

static void on_output(void *userdata, enum init_stream stream, const char *data, size_t len)
{
        struct probe *p = userdata;

        (void)stream;
        buf_append(&p->out, data, len);
}

/* The stop may come before the shell set its trap: then SIGTERM kills it. */
static int got_sigterm(const struct init_result *res)
{
        return res->exit_code == 9 || (res->end == INIT_SIGNALED && res->code == SIGTERM);
}

static void run(struct probe *p, char *const *argv, int64_t max_runtime_s, struct init_result *res)
{
        struct init_watch w;
        struct init_config cfg = {
                .argv = argv,
                .stop_grace_s = 5,
                .max_runtime_s = max_runtime_s,
                .on_output = on_output,
                .userdata = p,
                .on_spawned = on_spawned,
                .on_tick = on_tick,
                .tick_ms = 20,
        };

        assert_int_equal(pipe(p->pipe), 0);
        w = (struct init_watch){.fd = p->pipe[0], .on_ready = on_ready, .userdata = p};
        cfg.watches = &w;
        cfg.n_watches = 1;
        assert_int_equal(init_run(&cfg, res, NULL), 0);
        close(p->pipe[0]);
        close(p->pipe[1]);
}

static void test_hooks_and_stop_from_tick(void **state)
{
        struct probe p = {.ask = INIT_STOP_GPU_FAULT};
        struct init_result res;

        (void)state;
        run(&p, stoppable, 0, &res);
        assert_true(p.pid > 0);
        assert_int_equal(p.watch_fired, 1);
        assert_true(p.ticks >= 1);
        assert_int_equal(res.end, INIT_EXITED);
        assert_int_equal(res.code, 9); /* it got SIGTERM, as on a stop from outside */
        assert_int_equal(res.exit_code, 9);
        assert_int_equal(res.stop_reason, INIT_STOP_GPU_FAULT);
        assert_int_equal(res.stop_signal, 0); /* not from outside */
        assert_false(res.killed);
        /* The grace period began with the stop: 5 s from then. */
        assert_true(res.grace_end_ms > 0);
        assert_true(res.grace_end_ms - 5000 <= checkpoint_now_ms());
        assert_non_null(strstr(p.out.data, "ready\n"));
        buf_free(&p.out);
}

static void test_stop_from_a_thread(void **state)
{
        struct probe p = {.threaded = 1};
        struct init_result res;

        (void)state;
        run(&p, stoppable, 0, &res);
        assert_int_equal(pthread_join(p.thread, NULL), 0);
        assert_true(got_sigterm(&res));
        assert_int_equal(res.stop_reason, INIT_STOP_GPU_FAULT);
        buf_free(&p.out);
}

/* Slurm signals every process of a step: the command may end of its TERM
 * before the supervisor reads its own.  The stop is still from outside. */
static void test_term_after_the_command_ended(void **state)
{
        static char *const term_first[] = {
                (char *)"sh", (char *)"-c",
                (char *)"trap 'exit 9' TERM; (trap '' TERM; sleep 2) & echo ready; "
                        "while :; do sleep 0.05; done",
                NULL};
        struct probe p = {.term_child_then_self = 1};
        struct init_result res;

        (void)state;
        run(&p, term_first, 0, &res);
        assert_true(p.sent_child);
        assert_true(p.sent_self);
        assert_int_equal(res.exit_code, 9);
        assert_int_equal(res.stop_signal, SIGTERM);
        assert_int_equal(res.stop_reason, INIT_STOP_SIGNAL);
        buf_free(&p.out);
}

static void test_normal_exit_has_no_reason(void **state)
{
        static char *const ok[] = {(char *)"sh", (char *)"-c", (char *)"echo hi; exit 4", NULL};
        struct probe p = {0};
        struct init_result res;

        (void)state;
        run(&p, ok, 0, &res);
        assert_int_equal(res.exit_code, 4);
        assert_int_equal(res.stop_reason, INIT_STOP_NONE);
        assert_string_equal(p.out.data, "hi\n");
        buf_free(&p.out);
}

static void test_runtime_reason(void **state)
{
        struct probe p = {0};
        struct init_result res;

        (void)state;
        run(&p, stoppable, 1, &res);
        assert_int_equal(res.exit_code, 124);
        assert_true(res.timed_out);
        assert_int_equal(res.stop_reason, INIT_STOP_RUNTIME);
        buf_free(&p.out);
}

/* A request made while nothing runs applies to the next run (staging
 * happens before the spawn), and is used up by it. */
static void test_request_before_run(void **state)
{
        struct probe p = {0};
        struct init_result res;

        (void)state;
        assert_int_equal(init_setup(NULL), 0);
        init_request_stop(INIT_STOP_GPU_FAULT);
        run(&p, stoppable, 0, &res);
        assert_true(got_sigterm(&res));
        assert_int_equal(res.stop_reason, INIT_STOP_GPU_FAULT);
        buf_free(&p.out);
        memset(&p, 0, sizeof p);
        {
                static char *const quick[] = {(char *)"true", NULL};
                run(&p, quick, 0, &res);
                assert_int_equal(res.exit_code, 0);
                assert_int_equal(res.stop_reason, INIT_STOP_NONE);
        }
}

/* A worker group of three (launcher: hoist): each its own environment;
 * worker 1 fails once the others are up, they get SIGTERM, and the group's
 * result is worker 1's. */
static void test_worker_group(void **state)
{
        char dir[] = "/tmp/hoist-test-init-XXXXXX";
        static char *const script[] = {
                (char *)"sh", (char *)"-c",
                (char *)"echo w=$W; "
                        "if [ \"$W\" = 1 ]; then "
                        "  i=0; while [ ! -e \"$D/up0\" ] || [ ! -e \"$D/up2\" ]; do "
                        "    i=$((i+1)); [ $i -lt 1200 ] || exit 99; /bin/sleep 0.05; done; "
                        "  exit 5; "
                        "fi; "
                        "trap 'echo term $W; exit 9' TERM; : >\"$D/up$W\"; "
                        "while :; do /bin/sleep 0.05; done",
                NULL};
        char *envs[3][3];
        char *const *worker_env[3];
        struct buf out = {0};
        struct init_result res;
        struct init_config cfg = {
                .argv = script,
                .stop_grace_s = 10,
                .on_output = on_output,
                .n_workers = 3,
                .worker_env = worker_env,
        };
        struct probe p = {0};

        (void)state;
        assert_non_null(mkdtemp(dir));
        for (int i = 0; i < 3; i++) {
                envs[i][0] = NULL;
                assert_true(asprintf(&envs[i][0], "W=%d", i) > 0);
                assert_true(asprintf(&envs[i][1], "D=%s", dir) > 0);
                envs[i][2] = NULL;
                worker_env[i] = envs[i];
        }
        cfg.userdata = &p;
        assert_int_equal(init_run(&cfg, &res, NULL), 0);
        out = p.out;
        buf_append(&out, "", 1);
        assert_int_equal(res.exit_code, 5);
        assert_int_equal(res.end, INIT_EXITED);
        assert_int_equal(res.code, 5);
        assert_int_equal(res.worker, 1);
        assert_int_equal(res.stop_reason, INIT_STOP_WORKER);
        assert_int_equal(res.stop_signal, 0);
        for (int i = 0; i < 3; i++) {
                char want[16];
                (void)snprintf(want, sizeof want, "w=%d\n", i);
                assert_non_null(strstr(out.data, want));
        }
        assert_non_null(strstr(out.data, "term 0\n"));
        assert_non_null(strstr(out.data, "term 2\n"));
        buf_free(&out);
        for (int i = 0; i < 3; i++) {
                free(envs[i][0]);
                free(envs[i][1]);
        }
        {
                char path[64];
                for (int i = 0; i < 3; i += 2) {
                        (void)snprintf(path, sizeof path, "%s/up%d", dir, i);
                        (void)unlink(path);
                }
                assert_int_equal(rmdir(dir), 0);
        }
}

/* Every worker succeeds: 0; the group ends when the last one does. */
static void test_worker_group_success(void **state)
{
        static char *const script[] = {(char *)"sh", (char *)"-c",
                                       (char *)"/bin/sleep 0.$W; echo done", NULL};
        char w0[] = "W=0", w1[] = "W=2";
        char *e0[] = {w0, NULL}, *e1[] = {w1, NULL};
        char *const *worker_env[] = {e0, e1};
        struct probe p = {0};
        struct init_result res;
        struct init_config cfg = {
                .argv = script,
                .stop_grace_s = 10,
                .on_output = on_output,
                .userdata = &p,
                .n_workers = 2,
                .worker_env = worker_env,
        };

        (void)state;
        assert_int_equal(init_run(&cfg, &res, NULL), 0);
        assert_int_equal(res.exit_code, 0);
        assert_int_equal(res.stop_reason, INIT_STOP_NONE);
        buf_append(&p.out, "", 1);
        assert_non_null(strstr(p.out.data, "done\ndone\n"));
        buf_free(&p.out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hooks_and_stop_from_tick),
                cmocka_unit_test(test_stop_from_a_thread),
                cmocka_unit_test(test_term_after_the_command_ended),
                cmocka_unit_test(test_normal_exit_has_no_reason),
                cmocka_unit_test(test_runtime_reason),
                cmocka_unit_test(test_request_before_run),
                cmocka_unit_test(test_worker_group),
                cmocka_unit_test(test_worker_group_success),
        };

        /* As the entrypoint does first: signals blocked before any thread. */
        if (init_setup(NULL) < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
