/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "proc.h"
#include "xalloc.h"

static void test_run_captures_output_and_status(void **state)
{
        (void)state;
        char *argv[] = {(char *)"sh", (char *)"-c", (char *)"echo out; echo err >&2; exit 3", NULL};
        _cleanup_buf_ struct buf out = {0};
        _cleanup_buf_ struct buf errb = {0};
        struct hoist_error *err = NULL;
        int status = -1;

        assert_int_equal(proc_run(argv, &out, &errb, &status, &err), 0);
        assert_int_equal(status, 3);
        assert_string_equal(out.data, "out\n");
        assert_string_equal(errb.data, "err\n");
}

/* stdin from memory: larger than a pipe holds, to a child that writes as
 * much before it reads (no deadlock), and never on a command line. */
static void test_run_input(void **state)
{
        (void)state;
        char *argv[] = {(char *)"sh", (char *)"-c",
                        (char *)"head -c 200000 /dev/zero | tr '\\0' x; wc -c", NULL};
        _cleanup_buf_ struct buf out = {0};
        _cleanup_free_ char *in = xmalloc(300000);
        struct hoist_error *err = NULL;
        int status = -1;

        memset(in, 'y', 300000);
        assert_int_equal(proc_run_input(argv, in, 300000, &out, NULL, &status, &err), 0);
        assert_int_equal(status, 0);
        assert_int_equal(out.len, 200000 + strlen("300000\n"));
        assert_string_equal(out.data + 200000, "300000\n");
}

/* Added variables reach the child, replace one of the same name, and
 * leave the rest of the environment and this process's own alone. */
static void test_run_env(void **state)
{
        (void)state;
        char *argv[] = {(char *)"sh", (char *)"-c",
                        (char *)"printf '%s|%s|%s' \"$HOIST_T_A\" \"$HOIST_T_B\" \"$HOIST_T_C\"",
                        NULL};
        char *env[] = {(char *)"HOIST_T_A=new", (char *)"HOIST_T_B=x=y", NULL};
        _cleanup_buf_ struct buf out = {0};
        struct hoist_error *err = NULL;
        int status = -1;

        setenv("HOIST_T_A", "old", 1);
        setenv("HOIST_T_C", "kept", 1);
        assert_int_equal(proc_run_env(argv, env, &out, NULL, &status, &err), 0);
        assert_int_equal(status, 0);
        assert_string_equal(out.data, "new|x=y|kept");
        assert_string_equal(getenv("HOIST_T_A"), "old");
        buf_reset(&out);
        assert_int_equal(proc_run_env(argv, NULL, &out, NULL, &status, &err), 0);
        assert_string_equal(out.data, "old||kept");
        unsetenv("HOIST_T_A");
        unsetenv("HOIST_T_C");
}

static void test_run_signal_status(void **state)
{
        (void)state;
        char *argv[] = {(char *)"sh", (char *)"-c", (char *)"kill -9 $$", NULL};
        struct hoist_error *err = NULL;
        int status = -1;

        assert_int_equal(proc_run(argv, NULL, NULL, &status, &err), 0);
        assert_int_equal(status, 128 + 9);
}

static void test_run_missing_program(void **state)
{
        (void)state;
        char *argv[] = {(char *)"hoist-no-such-program", NULL};
        _cleanup_error_ struct hoist_error *err = NULL;
        int status = -1;

        assert_int_equal(proc_run(argv, NULL, NULL, &status, &err), -1);
        assert_non_null(strstr(err->msg, "hoist-no-such-program"));
}

static void test_which(void **state)
{
        (void)state;
        _cleanup_free_ char *path = NULL;

        assert_true(proc_which("sh", &path));
        assert_non_null(strchr(path, '/'));
        assert_false(proc_which("hoist-no-such-program", NULL));
}

static void test_start_time_names_one_process(void **state)
{
        (void)state;
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                pause();
                _exit(0);
        }
        uint64_t start = proc_start_time(pid);
        assert_true(start > 0);
        assert_true(proc_alive(pid, start));
        assert_true(proc_alive(pid, 0));
        assert_false(proc_alive(pid, start + 1)); /* a reused pid is another process */
        assert_int_equal(kill(pid, SIGKILL), 0);
        /* a zombie is not alive */
        for (int i = 0; i < 100 && proc_alive(pid, start); i++)
                usleep(10000);
        assert_false(proc_alive(pid, start));
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        assert_int_equal(proc_start_time(pid), 0);
        assert_false(proc_alive(0, 0));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_run_captures_output_and_status),
                cmocka_unit_test(test_run_input),
                cmocka_unit_test(test_run_env),
                cmocka_unit_test(test_run_signal_status),
                cmocka_unit_test(test_run_missing_program),
                cmocka_unit_test(test_which),
                cmocka_unit_test(test_start_time_names_one_process),
        };
        return cmocka_run_group_tests_name("proc", tests, NULL, NULL);
}
