/* SPDX-License-Identifier: MIT */
#include <curl/curl.h>

#include "awsjson.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "buf.h"
#include "cleanup.h"
#include "digest.h"
#include "log.h"
#include "s3_http.h"
#include "sigv4.h"
#include "xalloc.h"

#define AWSJSON_TIMEOUT_S 60L
#define AWSJSON_DEFAULT_ATTEMPTS 5
#define AWSJSON_BASE_MS 100
#define AWSJSON_CAP_MS 20000

const struct awsjson_service awsjson_sagemaker = {
        .endpoint_prefix = "api.sagemaker",
        .signing_name = "sagemaker",
        .target_prefix = "SageMaker",
};

const struct awsjson_service awsjson_ecr = {
        .endpoint_prefix = "api.ecr",
        .signing_name = "ecr",
        .target_prefix = "AmazonEC2ContainerRegistry_V20150921",
};

struct awsjson_client {
        const struct awsjson_service *service;
        char *region;
        char *endpoint; /* base URL, no trailing '/' */
        char *host;     /* Host header: the endpoint's authority */
        struct s3_creds_provider *creds;
        struct s3_creds_provider *own_creds;
        int max_attempts;
};

/* "http://h:p/x" -> "h:p"; NULL when URL is not http(s). */
static char *url_authority(const char *url)
{
        const char *p;

        if (strncasecmp(url, "https://", 8) == 0)
                p = url + 8;
        else if (strncasecmp(url, "http://", 7) == 0)
                p = url + 7;
        else
                return NULL;
        size_t n = strcspn(p, "/?#");
        if (n == 0)
                return NULL;
        return xstrndup(p, n);
}

static int region_valid(const char *r)
{
        if (r == NULL || *r == '\0' || strlen(r) > 32)
                return 0;
        for (const char *p = r; *p != '\0'; p++)
                if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-')
                        return 0;
        return 1;
}

static int max_attempts_from_env(void)
{
        const char *v = getenv("AWS_MAX_ATTEMPTS");
        char *end;
        long n;

        if (v == NULL || *v == '\0')
                return AWSJSON_DEFAULT_ATTEMPTS;
        errno = 0;
        n = strtol(v, &end, 10);
        if (errno != 0 || *end != '\0' || n < 1 || n > 20) {
                log_warn("AWS_MAX_ATTEMPTS='%s' is not a number from 1 to 20; using %d instead", v,
                         AWSJSON_DEFAULT_ATTEMPTS);
                return AWSJSON_DEFAULT_ATTEMPTS;
        }
        return (int)n;
}

int awsjson_client_new(const struct awsjson_service *service, const char *region,
                       const char *endpoint, struct s3_creds_provider *creds,
                       struct awsjson_client **ret, struct hoist_error **err)
{
        struct awsjson_client *c;

        if (!region_valid(region))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "AWS region '%s' is not a region name such as "
                                        "us-east-1 (set AWS_REGION, or the region in job.yaml)",
                                        region ? region : "");
        c = xzalloc(sizeof *c);
        c->service = service;
        c->region = xstrdup(region);
        if (endpoint != NULL && *endpoint != '\0') {
                size_t n = strlen(endpoint);
                while (n > 0 && endpoint[n - 1] == '/')
                        n--;
                c->endpoint = xstrndup(endpoint, n);
        } else {
                c->endpoint =
                        xasprintf("https://%s.%s.amazonaws.com", service->endpoint_prefix, region);
        }
        c->host = url_authority(c->endpoint);
        if (c->host == NULL) {
                int r = hoist_error_make(err, HOIST_ERR_INPUT,
                                         "endpoint '%s' for %s is not an http:// or https:// URL",
                                         c->endpoint, service->signing_name);
                awsjson_client_free(c);
                return r;
        }
        if (creds == NULL)
                creds = c->own_creds = s3_creds_provider_new();
        c->creds = creds;
        c->max_attempts = max_attempts_from_env();
        *ret = c;
        return 0;
}

void awsjson_client_free(struct awsjson_client *c)
{
        if (c == NULL)
                return;
        free(c->region);
        free(c->endpoint);
        free(c->host);
        s3_creds_provider_free(c->own_creds);
        free(c);
}

const char *awsjson_client_endpoint(const struct awsjson_client *c)
{
        return c->endpoint;
}

