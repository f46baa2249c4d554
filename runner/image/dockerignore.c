/* SPDX-License-Identifier: MIT */
/*
 * .dockerignore rules (moby/patternmatcher) and COPY source selection.
 * Patterns are compiled to a small token list and matched by backtracking,
 * with the same meaning as the regular expressions patternmatcher builds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "runner/image/dockerignore.h"
#include "fsutil.h"
#include "glob.h"
#include "xalloc.h"

#define DOCKERIGNORE_MAX (4u << 20)
#define SYMLINK_HOPS 40

struct pattern {
        char *text; /* cleaned */
        int exclusion;
        struct glob_tok *toks;
        size_t n_toks;
        /* patternmatcher's shortcuts, kept for their exact behaviour:
         * "**" + literal is a suffix test, literal + "**" a prefix test. */
        int suffix, prefix;
};

struct dockerignore {
        struct pattern *pats;
        size_t n_pats;
        int exceptions;
};

/* ---- patterns ---- */

/* Compiles a class starting after '['; *s is advanced past ']'. */
static int compile_class(const char **s, struct glob_tok *t)
{
        const char *p = *s;
        int n = 0;

        *t = (struct glob_tok){.kind = GLOB_CLASS};
        if (*p == '^') {
                t->negated = 1;
                p++;
        }
        while (*p != ']') {
                unsigned char lo, hi;
                if (*p == '\0')
                        return -1;
                if (*p == '\\') {
                        p++;
                        if (*p == '\0')
                                return -1;
                }
                lo = (unsigned char)*p++;
                hi = lo;
                if (p[0] == '-' && p[1] != ']') {
                        p++;
                        if (*p == '\\')
                                p++;
                        if (*p == '\0')
                                return -1;
                        hi = (unsigned char)*p++;
                        if (hi < lo)
                                return -1;
                } else if (p[0] == '-' && p[1] == ']') {
                        return -1; /* "[a-]": Go's Match rejects it */
                }
                for (unsigned c = lo; c <= hi; c++)
                        glob_class_add(t, (unsigned char)c);
                n++;
        }
        if (n == 0)
                return -1;
        *s = p + 1;
        return 0;
}

/* Compiles PAT.  DOUBLE_STAR 0 for COPY sources (Go's filepath.Match, where
 * "**" is two "*"). */
static int compile(const char *pat, int double_star, struct glob_tok **ret, size_t *ret_n)
{
        struct glob_tok *t = NULL;
        size_t n = 0;
        const char *s = pat;

        while (*s != '\0') {
                char c = *s++;
                if (c == '*' && double_star && *s == '*') {
                        s++;
                        if (*s == '/')
                                s++;
                        glob_push(&t, &n,
                                  (struct glob_tok){.kind = *s == '\0' ? GLOB_ANY : GLOB_ANY_DIR});
                } else if (c == '*') {
                        glob_push(&t, &n, (struct glob_tok){.kind = GLOB_STAR});
                } else if (c == '?') {
                        glob_push(&t, &n, (struct glob_tok){.kind = GLOB_ONE});
                } else if (c == '[') {
                        struct glob_tok k;
                        if (compile_class(&s, &k) < 0) {
                                free(t);
                                return -1;
                        }
                        glob_push(&t, &n, k);
                } else if (c == '\\') {
                        if (*s == '\0') {
                                free(t);
                                return -1;
                        }
                        glob_push(&t, &n, (struct glob_tok){.kind = GLOB_LIT, .c = *s++});
                } else {
                        glob_push(&t, &n, (struct glob_tok){.kind = GLOB_LIT, .c = c});
                }
        }
        *ret = t;
        *ret_n = n;
        return 0;
}

