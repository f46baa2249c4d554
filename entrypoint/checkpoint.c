/* SPDX-License-Identifier: MIT */
#include "checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fmt.h"
#include "fsutil.h"
#include "job.h"
#include "log.h"
#include "xalloc.h"

#define RESTORE_DIR ".hoist-restore"
#define KEEP_MANIFESTS 3

int64_t checkpoint_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Kept for the result, the log and the events after the final sync: a fifth
 * of the grace period, at most 10 s. */
#define FINAL_RESERVE_MAX_MS 10000
#define FINAL_MIN_MS 1000

int64_t checkpoint_final_deadline(int64_t now_ms, int64_t grace_end_ms, int64_t grace_s)
{
        int64_t reserve = grace_s * 1000 / 5, d;

        if (grace_end_ms <= 0)
                return now_ms + grace_s * 1000;
        if (reserve > FINAL_RESERVE_MAX_MS)
                reserve = FINAL_RESERVE_MAX_MS;
        d = grace_end_ms - reserve;
        return d > now_ms + FINAL_MIN_MS ? d : now_ms + FINAL_MIN_MS;
}

static int64_t wall_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the local dir ------------------------------------------------------ */

/* What the last sync saw of one local file, so an unchanged file is
 * neither hashed nor sent again. */
struct seen {
        char *path;
        char *key;
        char sha256[DIGEST_HEX_LEN + 1];
        uint64_t size;
        dev_t dev;
        ino_t ino;
        struct timespec mtime;
};

struct watch {
        int wd;
        char *path; /* relative to the dir; "" for the dir itself */
};

struct checkpoints {
        const struct jobspec *spec;
        char *node;
        char *dir;
        char *prefix;
        struct events *events;
        int64_t debounce_ms;
        int64_t max_delay_ms; /* from the first unpublished change to its set */
        int64_t resume_step;
        int restore_only;

        int inotify_fd;
        int watch_warned;
        struct watch *watches;
        size_t n_watches;
        /* Files being written ("<wd>/<name>": created or modified, not yet
         * closed, renamed or deleted), as the thread's inotify events say;
         * writing_unknown after an event queue overflow. */
        char **writing;
        size_t n_writing;
        int writing_unknown;

        /* The sync state: touched only by the thread while it runs, and by
         * the caller of checkpoint_sync_now()/checkpoint_finish() otherwise. */
        struct storage *st;
        struct seen *seen;
        size_t n_seen;
        struct checkpoint_manifest *kept[KEEP_MANIFESTS]; /* newest first */
        /* Sets whose objects are known good (restored with their digests
         * checked, or published here): only those lend keys to new sets. */
        int kept_verified[KEEP_MANIFESTS];
        int64_t restored_seq;
        int kept_loaded;
        int64_t next_seq;
        int unstable; /* a file changed while it was read: sync again */

        _Atomic int64_t deadline_ms; /* 0: none */
        int stop_fd;                 /* eventfd: the thread's stop request */
        pthread_t thread;
        int thread_running;
        int thread_stuck; /* did not stop by the deadline: leave its state alone */
};

static void watch_dir(struct checkpoints *ck, const char *rel)
{
        _cleanup_free_ char *path = *rel ? path_join(ck->dir, rel) : xstrdup(ck->dir);
        /* IN_MODIFY: a file being written keeps the dir from looking quiet */
        uint32_t mask = IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                        IN_CREATE | IN_ONLYDIR | IN_DONT_FOLLOW;
        int wd;

        if (ck->inotify_fd < 0)
                return;
        wd = inotify_add_watch(ck->inotify_fd, path, mask);
        if (wd < 0) {
                if (!ck->watch_warned)
                        log_warn("checkpoints: cannot watch '%s': %s; its changes are seen at "
                                 "the next sync only",
                                 path, strerror(errno));
                ck->watch_warned = 1;
                return;
        }
        for (size_t i = 0; i < ck->n_watches; i++)
                if (ck->watches[i].wd == wd) {
                        free(ck->watches[i].path);
                        ck->watches[i].path = xstrdup(rel);
                        return;
                }
        ck->watches = xreallocarray(ck->watches, ck->n_watches + 1, sizeof *ck->watches);
        ck->watches[ck->n_watches++] = (struct watch){.wd = wd, .path = xstrdup(rel)};
}

static int skip_name(const char *rel_dir, const char *name)
{
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return 1;
        /* hoist's own staging at the top of the dir */
        return *rel_dir == '\0' &&
               strncmp(name, CHECKPOINT_META_DIR, strlen(CHECKPOINT_META_DIR)) == 0;
}

/* Adds watches for REL and every directory below it. */
static void watch_tree(struct checkpoints *ck, const char *rel)
{
        _cleanup_free_ char *path = *rel ? path_join(ck->dir, rel) : xstrdup(ck->dir);
        DIR *d;
        struct dirent *e;

        watch_dir(ck, rel);
        d = opendir(path);
        if (d == NULL)
                return;
        while ((e = readdir(d)) != NULL) {
                if (skip_name(rel, e->d_name) || e->d_type != DT_DIR)
                        continue;
                _cleanup_free_ char *sub =
                        *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
                watch_tree(ck, sub);
        }
        closedir(d);
}

