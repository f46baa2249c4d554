/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_S3_H
#define HOIST_SERVE_S3_H

/*
 * The S3 API of `hoist serve`: one libmicrohttpd access handler that parses
 * a request (path-style: /bucket/key), authenticates it (runner/serve/s3auth),
 * checks the key's scope (runner/serve/keys), streams its body to disk while
 * hashing it, and answers from runner/serve/objstore with S3's XML.
 */

#include <microhttpd.h>

#include "error.h"
#include "runner/serve/keys.h"
#include "runner/serve/objstore.h"

struct s3_service;

/* Borrows OS and KEYS for the service's lifetime. */
struct s3_service *s3_service_new(struct objstore *os, struct serve_keys *keys);
void s3_service_free(struct s3_service *svc);

/* MHD_AccessHandlerCallback; CLS is the struct s3_service. */
enum MHD_Result s3_handle(void *cls, struct MHD_Connection *conn, const char *url,
                          const char *method, const char *version, const char *upload_data,
                          size_t *upload_data_size, void **req_cls);
/* MHD_RequestCompletedCallback: frees the request state. */
void s3_request_done(void *cls, struct MHD_Connection *conn, void **req_cls,
                     enum MHD_RequestTerminationCode toe);

#endif
