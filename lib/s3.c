/* SPDX-License-Identifier: MIT */
/*
 * The S3 client: configuration, addressing, and the request engine (signing,
 * libcurl callbacks, retries, parallel transfers).  The operations are in
 * s3_object.c, s3_list.c and s3_multipart.c.
 */
#include <curl/curl.h>

#include "s3.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "s3_http.h"
#include "s3_internal.h"
#include "s3xml.h"
#include "sigv4.h"
#include "xalloc.h"

#define DEFAULT_REGION "us-east-1"
/* A retry waits between half and all of base * 2^(attempt-1) ms, so the
 * default 5 attempts span at least 7.5 s: a restarting server or a short
 * network outage is ridden out, not met with four retries in a second. */
#define DEFAULT_BACKOFF_BASE_MS 1000
#define DEFAULT_BACKOFF_MAX_MS 20000
/* An error body larger than this is not read further. */
#define ERROR_BODY_MAX (64u << 10)
#define READ_CHUNK (1u << 20)

/* ---- pure logic ---- */

uint64_t s3_part_size(uint64_t size, uint64_t preferred)
{
        uint64_t part = preferred < S3_MIN_PART_SIZE ? S3_MIN_PART_SIZE : preferred;
        const uint64_t mib = 1u << 20;

        if (size / S3_MAX_PARTS >= part) {
                /* The smallest whole-MiB size that keeps us at S3_MAX_PARTS. */
                uint64_t need = (size + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
                part = (need + mib - 1) / mib * mib;
        }
        return part > S3_MAX_PART_SIZE ? S3_MAX_PART_SIZE : part;
}

bool s3_retryable(int curl_rc, long status, const char *code)
{
        switch ((CURLcode)curl_rc) {
        case CURLE_OK:
                break;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_PARTIAL_FILE:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_SSL_CONNECT_ERROR:
                return true;
        default:
                return false;
        }
        if (status >= 500 || status == 429)
                return true;
        if (code != NULL &&
            (strcmp(code, "SlowDown") == 0 || strcmp(code, "RequestTimeout") == 0 ||
             strcmp(code, "InternalError") == 0 || strcmp(code, "ServiceUnavailable") == 0 ||
             strcmp(code, "RequestTimeTooSkewed") == 0))
                return true;
        return false;
}

unsigned s3_backoff_ms(unsigned attempt, unsigned base_ms, unsigned max_ms, uint32_t random)
{
        uint64_t cap = base_ms;

        for (unsigned i = 1; i < attempt && cap < max_ms; i++)
                cap *= 2;
        if (cap > max_ms)
                cap = max_ms;
        return (unsigned)(random % (cap + 1));
}

bool s3_bucket_dns_compatible(const char *bucket)
{
        size_t n = strlen(bucket);

        if (n < 3 || n > 63 || bucket[0] == '-' || bucket[n - 1] == '-')
                return false;
        for (const char *p = bucket; *p != '\0'; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
                        return false;
        return true;
}

char *s3_describe(const char *bucket, const char *key)
{
        if (bucket == NULL)
                return xstrdup("s3://");
        return xasprintf("s3://%s/%s", bucket, key != NULL ? key : "");
}

void s3_url_clear(struct s3_url *u)
{
        if (u == NULL)
                return;
        free(u->url);
        free(u->host);
        free(u->path);
        *u = (struct s3_url){0};
}

int s3_build_url(const struct s3_client *c, const char *bucket, const char *key, const char *query,
                 struct s3_url *ret, struct hoist_error **err)
{
        _cleanup_buf_ struct buf raw = {0};
        bool virtual_host = bucket != NULL && !c->path_style && s3_bucket_dns_compatible(bucket);

        if (bucket != NULL && *bucket == '\0')
                return hoist_error_make(err, HOIST_ERR_USAGE, "empty bucket name");
        if (key != NULL && *key == '\0')
                return hoist_error_make(err, HOIST_ERR_USAGE, "empty key in bucket '%s'", bucket);
        if (bucket != NULL && !virtual_host) {
                buf_append_char(&raw, '/');
                buf_append_str(&raw, bucket);
        }
        buf_append_char(&raw, '/');
        /* A key's own leading '/' stays: "/b//k" is the key "/k". */
        if (key != NULL)
                buf_append_str(&raw, key);
        _cleanup_free_ char *enc = sigv4_uri_encode_path(raw.data);
        struct s3_url u = {
                .host = virtual_host ? xasprintf("%s.%s", bucket, c->host) : xstrdup(c->host),
                .path = xasprintf("%s%s", c->base_path, enc),
        };
        u.url = xasprintf("%s://%s%s%s%s", c->scheme, u.host, u.path,
                          query != NULL && *query != '\0' ? "?" : "", query ? query : "");
        *ret = u;
        return 0;
}

static const char *reason_phrase(long status)
{
        switch (status) {
        case 301:
                return "Moved Permanently";
        case 304:
                return "Not Modified";
        case 400:
                return "Bad Request";
        case 403:
                return "Forbidden";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 409:
                return "Conflict";
        case 412:
                return "Precondition Failed";
        case 416:
                return "Range Not Satisfiable";
        case 429:
                return "Too Many Requests";
        case 500:
                return "Internal Server Error";
        case 501:
                return "Not Implemented";
        case 502:
                return "Bad Gateway";
        case 503:
                return "Service Unavailable";
        case 504:
                return "Gateway Timeout";
        default:
                return "";
        }
}

static int error_code_for(long status)
{
        return status == 404 ? HOIST_ERR_NOT_FOUND : HOIST_ERR_PROVIDER;
}

/* The S3 code of an <Error> body, into *ret_code (caller frees), or NULL. */
static char *error_code_of(const char *body, size_t len)
{
        _cleanup_s3xml_ struct s3xml_node *root = NULL;
        struct hoist_error *perr = NULL;
        struct s3xml_error xe = {0};
        char *code = NULL;

        if (len == 0 || s3xml_parse(body, len, "Error", &root, &perr) < 0) {
                hoist_error_release(&perr);
                return NULL;
        }
        if (s3xml_parse_error(root, &xe) == 1)
                code = TAKE_PTR(xe.code);
        s3xml_error_clear(&xe);
        return code;
}

int s3_error_from_response(long status, const char *body, size_t len, const char *what,
                           struct hoist_error **err)
{
        _cleanup_s3xml_ struct s3xml_node *root = NULL;
        struct hoist_error *perr = NULL;
        struct s3xml_error xe = {0};
        int r;

        if (len > 0 && s3xml_parse(body, len, "Error", &root, &perr) == 0 &&
            s3xml_parse_error(root, &xe) == 1 && xe.code != NULL && *xe.code != '\0') {
                if (xe.message != NULL && *xe.message != '\0')
                        r = hoist_error_make(err, error_code_for(status), "%s: %ld %s: %s", what,
                                             status, xe.code, xe.message);
                else
                        r = hoist_error_make(err, error_code_for(status), "%s: %ld %s", what,
                                             status, xe.code);
                s3xml_error_clear(&xe);
                return r;
        }
        hoist_error_release(&perr);
        s3xml_error_clear(&xe);
        return hoist_error_make(err, error_code_for(status), "%s: %ld %s", what, status,
                                reason_phrase(status));
}

int s3_parse_xml_reply(const struct s3_xfer *x, const char *expect, struct s3xml_node **ret,
                       struct hoist_error **err)
{
        struct s3xml_node *root = NULL;

        if (s3xml_parse(x->resp.data != NULL ? x->resp.data : "", x->resp.len, expect, &root, err) <
            0)
                return hoist_error_wrap(err, "%s", x->what);
        if (strcmp(root->name, "Error") == 0) {
                /* S3 may answer 200 and still fail (CompleteMultipartUpload). */
                s3xml_free(root);
                return s3_error_from_response(x->status, x->resp.data, x->resp.len, x->what, err);
        }
        if (strcmp(root->name, expect) != 0) {
                int r = hoist_error_make(err, HOIST_ERR_PROVIDER,
                                         "%s: the answer is <%s>, not <%s>", x->what, root->name,
                                         expect);
                s3xml_free(root);
                return r;
        }
        *ret = root;
        return 0;
}

/* ---- the client ---- */

static const char *env_nonempty(const char *name)
{
        const char *v = getenv(name);

        return v != NULL && *v != '\0' ? v : NULL;
}

/* AWS_MAX_ATTEMPTS, as the AWS CLI and SDKs read it: every attempt,
 * the first included. */
static unsigned env_max_attempts(void)
{
        const char *v = env_nonempty("AWS_MAX_ATTEMPTS");
        unsigned long n;
        char *end;

        if (v == NULL)
                return S3_DEFAULT_MAX_ATTEMPTS;
        errno = 0;
        n = strtoul(v, &end, 10);
        if (errno != 0 || *end != '\0' || v[0] < '0' || v[0] > '9' || n < 1 || n > 100) {
                log_debug("s3: AWS_MAX_ATTEMPTS='%s' is not 1-100, ignoring", v);
                return S3_DEFAULT_MAX_ATTEMPTS;
        }
        return (unsigned)n;
}

static int client_set_endpoint(struct s3_client *c, const char *endpoint, struct hoist_error **err)
{
        CURLU *u = curl_url();
        char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
        int r = 0;

        if (curl_url_set(u, CURLUPART_URL, endpoint, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
            (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
                r = hoist_error_make(err, HOIST_ERR_INPUT,
                                     "S3 endpoint '%s' is not an http:// or https:// URL",
                                     endpoint);
                goto out;
        }
        (void)curl_url_get(u, CURLUPART_PORT, &port, 0);
        (void)curl_url_get(u, CURLUPART_PATH, &path, 0);
        c->scheme = xstrdup(scheme);
        c->host = port != NULL ? xasprintf("%s:%s", host, port) : xstrdup(host);
        c->base_path = xstrdup(path != NULL ? path : "");
        size_t n = strlen(c->base_path);
        while (n > 0 && c->base_path[n - 1] == '/')
                c->base_path[--n] = '\0';
        c->endpoint = xstrdup(endpoint);
out:
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
        curl_free(path);
        curl_url_cleanup(u);
        return r;
}

static void client_init_share(struct s3_client *c)
{
        c->share = curl_share_init();
        if (c->share == NULL)
                return;
        (void)curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        (void)curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
}

int s3_client_new(const struct s3_client_config *config, struct s3_client **ret,
                  struct hoist_error **err)
{
        static const struct s3_client_config defaults = {.path_style = -1};
        const struct s3_client_config *cfg = config != NULL ? config : &defaults;
        _cleanup_s3_client_ struct s3_client *c = xzalloc(sizeof *c);
        struct s3_profile prof = {0};
        const char *endpoint, *region;
        int r;

        if (s3_profile_read_env(&prof, err) < 0)
                return hoist_error_wrap(err, "S3 client");
        endpoint = cfg->endpoint;
        if (endpoint == NULL)
                endpoint = env_nonempty("AWS_ENDPOINT_URL_S3");
        if (endpoint == NULL)
                endpoint = env_nonempty("AWS_ENDPOINT_URL");
        if (endpoint == NULL)
                endpoint = prof.endpoint_url;
        region = cfg->region;
        if (region == NULL)
                region = env_nonempty("AWS_REGION");
        if (region == NULL)
                region = env_nonempty("AWS_DEFAULT_REGION");
        if (region == NULL)
                region = prof.region;
        if (region == NULL)
                region = DEFAULT_REGION;
        c->region = xstrdup(region);

        if (endpoint != NULL) {
                r = client_set_endpoint(c, endpoint, err);
                c->path_style = true;
                if (prof.addressing_style != NULL && strcmp(prof.addressing_style, "virtual") == 0)
                        c->path_style = false;
        } else {
                _cleanup_free_ char *aws = xasprintf("https://s3.%s.amazonaws.com", c->region);
                r = client_set_endpoint(c, aws, err);
                c->path_style =
                        prof.addressing_style != NULL && strcmp(prof.addressing_style, "path") == 0;
        }
        s3_profile_clear(&prof);
        if (r < 0)
                return -1;
        if (cfg->path_style >= 0)
                c->path_style = cfg->path_style != 0;

        if (cfg->creds != NULL) {
                c->creds = cfg->creds;
        } else {
                c->creds = s3_creds_provider_new();
                c->own_creds = true;
        }
        c->max_attempts = cfg->max_attempts ? cfg->max_attempts : env_max_attempts();
        c->concurrency = cfg->concurrency ? cfg->concurrency : S3_DEFAULT_CONCURRENCY;
        c->backoff_base_ms = cfg->backoff_base_ms ? cfg->backoff_base_ms : DEFAULT_BACKOFF_BASE_MS;
        c->backoff_max_ms = cfg->backoff_max_ms ? cfg->backoff_max_ms : DEFAULT_BACKOFF_MAX_MS;
        c->part_size = cfg->part_size;
        c->progress = cfg->progress;
        c->progress_userdata = cfg->progress_userdata;
        if (getrandom(&c->rng, sizeof c->rng, GRND_NONBLOCK) != (ssize_t)sizeof c->rng ||
            c->rng == 0)
                c->rng = (uint32_t)time(NULL) | 1u;
        client_init_share(c);
        log_debug("s3: endpoint %s://%s%s, region %s, %s-style", c->scheme, c->host, c->base_path,
                  c->region, c->path_style ? "path" : "virtual-host");
        *ret = TAKE_PTR(c);
        return 0;
}

void s3_client_free(struct s3_client *c)
{
        if (c == NULL)
                return;
        if (c->own_creds)
                s3_creds_provider_free(c->creds);
        if (c->share != NULL)
                curl_share_cleanup(c->share);
        free(c->scheme);
        free(c->host);
        free(c->base_path);
        free(c->endpoint);
        free(c->region);
        free(c);
}

void s3_client_set_progress(struct s3_client *c, s3_progress_fn fn, void *userdata)
{
        c->progress = fn;
        c->progress_userdata = userdata;
}

const char *s3_client_endpoint(const struct s3_client *c)
{
        return c->endpoint;
}

const char *s3_client_region(const struct s3_client *c)
{
        return c->region;
}

bool s3_client_path_style(const struct s3_client *c)
{
        return c->path_style;
}

static uint32_t client_random(struct s3_client *c)
{
        /* xorshift32: jitter needs spread, not secrecy. */
        uint32_t x = c->rng;

        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        c->rng = x;
        return x;
}

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* "Equal jitter": a fixed half of the cap and a random half, so that the
 * retries of one request span a known minimum (s3_backoff_ms() alone may
 * draw 0 ms every time). */
static unsigned retry_delay_ms(struct s3_client *c, unsigned attempt)
{
        uint64_t cap = c->backoff_base_ms;

        for (unsigned i = 1; i < attempt && cap < c->backoff_max_ms; i++)
                cap *= 2;
        if (cap > c->backoff_max_ms)
                cap = c->backoff_max_ms;
        return (unsigned)(cap / 2) +
               s3_backoff_ms(attempt, c->backoff_base_ms, c->backoff_max_ms, client_random(c)) / 2;
}

/* ---- one transfer ---- */

void s3_xfer_init(struct s3_xfer *x, const char *method, const char *bucket, const char *key)
{
        *x = (struct s3_xfer){
                .method = method,
                .bucket = bucket,
                .key = key,
                .body_fd = -1,
                .out_fd = -1,
        };
        _cleanup_free_ char *d = s3_describe(bucket, key);
        x->what = xasprintf("%s %s", method, d);
}

void s3_xfer_clear(struct s3_xfer *x)
{
        if (x == NULL)
                return;
        if (x->h != NULL)
                curl_easy_cleanup(x->h);
        curl_slist_free_all(x->hdrs);
        free(x->query);
        free(x->range);
        free(x->if_match);
        free(x->etag);
        free(x->last_modified);
        free(x->what);
        buf_free(&x->resp);
        *x = (struct s3_xfer){.body_fd = -1, .out_fd = -1};
}

static bool progress_report(struct s3_progress *p, int64_t delta)
{
        if (p == NULL)
                return true;
        p->done = (uint64_t)((int64_t)p->done + delta);
        if (p->client->progress != NULL && delta != 0 &&
            p->client->progress(p->client->progress_userdata, p->done, p->total) != 0)
                p->canceled = true;
        return !p->canceled;
}

static bool xfer_progress(struct s3_xfer *x, int64_t delta)
{
        x->reported += delta;
        return progress_report(x->progress, delta);
}

static size_t xfer_read(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct s3_xfer *x = userdata;
        size_t want = size * nmemb;
        uint64_t left = x->body_len - x->sent;

        if (want > left)
                want = (size_t)left;
        if (want == 0)
                return 0;
        if (x->body_fd >= 0) {
                ssize_t n = pread(x->body_fd, ptr, want, (off_t)(x->body_off + x->sent));
                if (n <= 0) {
                        x->sink_errno = n < 0 ? errno : EIO;
                        return CURL_READFUNC_ABORT;
                }
                want = (size_t)n;
        } else {
                memcpy(ptr, x->body + x->sent, want);
        }
        x->sent += want;
        if (!xfer_progress(x, (int64_t)want))
                return CURL_READFUNC_ABORT;
        return want;
}

static int xfer_seek(void *userdata, curl_off_t offset, int origin)
{
        struct s3_xfer *x = userdata;

        if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > x->body_len)
                return CURL_SEEKFUNC_CANTSEEK;
        (void)xfer_progress(x, (int64_t)offset - (int64_t)x->sent);
        x->sent = (uint64_t)offset;
        return CURL_SEEKFUNC_OK;
}

static size_t xfer_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct s3_xfer *x = userdata;
        size_t n = size * nmemb;
        long status = 0;

        (void)curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300 && x->sink != NULL) {
                if (x->sink(x->sink_userdata, x->received, ptr, n) != 0) {
                        x->sink_errno = ECANCELED;
                        return 0;
                }
        } else if (status >= 200 && status < 300 && x->out_fd >= 0) {
                size_t done = 0;
                while (done < n) {
                        ssize_t w = pwrite(x->out_fd, ptr + done, n - done,
                                           (off_t)(x->out_off + x->received + done));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w <= 0) {
                                x->sink_errno = w < 0 ? errno : EIO;
                                return 0;
                        }
                        done += (size_t)w;
                }
        } else {
                if ((status < 200 || status >= 300) && x->resp.len + n > ERROR_BODY_MAX)
                        return n; /* enough of an error body to read its code */
                buf_append(&x->resp, ptr, n);
        }
        x->received += n;
        if (status >= 200 && status < 300 && !xfer_progress(x, (int64_t)n))
                return 0;
        return n;
}

