/* SPDX-License-Identifier: MIT */
#include "runner/job/treesync.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "log.h"
#include "runner/job/statcache.h"
#include "xalloc.h"

#define HASH_THREADS 4
#define UPLOAD_THREADS 8

enum file_state { FILE_NEW, FILE_CHANGED, FILE_UNCHANGED };

struct tfile {
        char *rel;
        struct stat st;
        char sha256[DIGEST_HEX_LEN + 1];
        int need_hash;
        enum file_state state;
};

enum task_kind { TASK_BLOB, TASK_PACK };

struct task {
        enum task_kind kind;
        size_t file;        /* TASK_BLOB: index into files */
        size_t *pack_files; /* TASK_PACK: indexes into files, in pack order */
        size_t n_pack_files;
        char sha256[DIGEST_HEX_LEN + 1];
        uint64_t size;
};

struct treesync {
        char *root;
        char *cache_file;    /* the stat cache, or NULL */
        char *manifest_file; /* the previous manifest sent to this storage, or NULL */
        char *trees_file;    /* the manifest files of trees sent to this storage */
        int rehash;

        struct tfile *files;
        size_t n_files, cap_files;
        struct tree_manifest *m;

        struct task *tasks;
        size_t n_tasks;
        char *manifest;
        size_t manifest_len;
        char manifest_hex[DIGEST_HEX_LEN + 1];
        int manifest_stored;
        uint64_t to_send;
        struct treesync_stats stats;
};

static char *cache_name(const char *cache_dir, const char *what, const char *a, const char *b)
{
        _cleanup_free_ char *key = xasprintf("%s\n%s", a, b ? b : "");
        char hex[DIGEST_HEX_LEN + 1];

        digest_sha256_hex(key, strlen(key), hex);
        return xasprintf("%s/%s.%s", cache_dir, hex, what);
}

struct treesync *treesync_new(const char *root, const char *cache_dir, const char *storage_url,
                              int rehash)
{
        struct treesync *t = xcalloc(1, sizeof *t);

        t->root = xstrdup(root);
        t->rehash = rehash;
        t->m = tree_manifest_new();
        if (cache_dir != NULL) {
                t->cache_file = cache_name(cache_dir, "stat", root, NULL);
                t->manifest_file = cache_name(cache_dir, "manifest", root, storage_url);
                t->trees_file = cache_name(cache_dir, "trees", storage_url, NULL);
        }
        return t;
}

void treesync_free(struct treesync *t)
{
        if (t == NULL)
                return;
        for (size_t i = 0; i < t->n_files; i++)
                free(t->files[i].rel);
        for (size_t i = 0; i < t->n_tasks; i++)
                free(t->tasks[i].pack_files);
        free(t->files);
        free(t->tasks);
        free(t->manifest);
        tree_manifest_free(t->m);
        free(t->trees_file);
        free(t->root);
        free(t->cache_file);
        free(t->manifest_file);
        free(t);
}

int treesync_add(struct treesync *t, const char *rel, const struct stat *st,
                 struct hoist_error **err)
{
        if (!tree_path_valid(rel))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s': the name has a control character or a part "
                                        "longer than 255 bytes; rename it or leave it out with "
                                        ".hoistignore",
                                        rel);
        if (S_ISDIR(st->st_mode)) {
                tree_manifest_add_dir(t->m, rel, st->st_mode & 0777);
                return 0;
        }
        if (S_ISLNK(st->st_mode)) {
                _cleanup_free_ char *path = path_join(t->root, rel);
                char target[PATH_MAX];
                ssize_t n = readlink(path, target, sizeof target - 1);
                if (n < 0)
                        return hoist_error_errno(err, "readlink '%s'", path);
                target[n] = '\0';
                /* where it leads is checked by the walk on the file system
                 * and, once complete, by parsing the manifest */
                tree_manifest_add_symlink(t->m, rel, target);
                return 0;
        }
        if (!S_ISREG(st->st_mode))
                return 0;
        if (t->n_files == t->cap_files) {
                t->cap_files = t->cap_files ? t->cap_files * 2 : 256;
                t->files = xreallocarray(t->files, t->cap_files, sizeof *t->files);
        }
        t->files[t->n_files++] = (struct tfile){.rel = xstrdup(rel), .st = *st};
        return 0;
}

