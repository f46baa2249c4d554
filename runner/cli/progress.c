/* SPDX-License-Identifier: MIT */
#include "runner/cli/progress.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runner/cli/cli.h"
#include "xalloc.h"

#define REDRAW_MS 100

enum progress_mode { PROGRESS_NONE, PROGRESS_TTY, PROGRESS_LINES };

struct progress {
        char *label;
        enum progress_mode mode;
        uint64_t start_ms, drawn_ms;
        uint64_t done, total;
        int decile;   /* PROGRESS_LINES: the last tenth printed */
        bool on_line; /* PROGRESS_TTY: a line is drawn and not ended */
        bool final;   /* the line at 100% is drawn */
};

static uint64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int quiet;

void progress_quiet(void)
{
        quiet = 1;
}

static enum progress_mode mode_from_env(void)
{
        const char *v = getenv("HOIST_PROGRESS");

        if (quiet)
                return PROGRESS_NONE;
        if (v != NULL && strcmp(v, "lines") == 0)
                return PROGRESS_LINES;
        if (v != NULL && (strcmp(v, "none") == 0 || strcmp(v, "0") == 0))
                return PROGRESS_NONE;
        return isatty(STDERR_FILENO) ? PROGRESS_TTY : PROGRESS_NONE;
}

struct progress *progress_new(const char *label)
{
        struct progress *p = xzalloc(sizeof *p);

        p->label = xstrdup(label);
        p->mode = mode_from_env();
        p->start_ms = mono_ms();
        p->decile = 0; /* the first line at 10% */
        return p;
}

/* "LABEL: 12.0 MiB / 40.0 MiB (30%), 95.1 MiB/s" into BUF. */
static void format_line(const struct progress *p, uint64_t now, char *buf, size_t size)
{
        char done[32], total[32];
        double secs = (double)(now - p->start_ms) / 1000.0;
        double rate = secs > 0 ? (double)p->done / (1024.0 * 1024.0) / secs : 0;

        (void)cli_format_bytes(p->done, done, sizeof done);
        if (p->total == 0) {
                (void)snprintf(buf, size, "%s: %s, %.1f MiB/s", p->label, done, rate);
                return;
        }
        (void)cli_format_bytes(p->total, total, sizeof total);
        (void)snprintf(buf, size, "%s: %s / %s (%d%%), %.1f MiB/s", p->label, done, total,
                       (int)(p->done * 100 / p->total), rate);
}

static void draw(struct progress *p, uint64_t now)
{
        char line[512];

        format_line(p, now, line, sizeof line);
        /* \033[K clears what a longer line left behind. */
        if (p->mode == PROGRESS_TTY)
                (void)fprintf(stderr, "\r%s\033[K", line);
        else
                (void)fprintf(stderr, "%s\n", line);
        p->on_line = p->mode == PROGRESS_TTY;
        p->drawn_ms = now;
}

int progress_update(void *userdata, uint64_t done, uint64_t total)
{
        struct progress *p = userdata;
        uint64_t now;

        if (p == NULL || p->mode == PROGRESS_NONE)
                return 0;
        /* A retried request takes its bytes back: DONE may go down. */
        p->done = total > 0 && done > total ? total : done;
        p->total = total;
        if (p->final)
                return 0;
        if (total > 0 && p->done == total)
                p->final = true;
        now = mono_ms();
        if (p->mode == PROGRESS_TTY) {
                if (p->final || p->drawn_ms == 0 || now - p->drawn_ms >= REDRAW_MS)
                        draw(p, now);
        } else if (total > 0) {
                int decile = (int)(p->done * 10 / total);
                if (decile > p->decile) {
                        p->decile = decile;
                        draw(p, now);
                }
        }
        return 0;
}

void progress_free(struct progress *p)
{
        if (p == NULL)
                return;
        if (p->on_line)
                (void)fputc('\n', stderr);
        free(p->label);
        free(p);
}
