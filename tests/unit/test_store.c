/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "runner/control/store.h"
#include "xalloc.h"

struct fixture {
        char dir[64];
        char *db;
        struct store *st;
};

static int setup(void **state)
{
        struct fixture *f = xzalloc(sizeof *f);
        struct hoist_error *err = NULL;

        strcpy(f->dir, "/tmp/hoist-store-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->db = path_join(f->dir, "hoist.db");
        assert_int_equal(store_open(f->db, &f->st, &err), 0);
        assert_null(err);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        store_close(f->st);
        assert_int_equal(fs_remove_tree(f->dir, NULL), 0);
        free(f->db);
        free(f);
        return 0;
}

/* The tests that fork close the fixture's handle first: SQLite must not
 * carry an open database across fork(), or the child would believe it holds
 * the parent's POSIX locks. */
static void fixture_close(struct fixture *f)
{
        store_close(f->st);
        f->st = NULL;
}

static void fixture_reopen(struct fixture *f)
{
        struct hoist_error *err = NULL;

        assert_int_equal(store_open(f->db, &f->st, &err), 0);
}

static void insert_job(struct store *st, const char *id, const char *name, int64_t created)
{
        struct hoist_error *err = NULL;
        struct job_record job = {
                .id = (char *)id,
                .name = (char *)name,
                .provider = (char *)"local",
                .runtime = (char *)"process",
                .storage_url = (char *)"file:///tmp/storage",
                .spec_key = (char *)"jobs/x/job.json",
                .state = JOB_QUEUED,
                .exit_code = -1,
                .attempt = 1,
                .created_at_ms = created,
        };

        assert_int_equal(store_insert_job(st, &job, &err), 0);
        assert_null(err);
}

/* A separate raw connection, to look at what the store wrote. */
static sqlite3 *raw_open(const char *path)
{
        sqlite3 *db = NULL;

        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_busy_timeout(db, 10000), SQLITE_OK);
        return db;
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
        sqlite3_stmt *stmt = NULL;
        int64_t v;

        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
        v = sqlite3_column_int64(stmt, 0);
        sqlite3_finalize(stmt);
        return v;
}

static char *raw_text(sqlite3 *db, const char *sql)
{
        sqlite3_stmt *stmt = NULL;
        char *v;

        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
        v = xstrdup((const char *)sqlite3_column_text(stmt, 0));
        sqlite3_finalize(stmt);
        return v;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

static void test_open_migrates_empty(void **state)
{
        struct fixture *f = *state;
        sqlite3 *db;
        _cleanup_free_ char *mode = NULL;

        assert_int_equal(store_schema_version(f->st), 4);
        db = raw_open(f->db);
        assert_int_equal(raw_int(db, "PRAGMA user_version"), 4);
        mode = raw_text(db, "PRAGMA journal_mode");
        assert_string_equal(mode, "wal");
        assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE name IN"
                                     " ('jobs', 'transitions', 'jobs_by_created',"
                                     " 'transitions_by_job')"),
                         4);
        sqlite3_close(db);
}

/* A container runtime or trainer the runner spawns must not inherit the db. */
static void test_fds_are_cloexec(void **state)
{
        struct fixture *f = *state;
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int seen = 0;

        assert_non_null(d);
        while ((de = readdir(d)) != NULL) {
                char link[64], target[4096];
                ssize_t n;
                int fd = atoi(de->d_name);

                if (de->d_name[0] == '.' || fd == dirfd(d))
                        continue;
                (void)snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
                n = readlink(link, target, sizeof target - 1);
                if (n < 0)
                        continue;
                target[n] = '\0';
                if (strncmp(target, f->db, strlen(f->db)) != 0)
                        continue;
                assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
                seen++;
        }
        closedir(d);
        assert_true(seen >= 1);
}

static void test_reopen_keeps_data_and_version(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;

        insert_job(f->st, "j-000000000001", "keep", 0);
        assert_int_equal(store_transition(f->st, "j-000000000001", JOB_RUNNING, NULL, &err), 0);
        fixture_close(f);
        fixture_reopen(f);
        assert_int_equal(store_schema_version(f->st), 4);
        assert_int_equal(store_get_job(f->st, "keep", &job, &err), 0);
        assert_string_equal(job->id, "j-000000000001");
        assert_int_equal(job->state, JOB_RUNNING);
}

static void test_future_version_refused(void **state)
{
        struct fixture *f = *state;
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_free_ char *want = NULL;
        struct store *st = NULL;
        sqlite3 *db;

        fixture_close(f);
        db = raw_open(f->db);
        raw_exec(db, "PRAGMA user_version = 7");
        sqlite3_close(db);
        assert_int_equal(store_open(f->db, &st, &err), -1);
        assert_null(st);
        want = xasprintf("'%s' has schema version 7; this hoist knows up to 4: upgrade hoist",
                         f->db);
        assert_string_equal(err->msg, want);
}

/* A step that fails leaves the version where it was and nothing half-made. */
static void test_failed_migration_rolls_back(void **state)
{
        struct fixture *f = *state;
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_free_ char *path = path_join(f->dir, "clash.db");
        struct store *st = NULL;
        sqlite3 *db = NULL;

        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        /* `jobs` is created first by v1; `transitions` then clashes. */
        raw_exec(db, "CREATE TABLE transitions (x)");
        sqlite3_close(db);
        assert_int_equal(store_open(path, &st, &err), -1);
        assert_non_null(strstr(err->msg, path));
        assert_non_null(strstr(err->msg, "schema version 1"));
        assert_non_null(strstr(err->msg, "already exists"));
        db = raw_open(path);
        assert_int_equal(raw_int(db, "PRAGMA user_version"), 0);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'jobs'"), 0);
        sqlite3_close(db);
}

static void test_not_a_database(void **state)
{
        struct fixture *f = *state;
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_free_ char *path = path_join(f->dir, "garbage.db");
        struct store *st = NULL;
        char junk[4096];

        memset(junk, 'x', sizeof junk);
        assert_int_equal(fs_write_file_atomic(path, junk, sizeof junk, 0600, NULL), 0);
        assert_int_equal(store_open(path, &st, &err), -1);
        assert_non_null(strstr(err->msg, path));
        assert_non_null(strstr(err->msg, "not a database"));
}

static void test_open_missing_dir(void **state)
{
        struct fixture *f = *state;
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_free_ char *path = path_join(f->dir, "no/such/dir/hoist.db");
        struct store *st = NULL;

        assert_int_equal(store_open(path, &st, &err), -1);
        assert_non_null(strstr(err->msg, path));
}

