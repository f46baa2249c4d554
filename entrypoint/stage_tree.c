/* SPDX-License-Identifier: MIT */
/*
 * The tree stager (stage_tree.h).  Every file the node lacks becomes part
 * of one batch of ranged reads: small files are cut out of their packs
 * (neighbours in a pack share one range), a large file's blob is read in
 * parts written at their offsets.  A range's sink writes and hashes the
 * files it covers in order.  A large file's parts land out of order, so a
 * verifier thread hashes each one's landed prefix as it grows (from the
 * page cache, beside the transfers) and finishes the file when the last
 * part is in.
 */
#include "stage_tree.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "log.h"
#include "tree.h"
#include "xalloc.h"

/* A range of a pack spans at most this many bytes; a large file's blob is
 * read in parts of this size. */
#define RANGE_BYTES ((uint64_t)8 << 20)
/* Files in a pack closer than this share a range (the gap is read and
 * dropped) rather than start another request. */
#define RANGE_GAP ((uint64_t)256 << 10)
#define STATE_FORMAT "hoist.tree-state/v1"
#define HASH_CHUNK (1u << 20)

struct file_job {
        const struct tree_entry *e; /* the first entry with this content */
        char *path;                 /* absolute */
        int fd;
        struct digest_ctx *d;
        uint64_t written; /* in order: single-range files */
        bool done;
        /* files read in parts: */
        size_t n_parts;
        bool *landed;    /* under stager.lock */
        uint64_t hashed; /* by the verifier */
};

struct range_job {
        struct stager *t;
        char *key;
        uint64_t offset, length;
        struct file_job **files; /* in pack order */
        uint64_t *file_off;      /* offset of each in the object */
        size_t n_files, cap, cursor;
        bool started;
        struct file_job *big; /* or one part of a large file */
        size_t part;
};

struct state_rec {
        const char *path;
        uint64_t size, ino;
        int64_t mtime_ns, ctime_ns;
        const char *sha256;
};

struct stager {
        const char *label;
        const char *dir;
        const char *state_path; /* the record, outside dir */
        struct tree_manifest *m;
        json_t *state_json;
        struct state_rec *state;
        size_t n_state;
        char *boot_id;  /* this boot's, or NULL when unknown */
        bool same_boot; /* the record was written since this boot */
        pthread_mutex_t lock;
        pthread_cond_t cond;
        struct hoist_error *err; /* the first failure, under lock */
        bool failed, quit;       /* under lock */
        struct file_job **bigs;
        size_t n_bigs;
};

static bool stager_failed(struct stager *t)
{
        bool f;

        (void)pthread_mutex_lock(&t->lock);
        f = t->failed;
        (void)pthread_mutex_unlock(&t->lock);
        return f;
}

/* Keeps E as the batch's error unless one came first; returns -1. */
static int stager_fail(struct stager *t, struct hoist_error *e)
{
        (void)pthread_mutex_lock(&t->lock);
        if (t->err == NULL)
                t->err = e;
        else
                hoist_error_free(e);
        t->failed = true;
        (void)pthread_cond_broadcast(&t->cond);
        (void)pthread_mutex_unlock(&t->lock);
        return -1;
}

static int64_t ts_ns(const struct timespec *ts)
{
        return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* ---- the record of what this stager wrote ---- */

static int state_cmp(const void *a, const void *b)
{
        return strcmp(((const struct state_rec *)a)->path, ((const struct state_rec *)b)->path);
}

/* The kernel's id of this boot: a record written before the node last
 * booted may vouch for pages that never reached the disk. */
static char *boot_id(void)
{
        char *data = NULL;
        size_t len = 0;

        if (fs_read_file("/proc/sys/kernel/random/boot_id", &data, &len, NULL) < 0)
                return NULL;
        while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == ' '))
                data[--len] = '\0';
        if (len == 0) {
                free(data);
                return NULL;
        }
        return data;
}

/* Reads the record; a missing or unreadable one only means "fetch
 * everything". */
