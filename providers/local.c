/* SPDX-License-Identifier: MIT */
/*
 * The local provider: runs a job on this machine, in a container through the
 * podman or docker CLI, or as a plain host process.
 *
 * A process job is started detached (double fork, its own session) so that
 * `hoist submit` can return; its pid file holds "PID STARTTIME SID" so that a
 * later `hoist status` or `hoist cancel` names exactly that process even
 * after the pid is reused, and can reach every process of its session.  The
 * launcher waits until its pid file and the job store name it, so a hoist
 * killed at any moment leaves either a tracked job or nothing running.
 * A container job is named hoist-<job-id>; the engine keeps its state.
 */
#include "provider.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "local_resources.h"
#include "log.h"
#include "proc.h"
#include "resources.h"
#include "xalloc.h"

extern char **environ;

#define CONTAINER_PREFIX "hoist-"

/* ---- engine detection ---- */

static int engine_usable(const char *engine)
{
        char *argv[] = {(char *)engine, (char *)"info", NULL};
        int status = 1;

        if (!proc_which(engine, NULL))
                return 0;
        if (strcmp(engine, "podman") == 0)
                return 1; /* daemonless: being installed is enough */
        /* the docker client is often installed with no daemon behind it */
        struct buf out = {0}, errb = {0};
        int r = proc_run(argv, &out, &errb, &status, NULL);
        buf_free(&out);
        buf_free(&errb);
        return r == 0 && status == 0;
}

/* The container engine to use: $HOIST_CONTAINER_ENGINE, else podman, else a
 * docker whose daemon answers; NULL when there is none. */
static const char *detect_engine(void)
{
        const char *env = getenv("HOIST_CONTAINER_ENGINE");

        if (env != NULL && *env != '\0')
                return strcmp(env, "none") == 0 ? NULL : env;
        if (engine_usable("podman"))
                return "podman";
        if (engine_usable("docker"))
                return "docker";
        return NULL;
}

static int local_validate(const void *settings, struct hoist_error **err)
{
        (void)settings;
        (void)err;
        return 0; /* a process runtime always works here */
}

/* ---- the process runtime ---- */

static char *pid_file(const char *state_dir)
{
        return path_join(state_dir, "pid");
}

struct proc_id {
        pid_t pid;
        uint64_t start;
        pid_t sid;
};

static int read_pid_file(const char *state_dir, struct proc_id *ret)
{
        _cleanup_free_ char *path = pid_file(state_dir);
        _cleanup_free_ char *text = NULL;
        int pid = 0, sid = 0;
        unsigned long long start = 0;

        if (fs_read_file(path, &text, NULL, NULL) < 0)
                return -1;
        if (sscanf(text, "%d %llu %d", &pid, &start, &sid) != 3 || pid <= 0)
                return -1;
        ret->pid = pid;
        ret->start = start;
        ret->sid = sid;
        return 0;
}

static void set_env(char ***envp, size_t *n, const char *name, const char *value)
{
        size_t len = strlen(name);

        for (size_t i = 0; i < *n; i++) {
                if (strncmp((*envp)[i], name, len) == 0 && (*envp)[i][len] == '=') {
                        free((*envp)[i]);
                        (*envp)[i] = xasprintf("%s=%s", name, value);
                        return;
                }
        }
        *envp = xreallocarray(*envp, *n + 2, sizeof **envp);
        (*envp)[(*n)++] = xasprintf("%s=%s", name, value);
        (*envp)[*n] = NULL;
}

/* Whether the submitting shell's variable ENTRY ("NAME=value") reaches a
 * process job (docs/job.md "The environment of a process job"): the basics
 * a program needs, and the settings hoist-entrypoint itself reads.  Nothing
 * else: a shell's AWS_SECRET_ACCESS_KEY or HOIST_REGISTRY_PASSWORD is not the
 * job's business, and hoist's own credentials come only from the runner. */
static int process_env_keeps(const char *entry)
{
        static const char *const keep[] = {
                "PATH", "HOME", "LANG", "TZ", "TMPDIR",
                /* hoist-entrypoint's settings (hoist-entrypoint --help) */
                "HOIST_LOG", "HOIST_LOG_SYNC_S", "HOIST_CHECKPOINT_DEBOUNCE_MS",
                "HOIST_STOP_GRACE_S", "HOIST_TERMINATION_LOG", "HOIST_GPU_HEALTH_INTERVAL_MS",
                "HOIST_NVML_LIBRARY",
                /* systemd's notify protocol, which hoist-entrypoint speaks
                 * (docs/entrypoint.md) */
                "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", NULL};
        size_t len = strcspn(entry, "=");

        if (entry[len] != '=')
                return 0;
        if (strncmp(entry, "LC_", 3) == 0)
                return 1;
        for (size_t i = 0; keep[i] != NULL; i++)
                if (strlen(keep[i]) == len && strncmp(entry, keep[i], len) == 0)
                        return 1;
        return 0;
}

