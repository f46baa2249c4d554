/* SPDX-License-Identifier: MIT */
/*
 * Requests to a registry: one function, reg_request(), that owns retries
 * with backoff, the 401 -> credentials or token -> replay dance, and
 * redirects (blob GETs are sent on to storage, which must never see the
 * registry's Authorization header).
 */
#include <curl/curl.h>

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "ecr.h"
#include "fsutil.h"
#include "log.h"
#include "registry_internal.h"
#include "xalloc.h"

#define ERROR_BODY_MAX (64u << 10)
#define DOC_BODY_MAX (4u << 20)

static int64_t mono_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec;
}

static void sleep_ms(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static int max_tries(void)
{
        const char *e = getenv("HOIST_REGISTRY_RETRIES");
        int n = e ? atoi(e) : 0;

        return n > 0 && n < 100 ? n : 5;
}

void reg_resp_clear(struct reg_resp *r)
{
        r->status = 0;
        free(r->location);
        free(r->content_type);
        free(r->docker_digest);
        free(r->www_authenticate);
        free(r->retry_after);
        free(r->range);
        r->location = r->content_type = r->docker_digest = r->www_authenticate = NULL;
        r->retry_after = r->range = NULL;
        r->chunk_min = 0;
        buf_reset(&r->body);
}

/* ---- session ---- */

void reg_session_free(struct reg_session *s)
{
        if (s == NULL)
                return;
        free(s->host);
        free(s->repo);
        free(s->base);
        if (s->authz)
                explicit_bzero(s->authz, strlen(s->authz));
        free(s->authz);
        free(s->realm);
        free(s->service);
        strv_free(s->scopes);
        registry_creds_free(s->creds);
        pthread_mutex_destroy(&s->lock);
        free(s);
}

/* "type:name:actions" -> the length of "type:name" (NAME may hold ':'). */
static size_t scope_resource_len(const char *scope)
{
        const char *last = strrchr(scope, ':');

        return last ? (size_t)(last - scope) : strlen(scope);
}

/* Is ACTION in the comma-separated ACTIONS? */
static int has_action(const char *actions, const char *action, size_t n)
{
        for (const char *p = actions; *p;) {
                size_t k = strcspn(p, ",");
                if (k == n && strncmp(p, action, n) == 0)
                        return 1;
                p += k + (p[k] == ',');
        }
        return 0;
}

/* Adds SCOPE to the scopes asked for, merging actions into an entry for the
 * same resource ("repository:a:pull" + "repository:a:push,pull" gives
 * "repository:a:pull,push"). */
static void add_scope_locked(struct reg_session *s, const char *scope)
{
        size_t n = 0, rlen = scope_resource_len(scope);
        const char *actions = scope[rlen] == ':' ? scope + rlen + 1 : "";

        for (; s->scopes && s->scopes[n]; n++) {
                char *have = s->scopes[n];
                if (scope_resource_len(have) != rlen || strncmp(have, scope, rlen) != 0)
                        continue;
                struct buf b = {0};
                buf_append_str(&b, have);
                for (const char *p = actions; *p;) {
                        size_t k = strcspn(p, ",");
                        if (k > 0 && !has_action(have + rlen + (have[rlen] == ':'), p, k))
                                buf_printf(&b, "%s%.*s", have[rlen] == ':' ? "," : ":", (int)k, p);
                        p += k + (p[k] == ',');
                }
                free(have);
                s->scopes[n] = buf_take(&b);
                return;
        }
        s->scopes = xreallocarray(s->scopes, n + 2, sizeof *s->scopes);
        s->scopes[n] = xstrdup(scope);
        s->scopes[n + 1] = NULL;
}

void reg_session_add_scope(struct reg_session *s, const char *scope)
{
        pthread_mutex_lock(&s->lock);
        add_scope_locked(s, scope);
        pthread_mutex_unlock(&s->lock);
}

/* ---- one HTTP exchange ---- */

struct xfer {
        struct reg_session *s;
        struct reg_req *req;
        struct reg_resp *resp;
        CURL *h;
        uint64_t sent;
        struct digest_ctx *dg;
        int to_fd;
        int io_errno;
};

static char *header_value(const char *line, size_t n, const char *name)
{
        size_t k = strlen(name);

        if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
                return NULL;
        line += k + 1;
        n -= k + 1;
        while (n > 0 && (*line == ' ' || *line == '\t'))
                line++, n--;
        while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
                n--;
        return xstrndup(line, n);
}

static void set_header(char **slot, char *v)
{
        if (v == NULL)
                return;
        free(*slot);
        *slot = v;
}

static size_t on_header(char *ptr, size_t size, size_t nitems, void *ud)
{
        struct xfer *x = ud;
        struct reg_resp *r = x->resp;
        size_t n = size * nitems;
        char *v;

        if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
                /* a new response (after 100 Continue): forget the last one's */
                reg_resp_clear(r);
                return n;
        }
        set_header(&r->location, header_value(ptr, n, "Location"));
        set_header(&r->content_type, header_value(ptr, n, "Content-Type"));
        set_header(&r->docker_digest, header_value(ptr, n, "Docker-Content-Digest"));
        set_header(&r->retry_after, header_value(ptr, n, "Retry-After"));
        set_header(&r->range, header_value(ptr, n, "Range"));
        if ((v = header_value(ptr, n, "OCI-Chunk-Min-Length")) != NULL) {
                r->chunk_min = strtoull(v, NULL, 10);
                free(v);
        }
        if ((v = header_value(ptr, n, "WWW-Authenticate")) != NULL) {
                if (r->www_authenticate) {
                        char *j = xasprintf("%s, %s", r->www_authenticate, v);
                        free(v);
                        v = j;
                }
                set_header(&r->www_authenticate, v);
        }
        return n;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
        struct xfer *x = ud;
        struct reg_req *q = x->req;
        size_t n = size * nmemb;
        long status = 0;

        (void)curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
        if (x->to_fd && status >= 200 && status < 300) {
                if (fs_write_all(q->out_fd, ptr, n) < 0) {
                        x->io_errno = errno;
                        return 0;
                }
                digest_update(x->dg, ptr, n);
                q->out_len += n;
                if (q->opts && q->opts->progress && q->digest)
                        q->opts->progress(q->opts->userdata, q->digest, q->out_len,
                                          q->progress_total);
                return n;
        }
        size_t max = status >= 200 && status < 300 ? (q->out_max ? q->out_max : DOC_BODY_MAX)
                                                   : ERROR_BODY_MAX;
        if (x->resp->body.len + n > max) {
                if (status >= 200 && status < 300) {
                        x->io_errno = EFBIG;
                        return 0;
                }
                return n; /* an error body: the start is enough */
        }
        buf_append(&x->resp->body, ptr, n);
        return n;
}

