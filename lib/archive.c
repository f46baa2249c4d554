/* SPDX-License-Identifier: MIT */
/*
 * Archives with libarchive.
 *
 * Extraction treats every archive as hostile.  Each entry is checked before
 * it reaches the disk (absolute names, "..", device nodes, links whose target
 * leaves the root, paths that go through a symlink), and libarchive's own
 * SECURE_* checks run underneath as a second fence.  Everything is extracted
 * into a fresh directory inside ROOT and only moved into place when the whole
 * archive was accepted, so a refused archive leaves nothing behind.
 *
 * libarchive resolves entry names against the working directory, and its
 * NOABSOLUTEPATHS check needs relative names, so extraction chdir()s into
 * the staging directory and back (like bsdtar -C).  That is process-wide
 * state: callers must not extract from two threads at once.
 */
#include "archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "log.h"
#include "xalloc.h"

#define MAX_LINK_HOPS 40

/* ---------------------------------------------------------------- names -- */

char *archive_name_normalize(const char *name, int allow_abs)
{
        _cleanup_buf_ struct buf b = {0};
        const char *p = name;

        if (*p == '/' && !allow_abs)
                return NULL;
        while (*p) {
                const char *end = strchrnul(p, '/');
                size_t n = (size_t)(end - p);

                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return NULL;
                if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (b.len > 0)
                                buf_append_char(&b, '/');
                        buf_append(&b, p, n);
                }
                p = *end ? end + 1 : end;
        }
        return buf_take(&b);
}

/* A component stack for resolving link targets inside the root. */
struct comps {
        char **v;
        size_t n, cap;
};

static void comps_push(struct comps *c, const char *s, size_t n)
{
        if (c->n == c->cap) {
                c->cap = c->cap ? c->cap * 2 : 16;
                c->v = xreallocarray(c->v, c->cap, sizeof *c->v);
        }
        c->v[c->n++] = xstrndup(s, n);
}

static void comps_pop(struct comps *c)
{
        free(c->v[--c->n]);
}

static void comps_free(struct comps *c)
{
        while (c->n > 0)
                comps_pop(c);
        free(c->v);
}

static char *comps_join(const struct comps *c)
{
        struct buf b = {0};

        for (size_t i = 0; i < c->n; i++) {
                if (i > 0)
                        buf_append_char(&b, '/');
                buf_append_str(&b, c->v[i]);
        }
        return buf_take(&b);
}

/* Pushes the components of PATH onto STACK, "a/b" becoming [.., b, a]
 * so that the first component is on top. */
static void todo_push_path(struct comps *todo, const char *path)
{
        size_t len = strlen(path);
        const char *end = path + len;

        while (end > path) {
                const char *start = end;
                while (start > path && start[-1] != '/')
                        start--;
                if (end > start)
                        comps_push(todo, start, (size_t)(end - start));
                end = start > path ? start - 1 : start;
        }
}

/*
 * Resolves TARGET, the target of a symlink inside directory LINK_DIR (both
 * relative to the directory DIRFD), following symlinks already on disk and
 * treating missing components lexically.  Returns 0 when every step stays
 * inside DIRFD, -1 when the target is absolute, climbs above the root, or
 * loops.  Following what is on disk matters: "b -> a/l/.." is harmless
 * lexically but escapes once "a/l -> .." exists.
 *
 * *RET_UNSURE is set when a ".." stepped back over a component that does
 * not exist (yet): a link created there later would change the answer, so
 * an extraction in progress leaves that verdict to its final check.
 */
static int link_resolve(int dirfd, const char *link_dir, const char *target, bool *ret_unsure)
{
        struct comps cur = {0}, todo = {0};
        /* cur.v[first_missing] and all below it were not on disk */
        size_t first_missing = SIZE_MAX;
        int hops = 0, r = 0;

        *ret_unsure = false;
        if (target[0] == '/' || target[0] == '\0')
                return -1;
        todo_push_path(&todo, target);
        todo_push_path(&cur, link_dir);
        /* todo_push_path reverses; cur must read root-first. */
        for (size_t i = 0; i < cur.n / 2; i++) {
                char *t = cur.v[i];
                cur.v[i] = cur.v[cur.n - 1 - i];
                cur.v[cur.n - 1 - i] = t;
        }
        while (r == 0 && todo.n > 0) {
                char *c = todo.v[--todo.n];

                if (strcmp(c, ".") == 0) {
                        free(c);
                        continue;
                }
                if (strcmp(c, "..") == 0) {
                        free(c);
                        if (cur.n == 0) {
                                r = -1;
                                continue;
                        }
                        comps_pop(&cur);
                        if (first_missing != SIZE_MAX && cur.n >= first_missing) {
                                *ret_unsure = true;
                                if (cur.n == first_missing)
                                        first_missing = SIZE_MAX;
                        }
                        continue;
                }
                comps_push(&cur, c, strlen(c));
                free(c);
                if (first_missing != SIZE_MAX)
                        continue; /* nothing exists below a missing name */

                _cleanup_free_ char *path = comps_join(&cur);
                struct stat st;
                if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        first_missing = cur.n - 1;
                        continue;
                }
                if (!S_ISLNK(st.st_mode))
                        continue;
                char next[PATH_MAX];
                ssize_t n = readlinkat(dirfd, path, next, sizeof next - 1);
                if (n <= 0 || ++hops > MAX_LINK_HOPS || next[0] == '/') {
                        r = -1;
                        break;
                }
                next[n] = '\0';
                comps_pop(&cur); /* the link's own directory is the base */
                todo_push_path(&todo, next);
        }
        comps_free(&cur);
        comps_free(&todo);
        return r;
}