/* ---- hashing, several files at once ---- */

struct hash_run {
        struct treesync *t;
        atomic_size_t next;
        atomic_int failed;
        pthread_mutex_t lock;
        struct hoist_error *err;
};

static void *hash_worker(void *arg)
{
        struct hash_run *h = arg;
        struct treesync *t = h->t;

        for (;;) {
                size_t i = atomic_fetch_add(&h->next, 1);
                struct hoist_error *e = NULL;
                uint64_t size = 0;
                if (i >= t->n_files || atomic_load(&h->failed))
                        break;
                struct tfile *f = &t->files[i];
                if (!f->need_hash)
                        continue;
                _cleanup_free_ char *path = path_join(t->root, f->rel);
                if (digest_file_hex(path, f->sha256, &size, &e) == 0 &&
                    size != (uint64_t)f->st.st_size)
                        (void)hoist_error_make(&e, HOIST_ERR_INPUT,
                                               "'%s' changed while it was read (it was %lld "
                                               "bytes, then %llu); submit again once it is "
                                               "written",
                                               path, (long long)f->st.st_size,
                                               (unsigned long long)size);
                if (e != NULL) {
                        pthread_mutex_lock(&h->lock);
                        if (h->err == NULL)
                                h->err = e;
                        else
                                hoist_error_free(e);
                        pthread_mutex_unlock(&h->lock);
                        atomic_store(&h->failed, 1);
                        break;
                }
        }
        return NULL;
}

static int run_workers(void *(*fn)(void *), void *arg, size_t n)
{
        pthread_t th[UPLOAD_THREADS];
        size_t started = 0;

        if (n > UPLOAD_THREADS)
                n = UPLOAD_THREADS;
        for (; started < n; started++)
                if (pthread_create(&th[started], NULL, fn, arg) != 0)
                        break;
        if (started == 0)
                (void)fn(arg); /* no thread to be had: this one does it all */
        for (size_t i = 0; i < started; i++)
                (void)pthread_join(th[i], NULL);
        return 0;
}

/* Decides from the stat cache which files need reading, reads them, and
 * sorts every file into new, changed or unchanged. */
static int hash_files(struct treesync *t, struct hoist_error **err)
{
        _cleanup_statcache_ struct statcache *cache = statcache_load(t->cache_file);
        struct hash_run h = {.t = t, .lock = PTHREAD_MUTEX_INITIALIZER};
        size_t todo = 0;

        for (size_t i = 0; i < t->n_files; i++) {
                struct tfile *f = &t->files[i];
                const struct statcache_entry *old = statcache_find(cache, f->rel);
                f->need_hash = t->rehash || old == NULL || !statcache_fresh(old, &f->st);
                if (!f->need_hash)
                        memcpy(f->sha256, old->sha256, sizeof f->sha256);
                todo += f->need_hash;
        }
        atomic_init(&h.next, 0);
        atomic_init(&h.failed, 0);
        if (todo > 0)
                run_workers(hash_worker, &h, todo < HASH_THREADS ? todo : HASH_THREADS);
        if (h.err != NULL) {
                *err = h.err;
                return -1;
        }
        for (size_t i = 0; i < t->n_files; i++) {
                struct tfile *f = &t->files[i];
                const struct statcache_entry *old = statcache_find(cache, f->rel);
                uint64_t size = (uint64_t)f->st.st_size;
                if (f->need_hash) {
                        t->stats.files_hashed++;
                        t->stats.bytes_hashed += size;
                }
                f->state = old == NULL                           ? FILE_NEW
                           : strcmp(old->sha256, f->sha256) == 0 ? FILE_UNCHANGED
                                                                 : FILE_CHANGED;
                switch (f->state) {
                case FILE_NEW:
                        t->stats.files_new++;
                        t->stats.bytes_new += size;
                        break;
                case FILE_CHANGED:
                        t->stats.files_changed++;
                        t->stats.bytes_changed += size;
                        break;
                case FILE_UNCHANGED:
                        t->stats.files_unchanged++;
                        t->stats.bytes_unchanged += size;
                        break;
                }
                tree_manifest_add_file(t->m, f->rel, f->st.st_mode & 0777, size, f->sha256);
        }
        return 0;
}

