/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_APIQUERY_H
#define HOIST_SERVE_APIQUERY_H

/*
 * The request input of hoist serve's REST API, parsed strictly (every piece
 * comes from the network): a query string's parameters (percent-decoded,
 * each name at most once), whole numbers in them, a Last-Event-ID header,
 * a path segment, and the JSON body of POST .../resume.  Errors name the
 * parameter and say what it takes (HOIST_ERR_USAGE: a 400).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define APIQUERY_MAX_PARAMS 32
#define APIQUERY_MAX_VALUE 4096

struct apiquery {
        char *names[APIQUERY_MAX_PARAMS];
        char *values[APIQUERY_MAX_PARAMS]; /* "" for a name without '=' */
        size_t n;
};

/* Adds one parameter as it came (still percent-encoded; VALUE may be NULL). */
int apiquery_add_raw(struct apiquery *q, const char *name, const char *value,
                     struct hoist_error **err);
/* Parses a whole query string "a=1&b=x%20y" (without the '?'). */
int apiquery_parse(const char *query, struct apiquery *q, struct hoist_error **err);
void apiquery_release(struct apiquery *q);

/* 0 when every parameter is one of NAMES (NULL-terminated). */
int apiquery_only(const struct apiquery *q, const char *const *names, struct hoist_error **err);
/* The decoded value of NAME, or NULL when it was not given. */
const char *apiquery_get(const struct apiquery *q, const char *name);
/* NAME as a whole number in [MIN, MAX]; DEF when absent. */
int apiquery_int(const struct apiquery *q, const char *name, int64_t min, int64_t max, int64_t def,
                 int64_t *ret, struct hoist_error **err);

/* Decodes %XX in S (LEN bytes) into a new string; '+' becomes ' ' when
 * PLUS_SPACE.  Malformed escapes and NUL bytes are refused. */
int apiquery_decode(const char *s, size_t len, bool plus_space, char **ret,
                    struct hoist_error **err);

/* A Last-Event-ID header: a whole number >= 0 (an SSE id hoist sent). */
int apiquery_last_event_id(const char *header, int64_t *ret, struct hoist_error **err);

/* The body of POST /api/v1/jobs/{id}/resume: empty, or a JSON object with
 * an optional boolean "force". */
int apiquery_resume_body(const char *body, size_t len, bool *ret_force, struct hoist_error **err);
/* The body of POST /api/v1/jobs/{id}/cancel: empty (*RET_ATTEMPT 0), or a
 * JSON object with an optional "attempt" (a whole number >= 1): cancel only
 * if that attempt is the job's current one. */
int apiquery_cancel_body(const char *body, size_t len, int64_t *ret_attempt,
                         struct hoist_error **err);

#endif
