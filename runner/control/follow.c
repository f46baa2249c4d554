/* SPDX-License-Identifier: MIT */
#include "clock.h"
#include "runner/control/follow.h"
#include "runner/job/hubresults.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "jobspec.h"
#include "cleanup.h"
#include "runner/job/jobstorage.h"
#include "runner/cli/cli.h"
#include "fsutil.h"
#include "log.h"
#include "providers/provider.h"
#include "runner/control/reconcile.h"
#include "storage.h"
#include "xalloc.h"

int follow_exit_code(enum job_state s)
{
        switch (s) {
        case JOB_SUCCEEDED:
                return EXIT_OK;
        case JOB_CANCELED:
                return EXIT_JOB_CANCELED;
        default:
                return EXIT_JOB_FAILED;
        }
}

/* Where the log goes: FD, with each line's stored prefix
 * ("2026-11-21T19:40:00.123Z stdout|", docs/entrypoint.md) cut off unless
 * KEEP is set, only the lines of ATTEMPT (0: all), and of what the log
 * held at first only its last TAIL lines (-1: all).  A line split between
 * two reads waits in PENDING. */
struct out {
        int fd;
        const char *prefix; /* "[node1] " before each line, or NULL */
        int keep;
        int64_t attempt;
        int64_t line_attempt; /* the attempt the lines read now belong to */
        long tail;
        struct buf *ring; /* the last TAIL lines while HOLDING */
        size_t ring_next, ring_n, ring_cap;
        int holding; /* lines go to RING until out_release() */
        struct buf pending;
        struct buf text;     /* what one out_write() writes, in one go */
        struct early *early; /* lines the engine's console showed already, or NULL */
};

/* The length of the stored prefix at the start of LINE, or 0 (a line
 * written before lines were stamped is printed as it is). */
static size_t prefix_len(const char *line, size_t len)
{
        static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ ";
        size_t i;

        if (len < sizeof shape)
                return 0;
        for (i = 0; i < sizeof shape - 1; i++) {
                if (shape[i] == 'd' ? line[i] < '0' || line[i] > '9' : line[i] != shape[i])
                        return 0;
        }
        for (; i < len && i < sizeof shape + 16; i++) {
                if (line[i] == '|')
                        return i + 1;
                if (line[i] < 'a' || line[i] > 'z')
                        return 0;
        }
        return 0;
}

/* The entrypoint begins each attempt with the line "hoist-entrypoint:
 * attempt N started" (stream "hoist"): N, or 0 when LINE is another. */
static int64_t attempt_mark(const char *line, size_t len, size_t skip)
{
        static const char stream[] = "hoist|", mark[] = "hoist-entrypoint: attempt ";
        char text[64];
        long long n = 0;
        int end = 0;

        if (skip < sizeof stream - 1 ||
            memcmp(line + skip - (sizeof stream - 1), stream, sizeof stream - 1) != 0 ||
            len - skip >= sizeof text || len - skip < sizeof mark - 1 ||
            memcmp(line + skip, mark, sizeof mark - 1) != 0)
                return 0;
        memcpy(text, line + skip, len - skip);
        text[len - skip] = '\0';
        if (sscanf(text + sizeof mark - 1, "%lld started%n", &n, &end) != 1 || end == 0 ||
            (text[sizeof mark - 1 + (size_t)end] != '\0' &&
             text[sizeof mark - 1 + (size_t)end] != '\n'))
                return 0;
        return n > 0 ? n : 0;
}

/* The engine's console, shown while the stored log did not exist yet
 * (provider_ops.logs_before_start): the child process running the
 * provider's logs(), the pipe it writes to, and the lines it showed, so
 * that the same lines at the stored log's start are not shown twice. */
struct early {
        pid_t pid; /* 0: none running */
        int fd;    /* the pipe's read end, or -1 */
        struct buf pending;
        char **seen; /* the lines shown (with their newline), NULL where used */
        size_t n_seen;
};

