/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_HOOKS_H
#define HOIST_SERVE_HOOKS_H

/*
 * POST /hooks/events of `hoist serve`: the receiver of the events jobs send
 * (DESIGN.md "Events").  Each request is checked against the source
 * allowlist (403), its Standard Webhooks signature and timestamp with the
 * serve's webhook secret (401), parsed (400), deduplicated by id (200 for a
 * duplicate, applied once) and recorded in the job store, moving the job's
 * state with its transition row.
 */

#include <microhttpd.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The file under SERVE_DIR that holds the serve's webhook secret (0600). */
#define HOOKS_SECRET_FILE "webhook_secret"

/* The serve's webhook secret ("whsec_..."), generated into
 * SERVE_DIR/webhook_secret on first use. */
int hooks_secret_load(const char *serve_dir, char **ret_secret, struct hoist_error **err);

/* An IPv4 network: "10.0.0.0/8", "127.0.0.1" (a /32). */
struct hooks_cidr {
        uint32_t addr; /* host byte order, already masked */
        uint32_t mask;
};
int hooks_cidr_parse(const char *s, struct hooks_cidr *ret, struct hoist_error **err);
/* 1 when ADDR (host byte order) is inside one of the N networks. */
int hooks_cidr_match(const struct hooks_cidr *nets, size_t n, uint32_t addr);

/* The fields of an event body the receiver needs; pointers into the parsed
 * JSON kept by the caller (json_decref(ROOT) frees them). */
struct hooks_event {
        void *root; /* json_t * */
        const char *id;
        const char *type;
        const char *job_id;
        const char *node;
        const char *status;
        int exit_code;   /* data.exit_code, or -1 */
        int64_t attempt; /* the sender's attempt (from the id), or 0 */
        const char *reason;
};
/* Parses BODY, which must be an event whose "id" equals HEADER_ID. */
int hooks_event_parse(const char *body, size_t len, const char *header_id, struct hooks_event *ret,
                      struct hoist_error **err);
void hooks_event_release(struct hooks_event *e);

struct hooks_service;

/* SECRET is copied (and its key kept); DB_PATH is the job store; NETS (N of
 * them, copied) restrict the sources, none = any. */
int hooks_service_new(const char *secret, const char *db_path, const struct hooks_cidr *nets,
                      size_t n, struct hooks_service **ret, struct hoist_error **err);
void hooks_service_free(struct hooks_service *svc);

/* A JSON answer {"ok": bool, "message": ...} with STATUS. */
enum MHD_Result hooks_reply(struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* The access handler for URLs under /hooks/ and /api/webhooks/replicate
 * (runner/serve/hooks_replicate.h), and its completion callback;
 * REQ_CLS is this module's own request state. */
enum MHD_Result hooks_handle(struct hooks_service *svc, struct MHD_Connection *conn,
                             const char *url, const char *method, const char *upload_data,
                             size_t *upload_data_size, void **req_cls);
void hooks_request_done(void **req_cls);

#endif
