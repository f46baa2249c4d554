/* SPDX-License-Identifier: MIT */
/*
 * Applying a layer to a root filesystem (layer_unpack), and the helpers
 * that keep every path inside that root.
 *
 * Every path is resolved with openat2(RESOLVE_IN_ROOT), so an image's
 * symlinks behave as they do in the container and can never reach the host;
 * the last component is created with *at() calls that never follow a
 * symlink.  Whiteouts apply to the layers below only: the names this layer
 * creates are remembered and spared, whatever the order of the entries.
 */
#include "runner/image/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "archive.h"
#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

/* ---------------------------------------------------- root filesystems -- */

static int openat2_in_root(int rootfd, const char *path, int flags)
{
        struct open_how how = {
                .flags = (uint64_t)(flags | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        long fd;

        if (*path == '\0')
                path = ".";
        do
                fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
        while (fd < 0 && errno == EINTR);
        return (int)fd;
}

int layer_open_in_root(int rootfd, const char *path, int flags, int create_dirs)
{
        int fd = openat2_in_root(rootfd, path, flags);

        if (fd >= 0 || errno != ENOENT || !create_dirs)
                return fd;
        /* Create what is missing, one component at a time, each step
         * resolved again inside the root. */
        _cleanup_free_ char *p = xstrdup(path);
        size_t len = strlen(p);
        for (size_t i = 0; i <= len; i++) {
                if (p[i] != '/' && p[i] != '\0')
                        continue;
                if (i == len && !(flags & O_DIRECTORY))
                        break;
                char saved = p[i];
                p[i] = '\0';
                if (i > 0 && p[i - 1] != '/') {
                        char *slash = strrchr(p, '/');
                        const char *base = slash ? slash + 1 : p;
                        if (slash)
                                *slash = '\0';
                        _cleanup_close_ int dfd =
                                openat2_in_root(rootfd, slash ? p : "", O_RDONLY | O_DIRECTORY);
                        if (slash)
                                *slash = '/';
                        if (dfd < 0)
                                return -1;
                        if (mkdirat(dfd, base, 0755) == 0) {
                                /* 0755 whatever the umask: the tree is an image. */
                                if (fchmodat(dfd, base, 0755, 0) < 0)
                                        return -1;
                        } else if (errno != EEXIST) {
                                return -1;
                        }
                }
                p[i] = saved;
        }
        return openat2_in_root(rootfd, path, flags);
}

int layer_remove_at(int dirfd, const char *name)
{
        struct stat st;

        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -1;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -1;
        DIR *d = fdopendir(fd);
        if (d == NULL) {
                (void)close(fd);
                return -1;
        }
        struct dirent *de;
        int r = 0;
        while (r == 0 && (de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                r = layer_remove_at(fd, de->d_name);
        }
        int saved = errno;
        (void)closedir(d);
        errno = saved;
        if (r < 0)
                return -1;
        return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -1 : 0;
}

/* ------------------------------------------------------------- unpacking -- */

/* The names this layer created, so whiteouts spare them. */
struct nameset {
        char **slots;
        size_t cap, n;
};

static uint64_t name_hash(const char *s)
{
        uint64_t h = 1469598103934665603ull;

        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ull;
        return h;
}

static int nameset_has(const struct nameset *ns, const char *name)
{
        if (ns->cap == 0)
                return 0;
        for (size_t i = name_hash(name) & (ns->cap - 1); ns->slots[i]; i = (i + 1) & (ns->cap - 1))
                if (strcmp(ns->slots[i], name) == 0)
                        return 1;
        return 0;
}

static void nameset_add(struct nameset *ns, const char *name)
{
        if (nameset_has(ns, name))
                return;
        if (2 * (ns->n + 1) > ns->cap) {
                struct nameset bigger = {.cap = ns->cap ? 2 * ns->cap : 256};
                bigger.slots = xcalloc(bigger.cap, sizeof *bigger.slots);
                for (size_t i = 0; i < ns->cap; i++) {
                        char *s = ns->slots[i];
                        if (s == NULL)
                                continue;
                        size_t j = name_hash(s) & (bigger.cap - 1);
                        while (bigger.slots[j])
                                j = (j + 1) & (bigger.cap - 1);
                        bigger.slots[j] = s;
                }
                free(ns->slots);
                bigger.n = ns->n;
                *ns = bigger;
        }
        size_t i = name_hash(name) & (ns->cap - 1);
        while (ns->slots[i])
                i = (i + 1) & (ns->cap - 1);
        ns->slots[i] = xstrdup(name);
        ns->n++;
}

static void nameset_free(struct nameset *ns)
{
        for (size_t i = 0; i < ns->cap; i++)
                free(ns->slots[i]);
        free(ns->slots);
}

struct dirtime {
        char *name;
        struct timespec mtime;
};

struct unpack {
        const char *label; /* "layer 'x'" */
        int rootfd;
        struct nameset created;
        struct dirtime *dirs;
        size_t n_dirs, cap_dirs;
        int keep_owners; /* root: owners as the layer says; else the caller's */
};

static int unpack_fail(struct hoist_error **err, const struct unpack *u, const char *name,
                       const char *what)
{
        return hoist_error_make(err, errno, "%s: entry '%s': %s", u->label, name, what);
}

/* Splits NAME into its parent directory, opened inside the root (created
 * when missing), and its last component. */
static int open_parent(const struct unpack *u, const char *name, const char **ret_base)
{
        const char *slash = strrchr(name, '/');
        _cleanup_free_ char *parent = slash ? xstrndup(name, (size_t)(slash - name)) : xstrdup("");

        *ret_base = slash ? slash + 1 : name;
        return layer_open_in_root(u->rootfd, parent, O_RDONLY | O_DIRECTORY, 1);
}

/* Removes from the directory NAME whatever this layer did not create. */
static int clean_lower(const struct unpack *u, const char *name)
{
        _cleanup_close_ int fd = layer_open_in_root(u->rootfd, name, O_RDONLY | O_DIRECTORY, 0);
        struct dirent **names;
        int n, r = 0;

        if (fd < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
        _cleanup_free_ char *self = xasprintf("/proc/self/fd/%d", fd);
        n = scandir(self, &names, NULL, alphasort);
        if (n < 0)
                return -1;
        for (int i = 0; i < n; i++) {
                const char *base = names[i]->d_name;
                if (r == 0 && strcmp(base, ".") != 0 && strcmp(base, "..") != 0) {
                        _cleanup_free_ char *child =
                                *name ? xasprintf("%s/%s", name, base) : xstrdup(base);
                        struct stat st;
                        if (!nameset_has(&u->created, child))
                                r = layer_remove_at(fd, base);
                        else if (fstatat(fd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                                 S_ISDIR(st.st_mode))
                                r = clean_lower(u, child);
                }
                free(names[i]);
        }
        free(names);
        return r;
}

/* A `.wh.` entry: DIR/TARGET goes, unless this layer made it. */
static int apply_whiteout(struct unpack *u, const char *raw, const char *dir, const char *target,
                          struct hoist_error **err)
{
        _cleanup_free_ char *full = *dir ? xasprintf("%s/%s", dir, target) : xstrdup(target);
        _cleanup_close_ int dfd = -1;

        if (*target == '\0' || strcmp(target, ".") == 0 || strcmp(target, "..") == 0 ||
            strchr(target, '/') != NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "%s: entry '%s' is a bad whiteout",
                                        u->label, raw);
        if (nameset_has(&u->created, full))
                return clean_lower(u, full) < 0 ? unpack_fail(err, u, raw, "apply whiteout") : 0;
        dfd = layer_open_in_root(u->rootfd, dir, O_RDONLY | O_DIRECTORY, 0);
        if (dfd < 0)
                return errno == ENOENT || errno == ENOTDIR
                               ? 0
                               : unpack_fail(err, u, raw, "open its directory");
        if (layer_remove_at(dfd, target) < 0)
                return unpack_fail(err, u, raw, "apply whiteout");
        return 0;
}

static int write_data(struct archive *a, int fd, const struct unpack *u, const char *name,
                      struct hoist_error **err)
{
        for (;;) {
                const void *block;
                size_t size;
                la_int64_t offset;
                int r = archive_read_data_block(a, &block, &size, &offset);

                if (r == ARCHIVE_EOF)
                        return 0;
                if (r < ARCHIVE_WARN)
                        return hoist_error_make(err, HOIST_ERR_INPUT, "%s: entry '%s': %s",
                                                u->label, name, archive_error_string(a));
                const char *p = block;
                while (size > 0) {
                        ssize_t n = pwrite(fd, p, size, (off_t)offset);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return unpack_fail(err, u, name, "write");
                        p += n;
                        offset += n;
                        size -= (size_t)n;
                }
        }
}

static void set_xattrs(struct archive_entry *entry, int fd, const struct unpack *u,
                       const char *name)
{
        const char *key;
        const void *val;
        size_t len;

        archive_entry_xattr_reset(entry);
        while (archive_entry_xattr_next(entry, &key, &val, &len) == ARCHIVE_OK)
                if (layer_xattr_kept(key) && fsetxattr(fd, key, val, len, 0) < 0)
                        log_warn("%s: entry '%s': set xattr '%s': %s, ignoring", u->label, name,
                                 key, strerror(errno));
}

/* Creates the entry NAME (whatever was there of another type goes). */
static int extract_entry(struct unpack *u, struct archive *a, struct archive_entry *entry,
                         const char *raw, const char *name, struct hoist_error **err)
{
        const char *base;
        _cleanup_close_ int pfd = open_parent(u, name, &base);
        _cleanup_close_ int fd = -1;
        const char *hardlink = archive_entry_hardlink(entry);
        mode_t type = archive_entry_filetype(entry);
        struct stat old;
        int exists;

        if (pfd < 0)
                return unpack_fail(err, u, raw, "open its directory");
        exists = fstatat(pfd, base, &old, AT_SYMLINK_NOFOLLOW) == 0;
        if (exists && !(type == AE_IFDIR && hardlink == NULL && S_ISDIR(old.st_mode)) &&
            layer_remove_at(pfd, base) < 0)
                return unpack_fail(err, u, raw, "replace what is there");
        if (hardlink != NULL) {
                _cleanup_free_ char *target = archive_name_normalize(hardlink, 0);
                const char *tbase;
                if (target == NULL || *target == '\0')
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "%s: entry '%s' links outside the image; refusing",
                                                u->label, raw);
                _cleanup_close_ int tfd = open_parent(u, target, &tbase);
                if (tfd < 0 || linkat(tfd, tbase, pfd, base, 0) < 0)
                        return unpack_fail(err, u, raw, "hard link");
                return 0;
        }
        if (type == AE_IFDIR) {
                if (!(exists && S_ISDIR(old.st_mode)) && mkdirat(pfd, base, 0700) < 0)
                        return unpack_fail(err, u, raw, "mkdir");
                fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        } else if (type == AE_IFREG) {
                fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd >= 0 && write_data(a, fd, u, raw, err) < 0)
                        return -1;
                if (fd >= 0 && ftruncate(fd, archive_entry_size(entry)) < 0)
                        return unpack_fail(err, u, raw, "truncate");
        } else if (type == AE_IFLNK) {
                const char *target = archive_entry_symlink(entry);
                if (target == NULL || symlinkat(target, pfd, base) < 0)
                        return unpack_fail(err, u, raw, "symlink");
        }
        if (fd < 0 && type != AE_IFLNK)
                return unpack_fail(err, u, raw, "create");
        if (u->keep_owners && fchownat(pfd, base, (uid_t)archive_entry_uid(entry),
                                       (gid_t)archive_entry_gid(entry), AT_SYMLINK_NOFOLLOW) < 0)
                return unpack_fail(err, u, raw, "chown");
        if (fd >= 0) {
                /* After chown, which clears setuid bits. */
                if (fchmod(fd, archive_entry_perm(entry) & 07777) < 0)
                        return unpack_fail(err, u, raw, "chmod");
                set_xattrs(entry, fd, u, raw);
        }
        struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT},
                                 {archive_entry_mtime(entry), archive_entry_mtime_nsec(entry)}};
        if (type == AE_IFDIR) {
                if (u->n_dirs == u->cap_dirs) {
                        u->cap_dirs = u->cap_dirs ? 2 * u->cap_dirs : 64;
                        u->dirs = xreallocarray(u->dirs, u->cap_dirs, sizeof *u->dirs);
                }
                u->dirs[u->n_dirs++] = (struct dirtime){xstrdup(name), ts[1]};
        } else if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0) {
                return unpack_fail(err, u, raw, "set mtime");
        }
        return 0;
}

