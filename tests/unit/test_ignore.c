/* SPDX-License-Identifier: MIT */
#include <archive.h>
#include <archive_entry.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "ignore.h"
#include "xalloc.h"

#define S(x) ((char *)(x))

/* ---- one file's patterns, as git matches them ---- */

struct match_case {
        const char *rules;
        const char *path;
        int is_dir;
        int want; /* 1 excluded, 0 re-included, -1 undecided */
};

/* Each verdict is git 2.39's: `git check-ignore --no-index` on the path,
 * except the one marked, where it is that of git's walk (`git ls-files -o`). */
static const struct match_case match_cases[] = {
        /* basename patterns match at any depth */
        {"foo\n", "foo", 0, 1},
        {"foo\n", "a/b/foo", 0, 1},
        {"foo\n", "foox", 0, -1},
        {"*.o\n", "x/y.o", 0, 1},
        {"*.o\n", "x.o", 1, 1},
        /* comments, blanks, escapes */
        {"# foo\n", "# foo", 0, -1},
        {"\\#foo\n", "#foo", 0, 1},
        {"\\!foo\n", "!foo", 0, 1},
        {"\n\n   \n", "a", 0, -1},
        {"foo   \n", "foo", 0, 1},
        {"foo\\ \n", "foo ", 0, 1},
        {"foo\\ \n", "foo", 0, -1},
        {"foo\t\n", "foo", 0, -1}, /* only spaces are trimmed */
        {"foo\t\n", "foo\t", 0, 1},
        {"foo\r\n", "foo", 0, 1},
        {"foo\\\n", "foo\\", 0, -1}, /* a trailing backslash matches nothing */
        {"a\\*b\n", "a*b", 0, 1},
        {"a\\*b\n", "axb", 0, -1},
        {"\xef\xbb\xbf"
         "foo\n",
         "foo", 0, 1},
        /* negation: the last match decides */
        {"*.log\n!keep.log\n", "keep.log", 0, 0},
        {"*.log\n!keep.log\n", "x.log", 0, 1},
        {"!keep.log\n*.log\n", "keep.log", 0, 1},
        {"!x\n", "x", 0, 0},
        /* directory-only */
        {"build/\n", "build", 1, 1},
        {"build/\n", "build", 0, -1},
        {"build/\n", "a/build", 1, 1},
        {"a/b/\n", "a/b", 1, 1},
        {"a/b/\n", "a/b", 0, -1},
        /* anchoring: a '/' at the start or in the middle */
        {"/foo\n", "foo", 0, 1},
        {"/foo\n", "a/foo", 0, -1},
        {"a/b\n", "a/b", 0, 1},
        {"a/b\n", "x/a/b", 0, -1},
        {"a/*.c\n", "a/x.c", 0, 1},
        {"a/*.c\n", "a/b/x.c", 0, -1},
        /* ** forms */
        {"**/foo\n", "foo", 0, 1},
        {"**/foo\n", "a/b/foo", 0, 1},
        {"**/a/b\n", "x/y/a/b", 0, 1},
        {"**/a/b\n", "a/x/b", 0, -1},
        {"abc/**\n", "abc/x/y", 0, 1},
        {"abc/**\n", "abc", 1, -1}, /* git's walk: abc/ is entered (check-ignore "abc/" differs) */
        {"a/**/b\n", "a/b", 0, 1},
        {"a/**/b\n", "a/x/b", 0, 1},
        {"a/**/b\n", "a/x/y/b", 0, 1},
        {"a/**/b\n", "a/xb", 0, -1},
        {"/**\n", "x/y", 0, 1},
        {"**\n", "x", 0, 1},
        {"a/x**/b\n", "a/xy/z/b", 0, 1},  /* git's literal-prefix quirk */
        {"a/**x/b\n", "a/y/zx/b", 0, -1}, /* not standalone: a plain '*' */
        {"a/**x/b\n", "a/zx/b", 0, 1},
        {"a***/b\n", "a/b", 0, 1}, /* the quirk again: "***" right after the literal "a" */
        {"a***/b\n", "ax/y/b", 0, 1},
        {"x***/b\n", "x/ab", 0, -1},
        {"x/***/y\n", "x/a/b/y", 0, 1},
        /* ?, classes */
        {"?.c\n", "a.c", 0, 1},
        {"a?b\n", "a/b", 0, -1},
        {"[ab].c\n", "b.c", 0, 1},
        {"[!ab].c\n", "b.c", 0, -1},
        {"[^ab].c\n", "c.c", 0, 1},
        {"[a-c]x\n", "bx", 0, 1},
        {"[a-c]x\n", "dx", 0, -1},
        {"[]]x\n", "]x", 0, 1},
        {"[!]]x\n", "]x", 0, -1},
        {"[a-]x\n", "-x", 0, 1},
        {"[[:digit:]]*\n", "7up", 0, 1},
        {"[[:upper:]]*\n", "abc", 0, -1},
        {"[[:bogus:]]\n", "b", 0, -1},
        {"[abc\n", "[abc", 0, -1}, /* unclosed: matches nothing */
        {"[z-a]\n", "z", 0, 1},    /* a reversed range is empty, its start still a member */
        {"[z-a]\n", "b", 0, -1},
        {"x[/]y\n", "x/y", 0, -1},
        {"\\[x]\n", "[x]", 0, 1},
        {"[\\]]\n", "]", 0, 1},
};

