/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fsutil.h"
#include "runner/image/layer.h"
#include "xalloc.h"

static char *tmpdir(void)
{
        char *d = xstrdup("/tmp/hoist-test-layer-XXXXXX");

        assert_non_null(mkdtemp(d));
        return d;
}

static void put(const char *root, const char *rel, const char *content, mode_t mode)
{
        char *p = path_join(root, rel);
        char *dir = xstrdup(p);

        *strrchr(dir, '/') = '\0';
        assert_int_equal(fs_mkdir_p(dir, 0755, NULL), 0);
        assert_int_equal(fs_write_file_atomic(p, content, strlen(content), mode, NULL), 0);
        free(dir);
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

static char *slurp(const char *root, const char *rel)
{
        char *p = path_join(root, rel);
        char *data = NULL;
        size_t len;

        assert_int_equal(fs_read_file(p, &data, &len, NULL), 0);
        free(p);
        return data;
}

struct entry_list {
        char *names[64];
        char types[64];
        int n;
        int pax; /* pax extended headers seen */
};

/* Lists the entries of a (compressed) tar in order. */
static void list_tar(const char *path, struct entry_list *l)
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;

        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        assert_int_equal(archive_read_open_filename(a, path, 4096), ARCHIVE_OK);
        memset(l, 0, sizeof *l);
        while (archive_read_next_header(a, &e) == ARCHIVE_OK && l->n < 64) {
                const char *un = archive_entry_uname(e), *gn = archive_entry_gname(e);
                assert_true(un == NULL || *un == '\0');
                assert_true(gn == NULL || *gn == '\0');
                assert_true(archive_entry_mtime(e) <= 1000);
                l->names[l->n] = xstrdup(archive_entry_pathname(e));
                l->types[l->n] = archive_entry_hardlink(e)               ? 'h'
                                 : archive_entry_filetype(e) == AE_IFDIR ? 'd'
                                 : archive_entry_filetype(e) == AE_IFLNK ? 'l'
                                                                         : 'f';
                l->n++;
        }
        archive_read_free(a);
}

static void list_free(struct entry_list *l)
{
        for (int i = 0; i < l->n; i++)
                free(l->names[i]);
}

static void make_tree(const char *d)
{
        char *p;

        put(d, "b/file", "bee", 0644);
        put(d, "a-b", "dash", 0600);
        put(d, "a/z", "zed", 0755);
        put(d, "a/y", "why", 0644);
        p = path_join(d, "a/link");
        assert_int_equal(symlink("../b/file", p), 0);
        free(p);
        char *src = path_join(d, "a/y"), *dst = path_join(d, "a/y-hard");
        assert_int_equal(link(src, dst), 0);
        assert_int_equal(setxattr(src, "user.hoist", "v1", 2, 0), 0);
        free(src);
        free(dst);
}

