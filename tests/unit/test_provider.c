/* SPDX-License-Identifier: MIT */
/* The provider interface's launch lock, and the local provider's process
 * launcher: it runs nothing until the job's ref is recorded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "jobspec.h"
#include "proc.h"
#include "providers/provider.h"
#include "helpers/testutil.h"

struct fixture {
        char dir[64];
        char *state_dir;
        char *entrypoint;
        char *ran; /* the entrypoint creates it when it runs */
        char *pid_path;
        struct jobspec *spec;
        struct provider_submit req;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof *f);

        strcpy(f->dir, "/tmp/hoist-provider.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->state_dir = path_join(f->dir, "run");
        f->entrypoint = path_join(f->dir, "entrypoint.sh");
        f->ran = path_join(f->state_dir, "ran");
        f->pid_path = path_join(f->state_dir, "pid");
        t_write_file(f->dir, "entrypoint.sh", "#!/bin/sh\n: >ran\n");
        assert_int_equal(chmod(f->entrypoint, 0755), 0);
        assert_int_equal(mkdir(f->state_dir, 0700), 0);
        f->spec = jobspec_new();
        f->req = (struct provider_submit){
                .spec = f->spec,
                .job_id = "j-000000000001",
                .job_url = "file:///nowhere/job.json",
                .runtime = "process",
                .state_dir = f->state_dir,
                .entrypoint = f->entrypoint,
        };
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        assert_int_equal(fs_remove_tree(f->dir, NULL), 0);
        free(f->state_dir);
        free(f->entrypoint);
        free(f->ran);
        free(f->pid_path);
        jobspec_free(f->spec);
        free(f);
        return 0;
}

static int exists(const char *path)
{
        return access(path, F_OK) == 0;
}

/* Polls PATH's existence until it is WANT, for up to 10 s. */
static int wait_exists(const char *path, int want)
{
        struct timespec tick = {0, 10 * 1000 * 1000};

        for (int i = 0; i < 1000; i++) {
                if (exists(path) == want)
                        return 1;
                nanosleep(&tick, NULL);
        }
        return 0;
}

/* The pid in the fixture's pid file, or 0. */
static pid_t pid_file_pid(const struct fixture *f)
{
        _cleanup_free_ char *text = NULL;

        if (fs_read_file(f->pid_path, &text, NULL, NULL) < 0)
                return 0;
        return (pid_t)atoi(text);
}

static int recorded;

static int record_checks_held(void *userdata, const char *runtime, const char *ref,
                              struct hoist_error **err)
{
        const struct fixture *f = userdata;
        pid_t pid = pid_file_pid(f);
        char want[32];

        (void)err;
        assert_string_equal(runtime, "process");
        snprintf(want, sizeof want, "pid:%d", (int)pid);
        assert_string_equal(ref, want);
        /* named in the pid file, alive, and held: it has not run */
        assert_true(proc_alive(pid, 0));
        assert_false(exists(f->ran));
        recorded++;
        return 0;
}

static void test_launcher_runs_only_after_record(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;

        recorded = 0;
        f->req.record = record_checks_held;
        f->req.userdata = f;
        assert_int_equal(provider_local.submit(&f->req, &err), 0);
        assert_null(err);
        assert_int_equal(recorded, 1);
        assert_true(wait_exists(f->ran, 1));
}

static int record_fails(void *userdata, const char *runtime, const char *ref,
                        struct hoist_error **err)
{
        (void)userdata;
        (void)runtime;
        (void)ref;
        return hoist_error_make(err, HOIST_ERR_STATE, "job was canceled");
}

static void test_failed_record_starts_nothing(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;

        f->req.record = record_fails;
        assert_int_equal(provider_local.submit(&f->req, &err), -1);
        assert_non_null(err);
        assert_string_equal(err->msg, "job was canceled");
        hoist_error_free(err);
        /* submit returns once the launcher has exited */
        assert_false(exists(f->ran));
        assert_false(exists(f->pid_path));
}