/* 1 when LINE is one the console showed already (and is forgotten now). */
static int early_seen(struct early *e, const char *line, size_t len)
{
        for (size_t i = 0; e != NULL && i < e->n_seen; i++) {
                if (e->seen[i] != NULL && strlen(e->seen[i]) == len &&
                    memcmp(e->seen[i], line, len) == 0) {
                        free(e->seen[i]);
                        e->seen[i] = NULL;
                        return 1;
                }
        }
        return 0;
}

static void out_line(struct out *o, const char *line, size_t len)
{
        size_t skip = prefix_len(line, len);
        int64_t mark = attempt_mark(line, len, skip);

        if (mark > 0)
                o->line_attempt = mark;
        if (early_seen(o->early, line + skip, len - skip))
                return;
        if (o->attempt > 0 && o->line_attempt != o->attempt)
                return;
        if (o->keep)
                skip = 0;
        if (!o->holding) {
                if (o->prefix != NULL)
                        buf_append(&o->text, o->prefix, strlen(o->prefix));
                buf_append(&o->text, line + skip, len - skip);
        } else if (o->tail > 0) {
                size_t tail = (size_t)o->tail;
                if (o->ring_n == o->ring_cap && o->ring_cap < tail) {
                        /* Not full yet, so not wrapped: grow towards TAIL. */
                        o->ring_cap = o->ring_cap * 2 > 64 ? o->ring_cap * 2 : 64;
                        o->ring_cap = o->ring_cap < tail ? o->ring_cap : tail;
                        o->ring = xreallocarray(o->ring, o->ring_cap, sizeof *o->ring);
                        memset(o->ring + o->ring_n, 0, (o->ring_cap - o->ring_n) * sizeof *o->ring);
                }
                /* A line may hold NUL bytes: kept with its length. */
                struct buf *b = &o->ring[o->ring_n < tail ? o->ring_n : o->ring_next];
                buf_reset(b);
                if (o->prefix != NULL)
                        buf_append(b, o->prefix, strlen(o->prefix));
                buf_append(b, line + skip, len - skip);
                if (o->ring_n < tail) {
                        o->ring_n++;
                        o->ring_next = o->ring_n % tail;
                } else {
                        o->ring_next = (o->ring_next + 1) % tail;
                }
        }
}

static void out_freep(struct out *o)
{
        for (size_t i = 0; i < o->ring_cap; i++)
                buf_free(&o->ring[i]);
        free(o->ring);
        buf_free(&o->pending);
        buf_free(&o->text);
}

/* Writes LEN bytes of the log; with LAST, also a line that has no newline. */
static int out_write(struct out *o, const char *data, size_t len, int last)
{
        const char *end = data + len;

        while (data < end) {
                const char *nl = memchr(data, '\n', (size_t)(end - data));
                if (nl == NULL) {
                        buf_append(&o->pending, data, (size_t)(end - data));
                        break;
                }
                if (o->pending.len > 0) {
                        buf_append(&o->pending, data, (size_t)(nl + 1 - data));
                        out_line(o, o->pending.data, o->pending.len);
                        buf_reset(&o->pending);
                } else {
                        out_line(o, data, (size_t)(nl + 1 - data));
                }
                data = nl + 1;
        }
        if (last && o->pending.len > 0) {
                out_line(o, o->pending.data, o->pending.len);
                buf_reset(&o->pending);
        }
        if (o->text.len > 0 && fs_write_all(o->fd, o->text.data, o->text.len) < 0)
                return -1;
        buf_reset(&o->text);
        return 0;
}

/* The log as it was at first has been read: writes the last TAIL lines
 * held back, and from now on every line as it comes. */
