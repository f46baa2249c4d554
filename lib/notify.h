/* SPDX-License-Identifier: MIT */
#ifndef HOIST_NOTIFY_H
#define HOIST_NOTIFY_H

/*
 * sd_notify(3) through libsystemd: READY=1, STATUS=..., WATCHDOG=1,
 * EXTEND_TIMEOUT_USEC=..., STOPPING=1 to the socket named by NOTIFY_SOCKET
 * (systemd, `podman run --sdnotify=container`).  Without NOTIFY_SOCKET every
 * call is a no-op that succeeds.  The variable stays in the environment, so
 * a command that speaks sd_notify itself still can.
 */

#include <stdint.h>

#include "error.h"

/* 1 when NOTIFY_SOCKET is set. */
int notify_enabled(void);

/* Sends STATE (newline-separated assignments, e.g. "READY=1\nSTATUS=staging"). */
int notify_send(const char *state, struct hoist_error **err);

/* printf-style notify_send(); a failure is logged at debug level only. */
void notify_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Half of the watchdog interval in ms (WATCHDOG_USEC, when WATCHDOG_PID is
 * unset or ours), or 0 when no watchdog is asked for. */
int64_t notify_watchdog_half_ms(void);

#endif
