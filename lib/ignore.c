/* SPDX-License-Identifier: MIT */
/*
 * .gitignore and .hoistignore rules (ignore.h) with git's semantics: the
 * parsing of dir.c (comments, trailing blanks, '!', a trailing '/') and the
 * matching of wildmatch with WM_PATHNAME, compiled to the shared glob tokens
 * (glob.h).  tests/integration/test_ignore_git.sh checks the verdicts
 * against git's own on random trees.
 */
#include "ignore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "glob.h"
#include "xalloc.h"

/* git refuses larger ignore files too. */
#define IGNORE_FILE_MAX (100u << 20)

struct ignore_pattern {
        struct glob_tok *toks;
        size_t n_toks;
        int negative; /* "!pattern" */
        int dir_only; /* "pattern/" */
        int basename; /* no '/' but a trailing one: matched against the last component */
        int never;    /* an unclosed or unknown [...], a trailing '\': git matches nothing */
        /* What a match must start and end with (the leading and trailing
         * literal tokens), to turn most paths away before glob_match(). */
        size_t head, tail;
        int literal; /* only literal tokens: HEAD is the whole pattern */
};

struct ignore_file {
        struct ignore_pattern *pats;
        size_t n_pats;
};

/* ---- one pattern ---- */

static void class_range(struct glob_tok *t, unsigned lo, unsigned hi)
{
        for (unsigned c = lo; c <= hi; c++)
                glob_class_add(t, (unsigned char)c);
}

/* "[:NAME:]" (NAME is LEN bytes) added to T; -1 for a name wildmatch does
 * not know.  ASCII only, as git's ctype. */
static int class_named(struct glob_tok *t, const char *name, size_t len)
{
        static const struct {
                const char *name;
                const char *ranges; /* pairs of bytes lo, hi */
        } classes[] = {
                {"alnum", "09AZaz"},   {"alpha", "AZaz"},
                {"blank", "  \t\t"},   {"cntrl", "\x01\x1f\x7f\x7f"},
                {"digit", "09"},       {"graph", "!~"},
                {"lower", "az"},       {"print", " ~"},
                {"punct", "!/:@[`{~"}, {"space", "\t\n\r\r  "},
                {"upper", "AZ"},       {"xdigit", "09AFaf"},
        };

        for (size_t i = 0; i < sizeof classes / sizeof *classes; i++) {
                if (strlen(classes[i].name) != len || memcmp(classes[i].name, name, len) != 0)
                        continue;
                for (const char *r = classes[i].ranges; *r != '\0'; r += 2)
                        class_range(t, (unsigned char)r[0], (unsigned char)r[1]);
                return 0;
        }
        return -1;
}

/* Compiles the class that starts after the '[' at S[*POS]; *POS is left
 * after its ']'.  -1 when it is unclosed or names an unknown [:class:]. */
static int compile_class(const char *s, size_t len, size_t *pos, struct glob_tok *ret)
{
        struct glob_tok t = {.kind = GLOB_CLASS};
        size_t k = *pos;
        int negated = 0, prev = -1; /* the byte a '-' starts a range from */

        if (k < len && (s[k] == '!' || s[k] == '^')) {
                negated = 1;
                k++;
        }
        for (int first = 1;; first = 0, k++) {
                if (k >= len)
                        return -1;
                unsigned char c = (unsigned char)s[k];
                if (c == ']' && !first)
                        break;
                if (c == '\\') {
                        if (++k >= len)
                                return -1;
                        c = (unsigned char)s[k];
                        glob_class_add(&t, c);
                        prev = c;
                } else if (c == '-' && prev >= 0 && k + 1 < len && s[k + 1] != ']') {
                        unsigned char hi = (unsigned char)s[++k];
                        if (hi == '\\') {
                                if (++k >= len)
                                        return -1;
                                hi = (unsigned char)s[k];
                        }
                        class_range(&t, (unsigned)prev, hi);
                        prev = -1;
                } else if (c == '[' && k + 1 < len && s[k + 1] == ':') {
                        size_t e = k + 2;
                        while (e < len && s[e] != ']')
                                e++;
                        if (e >= len)
                                return -1;
                        if (e < k + 3 || s[e - 1] != ':') {
                                /* no ":]": a plain '[' */
                                glob_class_add(&t, c);
                                prev = c;
                                continue;
                        }
                        if (class_named(&t, s + k + 2, e - 1 - (k + 2)) < 0)
                                return -1;
                        prev = -1;
                        k = e;
                } else {
                        glob_class_add(&t, c);
                        prev = c;
                }
        }
        if (negated)
                for (size_t i = 0; i < sizeof t.set; i++)
                        t.set[i] = (unsigned char)~t.set[i];
        /* with WM_PATHNAME a class never matches '/' */
        t.set['/' >> 3] &= (unsigned char)~(1u << ('/' & 7));
        *pos = k + 1;
        *ret = t;
        return 0;
}