static int out_release(struct out *o)
{
        if (!o->holding)
                return 0;
        o->holding = 0;
        for (size_t i = 0; i < o->ring_n; i++) {
                size_t at = (o->ring_next + (size_t)o->tail - o->ring_n + i) % (size_t)o->tail;
                buf_append(&o->text, o->ring[at].data, o->ring[at].len);
        }
        for (size_t i = 0; i < o->ring_cap; i++)
                buf_free(&o->ring[i]);
        free(o->ring);
        o->ring = NULL;
        o->ring_n = o->ring_cap = 0;
        if (o->text.len > 0 && fs_write_all(o->fd, o->text.data, o->text.len) < 0)
                return -1;
        buf_reset(&o->text);
        return 0;
}

/* Copies what LOGFD holds past *OFF to O.  Returns bytes copied or -1. */
static ssize_t pump(int logfd, off_t *off, struct out *fd)
{
        char chunk[65536];
        ssize_t total = 0;

        for (;;) {
                ssize_t n = pread(logfd, chunk, sizeof chunk, *off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -1 : total;
                if (out_write(fd, chunk, (size_t)n, 0) < 0)
                        return -1;
                *off += n;
                total += n;
        }
}

/* Remote storage has no file to read from: fetch the log object and write
 * what lies past *OFF.  A log not uploaded yet is not an error. */
static ssize_t pump_remote(struct storage *sto, const char *key, off_t *off, struct out *fd)
{
        _cleanup_free_ char *data = NULL;
        struct hoist_error *err = NULL;
        uint64_t size = 0;
        size_t len = 0;
        int r = storage_exists(sto, key, &size, &err);

        /* HEAD is cheap; fetch the object only when it has grown. */
        if (r <= 0 || size <= (uint64_t)*off ||
            storage_get_bytes(sto, key, &data, &len, &err) < 0) {
                hoist_error_free(err);
                return 0;
        }
        if ((off_t)len <= *off)
                return 0;
        if (out_write(fd, data + *off, len - (size_t)*off, 0) < 0)
                return -1;
        ssize_t n = (ssize_t)(len - (size_t)*off);
        *off = (off_t)len;
        return n;
}

static void sleep_ms(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

        nanosleep(&ts, NULL);
}

static void report_end(const struct job_record *job, const struct hoist_home *home)
{
        char d[32];

        if (job->state == JOB_SUCCEEDED) {
                _cleanup_storage_ struct storage *sto = NULL;
                _cleanup_free_ char *key = xasprintf("jobs/%s/output/", job->id);
                _cleanup_free_ char *path = NULL;
                if (jobstorage_open(home, job->storage_url, &sto, NULL) == 0)
                        path = storage_local_path(sto, key);
                if (path == NULL && sto != NULL) { /* remote: 'hoist results' fetches it */
                        struct storage_location loc;
                        storage_locate(sto, &loc);
                        path = loc.prefix && *loc.prefix
                                       ? xasprintf("s3://%s/%s/%s at %s", loc.bucket, loc.prefix,
                                                   key, loc.endpoint)
                                       : xasprintf("s3://%s/%s at %s", loc.bucket, key,
                                                   loc.endpoint);
                }
                /* Storage keeps them under output/; `hoist results` copies
                 * its model/ and artifacts/ (the job's HOIST_OUTPUT_DIR). */
                log_info("job %s succeeded in %s; outputs in %s (model/, artifacts/); "
                         "'hoist results %s DIR' copies them",
                         job->id,
                         cli_format_duration(job->updated_at_ms - job->created_at_ms, d, sizeof d),
                         path ? path : key, job->id);
        } else {
                log_info("job %s %s (exit code %d): %s", job->id, job_state_name(job->state),
                         job->exit_code, job->reason ? job->reason : "no reason recorded");
        }
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
        (void)sig;
        interrupted = 1;
}

/* Ctrl-C stops the following, not the job: say so, and how to go on. */
static void catch_interrupt(void)
{
        struct sigaction sa = {.sa_handler = on_interrupt}; /* no SA_RESTART: sleeps end */

        sigemptyset(&sa.sa_mask);
        (void)sigaction(SIGINT, &sa, NULL);
}

static int report_interrupted(const struct job_record *job)
{
        log_info("stopped following job %s; it keeps running (%s).  Follow it again with "
                 "'hoist logs -f %s', stop it with 'hoist cancel %s'",
                 job->id, job_state_name(job->state), job->id, job->id);
        return 128 + SIGINT;
}

/* Writing the log failed: a reader that went away (| head) is a normal
 * end, and the same Ctrl-C that ended it (| tee) still gets its message. */
static int write_failed(const struct job_record *job, struct hoist_error **err)
{
        if (errno != EPIPE)
                return hoist_error_errno(err, "write log");
        return interrupted && !job_state_terminal(job->state) ? report_interrupted(job) : EXIT_OK;
}

/* Everything written so far, then the tail held back. */
static ssize_t finish_out(struct out *o)
{
        return out_write(o, "", 0, 1) < 0 || out_release(o) < 0 ? -1 : 0;
}

/* One node's log in storage (jobs/<id>/logs/<node>.log), read from OFF on. */
struct node_log {
        char *node;
        char *key;
        char *path; /* local file (file:// storage), or NULL: fetched */
        char *prefix;
        int fd;
        off_t off;
        struct out out;
};

struct logs {
        struct node_log *v;
        size_t n;
        const char *only; /* --node: the one node shown, or NULL */
        bool prefixed;    /* several nodes: each line says its node */
        struct out proto; /* the options every node's out starts with */
        struct storage *sto;
        char *job_id; /* owned: the job's record is read anew as it is followed */
};

static void logs_free(struct logs *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->v[i].node);
                free(l->v[i].key);
                free(l->v[i].path);
                free(l->v[i].prefix);
                if (l->v[i].fd >= 0)
                        (void)close(l->v[i].fd);
                out_freep(&l->v[i].out);
        }
        free(l->v);
        free(l->job_id);
}