/* The environment of a process job's entrypoint: what process_env_keeps()
 * lets through, where to find job.json, a work directory of its own,
 * hoist's bin directory on PATH (for the examples), and the secrets. */
static char **process_env(const struct provider_submit *req, const char *workdir)
{
        size_t n = 0;
        char **env = xcalloc(1, sizeof *env);

        for (char **e = environ; *e != NULL; e++) {
                if (!process_env_keeps(*e))
                        continue;
                env = xreallocarray(env, n + 2, sizeof *env);
                env[n++] = xstrdup(*e);
                env[n] = NULL;
        }
        set_env(&env, &n, "HOIST_JOB_URL", req->job_url);
        set_env(&env, &n, "HOIST_WORKDIR", workdir);
        set_env(&env, &n, "HOIST_NODE", "main");
        for (char *const *e = req->secret_env; e != NULL && *e != NULL; e++) {
                const char *eq = strchr(*e, '=');
                _cleanup_free_ char *name = xstrndup(*e, (size_t)(eq - *e));
                set_env(&env, &n, name, eq + 1);
        }
        if (req->bin_dir != NULL) {
                const char *path = getenv("PATH");
                _cleanup_free_ char *p =
                        xasprintf("%s:%s", req->bin_dir, path ? path : "/usr/bin:/bin");
                set_env(&env, &n, "PATH", p);
        }
        return env;
}

/* Reads one launcher message {pid, 0} or {-1, errno}: 1, or 0 at EOF. */
static int read_launch_msg(int fd, int msg[2])
{
        ssize_t n;

        while ((n = read(fd, msg, 2 * sizeof *msg)) < 0 && errno == EINTR)
                ;
        return n == (ssize_t)(2 * sizeof *msg);
}

/* Lets the held launcher go on to exec the entrypoint. */
static int release_launcher(int go_fd)
{
        /* A launcher killed from outside must not take hoist with it. */
        void (*old)(int) = signal(SIGPIPE, SIG_IGN);
        ssize_t n = write(go_fd, "g", 1);
        int e = errno;

        (void)signal(SIGPIPE, old);
        errno = e;
        return n == 1 ? 0 : -1;
}

/* The launcher: its own session (so that cancel reaches everything the job
 * starts), then held on GO_FD until hoist has recorded it.  EOF there means
 * hoist died or gave up first: it then removes its pid file and starts
 * nothing.  Only async-signal-safe calls; never returns. */
static void run_launcher(int report_fd, int go_fd, int logfd, const char *pidpath,
                         const char *state_dir, char *const argv[], char *const env[])
{
        pid_t pid;
        ssize_t n;
        char go = 0;
        int nullfd;

        (void)setsid();
        pid = fork();
        if (pid != 0) {
                int msg[2] = {(int)pid, 0};
                (void)!write(report_fd, msg, sizeof msg);
                _exit(pid < 0 ? 1 : 0);
        }
        while ((n = read(go_fd, &go, 1)) < 0 && errno == EINTR)
                ;
        if (n != 1) {
                (void)unlink(pidpath);
                _exit(0);
        }
        nullfd = open("/dev/null", O_RDONLY);
        if (nullfd >= 0)
                (void)dup2(nullfd, STDIN_FILENO);
        (void)dup2(logfd, STDOUT_FILENO);
        (void)dup2(logfd, STDERR_FILENO);
        if (chdir(state_dir) < 0)
                _exit(125);
        execve(argv[0], argv, env);
        int msg[2] = {-1, errno};
        (void)!write(report_fd, msg, sizeof msg);
        _exit(127);
}

/* A process job that asks for GPUs sees those chosen for it, numbered as
 * NVML numbers them (docs/job.md "resources"). */
