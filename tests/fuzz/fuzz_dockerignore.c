/* SPDX-License-Identifier: MIT */
/*
 * The .dockerignore parser and matcher: any bytes must give rules or an
 * error, never a crash or a leak, and every line of the input, used as a
 * path, must get an answer (0 or 1) from the rules.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner/image/dockerignore.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct dockerignore *di = NULL;
        struct hoist_error *err = NULL;
        const char *text = (const char *)data;

        if (dockerignore_parse(text, size, ".dockerignore", &di, &err) < 0) {
                if (err == NULL || di != NULL)
                        abort();
                hoist_error_release(&err);
                return 0;
        }
        for (size_t pos = 0; pos < size;) {
                const char *nl = memchr(text + pos, '\n', size - pos);
                size_t end = nl != NULL ? (size_t)(nl - text) : size;
                char *path = xstrndup(text + pos, end - pos > 256 ? 256 : end - pos);
                int m = dockerignore_match(di, path);
                if (m != 0 && m != 1)
                        abort();
                free(path);
                pos = end + 1;
        }
        if (dockerignore_match(di, "a/b/c") < 0 || dockerignore_has_exceptions(di) < 0)
                abort();
        dockerignore_free(di);
        return 0;
}
