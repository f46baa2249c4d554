/* SPDX-License-Identifier: MIT */
/*
 * The .gitignore/.hoistignore parser and matcher (lib/ignore.c): any bytes
 * parse (as git reads them), and every line of the input, used as a path,
 * gets an answer (1, 0 or -1) as a file and as a directory, never a crash,
 * a leak or a runaway match.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ignore.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct ignore_file *f = NULL;
        struct hoist_error *err = NULL;
        const char *text = (const char *)data;

        if (ignore_file_parse(text, size, ".gitignore", &f, &err) < 0 || f == NULL)
                abort(); /* git accepts any bytes */
        for (size_t pos = 0; pos < size;) {
                const char *nl = memchr(text + pos, '\n', size - pos);
                size_t end = nl != NULL ? (size_t)(nl - text) : size;
                char *path = xstrndup(text + pos, end - pos > 256 ? 256 : end - pos);
                for (int is_dir = 0; is_dir <= 1; is_dir++) {
                        int m = ignore_file_match(f, path, is_dir);
                        if (m < -1 || m > 1)
                                abort();
                }
                free(path);
                pos = end + 1;
        }
        if (ignore_file_match(f, "a/b/c", 0) < -1)
                abort();
        ignore_file_free(f);
        return 0;
}
