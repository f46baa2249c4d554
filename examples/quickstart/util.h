/* Small helpers the trainer's files share: errors, allocation, number parsing. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define PROG "hoist-quickstart"

/* Prints "hoist-quickstart: MESSAGE" to stderr and returns -1. */
int qs_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "hoist-quickstart: warning: MESSAGE" to stderr. */
void qs_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Out of memory aborts. */
void *qs_xcalloc(size_t n, size_t size);

/* Strict parsers: the whole string must be a number in range.  `what` names
 * the setting in the error ("HOIST_HP_STEPS", "--steps"). */
int qs_parse_long(const char *what, const char *s, long min, long max, long *ret);
int qs_parse_u64(const char *what, const char *s, uint64_t *ret);
int qs_parse_double(const char *what, const char *s, double min, double max, double *ret);