/* Go's filepath.Clean for '/'-separated paths. */
static char *clean_path(const char *path)
{
        int rooted = path[0] == '/';
        char **parts = NULL;
        size_t n = 0;
        const char *s = path;
        struct buf out = {0};

        while (*s != '\0') {
                while (*s == '/')
                        s++;
                if (*s == '\0')
                        break;
                const char *e = strchr(s, '/');
                size_t len = e != NULL ? (size_t)(e - s) : strlen(s);
                if (len == 1 && s[0] == '.') {
                        /* drop */
                } else if (len == 2 && s[0] == '.' && s[1] == '.') {
                        if (n > 0 && strcmp(parts[n - 1], "..") != 0)
                                free(parts[--n]);
                        else if (!rooted) {
                                parts = xreallocarray(parts, n + 1, sizeof *parts);
                                parts[n++] = xstrdup("..");
                        }
                } else {
                        parts = xreallocarray(parts, n + 1, sizeof *parts);
                        parts[n++] = xstrndup(s, len);
                }
                s += len;
        }
        if (rooted)
                buf_append_char(&out, '/');
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        buf_append_char(&out, '/');
                buf_append_str(&out, parts[i]);
                free(parts[i]);
        }
        free(parts);
        if (out.len == 0)
                buf_append_char(&out, '.');
        return buf_take(&out);
}

/* patternmatcher's prefix and suffix shortcuts apply when the pattern has
 * no wildcard but the leading or trailing "**". */
static int plain(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] == '*' || s[i] == '?' || s[i] == '[' || s[i] == ']' || s[i] == '\\')
                        return 0;
        return 1;
}

static int pattern_match(const struct pattern *p, const char *path)
{
        size_t len = strlen(p->text);

        if (p->suffix) {
                const char *suffix = p->text + 2;
                size_t sl = len - 2, pl = strlen(path);
                if (pl >= sl && strcmp(path + pl - sl, suffix) == 0)
                        return 1;
                return suffix[0] == '/' && strcmp(path, suffix + 1) == 0;
        }
        if (p->prefix)
                return strncmp(path, p->text, len - 2) == 0;
        return glob_match(p->toks, p->n_toks, path);
}

static void dockerignore_add(struct dockerignore *di, char *text, int exclusion,
                             struct glob_tok *toks, size_t n_toks)
{
        struct pattern *p;
        size_t len = strlen(text);

        di->pats = xreallocarray(di->pats, di->n_pats + 1, sizeof *di->pats);
        p = &di->pats[di->n_pats++];
        *p = (struct pattern){text, exclusion, toks, n_toks, 0, 0};
        if (len >= 2 && text[0] == '*' && text[1] == '*')
                p->suffix = plain(text + 2, len - 2);
        else if (len >= 2 && text[len - 1] == '*' && text[len - 2] == '*')
                p->prefix = plain(text, len - 2);
        if (exclusion)
                di->exceptions = 1;
}

void dockerignore_free(struct dockerignore *di)
{
        if (di == NULL)
                return;
        for (size_t i = 0; i < di->n_pats; i++) {
                free(di->pats[i].text);
                free(di->pats[i].toks);
        }
        free(di->pats);
        free(di);
}

/* One line of a .dockerignore; 0 when it holds no pattern. */
static int parse_line(struct dockerignore *di, const char *line, size_t len, const char *name,
                      int lineno, struct hoist_error **err)
{
        _cleanup_free_ char *raw = NULL, *pat = NULL;
        char *s, *e;
        int exclusion = 0;
        struct glob_tok *toks = NULL;
        size_t n_toks = 0;

        if (len > 0 && line[0] == '#')
                return 0;
        raw = xstrndup(line, len);
        s = raw;
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\v' || *s == '\f')
                s++;
        e = s + strlen(s);
        while (e > s &&
               (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\v' || e[-1] == '\f'))
                *--e = '\0';
        if (*s == '\0')
                return 0;
        if (*s == '!') {
                exclusion = 1;
                s++;
                while (*s == ' ' || *s == '\t')
                        s++;
                if (*s == '\0')
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "'%s' line %d: a lone '!' excludes nothing "
                                                "(write !PATTERN)",
                                                name, lineno);
        }
        pat = clean_path(s);
        if (strlen(pat) > 1 && pat[0] == '/')
                memmove(pat, pat + 1, strlen(pat));
        if (compile(pat, 1, &toks, &n_toks) < 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' line %d: bad pattern '%s' (an unclosed or empty "
                                        "[...], or a trailing \\)",
                                        name, lineno, s);
        dockerignore_add(di, TAKE_PTR(pat), exclusion, toks, n_toks);
        return 0;
}

int dockerignore_parse(const char *text, size_t len, const char *name, struct dockerignore **ret,
                       struct hoist_error **err)
{
        struct dockerignore *di = xzalloc(sizeof *di);
        size_t pos = 0;
        int lineno = 0;

        if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
                pos = 3;
        if (memchr(text, '\0', len) != NULL) {
                dockerignore_free(di);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' holds a NUL byte: it is not a text file", name);
        }
        while (pos < len) {
                const char *nl = memchr(text + pos, '\n', len - pos);
                size_t end = nl != NULL ? (size_t)(nl - text) : len;
                lineno++;
                if (parse_line(di, text + pos, end - pos, name, lineno, err) < 0) {
                        dockerignore_free(di);
                        return -1;
                }
                pos = end + 1;
        }
        *ret = di;
        return 0;
}

int dockerignore_load(const char *context, const char *dockerfile, struct dockerignore **ret,
                      struct hoist_error **err)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        size_t len = 0;

        if (dockerfile != NULL) {
                path = xasprintf("%s.dockerignore", dockerfile);
                if (!fs_exists(path))
                        free(TAKE_PTR(path));
        }
        if (path == NULL) {
                path = path_join(context, ".dockerignore");
                if (!fs_exists(path)) {
                        *ret = xzalloc(sizeof **ret);
                        return 0;
                }
        }
        if (fs_read_file(path, &data, &len, err) < 0)
                return -1;
        if (len > DOCKERIGNORE_MAX)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' is %zu bytes; a .dockerignore may have at most %u",
                                        path, len, DOCKERIGNORE_MAX);
        return dockerignore_parse(data, len, path, ret, err);
}