static int record_then_die(void *userdata, const char *runtime, const char *ref,
                           struct hoist_error **err)
{
        (void)userdata;
        (void)runtime;
        (void)ref;
        (void)err;
        _exit(0); /* hoist killed right after recording */
}

static void test_killed_submitter_starts_nothing(void **state)
{
        struct fixture *f = *state;
        int status;
        pid_t child;

        f->req.record = record_then_die;
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                (void)provider_local.submit(&f->req, NULL);
                _exit(1);
        }
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        /* the launcher removes its pid file, then exits without running */
        assert_true(wait_exists(f->pid_path, 0));
        assert_false(exists(f->ran));
}

static int record_ok(void *userdata, const char *runtime, const char *ref, struct hoist_error **err)
{
        (void)userdata;
        (void)runtime;
        (void)ref;
        (void)err;
        return 0;
}

/* An entrypoint that died (SIGKILL) left a process of its session running:
 * clear, before the next attempt, stops it and forgets the pid file. */
static void test_clear_stops_what_a_dead_entrypoint_left(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        struct job_record job = {.id = (char *)"j-000000000001",
                                 .provider = (char *)"local",
                                 .runtime = (char *)"process",
                                 .provider_ref = (char *)"pid:1",
                                 .state = JOB_FAILED};
        _cleanup_free_ char *left_path = path_join(f->state_dir, "left");
        _cleanup_free_ char *text = NULL;
        pid_t entry, left;

        t_write_file(f->dir, "entrypoint.sh",
                     "#!/bin/sh\nsleep 300 &\necho $! >left.tmp\n"
                     "mv left.tmp left\nexec sleep 301\n");
        f->req.record = record_ok;
        assert_int_equal(provider_local.submit(&f->req, &err), 0);
        assert_true(wait_exists(left_path, 1));
        assert_int_equal(fs_read_file(left_path, &text, NULL, NULL), 0);
        left = (pid_t)atoi(text);
        entry = pid_file_pid(f);
        assert_true(proc_alive(left, 0));
        assert_int_equal(kill(entry, SIGKILL), 0);
        for (int i = 0; i < 1000 && proc_alive(entry, 0); i++)
                nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        assert_false(proc_alive(entry, 0));
        assert_true(proc_alive(left, 0));

        assert_int_equal(provider_local.clear(&job, f->state_dir, 1, &err), 0);
        assert_false(proc_alive(left, 0));
        assert_false(exists(f->pid_path));
}

/* A job with no ref and no pid file was never started: its status is asked
 * under the job's launch lock, so no submit of it is still on its way. */
static void test_status_never_started(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        struct job_record job = {.id = (char *)"j-000000000001",
                                 .provider = (char *)"local",
                                 .state = JOB_SUBMITTED};
        struct provider_status st = {0};

        assert_int_equal(provider_local.status(&job, f->state_dir, &st, &err), 0);
        assert_int_equal(st.state, JOB_FAILED);
        assert_non_null(strstr(st.reason, "never started"));
        provider_status_clear(&st);
}

static void test_launch_lock(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        _cleanup_free_ char *sub = path_join(f->state_dir, "j-1");
        int fd = -1, other = -1, status;
        pid_t child;

        assert_int_equal(provider_launch_lock(sub, 0, &fd, &err), 1);
        assert_true(fd >= 0);
        assert_int_equal(provider_launch_lock(sub, 0, &other, &err), 0);
        assert_int_equal(provider_launch_lock(sub, 120, &other, &err), 0);
        assert_int_equal(other, -1);
        (void)close(fd);
        assert_int_equal(provider_launch_lock(sub, 0, &other, &err), 1);
        (void)close(other);

        /* a holder that dies releases it */
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                if (provider_launch_lock(sub, 0, &fd, NULL) != 1)
                        _exit(1);
                (void)raise(SIGKILL);
        }
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(provider_launch_lock(sub, -1, &fd, &err), 1);
        (void)close(fd);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_launcher_runs_only_after_record, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_failed_record_starts_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_killed_submitter_starts_nothing, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_clear_stops_what_a_dead_entrypoint_left, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_status_never_started, setup, teardown),
                cmocka_unit_test_setup_teardown(test_launch_lock, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
