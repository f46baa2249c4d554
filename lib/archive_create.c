/* SPDX-License-Identifier: MIT */
/*
 * Reproducible tar creation with libarchive (archive.h).  Kept apart from
 * extraction: libarchive's writer pulls in its whole format table (and with
 * it libxml2 and ICU), which hoist-entrypoint, a reader only, must not load.
 */
#include "archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "xalloc.h"

struct tar_sink {
        int fd;
        struct digest_ctx *digest;
        uint64_t size;
        int error; /* errno of a failed write */
};

static la_ssize_t sink_write(struct archive *a, void *opaque, const void *data, size_t len)
{
        struct tar_sink *s = opaque;

        if (fs_write_all(s->fd, data, len) < 0) {
                s->error = errno;
                archive_set_error(a, errno, "write: %s", strerror(errno));
                return -1;
        }
        digest_update(s->digest, data, len);
        s->size += len;
        return (la_ssize_t)len;
}

int64_t archive_source_date_epoch(void)
{
        const char *sde = getenv("SOURCE_DATE_EPOCH");
        char *end;
        long long v;

        if (sde == NULL || *sde == '\0')
                return 0;
        errno = 0;
        v = strtoll(sde, &end, 10);
        if (errno != 0 || *end != '\0' || v < 0)
                return 0;
        return v;
}

static int add_file_data(struct archive *a, const char *path, const char *rel,
                         struct hoist_error **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        char chunk[1 << 16];

        if (fd < 0)
                return hoist_error_errno(err, "open '%s'", path);
        for (;;) {
                ssize_t n = read(fd, chunk, sizeof chunk);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return hoist_error_errno(err, "read '%s'", path);
                if (n == 0)
                        return 0;
                if (archive_write_data(a, chunk, (size_t)n) != n)
                        return hoist_error_make(err, HOIST_ERR_INPUT, "write '%s' to the tar: %s",
                                                rel, archive_error_string(a));
        }
}

/* The tree being archived (or only checked, when A is NULL). */
struct tree_walk {
        struct archive *a;
        int rootfd; /* SRC_DIR: where link targets are resolved */
        int64_t max_mtime;
        archive_filter_fn filter; /* NULL: every entry */
        void *userdata;
};

/* Reads the target of the symlink PATH (REL inside the tree) into TARGET
 * and refuses it when extraction would. */
static int check_link(const struct tree_walk *w, const char *path, const char *rel,
                      char target[PATH_MAX], struct hoist_error **err)
{
        ssize_t len = readlink(path, target, PATH_MAX - 1);

        if (len < 0)
                return hoist_error_errno(err, "readlink '%s'", path);
        target[len] = '\0';
        if (!archive_symlink_inside(w->rootfd, rel, target))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "symlink '%s' -> '%s' leads outside the directory, and "
                                        "hoist-entrypoint refuses such links (point it inside, "
                                        "or replace it with a copy of what it points to)",
                                        rel, target);
        return 0;
}

static int add_entry(const struct tree_walk *w, const char *path, const char *rel,
                     const struct stat *st, const char *target, struct hoist_error **err)
{
        struct archive_entry *e = archive_entry_new();
        int r = 0;

        archive_entry_set_pathname(e, rel);
        archive_entry_set_mode(e, st->st_mode & (S_IFMT | 07777));
        archive_entry_set_mtime(e, st->st_mtime < w->max_mtime ? st->st_mtime : w->max_mtime, 0);
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        if (S_ISREG(st->st_mode))
                archive_entry_set_size(e, st->st_size);
        if (target != NULL)
                archive_entry_set_symlink(e, target);
        if (archive_write_header(w->a, e) < ARCHIVE_WARN)
                r = hoist_error_make(err, HOIST_ERR_INPUT, "add '%s' to the tar: %s", rel,
                                     archive_error_string(w->a));
        else if (S_ISREG(st->st_mode))
                r = add_file_data(w->a, path, rel, err);
        archive_entry_free(e);
        return r;
}

static int add_tree(const struct tree_walk *w, const char *dir, const char *rel,
                    struct hoist_error **err)
{
        _cleanup_strv_ char **names = fs_list_dir(dir, err);
        int r = 0;

