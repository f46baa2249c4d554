/* SPDX-License-Identifier: MIT */
#include "runner/image/image_progress.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "runner/cli/cli.h"
#include "xalloc.h"

#define REDRAW_MS 100
#define SHORT_DIGEST 19 /* "sha256:" and 12 hex digits */

struct blob_line {
        char *digest;
        uint64_t size, done;
        enum registry_blob_state state;
};

struct image_progress {
        pthread_mutex_t lock;
        FILE *out;
        char *verb;
        enum image_progress_mode mode;
        int columns, rows;
        struct blob_line *blobs;
        size_t n;
        size_t drawn;      /* TTY: lines of the block now on the screen */
        uint64_t drawn_ms; /* TTY: when the block was last drawn (0: never) */
        bool dirty;        /* TTY: a change not drawn yet */
        bool finished;
};

static uint64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

enum image_progress_mode image_progress_mode_for(int fd, int quiet,
                                                 enum image_progress_mode off_tty)
{
        const char *v = getenv("HOIST_PROGRESS");

        if (quiet)
                return IMAGE_PROGRESS_NONE;
        if (v != NULL && strcmp(v, "lines") == 0)
                return IMAGE_PROGRESS_LINES;
        if (v != NULL && (strcmp(v, "none") == 0 || strcmp(v, "0") == 0))
                return IMAGE_PROGRESS_NONE;
        return isatty(fd) ? IMAGE_PROGRESS_TTY : off_tty;
}

struct image_progress *image_progress_new_on(const char *verb, const char *ref, FILE *out,
                                             enum image_progress_mode mode, int columns)
{
        struct image_progress *ip = xzalloc(sizeof *ip);
        struct winsize ws;

        (void)ref;
        pthread_mutex_init(&ip->lock, NULL);
        ip->out = out;
        ip->verb = xstrdup(verb);
        ip->mode = out == NULL ? IMAGE_PROGRESS_NONE : mode;
        ip->columns = columns;
        if (ip->mode == IMAGE_PROGRESS_TTY && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0) {
                if (columns <= 0)
                        ip->columns = ws.ws_col;
                ip->rows = ws.ws_row;
        }
        return ip;
}

struct image_progress *image_progress_new(const char *verb, const char *ref)
{
        return image_progress_new_on(verb, ref, stderr,
                                     image_progress_mode_for(STDERR_FILENO, 0, IMAGE_PROGRESS_NONE),
                                     0);
}

const char *image_progress_state_name(enum registry_blob_state st)
{
        switch (st) {
        case REGISTRY_BLOB_WAITING:
                return "waiting";
        case REGISTRY_BLOB_EXISTS:
                return "exists";
        case REGISTRY_BLOB_MOUNTED:
                return "mounted";
        case REGISTRY_BLOB_UPLOADING:
                return "uploading";
        case REGISTRY_BLOB_PUSHED:
                return "pushed";
        case REGISTRY_BLOB_DOWNLOADING:
                return "downloading";
        case REGISTRY_BLOB_VERIFIED:
                return "verified";
        case REGISTRY_BLOB_DONE:
                return "done";
        case REGISTRY_BLOB_FAILED:
                return "failed";
        }
        return "?";
}

char *image_progress_format_blob(char *buf, size_t size, const char *digest, uint64_t blob_size,
                                 enum registry_blob_state st, uint64_t done, int with_bytes)
{
        char total[32], sofar[32];

        (void)cli_format_bytes(blob_size, total, sizeof total);
        if (with_bytes && (st == REGISTRY_BLOB_UPLOADING || st == REGISTRY_BLOB_DOWNLOADING)) {
                if (done > blob_size)
                        done = blob_size;
                (void)snprintf(buf, size, "%.*s  %8s  %s %s/%s (%d%%)", SHORT_DIGEST, digest, total,
                               image_progress_state_name(st),
                               cli_format_bytes(done, sofar, sizeof sofar), total,
                               blob_size ? (int)(done * 100 / blob_size) : 100);
        } else {
                (void)snprintf(buf, size, "%.*s  %8s  %s", SHORT_DIGEST, digest, total,
                               image_progress_state_name(st));
        }
        return buf;
}

char *image_progress_format_summary(char *buf, size_t size, int push, const char *ref,
                                    const struct registry_stats *st, const char *digest)
{
        char bytes[32], mounted[48] = "";
        unsigned moved = push ? st->blobs_uploaded : st->blobs_downloaded;
        unsigned n = moved + st->blobs_skipped + st->blobs_mounted;

        (void)cli_format_bytes(st->bytes, bytes, sizeof bytes);
        if (st->blobs_mounted > 0)
                (void)snprintf(mounted, sizeof mounted, ", %u mounted", st->blobs_mounted);
        (void)snprintf(buf, size, "%s %s: %u blob%s, %u %s (%s), %u already %s%s; digest %s",
                       push ? "pushed" : "pulled", ref, n, n == 1 ? "" : "s", moved,
                       push ? "uploaded" : "downloaded", bytes, st->blobs_skipped,
                       push ? "there" : "here", mounted, digest ? digest : "-");
        return buf;
}