static int unpack_entry(struct unpack *u, struct archive *a, struct archive_entry *entry,
                        struct hoist_error **err)
{
        const char *raw = archive_entry_pathname(entry);
        _cleanup_free_ char *name = NULL;
        mode_t type = archive_entry_filetype(entry);

        if (raw == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "%s: an entry has no name", u->label);
        name = archive_name_normalize(raw, 0);
        if (name == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "%s: entry '%s' escapes the image root; refusing", u->label,
                                        raw);
        if (*name == '\0')
                return 0; /* the root itself */
        const char *slash = strrchr(name, '/');
        const char *base = slash ? slash + 1 : name;
        _cleanup_free_ char *dir = slash ? xstrndup(name, (size_t)(slash - name)) : xstrdup("");
        if (strcmp(base, LAYER_OPAQUE) == 0)
                return clean_lower(u, dir) < 0 ? unpack_fail(err, u, raw, "apply opaque whiteout")
                                               : 0;
        if (strncmp(base, LAYER_WHITEOUT_PREFIX, strlen(LAYER_WHITEOUT_PREFIX)) == 0)
                return apply_whiteout(u, raw, dir, base + strlen(LAYER_WHITEOUT_PREFIX), err);
        if (archive_entry_hardlink(entry) == NULL && type != AE_IFREG && type != AE_IFDIR &&
            type != AE_IFLNK) {
                log_warn("%s: entry '%s' is a device node, fifo or socket, ignoring", u->label,
                         raw);
                return 0;
        }
        nameset_add(&u->created, name);
        return extract_entry(u, a, entry, raw, name, err);
}