int checkpoint_open(const struct checkpoint_options *opts, struct checkpoints **ret,
                    struct hoist_error **err)
{
        struct checkpoints *ck;
        const char *env = getenv("HOIST_CHECKPOINT_DEBOUNCE_MS");
        int64_t debounce = opts->debounce_ms;

        if (debounce <= 0 && env != NULL && *env != '\0') {
                char *end = NULL;
                errno = 0;
                debounce = strtoll(env, &end, 10);
                if (errno != 0 || *end != '\0' || debounce < 0 || debounce > 3600000) {
                        log_warn("HOIST_CHECKPOINT_DEBOUNCE_MS='%s' is not a number of "
                                 "milliseconds (0-3600000); using %d",
                                 env, CHECKPOINT_DEFAULT_DEBOUNCE_MS);
                        debounce = 0;
                }
        }
        if (fs_mkdir_p(opts->dir, 0755, err) < 0)
                return hoist_error_wrap(err, "checkpoint dir");
        ck = xzalloc(sizeof *ck);
        ck->spec = opts->spec;
        ck->node = xstrdup(opts->node ? opts->node : "main");
        ck->dir = xstrdup(opts->dir);
        ck->prefix = xstrdup(opts->prefix);
        ck->events = opts->events;
        ck->restore_only = opts->restore_only;
        ck->debounce_ms = debounce > 0 ? debounce : CHECKPOINT_DEFAULT_DEBOUNCE_MS;
        ck->max_delay_ms = opts->spec->checkpoint_interval_s > 0
                                   ? opts->spec->checkpoint_interval_s * 1000
                                   : ck->debounce_ms * 2;
        if (ck->max_delay_ms < ck->debounce_ms)
                ck->max_delay_ms = ck->debounce_ms;
        ck->stop_fd = -1;
        ck->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (ck->inotify_fd < 0)
                log_warn("checkpoints: inotify: %s; syncing only when the command ends",
                         strerror(errno));
        watch_tree(ck, "");
        *ret = ck;
        return 0;
}

int64_t checkpoint_resume_step(const struct checkpoints *ck)
{
        return ck ? ck->resume_step : 0;
}

static void seen_clear(struct checkpoints *ck)
{
        for (size_t i = 0; i < ck->n_seen; i++) {
                free(ck->seen[i].path);
                free(ck->seen[i].key);
        }
        free(ck->seen);
        ck->seen = NULL;
        ck->n_seen = 0;
}

static void kept_clear(struct checkpoints *ck)
{
        for (int i = 0; i < KEEP_MANIFESTS; i++) {
                checkpoint_manifest_free(ck->kept[i]);
                ck->kept[i] = NULL;
                ck->kept_verified[i] = 0;
        }
        ck->kept_loaded = 0;
}

/* Reads the newest manifests, to know the keys that must not change and
 * the next seq. */
static int load_kept(struct checkpoints *ck, struct storage *st, struct hoist_error **err)
{
        _cleanup_free_ int64_t *seqs = NULL;
        size_t n = 0;

        kept_clear(ck);
        if (checkpoint_manifest_list(st, ck->prefix, &seqs, &n, err) < 0)
                return -1;
        ck->next_seq = n > 0 ? seqs[0] + 1 : 1;
        for (size_t i = 0; i < n && i < KEEP_MANIFESTS; i++) {
                struct hoist_error *e = NULL;
                ck->kept_verified[i] = seqs[i] == ck->restored_seq;
                if (checkpoint_manifest_load(st, ck->prefix, seqs[i], &ck->kept[i], &e) < 0) {
                        log_debug("checkpoints: %s, ignoring", e->msg);
                        hoist_error_free(e);
                }
        }
        ck->kept_loaded = 1;
        return 0;
}

/* Downloads every file of M into STAGING/<n>, checking each sha256. */
static int fetch_set(struct storage *st, const char *prefix, const struct checkpoint_manifest *m,
                     const char *staging, char **why, struct hoist_error **err)
{
        for (size_t i = 0; i < m->n_files; i++) {
                const struct checkpoint_file *f = &m->files[i];
                _cleanup_free_ char *key = xasprintf("%s/%s", prefix, f->key);
                _cleanup_free_ char *dst = xasprintf("%s/%zu", staging, i);
                char got[DIGEST_HEX_LEN + 1];
                uint64_t size = 0;

                if (storage_get_file(st, key, dst, err) < 0 ||
                    digest_file_hex(dst, got, &size, err) < 0)
                        return hoist_error_wrap(err, "restore checkpoint file '%s'", f->path);
                if (strcmp(got, f->sha256) != 0 || size != f->size) {
                        *why = xasprintf("'%s' has sha256 %s, the manifest says %s", key, got,
                                         f->sha256);
                        return 0;
                }
        }
        return 1;
}

