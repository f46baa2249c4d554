/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "cleanup.h"
#include "log.h"
#include "notify.h"
#include "xalloc.h"

/* libsystemd is loaded only when NOTIFY_SOCKET is set: without it nothing is
 * sent, and hoist-entrypoint's start-up need not load libsystemd and the
 * libraries it pulls in (libgcrypt, libcap, liblzma, liblz4, libzstd). */
#define LIBSYSTEMD "libsystemd.so.0"

static struct {
        pthread_once_t once;
        __typeof__(sd_notify) *notify;
        __typeof__(sd_watchdog_enabled) *watchdog_enabled;
        char why[256]; /* why it could not be loaded */
} lib = {.once = PTHREAD_ONCE_INIT};

static void load(void)
{
        void *h = dlopen(LIBSYSTEMD, RTLD_NOW | RTLD_LOCAL);

        if (h == NULL) {
                snprintf(lib.why, sizeof lib.why, "%s", dlerror());
                return;
        }
        *(void **)&lib.notify = dlsym(h, "sd_notify");
        *(void **)&lib.watchdog_enabled = dlsym(h, "sd_watchdog_enabled");
        if (lib.notify == NULL || lib.watchdog_enabled == NULL) {
                snprintf(lib.why, sizeof lib.why, "%s has no sd_notify/sd_watchdog_enabled",
                         LIBSYSTEMD);
                lib.notify = NULL;
                lib.watchdog_enabled = NULL;
        }
}

static int loaded(void)
{
        (void)pthread_once(&lib.once, load);
        return lib.notify != NULL;
}

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
        if (!loaded())
                return hoist_error_make(err, ELIBACC, "sd_notify to NOTIFY_SOCKET '%s': %s",
                                        getenv("NOTIFY_SOCKET"), lib.why);
        r = lib.notify(0, state);
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
        if (getenv("WATCHDOG_USEC") == NULL || !loaded())
                return 0;
        if (lib.watchdog_enabled(0, &usec) <= 0 || usec == 0)
                return 0;
        return (int64_t)(usec / 2000 > 0 ? usec / 2000 : 1);
}
