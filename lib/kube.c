/* SPDX-License-Identifier: MIT */
#include <curl/curl.h>

#include "kube.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "kubeexec.h"
#include "log.h"
#include "webhook.h"
#include "xalloc.h"

/* A JSON answer larger than this is refused (a list of every pod of a big
 * cluster stays far below it). */
#define KUBE_MAX_BODY (256u * 1024 * 1024)
/* One watch event: an object the API server itself caps at 1.5 MiB in etcd,
 * with room to spare. */
#define KUBE_MAX_EVENT (16u * 1024 * 1024)
#define KUBE_ERROR_BODY (64u * 1024)
#define KUBE_MAX_MESSAGE 500
/* Retries of a GET the server asked to be retried (429, 503). */
#define KUBE_GET_ATTEMPTS 4

struct kube_client {
        struct kube_config *cfg;
        pthread_mutex_t lock;
        char *token; /* the token a token file held when last read */
        struct kube_exec_credential exec;
        int have_exec;
};

/* The credential one request uses, copied out under the lock. */
struct kube_creds {
        char *token;
        char *cert;
        size_t cert_len;
        char *key;
        size_t key_len;
};

static void creds_clear(struct kube_creds *k)
{
        if (k->token)
                explicit_bzero(k->token, strlen(k->token));
        free(k->token);
        free(k->cert);
        if (k->key)
                explicit_bzero(k->key, k->key_len);
        free(k->key);
        memset(k, 0, sizeof *k);
}

static char *dup_mem(const char *p, size_t len)
{
        if (p == NULL)
                return NULL;
        char *d = xmalloc(len + 1);
        memcpy(d, p, len);
        d[len] = '\0';
        return d;
}

int kube_client_new(const struct kube_config *cfg, struct kube_client **ret,
                    struct hoist_error **err)
{
        struct kube_client *c;

        if (cfg == NULL || cfg->server == NULL)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "kube client: the config names no API server");
        c = xzalloc(sizeof *c);
        c->cfg = kube_config_dup(cfg);
        c->token = xstrdup(cfg->token);
        pthread_mutex_init(&c->lock, NULL);
        *ret = c;
        return 0;
}

void kube_client_free(struct kube_client *c)
{
        if (c == NULL)
                return;
        kube_exec_credential_clear(&c->exec);
        if (c->token)
                explicit_bzero(c->token, strlen(c->token));
        free(c->token);
        kube_config_free(c->cfg);
        pthread_mutex_destroy(&c->lock);
        free(c);
}

const char *kube_client_namespace(const struct kube_client *c)
{
        return c->cfg->namespace ? c->cfg->namespace : "default";
}

/* What a plugin with provideClusterInfo is told about the cluster. */
static json_t *cluster_info(const struct kube_config *cfg)
{
        json_t *c = json_pack("{s:s}", "server", cfg->server);

        if (cfg->ca_data != NULL) {
                _cleanup_free_ char *b64 = webhook_base64_encode(cfg->ca_data, cfg->ca_data_len);
                json_object_set_new(c, "certificate-authority-data", json_string(b64));
        }
        if (cfg->insecure)
                json_object_set_new(c, "insecure-skip-tls-verify", json_true());
        return c;
}