static void state_load(struct stager *t)
{
        const char *path = t->state_path;
        json_error_t jerr;
        json_t *files, *row;
        size_t i;

        t->state_json = json_load_file(path, 0, &jerr);
        if (t->state_json == NULL)
                return;
        files = json_object_get(t->state_json, "files");
        if (!json_is_string(json_object_get(t->state_json, "format")) ||
            strcmp(json_string_value(json_object_get(t->state_json, "format")), STATE_FORMAT) !=
                    0 ||
            !json_is_array(files)) {
                log_warn("%s: '%s' is not a record this stager wrote, ignoring", t->label, path);
                return;
        }
        const char *rec_boot = json_string_value(json_object_get(t->state_json, "boot_id"));
        t->same_boot = rec_boot != NULL && t->boot_id != NULL && strcmp(rec_boot, t->boot_id) == 0;
        t->state = xcalloc(json_array_size(files) + 1, sizeof *t->state);
        json_array_foreach(files, i, row)
        {
                struct state_rec *r = &t->state[t->n_state];
                if (!json_is_array(row) || json_array_size(row) != 6 ||
                    !json_is_string(json_array_get(row, 0)) ||
                    !json_is_string(json_array_get(row, 5)))
                        continue;
                r->path = json_string_value(json_array_get(row, 0));
                r->size = (uint64_t)json_integer_value(json_array_get(row, 1));
                r->mtime_ns = json_integer_value(json_array_get(row, 2));
                r->ctime_ns = json_integer_value(json_array_get(row, 3));
                r->ino = (uint64_t)json_integer_value(json_array_get(row, 4));
                r->sha256 = json_string_value(json_array_get(row, 5));
                t->n_state++;
        }
        qsort(t->state, t->n_state, sizeof *t->state, state_cmp);
}

/* True when the file at PATH is the one the record says this stager wrote
 * with E's content: same size, mtime, ctime and inode.  The record is not
 * synced to disk with the files (one sync of a whole dataset, or a fsync
 * per file of 20,000, costs more than the staging): written in this boot,
 * the page cache makes it true; from an earlier boot, a file that still
 * matches it is read and hashed before it is kept. */
static bool state_matches(const struct stager *t, const struct tree_entry *e, const char *path)
{
        struct state_rec key = {.path = e->path};
        const struct state_rec *r =
                t->n_state ? bsearch(&key, t->state, t->n_state, sizeof key, state_cmp) : NULL;
        struct stat s;

        if (r == NULL || strcmp(r->sha256, e->sha256) != 0 || lstat(path, &s) < 0 ||
            !S_ISREG(s.st_mode))
                return false;
        if ((uint64_t)s.st_size != e->size || r->size != e->size ||
            r->mtime_ns != ts_ns(&s.st_mtim) || r->ctime_ns != ts_ns(&s.st_ctim) ||
            r->ino != (uint64_t)s.st_ino)
                return false;
        if (t->same_boot)
                return true;
        char got[DIGEST_HEX_LEN + 1];
        return digest_file_hex(path, got, NULL, NULL) == 0 && strcmp(got, e->sha256) == 0;
}

static int state_write(struct stager *t, struct hoist_error **err)
{
        const char *path = t->state_path;
        json_auto_t *files = json_array();
        json_auto_t *doc = NULL;
        _cleanup_free_ char *text = NULL;

        for (size_t i = 0; i < t->m->n_entries; i++) {
                const struct tree_entry *e = &t->m->entries[i];
                _cleanup_free_ char *p = NULL;
                struct stat s;
                if (e->type != TREE_ENTRY_FILE)
                        continue;
                p = path_join(t->dir, e->path);
                if (lstat(p, &s) < 0)
                        return hoist_error_errno(err, "%s: stat '%s'", t->label, e->path);
                (void)json_array_append_new(files, json_pack("[s, I, I, I, I, s]", e->path,
                                                             (json_int_t)s.st_size,
                                                             (json_int_t)ts_ns(&s.st_mtim),
                                                             (json_int_t)ts_ns(&s.st_ctim),
                                                             (json_int_t)s.st_ino, e->sha256));
        }
        doc = json_pack("{s:s, s:s?, s:O}", "format", STATE_FORMAT, "boot_id", t->boot_id, "files",
                        files);
        text = json_dumps(doc, JSON_COMPACT);
        if (text == NULL)
                return hoist_error_make(err, ENOMEM, "%s: encode '%s'", t->label, path);
        return fs_write_file_atomic(path, text, strlen(text), 0644, err);
}

/* ---- the directory ---- */