static void logs_add(struct logs *l, const char *node)
{
        struct node_log *nl;

        l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
        nl = &l->v[l->n++];
        *nl = (struct node_log){.node = xstrdup(node), .fd = -1, .out = l->proto};
        nl->key = reconcile_log_key(l->job_id, node);
        nl->path = storage_local_path(l->sto, nl->key);
        nl->out.pending = (struct buf){0};
        nl->out.text = (struct buf){0};
        if (l->prefixed) {
                nl->prefix = xasprintf("[%s] ", node);
                nl->out.prefix = nl->prefix;
        }
}

static void logs_prefix_all(struct logs *l)
{
        l->prefixed = true;
        for (size_t i = 0; i < l->n; i++) {
                if (l->v[i].prefix == NULL)
                        l->v[i].prefix = xasprintf("[%s] ", l->v[i].node);
                l->v[i].out.prefix = l->v[i].prefix;
        }
}

/* Looks for node logs that appeared since the last look; a failed listing
 * is tried again on the next poll. */
static void logs_discover(struct logs *l)
{
        _cleanup_free_ char *prefix = xasprintf("jobs/%s/logs/", l->job_id);
        _cleanup_strv_ char **keys = NULL;
        struct hoist_error *err = NULL;

        if (storage_list(l->sto, prefix, &keys, &err) < 0) {
                log_debug("list '%s': %s; trying again", prefix, err->msg);
                hoist_error_free(err);
                return;
        }
        for (char **k = keys; *k != NULL; k++) {
                const char *name = *k + strlen(prefix);
                size_t len = strlen(name);
                _cleanup_free_ char *node = NULL;
                size_t i;

                if (len <= 4 || strcmp(name + len - 4, ".log") != 0 || strchr(name, '/') != NULL)
                        continue;
                node = xstrndup(name, len - 4);
                if (l->only != NULL && strcmp(node, l->only) != 0)
                        continue;
                for (i = 0; i < l->n && strcmp(l->v[i].node, node) != 0; i++)
                        ;
                if (i == l->n)
                        logs_add(l, node);
        }
        /* A second node's log: from now on each line says its node. */
        if (l->only == NULL && l->n > 1 && !l->prefixed)
                logs_prefix_all(l);
}