/* Empties DIR but for hoist's staging dir. */
static int clear_dir(const char *dir, struct hoist_error **err)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        int r = 0;

        if (d == NULL)
                return hoist_error_errno(err, "open '%s'", dir);
        while (r == 0 && (e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
                    strcmp(e->d_name, RESTORE_DIR) == 0)
                        continue;
                _cleanup_free_ char *p = path_join(dir, e->d_name);
                r = fs_remove_tree(p, err);
        }
        closedir(d);
        return r;
}

static int place_set(struct checkpoints *ck, const struct checkpoint_manifest *m,
                     const char *staging, struct hoist_error **err)
{
        if (clear_dir(ck->dir, err) < 0)
                return -1;
        for (size_t i = 0; i < m->n_files; i++) {
                _cleanup_free_ char *src = xasprintf("%s/%zu", staging, i);
                _cleanup_free_ char *dst = path_join(ck->dir, m->files[i].path);
                _cleanup_free_ char *parent = xstrdup(dst);
                *strrchr(parent, '/') = '\0';
                if (fs_mkdir_p(parent, 0755, err) < 0)
                        return -1;
                if (rename(src, dst) < 0)
                        return hoist_error_errno(err, "move '%s' into place", dst);
        }
        return fs_fsync_dir(ck->dir, err);
}

/* Remembers the restored files as already synced. */
static void seen_from_set(struct checkpoints *ck, const struct checkpoint_manifest *m)
{
        seen_clear(ck);
        ck->seen = xcalloc(m->n_files + 1, sizeof *ck->seen);
        for (size_t i = 0; i < m->n_files; i++) {
                _cleanup_free_ char *p = path_join(ck->dir, m->files[i].path);
                struct stat sb;
                if (lstat(p, &sb) < 0)
                        continue;
                struct seen *s = &ck->seen[ck->n_seen++];
                s->path = xstrdup(m->files[i].path);
                s->key = xstrdup(m->files[i].key);
                memcpy(s->sha256, m->files[i].sha256, DIGEST_HEX_LEN + 1);
                s->size = (uint64_t)sb.st_size;
                s->dev = sb.st_dev;
                s->ino = sb.st_ino;
                s->mtime = sb.st_mtim;
        }
}

static int export_env(const struct checkpoints *ck, struct hoist_error **err)
{
        _cleanup_free_ char *step = xasprintf("%" PRId64, ck->resume_step);
        _cleanup_free_ char *restarts = xasprintf("%" PRId64, job_attempt(ck->spec) - 1);

        if (setenv("HOIST_RESUME_STEP", step, 1) < 0 ||
            setenv("HOIST_RESTART_COUNT", restarts, 1) < 0)
                return hoist_error_errno(err, "set HOIST_RESUME_STEP");
        return 0;
}

int checkpoint_restore(struct checkpoints *ck, struct storage *st, struct hoist_error **err)
{
        _cleanup_free_ char *staging = path_join(ck->dir, RESTORE_DIR);
        int64_t skip_above = 0;
        uint64_t bytes = 0;

        for (;;) {
                _cleanup_checkpoint_manifest_ struct checkpoint_manifest *m = NULL;
                _cleanup_free_ char *why = NULL;
                int r;

                if (checkpoint_find_latest(st, ck->prefix, skip_above, &m, err) < 0)
                        return hoist_error_wrap(err, "restore checkpoints");
                if (m == NULL) {
                        log_info("checkpoints: no complete set under '%s/'; starting fresh",
                                 ck->prefix);
                        break;
                }
                if (fs_remove_tree(staging, err) < 0 || fs_mkdir_p(staging, 0700, err) < 0)
                        return hoist_error_wrap(err, "restore checkpoints");
                r = fetch_set(st, ck->prefix, m, staging, &why, err);
                if (r < 0) {
                        (void)fs_remove_tree(staging, NULL);
                        return -1;
                }
                if (r == 0) {
                        log_info("checkpoints: set %" PRId64 " is damaged (%s), ignoring it",
                                 m->seq, why);
                        skip_above = m->seq - 1;
                        if (skip_above <= 0)
                                break;
                        continue;
                }
                if (place_set(ck, m, staging, err) < 0) {
                        (void)fs_remove_tree(staging, NULL);
                        return hoist_error_wrap(err, "restore checkpoints into '%s'", ck->dir);
                }
                for (size_t i = 0; i < m->n_files; i++)
                        bytes += m->files[i].size;
                ck->resume_step = m->step;
                ck->restored_seq = m->seq;
                seen_from_set(ck, m);
                log_info("checkpoints: restored set %" PRId64 " (step %" PRId64 ", %zu %s, "
                         "%" PRIu64 " %s) into %s",
                         m->seq, m->step, m->n_files, fmt_plural(m->n_files, "file", "files"),
                         bytes, fmt_plural(bytes, "byte", "bytes"), ck->dir);
                break;
        }
        (void)fs_remove_tree(staging, NULL);
        if (load_kept(ck, st, err) < 0)
                return hoist_error_wrap(err, "restore checkpoints");
        return export_env(ck, err);
}

/* ---- sync --------------------------------------------------------------- */

struct scan {
        struct checkpoint_file *files;
        struct seen *seen;
        size_t n, cap;
        uint64_t bytes_sent;
        int changed; /* a file was hashed or sent */
};

