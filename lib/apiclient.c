/* SPDX-License-Identifier: MIT */
#include <curl/curl.h>

#include "apiclient.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "buf.h"
#include "cleanup.h"
#include "log.h"
#include "s3_http.h"
#include "xalloc.h"

#define API_TIMEOUT_S 120L
#define API_DEFAULT_ATTEMPTS 5
#define API_BASE_MS 250
#define API_CAP_MS 20000
#define API_DEFAULT_MAX_RETRY_AFTER_S 120
/* An API answer is small JSON; a training's logs may be some MiB. */
#define API_MAX_BODY (64u << 20)

struct apiclient {
        char *name;
        char *base; /* no trailing '/' */
        char *authorization;
        int max_attempts;
        int64_t max_retry_after_ms;
};

static long env_long(const char *name, long dflt, long min, long max)
{
        const char *v = getenv(name);
        char *end;
        long n;

        if (v == NULL || *v == '\0')
                return dflt;
        errno = 0;
        n = strtol(v, &end, 10);
        if (errno != 0 || *end != '\0' || n < min || n > max) {
                log_warn("%s='%s' is not a number from %ld to %ld; using %ld instead", name, v, min,
                         max, dflt);
                return dflt;
        }
        return n;
}

int apiclient_new(const char *name, const char *base, const char *authorization,
                  struct apiclient **ret, struct hoist_error **err)
{
        struct apiclient *c;
        size_t n = base != NULL ? strlen(base) : 0;

        if (n == 0 ||
            (strncasecmp(base, "https://", 8) != 0 && strncasecmp(base, "http://", 7) != 0))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "%s API base '%s' is not an http:// or https:// URL", name,
                                        base ? base : "");
        while (n > 0 && base[n - 1] == '/')
                n--;
        c = xzalloc(sizeof *c);
        c->name = xstrdup(name);
        c->base = xstrndup(base, n);
        c->authorization = authorization ? xstrdup(authorization) : NULL;
        c->max_attempts = (int)env_long("HOIST_API_RETRIES", API_DEFAULT_ATTEMPTS, 1, 20);
        c->max_retry_after_ms =
                env_long("HOIST_API_MAX_RETRY_AFTER", API_DEFAULT_MAX_RETRY_AFTER_S, 0, 86400) *
                1000;
        *ret = c;
        return 0;
}

void apiclient_free(struct apiclient *c)
{
        if (c == NULL)
                return;
        if (c->authorization != NULL)
                explicit_bzero(c->authorization, strlen(c->authorization));
        free(c->authorization);
        free(c->name);
        free(c->base);
        free(c);
}

const char *apiclient_base(const struct apiclient *c)
{
        return c->base;
}

/* ---- pure helpers ---- */

int64_t apiclient_retry_after_ms(const char *value, int64_t now)
{
        char *end;
        long long s;
        time_t when;

        if (value == NULL)
                return -1;
        while (*value == ' ' || *value == '\t')
                value++;
        if (*value == '\0')
                return -1;
        if (isdigit((unsigned char)*value)) {
                errno = 0;
                s = strtoll(value, &end, 10);
                while (*end == ' ' || *end == '\t')
                        end++;
                if (errno != 0 || *end != '\0' || s < 0 || s > 86400 * 365)
                        return -1;
                return (int64_t)s * 1000;
        }
        when = curl_getdate(value, NULL);
        if (when == (time_t)-1)
                return -1;
        return when <= now ? 0 : ((int64_t)when - now) * 1000;
}

static char *clip(const char *s, size_t n)
{
        size_t line = strcspn(s, "\r\n");

        if (line < n)
                n = line;
        if (n > 400)
                n = 400;
        return xstrndup(s, n);
}

static char *message_of(json_t *o)
{
        json_t *v;

        if (json_is_string(o))
                return clip(json_string_value(o), json_string_length(o));
        if (!json_is_object(o))
                return NULL;
        static const char *const keys[] = {"detail", "error", "message", "title"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
                v = json_object_get(o, keys[i]);
                if (json_is_string(v) && json_string_length(v) > 0)
                        return clip(json_string_value(v), json_string_length(v));
                if (json_is_object(v)) {
                        char *m = message_of(v);
                        if (m != NULL)
                                return m;
                }
                if (json_is_array(v) && json_array_size(v) > 0) {
                        /* FastAPI's validation errors: [{"loc": [...], "msg": ...}] */
                        json_t *first = json_array_get(v, 0);
                        json_t *msg = json_object_get(first, "msg");
                        if (json_is_string(msg))
                                return clip(json_string_value(msg), json_string_length(msg));
                }
        }
        return NULL;
}