/* Copies what every node's log holds past its offset to the output, node
 * after node: lines interleave by when this reader found them. */
static ssize_t logs_pump(struct logs *l)
{
        ssize_t total = 0;

        for (size_t i = 0; i < l->n; i++) {
                struct node_log *nl = &l->v[i];
                ssize_t n = 0;

                if (nl->path == NULL) {
                        n = pump_remote(l->sto, nl->key, &nl->off, &nl->out);
                } else {
                        if (nl->fd < 0)
                                nl->fd = open(nl->path, O_RDONLY | O_CLOEXEC);
                        if (nl->fd >= 0)
                                n = pump(nl->fd, &nl->off, &nl->out);
                }
                if (n < 0)
                        return -1;
                total += n;
        }
        return total;
}

static int logs_release(struct logs *l)
{
        for (size_t i = 0; i < l->n; i++)
                if (out_release(&l->v[i].out) < 0)
                        return -1;
        return 0;
}

static int logs_finish(struct logs *l)
{
        for (size_t i = 0; i < l->n; i++)
                if (finish_out(&l->v[i].out) < 0)
                        return -1;
        return 0;
}

/* How many nodes job.json says the job runs on (1 when unreadable). */
static int64_t spec_nodes(struct storage *sto, const struct job_record *job)
{
        _cleanup_jobspec_ struct jobspec *spec = NULL;
        _cleanup_free_ char *text = NULL;
        struct hoist_error *err = NULL;
        size_t len = 0;

        if (job->spec_key == NULL || storage_get_bytes(sto, job->spec_key, &text, &len, &err) < 0 ||
            jobspec_parse(text, len, job->spec_key, &spec, &err) < 0) {
                hoist_error_free(err);
                return 1;
        }
        return spec->nodes > 1 ? spec->nodes : 1;
}

/* "3" is node rank 3, "node3"; anything else a node's name. */
static char *node_name(const char *arg)
{
        if (arg[0] != '\0' && strspn(arg, "0123456789") == strlen(arg))
                return xasprintf("node%s", arg);
        return xstrdup(arg);
}

/* Without --follow, a --node the job has no log of is an error naming the
 * nodes it has. */
static int check_node(const struct logs *l, const struct job_record *job, struct storage *sto,
                      struct hoist_error **err)
{
        _cleanup_free_ char *prefix = xasprintf("jobs/%s/logs/", job->id);
        _cleanup_strv_ char **keys = NULL;
        struct buf names = {0};
        int r;

        if (l->only == NULL || l->n > 0)
                return 0;
        if (storage_list(sto, prefix, &keys, NULL) == 0)
                for (char **k = keys; *k != NULL; k++) {
                        const char *name = *k + strlen(prefix);
                        size_t len = strlen(name);
                        if (len <= 4 || strcmp(name + len - 4, ".log") != 0)
                                continue;
                        if (names.len > 0)
                                buf_append(&names, ", ", 2);
                        buf_append(&names, name, len - 4);
                }
        buf_append(&names, "", 1);
        r = hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                             "job %s has no log of node '%s' (%s%s); --node takes a node rank "
                             "or a node's name",
                             job->id, l->only, names.len > 1 ? "it has: " : "it has none yet",
                             names.data);
        buf_free(&names);
        return r;
}

/* Starts the provider's logs() with FOLLOW in a child process writing to
 * a pipe; 0 also when it could not (the stored log is still followed). */
static void early_start(struct early *e, const struct provider_ops *prov,
                        const struct job_record *job, const char *state_dir)
{
        int p[2];
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return;
        pid = fork();
        if (pid < 0) {
                (void)close(p[0]);
                (void)close(p[1]);
                return;
        }
        if (pid == 0) {
                struct hoist_error *err = NULL;
                int r;
                (void)close(p[0]);
                (void)signal(SIGINT, SIG_DFL);
                r = prov->logs(job, state_dir, 1, p[1], &err);
                if (r < 0) {
                        log_debug("the %s console of job %s: %s", prov->name, job->id, err->msg);
                        hoist_error_free(err);
                }
                _exit(r < 0 ? 1 : 0);
        }
        (void)close(p[1]);
        (void)fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
        e->pid = pid;
        e->fd = p[0];
}

