/* SPDX-License-Identifier: MIT */
/*
 * ARG/ENV scopes and Docker's word substitution (BuildKit's shell lexer,
 * frontend/dockerfile/shell/lex.go, "ProcessWord").
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "buf.h"
#include "cleanup.h"
#include "runner/image/dfvars.h"
#include "xalloc.h"

struct var {
        char *name;
        char *value; /* NULL: declared without a value */
};

struct build_arg {
        char *name;
        char *value;
        int used;
};

struct dfvars {
        struct dfvars *global; /* NULL for the global scope itself */
        char escape;
        /* global scope only */
        struct build_arg *bargs;
        size_t n_bargs;
        struct var *platform; /* TARGET and BUILD platform args */
        size_t n_platform;
        /* meta ARGs (global) or stage ARGs, in declaration order */
        struct var *args;
        size_t n_args;
        /* the stage's image ENV, in order */
        struct var *env;
        size_t n_env;
};

static const char *const proxy_args[] = {
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
        "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy",
};

static int is_proxy_arg(const char *name)
{
        for (size_t i = 0; i < sizeof proxy_args / sizeof proxy_args[0]; i++)
                if (strcmp(proxy_args[i], name) == 0)
                        return 1;
        return 0;
}

static int is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static void strv_push(char ***v, size_t *n, char *s)
{
        *v = xreallocarray(*v, *n + 2, sizeof **v);
        (*v)[(*n)++] = s;
        (*v)[*n] = NULL;
}

static char **strv_empty(char **v)
{
        return v != NULL ? v : xcalloc(1, sizeof(char *));
}

/* ---- splitting (the parser's side) ---- */

void dfvars_split_words(const char *text, char escape, char ***ret, size_t *ret_n)
{
        char **v = NULL;
        size_t n = 0;
        const char *s = text;

        for (;;) {
                while (is_blank(*s))
                        s++;
                if (*s == '\0')
                        break;
                struct buf w = {0};
                int blank_ok = 0;
                char quote = 0;
                for (; *s != '\0'; s++) {
                        if (quote == 0) {
                                if (is_blank(*s))
                                        break;
                                if (*s == '\'' || *s == '"') {
                                        quote = *s;
                                        blank_ok = 1;
                                } else if (*s == escape) {
                                        /* Kept with the character it escapes,
                                         * even a quote; a trailing one goes. */
                                        if (s[1] == '\0')
                                                continue;
                                        buf_append_char(&w, *s++);
                                }
                                buf_append_char(&w, *s);
                                continue;
                        }
                        if (*s == quote) {
                                quote = 0;
                        } else if (*s == escape && quote != '\'') {
                                if (s[1] == '\0') {
                                        quote = 0;
                                        continue;
                                }
                                buf_append_char(&w, *s++);
                        }
                        buf_append_char(&w, *s);
                }
                if (w.len > 0 || blank_ok)
                        strv_push(&v, &n, buf_take(&w));
                buf_free(&w);
        }
        *ret = strv_empty(v);
        *ret_n = n;
}

int dfvars_split_pairs(const char *text, char escape, int legacy_ok, char ***ret, size_t *ret_n,
                       struct hoist_error **err)
{
        _cleanup_strv_ char **words = NULL;
        char **v = NULL;
        size_t n_words = 0, n = 0;

        dfvars_split_words(text, escape, &words, &n_words);
        if (n_words == 0)
                return hoist_error_make(err, HOIST_ERR_INPUT, "needs at least one KEY=VALUE pair");
        if (strchr(words[0], '=') == NULL) {
                /* Legacy `KEY value with blanks`: the rest of the line. */
                const char *s = text;
                if (!legacy_ok)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "'%s' is not of the form KEY=VALUE", words[0]);
                while (is_blank(*s))
                        s++;
                const char *k = s;
                while (*s != '\0' && !is_blank(*s))
                        s++;
                const char *ke = s;
                while (is_blank(*s))
                        s++;
                if (*s == '\0')
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "'%s' has no value (write KEY=VALUE, or KEY VALUE)",
                                                words[0]);
                strv_push(&v, &n, xstrndup(k, (size_t)(ke - k)));
                strv_push(&v, &n, xstrdup(s));
                *ret = v;
                *ret_n = n;
                return 0;
        }
        for (size_t i = 0; i < n_words; i++) {
                const char *eq = strchr(words[i], '=');
                if (eq == NULL) {
                        strv_free(v);
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "'%s' is not of the form KEY=VALUE (quote values "
                                                "that hold blanks: KEY=\"a b\")",
                                                words[i]);
                }
                strv_push(&v, &n, xstrndup(words[i], (size_t)(eq - words[i])));
                strv_push(&v, &n, xstrdup(eq + 1));
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---- scopes ---- */

