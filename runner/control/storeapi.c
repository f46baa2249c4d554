/* SPDX-License-Identifier: MIT */
#include <sqlite3.h>

#include "runner/control/storeapi.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "runner/control/store_internal.h"
#include "xalloc.h"

void store_bind_params(sqlite3_stmt *stmt, const struct store_param *params, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (params[i].text != NULL)
                        (void)sqlite3_bind_text(stmt, (int)i + 1, params[i].text, -1,
                                                SQLITE_STATIC);
                else
                        (void)sqlite3_bind_int64(stmt, (int)i + 1, params[i].i);
        }
}

int store_index_event(struct store *st, const struct store_event *e, int64_t job_attempt,
                      struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *node = NULL, *points = NULL, *last = NULL;
        int64_t attempt = e->attempt > 0 ? e->attempt : job_attempt;
        int added;

        if (e->node != NULL) {
                if (store_prepare(st,
                                  "INSERT OR IGNORE INTO job_nodes (job_id, node) VALUES (?1, ?2)",
                                  &node, err) < 0)
                        return -1;
                (void)sqlite3_bind_text(node, 1, e->job_id, -1, SQLITE_STATIC);
                (void)sqlite3_bind_text(node, 2, e->node, -1, SQLITE_STATIC);
                if (store_step_done(st, node, "record the event's node", err) < 0)
                        return -1;
        }
        if (strcmp(e->type, "job.metric") != 0)
                return 0;
        /* A body that is not JSON, or data that is not an object, adds no
         * point (json_each() of a missing path is empty). */
        if (store_prepare(st,
                          "INSERT INTO metrics (job_id, attempt, node, key, step, t_ms, value)"
                          " SELECT ?1, ?2, coalesce(?3, ''), m.key,"
                          " CAST(json_extract(?4, '$.data.step') AS INTEGER), ?5, m.value"
                          " FROM json_each(CASE WHEN json_valid(?4) THEN ?4 ELSE '{}' END,"
                          " '$.data') m"
                          " WHERE json_type(CASE WHEN json_valid(?4) THEN ?4 ELSE '{}' END,"
                          " '$.data') = 'object'"
                          " AND m.type IN ('integer', 'real') AND m.key <> 'step'",
                          &points, err) < 0)
                return -1;
        (void)sqlite3_bind_text(points, 1, e->job_id, -1, SQLITE_STATIC);
        (void)sqlite3_bind_int64(points, 2, attempt);
        (void)sqlite3_bind_text(points, 3, e->node, -1, SQLITE_STATIC);
        (void)sqlite3_bind_text(points, 4, e->body, -1, SQLITE_STATIC);
        (void)sqlite3_bind_int64(points, 5, store_now_ms());
        if (store_step_done(st, points, "record metric points", err) < 0)
                return -1;
        added = sqlite3_changes(st->db);
        if (added == 0)
                return 0;
        if (store_prepare(st,
                          "INSERT INTO job_last_metrics (job_id, data, points, at_ms)"
                          " VALUES (?1, json_extract(?2, '$.data'), ?3, ?4)"
                          " ON CONFLICT (job_id) DO UPDATE SET data = excluded.data,"
                          " points = points + excluded.points, at_ms = excluded.at_ms",
                          &last, err) < 0)
                return -1;
        (void)sqlite3_bind_text(last, 1, e->job_id, -1, SQLITE_STATIC);
        (void)sqlite3_bind_text(last, 2, e->body, -1, SQLITE_STATIC);
        (void)sqlite3_bind_int64(last, 3, added);
        (void)sqlite3_bind_int64(last, 4, store_now_ms());
        return store_step_done(st, last, "record the latest metrics", err);
}

int storeapi_read_begin(struct store *st, struct hoist_error **err)
{
        return store_exec(st, "BEGIN", "begin transaction", err);
}

void storeapi_read_end(struct store *st)
{
        if (!sqlite3_get_autocommit(st->db))
                (void)sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
}

int storeapi_list_jobs(struct store *st, const struct storeapi_filter *f,
                       struct job_record ***ret_jobs, size_t *ret_n, int *ret_more,
                       struct hoist_error **err)
{
        _cleanup_buf_ struct buf sql = {0};
        struct store_param p[8 + JOB_STATE_COUNT];
        struct job_record **jobs = NULL;
        size_t np = 0, n = 0, limit = f->limit < 1 ? 1 : f->limit;
        const char *and = "WHERE";

