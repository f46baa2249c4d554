/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_COG_REQUEST_H
#define HOIST_ENTRYPOINT_COG_REQUEST_H

/*
 * A Cog training request (POST /trainings, PUT /trainings/{id}), checked as
 * Cog checks it before anything runs: a problem is a 422 whose body is
 * Cog's (FastAPI's) {"detail": [{"loc": [...], "msg": ..., "type": ...}]}.
 * Untrusted input: tests/fuzz/fuzz_cog_request.c.
 */

#include <jansson.h>

#include "error.h"
#include "jobspec.h"

/* Cog's webhook events, as bits of a filter. */
enum {
        COG_EVENT_START = 1 << 0,
        COG_EVENT_OUTPUT = 1 << 1,
        COG_EVENT_LOGS = 1 << 2,
        COG_EVENT_COMPLETED = 1 << 3,
        COG_EVENTS_ALL = 0xf,
};

#define COG_REQUEST_MAX_BYTES (1024 * 1024)
#define COG_SECRET_MASK "**********"

struct cog_request {
        char *id;               /* the request's, or NULL (the server makes one) */
        char *created_at;       /* the request's, or NULL */
        char *webhook;          /* http(s) URL, or NULL */
        unsigned events;        /* COG_EVENT_* the webhook gets */
        char *job_url;          /* input.hoist_job_url */
        json_t *input;          /* input with hoist_env shown as COG_SECRET_MASK */
        json_t *overrides;      /* input without hoist_job_url and hoist_env */
        struct jobspec_kv *env; /* hoist_env's pairs: secret values */
        size_t n_env;
};

/* Parses BODY.  TRAINING_INPUT is the served schema's TrainingInput (NULL:
 * the generic one, which lets any other property through for job.json to
 * judge).  PATH_ID is the {training_id} of a PUT (NULL for POST); a body id
 * must match it.  On failure returns -1 with *RET_DETAIL set to Cog's 422
 * body and *err saying the same in words. */
int cog_request_parse(const char *body, size_t len, const json_t *training_input,
                      const char *path_id, struct cog_request **ret, json_t **ret_detail,
                      struct hoist_error **err);
void cog_request_free(struct cog_request *r);

/* 1 when NAME is an environment variable name hoist_env may set. */
int cog_env_name_valid(const char *name);

/* URL as logs and errors may show it: without its query string and
 * fragment (a presigned URL's signature, a token), which become "?...". */
char *cog_url_for_log(const char *url);

/* 1 when ID is a training id we accept: 1-128 of [A-Za-z0-9._-]. */
int cog_id_valid(const char *id);

static inline void cog_request_freep(struct cog_request **r)
{
        cog_request_free(*r);
}
#define _cleanup_cog_request_ __attribute__((cleanup(cog_request_freep)))

#endif
