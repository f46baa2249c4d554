/* SPDX-License-Identifier: MIT */
#include "runner/serve/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cleanup.h"
#include "log.h"
#include "runner/serve/api.h"
#include "runner/serve/conntrack.h"
#include "runner/serve/hooks_replicate.h"
#include "runner/serve/stream.h"
#include "runner/serve/ui.h"
#include "xalloc.h"

/* Per connection, mapped on demand: an idle one touches a page or two. */
#define MEMORY_LIMIT (256u << 10)
/* Descriptors kept back from connections: the store, logs, listeners. */
#define FD_RESERVE 128
/* A flood of refused connections makes libmicrohttpd log each one: at most
 * this many lines per LOG_WINDOW_S, then one line saying how many were not. */
#define LOG_BURST 5
#define LOG_WINDOW_S 10

struct serve_server {
        struct MHD_Daemon *daemon;
        uint16_t port;
        struct s3_service *svc;
        struct hooks_service *hooks;
        struct api_service *_Atomic api; /* NULL until serve_server_set_api() */
        struct serve_conntrack *ct;
        struct serve_limits limits;
};

/* Which handler owns a request, and its state. */
struct route {
        int hooks;
        int refused;             /* answered at once: the rest is discarded */
        struct api_service *api; /* a request under /api/ */
        int ui;                  /* the dashboard's static files (runner/serve/ui.c) */
        void *state;
};

/* The API answers once hoist serve has written serve.json. */
static enum MHD_Result reply_api_starting(struct MHD_Connection *conn)
{
        static const char body[] = "{\"error\":{\"code\":\"unavailable\",\"message\":"
                                   "\"hoist serve is starting; try again\"}}";
        struct MHD_Response *resp = MHD_create_response_from_buffer(sizeof body - 1, (void *)body,
                                                                    MHD_RESPMEM_PERSISTENT);
        enum MHD_Result r;

        if (resp == NULL)
                return MHD_NO;
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        r = MHD_queue_response(conn, MHD_HTTP_SERVICE_UNAVAILABLE, resp);
        MHD_destroy_response(resp);
        return r;
}

static enum MHD_Result route_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **req_cls)
{
        struct serve_server *s = cls;
        struct route *rt = *req_cls;

        if (rt == NULL) {
                serve_conntrack_request_started(conn);
                rt = xzalloc(sizeof *rt);
                /* Replicate's webhooks carry their own signature, not the
                 * API's bearer token: the webhook receiver takes them. */
                rt->hooks =
                        strncmp(url, "/hooks/", 7) == 0 || strcmp(url, HOOKS_REPLICATE_PATH) == 0;
                if (strncmp(url, "/api/", 5) == 0 && !rt->hooks)
                        rt->api = s->api;
                rt->ui = ui_wants(conn, url, method);
                *req_cls = rt;
                if (strncmp(url, "/api/", 5) == 0 && !rt->hooks && rt->api == NULL) {
                        rt->refused = 1;
                        return reply_api_starting(conn);
                }
        }
        if (rt->ui)
                return ui_handle(conn, url, method);
        if (rt->refused) {
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (rt->api != NULL)
                return api_handle(rt->api, conn, url, method, upload_data, upload_data_size,
                                  &rt->state);
        if (rt->hooks)
                return hooks_handle(s->hooks, conn, url, method, upload_data, upload_data_size,
                                    &rt->state);
        return s3_handle(s->svc, conn, url, method, version, upload_data, upload_data_size,
                         &rt->state);
}

static void route_done(void *cls, struct MHD_Connection *conn, void **req_cls,
                       enum MHD_RequestTerminationCode toe)
{
        struct serve_server *s = cls;
        struct route *rt = *req_cls;

