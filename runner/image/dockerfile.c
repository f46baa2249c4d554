/* SPDX-License-Identifier: MIT */
/*
 * The Dockerfile parser, following BuildKit's (moby/buildkit
 * frontend/dockerfile/parser): directives, comments and continuations are
 * handled line by line, then each logical line is split into a keyword,
 * flags and arguments shaped by the keyword.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cleanup.h"
#include "runner/image/dfvars.h"
#include "runner/image/dockerfile.h"
#include "fsutil.h"
#include "xalloc.h"

/* Everything above this is certainly not a Dockerfile. */
#define DOCKERFILE_MAX (16u << 20)

struct line {
        const char *s;
        size_t len;
};

struct parser {
        const char *name;
        char escape;
        struct dockerfile *df;
        int line; /* of the instruction being parsed */
        const char *keyword;
        /* all lines, and the first one not yet read (heredoc bodies are
         * read by the instruction that opens them) */
        const struct line *lines;
        size_t n_lines, next;
};

static const struct {
        const char *name;
        enum df_kind kind;
} keywords[] = {
        {"FROM", DF_FROM},
        {"RUN", DF_RUN},
        {"CMD", DF_CMD},
        {"ENTRYPOINT", DF_ENTRYPOINT},
        {"COPY", DF_COPY},
        {"ADD", DF_ADD},
        {"ENV", DF_ENV},
        {"ARG", DF_ARG},
        {"WORKDIR", DF_WORKDIR},
        {"USER", DF_USER},
        {"LABEL", DF_LABEL},
        {"EXPOSE", DF_EXPOSE},
        {"SHELL", DF_SHELL},
        {"STOPSIGNAL", DF_STOPSIGNAL},
        {"VOLUME", DF_VOLUME},
        {"MAINTAINER", DF_MAINTAINER},
        {"HEALTHCHECK", DF_HEALTHCHECK},
};

const char *dockerfile_kind_name(enum df_kind kind)
{
        for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
                if (keywords[i].kind == kind)
                        return keywords[i].name;
        return "?";
}

