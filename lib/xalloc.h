/* SPDX-License-Identifier: MIT */
#ifndef HOIST_XALLOC_H
#define HOIST_XALLOC_H

/* Allocation that aborts on out-of-memory (crun's xmalloc): callers never
 * test for NULL. */

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xzalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s); /* NULL in, NULL out */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