static size_t on_read(char *ptr, size_t size, size_t nmemb, void *ud)
{
        struct xfer *x = ud;
        struct reg_req *q = x->req;
        size_t n = size * nmemb;
        uint64_t left = q->body_len - x->sent;

        if (n > left)
                n = (size_t)left;
        if (n == 0)
                return 0;
        if (q->body != NULL) {
                memcpy(ptr, (const char *)q->body + x->sent, n);
        } else {
                ssize_t k;
                do
                        k = pread(q->body_fd, ptr, n, q->body_off + (off_t)x->sent);
                while (k < 0 && errno == EINTR);
                if (k <= 0) {
                        x->io_errno = k < 0 ? errno : EIO;
                        return CURL_READFUNC_ABORT;
                }
                n = (size_t)k;
        }
        x->sent += n;
        if (q->opts && q->opts->progress && q->digest)
                q->opts->progress(q->opts->userdata, q->digest, q->progress_base + x->sent,
                                  q->progress_total);
        return n;
}

/* "scheme://authority" of URL, for comparing hosts. */
static char *url_origin(const char *url)
{
        const char *p = strstr(url, "://");
        size_t n;

        if (p == NULL)
                return xstrdup("");
        p += 3;
        n = strcspn(p, "/?#");
        return xstrndup(url, (size_t)(p - url) + n);
}