/* "'Dockerfile' line 7: MESSAGE", HOIST_ERR_INPUT. */
static int perr(const struct parser *p, struct hoist_error **err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int perr(const struct parser *p, struct hoist_error **err, const char *fmt, ...)
{
        va_list ap;
        _cleanup_free_ char *msg = NULL;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        return hoist_error_make(err, HOIST_ERR_INPUT, "'%s' line %d: %s", p->name, p->line, msg);
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

static void instr_clear(struct df_instr *in)
{
        strv_free(in->args);
        for (size_t i = 0; i < in->n_flags; i++) {
                free(in->flags[i].name);
                free(in->flags[i].value);
        }
        free(in->flags);
        free(in->original);
}

void dockerfile_free(struct dockerfile *df)
{
        if (df == NULL)
                return;
        for (size_t i = 0; i < df->n_meta_args; i++)
                instr_clear(&df->meta_args[i]);
        free(df->meta_args);
        for (size_t i = 0; i < df->n_stages; i++) {
                struct df_stage *s = &df->stages[i];
                for (size_t j = 0; j < s->n_instrs; j++)
                        instr_clear(&s->instrs[j]);
                free(s->instrs);
                free(s->base);
                free(s->name);
                free(s->platform);
                free(s->original);
        }
        free(df->stages);
        free(df->name);
        free(df->syntax);
        free(df);
}

/* Splits at runs of blanks (BuildKit's parseStringsWhitespaceDelimited). */
static void split_blanks(const char *s, char ***ret, size_t *ret_n)
{
        char **v = NULL;
        size_t n = 0;

        while (*s != '\0') {
                while (is_blank(*s))
                        s++;
                if (*s == '\0')
                        break;
                const char *start = s;
                while (*s != '\0' && !is_blank(*s))
                        s++;
                strv_push(&v, &n, xstrndup(start, (size_t)(s - start)));
        }
        if (v == NULL)
                v = xcalloc(1, sizeof *v);
        *ret = v;
        *ret_n = n;
}

/* The `--name[=value]` words right after the keyword (BuildKit's
 * extractBuilderFlags: quotes removed, backslash escapes the next
 * character, a lone `--` ends the flags).  Returns where the arguments
 * start. */
static const char *extract_flags(const char *line, char ***ret, size_t *ret_n)
{
        char **v = NULL;
        size_t n = 0;
        const char *s = line;

        for (;;) {
                while (is_blank(*s))
                        s++;
                if (s[0] != '-' || s[1] != '-')
                        break;
                struct buf w = {0};
                int blank_ok = 0;
                char quote = 0;
                for (; *s != '\0'; s++) {
                        if (quote != 0) {
                                if (*s == quote) {
                                        quote = 0;
                                        continue;
                                }
                        } else if (is_blank(*s)) {
                                break;
                        } else if (*s == '\'' || *s == '"') {
                                quote = *s;
                                blank_ok = 1;
                                continue;
                        }
                        if (*s == '\\') {
                                if (s[1] == '\0')
                                        continue;
                                s++;
                        }
                        buf_append_char(&w, *s);
                }
                if (w.len == 2 && memcmp(w.data, "--", 2) == 0) {
                        buf_free(&w);
                        break;
                }
                if (w.len > 0 || blank_ok)
                        strv_push(&v, &n, buf_take(&w));
                buf_free(&w);
        }
        *ret = v;
        *ret_n = n;
        return s;
}

static const char *const copy_flags[] = {"from", "chown", "chmod", "link", NULL};
static const char *const add_flags[] = {"chown", "chmod", "link", NULL};
static const char *const from_flags[] = {"platform", NULL};
static const char *const health_flags[] = {"interval", "timeout",        "start-period",
                                           "retries",  "start-interval", NULL};
static const char *const bool_flags[] = {"link", NULL};

static int in_list(const char *const *list, const char *s)
{
        for (; list != NULL && *list != NULL; list++)
                if (strcmp(*list, s) == 0)
                        return 1;
        return 0;
}

static const char *const *flags_for(enum df_kind kind)
{
        switch (kind) {
        case DF_COPY:
                return copy_flags;
        case DF_ADD:
                return add_flags;
        case DF_FROM:
                return from_flags;
        case DF_HEALTHCHECK:
                return health_flags;
        default:
                return NULL;
        }
}

/* Checks the flag words against what KIND accepts and fills IN's flags. */
static int take_flags(struct parser *p, enum df_kind kind, char **words, size_t n_words,
                      struct df_instr *in, struct hoist_error **err)
{
        const char *const *ok = flags_for(kind);

        for (size_t i = 0; i < n_words; i++) {
                const char *w = words[i];
                const char *eq = strchr(w, '=');
                _cleanup_free_ char *name =
                        eq != NULL ? xstrndup(w + 2, (size_t)(eq - w - 2)) : xstrdup(w + 2);

                if (kind == DF_RUN && (strcmp(name, "mount") == 0 || strcmp(name, "network") == 0 ||
                                       strcmp(name, "security") == 0))
                        return perr(p, err,
                                    "RUN --%s is not supported by hoist build (RUN runs with the "
                                    "stage's filesystem and no extra mounts)",
                                    name);
                if ((kind == DF_COPY || kind == DF_ADD) &&
                    (strcmp(name, "parents") == 0 || strcmp(name, "exclude") == 0 ||
                     strcmp(name, "checksum") == 0 || strcmp(name, "keep-git-dir") == 0))
                        return perr(p, err, "%s --%s is not supported by hoist build", p->keyword,
                                    name);
                if (!in_list(ok, name))
                        return perr(p, err, "unknown flag --%s for %s", name, p->keyword);
                if (dockerfile_flag(in, name) != NULL)
                        return perr(p, err, "flag --%s given twice", name);
                if (eq == NULL && !in_list(bool_flags, name))
                        return perr(p, err, "flag --%s needs a value (--%s=VALUE)", name, name);
                if (eq != NULL && in_list(bool_flags, name) && strcmp(eq + 1, "true") != 0 &&
                    strcmp(eq + 1, "false") != 0)
                        return perr(p, err, "flag --%s takes no value, or true or false", name);
                in->flags = xreallocarray(in->flags, in->n_flags + 1, sizeof *in->flags);
                in->flags[in->n_flags].name = TAKE_PTR(name);
                in->flags[in->n_flags].value = xstrdup(eq != NULL ? eq + 1 : "");
                in->n_flags++;
        }
        return 0;
}

const char *dockerfile_flag(const struct df_instr *in, const char *name)
{
        for (size_t i = 0; i < in->n_flags; i++)
                if (strcmp(in->flags[i].name, name) == 0)
                        return in->flags[i].value;
        return NULL;
}

/* 1 and the strings when REST is a JSON array of strings, 0 when it is
 * not JSON (shell form), -1 when it is a JSON array holding non-strings. */
static int parse_json(struct parser *p, const char *rest, char ***ret, size_t *ret_n,
                      struct hoist_error **err)
{
        json_error_t jerr;
        json_t *a;
        char **v = NULL;
        size_t n = 0;

        while (is_blank(*rest))
                rest++;
        if (*rest != '[')
                return 0;
        a = json_loads(rest, 0, &jerr);
        if (a == NULL)
                return 0;
        if (!json_is_array(a)) {
                json_decref(a);
                return 0;
        }
        for (size_t i = 0; i < json_array_size(a); i++) {
                json_t *e = json_array_get(a, i);
                if (!json_is_string(e)) {
                        json_decref(a);
                        strv_free(v);
                        return perr(p, err,
                                    "%s: the JSON array may hold only strings (write "
                                    "[\"a\", \"b\"])",
                                    p->keyword);
                }
                strv_push(&v, &n, xstrdup(json_string_value(e)));
        }
        json_decref(a);
        if (v == NULL)
                v = xcalloc(1, sizeof *v);
        *ret = v;
        *ret_n = n;
        return 1;
}

/* A heredoc start (`<<EOF`, `<<-"EOF"`, `2<<EOF`) at the start of a word. */
static int has_heredoc(const char *s)
{
        for (const char *c = s; *c != '\0'; c++) {
                if (c[0] != '<' || c[1] != '<' || c[2] == '<')
                        continue;
                const char *b = c;
                while (b > s && isdigit((unsigned char)b[-1]))
                        b--;
                if (b > s && !is_blank(b[-1]))
                        continue;
                const char *w = c + 2;
                if (*w == '-')
                        w++;
                if (*w == '"' || *w == '\'')
                        w++;
                if (isalnum((unsigned char)*w) || *w == '_')
                        return 1;
        }
        return 0;
}

static int heredoc_error(struct parser *p, struct hoist_error **err)
{
        return perr(p, err,
                    "heredocs are supported in RUN only, not in %s; put the content in a file "
                    "in the build context and COPY it",
                    p->keyword);
}

/* The delimiter of heredoc marker WORD (`<<EOF`, `2<<-"EOF"`), or NULL;
 * *strip_tabs for `<<-`. */
static char *heredoc_name(const char *w, int *strip_tabs)
{
        size_t n = 0;
        char quote = 0;

        while (isdigit((unsigned char)*w))
                w++;
        if (w[0] != '<' || w[1] != '<' || w[2] == '<')
                return NULL;
        w += 2;
        *strip_tabs = *w == '-';
        if (*w == '-')
                w++;
        if (*w == '"' || *w == '\'')
                quote = *w++;
        while (isalnum((unsigned char)w[n]) || w[n] == '_')
                n++;
        if (n == 0 || (quote != 0 && w[n] != quote))
                return NULL;
        return xstrndup(w, n);
}

/* Reads the body of heredoc NAME from the lines after the instruction
 * into SCRIPT: as written followed by the delimiter line (RAW, for a
 * shell to read), or with `<<-` tabs stripped and no delimiter. */
static int heredoc_body(struct parser *p, const char *name, int strip_tabs, int raw,
                        struct buf *script, struct hoist_error **err)
{
        size_t first = p->next;

        for (; p->next < p->n_lines; p->next++) {
                struct line l = p->lines[p->next];
                size_t skip = 0;
                if (strip_tabs)
                        while (skip < l.len && l.s[skip] == '\t')
                                skip++;
                if (l.len - skip == strlen(name) && memcmp(l.s + skip, name, l.len - skip) == 0) {
                        if (raw) {
                                buf_append_char(script, '\n');
                                buf_append(script, l.s, l.len);
                        }
                        p->next++;
                        return 0;
                }
                if (raw || p->next > first)
                        buf_append_char(script, '\n');
                if (raw)
                        buf_append(script, l.s, l.len);
                else
                        buf_append(script, l.s + skip, l.len - skip);
        }
        return perr(p, err, "the heredoc <<%s has no closing line '%s'", name, name);
}

/* RUN with heredocs: `RUN <<EOF` alone runs the body as the shell
 * command (as BuildKit does); `RUN cmd <<EOF` gives the shell the line
 * and the bodies, which it reads as here-documents.  0 when REST holds
 * no heredoc after all. */
static int run_heredocs(struct parser *p, const char *rest, struct df_instr *in,
                        struct hoist_error **err)
{
        _cleanup_strv_ char **words = NULL;
        size_t n_words = 0, found = 0;
        struct buf script = {0};

        dfvars_split_words(rest, p->escape, &words, &n_words);
        int alone = n_words == 1;
        if (!alone)
                buf_append_str(&script, rest);
        for (size_t i = 0; i < n_words; i++) {
                int strip_tabs = 0;
                _cleanup_free_ char *name = heredoc_name(words[i], &strip_tabs);
                if (name == NULL)
                        continue;
                found++;
                if (heredoc_body(p, name, strip_tabs, !alone, &script, err) < 0) {
                        buf_free(&script);
                        return -1;
                }
        }
        if (found == 0) {
                buf_free(&script);
                return 0;
        }
        if (alone && script.len >= 2 && memcmp(script.data, "#!", 2) == 0) {
                buf_free(&script);
                return perr(p, err,
                            "RUN <<EOF with a #! line is not supported by hoist build; name the "
                            "interpreter instead (RUN python3 <<EOF)");
        }
        strv_push(&in->args, &in->n_args, buf_take(&script));
        return 1;
}

/* RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD: JSON or one shell string. */
static int parse_command(struct parser *p, const char *rest, struct df_instr *in,
                         struct hoist_error **err)
{
        int r = parse_json(p, rest, &in->args, &in->n_args, err);

        if (r < 0)
                return r;
        if (r > 0) {
                in->json_form = 1;
                return 0;
        }
        if (*rest == '\0')
                return perr(p, err,
                            "%s needs a command (%s [\"executable\", \"arg\"] or %s "
                            "command line)",
                            p->keyword, p->keyword, p->keyword);
        if (has_heredoc(rest)) {
                if (in->kind != DF_RUN)
                        return heredoc_error(p, err);
                r = run_heredocs(p, rest, in, err);
                if (r != 0)
                        return r < 0 ? -1 : 0;
        }
        strv_push(&in->args, &in->n_args, xstrdup(rest));
        return 0;
}

/* COPY, ADD, VOLUME: JSON or words. */
static int parse_list(struct parser *p, const char *rest, struct df_instr *in,
                      struct hoist_error **err)
{
        int r = parse_json(p, rest, &in->args, &in->n_args, err);

        if (r < 0)
                return r;
        if (r > 0) {
                in->json_form = 1;
                return 0;
        }
        split_blanks(rest, &in->args, &in->n_args);
        for (size_t i = 0; i < in->n_args; i++)
                if (strncmp(in->args[i], "<<", 2) == 0 && has_heredoc(in->args[i]))
                        return heredoc_error(p, err);
        return 0;
}

static int parse_pairs(struct parser *p, const char *rest, struct df_instr *in,
                       struct hoist_error **err)
{
        _cleanup_error_ struct hoist_error *e = NULL;

        if (*rest == '\0')
                return perr(p, err, "%s needs at least one KEY=VALUE pair", p->keyword);
        if (dfvars_split_pairs(rest, p->escape, 1, &in->args, &in->n_args, &e) < 0)
                return perr(p, err, "%s: %s", p->keyword, e->msg);
        for (size_t i = 0; i < in->n_args; i += 2)
                if (in->args[i][0] == '\0')
                        return perr(p, err, "%s: a name is empty in '%s' (write NAME=VALUE)",
                                    p->keyword, rest);
        return 0;
}

static int parse_arg(struct parser *p, const char *rest, struct df_instr *in,
                     struct hoist_error **err)
{
        dfvars_split_words(rest, p->escape, &in->args, &in->n_args);
        if (in->n_args == 0)
                return perr(p, err, "ARG needs a name (ARG NAME or ARG NAME=DEFAULT)");
        for (size_t i = 0; i < in->n_args; i++)
                if (in->args[i][0] == '=')
                        return perr(p, err, "ARG: a name is empty in '%s' (write NAME=DEFAULT)",
                                    in->args[i]);
        return 0;
}

static int parse_healthcheck(struct parser *p, const char *rest, struct df_instr *in,
                             struct hoist_error **err)
{
        size_t k = 0;

        while (rest[k] != '\0' && !is_blank(rest[k]))
                k++;
        if (k == 4 && strncasecmp(rest, "NONE", 4) == 0) {
                const char *after = rest + k;
                while (is_blank(*after))
                        after++;
                if (*after != '\0' || in->n_flags > 0)
                        return perr(p, err, "HEALTHCHECK NONE takes no arguments or flags");
                strv_push(&in->args, &in->n_args, xstrdup("NONE"));
                return 0;
        }
        if (k != 3 || strncasecmp(rest, "CMD", 3) != 0)
                return perr(p, err, "HEALTHCHECK needs NONE or CMD (HEALTHCHECK CMD command)");
        rest += k;
        while (is_blank(*rest))
                rest++;
        _cleanup_strv_ char **cmd = NULL;
        struct df_instr tmp = {.kind = DF_HEALTHCHECK};
        if (parse_command(p, rest, &tmp, err) < 0) {
                strv_free(tmp.args);
                return -1;
        }
        cmd = tmp.args;
        in->json_form = tmp.json_form;
        strv_push(&in->args, &in->n_args, xstrdup("CMD"));
        for (size_t i = 0; i < tmp.n_args; i++)
                strv_push(&in->args, &in->n_args, xstrdup(cmd[i]));
        return 0;
}

/* The arguments of one instruction, shaped by its kind. */
static int parse_args(struct parser *p, enum df_kind kind, const char *rest, struct df_instr *in,
                      struct hoist_error **err)
{
        int r;

        switch (kind) {
        case DF_RUN:
        case DF_CMD:
        case DF_ENTRYPOINT:
                return parse_command(p, rest, in, err);
        case DF_SHELL:
                r = parse_json(p, rest, &in->args, &in->n_args, err);
                if (r < 0)
                        return -1;
                if (r == 0 || in->n_args == 0) {
                        return perr(p, err,
                                    "SHELL needs the JSON form with at least one string "
                                    "(SHELL [\"/bin/sh\", \"-c\"])");
                }
                in->json_form = 1;
                return 0;
        case DF_COPY:
        case DF_ADD:
                if (parse_list(p, rest, in, err) < 0)
                        return -1;
                if (in->n_args < 2)
                        return perr(p, err, "%s needs at least two arguments (%s SRC... DEST)",
                                    p->keyword, p->keyword);
                return 0;
        case DF_VOLUME:
                if (parse_list(p, rest, in, err) < 0)
                        return -1;
                if (in->n_args == 0)
                        return perr(p, err, "VOLUME needs at least one path");
                for (size_t i = 0; i < in->n_args; i++)
                        if (in->args[i][0] == '\0')
                                return perr(p, err, "VOLUME: a path is empty");
                return 0;
        case DF_ENV:
        case DF_LABEL:
                return parse_pairs(p, rest, in, err);
        case DF_ARG:
                return parse_arg(p, rest, in, err);
        case DF_EXPOSE:
                split_blanks(rest, &in->args, &in->n_args);
                if (in->n_args == 0)
                        return perr(p, err, "EXPOSE needs at least one port (EXPOSE 8080/tcp)");
                return 0;
        case DF_WORKDIR:
        case DF_USER:
        case DF_STOPSIGNAL:
        case DF_MAINTAINER:
                if (*rest == '\0')
                        return perr(p, err, "%s needs exactly one argument", p->keyword);
                strv_push(&in->args, &in->n_args, xstrdup(rest));
                return 0;
        case DF_HEALTHCHECK:
                return parse_healthcheck(p, rest, in, err);
        case DF_FROM:
                break;
        }
        return perr(p, err, "internal error: no parser for %s", p->keyword);
}

/* Stage names as BuildKit accepts them: [a-z][a-z0-9-_.]*. */
static int valid_stage_name(const char *s)
{
        if (!islower((unsigned char)s[0]))
                return 0;
        for (; *s != '\0'; s++)
                if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-' &&
                    *s != '_' && *s != '.')
                        return 0;
        return 1;
}

static int parse_from(struct parser *p, const char *line, const char *rest, char **flags,
                      size_t n_flags, struct hoist_error **err)
{
        struct dockerfile *df = p->df;
        struct df_instr tmp = {.kind = DF_FROM};
        _cleanup_strv_ char **words = NULL;
        size_t n = 0;
        struct df_stage *s;

        if (take_flags(p, DF_FROM, flags, n_flags, &tmp, err) < 0) {
                instr_clear(&tmp);
                return -1;
        }
        split_blanks(rest, &words, &n);
        if (!(n == 1 || (n == 3 && strcasecmp(words[1], "AS") == 0))) {
                instr_clear(&tmp);
                return perr(p, err,
                            "FROM needs an image and optionally a name "
                            "(FROM IMAGE [AS NAME])");
        }
        if (n == 3) {
                for (char *c = words[2]; *c != '\0'; c++)
                        *c = (char)tolower((unsigned char)*c);
                if (!valid_stage_name(words[2])) {
                        instr_clear(&tmp);
                        return perr(p, err,
                                    "invalid stage name '%s': it must start with a letter and "
                                    "hold only letters, digits, '-', '_' and '.'",
                                    words[2]);
                }
                if (dockerfile_stage_index(df, words[2], df->n_stages) >= 0) {
                        instr_clear(&tmp);
                        return perr(p, err, "stage name '%s' is used twice", words[2]);
                }
        }
        df->stages = xreallocarray(df->stages, df->n_stages + 1, sizeof *df->stages);
        s = &df->stages[df->n_stages++];
        *s = (struct df_stage){0};
        s->base = xstrdup(words[0]);
        s->name = n == 3 ? xstrdup(words[2]) : NULL;
        s->platform = xstrdup(dockerfile_flag(&tmp, "platform"));
        s->line = p->line;
        s->original = xstrdup(line);
        instr_clear(&tmp);
        return 0;
}

static int lookup_keyword(const char *word, size_t len, enum df_kind *ret)
{
        for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
                if (strlen(keywords[i].name) == len &&
                    strncasecmp(keywords[i].name, word, len) == 0) {
                        *ret = keywords[i].kind;
                        return 0;
                }
        return -1;
}

/* One logical line (continuations joined, at least one non-blank). */
static int parse_instruction(struct parser *p, char *line, struct hoist_error **err)
{
        struct dockerfile *df = p->df;
        size_t len = strlen(line);
        size_t k = 0;
        enum df_kind kind;
        _cleanup_strv_ char **flags = NULL;
        size_t n_flags = 0;
        const char *rest;
        struct df_instr in = {0};

        while (len > 0 && is_blank(line[len - 1]))
                line[--len] = '\0';
        while (is_blank(*line))
                line++;
        while (line[k] != '\0' && !is_blank(line[k]))
                k++;
        if (lookup_keyword(line, k, &kind) < 0) {
                if (k == 7 && strncasecmp(line, "ONBUILD", 7) == 0)
                        return perr(p, err,
                                    "ONBUILD is not supported by hoist build (OCI images have "
                                    "no build triggers): run those steps in the Dockerfile that "
                                    "builds FROM this image");
                return perr(p, err, "unknown instruction '%.*s'", (int)k, line);
        }
        p->keyword = dockerfile_kind_name(kind);
        rest = extract_flags(line + k, &flags, &n_flags);
        if (kind == DF_FROM)
                return parse_from(p, line, rest, flags, n_flags, err);
        if (df->n_stages == 0 && kind != DF_ARG)
                return perr(p, err, "%s before the first FROM (only ARG may come before FROM)",
                            p->keyword);

        in.kind = kind;
        in.line = p->line;
        in.original = xstrdup(line);
        if (take_flags(p, kind, flags, n_flags, &in, err) < 0 ||
            parse_args(p, kind, rest, &in, err) < 0) {
                instr_clear(&in);
                return -1;
        }
        if (in.args == NULL)
                in.args = xcalloc(1, sizeof *in.args);

        if (df->n_stages == 0) {
                df->meta_args =
                        xreallocarray(df->meta_args, df->n_meta_args + 1, sizeof *df->meta_args);
                df->meta_args[df->n_meta_args++] = in;
        } else {
                struct df_stage *s = &df->stages[df->n_stages - 1];
                s->instrs = xreallocarray(s->instrs, s->n_instrs + 1, sizeof *s->instrs);
                s->instrs[s->n_instrs++] = in;
        }
        return 0;
}

static int is_comment(struct line l)
{
        size_t i = 0;

        while (i < l.len && is_blank(l.s[i]))
                i++;
        return i < l.len && l.s[i] == '#';
}

static int is_empty(struct line l)
{
        for (size_t i = 0; i < l.len; i++)
                if (!is_blank(l.s[i]))
                        return 0;
        return 1;
}

/* Appends L to B without a trailing continuation (the escape character
 * and the blanks after it); returns 1 when L continues. */
static int append_line(struct buf *b, struct line l, char escape)
{
        size_t n = l.len;

        while (n > 0 && (l.s[n - 1] == ' ' || l.s[n - 1] == '\t'))
                n--;
        if (n > 0 && l.s[n - 1] == escape) {
                buf_append(b, l.s, n - 1);
                return 1;
        }
        buf_append(b, l.s, l.len);
        return 0;
}

/* `# key=value` with a known key while directives are still possible:
 * 1 when L was one, 0 when directives are over. */
static int parse_directive(struct parser *p, struct line l, int *seen, struct hoist_error **err)
{
        size_t i = 0, ks, ke, vs, ve;
        _cleanup_free_ char *key = NULL, *value = NULL;

        while (i < l.len && is_blank(l.s[i]))
                i++;
        if (i >= l.len || l.s[i] != '#')
                return 0;
        i++;
        while (i < l.len && (l.s[i] == ' ' || l.s[i] == '\t'))
                i++;
        ks = i;
        if (i >= l.len || !isalpha((unsigned char)l.s[i]))
                return 0;
        while (i < l.len && isalnum((unsigned char)l.s[i]))
                i++;
        ke = i;
        while (i < l.len && (l.s[i] == ' ' || l.s[i] == '\t'))
                i++;
        if (i >= l.len || l.s[i] != '=')
                return 0;
        i++;
        while (i < l.len && (l.s[i] == ' ' || l.s[i] == '\t'))
                i++;
        vs = i;
        ve = l.len;
        while (ve > vs && is_blank(l.s[ve - 1]))
                ve--;
        if (ve == vs)
                return 0;
        key = xstrndup(l.s + ks, ke - ks);
        for (char *c = key; *c != '\0'; c++)
                *c = (char)tolower((unsigned char)*c);
        value = xstrndup(l.s + vs, ve - vs);

        int bit = strcmp(key, "escape") == 0   ? 1
                  : strcmp(key, "syntax") == 0 ? 2
                  : strcmp(key, "check") == 0  ? 4
                                               : 0;
        if (bit == 0)
                return 0;
        if (*seen & bit)
                return perr(p, err, "only one '%s' parser directive may be used", key);
        *seen |= bit;
        if (bit == 1) {
                if (strcmp(value, "\\") != 0 && strcmp(value, "`") != 0)
                        return perr(p, err,
                                    "invalid escape character '%s' in the escape directive "
                                    "(use \\ or `)",
                                    value);
                p->escape = value[0];
        } else if (bit == 2) {
                free(p->df->syntax);
                p->df->syntax = TAKE_PTR(value);
        }
        return 1;
}

static int parse_lines(struct parser *p, const char *text, size_t len, struct hoist_error **err)
{
        struct line *lines = NULL;
        size_t n = 0;
        int directives = 1, seen = 0, r = 0;

        for (size_t pos = 0; pos < len;) {
                const char *nl = memchr(text + pos, '\n', len - pos);
                size_t end = nl != NULL ? (size_t)(nl - text) : len;
                size_t l_end = end;
                if (l_end > pos && text[l_end - 1] == '\r')
                        l_end--;
                lines = xreallocarray(lines, n + 1, sizeof *lines);
                lines[n++] = (struct line){text + pos, l_end - pos};
                pos = end + 1;
                if (nl == NULL)
                        break;
        }
        if (n > 0 && lines[0].len >= 3 && memcmp(lines[0].s, "\xef\xbb\xbf", 3) == 0) {
                lines[0].s += 3;
                lines[0].len -= 3;
        }

        for (size_t i = 0; i < n && r == 0; i++) {
                p->line = (int)i + 1;
                if (directives) {
                        r = parse_directive(p, lines[i], &seen, err);
                        if (r < 0)
                                break;
                        if (r > 0) {
                                r = 0;
                                continue;
                        }
                        directives = 0;
                }
                if (is_comment(lines[i]) || is_empty(lines[i]))
                        continue;

                struct buf b = {0};
                int more = append_line(&b, lines[i], p->escape);
                while (more && i + 1 < n) {
                        i++;
                        if (is_comment(lines[i]) || is_empty(lines[i]))
                                continue;
                        more = append_line(&b, lines[i], p->escape);
                }
                if (b.len == 0 || is_empty((struct line){b.data, b.len})) {
                        /* A lone escape character: nothing to run. */
                        buf_free(&b);
                        continue;
                }
                p->lines = lines;
                p->n_lines = n;
                p->next = i + 1;
                r = parse_instruction(p, b.data, err);
                i = p->next - 1; /* past any heredoc bodies */
                buf_free(&b);
        }
        free(lines);
        return r;
}

int dockerfile_parse(const char *text, size_t len, const char *name, struct dockerfile **ret,
                     struct hoist_error **err)
{
        struct parser p = {.name = name, .escape = '\\'};
        struct dockerfile *df;

        if (memchr(text, '\0', len) != NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' holds a NUL byte: it is not a text Dockerfile", name);
        df = xzalloc(sizeof *df);
        df->name = xstrdup(name);
        p.df = df;
        if (parse_lines(&p, text, len, err) < 0) {
                dockerfile_free(df);
                return -1;
        }
        df->escape = p.escape;
        if (df->n_stages == 0) {
                dockerfile_free(df);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' has no FROM instruction (a Dockerfile starts "
                                        "with FROM IMAGE, or FROM scratch)",
                                        name);
        }
        *ret = df;
        return 0;
}

int dockerfile_parse_file(const char *path, struct dockerfile **ret, struct hoist_error **err)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0;

        if (fs_read_file(path, &data, &len, err) < 0)
                return hoist_error_wrap(err, "read Dockerfile");
        if (len > DOCKERFILE_MAX)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' is %zu bytes; a Dockerfile may have at most %u", path,
                                        len, DOCKERFILE_MAX);
        return dockerfile_parse(data, len, path, ret, err);
}

int dockerfile_stage_index(const struct dockerfile *df, const char *ref, size_t before)
{
        size_t n = before < df->n_stages ? before : df->n_stages;
        char *end = NULL;

        if (ref == NULL || *ref == '\0')
                return -1;
        for (size_t i = 0; i < n; i++)
                if (df->stages[i].name != NULL && strcasecmp(df->stages[i].name, ref) == 0)
                        return (int)i;
        if (!isdigit((unsigned char)ref[0]))
                return -1;
        errno = 0;
        unsigned long v = strtoul(ref, &end, 10);
        if (errno != 0 || *end != '\0' || v >= n)
                return -1;
        return (int)v;
}