static const struct tree_entry *manifest_find(const struct tree_manifest *m, const char *path)
{
        size_t lo = 0, hi = m->n_entries;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(m->entries[mid].path, path);
                if (c == 0)
                        return &m->entries[mid];
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

/* nftw() takes no user data: the one walk at a time is this one. */
static struct {
        struct stager *t;
        size_t root_len;
        struct hoist_error *err;
} sweep;

static int sweep_one(const char *path, const struct stat *s, int flag, struct FTW *ftw)
{
        const char *rel = path + sweep.root_len;
        const struct tree_entry *e;
        bool keep;

        (void)flag;
        if (ftw->level == 0)
                return 0;
        while (*rel == '/')
                rel++;
        e = manifest_find(sweep.t->m, rel);
        if (S_ISDIR(s->st_mode))
                keep = e == NULL || e->type == TREE_ENTRY_DIR;
        else if (S_ISREG(s->st_mode))
                keep = e != NULL && e->type == TREE_ENTRY_FILE;
        else
                keep = false; /* symlinks are made again; nothing else belongs here */
        if (keep) {
                /* A directory no entry names goes when it is empty (its
                 * children were visited first); ENOTEMPTY keeps it. */
                if (S_ISDIR(s->st_mode) && e == NULL && rmdir(path) < 0 && errno != ENOTEMPTY &&
                    errno != EEXIST)
                        return hoist_error_errno(&sweep.err, "%s: remove '%s'", sweep.t->label,
                                                 rel),
                               1;
                return 0;
        }
        if (S_ISDIR(s->st_mode)) {
                if (fs_remove_tree(path, &sweep.err) < 0)
                        return 1;
        } else if (unlink(path) < 0 && errno != ENOENT) {
                (void)hoist_error_errno(&sweep.err, "%s: remove '%s'", sweep.t->label, rel);
                return 1;
        }
        return 0;
}

/* Removes what the manifest does not name, or names as another type. */
static int sweep_dir(struct stager *t, struct hoist_error **err)
{
        static pthread_mutex_t sweep_lock = PTHREAD_MUTEX_INITIALIZER;
        int r;

        (void)pthread_mutex_lock(&sweep_lock);
        sweep.t = t;
        sweep.root_len = strlen(t->dir);
        sweep.err = NULL;
        r = nftw(t->dir, sweep_one, 32, FTW_PHYS | FTW_DEPTH | FTW_MOUNT);
        if (r != 0) {
                if (sweep.err != NULL)
                        *err = sweep.err;
                else
                        (void)hoist_error_errno(err, "%s: walk '%s'", t->label, t->dir);
                r = -1;
        }
        (void)pthread_mutex_unlock(&sweep_lock);
        return r;
}

static int make_dirs(struct stager *t, struct hoist_error **err)
{
        _cleanup_free_ char *last = NULL;

        for (size_t i = 0; i < t->m->n_entries; i++) {
                const struct tree_entry *e = &t->m->entries[i];
                const char *slash = strrchr(e->path, '/');
                _cleanup_free_ char *rel = NULL;
                if (e->type == TREE_ENTRY_DIR)
                        rel = xstrdup(e->path);
                else if (slash != NULL)
                        rel = xstrndup(e->path, (size_t)(slash - e->path));
                else
                        continue;
                if (last != NULL && strcmp(last, rel) == 0)
                        continue;
                _cleanup_free_ char *p = path_join(t->dir, rel);
                if (fs_mkdir_p(p, 0755, err) < 0)
                        return hoist_error_wrap(err, "%s", t->label);
                free(last);
                last = TAKE_PTR(rel);
        }
        return 0;
}

/* Directory modes last: a 0555 directory would refuse its own files. */
static int finish_dirs(struct stager *t, struct hoist_error **err)
{
        for (size_t i = t->m->n_entries; i-- > 0;) {
                const struct tree_entry *e = &t->m->entries[i];
                if (e->type != TREE_ENTRY_DIR)
                        continue;
                _cleanup_free_ char *p = path_join(t->dir, e->path);
                if (chmod(p, e->mode & 0777) < 0)
                        return hoist_error_errno(err, "%s: chmod '%s'", t->label, e->path);
        }
        return 0;
}

static int make_symlinks(struct stager *t, struct hoist_error **err)
{
        for (size_t i = 0; i < t->m->n_entries; i++) {
                const struct tree_entry *e = &t->m->entries[i];
                if (e->type != TREE_ENTRY_SYMLINK)
                        continue;
                _cleanup_free_ char *p = path_join(t->dir, e->path);
                if (symlink(e->target, p) < 0)
                        return hoist_error_errno(err, "%s: symlink '%s'", t->label, e->path);
        }
        return 0;
}

/* ---- one file ---- */

static int job_open(struct stager *t, struct file_job *f)
{
        struct hoist_error *e = NULL;

        f->fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (f->fd < 0) {
                (void)hoist_error_errno(&e, "%s: create '%s'", t->label, f->e->path);
                return stager_fail(t, e);
        }
        f->d = digest_new();
        f->written = 0;
        return 0;
}

/* Compares the digest, and makes the file what the manifest says. */
static int job_finish(struct stager *t, struct file_job *f)
{
        char got[DIGEST_HEX_LEN + 1];
        struct hoist_error *e = NULL;

        digest_final_hex(TAKE_PTR(f->d), got);
        if (strcmp(got, f->e->sha256) != 0) {
                (void)close(TAKE_FD(f->fd));
                (void)unlink(f->path);
                (void)hoist_error_make(&e, HOIST_ERR_INPUT,
                                       "%s: '%s': sha256 mismatch: the manifest says %s, the "
                                       "bytes fetched have %s; refusing",
                                       t->label, f->e->path, f->e->sha256, got);
                return stager_fail(t, e);
        }
        if (fchmod(f->fd, f->e->mode & 0777) < 0 || close(TAKE_FD(f->fd)) < 0) {
                (void)hoist_error_errno(&e, "%s: write '%s'", t->label, f->e->path);
                (void)unlink(f->path);
                return stager_fail(t, e);
        }
        f->done = true;
        return 0;
}

static void job_drop(struct file_job *f)
{
        if (f->fd >= 0) {
                (void)close(TAKE_FD(f->fd));
                (void)unlink(f->path);
        }
        digest_free(TAKE_PTR(f->d));
}

/* ---- the sinks ---- */

static int write_at(struct stager *t, struct file_job *f, const void *p, size_t len, int64_t off)
{
        struct hoist_error *e = NULL;
        const char *c = p;

        while (len > 0) {
                ssize_t n = off < 0 ? write(f->fd, c, len) : pwrite(f->fd, c, len, (off_t)off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        if (n == 0)
                                errno = EIO;
                        (void)hoist_error_errno(&e, "%s: write '%s'", t->label, f->e->path);
                        return stager_fail(t, e);
                }
                c += n;
                len -= (size_t)n;
                if (off >= 0)
                        off += n;
        }
        return 0;
}

/* A retry sends the range again: the files it had begun start over. */
static void range_restart(struct range_job *r)
{
        for (size_t i = 0; i < r->n_files; i++) {
                struct file_job *f = r->files[i];
                if (f->done || f->fd < 0)
                        continue;
                job_drop(f);
        }
        r->cursor = 0;
        while (r->cursor < r->n_files && r->files[r->cursor]->done)
                r->cursor++;
}

static int part_sink(struct range_job *r, uint64_t pos, const void *data, size_t len)
{
        struct stager *t = r->t;
        struct file_job *f = r->big;

        if (write_at(t, f, data, len, (int64_t)(r->offset + pos)) < 0)
                return -1;
        if (pos + len == r->length) {
                (void)pthread_mutex_lock(&t->lock);
                f->landed[r->part] = true;
                (void)pthread_cond_broadcast(&t->cond);
                (void)pthread_mutex_unlock(&t->lock);
        }
        return 0;
}

static int range_sink(void *userdata, uint64_t pos, const void *data, size_t len)
{
        struct range_job *r = userdata;
        struct stager *t = r->t;
        const char *p = data;
        uint64_t at = r->offset + pos;

        if (stager_failed(t))
                return -1;
        if (pos + len > r->length) {
                struct hoist_error *e = NULL;
                (void)hoist_error_make(&e, HOIST_ERR_PROVIDER,
                                       "%s: '%s' sent more than the %" PRIu64
                                       " bytes asked for; refusing",
                                       t->label, r->key, r->length);
                return stager_fail(t, e);
        }
        if (r->big != NULL)
                return part_sink(r, pos, data, len);
        if (pos == 0 && r->started)
                range_restart(r);
        r->started = true;
        while (len > 0 && r->cursor < r->n_files) {
                struct file_job *f = r->files[r->cursor];
                uint64_t start = r->file_off[r->cursor];
                if (at < start) {
                        uint64_t skip = start - at < len ? start - at : len;
                        at += skip;
                        p += skip;
                        len -= (size_t)skip;
                        continue;
                }
                if (f->fd < 0 && job_open(t, f) < 0)
                        return -1;
                uint64_t want = f->e->size - f->written;
                size_t take = want < len ? (size_t)want : len;
                if (write_at(t, f, p, take, -1) < 0)
                        return -1;
                digest_update(f->d, p, take);
                f->written += take;
                at += take;
                p += take;
                len -= take;
                if (f->written == f->e->size) {
                        if (job_finish(t, f) < 0)
                                return -1;
                        r->cursor++;
                }
        }
        return 0;
}

/* ---- the verifier of files read in parts ---- */

static uint64_t landed_prefix(const struct file_job *f)
{
        size_t k = 0;

        while (k < f->n_parts && f->landed[k])
                k++;
        uint64_t end = (uint64_t)k * RANGE_BYTES;
        return end > f->e->size ? f->e->size : end;
}

static void *verifier_main(void *arg)
{
        struct stager *t = arg;
        _cleanup_free_ char *chunk = xmalloc(HASH_CHUNK);

        (void)pthread_mutex_lock(&t->lock);
        for (;;) {
                struct file_job *f = NULL;
                uint64_t upto = 0;
                for (size_t i = 0; i < t->n_bigs && !t->failed; i++) {
                        struct file_job *b = t->bigs[i];
                        if (b->done || b->fd < 0)
                                continue;
                        upto = landed_prefix(b);
                        if (upto > b->hashed) {
                                f = b;
                                break;
                        }
                }
                if (f == NULL) {
                        if (t->quit || t->failed)
                                break;
                        (void)pthread_cond_wait(&t->cond, &t->lock);
                        continue;
                }
                (void)pthread_mutex_unlock(&t->lock);
                /* The file's fd is pwrite()n by the loop and pread() here;
                 * the parts read were complete before they were marked. */
                int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                bool ok = fd >= 0;
                while (ok && f->hashed < upto) {
                        uint64_t left = upto - f->hashed;
                        size_t want = left < HASH_CHUNK ? (size_t)left : HASH_CHUNK;
                        ssize_t n = pread(fd, chunk, want, (off_t)f->hashed);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                ok = false;
                                break;
                        }
                        digest_update(f->d, chunk, (size_t)n);
                        f->hashed += (uint64_t)n;
                }
                if (fd >= 0)
                        (void)close(fd);
                if (!ok) {
                        struct hoist_error *e = NULL;
                        (void)hoist_error_errno(&e, "%s: read back '%s'", t->label, f->e->path);
                        (void)stager_fail(t, e);
                } else if (f->hashed == f->e->size) {
                        (void)job_finish(t, f);
                }
                (void)pthread_mutex_lock(&t->lock);
        }
        (void)pthread_mutex_unlock(&t->lock);
        return NULL;
}