/* ck->seen is sorted by path. */
static const struct seen *seen_find(const struct checkpoints *ck, const char *path)
{
        size_t lo = 0, hi = ck->n_seen;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(ck->seen[mid].path, path);
                if (c == 0)
                        return &ck->seen[mid];
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

/* A key a kept manifest (or this set so far) gives bytes SHA, or NULL. */
static const char *key_for_sha(const struct checkpoints *ck, const struct scan *sc, const char *sha)
{
        for (size_t i = 0; i < sc->n; i++)
                if (strcmp(sc->files[i].sha256, sha) == 0)
                        return sc->files[i].key;
        for (int k = 0; k < KEEP_MANIFESTS; k++)
                for (size_t i = 0; ck->kept[k] && ck->kept_verified[k] && i < ck->kept[k]->n_files;
                     i++)
                        if (strcmp(ck->kept[k]->files[i].sha256, sha) == 0)
                                return ck->kept[k]->files[i].key;
        return NULL;
}

static int key_referenced(const struct checkpoints *ck, const char *key)
{
        for (int k = 0; k < KEEP_MANIFESTS; k++)
                for (size_t i = 0; ck->kept[k] && i < ck->kept[k]->n_files; i++)
                        if (strcmp(ck->kept[k]->files[i].key, key) == 0)
                                return 1;
        return 0;
}

static void scan_add(struct scan *sc, const char *path, const char *key, const char *sha,
                     const struct stat *sb)
{
        if (sc->n == sc->cap) {
                sc->cap = sc->cap ? sc->cap * 2 : 16;
                sc->files = xreallocarray(sc->files, sc->cap, sizeof *sc->files);
                sc->seen = xreallocarray(sc->seen, sc->cap, sizeof *sc->seen);
        }
        sc->files[sc->n] = (struct checkpoint_file){
                .path = xstrdup(path),
                .key = xstrdup(key),
                .sha256 = xstrdup(sha),
                .size = (uint64_t)sb->st_size,
        };
        struct seen *s = &sc->seen[sc->n];
        *s = (struct seen){.path = xstrdup(path),
                           .key = xstrdup(key),
                           .size = (uint64_t)sb->st_size,
                           .dev = sb->st_dev,
                           .ino = sb->st_ino,
                           .mtime = sb->st_mtim};
        memcpy(s->sha256, sha, DIGEST_HEX_LEN + 1);
        sc->n++;
}

static void scan_free(struct scan *sc)
{
        for (size_t i = 0; i < sc->n; i++) {
                if (sc->files != NULL) {
                        free(sc->files[i].path);
                        free(sc->files[i].key);
                        free(sc->files[i].sha256);
                }
                if (sc->seen != NULL) {
                        free(sc->seen[i].path);
                        free(sc->seen[i].key);
                }
        }
        free(sc->files);
        free(sc->seen);
        *sc = (struct scan){0};
}

static int hash_fd(int fd, char hex[DIGEST_HEX_LEN + 1])
{
        _cleanup_digest_ struct digest_ctx *ctx = digest_new();
        char buf[1 << 16];
        ssize_t n;
        off_t off = 0;

        while ((n = pread(fd, buf, sizeof buf, off)) != 0) {
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                digest_update(ctx, buf, (size_t)n);
                off += n;
        }
        digest_final_hex(TAKE_PTR(ctx), hex);
        return 0;
}

static int same_stat(const struct stat *a, const struct stat *b)
{
        return a->st_size == b->st_size && a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* One regular file: reuse what the last sync knew, or hash it and send it
 * (read through the open fd, so a rename over it cannot mix two versions). */
static int sync_file(struct checkpoints *ck, struct storage *st, struct scan *sc, const char *rel,
                     struct hoist_error **err)
{
        _cleanup_free_ char *path = path_join(ck->dir, rel);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        const struct seen *old = seen_find(ck, rel);
        char sha[DIGEST_HEX_LEN + 1];
        struct stat before, after;
        const char *key;
        _cleanup_free_ char *own_key = NULL;

        if (fd < 0) {
                if (errno == ENOENT || errno == ELOOP)
                        return 0; /* gone since the scan, or a symlink */
                return hoist_error_errno(err, "open checkpoint file '%s'", path);
        }
        if (fstat(fd, &before) < 0)
                return hoist_error_errno(err, "stat '%s'", path);
        if (!S_ISREG(before.st_mode))
                return 0;
        if (old != NULL && old->size == (uint64_t)before.st_size && old->ino == before.st_ino &&
            old->dev == before.st_dev && old->mtime.tv_sec == before.st_mtim.tv_sec &&
            old->mtime.tv_nsec == before.st_mtim.tv_nsec) {
                scan_add(sc, rel, old->key, old->sha256, &before);
                return 0;
        }
        if (hash_fd(fd, sha) < 0)
                return hoist_error_errno(err, "read '%s'", path);
        key = key_for_sha(ck, sc, sha);
        if (key == NULL) {
                _cleanup_free_ char *full = NULL;
                _cleanup_free_ char *via = xasprintf("/proc/self/fd/%d", fd);
                own_key = key_referenced(ck, rel) ? xasprintf(CHECKPOINT_OBJECTS_DIR "%s", sha)
                                                  : xstrdup(rel);
                full = xasprintf("%s/%s", ck->prefix, own_key);
                if (storage_put_file(st, full, access(via, R_OK) == 0 ? via : path, err) < 0)
                        return hoist_error_wrap(err, "upload checkpoint file '%s'", rel);
                sc->bytes_sent += (uint64_t)before.st_size;
                key = own_key;
        }
        sc->changed = 1;
        if (fstat(fd, &after) < 0 || !same_stat(&before, &after)) {
                /* written to while we read it: the next sync takes it */
                log_debug("checkpoints: '%s' changed while it was read; later", rel);
                ck->unstable = 1;
                if (old != NULL) {
                        struct stat prev = {.st_size = (off_t)old->size,
                                            .st_ino = old->ino,
                                            .st_dev = old->dev,
                                            .st_mtim = old->mtime};
                        scan_add(sc, rel, old->key, old->sha256, &prev);
                }
                return 0;
        }
        scan_add(sc, rel, key, sha, &before);
        return 0;
}

static int deadline_passed(const struct checkpoints *ck)
{
        int64_t d = atomic_load(&ck->deadline_ms);

        return d > 0 && checkpoint_now_ms() >= d;
}

static int scan_dir(struct checkpoints *ck, struct storage *st, struct scan *sc, const char *rel,
                    struct hoist_error **err)
{
        _cleanup_free_ char *path = *rel ? path_join(ck->dir, rel) : xstrdup(ck->dir);
        struct dirent **names = NULL;
        int n = scandir(path, &names, NULL, alphasort);
        int r = 0;

        if (n < 0)
                return errno == ENOENT && *rel ? 0 : hoist_error_errno(err, "list '%s'", path);
        if (*rel)
                watch_dir(ck, rel); /* a new dir whose event came before its watch */
        for (int i = 0; i < n; i++) {
                const char *name = names[i]->d_name;
                if (r == 0 && !skip_name(rel, name)) {
                        _cleanup_free_ char *sub =
                                *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);
                        unsigned char type = names[i]->d_type;
                        struct stat sb;
                        if (type == DT_UNKNOWN) {
                                _cleanup_free_ char *p = path_join(ck->dir, sub);
                                type = lstat(p, &sb) < 0     ? DT_UNKNOWN
                                       : S_ISDIR(sb.st_mode) ? DT_DIR
                                       : S_ISREG(sb.st_mode) ? DT_REG
                                                             : DT_UNKNOWN;
                        }
                        if (deadline_passed(ck))
                                r = hoist_error_make(err, HOIST_ERR_STATE,
                                                     "the grace period ended before every "
                                                     "checkpoint file was uploaded");
                        else if (type == DT_DIR)
                                r = scan_dir(ck, st, sc, sub, err);
                        else if (type == DT_REG)
                                r = sync_file(ck, st, sc, sub, err);
                }
                free(names[i]);
        }
        free(names);
        return r;
}

static int same_set(const struct checkpoint_manifest *m, const struct scan *sc)
{
        if (m == NULL)
                return sc->n == 0;
        if (m->n_files != sc->n)
                return 0;
        for (size_t i = 0; i < sc->n; i++)
                if (strcmp(m->files[i].path, sc->files[i].path) != 0 ||
                    strcmp(m->files[i].sha256, sc->files[i].sha256) != 0 ||
                    strcmp(m->files[i].key, sc->files[i].key) != 0)
                        return 0;
        return 1;
}

/* Deletes the manifests older than the kept ones and every key none of the
 * kept manifests names.  Failures only leave garbage: warn. */
static void collect_garbage(struct checkpoints *ck, struct storage *st)
{
        _cleanup_free_ char *dir = xasprintf("%s/", ck->prefix);
        _cleanup_strv_ char **keys = NULL;
        struct hoist_error *e = NULL;
        int64_t oldest = INT64_MAX;

        for (int k = 0; k < KEEP_MANIFESTS; k++)
                if (ck->kept[k] != NULL && ck->kept[k]->seq < oldest)
                        oldest = ck->kept[k]->seq;
        if (storage_list(st, dir, &keys, &e) < 0)
                goto out;
        for (char **k = keys; *k != NULL; k++) {
                const char *rel = *k + strlen(dir);
                int64_t seq = checkpoint_manifest_key_seq(ck->prefix, *k);
                int drop = seq > 0 ? seq < oldest : !key_referenced(ck, rel);
                if (!drop)
                        continue;
                if (storage_delete(st, *k, &e) < 0)
                        goto out;
                log_debug("checkpoints: deleted %s", *k);
        }
out:
        if (e != NULL) {
                log_warn("checkpoints: cleaning up old sets: %s, ignoring", e->msg);
                hoist_error_free(e);
        }
}

static char *read_step_file(const struct checkpoints *ck, const struct scan *sc)
{
        _cleanup_free_ char *path = path_join(ck->dir, CHECKPOINT_STEP_FILE);
        char *text = NULL;
        size_t len = 0;

        for (size_t i = 0; i < sc->n; i++)
                if (strcmp(sc->files[i].path, CHECKPOINT_STEP_FILE) == 0 &&
                    sc->files[i].size < 64 && fs_read_file(path, &text, &len, NULL) == 0)
                        return text;
        return NULL;
}

static void emit_event(struct checkpoints *ck, const struct checkpoint_manifest *m, const char *key,
                       uint64_t bytes, uint64_t sent)
{
        json_t *data = json_object();

        (void)json_object_set_new(data, "step", json_integer(m->step));
        (void)json_object_set_new(data, "files", json_integer((json_int_t)m->n_files));
        (void)json_object_set_new(data, "bytes", json_integer((json_int_t)bytes));
        (void)json_object_set_new(data, "bytes_sent", json_integer((json_int_t)sent));
        (void)json_object_set_new(data, "manifest", json_string(key));
        events_emit(ck->events, "job.checkpoint", "running", data);
}

static int publish(struct checkpoints *ck, struct storage *st, struct scan *sc,
                   struct hoist_error **err)
{
        struct checkpoint_manifest *m = xzalloc(sizeof *m);
        _cleanup_free_ char *step = read_step_file(ck, sc);
        _cleanup_free_ char *key = NULL;
        _cleanup_free_ char *json = NULL;
        uint64_t bytes = 0;

        m->seq = ck->next_seq;
        m->attempt = job_attempt(ck->spec);
        m->created_at_ms = wall_ms();
        m->job_id = xstrdup(ck->spec->id);
        m->node = xstrdup(ck->node);
        m->files = TAKE_PTR(sc->files);
        m->n_files = sc->n;
        m->step = checkpoint_step(m->files, m->n_files, step);
        for (size_t i = 0; i < m->n_files; i++)
                bytes += m->files[i].size;
        key = checkpoint_manifest_key(ck->prefix, m->seq);
        json = checkpoint_manifest_to_json(m);
        if (storage_put_bytes(st, key, json, strlen(json), err) < 0) {
                checkpoint_manifest_free(m);
                return hoist_error_wrap(err, "publish checkpoint set %" PRId64, ck->next_seq);
        }
        ck->next_seq++;
        checkpoint_manifest_free(ck->kept[KEEP_MANIFESTS - 1]);
        memmove(&ck->kept[1], &ck->kept[0], (KEEP_MANIFESTS - 1) * sizeof ck->kept[0]);
        memmove(&ck->kept_verified[1], &ck->kept_verified[0],
                (KEEP_MANIFESTS - 1) * sizeof ck->kept_verified[0]);
        ck->kept[0] = m;
        ck->kept_verified[0] = 1;
        log_info("checkpoints: published set %" PRId64 " (step %" PRId64 ", %zu %s, %" PRIu64
                 " %s, %" PRIu64 " sent)",
                 m->seq, m->step, m->n_files, fmt_plural(m->n_files, "file", "files"), bytes,
                 fmt_plural(bytes, "byte", "bytes"), sc->bytes_sent);
        emit_event(ck, m, key, bytes, sc->bytes_sent);
        collect_garbage(ck, st);
        return 1;
}

static int progress_check(void *userdata, uint64_t done, uint64_t total)
{
        (void)done;
        (void)total;
        return deadline_passed(userdata);
}

static int open_sync_storage(struct checkpoints *ck, struct hoist_error **err)
{
        if (ck->st != NULL)
                return 0;
        if (job_open_storage(ck->spec, &ck->st, err) < 0)
                return hoist_error_wrap(err, "checkpoint storage");
        storage_set_progress(ck->st, progress_check, ck);
        return 0;
}

static int cmp_seen_path(const void *a, const void *b)
{
        return strcmp(((const struct seen *)a)->path, ((const struct seen *)b)->path);
}

static int drain_inotify(struct checkpoints *ck);
static int all_complete(const struct checkpoints *ck);

/* One sync from the thread or, once it stopped, from the caller.  SETTLED:
 * the thread started it because every file was complete; a file written
 * again while the dir was scanned then holds the set back until it is
 * complete (the set would hold it half written). */
static int sync_once(struct checkpoints *ck, int settled, struct hoist_error **err)
{
        struct scan sc = {0};
        int r;

        if (open_sync_storage(ck, err) < 0)
                return -1;
        if (!ck->kept_loaded && load_kept(ck, ck->st, err) < 0)
                return -1;
        ck->unstable = 0;
        r = scan_dir(ck, ck->st, &sc, "", err);
        if (r == 0 && settled && drain_inotify(ck)) {
                ck->unstable = 1; /* changed while scanned: look again */
                if (!all_complete(ck)) {
                        log_debug("checkpoints: a file is being written; the set waits for it");
                        scan_free(&sc);
                        return 0;
                }
        }
        if (r == 0 && sc.n > 0) {
                qsort(sc.files, sc.n, sizeof *sc.files, checkpoint_file_cmp);
                qsort(sc.seen, sc.n, sizeof *sc.seen, cmp_seen_path);
        }
        if (r == 0) {
                seen_clear(ck);
                ck->seen = TAKE_PTR(sc.seen);
                ck->n_seen = sc.n;
                if (!same_set(ck->kept[0], &sc))
                        r = publish(ck, ck->st, &sc, err); /* takes sc.files */
        }
        scan_free(&sc);
        return r;
}

int checkpoint_sync_now(struct checkpoints *ck, int64_t deadline_ms, struct hoist_error **err)
{
        if (ck->restore_only)
                return 0;
        atomic_store(&ck->deadline_ms, deadline_ms);
        return sync_once(ck, 0, err);
}

/* ---- the thread --------------------------------------------------------- */

static const char *watch_path(const struct checkpoints *ck, int wd)
{
        for (size_t i = 0; i < ck->n_watches; i++)
                if (ck->watches[i].wd == wd)
                        return ck->watches[i].path;
        return NULL;
}

static size_t writing_find(const struct checkpoints *ck, const char *key)
{
        size_t i;

        for (i = 0; i < ck->n_writing; i++)
                if (strcmp(ck->writing[i], key) == 0)
                        break;
        return i;
}

/* Notes what an event on file NAME in watch WD says about its writing. */
static void writing_note(struct checkpoints *ck, int wd, const char *name, uint32_t mask)
{
        _cleanup_free_ char *key = xasprintf("%d/%s", wd, name);
        size_t i = writing_find(ck, key);

        if (mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE)) {
                /* complete: closed after writing or renamed into place; or gone */
                if (i < ck->n_writing) {
                        free(ck->writing[i]);
                        ck->writing[i] = ck->writing[--ck->n_writing];
                }
        } else if ((mask & (IN_CREATE | IN_MODIFY)) && i == ck->n_writing) {
                ck->writing = xreallocarray(ck->writing, ck->n_writing + 1, sizeof *ck->writing);
                ck->writing[ck->n_writing++] = TAKE_PTR(key);
        }
}

