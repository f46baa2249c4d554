/* SPDX-License-Identifier: MIT */
/*
 * The supervisor.  One thread, one loop: signals arrive through a signalfd
 * (they stay blocked from init_setup() on, so none is lost and none runs a
 * handler), the command's output through pipes, and the deadlines (grace
 * period, max runtime) are poll() timeouts on the monotonic clock.
 */
#include "clock.h"
#include "fmt.h"
#include "init.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

extern char **environ;

/* The signals a container runtime or a user sends to stop or poke a job. */
static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

/* What the child must get back before exec: the mask and dispositions we
 * found at start-up. */
static sigset_t orig_mask;
static const int ignored[] = {SIGPIPE, SIGTTIN, SIGTTOU};
static struct sigaction orig_actions[3];
static int setup_done;

/* init_request_stop(): the reason first asked for, and the eventfd that
 * wakes the loop. */
static int stop_efd = -1;
static int requested_reason = INIT_STOP_NONE;

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define FINAL_REAP_MS 1000
/* After a normal exit, what is left of the job gets at most this long. */
#define LEFTOVER_GRACE_MS 10000
/* How often the leftovers are counted while we wait for them to end. */
#define LEFTOVER_POLL_MS 100
/* The fixed pollfd slots; the watches follow. */
enum { PFD_SIGNAL, PFD_STDOUT, PFD_STDERR, PFD_STOP, PFD_FIXED };

static sigset_t handled_set(void)
{
        sigset_t set;

        sigemptyset(&set);
        for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
                sigaddset(&set, forwarded[i]);
        sigaddset(&set, SIGCHLD);
        return set;
}

int init_setup(struct hoist_error **err)
{
        sigset_t set = handled_set();
        struct sigaction ign = {.sa_handler = SIG_IGN};

        if (setup_done)
                return 0;
        /* Blocked, not handled: PID 1 drops signals whose action is the
         * default, but a blocked signal stays pending for the signalfd. */
        if (sigprocmask(SIG_BLOCK, &set, &orig_mask) < 0)
                return hoist_error_errno(err, "block signals");
        /* A reader that went away must not kill us (we tee output), and we
         * hand the terminal to the command's process group (SIGTTOU). */
        for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
                if (sigaction(ignored[i], &ign, &orig_actions[i]) < 0)
                        return hoist_error_errno(err, "ignore signal %d", ignored[i]);
        /* As PID 1 the kernel re-parents orphans to us; elsewhere ask for it,
         * so a daemonising trainer's grandchildren are still reaped. */
        if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
                log_warn("cannot become a child subreaper (%s); orphans go to the real init",
                         strerror(errno));
        stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (stop_efd < 0)
                return hoist_error_errno(err, "eventfd");
        setup_done = 1;
        return 0;
}

void init_request_stop(enum init_stop_reason why)
{
        int none = INIT_STOP_NONE;
        uint64_t one = 1;
        int saved = errno;

        (void)__atomic_compare_exchange_n(&requested_reason, &none, (int)why, 0, __ATOMIC_SEQ_CST,
                                          __ATOMIC_SEQ_CST);
        if (stop_efd >= 0)
                (void)!write(stop_efd, &one, sizeof one);
        errno = saved;
}

const char *init_signal_name(int sig)
{
        static char unknown[32];
        static char name[32];
        const char *abbrev = sigabbrev_np(sig);

        if (abbrev == NULL) {
                (void)snprintf(unknown, sizeof unknown, "signal %d", sig);
                return unknown;
        }
        (void)snprintf(name, sizeof name, "SIG%s", abbrev);
        return name;
}

/* execvp's search, done before fork(): the child then only calls execve(),
 * which is async-signal-safe (execvp is not: it may allocate). */
