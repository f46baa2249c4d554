/* SPDX-License-Identifier: MIT */
/*
 * Storage v0: the file:// backend.  A key maps to ROOT/KEY; keys are checked
 * so that none can name a path outside ROOT, and every write goes through a
 * temporary file and rename so readers see whole objects only.
 */
#include "storage.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

struct storage {
        char *url;
        char *root; /* absolute directory */
};

int storage_key_check(const char *key, struct hoist_error **err)
{
        const char *seg = key;

        if (key == NULL || *key == '\0')
                return hoist_error_make(err, HOIST_ERR_INPUT, "storage key is empty");
        if (*key == '/')
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "storage key '%s' must be relative (no leading '/')", key);
        for (;;) {
                const char *end = strchrnul(seg, '/');
                size_t n = (size_t)(end - seg);

                if ((n == 0 && *end == '/') || (n == 1 && seg[0] == '.') ||
                    (n == 2 && seg[0] == '.' && seg[1] == '.'))
                        return hoist_error_make(
                                err, HOIST_ERR_INPUT,
                                "storage key '%s' has an empty, '.' or '..' segment", key);
                if (*end == '\0')
                        break;
                seg = end + 1;
                if (*seg == '\0') /* a trailing '/' names a prefix, not an object */
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "storage key '%s' ends with '/'", key);
        }
        for (const char *p = key; *p; p++)
                if ((unsigned char)*p < 0x20)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "storage key has a control character");
        return 0;
}

int storage_open(const char *url, struct storage **ret, struct hoist_error **err)
{
        struct storage *st;
        const char *path;

        if (url == NULL || strncmp(url, "file://", 7) != 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "storage '%s': only file:// URLs are supported by this "
                                        "build (for example file:///var/lib/hoist/storage)",
                                        url ? url : "(none)");
        path = url + 7;
        if (*path != '/')
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "storage '%s': a file:// URL needs an absolute path "
                                        "(file:///abs/dir)",
                                        url);
        if (fs_mkdir_p(path, 0755, err) < 0)
                return hoist_error_wrap(err, "storage '%s'", url);
        st = xzalloc(sizeof *st);
        st->url = xstrdup(url);
        st->root = xstrdup(path);
        *ret = st;
        return 0;
}

void storage_close(struct storage *st)
{
        if (st == NULL)
                return;
        free(st->url);
        free(st->root);
        free(st);
}

const char *storage_url(const struct storage *st)
{
        return st->url;
}

char *storage_local_path(const struct storage *st, const char *key)
{
        return path_join(st->root, key);
}

/* Checks KEY and makes sure the directory that will hold it exists. */
static char *object_path(struct storage *st, const char *key, int create_parent,
                         struct hoist_error **err)
{
        _cleanup_free_ char *path = NULL;

        if (storage_key_check(key, err) < 0)
                return NULL;
        path = path_join(st->root, key);
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

int storage_put_file(struct storage *st, const char *key, const char *src, struct hoist_error **err)
{
        _cleanup_free_ char *dst = object_path(st, key, 1, err);

        if (dst == NULL || fs_copy_file(src, dst, err) < 0)
                return hoist_error_wrap(err, "store '%s'", key);
        return 0;
}

int storage_put_bytes(struct storage *st, const char *key, const void *data, size_t len,
                      struct hoist_error **err)
{
        _cleanup_free_ char *dst = object_path(st, key, 1, err);

        if (dst == NULL || fs_write_file_atomic(dst, data, len, 0644, err) < 0)
                return hoist_error_wrap(err, "store '%s'", key);
        return 0;
}

int storage_get_file(struct storage *st, const char *key, const char *dst, struct hoist_error **err)
{
        _cleanup_free_ char *src = object_path(st, key, 0, err);

        if (src == NULL)
                return hoist_error_wrap(err, "fetch '%s'", key);
        if (!fs_exists(src))
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                        "fetch '%s': no such object in '%s'", key, st->url);
        if (fs_copy_file(src, dst, err) < 0)
                return hoist_error_wrap(err, "fetch '%s'", key);
        return 0;
}

int storage_get_bytes(struct storage *st, const char *key, char **ret_data, size_t *ret_len,
                      struct hoist_error **err)
{
        _cleanup_free_ char *src = object_path(st, key, 0, err);

        if (src == NULL)
                return hoist_error_wrap(err, "fetch '%s'", key);
        if (!fs_exists(src))
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                        "fetch '%s': no such object in '%s'", key, st->url);
        if (fs_read_file(src, ret_data, ret_len, err) < 0)
                return hoist_error_wrap(err, "fetch '%s'", key);
        return 0;
}

int storage_exists(struct storage *st, const char *key, uint64_t *ret_size,
                   struct hoist_error **err)
{
        _cleanup_free_ char *path = object_path(st, key, 0, err);
        struct stat s;

        if (path == NULL)
                return -1;
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

int storage_delete(struct storage *st, const char *key, struct hoist_error **err)
{
        _cleanup_free_ char *path = object_path(st, key, 0, err);

        if (path == NULL)
                return -1;
        if (unlink(path) < 0 && errno != ENOENT)
                return hoist_error_errno(err, "delete '%s'", key);
        return 0;
}

struct key_list {
        char **v;
        size_t n, cap;
};

static void key_list_add(struct key_list *l, char *key)
{
        if (l->n + 2 > l->cap) {
                l->cap = l->cap ? l->cap * 2 : 16;
                l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
        }
        l->v[l->n++] = key;
        l->v[l->n] = NULL;
}

/* Adds every regular file under DIR (whose key is REL) to L.  Temporary
 * files of unfinished writes are not objects. */
static int list_dir(const char *dir, const char *rel, struct key_list *l, struct hoist_error **err)
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
                if (r == 0 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
                    strstr(name, ".tmp.") == NULL) {
                        _cleanup_free_ char *path = path_join(dir, name);
                        char *key = *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);
                        struct stat s;
                        if (lstat(path, &s) == 0 && S_ISDIR(s.st_mode)) {
                                r = list_dir(path, key, l, err);
                                free(key);
                        } else if (lstat(path, &s) == 0 && S_ISREG(s.st_mode)) {
                                key_list_add(l, key);
                        } else {
                                free(key);
                        }
                }
                free(names[i]);
        }
        free(names);
        return r;
}

int storage_list(struct storage *st, const char *prefix, char ***ret_keys, struct hoist_error **err)
{
        struct key_list l = {0};
        _cleanup_free_ char *dir = NULL;
        _cleanup_free_ char *rel = xstrdup(prefix ? prefix : "");
        size_t rl = strlen(rel);

        while (rl > 0 && rel[rl - 1] == '/')
                rel[--rl] = '\0';
        if (rl > 0 && storage_key_check(rel, err) < 0)
                return -1;
        dir = rl > 0 ? path_join(st->root, rel) : xstrdup(st->root);
        if (list_dir(dir, rel, &l, err) < 0) {
                strv_free(l.v);
                return -1;
        }
        if (l.v == NULL)
                l.v = xcalloc(1, sizeof *l.v);
        *ret_keys = l.v;
        return 0;
}
