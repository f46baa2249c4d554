/* SPDX-License-Identifier: MIT */
#ifndef HOIST_REGISTRY_INTERNAL_H
#define HOIST_REGISTRY_INTERNAL_H

/* Between lib/registry.c (push, pull) and lib/registry_http.c (requests,
 * auth, retries).  Not for use outside lib/registry*.c. */

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "digest.h"
#include "error.h"
#include "imageref.h"
#include "registry.h"
#include "registry_auth.h"

/* One registry repository and its authorisation, shared by the threads. */
struct reg_session {
        char *host;            /* "127.0.0.1:5000" (the API host) */
        char *repo;            /* "team/trainer" */
        char *base;            /* "http://127.0.0.1:5000" */
        int push;              /* ask for push scope too */
        int insecure;          /* plain http allowed */
        int create_repository; /* ECR: CreateRepository before a push, if missing */
        pthread_mutex_t lock;
        char *authz; /* "Authorization: ..." (secret: never logged) */
        unsigned auth_gen;
        char *realm; /* Bearer: where tokens come from */
        char *service;
        char **scopes; /* NULL-terminated */
        int64_t token_expires;
        struct registry_creds *creds;
        int creds_looked_up;
};

/* A response's headers that the protocol needs. */
struct reg_resp {
        long status;
        char *location;
        char *content_type;
        char *docker_digest;
        char *www_authenticate;
        char *retry_after;
        char *range;
        uint64_t chunk_min;
        struct buf body; /* error bodies and small documents */
};
void reg_resp_clear(struct reg_resp *r);

struct reg_req {
        const char *method; /* GET HEAD POST PUT PATCH */
        const char *url;
        const char *accept;
        const char *content_type;
        const char *content_range;
        /* request body: BODY/BODY_LEN bytes, or BODY_LEN bytes of FD from BODY_OFF */
        const void *body;
        int body_fd;
        off_t body_off;
        uint64_t body_len;
        /* response body: into resp.body up to OUT_MAX (0 = 1 MiB), or into OUT_FD
         * hashed (verified by the caller) */
        size_t out_max;
        int out_fd;
        const char *what;   /* "GET manifest 'v1'", for messages */
        const char *digest; /* progress reports under this digest */
        uint64_t progress_base, progress_total;
        const struct registry_options *opts;
        /* out: the hex digest of what went to OUT_FD */
        char out_hex[DIGEST_HEX_LEN + 1];
        uint64_t out_len;
};

/* Opens a session for HOST/REPO: pings /v2/ and authenticates. */
int reg_session_open(const char *host, const char *repo, int push, const struct registry_options *o,
                     struct reg_session **ret, struct hoist_error **err);
void reg_session_free(struct reg_session *s);
/* Adds "repository:REPO:pull" to the scopes asked for (cross-repo mount). */
void reg_session_add_scope(struct reg_session *s, const char *scope);

/* Sends REQ with retries (408, 429, 5xx, network), authentication on 401
 * and redirects for GET/HEAD (Authorization only to the registry's host).
 * Returns 0 with RESP filled for any final HTTP status; the caller checks. */
int reg_request(struct reg_session *s, CURL *h, struct reg_req *req, struct reg_resp *resp,
                struct hoist_error **err);

/* "<what>: HTTP <status> <registry error code and message>" as an error. */
int reg_status_error(struct reg_session *s, const struct reg_req *req, const struct reg_resp *resp,
                     struct hoist_error **err);

#endif
