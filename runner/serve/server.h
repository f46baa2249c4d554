/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_SERVER_H
#define HOIST_SERVE_SERVER_H

/* The HTTP daemon of `hoist serve`: one libmicrohttpd daemon, a thread per
 * connection (handlers do blocking file I/O), its errors routed to the log. */

#include <stdint.h>

#include "error.h"
#include "runner/serve/hooks.h"
#include "runner/serve/s3.h"

struct serve_server;

/* Parses "ADDR:PORT" (IPv4 address or "localhost"; PORT 0 picks a free one). */
int serve_parse_listen(const char *s, char **ret_host, uint16_t *ret_port,
                       struct hoist_error **err);

/* Requests under /hooks/ go to HOOKS (NULL: answered 404), the rest to SVC. */
int serve_server_start(const char *host, uint16_t port, struct s3_service *svc,
                       struct hooks_service *hooks, struct serve_server **ret,
                       struct hoist_error **err);
/* The port actually bound. */
uint16_t serve_server_port(const struct serve_server *s);
/* Stops accepting, finishes the requests in flight, frees S; accepts NULL. */
void serve_server_stop(struct serve_server *s);

#endif