/* ---- what the storage holds ---- */

/* The manifest last sent from a tree, kept in FILE, when the storage still
 * holds it: its blobs and packs are then there too (a manifest goes up
 * last). */
static struct tree_manifest *stored_manifest(const char *file, struct storage *st)
{
        _cleanup_free_ char *data = NULL, *key = NULL;
        _cleanup_error_ struct hoist_error *e = NULL;
        struct tree_manifest *prev = NULL;
        char hex[DIGEST_HEX_LEN + 1];
        size_t len;

        if (file == NULL || fs_read_file(file, &data, &len, &e) < 0)
                return NULL;
        digest_sha256_hex(data, len, hex);
        key = tree_blob_key(hex);
        if (tree_manifest_parse(data, len, &prev, &e) < 0 ||
            storage_exists(st, key, NULL, &e) != 1) {
                tree_manifest_free(prev);
                return NULL;
        }
        return prev;
}

/* The trees whose packs a new pack may be spared for: this tree's last
 * manifest, then those of the other trees last sent to this storage
 * (TREES_KEPT at most, newest first; with OTHERS, or with OTHERS_IF_NEW
 * when this tree has no stored manifest of its own), each one the storage
 * still holds.  An identical small file in another dataset is then
 * referenced in its pack, not packed and sent again. */
#define TREES_KEPT 16
static struct tree_manifest **known_manifests(struct treesync *t, struct storage *st, bool others,
                                              bool others_if_new, size_t *ret_n)
{
        struct tree_manifest **v = xcalloc(TREES_KEPT + 1, sizeof *v);
        _cleanup_free_ char *list = NULL;
        _cleanup_error_ struct hoist_error *e = NULL;
        size_t n = 0, len = 0;

        if ((v[n] = stored_manifest(t->manifest_file, st)) != NULL)
                n++;
        else
                others |= others_if_new; /* no last manifest of its own to go by */
        if (others && t->trees_file != NULL && fs_read_file(t->trees_file, &list, &len, &e) == 0) {
                char *save = NULL;
                for (char *line = strtok_r(list, "\n", &save); line != NULL && n < TREES_KEPT + 1;
                     line = strtok_r(NULL, "\n", &save))
                        if (strcmp(line, t->manifest_file) != 0 &&
                            (v[n] = stored_manifest(line, st)) != NULL)
                                n++;
        }
        *ret_n = n;
        return v;
}

/* Puts this tree's manifest file first in the storage's list of trees. */
static int remember_tree(struct treesync *t, struct hoist_error **err)
{
        _cleanup_free_ char *list = NULL;
        _cleanup_error_ struct hoist_error *e = NULL;
        struct buf out = {0};
        size_t len = 0, kept = 1;
        int r;

        if (t->trees_file == NULL)
                return 0;
        buf_printf(&out, "%s\n", t->manifest_file);
        if (fs_read_file(t->trees_file, &list, &len, &e) == 0) {
                char *save = NULL;
                for (char *line = strtok_r(list, "\n", &save); line != NULL && kept < TREES_KEPT;
                     line = strtok_r(NULL, "\n", &save))
                        if (strcmp(line, t->manifest_file) != 0) {
                                buf_printf(&out, "%s\n", line);
                                kept++;
                        }
        }
        r = fs_write_file_atomic(t->trees_file, out.data, out.len, 0600, err);
        buf_free(&out);
        return r;
}

static int stored(struct storage *st, const char *sha256, uint64_t size, struct hoist_error **err)
{
        _cleanup_free_ char *key = tree_blob_key(sha256);
        uint64_t have = 0;
        int r = storage_exists(st, key, &have, err);

        if (r < 0)
                return hoist_error_wrap(err, "ask the storage for blob %s", sha256);
        return r == 1 && have == size;
}

static void add_task(struct treesync *t, struct task task)
{
        t->tasks = xreallocarray(t->tasks, t->n_tasks + 1, sizeof *t->tasks);
        t->tasks[t->n_tasks++] = task;
}