static size_t xfer_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct s3_xfer *x = userdata;
        size_t n = size * nmemb, len = n;
        const char *colon;

        while (len > 0 && (ptr[len - 1] == '\n' || ptr[len - 1] == '\r'))
                len--;
        if (len >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
                /* A new response (after a 100 Continue, say): forget the last. */
                free(TAKE_PTR(x->etag));
                free(TAKE_PTR(x->last_modified));
                x->have_length = false;
                return n;
        }
        colon = memchr(ptr, ':', len);
        if (colon == NULL)
                return n;
        size_t name_len = (size_t)(colon - ptr);
        const char *v = colon + 1;
        while (v < ptr + len && (*v == ' ' || *v == '\t'))
                v++;
        size_t vlen = (size_t)(ptr + len - v);
        if (name_len == 4 && strncasecmp(ptr, "ETag", 4) == 0) {
                free(x->etag);
                x->etag = xstrndup(v, vlen);
        } else if (name_len == 13 && strncasecmp(ptr, "Last-Modified", 13) == 0) {
                free(x->last_modified);
                x->last_modified = xstrndup(v, vlen);
        } else if (name_len == 14 && strncasecmp(ptr, "Content-Length", 14) == 0) {
                _cleanup_free_ char *s = xstrndup(v, vlen);
                char *end;
                errno = 0;
                unsigned long long cl = strtoull(s, &end, 10);
                if (errno == 0 && end != s && *end == '\0') {
                        x->content_length = cl;
                        x->have_length = true;
                }
        }
        return n;
}

