/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_API_H
#define HOIST_SERVE_API_H

/*
 * hoist serve's REST API under /api/v1 (docs/api.md; the routes and shapes
 * are in runner/serve/openapi.json, served at /api/v1/openapi.json).  Every
 * request carries "Authorization: Bearer <token>" (apitoken.h); errors are
 * {"error": {"code", "message"}} with the matching status; no CORS.  Jobs
 * come from the job store (runner/control/storeapi.h), what happened inside them
 * (logs, outputs, job.json) from their storage; cancel and resume run the
 * very commands `hoist cancel` and `hoist submit --resume`.
 */

#include <microhttpd.h>

#include "error.h"
#include "runner/cli/home.h"

struct api_service;

/* HOME must outlive the service; TOKEN is copied. */
int api_service_new(const struct hoist_home *home, const char *token, struct api_service **ret,
                    struct hoist_error **err);
void api_service_free(struct api_service *api);
/* Refuses new cancels and resumes (503) and waits for those under way:
 * before the server stops, as they resume their connections. */
void api_service_quiesce(struct api_service *api);

/* The access handler for URLs under /api/, and its completion callback. */
enum MHD_Result api_handle(struct api_service *api, struct MHD_Connection *conn, const char *url,
                           const char *method, const char *upload_data, size_t *upload_data_size,
                           void **req_cls);
void api_request_done(void **req_cls);

#endif