/* ---- planning the reads ---- */

struct want {
        const char *sha256;
        struct file_job *job;
};

struct located {
        const char *sha256;
        size_t pack;
        uint64_t offset;
};

static int located_cmp(const void *a, const void *b)
{
        return strcmp(((const struct located *)a)->sha256, ((const struct located *)b)->sha256);
}

static int want_cmp(const void *a, const void *b)
{
        const struct want *x = a, *y = b;
        int c = strcmp(x->sha256, y->sha256);

        return c != 0 ? c : strcmp(x->job->e->path, y->job->e->path);
}

struct plan {
        struct range_job *ranges;
        size_t n, cap;
};

static struct range_job *plan_add(struct plan *p, struct stager *t, const char *key,
                                  uint64_t offset)
{
        if (p->n == p->cap) {
                p->cap = p->cap ? p->cap * 2 : 64;
                p->ranges = xreallocarray(p->ranges, p->cap, sizeof *p->ranges);
        }
        struct range_job *r = &p->ranges[p->n++];
        *r = (struct range_job){.t = t, .key = xstrdup(key), .offset = offset};
        return r;
}

static void range_add_file(struct range_job *r, struct file_job *f, uint64_t off)
{
        if (r->n_files == r->cap) {
                r->cap = r->cap ? r->cap * 2 : 8;
                r->files = xreallocarray(r->files, r->cap, sizeof *r->files);
                r->file_off = xreallocarray(r->file_off, r->cap, sizeof *r->file_off);
        }
        r->files[r->n_files] = f;
        r->file_off[r->n_files++] = off;
        r->length = off + f->e->size - r->offset;
}