static void test_match_table(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof match_cases / sizeof *match_cases; i++) {
                const struct match_case *c = &match_cases[i];
                _cleanup_ignore_file_ struct ignore_file *f = NULL;
                struct hoist_error *err = NULL;
                assert_int_equal(
                        ignore_file_parse(c->rules, strlen(c->rules), ".gitignore", &f, &err), 0);
                int got = ignore_file_match(f, c->path, c->is_dir);
                if (got != c->want)
                        fail_msg("rules %s: '%s'%s: got %d, want %d", c->rules, c->path,
                                 c->is_dir ? " (dir)" : "", got, c->want);
        }
}

static void test_parse_any_bytes(void **state)
{
        static const char junk[] = "a\0b\n\\\n!\n/\n[\n[[:\n**\0/\n\r\n";
        _cleanup_ignore_file_ struct ignore_file *f = NULL;

        (void)state;
        assert_int_equal(ignore_file_parse(junk, sizeof junk - 1, "x", &f, NULL), 0);
        assert_int_equal(ignore_file_match(f, "a", 0), 1);  /* "a\0b": a C string, as in git */
        assert_int_equal(ignore_file_match(f, "zz", 0), 1); /* "**" */
        assert_int_equal(ignore_file_match(NULL, "a", 0), -1);
}

/* ---- trees ---- */

struct fixture {
        char dir[64];
};