static struct var *var_find(struct var *vars, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(vars[i].name, name) == 0)
                        return &vars[i];
        return NULL;
}

/* Sets NAME (replacing in place, else appending); takes VALUE. */
static void var_set(struct var **vars, size_t *n, const char *name, char *value)
{
        struct var *v = var_find(*vars, *n, name);

        if (v != NULL) {
                free(v->value);
                v->value = value;
                return;
        }
        *vars = xreallocarray(*vars, *n + 1, sizeof **vars);
        (*vars)[(*n)++] = (struct var){xstrdup(name), value};
}

static void vars_free(struct var *vars, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(vars[i].name);
                free(vars[i].value);
        }
        free(vars);
}

void dfvars_free(struct dfvars *v)
{
        if (v == NULL)
                return;
        for (size_t i = 0; i < v->n_bargs; i++) {
                free(v->bargs[i].name);
                free(v->bargs[i].value);
        }
        free(v->bargs);
        vars_free(v->platform, v->n_platform);
        vars_free(v->args, v->n_args);
        vars_free(v->env, v->n_env);
        free(v);
}

/* "linux/amd64" style names of the machine hoist runs on. */
static void host_platform(const char **ret_arch, const char **ret_variant)
{
        static const struct {
                const char *machine, *arch, *variant;
        } map[] = {
                {"x86_64", "amd64", ""},    {"aarch64", "arm64", ""}, {"armv7l", "arm", "v7"},
                {"armv6l", "arm", "v6"},    {"i686", "386", ""},      {"i386", "386", ""},
                {"ppc64le", "ppc64le", ""}, {"s390x", "s390x", ""},   {"riscv64", "riscv64", ""},
        };
        struct utsname u;

        *ret_arch = "amd64";
        *ret_variant = "";
        if (uname(&u) < 0)
                return;
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
                if (strcmp(u.machine, map[i].machine) == 0) {
                        *ret_arch = map[i].arch;
                        *ret_variant = map[i].variant;
                        return;
                }
}

static void set_platform_args(struct dfvars *v, const char *prefix, const char *os,
                              const char *arch, const char *variant)
{
        char name[32];

        (void)snprintf(name, sizeof name, "%sPLATFORM", prefix);
        var_set(&v->platform, &v->n_platform, name,
                *variant != '\0' ? xasprintf("%s/%s/%s", os, arch, variant)
                                 : xasprintf("%s/%s", os, arch));
        (void)snprintf(name, sizeof name, "%sOS", prefix);
        var_set(&v->platform, &v->n_platform, name, xstrdup(os));
        (void)snprintf(name, sizeof name, "%sARCH", prefix);
        var_set(&v->platform, &v->n_platform, name, xstrdup(arch));
        (void)snprintf(name, sizeof name, "%sVARIANT", prefix);
        var_set(&v->platform, &v->n_platform, name, xstrdup(variant));
}

static int valid_name(const char *s, size_t n)
{
        if (n == 0)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (is_blank(s[i]) || s[i] == '=')
                        return 0;
        return 1;
}

int dfvars_new(char *const *build_args, char escape, const char *platform, struct dfvars **ret,
               struct hoist_error **err)
{
        struct dfvars *v = xzalloc(sizeof *v);
        const char *arch, *variant;

