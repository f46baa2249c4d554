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
#include "runner/home.h"
#include "runner/reconcile.h"
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
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        assert_int_equal(fs_remove_tree(f->dir, NULL), 0);
        free(f->home.run_dir);
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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_job_lock, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