/* The files of a removed watch (its dir is gone) are no longer written. */
static void writing_forget_watch(struct checkpoints *ck, int wd)
{
        _cleanup_free_ char *prefix = xasprintf("%d/", wd);

        for (size_t i = 0; i < ck->n_writing;)
                if (strncmp(ck->writing[i], prefix, strlen(prefix)) == 0) {
                        free(ck->writing[i]);
                        ck->writing[i] = ck->writing[--ck->n_writing];
                } else {
                        i++;
                }
}

static void writing_clear(struct checkpoints *ck)
{
        for (size_t i = 0; i < ck->n_writing; i++)
                free(ck->writing[i]);
        ck->n_writing = 0;
        ck->writing_unknown = 0;
}

/* Every file in the dir is complete, as far as the events tell. */
static int all_complete(const struct checkpoints *ck)
{
        return ck->inotify_fd >= 0 && ck->n_writing == 0 && !ck->writing_unknown;
}

/* Reads what inotify has; returns 1 when something in the dir changed. */
static int drain_inotify(struct checkpoints *ck)
{
        char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
        int changed = 0;
        ssize_t n;

        while ((n = read(ck->inotify_fd, buf, sizeof buf)) > 0) {
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *)p;
                        const char *dir = watch_path(ck, ev->wd);
                        p += sizeof *ev + ev->len;
                        if (ev->mask & IN_Q_OVERFLOW) {
                                ck->writing_unknown = 1;
                                changed = 1;
                                continue;
                        }
                        if (ev->mask & IN_IGNORED)
                                writing_forget_watch(ck, ev->wd);
                        if (dir == NULL || (ev->len > 0 && skip_name(dir, ev->name)))
                                continue;
                        changed = 1;
                        if (ev->len > 0 && !(ev->mask & IN_ISDIR))
                                writing_note(ck, ev->wd, ev->name, ev->mask);
                        if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)) &&
                            ev->len > 0) {
                                _cleanup_free_ char *sub = *dir ? xasprintf("%s/%s", dir, ev->name)
                                                                : xstrdup(ev->name);
                                watch_tree(ck, sub);
                        }
                }
        }
        return changed;
}

