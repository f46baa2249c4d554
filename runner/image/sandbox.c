/* SPDX-License-Identifier: MIT */
/*
 * RUN in namespaces (see sandbox.h).
 *
 * Everything that can be decided before the clone is decided in the parent
 * (the user and groups from the image's /etc/passwd, the executable's path
 * in the image, the environment), so the child only makes system calls.
 * The child reports a failure as {stage, errno} on a close-on-exec pipe: an
 * empty pipe at exit means execve() succeeded.
 */
#include "runner/image/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "runner/image/image.h"
#include "runner/image/layer.h"
#include "log.h"
#include "xalloc.h"

#define MAX_GROUPS 64
#define CHILD_STACK (256 * 1024)

enum stage {
        ST_PRIVATE = 1,
        ST_BIND_ROOT,
        ST_PROC,
        ST_DEV,
        ST_DEVNODE,
        ST_ETC,
        ST_PIVOT,
        ST_HOSTNAME,
        ST_USER,
        ST_WORKDIR,
        ST_STDIO,
        ST_EXEC,
};

struct child_ctx {
        const char *root;
        const char *exe;
        const char *const *argv;
        char **envp;
        const char *hostname;
        const char *workdir;
        uid_t uid;
        gid_t gid;
        gid_t groups[MAX_GROUPS];
        size_t n_groups;
        int out_fd; /* becomes stdout and stderr */
        int err_fd; /* the report pipe */
};

/* ---------------------------------------------------------------- child -- */

static void child_fail(const struct child_ctx *c, enum stage st)
{
        int msg[2] = {(int)st, errno};

        (void)!write(c->err_fd, msg, sizeof msg);
        _exit(127);
}

/* "/proc/self/fd/N[/TAIL]" into BUF without stdio. */
static const char *fd_path(char buf[64], int fd, const char *tail)
{
        char digits[16];
        size_t n = 0, len = 0;
        static const char prefix[] = "/proc/self/fd/";

        do {
                digits[n++] = (char)('0' + fd % 10);
                fd /= 10;
        } while (fd > 0 && n < sizeof digits);
        memcpy(buf, prefix, sizeof prefix - 1);
        len = sizeof prefix - 1;
        while (n > 0)
                buf[len++] = digits[--n];
        if (tail != NULL) {
                buf[len++] = '/';
                for (const char *t = tail; *t && len < 62; t++)
                        buf[len++] = *t;
        }
        buf[len] = '\0';
        return buf;
}