struct packed {
        uint64_t offset;
        struct file_job *job;
};

static int packed_cmp(const void *a, const void *b)
{
        const struct packed *x = a, *y = b;

        return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Cuts the ranges of one pack: files in offset order, neighbours merged. */
static void plan_pack(struct plan *p, struct stager *t, const char *key, struct packed *files,
                      size_t n)
{
        struct range_job *r = NULL;

        qsort(files, n, sizeof *files, packed_cmp);
        for (size_t i = 0; i < n; i++) {
                uint64_t off = files[i].offset;
                if (r == NULL || off < r->offset + r->length ||
                    off - (r->offset + r->length) > RANGE_GAP ||
                    off + files[i].job->e->size - r->offset > RANGE_BYTES)
                        r = plan_add(p, t, key, off);
                range_add_file(r, files[i].job, off);
        }
}

static void plan_big(struct plan *p, struct stager *t, const char *key, struct file_job *f)
{
        f->n_parts = (size_t)((f->e->size + RANGE_BYTES - 1) / RANGE_BYTES);
        f->landed = xcalloc(f->n_parts, sizeof *f->landed);
        t->bigs = xreallocarray(t->bigs, t->n_bigs + 1, sizeof *t->bigs);
        t->bigs[t->n_bigs++] = f;
        for (size_t i = 0; i < f->n_parts; i++) {
                uint64_t off = (uint64_t)i * RANGE_BYTES;
                struct range_job *r = plan_add(p, t, key, off);
                r->length = f->e->size - off < RANGE_BYTES ? f->e->size - off : RANGE_BYTES;
                r->big = f;
                r->part = i;
        }
}

/* The ranges that fetch JOBS (one per distinct digest) from their packs or
 * blobs, whose keys start with BLOB_DIR. */
static void plan_reads(struct stager *t, const char *blob_dir, struct file_job **jobs, size_t n,
                       struct plan *p)
{
        const struct tree_manifest *m = t->m;
        size_t n_loc = 0;
        _cleanup_free_ struct located *loc = NULL;
        _cleanup_free_ size_t *per_pack = xcalloc(m->n_packs + 1, sizeof *per_pack);
        _cleanup_free_ struct packed **by_pack = xcalloc(m->n_packs + 1, sizeof *by_pack);

        for (size_t i = 0; i < m->n_packs; i++)
                n_loc += m->packs[i].n_files;
        loc = xcalloc(n_loc + 1, sizeof *loc);
        n_loc = 0;
        for (size_t i = 0; i < m->n_packs; i++)
                for (size_t j = 0; j < m->packs[i].n_files; j++)
                        loc[n_loc++] = (struct located){m->packs[i].files[j].sha256, i,
                                                        m->packs[i].files[j].offset};
        qsort(loc, n_loc, sizeof *loc, located_cmp);
        for (size_t i = 0; i < m->n_packs; i++)
                by_pack[i] = xcalloc(m->packs[i].n_files + 1, sizeof **by_pack);
        for (size_t i = 0; i < n; i++) {
                struct located key = {.sha256 = jobs[i]->e->sha256};
                const struct located *l =
                        n_loc ? bsearch(&key, loc, n_loc, sizeof key, located_cmp) : NULL;
                if (l != NULL) {
                        by_pack[l->pack][per_pack[l->pack]++] = (struct packed){l->offset, jobs[i]};
                        continue;
                }
                _cleanup_free_ char *k = xasprintf("%s%s", blob_dir, jobs[i]->e->sha256);
                if (jobs[i]->e->size > RANGE_BYTES) {
                        plan_big(p, t, k, jobs[i]);
                } else {
                        struct range_job *rj = plan_add(p, t, k, 0);
                        range_add_file(rj, jobs[i], 0);
                }
        }
        for (size_t i = 0; i < m->n_packs; i++) {
                if (per_pack[i] > 0) {
                        _cleanup_free_ char *k = xasprintf("%s%s", blob_dir, m->packs[i].sha256);
                        plan_pack(p, t, k, by_pack[i], per_pack[i]);
                }
                free(by_pack[i]);
        }
}

static void plan_free(struct plan *p)
{
        for (size_t i = 0; i < p->n; i++) {
                free(p->ranges[i].key);
                free(p->ranges[i].files);
                free(p->ranges[i].file_off);
        }
        free(p->ranges);
}

/* ---- the whole stage ---- */

/* Opens the big files (sized) before their parts start to land. */
static int open_bigs(struct stager *t, struct hoist_error **err)
{
        for (size_t i = 0; i < t->n_bigs; i++) {
                struct file_job *f = t->bigs[i];
                if (job_open(t, f) < 0 || ftruncate(f->fd, (off_t)f->e->size) < 0) {
                        if (t->err == NULL)
                                return hoist_error_errno(err, "%s: size '%s'", t->label,
                                                         f->e->path);
                        *err = TAKE_PTR(t->err);
                        return -1;
                }
        }
        return 0;
}

static int fetch_all(struct stager *t, struct storage *st, struct plan *p, struct hoist_error **err)
{
        _cleanup_free_ struct storage_range *ranges = xcalloc(p->n + 1, sizeof *ranges);
        pthread_t verifier;
        bool threaded = false;
        int r;

        if (open_bigs(t, err) < 0)
                return -1;
        for (size_t i = 0; i < p->n; i++)
                ranges[i] = (struct storage_range){p->ranges[i].key, p->ranges[i].offset,
                                                   p->ranges[i].length, range_sink, &p->ranges[i]};
        if (t->n_bigs > 0) {
                if (pthread_create(&verifier, NULL, verifier_main, t) != 0)
                        return hoist_error_make(err, EAGAIN, "%s: cannot start a thread", t->label);
                threaded = true;
        }
        r = p->n > 0 ? storage_read_ranges(st, ranges, p->n, err) : 0;
        (void)pthread_mutex_lock(&t->lock);
        t->quit = true;
        (void)pthread_cond_broadcast(&t->cond);
        (void)pthread_mutex_unlock(&t->lock);
        if (threaded)
                (void)pthread_join(verifier, NULL);
        if (t->err != NULL) {
                /* The stager's own error says more than the transfer's. */
                if (r < 0)
                        hoist_error_free(TAKE_PTR(*err));
                *err = TAKE_PTR(t->err);
                return -1;
        }
        if (r < 0)
                return hoist_error_wrap(err, "%s", t->label);
        for (size_t i = 0; i < t->n_bigs; i++)
                if (!t->bigs[i]->done)
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "%s: '%s' did not arrive whole", t->label,
                                                t->bigs[i]->e->path);
        return 0;
}