static char **exec_candidates(const char *file)
{
        const char *path = getenv("PATH");
        char **v;
        size_t n = 1;

        if (strchr(file, '/') != NULL || *file == '\0') {
                v = xcalloc(2, sizeof *v);
                v[0] = xstrdup(file);
                return v;
        }
        if (path == NULL || *path == '\0')
                path = DEFAULT_PATH;
        for (const char *p = path; *p; p++)
                n += *p == ':';
        v = xcalloc(n + 1, sizeof *v);
        n = 0;
        for (const char *p = path;; p++) {
                const char *end = strchrnul(p, ':');
                /* An empty element means the current directory. */
                v[n++] = end == p ? xasprintf("./%s", file)
                                  : xasprintf("%.*s/%s", (int)(end - p), p, file);
                if (*end == '\0')
                        break;
                p = end;
        }
        return v;
}

struct spawn_fds {
        int errpipe[2]; /* exec failure: the child writes errno */
        int out[2];     /* captured stdout, or -1 */
        int err[2];     /* captured stderr, or -1 */
};

/* After fork(): async-signal-safe calls only, and out through _exit(). */
static _Noreturn void child_exec(char *const argv[], char **cands, const char *cwd,
                                 const struct spawn_fds *f, int take_tty, pid_t pgid,
                                 char *const *envp)
{
        int e = ENOENT, denied = 0;

        (void)setpgid(0, pgid);
        if (take_tty)
                (void)tcsetpgrp(STDIN_FILENO, getpid());
        if ((f->out[1] >= 0 && dup2(f->out[1], STDOUT_FILENO) < 0) ||
            (f->err[1] >= 0 && dup2(f->err[1], STDERR_FILENO) < 0) ||
            (cwd != NULL && chdir(cwd) < 0)) {
                e = errno;
                goto fail;
        }
        for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
                (void)sigaction(ignored[i], &orig_actions[i], NULL);
        (void)sigprocmask(SIG_SETMASK, &orig_mask, NULL);

        for (char **c = cands; *c != NULL; c++) {
                execve(*c, argv, envp != NULL ? envp : environ);
                if (errno == EACCES)
                        denied = 1;
                else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE &&
                         errno != ENODEV && errno != ETIMEDOUT) {
                        e = errno;
                        break;
                }
        }
        if (e == ENOENT && denied)
                e = EACCES;
fail:
        (void)!write(f->errpipe[1], &e, sizeof e);
        _exit(e == ENOENT ? 127 : 126);
}

static void close_fd(int *fd)
{
        if (*fd >= 0) {
                (void)close(*fd);
                *fd = -1;
        }
}

static void close_spawn_fds(struct spawn_fds *f)
{
        for (int i = 0; i < 2; i++) {
                close_fd(&f->errpipe[i]);
                close_fd(&f->out[i]);
                close_fd(&f->err[i]);
        }
}

struct supervisor {
        const struct init_config *cfg;
        struct init_result *res;
        pid_t pid;      /* the command (worker 0), leader of its process group */
        pid_t *workers; /* every worker's pid, pid first; one without a group */
        int *done;      /* reaped */
        size_t n_workers, left;
        int failed; /* a worker failed: its status is wstatus */
        int sfd;
        struct pollfd *pfd; /* PFD_FIXED slots, then the watches */
        size_t npfd;
        int have_status;
        int wstatus;
        int64_t term_at;   /* max runtime: SIGTERM the group */
        int64_t kill_at;   /* end of the grace period: SIGKILL the group */
        int64_t grace_end; /* the same, kept once it passed; 0: no stop yet */
        int64_t next_tick; /* cfg->on_tick, or 0 */
};

static void begin_stop(struct supervisor *s, enum init_stop_reason why);

/* Forks and execs worker I: the first leads a new process group, the
 * others join it.  Returns its pid, or -1 (errno set).  Does not wait for
 * the exec: F->errpipe[0] says how it went. */