static CURLcode perform(struct xfer *x, const char *url, const char *authz, char *errbuf)
{
        struct reg_req *q = x->req;
        _cleanup_curl_slist_ struct curl_slist *hdrs = NULL;
        _cleanup_free_ char *accept = NULL, *ctype = NULL, *crange = NULL;
        CURL *h = x->h;
        CURLcode rc;

        curl_easy_reset(h);
        errbuf[0] = '\0';
        (void)curl_easy_setopt(h, CURLOPT_URL, url);
        (void)curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        (void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        (void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
        (void)curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        (void)curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 120L);
        (void)curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        (void)curl_easy_setopt(h, CURLOPT_USERAGENT, "hoist/" HOIST_VERSION);
        if (strncasecmp(url, "https://", 8) == 0) {
                const char *ca = getenv("CURL_CA_BUNDLE");
                if (ca == NULL || *ca == '\0')
                        ca = getenv("SSL_CERT_FILE");
                if (ca != NULL && *ca != '\0')
                        (void)curl_easy_setopt(h, CURLOPT_CAINFO, ca);
        }
        (void)curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        (void)curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
        (void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
        (void)curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
        if (strcmp(q->method, "HEAD") == 0) {
                (void)curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        } else if (strcmp(q->method, "GET") != 0) {
                (void)curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
                (void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
                (void)curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->body_len);
                (void)curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
                (void)curl_easy_setopt(h, CURLOPT_READDATA, x);
                hdrs = curl_slist_append(hdrs, "Expect:");
                hdrs = curl_slist_append(hdrs, "Transfer-Encoding:");
        }
        if (q->accept)
                hdrs = curl_slist_append(hdrs, accept = xasprintf("Accept: %s", q->accept));
        if (q->content_type)
                hdrs = curl_slist_append(hdrs,
                                         ctype = xasprintf("Content-Type: %s", q->content_type));
        if (q->content_range)
                hdrs = curl_slist_append(hdrs,
                                         crange = xasprintf("Content-Range: %s", q->content_range));
        if (authz)
                hdrs = curl_slist_append(hdrs, authz);
        (void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        rc = curl_easy_perform(h);
        (void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x->resp->status);
        (void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
        return rc;
}

/* ---- authentication ---- */

static int lookup_creds_locked(struct reg_session *s, struct hoist_error **err)
{
        if (s->creds_looked_up)
                return 0;
        s->creds_looked_up = 1;
        /* An ECR registry's password is a 12-hour token from its API;
         * HOIST_REGISTRY_USER/PASSWORD still come first. */
        if (getenv("HOIST_REGISTRY_USER") == NULL && ecr_registry_host(s->host, NULL))
                return ecr_credentials(s->host, s->push && s->create_repository ? s->repo : NULL,
                                       &s->creds, err);
        return registry_auth_lookup(s->host, &s->creds, err) < 0 ? -1 : 0;
}

static int no_creds_error(struct reg_session *s, struct hoist_error **err)
{
        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                "registry '%s' requires authentication and no credentials for "
                                "it were found (log in with 'podman login %s' or 'docker login "
                                "%s', or set HOIST_REGISTRY_USER and HOIST_REGISTRY_PASSWORD)",
                                s->host, s->host, s->host);
}

static int rejected_error(struct reg_session *s, const char *by, struct hoist_error **err)
{
        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                "%s answered 401 unauthorized: the credentials for registry '%s' "
                                "from %s were rejected (check the user name and password, and "
                                "log in again with 'podman login %s' or 'docker login %s')",
                                by, s->host, s->creds ? s->creds->source : "nowhere", s->host,
                                s->host);
}

static int fetch_token_locked(struct reg_session *s, CURL *h, struct hoist_error **err)
{
        _cleanup_free_ char *url = NULL, *basic = NULL, *authz = NULL;
        struct registry_token *tok = NULL;
        struct reg_resp resp = {0};
        char errbuf[CURL_ERROR_SIZE];
        size_t n = 0;
        CURLcode rc;

        if (lookup_creds_locked(s, err) < 0)
                return -1;
        while (s->scopes && s->scopes[n])
                n++;
        url = registry_auth_token_url(s->realm, s->service, (const char *const *)s->scopes, n);
        if (s->creds) {
                basic = registry_auth_basic(s->creds);
                authz = xasprintf("Authorization: Basic %s", basic);
                explicit_bzero(basic, strlen(basic));
        }
        struct reg_req q = {.method = "GET", .url = url, .out_fd = -1, .body_fd = -1};
        struct xfer x = {.s = s, .req = &q, .resp = &resp, .h = h};
        for (int attempt = 1;; attempt++) {
                reg_resp_clear(&resp);
                rc = perform(&x, url, authz, errbuf);
                if (rc == CURLE_OK && resp.status < 500 && resp.status != 429)
                        break;
                if (attempt >= max_tries()) {
                        buf_free(&resp.body);
                        reg_resp_clear(&resp);
                        if (authz)
                                explicit_bzero(authz, strlen(authz));
                        if (rc != CURLE_OK)
                                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                        "token server '%s' for registry '%s': "
                                                        "%s",
                                                        s->realm, s->host,
                                                        errbuf[0] ? errbuf
                                                                  : curl_easy_strerror(rc));
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "token server '%s' for registry '%s' answered "
                                                "HTTP %ld",
                                                s->realm, s->host, resp.status);
                }
                sleep_ms(500L << (attempt - 1));
        }
        if (authz)
                explicit_bzero(authz, strlen(authz));
        if (resp.status == 401 || resp.status == 403) {
                buf_free(&resp.body);
                reg_resp_clear(&resp);
                if (s->creds == NULL)
                        return no_creds_error(s, err);
                _cleanup_free_ char *by = xasprintf("token server '%s'", s->realm);
                return rejected_error(s, by, err);
        }
        if (resp.status != 200) {
                long st = resp.status;
                buf_free(&resp.body);
                reg_resp_clear(&resp);
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "token server '%s' for registry '%s' answered HTTP %ld",
                                        s->realm, s->host, st);
        }
        int r = registry_auth_parse_token(resp.body.data ? resp.body.data : "", resp.body.len,
                                          mono_s(), &tok, err);
        if (resp.body.data)
                explicit_bzero(resp.body.data, resp.body.len);
        buf_free(&resp.body);
        reg_resp_clear(&resp);
        if (r < 0)
                return hoist_error_wrap(err, "token server '%s'", s->realm);
        if (s->authz)
                explicit_bzero(s->authz, strlen(s->authz));
        free(s->authz);
        s->authz = xasprintf("Authorization: Bearer %s", tok->token);
        s->token_expires = tok->expires_at;
        s->auth_gen++;
        registry_token_free(tok);
        log_debug("registry '%s': new Bearer token for %zu scope(s)", s->host, n);
        return 0;
}

