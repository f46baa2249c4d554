/* SPDX-License-Identifier: MIT */
/*
 * Tree manifests come from storage that a job's own key can write: any bytes
 * must give a manifest or an error, never a crash or a leak; nothing that
 * parses may name a path or a link target outside the root, and what parses
 * must write back to the same canonical bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct tree_manifest *m = NULL, *back = NULL;
        struct hoist_error *err = NULL;
        char *once, *twice;
        size_t len;

        if (tree_manifest_parse((const char *)data, size, &m, &err) < 0) {
                hoist_error_release(&err);
                return 0;
        }
        for (size_t i = 0; i < m->n_entries; i++) {
                const struct tree_entry *e = &m->entries[i];
                if (!tree_path_valid(e->path))
                        abort();
                if (e->type == TREE_ENTRY_SYMLINK && (e->target[0] == '\0' || e->target[0] == '/'))
                        abort();
        }
        for (size_t i = 0; i < m->n_packs; i++)
                for (size_t j = 0; j < m->packs[i].n_files; j++)
                        if (m->packs[i].files[j].offset + m->packs[i].files[j].size >
                            m->packs[i].size)
                                abort();
        once = tree_manifest_serialize(m, &len);
        if (tree_manifest_parse(once, len, &back, &err) < 0)
                abort(); /* what we write we must read */
        twice = tree_manifest_serialize(back, NULL);
        if (strcmp(once, twice) != 0)
                abort();
        free(once);
        free(twice);
        tree_manifest_free(back);
        tree_manifest_free(m);
        return 0;
}