char *awsjson_default_region(void)
{
        static const char *const vars[] = {"AWS_REGION", "AWS_DEFAULT_REGION"};
        struct s3_profile p = {0};
        struct hoist_error *e = NULL;
        char *r = NULL;

        for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
                const char *v = getenv(vars[i]);
                if (v != NULL && *v != '\0')
                        return xstrdup(v);
        }
        if (s3_profile_read_env(&p, &e) > 0 && p.region != NULL)
                r = xstrdup(p.region);
        hoist_error_free(e);
        s3_profile_clear(&p);
        return r;
}

/* ---- errors and retries ---- */

static char *string_member(json_t *o, const char *a, const char *b)
{
        json_t *v = json_object_get(o, a);

        if (!json_is_string(v) && b != NULL)
                v = json_object_get(o, b);
        return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

void awsjson_parse_error(const char *body, size_t len, struct awsjson_error *ret)
{
        json_t *o = body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
        char *code;

        *ret = (struct awsjson_error){0};
        if (!json_is_object(o)) {
                json_decref(o);
                return;
        }
        code = string_member(o, "__type", "code");
        if (code != NULL) {
                /* "com.amazonaws.sagemaker#ResourceNotFound" and
                 * "ThrottlingException:http://..." both name the same way. */
                const char *hash = strrchr(code, '#');
                const char *start = hash != NULL ? hash + 1 : code;
                size_t n = strcspn(start, ":");
                ret->code = n > 0 ? xstrndup(start, n) : NULL;
                free(code);
        }
        ret->message = string_member(o, "message", "Message");
        json_decref(o);
}

void awsjson_error_clear(struct awsjson_error *e)
{
        free(e->code);
        free(e->message);
        *e = (struct awsjson_error){0};
}

int awsjson_retryable(long status, const char *code)
{
        static const char *const throttles[] = {
                "Throttling",
                "ThrottlingException",
                "ThrottledException",
                "RequestThrottledException",
                "TooManyRequestsException",
                "ProvisionedThroughputExceededException",
                "TransactionInProgressException",
                "RequestLimitExceeded",
                "BandwidthLimitExceeded",
                "LimitExceededException",
                "RequestThrottled",
                "SlowDown",
                "PriorRequestNotComplete",
                "EC2ThrottledException",
                "RequestTimeout",
                "RequestTimeoutException",
                "InternalFailure",
                "ServiceUnavailable",
        };

        if (status >= 500 || status == 429)
                return 1;
        if (code == NULL)
                return 0;
        for (size_t i = 0; i < sizeof throttles / sizeof throttles[0]; i++)
                if (strcmp(code, throttles[i]) == 0)
                        return 1;
        return 0;
}

int64_t awsjson_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, double random)
{
        int64_t ceiling = base_ms;

        for (int i = 0; i < attempt && ceiling < cap_ms; i++)
                ceiling *= 2;
        if (ceiling > cap_ms)
                ceiling = cap_ms;
        if (random < 0 || random >= 1)
                random = 0.5;
        return (int64_t)((double)ceiling * random);
}

static double random_unit(void)
{
        uint32_t v = 0;

        if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
                v = (uint32_t)time(NULL) * 2654435761u;
        return (double)v / 4294967296.0;
}

