/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_SERVER_H
#define HOIST_SERVE_SERVER_H

/* The HTTP daemon of `hoist serve`: one libmicrohttpd daemon with a pool of
 * worker threads, each an epoll loop over many connections, so idle and slow
 * clients cost a socket and a little memory, not a thread.  Handlers may do
 * short blocking file I/O (a pool tolerates it) but never wait long:
 * long-lived responses are streams (runner/serve/stream.h) that park while
 * they have nothing to send.  Limits: connections in all (from
 * RLIMIT_NOFILE), connections per client address, a deadline for a request
 * head (runner/serve/conntrack.h) and an idle timeout.  Its errors go to the
 * log, rate-limited. */

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

#define SERVE_DEFAULT_MAX_PER_ADDRESS 128
#define SERVE_DEFAULT_HEAD_TIMEOUT_S 30
#define SERVE_DEFAULT_IDLE_TIMEOUT_S 300
#define SERVE_DEFAULT_THREADS 16

/* What one listener accepts.  Zero fields take the defaults above (and
 * max_connections what serve_connection_budget() gives). */
struct serve_limits {
        unsigned max_connections; /* open at once, all clients together */
        unsigned max_per_address; /* open at once from one IP address */
        unsigned head_timeout_s;  /* to deliver a whole request head */
        unsigned idle_timeout_s;  /* with no byte moving either way */
        unsigned threads;         /* worker threads */
};

/* Raises RLIMIT_NOFILE's soft limit to its hard limit (once) and returns how
 * many connections that leaves room for: each may hold a socket and an open
 * object file, and the store, logs and listeners need a few. */
unsigned serve_connection_budget(void);

/* Requests under /hooks/ go to HOOKS (NULL: answered 404), those under
 * /api/ to the REST API (serve_server_set_api()), the dashboard's
 * (ui_wants(): GET of / or /_ui/... without S3 auth) to runner/serve/ui.c,
 * the rest to SVC.
 * With TLS (NULL: plain HTTP) it speaks HTTPS only.  LIMITS may be NULL. */
int serve_server_start(const char *host, uint16_t port, const struct serve_tls *tls,
                       const struct serve_limits *limits, struct s3_service *svc,
                       struct hooks_service *hooks, struct serve_server **ret,
                       struct hoist_error **err);
/* The limits it runs with (defaults filled in). */
const struct serve_limits *serve_server_limits(const struct serve_server *s);
/* Requests under /api/ go to API from now on (before: 503); API must
 * outlive S. */
struct api_service;
void serve_server_set_api(struct serve_server *s, struct api_service *api);
/* The port actually bound. */
uint16_t serve_server_port(const struct serve_server *s);
/* Stops accepting, finishes the requests in flight, frees S; accepts NULL. */
void serve_server_stop(struct serve_server *s);

#endif