static int set_has(json_t *set, const char *key)
{
        return set != NULL && json_object_get(set, key) != NULL;
}

static void set_add(json_t *set, const char *key)
{
        if (set != NULL)
                (void)json_object_set_new(set, key, json_true());
}

/* The digest of the pack made of FILES (in order), read from disk. */
static int pack_digest(struct treesync *t, const size_t *files, size_t n, char hex[65],
                       struct hoist_error **err)
{
        struct digest_ctx *ctx = digest_new();
        char buf[1 << 16];

        for (size_t i = 0; i < n; i++) {
                const struct tfile *f = &t->files[files[i]];
                _cleanup_free_ char *path = path_join(t->root, f->rel);
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
                uint64_t left = (uint64_t)f->st.st_size;
                if (fd < 0) {
                        digest_free(ctx);
                        return hoist_error_errno(err, "open '%s'", path);
                }
                while (left > 0) {
                        ssize_t r = read(fd, buf, left < sizeof buf ? left : sizeof buf);
                        if (r <= 0) {
                                digest_free(ctx);
                                return hoist_error_make(err, r < 0 ? errno : HOIST_ERR_INPUT,
                                                        "read '%s'%s", path,
                                                        r == 0 ? ": it shrank while hoist read "
                                                                 "it; submit again once it is "
                                                                 "written"
                                                               : "");
                        }
                        digest_update(ctx, buf, (size_t)r);
                        left -= (uint64_t)r;
                }
        }
        digest_final_hex(ctx, hex);
        return 0;
}

/* Small files the previous manifest's packs hold are referenced there; the
 * others go into new packs of up to TREE_PACK_TARGET bytes. */
static int plan_small(struct treesync *t, struct tree_manifest *const *prevs, size_t n_prevs,
                      struct storage *st, json_t *planned, struct treesync *const *earlier,
                      size_t n_earlier, const size_t *small, size_t n_small,
                      struct hoist_error **err)
{
        json_auto_t *where = json_object(); /* digest -> index into known */
        json_auto_t *queued = json_object();
        _cleanup_free_ int *used = NULL;
        _cleanup_free_ const struct tree_pack **known = NULL;
        _cleanup_free_ size_t *fresh = xcalloc(n_small ? n_small : 1, sizeof *fresh);
        size_t n_fresh = 0, n_known = 0;

