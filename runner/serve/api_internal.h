/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_API_INTERNAL_H
#define HOIST_SERVE_API_INTERNAL_H

/* What the files of the REST API share (api.c: routing, auth, replies;
 * apijobs.c: jobs, events, cancel, resume, outputs; apilogs.c: logs;
 * apimetrics.c: metrics; apistream.c: the SSE streams). */

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "runner/cli/home.h"
#include "runner/serve/api.h"
#include "runner/serve/apicache.h"
#include "runner/serve/apiquery.h"
#include "runner/control/store.h"
#include "runner/control/storeapi.h"

#define API_STORE_POOL 16
#define API_METRICS_CACHE 32

struct api_metrics_cached {
        char *job_id;
        char *key;      /* NULL: every key */
        int64_t points; /* the query's points= */
        int64_t count;  /* the job's number of points when it was made */
        char *json;     /* the reply */
        uint64_t used;  /* for eviction: the least recently used goes */
};

/* A job's points as they are in the store, kept in memory and brought up
 * to date with the points that arrived since (by rowid): the first request
 * after a new point reads only that point. */
#define API_METRICS_MEM 2
struct api_metrics_mem {
        char *job_id;
        struct storeapi_series *s; /* by key, attempt, node; points by step */
        size_t n;
        int64_t last_rowid;
        uint64_t used;
};

struct api_service {
        const struct hoist_home *home;
        char *token;
        char *hoist_bin; /* this very hoist, for cancel and resume */
        pthread_mutex_t mu;
        struct store *pool[API_STORE_POOL]; /* open handles not in use */
        size_t n_pool;
        struct api_metrics_cached cache[API_METRICS_CACHE];
        uint64_t cache_clock;
        pthread_mutex_t mem_mu; /* held while a reply is made from mem */
        struct api_metrics_mem mem[API_METRICS_MEM];
        struct apicache *replies; /* whole replies while the store is unchanged */
        /* cancel and resume run on threads of their own (apijobs.c): they
         * wait for a command, and a worker that waited would stall every
         * connection it serves, a job's own webhooks among them */
        pthread_mutex_t acts_mu;
        pthread_cond_t acts_done;
        unsigned n_acts;
        bool stopping;
};

/* At most this many cancels and resumes at once; the next gets 503. */
#define API_MAX_ACTS 64

/* One request: its route's arguments and the body of a POST. */
struct api_req {
        struct apiquery q;
        char *body;
        size_t body_len;
        bool too_big;
        /* an action on its thread, the connection suspended until it has
         * set the reply */
        bool acting;
        unsigned reply_status;
        char *reply_text;
};

/* A store handle of the pool (opened if none is free); give it back. */
int api_store_take(struct api_service *api, struct store **ret, struct hoist_error **err);
void api_store_give(struct api_service *api, struct store *st);

/* The reply kept for ROUTE with R's query at the store's version now
 * (*RET_VERSION: that version, for api_cache_put), or NULL. */
char *api_cache_get(struct api_service *api, const char *route, const struct api_req *r,
                    int64_t *ret_version);
void api_cache_put(struct api_service *api, const char *route, const struct api_req *r,
                   int64_t version, bool live, const char *text);

/* Replies. */
enum MHD_Result api_reply_json(struct MHD_Connection *conn, unsigned status, json_t *body);
enum MHD_Result api_reply_text(struct MHD_Connection *conn, unsigned status, char *json_text);
enum MHD_Result api_reply_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The reply for ERR: its code picks the status (not found: 404, usage:
 * 400, state: 409, else 500). */
enum MHD_Result api_reply_hoist_error(struct MHD_Connection *conn, const struct hoist_error *err);
/* The same replies as a status and a body, for a reply made off a worker. */
char *api_error_text(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *api_hoist_error_text(const struct hoist_error *err, unsigned *ret_status);
/* The reply an action set on R (api_handle calls it when R is resumed). */
enum MHD_Result api_act_reply(struct MHD_Connection *conn, struct api_req *r);

/* A job's JSON as lists show it (K6 "JOB"). */
json_t *api_job_json(const struct job_record *job, int64_t nodes, const char *last_metrics);
/* The job named ID (exact id, or what store_get_job takes). */
int api_get_job(struct api_service *api, const char *id, struct job_record **ret,
                struct hoist_error **err);

/* The routes (ID: the job's id as given, decoded). */
enum MHD_Result api_jobs_list(struct api_service *api, struct MHD_Connection *conn,
                              struct api_req *r);
enum MHD_Result api_job_get(struct api_service *api, struct MHD_Connection *conn, struct api_req *r,
                            const char *id);
enum MHD_Result api_job_cancel(struct api_service *api, struct MHD_Connection *conn,
                               struct api_req *r, const char *id);
enum MHD_Result api_job_resume(struct api_service *api, struct MHD_Connection *conn,
                               struct api_req *r, const char *id);
enum MHD_Result api_job_events(struct api_service *api, struct MHD_Connection *conn,
                               struct api_req *r, const char *id);
enum MHD_Result api_job_output(struct api_service *api, struct MHD_Connection *conn,
                               struct api_req *r, const char *id, const char *path);
enum MHD_Result api_job_logs(struct api_service *api, struct MHD_Connection *conn,
                             struct api_req *r, const char *id);
enum MHD_Result api_job_metrics(struct api_service *api, struct MHD_Connection *conn,
                                struct api_req *r, const char *id);
/* GET /api/v1/cost: runner/job/cost.h's report, unchanged. */
enum MHD_Result api_cost(struct api_service *api, struct MHD_Connection *conn, struct api_req *r);
enum MHD_Result api_jobs_stream(struct api_service *api, struct MHD_Connection *conn,
                                struct api_req *r);
enum MHD_Result api_events_stream(struct api_service *api, struct MHD_Connection *conn,
                                  struct api_req *r, const char *id);
enum MHD_Result api_logs_stream(struct api_service *api, struct MHD_Connection *conn,
                                struct api_req *r, const char *id);
enum MHD_Result api_metrics_stream(struct api_service *api, struct MHD_Connection *conn,
                                   struct api_req *r, const char *id);

/* An event's JSON as the events routes give it: {seq, type, node, at_ms, data}. */
struct storeapi_event;
json_t *api_event_json(const struct storeapi_event *e);

/* True when NAME is a node name a log may have: 1-64 of A-Z a-z 0-9 . _ -. */
bool api_node_valid(const char *name);

/* Appends one SSE frame to OUT (ID may be NULL). */
struct buf;
void api_sse_frame(struct buf *out, const char *id, const char *event, const char *data);

#endif
