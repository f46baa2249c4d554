/* SPDX-License-Identifier: MIT */
#include "runner/control/localserve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "proc.h"
#include "runner/serve/keys.h"
#include "xalloc.h"

#define START_TIMEOUT_MS 15000

/* True when something accepts TCP connections at http://127.0.0.1:PORT. */
static int endpoint_answers(const char *endpoint)
{
        const char *p = strrchr(endpoint, ':');
        struct sockaddr_in sa = {.sin_family = AF_INET};
        int fd, ok;

        if (p == NULL || strncmp(endpoint, "http://127.0.0.1:", 17) != 0)
                return 0;
        sa.sin_port = htons((uint16_t)atoi(p + 1));
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return 0;
        ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
        (void)close(fd);
        return ok;
}

/* Reads serve.json: 1 when it names a live server that answers, else 0.
 * RET_PID may be NULL. */
static int read_serve_json(const char *serve_dir, char **ret_endpoint, char **ret_bucket,
                           pid_t *ret_pid)
{
        _cleanup_free_ char *path = path_join(serve_dir, "serve.json");
        _cleanup_free_ char *text = NULL;
        json_auto_t *j = NULL;
        json_int_t pid = 0;
        const char *endpoint = NULL, *bucket = NULL;
        size_t len = 0;

        if (fs_read_file(path, &text, &len, NULL) < 0)
                return 0;
        j = json_loadb(text, len, 0, NULL);
        if (j == NULL || json_unpack(j, "{s:I, s:s, s:s}", "pid", &pid, "endpoint", &endpoint,
                                     "bucket", &bucket) < 0)
                return 0;
        if (!proc_alive((pid_t)pid, 0) || !endpoint_answers(endpoint))
                return 0;
        *ret_endpoint = xstrdup(endpoint);
        *ret_bucket = xstrdup(bucket);
        if (ret_pid != NULL)
                *ret_pid = (pid_t)pid;
        return 1;
}

int localserve_find(const struct hoist_home *home, char **ret_endpoint)
{
        _cleanup_free_ char *serve_dir = path_join(home->dir, "serve");
        _cleanup_free_ char *bucket = NULL;

        return read_serve_json(serve_dir, ret_endpoint, &bucket, NULL);
}

/* Starts `hoist serve` detached (its own session, output to serve.log). */
static int start_server(const struct hoist_home *home, const char *serve_dir,
                        struct hoist_error **err)
{
        _cleanup_free_ char *self = path_join(home->self_dir, "hoist");
        _cleanup_free_ char *logpath = path_join(serve_dir, "serve.log");
        char *argv[] = {self, (char *)"serve", (char *)"--listen", (char *)"127.0.0.1:0", NULL};
        int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        pid_t mid;
        int status;

        if (logfd < 0)
                return hoist_error_errno(err, "open '%s'", logpath);
        mid = fork();
        if (mid < 0) {
                int e = errno;
                (void)close(logfd);
                return hoist_error_make(err, e, "fork");
        }
        if (mid == 0) {
                /* Only async-signal-safe calls from here on. */
                int nullfd;
                (void)setsid();
                if (fork() != 0)
                        _exit(0);
                nullfd = open("/dev/null", O_RDONLY);
                if (nullfd >= 0)
                        (void)dup2(nullfd, STDIN_FILENO);
                (void)dup2(logfd, STDOUT_FILENO);
                (void)dup2(logfd, STDERR_FILENO);
                execv(argv[0], argv);
                _exit(127);
        }
        (void)close(logfd);
        while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
                ;
        return 0;
}

int localserve_ensure(const struct hoist_home *home, struct localserve **ret,
                      struct hoist_error **err)
{
        _cleanup_free_ char *serve_dir = path_join(home->dir, "serve");
        _cleanup_free_ char *endpoint = NULL, *bucket = NULL;
        struct serve_keys *keys = NULL;
        struct localserve *ls;