/* Compiles the LEN bytes of S into P.  A run of stars is "**" when it
 * stands alone between slashes (or the pattern's ends) and otherwise a
 * plain '*'.  git matches the literal start of a pattern with a '/' apart
 * and starts wildmatch after it, so a "**" just after that start (BOUNDARY)
 * counts as at the start: "foo**\/bar" matches "foox/y/bar". */
static void compile(struct ignore_pattern *p, const char *s, size_t len, size_t boundary)
{
        for (size_t i = 0; i < len && !p->never;) {
                char c = s[i];
                struct glob_tok tok;
                if (c == '*') {
                        size_t j = i;
                        while (j < len && s[j] == '*')
                                j++;
                        int after = i == boundary || (i > 0 && s[i - 1] == '/');
                        int before = j == len || s[j] == '/' ||
                                     (s[j] == '\\' && j + 1 < len && s[j + 1] == '/');
                        if (j - i >= 2 && after && before && !p->basename) {
                                int dir = j < len && s[j] == '/';
                                glob_push(&p->toks, &p->n_toks,
                                          (struct glob_tok){.kind = dir ? GLOB_ANY_DIR : GLOB_ANY});
                                j += dir;
                        } else {
                                glob_push(&p->toks, &p->n_toks,
                                          (struct glob_tok){.kind = GLOB_STAR});
                        }
                        i = j;
                } else if (c == '?') {
                        glob_push(&p->toks, &p->n_toks, (struct glob_tok){.kind = GLOB_ONE});
                        i++;
                } else if (c == '[') {
                        i++;
                        if (compile_class(s, len, &i, &tok) < 0)
                                p->never = 1;
                        else
                                glob_push(&p->toks, &p->n_toks, tok);
                } else if (c == '\\') {
                        if (i + 1 >= len)
                                p->never = 1;
                        else
                                glob_push(&p->toks, &p->n_toks,
                                          (struct glob_tok){.kind = GLOB_LIT, .c = s[i + 1]});
                        i += 2;
                } else {
                        glob_push(&p->toks, &p->n_toks,
                                  (struct glob_tok){.kind = GLOB_LIT, .c = c});
                        i++;
                }
        }
}

/* git's trim_trailing_spaces(): unescaped trailing spaces (not tabs) go. */
static void trim_trailing_spaces(char *s)
{
        char *last_space = NULL;

        for (char *p = s; *p != '\0'; p++) {
                if (*p == ' ') {
                        if (last_space == NULL)
                                last_space = p;
                        continue;
                }
                if (*p == '\\' && *++p == '\0')
                        return;
                last_space = NULL;
        }
        if (last_space != NULL)
                *last_space = '\0';
}