static int add_gpu_env(const struct provider_submit *req, char ***env, struct hoist_error **err)
{
        _cleanup_free_ char *devices = NULL;
        size_t n = 0;

        if (local_resources_cuda_devices(&req->spec->resources, &devices, err) < 0)
                return -1;
        if (devices == NULL)
                return 0;
        while ((*env)[n] != NULL)
                n++;
        set_env(env, &n, "CUDA_DEVICE_ORDER", "PCI_BUS_ID");
        set_env(env, &n, "CUDA_VISIBLE_DEVICES", devices);
        return 0;
}

static int submit_process(const struct provider_submit *req, struct hoist_error **err)
{
        _cleanup_free_ char *workdir = path_join(req->state_dir, "work");
        _cleanup_free_ char *console = path_join(req->state_dir, "console.log");
        _cleanup_free_ char *pidpath = pid_file(req->state_dir);
        _cleanup_free_ char *ref = NULL, *line = NULL;
        _cleanup_strv_ char **env = NULL;
        _cleanup_close_ int logfd = -1, report_fd = -1, go_fd = -1;
        char *argv[] = {(char *)req->entrypoint, (char *)"train", NULL};
        int report[2], go[2], msg[2] = {0, 0}, status;
        pid_t mid, pid;

        if (req->entrypoint == NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "cannot find hoist-entrypoint next to hoist (set "
                                        "HOIST_ENTRYPOINT, or run 'make install')");
        /* A new attempt starts from clean local directories; checkpoints
         * live in storage and survive. */
        if (fs_remove_tree(workdir, err) < 0 || fs_mkdir_p(workdir, 0700, err) < 0)
                return -1;
        (void)unlink(pidpath);
        env = process_env(req, workdir);
        if (add_gpu_env(req, &env, err) < 0)
                return -1;
        logfd = open(console, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (logfd < 0)
                return hoist_error_errno(err, "open '%s'", console);
        if (pipe2(report, O_CLOEXEC) < 0)
                return hoist_error_errno(err, "pipe");
        report_fd = report[0];
        if (pipe2(go, O_CLOEXEC) < 0) {
                (void)close(report[1]);
                return hoist_error_errno(err, "pipe");
        }
        go_fd = go[1];

        mid = fork();
        if (mid < 0) {
                int e = errno;
                (void)close(report[1]);
                (void)close(go[0]);
                return hoist_error_make(err, e, "fork");
        }
        if (mid == 0) {
                (void)close(report[0]);
                (void)close(go[1]);
                run_launcher(report[1], go[0], logfd, pidpath, req->state_dir, argv, env);
        }
        (void)close(report[1]);
        (void)close(go[0]);
        while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
                ;
        if (!read_launch_msg(report_fd, msg) || msg[0] <= 0)
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "start '%s': fork failed",
                                        req->entrypoint);
        pid = msg[0];

        /* The pid file and the store name the launcher before it may run. */
        line = xasprintf("%d %llu %d\n", (int)pid, (unsigned long long)proc_start_time(pid),
                         (int)mid);
        ref = xasprintf("pid:%d", (int)pid);
        if (fs_write_file_atomic(pidpath, line, strlen(line), 0600, err) < 0 ||
            req->record(req->userdata, "process", ref, err) < 0) {
                /* EOF on its pipe: the launcher exits, and EOF on ours says it has. */
                (void)close(TAKE_FD(go_fd));
                while (read_launch_msg(report_fd, msg))
                        ;
                (void)unlink(pidpath);
                return -1;
        }
        if (release_launcher(go_fd) < 0)
                return hoist_error_errno(err, "start '%s' (pid %d)", req->entrypoint, (int)pid);
        (void)close(TAKE_FD(go_fd));
        while (read_launch_msg(report_fd, msg))
                if (msg[0] == -1)
                        return hoist_error_make(err, msg[1], "start '%s'", req->entrypoint);
        return 0;
}

/* Sends SIG to every live process of session SID (the job's) and returns
 * how many.  The session's leader exited as the job started, so a session
 * of that id whose leader lives is another one, made after the job's was
 * gone and the id reused: it is left alone. */
static int kill_session(pid_t sid, int sig)
{
        DIR *d;
        struct dirent *de;
        int n = 0;

        if (sid <= 1 || proc_alive(sid, 0))
                return 0;
        d = opendir("/proc");
        if (d == NULL)
                return 0;
        while ((de = readdir(d)) != NULL) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);
                if (*end != '\0' || pid <= 1)
                        continue;
                if (getsid((pid_t)pid) == sid && proc_alive((pid_t)pid, 0) &&
                    kill((pid_t)pid, sig) == 0)
                        n++;
        }
        (void)closedir(d);
        return n;
}

