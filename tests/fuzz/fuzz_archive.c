/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes archive extraction: each input is extracted into a fresh directory
 * ROOT inside a fresh PARENT.  Whatever the bytes, nothing may appear in
 * PARENT beside ROOT, a refused archive must leave ROOT empty, and the
 * working directory must be what it was.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "cleanup.h"
#include "fsutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char parent[] = "/tmp/hoist-fuzz-archive-XXXXXX";
        char before[4096], after[4096];
        struct hoist_error *err = NULL;
        int r;

        if (getcwd(before, sizeof before) == NULL || mkdtemp(parent) == NULL)
                abort();
        _cleanup_free_ char *root = path_join(parent, "root");
        if (mkdir(root, 0755) < 0)
                abort();
        r = archive_extract_memory(data, size, root, &err);
        hoist_error_free(err);
        if (fs_count_dir(parent) != 1) {
                fprintf(stderr, "fuzz_archive: an entry escaped into '%s'\n", parent);
                abort();
        }
        if (r < 0 && fs_count_dir(root) != 0) {
                fprintf(stderr, "fuzz_archive: a refused archive left files in '%s'\n", root);
                abort();
        }
        if (getcwd(after, sizeof after) == NULL || strcmp(before, after) != 0)
                abort();
        if (fs_remove_tree(parent, NULL) < 0)
                abort();
        return 0;
}