static int child_open(int rootfd, const char *path, int flags)
{
        struct open_how how = {
                .flags = (uint64_t)(flags | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };

        return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

static void child_dev(const struct child_ctx *c, int rootfd)
{
        static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
        static const char *const links[][2] = {{"fd", "/proc/self/fd"},
                                               {"stdin", "/proc/self/fd/0"},
                                               {"stdout", "/proc/self/fd/1"},
                                               {"stderr", "/proc/self/fd/2"},
                                               {"ptmx", "pts/ptmx"}};
        char p[64], host[32];
        int fd = child_open(rootfd, "dev", O_PATH | O_DIRECTORY);

        if (fd < 0 || mount("tmpfs", fd_path(p, fd, NULL), "tmpfs", MS_NOSUID | MS_NOEXEC,
                            "mode=755,size=65536k") < 0)
                child_fail(c, ST_DEV);
        (void)close(fd);
        fd = child_open(rootfd, "dev", O_RDONLY | O_DIRECTORY);
        if (fd < 0)
                child_fail(c, ST_DEV);
        for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
                int f = openat(fd, nodes[i], O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
                size_t n = strlen(nodes[i]);
                if (f < 0)
                        child_fail(c, ST_DEVNODE);
                (void)close(f);
                memcpy(host, "/dev/", 5);
                memcpy(host + 5, nodes[i], n + 1);
                if (mount(host, fd_path(p, fd, nodes[i]), NULL, MS_BIND, NULL) < 0)
                        child_fail(c, ST_DEVNODE);
        }
        for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
                if (symlinkat(links[i][1], fd, links[i][0]) < 0 && errno != EEXIST)
                        child_fail(c, ST_DEVNODE);
        /* A terminal and shared memory are conveniences: no failure here. */
        if (mkdirat(fd, "pts", 0755) == 0)
                (void)mount("devpts", fd_path(p, fd, "pts"), "devpts", MS_NOSUID | MS_NOEXEC,
                            "newinstance,ptmxmode=0666,mode=0620");
        if (mkdirat(fd, "shm", 01777) == 0)
                (void)mount("shm", fd_path(p, fd, "shm"), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                            "mode=1777,size=65536k");
        (void)close(fd);
}

/* Bind-mounts the host's /etc/NAME read-only over the image's, when the
 * image has a regular file there. */
static void child_etc(const struct child_ctx *c, int rootfd, const char *name)
{
        char rel[32] = "etc/", host[32] = "/etc/", p[64];
        struct stat st;
        int fd;

        memcpy(rel + 4, name, strlen(name) + 1);
        memcpy(host + 5, name, strlen(name) + 1);
        if (access(host, R_OK) < 0)
                return;
        fd = child_open(rootfd, rel, O_PATH | O_NOFOLLOW);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                if (fd >= 0)
                        (void)close(fd);
                return;
        }
        if (mount(host, fd_path(p, fd, NULL), NULL, MS_BIND, NULL) < 0)
                child_fail(c, ST_ETC);
        (void)close(fd);
        fd = child_open(rootfd, rel, O_PATH | O_NOFOLLOW);
        if (fd < 0 || mount(NULL, fd_path(p, fd, NULL), NULL,
                            MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
                child_fail(c, ST_ETC);
        (void)close(fd);
}

static int child_main(void *opaque)
{
        const struct child_ctx *c = opaque;
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        sigset_t all;
        char p[64];
        int rootfd, fd;

        sigfillset(&all);
        for (int sig = 1; sig < NSIG; sig++)
                (void)sigaction(sig, &dfl, NULL);
        (void)sigprocmask(SIG_UNBLOCK, &all, NULL);
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                child_fail(c, ST_PRIVATE);
        if (mount(c->root, c->root, NULL, MS_BIND | MS_REC, NULL) < 0)
                child_fail(c, ST_BIND_ROOT);
        rootfd = open(c->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                child_fail(c, ST_BIND_ROOT);
        fd = child_open(rootfd, "proc", O_PATH | O_DIRECTORY);
        if (fd < 0 ||
            mount("proc", fd_path(p, fd, NULL), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                child_fail(c, ST_PROC);
        (void)close(fd);
        /* /sys read-only where the image has the directory; some tools
         * look at it, none needs it, so a refusal is no failure. */
        fd = child_open(rootfd, "sys", O_PATH | O_DIRECTORY | O_NOFOLLOW);
        if (fd >= 0) {
                (void)mount("sysfs", fd_path(p, fd, NULL), "sysfs",
                            MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
                (void)close(fd);
        }
        child_dev(c, rootfd);
        child_etc(c, rootfd, "resolv.conf");
        child_etc(c, rootfd, "hosts");
        if (dup2(c->out_fd, 1) < 0 || dup2(c->out_fd, 2) < 0)
                child_fail(c, ST_STDIO);
        if (fchdir(rootfd) < 0)
                child_fail(c, ST_PIVOT);
        if (syscall(SYS_pivot_root, ".", ".") == 0) {
                if (umount2(".", MNT_DETACH) < 0)
                        child_fail(c, ST_PIVOT);
        } else if (chroot(".") < 0) {
                child_fail(c, ST_PIVOT);
        }
        if (chdir("/") < 0)
                child_fail(c, ST_PIVOT);
        fd = open("/dev/null", O_RDONLY);
        if (fd < 0 || dup2(fd, 0) < 0)
                child_fail(c, ST_STDIO);
        if (fd > 2)
                (void)close(fd);
        if (sethostname(c->hostname, strlen(c->hostname)) < 0)
                child_fail(c, ST_HOSTNAME);
        if (setgroups(c->n_groups, c->groups) < 0 || setresgid(c->gid, c->gid, c->gid) < 0 ||
            setresuid(c->uid, c->uid, c->uid) < 0)
                child_fail(c, ST_USER);
        if (chdir(c->workdir) < 0)
                child_fail(c, ST_WORKDIR);
        umask(022);
        /* No descriptor of the host program leaks into the command, even
         * one a library opened without O_CLOEXEC. */
        (void)syscall(SYS_close_range, 3, ~0u, CLOSE_RANGE_CLOEXEC);
        execve(c->exe, (char *const *)c->argv, c->envp);
        child_fail(c, ST_EXEC);
        return 127;
}

/* --------------------------------------------------------------- parent -- */

static const char *stage_what(enum stage st)
{
        switch (st) {
        case ST_PRIVATE:
                return "make the mounts private";
        case ST_BIND_ROOT:
                return "bind-mount the image root";
        case ST_PROC:
                return "mount /proc";
        case ST_DEV:
                return "mount /dev";
        case ST_DEVNODE:
                return "bind-mount a device into /dev";
        case ST_ETC:
                return "bind-mount /etc/resolv.conf or /etc/hosts";
        case ST_PIVOT:
                return "enter the image root (pivot_root/chroot)";
        case ST_HOSTNAME:
                return "set the hostname";
        case ST_USER:
                return "switch to the user";
        case ST_WORKDIR:
                return "change to the working directory";
        case ST_STDIO:
                return "set up stdin/stdout/stderr";
        case ST_EXEC:
                return "start the command";
        }
        return "set up the sandbox";
}

/* Reads /etc/NAME of the image (resolved inside it); NULL when absent. */
static char *read_image_file(int rootfd, const char *name)
{
        _cleanup_close_ int fd = layer_open_in_root(rootfd, name, O_RDONLY, 0);
        char *data = NULL;
        size_t len;

        if (fd < 0 || fs_read_fd(fd, name, 16 << 20, &data, &len, NULL) < 0)
                return NULL;
        return data;
}

/* Field I (0-based) of the ':'-separated LINE, copied; NULL if missing. */
static char *field(const char *line, int i)
{
        const char *p = line;

        for (; i > 0; i--) {
                p = strchr(p, ':');
                if (p == NULL)
                        return NULL;
                p++;
        }
        return xstrndup(p, strcspn(p, ":\n"));
}

static int parse_id(const char *s, unsigned long *ret)
{
        char *end;

        if (*s < '0' || *s > '9')
                return -1;
        errno = 0;
        *ret = strtoul(s, &end, 10);
        return errno == 0 && *end == '\0' && *ret < UINT32_MAX ? 0 : -1;
}

/* The line of the ':'-file DATA whose field 0 is NAME (or whose field 2 is
 * the number NAME when BY_ID), as a pointer into DATA; NULL if none. */
static const char *find_entry(const char *data, const char *name, int by_id)
{
        for (const char *line = data; line && *line;
             line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
                _cleanup_free_ char *key = field(line, by_id ? 2 : 0);
                if (key != NULL && strcmp(key, name) == 0)
                        return line;
        }
        return NULL;
}

struct user {
        uid_t uid;
        gid_t gid;
        gid_t groups[MAX_GROUPS];
        size_t n_groups;
        char *home;
};

static void add_group(struct user *u, gid_t g)
{
        for (size_t i = 0; i < u->n_groups; i++)
                if (u->groups[i] == g)
                        return;
        if (u->n_groups < MAX_GROUPS)
                u->groups[u->n_groups++] = g;
}

/* The groups of /etc/group that list NAME as a member. */
static void member_groups(struct user *u, const char *group_file, const char *name)
{
        for (const char *line = group_file; line && *line;
             line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
                _cleanup_free_ char *members = field(line, 3);
                _cleanup_free_ char *gid = field(line, 2);
                unsigned long g;
                if (members == NULL || gid == NULL || parse_id(gid, &g) < 0)
                        continue;
                for (char *save = NULL, *m = strtok_r(members, ",", &save); m;
                     m = strtok_r(NULL, ",", &save))
                        if (strcmp(m, name) == 0)
                                add_group(u, (gid_t)g);
        }
}

static int resolve_user(int rootfd, const char *spec, struct user *u, struct hoist_error **err)
{
        _cleanup_free_ char *passwd = read_image_file(rootfd, "etc/passwd");
        _cleanup_free_ char *group = read_image_file(rootfd, "etc/group");
        _cleanup_free_ char *uname = xstrdup(spec && *spec ? spec : "0");
        char *gname = strchr(uname, ':');
        _cleanup_free_ char *login = NULL;
        unsigned long id;
        const char *line;

        if (gname != NULL)
                *gname++ = '\0';
        *u = (struct user){0};
        if (parse_id(uname, &id) == 0) {
                u->uid = (uid_t)id;
                line = passwd ? find_entry(passwd, uname, 1) : NULL;
        } else {
                line = passwd ? find_entry(passwd, uname, 0) : NULL;
                if (line == NULL)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "user '%s' is not in the image's /etc/passwd "
                                                "(use a numeric uid, or create the user first)",
                                                uname);
        }
        if (line != NULL) {
                _cleanup_free_ char *uid = field(line, 2);
                _cleanup_free_ char *gid = field(line, 3);
                unsigned long g;
                login = field(line, 0);
                u->home = field(line, 5);
                if (uid && parse_id(uid, &id) == 0)
                        u->uid = (uid_t)id;
                if (gid && parse_id(gid, &g) == 0)
                        u->gid = (gid_t)g;
        }
        if (gname != NULL && *gname != '\0') {
                if (parse_id(gname, &id) == 0) {
                        u->gid = (gid_t)id;
                } else {
                        const char *gl = group ? find_entry(group, gname, 0) : NULL;
                        _cleanup_free_ char *gid = gl ? field(gl, 2) : NULL;
                        if (gid == NULL || parse_id(gid, &id) < 0)
                                return hoist_error_make(err, HOIST_ERR_INPUT,
                                                        "group '%s' is not in the image's "
                                                        "/etc/group (use a numeric gid)",
                                                        gname);
                        u->gid = (gid_t)id;
                }
                add_group(u, u->gid);
                return 0;
        }
        add_group(u, u->gid);
        if (login != NULL && group != NULL)
                member_groups(u, group, login);
        return 0;
}

static int env_has(const char *const *env, const char *key)
{
        size_t n = strlen(key);

        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], key, n) == 0 && env[i][n] == '=')
                        return 1;
        return 0;
}

static const char *env_get(const char *const *env, const char *key)
{
        size_t n = strlen(key);

        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], key, n) == 0 && env[i][n] == '=')
                        return env[i] + n + 1;
        return NULL;
}

