/* SPDX-License-Identifier: MIT */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "archive.h"
#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "xalloc.h"

struct fixture {
        char dir[64];
        char *root; /* DIR/root: the extraction root */
};

static int setup(void **state)
{
        struct fixture *f = xzalloc(sizeof *f);

        strcpy(f->dir, "/tmp/hoist-archive-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->root = path_join(f->dir, "root");
        assert_int_equal(mkdir(f->root, 0755), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        assert_int_equal(fs_remove_tree(f->dir, NULL), 0);
        free(f->root);
        free(f);
        return 0;
}

static void write_text(const char *dir, const char *name, const char *text, mode_t mode)
{
        _cleanup_free_ char *p = path_join(dir, name);

        assert_int_equal(fs_write_file_atomic(p, text, strlen(text), mode, NULL), 0);
}

static long count_entries(const char *dir)
{
        long n = fs_count_dir(dir);

        assert_true(n >= 0);
        return n;
}

/* Asserts that trees A and B hold the same names, types, modes, bytes and
 * link targets. */
static void assert_same_tree(const char *a, const char *b)
{
        struct dirent **names;
        int n = scandir(a, &names, NULL, alphasort);

        assert_true(n >= 0);
        assert_int_equal(count_entries(a), count_entries(b));
        for (int i = 0; i < n; i++) {
                const char *name = names[i]->d_name;
                if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
                        _cleanup_free_ char *pa = path_join(a, name);
                        _cleanup_free_ char *pb = path_join(b, name);
                        struct stat sa, sb;
                        assert_int_equal(lstat(pa, &sa), 0);
                        assert_int_equal(lstat(pb, &sb), 0);
                        assert_int_equal(sa.st_mode, sb.st_mode);
                        if (S_ISDIR(sa.st_mode)) {
                                assert_same_tree(pa, pb);
                        } else if (S_ISLNK(sa.st_mode)) {
                                char ta[PATH_MAX] = {0}, tb[PATH_MAX] = {0};
                                assert_true(readlink(pa, ta, sizeof ta - 1) > 0);
                                assert_true(readlink(pb, tb, sizeof tb - 1) > 0);
                                assert_string_equal(ta, tb);
                        } else {
                                _cleanup_free_ char *da = NULL, *db = NULL;
                                size_t la, lb;
                                assert_int_equal(fs_read_file(pa, &da, &la, NULL), 0);
                                assert_int_equal(fs_read_file(pb, &db, &lb, NULL), 0);
                                assert_int_equal(la, lb);
                                assert_memory_equal(da, db, la);
                        }
                }
                free(names[i]);
        }
        free(names);
}

static void make_tree(const char *src)
{
        _cleanup_free_ char *sub = path_join(src, "sub/deeper");
        _cleanup_free_ char *empty = path_join(src, "empty");
        _cleanup_free_ char *link = path_join(src, "link");
        _cleanup_free_ char *big = path_join(src, "sub/big.bin");
        _cleanup_free_ char *data = xmalloc(300000);

        assert_int_equal(fs_mkdir_p(sub, 0755, NULL), 0);
        assert_int_equal(mkdir(empty, 0700), 0);
        write_text(src, "a.txt", "alpha\n", 0644);
        write_text(src, "run.sh", "#!/bin/sh\necho hi\n", 0755);
        write_text(src, "sub/deeper/c", "", 0600);
        for (size_t i = 0; i < 300000; i++)
                data[i] = (char)(i * 7 + i / 1000);
        assert_int_equal(fs_write_file_atomic(big, data, 300000, 0644, NULL), 0);
        assert_int_equal(symlink("sub/big.bin", link), 0);
}

static void test_round_trip(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *src = path_join(f->dir, "src");
        _cleanup_free_ char *tar = path_join(f->dir, "out.tar");
        char hex[65], check[65];
        uint64_t size = 0, check_size = 0;
        struct hoist_error *err = NULL;

        assert_int_equal(mkdir(src, 0755), 0);
        make_tree(src);
        assert_int_equal(archive_create_tar(src, tar, hex, &size, &err), 0);
        assert_null(err);
        assert_true(digest_hex_valid(hex));
        assert_int_equal(digest_file_hex(tar, check, &check_size, NULL), 0);
        assert_string_equal(hex, check);
        assert_int_equal(size, check_size);
        assert_true(archive_is_archive(tar));

        assert_int_equal(archive_extract_file(tar, f->root, &err), 0);
        assert_null(err);
        assert_same_tree(src, f->root);
}

static void test_reproducible(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *src = path_join(f->dir, "src");
        _cleanup_free_ char *t1 = path_join(f->dir, "1.tar");
        _cleanup_free_ char *t2 = path_join(f->dir, "2.tar");
        _cleanup_free_ char *a = path_join(src, "a.txt");
        char h1[65], h2[65];
        uint64_t s1, s2;

        assert_int_equal(mkdir(src, 0755), 0);
        make_tree(src);
        assert_int_equal(archive_create_tar(src, t1, h1, &s1, NULL), 0);
        /* A new mtime must not change the tar: mtimes are clamped. */
        struct timespec ts[2] = {{.tv_sec = 1700000000}, {.tv_sec = 1700000000}};
        assert_int_equal(utimensat(AT_FDCWD, a, ts, 0), 0);
        assert_int_equal(archive_create_tar(src, t2, h2, &s2, NULL), 0);
        assert_string_equal(h1, h2);
        assert_int_equal(s1, s2);

        /* SOURCE_DATE_EPOCH clamps, so an older mtime survives. */
        setenv("SOURCE_DATE_EPOCH", "1800000000", 1);
        assert_int_equal(archive_create_tar(src, t2, h2, &s2, NULL), 0);
        unsetenv("SOURCE_DATE_EPOCH");
        assert_string_not_equal(h1, h2);
        assert_int_equal(archive_extract_file(t2, f->root, NULL), 0);
        _cleanup_free_ char *out = path_join(f->root, "a.txt");
        struct stat st;
        assert_int_equal(stat(out, &st), 0);
        assert_int_equal(st.st_mtime, 1700000000);
}

/* ---- hostile archives, built with libarchive's writer ---- */

struct spec_entry {
        mode_t type; /* AE_IF*; 0 for a hard link */
        const char *name;
        const char *target; /* symlink or hard link target */
        const char *data;
};

static void build_archive(const char *path, int zip, const struct spec_entry *entries, size_t n)
{
        struct archive *a = archive_write_new();

        if (zip)
                archive_write_set_format_zip(a);
        else
                archive_write_set_format_pax(a);
        assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *e = archive_entry_new();
                const struct spec_entry *s = &entries[i];
                archive_entry_set_pathname(e, s->name);
                archive_entry_set_filetype(e, s->type ? s->type : AE_IFREG);
                archive_entry_set_perm(e, s->type == AE_IFDIR ? 0755 : 0644);
                if (s->type == AE_IFLNK)
                        archive_entry_set_symlink(e, s->target);
                if (s->type == 0)
                        archive_entry_set_hardlink(e, s->target);
                if (s->type == AE_IFCHR)
                        archive_entry_set_rdev(e, makedev(1, 3));
                if (s->data)
                        archive_entry_set_size(e, (la_int64_t)strlen(s->data));
                assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
                if (s->data)
                        assert_int_equal(archive_write_data(a, s->data, strlen(s->data)),
                                         (la_ssize_t)strlen(s->data));
                archive_entry_free(e);
        }
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
}

