/* SPDX-License-Identifier: MIT */
#ifndef HOIST_OCI_H
#define HOIST_OCI_H

/*
 * OCI and Docker v2 schema 2 manifests and indexes (manifest lists), parsed
 * from untrusted bytes into what a push or pull needs: descriptors.
 */

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define DOCKER_MT_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_MT_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

struct oci_descriptor {
        char *media_type;
        char *digest; /* validated "sha256:<64 hex>" */
        int64_t size;
        char *os; /* platform, in an index only; may be NULL */
        char *arch;
        char *variant;
};

struct oci_manifest {
        char *media_type; /* as the document says, or as the caller was told */
        int is_index;
        struct oci_descriptor config; /* images only */
        struct oci_descriptor *items; /* layers, or an index's manifests */
        size_t n_items;
};

/* 1 for the four manifest media types above. */
int oci_media_type_is_manifest(const char *mt);
int oci_media_type_is_index(const char *mt);

/* Parses DATA.  CONTENT_TYPE (may be NULL) is used when the document has no
 * mediaType.  Every digest is checked for form, every size for sign. */
int oci_manifest_parse(const char *data, size_t len, const char *content_type,
                       struct oci_manifest **ret, struct hoist_error **err);
void oci_manifest_free(struct oci_manifest *m);

/* The index entry for OS/ARCH (variant ignored), or NULL. */
const struct oci_descriptor *oci_index_select(const struct oci_manifest *m, const char *os,
                                              const char *arch);

static inline void oci_manifest_freep(struct oci_manifest **m)
{
        oci_manifest_free(*m);
}
#define _cleanup_oci_manifest_ __attribute__((cleanup(oci_manifest_freep)))

#endif
