/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_SERVER_H
#define HOIST_SERVE_SERVER_H

/* The HTTP daemon of `hoist serve`: one libmicrohttpd daemon, a thread per
 * connection (handlers do blocking file I/O), its errors routed to the log. */

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "runner/serve/hooks.h"
#include "runner/serve/s3.h"

struct serve_server;

/* Parses "ADDR:PORT" (IPv4 address or "localhost"; PORT 0 picks a free one). */
int serve_parse_listen(const char *s, char **ret_host, uint16_t *ret_port,
                       struct hoist_error **err);

/* TLS for a listener: its certificate (chain) and private key, PEM text. */
struct serve_tls {
        const char *cert_pem;
        const char *key_pem; /* never logged */
};

/* True when HOST (as serve_parse_listen() gives it) is on loopback
 * (127.0.0.0/8): only this machine can connect. */
bool serve_host_is_loopback(const char *host);

/* Requests under /hooks/ go to HOOKS (NULL: answered 404), those under
 * /api/ to the REST API (serve_server_set_api()), the dashboard's
 * (ui_wants(): GET of / or /_ui/... without S3 auth) to runner/serve/ui.c,
 * the rest to SVC.
 * With TLS (NULL: plain HTTP) it speaks HTTPS only. */
int serve_server_start(const char *host, uint16_t port, const struct serve_tls *tls,
                       struct s3_service *svc, struct hooks_service *hooks,
                       struct serve_server **ret, struct hoist_error **err);
/* Requests under /api/ go to API from now on (before: 503); API must
 * outlive S. */
struct api_service;
void serve_server_set_api(struct serve_server *s, struct api_service *api);
/* The port actually bound. */
uint16_t serve_server_port(const struct serve_server *s);
/* Stops accepting, finishes the requests in flight, frees S; accepts NULL. */
void serve_server_stop(struct serve_server *s);

#endif