/* Answers a 401 whose challenge is HEADER; GEN is the auth generation the
 * failed request used (another thread may have re-authenticated since). */
static int authenticate(struct reg_session *s, CURL *h, const char *header, unsigned gen, int round,
                        struct hoist_error **err)
{
        struct registry_challenge *ch = NULL, *bearer = NULL, *basic = NULL;
        size_t n = 0;
        int r = 0;

        if (registry_auth_parse_challenges(header, &ch, &n, err) < 0)
                return hoist_error_wrap(err, "registry '%s'", s->host);
        for (size_t i = 0; i < n; i++) {
                if (strcmp(ch[i].scheme, "bearer") == 0 && !bearer && ch[i].realm)
                        bearer = &ch[i];
                else if (strcmp(ch[i].scheme, "basic") == 0 && !basic)
                        basic = &ch[i];
        }
        pthread_mutex_lock(&s->lock);
        if (s->auth_gen != gen) {
                pthread_mutex_unlock(&s->lock);
                registry_challenges_free(ch, n);
                return 0;
        }
        if (bearer) {
                if (bearer->scope) {
                        _cleanup_free_ char *sc = xstrdup(bearer->scope);
                        char *save = NULL;
                        for (char *t = strtok_r(sc, " ", &save); t; t = strtok_r(NULL, " ", &save))
                                add_scope_locked(s, t);
                }
                if (round > 1 && s->authz && strncmp(s->authz, "Authorization: Bearer", 21) == 0 &&
                    bearer->error && strcmp(bearer->error, "insufficient_scope") == 0 &&
                    s->creds == NULL) {
                        r = no_creds_error(s, err);
                } else if (round > 2) {
                        r = s->creds ? rejected_error(s, "the registry", err)
                                     : no_creds_error(s, err);
                } else {
                        free(s->realm);
                        free(s->service);
                        s->realm = xstrdup(bearer->realm);
                        s->service = xstrdup(bearer->service);
                        r = fetch_token_locked(s, h, err);
                }
        } else if (basic) {
                if (lookup_creds_locked(s, err) < 0) {
                        r = -1;
                } else if (s->creds == NULL) {
                        r = no_creds_error(s, err);
                } else if (s->authz && strncmp(s->authz, "Authorization: Basic", 20) == 0) {
                        _cleanup_free_ char *by = xasprintf("registry '%s'", s->host);
                        r = rejected_error(s, by, err);
                } else {
                        _cleanup_free_ char *b = registry_auth_basic(s->creds);
                        free(s->authz);
                        s->authz = xasprintf("Authorization: Basic %s", b);
                        explicit_bzero(b, strlen(b));
                        s->auth_gen++;
                }
        } else {
                r = hoist_error_make(err, HOIST_ERR_PROVIDER,
                                     "registry '%s' asks for an authentication scheme hoist does "
                                     "not support (only Basic and Bearer)",
                                     s->host);
        }
        pthread_mutex_unlock(&s->lock);
        registry_challenges_free(ch, n);
        return r;
}