char *apiclient_error_message(const char *body, size_t len)
{
        json_t *o;
        char *m;
        size_t skip = 0;

        if (body == NULL || len == 0)
                return NULL;
        o = json_loadb(body, len, 0, NULL);
        m = message_of(o);
        json_decref(o);
        if (m != NULL)
                return m;
        while (skip < len && isspace((unsigned char)body[skip]))
                skip++;
        if (skip == len)
                return NULL;
        for (size_t i = skip; i < len; i++)
                if (body[i] == '\0')
                        return xstrdup("(a binary answer)");
        return clip(body + skip, len - skip);
}

/* ---- one request ---- */

struct exchange {
        struct buf body;
        char *retry_after;
        int too_big;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
        struct exchange *x = ud;
        size_t n = size * nmemb;

        if (x->body.len + n > API_MAX_BODY) {
                x->too_big = 1;
                return 0;
        }
        buf_append(&x->body, ptr, n);
        return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
        struct exchange *x = ud;
        size_t n = size * nmemb;
        static const char name[] = "retry-after:";

        if (n > sizeof name - 1 && strncasecmp(ptr, name, sizeof name - 1) == 0) {
                size_t a = sizeof name - 1, b = n;
                while (a < b && (ptr[a] == ' ' || ptr[a] == '\t'))
                        a++;
                while (b > a && (ptr[b - 1] == '\r' || ptr[b - 1] == '\n' || ptr[b - 1] == ' '))
                        b--;
                free(x->retry_after);
                x->retry_after = xstrndup(ptr + a, b - a);
        }
        return n;
}

static char *url_for(const struct apiclient *c, const char *path)
{
        if (strncasecmp(path, "https://", 8) == 0 || strncasecmp(path, "http://", 7) == 0)
                return xstrdup(path);
        return xasprintf("%s%s%s", c->base, path[0] == '/' ? "" : "/", path);
}

struct request {
        const char *method;
        const char *url;
        const char *what; /* "GET /v1/account", no secret */
        const char *body;
        size_t body_len;
        curl_mime *(*mime)(CURL *h, const void *ud);
        const void *mime_ud;
        const char *const *headers;
};

