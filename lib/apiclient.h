/* SPDX-License-Identifier: MIT */
#ifndef HOIST_APICLIENT_H
#define HOIST_APICLIENT_H

/*
 * The small JSON-over-HTTP client the cloud API providers share (STYLE.md
 * "Providers"): a base URL, one Authorization header, JSON bodies in and
 * out, multipart uploads.  429 and 5xx answers and transport failures are
 * retried with exponential backoff and full jitter, a Retry-After header
 * (seconds or an HTTP date) taking precedence (HOIST_API_RETRIES attempts
 * in all, default 5; a Retry-After above HOIST_API_MAX_RETRY_AFTER seconds,
 * default 120, is not waited for).  Other errors come back as "<what>:
 * <message from the body> (HTTP <status>)", the message read from the
 * body's "detail", "error", "message" or "title".  The Authorization value
 * never reaches an error or a log line.
 */

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct apiclient;

/* A client for BASE ("https://api.replicate.com/v1", no trailing '/'
 * needed) sending "Authorization: AUTHORIZATION" (copied; NULL: none).
 * NAME ("Replicate") prefixes messages. */
int apiclient_new(const char *name, const char *base, const char *authorization,
                  struct apiclient **ret, struct hoist_error **err);
void apiclient_free(struct apiclient *c);
const char *apiclient_base(const struct apiclient *c);

/* METHOD PATH (appended to the base; or an absolute http(s) URL) with BODY
 * (NULL: none; not consumed) and the extra HEADERS ("Name: value",
 * NULL-terminated, may be NULL).  A 2xx answer's JSON goes to *RET (NULL
 * for an empty body; RET may be NULL).  A 404 is HOIST_ERR_NOT_FOUND, any
 * other failure HOIST_ERR_PROVIDER. */
int apiclient_call(struct apiclient *c, const char *method, const char *path, json_t *body,
                   const char *const *headers, json_t **ret, struct hoist_error **err);

/* POST PATH as multipart/form-data: one file part FIELD named FILENAME of
 * CONTENT_TYPE with the LEN bytes of DATA.  As apiclient_call otherwise. */
int apiclient_upload(struct apiclient *c, const char *path, const char *field, const char *filename,
                     const char *content_type, const void *data, size_t len, json_t **ret,
                     struct hoist_error **err);

/* ---- pure helpers (unit-tested and fuzzed) ---- */

/* The wait a Retry-After VALUE asks for, in ms, at NOW (Unix seconds):
 * delta-seconds or an HTTP date; -1 when VALUE is NULL or neither. */
int64_t apiclient_retry_after_ms(const char *value, int64_t now);

/* The human part of an error BODY: "detail" (a string, or FastAPI's list
 * of {"msg"}), "error" (a string or {"message"}), "message" or "title";
 * else its first line.  NULL for an empty body.  At most 400 bytes. */
char *apiclient_error_message(const char *body, size_t len);

static inline void apiclient_freep(struct apiclient **c)
{
        apiclient_free(*c);
}
#define _cleanup_apiclient_ __attribute__((cleanup(apiclient_freep)))

#endif
