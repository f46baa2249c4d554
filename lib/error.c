/* SPDX-License-Identifier: MIT */
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

int hoist_error_makev(struct hoist_error **err, int code, const char *fmt, va_list ap)
{
        char *msg = xvasprintf(fmt, ap);

        if (code > 0 && code < HOIST_ERR_USAGE) {
                char *full = xasprintf("%s: %s", msg, strerror(code));
                free(msg);
                msg = full;
        }
        if (err == NULL) {
                free(msg);
                return -1;
        }
        hoist_error_release(err);
        *err = xmalloc(sizeof **err);
        (*err)->code = code;
        (*err)->msg = msg;
        return -1;
}

int hoist_error_make(struct hoist_error **err, int code, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        (void)hoist_error_makev(err, code, fmt, ap);
        va_end(ap);
        return -1;
}

int hoist_error_wrap(struct hoist_error **err, const char *fmt, ...)
{
        va_list ap;
        char *ctx;

        if (err == NULL)
                return -1;
        va_start(ap, fmt);
        ctx = xvasprintf(fmt, ap);
        va_end(ap);
        if (*err == NULL) {
                *err = xmalloc(sizeof **err);
                (*err)->code = 0;
                (*err)->msg = ctx;
                return -1;
        }
        char *full = xasprintf("%s: %s", ctx, (*err)->msg);
        free(ctx);
        free((*err)->msg);
        (*err)->msg = full;
        return -1;
}

void hoist_error_free(struct hoist_error *e)
{
        if (e == NULL)
                return;
        free(e->msg);
        free(e);
}

void hoist_error_release(struct hoist_error **err)
{
        if (err == NULL)
                return;
        hoist_error_free(*err);
        *err = NULL;
}
