#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int qs_error(const char *fmt, ...)
{
        va_list ap;

        fputs(PROG ": ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return -1;
}

void qs_warn(const char *fmt, ...)
{
        va_list ap;

        fputs(PROG ": warning: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

void *qs_xcalloc(size_t n, size_t size)
{
        void *p = calloc(n ? n : 1, size ? size : 1);

        if (!p) {
                fputs(PROG ": out of memory\n", stderr);
                abort();
        }
        return p;
}

int qs_parse_long(const char *what, const char *s, long min, long max, long *ret)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < min || v > max)
                return qs_error("%s='%s' is not a whole number between %ld and %ld", what, s, min,
                                max);
        *ret = v;
        return 0;
}

int qs_parse_u64(const char *what, const char *s, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 0);
        if (errno || end == s || *end || *s == '-')
                return qs_error("%s='%s' is not a non-negative whole number", what, s);
        *ret = v;
        return 0;
}

int qs_parse_double(const char *what, const char *s, double min, double max, double *ret)
{
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
                return qs_error("%s='%s' is not a number between %g and %g", what, s, min, max);
        *ret = v;
        return 0;
}
