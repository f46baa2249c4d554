/* SPDX-License-Identifier: MIT */
#ifndef HOIST_TESTS_TESTUTIL_H
#define HOIST_TESTS_TESTUTIL_H

/* Small helpers several unit tests share (linked into every one); each
 * fails the running cmocka test on error. */

struct dockerfile;

/* Writes TEXT to DIR/NAME. */
void t_write_file(const char *dir, const char *name, const char *text);

/* Parses TEXT as a Dockerfile named "Dockerfile"; a parse error fails the
 * test, printing the error. */
struct dockerfile *t_parse_dockerfile(const char *text);

#endif