static void apply_dir_times(struct unpack *u)
{
        for (size_t i = u->n_dirs; i-- > 0;) {
                const char *base;
                _cleanup_close_ int pfd = open_parent(u, u->dirs[i].name, &base);
                struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, u->dirs[i].mtime};
                if (pfd >= 0)
                        (void)utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
        }
}

/* NAME is PATH, or a name under it ("PATH/..."). */
static int is_at_or_under(const char *name, const char *path, size_t plen)
{
        return strncmp(name, path, plen) == 0 && (name[plen] == '\0' || name[plen] == '/');
}

/* What one layer entry NAME (normalized) says about PATH, folded into *ST:
 * an entry for PATH itself or under it wins over any whiteout in the same
 * layer, since a layer's whiteouts only hide what the layers below have. */
static void lookup_entry(const char *name, struct archive_entry *entry, const char *path,
                         enum layer_path *st, char **target)
{
        size_t plen = strlen(path);
        const char *slash = strrchr(name, '/');
        const char *base = slash ? slash + 1 : name;
        size_t dlen = slash ? (size_t)(slash - name) : 0;

        if (strcmp(base, LAYER_OPAQUE) == 0) {
                if (dlen == plen && strncmp(name, path, plen) == 0)
                        *st = LAYER_PATH_DIR; /* PATH itself is an opaque directory */
                else if ((dlen == 0 ||
                          (dlen < plen && strncmp(name, path, dlen) == 0 && path[dlen] == '/')) &&
                         *st == LAYER_PATH_UNTOUCHED)
                        *st = LAYER_PATH_REMOVED; /* a directory above: lower PATH hidden */
                return;
        }
        if (strncmp(base, LAYER_WHITEOUT_PREFIX, strlen(LAYER_WHITEOUT_PREFIX)) == 0) {
                _cleanup_free_ char *gone = xasprintf("%.*s%s%s", (int)dlen, name, dlen ? "/" : "",
                                                      base + strlen(LAYER_WHITEOUT_PREFIX));
                if (is_at_or_under(path, gone, strlen(gone)) && *st == LAYER_PATH_UNTOUCHED)
                        *st = LAYER_PATH_REMOVED;
                return;
        }
        if (!is_at_or_under(name, path, plen))
                return;
        if (name[plen] == '/' || archive_entry_filetype(entry) == AE_IFDIR) {
                *st = LAYER_PATH_DIR;
        } else if (archive_entry_filetype(entry) == AE_IFLNK &&
                   archive_entry_hardlink(entry) == NULL) {
                *st = LAYER_PATH_SYMLINK;
                free(*target);
                *target = xstrdup(archive_entry_symlink(entry) ? archive_entry_symlink(entry) : "");
        } else {
                *st = LAYER_PATH_OTHER;
        }
}

