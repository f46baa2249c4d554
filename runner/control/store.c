/* SPDX-License-Identifier: MIT */
#include <sqlite3.h>

#include "clock.h"
#include "runner/control/store.h"
#include "runner/control/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

/* Several hoist processes share the database (a submit, `hoist status`,
 * `hoist logs -f`, `hoist serve`).  Writers queue on the write lock for up to
 * this long instead of failing with SQLITE_BUSY. */
#define STORE_BUSY_TIMEOUT_MS 15000

/* A prefix shorter than this is too likely to be a typo or a name. */
#define STORE_MIN_PREFIX 4

/* How many candidates an ambiguous prefix lists. */
#define STORE_MAX_CANDIDATES 5

/* The schema, one step per version: migrations[i] takes user_version i to
 * i + 1.  A step that has shipped never changes; a change is a new step. */
static const char *const migrations[] = {
        /* v1 */
        "CREATE TABLE jobs ("
        "  id TEXT PRIMARY KEY NOT NULL CHECK (length(id) > 0),"
        "  name TEXT NOT NULL,"
        "  provider TEXT NOT NULL,"
        "  runtime TEXT,"
        "  provider_ref TEXT,"
        "  storage_url TEXT,"
        "  spec_key TEXT,"
        "  state TEXT NOT NULL CHECK (state IN ('queued', 'building', 'uploading',"
        "    'submitted', 'starting', 'running', 'interrupted', 'succeeded', 'failed',"
        "    'canceled')),"
        "  reason TEXT,"
        "  exit_code INTEGER NOT NULL DEFAULT -1,"
        "  attempt INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1),"
        "  created_at_ms INTEGER NOT NULL,"
        "  updated_at_ms INTEGER NOT NULL"
        ");"
        "CREATE INDEX jobs_by_created ON jobs (created_at_ms);"
        "CREATE INDEX jobs_by_name ON jobs (name, created_at_ms);"
        "CREATE TABLE transitions ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
        "  attempt INTEGER NOT NULL,"
        "  from_state TEXT NOT NULL,"
        "  to_state TEXT NOT NULL,"
        "  reason TEXT,"
        "  at_ms INTEGER NOT NULL"
        ");"
        "CREATE INDEX transitions_by_job ON transitions (job_id, id);",
        /* v2: events received from jobs (hoist serve's POST /hooks/events) */
        "CREATE TABLE events ("
        "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  id TEXT NOT NULL UNIQUE CHECK (length(id) > 0),"
        "  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
        "  type TEXT NOT NULL,"
        "  node TEXT,"
        "  status TEXT,"
        "  body TEXT NOT NULL,"
        "  received_at_ms INTEGER NOT NULL"
        ");"
        "CREATE INDEX events_by_job ON events (job_id, seq);",
        /* v3: cost per attempt (runner/job/cost.c, docs/cost.md); NULL: unknown */
        "CREATE TABLE costs ("
        "  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
        "  attempt INTEGER NOT NULL CHECK (attempt >= 1),"
        "  rate_per_hour REAL,"
        "  ceiling REAL,"
        "  estimated REAL,"
        "  billed REAL,"
        "  billed_s INTEGER,"
        "  nodes INTEGER,"
        "  sku TEXT,"
        "  region TEXT,"
        "  spot INTEGER NOT NULL DEFAULT 0,"
        "  unit TEXT,"
        "  currency TEXT NOT NULL,"
        "  source TEXT,"
        "  updated_at_ms INTEGER NOT NULL,"
        "  PRIMARY KEY (job_id, attempt)"
        ");",
        /* v4: what the REST API serves fast (runner/control/storeapi.c): each
         * job.metric value as a point, the nodes that reported, the latest
         * metrics; filled from the events already received. */
        "CREATE TABLE metrics ("
        "  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
        "  attempt INTEGER NOT NULL,"
        "  node TEXT NOT NULL,"
        "  key TEXT NOT NULL,"
        "  step INTEGER,"
        "  t_ms INTEGER NOT NULL,"
        "  value REAL NOT NULL"
        ");"
        "CREATE INDEX metrics_by_series ON metrics (job_id, key, attempt, node, step);"
        "CREATE INDEX jobs_by_created_id ON jobs (created_at_ms, id);"
        "CREATE INDEX jobs_by_updated ON jobs (updated_at_ms);"
        "CREATE TABLE job_nodes ("
        "  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
        "  node TEXT NOT NULL,"
        "  PRIMARY KEY (job_id, node)"
        ") WITHOUT ROWID;"
        "CREATE TABLE job_last_metrics ("
        "  job_id TEXT PRIMARY KEY NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
        "  data TEXT NOT NULL,"
        "  points INTEGER NOT NULL DEFAULT 0,"
        "  at_ms INTEGER NOT NULL DEFAULT 0"
        ");"
        "CREATE INDEX job_last_metrics_by_time ON job_last_metrics (at_ms);"
        "INSERT OR IGNORE INTO job_nodes (job_id, node)"
        "  SELECT DISTINCT job_id, node FROM events WHERE node IS NOT NULL;"
        "INSERT INTO metrics (job_id, attempt, node, key, step, t_ms, value)"
        "  SELECT e.job_id, max(1, CASE WHEN substr(e.id, 1, length(e.job_id) + 1) ="
        "    e.job_id || '.' THEN CAST(substr(e.id, length(e.job_id) + 2) AS INTEGER)"
        "    ELSE 1 END), coalesce(e.node, ''), m.key,"
        "    CAST(json_extract(e.body, '$.data.step') AS INTEGER), e.received_at_ms, m.value"
        "  FROM events e, json_each(e.body, '$.data') m"
        "  WHERE e.type = 'job.metric' AND json_valid(e.body)"
        "    AND json_type(e.body, '$.data') = 'object'"
        "    AND m.type IN ('integer', 'real') AND m.key <> 'step';"
        "INSERT OR REPLACE INTO job_last_metrics (job_id, data, points)"
        "  SELECT e.job_id, json_extract(e.body, '$.data'),"
        "    (SELECT count(*) FROM metrics m WHERE m.job_id = e.job_id)"
        "  FROM events e WHERE e.seq IN (SELECT max(seq) FROM events"
        "    WHERE type = 'job.metric' AND json_valid(body)"
        "    AND json_type(body, '$.data') = 'object' GROUP BY job_id);",
};

#define STORE_SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