static char *dir_part(const char *name)
{
        const char *slash = strrchr(name, '/');

        return slash ? xstrndup(name, (size_t)(slash - name)) : xstrdup("");
}

int archive_symlink_inside(int dirfd, const char *name, const char *target)
{
        _cleanup_free_ char *dir = dir_part(name);
        bool unsure;

        return link_resolve(dirfd, dir, target, &unsure) == 0;
}

/* The first proper prefix of NAME that is a symlink on disk, or NULL. */
static char *symlink_on_path(int dirfd, const char *name)
{
        _cleanup_free_ char *p = xstrdup(name);

        for (char *s = strchr(p, '/'); s != NULL; s = strchr(s + 1, '/')) {
                struct stat st;
                *s = '\0';
                if (fstatat(dirfd, p, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        *s = '/';
                        return NULL; /* nothing deeper exists either */
                }
                if (S_ISLNK(st.st_mode))
                        return xstrdup(p);
                *s = '/';
        }
        return NULL;
}

/* ----------------------------------------------------------- extraction -- */

struct extract {
        const char *label;  /* "archive 'x.tar'" */
        int dirfd;          /* the staging directory */
        struct comps links; /* symlinks and hard links so far, checked again at the end */
        uint64_t limit;     /* bytes the entries may expand to; 0: no limit */
        uint64_t written;   /* bytes of file data so far */
};

static int refuse(struct hoist_error **err, const struct extract *x, const char *name,
                  const char *why)
{
        return hoist_error_make(err, HOIST_ERR_INPUT, "%s: entry '%s' %s; refusing", x->label, name,
                                why);
}

/* Checks ENTRY and rewrites its names to their normal form.  Returns 1 to
 * extract it, 0 to skip it (the root directory itself), -1 to refuse. */
static int entry_check(struct extract *x, struct archive_entry *entry, struct hoist_error **err)
{
        const char *raw = archive_entry_pathname(entry);
        const char *hardlink = archive_entry_hardlink(entry);
        mode_t type = archive_entry_filetype(entry);
        _cleanup_free_ char *name = NULL;
        _cleanup_free_ char *through = NULL;

        if (raw == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "%s: an entry has no name", x->label);
        name = archive_name_normalize(raw, 0);
        if (name == NULL)
                return refuse(err, x, raw, "escapes the extraction root");
        if (name[0] == '\0')
                return type == AE_IFDIR ? 0 : refuse(err, x, raw, "has an empty name");
        if (hardlink == NULL && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
                return refuse(err, x, raw,
                              type == AE_IFIFO                       ? "is a fifo"
                              : type == AE_IFSOCK                    ? "is a socket"
                              : type == AE_IFCHR || type == AE_IFBLK ? "is a device node"
                                                                     : "has an unknown file type");
        through = symlink_on_path(x->dirfd, name);
        if (through != NULL) {
                _cleanup_free_ char *why = xasprintf("goes through the symlink '%s'", through);
                return refuse(err, x, raw, why);
        }
        if (hardlink != NULL) {
                _cleanup_free_ char *target = archive_name_normalize(hardlink, 0);
                _cleanup_free_ char *target_through = NULL;
                if (target == NULL || target[0] == '\0')
                        return refuse(err, x, raw,
                                      "is a hard link that escapes the extraction root");
                target_through = symlink_on_path(x->dirfd, target);
                if (target_through != NULL)
                        return refuse(err, x, raw, "is a hard link through a symlink");
                archive_entry_set_hardlink(entry, target);
                /* A hard link to a symlink is a symlink: check it at the end. */
                comps_push(&x->links, name, strlen(name));
        } else if (type == AE_IFLNK) {
                const char *target = archive_entry_symlink(entry);
                _cleanup_free_ char *dir = dir_part(name);
                bool unsure = false;
                /* Refuse now what no later entry can make safe; the final
                 * check, on the whole tree, decides the rest. */
                if (target == NULL || (link_resolve(x->dirfd, dir, target, &unsure) < 0 && !unsure))
                        return refuse(err, x, raw, "is a symlink that escapes the extraction root");
                comps_push(&x->links, name, strlen(name));
        }
        archive_entry_set_pathname(entry, name);
        /* Never keep setuid/setgid: the extracting user would hand them out. */
        archive_entry_set_perm(entry, archive_entry_perm(entry) & 01777);
        archive_entry_set_uid(entry, 0);
        archive_entry_set_gid(entry, 0);
        archive_entry_set_uname(entry, NULL);
        archive_entry_set_gname(entry, NULL);
        return 1;
}

static int over_limit(const struct extract *x, struct hoist_error **err)
{
        return hoist_error_make(err, EFBIG,
                                "%s expands to more than its limit of %" PRIu64 " bytes; refusing",
                                x->label, x->limit);
}

static int copy_data(struct archive *in, struct archive *out, struct extract *x, const char *name,
                     struct hoist_error **err)
{
        uint64_t start = x->written, end = x->written;

        for (;;) {
                const void *block;
                size_t size;
                la_int64_t offset;
                int r = archive_read_data_block(in, &block, &size, &offset);

                if (r == ARCHIVE_EOF)
                        return 0;
                if (r < ARCHIVE_WARN)
                        return hoist_error_make(err, HOIST_ERR_INPUT, "%s: read '%s': %s", x->label,
                                                name, archive_error_string(in));
                /* Counted as the bytes it covers on disk, holes included, so a
                 * sparse entry cannot slip a huge file past the limit. */
                if (offset >= 0 && start + (uint64_t)offset + size > end)
                        end = start + (uint64_t)offset + size;
                if (x->limit != 0 && end > x->limit)
                        return over_limit(x, err);
                x->written = end;
                if (archive_write_data_block(out, block, size, offset) < ARCHIVE_WARN)
                        return hoist_error_make(err, HOIST_ERR_INPUT, "%s: write '%s': %s",
                                                x->label, name, archive_error_string(out));
        }
}

static int extract_entries(struct archive *in, struct extract *x, struct hoist_error **err)
{
        _cleanup_archive_write_ struct archive *out = archive_write_disk_new();
        struct archive_entry *entry;
        int r;

        /* No ARCHIVE_EXTRACT_OWNER: files belong to whoever extracts them. */
        archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                                    ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                    ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
        while ((r = archive_read_next_header(in, &entry)) != ARCHIVE_EOF) {
                if (r < ARCHIVE_WARN)
                        return hoist_error_make(err, HOIST_ERR_INPUT, "%s: %s", x->label,
                                                archive_error_string(in));
                _cleanup_free_ char *raw = xstrdup(archive_entry_pathname(entry));
                int ok = entry_check(x, entry, err);
                if (ok < 0)
                        return -1;
                if (ok == 0)
                        continue;
                /* The size the header declares: refused before a byte of it
                 * is written. */
                if (x->limit != 0 && archive_entry_size_is_set(entry) &&
                    archive_entry_size(entry) > 0 &&
                    x->written + (uint64_t)archive_entry_size(entry) > x->limit)
                        return over_limit(x, err);
                if (archive_write_header(out, entry) < ARCHIVE_WARN)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "%s: entry '%s': %s; refusing", x->label,
                                                raw ? raw : "", archive_error_string(out));
                if (archive_entry_size(entry) > 0 && copy_data(in, out, x, raw, err) < 0)
                        return -1;
                if (archive_write_finish_entry(out) < ARCHIVE_WARN)
                        return hoist_error_make(err, HOIST_ERR_INPUT, "%s: entry '%s': %s",
                                                x->label, raw, archive_error_string(out));
        }
        if (archive_write_close(out) < ARCHIVE_WARN)
                return hoist_error_make(err, HOIST_ERR_INPUT, "%s: %s", x->label,
                                        archive_error_string(out));
        /* A later entry can change where an earlier link leads.  This is
         * the rule archive_check_tree() applies before a tree is sent. */
        for (size_t i = 0; i < x->links.n; i++) {
                const char *name = x->links.v[i];
                char target[PATH_MAX];
                ssize_t n = readlinkat(x->dirfd, name, target, sizeof target - 1);
                if (n < 0)
                        continue; /* not a symlink (any more); checked as what it is */
                target[n] = '\0';
                if (!archive_symlink_inside(x->dirfd, name, target))
                        return refuse(err, x, name,
                                      "is a symlink that escapes the extraction root");
        }
        return 0;
}

/* Moves every entry of SRC into DST, merging directories. */
static int move_into(const char *src, const char *dst, struct hoist_error **err)
{
        _cleanup_strv_ char **names = fs_list_dir(src, err);

        if (names == NULL)
                return -1;
        for (char **p = names; *p != NULL; p++) {
                _cleanup_free_ char *s = path_join(src, *p);
                _cleanup_free_ char *d = path_join(dst, *p);
                struct stat ss, ds;
                if (lstat(d, &ds) == 0) {
                        if (lstat(s, &ss) == 0 && S_ISDIR(ss.st_mode) && S_ISDIR(ds.st_mode)) {
                                if (move_into(s, d, err) < 0)
                                        return -1;
                                continue;
                        }
                        if (fs_remove_tree(d, err) < 0)
                                return -1;
                }
                if (rename(s, d) < 0)
                        return hoist_error_errno(err, "move '%s' into '%s'", *p, dst);
        }
        return 0;
}

static void restore_cwd(int *fd)
{
        if (*fd >= 0) {
                if (fchdir(*fd) < 0)
                        log_debug("archive: cannot return to the working directory: %m");
                (void)close(*fd);
        }
}

static int extract_into(struct archive *in, const char *label, const char *root, uint64_t limit,
                        struct hoist_error **err)
{
        _cleanup_free_ char *staging = path_join(root, ".hoist-extract-XXXXXX");
        struct extract x = {.label = label, .dirfd = -1, .limit = limit};
        int r;

        if (!fs_is_dir(root))
                return hoist_error_make(err, ENOTDIR, "%s: extraction root '%s'", label, root);
        if (mkdtemp(staging) == NULL)
                return hoist_error_errno(err, "%s: create a staging directory in '%s'", label,
                                         root);
        x.dirfd = open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (x.dirfd < 0) {
                r = hoist_error_errno(err, "%s: open '%s'", label, staging);
        } else {
                __attribute__((cleanup(restore_cwd))) int cwd =
                        open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (cwd < 0 || fchdir(x.dirfd) < 0)
                        r = hoist_error_errno(err, "%s: enter '%s'", label, staging);
                else
                        r = extract_entries(in, &x, err);
        }
        if (x.dirfd >= 0)
                (void)close(x.dirfd);
        comps_free(&x.links);
        if (r == 0)
                r = move_into(staging, root, err);
        if (fs_remove_tree(staging, r < 0 ? NULL : err) < 0 && r == 0)
                r = -1;
        return r;
}

static struct archive *reader_new(void)
{
        struct archive *a = archive_read_new();

        /* Compression is detected from content; only tar and zip are
         * accepted as formats ("raw" would take any file as an archive). */
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
        archive_read_support_format_zip(a);
        return a;
}

int archive_extract_file(const char *path, const char *root, struct hoist_error **err)
{
        return archive_extract_file_limit(path, root, 0, err);
}

int archive_extract_file_limit(const char *path, const char *root, uint64_t limit,
                               struct hoist_error **err)
{
        _cleanup_archive_read_ struct archive *a = reader_new();
        _cleanup_free_ char *label = xasprintf("archive '%s'", path);

        if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK)
                return hoist_error_make(err, HOIST_ERR_INPUT, "%s: %s", label,
                                        archive_error_string(a));
        return extract_into(a, label, root, limit, err);
}

