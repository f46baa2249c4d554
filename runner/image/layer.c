/* SPDX-License-Identifier: MIT */
/*
 * Layer tars, written by hand and read with libarchive.
 *
 * Writing does not go through libarchive: its pax writer decides on its own
 * when to add extended headers and what to put in them, and reproducible
 * layers need every byte pinned down.  The format here is plain ustar plus
 * a pax 'x' header exactly when ustar cannot hold a field (see layer.h).
 *
 * Unpacking is in layer_unpack.c.
 */
#include "runner/image/layer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "buf.h"
#include "archive.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "xalloc.h"

#define TAR_BLOCK 512
#define COPY_CHUNK (1u << 17)

void layer_info_clear(struct layer_info *li)
{
        free(li->digest);
        free(li->diff_id);
        *li = (struct layer_info){0};
}

int64_t layer_epoch_from_env(void)
{
        return archive_source_date_epoch();
}

/* --------------------------------------------------------------- writer -- */

enum wkind { W_PATH, W_WHITEOUT, W_OPAQUE, W_DIR };

struct wentry {
        char *name; /* the tar name, normalized, no trailing '/' */
        char *src;  /* W_PATH: the host path */
        enum wkind kind;
        struct layer_owner owner;
        size_t order;
};

struct layer_writer {
        char *out_path;
        char *tmp_path;
        int fd;
        enum compression comp;
        int threads;
        int64_t epoch;
        struct wentry *v;
        size_t n, cap;
        int finished;
        /* while writing */
        struct compress_sink *sink;
        struct hardlink {
                dev_t dev;
                ino_t ino;
                char *name;
        } * links;
        size_t n_links, cap_links;
};

int layer_writer_new(const char *out_path, enum compression c, int threads, int64_t epoch,
                     struct layer_writer **ret, struct hoist_error **err)
{
        struct layer_writer *w = xzalloc(sizeof *w);

        w->out_path = xstrdup(out_path);
        w->tmp_path = xasprintf("%s.tmp.XXXXXX", out_path);
        w->fd = mkostemp(w->tmp_path, O_CLOEXEC);
        if (w->fd < 0) {
                int e = errno;
                free(w->tmp_path);
                w->tmp_path = NULL;
                layer_writer_free(w);
                return hoist_error_make(err, e, "create a layer file beside '%s'", out_path);
        }
        w->comp = c;
        w->threads = threads;
        w->epoch = epoch < 0 ? 0 : epoch;
        *ret = w;
        return 0;
}

void layer_writer_free(struct layer_writer *w)
{
        if (w == NULL)
                return;
        if (w->fd >= 0)
                (void)close(w->fd);
        if (w->tmp_path != NULL && !w->finished)
                (void)unlink(w->tmp_path);
        for (size_t i = 0; i < w->n; i++) {
                free(w->v[i].name);
                free(w->v[i].src);
        }
        for (size_t i = 0; i < w->n_links; i++)
                free(w->links[i].name);
        compress_sink_free(w->sink);
        free(w->links);
        free(w->v);
        free(w->tmp_path);
        free(w->out_path);
        free(w);
}

size_t layer_writer_count(const struct layer_writer *w)
{
        return w->n;
}

static void writer_push(struct layer_writer *w, char *name, char *src, enum wkind kind,
                        const struct layer_owner *owner)
{
        if (w->n == w->cap) {
                w->cap = w->cap ? 2 * w->cap : 64;
                w->v = xreallocarray(w->v, w->cap, sizeof *w->v);
        }
        w->v[w->n] = (struct wentry){
                .name = name,
                .src = src,
                .kind = kind,
                .owner = owner ? *owner : LAYER_OWNER_KEEP,
                .order = w->n,
        };
        w->n++;
}