        if (limit > STOREAPI_MAX_PAGE)
                limit = STOREAPI_MAX_PAGE;
        if (f->states != 0) {
                buf_printf(&sql, "%s state IN (", and);
                for (int s = 0; s < JOB_STATE_COUNT; s++) {
                        if (!(f->states & (1u << s)))
                                continue;
                        p[np] = (struct store_param){.text = job_state_name((enum job_state)s)};
                        buf_printf(&sql, "%s?%zu", sql.data[sql.len - 1] == '(' ? "" : ", ", ++np);
                }
                buf_append_str(&sql, ")");
                and = " AND";
        }
        if (f->provider != NULL) {
                p[np] = (struct store_param){.text = f->provider};
                buf_printf(&sql, "%s provider = ?%zu", and, ++np);
                and = " AND";
        }
        if (f->name != NULL) {
                p[np] = (struct store_param){.text = f->name};
                buf_printf(&sql, "%s name = ?%zu", and, ++np);
                and = " AND";
        }
        if (f->q != NULL) {
                /* instr(): the text is matched as it is, no LIKE wildcards. */
                p[np] = (struct store_param){.text = f->q};
                buf_printf(&sql, "%s (instr(id, ?%zu) > 0 OR instr(name, ?%zu) > 0)", and, np + 1,
                           np + 1);
                np++;
                and = " AND";
        }
        if (f->since_ms > 0) {
                p[np] = (struct store_param){.i = f->since_ms};
                buf_printf(&sql, "%s created_at_ms >= ?%zu", and, ++np);
                and = " AND";
        }
        if (f->cursor_id != NULL) {
                p[np] = (struct store_param){.i = f->cursor_ms};
                p[np + 1] = (struct store_param){.text = f->cursor_id};
                buf_printf(&sql,
                           "%s (created_at_ms < ?%zu OR (created_at_ms = ?%zu AND id < ?%zu))", and,
                           np + 1, np + 1, np + 2);
                np += 2;
        }
        p[np] = (struct store_param){.i = (int64_t)limit + 1};
        buf_printf(&sql, " ORDER BY created_at_ms DESC, id DESC LIMIT ?%zu", ++np);
        if (store_select_jobs(st, sql.data, p, np, &jobs, &n, err) < 0)
                return -1;
        *ret_more = n > limit;
        while (n > limit)
                job_record_free(jobs[--n]);
        *ret_jobs = jobs;
        *ret_n = n;
        return 0;
}

int storeapi_job_extras(struct store *st, struct job_record *const *jobs, size_t n,
                        int64_t *ret_nodes, char **ret_last_metrics, struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *nodes = NULL, *last = NULL;

        if (store_prepare(st, "SELECT count(*) FROM job_nodes WHERE job_id = ?1", &nodes, err) <
                    0 ||
            store_prepare(st, "SELECT data FROM job_last_metrics WHERE job_id = ?1", &last, err) <
                    0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                (void)sqlite3_reset(nodes);
                (void)sqlite3_reset(last);
                (void)sqlite3_bind_text(nodes, 1, jobs[i]->id, -1, SQLITE_STATIC);
                (void)sqlite3_bind_text(last, 1, jobs[i]->id, -1, SQLITE_STATIC);
                if (sqlite3_step(nodes) != SQLITE_ROW)
                        return store_fail(st, "count a job's nodes", err);
                ret_nodes[i] = sqlite3_column_int64(nodes, 0);
                switch (sqlite3_step(last)) {
                case SQLITE_ROW:
                        ret_last_metrics[i] = store_column_dup(last, 0);
                        break;
                case SQLITE_DONE:
                        ret_last_metrics[i] = NULL;
                        break;
                default:
                        while (i-- > 0)
                                free(ret_last_metrics[i]);
                        return store_fail(st, "read a job's latest metrics", err);
                }
        }
        return 0;
}

/* The text column of every row of STMT, NULL-terminated. */
static int column_list(struct store *st, sqlite3_stmt *stmt, const char *what, char ***ret,
                       struct hoist_error **err)
{
        char **v = xcalloc(1, sizeof *v);
        size_t n = 0;
        int r;

        while ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
                v = xreallocarray(v, n + 2, sizeof *v);
                v[n++] = store_column_dup(stmt, 0);
                v[n] = NULL;
        }
        if (r != SQLITE_DONE) {
                for (size_t i = 0; i < n; i++)
                        free(v[i]);
                free(v);
                return store_fail(st, what, err);
        }
        *ret = v;
        return 0;
}

int storeapi_job_nodes(struct store *st, const char *job_id, char ***ret_nodes,
                       struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;

        if (store_prepare(st, "SELECT node FROM job_nodes WHERE job_id = ?1 ORDER BY node", &stmt,
                          err) < 0)
                return -1;
        (void)sqlite3_bind_text(stmt, 1, job_id, -1, SQLITE_STATIC);
        return column_list(st, stmt, "read a job's nodes", ret_nodes, err);
}

