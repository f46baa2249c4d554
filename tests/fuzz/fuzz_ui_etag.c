/* SPDX-License-Identifier: MIT */
/*
 * If-None-Match, as a client sends it to the dashboard's files: any bytes
 * give an answer, never a crash or a read past the end; the ETag a file
 * carries matches itself inside any list, and "*" matches everything.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "runner/serve/ui.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *list = xstrndup((const char *)data, size);
        _cleanup_free_ char *with = NULL;
        const char *etag;

        if (ui_files_count == 0)
                abort();
        etag = ui_files[size % ui_files_count].etag;
        (void)ui_etag_matches(list, etag);
        with = xasprintf("%s, %s", list, etag);
        if (!ui_etag_matches(with, etag) && strchr(list, '"') == NULL)
                abort();
        if (!ui_etag_matches("*", etag))
                abort();
        return 0;
}
