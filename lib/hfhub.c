/* SPDX-License-Identifier: MIT */
/*
 * The Hugging Face Hub's upload API: HTTP here, the answers' parsers in
 * hfhub_parse.c.  The request shapes follow huggingface_hub's commit API
 * (preupload, LFS batch with the basic and multipart transfers, the NDJSON
 * commit) as documented in docs/results.md.
 */
#include "hfhub.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "awsjson.h"
#include "buf.h"
#include "cleanup.h"
#include "log.h"
#include "s3_http.h"
#include "xalloc.h"

#define HFHUB_MAX_ATTEMPTS 5
#define HFHUB_BACKOFF_BASE_MS 500
#define HFHUB_BACKOFF_CAP_MS 20000
#define HFHUB_RETRY_AFTER_CAP_S 60
#define HFHUB_MAX_BODY (8 * 1024 * 1024)
#define LFS_JSON "application/vnd.git-lfs+json"

struct hfhub_client {
        char *endpoint; /* no trailing '/' */
        char *token;
};

int hfhub_client_new(const char *endpoint, const char *token, struct hfhub_client **ret,
                     struct hoist_error **err)
{
        struct hfhub_client *c;
        const char *e = endpoint;
        size_t len;

        if (e == NULL || *e == '\0')
                e = getenv("HF_ENDPOINT");
        if (e == NULL || *e == '\0')
                e = HFHUB_DEFAULT_ENDPOINT;
        if (strncasecmp(e, "https://", 8) != 0 && strncasecmp(e, "http://", 7) != 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "Hub endpoint '%s' is not an http(s) URL (set HF_ENDPOINT "
                                        "to one, or unset it for %s)",
                                        e, HFHUB_DEFAULT_ENDPOINT);
        c = xzalloc(sizeof *c);
        c->endpoint = xstrdup(e);
        len = strlen(c->endpoint);
        while (len > 0 && c->endpoint[len - 1] == '/')
                c->endpoint[--len] = '\0';
        c->token = xstrdup(token);
        *ret = c;
        return 0;
}

void hfhub_client_free(struct hfhub_client *c)
{
        if (c == NULL)
                return;
        if (c->token != NULL)
                explicit_bzero(c->token, strlen(c->token));
        free(c->token);
        free(c->endpoint);
        free(c);
}

const char *hfhub_client_endpoint(const struct hfhub_client *c)
{
        return c->endpoint;
}

/* ---- one request ---- */

struct hub_req {
        const char *what; /* names the request in errors; never a URL with a signature */
        const char *method;
        const char *url;
        bool auth; /* send the token: only to the Hub's own API */
        const char *content_type;
        const char *accept;
        char *const *headers; /* more "Name: value" lines, or NULL */
        const char *body;     /* in memory, or NULL */
        size_t body_len;
        int fd; /* or a range of a file: -1 for none */
        uint64_t off, len;
};

struct hub_resp {
        long status;
        struct buf body;
        char *etag;
        char *error_msg; /* X-Error-Message */
        long retry_after_s;
};

static void resp_clear(struct hub_resp *r)
{
        buf_free(&r->body);
        free(r->etag);
        free(r->error_msg);
        *r = (struct hub_resp){.retry_after_s = -1};
}

struct upload_src {
        int fd;
        uint64_t off, left;
};

static size_t read_range(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct upload_src *s = userdata;
        size_t want = size * nmemb;
        ssize_t n;

        if (want > s->left)
                want = (size_t)s->left;
        if (want == 0)
                return 0;
        do
                n = pread(s->fd, ptr, want, (off_t)s->off);
        while (n < 0 && errno == EINTR);
        if (n <= 0)
                return CURL_READFUNC_ABORT;
        s->off += (uint64_t)n;
        s->left -= (uint64_t)n;
        return (size_t)n;
}

static size_t write_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct buf *b = userdata;
        size_t n = size * nmemb;

        if (b->len + n > HFHUB_MAX_BODY)
                return 0;
        buf_append(b, ptr, n);
        return n;
}

