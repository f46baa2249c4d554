/* SPDX-License-Identifier: MIT */
#ifndef HOIST_FMT_H
#define HOIST_FMT_H

/* Small pieces of text both programs print: numbers as people read them. */

#include <stddef.h>
#include <stdint.h>

/* ONE when N is 1, else MANY: printf("%zu %s", n, fmt_plural(n, "file", "files")). */
const char *fmt_plural(uint64_t n, const char *one, const char *many);

/* The fewest significant digits (1-17) with which "%.*g" of V reads back
 * as V exactly; 17 for a NaN or an infinity. */
int fmt_double_precision(double v);

/* V in its shortest form that reads back as V ("0.9445", not
 * "0.94450000000000001"), into BUF; returns BUF.  32 bytes always fit. */
#define FMT_DOUBLE_SIZE 32
const char *fmt_double(double v, char *buf, size_t size);

/* The first bytes of untrusted text (LEN bytes at S) for an error message:
 * at most MAX of them, each byte that is not printable ASCII as '?', and
 * "..." when cut.  Free the result. */
char *fmt_quote(const char *s, size_t len, size_t max);

/* The whole number of at most 9 digits in [S, S+LEN), no sign or space;
 * -1 when it is not one. */
int64_t fmt_small_number(const char *s, size_t len);

#endif