int dockerignore_has_exceptions(const struct dockerignore *di)
{
        return di != NULL && di->exceptions;
}

int dockerignore_match(const struct dockerignore *di, const char *path)
{
        _cleanup_free_ char *file = NULL;
        int matched = 0;
        char *slash;

        if (di == NULL || di->n_pats == 0)
                return 0;
        file = clean_path(path[0] == '/' ? path + 1 : path);
        slash = strrchr(file, '/');
        for (size_t i = 0; i < di->n_pats; i++) {
                const struct pattern *p = &di->pats[i];
                if (p->exclusion != matched)
                        continue;
                int m = pattern_match(p, file);
                /* Parent directories: "a", "a/b", ... up to the file's. */
                for (char *c = file; !m && slash != NULL && c <= slash; c++) {
                        if (*c != '/')
                                continue;
                        *c = '\0';
                        m = pattern_match(p, file);
                        *c = '/';
                }
                if (m)
                        matched = !p->exclusion;
        }
        return matched;
}

/* ---- COPY sources ---- */

static int has_wildcard(const char *s)
{
        return strpbrk(s, "*?[\\") != NULL;
}

/* REL (below ROOT, "" for ROOT) with every symlink resolved inside ROOT,
 * as if ROOT were "/"; the last component is followed when FOLLOW_LAST.
 * NULL with errno set (ENOENT, ELOOP, ...) on failure. */
static char *resolve_in_root(const char *root, const char *rel, int follow_last)
{
        struct buf done = {0}; /* resolved so far, "" or "a/b" */
        _cleanup_free_ char *todo = xstrdup(rel);
        int hops = 0;

        for (;;) {
                char *s = todo;
                while (*s == '/')
                        s++;
                if (*s == '\0')
                        break;
                char *slash = strchr(s, '/');
                size_t clen = slash != NULL ? (size_t)(slash - s) : strlen(s);
                _cleanup_free_ char *comp = xstrndup(s, clen);
                const char *rest = s + clen;
                int last = strspn(rest, "/") == strlen(rest);

                if (strcmp(comp, ".") == 0) {
                        memmove(todo, rest, strlen(rest) + 1);
                        continue;
                }
                if (strcmp(comp, "..") == 0) {
                        char *p = done.data != NULL ? strrchr(done.data, '/') : NULL;
                        buf_truncate(&done, p != NULL ? (size_t)(p - done.data) : 0);
                        memmove(todo, rest, strlen(rest) + 1);
                        continue;
                }
                size_t keep = done.len;
                if (done.len > 0)
                        buf_append_char(&done, '/');
                buf_append_str(&done, comp);
                _cleanup_free_ char *full = path_join(root, done.data);
                struct stat st;
                if (lstat(full, &st) < 0) {
                        buf_free(&done);
                        return NULL;
                }
                if (S_ISLNK(st.st_mode) && (!last || follow_last)) {
                        char target[PATH_MAX];
                        ssize_t n = readlink(full, target, sizeof target - 1);
                        if (n < 0 || ++hops > SYMLINK_HOPS) {
                                if (n >= 0)
                                        errno = ELOOP;
                                buf_free(&done);
                                return NULL;
                        }
                        target[n] = '\0';
                        buf_truncate(&done, keep);
                        if (target[0] == '/')
                                buf_truncate(&done, 0);
                        char *next = xasprintf("%s%s", target, rest);
                        free(todo);
                        todo = next;
                        continue;
                }
                memmove(todo, rest, strlen(rest) + 1);
        }
        return buf_take(&done);
}