/* The value of header line LINE (LEN bytes) when it is NAME, trimmed. */
static char *header_value(const char *line, size_t len, const char *name)
{
        size_t nl = strlen(name);
        const char *v, *end = line + len;

        if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
                return NULL;
        v = line + nl + 1;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
                end--;
        return xstrndup(v, (size_t)(end - v));
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct hub_resp *r = userdata;
        size_t n = size * nmemb;
        char *v;

        if ((v = header_value(ptr, n, "etag")) != NULL) {
                free(r->etag);
                r->etag = v;
        } else if ((v = header_value(ptr, n, "x-error-message")) != NULL) {
                free(r->error_msg);
                r->error_msg = v;
        } else if ((v = header_value(ptr, n, "retry-after")) != NULL) {
                char *end;
                long s = strtol(v, &end, 10);
                if (end != v && *end == '\0' && s >= 0)
                        r->retry_after_s =
                                s > HFHUB_RETRY_AFTER_CAP_S ? HFHUB_RETRY_AFTER_CAP_S : s;
                free(v);
        }
        return n;
}

static int perform_once(const struct hfhub_client *c, const struct hub_req *rq, struct hub_resp *rs,
                        struct hoist_error **err)
{
        _cleanup_curl_ CURL *h = curl_easy_init();
        _cleanup_curl_slist_ struct curl_slist *hdrs = NULL;
        char errbuf[CURL_ERROR_SIZE];
        struct upload_src src = {.fd = rq->fd, .off = rq->off, .left = rq->len};
        CURLcode rc;