static pid_t fork_worker(struct supervisor *s, size_t i, char **cands, struct spawn_fds *f,
                         int take_tty)
{
        char *const *envp = s->cfg->worker_env != NULL ? s->cfg->worker_env[i] : NULL;
        pid_t pgid = i == 0 ? 0 : s->pid;
        pid_t pid;

        if (pipe2(f->errpipe, O_CLOEXEC) < 0)
                return -1;
        pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0)
                child_exec(s->cfg->argv, cands, s->cfg->cwd, f, take_tty && i == 0, pgid, envp);
        /* Also here: a signal forwarded before the child ran setpgid() must
         * still reach its group. */
        if (setpgid(pid, i == 0 ? pid : s->pid) < 0 && errno != EACCES && errno != ESRCH)
                log_debug("setpgid %d: %s", (int)pid, strerror(errno));
        close_fd(&f->errpipe[1]);
        return pid;
}

/* What the exec of the worker just forked did: 0 when it runs, else the
 * errno it failed with. */
static int exec_result(struct spawn_fds *f)
{
        int e = 0;
        ssize_t n;

        do
                n = read(f->errpipe[0], &e, sizeof e);
        while (n < 0 && errno == EINTR);
        close_fd(&f->errpipe[0]);
        return n == (ssize_t)sizeof e ? e : 0; /* EOF: the close-on-exec pipe closed */
}

/* Forks and execs the command (every worker of it).  Returns 1 when it
 * runs, 0 when exec failed (RES filled in), -1 when it could not be
 * started. */
static int spawn(struct supervisor *s, struct hoist_error **err)
{
        _cleanup_strv_ char **cands = exec_candidates(s->cfg->argv[0]);
        struct spawn_fds f = {{-1, -1}, {-1, -1}, {-1, -1}};
        int take_tty = tcgetpgrp(STDIN_FILENO) == getpgrp();
        int e = 0;

        if (s->cfg->on_output && (pipe2(f.out, O_CLOEXEC) < 0 || pipe2(f.err, O_CLOEXEC) < 0)) {
                e = errno;
                close_spawn_fds(&f);
                return hoist_error_make(err, e, "create pipes");
        }
        for (size_t i = 0; i < s->n_workers; i++) {
                pid_t pid = fork_worker(s, i, cands, &f, take_tty);
                if (pid < 0) {
                        e = errno;
                        if (i == 0) {
                                close_spawn_fds(&f);
                                return hoist_error_make(err, e, "fork");
                        }
                        close_fd(&f.errpipe[0]);
                        close_fd(&f.errpipe[1]);
                        /* The workers that run are stopped as after a failure. */
                        log_error("cannot start worker %zu: fork: %s", i, strerror(e));
                        for (size_t j = i; j < s->n_workers; j++)
                                s->done[j] = 1;
                        s->left = i;
                        s->failed = 1;
                        s->wstatus = 125 << 8;
                        s->res->worker = i;
                        if (i > 0)
                                begin_stop(s, INIT_STOP_WORKER);
                        break;
                }
                s->workers[i] = pid;
                if (i == 0)
                        s->pid = pid;
                e = exec_result(&f);
                if (i == 0 && e != 0) {
                        close_spawn_fds(&f);
                        while (waitpid(s->pid, &s->wstatus, 0) < 0 && errno == EINTR)
                                ;
                        s->res->end = e == ENOENT ? INIT_NOT_FOUND : INIT_NOT_EXECUTABLE;
                        s->res->code = e;
                        s->res->exit_code = e == ENOENT ? 127 : 126;
                        return 0;
                }
        }
        close_fd(&f.out[1]);
        close_fd(&f.err[1]);
        s->pfd[PFD_STDOUT].fd = f.out[0];
        s->pfd[PFD_STDERR].fd = f.err[0];
        for (int i = PFD_STDOUT; i <= PFD_STDERR; i++)
                if (s->pfd[i].fd >= 0)
                        (void)fcntl(s->pfd[i].fd, F_SETFL, O_NONBLOCK);
        return 1;
}

static void signal_group(struct supervisor *s, int sig)
{
        /* The group, so a shell's children hear it too; the pid itself if
         * the command left its group (setsid). */
        if (kill(-s->pid, sig) < 0 && errno == ESRCH)
                for (size_t i = 0; i < s->n_workers; i++)
                        if (!s->done[i])
                                (void)kill(s->workers[i], sig);
}

