/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes layer_unpack(): each input is written to a blob file and applied
 * to a fresh ROOT inside a fresh PARENT that also holds a sentinel file.
 * Whatever the bytes (whiteouts, opaque markers, "..", absolute or climbing
 * symlinks, hard links), nothing may appear in PARENT beside ROOT and the
 * sentinel, and the sentinel must be untouched.  layer_lookup() then reads
 * the same bytes for a few paths: a target exactly when it says symlink.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "runner/image/layer.h"

static const char *const lookups[] = {"a", "a/b", "etc", "usr/local/bin", "x/y/z"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char parent[] = "/tmp/hoist-fuzz-layer-XXXXXX";
        char blob[] = "/tmp/hoist-fuzz-layer-blob-XXXXXX";
        struct hoist_error *err = NULL;
        char *got = NULL;
        size_t len = 0;
        int fd;

        if (mkdtemp(parent) == NULL || (fd = mkstemp(blob)) < 0)
                abort();
        if (fs_write_all(fd, data, size) < 0)
                abort();
        (void)close(fd);
        _cleanup_free_ char *root = path_join(parent, "root");
        _cleanup_free_ char *sentinel = path_join(parent, "sentinel");
        if (mkdir(root, 0755) < 0 || fs_write_file_atomic(sentinel, "keep", 4, 0644, NULL) < 0)
                abort();
        (void)layer_unpack(blob, NULL, root, &err);
        hoist_error_free(err);
        err = NULL;
        /* The read-only lookup COPY uses on layers it does not unpack. */
        for (size_t i = 0; i < sizeof(lookups) / sizeof(lookups[0]); i++) {
                enum layer_path what;
                char *target = NULL;
                if (layer_lookup(blob, NULL, lookups[i], &what, &target, &err) == 0) {
                        if ((what == LAYER_PATH_SYMLINK) != (target != NULL))
                                abort();
                } else {
                        hoist_error_free(err);
                        err = NULL;
                }
                free(target);
        }
        if (fs_count_dir(parent) != 2) {
                fprintf(stderr, "fuzz_layer: an entry escaped into '%s'\n", parent);
                abort();
        }
        if (fs_read_file(sentinel, &got, &len, NULL) < 0 || len != 4 || memcmp(got, "keep", 4)) {
                fprintf(stderr, "fuzz_layer: the sentinel beside the root changed\n");
                abort();
        }
        free(got);
        if (fs_remove_tree(parent, NULL) < 0 || unlink(blob) < 0)
                abort();
        return 0;
}