static char **build_env(const char *const *env, const struct user *u)
{
        size_t n = 0;
        char **out;

        while (env && env[n])
                n++;
        out = xcalloc(n + 3, sizeof *out);
        for (size_t i = 0; i < n; i++)
                out[i] = xstrdup(env[i]);
        if (!env_has(env, "PATH"))
                out[n++] = xstrdup("PATH=" IMAGE_DEFAULT_PATH);
        if (!env_has(env, "HOME"))
                out[n++] = xasprintf("HOME=%s", u->home && *u->home ? u->home : "/");
        return out;
}

/* The command's path in the image: argv[0] as is when it has a '/', else
 * the first executable regular file of that name along PATH. */
static char *find_exe(int rootfd, const char *cmd, const char *path, const char *workdir,
                      struct hoist_error **err)
{
        if (strchr(cmd, '/') != NULL)
                return xstrdup(cmd);
        _cleanup_free_ char *dirs = xstrdup(path);
        for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d;
             d = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *cand = d[0] == '/' ? xasprintf("%s/%s", d, cmd)
                                                        : xasprintf("%s/%s/%s", workdir, d, cmd);
                _cleanup_close_ int fd = layer_open_in_root(rootfd, cand, O_PATH, 0);
                struct stat st;
                if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
                        return TAKE_PTR(cand);
        }
        hoist_error_make(err, HOIST_ERR_INPUT, "'%s' is not in the image (searched PATH=%s)", cmd,
                         path);
        return NULL;
}

