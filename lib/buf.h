/* SPDX-License-Identifier: MIT */
#ifndef HOIST_BUF_H
#define HOIST_BUF_H

/* A growable byte buffer, always NUL-terminated so text can be used as a
 * C string.  Zero-initialise (`struct buf b = {0};`) and release with
 * buf_free() or hand the bytes on with buf_take(). */

#include <stdarg.h>
#include <stddef.h>

struct buf {
        char *data;
        size_t len;
        size_t cap;
};

void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_append_str(struct buf *b, const char *s);
void buf_append_char(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void buf_truncate(struct buf *b, size_t len);
void buf_reset(struct buf *b);
/* Returns the NUL-terminated bytes (never NULL) and empties the buffer. */
char *buf_take(struct buf *b);
void buf_free(struct buf *b);

static inline void buf_freep(struct buf *b)
{
        buf_free(b);
}
#define _cleanup_buf_ __attribute__((cleanup(buf_freep)))

#endif