int layer_lookup_paths(const char *blob_path, const char *media_type, const char *const *paths,
                       size_t n, enum layer_path *ret, char **ret_targets, struct hoist_error **err)
{
        _cleanup_free_ enum layer_path *st = xcalloc(n, sizeof *st);
        _cleanup_free_ char **targets = xcalloc(n, sizeof *targets);
        struct archive *a = archive_read_new();
        struct archive_entry *entry;
        int r = 0, ar;

        archive_read_support_filter_gzip(a);
        archive_read_support_filter_zstd(a);
        archive_read_support_format_tar(a);
        if (archive_read_open_filename(a, blob_path, 1 << 16) != ARCHIVE_OK) {
                r = hoist_error_make(err, HOIST_ERR_INPUT, "layer '%s'%s%s%s: %s", blob_path,
                                     media_type ? " (" : "", media_type ? media_type : "",
                                     media_type ? ")" : "", archive_error_string(a));
                archive_read_free(a);
                return r;
        }
        while ((ar = archive_read_next_header(a, &entry)) != ARCHIVE_EOF) {
                const char *raw = archive_entry_pathname(entry);
                _cleanup_free_ char *name = NULL;

                if (ar < ARCHIVE_WARN) {
                        r = hoist_error_make(err, HOIST_ERR_INPUT, "layer '%s': %s", blob_path,
                                             archive_error_string(a));
                        break;
                }
                name = raw ? archive_name_normalize(raw, 1) : NULL;
                if (name != NULL && *name != '\0')
                        for (size_t i = 0; i < n; i++)
                                lookup_entry(name, entry, paths[i], &st[i], &targets[i]);
        }
        archive_read_free(a);
        for (size_t i = 0; i < n; i++) {
                if (r == 0) {
                        ret[i] = st[i];
                        ret_targets[i] = st[i] == LAYER_PATH_SYMLINK ? TAKE_PTR(targets[i]) : NULL;
                }
                free(targets[i]);
        }
        return r;
}