/* The payload hash: a file body is hashed once, however often it is sent. */
static int xfer_hash_body(struct s3_xfer *x, struct hoist_error **err)
{
        _cleanup_free_ char *chunk = NULL;
        struct digest_ctx *d;
        uint64_t off = 0;

        if (x->payload_hash[0] != '\0')
                return 0;
        if (!x->has_body || x->body_len == 0) {
                (void)snprintf(x->payload_hash, sizeof x->payload_hash, "%s",
                               SIGV4_EMPTY_PAYLOAD_SHA256);
                return 0;
        }
        if (x->body_fd < 0) {
                digest_sha256_hex(x->body, (size_t)x->body_len, x->payload_hash);
                return 0;
        }
        chunk = xmalloc(READ_CHUNK);
        d = digest_new();
        while (off < x->body_len) {
                size_t want =
                        x->body_len - off < READ_CHUNK ? (size_t)(x->body_len - off) : READ_CHUNK;
                ssize_t n = pread(x->body_fd, chunk, want, (off_t)(x->body_off + off));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        digest_free(d);
                        if (n == 0)
                                return hoist_error_make(err, HOIST_ERR_INPUT,
                                                        "%s: the file shrank while it was read",
                                                        x->what);
                        return hoist_error_errno(err, "%s: read", x->what);
                }
                digest_update(d, chunk, (size_t)n);
                off += (uint64_t)n;
        }
        digest_final_hex(d, x->payload_hash);
        return 0;
}

