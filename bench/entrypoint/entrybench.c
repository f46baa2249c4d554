/* SPDX-License-Identifier: MIT */
/*
 * entrybench: what an init adds between its own exec and the exec of the
 * training command, and what it keeps resident while it supervises.
 *
 *   entrybench stamp
 *       The "training command": writes its start time (CLOCK_MONOTONIC, ns)
 *       to the FIFO $ENTRYBENCH_STAMP, then blocks until $ENTRYBENCH_HOLD
 *       is opened and closed by the harness, and exits 0.  Built static, so
 *       its own start-up is the same small constant under every init.
 *
 *   entrybench run N LABEL -- INIT [ARGS...]
 *       N times: fork, take the time, exec INIT ARGS (which must end up
 *       running `entrybench stamp`), read the stamp, read VmRSS/VmHWM of the
 *       init from /proc while the command is alive, release the command,
 *       wait.  Prints one line: LABEL, then the median, p10 and p90 of the
 *       exec-to-exec time in microseconds and the median VmRSS, VmHWM and
 *       RssAnon (its private part; the rest is mapped library pages) in
 *       KiB, tab-separated.  An init that fails fails the run.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *env_or_die(const char *name)
{
        const char *v = getenv(name);

        if (v == NULL || *v == '\0') {
                fprintf(stderr, "entrybench: %s is not set\n", name);
                exit(2);
        }
        return v;
}

static int stamp(void)
{
        int64_t t = now_ns();
        char line[64], buf[64];
        int n = snprintf(line, sizeof line, "%lld\n", (long long)t);
        int fd = open(env_or_die("ENTRYBENCH_STAMP"), O_WRONLY | O_CLOEXEC);

        if (fd < 0 || write(fd, line, (size_t)n) != n) {
                perror("entrybench: stamp");
                return 1;
        }
        close(fd);
        fd = open(env_or_die("ENTRYBENCH_HOLD"), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                perror("entrybench: hold");
                return 1;
        }
        while (read(fd, buf, sizeof buf) > 0)
                ;
        close(fd);
        return 0;
}

static long status_kb(pid_t pid, const char *field)
{
        char path[64], line[256];
        size_t len = strlen(field);
        long v = -1;
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
        f = fopen(path, "re");
        if (f == NULL)
                return -1;
        while (fgets(line, sizeof line, f) != NULL)
                if (strncmp(line, field, len) == 0 && line[len] == ':')
                        v = strtol(line + len + 1, NULL, 10);
        fclose(f);
        return v;
}

static int cmp_i64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

        return (x > y) - (x < y);
}

static int cmp_long(const void *a, const void *b)
{
        long x = *(const long *)a, y = *(const long *)b;

        return (x > y) - (x < y);
}

/* One run; returns 0 and fills the outputs, or -1. */
static int run_once(char **argv, const char *stamp_path, const char *hold_path, int64_t *ret_ns,
                    long *ret_rss, long *ret_hwm, long *ret_anon)
{
        int sfd = open(stamp_path, O_RDWR | O_CLOEXEC); /* RDWR: never blocks, never EOF */
        int tp[2];
        int64_t t0 = 0, t1 = 0;
        char buf[64];
        ssize_t n;
        pid_t pid;
        int status, hfd;

        if (sfd < 0 || pipe2(tp, O_CLOEXEC) < 0)
                return -1;
        pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                int64_t t = now_ns();
                (void)!write(tp[1], &t, sizeof t);
                execvp(argv[0], argv);
                _exit(127);
        }
        close(tp[1]);
        if (read(tp[0], &t0, sizeof t0) != sizeof t0) {
                fprintf(stderr, "entrybench: '%s' did not start\n", argv[0]);
                close(tp[0]);
                close(sfd);
                waitpid(pid, &status, 0);
                return -1;
        }
        close(tp[0]);
        n = read(sfd, buf, sizeof buf - 1);
        close(sfd);
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        t1 = strtoll(buf, NULL, 10);
        *ret_rss = status_kb(pid, "VmRSS");
        *ret_hwm = status_kb(pid, "VmHWM");
        *ret_anon = status_kb(pid, "RssAnon");
        hfd = open(hold_path, O_WRONLY | O_CLOEXEC); /* lets the command go */
        if (hfd >= 0)
                close(hfd);
        if (waitpid(pid, &status, 0) < 0)
                return -1;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "entrybench: '%s' ended with status 0x%x\n", argv[0], status);
                return -1;
        }
        *ret_ns = t1 - t0;
        return 0;
}

static int run(int n, const char *label, char **argv)
{
        const char *stamp_path = env_or_die("ENTRYBENCH_STAMP");
        const char *hold_path = env_or_die("ENTRYBENCH_HOLD");
        int64_t *ns = calloc((size_t)n, sizeof *ns);
        long *rss = calloc((size_t)n, sizeof *rss), *hwm = calloc((size_t)n, sizeof *hwm);
        long *anon = calloc((size_t)n, sizeof *anon);
        int r = 1;

        if (ns == NULL || rss == NULL || hwm == NULL || anon == NULL)
                goto out;
        if ((mkfifo(stamp_path, 0600) < 0 && errno != EEXIST) ||
            (mkfifo(hold_path, 0600) < 0 && errno != EEXIST)) {
                perror("entrybench: mkfifo");
                goto out;
        }
        for (int i = 0; i < n; i++)
                if (run_once(argv, stamp_path, hold_path, &ns[i], &rss[i], &hwm[i], &anon[i]) < 0) {
                        fprintf(stderr, "entrybench: %s: run %d failed\n", label, i + 1);
                        goto out;
                }
        qsort(ns, (size_t)n, sizeof *ns, cmp_i64);
        qsort(rss, (size_t)n, sizeof *rss, cmp_long);
        qsort(hwm, (size_t)n, sizeof *hwm, cmp_long);
        qsort(anon, (size_t)n, sizeof *anon, cmp_long);
        printf("%s\t%.0f\t%.0f\t%.0f\t%ld\t%ld\t%ld\n", label, ns[n / 2] / 1e3, ns[n / 10] / 1e3,
               ns[n - 1 - n / 10] / 1e3, rss[n / 2], hwm[n / 2], anon[n / 2]);
        r = 0;
out:
        free(ns);
        free(rss);
        free(hwm);
        free(anon);
        return r;
}

int main(int argc, char **argv)
{
        if (argc == 2 && strcmp(argv[1], "stamp") == 0)
                return stamp();
        if (argc >= 6 && strcmp(argv[1], "run") == 0 && strcmp(argv[4], "--") == 0 &&
            atoi(argv[2]) > 0)
                return run(atoi(argv[2]), argv[3], argv + 5);
        fprintf(stderr, "usage: entrybench stamp | entrybench run N LABEL -- INIT [ARGS...]\n");
        return 2;
}