static char *writer_name(const char *name, struct hoist_error **err)
{
        char *n = archive_name_normalize(name, 1);

        if (n == NULL || *n == '\0') {
                free(n);
                hoist_error_make(err, HOIST_ERR_INPUT,
                                 "layer entry '%s' is not a path inside the image", name);
                return NULL;
        }
        return n;
}

int layer_writer_add_path(struct layer_writer *w, const char *name, const char *src_path,
                          const struct layer_owner *owner, struct hoist_error **err)
{
        char *n = writer_name(name, err);

        if (n == NULL)
                return -1;
        writer_push(w, n, xstrdup(src_path), W_PATH, owner);
        return 0;
}

int layer_writer_add_whiteout(struct layer_writer *w, const char *name, struct hoist_error **err)
{
        _cleanup_free_ char *n = writer_name(name, err);

        if (n == NULL)
                return -1;
        char *slash = strrchr(n, '/');
        char *tar = slash ? xasprintf("%.*s/" LAYER_WHITEOUT_PREFIX "%s", (int)(slash - n), n,
                                      slash + 1)
                          : xasprintf(LAYER_WHITEOUT_PREFIX "%s", n);
        writer_push(w, tar, NULL, W_WHITEOUT, NULL);
        return 0;
}

int layer_writer_add_opaque(struct layer_writer *w, const char *name, struct hoist_error **err)
{
        _cleanup_free_ char *n = writer_name(name, err);

        if (n == NULL)
                return -1;
        writer_push(w, xasprintf("%s/" LAYER_OPAQUE, n), NULL, W_OPAQUE, NULL);
        return 0;
}

/* Orders by path component ('/' below every other byte), a directory's
 * opaque marker before its siblings, then by the order of adding. */
static int wentry_cmp(const void *pa, const void *pb)
{
        const struct wentry *a = pa, *b = pb;
        const char *x = a->name, *y = b->name;

        for (;;) {
                const char *xe = strchrnul(x, '/'), *ye = strchrnul(y, '/');
                size_t xn = (size_t)(xe - x), yn = (size_t)(ye - y);
                int xo = xn == strlen(LAYER_OPAQUE) && memcmp(x, LAYER_OPAQUE, xn) == 0;
                int yo = yn == strlen(LAYER_OPAQUE) && memcmp(y, LAYER_OPAQUE, yn) == 0;
                if (xo != yo)
                        return xo ? -1 : 1;
                int c = memcmp(x, y, xn < yn ? xn : yn);
                if (c != 0)
                        return c;
                if (xn != yn)
                        return xn < yn ? -1 : 1;
                if (*xe == '\0' || *ye == '\0') {
                        if (*xe != *ye)
                                return *xe == '\0' ? -1 : 1;
                        break;
                }
                x = xe + 1;
                y = ye + 1;
        }
        return a->order < b->order ? -1 : a->order > b->order;
}

/* ---- tar encoding ---- */

struct tar_hdr {
        char name[PATH_MAX + 1];
        char link[PATH_MAX + 1];
        char type;
        uint32_t mode;
        uint64_t uid, gid, size;
        int64_t mtime;
        struct buf xattrs; /* pax records, already encoded */
};

static void pax_record(struct buf *b, const char *key, const void *val, size_t val_len)
{
        size_t body = 1 + strlen(key) + 1 + val_len + 1; /* " key=val\n" */
        size_t len = body + 1;
        char digits[32];

        /* The length counts its own digits. */
        while ((size_t)snprintf(digits, sizeof digits, "%zu", len) + body != len)
                len = (size_t)snprintf(digits, sizeof digits, "%zu", len) + body;
        buf_printf(b, "%zu %s=", len, key);
        buf_append(b, val, val_len);
        buf_append_char(b, '\n');
}

static void put_octal(char *field, size_t width, uint64_t v)
{
        char tmp[32];

        snprintf(tmp, sizeof tmp, "%0*llo", (int)(width - 1), (unsigned long long)v);
        memcpy(field, tmp, width - 1);
        field[width - 1] = '\0';
}

