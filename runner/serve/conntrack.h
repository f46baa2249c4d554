/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_CONNTRACK_H
#define HOIST_SERVE_CONNTRACK_H

/* The request-head deadline of `hoist serve`: a connection must deliver a
 * whole request head (TLS handshake included) within HEAD_TIMEOUT seconds of
 * connecting, or of its previous response on a kept-alive connection; one
 * that trickles its head is dropped.  Once the head is in, the deadline no
 * longer applies: a big upload that keeps moving is limited only by the
 * daemon's idle timeout. */

#include <microhttpd.h>
#include <stdint.h>

struct serve_conntrack;

/* Starts the thread that drops late heads. */
struct serve_conntrack *serve_conntrack_new(unsigned head_timeout_s);
/* Stops it; call after MHD_stop_daemon() (every connection is closed). Accepts NULL. */
void serve_conntrack_free(struct serve_conntrack *ct);

/* MHD_OPTION_NOTIFY_CONNECTION's callback; CLS is the serve_conntrack. */
void serve_conntrack_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                            enum MHD_ConnectionNotificationCode toe);
/* The head of a request on CONN is complete (the access handler's first call). */
void serve_conntrack_request_started(struct MHD_Connection *conn);
/* CONN's request is answered; the deadline for its next head starts. */
void serve_conntrack_request_done(struct MHD_Connection *conn);

/* How many connections it dropped for a late head. */
uint64_t serve_conntrack_dropped(struct serve_conntrack *ct);

#endif