        serve_conntrack_request_done(conn);
        if (rt == NULL)
                return;
        if (rt->refused)
                ;
        else if (rt->api != NULL)
                api_request_done(&rt->state);
        else if (rt->hooks)
                hooks_request_done(&rt->state);
        else if (!rt->ui)
                s3_request_done(s->svc, conn, &rt->state, toe);
        free(rt);
        *req_cls = NULL;
}

int serve_parse_listen(const char *s, char **ret_host, uint16_t *ret_port, struct hoist_error **err)
{
        const char *colon = s != NULL ? strrchr(s, ':') : NULL;
        _cleanup_free_ char *host = NULL;
        struct in_addr a;
        char *end = NULL;
        unsigned long port;

        if (colon == NULL || colon == s || colon[1] == '\0')
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "--listen '%s' is not ADDR:PORT (e.g. 127.0.0.1:9000)",
                                        s != NULL ? s : "");
        host = xstrndup(s, (size_t)(colon - s));
        if (strcmp(host, "localhost") == 0) {
                free(host);
                host = xstrdup("127.0.0.1");
        }
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        if (*end != '\0' || errno != 0 || port > 65535 || colon[1] < '0' || colon[1] > '9')
                return hoist_error_make(err, HOIST_ERR_USAGE, "--listen '%s': port must be 0-65535",
                                        s);
        if (inet_pton(AF_INET, host, &a) != 1)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "--listen '%s': '%s' is not an IPv4 address", s, host);
        *ret_host = TAKE_PTR(host);
        *ret_port = (uint16_t)port;
        return 0;
}

static struct {
        pthread_mutex_t lock;
        time_t window;
        unsigned logged;
        unsigned long suppressed;
} mhd_log_rate = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* True when this line may be logged; says how many were held back before. */
static bool mhd_log_admit(void)
{
        time_t now = time(NULL);
        unsigned long held = 0;
        bool ok;

        pthread_mutex_lock(&mhd_log_rate.lock);
        if (now - mhd_log_rate.window >= LOG_WINDOW_S) {
                held = mhd_log_rate.suppressed;
                mhd_log_rate.window = now;
                mhd_log_rate.logged = 0;
                mhd_log_rate.suppressed = 0;
        }
        ok = mhd_log_rate.logged < LOG_BURST;
        if (ok)
                mhd_log_rate.logged++;
        else
                mhd_log_rate.suppressed++;
        pthread_mutex_unlock(&mhd_log_rate.lock);
        if (held > 0)
                log_warn("serve: http: %lu more message(s) in %d s not logged", held, LOG_WINDOW_S);
        return ok;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
        char msg[512];
        size_t n;

        (void)cls;
        if (!mhd_log_admit())
                return;
        (void)vsnprintf(msg, sizeof msg, fmt, ap);
        n = strlen(msg);
        while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
                msg[--n] = '\0';
        log_warn("serve: http: %s", msg);
}

/* Keeps the path and query exactly as sent: the signature covers them. */
static size_t unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
        (void)cls;
        (void)c;
        return strlen(s);
}

bool serve_host_is_loopback(const char *host)
{
        struct in_addr a;

        return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

static rlim_t nofile_limit;

static void raise_nofile(void)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
                nofile_limit = 1024;
                return;
        }
        if (rl.rlim_cur < rl.rlim_max) {
                rlim_t want = rl.rlim_max;

                rl.rlim_cur = want;
                if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
                        log_warn("serve: cannot raise the open-file limit to %llu (%s); "
                                 "keeping it",
                                 (unsigned long long)want, strerror(errno));
                (void)getrlimit(RLIMIT_NOFILE, &rl);
        }
        nofile_limit = rl.rlim_cur;
}

unsigned serve_connection_budget(void)
{
        static pthread_once_t once = PTHREAD_ONCE_INIT;

        (void)pthread_once(&once, raise_nofile);
        if (nofile_limit == RLIM_INFINITY || nofile_limit > 1u << 20)
                return 1u << 19;
        if (nofile_limit <= 2 * FD_RESERVE)
                return 64;
        return (unsigned)((nofile_limit - FD_RESERVE) / 2);
}

static void limits_fill(struct serve_limits *l, const struct serve_limits *in)
{
        *l = in != NULL ? *in : (struct serve_limits){0};
        if (l->max_connections == 0)
                l->max_connections = serve_connection_budget();
        if (l->max_per_address == 0)
                l->max_per_address = SERVE_DEFAULT_MAX_PER_ADDRESS;
        if (l->head_timeout_s == 0)
                l->head_timeout_s = SERVE_DEFAULT_HEAD_TIMEOUT_S;
        if (l->idle_timeout_s == 0)
                l->idle_timeout_s = SERVE_DEFAULT_IDLE_TIMEOUT_S;
        if (l->threads == 0)
                l->threads = SERVE_DEFAULT_THREADS;
        if (l->max_connections < l->threads)
                l->max_connections = l->threads;
}