/* Extracts a hostile archive and checks the refusal: an error naming
 * WANT_ENTRY, an empty root, and nothing new beside it. */
static void assert_refused(struct fixture *f, const struct spec_entry *entries, size_t n,
                           const char *want_entry, const char *want_why)
{
        _cleanup_free_ char *tar = path_join(f->dir, "evil.tar");
        struct hoist_error *err = NULL;

        build_archive(tar, 0, entries, n);
        assert_int_equal(archive_extract_file(tar, f->root, &err), -1);
        assert_non_null(err);
        _cleanup_free_ char *quoted = xasprintf("entry '%s'", want_entry);
        if (strstr(err->msg, quoted) == NULL || strstr(err->msg, want_why) == NULL ||
            strstr(err->msg, "refusing") == NULL)
                fail_msg("unexpected error: %s", err->msg);
        assert_non_null(strstr(err->msg, "evil.tar"));
        hoist_error_release(&err);
        assert_int_equal(count_entries(f->root), 0);
        assert_int_equal(count_entries(f->dir), 2); /* root and evil.tar */
}

static void test_refuses_absolute(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *abs = path_join(f->dir, "abs-escaped");
        const struct spec_entry e[] = {
                {AE_IFREG, "ok.txt", NULL, "fine"},
                {AE_IFREG, abs, NULL, "pwned"},
        };

        assert_refused(f, e, 2, abs, "escapes the extraction root");
        assert_false(fs_exists(abs));
}