        /* packs the stored manifests name (known_manifests()), then those of
         * the trees this submit sent before this one (stored by the time
         * this manifest is) */
        for (size_t k = 0; k < n_prevs; k++)
                n_known += prevs[k]->n_packs;
        for (size_t k = 0; k < n_earlier; k++)
                n_known += earlier[k]->m->n_packs;
        known = xcalloc(n_known ? n_known : 1, sizeof *known);
        used = xcalloc(n_known ? n_known : 1, sizeof *used);
        n_known = 0;
        for (size_t k = 0; k < n_prevs; k++)
                for (size_t i = 0; i < prevs[k]->n_packs; i++)
                        known[n_known++] = &prevs[k]->packs[i];
        for (size_t k = 0; k < n_earlier; k++)
                for (size_t i = 0; i < earlier[k]->m->n_packs; i++)
                        known[n_known++] = &earlier[k]->m->packs[i];
        for (size_t i = 0; i < n_known; i++)
                for (size_t j = 0; j < known[i]->n_files; j++)
                        (void)json_object_set_new(where, known[i]->files[j].sha256,
                                                  json_integer((json_int_t)i));
        for (size_t k = 0; k < n_small; k++) {
                const struct tfile *f = &t->files[small[k]];
                json_t *hit = json_object_get(where, f->sha256);
                if (hit != NULL) {
                        used[json_integer_value(hit)] = 1;
                        continue;
                }
                if (json_object_get(queued, f->sha256) != NULL)
                        continue; /* the same bytes twice: stored once */
                (void)json_object_set_new(queued, f->sha256, json_true());
                fresh[n_fresh++] = small[k];
        }
        for (size_t i = 0; i < n_known; i++) {
                if (!used[i])
                        continue;
                const struct tree_pack *p = known[i];
                int dup = 0;
                for (size_t q = 0; q < t->m->n_packs; q++)
                        dup |= strcmp(t->m->packs[q].sha256, p->sha256) == 0;
                if (dup)
                        continue;
                struct tree_pack *np = tree_manifest_add_pack(t->m);
                memcpy(np->sha256, p->sha256, sizeof np->sha256);
                np->size = p->size;
                for (size_t j = 0; j < p->n_files; j++)
                        tree_pack_add_file(np, p->files[j].sha256, p->files[j].offset,
                                           p->files[j].size);
        }
        for (size_t start = 0; start < n_fresh;) {
                struct task task = {.kind = TASK_PACK};
                struct tree_pack *np;
                uint64_t off = 0;
                size_t end = start;
                int r;
                while (end < n_fresh && (end == start || off < TREE_PACK_TARGET))
                        off += (uint64_t)t->files[fresh[end++]].st.st_size;
                task.n_pack_files = end - start;
                task.pack_files = xcalloc(task.n_pack_files, sizeof *task.pack_files);
                memcpy(task.pack_files, fresh + start, task.n_pack_files * sizeof *fresh);
                task.size = off;
                if (pack_digest(t, task.pack_files, task.n_pack_files, task.sha256, err) < 0) {
                        free(task.pack_files);
                        return -1;
                }
                np = tree_manifest_add_pack(t->m);
                memcpy(np->sha256, task.sha256, sizeof np->sha256);
                np->size = task.size;
                off = 0;
                for (size_t k = 0; k < task.n_pack_files; k++) {
                        const struct tfile *f = &t->files[task.pack_files[k]];
                        tree_pack_add_file(np, f->sha256, off, (uint64_t)f->st.st_size);
                        off += (uint64_t)f->st.st_size;
                }
                start = end;
                r = set_has(planned, task.sha256) ? 1 : stored(st, task.sha256, task.size, err);
                if (r < 0) {
                        free(task.pack_files);
                        return -1;
                }
                if (r == 1) {
                        free(task.pack_files);
                        continue;
                }
                set_add(planned, task.sha256);
                t->to_send += task.size;
                add_task(t, task);
        }
        return 0;
}

/* Large files: their own blob each, sent unless stored (or sent by another
 * tree of this submit). */
static int plan_large(struct treesync *t, struct tree_manifest *const *prevs, size_t n_prevs,
                      struct storage *st, json_t *planned, const size_t *large, size_t n_large,
                      struct hoist_error **err)
{
        json_auto_t *known = json_object();

        for (size_t k = 0; k < n_prevs; k++) {
                const struct tree_manifest *prev = prevs[k];
                for (size_t i = 0; i < prev->n_entries; i++)
                        if (prev->entries[i].type == TREE_ENTRY_FILE &&
                            prev->entries[i].size >= TREE_PACK_THRESHOLD)
                                (void)json_object_set_new(known, prev->entries[i].sha256,
                                                          json_true());
        }
        for (size_t k = 0; k < n_large; k++) {
                const struct tfile *f = &t->files[large[k]];
                int r;
                if (set_has(known, f->sha256) || set_has(planned, f->sha256))
                        continue;
                r = stored(st, f->sha256, (uint64_t)f->st.st_size, err);
                if (r < 0)
                        return -1;
                set_add(planned, f->sha256);
                if (r == 1)
                        continue;
                t->to_send += (uint64_t)f->st.st_size;
                add_task(t, (struct task){.kind = TASK_BLOB,
                                          .file = large[k],
                                          .size = (uint64_t)f->st.st_size});
                memcpy(t->tasks[t->n_tasks - 1].sha256, f->sha256, sizeof f->sha256);
        }
        return 0;
}

int treesync_plan(struct treesync *t, struct storage *st, json_t *planned,
                  struct treesync *const *earlier, size_t n_earlier, struct hoist_error **err)
{
        struct tree_manifest **prevs = NULL;
        size_t n_prevs = 0;
        _cleanup_free_ size_t *small = xcalloc(t->n_files ? t->n_files : 1, sizeof *small);
        _cleanup_free_ size_t *large = xcalloc(t->n_files ? t->n_files : 1, sizeof *large);
        size_t n_small = 0, n_large = 0;
        int r;

