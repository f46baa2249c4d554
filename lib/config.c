/* SPDX-License-Identifier: MIT */
/*
 * YAML documents as trees of nodes that remember where they were written.
 * Built from libyaml's events rather than its document API because the
 * events let us refuse aliases and deep nesting before anything is expanded
 * or allocated for them.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

struct loader {
        yaml_parser_t parser;
        const char *file;
};

#define QUOTE_MAX 60

/* Text the user wrote, fit for a one-line message. */
static void append_sanitized(struct buf *b, const char *s)
{
        size_t n = 0;

        for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
                if (n == QUOTE_MAX) {
                        buf_append_str(b, "...");
                        break;
                }
                buf_append_char(b, *p < 0x20 || *p == 0x7f ? '?' : (char)*p);
        }
}

static char *sanitize(const char *s)
{
        struct buf b = {0};

        buf_append_str(&b, "");
        append_sanitized(&b, s);
        return buf_take(&b);
}

char *config_quote(const char *s)
{
        struct buf b = {0};

        buf_append_char(&b, '\'');
        append_sanitized(&b, s);
        buf_append_char(&b, '\'');
        return buf_take(&b);
}

static int mark_line(const yaml_mark_t *m)
{
        return m->line >= INT_MAX ? INT_MAX : (int)m->line + 1;
}

static int mark_col(const yaml_mark_t *m)
{
        return m->column >= INT_MAX ? INT_MAX : (int)m->column + 1;
}

/* libyaml's error, converted once, with its position. */
static int loader_syntax_error(struct loader *l, struct hoist_error **err)
{
        const yaml_parser_t *p = &l->parser;
        const char *problem = p->problem ? p->problem : "unknown error";

        switch (p->error) {
        case YAML_MEMORY_ERROR:
                return hoist_error_make(err, ENOMEM, "'%s': YAML parser", l->file);
        case YAML_READER_ERROR:
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s': byte %zu: %s (the file must be UTF-8 text)", l->file,
                                        p->problem_offset, problem);
        default:
                break;
        }
        if (p->context != NULL)
                return hoist_error_make(
                        err, HOIST_ERR_INPUT, "'%s':%d:%d: YAML syntax error: %s (%s at line %d)",
                        l->file, mark_line(&p->problem_mark), mark_col(&p->problem_mark), problem,
                        p->context, mark_line(&p->context_mark));
        return hoist_error_make(err, HOIST_ERR_INPUT, "'%s':%d:%d: YAML syntax error: %s", l->file,
                                mark_line(&p->problem_mark), mark_col(&p->problem_mark), problem);
}

static int loader_next(struct loader *l, yaml_event_t *ev, struct hoist_error **err)
{
        if (!yaml_parser_parse(&l->parser, ev))
                return loader_syntax_error(l, err);
        return 0;
}