static void test_refuses_dotdot(void **state)
{
        struct fixture *f = *state;
        const struct spec_entry e[] = {
                {AE_IFREG, "ok.txt", NULL, "fine"},
                {AE_IFREG, "sub/../../escaped", NULL, "pwned"},
        };

        assert_refused(f, e, 2, "sub/../../escaped", "escapes the extraction root");
}

static void test_refuses_symlink_escape(void **state)
{
        struct fixture *f = *state;
        const struct spec_entry e[] = {
                {AE_IFREG, "ok.txt", NULL, "fine"},
                {AE_IFLNK, "link", "../..", NULL},
                {AE_IFREG, "link/pwned", NULL, "pwned"},
        };

        assert_refused(f, e, 3, "link", "symlink that escapes");
}

static void test_refuses_absolute_symlink(void **state)
{
        struct fixture *f = *state;
        const struct spec_entry e[] = {
                {AE_IFLNK, "etc", "/etc", NULL},
                {AE_IFREG, "etc/hoist-pwned", NULL, "pwned"},
        };

        assert_refused(f, e, 2, "etc", "symlink that escapes");
        assert_false(fs_exists("/etc/hoist-pwned"));
}

static void test_refuses_path_through_symlink(void **state)
{
        struct fixture *f = *state;
        /* The link stays inside, but writing through any link is refused:
         * the next archive could retarget it. */
        const struct spec_entry e[] = {
                {AE_IFDIR, "d", NULL, NULL},
                {AE_IFLNK, "l", "d", NULL},
                {AE_IFREG, "l/x", NULL, "through"},
        };

        assert_refused(f, e, 3, "l/x", "goes through the symlink 'l'");
}

static void test_refuses_link_retargeted_later(void **state)
{
        struct fixture *f = *state;
        /* "b" looks harmless until "a/l" makes a/l/.. the root's parent. */
        const struct spec_entry e[] = {
                {AE_IFLNK, "b", "a/l/..", NULL},
                {AE_IFDIR, "a", NULL, NULL},
                {AE_IFLNK, "a/l", "..", NULL},
        };

        assert_refused(f, e, 3, "b", "symlink that escapes");
}

static void test_refuses_hardlink_to_etc_passwd(void **state)
{
        struct fixture *f = *state;
        const struct spec_entry e[] = {
                {AE_IFREG, "ok.txt", NULL, "fine"},
                {0, "passwd", "/etc/passwd", NULL},
        };

        assert_refused(f, e, 2, "passwd", "hard link that escapes");
}

static void test_refuses_hardlink_dotdot(void **state)
{
        struct fixture *f = *state;
        const struct spec_entry e[] = {
                {0, "h", "../outside", NULL},
        };

        assert_refused(f, e, 1, "h", "hard link that escapes");
}

/* A hard link to a symlink is a symlink too: "h" keeps the target that
 * "s" had before "s" was replaced, and "d -> ." makes it escape. */
static void test_refuses_hardlink_to_escaping_symlink(void **state)
{
        struct fixture *f = *state;
        const struct spec_entry e[] = {
                {AE_IFLNK, "s", "d/../x", NULL},
                {0, "h", "s", NULL},
                {AE_IFREG, "s", NULL, "now a file"},
                {AE_IFLNK, "d", ".", NULL},
        };

        assert_refused(f, e, 4, "h", "symlink that escapes");
}

/* Creates ENTRIES (in the order a tar of the tree would list them) under DIR. */
static void make_entries(const char *dir, const struct spec_entry *entries, size_t n)
{
        assert_int_equal(fs_mkdir_p(dir, 0755, NULL), 0);
        for (size_t i = 0; i < n; i++) {
                const struct spec_entry *s = &entries[i];
                _cleanup_free_ char *p = path_join(dir, s->name);
                if (s->type == AE_IFDIR)
                        assert_int_equal(mkdir(p, 0755), 0);
                else if (s->type == AE_IFLNK)
                        assert_int_equal(symlink(s->target, p), 0);
                else
                        write_text(dir, s->name, s->data ? s->data : "", 0644);
        }
}

