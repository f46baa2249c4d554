/* SPDX-License-Identifier: MIT */
/*
 * Watch event lines (lib/kube.c): each line of the input parses to one of
 * the five event types with an object, or gives an error; never a crash or
 * a leak.  Status messages built from what the server sent stay printable.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *line, size_t len)
{
        const char *type = NULL;
        json_t *obj = NULL;
        struct hoist_error *err = NULL;

        if (kube_watch_parse_event(line, len, &type, &obj, &err) < 0) {
                if (err == NULL || obj != NULL)
                        abort();
                hoist_error_free(err);
                return;
        }
        if (!json_is_object(obj) || (strcmp(type, "ADDED") != 0 && strcmp(type, "MODIFIED") != 0 &&
                                     strcmp(type, "DELETED") != 0 &&
                                     strcmp(type, "BOOKMARK") != 0 && strcmp(type, "ERROR") != 0))
                abort();
        char *msg =
                kube_status_message((long)json_integer_value(json_object_get(obj, "code")), obj);
        for (const char *p = msg; *p; p++)
                if ((unsigned char)*p < 0x20)
                        abort();
        free(msg);
        json_decref(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *p = (const char *)data, *end = p + size;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
                check_line(p, len);
                p += len + 1;
        }
        return 0;
}