int64_t store_now_ms(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Converts the connection's last error, once, at the call that failed. */
int store_fail(struct store *st, const char *what, struct hoist_error **err)
{
        int primary = sqlite3_errcode(st->db) & 0xff;
        /* For a failed open or I/O, errno says more ("Permission denied",
         * "No space left on device") than SQLite's text alone. */
        int code = primary == SQLITE_CANTOPEN || primary == SQLITE_IOERR || primary == SQLITE_FULL
                           ? sqlite3_system_errno(st->db)
                           : 0;

        if (code < 0 || code >= HOIST_ERR_USAGE)
                code = 0;
        if (what == NULL)
                return hoist_error_make(err, code, "job store '%s': %s", st->path,
                                        sqlite3_errmsg(st->db));
        return hoist_error_make(err, code, "job store '%s': %s: %s", st->path, what,
                                sqlite3_errmsg(st->db));
}

int store_exec(struct store *st, const char *sql, const char *what, struct hoist_error **err)
{
        if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
                return store_fail(st, what, err);
        return 0;
}

int store_prepare(struct store *st, const char *sql, sqlite3_stmt **ret, struct hoist_error **err)
{
        if (sqlite3_prepare_v2(st->db, sql, -1, ret, NULL) != SQLITE_OK)
                return store_fail(st, NULL, err);
        return 0;
}

/* Steps a statement that returns no row. */
int store_step_done(struct store *st, sqlite3_stmt *stmt, const char *what,
                    struct hoist_error **err)
{
        if (sqlite3_step(stmt) != SQLITE_DONE)
                return store_fail(st, what, err);
        return 0;
}

/* BEGIN IMMEDIATE takes the write lock up front, waiting through the busy
 * timeout.  A deferred transaction that reads and then writes could instead
 * fail with SQLITE_BUSY_SNAPSHOT when another process committed in between,
 * and no amount of waiting fixes that. */
int store_begin_write(struct store *st, struct hoist_error **err)
{
        return store_exec(st, "BEGIN IMMEDIATE", "begin transaction", err);
}

static void store_rollback(struct store *st)
{
        if (!sqlite3_get_autocommit(st->db))
                (void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Ends the transaction: commits after R == 0, rolls back otherwise. */
int store_end(struct store *st, int r, struct hoist_error **err)
{
        if (r < 0) {
                store_rollback(st);
                return -1;
        }
        if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
                (void)store_fail(st, "commit", err);
                store_rollback(st);
                return -1;
        }
        return 0;
}

static int store_user_version(struct store *st, int *ret, struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;

        if (store_prepare(st, "PRAGMA user_version", &stmt, err) < 0)
                return -1;
        if (sqlite3_step(stmt) != SQLITE_ROW)
                return store_fail(st, "read schema version", err);
        *ret = sqlite3_column_int(stmt, 0);
        return 0;
}

static int store_check_version(struct store *st, int version, struct hoist_error **err)
{
        if (version > STORE_SCHEMA_VERSION)
                return hoist_error_make(err, 0,
                                        "'%s' has schema version %d; this hoist knows up to %d: "
                                        "upgrade hoist",
                                        st->path, version, STORE_SCHEMA_VERSION);
        if (version < 0)
                return hoist_error_make(err, 0, "'%s' has invalid schema version %d", st->path,
                                        version);
        return 0;
}

/* Applies migration VERSION (to VERSION + 1) inside the caller's write
 * transaction, unless another process got there first. */
static int store_migrate_step(struct store *st, int *version, struct hoist_error **err)
{
        char sql[64];

        if (store_user_version(st, version, err) < 0 || store_check_version(st, *version, err) < 0)
                return -1;
        if (*version == STORE_SCHEMA_VERSION)
                return 0;
        if (store_exec(st, migrations[*version], "migrate", err) < 0)
                return hoist_error_wrap(err, "schema version %d", *version + 1);
        /* PRAGMA takes no parameters; the number is ours, not user data. */
        (void)snprintf(sql, sizeof sql, "PRAGMA user_version = %d", *version + 1);
        if (store_exec(st, sql, "set schema version", err) < 0)
                return -1;
        log_debug("job store '%s': migrated to schema version %d", st->path, *version + 1);
        (*version)++;
        return 0;
}

static int store_migrate(struct store *st, struct hoist_error **err)
{
        int version;

        if (store_user_version(st, &version, err) < 0 || store_check_version(st, version, err) < 0)
                return -1;
        /* Each step commits with its own user_version bump, so a crash
         * between steps resumes at the right one.  The version is re-read
         * under the write lock: two processes opening a fresh database at
         * once must not both apply a step. */
        while (version < STORE_SCHEMA_VERSION) {
                if (store_begin_write(st, err) < 0)
                        return -1;
                if (store_end(st, store_migrate_step(st, &version, err), err) < 0)
                        return -1;
        }
        return 0;
}

/* Switches to WAL (a no-op once the database is in WAL mode) and says
 * whether it is in WAL mode now. */
static int store_enable_wal(struct store *st, bool *ret_wal, struct hoist_error **err)
{
        int64_t deadline = clock_mono_ms() + STORE_BUSY_TIMEOUT_MS;

        /* The switch upgrades a shared lock to an exclusive one.  When two
         * processes create the database at once, both hold the shared lock
         * and waiting could deadlock, so SQLite answers SQLITE_BUSY without
         * calling the busy handler: the retry is ours. */
        for (;;) {
                _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;
                const char *mode;
                int r;

                if (store_prepare(st, "PRAGMA journal_mode = WAL", &stmt, err) < 0)
                        return -1;
                r = sqlite3_step(stmt);
                if (r == SQLITE_ROW) {
                        mode = (const char *)sqlite3_column_text(stmt, 0);
                        *ret_wal = mode != NULL && strcmp(mode, "wal") == 0;
                        if (!*ret_wal)
                                log_debug("job store '%s': journal mode is '%s', not WAL", st->path,
                                          mode ? mode : "?");
                        return 0;
                }
                if ((r & 0xff) != SQLITE_BUSY || clock_mono_ms() > deadline)
                        return store_fail(st, "enable WAL", err);
                (void)sqlite3_sleep(5);
        }
}

static int store_configure(struct store *st, struct hoist_error **err)
{
        bool wal = false;

        /* First, so that every statement below waits for a busy lock too. */
        if (sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS) != SQLITE_OK)
                return store_fail(st, "set busy timeout", err);
        /* A no-op inside a transaction, so it goes before any. */
        if (store_exec(st, "PRAGMA foreign_keys = ON", "enable foreign keys", err) < 0)
                return -1;
        if (store_enable_wal(st, &wal, err) < 0)
                return -1;
        if (wal) {
                /* In WAL mode a commit is an append to the -wal file; with
                 * synchronous=NORMAL it is in the kernel's page cache when
                 * COMMIT returns, so a process killed at any point (SIGKILL,
                 * OOM killer, Ctrl-C) loses nothing committed, and a power
                 * loss can at worst drop the last commits, never corrupt the
                 * database.  FULL would add an fsync per state change. */
                return store_exec(st, "PRAGMA synchronous = NORMAL", "set synchronous", err);
        }
        /* Some filesystems (NFS, some FUSE) cannot do WAL's shared memory;
         * a rollback journal needs FULL to survive a power loss. */
        return store_exec(st, "PRAGMA synchronous = FULL", "set synchronous", err);
}

int store_open(const char *path, struct store **ret, struct hoist_error **err)
{
        /* No SQLITE_OPEN_FULLMUTEX: a connection is used by one thread.
         * Every file SQLite's unix VFS opens is already O_CLOEXEC, so a
         * spawned container runtime or trainer inherits none of them. */
        int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
        struct store *st;

#ifdef SQLITE_OPEN_EXRESCODE
        flags |= SQLITE_OPEN_EXRESCODE;
#endif
        st = xzalloc(sizeof *st);
        st->path = xstrdup(path);
        if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
                if (st->db == NULL)
                        (void)hoist_error_make(err, ENOMEM, "job store '%s'", path);
                else
                        (void)store_fail(st, "open", err);
                store_close(st);
                return -1;
        }
        if (store_configure(st, err) < 0 || store_migrate(st, err) < 0) {
                store_close(st);
                return -1;
        }
        *ret = st;
        return 0;
}