static struct curl_slist *slist_add(struct curl_slist *l, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static struct curl_slist *slist_add(struct curl_slist *l, const char *fmt, ...)
{
        va_list ap;
        struct curl_slist *n;

        va_start(ap, fmt);
        _cleanup_free_ char *s = xvasprintf(fmt, ap);
        va_end(ap);
        n = curl_slist_append(l, s);
        if (n == NULL)
                abort();
        return n;
}

/* Signs X for now and sets up its easy handle for one attempt. */
static int xfer_prepare(struct s3_client *c, struct s3_xfer *x, struct hoist_error **err)
{
        _cleanup_sigv4_result_ struct sigv4_result sig = {0};
        struct s3_url u = {0};
        const struct s3_credentials *cr;
        char date[SIGV4_AMZ_DATE_SIZE];
        time_t now = time(NULL);

        if (xfer_hash_body(x, err) < 0)
                return -1;
        cr = s3_creds_get(c->creds, err);
        if (cr == NULL)
                return hoist_error_wrap(err, "%s", x->what);
        if (s3_build_url(c, x->bucket, x->key, x->query, &u, err) < 0 ||
            sigv4_amz_date(now, date, err) < 0) {
                s3_url_clear(&u);
                return hoist_error_wrap(err, "%s", x->what);
        }
        struct sigv4_header sh[] = {
                {"Host", u.host},
                {"X-Amz-Content-Sha256", x->payload_hash},
                {"X-Amz-Date", date},
        };
        struct sigv4_request req = {
                .method = x->method,
                .path = u.path,
                .query = x->query,
                .headers = sh,
                .n_headers = sizeof sh / sizeof sh[0],
                .payload_hash = x->payload_hash,
                .creds = {cr->access_key_id, cr->secret_access_key, cr->session_token},
                .region = c->region,
                .service = "s3",
                .time = now,
        };
        if (sigv4_sign(&req, &sig, err) < 0) {
                s3_url_clear(&u);
                return hoist_error_wrap(err, "%s", x->what);
        }

        curl_slist_free_all(TAKE_PTR(x->hdrs));
        x->hdrs = slist_add(x->hdrs, "Host: %s", u.host);
        x->hdrs = slist_add(x->hdrs, "X-Amz-Content-Sha256: %s", x->payload_hash);
        x->hdrs = slist_add(x->hdrs, "X-Amz-Date: %s", date);
        x->hdrs = slist_add(x->hdrs, "Authorization: %s", sig.authorization);
        if (cr->session_token != NULL)
                x->hdrs = slist_add(x->hdrs, "X-Amz-Security-Token: %s", cr->session_token);
        if (x->range != NULL)
                x->hdrs = slist_add(x->hdrs, "Range: %s", x->range);
        if (x->if_match != NULL)
                x->hdrs = slist_add(x->hdrs, "If-Match: %s", x->if_match);
        if (x->content_type != NULL)
                x->hdrs = slist_add(x->hdrs, "Content-Type: %s", x->content_type);
        x->hdrs = slist_add(x->hdrs, "Expect:");
        x->hdrs = slist_add(x->hdrs, "Accept:");

        if (x->h == NULL) {
                x->h = curl_easy_init();
                if (x->h == NULL) {
                        s3_url_clear(&u);
                        return hoist_error_make(err, HOIST_ERR_PROVIDER, "%s: cannot start libcurl",
                                                x->what);
                }
        } else {
                curl_easy_reset(x->h);
        }
        CURL *h = x->h;
        s3_http_setup(h, u.url, x->errbuf);
        s3_url_clear(&u);
        if (c->share != NULL)
                (void)curl_easy_setopt(h, CURLOPT_SHARE, c->share);
        (void)curl_easy_setopt(h, CURLOPT_PRIVATE, x);
        (void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs);
        (void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, xfer_write);
        (void)curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
        (void)curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, xfer_header);
        (void)curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
        if (strcmp(x->method, "HEAD") == 0) {
                (void)curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        } else if (x->has_body) {
                (void)curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
                (void)curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->body_len);
                (void)curl_easy_setopt(h, CURLOPT_READFUNCTION, xfer_read);
                (void)curl_easy_setopt(h, CURLOPT_READDATA, x);
                (void)curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, xfer_seek);
                (void)curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
                if (strcmp(x->method, "PUT") != 0)
                        (void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, x->method);
        } else if (strcmp(x->method, "GET") != 0) {
                (void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, x->method);
        }

        /* Forget what an earlier attempt moved. */
        (void)xfer_progress(x, -x->reported);
        x->sent = x->received = 0;
        x->status = 0;
        x->sink_errno = 0;
        x->have_length = false;
        buf_reset(&x->resp);
        x->attempt++;
        return 0;
}