int layer_lookup(const char *blob_path, const char *media_type, const char *path,
                 enum layer_path *ret, char **ret_target, struct hoist_error **err)
{
        return layer_lookup_paths(blob_path, media_type, &path, 1, ret, ret_target, err);
}

int layer_unpack(const char *blob_path, const char *media_type, const char *root,
                 struct hoist_error **err)
{
        _cleanup_free_ char *label = media_type
                                             ? xasprintf("layer '%s' (%s)", blob_path, media_type)
                                             : xasprintf("layer '%s'", blob_path);
        _cleanup_close_ int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct unpack u = {.label = label, .rootfd = rootfd, .keep_owners = geteuid() == 0};
        struct archive *a;
        struct archive_entry *entry;
        int r = 0, ar;

        if (rootfd < 0)
                return hoist_error_errno(err, "open image root '%s'", root);
        a = archive_read_new();
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_zstd(a);
        archive_read_support_format_tar(a);
        if (archive_read_open_filename(a, blob_path, 1 << 16) != ARCHIVE_OK) {
                r = hoist_error_make(err, HOIST_ERR_INPUT, "%s: %s", label,
                                     archive_error_string(a));
                archive_read_free(a);
                return r;
        }
        while (r == 0 && (ar = archive_read_next_header(a, &entry)) != ARCHIVE_EOF) {
                if (ar < ARCHIVE_WARN)
                        r = hoist_error_make(err, HOIST_ERR_INPUT, "%s: %s", label,
                                             archive_error_string(a));
                else
                        r = unpack_entry(&u, a, entry, err);
        }
        apply_dir_times(&u);
        archive_read_free(a);
        for (size_t i = 0; i < u.n_dirs; i++)
                free(u.dirs[i].name);
        free(u.dirs);
        nameset_free(&u.created);
        return r;
}