        v->escape = escape == '`' ? '`' : '\\';
        for (size_t i = 0; build_args != NULL && build_args[i] != NULL; i++) {
                const char *a = build_args[i];
                const char *eq = strchr(a, '=');
                size_t n = eq != NULL ? (size_t)(eq - a) : strlen(a);
                _cleanup_free_ char *name = xstrndup(a, n);
                char *value;

                if (!valid_name(a, n)) {
                        dfvars_free(v);
                        return hoist_error_make(err, HOIST_ERR_USAGE,
                                                "--build-arg '%s': expected NAME=VALUE (or NAME "
                                                "to take it from the environment)",
                                                a);
                }
                if (eq != NULL) {
                        value = xstrdup(eq + 1);
                } else {
                        const char *env = getenv(name);
                        if (env == NULL)
                                continue;
                        value = xstrdup(env);
                }
                struct build_arg *b = NULL;
                for (size_t j = 0; j < v->n_bargs; j++)
                        if (strcmp(v->bargs[j].name, name) == 0)
                                b = &v->bargs[j];
                if (b != NULL) {
                        free(b->value);
                        b->value = value;
                        continue;
                }
                int proxy = is_proxy_arg(name);
                v->bargs = xreallocarray(v->bargs, v->n_bargs + 1, sizeof *v->bargs);
                v->bargs[v->n_bargs++] = (struct build_arg){TAKE_PTR(name), value, proxy};
        }

        host_platform(&arch, &variant);
        set_platform_args(v, "BUILD", "linux", arch, variant);
        if (platform != NULL) {
                _cleanup_free_ char *copy = xstrdup(platform);
                char *os = copy, *parch = strchr(copy, '/'), *pvariant = NULL;
                if (parch == NULL || parch[1] == '\0' || parch == copy) {
                        dfvars_free(v);
                        return hoist_error_make(err, HOIST_ERR_USAGE,
                                                "platform '%s': expected OS/ARCH[/VARIANT] "
                                                "(linux/amd64)",
                                                platform);
                }
                *parch++ = '\0';
                pvariant = strchr(parch, '/');
                if (pvariant != NULL)
                        *pvariant++ = '\0';
                set_platform_args(v, "TARGET", os, parch, pvariant != NULL ? pvariant : "");
        } else {
                set_platform_args(v, "TARGET", "linux", arch, variant);
        }
        *ret = v;
        return 0;
}

struct dfvars *dfvars_new_stage(struct dfvars *global, char *const *base_env)
{
        struct dfvars *v = xzalloc(sizeof *v);

        v->global = global;
        v->escape = global->escape;
        for (size_t i = 0; base_env != NULL && base_env[i] != NULL; i++) {
                const char *eq = strchr(base_env[i], '=');
                _cleanup_free_ char *name =
                        eq != NULL ? xstrndup(base_env[i], (size_t)(eq - base_env[i]))
                                   : xstrdup(base_env[i]);
                if (*name == '\0')
                        continue;
                var_set(&v->env, &v->n_env, name, xstrdup(eq != NULL ? eq + 1 : ""));
        }
        return v;
}

static struct dfvars *global_of(const struct dfvars *v)
{
        return v->global != NULL ? v->global : (struct dfvars *)v;
}

static struct build_arg *build_arg(const struct dfvars *v, const char *name)
{
        struct dfvars *g = global_of(v);

        for (size_t i = 0; i < g->n_bargs; i++)
                if (strcmp(g->bargs[i].name, name) == 0)
                        return &g->bargs[i];
        return NULL;
}

const char *dfvars_get(const struct dfvars *v, const char *name)
{
        struct var *e = var_find(v->env, v->n_env, name);
        struct build_arg *b;

        if (e != NULL)
                return e->value;
        e = var_find(v->args, v->n_args, name);
        if (e != NULL && e->value != NULL)
                return e->value;
        if (v->global == NULL) {
                e = var_find(v->platform, v->n_platform, name);
                if (e != NULL)
                        return e->value;
        }
        if (is_proxy_arg(name) && (b = build_arg(v, name)) != NULL)
                return b->value;
        return NULL;
}

/* ---- substitution ---- */

/* ${a:-${b:-...}} nests by recursion: bounded, as the text is input. */
#define LEX_MAX_DEPTH 64

struct lexer {
        const struct dfvars *v;
        const char *s;
        size_t i;
        char escape;
        unsigned depth;
};

