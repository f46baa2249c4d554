/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_REDACT_H
#define HOIST_ENTRYPOINT_REDACT_H

/*
 * Secret values out of everything the job stores or sends: every exact
 * occurrence of a value becomes "[secret NAME]".  Any non-empty value is
 * matched, however short (the runner warns about values under 8 bytes: a
 * one-letter secret would turn every such letter of the logs into
 * "[secret NAME]").  Where values overlap, the leftmost occurrence wins,
 * and at one position the longest value (so a value that is a prefix of
 * another never leaves the other's tail behind).
 *
 * A stream (the command's stdout or stderr, read in chunks) is redacted as
 * it comes: bytes that may be the start of a value split across reads are
 * held until the next chunk tells, or until redact_stream_flush().
 */

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

struct redact;

struct redact *redact_new(void);
void redact_free(struct redact *r);

/* Adds secret NAME with VALUE (copied; an empty VALUE is ignored). */
void redact_add(struct redact *r, const char *name, const char *value);

/* How many values R matches; R may be NULL (none). */
size_t redact_count(const struct redact *r);

/* Appends TEXT (LEN bytes) to OUT, redacted. */
void redact_text(const struct redact *r, const char *text, size_t len, struct buf *out);

/* S redacted, as a new string; NULL for NULL. */
char *redact_string(const struct redact *r, const char *s);

/* Replaces, in place, every string inside V (values of objects and arrays,
 * not keys) that holds a secret. */
void redact_json(const struct redact *r, json_t *v);

struct redact_stream {
        struct buf held; /* a possible start of a value: at most its length - 1 */
};

/* Appends to OUT what DATA (LEN bytes, after what S holds) redacts to, up
 * to where a value may still be under way. */
void redact_feed(const struct redact *r, struct redact_stream *s, const char *data, size_t len,
                 struct buf *out);

/* Appends what S still holds, redacted, to OUT: the stream has ended. */
void redact_stream_flush(const struct redact *r, struct redact_stream *s, struct buf *out);

void redact_stream_free(struct redact_stream *s);

#endif