/* The blob DIGEST, added (waiting) when new.  Under the lock. */
static struct blob_line *find_blob(struct image_progress *ip, const char *digest, uint64_t size)
{
        for (size_t i = 0; i < ip->n; i++)
                if (strcmp(ip->blobs[i].digest, digest) == 0)
                        return &ip->blobs[i];
        ip->blobs = xreallocarray(ip->blobs, ip->n + 1, sizeof *ip->blobs);
        ip->blobs[ip->n] = (struct blob_line){.digest = xstrdup(digest), .size = size};
        return &ip->blobs[ip->n++];
}

static void draw_line(struct image_progress *ip, const char *line)
{
        int len = (int)strlen(line);

        if (ip->columns > 1 && len > ip->columns - 1)
                len = ip->columns - 1;
        (void)fprintf(ip->out, "\r%.*s\033[K\n", len, line);
}

/* Redraws the block: up over the lines drawn before, then each line, cut
 * to the terminal's width so that none wraps and the count stays true.  A
 * block taller than the terminal could not be gone back over: past it, the
 * rest of the blobs are counted on one line.  Under the lock. */
static void draw_block(struct image_progress *ip, uint64_t now)
{
        size_t shown = ip->n, lines;
        char line[256];

        if (ip->rows > 3 && ip->n > (size_t)ip->rows - 2)
                shown = (size_t)ip->rows - 3;
        if (ip->drawn > 0)
                (void)fprintf(ip->out, "\033[%zuA", ip->drawn);
        for (size_t i = 0; i < shown; i++) {
                const struct blob_line *b = &ip->blobs[i];
                draw_line(ip, image_progress_format_blob(line, sizeof line, b->digest, b->size,
                                                         b->state, b->done, 1));
        }
        lines = shown;
        if (shown < ip->n) {
                size_t moving = 0;
                for (size_t i = shown; i < ip->n; i++)
                        moving += ip->blobs[i].state == REGISTRY_BLOB_UPLOADING ||
                                  ip->blobs[i].state == REGISTRY_BLOB_DOWNLOADING;
                (void)snprintf(line, sizeof line, "... %zu more blobs, %zu of them moving",
                               ip->n - shown, moving);
                draw_line(ip, line);
                lines++;
        }
        (void)fflush(ip->out);
        ip->drawn = lines;
        ip->drawn_ms = now;
        ip->dirty = false;
}

/* TTY: draws when the last draw is a tenth of a second old.  Under the lock. */
static void changed(struct image_progress *ip)
{
        uint64_t now;

        ip->dirty = true;
        if (ip->finished)
                return;
        now = mono_ms();
        if (ip->drawn_ms == 0 || now - ip->drawn_ms >= REDRAW_MS)
                draw_block(ip, now);
}

static void on_progress(void *ud, const char *digest, uint64_t done, uint64_t total)
{
        struct image_progress *ip = ud;
        struct blob_line *b;

        if (ip->mode == IMAGE_PROGRESS_NONE || digest == NULL)
                return;
        pthread_mutex_lock(&ip->lock);
        b = find_blob(ip, digest, total);
        /* A retried request takes its bytes back: DONE may go down. */
        if (ip->mode == IMAGE_PROGRESS_TTY && (b->done != done || (total && b->size != total))) {
                b->done = done;
                if (total > 0)
                        b->size = total;
                changed(ip);
        }
        pthread_mutex_unlock(&ip->lock);
}

static void on_state(void *ud, const char *digest, enum registry_blob_state st, uint64_t size)
{
        struct image_progress *ip = ud;
        struct blob_line *b;
        char line[256];

        if (ip->mode == IMAGE_PROGRESS_NONE || digest == NULL)
                return;
        pthread_mutex_lock(&ip->lock);
        b = find_blob(ip, digest, size);
        b->size = size;
        if (st == REGISTRY_BLOB_WAITING || st == REGISTRY_BLOB_UPLOADING ||
            st == REGISTRY_BLOB_DOWNLOADING)
                b->done = 0;
        if (b->state != st || st == REGISTRY_BLOB_WAITING) {
                b->state = st;
                if (ip->mode == IMAGE_PROGRESS_TTY) {
                        /* the first draw waits for the first blob to move:
                         * every blob is queued by then */
                        if (st == REGISTRY_BLOB_WAITING)
                                ip->dirty = true;
                        else
                                changed(ip);
                } else if (!ip->finished) {
                        (void)fprintf(ip->out, "%s: %s\n", ip->verb,
                                      image_progress_format_blob(line, sizeof line, digest, size,
                                                                 st, 0, 0));
                        (void)fflush(ip->out);
                }
        }
        pthread_mutex_unlock(&ip->lock);
}

void image_progress_finish(struct image_progress *ip)
{
        if (ip == NULL)
                return;
        pthread_mutex_lock(&ip->lock);
        if (!ip->finished && ip->mode == IMAGE_PROGRESS_TTY && ip->dirty)
                draw_block(ip, mono_ms());
        ip->finished = true;
        pthread_mutex_unlock(&ip->lock);
}

void image_progress_free(struct image_progress *ip)
{
        if (ip == NULL)
                return;
        image_progress_finish(ip);
        for (size_t i = 0; i < ip->n; i++)
                free(ip->blobs[i].digest);
        free(ip->blobs);
        free(ip->verb);
        pthread_mutex_destroy(&ip->lock);
        free(ip);
}

void image_progress_attach(struct image_progress *ip, struct registry_options *o)
{
        o->progress = on_progress;
        o->blob_state = on_state;
        o->userdata = ip;
}