static int lex_fail(struct lexer *lx, struct hoist_error **err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int lex_fail(struct lexer *lx, struct hoist_error **err, const char *fmt, ...)
{
        va_list ap;
        _cleanup_free_ char *msg = NULL;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        return hoist_error_make(err, HOIST_ERR_INPUT, "in '%s': %s", lx->s, msg);
}

static int lex_until(struct lexer *lx, char stop, struct buf *out, struct hoist_error **err);

static int lex_single_quote(struct lexer *lx, struct buf *out, struct hoist_error **err)
{
        lx->i++;
        for (;;) {
                char c = lx->s[lx->i];
                if (c == '\0')
                        return lex_fail(lx, err, "no closing single quote (')");
                lx->i++;
                if (c == '\'')
                        return 0;
                buf_append_char(out, c);
        }
}

static int lex_dollar(struct lexer *lx, struct buf *out, struct hoist_error **err);

static int lex_double_quote(struct lexer *lx, struct buf *out, struct hoist_error **err)
{
        lx->i++;
        for (;;) {
                char c = lx->s[lx->i];
                if (c == '\0')
                        return lex_fail(lx, err, "no closing double quote (\")");
                if (c == '"') {
                        lx->i++;
                        return 0;
                }
                if (c == '$') {
                        if (lex_dollar(lx, out, err) < 0)
                                return -1;
                        continue;
                }
                lx->i++;
                if (c == lx->escape) {
                        char n = lx->s[lx->i];
                        if (n == '\0')
                                continue;
                        /* Only these may be escaped; other escapes stay. */
                        if (n == '"' || n == '$' || n == lx->escape) {
                                c = n;
                                lx->i++;
                        }
                }
                buf_append_char(out, c);
        }
}

/* A name after '$': digits, one special parameter, or [A-Za-z0-9_]+. */
static char *lex_name(struct lexer *lx)
{
        const char *s = lx->s + lx->i;
        size_t n = 0;

        if (isdigit((unsigned char)s[0])) {
                while (isdigit((unsigned char)s[n]))
                        n++;
        } else if (s[0] != '\0' && strchr("@*#?-$!", s[0]) != NULL) {
                n = 1;
        } else {
                while (isalnum((unsigned char)s[n]) || s[n] == '_')
                        n++;
        }
        lx->i += n;
        return xstrndup(s, n);
}

static int lex_dollar(struct lexer *lx, struct buf *out, struct hoist_error **err)
{
        _cleanup_free_ char *name = NULL;
        const char *value;

        lx->i++;
        if (lx->s[lx->i] != '{') {
                name = lex_name(lx);
                if (*name == '\0') {
                        buf_append_char(out, '$');
                        return 0;
                }
                value = dfvars_get(lx->v, name);
                buf_append_str(out, value != NULL ? value : "");
                return 0;
        }
        lx->i++;
        switch (lx->s[lx->i]) {
        case '\0':
                return lex_fail(lx, err, "no closing '}' in ${...}");
        case '{':
        case '}':
        case ':':
                return lex_fail(lx, err, "bad substitution (write ${NAME})");
        default:
                break;
        }
        name = lex_name(lx);
        if (*name == '\0')
                return lex_fail(lx, err, "bad substitution (write ${NAME})");
        value = dfvars_get(lx->v, name);

        char c = lx->s[lx->i];
        if (c == '\0')
                return lex_fail(lx, err, "no closing '}' in ${...}");
        lx->i++;
        if (c == '}') {
                buf_append_str(out, value != NULL ? value : "");
                return 0;
        }
        int colon = 0;
        if (c == ':') {
                colon = 1;
                c = lx->s[lx->i];
                if (c == '\0')
                        return lex_fail(lx, err, "no closing '}' in ${...}");
                lx->i++;
        }
        if (c != '-' && c != '+' && c != '?')
                return lex_fail(lx, err,
                                "unsupported modifier '%s%c' in ${%s...} (hoist supports :- - "
                                ":+ + :? ?)",
                                colon ? ":" : "", c, name);

        struct buf word = {0};
        if (++lx->depth > LEX_MAX_DEPTH)
                return lex_fail(lx, err, "${...} nested more than %d deep", LEX_MAX_DEPTH);
        int r = lex_until(lx, '}', &word, err);
        lx->depth--;
        if (r < 0) {
                buf_free(&word);
                return -1;
        }
        int set = value != NULL, nonempty = set && *value != '\0';
        int use = colon ? nonempty : set;
        switch (c) {
        case '-':
                buf_append_str(out, use ? value : word.data != NULL ? word.data : "");
                break;
        case '+':
                buf_append_str(out, use ? (word.data != NULL ? word.data : "") : "");
                break;
        default: /* '?' */
                if (!use) {
                        int rc = lex_fail(lx, err, "%s: %s", name,
                                          word.len > 0 ? word.data
                                          : !set       ? "is not allowed to be unset"
                                                       : "is not allowed to be empty");
                        buf_free(&word);
                        return rc;
                }
                buf_append_str(out, value);
                break;
        }
        buf_free(&word);
        return 0;
}

/* Processes up to STOP (consumed) or, STOP 0, to the end. */
static int lex_until(struct lexer *lx, char stop, struct buf *out, struct hoist_error **err)
{
        for (;;) {
                char c = lx->s[lx->i];
                int r = 0;

                if (c == '\0')
                        break;
                if (stop != 0 && c == stop) {
                        lx->i++;
                        return 0;
                }
                if (c == '\'')
                        r = lex_single_quote(lx, out, err);
                else if (c == '"')
                        r = lex_double_quote(lx, out, err);
                else if (c == '$')
                        r = lex_dollar(lx, out, err);
                else {
                        lx->i++;
                        if (c == lx->escape) {
                                c = lx->s[lx->i];
                                if (c == '\0')
                                        break;
                                lx->i++;
                        }
                        buf_append_char(out, c);
                }
                if (r < 0)
                        return -1;
        }
        if (stop != 0)
                return lex_fail(lx, err, "no closing '%c' in ${...}", stop);
        return 0;
}

int dfvars_expand(struct dfvars *v, const char *word, char **ret, struct hoist_error **err)
{
        struct lexer lx = {.v = v, .s = word, .escape = v->escape};
        struct buf out = {0};

        if (lex_until(&lx, 0, &out, err) < 0) {
                buf_free(&out);
                return -1;
        }
        *ret = buf_take(&out);
        return 0;
}

/* ---- instructions ---- */

static int at_line(const struct dockerfile *df, const struct df_instr *in, struct hoist_error **err)
{
        return hoist_error_wrap(err, "'%s' line %d", df != NULL ? df->name : "Dockerfile",
                                in->line);
}

/* Substitutes every arg of KIND's that Docker substitutes. */
static int kind_expands(enum df_kind kind)
{
        switch (kind) {
        case DF_RUN:
        case DF_CMD:
        case DF_ENTRYPOINT:
        case DF_SHELL:
        case DF_HEALTHCHECK:
        case DF_MAINTAINER:
                return 0;
        default:
                return 1;
        }
}

static int declare_arg(struct dfvars *v, const char *word, struct hoist_error **err)
{
        const char *eq = strchr(word, '=');
        _cleanup_free_ char *raw_name =
                eq != NULL ? xstrndup(word, (size_t)(eq - word)) : xstrdup(word);
        _cleanup_free_ char *name = NULL, *value = NULL;
        struct build_arg *b;

        if (dfvars_expand(v, raw_name, &name, err) < 0)
                return -1;
        if (!valid_name(name, strlen(name)))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "ARG name '%s' is empty or holds a blank", name);
        if ((b = build_arg(v, name)) != NULL) {
                b->used = 1;
                value = xstrdup(b->value);
        } else if (eq != NULL) {
                if (dfvars_expand(v, eq + 1, &value, err) < 0)
                        return -1;
        } else if (v->global != NULL) {
                struct var *g = var_find(v->global->args, v->global->n_args, name);
                if (g == NULL || g->value == NULL)
                        g = var_find(v->global->platform, v->global->n_platform, name);
                if (g != NULL)
                        value = xstrdup(g->value);
        }
        var_set(&v->args, &v->n_args, name, TAKE_PTR(value));
        return 0;
}

