/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_STOREAPI_H
#define HOIST_RUNNER_STOREAPI_H

/*
 * What hoist serve's REST API (runner/serve/api.c) reads from the job store,
 * fast: a page of jobs by filter, a page of a job's events, the nodes that
 * reported and the latest metrics of each job, and each job.metric value as
 * a point of a series (table `metrics`, filled as events are recorded).
 */

#include <stdint.h>

#include "error.h"
#include "runner/control/store.h"

#define STOREAPI_MAX_PAGE 1000

struct storeapi_filter {
        unsigned states;      /* bit (1 << state) per state wanted; 0: any */
        const char *provider; /* NULL: any */
        const char *name;     /* exact; NULL: any */
        const char *q;        /* substring of id or name; NULL: any */
        int64_t since_ms;     /* created at or after; 0: any */
        /* The page after the job created at CURSOR_MS with id CURSOR_ID
         * (newest first); CURSOR_ID NULL: the first page. */
        int64_t cursor_ms;
        const char *cursor_id;
        size_t limit; /* 1..STOREAPI_MAX_PAGE */
};

/* A read transaction around several reads: one snapshot, and the file
 * locks taken once instead of per statement. */
int storeapi_read_begin(struct store *st, struct hoist_error **err);
void storeapi_read_end(struct store *st);

/* Up to F->limit jobs, newest first; *RET_MORE is 1 when more follow. */
int storeapi_list_jobs(struct store *st, const struct storeapi_filter *f,
                       struct job_record ***ret_jobs, size_t *ret_n, int *ret_more,
                       struct hoist_error **err);

/* For each of the N jobs: how many nodes have reported, and the data of its
 * newest job.metric event (JSON text, or NULL). */
int storeapi_job_extras(struct store *st, struct job_record *const *jobs, size_t n,
                        int64_t *ret_nodes, char **ret_last_metrics, struct hoist_error **err);

/* The names of the nodes that reported for JOB_ID, sorted; NULL-terminated. */
int storeapi_job_nodes(struct store *st, const char *job_id, char ***ret_nodes,
                       struct hoist_error **err);

struct storeapi_event {
        int64_t seq;
        char *id;
        char *type;
        char *node; /* may be NULL */
        int64_t at_ms;
        char *body;
};
/* Up to LIMIT of JOB_ID's events with seq > AFTER, oldest first; only those
 * of TYPE unless NULL. */
int storeapi_list_events(struct store *st, const char *job_id, const char *type, int64_t after,
                         size_t limit, struct storeapi_event **ret, size_t *ret_n,
                         struct hoist_error **err);
void storeapi_events_free(struct storeapi_event *ev, size_t n);

/* One point of a metric series. */
struct storeapi_point {
        int64_t rowid; /* its order of arrival */
        int64_t step;
        int64_t t_ms;
        double value;
};
struct storeapi_series {
        char *key;
        char *node;
        int64_t attempt;
        struct storeapi_point *points; /* by step */
        size_t n;
};
/* JOB_ID's series (only KEY's unless NULL), each ordered by step. */
int storeapi_metric_series(struct store *st, const char *job_id, const char *key,
                           struct storeapi_series **ret, size_t *ret_n, struct hoist_error **err);
void storeapi_series_free(struct storeapi_series *s, size_t n);
/* The metric keys JOB_ID has points of, sorted; NULL-terminated. */
int storeapi_metric_keys(struct store *st, const char *job_id, char ***ret_keys,
                         struct hoist_error **err);
/* How many points JOB_ID has (changes whenever one is added). */
int storeapi_metric_count(struct store *st, const char *job_id, int64_t *ret,
                          struct hoist_error **err);
/* SQLite's PRAGMA data_version on ST: changes when another connection commits. */
int storeapi_data_version(struct store *st, int64_t *ret, struct hoist_error **err);
/* The newest point's order of arrival (0: none yet), for following. */
int storeapi_metric_last_rowid(struct store *st, int64_t *ret, struct hoist_error **err);
/* Points that arrived after AFTER_ROWID (up to LIMIT), in order of arrival,
 * each in its own one-point series. */
int storeapi_metric_since(struct store *st, const char *job_id, int64_t after_rowid, size_t limit,
                          struct storeapi_series **ret, size_t *ret_n, struct hoist_error **err);

/* A job that changed: its row, or its latest metrics. */
struct storeapi_change {
        char *job_id;
        int64_t at_ms;
};
/* Up to LIMIT changes at or after SINCE_MS, oldest first (a job may come
 * twice). */
int storeapi_jobs_changed(struct store *st, int64_t since_ms, size_t limit,
                          struct storeapi_change **ret, size_t *ret_n, struct hoist_error **err);
void storeapi_changes_free(struct storeapi_change *c, size_t n);

#endif
