/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_S3REQ_H
#define HOIST_SERVE_S3REQ_H

/* One S3 request in flight, shared by the dispatcher (s3.c) and the
 * operations (s3ops.c, s3list.c). */

#include <microhttpd.h>
#include <stdbool.h>

#include "buf.h"
#include "digest.h"
#include "runner/serve/keys.h"
#include "runner/serve/objstore.h"
#include "runner/serve/s3auth.h"
#include "runner/serve/s3err.h"
#include "sigv4.h"

enum s3_op {
        OP_LIST_BUCKETS,
        OP_CREATE_BUCKET,
        OP_DELETE_BUCKET,
        OP_HEAD_BUCKET,
        OP_GET_LOCATION,
        OP_LIST_OBJECTS,
        OP_LIST_UPLOADS,
        OP_DELETE_OBJECTS,
        OP_PUT_OBJECT,
        OP_COPY_OBJECT,
        OP_UPLOAD_PART,
        OP_GET_OBJECT,
        OP_HEAD_OBJECT,
        OP_DELETE_OBJECT,
        OP_CREATE_UPLOAD,
        OP_COMPLETE_UPLOAD,
        OP_ABORT_UPLOAD,
        OP_LIST_PARTS,
};

struct s3_param {
        char *name;  /* decoded */
        char *value; /* decoded; "" when the parameter had no '=' */
};

struct s3_service {
        struct objstore *os;
        struct serve_keys *keys;
};

struct s3_req {
        struct s3_service *svc;
        struct MHD_Connection *conn;
        char id[17];
        char *method;
        char *path;   /* raw */
        char *query;  /* raw */
        char *bucket; /* decoded; NULL for the service */
        char *key;    /* decoded; NULL for a bucket */
        struct sigv4_header *headers;
        size_t n_headers;
        struct s3_param *params;
        size_t n_params;
        struct serve_key who;
        struct s3auth_request auth;
        enum s3_op op;
        struct objstore_writer *writer;
        struct buf body;
        size_t body_max;
        struct digest_ctx *body_sha;
        enum s3err pending; /* an error met while the body arrives */
        char *pending_msg;
        bool replied; /* a response is queued */
};

const char *s3_header(const struct s3_req *r, const char *name);
/* The decoded value of query parameter NAME, or NULL. */
const char *s3_param(const struct s3_req *r, const char *name);
bool s3_has_param(const struct s3_req *r, const char *name);

/* Queue responses; they return MHD's result. */
enum MHD_Result s3_reply_error(struct s3_req *r, enum s3err e, const char *message);
enum MHD_Result s3_reply_rc(struct s3_req *r, int rc, struct hoist_error *err);
enum MHD_Result s3_reply_xml(struct s3_req *r, unsigned status, struct buf *xml);
enum MHD_Result s3_reply_empty(struct s3_req *r, unsigned status, const char *etag);
/* Queues RESP (taking it) with the common headers. */
enum MHD_Result s3_reply(struct s3_req *r, unsigned status, struct MHD_Response *resp);

/* "2026-11-21T16:34:43.000Z" and "Sat, 21 Nov 2026 16:34:43 GMT". */
void s3_time_iso(int64_t t, char out[32]);
void s3_time_http(int64_t t, char out[40]);

void s3_xml_begin(struct buf *b, const char *root);

/* The operations (s3ops.c, s3list.c), called once the body is in. */
enum MHD_Result s3op_list_buckets(struct s3_req *r);
enum MHD_Result s3op_list_objects(struct s3_req *r);
enum MHD_Result s3op_list_uploads(struct s3_req *r);
enum MHD_Result s3op_list_parts(struct s3_req *r);
enum MHD_Result s3op_get_object(struct s3_req *r, bool head);
enum MHD_Result s3op_put_object(struct s3_req *r);
enum MHD_Result s3op_copy_object(struct s3_req *r);
enum MHD_Result s3op_upload_part(struct s3_req *r);
enum MHD_Result s3op_create_upload(struct s3_req *r);
enum MHD_Result s3op_complete_upload(struct s3_req *r);
enum MHD_Result s3op_delete_objects(struct s3_req *r);

#endif
