/* SPDX-License-Identifier: MIT */
/*
 * A build step's filesystem difference: overlayfs when it can be mounted,
 * a before/after scan otherwise (see snapshot.h).
 */
#include "runner/image/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "log.h"
#include "xalloc.h"

#define OVL_OPAQUE "trusted.overlay.opaque"

/* One path of the walk-mode scan. */
struct sentry {
        char *path; /* relative to the root */
        mode_t mode;
        uid_t uid;
        gid_t gid;
        off_t size;
        ino_t ino;
        struct timespec mtime, ctime;
        char *link;
        char *hash; /* content sha256, only for a file changed just before the scan */
};

struct scan {
        struct sentry *v;
        size_t n, cap;
        /* Files whose ctime is after this are hashed: a change in the same
         * timestamp tick could leave size, mtime and ctime as they were. */
        time_t hash_after;
};

struct snapshot {
        char *root;
        enum snapshot_mode mode;
        int open;
        /* overlay */
        char *dir; /* beside the root: upper/ and work/ */
        char *upper;
        int mounted;
        /* walk */
        struct scan before;
};

static void scan_free(struct scan *s)
{
        for (size_t i = 0; i < s->n; i++) {
                free(s->v[i].path);
                free(s->v[i].link);
                free(s->v[i].hash);
        }
        free(s->v);
        *s = (struct scan){0};
}

enum snapshot_mode snapshot_mode_of(const struct snapshot *s)
{
        return s->mode;
}

/* ------------------------------------------------------------- overlay -- */

/* Mounts made from now on stay in a mount namespace of this process: they
 * vanish with it and never show on the host. */
static int enter_private_mounts(struct hoist_error **err)
{
        static int entered;

        if (entered)
                return 0;
        if (unshare(CLONE_NEWNS) < 0)
                return hoist_error_errno(err, "create a private mount namespace for the build");
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return hoist_error_errno(err, "make the build's mounts private");
        entered = 1;
        return 0;
}

static int overlay_begin(struct snapshot *s, struct hoist_error **err)
{
        _cleanup_free_ char *copy = xstrdup(s->root);
        char *slash = strrchr(copy, '/');
        struct stat rst, dst;

        if (strpbrk(s->root, ",:\\") != NULL)
                return hoist_error_make(err, EINVAL,
                                        "overlay: the path '%s' has a character overlay options "
                                        "cannot carry",
                                        s->root);
        if (slash == NULL || slash[1] == '\0')
                return hoist_error_make(err, EINVAL, "overlay: '%s' has no parent directory",
                                        s->root);
        *slash = '\0';
        s->dir = xasprintf("%s/.%s.snap-XXXXXX", *copy ? copy : "", slash + 1);
        if (mkdtemp(s->dir) == NULL) {
                free(s->dir);
                s->dir = NULL;
                return hoist_error_errno(err, "overlay: create a directory beside '%s'", s->root);
        }
        if (stat(s->root, &rst) < 0 || stat(s->dir, &dst) < 0)
                return hoist_error_errno(err, "overlay: stat '%s'", s->root);
        if (rst.st_dev != dst.st_dev)
                return hoist_error_make(err, EXDEV, "overlay: '%s' is a mount point", s->root);
        s->upper = path_join(s->dir, "upper");
        _cleanup_free_ char *work = path_join(s->dir, "work");
        if (mkdir(s->upper, 0755) < 0 || mkdir(work, 0700) < 0)
                return hoist_error_errno(err, "overlay: create '%s'", s->dir);
        if (enter_private_mounts(err) < 0)
                return -1;
        _cleanup_free_ char *opts =
                xasprintf("lowerdir=%s,upperdir=%s,workdir=%s,redirect_dir=off,metacopy=off,"
                          "index=off",
                          s->root, s->upper, work);
        if (mount("overlay", s->root, "overlay", 0, opts) < 0)
                return hoist_error_errno(err, "overlay: mount over '%s'", s->root);
        s->mounted = 1;
        return 0;
}

static int overlay_unmount(struct snapshot *s, struct hoist_error **err)
{
        if (!s->mounted)
                return 0;
        if (umount2(s->root, 0) < 0 && (errno != EBUSY || umount2(s->root, MNT_DETACH) < 0))
                return hoist_error_errno(err, "unmount the overlay on '%s'", s->root);
        s->mounted = 0;
        return 0;
}