/* ---- the request loop ---- */

static int retryable_curl(CURLcode rc)
{
        switch (rc) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return 1;
        default:
                return 0;
        }
}

static long backoff_ms(int attempt, const char *retry_after)
{
        long ms = 500L << (attempt > 6 ? 6 : attempt - 1);

        if (retry_after) {
                char *end;
                long sec = strtol(retry_after, &end, 10);
                if (end != retry_after && *end == '\0' && sec >= 0)
                        ms = (sec > 60 ? 60 : sec) * 1000L;
        }
        return ms > 20000 ? 20000 : ms;
}

/* The URL without its query: what messages may show (a query can carry
 * upload state or a storage signature). */
static char *url_for_message(const char *url)
{
        return xstrndup(url, strcspn(url, "?#"));
}

static int reset_sink(struct xfer *x, struct hoist_error **err)
{
        struct reg_req *q = x->req;

        x->sent = 0;
        x->io_errno = 0;
        if (!x->to_fd)
                return 0;
        digest_free(x->dg);
        x->dg = digest_new();
        q->out_len = 0;
        if (ftruncate(q->out_fd, 0) < 0 || lseek(q->out_fd, 0, SEEK_SET) < 0)
                return hoist_error_errno(err, "%s: reset the download file", q->what);
        return 0;
}

int reg_request(struct reg_session *s, CURL *h, struct reg_req *q, struct reg_resp *resp,
                struct hoist_error **err)
{
        _cleanup_free_ char *url = xstrdup(q->url), *origin = url_origin(s->base);
        struct xfer x = {.s = s, .req = q, .resp = resp, .h = h, .to_fd = q->out_fd >= 0};
        int attempt = 0, redirects = 0, auth_round = 0, tries = max_tries();
        int follow = strcmp(q->method, "GET") == 0 || strcmp(q->method, "HEAD") == 0;
        char errbuf[CURL_ERROR_SIZE];