static void header_block(unsigned char blk[TAR_BLOCK], const char *name, const char *prefix,
                         const char *link, char type, uint32_t mode, uint64_t uid, uint64_t gid,
                         uint64_t size, int64_t mtime)
{
        unsigned sum = 0;

        memset(blk, 0, TAR_BLOCK);
        memcpy(blk, name, strnlen(name, 100));
        put_octal((char *)blk + 100, 8, mode);
        put_octal((char *)blk + 108, 8, uid);
        put_octal((char *)blk + 116, 8, gid);
        put_octal((char *)blk + 124, 12, size);
        put_octal((char *)blk + 136, 12, (uint64_t)mtime);
        memset(blk + 148, ' ', 8);
        blk[156] = (unsigned char)type;
        memcpy(blk + 157, link, strnlen(link, 100));
        memcpy(blk + 257, "ustar", 6);
        memcpy(blk + 263, "00", 2);
        put_octal((char *)blk + 329, 8, 0);
        put_octal((char *)blk + 337, 8, 0);
        memcpy(blk + 345, prefix, strnlen(prefix, 155));
        for (int i = 0; i < TAR_BLOCK; i++)
                sum += blk[i];
        snprintf((char *)blk + 148, 8, "%06o", sum);
        blk[155] = ' ';
}

static int tar_out(struct layer_writer *w, const void *data, size_t len, struct hoist_error **err)
{
        return compress_sink_write(w->sink, data, len, err);
}

static int tar_pad(struct layer_writer *w, uint64_t size, struct hoist_error **err)
{
        static const unsigned char zero[TAR_BLOCK];
        size_t rest = (size_t)(size % TAR_BLOCK);

        return rest ? tar_out(w, zero, TAR_BLOCK - rest, err) : 0;
}

#define USTAR_MAX_ID 07777777ull
#define USTAR_MAX_SIZE 077777777777ull

/* Writes the header(s) of H: a pax header first when ustar is not enough. */
static int tar_header(struct layer_writer *w, struct tar_hdr *h, struct hoist_error **err)
{
        _cleanup_buf_ struct buf pax = {0};
        char name[101] = "", prefix[156] = "";
        size_t nlen = strlen(h->name);
        unsigned char blk[TAR_BLOCK];

        if (nlen <= 100) {
                memcpy(name, h->name, nlen);
        } else {
                /* ustar's prefix/name split, at the last '/' that fits. */
                const char *split = NULL;
                for (const char *s = h->name; (s = strchr(s, '/')) != NULL; s++)
                        if ((size_t)(s - h->name) <= 155 &&
                            nlen - (size_t)(s - h->name) - 1 <= 100 && s[1] != '\0')
                                split = s;
                if (split != NULL) {
                        memcpy(prefix, h->name, (size_t)(split - h->name));
                        strcpy(name, split + 1);
                } else {
                        pax_record(&pax, "path", h->name, nlen);
                        memcpy(name, h->name, 100);
                }
        }
        if (strlen(h->link) > 100)
                pax_record(&pax, "linkpath", h->link, strlen(h->link));
        if (h->size > USTAR_MAX_SIZE) {
                char v[32];
                int n = snprintf(v, sizeof v, "%llu", (unsigned long long)h->size);
                pax_record(&pax, "size", v, (size_t)n);
        }
        if (h->uid > USTAR_MAX_ID) {
                char v[32];
                int n = snprintf(v, sizeof v, "%llu", (unsigned long long)h->uid);
                pax_record(&pax, "uid", v, (size_t)n);
        }
        if (h->gid > USTAR_MAX_ID) {
                char v[32];
                int n = snprintf(v, sizeof v, "%llu", (unsigned long long)h->gid);
                pax_record(&pax, "gid", v, (size_t)n);
        }
        if (h->xattrs.len > 0)
                buf_append(&pax, h->xattrs.data, h->xattrs.len);
        if (pax.len > 0) {
                const char *base = strrchr(h->name, '/');
                const char *bn = base ? base + 1 : h->name;
                char pname[101] = "PaxHeaders/";
                size_t pl = strlen(pname), bl = strnlen(bn, sizeof pname - 1 - pl);
                memcpy(pname + pl, bn, bl);
                pname[pl + bl] = '\0';
                header_block(blk, pname, "", "", 'x', 0644, 0, 0, pax.len, h->mtime);
                if (tar_out(w, blk, sizeof blk, err) < 0 ||
                    tar_out(w, pax.data, pax.len, err) < 0 || tar_pad(w, pax.len, err) < 0)
                        return -1;
        }
        header_block(blk, name, prefix, h->link, h->type, h->mode,
                     h->uid > USTAR_MAX_ID ? 0 : h->uid, h->gid > USTAR_MAX_ID ? 0 : h->gid,
                     h->size > USTAR_MAX_SIZE ? 0 : h->size, h->mtime);
        return tar_out(w, blk, sizeof blk, err);
}

