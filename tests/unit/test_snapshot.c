/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "runner/image/snapshot.h"
#include "xalloc.h"

static char *tmpdir(void)
{
        char *d = xstrdup("/tmp/hoist-test-snap-XXXXXX");

        assert_non_null(mkdtemp(d));
        return d;
}

static void put(const char *root, const char *rel, const char *content)
{
        char *p = path_join(root, rel);
        char *dir = xstrdup(p);

        *strrchr(dir, '/') = '\0';
        assert_int_equal(fs_mkdir_p(dir, 0755, NULL), 0);
        assert_int_equal(fs_write_file_atomic(p, content, strlen(content), 0644, NULL), 0);
        free(dir);
        free(p);
}

/* Rewrites REL in place (same inode, same size). */
static void rewrite(const char *root, const char *rel, const char *content)
{
        char *p = path_join(root, rel);
        struct stat st;

        assert_int_equal(stat(p, &st), 0);
        int fd = open(p, O_WRONLY | O_TRUNC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
        /* Put the old mtime back: only ctime shows the change. */
        struct timespec ts[2] = {st.st_atim, st.st_mtim};
        assert_int_equal(futimens(fd, ts), 0);
        close(fd);
        free(p);
}

static void rm(const char *root, const char *rel)
{
        char *p = path_join(root, rel);

        assert_int_equal(fs_remove_tree(p, NULL), 0);
        free(p);
}

static int exists(const char *root, const char *rel)
{
        char *p = path_join(root, rel);
        struct stat st;
        int r = lstat(p, &st) == 0;

        free(p);
        return r;
}

static void make_base(const char *root)
{
        put(root, "etc/conf", "one");
        put(root, "etc/keep", "keep");
        put(root, "var/cache/a", "a");
        put(root, "var/cache/b", "b");
        put(root, "opt/dir/x", "x");
        put(root, "opt/dir/y", "y");
        put(root, "usr/bin/tool", "tool");
        put(root, "replace-me/inner", "i");
}

/* What a RUN might do. */
static void change(const char *root)
{
        char *p;

        rewrite(root, "etc/conf", "two"); /* same size */
        put(root, "etc/new", "new");
        rm(root, "var/cache");
        rm(root, "opt/dir");
        put(root, "opt/dir/z", "z"); /* a directory deleted and made again */
        p = path_join(root, "usr/bin/tool");
        assert_int_equal(chmod(p, 0755), 0);
        free(p);
        rm(root, "replace-me");
        put(root, "home/user/.profile", "p");
        p = path_join(root, "replace-me");
        assert_int_equal(symlink("etc/keep", p), 0);
        free(p);
}

/* A listing of a tree: paths, types, modes and contents. */
static void describe(const char *dir, const char *rel, struct buf *out)
{
        struct dirent **names;
        int n = scandir(dir, &names, NULL, alphasort);

        assert_true(n >= 0);
        for (int i = 0; i < n; i++) {
                const char *base = names[i]->d_name;
                if (strcmp(base, ".") != 0 && strcmp(base, "..") != 0) {
                        char *p = path_join(dir, base);
                        char *r = *rel ? xasprintf("%s/%s", rel, base) : xstrdup(base);
                        struct stat st;
                        assert_int_equal(lstat(p, &st), 0);
                        buf_printf(out, "%s %o", r, st.st_mode);
                        if (S_ISREG(st.st_mode)) {
                                char *data = NULL;
                                size_t len;
                                assert_int_equal(fs_read_file(p, &data, &len, NULL), 0);
                                buf_printf(out, " '%s'", data);
                                free(data);
                        }
                        buf_append_char(out, '\n');
                        if (S_ISDIR(st.st_mode))
                                describe(p, r, out);
                        free(p);
                        free(r);
                }
                free(names[i]);
        }
        free(names);
}

static int tar_has(const char *path, const char *name)
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        int found = 0;

        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        assert_int_equal(archive_read_open_filename(a, path, 4096), ARCHIVE_OK);
        while (archive_read_next_header(a, &e) == ARCHIVE_OK)
                if (strcmp(archive_entry_pathname(e), name) == 0)
                        found = 1;
        archive_read_free(a);
        return found;
}

static int overlay_xattrs_left(const char *dir)
{
        char list[4096];
        ssize_t n = llistxattr(dir, list, sizeof list);

        for (char *p = list; n > 0 && p < list + n; p += strlen(p) + 1)
                if (strncmp(p, "trusted.overlay.", 16) == 0)
                        return 1;
        return 0;
}