static int loader_error(struct loader *l, const yaml_mark_t *m, struct hoist_error **err,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int loader_error(struct loader *l, const yaml_mark_t *m, struct hoist_error **err,
                        const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        return hoist_error_make(err, HOIST_ERR_INPUT, "'%s':%d:%d: %s", l->file, mark_line(m),
                                mark_col(m), msg);
}

static struct config_node *node_new(struct loader *l, enum config_type type, const yaml_mark_t *m)
{
        struct config_node *n = xzalloc(sizeof *n);

        n->type = type;
        n->line = mark_line(m);
        n->col = mark_col(m);
        n->file = l->file;
        return n;
}

void config_node_free(struct config_node *node)
{
        if (node == NULL)
                return;
        free(node->text);
        for (size_t i = 0; i < node->n_items; i++)
                config_node_free(node->items[i]);
        free(node->items);
        for (size_t i = 0; i < node->n_pairs; i++) {
                free(node->pairs[i].key);
                config_node_free(node->pairs[i].value);
        }
        free(node->pairs);
        free(node->owned_file);
        free(node);
}

static int reject_anchor(struct loader *l, const yaml_event_t *ev, const yaml_char_t *anchor,
                         struct hoist_error **err)
{
        if (anchor == NULL)
                return 0;
        _cleanup_free_ char *q = sanitize((const char *)anchor);
        return loader_error(l, &ev->start_mark, err,
                            "anchor '&%s' is not supported (anchors and aliases are refused; "
                            "write the value out)",
                            q);
}

static struct config_node *scalar_from_event(struct loader *l, const yaml_event_t *ev,
                                             struct hoist_error **err)
{
        const char *value = (const char *)ev->data.scalar.value;
        size_t len = ev->data.scalar.length;

        if (memchr(value, '\0', len) != NULL) {
                (void)loader_error(l, &ev->start_mark, err, "NUL characters are not allowed");
                return NULL;
        }
        struct config_node *n = node_new(l, CONFIG_SCALAR, &ev->start_mark);
        n->text = xstrndup(value, len);
        n->len = len;
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        return n;
}

static int parse_node(struct loader *l, yaml_event_t *ev, int depth, struct config_node **ret,
                      struct hoist_error **err);

static int parse_sequence(struct loader *l, const yaml_event_t *start, int depth,
                          struct config_node **ret, struct hoist_error **err)
{
        _cleanup_config_node_ struct config_node *n =
                node_new(l, CONFIG_SEQUENCE, &start->start_mark);
        size_t cap = 0;

        for (;;) {
                _cleanup_yaml_event_ yaml_event_t ev = {0};
                struct config_node *child = NULL;

                if (loader_next(l, &ev, err) < 0)
                        return -1;
                if (ev.type == YAML_SEQUENCE_END_EVENT)
                        break;
                if (parse_node(l, &ev, depth + 1, &child, err) < 0)
                        return -1;
                if (n->n_items == cap) {
                        cap = cap ? cap * 2 : 4;
                        n->items = xreallocarray(n->items, cap, sizeof *n->items);
                }
                n->items[n->n_items++] = child;
        }
        *ret = TAKE_PTR(n);
        return 0;
}

static int pair_index_cmp(const void *a, const void *b, void *arg)
{
        const struct config_pair *pairs = arg;
        size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
        int r = strcmp(pairs[ia].key, pairs[ib].key);

        if (r != 0)
                return r;
        return ia < ib ? -1 : ia > ib;
}

/* Sorting, not pairwise comparing, keeps a mapping of many keys n log n. */
static int check_duplicate_keys(struct loader *l, const struct config_node *n,
                                struct hoist_error **err)
{
        _cleanup_free_ size_t *idx = NULL;
        size_t dup = SIZE_MAX, first = 0;

        if (n->n_pairs < 2)
                return 0;
        idx = xreallocarray(NULL, n->n_pairs, sizeof *idx);
        for (size_t i = 0; i < n->n_pairs; i++)
                idx[i] = i;
        qsort_r(idx, n->n_pairs, sizeof *idx, pair_index_cmp, n->pairs);
        /* in each run of equal keys the first is the first use and the second
         * the first repeat; report the repeat that comes first in the file */
        for (size_t i = 0; i < n->n_pairs;) {
                size_t j = i + 1;
                while (j < n->n_pairs && strcmp(n->pairs[idx[j]].key, n->pairs[idx[i]].key) == 0)
                        j++;
                if (j - i >= 2 && idx[i + 1] < dup) {
                        dup = idx[i + 1];
                        first = idx[i];
                }
                i = j;
        }
        if (dup == SIZE_MAX)
                return 0;
        _cleanup_free_ char *q = config_quote(n->pairs[dup].key);
        return hoist_error_make(err, HOIST_ERR_INPUT,
                                "'%s':%d: duplicate key %s (first at line %d)", l->file,
                                n->pairs[dup].key_line, q, n->pairs[first].key_line);
}

static int parse_mapping(struct loader *l, const yaml_event_t *start, int depth,
                         struct config_node **ret, struct hoist_error **err)
{
        _cleanup_config_node_ struct config_node *n =
                node_new(l, CONFIG_MAPPING, &start->start_mark);
        size_t cap = 0;

        for (;;) {
                _cleanup_yaml_event_ yaml_event_t kev = {0};
                _cleanup_yaml_event_ yaml_event_t vev = {0};
                _cleanup_config_node_ struct config_node *key = NULL;
                struct config_node *value = NULL;

                if (loader_next(l, &kev, err) < 0)
                        return -1;
                if (kev.type == YAML_MAPPING_END_EVENT)
                        break;
                if (kev.type == YAML_ALIAS_EVENT)
                        return parse_node(l, &kev, depth + 1, &value, err);
                if (kev.type != YAML_SCALAR_EVENT)
                        return loader_error(l, &kev.start_mark, err,
                                            "a mapping key must be a plain string, not %s",
                                            kev.type == YAML_MAPPING_START_EVENT ? "a mapping"
                                                                                 : "a sequence");
                if (reject_anchor(l, &kev, kev.data.scalar.anchor, err) < 0)
                        return -1;
                key = scalar_from_event(l, &kev, err);
                if (key == NULL)
                        return -1;
                if (loader_next(l, &vev, err) < 0)
                        return -1;
                if (parse_node(l, &vev, depth + 1, &value, err) < 0)
                        return -1;
                if (n->n_pairs == cap) {
                        cap = cap ? cap * 2 : 4;
                        n->pairs = xreallocarray(n->pairs, cap, sizeof *n->pairs);
                }
                struct config_pair *pair = &n->pairs[n->n_pairs++];
                pair->key = TAKE_PTR(key->text);
                pair->key_line = key->line;
                pair->key_col = key->col;
                pair->value = value;
        }
        if (check_duplicate_keys(l, n, err) < 0)
                return -1;
        *ret = TAKE_PTR(n);
        return 0;
}

static int parse_node(struct loader *l, yaml_event_t *ev, int depth, struct config_node **ret,
                      struct hoist_error **err)
{
        switch (ev->type) {
        case YAML_ALIAS_EVENT: {
                _cleanup_free_ char *q = sanitize((const char *)ev->data.alias.anchor);
                return loader_error(l, &ev->start_mark, err,
                                    "alias '*%s' is not supported (anchors and aliases are "
                                    "refused; write the value out)",
                                    q);
        }
        case YAML_SCALAR_EVENT:
                if (reject_anchor(l, ev, ev->data.scalar.anchor, err) < 0)
                        return -1;
                *ret = scalar_from_event(l, ev, err);
                return *ret ? 0 : -1;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
                if (reject_anchor(l, ev,
                                  ev->type == YAML_SEQUENCE_START_EVENT
                                          ? ev->data.sequence_start.anchor
                                          : ev->data.mapping_start.anchor,
                                  err) < 0)
                        return -1;
                if (depth >= CONFIG_MAX_DEPTH)
                        return loader_error(l, &ev->start_mark, err,
                                            "nested more than %d levels deep", CONFIG_MAX_DEPTH);
                if (ev->type == YAML_SEQUENCE_START_EVENT)
                        return parse_sequence(l, ev, depth, ret, err);
                return parse_mapping(l, ev, depth, ret, err);
        default:
                return loader_error(l, &ev->start_mark, err, "unexpected YAML event %d",
                                    (int)ev->type);
        }
}

static int parse_stream(struct loader *l, struct config_node **ret, struct hoist_error **err)
{
        _cleanup_yaml_event_ yaml_event_t ev = {0};
        _cleanup_config_node_ struct config_node *root = NULL;

        if (loader_next(l, &ev, err) < 0) /* STREAM-START */
                return -1;
        yaml_event_delete(&ev);
        if (loader_next(l, &ev, err) < 0)
                return -1;
        if (ev.type == YAML_STREAM_END_EVENT)
                return hoist_error_make(err, HOIST_ERR_INPUT, "'%s': the document is empty",
                                        l->file);
        yaml_event_delete(&ev); /* DOCUMENT-START */
        if (loader_next(l, &ev, err) < 0)
                return -1;
        if (parse_node(l, &ev, 0, &root, err) < 0)
                return -1;
        yaml_event_delete(&ev);
        if (loader_next(l, &ev, err) < 0) /* DOCUMENT-END */
                return -1;
        yaml_event_delete(&ev);
        if (loader_next(l, &ev, err) < 0)
                return -1;
        if (ev.type != YAML_STREAM_END_EVENT)
                return loader_error(l, &ev.start_mark, err,
                                    "a second YAML document ('---') is not supported; write "
                                    "one document per file");
        *ret = TAKE_PTR(root);
        return 0;
}

int config_parse(const char *text, size_t len, const char *name, struct config_node **ret_root,
                 struct hoist_error **err)
{
        _cleanup_free_ char *file = xstrdup(name ? name : "<config>");
        struct loader l = {.file = file};
        struct config_node *root = NULL;
        int r;

        if (len > CONFIG_MAX_SIZE)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s': %zu bytes is too large for a config file (at most "
                                        "%d)",
                                        file, len, CONFIG_MAX_SIZE);
        if (!yaml_parser_initialize(&l.parser))
                return hoist_error_make(err, ENOMEM, "'%s': YAML parser", file);
        yaml_parser_set_input_string(&l.parser, (const unsigned char *)text, len);
        r = parse_stream(&l, &root, err);
        yaml_parser_delete(&l.parser);
        if (r < 0)
                return r;
        root->owned_file = TAKE_PTR(file);
        *ret_root = root;
        return 0;
}