/* When the thread publishes the changes it knows of (docs/jobspec.md,
 * "Checkpoints in storage"). */
struct sync_clock {
        int64_t dirty_since;    /* the first change not in a set, or 0 */
        int64_t quiet_since;    /* the last change */
        int64_t complete_since; /* 0, or when the dir first held only complete files */
        int64_t not_before;     /* after a failed sync: the next try */
};

/* Without a file being written, the set is due CHECKPOINT_SETTLE_MS after
 * the dir became complete (the files of one checkpoint written back to back
 * go in one set, and a trainer that checkpoints more often than the quiet
 * period still gets its sets); with one, after debounce_ms of quiet; and
 * always max_delay_ms after the first change. */
static int64_t sync_due(const struct checkpoints *ck, const struct sync_clock *c)
{
        int64_t due = c->dirty_since + ck->max_delay_ms;
        int64_t settle =
                ck->debounce_ms < CHECKPOINT_SETTLE_MS ? ck->debounce_ms : CHECKPOINT_SETTLE_MS;

        if (c->quiet_since + ck->debounce_ms < due)
                due = c->quiet_since + ck->debounce_ms;
        if (c->complete_since > 0 && all_complete(ck) && c->complete_since + settle < due)
                due = c->complete_since + settle;
        return due > c->not_before ? due : c->not_before;
}