static int setup(void **state)
{
        struct fixture *f = xzalloc(sizeof *f);

        strcpy(f->dir, "/tmp/hoist-ignore-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        assert_int_equal(fs_remove_tree(f->dir, NULL), 0);
        free(f);
        return 0;
}

/* Makes the entries of SPEC under DIR: "a/" a directory, "a" an empty
 * file, "a=TEXT" a file holding TEXT, "a->T" a symlink to T. */
static void make_tree(const char *dir, const char *const *spec)
{
        for (; *spec != NULL; spec++) {
                const char *eq = strchr(*spec, '='), *arrow = strstr(*spec, "->");
                size_t n = eq != NULL      ? (size_t)(eq - *spec)
                           : arrow != NULL ? (size_t)(arrow - *spec)
                                           : strlen(*spec);
                _cleanup_free_ char *name = xstrndup(*spec, n);
                _cleanup_free_ char *path = path_join(dir, name);
                if (n > 0 && name[n - 1] == '/') {
                        assert_int_equal(fs_mkdir_p(path, 0755, NULL), 0);
                        continue;
                }
                _cleanup_free_ char *parent = xstrdup(path);
                *strrchr(parent, '/') = '\0';
                assert_int_equal(fs_mkdir_p(parent, 0755, NULL), 0);
                if (arrow != NULL)
                        assert_int_equal(symlink(arrow + 2, path), 0);
                else
                        assert_int_equal(fs_write_file_atomic(path, eq ? eq + 1 : "",
                                                              eq ? strlen(eq + 1) : 0, 0644, NULL),
                                         0);
        }
}

struct collect {
        struct ignore_tree *tree;
        struct buf out; /* "K path\n", "R path/\n", "S path\n" */
};

static int collect(void *userdata, const char *rel, const struct stat *st, struct hoist_error **err)
{
        struct collect *c = userdata;
        enum ignore_verdict v;

        if (ignore_tree_check(c->tree, rel, st, &v, err) < 0)
                return -1;
        buf_append_str(&c->out, v == IGNORE_KEEP ? "K " : v == IGNORE_BY_RULES ? "R " : "S ");
        buf_append_str(&c->out, rel);
        buf_append_str(&c->out, S_ISDIR(st->st_mode) ? "/\n" : "\n");
        return v == IGNORE_KEEP;
}

/* The verdicts of a walk of DIR with INCLUDE, one "V path" line each. */
static char *walk(const char *dir, char *const *include)
{
        struct collect c = {0};
        struct hoist_error *err = NULL;

        if (ignore_tree_open(dir, include, &c.tree, &err) < 0 ||
            archive_check_tree_filtered(dir, collect, &c, &err) < 0)
                fail_msg("walk: %s", err->msg);
        ignore_tree_free(c.tree);
        buf_append_char(&c.out, '\0');
        return buf_take(&c.out);
}

#define ASSERT_WALK(dir, include, want)                                                            \
        do {                                                                                       \
                _cleanup_free_ char *got_ = walk((dir), (include));                                \
                if (strcmp(got_, (want)) != 0)                                                     \
                        fail_msg("walk:\n%s\nwant:\n%s", got_, (want));                            \
        } while (0)

static void test_nested_gitignore(void **state)
{
        struct fixture *f = *state;
        static const char *const spec[] = {
                ".gitignore=*.log\n/build/\ndocs/*.tmp\n",
                "a.log",
                "build/x",
                "sub/.gitignore=!keep.log\n/local\nx/\n",
                "sub/keep.log",
                "sub/other.log",
                "sub/local",
                "sub/deep/local",
                "sub/deep/x/y",
                "sub/build/z",
                "docs/a.tmp",
                "docs/b/a.tmp",
                "main.py",
                NULL,
        };

        make_tree(f->dir, spec);
        ASSERT_WALK(f->dir, NULL,
                    "K .gitignore\n"
                    "R a.log\n"
                    "R build/\n"
                    "K docs/\n"
                    "R docs/a.tmp\n"
                    "K docs/b/\n"
                    "K docs/b/a.tmp\n"
                    "K main.py\n"
                    "K sub/\n"
                    "K sub/.gitignore\n"
                    "K sub/build/\n" /* /build/ is anchored to the root */
                    "K sub/build/z\n"
                    "K sub/deep/\n"
                    "K sub/deep/local\n" /* /local is anchored to sub/ */
                    "R sub/deep/x/\n"
                    "K sub/keep.log\n" /* the deeper file wins */
                    "R sub/local\n"
                    "R sub/other.log\n");
}

/* A file below an excluded directory cannot be re-included (gitignore(5)). */
static void test_no_reinclude_below_excluded_dir(void **state)
{
        struct fixture *f = *state;
        static const char *const spec[] = {
                ".gitignore=data/\n!data/keep.txt\nlogs/*\n!logs/keep.txt\n",
                "data/keep.txt",
                "logs/keep.txt",
                "logs/x.txt",
                NULL,
        };

        make_tree(f->dir, spec);
        ASSERT_WALK(f->dir, NULL,
                    "K .gitignore\n"
                    "R data/\n"
                    "K logs/\n"
                    "K logs/keep.txt\n"
                    "R logs/x.txt\n");
}

static void test_hoistignore_wins_in_its_directory(void **state)
{
        struct fixture *f = *state;
        static const char *const spec[] = {
                ".gitignore=*.bin\n",
                ".hoistignore=!model.bin\ncache/\n",
                "model.bin",
                "other.bin",
                "cache/x",
                "sub/.gitignore=model.bin\n",
                "sub/model.bin",
                NULL,
        };

        make_tree(f->dir, spec);
        ASSERT_WALK(f->dir, NULL,
                    "K .gitignore\n"
                    "K .hoistignore\n"
                    "R cache/\n"
                    "K model.bin\n"
                    "R other.bin\n"
                    "K sub/\n"
                    "K sub/.gitignore\n"
                    "R sub/model.bin\n"); /* a deeper .gitignore beats .hoistignore above */
}

static void test_sensitive_list(void **state)
{
        struct fixture *f = *state;
        static const char *const spec[] = {
                ".env",
                ".env.local",
                ".envrc",
                ".git/config",
                "a/.git/",
                ".git-credentials",
                ".netrc",
                ".npmrc",
                ".pypirc",
                ".ssh/id_rsa",
                ".aws/credentials",
                ".gnupg/x",
                ".hg/x",
                ".svn/x",
                ".hoist/x",
                ".docker/config.json",
                ".docker/other.json",
                "home/.docker/config.json",
                "config.json",
                "keys/id_rsa",
                "keys/id_rsa.pub",
                "keys/id_ecdsa",
                "keys/id_ed25519_sk",
                "keys/server.pem",
                "keys/server.key",
                "keys/c.p12",
                "keys/c.pfx",
                "keys/db.kdbx",
                "credentials.json",
                "gcp/credentials-prod.json",
                "gcp/my-service-account-1.json",
                "gcp/service-account.yaml",
                ".gitignore=!.env\n!*.pem\n",
                "x.git", /* a file named like a listed directory */
                NULL,
        };

        make_tree(f->dir, spec);
        ASSERT_WALK(f->dir, NULL,
                    "S .aws/\n"
                    "K .docker/\n"
                    "S .docker/config.json\n"
                    "K .docker/other.json\n"
                    "S .env\n" /* whatever .gitignore says */
                    "S .env.local\n"
                    "K .envrc\n"
                    "S .git/\n"
                    "S .git-credentials\n"
                    "K .gitignore\n"
                    "S .gnupg/\n"
                    "S .hg/\n"
                    "S .hoist/\n"
                    "S .netrc\n"
                    "S .npmrc\n"
                    "S .pypirc\n"
                    "S .ssh/\n"
                    "S .svn/\n"
                    "K a/\n"
                    "S a/.git/\n"
                    "K config.json\n"
                    "S credentials.json\n"
                    "K gcp/\n"
                    "S gcp/credentials-prod.json\n"
                    "S gcp/my-service-account-1.json\n"
                    "K gcp/service-account.yaml\n"
                    "K home/\n"
                    "K home/.docker/\n"
                    "S home/.docker/config.json\n"
                    "K keys/\n"
                    "S keys/c.p12\n"
                    "S keys/c.pfx\n"
                    "S keys/db.kdbx\n"
                    "S keys/id_ecdsa\n"
                    "S keys/id_ed25519_sk\n"
                    "S keys/id_rsa\n"
                    "S keys/id_rsa.pub\n"
                    "S keys/server.key\n"
                    "S keys/server.pem\n"
                    "K x.git\n");
}

static void test_sensitive_patterns_as_issued(void **state)
{
        static const char *const want[] = {
                ".env",
                ".env.*",
                ".git/",
                ".hg/",
                ".svn/",
                ".ssh/",
                ".aws/",
                ".gnupg/",
                ".docker/config.json",
                ".netrc",
                ".npmrc",
                ".pypirc",
                ".git-credentials",
                "id_rsa*",
                "id_ecdsa*",
                "id_ed25519*",
                "*.pem",
                "*.key",
                "*.p12",
                "*.pfx",
                "*.kdbx",
                "credentials*.json",
                "*service-account*.json",
                ".hoist/",
                NULL,
        };
        const char *const *got = ignore_sensitive_patterns();

        (void)state;
        for (size_t i = 0;; i++) {
                if (want[i] == NULL || got[i] == NULL) {
                        assert_null(want[i]);
                        assert_null(got[i]);
                        break;
                }
                assert_string_equal(got[i], want[i]);
        }
}

static void test_include_overrides(void **state)
{
        struct fixture *f = *state;
        static const char *const spec[] = {
                ".gitignore=data/\n*.bin\nsecrets/\n",
                ".env",
                ".env.prod",
                "data/a.bin",
                "data/b",
                "model.bin",
                "secrets/token.pem",
                "secrets/other.pem",
                "secrets/keep/x.key",
                "secrets/keep/y",
                ".git/HEAD",
                "cfg/.ssh/config",
                "cfg/.ssh/id_rsa",
                NULL,
        };
        char *include[] = {S("./.env"),       S("data/"),           S("secrets//token.pem"),
                           S("secrets/keep"), S("cfg/.ssh/config"), NULL};

        make_tree(f->dir, spec);
        ASSERT_WALK(f->dir, include,
                    "K .env\n"
                    "S .env.prod\n"
                    "S .git/\n"
                    "K .gitignore\n"
                    "K cfg/\n"
                    "K cfg/.ssh/\n" /* entered only to reach cfg/.ssh/config */
                    "K cfg/.ssh/config\n"
                    "S cfg/.ssh/id_rsa\n"
                    "K data/\n" /* a directory: everything below it */
                    "K data/a.bin\n"
                    "K data/b\n"
                    "R model.bin\n"
                    "K secrets/\n"
                    "K secrets/keep/\n"
                    "K secrets/keep/x.key\n"
                    "K secrets/keep/y\n"
                    "R secrets/other.pem\n" /* the directory's own verdict */
                    "K secrets/token.pem\n");
}

static void test_include_whole_tree(void **state)
{
        struct fixture *f = *state;
        static const char *const spec[] = {".gitignore=*\n", ".env", "x", NULL};
        char *include[] = {S("."), NULL};

        make_tree(f->dir, spec);
        ASSERT_WALK(f->dir, include, "K .env\nK .gitignore\nK x\n");
}

static void test_include_outside_refused(void **state)
{
        struct fixture *f = *state;
        char *up[] = {S("a/../../etc"), NULL};
        char *abs[] = {S("/etc/passwd"), NULL};
        struct ignore_tree *t = NULL;
        struct hoist_error *err = NULL;

        assert_int_equal(ignore_tree_open(f->dir, up, &t, &err), -1);
        assert_null(t);
        assert_non_null(strstr(err->msg, "include: path 'a/../../etc'"));
        hoist_error_release(&err);
        assert_int_equal(ignore_tree_open(f->dir, abs, &t, &err), -1);
        assert_non_null(strstr(err->msg, "'/etc/passwd'"));
        hoist_error_release(&err);
}

/* The walk may ask out of order: the verdicts do not depend on it. */
static void test_check_out_of_order(void **state)
{
        struct fixture *f = *state;
        static const char *const spec[] = {
                ".gitignore=b/\n", "a/.gitignore=*.x\n", "a/c/f.x", "b/f", "d/f.x", NULL,
        };
        _cleanup_ignore_tree_ struct ignore_tree *t = NULL;
        struct stat file = {.st_mode = S_IFREG | 0644};
        enum ignore_verdict v;

        make_tree(f->dir, spec);
        assert_int_equal(ignore_tree_open(f->dir, NULL, &t, NULL), 0);
        assert_int_equal(ignore_tree_check(t, "a/c/f.x", &file, &v, NULL), 0);
        assert_int_equal(v, IGNORE_BY_RULES);
        assert_int_equal(ignore_tree_check(t, "d/f.x", &file, &v, NULL), 0);
        assert_int_equal(v, IGNORE_KEEP);
        assert_int_equal(ignore_tree_check(t, "b/f", &file, &v, NULL), 0);
        assert_int_equal(v, IGNORE_BY_RULES); /* its directory is left out */
        assert_int_equal(ignore_tree_check(t, "a/c/f.x", &file, &v, NULL), 0);
        assert_int_equal(v, IGNORE_BY_RULES);
}

static void test_unreadable_ignore_file(void **state)
{
        struct fixture *f = *state;
        static const char *const spec[] = {"sub/.gitignore=x\n", "sub/x", ".hoistignore->nowhere",
                                           NULL};
        _cleanup_ignore_tree_ struct ignore_tree *t = NULL;
        struct stat file = {.st_mode = S_IFREG | 0644};
        struct hoist_error *err = NULL;
        enum ignore_verdict v;
        _cleanup_free_ char *p = NULL;

        make_tree(f->dir, spec);
        /* a symlinked ignore file is not followed (as in git) */
        assert_int_equal(ignore_tree_open(f->dir, NULL, &t, NULL), 0);
        assert_int_equal(ignore_tree_check(t, "sub/x", &file, &v, NULL), 0);
        assert_int_equal(v, IGNORE_BY_RULES);
        if (geteuid() == 0)
                return; /* root reads a mode-0 file */
        p = path_join(f->dir, "sub/.gitignore");
        assert_int_equal(chmod(p, 0), 0);
        ignore_tree_free(TAKE_PTR(t));
        assert_int_equal(ignore_tree_open(f->dir, NULL, &t, NULL), 0);
        assert_int_equal(ignore_tree_check(t, "sub/x", &file, &v, &err), -1);
        assert_non_null(strstr(err->msg, "sub/.gitignore"));
        hoist_error_release(&err);
}

/* ---- the filtered tar ---- */

static int tree_filter(void *userdata, const char *rel, const struct stat *st,
                       struct hoist_error **err)
{
        enum ignore_verdict v;

        if (ignore_tree_check(userdata, rel, st, &v, err) < 0)
                return -1;
        return v == IGNORE_KEEP;
}

static char *tar_names(const char *path)
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        struct buf out = {0};

        archive_read_support_format_tar(a);
        assert_int_equal(archive_read_open_filename(a, path, 10240), ARCHIVE_OK);
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
                buf_append_str(&out, archive_entry_pathname(e));
                buf_append_char(&out, '\n');
        }
        archive_read_free(a);
        buf_append_char(&out, '\0');
        return buf_take(&out);
}