void store_close(struct store *st)
{
        if (st == NULL)
                return;
        /* Every statement is finalized where it was prepared. */
        if (st->db != NULL)
                (void)sqlite3_close_v2(st->db);
        free(st->path);
        free(st);
}

int store_schema_version(struct store *st)
{
        int version;

        if (store_user_version(st, &version, NULL) < 0)
                return -1;
        return version;
}

char *store_new_job_id(void)
{
        static const char hex[] = "0123456789abcdef";
        unsigned char rnd[6];
        size_t got = 0;
        char *id;

        while (got < sizeof rnd) {
                ssize_t n = getrandom(rnd + got, sizeof rnd - got, 0);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        if (got < sizeof rnd) {
                /* getrandom() predates every kernel hoist runs on; the
                 * fallback is for seccomp filters that refuse it. */
                _cleanup_fclose_ FILE *f = fopen("/dev/urandom", "rbe");

                if (f == NULL || fread(rnd, 1, sizeof rnd, f) != sizeof rnd)
                        abort();
        }
        id = xmalloc(2 + 2 * sizeof rnd + 1);
        id[0] = 'j';
        id[1] = '-';
        for (size_t i = 0; i < sizeof rnd; i++) {
                id[2 + 2 * i] = hex[rnd[i] >> 4];
                id[3 + 2 * i] = hex[rnd[i] & 0xf];
        }
        id[2 + 2 * sizeof rnd] = '\0';
        return id;
}

static int bind_text(sqlite3_stmt *stmt, int i, const char *s)
{
        return s ? sqlite3_bind_text(stmt, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(stmt, i);
}

static int store_add_transition(struct store *st, const char *id, int64_t attempt,
                                enum job_state from, enum job_state to, const char *reason,
                                int64_t at, struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;

        if (store_prepare(st,
                          "INSERT INTO transitions (job_id, attempt, from_state, to_state, reason,"
                          " at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                          &stmt, err) < 0)
                return -1;
        (void)sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
        (void)sqlite3_bind_int64(stmt, 2, attempt);
        (void)sqlite3_bind_text(stmt, 3, job_state_name(from), -1, SQLITE_STATIC);
        (void)sqlite3_bind_text(stmt, 4, job_state_name(to), -1, SQLITE_STATIC);
        (void)bind_text(stmt, 5, reason);
        (void)sqlite3_bind_int64(stmt, 6, at);
        return store_step_done(st, stmt, "record transition", err);
}

static int store_insert_locked(struct store *st, const struct job_record *job,
                               struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;
        int64_t now = store_now_ms();
        int64_t created = job->created_at_ms > 0 ? job->created_at_ms : now;
        int64_t attempt = job->attempt > 0 ? job->attempt : 1;
        /* Only a finished job can have an exit code; this also keeps a
         * zero-filled record from claiming "exited 0". */
        int exit_code = job_state_terminal(job->state) ? job->exit_code : -1;

        if (store_prepare(
                    st,
                    "INSERT INTO jobs (id, name, provider, runtime, provider_ref, storage_url,"
                    " spec_key, state, reason, exit_code, attempt, created_at_ms,"
                    " updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
                    " ?12, ?13)",
                    &stmt, err) < 0)
                return -1;
        (void)bind_text(stmt, 1, job->id);
        (void)bind_text(stmt, 2, job->name);
        (void)bind_text(stmt, 3, job->provider);
        (void)bind_text(stmt, 4, job->runtime);
        (void)bind_text(stmt, 5, job->provider_ref);
        (void)bind_text(stmt, 6, job->storage_url);
        (void)bind_text(stmt, 7, job->spec_key);
        (void)sqlite3_bind_text(stmt, 8, job_state_name(job->state), -1, SQLITE_STATIC);
        (void)bind_text(stmt, 9, job->reason);
        (void)sqlite3_bind_int(stmt, 10, exit_code);
        (void)sqlite3_bind_int64(stmt, 11, attempt);
        (void)sqlite3_bind_int64(stmt, 12, created);
        (void)sqlite3_bind_int64(stmt, 13, now);
        if (sqlite3_step(stmt) != SQLITE_DONE) {
                if (sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
                        return hoist_error_make(err, EEXIST, "job store '%s': job id '%s'",
                                                st->path, job->id);
                return store_fail(st, "insert job", err);
        }
        return store_add_transition(st, job->id, attempt, job->state, job->state, job->reason, now,
                                    err);
}

int store_insert_job(struct store *st, const struct job_record *job, struct hoist_error **err)
{
        if (job->id == NULL || job->name == NULL || job->provider == NULL)
                return hoist_error_make(err, EINVAL,
                                        "insert job: id, name and provider are required");
        if (store_begin_write(st, err) < 0)
                return -1;
        return store_end(st, store_insert_locked(st, job, err), err);
}

static int not_found(const char *id, struct hoist_error **err)
{
        return hoist_error_make(err, HOIST_ERR_NOT_FOUND, "no job '%s' (see 'hoist list')", id);
}

/* What a move needs to know about the job as it is now. */
struct job_head {
        enum job_state state;
        int64_t attempt;
        int exit_code;
        int64_t updated_at_ms;
};

static int store_read_head(struct store *st, const char *id, struct job_head *ret,
                           struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;
        const char *state;
        int r;

        if (store_prepare(st,
                          "SELECT state, attempt, exit_code, updated_at_ms FROM jobs WHERE id = ?1",
                          &stmt, err) < 0)
                return -1;
        (void)sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
        r = sqlite3_step(stmt);
        if (r == SQLITE_DONE)
                return not_found(id, err);
        if (r != SQLITE_ROW)
                return store_fail(st, "read job", err);
        state = (const char *)sqlite3_column_text(stmt, 0);
        if (job_state_parse(state, &ret->state) < 0)
                return hoist_error_make(err, 0, "job store '%s': job '%s' has unknown state '%s'",
                                        st->path, id, state ? state : "");
        ret->attempt = sqlite3_column_int64(stmt, 1);
        ret->exit_code = sqlite3_column_int(stmt, 2);
        ret->updated_at_ms = sqlite3_column_int64(stmt, 3);
        return 0;
}

/* The wall clock may step back (NTP); a job's history must not. */
static int64_t next_time(const struct job_head *h)
{
        int64_t now = store_now_ms();

        return now > h->updated_at_ms ? now : h->updated_at_ms;
}

/* States only move forward, and a finished job stays where it finished:
 * reports arrive late and out of order (a fast job's events reach hoist
 * serve before hoist submit records "starting"), and a late one is old news,
 * not an error.  Only store_new_attempt() starts over. */
static bool store_moves_forward(enum job_state from, enum job_state to)
{
        return !job_state_terminal(from) && to > from;
}

/* Moves job ID to TO; sets the exit code too when EXIT_CODE is not NULL.
 * ATTEMPT > 0: only while the job is at that attempt (0: whichever). */
static int store_move_locked(struct store *st, const char *id, int64_t attempt, enum job_state to,
                             const int *exit_code, const char *reason, struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;
        struct job_head h;
        int64_t at;

        if (store_read_head(st, id, &h, err) < 0)
                return -1;
        if (attempt > 0 && h.attempt != attempt) {
                log_debug("job %s: %s of attempt %" PRId64 " while it is at attempt %" PRId64
                          " is late news, ignoring",
                          id, job_state_name(to), attempt, h.attempt);
                return 0;
        }
        if (h.state == to) {
                /* Already there: only fill in an exit code not known yet
                 * (a job marked failed before its runtime reported one). */
                if (exit_code == NULL || h.exit_code != -1 || *exit_code == -1)
                        return 0;
                if (store_prepare(st, "UPDATE jobs SET exit_code = ?1 WHERE id = ?2", &stmt, err) <
                    0)
                        return -1;
                (void)sqlite3_bind_int(stmt, 1, *exit_code);
                (void)sqlite3_bind_text(stmt, 2, id, -1, SQLITE_STATIC);
                return store_step_done(st, stmt, "set exit code", err);
        }
        if (!store_moves_forward(h.state, to)) {
                log_debug("job %s: %s after %s is late news, ignoring", id, job_state_name(to),
                          job_state_name(h.state));
                return 0;
        }
        at = next_time(&h);
        if (store_prepare(st,
                          "UPDATE jobs SET state = ?1, reason = ?2,"
                          " exit_code = coalesce(?3, exit_code), updated_at_ms = ?4 WHERE id = ?5",
                          &stmt, err) < 0)
                return -1;
        (void)sqlite3_bind_text(stmt, 1, job_state_name(to), -1, SQLITE_STATIC);
        (void)bind_text(stmt, 2, reason);
        if (exit_code != NULL)
                (void)sqlite3_bind_int(stmt, 3, *exit_code);
        (void)sqlite3_bind_int64(stmt, 4, at);
        (void)sqlite3_bind_text(stmt, 5, id, -1, SQLITE_STATIC);
        if (store_step_done(st, stmt, "update job", err) < 0)
                return -1;
        return store_add_transition(st, id, h.attempt, h.state, to, reason, at, err);
}

static int store_move(struct store *st, const char *id, int64_t attempt, enum job_state to,
                      const int *exit_code, const char *reason, struct hoist_error **err)
{
        if ((int)to < 0 || (int)to >= JOB_STATE_COUNT)
                return hoist_error_make(err, EINVAL, "job '%s': invalid state %d", id, (int)to);
        if (store_begin_write(st, err) < 0)
                return -1;
        return store_end(st, store_move_locked(st, id, attempt, to, exit_code, reason, err), err);
}

int store_transition(struct store *st, const char *id, enum job_state to, const char *reason,
                     struct hoist_error **err)
{
        return store_move(st, id, 0, to, NULL, reason, err);
}

int store_finish(struct store *st, const char *id, enum job_state to, int exit_code,
                 const char *reason, struct hoist_error **err)
{
        return store_move(st, id, 0, to, &exit_code, reason, err);
}

int store_finish_attempt(struct store *st, const char *id, int64_t attempt, enum job_state to,
                         int exit_code, const char *reason, struct hoist_error **err)
{
        return store_move(st, id, attempt, to, &exit_code, reason, err);
}

/* Whether two reasons (either may be NULL) say the same. */
static bool same_reason(const char *a, const char *b)
{
        return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static int store_follow_engine_locked(struct store *st, const char *id, int64_t attempt,
                                      enum job_state to, const char *reason,
                                      struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;
        _cleanup_sqlite_stmt_ sqlite3_stmt *get = NULL;
        _cleanup_free_ char *old_reason = NULL;
        struct job_head h;
        int64_t at;

        if (store_read_head(st, id, &h, err) < 0)
                return -1;
        if (h.attempt != attempt || job_state_terminal(h.state))
                return 0; /* another attempt's news, or a job that has ended */
        if (store_prepare(st, "SELECT reason FROM jobs WHERE id = ?1", &get, err) < 0)
                return -1;
        (void)sqlite3_bind_text(get, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(get) == SQLITE_ROW && sqlite3_column_text(get, 0) != NULL)
                old_reason = xstrdup((const char *)sqlite3_column_text(get, 0));
        if (h.state == to && same_reason(old_reason, reason))
                return 0;
        at = next_time(&h);
        if (store_prepare(
                    st, "UPDATE jobs SET state = ?1, reason = ?2, updated_at_ms = ?3 WHERE id = ?4",
                    &stmt, err) < 0)
                return -1;
        (void)sqlite3_bind_text(stmt, 1, job_state_name(to), -1, SQLITE_STATIC);
        (void)bind_text(stmt, 2, reason);
        (void)sqlite3_bind_int64(stmt, 3, at);
        (void)sqlite3_bind_text(stmt, 4, id, -1, SQLITE_STATIC);
        if (store_step_done(st, stmt, "update job", err) < 0)
                return -1;
        /* A new reason in the same state is no move. */
        if (h.state == to)
                return 0;
        return store_add_transition(st, id, h.attempt, h.state, to, reason, at, err);
}

int store_follow_engine(struct store *st, const char *id, int64_t attempt, enum job_state to,
                        const char *reason, struct hoist_error **err)
{
        if ((int)to < 0 || (int)to >= JOB_STATE_COUNT || job_state_terminal(to))
                return hoist_error_make(err, EINVAL, "job '%s': %d is no state an engine holds", id,
                                        (int)to);
        if (store_begin_write(st, err) < 0)
                return -1;
        return store_end(st, store_follow_engine_locked(st, id, attempt, to, reason, err), err);
}

static int store_set_provider_ref_locked(struct store *st, const char *id, const char *runtime,
                                         const char *ref, struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;

        if (store_prepare(st,
                          "UPDATE jobs SET runtime = ?1, provider_ref = ?2,"
                          " updated_at_ms = max(updated_at_ms, ?3) WHERE id = ?4",
                          &stmt, err) < 0)
                return -1;
        (void)bind_text(stmt, 1, runtime);
        (void)bind_text(stmt, 2, ref);
        (void)sqlite3_bind_int64(stmt, 3, store_now_ms());
        (void)sqlite3_bind_text(stmt, 4, id, -1, SQLITE_STATIC);
        if (store_step_done(st, stmt, "set provider reference", err) < 0)
                return -1;
        if (sqlite3_changes(st->db) == 0)
                return not_found(id, err);
        return 0;
}

int store_set_provider_ref(struct store *st, const char *id, const char *runtime, const char *ref,
                           struct hoist_error **err)
{
        if (store_begin_write(st, err) < 0)
                return -1;
        return store_end(st, store_set_provider_ref_locked(st, id, runtime, ref, err), err);
}

static int store_delete_locked(struct store *st, const char *id, struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;
        struct job_head h;

        if (store_read_head(st, id, &h, err) < 0)
                return -1;
        if (!job_state_terminal(h.state))
                return hoist_error_make(err, HOIST_ERR_STATE, "job '%s' is %s, not finished", id,
                                        job_state_name(h.state));
        /* Transitions and events go with it (ON DELETE CASCADE). */
        if (store_prepare(st, "DELETE FROM jobs WHERE id = ?1", &stmt, err) < 0)
                return -1;
        (void)sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
        return store_step_done(st, stmt, "delete job", err);
}

int store_delete_job(struct store *st, const char *id, struct hoist_error **err)
{
        if (store_begin_write(st, err) < 0)
                return -1;
        return store_end(st, store_delete_locked(st, id, err), err);
}

static int store_new_attempt_locked(struct store *st, const char *id, int64_t from_attempt,
                                    struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;
        _cleanup_free_ char *reason = NULL;
        struct job_head h;
        int64_t at;

        if (store_read_head(st, id, &h, err) < 0)
                return -1;
        if (h.attempt != from_attempt)
                return hoist_error_make(err, HOIST_ERR_STATE,
                                        "job '%s' is at attempt %" PRId64 " already, not %" PRId64
                                        " (another hoist started it)",
                                        id, h.attempt, from_attempt);
        if (!job_state_terminal(h.state) && h.state != JOB_INTERRUPTED)
                return hoist_error_make(err, HOIST_ERR_STATE,
                                        "job '%s' is %s; only a finished or interrupted job can "
                                        "start a new attempt",
                                        id, job_state_name(h.state));
        at = next_time(&h);
        reason = xasprintf("attempt %" PRId64 " after %s", h.attempt + 1, job_state_name(h.state));
        if (store_prepare(st,
                          "UPDATE jobs SET state = ?1, reason = ?2, exit_code = -1,"
                          " attempt = ?3, updated_at_ms = ?4 WHERE id = ?5",
                          &stmt, err) < 0)
                return -1;
        (void)sqlite3_bind_text(stmt, 1, job_state_name(JOB_SUBMITTED), -1, SQLITE_STATIC);
        (void)sqlite3_bind_text(stmt, 2, reason, -1, SQLITE_STATIC);
        (void)sqlite3_bind_int64(stmt, 3, h.attempt + 1);
        (void)sqlite3_bind_int64(stmt, 4, at);
        (void)sqlite3_bind_text(stmt, 5, id, -1, SQLITE_STATIC);
        if (store_step_done(st, stmt, "start new attempt", err) < 0)
                return -1;
        return store_add_transition(st, id, h.attempt + 1, h.state, JOB_SUBMITTED, reason, at, err);
}

int store_new_attempt(struct store *st, const char *id, int64_t from_attempt,
                      struct hoist_error **err)
{
        if (store_begin_write(st, err) < 0)
                return -1;
        return store_end(st, store_new_attempt_locked(st, id, from_attempt, err), err);
}

#define JOB_COLUMNS                                                                                \
        "id, name, provider, runtime, provider_ref, storage_url, spec_key, state, reason,"         \
        " exit_code, attempt, created_at_ms, updated_at_ms,"                                       \
        " (SELECT sum(estimated) FROM costs WHERE costs.job_id = jobs.id),"                        \
        " (SELECT sum(billed) FROM costs WHERE costs.job_id = jobs.id),"                           \
        " (SELECT max(currency) FROM costs WHERE costs.job_id = jobs.id)"

char *store_column_dup(sqlite3_stmt *stmt, int i)
{
        return xstrdup((const char *)sqlite3_column_text(stmt, i));
}

static double column_real_or(sqlite3_stmt *stmt, int i, double none)
{
        return sqlite3_column_type(stmt, i) == SQLITE_NULL ? none : sqlite3_column_double(stmt, i);
}

int store_row_to_job(struct store *st, sqlite3_stmt *stmt, struct job_record **ret,
                     struct hoist_error **err)
{
        _cleanup_job_record_ struct job_record *job = xzalloc(sizeof *job);
        const char *state = (const char *)sqlite3_column_text(stmt, 7);

        job->id = store_column_dup(stmt, 0);
        if (job_state_parse(state, &job->state) < 0)
                return hoist_error_make(err, 0, "job store '%s': job '%s' has unknown state '%s'",
                                        st->path, job->id, state ? state : "");
        job->name = store_column_dup(stmt, 1);
        job->provider = store_column_dup(stmt, 2);
        job->runtime = store_column_dup(stmt, 3);
        job->provider_ref = store_column_dup(stmt, 4);
        job->storage_url = store_column_dup(stmt, 5);
        job->spec_key = store_column_dup(stmt, 6);
        job->reason = store_column_dup(stmt, 8);
        job->exit_code = sqlite3_column_int(stmt, 9);
        job->attempt = sqlite3_column_int64(stmt, 10);
        job->created_at_ms = sqlite3_column_int64(stmt, 11);
        job->updated_at_ms = sqlite3_column_int64(stmt, 12);
        job->cost_estimated = column_real_or(stmt, 13, -1);
        job->cost_billed = column_real_or(stmt, 14, -1);
        job->cost_currency = store_column_dup(stmt, 15);
        *ret = TAKE_PTR(job);
        return 0;
}

/* Runs a SELECT of JOB_COLUMNS whose ?1 is KEY; up to MAX rows. */
static int store_query_jobs(struct store *st, const char *sql, const char *key, size_t max,
                            struct job_record ***ret_jobs, size_t *ret_n, struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;
        struct job_record **jobs = NULL;
        size_t n = 0;
        int r = SQLITE_DONE;

        if (store_prepare(st, sql, &stmt, err) < 0)
                return -1;
        if (key != NULL)
                (void)sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
        while (n < max && (r = sqlite3_step(stmt)) == SQLITE_ROW) {
                jobs = xreallocarray(jobs, n + 1, sizeof *jobs);
                if (store_row_to_job(st, stmt, &jobs[n], err) < 0) {
                        job_records_free(jobs, n);
                        return -1;
                }
                n++;
        }
        if (n < max && r != SQLITE_DONE) {
                job_records_free(jobs, n);
                return store_fail(st, "read jobs", err);
        }
        *ret_jobs = jobs;
        *ret_n = n;
        return 0;
}

static int ambiguous(const char *prefix, struct job_record **jobs, size_t n,
                     struct hoist_error **err)
{
        _cleanup_free_ char *list = xstrdup("");

        for (size_t i = 0; i < n && i < STORE_MAX_CANDIDATES; i++) {
                char *more =
                        xasprintf("%s%s%s (%s)", list, i ? ", " : "", jobs[i]->id, jobs[i]->name);
                free(list);
                list = more;
        }
        return hoist_error_make(err, HOIST_ERR_USAGE,
                                "job id prefix '%s' is ambiguous: %s%s (give more of the id)",
                                prefix, list, n > STORE_MAX_CANDIDATES ? ", ..." : "");
}

/* Exact id, else unique id prefix, else the newest job of that name.  An
 * ambiguous prefix is an error only when no name matches either. */
static int store_get_job_read(struct store *st, const char *key, struct job_record **ret,
                              struct hoist_error **err)
{
        struct job_record **jobs = NULL, **cands = NULL;
        size_t n = 0, ncands = 0;
        int r;

        if (store_query_jobs(st, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1", key, 1, &jobs,
                             &n, err) < 0)
                return -1;
        /* substr(), not LIKE: '_' and '%' in KEY match only themselves.  A
         * "j-" prefix too short to be taken is looked up to say so. */
        if (n == 0 && (strlen(key) >= STORE_MIN_PREFIX || strncmp(key, "j-", 2) == 0) &&
            store_query_jobs(st,
                             "SELECT " JOB_COLUMNS " FROM jobs WHERE substr(id, 1, length(?1)) = ?1"
                             " ORDER BY created_at_ms DESC, rowid DESC",
                             key, STORE_MAX_CANDIDATES + 1, &cands, &ncands, err) < 0)
                return -1;
        if (n == 0 && ncands == 1 && strlen(key) >= STORE_MIN_PREFIX) {
                jobs = TAKE_PTR(cands);
                n = ncands;
                ncands = 0;
        }
        if (n == 0 && store_query_jobs(st,
                                       "SELECT " JOB_COLUMNS " FROM jobs WHERE name = ?1"
                                       " ORDER BY created_at_ms DESC, rowid DESC LIMIT 1",
                                       key, 1, &jobs, &n, err) < 0) {
                job_records_free(cands, ncands);
                return -1;
        }
        if (n > 0) {
                *ret = jobs[0];
                free(jobs);
                r = 0;
        } else if (ncands > 0 && strlen(key) < STORE_MIN_PREFIX) {
                r = hoist_error_make(err, HOIST_ERR_USAGE,
                                     "job id prefix '%s' is too short: give at least %d "
                                     "characters of the id (%s%s)",
                                     key, STORE_MIN_PREFIX, cands[0]->id,
                                     ncands > 1 ? ", ..." : "");
        } else if (ncands > 1) {
                r = ambiguous(key, cands, ncands, err);
        } else {
                r = not_found(key, err);
        }
        job_records_free(cands, ncands);
        return r;
}

int store_get_job(struct store *st, const char *id_or_name, struct job_record **ret,
                  struct hoist_error **err)
{
        struct job_record *job = NULL;

        /* One read transaction: the lookups see one snapshot. */
        if (store_exec(st, "BEGIN", "begin transaction", err) < 0)
                return -1;
        if (store_end(st, store_get_job_read(st, id_or_name, &job, err), err) < 0) {
                job_record_free(job);
                return -1;
        }
        *ret = job;
        return 0;
}

int store_list_jobs(struct store *st, struct job_record ***ret_jobs, size_t *ret_n,
                    struct hoist_error **err)
{
        return store_query_jobs(
                st, "SELECT " JOB_COLUMNS " FROM jobs ORDER BY created_at_ms DESC, rowid DESC",
                NULL, SIZE_MAX, ret_jobs, ret_n, err);
}

int store_select_jobs(struct store *st, const char *tail, const struct store_param *params,
                      size_t n_params, struct job_record ***ret_jobs, size_t *ret_n,
                      struct hoist_error **err)
{
        _cleanup_free_ char *sql = xasprintf("SELECT " JOB_COLUMNS " FROM jobs %s", tail);
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;
        struct job_record **jobs = NULL;
        size_t n = 0;
        int r;

        if (store_prepare(st, sql, &stmt, err) < 0)
                return -1;
        store_bind_params(stmt, params, n_params);
        while ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
                jobs = xreallocarray(jobs, n + 1, sizeof *jobs);
                if (store_row_to_job(st, stmt, &jobs[n], err) < 0) {
                        job_records_free(jobs, n);
                        return -1;
                }
                n++;
        }
        if (r != SQLITE_DONE) {
                job_records_free(jobs, n);
                return store_fail(st, "read jobs", err);
        }
        *ret_jobs = jobs;
        *ret_n = n;
        return 0;
}

static int store_list_transitions_read(struct store *st, const char *id,
                                       struct job_transition **ret, size_t *ret_n,
                                       struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;
        struct job_transition *t = NULL;
        struct job_head h;
        size_t n = 0;
        int r;

        if (store_read_head(st, id, &h, err) < 0)
                return -1;
        if (store_prepare(st,
                          "SELECT from_state, to_state, reason, at_ms FROM transitions"
                          " WHERE job_id = ?1 ORDER BY id",
                          &stmt, err) < 0)
                return -1;
        (void)sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
        while ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
                const char *from = (const char *)sqlite3_column_text(stmt, 0);
                const char *to = (const char *)sqlite3_column_text(stmt, 1);

                t = xreallocarray(t, n + 1, sizeof *t);
                if (job_state_parse(from, &t[n].from) < 0 || job_state_parse(to, &t[n].to) < 0) {
                        job_transitions_free(t, n);
                        return hoist_error_make(err, 0,
                                                "job store '%s': job '%s' has a transition with "
                                                "an unknown state",
                                                st->path, id);
                }
                t[n].reason = store_column_dup(stmt, 2);
                t[n].at_ms = sqlite3_column_int64(stmt, 3);
                n++;
        }
        if (r != SQLITE_DONE) {
                job_transitions_free(t, n);
                return store_fail(st, "read transitions", err);
        }
        *ret = t;
        *ret_n = n;
        return 0;
}

int store_list_transitions(struct store *st, const char *id, struct job_transition **ret,
                           size_t *ret_n, struct hoist_error **err)
{
        struct job_transition *t = NULL;
        size_t n = 0;

        if (store_exec(st, "BEGIN", "begin transaction", err) < 0)
                return -1;
        if (store_end(st, store_list_transitions_read(st, id, &t, &n, err), err) < 0) {
                job_transitions_free(t, n);
                return -1;
        }
        *ret = t;
        *ret_n = n;
        return 0;
}

void job_transitions_free(struct job_transition *t, size_t n)
{
        if (t == NULL)
                return;
        for (size_t i = 0; i < n; i++)
                free(t[i].reason);
        free(t);
}

/* The state an event type moves a job to, or -1 for none. */
static int event_state(const char *type)
{
        static const struct {
                const char *type;
                enum job_state state;
        } map[] = {
                {"job.starting", JOB_STARTING},   {"job.running", JOB_RUNNING},
                {"job.succeeded", JOB_SUCCEEDED}, {"job.failed", JOB_FAILED},
                {"job.canceled", JOB_CANCELED},   {"job.interrupted", JOB_INTERRUPTED},
        };

        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
                if (strcmp(type, map[i].type) == 0)
                        return (int)map[i].state;
        return -1;
}

static int store_apply_event_locked(struct store *st, const struct store_event *e, int *ret_new,
                                    struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;
        struct job_head h;
        int to;

        if (store_read_head(st, e->job_id, &h, err) < 0)
                return -1;
        if (store_prepare(st,
                          "INSERT OR IGNORE INTO events (id, job_id, type, node, status, body,"
                          " received_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                          &stmt, err) < 0)
                return -1;
        (void)sqlite3_bind_text(stmt, 1, e->id, -1, SQLITE_STATIC);
        (void)sqlite3_bind_text(stmt, 2, e->job_id, -1, SQLITE_STATIC);
        (void)sqlite3_bind_text(stmt, 3, e->type, -1, SQLITE_STATIC);
        (void)bind_text(stmt, 4, e->node);
        (void)bind_text(stmt, 5, e->status);
        (void)sqlite3_bind_text(stmt, 6, e->body, -1, SQLITE_STATIC);
        (void)sqlite3_bind_int64(stmt, 7, store_now_ms());
        if (store_step_done(st, stmt, "record event", err) < 0)
                return -1;
        *ret_new = sqlite3_changes(st->db) > 0;
        if (*ret_new && store_index_event(st, e, h.attempt, err) < 0)
                return -1;
        to = event_state(e->type);
        /* An earlier attempt's news, delivered late, is history only. */
        if (!*ret_new || to < 0 || (e->attempt > 0 && e->attempt != h.attempt))
                return 0;
        /* How the command ended counts for an interrupted attempt too. */
        return store_move_locked(
                st, e->job_id, 0, (enum job_state)to,
                (job_state_terminal((enum job_state)to) || to == JOB_INTERRUPTED) &&
                                e->exit_code >= 0
                        ? &e->exit_code
                        : NULL,
                e->reason, err);
}

static int store_event_check(const struct store_event *e, struct hoist_error **err)
{
        if (e->id == NULL || *e->id == '\0' || e->job_id == NULL || e->type == NULL ||
            e->body == NULL)
                return hoist_error_make(err, EINVAL,
                                        "event: id, job_id, type and body are required");
        return 0;
}

/* One event of a batch, in a savepoint of its own: its failure undoes
 * only what it wrote. */
static int store_apply_one(struct store *st, const struct store_event *e, struct hoist_error **err)
{
        int fresh = 0;

        if (store_event_check(e, err) < 0 || store_exec(st, "SAVEPOINT ev", "savepoint", err) < 0)
                return -1;
        if (store_apply_event_locked(st, e, &fresh, err) < 0) {
                (void)sqlite3_exec(st->db, "ROLLBACK TO ev; RELEASE ev", NULL, NULL, NULL);
                return -1;
        }
        if (store_exec(st, "RELEASE ev", "release savepoint", err) < 0)
                return -1;
        return fresh;
}

int store_apply_events(struct store *st, const struct store_event *const *ev, size_t n,
                       int *ret_results, struct hoist_error **ret_errs, struct hoist_error **err)
{
        for (size_t i = 0; i < n; i++)
                ret_errs[i] = NULL;
        if (store_begin_write(st, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++)
                ret_results[i] = store_apply_one(st, ev[i], &ret_errs[i]);
        if (store_end(st, 0, err) < 0) {
                for (size_t i = 0; i < n; i++)
                        hoist_error_release(&ret_errs[i]);
                return -1;
        }
        return 0;
}

int store_apply_event(struct store *st, const struct store_event *e, struct hoist_error **err)
{
        int fresh = 0;

        if (store_event_check(e, err) < 0)
                return -1;
        if (store_begin_write(st, err) < 0)
                return -1;
        if (store_end(st, store_apply_event_locked(st, e, &fresh, err), err) < 0)
                return -1;
        return fresh;
}

static int store_last_event_read(struct store *st, const char *job_id, const char *type,
                                 char **ret_body, struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;
        int r;

        if (store_prepare(st,
                          "SELECT body FROM events WHERE job_id = ?1 AND type = ?2"
                          " ORDER BY seq DESC LIMIT 1",
                          &stmt, err) < 0)
                return -1;
        (void)sqlite3_bind_text(stmt, 1, job_id, -1, SQLITE_STATIC);
        (void)sqlite3_bind_text(stmt, 2, type, -1, SQLITE_STATIC);
        r = sqlite3_step(stmt);
        if (r == SQLITE_DONE) {
                *ret_body = NULL;
                return 0;
        }
        if (r != SQLITE_ROW)
                return store_fail(st, "read events", err);
        *ret_body = store_column_dup(stmt, 0);
        return 0;
}

int store_last_event(struct store *st, const char *job_id, const char *type, char **ret_body,
                     struct hoist_error **err)
{
        char *body = NULL;

        if (store_exec(st, "BEGIN", "begin transaction", err) < 0)
                return -1;
        if (store_end(st, store_last_event_read(st, job_id, type, &body, err), err) < 0) {
                free(body);
                return -1;
        }
        *ret_body = body;
        return 0;
}

static int store_each_event_read(struct store *st, const char *job_id, const char *type,
                                 store_event_fn fn, void *userdata, struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;
        int r;

        if (store_prepare(st,
                          "SELECT body FROM events WHERE job_id = ?1 AND type = ?2"
                          " ORDER BY seq",
                          &stmt, err) < 0)
                return -1;
        (void)sqlite3_bind_text(stmt, 1, job_id, -1, SQLITE_STATIC);
        (void)sqlite3_bind_text(stmt, 2, type, -1, SQLITE_STATIC);
        while ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
                const char *body = (const char *)sqlite3_column_text(stmt, 0);
                if (body != NULL)
                        fn(userdata, body);
        }
        return r == SQLITE_DONE ? 0 : store_fail(st, "read events", err);
}

int store_each_event(struct store *st, const char *job_id, const char *type, store_event_fn fn,
                     void *userdata, struct hoist_error **err)
{
        if (store_exec(st, "BEGIN", "begin transaction", err) < 0)
                return -1;
        return store_end(st, store_each_event_read(st, job_id, type, fn, userdata, err), err);
}

static int store_count_events_read(struct store *st, const char *job_id, int64_t *ret,
                                   struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;

        if (store_prepare(st, "SELECT count(*) FROM events WHERE job_id = ?1", &stmt, err) < 0)
                return -1;
        (void)sqlite3_bind_text(stmt, 1, job_id, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) != SQLITE_ROW)
                return store_fail(st, "count events", err);
        *ret = sqlite3_column_int64(stmt, 0);
        return 0;
}

int store_count_events(struct store *st, const char *job_id, int64_t *ret, struct hoist_error **err)
{
        int64_t n = 0;

        if (store_exec(st, "BEGIN", "begin transaction", err) < 0)
                return -1;
        if (store_end(st, store_count_events_read(st, job_id, &n, err), err) < 0)
                return -1;
        *ret = n;
        return 0;
}

/* ---- cost per attempt ---- */

static void bind_real_or_null(sqlite3_stmt *stmt, int i, double v)
{
        if (v < 0)
                (void)sqlite3_bind_null(stmt, i);
        else
                (void)sqlite3_bind_double(stmt, i, v);
}

static void bind_int_or_null(sqlite3_stmt *stmt, int i, int64_t v)
{
        if (v < 0)
                (void)sqlite3_bind_null(stmt, i);
        else
                (void)sqlite3_bind_int64(stmt, i, v);
}

int store_put_cost(struct store *st, const char *id, const struct store_cost *c,
                   struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;
        int r;

        if (store_prepare(st,
                          "INSERT OR REPLACE INTO costs (job_id, attempt, rate_per_hour, ceiling,"
                          " estimated, billed, billed_s, nodes, sku, region, spot, unit, currency,"
                          " source, updated_at_ms)"
                          " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15"
                          " WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ?1)",
                          &stmt, err) < 0)
                return -1;
        (void)sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
        (void)sqlite3_bind_int64(stmt, 2, c->attempt);
        bind_real_or_null(stmt, 3, c->rate_per_hour);
        bind_real_or_null(stmt, 4, c->ceiling);
        bind_real_or_null(stmt, 5, c->estimated);
        bind_real_or_null(stmt, 6, c->billed);
        bind_int_or_null(stmt, 7, c->billed_s);
        bind_int_or_null(stmt, 8, c->nodes);
        (void)bind_text(stmt, 9, c->sku);
        (void)bind_text(stmt, 10, c->region);
        (void)sqlite3_bind_int(stmt, 11, c->spot ? 1 : 0);
        (void)bind_text(stmt, 12, c->unit);
        (void)sqlite3_bind_text(stmt, 13, c->currency != NULL ? c->currency : "USD", -1,
                                SQLITE_STATIC);
        (void)bind_text(stmt, 14, c->source);
        (void)sqlite3_bind_int64(stmt, 15, store_now_ms());
        if (store_step_done(st, stmt, "record cost", err) < 0)
                return -1;
        r = sqlite3_changes(st->db);
        return r > 0 ? 0 : not_found(id, err);
}

static void cost_from_row(sqlite3_stmt *stmt, struct store_cost *c)
{
        *c = (struct store_cost){0};
        c->attempt = sqlite3_column_int64(stmt, 0);
        c->rate_per_hour = column_real_or(stmt, 1, -1);
        c->ceiling = column_real_or(stmt, 2, -1);
        c->estimated = column_real_or(stmt, 3, -1);
        c->billed = column_real_or(stmt, 4, -1);
        c->billed_s =
                sqlite3_column_type(stmt, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(stmt, 5);
        c->nodes = sqlite3_column_type(stmt, 6) == SQLITE_NULL ? -1 : sqlite3_column_int64(stmt, 6);
        c->sku = store_column_dup(stmt, 7);
        c->region = store_column_dup(stmt, 8);
        c->spot = sqlite3_column_int(stmt, 9);
        c->unit = store_column_dup(stmt, 10);
        c->currency = store_column_dup(stmt, 11);
        c->source = store_column_dup(stmt, 12);
        c->updated_at_ms = sqlite3_column_int64(stmt, 13);
}

int store_list_costs(struct store *st, const char *id, struct store_cost **ret, size_t *ret_n,
                     struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;
        struct store_cost *v = NULL;
        size_t n = 0;
        int r;

        if (store_prepare(st,
                          "SELECT attempt, rate_per_hour, ceiling, estimated, billed, billed_s,"
                          " nodes, sku, region, spot, unit, currency, source, updated_at_ms"
                          " FROM costs WHERE job_id = ?1 ORDER BY attempt",
                          &stmt, err) < 0)
                return -1;
        (void)sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
        while ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
                v = xreallocarray(v, n + 1, sizeof *v);
                cost_from_row(stmt, &v[n++]);
        }
        if (r != SQLITE_DONE) {
                store_costs_free(v, n);
                return store_fail(st, "read costs", err);
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

void store_cost_clear(struct store_cost *c)
{
        free(c->sku);
        free(c->region);
        free(c->unit);
        free(c->currency);
        free(c->source);
        c->sku = c->region = c->unit = c->currency = c->source = NULL;
}

void store_costs_free(struct store_cost *v, size_t n)
{
        for (size_t i = 0; v != NULL && i < n; i++)
                store_cost_clear(&v[i]);
        free(v);
}
