/* SPDX-License-Identifier: MIT */
/*
 * The file:// storage backend: a key maps to ROOT/KEY.  Keys arrive checked
 * (lib/storage.c), so none can name a path outside ROOT; every write goes
 * through a temporary file and rename, so readers see whole objects only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "storage_backend.h"
#include "xalloc.h"

struct file_store {
        char *url;
        char *root; /* absolute directory */
};

static int file_check_url(const char *url, struct hoist_error **err)
{
        if (url[strlen("file://")] != '/')
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "storage '%s': a file:// URL needs an absolute path "
                                        "(file:///abs/dir)",
                                        url);
        return 0;
}

static int file_open(const char *url, const struct storage_options *opts, void **ret_impl,
                     struct hoist_error **err)
{
        const char *path = url + strlen("file://");
        struct file_store *fs;

        (void)opts;
        if (fs_mkdir_p(path, 0755, err) < 0)
                return hoist_error_wrap(err, "storage '%s'", url);
        fs = xzalloc(sizeof *fs);
        fs->url = xstrdup(url);
        fs->root = xstrdup(path);
        *ret_impl = fs;
        return 0;
}

static void file_close(void *impl)
{
        struct file_store *fs = impl;

        free(fs->url);
        free(fs->root);
        free(fs);
}

static char *file_local_path(const void *impl, const char *key)
{
        const struct file_store *fs = impl;

        return path_join(fs->root, key);
}

/* The path of KEY, creating the directory that will hold it when asked. */
static char *object_path(struct file_store *fs, const char *key, int create_parent,
                         struct hoist_error **err)
{
        _cleanup_free_ char *path = path_join(fs->root, key);

        if (create_parent) {
                char *slash = strrchr(path, '/');
                *slash = '\0';
                int r = fs_mkdir_p(path, 0755, err);
                *slash = '/';
                if (r < 0)
                        return NULL;
        }
        return TAKE_PTR(path);
}

static int file_put_file(void *impl, const char *key, const char *src, struct hoist_error **err)
{
        _cleanup_free_ char *dst = object_path(impl, key, 1, err);

        if (dst == NULL || fs_copy_file(src, dst, err) < 0)
                return -1;
        return 0;
}

static int file_put_bytes(void *impl, const char *key, const void *data, size_t len,
                          struct hoist_error **err)
{
        _cleanup_free_ char *dst = object_path(impl, key, 1, err);

        if (dst == NULL || fs_write_file_atomic(dst, data, len, 0644, err) < 0)
                return -1;
        return 0;
}

/* The path of an existing object, or NULL with a not-found error. */
static char *existing_path(struct file_store *fs, const char *key, struct hoist_error **err)
{
        _cleanup_free_ char *path = object_path(fs, key, 0, err);

        if (!fs_exists(path)) {
                hoist_error_make(err, HOIST_ERR_NOT_FOUND, "no such object in '%s'", fs->url);
                return NULL;
        }
        return TAKE_PTR(path);
}

static int file_get_file(void *impl, const char *key, const char *dst, struct hoist_error **err)
{
        _cleanup_free_ char *src = existing_path(impl, key, err);

        return src == NULL ? -1 : fs_copy_file(src, dst, err);
}

static int file_get_bytes(void *impl, const char *key, char **ret_data, size_t *ret_len,
                          struct hoist_error **err)
{
        _cleanup_free_ char *src = existing_path(impl, key, err);

        return src == NULL ? -1 : fs_read_file(src, ret_data, ret_len, err);
}

static int file_exists(void *impl, const char *key, uint64_t *ret_size, struct hoist_error **err)
{
        _cleanup_free_ char *path = object_path(impl, key, 0, err);
        struct stat s;

        if (stat(path, &s) < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;
                return hoist_error_errno(err, "stat '%s'", key);
        }
        if (!S_ISREG(s.st_mode))
                return 0;
        if (ret_size)
                *ret_size = (uint64_t)s.st_size;
        return 1;
}

static int file_delete(void *impl, const char *key, struct hoist_error **err)
{
        _cleanup_free_ char *path = object_path(impl, key, 0, err);

        if (unlink(path) < 0 && errno != ENOENT)
                return hoist_error_errno(err, "delete '%s'", key);
        return 0;
}

struct entry_list {
        struct storage_entry *v;
        size_t n, cap;
};

static void entry_list_add(struct entry_list *l, char *key, const struct stat *s)
{
        if (l->n == l->cap) {
                l->cap = l->cap ? l->cap * 2 : 16;
                l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
        }
        l->v[l->n++] = (struct storage_entry){
                .key = key, .size = (uint64_t)s->st_size, .mtime_s = (int64_t)s->st_mtime};
}

/* A temporary file of a write (fs_write_file_atomic, fs_copy_file, the tar
 * writer): "NAME.tmp.XXXXXX".  It is an object only once renamed. */
