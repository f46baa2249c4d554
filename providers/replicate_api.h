/* SPDX-License-Identifier: MIT */
#ifndef HOIST_REPLICATE_API_H
#define HOIST_REPLICATE_API_H

/*
 * What the replicate provider sends and reads, as pure functions: the
 * training request, Replicate's training, version list, account, hardware
 * and file objects (also the body of its webhooks), and the one table that
 * maps a training's status onto hoist's states.  replicate.c does the
 * talking.
 */

#include <jansson.h>
#include <stdint.h>

#include "error.h"
#include "jobspec.h"
#include "provider.h"

#define REPLICATE_API_DEFAULT "https://api.replicate.com/v1"
#define REPLICATE_REGISTRY_DEFAULT "r8.im"
/* Replicate's file API takes files of at most 100 MiB. */
#define REPLICATE_FILE_LIMIT (100ull << 20)

/* A training as GET /v1/trainings/{id} and the webhooks give it. */
struct replicate_training {
        char *id;
        char *status;        /* starting, processing, succeeded, failed, canceled */
        char *error;         /* or NULL */
        char *version;       /* or NULL */
        char *weights;       /* output.weights, or NULL */
        char *logs_tail;     /* the last line of "logs", at most 400 bytes, or NULL */
        double predict_time; /* metrics.predict_time in seconds; -1 when absent */
        char *hoist_job_url; /* input.hoist_job_url, or NULL */
};
int replicate_training_from_json(json_t *o, struct replicate_training *ret,
                                 struct hoist_error **err);
int replicate_training_parse(const char *text, size_t len, struct replicate_training *ret,
                             struct hoist_error **err);
void replicate_training_clear(struct replicate_training *t);

/* The table: a training's status as hoist's state, the engine's words in
 * the reason ("Replicate training ID: failed: ERROR"). */
void replicate_map_status(const struct replicate_training *t, struct provider_status *ret);
/* 1 for succeeded, failed and canceled. */
int replicate_status_terminal(const char *status);

/* GET /v1/account: its username (and type, "user" or "organization"). */
int replicate_account_parse(json_t *o, char **ret_username, char **ret_type,
                            struct hoist_error **err);

/* GET /v1/hardware: the skus, NULL-terminated. */
int replicate_hardware_parse(json_t *o, char ***ret_skus, struct hoist_error **err);

/* One page of GET /v1/models/{owner}/{name}/versions: the id of the newest
 * version whose openapi_schema equals SCHEMA (NULL in *RET_ID when none on
 * this page), and the next page's URL (NULL at the end). */
int replicate_versions_find(json_t *page, json_t *schema, char **ret_id, char **ret_next,
                            struct hoist_error **err);

/* A file object (POST /v1/files, a GET /v1/files page's result):
 * its id, urls.get and checksums.sha256 (may be NULL). */
struct replicate_file {
        char *id;
        char *url;
        char *sha256;
        int64_t size;
};
int replicate_file_from_json(json_t *o, struct replicate_file *ret, struct hoist_error **err);
void replicate_file_clear(struct replicate_file *f);

/* Everything POST .../versions/{version}/trainings is made of. */
struct replicate_plan {
        const struct jobspec *spec;
        const char *destination; /* owner/name */
        const char *job_url;
        char *const *secret_env;         /* "NAME=value": hoist_env; may be NULL */
        const char *const *channel_urls; /* per spec->inputs[i]: input_<channel>, or NULL */
        const char *webhook;             /* or NULL: no webhook (polling) */
        char *const *events;             /* webhook_events_filter; NULL: start, completed */
};
/* The request body; errors name the job field Replicate would refuse.  It
 * carries the job's secrets (hoist_env): never print or store it. */
int replicate_training_body(const struct replicate_plan *p, json_t **ret, struct hoist_error **err);
/* Whether a "NAME=value" of the job's secret environment goes into
 * hoist_env: what the Cog contract lets a training set (docs/cog.md). */
int replicate_env_name_ok(const char *name);
/* The same with hoist_env's value replaced by "**********" (--dry-run). */
json_t *replicate_training_body_redacted(json_t *body);

static inline void replicate_training_clearp(struct replicate_training *t)
{
        replicate_training_clear(t);
}
#define _cleanup_replicate_training_ __attribute__((cleanup(replicate_training_clearp)))

#endif