static void test_filtered_tar(void **state)
{
        struct fixture *f = *state;
        static const char *const spec[] = {
                "src/.gitignore=__pycache__/\n*.ckpt\n",
                "src/train.py=print(1)\n",
                "src/__pycache__/x.pyc",
                "src/m.ckpt",
                "src/.env=TOKEN=1\n",
                "src/.git/HEAD",
                "src/out->/etc", /* leads outside, but left out below */
                "src/.gitignore2=out\n",
                NULL,
        };
        _cleanup_free_ char *src = path_join(f->dir, "src");
        _cleanup_free_ char *tar = path_join(f->dir, "out.tar");
        _cleanup_free_ char *gi = path_join(src, ".gitignore");
        _cleanup_ignore_tree_ struct ignore_tree *t = NULL;
        struct hoist_error *err = NULL;
        char hex[65];
        uint64_t size = 0;

        make_tree(f->dir, spec);
        /* unfiltered, the escaping link is refused */
        assert_int_equal(archive_check_tree(src, &err), -1);
        hoist_error_release(&err);
        assert_int_equal(fs_write_file_atomic(gi, "__pycache__/\n*.ckpt\nout\n", 24, 0644, NULL),
                         0);
        assert_int_equal(ignore_tree_open(src, NULL, &t, NULL), 0);
        assert_int_equal(archive_check_tree_filtered(src, tree_filter, t, &err), 0);
        assert_int_equal(archive_create_tar_filtered(src, tree_filter, t, tar, hex, &size, &err),
                         0);
        assert_int_equal(strlen(hex), 64);
        assert_true(size > 0);
        _cleanup_free_ char *names = tar_names(tar);
        assert_string_equal(names, ".gitignore\n.gitignore2\ntrain.py\n");
}