/* Judges the end of one attempt: 0 when it succeeded, else -1 with *err and
 * *ret_retry telling whether another attempt may help. */
static int xfer_finish(struct s3_xfer *x, CURLcode rc, bool allow_404, bool *ret_retry,
                       struct hoist_error **err)
{
        *ret_retry = false;
        if (x->progress != NULL && x->progress->canceled)
                return hoist_error_make(err, ECANCELED, "%s", x->what);
        if (x->sink_errno != 0)
                return hoist_error_make(err, x->sink_errno, "%s: %s", x->what,
                                        x->out_fd >= 0 || x->sink != NULL ? "write" : "read");
        if (rc != CURLE_OK) {
                *ret_retry = s3_retryable(rc, 0, NULL);
                return s3_http_error(err, rc, x->errbuf, x->what);
        }
        (void)curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
        if ((x->status >= 200 && x->status < 300) || (allow_404 && x->status == 404)) {
                if (x->status < 300 && x->have_length && strcmp(x->method, "HEAD") != 0 &&
                    x->received != x->content_length) {
                        *ret_retry = true;
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "%s: got %" PRIu64 " of %" PRIu64 " bytes", x->what,
                                                x->received, x->content_length);
                }
                return 0;
        }
        _cleanup_free_ char *code = error_code_of(x->resp.data, x->resp.len);
        *ret_retry = s3_retryable(CURLE_OK, x->status, code);
        return s3_error_from_response(x->status, x->resp.data, x->resp.len, x->what, err);
}