static void add_pattern(struct ignore_file *f, char *s)
{
        struct ignore_pattern p = {0};
        size_t len, boundary;

        trim_trailing_spaces(s);
        if (*s == '!') {
                p.negative = 1;
                s++;
        }
        len = strlen(s);
        if (len > 0 && s[len - 1] == '/') {
                p.dir_only = 1;
                len--;
        }
        if (len == 0)
                return; /* matches nothing */
        p.basename = memchr(s, '/', len) == NULL;
        boundary = strcspn(s, "*?[\\");
        if (boundary > len)
                boundary = len;
        if (!p.basename && s[0] == '/') {
                s++;
                len--;
                boundary--;
        }
        compile(&p, s, len, p.basename ? 0 : boundary);
        while (p.head < p.n_toks && p.toks[p.head].kind == GLOB_LIT)
                p.head++;
        p.literal = p.head == p.n_toks;
        while (!p.literal && p.tail < p.n_toks && p.toks[p.n_toks - 1 - p.tail].kind == GLOB_LIT)
                p.tail++;
        f->pats = xreallocarray(f->pats, f->n_pats + 1, sizeof *f->pats);
        f->pats[f->n_pats++] = p;
}

int ignore_file_parse(const char *text, size_t len, const char *name, struct ignore_file **ret,
                      struct hoist_error **err)
{
        struct ignore_file *f = xzalloc(sizeof *f);
        size_t pos = 0;

        (void)name;
        (void)err;
        if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
                pos = 3;
        while (pos < len) {
                const char *line = text + pos;
                const char *nl = memchr(line, '\n', len - pos);
                size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;
                pos += n + 1;
                if (n == 0 || line[0] == '#')
                        continue;
                if (line[n - 1] == '\r')
                        n--;
                /* git reads each line as a C string */
                const char *nul = memchr(line, '\0', n);
                if (nul != NULL)
                        n = (size_t)(nul - line);
                _cleanup_free_ char *s = xstrndup(line, n);
                add_pattern(f, s);
        }
        *ret = f;
        return 0;
}

void ignore_file_free(struct ignore_file *f)
{
        if (f == NULL)
                return;
        for (size_t i = 0; i < f->n_pats; i++)
                free(f->pats[i].toks);
        free(f->pats);
        free(f);
}

/* Whether the literal start and end of P fit S (LEN bytes). */
static int may_match(const struct ignore_pattern *p, const char *s, size_t len)
{
        if (p->literal ? len != p->head : len < p->head + p->tail)
                return 0;
        for (size_t i = 0; i < p->head; i++)
                if (s[i] != p->toks[i].c)
                        return 0;
        for (size_t i = 0; i < p->tail; i++)
                if (s[len - 1 - i] != p->toks[p->n_toks - 1 - i].c)
                        return 0;
        return 1;
}

int ignore_file_match(const struct ignore_file *f, const char *rel, int is_dir)
{
        const char *slash = strrchr(rel, '/');
        const char *base = slash != NULL ? slash + 1 : rel;
        size_t rel_len = strlen(rel), base_len = rel_len - (size_t)(base - rel);

        if (f == NULL)
                return -1;
        for (size_t i = f->n_pats; i-- > 0;) {
                const struct ignore_pattern *p = &f->pats[i];
                const char *s = p->basename ? base : rel;
                size_t len = p->basename ? base_len : rel_len;
                if (p->never || (p->dir_only && !is_dir) || !may_match(p, s, len))
                        continue;
                if (p->literal || glob_match(p->toks, p->n_toks, s))
                        return !p->negative;
        }
        return -1;
}

/* ---- the sensitive list ---- */

