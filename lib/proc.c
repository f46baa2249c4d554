/* SPDX-License-Identifier: MIT */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

extern char **environ;

static void drain(int fds[2], struct buf *bufs[2])
{
        struct pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
        char chunk[8192];
        int open_fds = (fds[0] >= 0) + (fds[1] >= 0);

        while (open_fds > 0) {
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                for (int i = 0; i < 2; i++) {
                        if (p[i].fd < 0 || p[i].revents == 0)
                                continue;
                        ssize_t n = read(p[i].fd, chunk, sizeof chunk);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                p[i].fd = -1;
                                open_fds--;
                                continue;
                        }
                        buf_append(bufs[i], chunk, (size_t)n);
                }
        }
}

int proc_run(char *const argv[], struct buf *out, struct buf *errbuf, int *ret_status,
             struct hoist_error **err)
{
        return proc_run_input(argv, NULL, 0, out, errbuf, ret_status, err);
}

/* A memory file holding IN, at offset 0: stdin that needs no writer (no
 * SIGPIPE, no deadlock with a child that writes first) and is on no disk. */
static int input_fd(const char *in, size_t len, struct hoist_error **err)
{
        int fd = memfd_create("hoist-stdin", MFD_CLOEXEC);

        if (fd < 0)
                return hoist_error_errno(err, "memfd_create");
        if ((len > 0 && fs_write_all(fd, in, len) < 0) || lseek(fd, 0, SEEK_SET) < 0) {
                int e = errno;
                (void)close(fd);
                return hoist_error_make(err, e, "write the input of a helper program");
        }
        return fd;
}

static int run_collect(char *const argv[], char *const envp[], const char *in, size_t in_len,
                       struct buf *out, struct buf *errbuf, int *ret_status,
                       struct hoist_error **err)
{
        posix_spawn_file_actions_t fa;
        int pout[2] = {-1, -1}, perr[2] = {-1, -1};
        struct buf discard = {0};
        _cleanup_close_ int infd = -1;
        pid_t pid;
        int status, r;

        if (in != NULL && (infd = input_fd(in, in_len, err)) < 0)
                return -1;
        if (pipe2(pout, O_CLOEXEC) < 0)
                return hoist_error_errno(err, "pipe");
        if (errbuf != NULL && pipe2(perr, O_CLOEXEC) < 0) {
                int e = errno;
                (void)close(pout[0]);
                (void)close(pout[1]);
                return hoist_error_make(err, e, "pipe");
        }
        posix_spawn_file_actions_init(&fa);
        if (infd >= 0)
                posix_spawn_file_actions_adddup2(&fa, infd, STDIN_FILENO);
        else
                posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, pout[1], STDOUT_FILENO);
        if (errbuf != NULL)
                posix_spawn_file_actions_adddup2(&fa, perr[1], STDERR_FILENO);
        r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        (void)close(pout[1]);
        if (perr[1] >= 0)
                (void)close(perr[1]);
        if (r != 0) {
                (void)close(pout[0]);
                if (perr[0] >= 0)
                        (void)close(perr[0]);
                return hoist_error_make(err, r, "run '%s'", argv[0]);
        }
        struct buf *bufs[2] = {out ? out : &discard, errbuf ? errbuf : &discard};
        int fds[2] = {pout[0], perr[0]};
        drain(fds, bufs);
        (void)close(pout[0]);
        if (perr[0] >= 0)
                (void)close(perr[0]);
        buf_free(&discard);
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR)
                        return hoist_error_errno(err, "wait for '%s'", argv[0]);
        }
        *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return 0;
}

int proc_run_input(char *const argv[], const char *in, size_t in_len, struct buf *out,
                   struct buf *errbuf, int *ret_status, struct hoist_error **err)
{
        return run_collect(argv, environ, in, in_len, out, errbuf, ret_status, err);
}

static int env_has_name(char *const *env, const char *entry)
{
        size_t n = strcspn(entry, "=");

        for (; env != NULL && *env != NULL; env++)
                if (strncmp(*env, entry, n) == 0 && (*env)[n] == '=')
                        return 1;
        return 0;
}

int proc_run_env(char *const argv[], char *const extra_env[], struct buf *out, struct buf *errbuf,
                 int *ret_status, struct hoist_error **err)
{
        size_t n = 0, k = 0;
        int r;

        for (char **e = environ; e && *e; e++)
                n++;
        for (char *const *e = extra_env; e && *e; e++)
                n++;
        char **envp = xcalloc(n + 1, sizeof *envp);
        for (char **e = environ; e && *e; e++)
                if (!env_has_name(extra_env, *e))
                        envp[k++] = *e;
        for (char *const *e = extra_env; e && *e; e++)
                envp[k++] = *e;
        envp[k] = NULL;
        r = run_collect(argv, envp, NULL, 0, out, errbuf, ret_status, err);
        free(envp);
        return r;
}

int proc_which(const char *prog, char **ret_path)
{
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = xstrdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
        char *save = NULL;

        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *full = path_join(*dir ? dir : ".", prog);
                struct stat st;
                if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0) {
                        if (ret_path)
                                *ret_path = TAKE_PTR(full);
                        return 1;
                }
        }
        return 0;
}

uint64_t proc_start_time(pid_t pid)
{
        char path[64], line[1024];
        unsigned long long start = 0;
        char state = 0;
        FILE *f;
        char *p;

        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        f = fopen(path, "re");
        if (f == NULL)
                return 0;
        p = fgets(line, sizeof line, f);
        (void)fclose(f);
        if (p == NULL)
                return 0;
        /* The command name may hold spaces and parentheses: skip past the last ')'. */
        p = strrchr(line, ')');
        if (p == NULL)
                return 0;
        /* after ')': state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt
         * cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime(22) */
        if (sscanf(p + 1,
                   " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d "
                   "%llu",
                   &state, &start) != 2)
                return 0;
        if (state == 'Z' || state == 'X')
                return 0;
        return start;
}

int proc_alive(pid_t pid, uint64_t start)
{
        uint64_t now;

        if (pid <= 0)
                return 0;
        now = proc_start_time(pid);
        if (now == 0)
                return 0;
        return start == 0 || now == start;
}