int config_load_file(const char *path, struct config_node **ret_root, struct hoist_error **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        struct stat st;

        if (fd < 0)
                return hoist_error_errno(err, "open '%s'", path);
        if (fstat(fd, &st) < 0)
                return hoist_error_errno(err, "stat '%s'", path);
        if (!S_ISREG(st.st_mode))
                return hoist_error_make(err, HOIST_ERR_INPUT, "'%s' is not a regular file", path);
        if (st.st_size > CONFIG_MAX_SIZE)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s': %jd bytes is too large for a config file (at most "
                                        "%d)",
                                        path, (intmax_t)st.st_size, CONFIG_MAX_SIZE);
        if (fs_read_fd(fd, path, CONFIG_MAX_SIZE, &text, &len, err) < 0)
                return -1;
        return config_parse(text, len, path, ret_root, err);
}

const char *config_type_name(enum config_type type)
{
        switch (type) {
        case CONFIG_SCALAR:
                return "a string";
        case CONFIG_SEQUENCE:
                return "a sequence";
        case CONFIG_MAPPING:
                return "a mapping";
        }
        return "a node";
}

int config_is_empty(const struct config_node *node)
{
        return node != NULL && node->type == CONFIG_SCALAR && node->plain && node->len == 0;
}

int config_is_null(const struct config_node *node)
{
        if (node == NULL || node->type != CONFIG_SCALAR || !node->plain)
                return 0;
        return node->len == 0 || strcmp(node->text, "~") == 0 || strcmp(node->text, "null") == 0 ||
               strcmp(node->text, "Null") == 0 || strcmp(node->text, "NULL") == 0;
}

