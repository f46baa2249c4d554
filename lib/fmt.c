/* SPDX-License-Identifier: MIT */
#include "fmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

const char *fmt_plural(uint64_t n, const char *one, const char *many)
{
        return n == 1 ? one : many;
}

int fmt_double_precision(double v)
{
        char text[FMT_DOUBLE_SIZE];
        int p;

        if (!isfinite(v))
                return 17;
        /* 17 digits always read back (IEEE 754 binary64); fewer often do. */
        for (p = 1; p < 17; p++) {
                (void)snprintf(text, sizeof text, "%.*g", p, v);
                if (strtod(text, NULL) == v)
                        break;
        }
        /* %g writes an exponent once it has fewer digits than the integer
         * part: 3000 is "3000", not "3e+03". */
        if (fabs(v) >= 1 && fabs(v) < 1e17) {
                int int_digits = 1;
                for (double a = fabs(v); a >= 10; a /= 10)
                        int_digits++;
                if (p < int_digits)
                        p = int_digits;
        }
        return p;
}

const char *fmt_double(double v, char *buf, size_t size)
{
        (void)snprintf(buf, size, "%.*g", fmt_double_precision(v), v);
        return buf;
}

char *fmt_quote(const char *s, size_t len, size_t max)
{
        size_t n = len > max ? max : len;
        char *q = xmalloc(n + 4);

        for (size_t i = 0; i < n; i++)
                q[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
        strcpy(q + n, len > n ? "..." : "");
        return q;
}

int64_t fmt_small_number(const char *s, size_t len)
{
        int64_t v = 0;

        if (len == 0 || len > 9)
                return -1;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        return v;
}