static void sleep_ms(unsigned ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int s3_perform(struct s3_client *c, struct s3_xfer *x, bool allow_404, struct hoist_error **err)
{
        for (;;) {
                struct hoist_error *e = NULL;
                bool retry = false;

                if (xfer_prepare(c, x, err) < 0)
                        return -1;
                CURLcode rc = curl_easy_perform(x->h);
                if (xfer_finish(x, rc, allow_404, &retry, &e) == 0)
                        return 0;
                if (!retry || x->attempt >= c->max_attempts) {
                        *err = e;
                        if (retry)
                                hoist_error_wrap(err, "after %u attempts", x->attempt);
                        return -1;
                }
                unsigned d = retry_delay_ms(c, x->attempt);
                log_debug("s3: %s, retrying in %u ms", e->msg, d);
                hoist_error_free(e);
                sleep_ms(d);
        }
}

/*
 * Payload hashes off the event loop.  A part's SHA-256 must be known before
 * it is signed; computed in xfer_prepare() it stalls every running transfer
 * for as long as it takes (about 7 ms per 8 MiB part here, the whole loop's
 * time for a 1 GiB upload).  So the parts of a parallel upload are hashed
 * ahead, in order, by a few threads; the loop starts only parts whose hash
 * is ready and is woken (curl_multi_wakeup) as each one is.  The threads
 * only read the file and write the transfer's payload_hash; the loop reads
 * that only after it has seen the part's ready flag under the lock.
 */
#define HASHER_MAX_THREADS 4

struct hasher {
        CURLM *multi;
        struct s3_xfer **xs; /* the transfers that need a hash, in order */
        bool *ready;
        size_t n, next;
        bool stop;
        pthread_mutex_t lock;
        pthread_t threads[HASHER_MAX_THREADS];
        unsigned n_threads;
};

static bool xfer_needs_hash(const struct s3_xfer *x)
{
        return x->has_body && x->body_fd >= 0 && x->body_len > 0 && x->payload_hash[0] == '\0' &&
               !x->done;
}

static void *hasher_main(void *arg)
{
        struct hasher *h = arg;

        for (;;) {
                size_t i;
                (void)pthread_mutex_lock(&h->lock);
                i = h->next;
                if (h->stop || i >= h->n) {
                        (void)pthread_mutex_unlock(&h->lock);
                        return NULL;
                }
                h->next++;
                (void)pthread_mutex_unlock(&h->lock);
                /* A failure leaves payload_hash empty: xfer_prepare() then
                 * hashes again on the loop and reports the error there. */
                struct hoist_error *e = NULL;
                if (xfer_hash_body(h->xs[i], &e) < 0) {
                        hoist_error_free(e);
                        h->xs[i]->payload_hash[0] = '\0';
                }
                (void)pthread_mutex_lock(&h->lock);
                h->ready[i] = true;
                (void)pthread_mutex_unlock(&h->lock);
                (void)curl_multi_wakeup(h->multi);
        }
}

static unsigned hasher_threads(size_t n)
{
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        unsigned t = cpus > 0 ? (unsigned)cpus : 1;

        if (t > HASHER_MAX_THREADS)
                t = HASHER_MAX_THREADS;
        return n < t ? (unsigned)n : t;
}

/* Starts hashing the file bodies among XS; returns NULL when there are
 * fewer than two (nothing to overlap) or no thread could start. */
static struct hasher *hasher_start(CURLM *m, struct s3_xfer **xs, size_t n)
{
        struct hasher *h;
        size_t k = 0;

        for (size_t i = 0; i < n; i++)
                k += xfer_needs_hash(xs[i]);
        if (k < 2)
                return NULL;
        h = xcalloc(1, sizeof *h);
        h->multi = m;
        h->xs = xcalloc(k, sizeof *h->xs);
        h->ready = xcalloc(k, sizeof *h->ready);
        for (size_t i = 0; i < n; i++)
                if (xfer_needs_hash(xs[i])) {
                        xs[i]->hash_slot = h->n + 1;
                        h->xs[h->n++] = xs[i];
                }
        (void)pthread_mutex_init(&h->lock, NULL);
        for (unsigned t = 0, want = hasher_threads(k); t < want; t++) {
                if (pthread_create(&h->threads[h->n_threads], NULL, hasher_main, h) != 0)
                        break;
                h->n_threads++;
        }
        if (h->n_threads == 0) {
                /* Hash on the loop, as without threads. */
                for (size_t i = 0; i < h->n; i++)
                        h->xs[i]->hash_slot = 0;
                (void)pthread_mutex_destroy(&h->lock);
                free(h->xs);
                free(h->ready);
                free(h);
                return NULL;
        }
        return h;
}

/* True when X may be signed now: it needs no hash from H, or H has it. */
static bool hasher_ready(struct hasher *h, const struct s3_xfer *x)
{
        bool r;

        if (h == NULL || x->hash_slot == 0)
                return true;
        (void)pthread_mutex_lock(&h->lock);
        r = h->ready[x->hash_slot - 1];
        (void)pthread_mutex_unlock(&h->lock);
        return r;
}

static void hasher_stop(struct hasher *h)
{
        if (h == NULL)
                return;
        (void)pthread_mutex_lock(&h->lock);
        h->stop = true;
        (void)pthread_mutex_unlock(&h->lock);
        for (unsigned t = 0; t < h->n_threads; t++)
                (void)pthread_join(h->threads[t], NULL);
        for (size_t i = 0; i < h->n; i++)
                h->xs[i]->hash_slot = 0;
        (void)pthread_mutex_destroy(&h->lock);
        free(h->xs);
        free(h->ready);
        free(h);
}

/* A finished range of a download is handed to the kernel's writeback now
 * (SYNC_FILE_RANGE_WRITE starts it and does not wait), so the data goes to
 * disk while the other ranges still arrive and the fsync that makes the file
 * durable before its rename finds little left to write: no stall of a whole
 * file's writeback at the end. */
static void xfer_start_writeback(const struct s3_xfer *x)
{
        if (x->out_fd < 0 || x->received == 0)
                return;
        if (sync_file_range(x->out_fd, (off_t)x->out_off, (off_t)x->received,
                            SYNC_FILE_RANGE_WRITE) < 0)
                log_debug("s3: start writeback of %s: %s, ignoring", x->what, strerror(errno));
}

static void parallel_stop(CURLM *m, struct s3_xfer **xs, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (xs[i]->running) {
                        (void)curl_multi_remove_handle(m, xs[i]->h);
                        xs[i]->running = false;
                }
        }
        (void)curl_multi_cleanup(m);
}