/* What hoist submit checks (archive_check_tree) and what hoist-entrypoint
 * accepts (archive_extract_file) agree, whatever order the tar lists links
 * in: nothing is sent that the job would refuse, nothing is refused that it
 * would take. */
static void test_check_tree_agrees_with_extraction(void **state)
{
        struct fixture *f = *state;
        static const struct {
                const char *what;
                int accepted;
                struct spec_entry e[4];
                size_t n;
        } cases[] = {
                /* "l" comes after "a" in the tar: only the whole tree says
                 * that a/../.. is l's parent's parent, inside. */
                {"a link through a later link",
                 1,
                 {{AE_IFLNK, "a", "l/../../x", NULL},
                  {AE_IFDIR, "d", NULL, NULL},
                  {AE_IFDIR, "d/e", NULL, NULL},
                  {AE_IFLNK, "l", "d/e", NULL}},
                 4},
                {"a link up and back in",
                 1,
                 {{AE_IFDIR, "d", NULL, NULL},
                  {AE_IFLNK, "d/up", "../tool", NULL},
                  {AE_IFREG, "tool", NULL, "x"}},
                 3},
                {"a dangling link", 1, {{AE_IFLNK, "dang", "nothere/x", NULL}}, 1},
                {"an absolute link", 0, {{AE_IFLNK, "abs", "/etc", NULL}}, 1},
                {"a link above the root",
                 0,
                 {{AE_IFDIR, "d", NULL, NULL}, {AE_IFLNK, "d/s", "../d/../..", NULL}},
                 2},
                {"a link escaping through an earlier link",
                 0,
                 {{AE_IFDIR, "a", NULL, NULL},
                  {AE_IFLNK, "a/l", "..", NULL},
                  {AE_IFLNK, "b", "a/l/..", NULL}},
                 3},
                {"up past a missing name", 0, {{AE_IFLNK, "m", "nothere/../..", NULL}}, 1},
                {"a loop", 0, {{AE_IFLNK, "l1", "l2", NULL}, {AE_IFLNK, "l2", "l1", NULL}}, 2},
                {"a link through a link to the root",
                 0,
                 {{AE_IFLNK, "d", ".", NULL}, {AE_IFLNK, "s", "d/../x", NULL}},
                 2},
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                _cleanup_free_ char *src = xasprintf("%s/src%zu", f->dir, i);
                _cleanup_free_ char *root = xasprintf("%s/root%zu", f->dir, i);
                _cleanup_free_ char *tar = xasprintf("%s/%zu.tar", f->dir, i);
                struct hoist_error *err = NULL;
                char hex[65];

                make_entries(src, cases[i].e, cases[i].n);
                assert_int_equal(mkdir(root, 0755), 0);
                int checked = archive_check_tree(src, &err) == 0;
                if (checked != cases[i].accepted)
                        fail_msg("%s: archive_check_tree %s it (%s)", cases[i].what,
                                 checked ? "accepted" : "refused", err ? err->msg : "");
                hoist_error_release(&err);
                if (checked)
                        assert_int_equal(archive_create_tar(src, tar, hex, NULL, NULL), 0);
                else
                        build_archive(tar, 0, cases[i].e, cases[i].n);
                int extracted = archive_extract_file(tar, root, &err) == 0;
                if (extracted != checked)
                        fail_msg("%s: submit %s it, extraction %s it (%s)", cases[i].what,
                                 checked ? "accepted" : "refused",
                                 extracted ? "accepted" : "refused", err ? err->msg : "");
                hoist_error_release(&err);
        }
}

/* A tree with a symlink out of it is refused before anything is written,
 * naming the link, by the check and by tar creation alike. */
