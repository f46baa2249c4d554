/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_S3ERR_H
#define HOIST_SERVE_S3ERR_H

/* The S3 error codes `hoist serve` answers with, their HTTP status and a
 * default message; and the <Error> body. */

#include "buf.h"
#include "error.h"

enum s3err {
        S3ERR_NONE = 0,
        S3ERR_ACCESS_DENIED,
        S3ERR_AUTH_HEADER_MALFORMED,
        S3ERR_BAD_DIGEST,
        S3ERR_BUCKET_ALREADY_OWNED,
        S3ERR_BUCKET_NOT_EMPTY,
        S3ERR_ENTITY_TOO_LARGE,
        S3ERR_ENTITY_TOO_SMALL,
        S3ERR_EXPIRED_TOKEN,
        S3ERR_INTERNAL,
        S3ERR_INVALID_ACCESS_KEY_ID,
        S3ERR_INVALID_ARGUMENT,
        S3ERR_INVALID_BUCKET_NAME,
        S3ERR_INVALID_DIGEST,
        S3ERR_INVALID_PART,
        S3ERR_INVALID_PART_ORDER,
        S3ERR_INVALID_RANGE,
        S3ERR_INVALID_REQUEST,
        S3ERR_KEY_TOO_LONG,
        S3ERR_MALFORMED_XML,
        S3ERR_METHOD_NOT_ALLOWED,
        S3ERR_MISSING_CONTENT_LENGTH,
        S3ERR_NO_SUCH_BUCKET,
        S3ERR_NO_SUCH_KEY,
        S3ERR_NO_SUCH_UPLOAD,
        S3ERR_NOT_IMPLEMENTED,
        S3ERR_REQUEST_TIME_TOO_SKEWED,
        S3ERR_SIGNATURE_DOES_NOT_MATCH,
        S3ERR_CONTENT_SHA256_MISMATCH,
        S3ERR_COUNT_
};

const char *s3err_code(enum s3err e);
unsigned s3err_status(enum s3err e);
const char *s3err_message(enum s3err e);

/* Appends the <Error> document: MESSAGE NULL uses the default message. */
void s3err_xml(struct buf *b, enum s3err e, const char *message, const char *resource,
               const char *request_id);

/* Sets *err (code HOIST_ERR_INPUT, or EIO for S3ERR_INTERNAL) and returns -E:
 * functions that answer S3 requests fail with the negated S3 error. */
int s3err_fail(struct hoist_error **err, enum s3err e, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* The S3 error of a negative return value (S3ERR_INTERNAL when out of range). */
enum s3err s3err_from_rc(int rc);

#endif