const struct config_pair *config_get_pair(const struct config_node *map, const char *key)
{
        if (map == NULL || map->type != CONFIG_MAPPING)
                return NULL;
        for (size_t i = 0; i < map->n_pairs; i++)
                if (strcmp(map->pairs[i].key, key) == 0)
                        return &map->pairs[i];
        return NULL;
}

const struct config_node *config_get(const struct config_node *map, const char *key)
{
        const struct config_pair *p = config_get_pair(map, key);

        return p ? p->value : NULL;
}

char *config_describe(const struct config_node *node)
{
        if (node == NULL || config_is_empty(node))
                return xstrdup("nothing");
        if (node->type != CONFIG_SCALAR)
                return xstrdup(config_type_name(node->type));
        return config_quote(node->text);
}

static int config_verror(const char *file, int line, const char *field, struct hoist_error **err,
                         const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
static int config_verror(const char *file, int line, const char *field, struct hoist_error **err,
                         const char *fmt, va_list ap)
{
        _cleanup_free_ char *msg = xvasprintf(fmt, ap);

        if (field == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "'%s':%d: %s", file, line, msg);
        _cleanup_free_ char *q = config_quote(field);
        return hoist_error_make(err, HOIST_ERR_INPUT, "'%s':%d: field %s: %s", file, line, q, msg);
}

int config_error(const struct config_node *node, const char *field, struct hoist_error **err,
                 const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        (void)config_verror(node->file, node->line, field, err, fmt, ap);
        va_end(ap);
        return -1;
}

int config_error_at(const char *file, int line, const char *field, struct hoist_error **err,
                    const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        (void)config_verror(file, line, field, err, fmt, ap);
        va_end(ap);
        return -1;
}

static int expected(const struct config_node *node, const char *field, const char *what,
                    struct hoist_error **err)
{
        _cleanup_free_ char *got = config_describe(node);

        if (node->type == CONFIG_SCALAR && config_is_null(node) && node->len > 0)
                return config_error(node, field, err, "expected %s, got null (%s)", what, got);
        return config_error(node, field, err, "expected %s, got %s", what, got);
}

int config_get_string(const struct config_node *node, const char *field, char **ret,
                      struct hoist_error **err)
{
        if (node->type != CONFIG_SCALAR || config_is_null(node))
                return expected(node, field, "a string", err);
        *ret = xstrdup(node->text);
        return 0;
}

int config_get_scalar(const struct config_node *node, const char *field, char **ret,
                      struct hoist_error **err)
{
        if (node->type != CONFIG_SCALAR || config_is_empty(node))
                return expected(node, field, "a value (a number, string or boolean)", err);
        *ret = xstrdup(node->text);
        return 0;
}

int config_get_bool(const struct config_node *node, const char *field, int *ret,
                    struct hoist_error **err)
{
        static const char *const yes[] = {"true", "yes", "on"};
        static const char *const no[] = {"false", "no", "off"};

        if (node->type == CONFIG_SCALAR && node->plain) {
                for (size_t i = 0; i < 3; i++) {
                        if (strcasecmp(node->text, yes[i]) == 0) {
                                *ret = 1;
                                return 0;
                        }
                        if (strcasecmp(node->text, no[i]) == 0) {
                                *ret = 0;
                                return 0;
                        }
                }
        }
        return expected(node, field, "true or false", err);
}

int config_get_int(const struct config_node *node, const char *field, int64_t min, int64_t max,
                   int64_t *ret, struct hoist_error **err)
{
        char *end = NULL;
        long long v;

        if (node->type != CONFIG_SCALAR || node->len == 0 ||
            !(isdigit((unsigned char)node->text[0]) || node->text[0] == '-'))
                goto bad;
        errno = 0;
        v = strtoll(node->text, &end, 10);
        if (errno != 0 || *end != '\0' || v < min || v > max)
                goto bad;
        *ret = v;
        return 0;
bad:;
        _cleanup_free_ char *what = xasprintf("an integer from %" PRId64 " to %" PRId64, min, max);
        return expected(node, field, what, err);
}

int64_t config_parse_duration(const char *s)
{
        int64_t v = 0, mult = 1;
        const char *p = s;

        if (s == NULL || !isdigit((unsigned char)*p))
                return -1;
        for (; isdigit((unsigned char)*p); p++) {
                int d = *p - '0';
                if (v > (INT64_MAX - d) / 10)
                        return -1;
                v = v * 10 + d;
        }
        switch (*p) {
        case '\0':
                return v;
        case 's':
                break;
        case 'm':
                mult = 60;
                break;
        case 'h':
                mult = 3600;
                break;
        case 'd':
                mult = 86400;
                break;
        default:
                return -1;
        }
        if (p[1] != '\0' || v > INT64_MAX / mult)
                return -1;
        return v * mult;
}

int config_get_duration(const struct config_node *node, const char *field, int64_t *ret,
                        struct hoist_error **err)
{
        int64_t v = node->type == CONFIG_SCALAR ? config_parse_duration(node->text) : -1;

        if (v < 0)
                return expected(node, field, "a duration like 90s, 15m or 2h", err);
        *ret = v;
        return 0;
}

int config_get_strv(const struct config_node *node, const char *field, char ***ret,
                    struct hoist_error **err)
{
        _cleanup_strv_ char **v = NULL;

        if (node->type != CONFIG_SEQUENCE)
                return expected(node, field, "a sequence of strings", err);
        v = xcalloc(node->n_items + 1, sizeof *v);
        for (size_t i = 0; i < node->n_items; i++) {
                _cleanup_free_ char *item = xasprintf("%s[%zu]", field, i);
                if (config_get_string(node->items[i], item, &v[i], err) < 0)
                        return -1;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

int config_check_mapping(const struct config_node *node, const char *field,
                         struct hoist_error **err)
{
        if (node->type != CONFIG_MAPPING)
                return expected(node, field, "a mapping", err);
        return 0;
}

static size_t edit_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        size_t row[32];

        if (la >= 32 || lb >= 32)
                return SIZE_MAX;
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t diag = row[0];
                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t up = row[j];
                        size_t best = diag + (a[i - 1] != b[j - 1]);
                        if (up + 1 < best)
                                best = up + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        diag = up;
                }
        }
        return row[lb];
}

int config_check_keys(const struct config_node *map, const char *field, const char *const *valid,
                      struct hoist_error **err)
{
        for (size_t i = 0; i < map->n_pairs; i++) {
                const char *key = map->pairs[i].key;
                const char *closest = NULL;
                size_t best = 3; /* suggest only near misses */
                int known = 0;

                for (const char *const *v = valid; *v; v++) {
                        if (strcmp(*v, key) == 0) {
                                known = 1;
                                break;
                        }
                        size_t d = edit_distance(key, *v);
                        if (d < best) {
                                best = d;
                                closest = *v;
                        }
                }
                if (known)
                        continue;

                _cleanup_buf_ struct buf b = {0};
                _cleanup_free_ char *q = config_quote(key);
                buf_printf(&b, "unknown field %s", q);
                if (field != NULL)
                        buf_printf(&b, " in '%s'", field);
                if (closest != NULL)
                        buf_printf(&b, " (did you mean '%s'?)", closest);
                buf_append_str(&b, "; valid fields:");
                for (const char *const *v = valid; *v; v++)
                        buf_printf(&b, "%s %s", v == valid ? "" : ",", *v);
                return config_error_at(map->file, map->pairs[i].key_line, NULL, err, "%s", b.data);
        }
        return 0;
}