static void test_check_tree_names_the_link(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *src = path_join(f->dir, "src");
        _cleanup_free_ char *tar = path_join(f->dir, "out.tar");
        _cleanup_free_ char *secret = path_join(f->dir, "secret");
        const struct spec_entry e[] = {
                {AE_IFREG, "a.txt", NULL, "data"},
                {AE_IFDIR, "sub", NULL, NULL},
                {AE_IFLNK, "sub/ok", "../a.txt", NULL},
                {AE_IFLNK, "sub/out", "../../secret", NULL},
        };
        struct hoist_error *err = NULL;
        char hex[65];

        write_text(f->dir, "secret", "shadow", 0600);
        make_entries(src, e, 4);
        assert_int_equal(archive_check_tree(src, &err), -1);
        assert_non_null(strstr(err->msg, "symlink 'sub/out' -> '../../secret' leads outside"));
        hoist_error_release(&err);
        assert_int_equal(archive_create_tar(src, tar, hex, NULL, &err), -1);
        assert_non_null(strstr(err->msg, "'sub/out'"));
        hoist_error_release(&err);
        assert_false(fs_exists(tar));
        assert_int_equal(count_entries(f->dir), 3); /* root, secret, src */
        (void)secret;
}

static void test_refuses_device_node(void **state)
{
        struct fixture *f = *state;
        const struct spec_entry e[] = {
                {AE_IFREG, "ok.txt", NULL, "fine"},
                {AE_IFCHR, "null", NULL, NULL},
        };

        assert_refused(f, e, 2, "null", "is a device node");
}

static void test_refuses_fifo(void **state)
{
        struct fixture *f = *state;
        const struct spec_entry e[] = {
                {AE_IFDIR, "d", NULL, NULL},
                {AE_IFIFO, "d/pipe", NULL, NULL},
        };

        assert_refused(f, e, 2, "d/pipe", "is a fifo");
}