static int is_temp_name(const char *name)
{
        return strstr(name, ".tmp.") != NULL;
}

/* Adds every regular file under DIR (whose key is REL) to L: the objects, or
 * with PARTIALS the temporary files of unfinished writes instead. */
static int list_dir(const char *dir, const char *rel, int partials, struct entry_list *l,
                    struct hoist_error **err)
{
        struct dirent **names;
        int n = scandir(dir, &names, NULL, alphasort);
        int r = 0;

        if (n < 0)
                return errno == ENOENT || errno == ENOTDIR
                               ? 0
                               : hoist_error_errno(err, "list '%s'", dir);
        for (int i = 0; i < n; i++) {
                const char *name = names[i]->d_name;
                if (r == 0 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
                        _cleanup_free_ char *path = path_join(dir, name);
                        char *key = *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);
                        struct stat s;
                        if (lstat(path, &s) < 0) {
                                free(key); /* gone meanwhile */
                        } else if (S_ISDIR(s.st_mode)) {
                                r = list_dir(path, key, partials, l, err);
                                free(key);
                        } else if (S_ISREG(s.st_mode) && is_temp_name(name) == partials) {
                                entry_list_add(l, key, &s);
                        } else {
                                free(key);
                        }
                }
                free(names[i]);
        }
        free(names);
        return r;
}

static int file_list_entries(void *impl, const char *prefix, struct storage_entry **ret,
                             size_t *ret_n, struct hoist_error **err)
{
        struct file_store *fs = impl;
        struct entry_list l = {0};
        _cleanup_free_ char *dir = *prefix ? path_join(fs->root, prefix) : xstrdup(fs->root);

        if (list_dir(dir, prefix, 0, &l, err) < 0) {
                storage_entries_free(l.v, l.n);
                return -1;
        }
        *ret = l.v;
        *ret_n = l.n;
        return 0;
}

static int file_list_partials(void *impl, struct storage_partial **ret, size_t *ret_n,
                              struct hoist_error **err)
{
        struct file_store *fs = impl;
        struct entry_list l = {0};
        struct storage_partial *p;

        if (list_dir(fs->root, "", 1, &l, err) < 0) {
                storage_entries_free(l.v, l.n);
                return -1;
        }
        p = xcalloc(l.n ? l.n : 1, sizeof *p);
        for (size_t i = 0; i < l.n; i++) {
                p[i].key = l.v[i].key;
                l.v[i].key = NULL;
                p[i].size = l.v[i].size;
                p[i].start_s = l.v[i].mtime_s;
        }
        *ret_n = l.n;
        storage_entries_free(l.v, l.n);
        *ret = p;
        return 0;
}

static int file_abort_partial(void *impl, const struct storage_partial *p, struct hoist_error **err)
{
        const char *base = strrchr(p->key, '/');

        if (!is_temp_name(base ? base + 1 : p->key))
                return hoist_error_make(err, HOIST_ERR_INPUT, "'%s' is not a temporary file",
                                        p->key);
        return file_delete(impl, p->key, err);
}

#define READ_CHUNK (1u << 20)

static int file_read_range(struct file_store *s, const struct storage_range *r, char *chunk,
                           struct hoist_error **err)
{
        _cleanup_free_ char *path = path_join(s->root, r->key);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        uint64_t pos = 0;

        if (fd < 0)
                return hoist_error_errno(err, "read '%s'", r->key);
        while (pos < r->length) {
                size_t want = r->length - pos < READ_CHUNK ? (size_t)(r->length - pos) : READ_CHUNK;
                ssize_t n = pread(fd, chunk, want, (off_t)(r->offset + pos));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return hoist_error_errno(err, "read '%s'", r->key);
                if (n == 0)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "read '%s': the range ends past the object",
                                                r->key);
                if (r->sink(r->userdata, pos, chunk, (size_t)n) != 0)
                        return hoist_error_make(err, ECANCELED, "read '%s'", r->key);
                pos += (uint64_t)n;
        }
        return 0;
}

static int file_read_ranges(void *impl, const struct storage_range *ranges, size_t n,
                            struct hoist_error **err)
{
        _cleanup_free_ char *chunk = xmalloc(READ_CHUNK);

        for (size_t i = 0; i < n; i++)
                if (file_read_range(impl, &ranges[i], chunk, err) < 0)
                        return -1;
        return 0;
}

const struct storage_ops storage_file_ops = {
        .scheme = "file://",
        .check_url = file_check_url,
        .open = file_open,
        .close = file_close,
        .put_file = file_put_file,
        .put_bytes = file_put_bytes,
        .get_file = file_get_file,
        .get_bytes = file_get_bytes,
        .read_ranges = file_read_ranges,
        .exists = file_exists,
        .delete = file_delete,
        .list_entries = file_list_entries,
        .list_partials = file_list_partials,
        .abort_partial = file_abort_partial,
        .local_path = file_local_path,
};