int storeapi_metric_keys(struct store *st, const char *job_id, char ***ret_keys,
                         struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;

        /* DISTINCT over the index's first two columns: a skip-scan, not every point. */
        if (store_prepare(st, "SELECT DISTINCT key FROM metrics WHERE job_id = ?1 ORDER BY key",
                          &stmt, err) < 0)
                return -1;
        (void)sqlite3_bind_text(stmt, 1, job_id, -1, SQLITE_STATIC);
        return column_list(st, stmt, "read a job's metric keys", ret_keys, err);
}

int storeapi_metric_count(struct store *st, const char *job_id, int64_t *ret,
                          struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;
        int r;

        if (store_prepare(st, "SELECT points FROM job_last_metrics WHERE job_id = ?1", &stmt, err) <
            0)
                return -1;
        (void)sqlite3_bind_text(stmt, 1, job_id, -1, SQLITE_STATIC);
        r = sqlite3_step(stmt);
        if (r != SQLITE_ROW && r != SQLITE_DONE)
                return store_fail(st, "count a job's metric points", err);
        *ret = r == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
        return 0;
}

void storeapi_events_free(struct storeapi_event *ev, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(ev[i].id);
                free(ev[i].type);
                free(ev[i].node);
                free(ev[i].body);
        }
        free(ev);
}

int storeapi_list_events(struct store *st, const char *job_id, const char *type, int64_t after,
                         size_t limit, struct storeapi_event **ret, size_t *ret_n,
                         struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;
        struct storeapi_event *ev = NULL;
        size_t n = 0;
        int r;

        if (store_prepare(st,
                          "SELECT seq, id, type, node, received_at_ms, body FROM events"
                          " WHERE job_id = ?1 AND seq > ?2 AND (?3 IS NULL OR type = ?3)"
                          " ORDER BY seq LIMIT ?4",
                          &stmt, err) < 0)
                return -1;
        (void)sqlite3_bind_text(stmt, 1, job_id, -1, SQLITE_STATIC);
        (void)sqlite3_bind_int64(stmt, 2, after);
        if (type != NULL)
                (void)sqlite3_bind_text(stmt, 3, type, -1, SQLITE_STATIC);
        (void)sqlite3_bind_int64(stmt, 4, (int64_t)limit);
        while ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
                ev = xreallocarray(ev, n + 1, sizeof *ev);
                ev[n] = (struct storeapi_event){
                        .seq = sqlite3_column_int64(stmt, 0),
                        .id = store_column_dup(stmt, 1),
                        .type = store_column_dup(stmt, 2),
                        .node = sqlite3_column_type(stmt, 3) == SQLITE_NULL
                                        ? NULL
                                        : store_column_dup(stmt, 3),
                        .at_ms = sqlite3_column_int64(stmt, 4),
                        .body = store_column_dup(stmt, 5),
                };
                n++;
        }
        if (r != SQLITE_DONE) {
                storeapi_events_free(ev, n);
                return store_fail(st, "read a job's events", err);
        }
        *ret = ev;
        *ret_n = n;
        return 0;
}

void storeapi_series_free(struct storeapi_series *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(s[i].key);
                free(s[i].node);
                free(s[i].points);
        }
        free(s);
}

/* Rows of (rowid, key, attempt, node, step, t_ms, value) into series: a new
 * series whenever key, attempt or node changes (EACH: one per row). */
static int collect_series(struct store *st, sqlite3_stmt *stmt, int each,
                          struct storeapi_series **ret, size_t *ret_n, struct hoist_error **err)
{
        struct storeapi_series *s = NULL, *cur = NULL;
        size_t n = 0, cap = 0;
        int r;

        while ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
                const char *key = (const char *)sqlite3_column_text(stmt, 1);
                const char *node = (const char *)sqlite3_column_text(stmt, 3);
                int64_t attempt = sqlite3_column_int64(stmt, 2);