        if (hash_files(t, err) < 0)
                return -1;
        bool new_small = false;
        for (size_t i = 0; i < t->n_files; i++) {
                if ((uint64_t)t->files[i].st.st_size < TREE_PACK_THRESHOLD) {
                        small[n_small++] = i;
                        new_small |= t->files[i].need_hash;
                } else {
                        large[n_large++] = i;
                }
        }
        /* Other trees' packs are looked at only for small files this tree's
         * last manifest may lack: an unchanged tree costs one HEAD. */
        prevs = known_manifests(t, st, new_small || t->rehash, n_small > 0, &n_prevs);
        r = plan_small(t, prevs, n_prevs, st, planned, earlier, n_earlier, small, n_small, err) <
                                    0 ||
                            plan_large(t, prevs, n_prevs, st, planned, large, n_large, err) < 0
                    ? -1
                    : 0;
        for (size_t k = 0; k < n_prevs; k++)
                tree_manifest_free(prevs[k]);
        free(prevs);
        if (r < 0)
                return -1;
        t->manifest = tree_manifest_serialize(t->m, &t->manifest_len);
        /* what the entrypoint would refuse is refused here, before any byte */
        _cleanup_tree_manifest_ struct tree_manifest *check = NULL;
        if (tree_manifest_parse(t->manifest, t->manifest_len, &check, err) < 0)
                return hoist_error_wrap(err, "'%s'", t->root);
        digest_sha256_hex(t->manifest, t->manifest_len, t->manifest_hex);
        r = set_has(planned, t->manifest_hex)
                    ? 1
                    : stored(st, t->manifest_hex, (uint64_t)t->manifest_len, err);
        if (r < 0)
                return -1;
        set_add(planned, t->manifest_hex);
        t->manifest_stored = r == 1;
        if (!t->manifest_stored)
                t->to_send += t->manifest_len;
        return 0;
}

const char *treesync_manifest_sha256(const struct treesync *t)
{
        return t->manifest_hex;
}

uint64_t treesync_total_size(const struct treesync *t)
{
        return tree_manifest_total_size(t->m);
}

uint64_t treesync_to_send(const struct treesync *t)
{
        return t->to_send;
}

const struct treesync_stats *treesync_stats(const struct treesync *t)
{
        return &t->stats;
}

/* ---- sending, several at once ---- */

struct upload_run {
        struct treesync *t;
        struct storage *shared; /* used when OPEN is NULL */
        treesync_open_fn open;
        void *open_ud;
        atomic_size_t next;
        atomic_int failed;
        pthread_mutex_t lock;
        struct hoist_error *err;
        uint64_t bytes_sent;
        size_t blobs_sent;
};

/* Reads a pack's files into one buffer and checks it against its digest:
 * a file that changed since the plan is refused, not sent. */
static int send_pack(struct treesync *t, struct storage *st, const struct task *task,
                     struct hoist_error **err)
{
        _cleanup_free_ char *buf = xmalloc(task->size ? task->size : 1);
        _cleanup_free_ char *key = tree_blob_key(task->sha256);
        char hex[DIGEST_HEX_LEN + 1];
        uint64_t off = 0;

        for (size_t k = 0; k < task->n_pack_files; k++) {
                const struct tfile *f = &t->files[task->pack_files[k]];
                _cleanup_free_ char *path = path_join(t->root, f->rel);
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
                uint64_t left = (uint64_t)f->st.st_size;
                if (fd < 0)
                        return hoist_error_errno(err, "open '%s'", path);
                while (left > 0) {
                        ssize_t r = read(fd, buf + off, left);
                        if (r < 0 && errno == EINTR)
                                continue;
                        if (r <= 0)
                                return hoist_error_make(err, r < 0 ? errno : HOIST_ERR_INPUT,
                                                        "read '%s'", path);
                        off += (uint64_t)r;
                        left -= (uint64_t)r;
                }
        }
        digest_sha256_hex(buf, task->size, hex);
        if (strcmp(hex, task->sha256) != 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "a file of '%s' changed between hashing and sending; "
                                        "nothing of it was stored (submit again once the "
                                        "files are written)",
                                        t->root);
        return storage_put_bytes(st, key, buf, task->size, err);
}