static void test_insert_and_get(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        _cleanup_job_record_ struct job_record *a = NULL;
        _cleanup_job_record_ struct job_record *b = NULL;
        _cleanup_job_record_ struct job_record *c = NULL;
        struct job_record job = {
                .id = (char *)"j-0123456789ab",
                .name = (char *)"mnist",
                .provider = (char *)"local",
                .runtime = (char *)"podman",
                .provider_ref = (char *)"hoist-j-0123456789ab",
                .storage_url = (char *)"file:///root/.hoist/storage",
                .spec_key = (char *)"jobs/j-0123456789ab/job.json",
                .state = JOB_UPLOADING,
                .reason = (char *)"packaging inputs",
                .exit_code = 0, /* a job that has not finished has no exit code */
                .attempt = 1,
        };

        assert_int_equal(store_insert_job(f->st, &job, &err), 0);
        assert_int_equal(store_get_job(f->st, "j-0123456789ab", &a, &err), 0);
        assert_string_equal(a->id, "j-0123456789ab");
        assert_string_equal(a->name, "mnist");
        assert_string_equal(a->provider, "local");
        assert_string_equal(a->runtime, "podman");
        assert_string_equal(a->provider_ref, "hoist-j-0123456789ab");
        assert_string_equal(a->storage_url, "file:///root/.hoist/storage");
        assert_string_equal(a->spec_key, "jobs/j-0123456789ab/job.json");
        assert_int_equal(a->state, JOB_UPLOADING);
        assert_string_equal(a->reason, "packaging inputs");
        assert_int_equal(a->exit_code, -1);
        assert_int_equal(a->attempt, 1);
        assert_true(a->created_at_ms > 1600000000000);
        assert_true(a->updated_at_ms >= a->created_at_ms);

        assert_int_equal(store_get_job(f->st, "j-0123", &b, &err), 0);
        assert_string_equal(b->id, "j-0123456789ab");
        assert_int_equal(store_get_job(f->st, "mnist", &c, &err), 0);
        assert_string_equal(c->id, "j-0123456789ab");
        assert_null(err);
}

static void test_insert_duplicate_and_invalid(void **state)
{
        struct fixture *f = *state;
        _cleanup_error_ struct hoist_error *err = NULL;
        struct job_record job = {.id = (char *)"j-0000000000aa",
                                 .name = (char *)"dup",
                                 .provider = (char *)"local",
                                 .state = JOB_QUEUED};

        insert_job(f->st, "j-0000000000aa", "dup", 0);
        assert_int_equal(store_insert_job(f->st, &job, &err), -1);
        assert_non_null(strstr(err->msg, "j-0000000000aa"));
        hoist_error_release(&err);

        job.id = (char *)"j-0000000000bb";
        job.name = NULL;
        assert_int_equal(store_insert_job(f->st, &job, &err), -1);
        hoist_error_release(&err);

        job.name = (char *)"bad-state";
        job.state = (enum job_state)42;
        assert_int_equal(store_insert_job(f->st, &job, &err), -1);
        assert_non_null(strstr(err->msg, "CHECK"));
}

