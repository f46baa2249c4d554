/* SPDX-License-Identifier: MIT */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void buf_reserve(struct buf *b, size_t extra)
{
        size_t need = b->len + extra + 1;

        if (need < b->len) /* overflow */
                abort();
        if (need <= b->cap)
                return;
        size_t cap = b->cap ? b->cap : 64;
        while (cap < need)
                cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
}

void buf_append(struct buf *b, const void *data, size_t len)
{
        buf_reserve(b, len);
        if (len > 0)
                memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = '\0';
}

void buf_append_str(struct buf *b, const char *s)
{
        buf_append(b, s, strlen(s));
}

void buf_append_char(struct buf *b, char c)
{
        buf_append(b, &c, 1);
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
        va_list copy;
        int n;

        /* Try in the room there is; grow once if the text did not fit. */
        buf_reserve(b, 64);
        va_copy(copy, ap);
        n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, copy);
        va_end(copy);
        if (n < 0) {
                b->data[b->len] = '\0';
                return;
        }
        if ((size_t)n >= b->cap - b->len) {
                buf_reserve(b, (size_t)n);
                (void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        }
        b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        buf_vprintf(b, fmt, ap);
        va_end(ap);
}

void buf_truncate(struct buf *b, size_t len)
{
        if (len < b->len) {
                b->len = len;
                b->data[len] = '\0';
        }
}

void buf_reset(struct buf *b)
{
        buf_truncate(b, 0);
}

char *buf_take(struct buf *b)
{
        char *r;

        buf_reserve(b, 0);
        b->data[b->len] = '\0';
        r = b->data;
        b->data = NULL;
        b->len = b->cap = 0;
        return r;
}

void buf_free(struct buf *b)
{
        free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
}
