/* SPDX-License-Identifier: MIT */
#ifndef HOIST_TESTS_TESTUTIL_H
#define HOIST_TESTS_TESTUTIL_H

/* Small helpers several unit tests share (linked into every one); each
 * fails the running cmocka test on error. */

struct dockerfile;
struct jobfile;

/* Writes TEXT to DIR/NAME. */
void t_write_file(const char *dir, const char *name, const char *text);

/* Parses TEXT as a Dockerfile named "Dockerfile"; a parse error fails the
 * test, printing the error. */
struct dockerfile *t_parse_dockerfile(const char *text);

/* A cmocka teardown: removes the directory tree *STATE (a malloc'd path)
 * and frees it. */
int t_teardown_dir(void **state);

/* Parses TEXT as job.yaml anchored in DIR; an error fails the test. */
struct jobfile *t_parse_jobfile_ok(const char *dir, const char *text);
/* Parses TEXT as "job.yaml" (a relative name, as a user types it, so errors
 * read 'job.yaml') in DIR; expects an input error whose message is WANT. */
void t_parse_jobfile_fails(const char *dir, const char *text, const char *want);

#endif