static void sleep_ms(int64_t ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* ---- one signed request ---- */

static int send_once(struct awsjson_client *c, const char *operation, const char *body,
                     struct buf *ret_body, long *ret_status, struct hoist_error **err)
{
        const struct s3_credentials *cr = s3_creds_get(c->creds, err);
        _cleanup_sigv4_result_ struct sigv4_result sig = {0};
        _cleanup_curl_slist_ struct curl_slist *hdrs = NULL;
        _cleanup_free_ char *target = NULL, *url = NULL, *what = NULL;
        char date[SIGV4_AMZ_DATE_SIZE];
        char hash[DIGEST_HEX_LEN + 1];
        time_t now = time(NULL);

        if (cr == NULL)
                return hoist_error_wrap(err, "AWS credentials for %s", c->service->signing_name);
        if (sigv4_amz_date(now, date, err) < 0)
                return -1;
        target = xasprintf("%s.%s", c->service->target_prefix, operation);
        digest_sha256_hex(body, strlen(body), hash);
        struct sigv4_header sh[] = {
                {"Content-Type", "application/x-amz-json-1.1"},
                {"Host", c->host},
                {"X-Amz-Date", date},
                {"X-Amz-Target", target},
        };
        struct sigv4_request req = {
                .method = "POST",
                .path = "/",
                .headers = sh,
                .n_headers = sizeof sh / sizeof sh[0],
                .payload_hash = hash,
                .creds = {cr->access_key_id, cr->secret_access_key, cr->session_token},
                .region = c->region,
                .service = c->service->signing_name,
                .time = now,
        };
        if (sigv4_sign(&req, &sig, err) < 0)
                return hoist_error_wrap(err, "sign %s", operation);
        for (size_t i = 0; i < sizeof sh / sizeof sh[0]; i++) {
                _cleanup_free_ char *line = xasprintf("%s: %s", sh[i].name, sh[i].value);
                hdrs = curl_slist_append(hdrs, line);
        }
        if (cr->session_token != NULL) {
                _cleanup_free_ char *line =
                        xasprintf("X-Amz-Security-Token: %s", cr->session_token);
                hdrs = curl_slist_append(hdrs, line);
        }
        {
                _cleanup_free_ char *line = xasprintf("Authorization: %s", sig.authorization);
                hdrs = curl_slist_append(hdrs, line);
                explicit_bzero(line, strlen(line));
        }
        hdrs = curl_slist_append(hdrs, "Expect:");
        url = xasprintf("%s/", c->endpoint);
        what = xasprintf("%s %s", operation, c->endpoint);
        return s3_http_fetch("POST", url, hdrs, body, AWSJSON_TIMEOUT_S, what, ret_body, ret_status,
                             err);
}

static int error_from_response(const char *operation, long status, const struct buf *body,
                               struct hoist_error **err)
{
        struct awsjson_error ae;
        int code = HOIST_ERR_PROVIDER;
        int r;

        awsjson_parse_error(body->data, body->len, &ae);
        if (ae.code != NULL && (strstr(ae.code, "NotFound") != NULL ||
                                strcmp(ae.code, "RepositoryNotFoundException") == 0))
                code = HOIST_ERR_NOT_FOUND;
        if (ae.code == NULL && ae.message == NULL) {
                /* Not AWS's JSON (a proxy's page): its first line, shortened. */
                size_t n = body->data != NULL ? strcspn(body->data, "\r\n") : 0;
                r = hoist_error_make(err, code, "%s: HTTP %ld%s%.*s", operation, status,
                                     n > 0 ? ": " : "", (int)(n > 200 ? 200 : n),
                                     n > 0 ? body->data : "");
        } else {
                r = hoist_error_make(err, code, "%s: %s: %s (HTTP %ld)", operation,
                                     ae.code ? ae.code : "error",
                                     ae.message ? ae.message : "(no message)", status);
        }
        awsjson_error_clear(&ae);
        return r;
}

int awsjson_call(struct awsjson_client *c, const char *operation, json_t *body, json_t **ret,
                 struct hoist_error **err)
{
        _cleanup_free_ char *text = json_dumps(body, JSON_COMPACT);

        if (text == NULL)
                abort(); /* out of memory */
        for (int attempt = 1;; attempt++) {
                _cleanup_buf_ struct buf out = {0};
                struct hoist_error *e = NULL;
                struct awsjson_error ae = {0};
                long status = 0;
                int retry;

                if (send_once(c, operation, text, &out, &status, &e) < 0) {
                        /* A transport failure (refused, reset, timeout) is
                         * retried like a 5xx; a signing failure is not. */
                        retry = e->code == HOIST_ERR_PROVIDER;
                        if (!retry || attempt >= c->max_attempts) {
                                *err = e;
                                return -1;
                        }
                        log_debug("%s: %s; retrying", operation, e->msg);
                        hoist_error_free(e);
                } else if (status >= 200 && status < 300) {
                        json_error_t jerr;
                        json_t *o = json_loadb(out.data ? out.data : "", out.len, 0, &jerr);
                        if (out.len == 0) {
                                json_decref(o);
                                o = json_object();
                        }
                        if (!json_is_object(o)) {
                                json_decref(o);
                                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                        "%s: the answer is not a JSON object "
                                                        "(line %d: %s)",
                                                        operation, jerr.line, jerr.text);
                        }
                        *ret = o;
                        return 0;
                } else {
                        awsjson_parse_error(out.data, out.len, &ae);
                        retry = awsjson_retryable(status, ae.code);
                        if (!retry || attempt >= c->max_attempts) {
                                awsjson_error_clear(&ae);
                                if (retry)
                                        (void)error_from_response(operation, status, &out, err);
                                else
                                        return error_from_response(operation, status, &out, err);
                                return hoist_error_wrap(err, "after %d attempts", attempt);
                        }
                        log_debug("%s: %s (HTTP %ld); retrying", operation,
                                  ae.code ? ae.code : "error", status);
                        awsjson_error_clear(&ae);
                }
                sleep_ms(awsjson_backoff_ms(attempt, AWSJSON_BASE_MS, AWSJSON_CAP_MS,
                                            random_unit()));
        }
}