static int send_once(const struct apiclient *c, const struct request *q, struct exchange *x,
                     long *ret_status, struct hoist_error **err)
{
        _cleanup_curl_ CURL *h = curl_easy_init();
        _cleanup_curl_slist_ struct curl_slist *hdrs = NULL;
        curl_mime *mime = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        CURLcode rc;

        if (h == NULL)
                abort(); /* out of memory */
        s3_http_setup(h, q->url, errbuf);
        (void)curl_easy_setopt(h, CURLOPT_URL, q->url);
        (void)curl_easy_setopt(h, CURLOPT_TIMEOUT, API_TIMEOUT_S);
        (void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        (void)curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
        (void)curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        (void)curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
        (void)curl_easy_setopt(h, CURLOPT_USERAGENT, "hoist/" HOIST_VERSION);
        hdrs = curl_slist_append(hdrs, "Accept: application/json");
        hdrs = curl_slist_append(hdrs, "Expect:");
        if (c->authorization != NULL) {
                _cleanup_free_ char *line = xasprintf("Authorization: %s", c->authorization);
                hdrs = curl_slist_append(hdrs, line);
                explicit_bzero(line, strlen(line));
        }
        for (const char *const *p = q->headers; p != NULL && *p != NULL; p++)
                hdrs = curl_slist_append(hdrs, *p);
        if (q->mime != NULL) {
                mime = q->mime(h, q->mime_ud);
                (void)curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
        } else if (q->body != NULL) {
                hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
                (void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body);
                (void)curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
        }
        if (strcmp(q->method, "GET") != 0 && strcmp(q->method, "POST") != 0)
                (void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
        else if (strcmp(q->method, "POST") == 0 && q->body == NULL && q->mime == NULL) {
                (void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
                (void)curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        }
        (void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        rc = curl_easy_perform(h);
        curl_mime_free(mime);
        if (x->too_big)
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "%s: %s answer over %u MiB",
                                        q->what, c->name, API_MAX_BODY >> 20);
        if (rc != CURLE_OK)
                return s3_http_error(err, rc, errbuf, q->what);
        (void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, ret_status);
        return 0;
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

static int64_t backoff_ms(int attempt)
{
        int64_t ceiling = API_BASE_MS;

        for (int i = 1; i < attempt && ceiling < API_CAP_MS; i++)
                ceiling *= 2;
        if (ceiling > API_CAP_MS)
                ceiling = API_CAP_MS;
        return (int64_t)((double)ceiling * random_unit());
}

static int error_from(const struct apiclient *c, const struct request *q, long status,
                      const struct exchange *x, struct hoist_error **err)
{
        _cleanup_free_ char *m = apiclient_error_message(x->body.data, x->body.len);

        (void)c;
        return hoist_error_make(err, status == 404 ? HOIST_ERR_NOT_FOUND : HOIST_ERR_PROVIDER,
                                "%s: %s%s(HTTP %ld)", q->what, m ? m : "", m ? " " : "", status);
}

static int perform(struct apiclient *c, const struct request *q, json_t **ret,
                   struct hoist_error **err)
{
        for (int attempt = 1;; attempt++) {
                struct exchange x = {0};
                struct hoist_error *e = NULL;
                long status = 0;
                int64_t wait = -1;

                if (send_once(c, q, &x, &status, &e) < 0) {
                        buf_free(&x.body);
                        free(x.retry_after);
                        if (attempt >= c->max_attempts)
                                return (*err = e,
                                        hoist_error_wrap(err, "after %d attempts", attempt));
                        log_debug("%s: %s; retrying", q->what, e->msg);
                        hoist_error_free(e);
                } else if (status >= 200 && status < 300) {
                        json_error_t jerr;
                        json_t *o = NULL;
                        if (x.body.len > 0) {
                                o = json_loadb(x.body.data, x.body.len, 0, &jerr);
                                if (o == NULL) {
                                        buf_free(&x.body);
                                        free(x.retry_after);
                                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                                "%s: the answer is not JSON (line "
                                                                "%d: %s)",
                                                                q->what, jerr.line, jerr.text);
                                }
                        }
                        buf_free(&x.body);
                        free(x.retry_after);
                        if (ret != NULL)
                                *ret = o;
                        else
                                json_decref(o);
                        return 0;
                } else {
                        int retry = status == 429 || status >= 500;
                        wait = apiclient_retry_after_ms(x.retry_after, (int64_t)time(NULL));
                        if (!retry || attempt >= c->max_attempts || wait > c->max_retry_after_ms) {
                                int r = error_from(c, q, status, &x, err);
                                if (retry && wait > c->max_retry_after_ms)
                                        r = hoist_error_wrap(err,
                                                             "%s asks to wait %" PRId64
                                                             " s (Retry-After), more than "
                                                             "HOIST_API_MAX_RETRY_AFTER",
                                                             c->name, wait / 1000);
                                else if (retry)
                                        r = hoist_error_wrap(err, "after %d attempts", attempt);
                                buf_free(&x.body);
                                free(x.retry_after);
                                return r;
                        }
                        log_debug("%s: HTTP %ld%s%s; retrying", q->what, status,
                                  x.retry_after ? ", Retry-After " : "",
                                  x.retry_after ? x.retry_after : "");
                        buf_free(&x.body);
                        free(x.retry_after);
                }
                sleep_ms(wait >= 0 ? wait : backoff_ms(attempt));
        }
}

static char *what_of(const struct apiclient *c, const char *method, const char *url)
{
        /* The path alone: a URL's query may carry a signature. */
        const char *p = strstr(url, "://");
        size_t n;

        p = p != NULL ? p + 3 : url;
        p += strcspn(p, "/");
        n = strcspn(p, "?#");
        return xasprintf("%s %s %.*s", c->name, method, (int)n, p);
}

int apiclient_call(struct apiclient *c, const char *method, const char *path, json_t *body,
                   const char *const *headers, json_t **ret, struct hoist_error **err)
{
        _cleanup_free_ char *url = url_for(c, path);
        _cleanup_free_ char *what = what_of(c, method, url);
        _cleanup_free_ char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;

        if (body != NULL && text == NULL)
                abort(); /* out of memory */
        struct request q = {
                .method = method,
                .url = url,
                .what = what,
                .body = text,
                .body_len = text ? strlen(text) : 0,
                .headers = headers,
        };
        int r = perform(c, &q, ret, err);

        if (text != NULL)
                explicit_bzero(text, strlen(text)); /* it may carry a job's secrets */
        return r;
}

struct upload {
        const char *field, *filename, *content_type;
        const void *data;
        size_t len;
};

static curl_mime *upload_mime(CURL *h, const void *ud)
{
        const struct upload *u = ud;
        curl_mime *m = curl_mime_init(h);
        curl_mimepart *part = curl_mime_addpart(m);

        (void)curl_mime_name(part, u->field);
        (void)curl_mime_filename(part, u->filename);
        (void)curl_mime_type(part, u->content_type);
        (void)curl_mime_data(part, u->data, u->len);
        return m;
}

int apiclient_upload(struct apiclient *c, const char *path, const char *field, const char *filename,
                     const char *content_type, const void *data, size_t len, json_t **ret,
                     struct hoist_error **err)
{
        _cleanup_free_ char *url = url_for(c, path);
        _cleanup_free_ char *what = what_of(c, "POST", url);
        const struct upload u = {field, filename, content_type, data, len};
        struct request q = {
                .method = "POST",
                .url = url,
                .what = what,
                .mime = upload_mime,
                .mime_ud = &u,
        };

        return perform(c, &q, ret, err);
}