static void test_get_prefix_rules(void **state)
{
        struct fixture *f = *state;
        _cleanup_error_ struct hoist_error *err = NULL;
        struct job_record *job = NULL;

        insert_job(f->st, "j-abcd00000001", "one", 1000);
        insert_job(f->st, "j-abcd00000002", "two", 2000);
        insert_job(f->st, "j-abce00000003", "three", 3000);

        assert_int_equal(store_get_job(f->st, "j-abcd", &job, &err), -1);
        assert_null(job);
        assert_int_equal(err->code, HOIST_ERR_USAGE);
        assert_string_equal(err->msg, "job id prefix 'j-abcd' is ambiguous: j-abcd00000002 (two), "
                                      "j-abcd00000001 (one) (give more of the id)");
        hoist_error_release(&err);

        assert_int_equal(store_get_job(f->st, "j-abce", &job, &err), 0);
        assert_string_equal(job->id, "j-abce00000003");
        job_record_free(job);
        job = NULL;

        /* Too short to be a prefix, and it says so (not "no job"). */
        assert_int_equal(store_get_job(f->st, "j-a", &job, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_USAGE);
        assert_string_equal(err->msg, "job id prefix 'j-a' is too short: give at least 4 "
                                      "characters of the id (j-abce00000003, ...)");
        hoist_error_release(&err);
        /* Too short even when one job matches. */
        insert_job(f->st, "j-9000000000aa", "nine", 500);
        assert_int_equal(store_get_job(f->st, "j-9", &job, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_USAGE);
        assert_string_equal(err->msg, "job id prefix 'j-9' is too short: give at least 4 "
                                      "characters of the id (j-9000000000aa)");
        hoist_error_release(&err);
        assert_int_equal(store_get_job(f->st, "j-90", &job, &err), 0);
        assert_string_equal(job->id, "j-9000000000aa");
        job_record_free(job);
        job = NULL;
        /* A short prefix of no job is just not found. */
        assert_int_equal(store_get_job(f->st, "j-7", &job, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        hoist_error_release(&err);

        /* LIKE wildcards are plain characters. */
        assert_int_equal(store_get_job(f->st, "j-ab_d", &job, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        hoist_error_release(&err);
        assert_int_equal(store_get_job(f->st, "j-ab%", &job, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        hoist_error_release(&err);

        /* A name that happens to look like an ambiguous prefix is a name. */
        insert_job(f->st, "j-ffff00000004", "j-abcd", 4000);
        assert_int_equal(store_get_job(f->st, "j-abcd", &job, &err), 0);
        assert_string_equal(job->id, "j-ffff00000004");
        job_record_free(job);
}

static void test_get_not_found(void **state)
{
        struct fixture *f = *state;
        _cleanup_error_ struct hoist_error *err = NULL;
        struct job_record *job = NULL;

        assert_int_equal(store_get_job(f->st, "nope", &job, &err), -1);
        assert_null(job);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        assert_string_equal(err->msg, "no job 'nope' (see 'hoist list')");
        hoist_error_release(&err);
        assert_int_equal(store_get_job(f->st, "", &job, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        hoist_error_release(&err);
        assert_int_equal(store_transition(f->st, "j-404404404404", JOB_RUNNING, NULL, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        hoist_error_release(&err);
        assert_int_equal(store_set_provider_ref(f->st, "j-404404404404", "podman", "x", &err), -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
}

static void test_get_by_name_newest(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;

        insert_job(f->st, "j-000000000001", "train", 1000);
        insert_job(f->st, "j-000000000003", "train", 3000);
        insert_job(f->st, "j-000000000002", "train", 2000);
        assert_int_equal(store_get_job(f->st, "train", &job, &err), 0);
        assert_string_equal(job->id, "j-000000000003");
}

static void test_transitions_in_order(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        struct job_transition *t = NULL;
        size_t n = 0;
        static const enum job_state path[] = {JOB_BUILDING, JOB_UPLOADING, JOB_SUBMITTED,
                                              JOB_STARTING, JOB_RUNNING};

        insert_job(f->st, "j-00000000000a", "t", 0);
        for (size_t i = 0; i < sizeof path / sizeof path[0]; i++)
                assert_int_equal(store_transition(f->st, "j-00000000000a", path[i],
                                                  i == 2 ? "accepted" : NULL, &err),
                                 0);
        /* Already there: nothing is recorded. */
        assert_int_equal(store_transition(f->st, "j-00000000000a", JOB_RUNNING, "again", &err), 0);

        assert_int_equal(store_list_transitions(f->st, "j-00000000000a", &t, &n, &err), 0);
        assert_int_equal(n, 6);
        assert_int_equal(t[0].from, JOB_QUEUED);
        assert_int_equal(t[0].to, JOB_QUEUED);
        for (size_t i = 1; i < n; i++) {
                assert_int_equal(t[i].from, t[i - 1].to);
                assert_int_equal(t[i].to, path[i - 1]);
                assert_true(t[i].at_ms >= t[i - 1].at_ms);
        }
        assert_string_equal(t[3].reason, "accepted");
        assert_null(t[4].reason);
        job_transitions_free(t, n);
        assert_null(err);

        assert_int_equal(store_list_transitions(f->st, "j-404404404404", &t, &n, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        hoist_error_release(&err);
}

/* A finished job does not move, and saying so is no error for the caller:
 * the report is late news. */
static void test_terminal_stays(void **state)
{
        struct fixture *f = *state;
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;
        struct job_transition *t = NULL;
        size_t n = 0;

        insert_job(f->st, "j-00000000000b", "t", 0);
        assert_int_equal(store_transition(f->st, "j-00000000000b", JOB_CANCELED, "user", &err), 0);
        assert_int_equal(store_transition(f->st, "j-00000000000b", JOB_RUNNING, NULL, &err), 0);
        assert_int_equal(store_finish(f->st, "j-00000000000b", JOB_SUCCEEDED, 0, NULL, &err), 0);
        assert_int_equal(store_finish(f->st, "j-00000000000b", JOB_FAILED, 3, "late", &err), 0);
        assert_int_equal(store_transition(f->st, "j-00000000000b", JOB_CANCELED, "again", &err), 0);
        assert_null(err);

        assert_int_equal(store_get_job(f->st, "j-00000000000b", &job, &err), 0);
        assert_int_equal(job->state, JOB_CANCELED);
        assert_int_equal(job->exit_code, -1);
        assert_string_equal(job->reason, "user");
        assert_int_equal(store_list_transitions(f->st, "j-00000000000b", &t, &n, &err), 0);
        assert_int_equal(n, 2);
        job_transitions_free(t, n);
}

/* Issue 10 item 3: a fast job's events reach hoist serve before hoist
 * submit records "starting"; the late "starting" changes nothing and is no
 * error, and no state moves backwards. */
static void test_late_transitions_are_no_ops(void **state)
{
        struct fixture *f = *state;
        _cleanup_error_ struct hoist_error *err = NULL;
        struct job_record *job = NULL;
        struct job_transition *t = NULL;
        size_t n = 0;
        struct store_event e = {.job_id = "j-00000000001a", .node = "n", .exit_code = 0};

        insert_job(f->st, "j-00000000001a", "fast", 0);
        assert_int_equal(store_transition(f->st, "j-00000000001a", JOB_SUBMITTED, NULL, &err), 0);
        e.id = "fast.1";
        e.type = "job.succeeded";
        e.body = "{}";
        assert_int_equal(store_apply_event(f->st, &e, &err), 1);
        /* What hoist submit does after the provider started the job. */
        assert_int_equal(store_transition(f->st, "j-00000000001a", JOB_STARTING, NULL, &err), 0);
        assert_null(err);
        assert_int_equal(store_get_job(f->st, "j-00000000001a", &job, &err), 0);
        assert_int_equal(job->state, JOB_SUCCEEDED);
        assert_int_equal(job->exit_code, 0);
        job_record_free(job);

        /* Backwards within an attempt, and the same state twice. */
        insert_job(f->st, "j-00000000001b", "slow", 0);
        assert_int_equal(store_transition(f->st, "j-00000000001b", JOB_RUNNING, "up", &err), 0);
        assert_int_equal(store_transition(f->st, "j-00000000001b", JOB_STARTING, "old", &err), 0);
        assert_int_equal(store_transition(f->st, "j-00000000001b", JOB_SUBMITTED, "old", &err), 0);
        assert_int_equal(store_transition(f->st, "j-00000000001b", JOB_RUNNING, "dup", &err), 0);
        assert_int_equal(store_transition(f->st, "j-00000000001b", JOB_INTERRUPTED, "spot", &err),
                         0);
        assert_int_equal(store_transition(f->st, "j-00000000001b", JOB_RUNNING, "old", &err), 0);
        assert_null(err);
        assert_int_equal(store_get_job(f->st, "j-00000000001b", &job, &err), 0);
        assert_int_equal(job->state, JOB_INTERRUPTED);
        assert_string_equal(job->reason, "spot");
        job_record_free(job);
        assert_int_equal(store_list_transitions(f->st, "j-00000000001b", &t, &n, &err), 0);
        assert_int_equal(n, 3); /* queued, running, interrupted */
        job_transitions_free(t, n);
}

/* Two hoists (hoist serve's reconciler and a CLI) both see attempt 1
 * interrupted: the store lets exactly one start attempt 2, and a caller that
 * read attempt 1 never starts attempt 3 after attempt 2 ended too. */
static void test_new_attempt_decided_once(void **state)
{
        struct fixture *f = *state;
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_store_ struct store *other = NULL;
        struct job_record *job = NULL;

        insert_job(f->st, "j-00000000001c", "race", 0);
        assert_int_equal(store_transition(f->st, "j-00000000001c", JOB_INTERRUPTED, NULL, &err), 0);
        assert_int_equal(store_open(f->db, &other, &err), 0);
        assert_int_equal(store_new_attempt(f->st, "j-00000000001c", 1, &err), 0);
        assert_int_equal(store_new_attempt(other, "j-00000000001c", 1, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_STATE);
        assert_non_null(strstr(err->msg, "another hoist started it"));
        hoist_error_release(&err);
        /* Attempt 2 ends; the slow caller still believes in attempt 1. */
        assert_int_equal(store_transition(f->st, "j-00000000001c", JOB_INTERRUPTED, NULL, &err), 0);
        assert_int_equal(store_new_attempt(other, "j-00000000001c", 1, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_STATE);
        hoist_error_release(&err);
        assert_int_equal(store_get_job(f->st, "j-00000000001c", &job, &err), 0);
        assert_int_equal(job->attempt, 2);
        assert_int_equal(job->state, JOB_INTERRUPTED);
        job_record_free(job);
        assert_int_equal(store_new_attempt(other, "j-00000000001c", 2, &err), 0);
}

static void test_finish_sets_exit_code(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        struct job_record *job = NULL;

        insert_job(f->st, "j-00000000000c", "t", 0);
        assert_int_equal(store_transition(f->st, "j-00000000000c", JOB_RUNNING, NULL, &err), 0);
        assert_int_equal(store_finish(f->st, "j-00000000000c", JOB_FAILED, 137, "killed", &err), 0);
        assert_int_equal(store_get_job(f->st, "j-00000000000c", &job, &err), 0);
        assert_int_equal(job->state, JOB_FAILED);
        assert_int_equal(job->exit_code, 137);
        assert_string_equal(job->reason, "killed");
        job_record_free(job);

        /* Marked failed before the exit code was known: finish fills it in. */
        insert_job(f->st, "j-00000000000d", "t", 0);
        assert_int_equal(store_transition(f->st, "j-00000000000d", JOB_FAILED, "lost", &err), 0);
        assert_int_equal(store_finish(f->st, "j-00000000000d", JOB_FAILED, 3, NULL, &err), 0);
        assert_int_equal(store_get_job(f->st, "j-00000000000d", &job, &err), 0);
        assert_int_equal(job->exit_code, 3);
        assert_string_equal(job->reason, "lost");
        job_record_free(job);
        assert_null(err);
}

/* An attempt's end decided late (the control plane read attempt 1, a
 * resume started attempt 2 meanwhile) does not end attempt 2. */
static void test_finish_attempt_is_that_attempts(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        struct job_record *job = NULL;

        insert_job(f->st, "j-00000000002a", "t", 0);
        assert_int_equal(store_transition(f->st, "j-00000000002a", JOB_CANCELED, "user", &err), 0);
        assert_int_equal(store_new_attempt(f->st, "j-00000000002a", 1, &err), 0);
        assert_int_equal(store_transition(f->st, "j-00000000002a", JOB_RUNNING, NULL, &err), 0);
        assert_int_equal(store_finish_attempt(f->st, "j-00000000002a", 1, JOB_CANCELED, 143,
                                              "canceled by the user", &err),
                         0);
        assert_int_equal(store_get_job(f->st, "j-00000000002a", &job, &err), 0);
        assert_int_equal(job->attempt, 2);
        assert_int_equal(job->state, JOB_RUNNING);
        assert_int_equal(job->exit_code, -1);
        job_record_free(job);
        /* Its own attempt's end is applied. */
        assert_int_equal(
                store_finish_attempt(f->st, "j-00000000002a", 2, JOB_SUCCEEDED, 0, NULL, &err), 0);
        assert_int_equal(store_get_job(f->st, "j-00000000002a", &job, &err), 0);
        assert_int_equal(job->state, JOB_SUCCEEDED);
        assert_int_equal(job->exit_code, 0);
        job_record_free(job);
        assert_null(err);
}

/* The engine's word moves a job back where forward-only transitions
 * cannot: still queued (with the engine's reason) after submit moved it to
 * starting, a new reason in the same state without a transition row, and
 * an interrupted attempt that the engine runs again.  Never another
 * attempt's row, never a finished job, never to a final state. */
static void test_follow_engine(void **state)
{
        struct fixture *f = *state;
        _cleanup_error_ struct hoist_error *err = NULL;
        struct job_record *job = NULL;
        struct job_transition *t = NULL;
        size_t n = 0;
        const char *id = "j-0000000000f1";

        insert_job(f->st, id, "t", 0);
        assert_int_equal(store_transition(f->st, id, JOB_STARTING, NULL, &err), 0);
        /* A plain transition back is late news ... */
        assert_int_equal(store_transition(f->st, id, JOB_QUEUED, "Priority", &err), 0);
        assert_int_equal(store_get_job(f->st, id, &job, &err), 0);
        assert_int_equal(job->state, JOB_STARTING);
        job_record_free(job);
        /* ... the engine's word is not. */
        assert_int_equal(store_follow_engine(f->st, id, 1, JOB_QUEUED, "Priority", &err), 0);
        assert_int_equal(store_get_job(f->st, id, &job, &err), 0);
        assert_int_equal(job->state, JOB_QUEUED);
        assert_string_equal(job->reason, "Priority");
        job_record_free(job);
        assert_int_equal(store_follow_engine(f->st, id, 1, JOB_QUEUED, "Resources", &err), 0);
        assert_int_equal(store_follow_engine(f->st, id, 1, JOB_QUEUED, "Resources", &err), 0);
        assert_int_equal(store_get_job(f->st, id, &job, &err), 0);
        assert_string_equal(job->reason, "Resources");
        job_record_free(job);
        /* Another attempt's news changes nothing. */
        assert_int_equal(store_follow_engine(f->st, id, 2, JOB_RUNNING, "x", &err), 0);
        assert_int_equal(store_transition(f->st, id, JOB_INTERRUPTED, "preempted", &err), 0);
        assert_int_equal(store_follow_engine(f->st, id, 1, JOB_QUEUED, "requeued by slurm", &err),
                         0);
        assert_int_equal(store_get_job(f->st, id, &job, &err), 0);
        assert_int_equal(job->state, JOB_QUEUED);
        assert_string_equal(job->reason, "requeued by slurm");
        job_record_free(job);
        /* Not to a final state, and a finished job stays. */
        assert_int_equal(store_follow_engine(f->st, id, 1, JOB_FAILED, NULL, &err), -1);
        assert_non_null(strstr(err->msg, id));
        hoist_error_release(&err);
        assert_int_equal(store_finish(f->st, id, JOB_SUCCEEDED, 0, NULL, &err), 0);
        assert_int_equal(store_follow_engine(f->st, id, 1, JOB_RUNNING, "x", &err), 0);
        assert_int_equal(store_get_job(f->st, id, &job, &err), 0);
        assert_int_equal(job->state, JOB_SUCCEEDED);
        job_record_free(job);

        assert_int_equal(store_list_transitions(f->st, id, &t, &n, &err), 0);
        /* queued (insert), starting, queued, interrupted, queued, succeeded */
        assert_int_equal(n, 6);
        assert_int_equal(t[2].from, JOB_STARTING);
        assert_int_equal(t[2].to, JOB_QUEUED);
        assert_string_equal(t[2].reason, "Priority");
        assert_int_equal(t[4].from, JOB_INTERRUPTED);
        assert_int_equal(t[4].to, JOB_QUEUED);
        job_transitions_free(t, n);
}

static void test_new_attempt(void **state)
{
        struct fixture *f = *state;
        _cleanup_error_ struct hoist_error *err = NULL;
        struct job_record *job = NULL;
        struct job_transition *t = NULL;
        size_t n = 0;

        insert_job(f->st, "j-00000000000e", "t", 0);
        assert_int_equal(store_transition(f->st, "j-00000000000e", JOB_RUNNING, NULL, &err), 0);
        assert_int_equal(store_new_attempt(f->st, "j-00000000000e", 1, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_STATE);
        assert_non_null(strstr(err->msg, "j-00000000000e"));
        assert_non_null(strstr(err->msg, "running"));
        hoist_error_release(&err);

        assert_int_equal(store_finish(f->st, "j-00000000000e", JOB_FAILED, 1, NULL, &err), 0);
        assert_int_equal(store_new_attempt(f->st, "j-00000000000e", 1, &err), 0);
        assert_int_equal(store_get_job(f->st, "j-00000000000e", &job, &err), 0);
        assert_int_equal(job->state, JOB_SUBMITTED);
        assert_int_equal(job->attempt, 2);
        assert_int_equal(job->exit_code, -1);
        job_record_free(job);

        /* From interrupted too. */
        assert_int_equal(store_transition(f->st, "j-00000000000e", JOB_INTERRUPTED, "spot", &err),
                         0);
        assert_int_equal(store_new_attempt(f->st, "j-00000000000e", 2, &err), 0);
        assert_int_equal(store_get_job(f->st, "j-00000000000e", &job, &err), 0);
        assert_int_equal(job->attempt, 3);
        job_record_free(job);

        assert_int_equal(store_list_transitions(f->st, "j-00000000000e", &t, &n, &err), 0);
        assert_int_equal(n, 6);
        assert_int_equal(t[3].from, JOB_FAILED);
        assert_int_equal(t[3].to, JOB_SUBMITTED);
        assert_int_equal(t[5].from, JOB_INTERRUPTED);
        assert_int_equal(t[5].to, JOB_SUBMITTED);
        job_transitions_free(t, n);
}

static void test_list_newest_first(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        struct job_record **jobs = NULL;
        size_t n = 99;

        assert_int_equal(store_list_jobs(f->st, &jobs, &n, &err), 0);
        assert_int_equal(n, 0);
        job_records_free(jobs, n);

        insert_job(f->st, "j-000000000002", "b", 2000);
        insert_job(f->st, "j-000000000001", "a", 1000);
        insert_job(f->st, "j-000000000003", "c", 3000);
        insert_job(f->st, "j-000000000004", "d", 3000); /* same ms: later insert first */
        assert_int_equal(store_list_jobs(f->st, &jobs, &n, &err), 0);
        assert_int_equal(n, 4);
        assert_string_equal(jobs[0]->id, "j-000000000004");
        assert_string_equal(jobs[1]->id, "j-000000000003");
        assert_string_equal(jobs[2]->id, "j-000000000002");
        assert_string_equal(jobs[3]->id, "j-000000000001");
        job_records_free(jobs, n);
}

static void test_set_provider_ref(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;

        insert_job(f->st, "j-00000000000f", "t", 0);
        assert_int_equal(store_set_provider_ref(f->st, "j-00000000000f", "docker", "hoist-x", &err),
                         0);
        assert_int_equal(store_get_job(f->st, "j-00000000000f", &job, &err), 0);
        assert_string_equal(job->runtime, "docker");
        assert_string_equal(job->provider_ref, "hoist-x");
        assert_int_equal(job->state, JOB_QUEUED);
}

/* Every state of lib/jobmodel.h round-trips through the store. */
static void test_state_names(void **state)
{
        struct fixture *f = *state;
        enum job_state s;

        for (int i = JOB_QUEUED; i <= JOB_CANCELED; i++) {
                char id[32];
                _cleanup_job_record_ struct job_record *job = NULL;
                struct hoist_error *err = NULL;
                struct job_record rec = {.id = id,
                                         .name = (char *)"s",
                                         .provider = (char *)"local",
                                         .state = (enum job_state)i};

                assert_int_equal(job_state_parse(job_state_name((enum job_state)i), &s), 0);
                assert_int_equal(s, i);
                /* The schema's CHECK knows every state. */
                (void)snprintf(id, sizeof id, "j-%012d", i);
                assert_int_equal(store_insert_job(f->st, &rec, &err), 0);
                assert_int_equal(store_get_job(f->st, id, &job, &err), 0);
                assert_int_equal(job->state, i);
        }
}

static void test_new_job_id(void **state)
{
        (void)state;
        _cleanup_free_ char *a = store_new_job_id();
        _cleanup_free_ char *b = store_new_job_id();

        assert_int_equal(strlen(a), 14);
        assert_memory_equal(a, "j-", 2);
        assert_int_equal(strspn(a + 2, "0123456789abcdef"), 12);
        assert_string_not_equal(a, b);
}

static void test_two_handles_alternate(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        _cleanup_store_ struct store *other = NULL;
        static const enum job_state cycle[] = {JOB_STARTING, JOB_RUNNING, JOB_INTERRUPTED,
                                               JOB_SUBMITTED};
        struct job_transition *t = NULL;
        size_t n = 0;
        sqlite3 *reader;

        assert_int_equal(store_open(f->db, &other, &err), 0);
        insert_job(f->st, "j-000000000100", "alt", 0);
        /* `hoist logs -f` holding a read transaction open must not block
         * writers: that is what WAL is for. */
        reader = raw_open(f->db);
        raw_exec(reader, "BEGIN");
        assert_int_equal(raw_int(reader, "SELECT count(*) FROM jobs"), 1);
        for (int i = 0; i < 60; i++) {
                struct store *st = i % 2 ? other : f->st;
                _cleanup_job_record_ struct job_record *job = NULL;

                /* Out of interrupted only by a new attempt. */
                if (i % 4 == 3)
                        assert_int_equal(store_new_attempt(st, "j-000000000100", 1 + i / 4, &err),
                                         0);
                else
                        assert_int_equal(
                                store_transition(st, "j-000000000100", cycle[i % 4], NULL, &err),
                                0);
                assert_int_equal(store_get_job(i % 2 ? f->st : other, "alt", &job, &err), 0);
                assert_int_equal(job->state, cycle[i % 4]);
        }
        raw_exec(reader, "COMMIT");
        sqlite3_close(reader);
        assert_int_equal(store_list_transitions(other, "j-000000000100", &t, &n, &err), 0);
        assert_int_equal(n, 61);
        job_transitions_free(t, n);
        assert_null(err);
}

/* Waits for a child and returns its exit status, or 128+N for signal N. */
static int wait_child(pid_t pid)
{
        int status;

        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return WEXITSTATUS(status);
}

/* Another process holds the write lock for a while: a writer waits for it
 * instead of failing with SQLITE_BUSY. */
static void test_waits_for_busy_writer(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        struct timespec t0, t1;
        int ready[2];
        char c;
        pid_t pid;

        insert_job(f->st, "j-000000000200", "busy", 0);
        fixture_close(f);
        assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                sqlite3 *db = NULL;

                if (sqlite3_open(f->db, &db) != SQLITE_OK ||
                    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
                        _exit(1);
                (void)!write(ready[1], "x", 1);
                usleep(300 * 1000);
                _exit(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : 2);
        }
        close(ready[1]);
        assert_int_equal(read(ready[0], &c, 1), 1);
        close(ready[0]);
        fixture_reopen(f);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(store_transition(f->st, "j-000000000200", JOB_RUNNING, NULL, &err), 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_null(err);
        assert_int_equal(wait_child(pid), 0);
        /* It really did wait for the lock. */
        assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 100);
}

#define CONCURRENT_CHILDREN 4
#define CONCURRENT_MOVES 100

/* A child in the concurrency test: opens a (possibly not yet existing)
 * database once the parent lets all children go, then writes or reads. */
static void __attribute__((noreturn)) concurrent_child(const char *path, int go_fd, int k)
{
        static const enum job_state cycle[] = {JOB_STARTING, JOB_RUNNING, JOB_INTERRUPTED};
        struct hoist_error *err = NULL;
        struct store *st = NULL;
        char id[32], c;
        int rc = 0;

        (void)!read(go_fd, &c, 1);
        if (store_open(path, &st, &err) < 0)
                goto fail;
        (void)snprintf(id, sizeof id, "j-%012d", k);
        if (k == CONCURRENT_CHILDREN) {
                /* The reader: `hoist status` in a loop. */
                for (int i = 0; i < CONCURRENT_MOVES; i++) {
                        struct job_record **jobs = NULL;
                        size_t n = 0;

                        if (store_list_jobs(st, &jobs, &n, &err) < 0)
                                goto fail;
                        job_records_free(jobs, n);
                }
                goto out;
        }
        {
                struct job_record job = {.id = id,
                                         .name = (char *)"concurrent",
                                         .provider = (char *)"local",
                                         .state = JOB_QUEUED};
                if (store_insert_job(st, &job, &err) < 0)
                        goto fail;
        }
        for (int i = 0; i < CONCURRENT_MOVES; i++)
                if ((i % 4 < 3 && store_transition(st, id, cycle[i % 4], NULL, &err) < 0) ||
                    (i % 4 == 3 && store_new_attempt(st, id, 1 + i / 4, &err) < 0))
                        goto fail;
        goto out;
fail:
        fprintf(stderr, "child %d: %s\n", k, err ? err->msg : "?");
        hoist_error_release(&err);
        rc = 1;
out:
        store_close(st);
        _exit(rc);
}

static void test_concurrent_processes(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        _cleanup_free_ char *path = path_join(f->dir, "fresh.db");
        _cleanup_store_ struct store *st = NULL;
        pid_t pids[CONCURRENT_CHILDREN + 1];
        int go[2];

        fixture_close(f);
        assert_int_equal(pipe2(go, O_CLOEXEC), 0);
        for (int k = 0; k <= CONCURRENT_CHILDREN; k++) {
                pids[k] = fork();
                assert_true(pids[k] >= 0);
                if (pids[k] == 0) {
                        close(go[1]);
                        concurrent_child(path, go[0], k);
                }
        }
        /* All at once, on a database none of them has created yet. */
        close(go[0]);
        close(go[1]);
        for (int k = 0; k <= CONCURRENT_CHILDREN; k++)
                assert_int_equal(wait_child(pids[k]), 0);

        assert_int_equal(store_open(path, &st, &err), 0);
        assert_int_equal(store_schema_version(st), 4);
        for (int k = 0; k < CONCURRENT_CHILDREN; k++) {
                char id[32];
                struct job_transition *t = NULL;
                size_t n = 0;

                (void)snprintf(id, sizeof id, "j-%012d", k);
                assert_int_equal(store_list_transitions(st, id, &t, &n, &err), 0);
                assert_int_equal(n, 1 + CONCURRENT_MOVES);
                job_transitions_free(t, n);
        }
        fixture_reopen(f);
}

#define CRASH_ROUNDS 20

/* Writes jobs through their whole life, forever, until killed.  The first
 * byte on READY_FD says a commit has happened. */
static void __attribute__((noreturn)) crash_child(const char *path, int ready_fd)
{
        static const enum job_state path1[] = {JOB_BUILDING, JOB_UPLOADING, JOB_SUBMITTED,
                                               JOB_STARTING, JOB_RUNNING,   JOB_INTERRUPTED};
        struct hoist_error *err = NULL;
        struct store *st = NULL;
        bool told = false;

        if (store_open(path, &st, &err) < 0)
                goto fail;
        for (int i = 0;; i++) {
                _cleanup_free_ char *id = store_new_job_id();
                struct job_record job = {.id = id,
                                         .name = (char *)"crash",
                                         .provider = (char *)"local",
                                         .state = JOB_QUEUED};

                if (store_insert_job(st, &job, &err) < 0)
                        goto fail;
                if (!told) {
                        (void)!write(ready_fd, "x", 1);
                        told = true;
                }
                for (size_t j = 0; j < sizeof path1 / sizeof path1[0]; j++)
                        if (store_transition(st, id, path1[j], "crash test", &err) < 0)
                                goto fail;
                if (store_set_provider_ref(st, id, "process", "pid 1", &err) < 0 ||
                    store_new_attempt(st, id, 1, &err) < 0 ||
                    store_transition(st, id, JOB_RUNNING, NULL, &err) < 0 ||
                    store_finish(st, id, i % 2 ? JOB_FAILED : JOB_SUCCEEDED, i % 2, "done", &err) <
                            0)
                        goto fail;
        }
fail:
        fprintf(stderr, "crash child: %s\n", err ? err->msg : "?");
        _exit(1);
}

/* What must hold after a crash at any moment. */
static void check_consistent(const char *path, int64_t *ret_jobs)
{
        sqlite3 *db = raw_open(path);
        _cleanup_free_ char *ok = raw_text(db, "PRAGMA integrity_check");

        assert_string_equal(ok, "ok");
        /* Every job's state is where its last transition took it. */
        assert_int_equal(raw_int(db, "SELECT count(*) FROM jobs j WHERE j.state IS NOT"
                                     " (SELECT t.to_state FROM transitions t WHERE t.job_id = j.id"
                                     "  ORDER BY t.id DESC LIMIT 1)"),
                         0);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM jobs j WHERE j.attempt IS NOT"
                                     " (SELECT t.attempt FROM transitions t WHERE t.job_id = j.id"
                                     "  ORDER BY t.id DESC LIMIT 1)"),
                         0);
        /* No transition without its job. */
        assert_int_equal(raw_int(db, "SELECT count(*) FROM transitions t WHERE NOT EXISTS"
                                     " (SELECT 1 FROM jobs j WHERE j.id = t.job_id)"),
                         0);
        /* A finished job has the exit code it finished with. */
        assert_int_equal(raw_int(db, "SELECT count(*) FROM jobs WHERE"
                                     " (state = 'succeeded' AND exit_code != 0) OR"
                                     " (state = 'failed' AND exit_code != 1)"),
                         0);
        *ret_jobs = raw_int(db, "SELECT count(*) FROM jobs");
        sqlite3_close(db);
}

static void test_crash_safety(void **state)
{
        struct fixture *f = *state;
        unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
        int64_t jobs = 0;

        fixture_close(f);
        srandom(seed);
        for (int round = 0; round < CRASH_ROUNDS; round++) {
                useconds_t delay = (useconds_t)(random() % 20000);
                int64_t before = jobs;
                int ready[2];
                pid_t pid;
                char c;

                assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
                pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        close(ready[0]);
                        crash_child(f->db, ready[1]);
                }
                close(ready[1]);
                assert_int_equal(read(ready[0], &c, 1), 1);
                close(ready[0]);
                usleep(delay);
                assert_int_equal(kill(pid, SIGKILL), 0);
                if (wait_child(pid) != 128 + SIGKILL)
                        fail_msg("crash child failed on its own (seed %u, round %d)", seed, round);
                check_consistent(f->db, &jobs);
                /* What was committed stays committed. */
                if (jobs <= before)
                        fail_msg("round %d lost jobs: %lld then %lld (seed %u)", round,
                                 (long long)before, (long long)jobs, seed);
        }
        /* The store itself opens it again and reads it. */
        fixture_reopen(f);
        {
                struct hoist_error *err = NULL;
                struct job_record **all = NULL;
                size_t n = 0;

                assert_int_equal(store_list_jobs(f->st, &all, &n, &err), 0);
                assert_int_equal((int64_t)n, jobs);
                job_records_free(all, n);
        }
}

/* Events: dedup by id, the job moves with each state event, a late or
 * earlier state does not move it back, and a final state carries the exit
 * code; each move is a transition row. */
/* Group commit: one transaction, each event as alone; a bad one fails alone. */
static void test_apply_events_batch(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL, *errs[5];
        _cleanup_job_record_ struct job_record *job = NULL;
        int results[5];
        int64_t count = 0;
        struct store_event ev[5] = {
                {.id = "b.1",
                 .job_id = "j-0000000000b1",
                 .type = "job.running",
                 .body = "{}",
                 .exit_code = -1},
                {.id = "b.2",
                 .job_id = "j-0000000000b1",
                 .type = "job.log",
                 .body = "{}",
                 .exit_code = -1},
                {.id = "b.1",
                 .job_id = "j-0000000000b1",
                 .type = "job.running",
                 .body = "{}",
                 .exit_code = -1}, /* the same id again, in the same batch */
                {.id = "b.3",
                 .job_id = "j-0000000000ff",
                 .type = "job.log",
                 .body = "{}",
                 .exit_code = -1}, /* no such job */
                {.id = "b.4",
                 .job_id = "j-0000000000b1",
                 .type = "job.succeeded",
                 .body = "{}",
                 .exit_code = 0},
        };
        const struct store_event *p[5] = {&ev[0], &ev[1], &ev[2], &ev[3], &ev[4]};

        insert_job(f->st, "j-0000000000b1", "batch", 0);
        assert_int_equal(store_apply_events(f->st, p, 5, results, errs, &err), 0);
        assert_null(err);
        assert_int_equal(results[0], 1);
        assert_int_equal(results[1], 1);
        assert_int_equal(results[2], 0);
        assert_int_equal(results[3], -1);
        assert_int_equal(errs[3]->code, HOIST_ERR_NOT_FOUND);
        assert_int_equal(results[4], 1);
        for (size_t i = 0; i < 5; i++)
                if (i != 3)
                        assert_null(errs[i]);
        hoist_error_free(errs[3]);
        assert_int_equal(store_count_events(f->st, "j-0000000000b1", &count, &err), 0);
        assert_int_equal(count, 3);
        assert_int_equal(store_get_job(f->st, "j-0000000000b1", &job, &err), 0);
        assert_int_equal(job->state, JOB_SUCCEEDED);
        /* again: every one a duplicate now */
        assert_int_equal(store_apply_events(f->st, p, 3, results, errs, &err), 0);
        assert_int_equal(results[0] + results[1] + results[2], 0);
}

static void test_apply_events(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;
        struct job_transition *t = NULL;
        size_t n = 0;
        int64_t count = 0;
        char *body = NULL;
        struct store_event e = {.job_id = "j-0000000000e1", .node = "n", .exit_code = -1};

        insert_job(f->st, "j-0000000000e1", "ev", 0);
        e.id = "a.1";
        e.type = "job.running";
        e.body = "{\"x\":1}";
        assert_int_equal(store_apply_event(f->st, &e, &err), 1);
        assert_int_equal(store_apply_event(f->st, &e, &err), 0); /* duplicate */
        e.id = "a.2";
        e.type = "job.metric";
        e.body = "{\"loss\":0.5}";
        assert_int_equal(store_apply_event(f->st, &e, &err), 1);
        e.id = "a.3";
        e.type = "job.starting"; /* older news: recorded, no move back */
        assert_int_equal(store_apply_event(f->st, &e, &err), 1);
        assert_int_equal(store_get_job(f->st, "j-0000000000e1", &job, &err), 0);
        assert_int_equal(job->state, JOB_RUNNING);
        job_record_free(TAKE_PTR(job));
        e.id = "a.4";
        e.type = "job.succeeded";
        e.exit_code = 0;
        e.body = "{}";
        assert_int_equal(store_apply_event(f->st, &e, &err), 1);
        e.id = "a.5";
        e.type = "job.failed"; /* after a final state: recorded, no move */
        e.exit_code = 3;
        assert_int_equal(store_apply_event(f->st, &e, &err), 1);
        assert_null(err);
        assert_int_equal(store_get_job(f->st, "j-0000000000e1", &job, &err), 0);
        assert_int_equal(job->state, JOB_SUCCEEDED);
        assert_int_equal(job->exit_code, 0);
        assert_int_equal(store_list_transitions(f->st, "j-0000000000e1", &t, &n, &err), 0);
        assert_int_equal(n, 3); /* queued, running, succeeded */
        job_transitions_free(t, n);
        assert_int_equal(store_count_events(f->st, "j-0000000000e1", &count, &err), 0);
        assert_int_equal(count, 5);
        assert_int_equal(store_last_event(f->st, "j-0000000000e1", "job.metric", &body, &err), 0);
        assert_string_equal(body, "{\"loss\":0.5}");
        free(body);
        /* An interrupted attempt keeps its command's exit code (item 6). */
        insert_job(f->st, "j-0000000000e2", "ev", 0);
        e.job_id = "j-0000000000e2";
        e.id = "c.1";
        e.type = "job.interrupted";
        e.exit_code = 7;
        e.attempt = 1;
        assert_int_equal(store_apply_event(f->st, &e, &err), 1);
        job_record_free(TAKE_PTR(job));
        assert_int_equal(store_get_job(f->st, "j-0000000000e2", &job, &err), 0);
        assert_int_equal(job->state, JOB_INTERRUPTED);
        assert_int_equal(job->exit_code, 7);
        /* Attempt 1's news, late, moves attempt 2 nowhere. */
        assert_int_equal(store_new_attempt(f->st, "j-0000000000e2", 1, &err), 0);
        e.id = "c.2";
        e.type = "job.failed";
        e.exit_code = 1;
        assert_int_equal(store_apply_event(f->st, &e, &err), 1);
        e.id = "c.3";
        e.type = "job.running";
        e.attempt = 2;
        assert_int_equal(store_apply_event(f->st, &e, &err), 1);
        job_record_free(TAKE_PTR(job));
        assert_int_equal(store_get_job(f->st, "j-0000000000e2", &job, &err), 0);
        assert_int_equal(job->state, JOB_RUNNING);
        assert_int_equal(job->attempt, 2);
        assert_int_equal(job->exit_code, -1);
        assert_null(err);
        /* an unknown job */
        e.id = "b.1";
        e.job_id = "j-nosuchjob000";
        assert_int_equal(store_apply_event(f->st, &e, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        hoist_error_release(&err);
}

/* hoist rm: a finished job goes with its transitions and events; one that
 * is not finished stays, whole. */
static void test_delete_job(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;
        struct job_record *job = NULL;
        struct store_event e = {.id = "del.1",
                                .job_id = "j-0000000000d1",
                                .type = "job.running",
                                .node = "n",
                                .body = "{}",
                                .exit_code = -1};
        sqlite3 *db;

        insert_job(f->st, "j-0000000000d1", "del", 0);
        assert_int_equal(store_apply_event(f->st, &e, &err), 1);
        assert_int_equal(store_delete_job(f->st, "j-0000000000d1", &err), -1);
        assert_int_equal(err->code, HOIST_ERR_STATE);
        assert_non_null(strstr(err->msg, "running"));
        hoist_error_release(&err);
        assert_int_equal(store_get_job(f->st, "j-0000000000d1", &job, &err), 0);
        job_record_free(job);

        assert_int_equal(store_finish(f->st, "j-0000000000d1", JOB_SUCCEEDED, 0, NULL, &err), 0);
        assert_int_equal(store_delete_job(f->st, "j-0000000000d1", &err), 0);
        assert_null(err);
        assert_int_equal(store_get_job(f->st, "j-0000000000d1", &job, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        hoist_error_release(&err);
        db = raw_open(f->db);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM transitions WHERE job_id = "
                                     "'j-0000000000d1'"),
                         0);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM events WHERE job_id = "
                                     "'j-0000000000d1'"),
                         0);
        sqlite3_close(db);
        assert_int_equal(store_delete_job(f->st, "j-0000000000d1", &err), -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        hoist_error_release(&err);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_open_migrates_empty, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fds_are_cloexec, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reopen_keeps_data_and_version, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_future_version_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failed_migration_rolls_back, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
                cmocka_unit_test_setup_teardown(test_open_missing_dir, setup, teardown),
                cmocka_unit_test_setup_teardown(test_insert_and_get, setup, teardown),
                cmocka_unit_test_setup_teardown(test_insert_duplicate_and_invalid, setup, teardown),
                cmocka_unit_test_setup_teardown(test_get_prefix_rules, setup, teardown),
                cmocka_unit_test_setup_teardown(test_get_not_found, setup, teardown),
                cmocka_unit_test_setup_teardown(test_get_by_name_newest, setup, teardown),
                cmocka_unit_test_setup_teardown(test_transitions_in_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_finish_attempt_is_that_attempts, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_terminal_stays, setup, teardown),
                cmocka_unit_test_setup_teardown(test_late_transitions_are_no_ops, setup, teardown),
                cmocka_unit_test_setup_teardown(test_new_attempt_decided_once, setup, teardown),
                cmocka_unit_test_setup_teardown(test_finish_sets_exit_code, setup, teardown),
                cmocka_unit_test_setup_teardown(test_new_attempt, setup, teardown),
                cmocka_unit_test_setup_teardown(test_follow_engine, setup, teardown),
                cmocka_unit_test_setup_teardown(test_list_newest_first, setup, teardown),
                cmocka_unit_test_setup_teardown(test_set_provider_ref, setup, teardown),
                cmocka_unit_test_setup_teardown(test_state_names, setup, teardown),
                cmocka_unit_test(test_new_job_id),
                cmocka_unit_test_setup_teardown(test_apply_events, setup, teardown),
                cmocka_unit_test_setup_teardown(test_apply_events_batch, setup, teardown),
                cmocka_unit_test_setup_teardown(test_two_handles_alternate, setup, teardown),
                cmocka_unit_test_setup_teardown(test_waits_for_busy_writer, setup, teardown),
                cmocka_unit_test_setup_teardown(test_concurrent_processes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_crash_safety, setup, teardown),
                cmocka_unit_test_setup_teardown(test_delete_job, setup, teardown),
        };
        return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