/* SIGKILLs what is left of session SID and waits until none of it runs. */
static int kill_session_wait(pid_t sid, struct hoist_error **err)
{
        struct timespec tick = {0, 20 * 1000 * 1000};
        int left = 0;

        for (int i = 0; i < 500 && (left = kill_session(sid, SIGKILL)) > 0; i++)
                nanosleep(&tick, NULL);
        if (left > 0)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "%d process(es) of the job's session %d still run 10 s "
                                        "after SIGKILL",
                                        left, (int)sid);
        return 0;
}

static int process_status(const char *state_dir, struct provider_status *ret)
{
        struct proc_id id;

        ret->exit_code = -1;
        if (read_pid_file(state_dir, &id) < 0) {
                ret->state = JOB_FAILED;
                ret->reason = xstrdup("the job's process never started (no pid file)");
                return 0;
        }
        if (proc_alive(id.pid, id.start)) {
                ret->state = JOB_RUNNING;
                return 0;
        }
        ret->state = JOB_FAILED;
        ret->reason = xasprintf("hoist-entrypoint (pid %d) exited without writing a result; "
                                "see '%s/console.log'",
                                (int)id.pid, state_dir);
        return 0;
}

/* Stops the job's process and everything of its session: SIGTERM, and
 * SIGKILL after GRACE_S; returns once none of it runs. */
static int cancel_process(const char *state_dir, int64_t grace_s, struct hoist_error **err)
{
        struct proc_id id;

        if (read_pid_file(state_dir, &id) < 0)
                return 0; /* never started: nothing to stop */
        if (!proc_alive(id.pid, id.start))
                return kill_session_wait(id.sid, err); /* leftovers of a dead entrypoint */
        if (kill(id.pid, SIGTERM) < 0 && errno != ESRCH)
                return hoist_error_errno(err, "signal pid %d", (int)id.pid);
        /* The entrypoint forwards SIGTERM and SIGKILLs its command after the
         * grace period itself; we wait a little longer, then make sure. */
        struct timespec tick = {0, 50 * 1000 * 1000};
        int64_t waited_ms = 0, limit_ms = (grace_s + 5) * 1000;
        while (proc_alive(id.pid, id.start) && waited_ms < limit_ms) {
                nanosleep(&tick, NULL);
                waited_ms += 50;
        }
        if (proc_alive(id.pid, id.start))
                log_debug("pid %d outlived its grace period; SIGKILL", (int)id.pid);
        return kill_session_wait(id.sid, err);
}

/* ---- the container runtime ---- */

static char *container_name(const char *job_id)
{
        return xasprintf(CONTAINER_PREFIX "%s", job_id);
}

static int engine_run(char **argv, struct buf *out, struct hoist_error **err)
{
        _cleanup_buf_ struct buf errb = {0};
        int status = 0;

        if (proc_run(argv, out, &errb, &status, err) < 0)
                return -1;
        if (status != 0) {
                while (errb.len > 0 && (errb.data[errb.len - 1] == '\n'))
                        buf_truncate(&errb, errb.len - 1);
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "'%s %s' failed (exit %d): %s",
                                        argv[0], argv[1], status,
                                        errb.len ? errb.data : "no output");
        }
        return 0;
}

struct argv_builder {
        char **v;
        size_t n;
};

static void argv_add(struct argv_builder *a, const char *s)
{
        a->v = xreallocarray(a->v, a->n + 2, sizeof *a->v);
        a->v[a->n++] = xstrdup(s);
        a->v[a->n] = NULL;
}

/* True when URL's host is this machine's loopback (127.0.0.0/8, localhost, ::1). */
static int url_is_loopback(const char *url)
{
        const char *h = strstr(url ? url : "", "://");

        if (h == NULL)
                return 0;
        h += 3;
        return strncmp(h, "127.", 4) == 0 || strncmp(h, "localhost", 9) == 0 ||
               strncmp(h, "[::1]", 5) == 0;
}

static int needs_host_network(const struct jobspec *spec)
{
        if (url_is_loopback(spec->storage.endpoint))
                return 1;
        for (size_t i = 0; i < spec->n_webhooks; i++)
                if (url_is_loopback(spec->webhooks[i].url))
                        return 1;
        return 0;
}