/* Stops the child (the stored log took over, or the follow ends). */
static void early_stop(struct early *e)
{
        if (e->pid > 0) {
                (void)kill(e->pid, SIGKILL);
                (void)waitpid(e->pid, NULL, 0);
                e->pid = 0;
        }
        if (e->fd >= 0) {
                (void)close(e->fd);
                e->fd = -1;
        }
        buf_free(&e->pending);
}

static void early_free(struct early *e)
{
        early_stop(e);
        for (size_t i = 0; i < e->n_seen; i++)
                free(e->seen[i]);
        free(e->seen);
}

/* Copies what the console wrote since the last look to FD, whole lines
 * only (LAST: the rest too); the number of bytes written, -1 when FD
 * failed.  The pipe's end (the job's container ended) stops it. */
static ssize_t early_pump(struct early *e, int fd, int last)
{
        char chunk[8192];
        ssize_t total = 0;

        while (e->fd >= 0) {
                ssize_t n = read(e->fd, chunk, sizeof chunk);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n <= 0) {
                        last = 1;
                        (void)close(e->fd);
                        e->fd = -1;
                        break;
                }
                buf_append(&e->pending, chunk, (size_t)n);
        }
        for (;;) {
                char *nl =
                        e->pending.len > 0 ? memchr(e->pending.data, '\n', e->pending.len) : NULL;
                size_t len = nl != NULL ? (size_t)(nl + 1 - e->pending.data)
                             : last     ? e->pending.len
                                        : 0;
                if (len == 0)
                        break;
                if (fs_write_all(fd, e->pending.data, len) < 0)
                        return -1;
                e->seen = xreallocarray(e->seen, e->n_seen + 1, sizeof *e->seen);
                e->seen[e->n_seen++] = xstrndup(e->pending.data, len);
                memmove(e->pending.data, e->pending.data + len, e->pending.len - len);
                e->pending.len -= len;
                total += (ssize_t)len;
        }
        if (e->fd < 0 && e->pid > 0) {
                (void)waitpid(e->pid, NULL, 0);
                e->pid = 0;
        }
        return total;
}

