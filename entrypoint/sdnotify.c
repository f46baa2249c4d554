/* SPDX-License-Identifier: MIT */
#include "sdnotify.h"

#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "notify.h"
#include "stage.h"
#include "xalloc.h"

static struct {
        size_t index, n;
        const char *channel; /* borrowed from the jobspec while staging */
        const char *phase;   /* a later step (sdnotify_staging_phase), static */
        int64_t last_progress_ms;
        int64_t last_watchdog_ms;
        int stopping; /* STOPPING=1 was sent */
} state;

/* A watchdog ping, when one is asked for, goes with every staging message:
 * staging a large input must not look like a hang. */
static const char *watchdog_line(void)
{
        return notify_watchdog_half_ms() > 0 ? "WATCHDOG=1\n" : "";
}

static void on_input(void *userdata, size_t index, size_t n, const struct jobspec_input *in)
{
        (void)userdata;
        state.index = index;
        state.n = n;
        state.channel = in->channel;
        state.last_progress_ms = clock_mono_ms();
        notify_sendf("%sEXTEND_TIMEOUT_USEC=%d000\nSTATUS=staging inputs %zu/%zu (%s)",
                     watchdog_line(), SDNOTIFY_EXTEND_MS, index + 1, n, in->channel);
}

static int on_bytes(void *userdata, uint64_t done, uint64_t total)
{
        int64_t now = clock_mono_ms();

        (void)userdata;
        if (now - state.last_progress_ms < SDNOTIFY_PROGRESS_MS)
                return 0;
        state.last_progress_ms = now;
        if (state.phase != NULL)
                notify_sendf("%sEXTEND_TIMEOUT_USEC=%d000\nSTATUS=%s: %" PRIu64 " MiB",
                             watchdog_line(), SDNOTIFY_EXTEND_MS, state.phase, done >> 20);
        else if (total > 0)
                notify_sendf("%sEXTEND_TIMEOUT_USEC=%d000\nSTATUS=staging inputs %zu/%zu (%s): "
                             "%" PRIu64 "/%" PRIu64 " MiB",
                             watchdog_line(), SDNOTIFY_EXTEND_MS, state.index + 1, state.n,
                             state.channel ? state.channel : "", done >> 20, total >> 20);
        else
                notify_sendf("%sEXTEND_TIMEOUT_USEC=%d000\nSTATUS=staging inputs %zu/%zu (%s): "
                             "%" PRIu64 " MiB",
                             watchdog_line(), SDNOTIFY_EXTEND_MS, state.index + 1, state.n,
                             state.channel ? state.channel : "", done >> 20);
        return 0;
}

void sdnotify_staging_begin(struct storage *st, size_t n_inputs)
{
        if (!notify_enabled())
                return;
        state.n = n_inputs;
        state.last_progress_ms = clock_mono_ms();
        notify_sendf("%sEXTEND_TIMEOUT_USEC=%d000\nSTATUS=staging %zu input(s)", watchdog_line(),
                     SDNOTIFY_EXTEND_MS, n_inputs);
        stage_set_progress(on_input, NULL);
        if (st != NULL)
                storage_set_progress(st, on_bytes, NULL);
}

void sdnotify_staging_phase(const char *what)
{
        if (!notify_enabled())
                return;
        state.phase = what;
        state.last_progress_ms = clock_mono_ms();
        notify_sendf("%sEXTEND_TIMEOUT_USEC=%d000\nSTATUS=%s", watchdog_line(), SDNOTIFY_EXTEND_MS,
                     what);
}

void sdnotify_staging_end(struct storage *st)
{
        if (!notify_enabled())
                return;
        stage_set_progress(NULL, NULL);
        if (st != NULL)
                storage_set_progress(st, NULL, NULL);
        state.channel = NULL;
        state.phase = NULL;
}

void sdnotify_ready(const char *what)
{
        struct hoist_error *err = NULL;
        char *msg;

        if (!notify_enabled())
                return;
        state.last_watchdog_ms = clock_mono_ms();
        msg = xasprintf("READY=1\n%sSTATUS=running %s", watchdog_line(), what ? what : "");
        /* The one message whose loss the user should hear about: without
         * it, systemd or podman --sdnotify=container wait for nothing. */
        if (notify_send(msg, &err) < 0) {
                log_warn("%s; continuing without sd_notify", err->msg);
                hoist_error_free(err);
        }
        free(msg);
}

int64_t sdnotify_tick_ms(void)
{
        return notify_enabled() ? notify_watchdog_half_ms() : 0;
}

void sdnotify_tick(void)
{
        int64_t half = sdnotify_tick_ms(), now;

        if (half <= 0)
                return;
        now = clock_mono_ms();
        /* A tick that comes a little early still counts: the loop's ticks
         * are not exact, and half the interval leaves room. */
        if (now - state.last_watchdog_ms < half * 9 / 10)
                return;
        state.last_watchdog_ms = now;
        notify_sendf("WATCHDOG=1");
}

void sdnotify_stopping(const char *why)
{
        if (state.stopping)
                return;
        state.stopping = 1;
        notify_sendf("STOPPING=1\nSTATUS=stopping: %s", why ? why : "the command ended");
}

void sdnotify_finished(const char *status, int exit_code)
{
        notify_sendf("STATUS=%s (exit code %d)", status, exit_code);
}