int archive_extract_memory(const void *data, size_t len, const char *root, struct hoist_error **err)
{
        _cleanup_archive_read_ struct archive *a = reader_new();
        const char *label = "archive '<memory>'";

        if (archive_read_open_memory(a, data, len) != ARCHIVE_OK)
                return hoist_error_make(err, HOIST_ERR_INPUT, "%s: %s", label,
                                        archive_error_string(a));
        return extract_into(a, label, root, 0, err);
}

/* ---------------------------------------------------------------- sniff -- */

int archive_is_archive(const char *path)
{
        static const struct {
                size_t off, len;
                const char *magic;
        } sigs[] = {
                {0, 2, "\x1f\x8b"},                 /* gzip */
                {0, 4, "\x28\xb5\x2f\xfd"},         /* zstd */
                {0, 3, "BZh"},                      /* bzip2 */
                {0, 6, "\xfd\x37\x7a\x58\x5a\x00"}, /* xz */
                {0, 4, "PK\x03\x04"},               /* zip */
                {0, 4, "PK\x05\x06"},               /* empty zip */
                {257, 5, "ustar"},                  /* POSIX and GNU tar */
        };
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        unsigned char head[512];
        ssize_t n;

        if (fd < 0)
                return 0;
        do
                n = read(fd, head, sizeof head);
        while (n < 0 && errno == EINTR);
        if (n <= 0)
                return 0;
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
                if ((size_t)n >= sigs[i].off + sigs[i].len &&
                    memcmp(head + sigs[i].off, sigs[i].magic, sigs[i].len) == 0)
                        return 1;
        return 0;
}