        for (;;) {
                _cleanup_free_ char *authz = NULL, *uo = url_origin(url);
                int same = strcmp(uo, origin) == 0;
                unsigned gen;
                CURLcode rc;

                pthread_mutex_lock(&s->lock);
                if (same && s->realm && s->token_expires && mono_s() + 5 >= s->token_expires) {
                        log_debug("registry '%s': token expired, fetching a new one", s->host);
                        if (fetch_token_locked(s, h, err) < 0) {
                                pthread_mutex_unlock(&s->lock);
                                return -1;
                        }
                }
                gen = s->auth_gen;
                authz = same && s->authz ? xstrdup(s->authz) : NULL;
                pthread_mutex_unlock(&s->lock);

                reg_resp_clear(resp);
                if (reset_sink(&x, err) < 0)
                        break;
                rc = perform(&x, url, authz, errbuf);
                if (authz)
                        explicit_bzero(authz, strlen(authz));
                if (rc != CURLE_OK) {
                        _cleanup_free_ char *shown = url_for_message(url);
                        if (x.io_errno) {
                                hoist_error_make(err, x.io_errno, "%s: %s", q->what, shown);
                                break;
                        }
                        if (retryable_curl(rc) && ++attempt < tries) {
                                log_debug("%s: %s, retrying", q->what,
                                          errbuf[0] ? errbuf : curl_easy_strerror(rc));
                                sleep_ms(backoff_ms(attempt, NULL));
                                continue;
                        }
                        hoist_error_make(err, HOIST_ERR_PROVIDER, "%s: %s: %s%s", q->what, shown,
                                         errbuf[0] ? errbuf : curl_easy_strerror(rc),
                                         rc == CURLE_PEER_FAILED_VERIFICATION
                                                 ? " (the registry's certificate is not trusted: "
                                                   "put the CA certificate that signed it in "
                                                   "SSL_CERT_FILE or CURL_CA_BUNDLE)"
                                                 : "");
                        break;
                }
                if (resp->status == 401 && same && resp->www_authenticate && auth_round < 3) {
                        if (authenticate(s, h, resp->www_authenticate, gen, ++auth_round, err) < 0)
                                break;
                        continue;
                }
                if (follow && resp->location && redirects < 10 &&
                    (resp->status == 301 || resp->status == 302 || resp->status == 303 ||
                     resp->status == 307 || resp->status == 308)) {
                        char *next = registry_resolve_location(url, resp->location, NULL);
                        if (next == NULL) {
                                hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                 "%s: unusable redirect Location", q->what);
                                break;
                        }
                        free(url);
                        url = next;
                        redirects++;
                        continue;
                }
                if ((resp->status == 408 || resp->status == 429 || resp->status >= 500) &&
                    ++attempt < tries) {
                        long ms = backoff_ms(attempt, resp->retry_after);
                        log_debug("%s: HTTP %ld, retrying in %ld ms", q->what, resp->status, ms);
                        sleep_ms(ms);
                        continue;
                }
                if (x.to_fd) {
                        digest_final_hex(x.dg, q->out_hex);
                        x.dg = NULL;
                }
                return 0;
        }
        digest_free(x.dg);
        return -1;
}

/* The registry's error document: {"errors":[{"code","message"}]}. */
static char *error_detail(const struct reg_resp *r)
{
        json_error_t jerr;
        json_auto_t *j = r->body.len ? json_loadb(r->body.data, r->body.len, 0, &jerr) : NULL;
        json_t *e = json_array_get(json_object_get(j, "errors"), 0);
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));

        if (code && msg)
                return xasprintf(": %s: %s", code, msg);
        if (code)
                return xasprintf(": %s", code);
        return xstrdup("");
}

int reg_status_error(struct reg_session *s, const struct reg_req *q, const struct reg_resp *r,
                     struct hoist_error **err)
{
        _cleanup_free_ char *detail = error_detail(r);