static int refresh_locked(struct kube_client *c, int force, struct hoist_error **err)
{
        const struct kube_config *cfg = c->cfg;

        if (cfg->exec_argv != NULL) {
                int64_t now = (int64_t)time(NULL);
                if (!force && c->have_exec && (c->exec.expires == 0 || now < c->exec.expires))
                        return 0;
                struct kube_exec_credential fresh = {0};
                json_auto_t *cluster = cfg->exec_provide_cluster_info ? cluster_info(cfg) : NULL;
                if (kube_exec_run(cfg->exec_argv, cfg->exec_env, cfg->exec_api_version, cluster,
                                  &fresh, err) < 0) {
                        if (cfg->exec_install_hint && (*err)->code != HOIST_ERR_PROVIDER)
                                return hoist_error_wrap(err, "kubeconfig '%s': user '%s' (%s)",
                                                        cfg->source, cfg->user,
                                                        cfg->exec_install_hint);
                        return hoist_error_wrap(err, "kubeconfig '%s': user '%s'", cfg->source,
                                                cfg->user);
                }
                kube_exec_credential_clear(&c->exec);
                c->exec = fresh;
                c->have_exec = 1;
                log_debug("kube: exec credential from '%s'%s", cfg->exec_argv[0],
                          fresh.expires ? ", cached until its expiry" : "");
                return 0;
        }
        if (force && cfg->token_file != NULL) {
                char *data = NULL;
                size_t len = 0;
                if (fs_read_file(cfg->token_file, &data, &len, err) < 0)
                        return hoist_error_wrap(err, "kubeconfig '%s': user '%s': tokenFile",
                                                cfg->source, cfg->user ? cfg->user : "");
                while (len > 0 &&
                       (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
                        data[--len] = '\0';
                if (c->token)
                        explicit_bzero(c->token, strlen(c->token));
                free(c->token);
                c->token = data;
        }
        return 0;
}

int kube_client_prepare_credentials(struct kube_client *c, int force, struct hoist_error **err)
{
        pthread_mutex_lock(&c->lock);
        int r = refresh_locked(c, force, err);
        pthread_mutex_unlock(&c->lock);
        return r;
}

/* Whether another credential could be had after a 401. */
static int can_refresh(const struct kube_client *c)
{
        return c->cfg->exec_argv != NULL || c->cfg->token_file != NULL;
}

static int get_creds(struct kube_client *c, int force, struct kube_creds *k,
                     struct hoist_error **err)
{
        const struct kube_config *cfg = c->cfg;

        pthread_mutex_lock(&c->lock);
        if (refresh_locked(c, force, err) < 0) {
                pthread_mutex_unlock(&c->lock);
                return -1;
        }
        if (c->have_exec && c->exec.token)
                k->token = xstrdup(c->exec.token);
        else
                k->token = xstrdup(c->token);
        if (c->have_exec && c->exec.cert_data) {
                k->cert = dup_mem(c->exec.cert_data, c->exec.cert_data_len);
                k->cert_len = c->exec.cert_data_len;
                k->key = dup_mem(c->exec.key_data, c->exec.key_data_len);
                k->key_len = c->exec.key_data_len;
        } else if (cfg->cert_data) {
                k->cert = dup_mem(cfg->cert_data, cfg->cert_data_len);
                k->cert_len = cfg->cert_data_len;
                k->key = dup_mem(cfg->key_data, cfg->key_data_len);
                k->key_len = cfg->key_data_len;
        }
        pthread_mutex_unlock(&c->lock);
        return 0;
}

/* ---- one transfer ---- */

enum xfer_mode { XFER_BODY, XFER_WATCH, XFER_STREAM };

struct xfer {
        enum xfer_mode mode;
        CURL *h;
        long status;
        struct buf body; /* XFER_BODY: the answer; else a non-200 answer */
        int too_large;
        /* XFER_WATCH */
        struct buf line;
        int (*on_event)(void *ud, const char *type, json_t *object);
        void *ud;
        char *rv;
        int gone, stopped, failed;
        struct hoist_error *werr;
        /* XFER_STREAM */
        int fd;
};

static int watch_line(struct xfer *x, const char *line, size_t len)
{
        json_auto_t *obj = NULL;
        const char *type = NULL;

        if (len == 0)
                return 0;
        if (kube_watch_parse_event(line, len, &type, &obj, &x->werr) < 0) {
                x->failed = 1;
                return -1;
        }
        if (strcmp(type, "ERROR") == 0) {
                json_int_t code = json_integer_value(json_object_get(obj, "code"));
                if (code == 410) {
                        x->gone = 1;
                        return -1;
                }
                _cleanup_free_ char *msg = kube_status_message((long)code, obj);
                x->failed = 1;
                (void)hoist_error_make(&x->werr, HOIST_ERR_PROVIDER, "watch error event: %s", msg);
                return -1;
        }
        const char *rv = json_string_value(
                json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
        if (rv != NULL && *rv != '\0') {
                free(x->rv);
                x->rv = xstrdup(rv);
        }
        if (x->on_event(x->ud, type, obj) != 0) {
                x->stopped = 1;
                return -1;
        }
        return 0;
}

static int watch_data(struct xfer *x, const char *data, size_t n)
{
        buf_append(&x->line, data, n);
        for (;;) {
                char *nl = memchr(x->line.data, '\n', x->line.len);
                if (nl == NULL)
                        break;
                size_t len = (size_t)(nl - x->line.data), rest = x->line.len - len - 1;
                if (len > 0 && x->line.data[len - 1] == '\r')
                        len--;
                if (watch_line(x, x->line.data, len) < 0)
                        return -1;
                memmove(x->line.data, nl + 1, rest);
                buf_truncate(&x->line, rest);
        }
        if (x->line.len > KUBE_MAX_EVENT) {
                x->failed = 1;
                (void)hoist_error_make(&x->werr, HOIST_ERR_PROVIDER,
                                       "a watch event is larger than %u bytes", KUBE_MAX_EVENT);
                return -1;
        }
        return 0;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
        struct xfer *x = ud;
        size_t n = size * nmemb;

        if (x->status == 0)
                (void)curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
        if (x->mode == XFER_BODY || x->status != 200) {
                size_t cap =
                        x->mode == XFER_BODY && x->status < 300 ? KUBE_MAX_BODY : KUBE_ERROR_BODY;
                if (x->body.len + n > cap) {
                        if (cap == KUBE_MAX_BODY) {
                                x->too_large = 1;
                                return 0;
                        }
                        return n; /* the start of an error answer is enough */
                }
                buf_append(&x->body, data, n);
                return n;
        }
        if (x->mode == XFER_STREAM) {
                if (fs_write_all(x->fd, data, n) < 0) {
                        x->failed = 1;
                        (void)hoist_error_errno(&x->werr, "write the stream");
                        return 0;
                }
                return n;
        }
        return watch_data(x, data, n) < 0 ? 0 : n;
}

static void xfer_clear(struct xfer *x)
{
        buf_free(&x->body);
        buf_free(&x->line);
        free(x->rv);
        x->rv = NULL;
        hoist_error_release(&x->werr);
}

static void set_tls(const struct kube_config *cfg, CURL *h)
{
        if (strncasecmp(cfg->server, "https://", 8) != 0)
                return;
        if (cfg->insecure) {
                (void)curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
                (void)curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        } else if (cfg->ca_data) {
                struct curl_blob blob = {cfg->ca_data, cfg->ca_data_len, CURL_BLOB_COPY};
                (void)curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
        } else if (cfg->ca_file) {
                (void)curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
        } else {
                /* Only where the kubeconfig names no CA. */
                const char *ca = getenv("CURL_CA_BUNDLE");
                if (ca == NULL || *ca == '\0')
                        ca = getenv("SSL_CERT_FILE");
                if (ca != NULL && *ca != '\0')
                        (void)curl_easy_setopt(h, CURLOPT_CAINFO, ca);
        }
}

static void set_client_cert(const struct kube_config *cfg, const struct kube_creds *k, CURL *h)
{
        if (k->cert != NULL) {
                struct curl_blob cert = {k->cert, k->cert_len, CURL_BLOB_COPY};
                struct curl_blob key = {k->key, k->key_len, CURL_BLOB_COPY};
                (void)curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
                (void)curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
                (void)curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
                (void)curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
        } else if (cfg->cert_file != NULL) {
                (void)curl_easy_setopt(h, CURLOPT_SSLCERT, cfg->cert_file);
                (void)curl_easy_setopt(h, CURLOPT_SSLKEY, cfg->key_file);
        }
}

/* One attempt of METHOD PATH.  Returns the CURLcode; X holds the status. */
static CURLcode perform(struct kube_client *c, const char *method, const char *url,
                        const char *content_type, const char *body, const struct kube_creds *k,
                        struct xfer *x, char errbuf[CURL_ERROR_SIZE])
{
        _cleanup_curl_ CURL *h = curl_easy_init();
        _cleanup_curl_slist_ struct curl_slist *hdrs = NULL;
        _cleanup_free_ char *auth = NULL, *ctype = NULL;
        CURLcode rc;

        if (h == NULL)
                return CURLE_FAILED_INIT;
        x->h = h;
        errbuf[0] = '\0';
        (void)curl_easy_setopt(h, CURLOPT_URL, url);
        (void)curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        (void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        (void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
        (void)curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
        (void)curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        (void)curl_easy_setopt(h, CURLOPT_USERAGENT, "hoist/" HOIST_VERSION);
        (void)curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
        set_tls(c->cfg, h);
        set_client_cert(c->cfg, k, h);
        (void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
        (void)curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
        if (x->mode == XFER_BODY) {
                (void)curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
        } else {
                /* A watch or a log stream may stay quiet for long; keepalive and the
                 * server's timeoutSeconds end a dead one. */
                (void)curl_easy_setopt(h, CURLOPT_TIMEOUT, 0L);
        }
        hdrs = curl_slist_append(hdrs, x->mode == XFER_STREAM ? "Accept: */*"
                                                              : "Accept: application/json");
        if (k->token != NULL && *k->token != '\0')
                hdrs = curl_slist_append(hdrs,
                                         auth = xasprintf("Authorization: Bearer %s", k->token));
        if (strcmp(method, "GET") != 0)
                (void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        if (body != NULL) {
                hdrs = curl_slist_append(
                        hdrs, ctype = xasprintf("Content-Type: %s",
                                                content_type ? content_type : "application/json"));
                (void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
                (void)curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
                hdrs = curl_slist_append(hdrs, "Expect:");
        }
        (void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        rc = curl_easy_perform(h);
        if (x->status == 0)
                (void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x->status);
        if (auth)
                explicit_bzero(auth, strlen(auth));
        x->h = NULL;
        return rc;
}

static char *make_url(const struct kube_client *c, const char *path)
{
        return xasprintf("%s%s%s", c->cfg->server, path[0] == '/' ? "" : "/", path);
}

static int transport_error(const struct kube_client *c, const char *method, const char *path,
                           CURLcode rc, const char *errbuf, struct hoist_error **err)
{
        const char *hint = "";

        if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
                hint = " (check the cluster's certificate-authority in the kubeconfig)";
        else if (rc == CURLE_SSL_CERTPROBLEM)
                hint = " (check the user's client-certificate and client-key)";
        else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
                hint = " (is the cluster's server right, and reachable from here?)";
        return hoist_error_make(err, HOIST_ERR_PROVIDER, "kubernetes %s %s: %s: %s%s", method, path,
                                c->cfg->server, errbuf[0] ? errbuf : curl_easy_strerror(rc), hint);
}

static int64_t retry_delay_ms(int attempt)
{
        return 500LL << (attempt < 5 ? attempt : 5);
}

int kube_request(struct kube_client *c, const char *method, const char *path,
                 const char *content_type, const char *body, long *ret_status, json_t **ret_json,
                 struct hoist_error **err)
{
        _cleanup_free_ char *url = make_url(c, path);
        char errbuf[CURL_ERROR_SIZE];
        int refreshed = 0;

        for (int attempt = 0;; attempt++) {
                struct kube_creds k = {0};
                struct xfer x = {.mode = XFER_BODY};

                if (get_creds(c, refreshed == 1, &k, err) < 0)
                        return hoist_error_wrap(err, "kubernetes %s %s", method, path);
                CURLcode rc = perform(c, method, url, content_type, body, &k, &x, errbuf);
                creds_clear(&k);
                if (rc != CURLE_OK && !(x.too_large && x.status >= 200 && x.status < 300)) {
                        xfer_clear(&x);
                        return transport_error(c, method, path, rc, errbuf, err);
                }
                if (x.too_large) {
                        xfer_clear(&x);
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "kubernetes %s %s: the answer is larger than %u "
                                                "bytes",
                                                method, path, KUBE_MAX_BODY);
                }
                if (x.status == 401 && !refreshed && can_refresh(c)) {
                        refreshed = 1;
                        xfer_clear(&x);
                        continue;
                }
                if (refreshed == 1)
                        refreshed = 2;
                if ((x.status == 429 || x.status == 503) && strcmp(method, "GET") == 0 &&
                    attempt + 1 < KUBE_GET_ATTEMPTS) {
                        log_debug("kubernetes GET %s: HTTP %ld, trying again", path, x.status);
                        xfer_clear(&x);
                        int64_t ms = retry_delay_ms(attempt);
                        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
                        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                                ;
                        continue;
                }
                log_debug("kubernetes %s %s: HTTP %ld", method, path, x.status);
                json_t *doc = NULL;
                if (x.body.len > 0) {
                        doc = json_loadb(x.body.data, x.body.len, 0, NULL);
                        if (doc == NULL)
                                log_debug("kubernetes %s %s: HTTP %ld, the body is not JSON",
                                          method, path, x.status);
                }
                *ret_status = x.status;
                if (ret_json)
                        *ret_json = doc;
                else
                        json_decref(doc);
                xfer_clear(&x);
                return 0;
        }
}

static char *watch_url(const struct kube_client *c, const char *path, const char *rv, int timeout_s)
{
        struct buf b = {0};

        buf_printf(&b, "%s%s%s%swatch=1&allowWatchBookmarks=true", c->cfg->server,
                   path[0] == '/' ? "" : "/", path, strchr(path, '?') ? "&" : "?");
        if (rv != NULL && *rv != '\0') {
                _cleanup_free_ char *e = kube_query_escape(rv);
                buf_printf(&b, "&resourceVersion=%s", e);
        }
        if (timeout_s > 0)
                buf_printf(&b, "&timeoutSeconds=%d", timeout_s);
        return buf_take(&b);
}

static int status_error(long status, struct buf *body, const char *what, const char *path,
                        struct hoist_error **err)
{
        json_auto_t *doc = body->len ? json_loadb(body->data, body->len, 0, NULL) : NULL;
        _cleanup_free_ char *msg = kube_status_message(status, doc);

        return hoist_error_make(err, status == 404 ? HOIST_ERR_NOT_FOUND : HOIST_ERR_PROVIDER,
                                "kubernetes %s %s: %s", what, path, msg);
}

int kube_watch(struct kube_client *c, const char *path, const char *resource_version, int timeout_s,
               int (*on_event)(void *ud, const char *type, json_t *object), void *ud,
               char **ret_resource_version, struct hoist_error **err)
{
        _cleanup_free_ char *url = watch_url(c, path, resource_version, timeout_s);
        char errbuf[CURL_ERROR_SIZE];

        for (int refreshed = 0;; refreshed++) {
                struct kube_creds k = {0};
                struct xfer x = {.mode = XFER_WATCH, .on_event = on_event, .ud = ud};
                int r;

                x.rv = xstrdup(resource_version);
                if (get_creds(c, refreshed, &k, err) < 0) {
                        xfer_clear(&x);
                        return hoist_error_wrap(err, "kubernetes watch %s", path);
                }
                CURLcode rc = perform(c, "GET", url, NULL, NULL, &k, &x, errbuf);
                creds_clear(&k);
                if (x.failed) {
                        *err = TAKE_PTR(x.werr);
                        r = hoist_error_wrap(err, "kubernetes watch %s", path);
                } else if (x.gone || x.status == 410) {
                        r = KUBE_WATCH_GONE;
                } else if (x.stopped) {
                        r = 0;
                } else if (x.status == 0) {
                        r = transport_error(c, "watch", path, rc, errbuf, err);
                } else if (x.status == 401 && !refreshed && can_refresh(c)) {
                        xfer_clear(&x);
                        continue;
                } else if (x.status != 200) {
                        r = status_error(x.status, &x.body, "watch", path, err);
                } else {
                        /* The stream ended (timeoutSeconds) or dropped: both mean
                         * reconnect from the last resourceVersion.  A last line
                         * without its newline is read only when the end was clean. */
                        r = 0;
                        if (rc == CURLE_OK && x.line.len > 0 &&
                            watch_line(&x, x.line.data, x.line.len) < 0 && x.failed) {
                                *err = TAKE_PTR(x.werr);
                                r = hoist_error_wrap(err, "kubernetes watch %s", path);
                        } else if (x.gone) {
                                r = KUBE_WATCH_GONE;
                        }
                        if (rc != CURLE_OK)
                                log_debug("kubernetes watch %s: the stream dropped: %s", path,
                                          errbuf[0] ? errbuf : curl_easy_strerror(rc));
                }
                if (r >= 0 && ret_resource_version)
                        *ret_resource_version = TAKE_PTR(x.rv);
                xfer_clear(&x);
                return r;
        }
}

int kube_stream(struct kube_client *c, const char *path, int fd, struct hoist_error **err)
{
        _cleanup_free_ char *url = make_url(c, path);
        char errbuf[CURL_ERROR_SIZE];

        for (int refreshed = 0;; refreshed++) {
                struct kube_creds k = {0};
                struct xfer x = {.mode = XFER_STREAM, .fd = fd};
                int r = 0;

                if (get_creds(c, refreshed, &k, err) < 0)
                        return hoist_error_wrap(err, "kubernetes stream %s", path);
                CURLcode rc = perform(c, "GET", url, NULL, NULL, &k, &x, errbuf);
                creds_clear(&k);
                if (x.failed) {
                        *err = TAKE_PTR(x.werr);
                        r = hoist_error_wrap(err, "kubernetes stream %s", path);
                } else if (x.status == 401 && !refreshed && can_refresh(c)) {
                        xfer_clear(&x);
                        continue;
                } else if (x.status != 0 && x.status != 200) {
                        r = status_error(x.status, &x.body, "stream", path, err);
                } else if (rc != CURLE_OK) {
                        r = transport_error(c, "stream", path, rc, errbuf, err);
                }
                xfer_clear(&x);
                return r;
        }
}

/* ---- pure helpers ---- */

int kube_watch_parse_event(const char *line, size_t len, const char **ret_type, json_t **ret_object,
                           struct hoist_error **err)
{
        static const char *const types[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};
        json_error_t jerr;
        json_auto_t *doc = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);

        if (doc == NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "a watch event is not JSON (column %d: %s)", jerr.column,
                                        jerr.text);
        if (!json_is_object(doc))
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "a watch event is not a JSON object");
        const char *type = json_string_value(json_object_get(doc, "type"));
        json_t *obj = json_object_get(doc, "object");
        if (type == NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "a watch event has no \"type\"");
        if (!json_is_object(obj))
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "a watch event has no \"object\"");
        for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
                if (strcmp(type, types[i]) == 0) {
                        *ret_type = types[i];
                        *ret_object = json_incref(obj);
                        return 0;
                }
        }
        _cleanup_free_ char *q = xstrndup(type, 40);
        for (char *p = q; *p; p++)
                if ((unsigned char)*p < 0x20)
                        *p = '?';
        return hoist_error_make(err, HOIST_ERR_PROVIDER, "a watch event has type '%s'", q);
}

char *kube_status_message(long http_status, json_t *status)
{
        const char *reason = json_string_value(json_object_get(status, "reason"));
        const char *message = json_string_value(json_object_get(status, "message"));
        struct buf b = {0};

        buf_printf(&b, "HTTP %ld", http_status);
        if (reason && *reason)
                buf_printf(&b, " %.80s", reason);
        if (message && *message)
                buf_printf(&b, ": %.*s%s", KUBE_MAX_MESSAGE, message,
                           strlen(message) > KUBE_MAX_MESSAGE ? "..." : "");
        for (size_t i = 0; i < b.len; i++)
                if ((unsigned char)b.data[i] < 0x20)
                        b.data[i] = ' ';
        return buf_take(&b);
}

char *kube_query_escape(const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        struct buf b = {0};

        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
                        buf_append_char(&b, (char)*p);
                } else {
                        char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
                        buf_append(&b, e, 3);
                }
        }
        return buf_take(&b);
}