static void test_accepts_safe_links_and_drops_setuid(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *tar = path_join(f->dir, "ok.tar");
        _cleanup_free_ char *suid = path_join(f->root, "tool");
        _cleanup_free_ char *hard = path_join(f->root, "d/hard");
        _cleanup_free_ char *data = NULL;
        const struct spec_entry e[] = {
                {AE_IFREG, "./tool", NULL, "#!/bin/sh\n"},
                {AE_IFDIR, "d", NULL, NULL},
                {AE_IFLNK, "d/up", "../tool", NULL},
                {0, "d/hard", "tool", NULL},
        };
        struct archive *a = archive_write_new();
        struct stat st;

        /* A setuid root-owned file, written by hand for its mode. */
        archive_write_set_format_pax(a);
        assert_int_equal(archive_write_open_filename(a, tar), ARCHIVE_OK);
        for (size_t i = 0; i < 4; i++) {
                struct archive_entry *ent = archive_entry_new();
                archive_entry_set_pathname(ent, e[i].name);
                archive_entry_set_filetype(ent, e[i].type ? e[i].type : AE_IFREG);
                archive_entry_set_perm(ent, i == 0 ? 06755 : 0755);
                archive_entry_set_uid(ent, 4242);
                if (e[i].type == AE_IFLNK)
                        archive_entry_set_symlink(ent, e[i].target);
                if (e[i].type == 0)
                        archive_entry_set_hardlink(ent, e[i].target);
                if (e[i].data)
                        archive_entry_set_size(ent, (la_int64_t)strlen(e[i].data));
                assert_true(archive_write_header(a, ent) >= ARCHIVE_WARN);
                if (e[i].data)
                        archive_write_data(a, e[i].data, strlen(e[i].data));
                archive_entry_free(ent);
        }
        archive_write_close(a);
        archive_write_free(a);

        write_text(f->root, "existing", "kept", 0644);
        assert_int_equal(archive_extract_file(tar, f->root, NULL), 0);
        assert_int_equal(lstat(suid, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);
        assert_int_not_equal(st.st_uid, 4242);
        assert_int_equal(fs_read_file(hard, &data, NULL, NULL), 0);
        assert_string_equal(data, "#!/bin/sh\n");
        assert_int_equal(count_entries(f->root), 3); /* tool, d, existing */
}

static void test_zip(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *zip = path_join(f->dir, "data.zip");
        _cleanup_free_ char *out = path_join(f->root, "dir/x.txt");
        _cleanup_free_ char *data = NULL;
        struct hoist_error *err = NULL;
        const struct spec_entry good[] = {
                {AE_IFDIR, "dir/", NULL, NULL},
                {AE_IFREG, "dir/x.txt", NULL, "zipped"},
        };
        const struct spec_entry evil[] = {
                {AE_IFREG, "../zip-escaped", NULL, "pwned"},
        };

        build_archive(zip, 1, good, 2);
        assert_true(archive_is_archive(zip));
        assert_int_equal(archive_extract_file(zip, f->root, &err), 0);
        assert_int_equal(fs_read_file(out, &data, NULL, NULL), 0);
        assert_string_equal(data, "zipped");

        build_archive(zip, 1, evil, 1);
        assert_int_equal(archive_extract_file(zip, f->root, &err), -1);
        assert_non_null(strstr(err->msg, "entry '../zip-escaped' escapes"));
        hoist_error_release(&err);
        _cleanup_free_ char *escaped = path_join(f->dir, "zip-escaped");
        assert_false(fs_exists(escaped));
}

/* make_tree() holds 300,000 + a few bytes of file data. */
static void test_extract_limit(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *src = path_join(f->dir, "src");
        _cleanup_free_ char *tar = path_join(f->dir, "limit.tar");
        char hex[65];
        uint64_t size = 0;
        struct hoist_error *err = NULL;

        assert_int_equal(mkdir(src, 0755), 0);
        make_tree(src);
        assert_int_equal(archive_create_tar(src, tar, hex, &size, NULL), 0);
        assert_int_equal(archive_extract_file_limit(tar, f->root, 200000, &err), -1);
        assert_int_equal(err->code, EFBIG);
        assert_non_null(strstr(err->msg, "expands to more than its limit of 200000 bytes"));
        hoist_error_release(&err);
        assert_int_equal(count_entries(f->root), 0); /* nothing left behind */
        assert_int_equal(archive_extract_file_limit(tar, f->root, 400000, &err), 0);
        assert_null(err);
        assert_same_tree(src, f->root);
}

static void test_not_an_archive(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *txt = path_join(f->dir, "plain.txt");
        struct hoist_error *err = NULL;

        write_text(f->dir, "plain.txt", "just some text, not an archive\n", 0644);
        assert_false(archive_is_archive(txt));
        assert_int_equal(archive_extract_file(txt, f->root, &err), -1);
        assert_non_null(strstr(err->msg, "plain.txt"));
        hoist_error_release(&err);
        assert_int_equal(count_entries(f->root), 0);

        assert_int_equal(archive_extract_memory("", 0, f->root, &err), -1);
        hoist_error_release(&err);
        assert_int_equal(count_entries(f->root), 0);
}

static void test_is_archive_magic(void **state)
{
        struct fixture *f = *state;
        static const struct {
                const char *name;
                const char *bytes;
                size_t len;
        } cases[] = {
                {"g", "\x1f\x8b\x08\x00", 4},
                {"z", "\x28\xb5\x2f\xfd\x00", 5},
                {"b", "BZh91AY", 7},
                {"x", "\xfd\x37\x7a\x58\x5a\x00\x00", 7},
                {"p", "PK\x03\x04\x14\x00", 6},
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                _cleanup_free_ char *p = path_join(f->dir, cases[i].name);
                assert_int_equal(fs_write_file_atomic(p, cases[i].bytes, cases[i].len, 0644, NULL),
                                 0);
                assert_true(archive_is_archive(p));
        }
        _cleanup_free_ char *missing = path_join(f->dir, "missing");
        assert_false(archive_is_archive(missing));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reproducible, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refuses_absolute, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refuses_dotdot, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refuses_symlink_escape, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refuses_absolute_symlink, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refuses_path_through_symlink, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refuses_link_retargeted_later, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_refuses_hardlink_to_etc_passwd, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_refuses_hardlink_dotdot, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refuses_hardlink_to_escaping_symlink, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_check_tree_agrees_with_extraction, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_check_tree_names_the_link, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refuses_device_node, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refuses_fifo, setup, teardown),
                cmocka_unit_test_setup_teardown(test_accepts_safe_links_and_drops_setuid, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_zip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_extract_limit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_an_archive, setup, teardown),
                cmocka_unit_test_setup_teardown(test_is_archive_magic, setup, teardown),
        };
        return cmocka_run_group_tests_name("archive", tests, NULL, NULL);
}