static int fetch_manifest(struct storage *st, const char *label, const char *key,
                          const char *sha256, struct tree_manifest **ret, struct hoist_error **err)
{
        _cleanup_free_ char *bytes = NULL;
        char got[DIGEST_HEX_LEN + 1];
        size_t len = 0;
        const char *want = digest_parse(sha256) ? digest_parse(sha256) : sha256;

        if (storage_get_bytes(st, key, &bytes, &len, err) < 0)
                return hoist_error_wrap(err, "%s: tree manifest", label);
        digest_sha256_hex(bytes, len, got);
        if (want == NULL || strcmp(want, got) != 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "%s: tree manifest '%s': sha256 mismatch: job.json says "
                                        "%s, the bytes fetched have %s; refusing",
                                        label, key, want ? want : "(none)", got);
        if (tree_manifest_parse(bytes, len, ret, err) < 0)
                return hoist_error_wrap(err, "%s: '%s'", label, key);
        return 0;
}

static void stats_add(struct stage_tree_stats *s, const struct plan *p)
{
        s->ranges = p->n;
        for (size_t i = 0; i < p->n; i++)
                s->fetched_bytes += p->ranges[i].length;
}

static int stage_files(struct stager *t, struct storage *st, const char *blob_dir,
                       struct stage_tree_stats *stats, struct hoist_error **err)
{
        size_t n = tree_manifest_count(t->m, TREE_ENTRY_FILE), k = 0, n_fetch = 0;
        _cleanup_free_ struct file_job *jobs = xcalloc(n + 1, sizeof *jobs);
        _cleanup_free_ struct want *w = xcalloc(n + 1, sizeof *w);
        _cleanup_free_ struct file_job **fetch = xcalloc(n + 1, sizeof *fetch);
        struct plan p = {0};
        int r = 0;