        if (h == NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "%s: cannot start libcurl",
                                        rq->what);
        s3_http_setup(h, rq->url, errbuf);
        if (rq->auth && c->token != NULL) {
                _cleanup_free_ char *a = xasprintf("Authorization: Bearer %s", c->token);
                hdrs = curl_slist_append(hdrs, a);
                explicit_bzero(a, strlen(a));
        }
        if (rq->content_type != NULL) {
                _cleanup_free_ char *ct = xasprintf("Content-Type: %s", rq->content_type);
                hdrs = curl_slist_append(hdrs, ct);
        } else {
                hdrs = curl_slist_append(hdrs, "Content-Type:");
        }
        if (rq->accept != NULL) {
                _cleanup_free_ char *a = xasprintf("Accept: %s", rq->accept);
                hdrs = curl_slist_append(hdrs, a);
        }
        hdrs = curl_slist_append(hdrs, "Expect:");
        for (char *const *x = rq->headers; x != NULL && *x != NULL; x++)
                hdrs = curl_slist_append(hdrs, *x);
        (void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        (void)curl_easy_setopt(h, CURLOPT_USERAGENT, "hoist");
        (void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
        (void)curl_easy_setopt(h, CURLOPT_WRITEDATA, &rs->body);
        (void)curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        (void)curl_easy_setopt(h, CURLOPT_HEADERDATA, rs);
        if (rq->fd >= 0) {
                (void)curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
                (void)curl_easy_setopt(h, CURLOPT_READFUNCTION, read_range);
                (void)curl_easy_setopt(h, CURLOPT_READDATA, &src);
                (void)curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->len);
                (void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
        } else if (rq->body != NULL) {
                (void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
                (void)curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
                (void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
        } else {
                (void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
        }
        rc = curl_easy_perform(h);
        if (rc != CURLE_OK)
                return s3_http_error(err, rc, errbuf, rq->what);
        (void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
        buf_append(&rs->body, "", 0); /* a NUL after the body, not in it */
        return 0;
}

static bool retryable(long status)
{
        return status == 429 || status == 408 || status >= 500;
}

static void sleep_ms(int64_t ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Removes every occurrence of TOKEN from S (the Hub might echo it). */
static void redact(char *s, const char *token)
{
        size_t tl = token != NULL ? strlen(token) : 0;
        char *p;

        if (s == NULL || tl == 0)
                return;
        while ((p = strstr(s, token)) != NULL) {
                memcpy(p, "[redacted]", tl < 10 ? tl : 10);
                memmove(p + (tl < 10 ? tl : 10), p + tl, strlen(p + tl) + 1);
        }
}

/* Runs RQ, retrying transport failures, 408, 429 and 5xx; any status comes
 * back in RS (the caller decides what is an error). */
static int hub_request(const struct hfhub_client *c, const struct hub_req *rq, struct hub_resp *rs,
                       struct hoist_error **err)
{
        for (int attempt = 1;; attempt++) {
                struct hoist_error *e = NULL;
                int64_t wait;

                resp_clear(rs);
                if (perform_once(c, rq, rs, &e) == 0 && !retryable(rs->status))
                        return 0;
                if (attempt >= HFHUB_MAX_ATTEMPTS) {
                        if (e != NULL) {
                                *err = e;
                                return -1;
                        }
                        return 0; /* the caller reports the status */
                }
                wait = rs->retry_after_s >= 0
                               ? rs->retry_after_s * 1000
                               : awsjson_backoff_ms(attempt, HFHUB_BACKOFF_BASE_MS,
                                                    HFHUB_BACKOFF_CAP_MS,
                                                    (double)random() / ((double)RAND_MAX + 1.0));
                log_debug("%s: %s; retrying in %" PRId64 " ms", rq->what,
                          e != NULL ? e->msg : "server busy", wait);
                hoist_error_release(&e);
                sleep_ms(wait);
        }
}

/* The error for an answer RS to RQ that was not a success. */
static int status_error(const struct hfhub_client *c, const char *repo, const struct hub_req *rq,
                        const struct hub_resp *rs, struct hoist_error **err)
{
        _cleanup_free_ char *text = hfhub_error_text(rs->body.data, rs->body.len, rs->error_msg);
        int code = HOIST_ERR_PROVIDER;

        redact(text, c->token);
        if (rq->auth && (rs->status == 401 || rs->status == 403))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "%s: the Hub refused the token (HTTP %ld%s%s); give a "
                                        "token with write access to '%s' (huggingface.co/settings/"
                                        "tokens)",
                                        rq->what, rs->status, text ? ": " : "", text ? text : "",
                                        repo);
        if (rs->status == 404)
                code = HOIST_ERR_NOT_FOUND;
        return hoist_error_make(err, code, "%s: HTTP %ld%s%s", rq->what, rs->status,
                                text ? ": " : "", text ? text : "");
}

static char *escape(const char *s)
{
        struct buf b = {0};

        for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL)
                        buf_append_char(&b, (char)*p);
                else
                        buf_printf(&b, "%%%02X", *p);
        }
        buf_append(&b, "", 0);
        return buf_take(&b);
}

/* ---- create ---- */

int hfhub_create_repo(struct hfhub_client *c, const char *repo, bool private_repo,
                      bool *ret_created, struct hoist_error **err)
{
        const char *slash = strchr(repo, '/');
        json_t *body = NULL;
        _cleanup_free_ char *url = xasprintf("%s/api/repos/create", c->endpoint);
        _cleanup_free_ char *text = NULL, *what = xasprintf("create Hub repo '%s'", repo);
        struct hub_resp rs = {.retry_after_s = -1};
        int r = 0;

        if (!hfhub_repo_valid(repo))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' is not a Hub repo id (write it as user/name)", repo);
        body = json_object();
        json_object_set_new(body, "name", json_string(slash + 1));
        json_object_set_new(body, "organization", json_stringn(repo, (size_t)(slash - repo)));
        json_object_set_new(body, "private", json_boolean(private_repo));
        text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(body);
        struct hub_req rq = {.what = what,
                             .method = "POST",
                             .url = url,
                             .auth = true,
                             .content_type = "application/json",
                             .body = text,
                             .body_len = strlen(text),
                             .fd = -1};
        if (hub_request(c, &rq, &rs, err) < 0)
                return -1;
        if (rs.status == 200 || rs.status == 201 || rs.status == 409) {
                if (ret_created != NULL)
                        *ret_created = rs.status != 409;
                log_debug("Hub repo '%s': %s", repo, rs.status == 409 ? "exists" : "created");
        } else {
                r = status_error(c, repo, &rq, &rs, err);
        }
        resp_clear(&rs);
        return r;
}

/* ---- preupload ---- */

static int preupload(struct hfhub_client *c, const char *repo, const char *rev,
                     struct hfhub_file *files, size_t n, struct hoist_error **err)
{
        _cleanup_free_ char *erepo = NULL, *erev = escape(rev);
        _cleanup_free_ char *what = xasprintf("Hub repo '%s': preupload", repo);

        erepo = xstrdup(repo); /* validated: only [A-Za-z0-9._-] and one '/' */
        _cleanup_free_ char *url =
                xasprintf("%s/api/models/%s/preupload/%s", c->endpoint, erepo, erev);
        for (size_t start = 0; start < n; start += HFHUB_PREUPLOAD_BATCH) {
                size_t end = start + HFHUB_PREUPLOAD_BATCH < n ? start + HFHUB_PREUPLOAD_BATCH : n;
                json_auto_t *body = json_object(), *arr = json_array();
                _cleanup_free_ char *text = NULL;
                struct hub_resp rs = {.retry_after_s = -1};

                for (size_t i = start; i < end; i++)
                        json_array_append_new(arr, json_pack("{s:s,s:s,s:I}", "path", files[i].path,
                                                             "sample", files[i].sample64, "size",
                                                             (json_int_t)files[i].size));
                json_object_set(body, "files", arr);
                text = json_dumps(body, JSON_COMPACT);
                struct hub_req rq = {.what = what,
                                     .method = "POST",
                                     .url = url,
                                     .auth = true,
                                     .content_type = "application/json",
                                     .body = text,
                                     .body_len = strlen(text),
                                     .fd = -1};
                if (hub_request(c, &rq, &rs, err) < 0)
                        return -1;
                if (rs.status != 200) {
                        (void)status_error(c, repo, &rq, &rs, err);
                        resp_clear(&rs);
                        return -1;
                }
                int r = hfhub_parse_preupload(rs.body.data, rs.body.len, files + start, end - start,
                                              err);
                resp_clear(&rs);
                if (r < 0)
                        return hoist_error_wrap(err, "%s", what);
        }
        for (size_t i = 0; i < n; i++)
                if (files[i].size > HFHUB_REGULAR_MAX)
                        files[i].lfs = true;
        return 0;
}

/* ---- LFS ---- */

static int lfs_post(struct hfhub_client *c, const char *repo, const char *what,
                    const struct hfhub_lfs_action *a, const char *body, struct hoist_error **err)
{
        struct hub_resp rs = {.retry_after_s = -1};
        struct hub_req rq = {.what = what,
                             .method = "POST",
                             .url = a->href,
                             .content_type = LFS_JSON,
                             .accept = LFS_JSON,
                             .headers = a->headers,
                             .body = body,
                             .body_len = strlen(body),
                             .fd = -1};
        int r = 0;

        /* An action URL carries its own authorization (signed, or in the
         * headers the batch answer gave): the token never goes there. */
        if (hub_request(c, &rq, &rs, err) < 0)
                return -1;
        if (rs.status < 200 || rs.status > 299)
                r = status_error(c, repo, &rq, &rs, err);
        resp_clear(&rs);
        return r;
}

static int lfs_put(struct hfhub_client *c, const char *repo, const char *what, const char *url,
                   char *const *headers, int fd, uint64_t off, uint64_t len, char **ret_etag,
                   struct hoist_error **err)
{
        struct hub_resp rs = {.retry_after_s = -1};
        struct hub_req rq = {.what = what,
                             .method = "PUT",
                             .url = url,
                             .headers = headers,
                             .fd = fd,
                             .off = off,
                             .len = len};
        int r = 0;

        if (hub_request(c, &rq, &rs, err) < 0)
                return -1;
        if (rs.status < 200 || rs.status > 299)
                r = status_error(c, repo, &rq, &rs, err);
        else if (ret_etag != NULL) {
                if (rs.etag == NULL || rs.etag[0] == '\0')
                        r = hoist_error_make(err, HOIST_ERR_PROVIDER,
                                             "%s: the storage answered without an ETag", what);
                else
                        *ret_etag = TAKE_PTR(rs.etag);
        }
        resp_clear(&rs);
        return r;
}

static int lfs_multipart(struct hfhub_client *c, const char *repo, const struct hfhub_file *f,
                         const struct hfhub_lfs_object *o, int fd, struct hoist_error **err)
{
        uint64_t want = o->chunk_size > 0 ? (f->size + o->chunk_size - 1) / o->chunk_size : 0;
        json_auto_t *done = json_object(), *parts = json_array();
        _cleanup_free_ char *text = NULL, *what = NULL;

        if (o->chunk_size == 0 || want != o->n_parts)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "Hub repo '%s': LFS '%s': the Hub gave %zu part URLs for "
                                        "%" PRIu64 " bytes in chunks of %" PRIu64,
                                        repo, f->path, o->n_parts, f->size, o->chunk_size);
        for (size_t i = 0; i < o->n_parts; i++) {
                uint64_t off = (uint64_t)i * o->chunk_size;
                uint64_t len = f->size - off < o->chunk_size ? f->size - off : o->chunk_size;
                _cleanup_free_ char *etag = NULL;
                _cleanup_free_ char *pw = xasprintf("Hub repo '%s': LFS '%s': part %zu of %zu",
                                                    repo, f->path, i + 1, o->n_parts);
                if (lfs_put(c, repo, pw, o->parts[i], NULL, fd, off, len, &etag, err) < 0)
                        return -1;
                json_array_append_new(parts, json_pack("{s:I,s:s}", "partNumber",
                                                       (json_int_t)(i + 1), "etag", etag));
        }
        json_object_set_new(done, "oid", json_string(f->sha256));
        json_object_set(done, "parts", parts);
        text = json_dumps(done, JSON_COMPACT);
        what = xasprintf("Hub repo '%s': LFS '%s': complete the multipart upload", repo, f->path);
        return lfs_post(c, repo, what, &o->upload, text, err);
}

static int lfs_upload_one(struct hfhub_client *c, const char *repo, const struct hfhub_file *f,
                          const struct hfhub_lfs_object *o, struct hoist_error **err)
{
        _cleanup_close_ int fd = -1;

        if (o->error != NULL) {
                _cleanup_free_ char *e = xstrdup(o->error);
                redact(e, c->token);
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "Hub repo '%s': LFS '%s': %s",
                                        repo, f->path, e);
        }
        if (!o->has_upload) {
                log_debug("Hub repo '%s': '%s' is there already", repo, f->path);
                return 0;
        }
        fd = open(f->local, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return hoist_error_errno(err, "open '%s'", f->local);
        if (o->n_parts > 0) {
                if (lfs_multipart(c, repo, f, o, fd, err) < 0)
                        return -1;
        } else {
                _cleanup_free_ char *what =
                        xasprintf("Hub repo '%s': LFS '%s': upload", repo, f->path);
                if (lfs_put(c, repo, what, o->upload.href, o->upload.headers, fd, 0, f->size, NULL,
                            err) < 0)
                        return -1;
        }
        if (o->has_verify) {
                _cleanup_free_ char *body = NULL, *what = NULL;
                json_auto_t *v =
                        json_pack("{s:s,s:I}", "oid", f->sha256, "size", (json_int_t)f->size);
                body = json_dumps(v, JSON_COMPACT);
                what = xasprintf("Hub repo '%s': LFS '%s': verify", repo, f->path);
                if (lfs_post(c, repo, what, &o->verify, body, err) < 0)
                        return -1;
        }
        return 0;
}

/* Whether FILES[I] goes through LFS and no earlier file of FILES has its
 * bytes (identical files are one LFS object). */
static bool lfs_first(const struct hfhub_file *files, size_t i)
{
        if (!files[i].lfs || files[i].ignored)
                return false;
        for (size_t k = 0; k < i; k++)
                if (files[k].lfs && !files[k].ignored &&
                    strcmp(files[k].sha256, files[i].sha256) == 0)
                        return false;
        return true;
}

/* The LFS batch request for the LFS files among FILES, and their uploads. */
static int lfs_upload(struct hfhub_client *c, const char *repo, const char *rev,
                      const struct hfhub_file *files, size_t n, struct hoist_error **err)
{
        json_auto_t *body = json_object(), *objs = json_array();
        _cleanup_free_ char *text = NULL, *url = NULL;
        _cleanup_free_ char *what = xasprintf("Hub repo '%s': LFS batch", repo);
        struct hub_resp rs = {.retry_after_s = -1};
        struct hfhub_lfs_object *o = NULL;
        size_t no = 0, want = 0;
        int r = 0;

        for (size_t i = 0; i < n; i++) {
                if (!lfs_first(files, i))
                        continue;
                json_array_append_new(objs, json_pack("{s:s,s:I}", "oid", files[i].sha256, "size",
                                                      (json_int_t)files[i].size));
                want++;
        }
        if (want == 0)
                return 0;
        json_object_set_new(body, "operation", json_string("upload"));
        json_object_set_new(body, "transfers", json_pack("[s,s]", "basic", "multipart"));
        json_object_set(body, "objects", objs);
        json_object_set_new(body, "hash_algo", json_string("sha256"));
        json_object_set_new(body, "ref", json_pack("{s:s}", "name", rev));
        text = json_dumps(body, JSON_COMPACT);
        url = xasprintf("%s/%s.git/info/lfs/objects/batch", c->endpoint, repo);
        struct hub_req rq = {.what = what,
                             .method = "POST",
                             .url = url,
                             .auth = true,
                             .content_type = LFS_JSON,
                             .accept = LFS_JSON,
                             .body = text,
                             .body_len = strlen(text),
                             .fd = -1};
        if (hub_request(c, &rq, &rs, err) < 0)
                return -1;
        if (rs.status != 200) {
                r = status_error(c, repo, &rq, &rs, err);
                resp_clear(&rs);
                return r;
        }
        r = hfhub_parse_lfs_batch(rs.body.data, rs.body.len, &o, &no, err);
        resp_clear(&rs);
        if (r < 0)
                return hoist_error_wrap(err, "%s", what);
        for (size_t i = 0; i < n && r == 0; i++) {
                const struct hfhub_lfs_object *m = NULL;
                if (!lfs_first(files, i))
                        continue;
                for (size_t k = 0; k < no && m == NULL; k++)
                        if (strcmp(o[k].oid, files[i].sha256) == 0)
                                m = &o[k];
                if (m == NULL)
                        r = hoist_error_make(err, HOIST_ERR_PROVIDER,
                                             "%s: the answer leaves out '%s' (%s)", what,
                                             files[i].path, files[i].sha256);
                else if (m->size != files[i].size)
                        r = hoist_error_make(err, HOIST_ERR_PROVIDER,
                                             "%s: '%s' is %" PRIu64
                                             " bytes; the answer says %" PRIu64,
                                             what, files[i].path, files[i].size, m->size);
                else
                        r = lfs_upload_one(c, repo, &files[i], m, err);
        }
        hfhub_lfs_objects_free(o, no);
        return r;
}

/* ---- commit ---- */

int hfhub_upload(struct hfhub_client *c, const char *repo, const char *revision,
                 struct hfhub_file *files, size_t n, const char *summary, struct hfhub_commit *ret,
                 struct hoist_error **err)
{
        const char *rev = revision != NULL && *revision != '\0' ? revision : "main";
        _cleanup_free_ char *erev = escape(rev), *body = NULL, *url = NULL;
        _cleanup_free_ char *what = xasprintf("Hub repo '%s': commit to '%s'", repo, rev);
        struct hub_resp rs = {.retry_after_s = -1};
        struct hfhub_commit out = {0};
        size_t body_len = 0;
        int r;

        if (!hfhub_repo_valid(repo))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' is not a Hub repo id (write it as user/name)", repo);
        if (n == 0)
                return hoist_error_make(err, HOIST_ERR_INPUT, "Hub repo '%s': nothing to upload",
                                        repo);
        if (preupload(c, repo, rev, files, n, err) < 0 ||
            lfs_upload(c, repo, rev, files, n, err) < 0)
                return -1;
        if (hfhub_commit_body(files, n, summary, &body, &body_len, err) < 0)
                return -1;
        url = xasprintf("%s/api/models/%s/commit/%s", c->endpoint, repo, erev);
        struct hub_req rq = {.what = what,
                             .method = "POST",
                             .url = url,
                             .auth = true,
                             .content_type = "application/x-ndjson",
                             .body = body,
                             .body_len = body_len,
                             .fd = -1};
        if (hub_request(c, &rq, &rs, err) < 0)
                return -1;
        if (rs.status != 200 && rs.status != 201) {
                r = status_error(c, repo, &rq, &rs, err);
                resp_clear(&rs);
                return r;
        }
        r = hfhub_parse_commit(rs.body.data, rs.body.len, &out, err);
        resp_clear(&rs);
        if (r < 0)
                return hoist_error_wrap(err, "%s", what);
        for (size_t i = 0; i < n; i++) {
                if (files[i].ignored)
                        continue;
                out.n_files++;
                out.bytes += files[i].size;
                if (files[i].lfs) {
                        out.n_lfs++;
                        out.lfs_bytes += files[i].size;
                }
        }
        *ret = out;
        return 0;
}

void hfhub_commit_clear(struct hfhub_commit *c)
{
        free(c->url);
        free(c->oid);
        *c = (struct hfhub_commit){0};
}
