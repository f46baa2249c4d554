/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "providers/provider.h"
#include "runner/cli/home.h"
#include "runner/control/reconcile.h"
#include "runner/control/store.h"
#include "runner/job/jobcancel.h"
#include "xalloc.h"

struct fixture {
        char dir[64];
        struct hoist_home home;
};

static int setup(void **state)
{
        struct fixture *f = xzalloc(sizeof *f);

        strcpy(f->dir, "/tmp/hoist-reconcile-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->home.dir = f->dir;
        f->home.run_dir = path_join(f->dir, "run");
        f->home.db_path = path_join(f->dir, "hoist.db");
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        assert_int_equal(fs_remove_tree(f->dir, NULL), 0);
        free(f->home.run_dir);
        free(f->home.db_path);
        free(f);
        return 0;
}

static int64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whoever starts an attempt holds the job's lock; hoist serve's pass (no
 * wait) and a CLI (a bounded wait) both find it taken, in this process or
 * another, and get it once it is let go. */
static void test_job_lock(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        int held = -1, other = -1, status, seen[2];
        char c;
        int64_t t0;
        pid_t pid;

        assert_int_equal(reconcile_lock_job(&f->home, "j-000000000001", 0, &held, &err), 1);
        assert_true(held >= 0);
        assert_int_equal(reconcile_lock_job(&f->home, "j-000000000001", 0, &other, &err), 0);
        assert_int_equal(other, -1);
        t0 = mono_ms();
        assert_int_equal(reconcile_lock_job(&f->home, "j-000000000001", 200, &other, &err), 0);
        assert_true(mono_ms() - t0 >= 200);
        /* Another job is another lock. */
        assert_int_equal(reconcile_lock_job(&f->home, "j-000000000002", 0, &other, &err), 1);
        close(other);
        other = -1;

        assert_int_equal(pipe(seen), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int fd = -1, r1, r2;

                /* Not our copy of the parent's lock: another process's. */
                close(held);
                /* Held by the parent: busy; then the parent lets go. */
                r1 = reconcile_lock_job(&f->home, "j-000000000001", 0, &fd, NULL);

                (void)!write(seen[1], "x", 1);
                r2 = reconcile_lock_job(&f->home, "j-000000000001", 30000, &fd, NULL);
                _exit(r1 == 0 && r2 == 1 ? 0 : 1);
        }
        close(seen[1]);
        assert_int_equal(read(seen[0], &c, 1), 1);
        close(seen[0]);
        close(held);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_null(err);
}

/* ---- hoist serve's pass: each provider asked on its schedule ---- */

static int64_t fake_now;

static int64_t fake_clock(void)
{
        return fake_now;
}

static void put(const struct fixture *f, const char *key, const char *text)
{
        _cleanup_free_ char *path = xasprintf("%s/storage/%s", f->dir, key);
        _cleanup_free_ char *dir = xstrdup(path);

        *strrchr(dir, '/') = '\0';
        assert_int_equal(fs_mkdir_p(dir, 0700, NULL), 0);
        assert_int_equal(fs_write_file_atomic(path, text, strlen(text), 0600, NULL), 0);
}

/* A job of the local provider whose container engine is ENGINE (a script
 * of the test), in the fixture's file:// storage, with a job.json of
 * NODES nodes. */
static void insert_job_of(struct fixture *f, struct store *st, const char *id, const char *provider,
                          const char *engine, int nodes)
{
        _cleanup_free_ char *url = xasprintf("file://%s/storage", f->dir);
        _cleanup_free_ char *key = xasprintf("jobs/%s/job.json", id);
        _cleanup_free_ char *spec = xasprintf(
                "{\"version\": \"hoist/v1\", \"id\": \"%s\", \"storage\": {\"endpoint\": \"%s\"}, "
                "\"distributed\": {\"nodes\": %d}}",
                id, url, nodes);
        struct hoist_error *err = NULL;
        struct job_record job = {
                .id = (char *)id,
                .name = (char *)"t",
                .provider = (char *)provider,
                .runtime = (char *)engine,
                .provider_ref = (char *)"c1",
                .storage_url = url,
                .spec_key = key,
                .state = JOB_RUNNING,
                .exit_code = -1,
                .attempt = 1,
        };

        put(f, key, spec);
        assert_int_equal(store_insert_job(st, &job, &err), 0);
        assert_null(err);
}

static void insert_job(struct fixture *f, struct store *st, const char *id, const char *engine,
                       int nodes)
{
        insert_job_of(f, st, id, "local", engine, nodes);
}

/* The local provider asks ENGINE `inspect`: a script that counts the asks
 * in DIR/asks and answers with DIR/answer (empty: an answer status()
 * cannot read, an error); `rm` (release) succeeds. */
static char *write_engine(const struct fixture *f)
{
        char *engine = path_join(f->dir, "engine");
        _cleanup_free_ char *text = xasprintf("#!/bin/sh\n[ \"$1\" = inspect ] || exit 0\n"
                                              "echo ask >>%s/asks\ncat %s/answer\n",
                                              f->dir, f->dir);

        assert_int_equal(fs_write_file_atomic(engine, text, strlen(text), 0700, NULL), 0);
        return engine;
}

static void engine_answers(const struct fixture *f, const char *answer)
{
        _cleanup_free_ char *path = path_join(f->dir, "answer");

        assert_int_equal(fs_write_file_atomic(path, answer, strlen(answer), 0600, NULL), 0);
}

static int engine_asks(const struct fixture *f)
{
        _cleanup_free_ char *path = path_join(f->dir, "asks");
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int n = 0;

        if (fs_read_file(path, &text, &len, NULL) < 0)
                return 0;
        for (size_t i = 0; i < len; i++)
                n += text[i] == '\n';
        return n;
}

static enum job_state job_state_of(struct store *st, const char *id)
{
        _cleanup_job_record_ struct job_record *job = NULL;

        assert_int_equal(store_get_job(st, id, &job, NULL), 0);
        return job->state;
}

/* A pass every (simulated) second for SECONDS seconds. */
static void passes(const struct fixture *f, struct store *st, struct reconcile_pass *p, int seconds)
{
        for (int i = 0; i < seconds; i++) {
                struct hoist_error *err = NULL;
                assert_int_equal(reconcile_pass(&f->home, st, p, &err), 0);
                assert_null(err);
                fake_now += 1000;
        }
}

/* A provider that cannot answer is asked less and less often (2, 4, 8 ...
 * up to 60 s apart), and every second again once it answers; a result in
 * storage is applied on the next pass all the same. */
static void test_pass_backs_off(void **state)
{
        struct fixture *f = *state;
        _cleanup_store_ struct store *st = NULL;
        _cleanup_free_ char *engine = write_engine(f);
        struct reconcile_pass p = {.now_ms = fake_clock};
        struct hoist_error *err = NULL;

        assert_int_equal(store_open(f->home.db_path, &st, &err), 0);
        insert_job(f, st, "j-0000000000a1", engine, 1);
        engine_answers(f, "");
        fake_now = 1000000;
        /* 121 passes, t = 0 .. 120 s: asked at 0, 2, 6, 14, 30 and 62 s. */
        passes(f, st, &p, 121);
        assert_int_equal(engine_asks(f), 6);
        assert_int_equal(p.sched.n, 1);
        assert_int_equal(p.sched.e[0].failures, 6);
        assert_int_equal(p.sched.e[0].wait_ms, 60000);
        /* One warning for the standing problem. */
        assert_int_equal(p.n, 1);
        assert_non_null(strstr(p.warned[0].msg, "j-0000000000a1"));
        assert_int_equal(job_state_of(st, "j-0000000000a1"), JOB_RUNNING);

        /* It answers: once a second from its next ask on (at 122 s). */
        engine_answers(f, "running 0\n");
        passes(f, st, &p, 2); /* 121, 122 s */
        assert_int_equal(engine_asks(f), 7);
        passes(f, st, &p, 10);
        assert_int_equal(engine_asks(f), 17);
        assert_int_equal(p.sched.e[0].failures, 0);
        assert_int_equal(p.n, 0); /* the warning is forgotten */

        /* It fails again: the wait starts over at 2 s, and a result written
         * meanwhile is applied on the next pass without asking. */
        engine_answers(f, "");
        passes(f, st, &p, 1);
        assert_int_equal(engine_asks(f), 18);
        put(f, "jobs/j-0000000000a1/result.json",
            "{\"job_id\": \"j-0000000000a1\", \"status\": \"succeeded\", \"exit_code\": 0, "
            "\"attempt\": 1}");
        passes(f, st, &p, 1);
        assert_int_equal(engine_asks(f), 18);
        assert_int_equal(job_state_of(st, "j-0000000000a1"), JOB_SUCCEEDED);
        /* A finished job leaves the schedule. */
        passes(f, st, &p, 1);
        assert_int_equal(p.sched.n, 0);
        reconcile_pass_done(&p);
}

static void put_result(const struct fixture *f, const char *key, const char *node,
                       const char *status, int code, const char *reason, int64_t finished)
{
        _cleanup_free_ char *text = xasprintf(
                "{\"job_id\": \"j\", \"node\": \"%s\", \"status\": \"%s\", \"exit_code\": %d, "
                "\"reason\": \"%s\", \"finished_at_ms\": %lld, \"attempt\": 1}",
                node, status, code, reason, (long long)finished);

        put(f, key, text);
}

/* Contract C3: a two-node job whose rank 0 has written result.json waits
 * while its engine runs it and the other node has no record; the first
 * failed node decides, naming the node; a job whose every node has its
 * record is decided without asking the engine. */
static void test_multi_node_outcome(void **state)
{
        struct fixture *f = *state;
        _cleanup_store_ struct store *st = NULL;
        _cleanup_free_ char *engine = write_engine(f);
        _cleanup_job_record_ struct job_record *job = NULL;
        struct hoist_error *err = NULL;
        const char *id = "j-0000000000b1";

        assert_int_equal(store_open(f->home.db_path, &st, &err), 0);
        insert_job(f, st, id, engine, 2);
        engine_answers(f, "running 0\n");
        put_result(f, "jobs/j-0000000000b1/result.json", "node0", "interrupted", 143,
                   "stopped by SIGTERM", 300);
        put_result(f, "jobs/j-0000000000b1/results/node0.json", "node0", "interrupted", 143,
                   "stopped by SIGTERM", 300);
        assert_int_equal(store_get_job(st, id, &job, &err), 0);
        assert_int_equal(reconcile_job(&f->home, st, &job, &err), 0);
        assert_int_equal(job->state, JOB_RUNNING);
        assert_int_equal(engine_asks(f), 1);
        /* Node 1's record: every node has one, no need to ask. */
        put_result(f, "jobs/j-0000000000b1/results/node1.json", "node1", "failed", 1,
                   "worker 2 exited with code 1", 200);
        assert_int_equal(reconcile_job(&f->home, st, &job, &err), 0);
        assert_int_equal(engine_asks(f), 1);
        assert_int_equal(job->state, JOB_FAILED);
        assert_int_equal(job->exit_code, 1);
        assert_string_equal(job->reason, "node node1: worker 2 exited with code 1");
        job_record_free(TAKE_PTR(job));

        /* Once the engine says the job ended, the records there decide:
         * here rank 0's success, node 1's record never written. */
        id = "j-0000000000b2";
        insert_job(f, st, id, engine, 2);
        put_result(f, "jobs/j-0000000000b2/result.json", "node0", "succeeded", 0, "", 300);
        engine_answers(f, "exited 0\n");
        assert_int_equal(store_get_job(st, id, &job, &err), 0);
        assert_int_equal(reconcile_job(&f->home, st, &job, &err), 0);
        assert_int_equal(job->state, JOB_SUCCEEDED);
        assert_int_equal(engine_asks(f), 2);
        job_record_free(TAKE_PTR(job));

        /* A single-node job is decided by result.json at once, as ever. */
        id = "j-0000000000b3";
        insert_job(f, st, id, engine, 1);
        put_result(f, "jobs/j-0000000000b3/result.json", "main", "failed", 2, "exit code 2", 1);
        assert_int_equal(store_get_job(st, id, &job, &err), 0);
        assert_int_equal(reconcile_job(&f->home, st, &job, &err), 0);
        assert_int_equal(job->state, JOB_FAILED);
        assert_string_equal(job->reason, "exit code 2");
        assert_int_equal(engine_asks(f), 2);
        assert_null(err);
}

/* ---- an engine that requeues (caps.requeues), as Slurm does ---- */

static enum job_state requeuer_state = JOB_RUNNING;
static int requeuer_asks;

static int requeuer_status(const struct job_record *job, const char *state_dir,
                           struct provider_status *ret, struct hoist_error **err)
{
        (void)job;
        (void)state_dir;
        (void)err;
        requeuer_asks++;
        ret->state = requeuer_state;
        ret->exit_code = job_state_terminal(requeuer_state) ? 143 : -1;
        ret->reason = job_state_terminal(requeuer_state) ? xstrdup("PREEMPTED") : NULL;
        return 0;
}

static const struct provider_ops requeuer = {
        .name = "requeuer",
        .remote = 1,
        .caps = {.multi_node = 1, .requeues = 1},
        .status = requeuer_status,
};

static struct job_record *get_job(struct store *st, const char *id)
{
        struct job_record *job = NULL;

        assert_int_equal(store_get_job(st, id, &job, NULL), 0);
        return job;
}

/* The entrypoint reported the attempt interrupted, but the engine queues
 * and runs it again: hoist follows it ("requeued by requeuer"), starts no
 * attempt of its own, and decides once the engine's run ends.  The
 * job.interrupted event's state is followed back the same way, and an
 * interrupted attempt the engine let go is decided as before.  The pass
 * does not take a requeue-able interrupted job for settled before it could
 * ask the engine. */
static void test_requeue_followed(void **state)
{
        struct fixture *f = *state;
        _cleanup_store_ struct store *st = NULL;
        struct job_record *job = NULL;
        struct hoist_error *err = NULL;
        struct reconcile_pass p = {.now_ms = fake_clock};
        const char *id = "j-0000000000d1";

        if (provider_find("requeuer") == NULL)
                assert_int_equal(provider_register(&requeuer), 0);
        assert_int_equal(provider_register(&requeuer), -1); /* its name is taken */
        assert_int_equal(store_open(f->home.db_path, &st, &err), 0);
        insert_job_of(f, st, id, "requeuer", "process", 1);
        put_result(f, "jobs/j-0000000000d1/result.json", "main", "interrupted", 143,
                   "stopped by SIGTERM", 100);
        /* Requeued: queued again. */
        requeuer_state = JOB_QUEUED;
        job = get_job(st, id);
        assert_int_equal(reconcile_job(&f->home, st, &job, &err), 0);
        assert_int_equal(job->state, JOB_QUEUED);
        assert_string_equal(job->reason, "requeued by requeuer");
        assert_int_equal(job->attempt, 1);
        /* Running again. */
        requeuer_state = JOB_RUNNING;
        assert_int_equal(reconcile_job(&f->home, st, &job, &err), 0);
        assert_int_equal(job->state, JOB_RUNNING);
        assert_string_equal(job->reason, "requeued by requeuer");
        /* A late job.interrupted event of the first run: followed back. */
        assert_int_equal(store_transition(st, id, JOB_INTERRUPTED, "interrupted", &err), 0);
        assert_int_equal(reconcile_job(&f->home, st, &job, &err), 0);
        assert_int_equal(job->state, JOB_RUNNING);
        assert_int_equal(job->attempt, 1);
        /* The engine's second run ends: its result decides. */
        put_result(f, "jobs/j-0000000000d1/result.json", "main", "succeeded", 0, "", 200);
        assert_int_equal(reconcile_job(&f->home, st, &job, &err), 0);
        assert_int_equal(job->state, JOB_SUCCEEDED);
        job_record_free(job);

        /* A node failed before the entrypoint could say anything, and the
         * engine queued the running job again: followed back too. */
        id = "j-0000000000d4";
        insert_job_of(f, st, id, "requeuer", "process", 1);
        requeuer_state = JOB_QUEUED;
        job = get_job(st, id);
        assert_int_equal(reconcile_job(&f->home, st, &job, &err), 0);
        assert_int_equal(job->state, JOB_QUEUED);
        assert_string_equal(job->reason, "requeued by requeuer");
        assert_int_equal(job->attempt, 1);
        requeuer_state = JOB_SUCCEEDED;
        put_result(f, "jobs/j-0000000000d4/result.json", "main", "succeeded", 0, "", 300);
        assert_int_equal(reconcile_job(&f->home, st, &job, &err), 0);
        assert_int_equal(job->state, JOB_SUCCEEDED);
        job_record_free(job);

        /* Interrupted, and the engine let it go (preempted, no requeue). */
        id = "j-0000000000d2";
        insert_job_of(f, st, id, "requeuer", "process", 1);
        put_result(f, "jobs/j-0000000000d2/result.json", "main", "interrupted", 143,
                   "stopped by SIGTERM", 100);
        assert_int_equal(store_transition(st, id, JOB_INTERRUPTED, NULL, &err), 0);
        requeuer_state = JOB_CANCELED;
        /* The pass's first look asks the engine (a new job is due): the
         * engine let go, so the job stays interrupted (no retry:), settled. */
        requeuer_asks = 0;
        fake_now = 5000000;
        assert_int_equal(reconcile_pass(&f->home, st, &p, &err), 0);
        assert_int_equal(requeuer_asks, 1);
        job = get_job(st, id);
        assert_int_equal(job->state, JOB_INTERRUPTED);
        assert_int_equal(job->exit_code, 143);
        job_record_free(job);
        assert_int_equal(p.n_settled, 1);

        /* Not due for the engine: undecided, so not settled; once due, the
         * engine's requeue is followed. */
        id = "j-0000000000d3";
        insert_job_of(f, st, id, "requeuer", "process", 1);
        assert_int_equal(store_transition(st, id, JOB_INTERRUPTED, NULL, &err), 0);
        requeuer_state = JOB_RUNNING;
        assert_int_equal(reconcile_pass(&f->home, st, &p, &err), 0); /* asks: answered */
        job = get_job(st, id);
        assert_int_equal(job->state, JOB_RUNNING);
        job_record_free(job);
        assert_int_equal(store_transition(st, id, JOB_INTERRUPTED, NULL, &err), 0);
        fake_now += 100; /* before the next ask */
        requeuer_asks = 0;
        assert_int_equal(reconcile_pass(&f->home, st, &p, &err), 0);
        assert_int_equal(requeuer_asks, 0);
        assert_int_equal(p.n_settled, 1); /* j-...d2's, not d3's */
        assert_string_not_equal(p.settled[0].job_id, id);
        fake_now += 1000;
        assert_int_equal(reconcile_pass(&f->home, st, &p, &err), 0);
        job = get_job(st, id);
        assert_int_equal(job->state, JOB_RUNNING);
        assert_string_equal(job->reason, "requeued by requeuer");
        job_record_free(job);
        reconcile_pass_done(&p);
        assert_null(err);
}

/* ---- a cancel whose attempt is resumed before it looks again ---- */

static struct store *resumer_store;

static int resumer_status(const struct job_record *job, const char *state_dir,
                          struct provider_status *ret, struct hoist_error **err)
{
        (void)job;
        (void)state_dir;
        (void)err;
        ret->state = JOB_RUNNING;
        ret->exit_code = -1;
        return 0;
}

/* Stops attempt 1, and before cancel returns, hoist serve records it
 * canceled and a resume starts attempt 2 (the dashboard's cancel, then its
 * resume, in CI). */
static int resumer_cancel(const struct job_record *job, const char *state_dir, int64_t grace_s,
                          struct hoist_error **err)
{
        (void)state_dir;
        (void)grace_s;
        if (store_finish_attempt(resumer_store, job->id, 1, JOB_CANCELED, 143,
                                 "canceled by the user", err) < 0 ||
            store_new_attempt(resumer_store, job->id, 1, err) < 0 ||
            store_transition(resumer_store, job->id, JOB_RUNNING, NULL, err) < 0)
                return -1;
        return 0;
}

static const struct provider_ops resumer = {
        .name = "resumer",
        .status = resumer_status,
        .cancel = resumer_cancel,
};

/* The cancel of attempt 1 ends attempt 1 only: the attempt a resume started
 * meanwhile keeps running. */
static void test_cancel_spares_next_attempt(void **state)
{
        struct fixture *f = *state;
        _cleanup_store_ struct store *st = NULL;
        struct job_record *job = NULL;
        struct hoist_error *err = NULL;
        const char *id = "j-0000000000e1";

        if (provider_find("resumer") == NULL)
                assert_int_equal(provider_register(&resumer), 0);
        assert_int_equal(store_open(f->home.db_path, &st, &err), 0);
        resumer_store = st;
        insert_job_of(f, st, id, "resumer", "process", 1);
        job = get_job(st, id);
        assert_int_equal(jobcancel_attempt(&f->home, st, &job, 1, "canceled by the user", 1, &err),
                         0);
        assert_null(err);
        job_record_free(job);
        job = get_job(st, id);
        assert_int_equal(job->attempt, 2);
        assert_int_equal(job->state, JOB_RUNNING);
        job_record_free(job);
        resumer_store = NULL;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_job_lock, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pass_backs_off, setup, teardown),
                cmocka_unit_test_setup_teardown(test_multi_node_outcome, setup, teardown),
                cmocka_unit_test_setup_teardown(test_requeue_followed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancel_spares_next_attempt, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
