/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_OBJSTORE_H
#define HOIST_SERVE_OBJSTORE_H

/*
 * The files behind `hoist serve`'s S3 endpoint.
 *
 *   ROOT/<bucket>/obj/<sha256 of key>     one file per object
 *   ROOT/<bucket>/mpu/<upload-id>/upload.json, part.<N>
 *   ROOT/<bucket>/tmp/                    uploads in progress
 *
 * An object key never becomes a path: the file is named by the SHA-256 of
 * the key, so "a", "a/" and "a/b" coexist and no key (with "..", a leading
 * '/', or anything else) can name a file outside ROOT.  Each object file
 * starts with an OBJSTORE_HEADER_SIZE-byte header (a magic line, then the
 * metadata as JSON: key, size, etag, content type, mtime, space-padded) and
 * the body follows, so one rename publishes body and metadata together.
 *
 * Failures return a negated enum s3err (runner/serve/s3err.h) with *err
 * saying what happened for the log.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define OBJSTORE_HEADER_SIZE 8192
#define OBJSTORE_MAX_KEY 1024
#define OBJSTORE_ETAG_SIZE 48 /* "\"<32 hex>-10000\"" and a NUL */
#define OBJSTORE_UPLOAD_ID_LEN 32
#define OBJSTORE_MIN_PART_SIZE (5u << 20)
#define OBJSTORE_MAX_PARTS 10000

struct objstore;

struct objstore_meta {
        char *key;
        uint64_t size;
        char etag[OBJSTORE_ETAG_SIZE]; /* quoted, as S3 sends it */
        char *content_type;
        int64_t mtime; /* seconds since the epoch */
};
void objstore_meta_clear(struct objstore_meta *m);

int objstore_open(const char *root, struct objstore **ret, struct hoist_error **err);
void objstore_free(struct objstore *os);
const char *objstore_root(const struct objstore *os);

/* S3's rules: 3-63 of a-z 0-9 . -, starting and ending with a letter or digit,
 * no "..", not an IPv4 address. */
bool objstore_bucket_name_valid(const char *name);
/* The name no bucket may take: /api/ is hoist serve's REST API. */
#define OBJSTORE_RESERVED_BUCKET "api"
/* A key S3 would accept and that hoist allows: 1-1024 bytes, no leading '/',
 * no "." or ".." segment.  (Keys are never paths; this keeps clients that
 * mirror keys to a file system out of trouble.) */
bool objstore_key_valid(const char *key);
/* The file name an object key is stored under (64 hex digits and a NUL). */
void objstore_key_filename(const char *key, char ret[65]);

int objstore_bucket_create(struct objstore *os, const char *bucket, struct hoist_error **err);
int objstore_bucket_delete(struct objstore *os, const char *bucket, struct hoist_error **err);
/* 0 when BUCKET exists, -S3ERR_NO_SUCH_BUCKET or -S3ERR_INVALID_BUCKET_NAME. */
int objstore_bucket_check(struct objstore *os, const char *bucket, struct hoist_error **err);

struct objstore_bucket {
        char *name;
        int64_t created;
};
int objstore_bucket_list(struct objstore *os, struct objstore_bucket **ret, size_t *ret_n,
                         struct hoist_error **err);
void objstore_bucket_list_free(struct objstore_bucket *b, size_t n);

/* Opens an object for reading: *ret_fd's body starts at OBJSTORE_HEADER_SIZE. */
int objstore_object_open(struct objstore *os, const char *bucket, const char *key, int *ret_fd,
                         struct objstore_meta *ret_meta, struct hoist_error **err);
/* Deleting a missing key succeeds, as in S3. */
int objstore_object_delete(struct objstore *os, const char *bucket, const char *key,
                           struct hoist_error **err);
/* Every object of BUCKET whose key starts with PREFIX, sorted by key. */
int objstore_object_list(struct objstore *os, const char *bucket, const char *prefix,
                         struct objstore_meta **ret, size_t *ret_n, struct hoist_error **err);
void objstore_meta_list_free(struct objstore_meta *m, size_t n);

/* A body being received: written to a temporary file while MD5 and SHA-256
 * are computed, published by objstore_writer_commit(). */
struct objstore_writer;
int objstore_writer_object(struct objstore *os, const char *bucket, const char *key,
                           const char *content_type, struct objstore_writer **ret,
                           struct hoist_error **err);
int objstore_writer_part(struct objstore *os, const char *bucket, const char *upload_id,
                         const char *key, unsigned part, struct objstore_writer **ret,
                         struct hoist_error **err);
int objstore_writer_write(struct objstore_writer *w, const void *data, size_t len,
                          struct hoist_error **err);
/* Checks the body against SHA256_HEX (64 hex, or NULL) and CONTENT_MD5
 * (base64, or NULL), then renames it into place; *ret_meta gets the etag. */
int objstore_writer_commit(struct objstore_writer *w, const char *sha256_hex,
                           const char *content_md5, struct objstore_meta *ret_meta,
                           struct hoist_error **err);
/* Removes an uncommitted temporary file; accepts NULL. */
void objstore_writer_free(struct objstore_writer *w);

/* ---- multipart uploads ---- */
struct objstore_upload {
        char id[OBJSTORE_UPLOAD_ID_LEN + 1];
        char *key;
        int64_t initiated;
};
struct objstore_part {
        unsigned number;
        uint64_t size;
        char etag[OBJSTORE_ETAG_SIZE];
        int64_t mtime;
};

int objstore_upload_create(struct objstore *os, const char *bucket, const char *key,
                           const char *content_type, char ret_id[OBJSTORE_UPLOAD_ID_LEN + 1],
                           struct hoist_error **err);
/* 0 when upload ID of KEY exists in BUCKET, else -S3ERR_NO_SUCH_UPLOAD. */
int objstore_upload_check(struct objstore *os, const char *bucket, const char *upload_id,
                          const char *key, struct hoist_error **err);
int objstore_upload_parts(struct objstore *os, const char *bucket, const char *upload_id,
                          const char *key, struct objstore_part **ret, size_t *ret_n,
                          struct hoist_error **err);
/* PARTS as the client listed them (number and etag); checks order, etags and
 * sizes, then joins them into the object. */
int objstore_upload_complete(struct objstore *os, const char *bucket, const char *upload_id,
                             const char *key, const struct objstore_part *parts, size_t n,
                             struct objstore_meta *ret_meta, struct hoist_error **err);
int objstore_upload_abort(struct objstore *os, const char *bucket, const char *upload_id,
                          const char *key, struct hoist_error **err);
int objstore_upload_list(struct objstore *os, const char *bucket, struct objstore_upload **ret,
                         size_t *ret_n, struct hoist_error **err);
void objstore_upload_list_free(struct objstore_upload *u, size_t n);

#endif