/* mkdir -p of WORKDIR inside the image; what it creates belongs to the
 * user the command runs as (as with BuildKit), so it can write there. */
static int make_workdir(int rootfd, const char *workdir, const struct user *u)
{
        _cleanup_free_ char *p = xstrdup(workdir);
        size_t len = strlen(p);

        for (size_t i = 1; i <= len; i++) {
                if (p[i] != '/' && p[i] != '\0')
                        continue;
                char saved = p[i];
                p[i] = '\0';
                _cleanup_close_ int fd = layer_open_in_root(rootfd, p, O_PATH | O_DIRECTORY, 0);
                if (fd < 0 && errno == ENOENT) {
                        char *slash = strrchr(p, '/');
                        *slash = '\0';
                        _cleanup_close_ int pfd =
                                layer_open_in_root(rootfd, p, O_RDONLY | O_DIRECTORY, 0);
                        *slash = '/';
                        if (pfd < 0 || mkdirat(pfd, slash + 1, 0755) < 0 ||
                            fchmodat(pfd, slash + 1, 0755, 0) < 0 ||
                            fchownat(pfd, slash + 1, u->uid, u->gid, AT_SYMLINK_NOFOLLOW) < 0)
                                return -1;
                } else if (fd < 0) {
                        return -1;
                }
                p[i] = saved;
        }
        return 0;
}