        if (fs_mkdir_p(serve_dir, 0700, err) < 0)
                return -1;
        if (!read_serve_json(serve_dir, &endpoint, &bucket, NULL)) {
                log_debug("starting the built-in S3 endpoint");
                if (start_server(home, serve_dir, err) < 0)
                        return hoist_error_wrap(err, "start 'hoist serve'");
                struct timespec tick = {0, 50 * 1000 * 1000};
                for (int waited = 0; !read_serve_json(serve_dir, &endpoint, &bucket, NULL);
                     waited += 50) {
                        if (waited >= START_TIMEOUT_MS)
                                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                        "the built-in S3 endpoint did not start "
                                                        "within %d s; see '%s/serve.log'",
                                                        START_TIMEOUT_MS / 1000, serve_dir);
                        nanosleep(&tick, NULL);
                }
        }
        /* serve.json is written after the owner key, so the key is there. */
        if (serve_keys_open(serve_dir, NULL, NULL, &keys, err) < 0)
                return hoist_error_wrap(err, "the built-in S3 endpoint's owner key");
        ls = xzalloc(sizeof *ls);
        ls->serve_dir = TAKE_PTR(serve_dir);
        ls->endpoint = TAKE_PTR(endpoint);
        ls->bucket = TAKE_PTR(bucket);
        ls->access_key = xstrdup(serve_keys_owner(keys)->access_key);
        ls->secret_key = xstrdup(serve_keys_owner(keys)->secret_key);
        serve_keys_free(keys);
        *ret = ls;
        return 0;
}

void localserve_free(struct localserve *ls)
{
        if (ls == NULL)
                return;
        free(ls->serve_dir);
        free(ls->endpoint);
        free(ls->bucket);
        free(ls->access_key);
        if (ls->secret_key != NULL)
                explicit_bzero(ls->secret_key, strlen(ls->secret_key));
        free(ls->secret_key);
        free(ls);
}

int localserve_open_storage(const struct localserve *ls, struct storage **ret,
                            struct hoist_error **err)
{
        _cleanup_free_ char *url = xasprintf("s3://%s", ls->bucket);
        struct storage_options o = {
                .endpoint = ls->endpoint,
                .region = "us-east-1",
                .access_key_id = ls->access_key,
                .secret_access_key = ls->secret_key,
        };

        return storage_open_with(url, &o, ret, err);
}

int localserve_job_key(const struct localserve *ls, const char *job_id, int64_t attempt,
                       unsigned ttl_s, char **ret_access, char **ret_secret,
                       struct hoist_error **err)
{
        _cleanup_free_ char *prefix = xasprintf("jobs/%s/", job_id);

        return serve_keys_issue(ls->serve_dir, prefix, ttl_s, attempt, ret_access, ret_secret, err);
}

int localserve_revoke_job_keys(const struct hoist_home *home, const char *job_id,
                               int64_t through_attempt, struct hoist_error **err)
{
        _cleanup_free_ char *serve_dir = path_join(home->dir, "serve");
        _cleanup_free_ char *prefix = xasprintf("jobs/%s/", job_id);

        return serve_keys_revoke(serve_dir, prefix, through_attempt, err);
}

int localserve_keyed_jobs(const struct hoist_home *home, char ***ret_ids, struct hoist_error **err)
{
        _cleanup_free_ char *serve_dir = path_join(home->dir, "serve");

        return serve_keys_jobs(serve_dir, time(NULL), ret_ids, err);
}

int localserve_stop(const struct hoist_home *home, int timeout_ms, char **ret_endpoint,
                    pid_t *ret_pid, struct hoist_error **err)
{
        _cleanup_free_ char *serve_dir = path_join(home->dir, "serve");
        _cleanup_free_ char *endpoint = NULL, *bucket = NULL;
        struct timespec tick = {0, 50 * 1000 * 1000};
        pid_t pid = 0;
        uint64_t start;

        /* Only a pid whose endpoint answers: serve.json may be stale and
         * its pid another process's by now. */
        if (!read_serve_json(serve_dir, &endpoint, &bucket, &pid))
                return 0;
        start = proc_start_time(pid);
        if (kill(pid, SIGTERM) < 0)
                return errno == ESRCH
                               ? 0
                               : hoist_error_errno(err, "stop 'hoist serve' (pid %d)", (int)pid);
        /* It finishes the requests in flight, then removes serve.json. */
        for (int waited = 0; proc_alive(pid, start); waited += 50) {
                if (waited >= timeout_ms)
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "'hoist serve' (pid %d) did not stop within %d s "
                                                "of SIGTERM; see '%s/serve.log'",
                                                (int)pid, timeout_ms / 1000, serve_dir);
                nanosleep(&tick, NULL);
        }
        *ret_endpoint = TAKE_PTR(endpoint);
        *ret_pid = pid;
        return 1;
}