        if (names == NULL)
                return -1;
        for (char **p = names; r == 0 && *p != NULL; p++) {
                const char *name = *p;
                _cleanup_free_ char *path = path_join(dir, name);
                _cleanup_free_ char *sub = *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);
                char target[PATH_MAX];
                struct stat st;
                if (lstat(path, &st) < 0) {
                        r = hoist_error_errno(err, "stat '%s'", path);
                        continue;
                }
                if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode))
                        continue; /* devices, fifos and sockets are not data */
                if (w->filter != NULL) {
                        r = w->filter(w->userdata, sub, &st, err);
                        if (r <= 0)
                                continue; /* left out (0), or the error ends the loop */
                        r = 0;
                }
                if (S_ISLNK(st.st_mode))
                        r = check_link(w, path, sub, target, err);
                if (r == 0 && w->a != NULL)
                        r = add_entry(w, path, sub, &st, S_ISLNK(st.st_mode) ? target : NULL, err);
                if (r == 0 && S_ISDIR(st.st_mode))
                        r = add_tree(w, path, sub, err);
        }
        return r;
}

int archive_check_tree_filtered(const char *src_dir, archive_filter_fn filter, void *userdata,
                                struct hoist_error **err)
{
        _cleanup_close_ int rootfd = open(src_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct tree_walk w = {.a = NULL, .rootfd = rootfd, .filter = filter, .userdata = userdata};

        if (rootfd < 0)
                return hoist_error_errno(err, "open directory '%s'", src_dir);
        return add_tree(&w, src_dir, "", err);
}

int archive_check_tree(const char *src_dir, struct hoist_error **err)
{
        return archive_check_tree_filtered(src_dir, NULL, NULL, err);
}

int archive_create_tar_filtered(const char *src_dir, archive_filter_fn filter, void *userdata,
                                const char *dst_path, char ret_hex[65], uint64_t *ret_size,
                                struct hoist_error **err)
{
        _cleanup_free_ char *tmp = xasprintf("%s.tmp.XXXXXX", dst_path);
        struct tar_sink sink = {.fd = -1};
        _cleanup_close_ int rootfd = -1;
        struct tree_walk w = {
                .max_mtime = archive_source_date_epoch(), .filter = filter, .userdata = userdata};
        struct archive *a;
        char hex[DIGEST_HEX_LEN + 1];
        int r;

        if (!fs_is_dir(src_dir))
                return hoist_error_make(err, ENOTDIR, "create tar of '%s'", src_dir);
        rootfd = open(src_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return hoist_error_errno(err, "open directory '%s'", src_dir);
        sink.fd = mkostemp(tmp, O_CLOEXEC);
        if (sink.fd < 0)
                return hoist_error_errno(err, "create temporary file beside '%s'", dst_path);
        sink.digest = digest_new();
        a = archive_write_new();
        /* pax_restricted is ustar unless an entry needs more (long names, big
         * sizes), so it carries no per-run extended headers. */
        archive_write_set_format_pax_restricted(a);
        archive_write_add_filter_none(a);
        r = archive_write_open(a, &sink, NULL, sink_write, NULL) == ARCHIVE_OK ? 0 : -1;
        if (r < 0)
                hoist_error_make(err, HOIST_ERR_INPUT, "open '%s': %s", dst_path,
                                 archive_error_string(a));
        w.a = a;
        w.rootfd = rootfd;
        if (r == 0)
                r = add_tree(&w, src_dir, "", err);
        if (r == 0 && archive_write_close(a) != ARCHIVE_OK)
                r = hoist_error_make(err, sink.error ? sink.error : HOIST_ERR_INPUT, "write '%s'",
                                     dst_path);
        archive_write_free(a);
        digest_final_hex(sink.digest, hex);
        if (r == 0 && (fsync(sink.fd) < 0 || rename(tmp, dst_path) < 0))
                r = hoist_error_errno(err, "write '%s'", dst_path);
        (void)close(sink.fd);
        if (r < 0) {
                (void)unlink(tmp);
                return hoist_error_wrap(err, "create tar of '%s'", src_dir);
        }
        memcpy(ret_hex, hex, sizeof hex);
        if (ret_size)
                *ret_size = sink.size;
        return 0;
}

int archive_create_tar(const char *src_dir, const char *dst_path, char ret_hex[65],
                       uint64_t *ret_size, struct hoist_error **err)
{
        return archive_create_tar_filtered(src_dir, NULL, NULL, dst_path, ret_hex, ret_size, err);
}