static int is_whiteout(const struct stat *st)
{
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static int is_opaque(const char *path)
{
        char v[4];
        ssize_t n = lgetxattr(path, OVL_OPAQUE, v, sizeof v);

        return n == 1 && v[0] == 'y';
}

/* Adds the entries of the upper directory DIR (REL inside the image). */
static int overlay_collect(struct layer_writer *w, const char *dir, const char *rel,
                           struct hoist_error **err)
{
        _cleanup_strv_ char **names = fs_list_dir(dir, err);
        int r = 0;

        if (names == NULL)
                return -1;
        for (char **p = names; r == 0 && *p != NULL; p++) {
                _cleanup_free_ char *path = path_join(dir, *p);
                _cleanup_free_ char *name = *rel ? xasprintf("%s/%s", rel, *p) : xstrdup(*p);
                struct stat st;
                if (lstat(path, &st) < 0)
                        return hoist_error_errno(err, "stat '%s'", path);
                if (is_whiteout(&st))
                        r = layer_writer_add_whiteout(w, name, err);
                else
                        r = layer_writer_add_path(w, name, path, NULL, err);
                if (r == 0 && S_ISDIR(st.st_mode) && is_opaque(path))
                        r = layer_writer_add_opaque(w, name, err);
                if (r == 0 && S_ISDIR(st.st_mode))
                        r = overlay_collect(w, path, name, err);
        }
        return r;
}

/* Removes overlay's xattrs (and any stray whiteout) from a tree moved out
 * of the upper directory, so a later overlay does not read them. */
static void strip_overlay(int parent, const char *name)
{
        struct stat st;

        if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISLNK(st.st_mode))
                return;
        if (is_whiteout(&st)) {
                (void)unlinkat(parent, name, 0);
                return;
        }
        int flags = S_ISDIR(st.st_mode) ? O_RDONLY | O_DIRECTORY : O_PATH;
        int fd = openat(parent, name, flags | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return;
        _cleanup_free_ char *self = xasprintf("/proc/self/fd/%d", fd);
        char list[4096];
        ssize_t n = listxattr(self, list, sizeof list);
        for (char *p = list; n > 0 && p < list + n; p += strlen(p) + 1)
                if (strncmp(p, "trusted.overlay.", 16) == 0)
                        (void)removexattr(self, p);
        if (!S_ISDIR(st.st_mode)) {
                (void)close(fd);
                return;
        }
        DIR *d = fdopendir(fd);
        struct dirent *de;
        if (d == NULL) {
                (void)close(fd);
                return;
        }
        while ((de = readdir(d)) != NULL)
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        strip_overlay(dirfd(d), de->d_name);
        (void)closedir(d);
}

static int copy_dir_meta(int ufd, int lfd)
{
        struct stat st;

        if (fstat(ufd, &st) < 0 || fchown(lfd, st.st_uid, st.st_gid) < 0 ||
            fchmod(lfd, st.st_mode & 07777) < 0)
                return -1;
        char list[4096];
        ssize_t n = flistxattr(ufd, list, sizeof list);
        for (char *p = list; n > 0 && p < list + n; p += strlen(p) + 1) {
                char val[4096];
                if (strncmp(p, "trusted.overlay.", 16) == 0)
                        continue;
                ssize_t vn = fgetxattr(ufd, p, val, sizeof val);
                if (vn >= 0)
                        (void)fsetxattr(lfd, p, val, (size_t)vn, 0);
        }
        struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, st.st_mtim};
        return futimens(lfd, ts);
}

/* Applies the upper directory UFD onto the lower LFD: renames (one
 * filesystem), deletions for whiteouts, recursion into merged dirs. */
