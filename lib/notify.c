/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "cleanup.h"
#include "log.h"
#include "notify.h"
#include "xalloc.h"

int notify_enabled(void)
{
        const char *s = getenv("NOTIFY_SOCKET");

        return s != NULL && *s != '\0';
}

int notify_send(const char *state, struct hoist_error **err)
{
        int r;

        if (!notify_enabled())
                return 0;
        r = sd_notify(0, state);
        if (r < 0)
                return hoist_error_make(err, -r, "sd_notify to NOTIFY_SOCKET '%s'",
                                        getenv("NOTIFY_SOCKET"));
        return 0;
}

void notify_sendf(const char *fmt, ...)
{
        struct hoist_error *err = NULL;
        _cleanup_free_ char *state = NULL;
        va_list ap;

        if (!notify_enabled())
                return;
        va_start(ap, fmt);
        state = xvasprintf(fmt, ap);
        va_end(ap);
        if (notify_send(state, &err) < 0) {
                log_debug("%s", err->msg);
                hoist_error_free(err);
        }
}

int64_t notify_watchdog_half_ms(void)
{
        uint64_t usec = 0;

        /* sd_watchdog_enabled() checks WATCHDOG_PID against our pid. */
        if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
                return 0;
        return (int64_t)(usec / 2000 > 0 ? usec / 2000 : 1);
}
