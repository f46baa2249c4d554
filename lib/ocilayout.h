/* SPDX-License-Identifier: MIT */
#ifndef HOIST_OCILAYOUT_H
#define HOIST_OCILAYOUT_H

/*
 * hoist's local image store: an OCI image layout (OCI image-layout spec) in
 * a directory, $HOIST_HOME/images by default:
 *   oci-layout                  {"imageLayoutVersion": "1.0.0"}
 *   index.json                  one descriptor per tagged image
 *   blobs/sha256/<hex>          layers, configs, manifests
 * A tag is a descriptor in index.json whose annotation
 * "org.opencontainers.image.ref.name" holds the full reference
 * ("127.0.0.1:5000/team/trainer:v1").  `hoist build` writes here, `hoist push`
 * reads from here, `hoist pull` writes here; skopeo reads it as
 * "oci:DIR:REF".  Writers replace index.json atomically (temp + rename).
 */

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct ocilayout;

/* Opens DIR, creating the layout when it does not exist. */
int ocilayout_open(const char *dir, struct ocilayout **ret, struct hoist_error **err);
void ocilayout_close(struct ocilayout *lay);

const char *ocilayout_dir(const struct ocilayout *lay);

/* DIR/blobs/sha256/<hex> for DIGEST ("sha256:<hex>"), whether or not it
 * exists; NULL for a malformed digest. */
char *ocilayout_blob_path(const struct ocilayout *lay, const char *digest);

/* 1 when the blob is present, 0 when not. */
int ocilayout_has_blob(const struct ocilayout *lay, const char *digest);

/* Stores the file SRC as a blob.  With DIGEST given, the content must match
 * it (else an error, nothing stored); with DIGEST NULL it is computed.  SRC
 * is renamed into place when it is on the same filesystem and MOVE is set,
 * copied otherwise.  *ret_digest (may be NULL) gets "sha256:<hex>". */
int ocilayout_put_blob_file(struct ocilayout *lay, const char *src, const char *digest, int move,
                            char **ret_digest, struct hoist_error **err);
int ocilayout_put_blob_bytes(struct ocilayout *lay, const void *data, size_t len, char **ret_digest,
                             struct hoist_error **err);

/* Points REF at the manifest (or index) DIGEST of MEDIA_TYPE and SIZE,
 * replacing what REF named before. */
int ocilayout_tag(struct ocilayout *lay, const char *ref, const char *media_type,
                  const char *digest, int64_t size, struct hoist_error **err);

/* Looks REF up; HOIST_ERR_NOT_FOUND when it is not tagged.  Any ret_* may
 * be NULL. */
int ocilayout_resolve(const struct ocilayout *lay, const char *ref, char **ret_media_type,
                      char **ret_digest, int64_t *ret_size, struct hoist_error **err);

/* Every tagged reference, as a NULL-terminated array (possibly empty). */
int ocilayout_list(const struct ocilayout *lay, char ***ret_refs, struct hoist_error **err);

static inline void ocilayout_closep(struct ocilayout **l)
{
        ocilayout_close(*l);
}
#define _cleanup_ocilayout_ __attribute__((cleanup(ocilayout_closep)))

#endif
