/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_IMAGE_PROGRESS_H
#define HOIST_RUNNER_IMAGE_PROGRESS_H

/*
 * The progress of a push or pull whose blobs move in parallel, one line per
 * blob, as docker and podman show it:
 *   sha256:3f2a1b9c0d4e  40.0 MiB  uploading 12.0 MiB/40.0 MiB (30%)
 *   sha256:9e8d7c6b5a41   1.2 KiB  exists
 * On a terminal the lines are redrawn in place (ANSI cursor movement) at
 * most ten times a second.  Elsewhere nothing is shown, unless
 * HOIST_PROGRESS=lines asks for one line at each blob's change of state
 * ("push: sha256:3f2a1b9c0d4e  40.0 MiB  pushed"); HOIST_PROGRESS=none (or
 * 0) hides the lines on a terminal too.  The summary line is the command's.
 * Thread-safe: its callbacks are registry_options' progress and blob_state.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "registry.h"

enum image_progress_mode {
        IMAGE_PROGRESS_NONE,  /* nothing */
        IMAGE_PROGRESS_TTY,   /* a block of lines redrawn in place */
        IMAGE_PROGRESS_LINES, /* a line per change of a blob's state */
};

struct image_progress;

/* The mode for a stream on file descriptor FD: NONE when QUIET, else what
 * HOIST_PROGRESS says (lines, none or 0), else TTY on a terminal and
 * OFF_TTY elsewhere. */
enum image_progress_mode image_progress_mode_for(int fd, int quiet,
                                                 enum image_progress_mode off_tty);

/* A display for VERB ("push" or "pull") of REF on stderr, in the mode
 * image_progress_mode_for(stderr, 0, NONE) gives. */
struct image_progress *image_progress_new(const char *verb, const char *ref);
/* The same on OUT in MODE; COLUMNS > 0 cuts TTY lines to COLUMNS - 1
 * characters (0: the terminal's width, when OUT is one). */
struct image_progress *image_progress_new_on(const char *verb, const char *ref, FILE *out,
                                             enum image_progress_mode mode, int columns);
/* Draws the last state (TTY); later calls do nothing. */
void image_progress_finish(struct image_progress *ip);
/* Finishes and frees IP; NULL is fine. */
void image_progress_free(struct image_progress *ip);
/* Sets O's progress and blob_state callbacks to IP. */
void image_progress_attach(struct image_progress *ip, struct registry_options *o);

/* "uploading", "exists", ... */
const char *image_progress_state_name(enum registry_blob_state st);

/* One blob's line into BUF: "sha256:3f2a1b9c0d4e  40.0 MiB  uploading
 * 12.0 MiB/40.0 MiB (30%)"; the byte counts only when WITH_BYTES and the
 * state moves bytes.  Returns BUF. */
char *image_progress_format_blob(char *buf, size_t size, const char *digest, uint64_t blob_size,
                                 enum registry_blob_state st, uint64_t done, int with_bytes);

/* The summary into BUF: "pushed REF: 3 blobs, 2 uploaded (41.2 MiB), 1
 * already there; digest sha256:..." (", 1 mounted" when any were), or for
 * a pull (PUSH 0) "pulled REF: 3 blobs, 2 downloaded (41.2 MiB), 1 already
 * here; digest sha256:...".  Returns BUF. */
char *image_progress_format_summary(char *buf, size_t size, int push, const char *ref,
                                    const struct registry_stats *st, const char *digest);

static inline void image_progress_freep(struct image_progress **p)
{
        image_progress_free(*p);
}
#define _cleanup_image_progress_ __attribute__((cleanup(image_progress_freep)))

#endif