/* Where a container finds every secret of its attempt (the job's own and
 * hoist's HOIST_S3_* and webhook secrets), as one JSON object {NAME: value}
 * that hoist-entrypoint reads at start (HOIST_SECRETS_FILE).  Not --env-file
 * or --secret type=env: the engines show those values in `inspect`. */
#define SECRETS_MOUNT "/run/hoist/secrets.json"

struct secrets_file {
        char *dir;  /* private (0700) on a tmpfs, removed with the file */
        char *path; /* bind-mounted read-only at SECRETS_MOUNT */
};

static void secrets_file_remove(struct secrets_file *f)
{
        if (f->path != NULL)
                (void)unlink(f->path);
        if (f->dir != NULL)
                (void)rmdir(f->dir);
        free(f->path);
        free(f->dir);
        *f = (struct secrets_file){0};
}

/* A tmpfs that only this user can list: $XDG_RUNTIME_DIR, else /dev/shm.
 * Never $HOIST_HOME (on disk, and grepped by whoever backs it up). */
static const char *secrets_tmpfs(void)
{
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        struct stat st;

        if (xdg != NULL && xdg[0] == '/' && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode) &&
            st.st_uid == geteuid())
                return xdg;
        return "/dev/shm";
}

/* Writes REQ->secret_env to a new secrets file.  The engine mounts it when
 * the container starts; the file goes as soon as `run` returns (a bind
 * mount keeps the file it was made from), so it outlives no container
 * start and no hoist that finishes. */
static int secrets_file_write(const struct provider_submit *req, struct secrets_file *ret,
                              struct hoist_error **err)
{
        _cleanup_free_ char *tmpl = path_join(secrets_tmpfs(), "hoist-secrets-XXXXXX");
        json_t *o = json_object();
        char *text;
        int fd, r = 0;

        for (char *const *e = req->secret_env; *e != NULL; e++) {
                const char *eq = strchr(*e, '=');
                _cleanup_free_ char *name = xstrndup(*e, (size_t)(eq - *e));
                json_t *v = json_string(eq + 1); /* NULL: not UTF-8 */
                if (v == NULL) {
                        json_decref(o);
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "secret '%s' is not UTF-8 text, which a "
                                                "container's secrets file cannot carry (encode "
                                                "it, e.g. in base64, or use 'runtime: process')",
                                                name);
                }
                (void)json_object_set_new(o, name, v);
        }
        text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (text == NULL)
                abort(); /* out of memory */
        if (mkdtemp(tmpl) == NULL) {
                r = hoist_error_errno(err, "create a private directory under '%s'",
                                      secrets_tmpfs());
                goto out;
        }
        ret->dir = xstrdup(tmpl);
        ret->path = path_join(tmpl, "secrets.json");
        /* 0644 inside a 0700 directory: readable by the image's USER, whoever
         * that is, and by nobody else on this machine. */
        fd = open(ret->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0 || fs_write_all(fd, text, strlen(text)) < 0 || fchmod(fd, 0644) < 0) {
                r = hoist_error_errno(err, "write '%s'", ret->path);
                if (fd >= 0)
                        (void)close(fd);
                secrets_file_remove(ret);
                goto out;
        }
        (void)close(fd);
out:
        explicit_bzero(text, strlen(text));
        free(text);
        return r;
}

/* --cpus, --memory and the GPUs the job asks for (docs/job.md "resources"). */
static int add_resource_args(struct argv_builder *a, const struct provider_submit *req,
                             const char *engine, struct hoist_error **err)
{
        _cleanup_strv_ char **args =
                local_resources_engine_args(&req->spec->resources, engine, err);

        if (args == NULL)
                return -1;
        for (char **p = args; *p != NULL; p++)
                argv_add(a, *p);
        return 0;
}

static int submit_container(const struct provider_submit *req, const char *engine,
                            struct hoist_error **err)
{
        _cleanup_free_ char *name = container_name(req->job_id);
        _cleanup_strv_ char **argv = NULL;
        struct argv_builder a = {0};
        char buf[64];
        _cleanup_buf_ struct buf out = {0};