int dfvars_apply(struct dfvars *v, const struct dockerfile *df, const struct df_instr *in,
                 struct hoist_error **err)
{
        if (in->kind == DF_ARG) {
                for (size_t i = 0; i < in->n_args; i++)
                        if (declare_arg(v, in->args[i], err) < 0)
                                return at_line(df, in, err);
                return 0;
        }
        if (in->kind != DF_ENV)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' line %d: dfvars_apply() takes ARG or ENV, not %s",
                                        df != NULL ? df->name : "Dockerfile", in->line,
                                        dockerfile_kind_name(in->kind));
        if (v->global == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' line %d: ENV before the first FROM",
                                        df != NULL ? df->name : "Dockerfile", in->line);

        /* All values see the scope as it was before the line. */
        _cleanup_strv_ char **pairs = NULL;
        if (dfvars_expand_instr(v, df, in, &pairs, err) < 0)
                return -1;
        for (size_t i = 0; i + 1 < in->n_args; i += 2) {
                if (pairs[i][0] == '\0')
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "'%s' line %d: ENV name '%s' is empty after "
                                                "substitution",
                                                df != NULL ? df->name : "Dockerfile", in->line,
                                                in->args[i]);
                var_set(&v->env, &v->n_env, pairs[i], xstrdup(pairs[i + 1]));
        }
        return 0;
}