int follow_job(const struct hoist_home *home, struct store *st, const char *id, int fd,
               const struct follow_options *opts, struct hoist_error **err)
{
        _cleanup_job_record_ struct job_record *job = NULL;
        _cleanup_storage_ struct storage *sto = NULL;
        _cleanup_free_ char *only = NULL;
        __attribute__((cleanup(logs_free))) struct logs logs = {0};
        __attribute__((cleanup(early_free))) struct early early = {.fd = -1};
        const int follow = opts->follow;
        int64_t asked_at;
        int shown = 0, polls = 0;

        /* A reader that goes away (| head) is a normal end, not a crash. */
        signal(SIGPIPE, SIG_IGN);
        if (store_get_job(st, id, &job, err) < 0 || reconcile_job(home, st, &job, err) < 0)
                return -1;
        asked_at = clock_mono_ms();
        if (opts->attempt > job->attempt)
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                        "job %s has no attempt %lld: it has had %lld", job->id,
                                        (long long)opts->attempt, (long long)job->attempt);
        if (jobstorage_open(home, job->storage_url, &sto, err) < 0)
                return -1;
        if (opts->node != NULL)
                only = node_name(opts->node);
        logs = (struct logs){
                .only = only,
                .sto = sto,
                .job_id = xstrdup(job->id),
                .proto = {.fd = fd,
                          .keep = opts->timestamps,
                          .attempt = opts->attempt,
                          .line_attempt = 1, /* a log from before attempts were marked */
                          .tail = opts->tail,
                          .holding = opts->tail >= 0},
        };
        logs_discover(&logs);
        /* Several nodes: each line says which (a single-node job's log is
         * shown as it always was). */
        if (only == NULL && !logs.prefixed && spec_nodes(sto, job) > 1)
                logs_prefix_all(&logs);
        if (!follow && check_node(&logs, job, sto, err) < 0)
                return -1;
        /* No stored log yet: the engine's console, where the provider can
         * stream it before the entrypoint starts, until the stored log
         * appears. */
        const struct provider_ops *eprov = provider_find(job->provider);
        if (follow && only == NULL && logs.n == 0 && eprov != NULL && eprov->logs != NULL &&
            eprov->logs_before_start && !job_state_terminal(job->state) &&
            job->state != JOB_INTERRUPTED &&
            (opts->attempt == 0 || opts->attempt == job->attempt)) {
                _cleanup_free_ char *state_dir = home_job_run_dir(home, job->id);
                early_start(&early, eprov, job, state_dir);
                logs.proto.early = &early;
        }
        interrupted = 0;
        if (follow)
                catch_interrupt();
        for (;;) {
                int done = job_state_terminal(job->state) || job->state == JOB_INTERRUPTED;
                if (early.fd >= 0) {
                        ssize_t m = early_pump(&early, fd, done);
                        if (m < 0)
                                return write_failed(job, err);
                        shown |= m > 0;
                }
                if (logs.n > 0 || done || interrupted)
                        early_stop(&early);
                ssize_t n = logs_pump(&logs);
                if (n < 0)
                        return write_failed(job, err);
                shown |= n > 0;
                if (!follow || done || interrupted) {
                        /* The last lines (and nodes) may have landed while
                         * we looked at the state. */
                        logs_discover(&logs);
                        n = logs_pump(&logs);
                        shown |= n > 0;
                        if (logs_finish(&logs) < 0)
                                n = -1;
                        if (n < 0)
                                return write_failed(job, err);
                        break;
                }
                /* What the logs held at first is read: their tails, then
                 * what comes. */
                if (logs_release(&logs) < 0)
                        return write_failed(job, err);
                sleep_ms(FOLLOW_POLL_MS);
                /* New nodes' logs: every poll on local storage, every
                 * second on remote storage (a LIST each). */
                if (++polls % (logs.v != NULL && logs.v[0].path == NULL ? 5 : 1) == 0 ||
                    logs.n == 0)
                        logs_discover(&logs);
                if (interrupted)
                        continue;
                /* Storage's word on every poll, the provider's at its rate. */
                bool ask = clock_mono_ms() - asked_at >= reconcile_poll_ms(job->provider);
                if (reconcile_job_look(home, st, &job, ask, err) < 0)
                        return -1;
                if (ask)
                        asked_at = clock_mono_ms();
        }
        if (interrupted && !job_state_terminal(job->state))
                return report_interrupted(job);
        if (!shown && only == NULL &&
            (job_state_terminal(job->state) || job->state == JOB_INTERRUPTED)) {
                /* No log in storage: the entrypoint never got that far; the
                 * engine's own console output says why. */
                const struct provider_ops *prov = provider_find(job->provider);
                _cleanup_free_ char *state_dir = home_job_run_dir(home, job->id);
                if (prov != NULL && prov->logs != NULL &&
                    prov->logs(job, state_dir, 0, fd, err) < 0)
                        return -1;
        }
        if (!follow)
                return EXIT_OK;
        report_end(job, home);
        /* outputs.hub: the model's commit (or the one hoist serve made). */
        if (job->state == JOB_SUCCEEDED) {
                _cleanup_free_ char *url = NULL;
                int r = hubresults_deliver(home, job, HUBRESULTS_WAIT, &url, err);
                if (r < 0)
                        return -1;
                if (r == 2)
                        log_info("job %s: model committed to the Hub: %s", job->id, url);
        }
        return follow_exit_code(job->state);
}