/* Starts what may start; returns the ms until a waiting transfer may start
 * (or 1000), and sets *ret_pending when anything is left to do. */
static int parallel_start(struct s3_client *c, CURLM *m, struct hasher *h, struct s3_xfer **xs,
                          size_t n, unsigned *running, long *ret_wait, bool *ret_pending,
                          struct hoist_error **err)
{
        uint64_t now = now_ms();
        long wait = 1000;

        *ret_pending = *running > 0;
        for (size_t i = 0; i < n; i++) {
                struct s3_xfer *x = xs[i];
                if (x->done || x->running)
                        continue;
                *ret_pending = true;
                if (*running >= c->concurrency)
                        break;
                if (x->not_before_ms > now) {
                        if ((long)(x->not_before_ms - now) < wait)
                                wait = (long)(x->not_before_ms - now);
                        continue;
                }
                /* Its hash is on the way; the hasher wakes the poll. */
                if (!hasher_ready(h, x))
                        continue;
                if (xfer_prepare(c, x, err) < 0)
                        return -1;
                if (curl_multi_add_handle(m, x->h) != CURLM_OK)
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "%s: cannot add it to the transfer set", x->what);
                x->running = true;
                (*running)++;
        }
        *ret_wait = wait;
        return 0;
}

int s3_perform_parallel(struct s3_client *c, struct s3_xfer **xs, size_t n,
                        struct hoist_error **err)
{
        CURLM *m = curl_multi_init();
        struct hasher *h;
        unsigned running = 0;