                if (key == NULL || node == NULL)
                        continue;
                if (each || cur == NULL || cur->attempt != attempt || strcmp(cur->key, key) != 0 ||
                    strcmp(cur->node, node) != 0) {
                        s = xreallocarray(s, n + 1, sizeof *s);
                        cur = &s[n++];
                        *cur = (struct storeapi_series){
                                .key = xstrdup(key), .node = xstrdup(node), .attempt = attempt};
                        cap = 0;
                }
                if (cur->n == cap) {
                        cap = cap ? cap * 2 : 64;
                        cur->points = xreallocarray(cur->points, cap, sizeof *cur->points);
                }
                cur->points[cur->n++] = (struct storeapi_point){
                        .rowid = sqlite3_column_int64(stmt, 0),
                        .step = sqlite3_column_int64(stmt, 4),
                        .t_ms = sqlite3_column_int64(stmt, 5),
                        .value = sqlite3_column_double(stmt, 6),
                };
        }
        if (r != SQLITE_DONE) {
                storeapi_series_free(s, n);
                return store_fail(st, "read metric points", err);
        }
        *ret = s;
        *ret_n = n;
        return 0;
}

int storeapi_metric_series(struct store *st, const char *job_id, const char *key,
                           struct storeapi_series **ret, size_t *ret_n, struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;

        if (store_prepare(st,
                          "SELECT rowid, key, attempt, node, step, t_ms, value FROM metrics"
                          " WHERE job_id = ?1 AND (?2 IS NULL OR key = ?2)"
                          " ORDER BY key, attempt, node, step",
                          &stmt, err) < 0)
                return -1;
        (void)sqlite3_bind_text(stmt, 1, job_id, -1, SQLITE_STATIC);
        if (key != NULL)
                (void)sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
        return collect_series(st, stmt, 0, ret, ret_n, err);
}

int storeapi_metric_since(struct store *st, const char *job_id, int64_t after_rowid, size_t limit,
                          struct storeapi_series **ret, size_t *ret_n, struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;

        /* After a point: the points since, by rowid (the job's index would
         * read every point the job has); from the start: by the index. */
        if (store_prepare(
                    st,
                    after_rowid > 0
                            ? "SELECT rowid, key, attempt, node, step, t_ms, value FROM metrics"
                              " WHERE rowid > ?2 AND +job_id = ?1 ORDER BY rowid LIMIT ?3"
                            : "SELECT rowid, key, attempt, node, step, t_ms, value FROM metrics"
                              " WHERE rowid > ?2 AND job_id = ?1 ORDER BY rowid LIMIT ?3",
                    &stmt, err) < 0)
                return -1;
        (void)sqlite3_bind_text(stmt, 1, job_id, -1, SQLITE_STATIC);
        (void)sqlite3_bind_int64(stmt, 2, after_rowid);
        (void)sqlite3_bind_int64(stmt, 3, (int64_t)limit);
        return collect_series(st, stmt, 1, ret, ret_n, err);
}

int storeapi_metric_last_rowid(struct store *st, int64_t *ret, struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;

        if (store_prepare(st, "SELECT coalesce(max(rowid), 0) FROM metrics", &stmt, err) < 0)
                return -1;
        if (sqlite3_step(stmt) != SQLITE_ROW)
                return store_fail(st, "read metric points", err);
        *ret = sqlite3_column_int64(stmt, 0);
        return 0;
}

int storeapi_data_version(struct store *st, int64_t *ret, struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;

        if (store_prepare(st, "PRAGMA data_version", &stmt, err) < 0)
                return -1;
        if (sqlite3_step(stmt) != SQLITE_ROW)
                return store_fail(st, "read the store's change counter", err);
        *ret = sqlite3_column_int64(stmt, 0);
        return 0;
}

int storeapi_jobs_changed(struct store *st, int64_t since_ms, size_t limit,
                          struct storeapi_change **ret, size_t *ret_n, struct hoist_error **err)
{
        _cleanup_sqlite_stmt_ sqlite3_stmt *stmt = NULL;
        struct storeapi_change *c = NULL;
        size_t n = 0;
        int r;

        if (store_prepare(st,
                          "SELECT id, updated_at_ms AS t FROM jobs WHERE updated_at_ms >= ?1"
                          " UNION ALL SELECT job_id, at_ms AS t FROM job_last_metrics"
                          " WHERE at_ms >= ?1 ORDER BY t LIMIT ?2",
                          &stmt, err) < 0)
                return -1;
        (void)sqlite3_bind_int64(stmt, 1, since_ms);
        (void)sqlite3_bind_int64(stmt, 2, (int64_t)limit);
        while ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
                c = xreallocarray(c, n + 1, sizeof *c);
                c[n].job_id = store_column_dup(stmt, 0);
                c[n].at_ms = sqlite3_column_int64(stmt, 1);
                n++;
        }
        if (r != SQLITE_DONE) {
                storeapi_changes_free(c, n);
                return store_fail(st, "read changed jobs", err);
        }
        *ret = c;
        *ret_n = n;
        return 0;
}

void storeapi_changes_free(struct storeapi_change *c, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(c[i].job_id);
        free(c);
}