static void arm_kill(struct supervisor *s)
{
        if (s->grace_end == 0) {
                s->kill_at = s->grace_end = clock_mono_ms() + s->cfg->stop_grace_s * 1000;
                s->res->grace_end_ms = s->grace_end;
        }
}

/* SIGTERM to the group, SIGKILL after the grace period; WHY is recorded
 * unless an earlier stop already gave a reason. */
static void begin_stop(struct supervisor *s, enum init_stop_reason why)
{
        if (s->res->stop_reason == INIT_STOP_NONE)
                s->res->stop_reason = why;
        signal_group(s, SIGTERM);
        arm_kill(s);
}

/* Worker I ended with STATUS.  The command's status is the first failure's,
 * else the last worker's; a failure while others run stops them. */
static void worker_ended(struct supervisor *s, size_t i, int status)
{
        int failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;

        s->done[i] = 1;
        s->left--;
        if (!s->failed && (failed || s->left == 0)) {
                s->wstatus = status;
                s->res->worker = i;
        }
        if (failed && !s->failed) {
                s->failed = 1;
                if (s->left > 0 && s->res->stop_reason == INIT_STOP_NONE) {
                        if (WIFSIGNALED(status))
                                log_warn("worker %zu was killed by %s; stopping the other %zu", i,
                                         init_signal_name(WTERMSIG(status)), s->left);
                        else
                                log_warn("worker %zu exited with code %d; stopping the other %zu",
                                         i, WEXITSTATUS(status), s->left);
                        begin_stop(s, INIT_STOP_WORKER);
                }
        }
        if (s->left == 0)
                s->have_status = 1;
}

static int reap(struct supervisor *s)
{
        int status;
        pid_t p;

        while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
                size_t i = 0;
                while (i < s->n_workers && (s->workers[i] != p || s->done[i]))
                        i++;
                if (i < s->n_workers)
                        worker_ended(s, i, status);
                else
                        log_debug("reaped orphan %d", (int)p);
        }
        return p < 0 && errno == ECHILD ? 0 : 1; /* 1: children remain */
}

static void on_signal(struct supervisor *s, int sig)
{
        if (sig == SIGCHLD) {
                (void)reap(s);
                return;
        }
        if (s->have_status) {
                /* A stop from outside that reached the command first: Slurm
                 * signals every process of a job step, and a command that
                 * exits on its TERM at once ends before ours is read.  Its
                 * failure is the stop's, not its own. */
                if ((sig == SIGTERM || sig == SIGINT) && s->res->stop_signal == 0 &&
                    !(WIFEXITED(s->wstatus) && WEXITSTATUS(s->wstatus) == 0)) {
                        s->res->stop_signal = sig;
                        if (s->res->stop_reason == INIT_STOP_NONE)
                                s->res->stop_reason = INIT_STOP_SIGNAL;
                }
                return;
        }
        log_debug("forwarding %s to process group %d", init_signal_name(sig), (int)s->pid);
        if (sig == SIGTERM || sig == SIGINT) {
                if (s->res->stop_signal == 0)
                        s->res->stop_signal = sig;
                if (s->res->stop_reason == INIT_STOP_NONE)
                        s->res->stop_reason = INIT_STOP_SIGNAL;
                signal_group(s, sig);
                arm_kill(s);
                return;
        }
        signal_group(s, sig);
}

static void read_signals(struct supervisor *s)
{
        struct signalfd_siginfo si;

        while (read(s->sfd, &si, sizeof si) == (ssize_t)sizeof si)
                on_signal(s, (int)si.ssi_signo);
}

