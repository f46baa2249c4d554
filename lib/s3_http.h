/* SPDX-License-Identifier: MIT */
#ifndef HOIST_S3_HTTP_H
#define HOIST_S3_HTTP_H

/*
 * The libcurl settings every request of lib/s3 and lib/s3creds shares, and a
 * small one-shot request for the credential endpoints.  Include <curl/curl.h>
 * first.
 */

#include <stdbool.h>

#include "buf.h"
#include "error.h"

#define S3_HTTP_CONNECT_TIMEOUT_S 10L
/* A transfer slower than this many bytes per second for LOW_SPEED_TIME
 * seconds is abandoned (and retried). */
#define S3_HTTP_LOW_SPEED_LIMIT 1024L
#define S3_HTTP_LOW_SPEED_TIME_S 60L

/* The CA bundle for https: AWS_CA_BUNDLE, then CURL_CA_BUNDLE, then
 * SSL_CERT_FILE; NULL for curl's default. */
const char *s3_http_ca_bundle(void);

/* True when URL starts with "https://" (any case). */
bool s3_http_is_https(const char *url);

/* Sets NOSIGNAL, the error buffer, the connect timeout, the low-speed limit,
 * and for an https URL the CA bundle.  ERRBUF has CURL_ERROR_SIZE bytes. */
void s3_http_setup(CURL *h, const char *url, char *errbuf);

/* Turns a failed transfer into *err once: "WHAT: curl's message". */
int s3_http_error(struct hoist_error **err, CURLcode rc, const char *errbuf, const char *what);

/* One request for a credential endpoint: METHOD URL with HEADERS and BODY
 * (NULL for none), at most TIMEOUT_S seconds.  The body goes to *ret_body
 * (capped at 1 MiB), the status to *ret_status.  WHAT names the request in
 * errors and must not carry a secret. */
int s3_http_fetch(const char *method, const char *url, const struct curl_slist *headers,
                  const char *body, long timeout_s, const char *what, struct buf *ret_body,
                  long *ret_status, struct hoist_error **err);

#endif