static const char *const sensitive_patterns[] = {
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

const char *const *ignore_sensitive_patterns(void)
{
        return sensitive_patterns;
}

/* The list as one ignore file; a pattern with a '/' before its end is a
 * path ending, matched at any depth like the others. */
static struct ignore_file *sensitive_rules(void)
{
        struct ignore_file *f = xzalloc(sizeof *f);

        for (const char *const *p = sensitive_patterns; *p != NULL; p++) {
                const char *slash = strchr(*p, '/');
                _cleanup_free_ char *s =
                        slash != NULL && slash[1] != '\0' ? xasprintf("**/%s", *p) : xstrdup(*p);
                add_pattern(f, s);
        }
        return f;
}

/* ---- a tree ---- */

enum frame_state {
        FRAME_RULES,    /* its ignore files are read and apply below it */
        FRAME_INCLUDED, /* at or below an include: path: all of it is sent */
        FRAME_EXCLUDED, /* left out, entered only to reach an include: path */
};

/* A directory on the path the walk is in. */
struct frame {
        char *rel; /* "" for the root */
        enum frame_state state;
        enum ignore_verdict why; /* FRAME_EXCLUDED: its own verdict */
        struct ignore_file *hoist, *git;
};

struct ignore_tree {
        char *root;
        char **include; /* cleaned: "a/b", "" for the root */
        size_t n_include;
        struct ignore_file *sensitive;
        struct frame *stack; /* the root, then each directory down to the walk's */
        size_t depth;
};

/* Whether A is a strict ancestor of the path B ("" is everything's). */
static int is_ancestor(const char *a, const char *b)
{
        size_t n = strlen(a);

        if (n == 0)
                return *b != '\0';
        return strncmp(a, b, n) == 0 && b[n] == '/';
}

static int under_include(const struct ignore_tree *t, const char *rel)
{
        for (size_t i = 0; i < t->n_include; i++)
                if (strcmp(t->include[i], rel) == 0 || is_ancestor(t->include[i], rel))
                        return 1;
        return 0;
}

static int leads_to_include(const struct ignore_tree *t, const char *rel)
{
        for (size_t i = 0; i < t->n_include; i++)
                if (is_ancestor(rel, t->include[i]))
                        return 1;
        return 0;
}

/* Reads ROOT/REL/NAME into *RET (NULL when there is none).  A symlink is
 * not followed (git does not follow in-tree ignore files either). */
static int read_rules(const struct ignore_tree *t, const char *rel, const char *name,
                      struct ignore_file **ret, struct hoist_error **err)
{
        _cleanup_free_ char *dir = path_join(t->root, rel);
        _cleanup_free_ char *path = path_join(dir, name);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        struct stat st;

        *ret = NULL;
        if (fd < 0 && (errno == ENOENT || errno == ELOOP || errno == ENOTDIR))
                return 0;
        if (fd < 0)
                return hoist_error_errno(err, "read '%s'", path);
        if (fstat(fd, &st) < 0)
                return hoist_error_errno(err, "stat '%s'", path);
        if (!S_ISREG(st.st_mode))
                return 0;
        if (fs_read_fd(fd, path, IGNORE_FILE_MAX, &data, &len, err) < 0)
                return -1;
        return ignore_file_parse(data, len, path, ret, err);
}

static void frame_clear(struct frame *f)
{
        free(f->rel);
        ignore_file_free(f->hoist);
        ignore_file_free(f->git);
}

/* The verdict for REL by the rules alone, its parent's frame on top. */
static enum ignore_verdict decide(const struct ignore_tree *t, const char *rel, int is_dir)
{
        const struct frame *parent = &t->stack[t->depth - 1];

        if (under_include(t, rel))
                return IGNORE_KEEP;
        if (parent->state == FRAME_EXCLUDED)
                return parent->why;
        if (ignore_file_match(t->sensitive, rel, is_dir) == 1)
                return IGNORE_SENSITIVE;
        /* deeper files first; in one directory .hoistignore first */
        for (size_t k = t->depth; k-- > 0;) {
                const struct frame *f = &t->stack[k];
                const char *sub = rel + strlen(f->rel) + (*f->rel != '\0');
                int m = ignore_file_match(f->hoist, sub, is_dir);
                if (m < 0)
                        m = ignore_file_match(f->git, sub, is_dir);
                if (m >= 0)
                        return m ? IGNORE_BY_RULES : IGNORE_KEEP;
        }
        return IGNORE_KEEP;
}

/* Pushes the directory REL, whose parent is on top (none for the root). */
static int push_frame(struct ignore_tree *t, const char *rel, struct hoist_error **err)
{
        struct frame f = {.rel = xstrdup(rel), .state = FRAME_RULES};

        if (under_include(t, rel)) {
                f.state = FRAME_INCLUDED;
        } else if (t->depth > 0) {
                f.why = decide(t, rel, 1);
                if (f.why != IGNORE_KEEP)
                        f.state = FRAME_EXCLUDED;
        }
        if (f.state == FRAME_RULES && (read_rules(t, rel, ".hoistignore", &f.hoist, err) < 0 ||
                                       read_rules(t, rel, ".gitignore", &f.git, err) < 0)) {
                frame_clear(&f);
                return -1;
        }
        t->stack = xreallocarray(t->stack, t->depth + 1, sizeof *t->stack);
        t->stack[t->depth++] = f;
        return 0;
}

/* Makes the stack end at the directory DIR. */
static int enter_dir(struct ignore_tree *t, const char *dir, struct hoist_error **err)
{
        while (t->depth > 0 && strcmp(t->stack[t->depth - 1].rel, dir) != 0 &&
               !is_ancestor(t->stack[t->depth - 1].rel, dir))
                frame_clear(&t->stack[--t->depth]);
        if (t->depth == 0 && push_frame(t, "", err) < 0)
                return -1;
        while (strcmp(t->stack[t->depth - 1].rel, dir) != 0) {
                const char *top = t->stack[t->depth - 1].rel;
                size_t start = *top != '\0' ? strlen(top) + 1 : 0;
                const char *slash = strchr(dir + start, '/');
                _cleanup_free_ char *sub =
                        xstrndup(dir, slash != NULL ? (size_t)(slash - dir) : strlen(dir));
                if (push_frame(t, sub, err) < 0)
                        return -1;
        }
        return 0;
}

/* INC cleaned ("./a//b/" -> "a/b"); NULL for an absolute path or one with
 * a ".." component. */
static char *clean_include(const char *inc)
{
        if (inc[0] == '/')
                return NULL;
        for (const char *s = inc; *s != '\0';) {
                size_t n = strcspn(s, "/");
                if (n == 2 && s[0] == '.' && s[1] == '.')
                        return NULL;
                s += n + (s[n] == '/');
        }
        return path_clean_in_root(inc);
}

int ignore_tree_open(const char *root, char *const *include, struct ignore_tree **ret,
                     struct hoist_error **err)
{
        struct ignore_tree *t = xzalloc(sizeof *t);

        t->root = xstrdup(root);
        t->sensitive = sensitive_rules();
        for (size_t i = 0; include != NULL && include[i] != NULL; i++) {
                char *c = clean_include(include[i]);
                if (c == NULL) {
                        hoist_error_make(err, HOIST_ERR_INPUT,
                                         "include: path '%s' must be relative to '%s' and stay "
                                         "inside it (no leading '/', no '..')",
                                         include[i], root);
                        ignore_tree_free(t);
                        return -1;
                }
                t->include = xreallocarray(t->include, t->n_include + 1, sizeof *t->include);
                t->include[t->n_include++] = c;
        }
        *ret = t;
        return 0;
}

void ignore_tree_free(struct ignore_tree *t)
{
        if (t == NULL)
                return;
        while (t->depth > 0)
                frame_clear(&t->stack[--t->depth]);
        free(t->stack);
        for (size_t i = 0; i < t->n_include; i++)
                free(t->include[i]);
        free(t->include);
        ignore_file_free(t->sensitive);
        free(t->root);
        free(t);
}

int ignore_tree_check(struct ignore_tree *t, const char *rel, const struct stat *st,
                      enum ignore_verdict *ret, struct hoist_error **err)
{
        const char *slash = strrchr(rel, '/');
        _cleanup_free_ char *parent = xstrndup(rel, slash != NULL ? (size_t)(slash - rel) : 0);
        int is_dir = S_ISDIR(st->st_mode);
        enum ignore_verdict v;

        if (*rel == '\0') {
                *ret = IGNORE_KEEP;
                return 0;
        }
        if (enter_dir(t, parent, err) < 0)
                return -1;
        v = decide(t, rel, is_dir);
        /* an excluded directory is still entered to reach an include: path */
        if (v != IGNORE_KEEP && is_dir && leads_to_include(t, rel))
                v = IGNORE_KEEP;
        *ret = v;
        return 0;
}