        if (req->image == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "the job has no image to run in a container (set 'image:' "
                                        "in job.yaml, or 'runtime: process')");
        argv_add(&a, engine);
        argv_add(&a, "run");
        argv_add(&a, "-d");
        argv_add(&a, "--name");
        argv_add(&a, name);
        argv_add(&a, "--label");
        snprintf(buf, sizeof buf, "io.hoist.job=%s", req->job_id);
        argv_add(&a, buf);
        argv_add(&a, "-e");
        _cleanup_free_ char *jenv = xasprintf("HOIST_JOB_URL=%s", req->job_url);
        argv_add(&a, jenv);
        argv_add(&a, "-e");
        argv_add(&a, "HOIST_NODE=main");
        if (req->storage_root != NULL) {
                /* Same path inside as outside, so file:// URLs in job.json hold. */
                _cleanup_free_ char *vol = xasprintf("%s:%s", req->storage_root, req->storage_root);
                argv_add(&a, "-v");
                argv_add(&a, vol);
        }
        if (req->bundle != NULL) {
                /* The host's entrypoint bundle, so any image runs this hoist's entrypoint. */
                _cleanup_free_ char *vol = xasprintf("%s:/opt/hoist:ro", req->bundle);
                argv_add(&a, "-v");
                argv_add(&a, vol);
        }
        struct secrets_file secrets = {0};
        if (req->secret_env != NULL && req->secret_env[0] != NULL) {
                if (secrets_file_write(req, &secrets, err) < 0) {
                        strv_free(a.v);
                        return -1;
                }
                _cleanup_free_ char *vol = xasprintf("%s:" SECRETS_MOUNT ":ro", secrets.path);
                argv_add(&a, "-v");
                argv_add(&a, vol);
                argv_add(&a, "-e");
                argv_add(&a, "HOIST_SECRETS_FILE=" SECRETS_MOUNT);
        }
        /* A storage endpoint or a webhook on this machine's loopback is
         * reachable only from the host's network namespace. */
        if (needs_host_network(req->spec))
                argv_add(&a, "--network=host");
        if (req->spec->command != NULL) {
                argv_add(&a, "--entrypoint");
                argv_add(&a, "/opt/hoist/bin/hoist-entrypoint");
        }
        snprintf(buf, sizeof buf, "%lld",
                 (long long)(req->spec->stop_grace_s > 0 ? req->spec->stop_grace_s + 10
                                                         : JOBSPEC_DEFAULT_STOP_GRACE_S + 10));
        argv_add(&a, "--stop-timeout");
        argv_add(&a, buf);
        if (add_resource_args(&a, req, engine, err) < 0) {
                strv_free(a.v);
                return -1;
        }
        argv_add(&a, req->image);
        if (req->spec->command != NULL)
                argv_add(&a, "train");
        argv = a.v;
        /* The name is the ref: in the store before the container may run. */
        if (req->record(req->userdata, engine, name, err) < 0) {
                secrets_file_remove(&secrets);
                return -1;
        }
        int r = engine_run(argv, &out, err);
        secrets_file_remove(&secrets); /* mounted already, or never will be */
        if (r < 0)
                return hoist_error_wrap(err, "start container for '%s'", req->image);
        return 0;
}

static int container_status(const struct job_record *job, struct provider_status *ret,
                            struct hoist_error **err)
{
        _cleanup_buf_ struct buf out = {0};
        _cleanup_buf_ struct buf errb = {0};
        char *argv[] = {job->runtime,       (char *)"inspect",
                        (char *)"--format", (char *)"{{.State.Status}} {{.State.ExitCode}}",
                        job->provider_ref,  NULL};
        char state[32] = "";
        int code = -1, status = 0;

        if (proc_run(argv, &out, &errb, &status, err) < 0)
                return -1;
        ret->exit_code = -1;
        if (status != 0) {
                ret->state = JOB_FAILED;
                ret->reason = xasprintf("container '%s' is gone", job->provider_ref);
                return 0;
        }
        if (sscanf(out.data ? out.data : "", "%31s %d", state, &code) < 1)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "%s inspect: unexpected output '%s'", job->runtime,
                                        out.data ? out.data : "");
        if (strcmp(state, "running") == 0 || strcmp(state, "paused") == 0 ||
            strcmp(state, "stopping") == 0) {
                ret->state = JOB_RUNNING;
        } else if (strcmp(state, "created") == 0 || strcmp(state, "configured") == 0 ||
                   strcmp(state, "initialized") == 0) {
                ret->state = JOB_STARTING;
        } else {
                ret->state = code == 0 ? JOB_SUCCEEDED : JOB_FAILED;
                ret->exit_code = code;
                ret->reason =
                        xasprintf("container exited with code %d without writing a result", code);
        }
        return 0;
}

/* The last ": "-separated part of the engine's last line: "manifest
 * unknown", "connection refused", not the chain of contexts before it. */
