/* SPDX-License-Identifier: MIT */
#include "runner/serve/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "log.h"
#include "runner/serve/api.h"
#include "runner/serve/ui.h"
#include "xalloc.h"

#define MEMORY_LIMIT (256u << 10)
#define CONNECTION_TIMEOUT 300

struct serve_server {
        struct MHD_Daemon *daemon;
        uint16_t port;
        struct s3_service *svc;
        struct hooks_service *hooks;
        struct api_service *_Atomic api; /* NULL until serve_server_set_api() */
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
                rt = xzalloc(sizeof *rt);
                rt->hooks = strncmp(url, "/hooks/", 7) == 0;
                if (strncmp(url, "/api/", 5) == 0)
                        rt->api = s->api;
                rt->ui = ui_wants(conn, url, method);
                *req_cls = rt;
                if (strncmp(url, "/api/", 5) == 0 && rt->api == NULL) {
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

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
        char msg[512];
        size_t n;

        (void)cls;
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

int serve_server_start(const char *host, uint16_t port, const struct serve_tls *tls,
                       struct s3_service *svc, struct hooks_service *hooks,
                       struct serve_server **ret, struct hoist_error **err)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
        unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                         MHD_USE_ERROR_LOG | MHD_USE_POLL;
        const union MHD_DaemonInfo *info;
        struct serve_server *s;

        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
                return hoist_error_make(err, HOIST_ERR_USAGE, "'%s' is not an IPv4 address", host);
        if (tls != NULL && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "this libmicrohttpd has no TLS (GnuTLS); serve on a "
                                        "loopback address without --tls-cert, or install one "
                                        "built with it");
        s = xzalloc(sizeof *s);
        s->svc = svc;
        s->hooks = hooks;
        if (tls != NULL)
                s->daemon = MHD_start_daemon(
                        flags | MHD_USE_TLS, port, NULL, NULL, route_handle, s,
                        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
                        (struct sockaddr *)&sa, MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL,
                        MHD_OPTION_NOTIFY_COMPLETED, route_done, s,
                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MEMORY_LIMIT,
                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT,
                        MHD_OPTION_HTTPS_MEM_CERT, tls->cert_pem, MHD_OPTION_HTTPS_MEM_KEY,
                        tls->key_pem, MHD_OPTION_END);
        else
                s->daemon = MHD_start_daemon(flags, port, NULL, NULL, route_handle, s,
                                             MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                             MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL,
                                             MHD_OPTION_NOTIFY_COMPLETED, route_done, s,
                                             MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                             (size_t)MEMORY_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
                                             (unsigned)CONNECTION_TIMEOUT, MHD_OPTION_END);
        if (s->daemon == NULL) {
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

uint16_t serve_server_port(const struct serve_server *s)
{
        return s->port;
}

void serve_server_stop(struct serve_server *s)
{
        if (s == NULL)
                return;
        MHD_stop_daemon(s->daemon);
        free(s);
}