static int merge_dir(int ufd, int lfd, const char *rel, struct hoist_error **err)
{
        int dup_fd = dup(ufd);
        DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
        struct dirent *de;
        int r = 0;

        if (d == NULL) {
                if (dup_fd >= 0)
                        (void)close(dup_fd);
                return hoist_error_errno(err, "read the step's changes in '/%s'", rel);
        }
        while (r == 0 && (de = readdir(d)) != NULL) {
                const char *name = de->d_name;
                struct stat us, ls;
                if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                        continue;
                _cleanup_free_ char *sub = *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);
                if (fstatat(ufd, name, &us, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = hoist_error_errno(err, "stat the change '/%s'", sub);
                        break;
                }
                int lower = fstatat(lfd, name, &ls, AT_SYMLINK_NOFOLLOW) == 0;
                if (is_whiteout(&us)) {
                        if (layer_remove_at(lfd, name) < 0)
                                r = hoist_error_errno(err, "delete '/%s'", sub);
                        continue;
                }
                if (S_ISDIR(us.st_mode) && lower && S_ISDIR(ls.st_mode)) {
                        _cleanup_close_ int u2 =
                                openat(ufd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_close_ int l2 =
                                openat(lfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        char v[4];
                        if (u2 < 0 || l2 < 0) {
                                r = hoist_error_errno(err, "open '/%s'", sub);
                                break;
                        }
                        if (fgetxattr(u2, OVL_OPAQUE, v, sizeof v) == 1 && v[0] == 'y') {
                                if (layer_remove_at(lfd, name) < 0)
                                        r = hoist_error_errno(err, "replace '/%s'", sub);
                        } else {
                                r = merge_dir(u2, l2, sub, err);
                                if (r == 0 && copy_dir_meta(u2, l2) < 0)
                                        r = hoist_error_errno(err, "update '/%s'", sub);
                                continue;
                        }
                } else if (lower && S_ISDIR(ls.st_mode) && layer_remove_at(lfd, name) < 0) {
                        r = hoist_error_errno(err, "replace '/%s'", sub);
                }
                if (r == 0 && renameat(ufd, name, lfd, name) < 0)
                        r = hoist_error_errno(err, "move '/%s' into the image root", sub);
                if (r == 0)
                        strip_overlay(lfd, name);
        }
        (void)closedir(d);
        return r;
}

static int overlay_merge(struct snapshot *s, struct hoist_error **err)
{
        _cleanup_close_ int ufd = open(s->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int lfd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (ufd < 0 || lfd < 0)
                return hoist_error_errno(err, "open '%s'", ufd < 0 ? s->upper : s->root);
        return merge_dir(ufd, lfd, "", err);
}

static void overlay_discard(struct snapshot *s)
{
        struct hoist_error *e = NULL;

        if (overlay_unmount(s, &e) < 0) {
                log_warn("snapshot: %s, ignoring", e->msg);
                hoist_error_free(e);
                return; /* keep the upper dir: it is still in use */
        }
        if (s->dir != NULL && fs_remove_tree(s->dir, &e) < 0) {
                log_warn("snapshot: %s, ignoring", e->msg);
                hoist_error_free(e);
        }
}

/* ---------------------------------------------------------------- walk -- */

static int scan_tree(struct scan *s, const char *dir, const char *rel, struct hoist_error **err)
{
        struct dirent **names;
        int n = scandir(dir, &names, NULL, NULL);
        int r = 0;

        if (n < 0)
                return hoist_error_errno(err, "list '%s'", dir);
        for (int i = 0; i < n; i++) {
                const char *base = names[i]->d_name;
                if (r == 0 && strcmp(base, ".") != 0 && strcmp(base, "..") != 0) {
                        _cleanup_free_ char *path = path_join(dir, base);
                        struct stat st;
                        if (lstat(path, &st) < 0) {
                                r = hoist_error_errno(err, "stat '%s'", path);
                        } else {
                                if (s->n == s->cap) {
                                        s->cap = s->cap ? 2 * s->cap : 1024;
                                        s->v = xreallocarray(s->v, s->cap, sizeof *s->v);
                                }
                                struct sentry *e = &s->v[s->n++];
                                *e = (struct sentry){
                                        .path = *rel ? xasprintf("%s/%s", rel, base)
                                                     : xstrdup(base),
                                        .mode = st.st_mode,
                                        .uid = st.st_uid,
                                        .gid = st.st_gid,
                                        .size = st.st_size,
                                        .ino = st.st_ino,
                                        .mtime = st.st_mtim,
                                        .ctime = st.st_ctim,
                                };
                                if (S_ISLNK(st.st_mode)) {
                                        char t[PATH_MAX];
                                        ssize_t len = readlink(path, t, sizeof t - 1);
                                        e->link = xstrndup(t, len > 0 ? (size_t)len : 0);
                                }
                                if (S_ISREG(st.st_mode) && st.st_ctim.tv_sec >= s->hash_after) {
                                        char hex[DIGEST_HEX_LEN + 1];
                                        if (digest_file_hex(path, hex, NULL, err) < 0)
                                                r = -1;
                                        else
                                                e->hash = xstrdup(hex);
                                }
                                if (r == 0 && S_ISDIR(st.st_mode)) {
                                        _cleanup_free_ char *sub = xstrdup(e->path);
                                        r = scan_tree(s, path, sub, err);
                                }
                        }
                }
                free(names[i]);
        }
        free(names);
        return r;
}

static int sentry_cmp(const void *a, const void *b)
{
        return strcmp(((const struct sentry *)a)->path, ((const struct sentry *)b)->path);
}

/* HASH_RECENT: hash the files changed in the last seconds (the scan before
 * a step); the scan after hashes nothing. */
static int scan_root(const char *root, int hash_recent, struct scan *ret, struct hoist_error **err)
{
        struct scan s = {.hash_after = hash_recent ? time(NULL) - 2 : INT64_MAX};

        if (scan_tree(&s, root, "", err) < 0) {
                scan_free(&s);
                return hoist_error_wrap(err, "scan '%s'", root);
        }
        if (s.n > 0)
                qsort(s.v, s.n, sizeof *s.v, sentry_cmp);
        *ret = s;
        return 0;
}

static const struct sentry *scan_find(const struct scan *s, const char *path)
{
        struct sentry key = {.path = (char *)path};

        if (s->n == 0)
                return NULL;
        return bsearch(&key, s->v, s->n, sizeof *s->v, sentry_cmp);
}

static int sentry_meta_changed(const struct sentry *a, const struct sentry *b)
{
        return a->mode != b->mode || a->uid != b->uid || a->gid != b->gid || a->size != b->size ||
               a->ino != b->ino || a->mtime.tv_sec != b->mtime.tv_sec ||
               a->mtime.tv_nsec != b->mtime.tv_nsec || a->ctime.tv_sec != b->ctime.tv_sec ||
               a->ctime.tv_nsec != b->ctime.tv_nsec ||
               (a->link && b->link && strcmp(a->link, b->link) != 0);
}

/* A (before) and B (now) differ.  Same metadata and a hash from before:
 * the content decides. */
static int sentry_changed(const struct sentry *a, const struct sentry *b, const char *root)
{
        if (!sentry_meta_changed(a, b) && a->hash != NULL) {
                _cleanup_free_ char *path = path_join(root, b->path);
                char hex[DIGEST_HEX_LEN + 1];
                return digest_file_hex(path, hex, NULL, NULL) < 0 || strcmp(hex, a->hash) != 0;
        }
        return sentry_meta_changed(a, b);
}

/* Adds the directories above PATH, as they are now. */
static int add_parents(struct layer_writer *w, const char *root, const char *path,
                       struct hoist_error **err)
{
        _cleanup_free_ char *p = xstrdup(path);

        for (char *s = strchr(p, '/'); s != NULL; s = strchr(s + 1, '/')) {
                *s = '\0';
                _cleanup_free_ char *host = path_join(root, p);
                int r = layer_writer_add_path(w, p, host, NULL, err);
                *s = '/';
                if (r < 0)
                        return -1;
        }
        return 0;
}

static int walk_collect(struct snapshot *s, struct layer_writer *w, struct hoist_error **err)
{
        struct scan after = {0};
        int r = 0;

        if (scan_root(s->root, 0, &after, err) < 0)
                return -1;
        for (size_t i = 0; r == 0 && i < after.n; i++) {
                const struct sentry *now = &after.v[i];
                const struct sentry *was = scan_find(&s->before, now->path);
                if (was != NULL && !sentry_changed(was, now, s->root))
                        continue;
                _cleanup_free_ char *host = path_join(s->root, now->path);
                r = add_parents(w, s->root, now->path, err);
                if (r == 0)
                        r = layer_writer_add_path(w, now->path, host, NULL, err);
                /* A directory deleted and made again hides all it had. */
                if (r == 0 && was != NULL && S_ISDIR(was->mode) && S_ISDIR(now->mode) &&
                    was->ino != now->ino)
                        r = layer_writer_add_opaque(w, now->path, err);
        }
        for (size_t i = 0; r == 0 && i < s->before.n; i++) {
                const struct sentry *was = &s->before.v[i];
                if (scan_find(&after, was->path) != NULL)
                        continue;
                /* Only the topmost deleted path: below a deleted or
                 * replaced directory there is nothing left to delete. */
                const char *slash = strrchr(was->path, '/');
                if (slash != NULL) {
                        _cleanup_free_ char *parent =
                                xstrndup(was->path, (size_t)(slash - was->path));
                        const struct sentry *pa = scan_find(&after, parent);
                        const struct sentry *pb = scan_find(&s->before, parent);
                        if (pa == NULL || !S_ISDIR(pa->mode) || pb == NULL || pb->ino != pa->ino)
                                continue;
                }
                r = add_parents(w, s->root, was->path, err);
                if (r == 0)
                        r = layer_writer_add_whiteout(w, was->path, err);
        }
        scan_free(&after);
        return r;
}

/* ---------------------------------------------------------------- API -- */

int snapshot_begin(const char *root, enum snapshot_mode mode, struct snapshot **ret,
                   struct hoist_error **err)
{
        struct snapshot *s = xzalloc(sizeof *s);
        const char *force = getenv("HOIST_BUILD_SNAPSHOT");
        char real[PATH_MAX];

        if (realpath(root, real) == NULL || !fs_is_dir(real)) {
                free(s);
                return hoist_error_errno(err, "image root '%s'", root);
        }
        s->root = xstrdup(real);
        if (mode == SNAPSHOT_AUTO && force != NULL && strcmp(force, "overlay") == 0)
                mode = SNAPSHOT_OVERLAY;
        else if (mode == SNAPSHOT_AUTO && force != NULL && strcmp(force, "walk") == 0)
                mode = SNAPSHOT_WALK;
        if (mode != SNAPSHOT_WALK) {
                struct hoist_error *e = NULL;
                s->mode = SNAPSHOT_OVERLAY;
                if (overlay_begin(s, &e) == 0) {
                        s->open = 1;
                        *ret = s;
                        return 0;
                }
                overlay_discard(s);
                free(s->dir);
                free(s->upper);
                s->dir = s->upper = NULL;
                if (mode == SNAPSHOT_OVERLAY) {
                        *err = e;
                        snapshot_free(s);
                        return hoist_error_wrap(err, "snapshot '%s'", root);
                }
                log_debug("snapshot: %s; scanning the tree instead", e->msg);
                hoist_error_free(e);
        }
        s->mode = SNAPSHOT_WALK;
        if (scan_root(s->root, 1, &s->before, err) < 0) {
                snapshot_free(s);
                return hoist_error_wrap(err, "snapshot '%s'", root);
        }
        s->open = 1;
        *ret = s;
        return 0;
}

int snapshot_commit(struct snapshot *s, enum compression c, int threads, int64_t epoch,
                    const char *out_path, struct layer_info *ret, int *ret_empty,
                    struct hoist_error **err)
{
        _cleanup_layer_writer_ struct layer_writer *w = NULL;
        struct layer_info info = {0};
        int r;

        if (!s->open)
                return hoist_error_make(err, EINVAL, "snapshot of '%s' is already closed", s->root);
        if (layer_writer_new(out_path, c, threads, epoch, &w, err) < 0)
                return -1;
        r = s->mode == SNAPSHOT_OVERLAY ? overlay_collect(w, s->upper, "", err)
                                        : walk_collect(s, w, err);
        if (r == 0 && layer_writer_count(w) > 0)
                r = layer_writer_finish(w, &info, err);
        if (r < 0)
                return hoist_error_wrap(err, "layer of the changes in '%s'", s->root);
        if (s->mode == SNAPSHOT_OVERLAY) {
                if (overlay_unmount(s, err) < 0 || overlay_merge(s, err) < 0) {
                        layer_info_clear(&info);
                        (void)unlink(out_path);
                        s->open = 0; /* ROOT is half merged; nothing to discard safely */
                        return hoist_error_wrap(err, "apply the step's changes to '%s'", s->root);
                }
                overlay_discard(s);
        }
        s->open = 0;
        *ret_empty = layer_writer_count(w) == 0;
        *ret = info;
        return 0;
}

void snapshot_free(struct snapshot *s)
{
        if (s == NULL)
                return;
        if (s->mode == SNAPSHOT_OVERLAY && (s->open || s->mounted))
                overlay_discard(s);
        scan_free(&s->before);
        free(s->dir);
        free(s->upper);
        free(s->root);
        free(s);
}