static void read_stop_request(struct supervisor *s)
{
        uint64_t n;
        enum init_stop_reason why;

        if (read(stop_efd, &n, sizeof n) != (ssize_t)sizeof n)
                return;
        why = (enum init_stop_reason)__atomic_load_n(&requested_reason, __ATOMIC_SEQ_CST);
        if (s->have_status || why == INIT_STOP_NONE)
                return;
        log_debug("stop requested (reason %d); sending SIGTERM to process group %d", (int)why,
                  (int)s->pid);
        begin_stop(s, why);
}

/* Reads what the pipe holds, at most MAX chunks: a command that writes
 * without pause must not keep the loop from its signals and deadlines. */
static void pump(struct supervisor *s, int i, int max)
{
        char chunk[65536];

        while (s->pfd[i].fd >= 0 && max-- > 0) {
                ssize_t n = read(s->pfd[i].fd, chunk, sizeof chunk);
                if (n > 0) {
                        s->cfg->on_output(s->cfg->userdata,
                                          i == PFD_STDOUT ? INIT_STDOUT : INIT_STDERR, chunk,
                                          (size_t)n);
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                close_fd(&s->pfd[i].fd); /* EOF or a read error */
        }
}

static size_t signal_leftovers(struct supervisor *s, int sig);

static void check_deadlines(struct supervisor *s)
{
        int64_t now = clock_mono_ms();

        if (s->term_at != 0 && now >= s->term_at) {
                s->term_at = 0;
                s->res->timed_out = 1;
                log_warn("exceeded max runtime of %llds; sending SIGTERM",
                         (long long)s->cfg->max_runtime_s);
                begin_stop(s, INIT_STOP_RUNTIME);
        }
        if (s->kill_at != 0 && now >= s->kill_at) {
                s->kill_at = 0;
                s->res->killed = 1;
                log_warn("still running %llds after SIGTERM; sending SIGKILL",
                         (long long)s->cfg->stop_grace_s);
                /* The whole job: the group and what left it (setsid). */
                signal_group(s, SIGKILL);
                (void)signal_leftovers(s, SIGKILL);
        }
        if (s->next_tick != 0 && now >= s->next_tick) {
                s->next_tick = now + s->cfg->tick_ms;
                s->cfg->on_tick(s->cfg->userdata);
        }
}

static int64_t earliest(int64_t a, int64_t b)
{
        return a == 0 || (b != 0 && b < a) ? b : a;
}

static int poll_timeout(const struct supervisor *s, int64_t until)
{
        int64_t now = clock_mono_ms(), next = until;

        next = earliest(next, s->term_at);
        next = earliest(next, s->kill_at);
        next = earliest(next, s->next_tick);
        if (next == 0)
                return -1;
        return next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
}

static void poll_once(struct supervisor *s, int64_t until)
{
        int n = poll(s->pfd, s->npfd, poll_timeout(s, until));

        if (n < 0 && errno != EINTR)
                log_debug("poll: %s", strerror(errno));
        if (n > 0 && s->pfd[PFD_SIGNAL].revents)
                read_signals(s);
        if (n > 0 && s->pfd[PFD_STOP].revents)
                read_stop_request(s);
        for (int i = PFD_STDOUT; n > 0 && i <= PFD_STDERR; i++)
                if (s->pfd[i].fd >= 0 && s->pfd[i].revents)
                        pump(s, i, 16);
        for (size_t i = PFD_FIXED; n > 0 && i < s->npfd; i++) {
                const struct init_watch *w = &s->cfg->watches[i - PFD_FIXED];
                if (s->pfd[i].fd >= 0 && s->pfd[i].revents)
                        w->on_ready(w->userdata);
        }
        check_deadlines(s);
}

/* The pids, other than the zombies, of every process below us and of every
 * member of the command's process group: what is left of the job once the
 * command itself ended.  Grandchildren that left the group (setsid) are
 * found through their parents, or as orphans re-parented to us. */
static size_t leftovers(const struct supervisor *s, pid_t **ret)
{
        _cleanup_free_ pid_t *pids = NULL;
        _cleanup_free_ pid_t *ppids = NULL;
        _cleanup_free_ int *mark = NULL; /* 0 unknown, 1 ours, 2 not ours */
        size_t n = 0, cap = 0, found = 0;
        pid_t self = getpid();
        DIR *d = opendir("/proc");
        struct dirent *de;

        *ret = NULL;
        if (d == NULL)
                return 0;
        while ((de = readdir(d)) != NULL) {
                char path[64], buf[512], *p;
                int fd, pgrp;
                ssize_t len;
                char state;
                pid_t pid, ppid;

                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                (void)snprintf(path, sizeof path, "%.20s/stat", de->d_name);
                fd = openat(dirfd(d), path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                len = read(fd, buf, sizeof buf - 1);
                (void)close(fd);
                if (len <= 0)
                        continue;
                buf[len] = '\0';
                p = strrchr(buf, ')'); /* the name may hold spaces and parens */
                pid = (pid_t)atoi(buf);
                if (p == NULL || sscanf(p + 1, " %c %d %d", &state, &ppid, &pgrp) != 3)
                        continue;
                if (state == 'Z' || state == 'X' || pid == self)
                        continue;
                if (n == cap) {
                        cap = cap ? cap * 2 : 256;
                        pids = xreallocarray(pids, cap, sizeof *pids);
                        ppids = xreallocarray(ppids, cap, sizeof *ppids);
                        mark = xreallocarray(mark, cap, sizeof *mark);
                }
                pids[n] = pid;
                ppids[n] = ppid;
                mark[n] = pgrp == s->pid || ppid == self ? 1 : 0;
                n++;
        }
        (void)closedir(d);
        /* Descent from us: repeat until nothing changes (the tree is shallow). */
        for (int changed = 1; changed;) {
                changed = 0;
                for (size_t i = 0; i < n; i++) {
                        if (mark[i] != 0)
                                continue;
                        for (size_t j = 0; j < n; j++)
                                if (mark[j] == 1 && pids[j] == ppids[i]) {
                                        mark[i] = 1;
                                        changed = 1;
                                        break;
                                }
                }
        }
        for (size_t i = 0; i < n; i++)
                if (mark[i] == 1)
                        pids[found++] = pids[i];
        if (found > 0)
                *ret = TAKE_PTR(pids);
        return found;
}

static size_t signal_leftovers(struct supervisor *s, int sig)
{
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = leftovers(s, &pids);

        (void)kill(-s->pid, sig);
        for (size_t i = 0; i < n; i++)
                (void)kill(pids[i], sig);
        return n;
}

/* The command ended: the rest of the job must end too.  During a stop it
 * has until the end of the grace period; after a normal exit it gets
 * SIGTERM and min(grace, 10 s).  What is still there then gets SIGKILL. */
static void drain(struct supervisor *s)
{
        _cleanup_free_ pid_t *pids = NULL;
        int64_t deadline = s->grace_end, grace = s->cfg->stop_grace_s * 1000;
        size_t n = leftovers(s, &pids);

        s->term_at = s->kill_at = 0;
        if (n == 0)
                return;
        if (deadline == 0) {
                log_debug("command exited; %zu processes of the job are left, sending SIGTERM", n);
                (void)signal_leftovers(s, SIGTERM);
                deadline =
                        clock_mono_ms() + (grace < LEFTOVER_GRACE_MS ? grace : LEFTOVER_GRACE_MS);
        }
        while (clock_mono_ms() < deadline) {
                int64_t step = clock_mono_ms() + LEFTOVER_POLL_MS;
                poll_once(s, step < deadline ? step : deadline);
                (void)reap(s);
                free(pids);
                if (leftovers(s, &pids) == 0)
                        return;
        }
        n = signal_leftovers(s, SIGKILL);
        if (n > 0) {
                log_warn("%zu %s of the job still running after the grace period; sent SIGKILL", n,
                         fmt_plural(n, "process", "processes"));
                s->res->killed = 1;
        }
}

/* After the command ended: whatever is left of its process group goes, and
 * every child that can be reaped is, for a bounded time. */
static void finish(struct supervisor *s)
{
        int64_t until;

        for (int i = PFD_STDOUT; i <= PFD_STDERR; i++)
                pump(s, i, INT_MAX);
        drain(s);
        (void)signal_leftovers(s, SIGKILL);
        s->term_at = s->kill_at = 0;
        until = clock_mono_ms() + FINAL_REAP_MS;
        while (reap(s) && clock_mono_ms() < until)
                poll_once(s, until);
        for (int i = PFD_STDOUT; i <= PFD_STDERR; i++) {
                pump(s, i, INT_MAX);
                close_fd(&s->pfd[i].fd);
        }
        read_signals(s); /* one that came with the command's end */
}

int init_run(const struct init_config *cfg, struct init_result *ret, struct hoist_error **err)
{
        struct init_result res = {0};
        struct supervisor s = {.cfg = cfg, .res = &res, .sfd = -1};
        _cleanup_free_ struct pollfd *pfd = NULL;
        _cleanup_free_ pid_t *workers = NULL;
        _cleanup_free_ int *done = NULL;
        sigset_t set = handled_set();
        int r;

        if (init_setup(err) < 0)
                return -1;
        s.sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        if (s.sfd < 0)
                return hoist_error_errno(err, "signalfd");
        s.n_workers = s.left = cfg->n_workers > 0 ? cfg->n_workers : 1;
        workers = s.workers = xcalloc(s.n_workers, sizeof *s.workers);
        done = s.done = xcalloc(s.n_workers, sizeof *s.done);
        s.npfd = PFD_FIXED + cfg->n_watches;
        pfd = s.pfd = xcalloc(s.npfd, sizeof *s.pfd);
        s.pfd[PFD_SIGNAL] = (struct pollfd){.fd = s.sfd, .events = POLLIN};
        s.pfd[PFD_STDOUT] = (struct pollfd){.fd = -1, .events = POLLIN};
        s.pfd[PFD_STDERR] = (struct pollfd){.fd = -1, .events = POLLIN};
        s.pfd[PFD_STOP] = (struct pollfd){.fd = stop_efd, .events = POLLIN};
        for (size_t i = 0; i < cfg->n_watches; i++)
                s.pfd[PFD_FIXED + i] = (struct pollfd){.fd = cfg->watches[i].fd, .events = POLLIN};

        r = spawn(&s, err);
        if (r <= 0) {
                (void)close(s.sfd);
                if (r == 0)
                        *ret = res;
                return r;
        }
        log_debug("started '%s' as pid %d", cfg->argv[0], (int)s.pid);
        if (cfg->max_runtime_s > 0)
                s.term_at = clock_mono_ms() + cfg->max_runtime_s * 1000;
        if (cfg->on_tick != NULL && cfg->tick_ms > 0)
                s.next_tick = clock_mono_ms() + cfg->tick_ms;
        if (cfg->on_spawned != NULL)
                cfg->on_spawned(cfg->userdata, s.pid);

        while (!s.have_status)
                poll_once(&s, 0);
        finish(&s);
        (void)close(s.sfd);
        /* A request that came too late is void: the next run starts clean. */
        {
                uint64_t n;
                (void)!read(stop_efd, &n, sizeof n);
                __atomic_store_n(&requested_reason, INIT_STOP_NONE, __ATOMIC_SEQ_CST);
        }
        if (tcgetpgrp(STDIN_FILENO) == s.pid)
                (void)tcsetpgrp(STDIN_FILENO, getpgrp());

        if (WIFSIGNALED(s.wstatus)) {
                res.end = INIT_SIGNALED;
                res.code = WTERMSIG(s.wstatus);
                res.exit_code = 128 + res.code;
        } else {
                res.end = INIT_EXITED;
                res.code = WEXITSTATUS(s.wstatus);
                res.exit_code = res.code;
        }
        if (res.timed_out)
                res.exit_code = 124;
        *ret = res;
        return 0;
}