static int xattr_name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int layer_xattr_kept(const char *name)
{
        if (strncmp(name, "trusted.overlay.", 16) == 0)
                return 0;
        return strncmp(name, "security.", 9) != 0 || strcmp(name, "security.capability") == 0;
}

/* Encodes the xattrs of PATH as pax records, sorted by name. */
static int read_xattrs(const char *path, struct buf *out, struct hoist_error **err)
{
        ssize_t n = llistxattr(path, NULL, 0);
        _cleanup_free_ char *list = NULL;
        _cleanup_free_ char **names = NULL;
        size_t count = 0;

        if (n < 0)
                return errno == ENOTSUP ? 0 : hoist_error_errno(err, "list xattrs of '%s'", path);
        if (n == 0)
                return 0;
        list = xmalloc((size_t)n);
        n = llistxattr(path, list, (size_t)n);
        if (n < 0)
                return hoist_error_errno(err, "list xattrs of '%s'", path);
        names = xcalloc((size_t)n, sizeof *names);
        for (char *p = list; p < list + n; p += strlen(p) + 1)
                if (layer_xattr_kept(p))
                        names[count++] = p;
        qsort(names, count, sizeof *names, xattr_name_cmp);
        for (size_t i = 0; i < count; i++) {
                ssize_t vn = lgetxattr(path, names[i], NULL, 0);
                if (vn < 0)
                        return hoist_error_errno(err, "read xattr '%s' of '%s'", names[i], path);
                _cleanup_free_ char *val = xmalloc((size_t)vn + 1);
                vn = lgetxattr(path, names[i], val, (size_t)vn);
                if (vn < 0)
                        return hoist_error_errno(err, "read xattr '%s' of '%s'", names[i], path);
                _cleanup_free_ char *key = xasprintf("SCHILY.xattr.%s", names[i]);
                pax_record(out, key, val, (size_t)vn);
        }
        return 0;
}

static int copy_content(struct layer_writer *w, const char *path, uint64_t size,
                        struct hoist_error **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_free_ char *chunk = xmalloc(COPY_CHUNK);
        uint64_t left = size;

        if (fd < 0)
                return hoist_error_errno(err, "open '%s'", path);
        while (left > 0) {
                size_t want = left < COPY_CHUNK ? (size_t)left : COPY_CHUNK;
                ssize_t n = read(fd, chunk, want);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return hoist_error_errno(err, "read '%s'", path);
                if (n == 0)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "'%s' shrank while its layer was written; "
                                                "is something else changing the build's root?",
                                                path);
                if (tar_out(w, chunk, (size_t)n, err) < 0)
                        return -1;
                left -= (uint64_t)n;
        }
        return tar_pad(w, size, err);
}

static int64_t clamp(const struct layer_writer *w, int64_t t)
{
        if (t < 0)
                return 0;
        return t > w->epoch ? w->epoch : t;
}

