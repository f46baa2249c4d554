/* SPDX-License-Identifier: MIT */
/*
 * Checkpoint manifests come from storage that a job's own key can write:
 * any bytes must give a manifest or an error, never a crash or a leak, and
 * nothing that parses may name a path outside the checkpoint dir.  What
 * parses must also write and read back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "entrypoint/checkpoint_manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct checkpoint_manifest *m = NULL, *back = NULL;
        struct hoist_error *err = NULL;
        char *json;

        if (checkpoint_manifest_parse((const char *)data, size, "fuzz.json", &m, &err) < 0) {
                hoist_error_release(&err);
                return 0;
        }
        for (size_t i = 0; i < m->n_files; i++) {
                const char *p = m->files[i].path;
                if (p[0] == '/' || strstr(p, "..") == p || strstr(p, "/../") != NULL ||
                    strncmp(p, ".hoist", 6) == 0)
                        abort();
        }
        (void)checkpoint_step(m->files, m->n_files, (const char *)m->job_id);
        json = checkpoint_manifest_to_json(m);
        if (checkpoint_manifest_parse(json, strlen(json), "fuzz.json", &back, &err) < 0 ||
            back->n_files != m->n_files || back->seq != m->seq)
                abort(); /* what we write we must read */
        checkpoint_manifest_free(back);
        checkpoint_manifest_free(m);
        free(json);
        return 0;
}
