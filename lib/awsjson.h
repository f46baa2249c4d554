/* SPDX-License-Identifier: MIT */
#ifndef HOIST_AWSJSON_H
#define HOIST_AWSJSON_H

/*
 * A client for AWS services that speak the JSON 1.1 protocol (SageMaker,
 * ECR): every operation is a POST of a JSON object to "/" with
 * "X-Amz-Target: <prefix>.<Operation>" and Content-Type
 * application/x-amz-json-1.1, signed with SigV4.
 *
 * Throttling and server errors are retried with exponential backoff and
 * full jitter (AWS_MAX_ATTEMPTS, default 5 attempts in all); every other
 * AWS error comes back as "<Operation>: <code>: <message> (HTTP <status>)",
 * the code taken from the body's __type without its namespace.
 *
 * The endpoint is https://<endpoint_prefix>.<region>.amazonaws.com unless
 * the options name another one (a VPC endpoint, or a test server).  For
 * https the CA bundle is AWS_CA_BUNDLE's (then CURL_CA_BUNDLE, SSL_CERT_FILE).
 * Credentials and signatures never appear in an error or a log line.
 */

#include <jansson.h>
#include <stdint.h>

#include "error.h"
#include "s3creds.h"

struct awsjson_service {
        const char *endpoint_prefix; /* "api.sagemaker", "api.ecr" */
        const char *signing_name;    /* "sagemaker", "ecr" */
        const char *target_prefix;   /* "SageMaker", "AmazonEC2ContainerRegistry_V20150921" */
};

extern const struct awsjson_service awsjson_sagemaker;
extern const struct awsjson_service awsjson_ecr;

struct awsjson_client;

/* A client for SERVICE in REGION.  ENDPOINT (NULL: AWS's own) is a base URL
 * such as "http://127.0.0.1:8080".  CREDS is borrowed (NULL: the usual AWS
 * chain, s3_creds_provider_new()). */
int awsjson_client_new(const struct awsjson_service *service, const char *region,
                       const char *endpoint, struct s3_creds_provider *creds,
                       struct awsjson_client **ret, struct hoist_error **err);
void awsjson_client_free(struct awsjson_client *c);
const char *awsjson_client_endpoint(const struct awsjson_client *c);

/* Calls OPERATION with BODY (a JSON object, not consumed); *RET is the
 * response object.  Errors carry HOIST_ERR_PROVIDER, or HOIST_ERR_NOT_FOUND
 * when AWS says the resource does not exist. */
int awsjson_call(struct awsjson_client *c, const char *operation, json_t *body, json_t **ret,
                 struct hoist_error **err);

/* The region from the environment: AWS_REGION, AWS_DEFAULT_REGION, then the
 * profile's region in the shared config files; NULL when none says. */
char *awsjson_default_region(void);

/* ---- pure helpers (unit-tested and fuzzed) ---- */

/* What an AWS JSON error body says: the code (the part of __type, or of
 * "code", after the last '#' and before any ':') and the message ("message"
 * or "Message").  Either may be NULL when the body does not carry it. */
struct awsjson_error {
        char *code;
        char *message;
};
void awsjson_parse_error(const char *body, size_t len, struct awsjson_error *ret);
void awsjson_error_clear(struct awsjson_error *e);

/* 1 when a response with HTTP STATUS and error CODE (may be NULL) is worth
 * another try: throttling, 5xx, a timeout. */
int awsjson_retryable(long status, const char *code);

/* The delay before attempt ATTEMPT (1 for the first retry), in ms: a random
 * number below min(cap, base * 2^ATTEMPT), RANDOM a value in [0, 1). */
int64_t awsjson_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, double random);

static inline void awsjson_client_freep(struct awsjson_client **c)
{
        awsjson_client_free(*c);
}
#define _cleanup_awsjson_client_ __attribute__((cleanup(awsjson_client_freep)))

#endif
