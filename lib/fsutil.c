/* SPDX-License-Identifier: MIT */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "xalloc.h"

char *path_join(const char *a, const char *b)
{
        size_t la = strlen(a);

        while (la > 1 && a[la - 1] == '/')
                la--;
        while (*b == '/')
                b++;
        if (*b == '\0')
                return xstrndup(a, la);
        if (la == 1 && a[0] == '/')
                return xasprintf("/%s", b);
        return xasprintf("%.*s/%s", (int)la, a, b);
}

char *path_clean_in_root(const char *path)
{
        _cleanup_free_ char *copy = xstrdup(path);
        struct buf out = {0};
        char *save = NULL;

        for (char *c = strtok_r(copy, "/", &save); c != NULL; c = strtok_r(NULL, "/", &save)) {
                if (strcmp(c, ".") == 0)
                        continue;
                if (strcmp(c, "..") == 0) {
                        char *up = out.len > 0 ? strrchr(out.data, '/') : NULL;
                        buf_truncate(&out, up != NULL ? (size_t)(up - out.data) : 0);
                        continue;
                }
                if (out.len > 0)
                        buf_append_char(&out, '/');
                buf_append_str(&out, c);
        }
        if (out.len == 0) {
                buf_free(&out); /* a ".." may have emptied what was there */
                return xstrdup("");
        }
        return buf_take(&out);
}

int fs_mkdir_p(const char *path, mode_t mode, struct hoist_error **err)
{
        _cleanup_free_ char *p = xstrdup(path);

        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return hoist_error_errno(err, "create directory '%s'", p);
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return hoist_error_errno(err, "create directory '%s'", p);
        if (!fs_is_dir(p))
                return hoist_error_make(err, ENOTDIR, "create directory '%s'", p);
        return 0;
}

int fs_read_fd(int fd, const char *name, size_t max, char **ret_data, size_t *ret_len,
               struct hoist_error **err)
{
        _cleanup_buf_ struct buf b = {0};

        for (;;) {
                buf_reserve(&b, 65536);
                ssize_t n = read(fd, b.data + b.len, b.cap - b.len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return hoist_error_errno(err, "read '%s'", name);
                }
                if (n == 0)
                        break;
                b.len += (size_t)n;
                if (b.len > max)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "'%s' is larger than %zu bytes", name, max);
        }
        if (ret_len)
                *ret_len = b.len;
        *ret_data = buf_take(&b);
        return 0;
}

int fs_read_file(const char *path, char **ret_data, size_t *ret_len, struct hoist_error **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return hoist_error_errno(err, "open '%s'", path);
        return fs_read_fd(fd, path, SIZE_MAX, ret_data, ret_len, err);
}

int fs_write_all(int fd, const void *data, size_t len)
{
        const char *p = data;

        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

static char *dir_of(const char *path)
{
        const char *slash = strrchr(path, '/');

        if (slash == NULL)
                return xstrdup(".");
        if (slash == path)
                return xstrdup("/");
        return xstrndup(path, (size_t)(slash - path));
}

int fs_fsync_dir(const char *dir, struct hoist_error **err)
{
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return hoist_error_errno(err, "open directory '%s'", dir);
        if (fsync(fd) < 0 && errno != EINVAL)
                return hoist_error_errno(err, "fsync directory '%s'", dir);
        return 0;
}

/* Opens a fresh temporary file beside PATH; *ret_tmp gets its name. */
static int open_temp_beside(const char *path, mode_t mode, char **ret_tmp, struct hoist_error **err)
{
        _cleanup_free_ char *tmp = xasprintf("%s.tmp.XXXXXX", path);
        int fd = mkostemp(tmp, O_CLOEXEC);

        if (fd < 0)
                return hoist_error_errno(err, "create temporary file beside '%s'", path);
        if (fchmod(fd, mode) < 0) {
                int e = errno;
                (void)close(fd);
                (void)unlink(tmp);
                return hoist_error_make(err, e, "chmod '%s'", tmp);
        }
        *ret_tmp = TAKE_PTR(tmp);
        return fd;
}

/* fsync + close FD, rename TMP over PATH, fsync the directory.  Removes TMP
 * on failure. */
static int commit_temp(int fd, char *tmp, const char *path, struct hoist_error **err)
{
        _cleanup_free_ char *dir = dir_of(path);

        if (fsync(fd) < 0) {
                int e = errno;
                (void)close(fd);
                (void)unlink(tmp);
                return hoist_error_make(err, e, "fsync '%s'", path);
        }
        if (close(fd) < 0) {
                int e = errno;
                (void)unlink(tmp);
                return hoist_error_make(err, e, "close '%s'", path);
        }
        if (rename(tmp, path) < 0) {
                int e = errno;
                (void)unlink(tmp);
                return hoist_error_make(err, e, "rename into '%s'", path);
        }
        return fs_fsync_dir(dir, err);
}

int fs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         struct hoist_error **err)
{
        _cleanup_free_ char *tmp = NULL;
        int fd = open_temp_beside(path, mode, &tmp, err);

        if (fd < 0)
                return -1;
        if (fs_write_all(fd, data, len) < 0) {
                int e = errno;
                (void)close(fd);
                (void)unlink(tmp);
                return hoist_error_make(err, e, "write '%s'", path);
        }
        return commit_temp(fd, tmp, path, err);
}