/* Creates the mount point NAME when the image lacks it; *ret_made says so. */
static int ensure_mountpoint(int rootfd, const char *name, int *ret_made, struct hoist_error **err)
{
        struct stat st;

        *ret_made = 0;
        if (fstatat(rootfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return 0;
        if (mkdirat(rootfd, name, 0755) < 0)
                return hoist_error_errno(err, "create /%s in the image", name);
        *ret_made = 1;
        return 0;
}

static void forward_output(int fd, const struct sandbox_spec *spec)
{
        char chunk[8192];

        for (;;) {
                ssize_t n = read(fd, chunk, sizeof chunk);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return;
                spec->on_output(spec->userdata, chunk, (size_t)n);
        }
}

static int launch(const struct sandbox_spec *spec, struct child_ctx *c, int *ret_status,
                  struct hoist_error **err)
{
        int report[2], out[2] = {-1, -1};
        _cleanup_free_ char *stack = xmalloc(CHILD_STACK);
        int msg[2] = {0, 0}, status;
        pid_t pid;

        if (pipe2(report, O_CLOEXEC) < 0)
                return hoist_error_errno(err, "RUN: pipe");
        if (spec->on_output != NULL) {
                if (pipe2(out, O_CLOEXEC) < 0) {
                        (void)close(report[0]);
                        (void)close(report[1]);
                        return hoist_error_errno(err, "RUN: pipe");
                }
                c->out_fd = out[1];
        } else if (spec->out_fd >= 0) {
                c->out_fd = spec->out_fd;
        } else {
                c->out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
                out[1] = c->out_fd;
        }
        c->err_fd = report[1];
        pid = clone(child_main, stack + CHILD_STACK,
                    CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD, c);
        int clone_errno = errno;
        (void)close(report[1]);
        if (out[1] >= 0)
                (void)close(out[1]);
        if (pid < 0) {
                (void)close(report[0]);
                if (out[0] >= 0)
                        (void)close(out[0]);
                return hoist_error_make(err, clone_errno,
                                        "RUN: the kernel refused new mount/PID/UTS/IPC namespaces "
                                        "(run hoist build as root, outside a container that "
                                        "forbids unshare, or in one started with --privileged)");
        }
        if (out[0] >= 0) {
                forward_output(out[0], spec);
                (void)close(out[0]);
        }
        ssize_t n;
        do
                n = read(report[0], msg, sizeof msg);
        while (n < 0 && errno == EINTR);
        (void)close(report[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return hoist_error_errno(err, "RUN: wait for the command");
        if (n == (ssize_t)sizeof msg) {
                if (msg[0] == ST_EXEC)
                        return hoist_error_make(err, msg[1] == ENOENT ? HOIST_ERR_INPUT : msg[1],
                                                "RUN: cannot execute '%s' in the image%s", c->exe,
                                                msg[1] == ENOENT ? " (it, or its interpreter or "
                                                                   "loader, is missing)"
                                                                 : "");
                if (msg[0] == ST_WORKDIR)
                        return hoist_error_make(err, msg[1], "RUN: working directory '%s'",
                                                c->workdir);
                return hoist_error_make(err, msg[1], "RUN: %s", stage_what((enum stage)msg[0]));
        }
        *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return 0;
}

int sandbox_run(const struct sandbox_spec *spec, int *ret_status, struct hoist_error **err)
{
        _cleanup_close_ int rootfd = -1;
        _cleanup_strv_ char **envp = NULL;
        _cleanup_free_ char *exe = NULL;
        const char *workdir = spec->workdir && *spec->workdir ? spec->workdir : "/";
        struct user u = {0};
        struct child_ctx c = {0};
        int made_proc = 0, made_dev = 0, r;

        if (geteuid() != 0)
                return hoist_error_make(err, EPERM,
                                        "RUN needs root to create namespaces and mounts "
                                        "(run hoist build as root, e.g. with sudo)");
        if (spec->argv == NULL || spec->argv[0] == NULL || spec->argv[0][0] == '\0')
                return hoist_error_make(err, HOIST_ERR_INPUT, "RUN: empty command");
        if (workdir[0] != '/')
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "RUN: working directory '%s' is not absolute", workdir);
        rootfd = open(spec->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return hoist_error_errno(err, "RUN: image root '%s'", spec->root);
        if (resolve_user(rootfd, spec->user, &u, err) < 0)
                return hoist_error_wrap(err, "RUN");
        envp = build_env(spec->env, &u);
        exe = find_exe(rootfd, spec->argv[0], env_get((const char *const *)envp, "PATH"), workdir,
                       err);
        if (exe == NULL) {
                free(u.home);
                return hoist_error_wrap(err, "RUN");
        }
        if (make_workdir(rootfd, workdir, &u) < 0) {
                free(u.home);
                return hoist_error_errno(err, "RUN: create working directory '%s' in the image",
                                         workdir);
        }
        if (ensure_mountpoint(rootfd, "proc", &made_proc, err) < 0 ||
            ensure_mountpoint(rootfd, "dev", &made_dev, err) < 0) {
                free(u.home);
                return hoist_error_wrap(err, "RUN");
        }
        c = (struct child_ctx){
                .root = spec->root,
                .exe = exe,
                .argv = spec->argv,
                .envp = envp,
                .hostname = spec->hostname ? spec->hostname : "hoist",
                .workdir = workdir,
                .uid = u.uid,
                .gid = u.gid,
                .n_groups = u.n_groups,
        };
        memcpy(c.groups, u.groups, sizeof c.groups);
        free(u.home);
        r = launch(spec, &c, ret_status, err);
        if (made_proc)
                (void)unlinkat(rootfd, "proc", AT_REMOVEDIR);
        if (made_dev)
                (void)unlinkat(rootfd, "dev", AT_REMOVEDIR);
        return r;
}