        for (size_t i = 0; i < t->m->n_entries; i++) {
                const struct tree_entry *e = &t->m->entries[i];
                if (e->type != TREE_ENTRY_FILE)
                        continue;
                struct file_job *f = &jobs[k];
                *f = (struct file_job){.e = e, .path = path_join(t->dir, e->path), .fd = -1};
                stats->files++;
                stats->bytes += e->size;
                if (state_matches(t, e, f->path)) {
                        /* Unchanged since this stager wrote it; only the mode may differ. */
                        if (chmod(f->path, e->mode & 0777) < 0) {
                                r = hoist_error_errno(err, "%s: chmod '%s'", t->label, e->path);
                                goto out;
                        }
                        f->done = true;
                        stats->kept_files++;
                }
                w[k] = (struct want){e->sha256, f};
                k++;
        }
        /* One fetch per distinct content, none when a kept file has it. */
        qsort(w, k, sizeof *w, want_cmp);
        for (size_t i = 0, end; i < k; i = end) {
                bool have = false;
                for (end = i; end < k && strcmp(w[end].sha256, w[i].sha256) == 0; end++)
                        have = have || w[end].job->done;
                if (have)
                        continue;
                if (w[i].job->e->size > 0) {
                        fetch[n_fetch++] = w[i].job;
                        continue;
                }
                /* Nothing to read: made here, checked like the rest. */
                if (job_open(t, w[i].job) < 0 || job_finish(t, w[i].job) < 0) {
                        *err = TAKE_PTR(t->err);
                        r = -1;
                        goto out;
                }
        }
        plan_reads(t, blob_dir, fetch, n_fetch, &p);
        stats_add(stats, &p);
        stats->fetched_files = n_fetch;
        log_debug("%s: %zu files, %zu to fetch in %zu ranges", t->label, k, n_fetch, p.n);
        r = fetch_all(t, st, &p, err);
        if (r < 0)
                goto out;
        /* The other paths of each content, copied from one staged copy. */
        for (size_t i = 0, end; i < k; i = end) {
                size_t from = k;
                for (end = i; end < k && strcmp(w[end].sha256, w[i].sha256) == 0; end++)
                        if (from == k && w[end].job->done)
                                from = end;
                for (size_t j = i; j < end; j++) {
                        struct file_job *f = w[j].job;
                        if (f->done)
                                continue;
                        if (from == k) {
                                r = hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                     "%s: '%s' was not staged", t->label,
                                                     f->e->path);
                                goto out;
                        }
                        if (fs_copy_file(w[from].job->path, f->path, err) < 0 ||
                            chmod(f->path, f->e->mode & 0777) < 0) {
                                r = hoist_error_wrap(err, "%s: copy '%s'", t->label, f->e->path);
                                goto out;
                        }
                        f->done = true;
                }
        }
