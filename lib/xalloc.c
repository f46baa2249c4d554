/* SPDX-License-Identifier: MIT */
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void __attribute__((noreturn)) oom(void)
{
        static const char msg[] = "hoist: out of memory\n";

        (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
        abort();
}

void *xmalloc(size_t n)
{
        void *p = malloc(n ? n : 1);

        if (p == NULL)
                oom();
        return p;
}

void *xzalloc(size_t n)
{
        return xcalloc(1, n);
}

void *xcalloc(size_t nmemb, size_t size)
{
        void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

        if (p == NULL)
                oom();
        return p;
}

void *xrealloc(void *p, size_t n)
{
        p = realloc(p, n ? n : 1);
        if (p == NULL)
                oom();
        return p;
}

void *xreallocarray(void *p, size_t nmemb, size_t size)
{
        p = reallocarray(p, nmemb ? nmemb : 1, size ? size : 1);
        if (p == NULL)
                oom();
        return p;
}

char *xstrdup(const char *s)
{
        char *r;

        if (s == NULL)
                return NULL;
        r = strdup(s);
        if (r == NULL)
                oom();
        return r;
}

char *xstrndup(const char *s, size_t n)
{
        char *r = strndup(s, n);

        if (r == NULL)
                oom();
        return r;
}

char *xvasprintf(const char *fmt, va_list ap)
{
        char *r;

        if (vasprintf(&r, fmt, ap) < 0)
                oom();
        return r;
}

char *xasprintf(const char *fmt, ...)
{
        va_list ap;
        char *r;

        va_start(ap, fmt);
        r = xvasprintf(fmt, ap);
        va_end(ap);
        return r;
}