static void *sync_thread(void *arg)
{
        struct checkpoints *ck = arg;
        struct sync_clock c = {0};

        for (;;) {
                struct pollfd fds[2] = {{.fd = ck->stop_fd, .events = POLLIN},
                                        {.fd = ck->inotify_fd, .events = POLLIN}};
                int timeout = -1;
                int64_t now = checkpoint_now_ms(), started;

                if (c.dirty_since > 0) {
                        int64_t due = sync_due(ck, &c);
                        timeout = due > now ? (int)(due - now) : 0;
                }
                if (poll(fds, ck->inotify_fd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR)
                        break;
                if (fds[0].revents & POLLIN)
                        break;
                now = checkpoint_now_ms();
                if ((fds[1].revents & POLLIN) && drain_inotify(ck)) {
                        c.quiet_since = now;
                        if (c.dirty_since == 0)
                                c.dirty_since = now;
                }
                if (c.dirty_since > 0 && c.complete_since == 0 && all_complete(ck))
                        c.complete_since = now;
                if (c.dirty_since == 0 || now < sync_due(ck, &c))
                        continue;
                /* quiet for the whole debounce: what still looks written is done */
                if (now >= c.quiet_since + ck->debounce_ms)
                        writing_clear(ck);
                started = now;
                c.not_before = 0;
                struct hoist_error *e = NULL;
                if (sync_once(ck, all_complete(ck), &e) < 0) {
                        log_warn("checkpoints: %s; trying again", e->msg);
                        hoist_error_free(e);
                        ck->unstable = 1;
                        c.not_before = checkpoint_now_ms() + ck->debounce_ms;
                }
                c.dirty_since = c.complete_since = 0;
                c.quiet_since = checkpoint_now_ms();
                /* What changed while the sync ran changed after it started:
                 * count from then, so that a file completed during a sync
                 * waits for no more than the rest of it and the settle time. */
                if (drain_inotify(ck) || ck->unstable) {
                        c.dirty_since = started;
                        if (all_complete(ck))
                                c.complete_since = started;
                }
        }
        return NULL;
}

int checkpoint_start(struct checkpoints *ck, struct hoist_error **err)
{
        int r;

        if (ck == NULL || ck->thread_running || ck->restore_only)
                return 0;
        ck->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (ck->stop_fd < 0)
                return hoist_error_errno(err, "checkpoints: eventfd");
        if (open_sync_storage(ck, err) < 0)
                return -1;
        r = pthread_create(&ck->thread, NULL, sync_thread, ck);
        if (r != 0)
                return hoist_error_make(err, r, "checkpoints: start the sync thread");
        ck->thread_running = 1;
        return 0;
}

static int stop_thread(struct checkpoints *ck, int64_t deadline_ms)
{
        uint64_t one = 1;
        int64_t left = deadline_ms - checkpoint_now_ms();
        struct timespec ts;
        int r;

        if (!ck->thread_running)
                return 0;
        atomic_store(&ck->deadline_ms, deadline_ms);
        (void)fs_write_all(ck->stop_fd, &one, sizeof one);
        clock_gettime(CLOCK_REALTIME, &ts);
        if (left < 0)
                left = 0;
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (left % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
        }
        r = pthread_timedjoin_np(ck->thread, NULL, &ts);
        if (r != 0) {
                ck->thread_stuck = 1;
                return -1;
        }
        ck->thread_running = 0;
        return 0;
}

int checkpoint_finish(struct checkpoints *ck, int64_t deadline_ms, struct hoist_error **err)
{
        if (ck == NULL || ck->restore_only)
                return 0;
        if (stop_thread(ck, deadline_ms) < 0)
                return hoist_error_make(err, ETIMEDOUT,
                                        "checkpoints: the last sync did not end within the "
                                        "grace period; the newest changes are not in storage");
        if (checkpoint_sync_now(ck, deadline_ms, err) < 0)
                return hoist_error_wrap(err, "final checkpoint sync");
        return 0;
}

void checkpoint_close(struct checkpoints *ck)
{
        if (ck == NULL)
                return;
        if (ck->thread_running && !ck->thread_stuck) {
                (void)stop_thread(ck, checkpoint_now_ms() + 1000);
        }
        if (ck->thread_running)
                return; /* still in use by a stuck thread; the process is ending */
        seen_clear(ck);
        kept_clear(ck);
        for (size_t i = 0; i < ck->n_watches; i++)
                free(ck->watches[i].path);
        free(ck->watches);
        writing_clear(ck);
        free(ck->writing);
        if (ck->inotify_fd >= 0)
                (void)close(ck->inotify_fd);
        if (ck->stop_fd >= 0)
                (void)close(ck->stop_fd);
        storage_close(ck->st);
        free(ck->node);
        free(ck->dir);
        free(ck->prefix);
        free(ck);
}