out:
        for (size_t i = 0; i < k; i++) {
                job_drop(&jobs[i]);
                free(jobs[i].path);
                free(jobs[i].landed);
        }
        plan_free(&p);
        return r;
}

/* SOURCE as a store and the prefix of its blobs' keys. */
static int open_source(struct storage *st, const char *source, struct storage **ret_own,
                       char **ret_key, char **ret_blob_dir, struct hoist_error **err)
{
        const char *slash;

        if (strncmp(source, "file://", 7) == 0) {
                const char *path = source + 7;
                const char *marker = strstr(path, "/" TREE_BLOB_PREFIX);
                if (path[0] != '/' || marker == NULL)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "tree source '%s' must be "
                                                "file:///dir/" TREE_BLOB_PREFIX "<sha256>",
                                                source);
                _cleanup_free_ char *root = xstrndup(source, (size_t)(marker - source));
                if (storage_open(root, ret_own, err) < 0)
                        return -1;
                *ret_key = xstrdup(marker + 1);
                *ret_blob_dir = xstrdup(TREE_BLOB_PREFIX);
                return 0;
        }
        if (strstr(source, "://") != NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "tree source '%s': only keys in the job's storage and "
                                        "file:// URLs are supported",
                                        source);
        if (storage_key_check(source, err) < 0)
                return -1;
        (void)st;
        *ret_own = NULL;
        *ret_key = xstrdup(source);
        slash = strrchr(source, '/');
        *ret_blob_dir = slash ? xstrndup(source, (size_t)(slash - source + 1)) : xstrdup("");
        return 0;
}

int stage_tree(struct storage *st, const char *label, const char *source, const char *sha256,
               const char *dir, const char *state, struct stage_tree_stats *stats,
               struct hoist_error **err)
{
        _cleanup_storage_ struct storage *own = NULL;
        _cleanup_free_ char *key = NULL, *blob_dir = NULL;
        _cleanup_tree_manifest_ struct tree_manifest *m = NULL;
        struct stage_tree_stats s = {0};
        _cleanup_free_ char *state_dir = NULL;
        struct stager t = {.label = label, .dir = dir, .state_path = state};
        int r = -1;

        if (sha256 == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "%s: job.json gives the tree no sha256", label);
        if (open_source(st, source, &own, &key, &blob_dir, err) < 0 ||
            fetch_manifest(own ? own : st, label, key, sha256, &m, err) < 0 ||
            fs_mkdir_p(dir, 0755, err) < 0)
                return -1;
        state_dir = xstrdup(state);
        if (strrchr(state_dir, '/') != NULL) {
                *strrchr(state_dir, '/') = '\0';
                if (*state_dir != '\0' && fs_mkdir_p(state_dir, 0700, err) < 0)
                        return -1;
        }
        t.m = m;
        (void)pthread_mutex_init(&t.lock, NULL);
        (void)pthread_cond_init(&t.cond, NULL);
        t.boot_id = boot_id();
        state_load(&t);
        if (sweep_dir(&t, err) < 0 || make_dirs(&t, err) < 0 ||
            stage_files(&t, own ? own : st, blob_dir, &s, err) < 0 || make_symlinks(&t, err) < 0 ||
            finish_dirs(&t, err) < 0)
                goto out;
        if (state_write(&t, err) < 0)
                goto out;
        if (stats != NULL)
                *stats = s;
        r = 0;
out:
        hoist_error_free(t.err);
        free(t.boot_id);
        free(t.state);
        json_decref(t.state_json);
        free(t.bigs);
        (void)pthread_cond_destroy(&t.cond);
        (void)pthread_mutex_destroy(&t.lock);
        return r;
}
