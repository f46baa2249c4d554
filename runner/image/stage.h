/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_BUILD_STAGE_H
#define HOIST_RUNNER_BUILD_STAGE_H

/*
 * The image one Dockerfile stage is building: its config, its layer chain
 * (the base image's layers first), the cache chain key, and a root
 * filesystem on disk that is filled lazily: layers are unpacked into it
 * only when a step needs the files (RUN, COPY --from), so a build whose
 * steps are all COPY or cached never unpacks anything.
 */

#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "runner/image/image.h"
#include "ocilayout.h"

struct stage {
        char *name; /* "AS name", or NULL */
        unsigned index;
        struct image_config *cfg;
        struct image_layer *layers;
        size_t n_layers;
        char *chain;    /* the cache key of the last step (or the base's digest) */
        char *rootfs;   /* directory, created on first use */
        size_t applied; /* layers already unpacked into rootfs */
        int done;
};

/* FROM scratch. */
void stage_init_scratch(struct stage *s);
/* FROM an image: found in LAY as REF, else pulled into it from its registry
 * (progress lines to OUT when non-NULL). */
int stage_init_image(struct stage *s, struct ocilayout *lay, const char *ref, int insecure,
                     FILE *out, struct hoist_error **err);
/* FROM a previous stage: its config and layers. */
void stage_init_from(struct stage *s, const struct stage *base);

/* Appends LAYER (copied) with history CREATED_BY. */
void stage_add_layer(struct stage *s, const struct image_layer *layer, const char *created_by);

/* Unpacks the layers not yet in the root filesystem; ROOTFS names the
 * directory to use when the stage has none yet. */
int stage_materialize(struct stage *s, struct ocilayout *lay, const char *rootfs,
                      struct hoist_error **err);

/* How much of PATH (absolute or relative to "/") the stage's image has as
 * directories, following its symbolic links inside the image (at most 16),
 * read from the root filesystem when every layer is unpacked, else from
 * the layers (newest first) without unpacking them.  *ret_dir: the deepest
 * directory on the way, links resolved, as a clean name ("" is the root);
 * *ret_rest: what is missing below it ("" when PATH is a directory).
 * *ret_not_dir (may be NULL): 1 when REST's first component is there but
 * is not a directory (a file, or a loop of links).  -1 on a layer that
 * cannot be read. */
int stage_find_dir(struct stage *s, struct ocilayout *lay, const char *path, char **ret_dir,
                   char **ret_rest, int *ret_not_dir, struct hoist_error **err);

/* Whether PATH is a directory in the stage's image (stage_find_dir):
 * 1 or 0; -1 on a layer that cannot be read. */
int stage_is_dir(struct stage *s, struct ocilayout *lay, const char *path,
                 struct hoist_error **err);

/* Writes the config and manifest blobs into LAY and tags them as TAG
 * (TAG NULL: no tag).  ret_* may be NULL. */
int stage_commit(struct stage *s, struct ocilayout *lay, const char *tag, int64_t epoch,
                 char **ret_manifest_digest, int64_t *ret_manifest_size, char **ret_config_digest,
                 struct hoist_error **err);

/* Makes KEY the cache chain the next step builds on. */
void stage_set_chain(struct stage *s, const char *key);

void stage_clear(struct stage *s);

#endif