static int filter_fails(void *userdata, const char *rel, const struct stat *st,
                        struct hoist_error **err)
{
        (void)userdata;
        (void)st;
        if (strcmp(rel, "b") == 0)
                return hoist_error_make(err, HOIST_ERR_INPUT, "no '%s'", rel);
        return 1;
}

static void test_filter_error_stops(void **state)
{
        struct fixture *f = *state;
        static const char *const spec[] = {"src/a", "src/b", "src/c", NULL};
        _cleanup_free_ char *src = path_join(f->dir, "src");
        _cleanup_free_ char *tar = path_join(f->dir, "out.tar");
        struct hoist_error *err = NULL;
        char hex[65];

        make_tree(f->dir, spec);
        assert_int_equal(archive_create_tar_filtered(src, filter_fails, NULL, tar, hex, NULL, &err),
                         -1);
        assert_non_null(strstr(err->msg, "no 'b'"));
        hoist_error_release(&err);
        assert_false(fs_exists(tar));
        assert_int_equal(archive_check_tree_filtered(src, filter_fails, NULL, &err), -1);
        hoist_error_release(&err);
}

/* FILTER NULL is archive_create_tar(), byte for byte. */
static void test_null_filter_same_tar(void **state)
{
        struct fixture *f = *state;
        static const char *const spec[] = {"src/a=1\n", "src/d/b=2\n", "src/.env=3\n", NULL};
        _cleanup_free_ char *src = path_join(f->dir, "src");
        _cleanup_free_ char *t1 = path_join(f->dir, "1.tar");
        _cleanup_free_ char *t2 = path_join(f->dir, "2.tar");
        _cleanup_free_ char *d1 = NULL, *d2 = NULL;
        size_t l1 = 0, l2 = 0;
        char h1[65], h2[65];

        make_tree(f->dir, spec);
        assert_int_equal(archive_create_tar(src, t1, h1, NULL, NULL), 0);
        assert_int_equal(archive_create_tar_filtered(src, NULL, NULL, t2, h2, NULL, NULL), 0);
        assert_string_equal(h1, h2);
        assert_int_equal(fs_read_file(t1, &d1, &l1, NULL), 0);
        assert_int_equal(fs_read_file(t2, &d2, &l2, NULL), 0);
        assert_int_equal(l1, l2);
        assert_memory_equal(d1, d2, l1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_match_table),
                cmocka_unit_test(test_parse_any_bytes),
                cmocka_unit_test(test_sensitive_patterns_as_issued),
                cmocka_unit_test_setup_teardown(test_nested_gitignore, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_reinclude_below_excluded_dir, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_hoistignore_wins_in_its_directory, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_sensitive_list, setup, teardown),
                cmocka_unit_test_setup_teardown(test_include_overrides, setup, teardown),
                cmocka_unit_test_setup_teardown(test_include_whole_tree, setup, teardown),
                cmocka_unit_test_setup_teardown(test_include_outside_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_check_out_of_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unreadable_ignore_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_filtered_tar, setup, teardown),
                cmocka_unit_test_setup_teardown(test_filter_error_stops, setup, teardown),
                cmocka_unit_test_setup_teardown(test_null_filter_same_tar, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
