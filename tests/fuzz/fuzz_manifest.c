/* SPDX-License-Identifier: MIT */
/*
 * Manifest and index parsing (what a registry or an image store hands us):
 * any bytes give a manifest or an error, never a crash or a leak.  A parsed
 * manifest has only well-formed sha256 digests and non-negative sizes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct oci_descriptor *d)
{
        if (d->digest == NULL || digest_parse(d->digest) == NULL || d->size < 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const ctypes[] = {NULL, OCI_MT_MANIFEST, DOCKER_MT_LIST};
        const char *ct = ctypes[size % 3];
        struct oci_manifest *m = NULL;
        struct hoist_error *err = NULL;

        if (oci_manifest_parse((const char *)data, size, ct, &m, &err) < 0) {
                if (err == NULL || m != NULL)
                        abort();
                hoist_error_free(err);
                return 0;
        }
        if (!oci_media_type_is_manifest(m->media_type) ||
            m->is_index != oci_media_type_is_index(m->media_type))
                abort();
        if (!m->is_index)
                check(&m->config);
        for (size_t i = 0; i < m->n_items; i++)
                check(&m->items[i]);
        const struct oci_descriptor *d = oci_index_select(m, "linux", "amd64");
        if (d != NULL && (strcmp(d->os, "linux") != 0 || strcmp(d->arch, "amd64") != 0))
                abort();
        oci_manifest_free(m);
        return 0;
}