int serve_server_start(const char *host, uint16_t port, const struct serve_tls *tls,
                       const struct serve_limits *limits, struct s3_service *svc,
                       struct hooks_service *hooks, struct serve_server **ret,
                       struct hoist_error **err)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
        /* Worker threads with an epoll loop each; streams park with suspend. */
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                         MHD_ALLOW_SUSPEND_RESUME;
        struct MHD_OptionItem tls_opts[] = {
                {MHD_OPTION_HTTPS_MEM_CERT, 0, tls != NULL ? (void *)tls->cert_pem : NULL},
                {MHD_OPTION_HTTPS_MEM_KEY, 0, tls != NULL ? (void *)tls->key_pem : NULL},
                {MHD_OPTION_END, 0, NULL},
        };
        const union MHD_DaemonInfo *info;
        struct serve_server *s;

        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
                return hoist_error_make(err, HOIST_ERR_USAGE, "'%s' is not an IPv4 address", host);
        if (tls != NULL && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "this libmicrohttpd has no TLS (GnuTLS); serve on a "
                                        "loopback address without --tls-cert, or install one "
                                        "built with it");
        if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) != MHD_YES)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "this libmicrohttpd has no epoll support; hoist serve "
                                        "needs one built with it (Debian's is)");
        s = xzalloc(sizeof *s);
        s->svc = svc;
        s->hooks = hooks;
        limits_fill(&s->limits, limits);
        s->ct = serve_conntrack_new(s->limits.head_timeout_s);
        if (tls != NULL)
                flags |= MHD_USE_TLS;
        s->daemon = MHD_start_daemon(
                flags, port, NULL, NULL, route_handle, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_UNESCAPE_CALLBACK,
                unescape_none, NULL, MHD_OPTION_NOTIFY_COMPLETED, route_done, s,
                MHD_OPTION_NOTIFY_CONNECTION, serve_conntrack_notify, s->ct,
                MHD_OPTION_THREAD_POOL_SIZE, s->limits.threads, MHD_OPTION_CONNECTION_LIMIT,
                s->limits.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                s->limits.max_per_address, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MEMORY_LIMIT,
                MHD_OPTION_CONNECTION_TIMEOUT, s->limits.idle_timeout_s, MHD_OPTION_ARRAY,
                tls != NULL ? tls_opts : &tls_opts[2], MHD_OPTION_END);
        if (s->daemon == NULL) {
                serve_conntrack_free(s->ct);
                free(s);
                if (tls != NULL)
                        return hoist_error_make(err, EADDRINUSE,
                                                "cannot serve HTTPS on %s:%u (is the port in use? "
                                                "do --tls-cert and --tls-key hold a PEM "
                                                "certificate and its key? the log says more)",
                                                host, (unsigned)port);
                return hoist_error_make(err, EADDRINUSE,
                                        "cannot listen on %s:%u (is the port in use?)", host,
                                        (unsigned)port);
        }
        info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
        s->port = info != NULL && info->port != 0 ? info->port : port;
        *ret = s;
        return 0;
}

void serve_server_set_api(struct serve_server *s, struct api_service *api)
{
        s->api = api;
}

const struct serve_limits *serve_server_limits(const struct serve_server *s)
{
        return &s->limits;
}

uint16_t serve_server_port(const struct serve_server *s)
{
        return s->port;
}

void serve_server_stop(struct serve_server *s)
{
        const union MHD_DaemonInfo *di;
        int listen_fd;

        if (s == NULL)
                return;
        di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_LISTEN_FD);
        listen_fd = di != NULL ? di->listen_fd : -1;
        /* No connection may be left suspended when the daemon stops. */
        serve_stream_close_daemon(s->daemon);
        MHD_stop_daemon(s->daemon);
        serve_stream_daemon_stopped(listen_fd);
        serve_conntrack_free(s->ct);
        free(s);
}