        if (r->status == 401)
                return s->creds ? rejected_error(s, "the registry", err) : no_creds_error(s, err);
        if (r->status == 403)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "%s: registry '%s' answered 403 forbidden%s (the account "
                                        "has no access to '%s')",
                                        q->what, s->host, detail, s->repo);
        return hoist_error_make(err, r->status == 404 ? HOIST_ERR_NOT_FOUND : HOIST_ERR_PROVIDER,
                                "%s: registry '%s' answered HTTP %ld%s", q->what, s->host,
                                r->status, detail);
}

/* For the hosts plain http is allowed for (loopback, --insecure,
 * HOIST_INSECURE_REGISTRIES), Docker's order: https first, plain http when
 * no TLS answers there.  Returns 1 for https: it answered, or a TLS server
 * did with a certificate that is not trusted (the request over https then
 * says so).  Returns 0 for http, with *RET_WHY what https said. */
static int probe_https(struct reg_session *s, CURL *h, char **ret_why)
{
        _cleanup_free_ char *url = xasprintf("https://%s/v2/", s->host);
        struct reg_resp resp = {0};
        struct reg_req q = {.method = "GET", .url = url, .out_fd = -1, .body_fd = -1};
        struct xfer x = {.s = s, .req = &q, .resp = &resp, .h = h};
        char errbuf[CURL_ERROR_SIZE];
        CURLcode rc = perform(&x, url, NULL, errbuf);

        reg_resp_clear(&resp);
        buf_free(&resp.body);
        if (rc == CURLE_OK || rc == CURLE_PEER_FAILED_VERIFICATION ||
            rc == CURLE_SSL_CACERT_BADFILE)
                return 1;
        *ret_why = xstrdup(errbuf[0] ? errbuf : curl_easy_strerror(rc));
        log_debug("registry '%s': https: %s; trying plain http", s->host, *ret_why);
        return 0;
}

/* The 400 a TLS server gives a plain http request ("Client sent an HTTP
 * request to an HTTPS server.", nginx's "The plain HTTP request was sent to
 * HTTPS port"). */
static int says_https_only(const struct reg_resp *r)
{
        _cleanup_free_ char *body = NULL;

        if (r->status != 400 || r->body.len == 0)
                return 0;
        body = xstrndup(r->body.data, r->body.len);
        return strcasestr(body, "HTTPS") != NULL;
}

int reg_session_open(const char *host, const char *repo, int push, const struct registry_options *o,
                     struct reg_session **ret, struct hoist_error **err)
{
        struct reg_session *s = xzalloc(sizeof *s);
        _cleanup_curl_ CURL *h = curl_easy_init();
        _cleanup_free_ char *url = NULL, *scope = NULL;
        _cleanup_free_ char *https_why = NULL;
        struct reg_resp resp = {0};
        int https = 1;