static char *engine_reason(struct buf *errb)
{
        const char *text, *line, *last;

        while (errb->len > 0 && errb->data[errb->len - 1] == '\n')
                buf_truncate(errb, errb->len - 1);
        if (errb->len == 0)
                return xstrdup("no output");
        text = errb->data;
        line = strrchr(text, '\n');
        line = line ? line + 1 : text;
        for (last = line; (text = strstr(last, ": ")) != NULL;)
                last = text + 2;
        return xstrdup(*last ? last : line);
}

/* An image that is missing fails the job only after its inputs went up,
 * in four lines of engine retries: look first, and pull it now if needed
 * (the job's run then finds it here). */
static int local_check_image(const char *image, const char *runtime, struct hoist_error **err)
{
        const char *engine;

        if (image == NULL || (runtime != NULL && strcmp(runtime, "process") == 0) ||
            (engine = detect_engine()) == NULL)
                return 0; /* local_submit runs a process, or says why it cannot */
        int docker = strcmp(engine, "docker") == 0;
        char *exists[] = {(char *)engine, (char *)"image",
                          docker ? (char *)"inspect" : (char *)"exists", (char *)image, NULL};
        _cleanup_buf_ struct buf errb = {0};
        int status = 1;
        if (proc_run(exists, NULL, &errb, &status, err) < 0)
                return -1;
        if (status == 0)
                return 0;
        log_info("pulling image '%s' (not on this machine yet)", image);
        char *pull[] = {(char *)engine, (char *)"pull", (char *)"-q", (char *)image, NULL};
        buf_truncate(&errb, 0);
        if (proc_run(pull, NULL, &errb, &status, err) < 0)
                return -1;
        if (status == 0)
                return 0;
        _cleanup_free_ char *why = engine_reason(&errb);
        return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                "image '%s' is not on this machine and %s cannot pull it (%s): "
                                "build it (hoist build, or a build: section in job.yaml), or fix "
                                "'image:'",
                                image, engine, why);
}

/* ---- the operations ---- */

/* The engine a job with IMAGE runs under with RUNTIME, as local_submit
 * picks it; NULL for a process. */
static const char *job_engine(const char *image, const char *runtime)
{
        if (image == NULL || (runtime != NULL && strcmp(runtime, "process") == 0))
                return NULL;
        return detect_engine();
}

static int local_check_resources_op(const struct jobspec_resources *r, const char *image,
                                    const char *runtime, const char *work_dir,
                                    struct hoist_error **err)
{
        if (resources_empty(r))
                return 0; /* no engine to look for */
        return local_check_resources(r, job_engine(image, runtime), work_dir, err);
}

static int local_submit(const struct provider_submit *req, struct hoist_error **err)
{
        const char *rt = req->runtime ? req->runtime : "auto";
        const char *engine = NULL;

        if (strcmp(rt, "process") != 0) {
                engine = detect_engine();
                if (engine == NULL && strcmp(rt, "container") == 0)
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "runtime 'container' needs podman or docker, and "
                                                "neither is usable here (install podman, or set "
                                                "'runtime: process')");
                if (engine == NULL && req->spec->command == NULL)
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "no container engine (podman or docker) is usable "
                                                "here, and the job has no 'command' to run as a "
                                                "process (install podman, or give a command)");
                if (engine != NULL && req->image == NULL)
                        engine = NULL; /* nothing to run a container from */
        }
        if (engine == NULL)
                return submit_process(req, err);
        return submit_container(req, engine, err);
}

static int local_status(const struct job_record *job, const char *state_dir,
                        struct provider_status *ret, struct hoist_error **err)
{
        if (job->runtime == NULL || job->provider_ref == NULL) {
                struct proc_id id;
                /* hoist submit may have been killed after starting the
                 * process but before recording it: its pid file tells. */
                if (read_pid_file(state_dir, &id) == 0)
                        return process_status(state_dir, ret);
                ret->state = JOB_FAILED;
                ret->exit_code = -1;
                ret->reason = xstrdup("the job was never started (hoist submit was interrupted)");
                return 0;
        }
        if (strcmp(job->runtime, "process") == 0)
                return process_status(state_dir, ret);
        return container_status(job, ret, err);
}

static int write_fd_all(int fd, const struct buf *b)
{
        return b->len ? fs_write_all(fd, b->data, b->len) : 0;
}

