/* SPDX-License-Identifier: MIT */
#include "redact.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

struct pattern {
        char *name;
        char *value;
        size_t len;
};

struct redact {
        struct pattern *v; /* longest first */
        size_t n;
        unsigned char first[256]; /* a value starts with this byte */
};

struct redact *redact_new(void)
{
        return xzalloc(sizeof(struct redact));
}

void redact_free(struct redact *r)
{
        if (r == NULL)
                return;
        for (size_t i = 0; i < r->n; i++) {
                explicit_bzero(r->v[i].value, r->v[i].len);
                free(r->v[i].value);
                free(r->v[i].name);
        }
        free(r->v);
        free(r);
}

void redact_add(struct redact *r, const char *name, const char *value)
{
        size_t len = value != NULL ? strlen(value) : 0, at = 0;

        if (len == 0)
                return;
        for (size_t i = 0; i < r->n; i++)
                if (r->v[i].len == len && memcmp(r->v[i].value, value, len) == 0)
                        return; /* the first name given for a value stays */
        while (at < r->n && r->v[at].len >= len)
                at++;
        r->v = xreallocarray(r->v, r->n + 1, sizeof *r->v);
        memmove(r->v + at + 1, r->v + at, (r->n - at) * sizeof *r->v);
        r->v[at] = (struct pattern){.name = xstrdup(name), .value = xstrdup(value), .len = len};
        r->n++;
        r->first[(unsigned char)value[0]] = 1;
}

size_t redact_count(const struct redact *r)
{
        return r != NULL ? r->n : 0;
}

/* Redacts DATA into OUT up to where a value may continue past its end
 * (never, when FINAL); returns how many bytes it took. */
static size_t scan(const struct redact *r, const char *data, size_t len, int final, struct buf *out)
{
        size_t i = 0, from = 0;

        while (i < len) {
                const struct pattern *hit = NULL;
                size_t avail = len - i;
                int partial = 0;

                if (!r->first[(unsigned char)data[i]]) {
                        i++;
                        continue;
                }
                for (size_t k = 0; k < r->n; k++) {
                        const struct pattern *p = &r->v[k];
                        if (p->len > avail) {
                                /* a longer value may be under way: wait for it */
                                if (!final && memcmp(data + i, p->value, avail) == 0) {
                                        partial = 1;
                                        break;
                                }
                        } else if (memcmp(data + i, p->value, p->len) == 0) {
                                hit = p;
                                break;
                        }
                }
                if (partial)
                        break;
                if (hit == NULL) {
                        i++;
                        continue;
                }
                buf_append(out, data + from, i - from);
                buf_printf(out, "[secret %s]", hit->name);
                i += hit->len;
                from = i;
        }
        buf_append(out, data + from, i - from);
        return i;
}

void redact_text(const struct redact *r, const char *text, size_t len, struct buf *out)
{
        if (redact_count(r) == 0) {
                buf_append(out, text, len);
                return;
        }
        (void)scan(r, text, len, 1, out);
}

char *redact_string(const struct redact *r, const char *s)
{
        struct buf b = {0};

        if (s == NULL)
                return NULL;
        buf_append_str(&b, "");
        redact_text(r, s, strlen(s), &b);
        return buf_take(&b);
}

/* STR redacted as a new JSON string, or NULL when it holds no secret. */
static json_t *redacted_string(const struct redact *r, const json_t *str)
{
        struct buf b = {0};
        const char *s = json_string_value(str);
        size_t len = json_string_length(str);
        json_t *ret = NULL;

        (void)scan(r, s, len, 1, &b);
        if (b.len != len || memcmp(b.data, s, len) != 0)
                ret = json_stringn(b.data, b.len);
        buf_free(&b);
        return ret;
}

void redact_json(const struct redact *r, json_t *v)
{
        const char *key;
        json_t *item, *red;
        size_t i;

        if (redact_count(r) == 0 || v == NULL)
                return;
        if (json_is_object(v)) {
                json_object_foreach(v, key, item)
                {
                        if (!json_is_string(item))
                                redact_json(r, item);
                        else if ((red = redacted_string(r, item)) != NULL)
                                (void)json_object_set_new(v, key, red);
                }
        } else if (json_is_array(v)) {
                json_array_foreach(v, i, item)
                {
                        if (!json_is_string(item))
                                redact_json(r, item);
                        else if ((red = redacted_string(r, item)) != NULL)
                                (void)json_array_set_new(v, i, red);
                }
        }
}

void redact_feed(const struct redact *r, struct redact_stream *s, const char *data, size_t len,
                 struct buf *out)
{
        size_t took;

        if (redact_count(r) == 0) {
                buf_append(out, data, len);
                return;
        }
        if (s->held.len == 0) {
                took = scan(r, data, len, 0, out);
                buf_append(&s->held, data + took, len - took);
                return;
        }
        buf_append(&s->held, data, len);
        took = scan(r, s->held.data, s->held.len, 0, out);
        memmove(s->held.data, s->held.data + took, s->held.len - took);
        buf_truncate(&s->held, s->held.len - took);
}

void redact_stream_flush(const struct redact *r, struct redact_stream *s, struct buf *out)
{
        if (s->held.len == 0)
                return;
        redact_text(r, s->held.data, s->held.len, out);
        explicit_bzero(s->held.data, s->held.len);
        buf_truncate(&s->held, 0);
}

void redact_stream_free(struct redact_stream *s)
{
        if (s->held.data != NULL)
                explicit_bzero(s->held.data, s->held.len);
        buf_free(&s->held);
}