        if (m == NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "cannot start libcurl multi");
        (void)curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->concurrency);
        h = hasher_start(m, xs, n);
        for (;;) {
                bool pending = false, finished = false;
                long wait = 0;
                int still = 0;
                CURLMsg *msg;

                if (parallel_start(c, m, h, xs, n, &running, &wait, &pending, err) < 0)
                        goto fail;
                if (!pending)
                        break;
                (void)curl_multi_perform(m, &still);
                while ((msg = curl_multi_info_read(m, &still)) != NULL) {
                        struct s3_xfer *x = NULL;
                        struct hoist_error *e = NULL;
                        bool retry = false;
                        if (msg->msg != CURLMSG_DONE)
                                continue;
                        CURLcode rc = msg->data.result;
                        (void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
                        (void)curl_multi_remove_handle(m, x->h);
                        x->running = false;
                        running--;
                        finished = true;
                        if (xfer_finish(x, rc, false, &retry, &e) == 0) {
                                x->done = true;
                                xfer_start_writeback(x);
                                curl_easy_cleanup(TAKE_PTR(x->h));
                                continue;
                        }
                        if (!retry || x->attempt >= c->max_attempts) {
                                *err = e;
                                if (retry)
                                        hoist_error_wrap(err, "after %u attempts", x->attempt);
                                goto fail;
                        }
                        unsigned d = retry_delay_ms(c, x->attempt);
                        log_debug("s3: %s, retrying in %u ms", e->msg, d);
                        hoist_error_free(e);
                        x->not_before_ms = now_ms() + d;
                }
                /* A slot came free: fill it (or leave) now, not after a poll
                 * that nothing may wake for a second. */
                if (finished)
                        continue;
                if (running > 0 || wait > 0)
                        (void)curl_multi_poll(m, NULL, 0,
                                              running > 0 && wait > 100 ? 100 : (int)wait, NULL);
        }
        hasher_stop(h);
        parallel_stop(m, xs, n);
        return 0;
fail:
        hasher_stop(h);
        parallel_stop(m, xs, n);
        return -1;
}