int fs_copy_file(const char *src, const char *dst, struct hoist_error **err)
{
        _cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *tmp = NULL;
        struct stat st;
        char chunk[1 << 16];
        int out;

        if (in < 0)
                return hoist_error_errno(err, "open '%s'", src);
        if (fstat(in, &st) < 0)
                return hoist_error_errno(err, "stat '%s'", src);
        out = open_temp_beside(dst, st.st_mode & 07777, &tmp, err);
        if (out < 0)
                return -1;
        for (;;) {
                ssize_t n = read(in, chunk, sizeof chunk);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || (n > 0 && fs_write_all(out, chunk, (size_t)n) < 0)) {
                        int e = errno;
                        (void)close(out);
                        (void)unlink(tmp);
                        return hoist_error_make(err, e, "copy '%s' to '%s'", src, dst);
                }
                if (n == 0)
                        break;
        }
        return commit_temp(out, tmp, dst, err);
}

int fs_copy_tree(const char *src, const char *dst, struct hoist_error **err)
{
        struct stat st;

        if (lstat(src, &st) < 0)
                return hoist_error_errno(err, "stat '%s'", src);
        if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlink(src, target, sizeof target - 1);
                if (n < 0)
                        return hoist_error_errno(err, "readlink '%s'", src);
                target[n] = '\0';
                (void)unlink(dst);
                if (symlink(target, dst) < 0)
                        return hoist_error_errno(err, "symlink '%s'", dst);
                return 0;
        }
        if (S_ISREG(st.st_mode))
                return fs_copy_file(src, dst, err);
        if (!S_ISDIR(st.st_mode))
                return 0; /* devices, fifos and sockets are not data */

        if (fs_mkdir_p(dst, st.st_mode & 07777, err) < 0)
                return -1;
        DIR *d = opendir(src);
        if (d == NULL)
                return hoist_error_errno(err, "open directory '%s'", src);
        struct dirent *de;
        int r = 0;
        while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                _cleanup_free_ char *s = path_join(src, de->d_name);
                _cleanup_free_ char *t = path_join(dst, de->d_name);
                r = fs_copy_tree(s, t, err);
                if (r < 0)
                        break;
        }
        (void)closedir(d);
        return r;
}

int fs_remove_tree(const char *path, struct hoist_error **err)
{
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : hoist_error_errno(err, "stat '%s'", path);
        if (S_ISDIR(st.st_mode)) {
                DIR *d = opendir(path);
                struct dirent *de;

                if (d == NULL)
                        return hoist_error_errno(err, "open directory '%s'", path);
                while ((de = readdir(d)) != NULL) {
                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        _cleanup_free_ char *s = path_join(path, de->d_name);
                        if (fs_remove_tree(s, err) < 0) {
                                (void)closedir(d);
                                return -1;
                        }
                }
                (void)closedir(d);
                if (rmdir(path) < 0)
                        return hoist_error_errno(err, "remove '%s'", path);
                return 0;
        }
        if (unlink(path) < 0 && errno != ENOENT)
                return hoist_error_errno(err, "remove '%s'", path);
        return 0;
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

long fs_count_dir(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        long n = 0;

        if (d == NULL)
                return -1;
        while ((de = readdir(d)) != NULL)
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        (void)closedir(d);
        return n;
}

char **fs_list_dir(const char *dir, struct hoist_error **err)
{
        DIR *d = opendir(dir);
        char **v = NULL;
        size_t n = 0, cap = 0;
        struct dirent *e;

        if (d == NULL) {
                hoist_error_errno(err, "list '%s'", dir);
                return NULL;
        }
        errno = 0;
        while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                if (n + 1 >= cap) {
                        cap = cap ? 2 * cap : 16;
                        v = xreallocarray(v, cap, sizeof *v);
                }
                v[n++] = xstrdup(e->d_name);
        }
        if (errno != 0) {
                int e2 = errno;
                (void)closedir(d);
                if (v != NULL) {
                        v[n] = NULL;
                        strv_free(v);
                }
                hoist_error_make(err, e2, "list '%s'", dir);
                return NULL;
        }
        (void)closedir(d);
        if (v == NULL)
                v = xcalloc(1, sizeof *v);
        else
                v[n] = NULL;
        qsort(v, n, sizeof *v, compare_names);
        return v;
}

int fs_is_dir(const char *path)
{
        struct stat st;

        return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int fs_exists(const char *path)
{
        struct stat st;

        return lstat(path, &st) == 0;
}

int fs_lock_file(const char *path, int exclusive, int wait_ms, int *ret_fd,
                 struct hoist_error **err)
{
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        const struct timespec tick = {0, 50 * 1000 * 1000};

        if (fd < 0)
                return hoist_error_errno(err, "open '%s'", path);
        for (int waited = 0; flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0;
             waited += 50) {
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return hoist_error_errno(err, "lock '%s'", path);
                if (wait_ms >= 0 && waited >= wait_ms)
                        return 0;
                (void)nanosleep(&tick, NULL);
        }
        *ret_fd = TAKE_FD(fd);
        return 1;
}

uint64_t fs_tree_size(const char *path)
{
        _cleanup_strv_ char **names = NULL;
        struct stat s;
        uint64_t total = 0;

        if (lstat(path, &s) < 0)
                return 0;
        if (!S_ISDIR(s.st_mode))
                return S_ISREG(s.st_mode) ? (uint64_t)s.st_size : 0;
        names = fs_list_dir(path, NULL);
        for (char **n = names; n != NULL && *n != NULL; n++) {
                _cleanup_free_ char *child = path_join(path, *n);
                total += fs_tree_size(child);
        }
        return total;
}
