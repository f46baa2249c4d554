/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ERROR_H
#define HOIST_ERROR_H

/*
 * The crun error idiom.  A function that can fail returns a negative int (or
 * NULL) and takes `struct hoist_error **err` last.  On failure it sets *err;
 * on success it leaves *err alone.  Callers add context on the way up with
 * hoist_error_wrap(), so the final message reads outermost-first:
 *   "submit 'job.yaml': write job.json: No space left on device".
 */

#include <stdarg.h>

/* Error categories beyond errno values: they let main() pick an exit code. */
enum {
        HOIST_ERR_USAGE = 1000, /* the user asked for something malformed */
        HOIST_ERR_INPUT,        /* a file the user wrote is invalid */
        HOIST_ERR_NOT_FOUND,    /* no such job, file or object */
        HOIST_ERR_PROVIDER,     /* the provider or its engine failed */
        HOIST_ERR_STATE,        /* the request does not fit the job's state */
        HOIST_ERR_LIMIT,        /* a spending limit with action: block (docs/cost.md) */
};

struct hoist_error {
        int code; /* errno value, HOIST_ERR_*, or 0 */
        char *msg;
};

/* Sets *err to a new error and returns -1.  A code that is an errno value
 * (1..999) appends ": strerror(code)" to the message. */
int hoist_error_make(struct hoist_error **err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
int hoist_error_makev(struct hoist_error **err, int code, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));

/* Shortcut for the common case: errno as it is now. */
#define hoist_error_errno(err, ...) hoist_error_make((err), errno, __VA_ARGS__)

/* Prefixes "context: " to (*err)->msg and returns -1.  With *err NULL (a
 * caller bug), makes a new error carrying only the context. */
int hoist_error_wrap(struct hoist_error **err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

void hoist_error_free(struct hoist_error *e);
/* Frees *err and sets it to NULL. */
void hoist_error_release(struct hoist_error **err);

static inline void hoist_error_freep(struct hoist_error **e)
{
        hoist_error_release(e);
}
#define _cleanup_error_ __attribute__((cleanup(hoist_error_freep)))

#endif