/* The first name this layer gave to a multiply-linked inode. */
static const char *hardlink_seen(struct layer_writer *w, const struct stat *st, const char *name)
{
        for (size_t i = 0; i < w->n_links; i++)
                if (w->links[i].dev == st->st_dev && w->links[i].ino == st->st_ino)
                        return w->links[i].name;
        if (w->n_links == w->cap_links) {
                w->cap_links = w->cap_links ? 2 * w->cap_links : 16;
                w->links = xreallocarray(w->links, w->cap_links, sizeof *w->links);
        }
        w->links[w->n_links++] = (struct hardlink){st->st_dev, st->st_ino, xstrdup(name)};
        return NULL;
}

static int write_path_entry(struct layer_writer *w, const struct wentry *e,
                            struct hoist_error **err)
{
        struct tar_hdr h = {0};
        struct stat st;
        int r = 0;

        if (lstat(e->src, &st) < 0)
                return hoist_error_errno(err, "stat '%s'", e->src);
        h.mode = st.st_mode & 07777;
        h.uid = st.st_uid;
        h.gid = st.st_gid;
        h.mtime = clamp(w, st.st_mtim.tv_sec);
        if (e->owner.uid >= 0)
                h.uid = (uint64_t)e->owner.uid;
        if (e->owner.gid >= 0)
                h.gid = (uint64_t)e->owner.gid;
        if (e->owner.mode >= 0 && !S_ISLNK(st.st_mode))
                h.mode = (uint32_t)e->owner.mode & 07777;
        snprintf(h.name, sizeof h.name, "%s", e->name);
        if (S_ISDIR(st.st_mode)) {
                h.type = '5';
                snprintf(h.name, sizeof h.name, "%s/", e->name);
        } else if (S_ISLNK(st.st_mode)) {
                ssize_t n = readlink(e->src, h.link, sizeof h.link - 1);
                if (n < 0)
                        return hoist_error_errno(err, "readlink '%s'", e->src);
                h.link[n] = '\0';
                h.type = '2';
        } else if (S_ISREG(st.st_mode)) {
                const char *first = st.st_nlink > 1 ? hardlink_seen(w, &st, e->name) : NULL;
                if (first != NULL) {
                        h.type = '1';
                        snprintf(h.link, sizeof h.link, "%s", first);
                } else {
                        h.type = '0';
                        h.size = (uint64_t)st.st_size;
                }
        } else {
                log_warn("layer: '%s' is a %s; layers carry no device nodes, fifos or sockets, "
                         "ignoring",
                         e->src,
                         S_ISFIFO(st.st_mode)   ? "fifo"
                         : S_ISSOCK(st.st_mode) ? "socket"
                                                : "device node");
                return 0;
        }
        if (h.type != '1')
                r = read_xattrs(e->src, &h.xattrs, err);
        if (r == 0)
                r = tar_header(w, &h, err);
        buf_free(&h.xattrs);
        if (r == 0 && h.type == '0')
                r = copy_content(w, e->src, h.size, err);
        return r;
}

static int write_entry(struct layer_writer *w, const struct wentry *e, struct hoist_error **err)
{
        struct tar_hdr h = {.mtime = clamp(w, w->epoch)};

        switch (e->kind) {
        case W_PATH:
                return write_path_entry(w, e, err);
        case W_WHITEOUT:
        case W_OPAQUE:
                h.type = '0';
                break;
        case W_DIR:
                h.type = '5';
                h.mode = 0755;
                break;
        }
        snprintf(h.name, sizeof h.name, "%s%s", e->name, e->kind == W_DIR ? "/" : "");
        return tar_header(w, &h, err);
}