static int send_blob(struct treesync *t, struct storage *st, const struct task *task,
                     struct hoist_error **err)
{
        const struct tfile *f = &t->files[task->file];
        _cleanup_free_ char *path = path_join(t->root, f->rel);
        _cleanup_free_ char *key = tree_blob_key(task->sha256);
        struct stat now;

        if (lstat(path, &now) < 0)
                return hoist_error_errno(err, "stat '%s'", path);
        if (now.st_size != f->st.st_size || now.st_mtim.tv_sec != f->st.st_mtim.tv_sec ||
            now.st_mtim.tv_nsec != f->st.st_mtim.tv_nsec)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' changed between hashing and sending; submit again "
                                        "once it is written",
                                        path);
        return storage_put_file(st, key, path, err);
}

static void *upload_worker(void *arg)
{
        struct upload_run *u = arg;
        struct storage *own = NULL, *st = u->shared;
        struct hoist_error *e = NULL;

        if (u->open != NULL && u->open(u->open_ud, &own, &e) < 0)
                goto fail;
        if (own != NULL)
                st = own;
        for (;;) {
                size_t i = atomic_fetch_add(&u->next, 1);
                if (i >= u->t->n_tasks || atomic_load(&u->failed))
                        break;
                const struct task *task = &u->t->tasks[i];
                int r = task->kind == TASK_PACK ? send_pack(u->t, st, task, &e)
                                                : send_blob(u->t, st, task, &e);
                if (r < 0)
                        goto fail;
                pthread_mutex_lock(&u->lock);
                u->bytes_sent += task->size;
                u->blobs_sent++;
                pthread_mutex_unlock(&u->lock);
        }
        storage_close(own);
        return NULL;
fail:
        pthread_mutex_lock(&u->lock);
        if (u->err == NULL)
                u->err = e;
        else
                hoist_error_free(e);
        pthread_mutex_unlock(&u->lock);
        atomic_store(&u->failed, 1);
        storage_close(own);
        return NULL;
}

static int save_cache(struct treesync *t, struct hoist_error **err)
{
        _cleanup_free_ struct statcache_entry *e = NULL;
        int r;

        if (t->cache_file == NULL)
                return 0;
        e = xcalloc(t->n_files ? t->n_files : 1, sizeof *e);
        for (size_t i = 0; i < t->n_files; i++)
                statcache_fill(&e[i], t->files[i].rel, &t->files[i].st, t->files[i].sha256);
        r = statcache_write(t->cache_file, e, t->n_files, err);
        for (size_t i = 0; i < t->n_files; i++)
                free(e[i].path);
        if (r == 0)
                r = fs_write_file_atomic(t->manifest_file, t->manifest, t->manifest_len, 0600, err);
        return r;
}

int treesync_upload(struct treesync *t, struct storage *st, treesync_open_fn open, void *open_ud,
                    struct hoist_error **err)
{
        struct upload_run u = {.t = t,
                               .shared = st,
                               .open = open,
                               .open_ud = open_ud,
                               .lock = PTHREAD_MUTEX_INITIALIZER};
        _cleanup_free_ char *key = tree_blob_key(t->manifest_hex);

        atomic_init(&u.next, 0);
        atomic_init(&u.failed, 0);
        if (t->n_tasks > 0)
                run_workers(upload_worker, &u, open == NULL ? 1 : t->n_tasks);
        if (u.err != NULL) {
                *err = u.err;
                return -1;
        }
        t->stats.bytes_sent = u.bytes_sent;
        t->stats.blobs_sent = u.blobs_sent;
        if (!t->manifest_stored) {
                if (storage_put_bytes(st, key, t->manifest, t->manifest_len, err) < 0)
                        return hoist_error_wrap(err, "store the tree manifest");
                t->stats.bytes_sent += t->manifest_len;
                t->stats.blobs_sent++;
        }
        /* The cache only speeds the next submit up: losing it costs a rehash. */
        _cleanup_error_ struct hoist_error *e = NULL;
        if (save_cache(t, &e) < 0 || remember_tree(t, &e) < 0)
                log_warn("stat cache of '%s': %s, ignoring", t->root, e->msg);
        return 0;
}