int dfvars_expand_instr(struct dfvars *v, const struct dockerfile *df, const struct df_instr *in,
                        char ***ret, struct hoist_error **err)
{
        char **out = xcalloc(in->n_args + 1, sizeof *out);
        int expand = kind_expands(in->kind);

        for (size_t i = 0; i < in->n_args; i++) {
                if (!expand) {
                        out[i] = xstrdup(in->args[i]);
                        continue;
                }
                if (dfvars_expand(v, in->args[i], &out[i], err) < 0) {
                        strv_free(out);
                        return at_line(df, in, err);
                }
        }
        *ret = out;
        return 0;
}

int dfvars_expand_flag(struct dfvars *v, const struct dockerfile *df, const struct df_instr *in,
                       const char *name, char **ret, struct hoist_error **err)
{
        const char *raw = dockerfile_flag(in, name);

        if (raw == NULL) {
                *ret = NULL;
                return 0;
        }
        if (dfvars_expand(v, raw, ret, err) < 0)
                return hoist_error_wrap(err, "'%s' line %d: --%s",
                                        df != NULL ? df->name : "Dockerfile", in->line, name);
        return 0;
}

/* ---- environments ---- */

char **dfvars_env(const struct dfvars *v)
{
        char **out = NULL;
        size_t n = 0;

        for (size_t i = 0; i < v->n_env; i++)
                strv_push(&out, &n, xasprintf("%s=%s", v->env[i].name, v->env[i].value));
        return strv_empty(out);
}

char **dfvars_args(const struct dfvars *v)
{
        char **out = NULL;
        size_t n = 0;

        for (size_t i = 0; i < v->n_args; i++)
                if (v->args[i].value != NULL)
                        strv_push(&out, &n, xasprintf("%s=%s", v->args[i].name, v->args[i].value));
        return strv_empty(out);
}

char **dfvars_env_for_run(const struct dfvars *v)
{
        char **out = dfvars_env(v);
        size_t n = v->n_env;
        struct dfvars *g = global_of(v);

        for (size_t i = 0; i < v->n_args; i++)
                if (v->args[i].value != NULL && var_find(v->env, v->n_env, v->args[i].name) == NULL)
                        strv_push(&out, &n, xasprintf("%s=%s", v->args[i].name, v->args[i].value));
        for (size_t i = 0; i < g->n_bargs; i++) {
                const char *name = g->bargs[i].name;
                if (is_proxy_arg(name) && var_find(v->env, v->n_env, name) == NULL &&
                    var_find(v->args, v->n_args, name) == NULL)
                        strv_push(&out, &n, xasprintf("%s=%s", name, g->bargs[i].value));
        }
        return out;
}

char **dfvars_unused_build_args(const struct dfvars *global)
{
        const struct dfvars *g = global_of(global);
        char **out = NULL;
        size_t n = 0;

        for (size_t i = 0; i < g->n_bargs; i++)
                if (!g->bargs[i].used)
                        strv_push(&out, &n, xstrdup(g->bargs[i].name));
        return strv_empty(out);
}