static int local_logs(const struct job_record *job, const char *state_dir, int follow, int fd,
                      struct hoist_error **err)
{
        _cleanup_buf_ struct buf out = {0};

        (void)follow;
        if (job->runtime == NULL)
                return 0;
        if (strcmp(job->runtime, "process") == 0) {
                _cleanup_free_ char *console = path_join(state_dir, "console.log");
                _cleanup_free_ char *text = NULL;
                size_t len = 0;
                if (fs_read_file(console, &text, &len, NULL) == 0 && len > 0)
                        return fs_write_all(fd, text, len) < 0 ? hoist_error_errno(err, "write")
                                                               : 0;
                return 0;
        }
        char *argv[] = {job->runtime, (char *)"logs", job->provider_ref, NULL};
        int status;
        if (proc_run(argv, &out, &out, &status, err) < 0)
                return -1;
        return write_fd_all(fd, &out) < 0 ? hoist_error_errno(err, "write") : 0;
}

static int is_container(const struct job_record *job)
{
        return job->runtime != NULL && job->provider_ref != NULL &&
               strcmp(job->runtime, "process") != 0;
}

static int local_cancel(const struct job_record *job, const char *state_dir, int64_t grace_s,
                        struct hoist_error **err)
{
        if (!is_container(job))
                return cancel_process(state_dir, grace_s, err);

        char t[32];
        snprintf(t, sizeof t, "%lld", (long long)grace_s + 10);
        char *argv[] = {job->runtime, (char *)"stop", (char *)"-t", t, job->provider_ref, NULL};
        _cleanup_buf_ struct buf out = {0};
        if (engine_run(argv, &out, err) < 0)
                return hoist_error_wrap(err, "stop container '%s'", job->provider_ref);
        return 0;
}

static int local_clear(const struct job_record *job, const char *state_dir, int64_t grace_s,
                       struct hoist_error **err)
{
        _cleanup_free_ char *pidpath = pid_file(state_dir);

        /* Whatever the runtime now, a pid file names an earlier process attempt. */
        if (cancel_process(state_dir, grace_s, err) < 0)
                return hoist_error_wrap(err, "stop the previous attempt of job %s", job->id);
        (void)unlink(pidpath);
        if (is_container(job)) {
                /* Stopped within its grace if it still runs (a container
                 * that is gone already makes stop fail), then removed: the
                 * next attempt reuses the name. */
                char *argv[] = {job->runtime, (char *)"rm", (char *)"-f", job->provider_ref, NULL};
                struct hoist_error *gone = NULL;
                int status;
                if (local_cancel(job, state_dir, grace_s, &gone) < 0)
                        hoist_error_free(gone);
                (void)proc_run(argv, NULL, NULL, &status, NULL);
        }
        return 0;
}

static int local_release(const struct job_record *job, const char *state_dir,
                         struct hoist_error **err)
{
        if (!is_container(job)) {
                _cleanup_free_ char *workdir = path_join(state_dir, "work");
                struct proc_id id;
                int have = read_pid_file(state_dir, &id) == 0;
                /* Still sending its last logs and events: it cleans up itself. */
                if (have && proc_alive(id.pid, id.start))
                        return 0;
                /* An entrypoint that died (SIGKILL, OOM) leaves its command running. */
                if (have && kill_session_wait(id.sid, err) < 0)
                        return -1;
                /* Staged inputs and local copies of what is in storage now. */
                return fs_remove_tree(workdir, err);
        }
        /* -v: with the anonymous volumes the image declares. */
        char *argv[] = {job->runtime, (char *)"rm",      (char *)"-f",
                        (char *)"-v", job->provider_ref, NULL};
        _cleanup_buf_ struct buf out = {0};
        return engine_run(argv, &out, err);
}

const struct provider_ops provider_local = {
        .name = "local",
        .remote = 0,
        .upload_limit = 0,
        .caps = {.gpus = 1, .multi_node = 0, .spot = 0, .max_runtime_s = 0},
        .poll_ms = 1000,
        /* Priced by the user's rate (prices.yaml: per CPU-, GPU- or
         * node-hour); billed by hoist's own record of the run time
         * (runner/job/cost.c), since this machine bills nothing. */
        .price_key = NULL,
        .billing = NULL,
        .validate = local_validate,
        .check_image = local_check_image,
        .check_resources = local_check_resources_op,
        .submit = local_submit,
        .status = local_status,
        .logs = local_logs,
        .cancel = local_cancel,
        .clear = local_clear,
        .release = local_release,
};
