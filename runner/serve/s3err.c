/* SPDX-License-Identifier: MIT */
#include "runner/serve/s3err.h"

#include <errno.h>
#include <stdarg.h>

#include "s3xml.h"

struct s3err_info {
        const char *code;
        unsigned status;
        const char *message;
};

static const struct s3err_info infos[S3ERR_COUNT_] = {
        [S3ERR_NONE] = {"OK", 200, "OK"},
        [S3ERR_ACCESS_DENIED] = {"AccessDenied", 403, "Access Denied"},
        [S3ERR_AUTH_HEADER_MALFORMED] = {"AuthorizationHeaderMalformed", 400,
                                         "The authorization header is malformed."},
        [S3ERR_BAD_DIGEST] = {"BadDigest", 400,
                              "The Content-MD5 you specified did not match what we received."},
        [S3ERR_BUCKET_ALREADY_OWNED] = {"BucketAlreadyOwnedByYou", 409,
                                        "Your previous request to create the named bucket "
                                        "succeeded and you already own it."},
        [S3ERR_BUCKET_NOT_EMPTY] = {"BucketNotEmpty", 409,
                                    "The bucket you tried to delete is not empty."},
        [S3ERR_ENTITY_TOO_LARGE] = {"EntityTooLarge", 400,
                                    "Your proposed upload exceeds the maximum allowed size."},
        [S3ERR_ENTITY_TOO_SMALL] = {"EntityTooSmall", 400,
                                    "Your proposed upload is smaller than the minimum allowed "
                                    "object size."},
        [S3ERR_EXPIRED_TOKEN] = {"ExpiredToken", 400, "The provided token has expired."},
        [S3ERR_INTERNAL] = {"InternalError", 500,
                            "We encountered an internal error. Please try again."},
        [S3ERR_INVALID_ACCESS_KEY_ID] = {"InvalidAccessKeyId", 403,
                                         "The AWS Access Key Id you provided does not exist in "
                                         "our records."},
        [S3ERR_INVALID_ARGUMENT] = {"InvalidArgument", 400, "Invalid Argument"},
        [S3ERR_INVALID_BUCKET_NAME] = {"InvalidBucketName", 400,
                                       "The specified bucket is not valid."},
        [S3ERR_INVALID_DIGEST] = {"InvalidDigest", 400,
                                  "The Content-MD5 you specified is not valid."},
        [S3ERR_INVALID_PART] = {"InvalidPart", 400,
                                "One or more of the specified parts could not be found. The part "
                                "may not have been uploaded, or the specified entity tag may not "
                                "match the part's entity tag."},
        [S3ERR_INVALID_PART_ORDER] = {"InvalidPartOrder", 400,
                                      "The list of parts was not in ascending order. Parts must "
                                      "be ordered by part number."},
        [S3ERR_INVALID_RANGE] = {"InvalidRange", 416, "The requested range is not satisfiable"},
        [S3ERR_INVALID_REQUEST] = {"InvalidRequest", 400, "Invalid Request"},
        [S3ERR_KEY_TOO_LONG] = {"KeyTooLongError", 400, "Your key is too long"},
        [S3ERR_MALFORMED_XML] = {"MalformedXML", 400,
                                 "The XML you provided was not well-formed or did not validate "
                                 "against our published schema."},
        [S3ERR_METHOD_NOT_ALLOWED] = {"MethodNotAllowed", 405,
                                      "The specified method is not allowed against this "
                                      "resource."},
        [S3ERR_MISSING_CONTENT_LENGTH] = {"MissingContentLength", 411,
                                          "You must provide the Content-Length HTTP header."},
        [S3ERR_NO_SUCH_BUCKET] = {"NoSuchBucket", 404, "The specified bucket does not exist"},
        [S3ERR_NO_SUCH_KEY] = {"NoSuchKey", 404, "The specified key does not exist."},
        [S3ERR_NO_SUCH_UPLOAD] = {"NoSuchUpload", 404,
                                  "The specified multipart upload does not exist."},
        [S3ERR_NOT_IMPLEMENTED] = {"NotImplemented", 501,
                                   "A header or query you provided implies functionality that is "
                                   "not implemented."},
        [S3ERR_REQUEST_TIME_TOO_SKEWED] = {"RequestTimeTooSkewed", 403,
                                           "The difference between the request time and the "
                                           "server's time is too large."},
        [S3ERR_SIGNATURE_DOES_NOT_MATCH] = {"SignatureDoesNotMatch", 403,
                                            "The request signature we calculated does not match "
                                            "the signature you provided. Check your key and "
                                            "signing method."},
        [S3ERR_CONTENT_SHA256_MISMATCH] = {"XAmzContentSHA256Mismatch", 400,
                                           "The provided 'x-amz-content-sha256' header does not "
                                           "match what was computed."},
};

static const struct s3err_info *info(enum s3err e)
{
        if ((int)e < 0 || e >= S3ERR_COUNT_)
                e = S3ERR_INTERNAL;
        return &infos[e];
}

const char *s3err_code(enum s3err e)
{
        return info(e)->code;
}

unsigned s3err_status(enum s3err e)
{
        return info(e)->status;
}

const char *s3err_message(enum s3err e)
{
        return info(e)->message;
}

void s3err_xml(struct buf *b, enum s3err e, const char *message, const char *resource,
               const char *request_id)
{
        buf_append_str(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>");
        s3xml_element(b, "Code", s3err_code(e));
        s3xml_element(b, "Message",
                      message != NULL && message[0] != '\0' ? message : s3err_message(e));
        s3xml_element(b, "Resource", resource != NULL ? resource : "/");
        s3xml_element(b, "RequestId", request_id != NULL ? request_id : "");
        buf_append_str(b, "</Error>\n");
}

int s3err_fail(struct hoist_error **err, enum s3err e, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        (void)hoist_error_makev(err, e == S3ERR_INTERNAL ? 0 : HOIST_ERR_INPUT, fmt, ap);
        va_end(ap);
        return -(int)e;
}

enum s3err s3err_from_rc(int rc)
{
        if (rc >= 0)
                return S3ERR_NONE;
        if (-rc >= S3ERR_COUNT_)
                return S3ERR_INTERNAL;
        return (enum s3err) - rc;
}