static void test_write_dir_sorted_reproducible(void **state)
{
        (void)state;
        char *d1 = tmpdir(), *d2 = tmpdir(), *out = tmpdir();
        char *l1 = path_join(out, "l1"), *l2 = path_join(out, "l2");
        struct layer_info i1 = {0}, i2 = {0};
        struct hoist_error *err = NULL;
        struct entry_list l;

        make_tree(d1);
        sleep(1); /* different mtimes, clamped away */
        make_tree(d2);
        assert_int_equal(
                layer_write_dir(d1, "/opt/app", NULL, COMPRESSION_GZIP, 1000, l1, &i1, &err), 0);
        assert_int_equal(
                layer_write_dir(d2, "opt/app/", NULL, COMPRESSION_GZIP, 1000, l2, &i2, &err), 0);
        assert_string_equal(i1.digest, i2.digest);
        assert_string_equal(i1.diff_id, i2.diff_id);
        assert_string_equal(i1.media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
        list_tar(l1, &l);
        static const char *want[] = {"opt/",           "opt/app/",    "opt/app/a/",
                                     "opt/app/a/link", "opt/app/a/y", "opt/app/a/y-hard",
                                     "opt/app/a/z",    "opt/app/a-b", "opt/app/b/",
                                     "opt/app/b/file"};
        assert_int_equal(l.n, 10);
        for (int i = 0; i < l.n; i++)
                assert_string_equal(l.names[i], want[i]);
        assert_int_equal(l.types[3], 'l');
        assert_int_equal(l.types[5], 'h');
        list_free(&l);
        layer_info_clear(&i1);
        layer_info_clear(&i2);
        assert_int_equal(fs_remove_tree(d1, NULL), 0);
        assert_int_equal(fs_remove_tree(d2, NULL), 0);
        assert_int_equal(fs_remove_tree(out, NULL), 0);
        free(d1);
        free(d2);
        free(out);
        free(l1);
        free(l2);
}

/* A short-named, small layer is plain ustar: no pax header. */
static void test_ustar_unless_needed(void **state)
{
        (void)state;
        char *out = tmpdir(), *src = tmpdir();
        char *lp = path_join(out, "l.tar");
        struct layer_writer *w = NULL;
        struct layer_info info = {0};
        struct hoist_error *err = NULL;
        char *data = NULL;
        size_t len;
        char longname[300];

        put(src, "f", "x", 0644);
        char *f = path_join(src, "f");
        memset(longname, 'n', sizeof longname - 1);
        longname[sizeof longname - 1] = '\0';
        assert_int_equal(layer_writer_new(lp, COMPRESSION_NONE, 1, 0, &w, &err), 0);
        assert_int_equal(layer_writer_add_path(w, "etc/short", f, NULL, &err), 0);
        assert_int_equal(layer_writer_finish(w, &info, &err), 0);
        layer_writer_free(w);
        assert_int_equal(fs_read_file(lp, &data, &len, NULL), 0);
        assert_int_equal(len, 512 * 4); /* header, data, two end blocks */
        assert_int_equal(data[156], '0');
        assert_memory_equal(data + 257,
                            "ustar\0"
                            "00",
                            8);
        assert_string_equal(info.digest, info.diff_id);
        free(data);
        layer_info_clear(&info);

        /* A 299-byte name needs pax; the path survives a round trip. */
        const struct layer_owner big = {.uid = 5000000, .gid = 7, .mode = 04755};
        assert_int_equal(layer_writer_new(lp, COMPRESSION_NONE, 1, 0, &w, &err), 0);
        assert_int_equal(layer_writer_add_path(w, longname, f, &big, &err), 0);
        assert_int_equal(layer_writer_finish(w, &info, &err), 0);
        layer_writer_free(w);
        assert_int_equal(fs_read_file(lp, &data, &len, NULL), 0);
        assert_int_equal(data[156], 'x');
        free(data);
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        archive_read_support_format_tar(a);
        assert_int_equal(archive_read_open_filename(a, lp, 4096), ARCHIVE_OK);
        assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
        assert_string_equal(archive_entry_pathname(e), longname);
        assert_int_equal(archive_entry_uid(e), 5000000);
        assert_int_equal(archive_entry_gid(e), 7);
        assert_int_equal(archive_entry_perm(e), 04755);
        archive_read_free(a);
        layer_info_clear(&info);
        assert_int_equal(fs_remove_tree(out, NULL), 0);
        assert_int_equal(fs_remove_tree(src, NULL), 0);
        free(f);
        free(lp);
        free(out);
        free(src);
}

/* Round trip: a tree written as a layer and unpacked elsewhere is the same
 * tree, owners, modes, links and xattrs included. */
static void test_roundtrip(void **state)
{
        (void)state;
        struct layer_info info = {0};
        struct hoist_error *err = NULL;
        struct stat a, b;
        char v[8];

        if (geteuid() != 0) {
                print_message("skipped: owners need root\n");
                skip();
        }
        char *src = tmpdir(), *root = tmpdir(), *out = tmpdir();
        char *lp = path_join(out, "l.tar.zst");
        make_tree(src);
        char *z = path_join(src, "a/z");
        assert_int_equal(lchown(z, 1234, 5678), 0);
        assert_int_equal(chmod(z, 04711), 0);
        /* cap_net_bind_service=ep, set last: chown clears capabilities */
        static const uint32_t cap[5] = {0x02000001, 1u << 10, 0, 0, 0};
        assert_int_equal(setxattr(z, "security.capability", cap, sizeof cap, 0), 0);
        free(z);
        assert_int_equal(layer_write_dir(src, "/", NULL, COMPRESSION_ZSTD, 0, lp, &info, &err), 0);
        assert_string_equal(info.media_type, "application/vnd.oci.image.layer.v1.tar+zstd");
        assert_int_equal(layer_unpack(lp, info.media_type, root, &err), 0);
        char *rz = path_join(root, "a/z");
        assert_int_equal(lstat(rz, &a), 0);
        assert_int_equal(a.st_uid, 1234);
        assert_int_equal(a.st_gid, 5678);
        assert_int_equal(a.st_mode & 07777, 04711);
        assert_int_equal(a.st_mtime, 0);
        uint32_t got[5] = {0};
        assert_int_equal(getxattr(rz, "security.capability", got, sizeof got), sizeof got);
        assert_int_equal(got[1], 1u << 10);
        free(rz);
        char *y = path_join(root, "a/y"), *yh = path_join(root, "a/y-hard");
        assert_int_equal(lstat(y, &a), 0);
        assert_int_equal(lstat(yh, &b), 0);
        assert_int_equal(a.st_ino, b.st_ino);
        assert_int_equal(getxattr(y, "user.hoist", v, sizeof v), 2);
        assert_memory_equal(v, "v1", 2);
        free(y);
        free(yh);
        char *s = slurp(root, "a/link");
        assert_string_equal(s, "bee");
        free(s);
        layer_info_clear(&info);
        assert_int_equal(fs_remove_tree(src, NULL), 0);
        assert_int_equal(fs_remove_tree(root, NULL), 0);
        assert_int_equal(fs_remove_tree(out, NULL), 0);
        free(lp);
        free(src);
        free(root);
        free(out);
}

/* Writes a tar by hand with libarchive: entries in the order given.
 * Each spec is "f:name:content", "d:name", "l:name:target" or "h:name:target". */
static void write_tar(const char *path, const char *const *specs)
{
        struct archive *a = archive_write_new();

        archive_write_set_format_pax_restricted(a);
        assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
        for (; *specs; specs++) {
                char *s = xstrdup(*specs);
                char *name = s + 2, *arg = strchr(name, ':');
                struct archive_entry *e = archive_entry_new();
                if (arg)
                        *arg++ = '\0';
                archive_entry_set_pathname(e, name);
                archive_entry_set_mode(e, (s[0] == 'd'   ? AE_IFDIR
                                           : s[0] == 'l' ? AE_IFLNK
                                                         : AE_IFREG) |
                                                  0755);
                if (s[0] == 'l')
                        archive_entry_set_symlink(e, arg);
                if (s[0] == 'h')
                        archive_entry_set_hardlink(e, arg);
                if (s[0] == 'f')
                        archive_entry_set_size(e, (la_int64_t)strlen(arg));
                assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                if (s[0] == 'f')
                        assert_int_equal(archive_write_data(a, arg, strlen(arg)),
                                         (la_ssize_t)strlen(arg));
                archive_entry_free(e);
                free(s);
        }
        archive_write_free(a);
}

static void test_whiteouts(void **state)
{
        (void)state;
        char *root = tmpdir(), *out = tmpdir();
        char *lp = path_join(out, "l.tar");
        struct hoist_error *err = NULL;

        put(root, "a/keep", "k", 0644);
        put(root, "a/gone", "g", 0644);
        put(root, "a/dir/deep", "d", 0644);
        put(root, "b/sub/x", "x", 0644);
        put(root, "b/old", "o", 0644);
        put(root, "c/lower", "l", 0644);
        /* this layer's b/new comes before the opaque marker, c/added after */
        static const char *const specs[] = {
                "f:a/.wh.gone:",
                "f:a/.wh.dir:",
                "d:b",
                "f:b/new:n",
                "d:b/sub",
                "f:b/sub/mine:m",
                "f:b/.wh..wh..opq:",
                "d:c",
                "f:c/.wh..wh..opq:",
                "f:c/added:a",
                "f:.wh.nothing-here:",
                NULL,
        };
        write_tar(lp, specs);
        assert_int_equal(layer_unpack(lp, NULL, root, &err), 0);
        assert_true(exists(root, "a/keep"));
        assert_false(exists(root, "a/gone"));
        assert_false(exists(root, "a/dir"));
        assert_true(exists(root, "b/new"));
        assert_true(exists(root, "b/sub/mine"));
        assert_false(exists(root, "b/sub/x"));
        assert_false(exists(root, "b/old"));
        assert_true(exists(root, "c/added"));
        assert_false(exists(root, "c/lower"));
        assert_false(exists(root, "b/.wh..wh..opq"));
        assert_false(exists(root, "a/.wh.gone"));
        assert_int_equal(fs_remove_tree(root, NULL), 0);
        assert_int_equal(fs_remove_tree(out, NULL), 0);
        free(lp);
        free(root);
        free(out);
}

static enum layer_path lookup(const char *tar, const char *path, char **target)
{
        enum layer_path what;
        struct hoist_error *err = NULL;

        *target = NULL;
        assert_int_equal(layer_lookup(tar, NULL, path, &what, target, &err), 0);
        return what;
}

/* layer_lookup reads what one layer says about a path, whiteouts included. */
static void test_lookup(void **state)
{
        (void)state;
        char *out = tmpdir();
        char *lp = path_join(out, "l.tar");
        char *t = NULL;
        static const char *const specs[] = {
                "f:./usr/local/bin/tool:x", /* no entry for the directory itself */
                "d:etc",
                "f:etc/motd:m",
                "l:conf:/etc",
                "f:gone/.wh..wh..opq:",
                "f:opt/.wh.old:",
                "f:keep/.wh.x:",
                "d:keep/x", /* the same layer adds it back: the entry wins */
                "h:etc/hard:etc/motd",
                NULL,
        };

        write_tar(lp, specs);
        assert_int_equal(lookup(lp, "usr/local/bin", &t), LAYER_PATH_DIR);
        assert_int_equal(lookup(lp, "usr", &t), LAYER_PATH_DIR);
        assert_int_equal(lookup(lp, "usr/local/bin/tool", &t), LAYER_PATH_OTHER);
        assert_int_equal(lookup(lp, "etc", &t), LAYER_PATH_DIR);
        assert_int_equal(lookup(lp, "etc/hard", &t), LAYER_PATH_OTHER);
        assert_int_equal(lookup(lp, "conf", &t), LAYER_PATH_SYMLINK);
        assert_string_equal(t, "/etc");
        free(t);
        assert_int_equal(lookup(lp, "gone", &t), LAYER_PATH_DIR);       /* opaque: a directory */
        assert_int_equal(lookup(lp, "gone/a", &t), LAYER_PATH_REMOVED); /* hidden below */
        assert_int_equal(lookup(lp, "opt/old", &t), LAYER_PATH_REMOVED);
        assert_int_equal(lookup(lp, "opt/old/deeper", &t), LAYER_PATH_REMOVED);
        assert_int_equal(lookup(lp, "opt/older", &t), LAYER_PATH_UNTOUCHED);
        assert_int_equal(lookup(lp, "keep/x", &t), LAYER_PATH_DIR);
        assert_int_equal(lookup(lp, "elsewhere", &t), LAYER_PATH_UNTOUCHED);
        assert_null(t);
        /* several names in one read: each as alone */
        {
                static const char *const names[] = {"conf", "etc/motd", "opt/old", "usr/local",
                                                    "nowhere"};
                static const enum layer_path want[] = {LAYER_PATH_SYMLINK, LAYER_PATH_OTHER,
                                                       LAYER_PATH_REMOVED, LAYER_PATH_DIR,
                                                       LAYER_PATH_UNTOUCHED};
                enum layer_path got[5];
                char *targets[5];
                struct hoist_error *err = NULL;

                assert_int_equal(layer_lookup_paths(lp, NULL, names, 5, got, targets, &err), 0);
                for (size_t i = 0; i < 5; i++) {
                        assert_int_equal(got[i], want[i]);
                        if (i > 0)
                                assert_null(targets[i]);
                }
                assert_string_equal(targets[0], "/etc");
                free(targets[0]);
        }
        assert_int_equal(fs_remove_tree(out, NULL), 0);
        free(lp);
        free(out);
}

/* The layer writer's whiteouts and opaque markers are what unpack reads. */
static void test_writer_whiteouts(void **state)
{
        (void)state;
        char *root = tmpdir(), *out = tmpdir(), *src = tmpdir();
        char *lp = path_join(out, "l.tar.gz");
        struct layer_writer *w = NULL;
        struct layer_info info = {0};
        struct hoist_error *err = NULL;
        struct entry_list l;

        put(root, "x/old", "o", 0644);
        put(root, "y/z", "z", 0644);
        put(src, "new", "n", 0644);
        char *nf = path_join(src, "new");
        assert_int_equal(layer_writer_new(lp, COMPRESSION_GZIP, 2, 0, &w, &err), 0);
        assert_int_equal(layer_writer_add_path(w, "x/new", nf, NULL, &err), 0);
        assert_int_equal(layer_writer_add_path(w, "x", src, NULL, &err), 0);
        assert_int_equal(layer_writer_add_opaque(w, "x", &err), 0);
        assert_int_equal(layer_writer_add_whiteout(w, "/y/z", &err), 0);
        assert_int_equal(layer_writer_add_whiteout(w, "../y", &err), -1);
        assert_non_null(strstr(err->msg, "'../y'"));
        hoist_error_release(&err);
        assert_int_equal(layer_writer_finish(w, &info, &err), 0);
        layer_writer_free(w);
        list_tar(lp, &l);
        assert_int_equal(l.n, 4);
        assert_string_equal(l.names[0], "x/");
        assert_string_equal(l.names[1], "x/.wh..wh..opq");
        assert_string_equal(l.names[2], "x/new");
        assert_string_equal(l.names[3], "y/.wh.z");
        list_free(&l);
        assert_int_equal(layer_unpack(lp, info.media_type, root, &err), 0);
        assert_false(exists(root, "x/old"));
        assert_true(exists(root, "x/new"));
        assert_false(exists(root, "y/z"));
        assert_true(exists(root, "y"));
        layer_info_clear(&info);
        free(nf);
        free(lp);
        assert_int_equal(fs_remove_tree(root, NULL), 0);
        assert_int_equal(fs_remove_tree(out, NULL), 0);
        assert_int_equal(fs_remove_tree(src, NULL), 0);
        free(root);
        free(out);
        free(src);
}

static void test_refuses_escapes(void **state)
{
        (void)state;
        char *parent = tmpdir(), *out = tmpdir();
        char *root = path_join(parent, "root"), *lp = path_join(out, "l.tar");
        struct hoist_error *err = NULL;

        assert_int_equal(mkdir(root, 0755), 0);
        static const char *const dotdot[] = {"f:ok:1", "f:../evil:x", NULL};
        write_tar(lp, dotdot);
        assert_int_equal(layer_unpack(lp, NULL, root, &err), -1);
        assert_non_null(strstr(err->msg, "'../evil'"));
        assert_non_null(strstr(err->msg, "escapes"));
        hoist_error_release(&err);
        assert_false(exists(parent, "evil"));

        /* Symlinks, absolute or climbing, resolve inside the root. */
        static const char *const links[] = {
                "l:abs:/",           "l:up:../../../..",     "f:abs/escaped-abs:a",
                "f:up/escaped-up:u", "h:hard:up/escaped-up", NULL,
        };
        write_tar(lp, links);
        assert_int_equal(layer_unpack(lp, NULL, root, &err), 0);
        assert_true(exists(root, "escaped-abs"));
        assert_true(exists(root, "escaped-up"));
        assert_true(exists(root, "hard"));
        assert_false(exists(parent, "escaped-up"));
        assert_false(exists("/", "escaped-abs"));
        char *s = slurp(root, "hard");
        assert_string_equal(s, "u");
        free(s);

        /* A whiteout through a symlink stays inside too. */
        put(parent, "outside", "o", 0644);
        static const char *const wh[] = {"l:p:..", "f:p/.wh.outside:", NULL};
        write_tar(lp, wh);
        assert_int_equal(layer_unpack(lp, NULL, root, &err), 0);
        assert_true(exists(parent, "outside"));
        assert_int_equal(fs_remove_tree(parent, NULL), 0);
        assert_int_equal(fs_remove_tree(out, NULL), 0);
        free(lp);
        free(root);
        free(parent);
        free(out);
}

static void test_replace_types(void **state)
{
        (void)state;
        char *root = tmpdir(), *out = tmpdir();
        char *lp = path_join(out, "l.tar");
        struct hoist_error *err = NULL;

        put(root, "was-dir/child", "c", 0644);
        put(root, "was-file", "f", 0644);
        static const char *const specs[] = {"f:was-dir:now a file", "d:was-file",
                                            "f:was-file/inside:i", NULL};
        write_tar(lp, specs);
        assert_int_equal(layer_unpack(lp, NULL, root, &err), 0);
        char *s = slurp(root, "was-dir");
        assert_string_equal(s, "now a file");
        free(s);
        assert_true(exists(root, "was-file/inside"));
        assert_int_equal(layer_unpack("/nonexistent/layer", NULL, root, &err), -1);
        assert_non_null(strstr(err->msg, "/nonexistent/layer"));
        hoist_error_release(&err);
        assert_int_equal(fs_remove_tree(root, NULL), 0);
        assert_int_equal(fs_remove_tree(out, NULL), 0);
        free(lp);
        free(root);
        free(out);
}

/* No entries (or only ones a layer cannot carry) is still a valid tar. */
static void test_empty_and_fifo(void **state)
{
        (void)state;
        char *out = tmpdir();
        char *lp = path_join(out, "l.tar"), *fifo = path_join(out, "fifo");
        struct layer_writer *w = NULL;
        struct layer_info info = {0};
        struct hoist_error *err = NULL;
        char *data = NULL;
        size_t len;

        assert_int_equal(mkfifo(fifo, 0644), 0);
        assert_int_equal(layer_writer_new(lp, COMPRESSION_NONE, 1, 0, &w, &err), 0);
        assert_int_equal(layer_writer_add_path(w, "run/fifo", fifo, NULL, &err), 0);
        assert_int_equal(layer_writer_finish(w, &info, &err), 0);
        layer_writer_free(w);
        assert_int_equal(fs_read_file(lp, &data, &len, NULL), 0);
        assert_int_equal(len, 1024);
        for (size_t i = 0; i < len; i++)
                assert_int_equal(data[i], 0);
        free(data);
        layer_info_clear(&info);
        assert_int_equal(fs_remove_tree(out, NULL), 0);
        free(lp);
        free(fifo);
        free(out);
}

static void test_epoch_from_env(void **state)
{
        (void)state;
        unsetenv("SOURCE_DATE_EPOCH");
        assert_int_equal(layer_epoch_from_env(), 0);
        setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
        assert_int_equal(layer_epoch_from_env(), 1700000000);
        setenv("SOURCE_DATE_EPOCH", "soon", 1);
        assert_int_equal(layer_epoch_from_env(), 0);
        unsetenv("SOURCE_DATE_EPOCH");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_write_dir_sorted_reproducible),
                cmocka_unit_test(test_ustar_unless_needed),
                cmocka_unit_test(test_roundtrip),
                cmocka_unit_test(test_whiteouts),
                cmocka_unit_test(test_lookup),
                cmocka_unit_test(test_writer_whiteouts),
                cmocka_unit_test(test_refuses_escapes),
                cmocka_unit_test(test_replace_types),
                cmocka_unit_test(test_empty_and_fifo),
                cmocka_unit_test(test_epoch_from_env),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