int layer_writer_finish(struct layer_writer *w, struct layer_info *ret, struct hoist_error **err)
{
        static const unsigned char end[2 * TAR_BLOCK];
        struct compress_result res;
        size_t kept = 0;

        if (w->finished || w->fd < 0)
                return hoist_error_make(err, EINVAL, "layer '%s' was already written", w->out_path);
        if (w->n > 0)
                qsort(w->v, w->n, sizeof *w->v, wentry_cmp);
        /* The same name twice: the last one added wins. */
        for (size_t i = 0; i < w->n; i++) {
                if (i + 1 < w->n && strcmp(w->v[i].name, w->v[i + 1].name) == 0) {
                        free(w->v[i].name);
                        free(w->v[i].src);
                        continue;
                }
                w->v[kept++] = w->v[i];
        }
        w->n = kept;
        if (compress_sink_new(w->fd, w->comp, w->threads, &w->sink, err) < 0)
                return hoist_error_wrap(err, "write layer '%s'", w->out_path);
        for (size_t i = 0; i < w->n; i++)
                if (write_entry(w, &w->v[i], err) < 0)
                        return hoist_error_wrap(err, "write layer '%s'", w->out_path);
        if (tar_out(w, end, sizeof end, err) < 0 || compress_sink_finish(w->sink, &res, err) < 0)
                return hoist_error_wrap(err, "write layer '%s'", w->out_path);
        /* A blob is content for anyone to read, whatever mkostemp gave. */
        if (fchmod(w->fd, 0644) < 0 || fsync(w->fd) < 0 || rename(w->tmp_path, w->out_path) < 0)
                return hoist_error_errno(err, "write layer '%s'", w->out_path);
        w->finished = 1;
        ret->digest = xstrdup(res.digest);
        ret->diff_id = xstrdup(res.diff_id);
        ret->size = res.size;
        ret->media_type = compression_media_type(w->comp);
        return 0;
}

/* ---- a layer from a directory tree ---- */

static int add_tree(struct layer_writer *w, const char *dir, const char *dest,
                    const struct layer_owner *owner, struct hoist_error **err)
{
        _cleanup_strv_ char **names = fs_list_dir(dir, err);

        if (names == NULL)
                return -1;
        for (char **p = names; *p != NULL; p++) {
                _cleanup_free_ char *path = path_join(dir, *p);
                _cleanup_free_ char *name = path_join(dest, *p);
                struct stat st;
                if (layer_writer_add_path(w, name, path, owner, err) < 0)
                        return -1;
                if (lstat(path, &st) < 0)
                        return hoist_error_errno(err, "stat '%s'", path);
                if (S_ISDIR(st.st_mode) && add_tree(w, path, name, owner, err) < 0)
                        return -1;
        }
        return 0;
}

int layer_write_dir(const char *dir, const char *dest_prefix, const struct layer_owner *owner,
                    enum compression c, int64_t epoch, const char *out_path, struct layer_info *ret,
                    struct hoist_error **err)
{
        _cleanup_layer_writer_ struct layer_writer *w = NULL;
        _cleanup_free_ char *dest = archive_name_normalize(dest_prefix ? dest_prefix : "/", 1);

        if (dest == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "layer destination '%s' is not a path inside the image",
                                        dest_prefix);
        if (!fs_is_dir(dir))
                return hoist_error_make(err, ENOTDIR, "layer from '%s'", dir);
        if (layer_writer_new(out_path, c, 0, epoch, &w, err) < 0)
                return -1;
        if (*dest != '\0') {
                for (char *s = strchr(dest, '/'); s != NULL; s = strchr(s + 1, '/')) {
                        *s = '\0';
                        writer_push(w, xstrdup(dest), NULL, W_DIR, NULL);
                        *s = '/';
                }
                if (layer_writer_add_path(w, dest, dir, owner, err) < 0)
                        return -1;
        }
        if (add_tree(w, dir, dest, owner, err) < 0 || layer_writer_finish(w, ret, err) < 0)
                return hoist_error_wrap(err, "layer from '%s'", dir);
        return 0;
}