struct selector {
        const struct dockerignore *di;
        const char *root;
        struct di_selection *sel;
        size_t excluded;     /* candidates left out by .dockerignore */
        size_t file_matches; /* top-level matches that are not directories */
};

static void add_entry(struct selector *sc, const char *path, const char *dest,
                      const struct stat *st)
{
        struct di_selection *sel = sc->sel;

        sel->entries = xreallocarray(sel->entries, sel->n_entries + 1, sizeof *sel->entries);
        sel->entries[sel->n_entries++] = (struct di_entry){
                .path = xstrdup(path),
                .dest = xstrdup(dest),
                .st = *st,
                .match = sel->n_matches,
        };
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory ROOT/REL, sorted; NULL with errno on failure. */
static char **list_dir(const char *root, const char *rel, size_t *ret_n)
{
        _cleanup_free_ char *full = path_join(root, rel);
        DIR *d = opendir(full);
        struct dirent *de;
        char **v = NULL;
        size_t n = 0;

        if (d == NULL)
                return NULL;
        while ((errno = 0, de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                v = xreallocarray(v, n + 2, sizeof *v);
                v[n++] = xstrdup(de->d_name);
                v[n] = NULL;
        }
        (void)closedir(d);
        if (v == NULL)
                v = xcalloc(1, sizeof *v);
        qsort(v, n, sizeof *v, cmp_names);
        *ret_n = n;
        return v;
}

static char *join_rel(const char *a, const char *b)
{
        return *a == '\0' ? xstrdup(b) : xasprintf("%s/%s", a, b);
}

/* Lists what is inside directory REL (the match's DEST_BASE below it). */
static int walk_dir(struct selector *sc, const char *rel, const char *dest_base,
                    struct hoist_error **err)
{
        size_t n = 0;
        _cleanup_strv_ char **names = list_dir(sc->root, rel, &n);

        if (names == NULL)
                return hoist_error_errno(err, "read directory '%s'", *rel != '\0' ? rel : ".");
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *path = join_rel(rel, names[i]);
                _cleanup_free_ char *dest = join_rel(dest_base, names[i]);
                _cleanup_free_ char *full = path_join(sc->root, path);
                struct stat st;
                int excluded = dockerignore_match(sc->di, path);

                if (lstat(full, &st) < 0)
                        return hoist_error_errno(err, "lstat '%s'", path);
                if (excluded) {
                        sc->excluded++;
                        if (S_ISDIR(st.st_mode) && dockerignore_has_exceptions(sc->di) &&
                            walk_dir(sc, path, dest, err) < 0)
                                return -1;
                        continue;
                }
                add_entry(sc, path, dest, &st);
                if (S_ISDIR(st.st_mode) && walk_dir(sc, path, dest, err) < 0)
                        return -1;
        }
        return 0;
}

/* One top-level match: REL (resolved) found as NAME. */
static int select_match(struct selector *sc, const char *rel, const char *name,
                        struct hoist_error **err)
{
        _cleanup_free_ char *full = path_join(sc->root, rel);
        struct stat st;
        size_t before = sc->sel->n_entries;

        if (lstat(full, &st) < 0)
                return hoist_error_errno(err, "lstat '%s'", rel);
        if (S_ISDIR(st.st_mode)) {
                int excluded = *rel != '\0' && dockerignore_match(sc->di, rel);
                if (excluded && !dockerignore_has_exceptions(sc->di)) {
                        sc->excluded++;
                        return 0;
                }
                if (walk_dir(sc, rel, "", err) < 0)
                        return -1;
                /* An excluded directory counts only for what an exception
                 * brought back; an included one even when empty. */
                if (excluded && sc->sel->n_entries == before) {
                        sc->excluded++;
                        return 0;
                }
                sc->sel->n_matches++;
                return 0;
        }
        if (dockerignore_match(sc->di, rel)) {
                sc->excluded++;
                return 0;
        }
        add_entry(sc, rel, name, &st);
        sc->sel->n_matches++;
        sc->file_matches++;
        return 0;
}

/* Expands the components of SRC from COMP on, under resolved directory
 * DIR; SHOWN is the path as matched, for names. */
static int select_components(struct selector *sc, char **comps, size_t n, size_t i, const char *dir,
                             struct hoist_error **err)
{
        if (i == n) {
                char *resolved = resolve_in_root(sc->root, dir, 1);
                if (resolved == NULL)
                        return 0; /* a dangling link matches nothing */
                const char *name = strrchr(dir, '/');
                int r = select_match(sc, resolved, name != NULL ? name + 1 : dir, err);
                free(resolved);
                return r;
        }
        _cleanup_free_ char *rdir = resolve_in_root(sc->root, dir, 1);
        if (rdir == NULL)
                return 0;
        if (!has_wildcard(comps[i])) {
                _cleanup_free_ char *next = join_rel(rdir, comps[i]);
                _cleanup_free_ char *full = path_join(sc->root, next);
                struct stat st;
                if (lstat(full, &st) < 0)
                        return 0;
                return select_components(sc, comps, n, i + 1, next, err);
        }

        struct glob_tok *toks = NULL;
        size_t n_toks = 0, n_names = 0;
        if (compile(comps[i], 0, &toks, &n_toks) < 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "bad pattern '%s' (an unclosed or empty [...], or a "
                                        "trailing \\)",
                                        comps[i]);
        _cleanup_strv_ char **names = list_dir(sc->root, rdir, &n_names);
        int r = 0;
        for (size_t k = 0; names != NULL && k < n_names && r == 0; k++) {
                if (!glob_match(toks, n_toks, names[k]))
                        continue;
                _cleanup_free_ char *next = join_rel(rdir, names[k]);
                r = select_components(sc, comps, n, i + 1, next, err);
        }
        free(toks);
        return r;
}

static int select_source(struct selector *sc, const char *src, struct hoist_error **err)
{
        _cleanup_free_ char *clean = clean_path(src);
        const char *rel = clean;
        _cleanup_strv_ char **comps = NULL;
        size_t n = 0;
        size_t matches = sc->sel->n_matches;

        sc->excluded = 0;
        while (*rel == '/')
                rel++;
        if (strcmp(rel, "..") == 0 || strncmp(rel, "../", 3) == 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "source '%s' is outside the build context (sources are "
                                        "relative to the context directory)",
                                        src);
        if (strcmp(rel, ".") == 0)
                rel = "";
        for (const char *s = rel; *s != '\0';) {
                const char *e = strchr(s, '/');
                size_t len = e != NULL ? (size_t)(e - s) : strlen(s);
                comps = xreallocarray(comps, n + 2, sizeof *comps);
                comps[n++] = xstrndup(s, len);
                comps[n] = NULL;
                s += len + (e != NULL);
        }
        if (select_components(sc, comps, n, 0, "", err) < 0)
                return -1;
        if (sc->sel->n_matches == matches)
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                        sc->excluded > 0
                                                ? "source '%s' is excluded by .dockerignore"
                                                : "source '%s' matches no file",
                                        src);
        return 0;
}

int dockerignore_select(const struct dockerignore *di, const char *root, char *const *srcs,
                        size_t n_srcs, struct di_selection *ret, struct hoist_error **err)
{
        struct di_selection sel = {0};
        struct selector sc = {.di = di, .root = root, .sel = &sel};

        for (size_t i = 0; i < n_srcs; i++)
                if (select_source(&sc, srcs[i], err) < 0) {
                        dockerignore_selection_clear(&sel);
                        return -1;
                }
        sel.single_file = sel.n_matches == 1 && sc.file_matches == 1;
        *ret = sel;
        return 0;
}

void dockerignore_selection_clear(struct di_selection *sel)
{
        for (size_t i = 0; i < sel->n_entries; i++) {
                free(sel->entries[i].path);
                free(sel->entries[i].dest);
        }
        free(sel->entries);
        *sel = (struct di_selection){0};
}
