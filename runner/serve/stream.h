/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_STREAM_H
#define HOIST_SERVE_STREAM_H

/* Long-lived responses of `hoist serve` (Server-Sent Events): a handler hands
 * over a POLL function and its state; the stream layer calls POLL whenever the
 * stream may have news and sends what it appends.  A stream with nothing to
 * send is suspended (libmicrohttpd's suspend/resume), so it holds no worker
 * thread while idle: one shared ticker resumes idle streams every
 * SERVE_STREAM_TICK_MS, and at once after serve_stream_wake(). */

#include <microhttpd.h>

#include "buf.h"

/* How often an idle stream is polled, and after how long idle the stream
 * layer itself sends ": keepalive\n\n" (proxies drop silent connections). */
#define SERVE_STREAM_TICK_MS 250
#define SERVE_STREAM_KEEPALIVE_MS 15000

enum serve_stream_rc {
        SERVE_STREAM_MORE = 0,
        SERVE_STREAM_END = 1,
        SERVE_STREAM_ERROR = -1,
};

/* Appends whatever is new to OUT (SSE frames "id: ..\nevent: ..\ndata: ..\n\n")
 * and returns at once: it runs on a server thread and must never block.
 * END: what it appended is the last; ERROR: the response is cut short (the
 * client sees the connection end without the last chunk). */
typedef enum serve_stream_rc (*serve_stream_poll_fn)(void *state, struct buf *out);

/* Queues a 200 response on CONN whose body is what POLL produces until it says
 * END or ERROR or the client leaves, with Content-Type CONTENT_TYPE,
 * Cache-Control: no-store and X-Accel-Buffering: no.  FREE_STATE(STATE) is
 * called exactly once (also when queueing fails: the caller never frees
 * STATE itself), on a server thread, never during a POLL.  The daemon must
 * have been started with MHD_ALLOW_SUSPEND_RESUME. */
enum MHD_Result serve_stream_queue(struct MHD_Connection *conn, const char *content_type,
                                   serve_stream_poll_fn poll, void (*free_state)(void *),
                                   void *state);

/* Makes every open stream poll soon (from any thread). */
void serve_stream_wake(void);

/* Ends every stream of DAEMON (after what it has already produced) and
 * resumes those suspended, so that MHD_stop_daemon() finds none parked; new
 * streams on DAEMON are refused with 503.  Called by serve_server_stop()
 * before it stops the daemon. */
void serve_stream_close_daemon(struct MHD_Daemon *daemon);
/* After MHD_stop_daemon(): forgets the daemon that listened on LISTEN_FD (as
 * MHD_DAEMON_INFO_LISTEN_FD said before it stopped; the number is reused). */
void serve_stream_daemon_stopped(int listen_fd);

/* How many streams are open (for logs and tests). */
size_t serve_stream_count(void);

#endif