        pthread_mutex_init(&s->lock, NULL);
        s->host = xstrdup(host);
        s->repo = xstrdup(repo);
        s->push = push;
        s->insecure = registry_host_insecure(host, o ? o->insecure : 0);
        s->create_repository = (o != NULL && o->create_repository) || ecr_create_repository_env();
        if (o != NULL && o->username != NULL && o->password != NULL) {
                s->creds = xzalloc(sizeof *s->creds);
                s->creds->username = xstrdup(o->username);
                s->creds->password = xstrdup(o->password);
                s->creds->source = xstrdup(o->creds_source ? o->creds_source : "the caller");
                s->creds_looked_up = 1;
        }
        if (s->insecure && h != NULL)
                https = probe_https(s, h, &https_why);
        s->base = xasprintf("%s://%s", https ? "https" : "http", host);
        scope = xasprintf("repository:%s:%s", repo, push ? "pull,push" : "pull");
        add_scope_locked(s, scope);
        url = xasprintf("%s/v2/", s->base);
        struct reg_req q = {.method = "GET",
                            .url = url,
                            .out_fd = -1,
                            .body_fd = -1,
                            .what = "reach the registry (GET /v2/)",
                            .opts = o};
        if (h == NULL || reg_request(s, h, &q, &resp, err) < 0) {
                if (h == NULL)
                        hoist_error_make(err, ENOMEM, "curl_easy_init");
                goto fail;
        }
        if (resp.status != 200) {
                if (!https && says_https_only(&resp))
                        hoist_error_make(err, HOIST_ERR_PROVIDER,
                                         "%s: registry '%s' serves https, not plain http (it "
                                         "answered HTTP 400 to %s), and https failed: %s",
                                         q.what, host, url, https_why);
                else if (resp.status == 404)
                        hoist_error_make(err, HOIST_ERR_PROVIDER,
                                         "'%s' is not a registry: GET %s answered 404 (no "
                                         "registry API v2 there)",
                                         host, url);
                else
                        reg_status_error(s, &q, &resp, err);
                goto fail;
        }
        reg_resp_clear(&resp);
        buf_free(&resp.body);
        *ret = s;
        return 0;
fail:
        reg_resp_clear(&resp);
        buf_free(&resp.body);
        reg_session_free(s);
        return -1;
}

/* ---- helpers with no I/O ---- */

int registry_host_insecure(const char *host, int insecure_option)
{
        _cleanup_free_ char *name = NULL;
        const char *list = getenv("HOIST_INSECURE_REGISTRIES");

        if (insecure_option)
                return 1;
        if (host[0] == '[') {
                const char *close = strchr(host, ']');
                name = xstrndup(host + 1, close ? (size_t)(close - host - 1) : strlen(host + 1));
        } else {
                name = xstrndup(host, strcspn(host, ":"));
        }
        if (strcmp(name, "127.0.0.1") == 0 || strcmp(name, "::1") == 0 ||
            strcasecmp(name, "localhost") == 0)
                return 1;
        if (list != NULL) {
                _cleanup_free_ char *copy = xstrdup(list);
                char *save = NULL;
                for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
                        if (strcasecmp(t, host) == 0 || strcasecmp(t, name) == 0)
                                return 1;
        }
        return 0;
}

char *registry_resolve_location(const char *base, const char *location, const char *digest)
{
        _cleanup_free_ char *origin = NULL;
        char *abs;
        const char *scheme_end = strstr(base, "://");

        if (location == NULL || *location == '\0' || scheme_end == NULL)
                return NULL;
        origin = url_origin(base);
        if (strncasecmp(location, "http://", 7) == 0 || strncasecmp(location, "https://", 8) == 0) {
                abs = xstrdup(location);
        } else if (strncmp(location, "//", 2) == 0) {
                abs = xasprintf("%.*s:%s", (int)(scheme_end - base), base, location);
        } else if (location[0] == '/') {
                abs = xasprintf("%s%s", origin, location);
        } else {
                /* relative to the directory of BASE's path */
                size_t plen = strcspn(base, "?#");
                size_t olen = strlen(origin);
                size_t dir = plen;
                while (dir > olen && base[dir - 1] != '/')
                        dir--;
                if (dir <= olen)
                        abs = xasprintf("%s/%s", origin, location);
                else
                        abs = xasprintf("%.*s%s", (int)dir, base, location);
        }
        abs[strcspn(abs, "#")] = '\0';
        if (digest != NULL) {
                char *with;
                _cleanup_free_ char *esc = NULL;
                struct buf b = {0};
                for (const char *c = digest; *c; c++) {
                        if (*c == ':')
                                buf_append_str(&b, "%3A");
                        else
                                buf_append_char(&b, *c);
                }
                esc = buf_take(&b);
                with = xasprintf(
                        "%s%sdigest=%s", abs,
                        strchr(abs, '?')
                                ? (abs[strlen(abs) - 1] == '?' || abs[strlen(abs) - 1] == '&' ? ""
                                                                                              : "&")
                                : "?",
                        esc);
                free(abs);
                abs = with;
        }
        return abs;
}