static void count_siblings(const char *parent, int *ret)
{
        struct dirent **names;
        int n = scandir(parent, &names, NULL, NULL);

        *ret = n - 2;
        for (int i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

static void run_step(enum snapshot_mode mode)
{
        char *parent = tmpdir(), *out = tmpdir();
        char *root = path_join(parent, "rootfs"), *copy = path_join(parent, "copy");
        char *lp = path_join(out, "layer.tar.gz");
        struct snapshot *s = NULL;
        struct layer_info info = {0};
        struct hoist_error *err = NULL;
        struct buf after = {0}, applied = {0};
        struct stat rst, pst;
        int empty = -1, n;

        assert_int_equal(mkdir(root, 0755), 0);
        assert_int_equal(mkdir(copy, 0755), 0);
        make_base(root);
        make_base(copy);
        if (snapshot_begin(root, mode, &s, &err) < 0) {
                print_message("skipped: %s\n", err->msg);
                hoist_error_free(err);
                (void)fs_remove_tree(parent, NULL);
                (void)fs_remove_tree(out, NULL);
                skip();
        }
        assert_int_equal(snapshot_mode_of(s), mode);
        change(root);
        assert_int_equal(snapshot_commit(s, COMPRESSION_GZIP, 2, 0, lp, &info, &empty, &err), 0);
        snapshot_free(s);
        assert_int_equal(empty, 0);
        assert_non_null(info.digest);

        /* ROOT is a plain directory again, with nothing of the overlay left. */
        assert_int_equal(stat(root, &rst), 0);
        assert_int_equal(stat(parent, &pst), 0);
        assert_int_equal(rst.st_dev, pst.st_dev);
        count_siblings(parent, &n);
        assert_int_equal(n, 2);
        char *od = path_join(root, "opt/dir");
        assert_false(overlay_xattrs_left(od));
        free(od);
        assert_true(exists(root, "etc/new"));
        assert_false(exists(root, "var/cache"));
        assert_false(exists(root, "opt/dir/x"));
        assert_true(exists(root, "opt/dir/z"));

        /* The layer says what changed ... */
        assert_true(tar_has(lp, "etc/conf"));
        assert_true(tar_has(lp, "etc/new"));
        assert_true(tar_has(lp, "var/.wh.cache"));
        assert_true(tar_has(lp, "usr/bin/tool"));
        assert_false(tar_has(lp, "etc/keep"));
        assert_false(tar_has(lp, "var/cache/.wh.a"));
        /* ... and applied to the same base gives the same tree. */
        assert_int_equal(layer_unpack(lp, info.media_type, copy, &err), 0);
        describe(root, "", &after);
        describe(copy, "", &applied);
        assert_string_equal(after.data, applied.data);

        buf_free(&after);
        buf_free(&applied);
        layer_info_clear(&info);
        assert_int_equal(fs_remove_tree(parent, NULL), 0);
        assert_int_equal(fs_remove_tree(out, NULL), 0);
        free(root);
        free(copy);
        free(lp);
        free(parent);
        free(out);
}

static void test_overlay_step(void **state)
{
        (void)state;
        run_step(SNAPSHOT_OVERLAY);
}

static void test_walk_step(void **state)
{
        (void)state;
        run_step(SNAPSHOT_WALK);
}

static void empty_step(enum snapshot_mode mode)
{
        char *parent = tmpdir();
        char *root = path_join(parent, "rootfs"), *lp = path_join(parent, "layer");
        struct snapshot *s = NULL;
        struct layer_info info = {0};
        struct hoist_error *err = NULL;
        int empty = -1;

        assert_int_equal(mkdir(root, 0755), 0);
        make_base(root);
        if (snapshot_begin(root, mode, &s, &err) < 0) {
                print_message("skipped: %s\n", err->msg);
                hoist_error_free(err);
                (void)fs_remove_tree(parent, NULL);
                skip();
        }
        assert_int_equal(snapshot_commit(s, COMPRESSION_ZSTD, 1, 0, lp, &info, &empty, &err), 0);
        snapshot_free(s);
        assert_int_equal(empty, 1);
        assert_null(info.digest);
        assert_false(fs_exists(lp));
        assert_int_equal(fs_remove_tree(parent, NULL), 0);
        free(root);
        free(lp);
        free(parent);
}

static void test_empty(void **state)
{
        (void)state;
        empty_step(SNAPSHOT_OVERLAY);
        empty_step(SNAPSHOT_WALK);
}

/* An overlay step that is not committed leaves the root as it was. */
static void test_overlay_discard(void **state)
{
        (void)state;
        char *parent = tmpdir();
        char *root = path_join(parent, "rootfs");
        struct snapshot *s = NULL;
        struct hoist_error *err = NULL;
        struct buf before = {0}, after = {0};
        int n;

        assert_int_equal(mkdir(root, 0755), 0);
        make_base(root);
        describe(root, "", &before);
        if (snapshot_begin(root, SNAPSHOT_OVERLAY, &s, &err) < 0) {
                print_message("skipped: %s\n", err->msg);
                hoist_error_free(err);
                (void)fs_remove_tree(parent, NULL);
                skip();
        }
        change(root);
        snapshot_free(s);
        describe(root, "", &after);
        assert_string_equal(before.data, after.data);
        count_siblings(parent, &n);
        assert_int_equal(n, 1);
        buf_free(&before);
        buf_free(&after);
        assert_int_equal(fs_remove_tree(parent, NULL), 0);
        free(root);
        free(parent);
}

/* Overlay marks a directory deleted and made again as opaque. */
static void test_overlay_opaque(void **state)
{
        (void)state;
        char *parent = tmpdir();
        char *root = path_join(parent, "rootfs"), *lp = path_join(parent, "layer");
        struct snapshot *s = NULL;
        struct layer_info info = {0};
        struct hoist_error *err = NULL;
        int empty;

        assert_int_equal(mkdir(root, 0755), 0);
        make_base(root);
        if (snapshot_begin(root, SNAPSHOT_OVERLAY, &s, &err) < 0) {
                print_message("skipped: %s\n", err->msg);
                hoist_error_free(err);
                (void)fs_remove_tree(parent, NULL);
                skip();
        }
        change(root);
        assert_int_equal(snapshot_commit(s, COMPRESSION_NONE, 1, 0, lp, &info, &empty, &err), 0);
        snapshot_free(s);
        assert_true(tar_has(lp, "opt/dir/.wh..wh..opq"));
        assert_true(tar_has(lp, "opt/dir/z"));
        layer_info_clear(&info);
        assert_int_equal(fs_remove_tree(parent, NULL), 0);
        free(root);
        free(lp);
        free(parent);
}

/* HOIST_BUILD_SNAPSHOT picks the way for AUTO. */
static void test_env_override(void **state)
{
        (void)state;
        char *root = tmpdir();
        struct snapshot *s = NULL;
        struct hoist_error *err = NULL;

        setenv("HOIST_BUILD_SNAPSHOT", "walk", 1);
        assert_int_equal(snapshot_begin(root, SNAPSHOT_AUTO, &s, &err), 0);
        unsetenv("HOIST_BUILD_SNAPSHOT");
        assert_int_equal(snapshot_mode_of(s), SNAPSHOT_WALK);
        snapshot_free(s);
        assert_int_equal(fs_remove_tree(root, NULL), 0);
        free(root);
}

/* Where overlay cannot be mounted (here: a path overlay's options cannot
 * carry), AUTO scans instead and OVERLAY says why. */
static void test_auto_falls_back(void **state)
{
        (void)state;
        char *parent = tmpdir();
        char *root = path_join(parent, "root,fs");
        struct snapshot *s = NULL;
        struct hoist_error *err = NULL;
        int n;

        assert_int_equal(mkdir(root, 0755), 0);
        assert_int_equal(snapshot_begin(root, SNAPSHOT_OVERLAY, &s, &err), -1);
        assert_non_null(strstr(err->msg, "root,fs"));
        hoist_error_release(&err);
        assert_int_equal(snapshot_begin(root, SNAPSHOT_AUTO, &s, &err), 0);
        assert_int_equal(snapshot_mode_of(s), SNAPSHOT_WALK);
        snapshot_free(s);
        count_siblings(parent, &n);
        assert_int_equal(n, 1); /* no upper directory left behind */
        assert_int_equal(fs_remove_tree(parent, NULL), 0);
        free(root);
        free(parent);
}

static void test_missing_root(void **state)
{
        (void)state;
        struct snapshot *s = NULL;
        struct hoist_error *err = NULL;

        assert_int_equal(snapshot_begin("/nonexistent/rootfs", SNAPSHOT_AUTO, &s, &err), -1);
        assert_non_null(strstr(err->msg, "'/nonexistent/rootfs'"));
        hoist_error_free(err);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_overlay_step),   cmocka_unit_test(test_walk_step),
                cmocka_unit_test(test_empty),          cmocka_unit_test(test_overlay_discard),
                cmocka_unit_test(test_overlay_opaque), cmocka_unit_test(test_missing_root),
                cmocka_unit_test(test_env_override),   cmocka_unit_test(test_auto_falls_back),
        };

        if (geteuid() != 0) {
                printf("test_snapshot: skipped, needs root (overlay mounts, owners)\n");
                return 0;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
