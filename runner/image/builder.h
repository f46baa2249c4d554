/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_BUILD_BUILDER_H
#define HOIST_RUNNER_BUILD_BUILDER_H

/*
 * `hoist build`: a Dockerfile and a context directory in, an OCI image in
 * the local store ($HOIST_HOME/images) out, tagged as the -t reference.
 * Only the stages the target needs are built; every filesystem-changing step
 * becomes one layer (an empty one is left out, with history empty_layer),
 * and each step is looked up in the build cache first.  Errors name the
 * Dockerfile's file:line.
 */

#include <stdint.h>
#include <stdio.h>

#include "error.h"

struct builder_options {
        const char *context;     /* the build context directory */
        const char *dockerfile;  /* NULL: CONTEXT/Dockerfile */
        const char *tag;         /* the reference to tag the result as */
        const char *target;      /* stage name; NULL: the last stage */
        char *const *build_args; /* "K=V" (or "K": from the environment), NULL-terminated */
        const char *compression; /* "gzip" (default) or "zstd" */
        int no_cache;
        int insecure;           /* plain http to any registry, for FROM pulls */
        const char *bundle_tar; /* non-NULL: add this /opt/hoist layer + ENTRYPOINT */
        const char *images_dir; /* the local store */
        const char *cache_dir;  /* the build cache */
        const char *tmp_dir;    /* scratch space (a directory per build is made in it) */
        FILE *out;              /* per-step lines ("[2/7] RUN make"); NULL: silent */
};

struct builder_result {
        char *manifest_digest;
        int64_t manifest_size;
        char *config_digest;
        unsigned steps, cached; /* steps run, of which served from the cache */
};

int builder_build(const struct builder_options *o, struct builder_result *ret,
                  struct hoist_error **err);
/* Parses the Dockerfile and resolves the stages the target needs, building
 * nothing: `hoist build --check`. */
int builder_check(const struct builder_options *o, struct hoist_error **err);
void builder_result_clear(struct builder_result *r);

/* Pushes REF from the local store IMAGES_DIR to the registry it names:
 * only the blobs the registry lacks are sent.  Each blob's progress (redrawn
 * on a terminal, a line per state change otherwise) and a summary go to
 * OUT; OUT NULL: quiet.  CREATE_REPOSITORY: an ECR repository that is
 * missing is created first (HOIST_ECR_CREATE_REPOSITORY=1 does it too). */
int builder_push(const char *images_dir, const char *ref, int insecure, int create_repository,
                 FILE *out, struct hoist_error **err);

/* `hoist import`: a root filesystem tar as the one layer of a new image, as
 * `podman import` makes it. */
struct builder_import_options {
        const char *tar;         /* plain tar, or tar compressed with gzip, zstd, xz or bzip2 */
        const char *tag;         /* the reference to tag the image as */
        char *const *changes;    /* Dockerfile instructions, one each, NULL-terminated:
                                  * CMD ENTRYPOINT ENV EXPOSE LABEL STOPSIGNAL USER VOLUME
                                  * WORKDIR (WORKDIR sets the config only) */
        const char *compression; /* "gzip" (default) or "zstd": how the layer is stored */
        const char *images_dir;  /* the local store */
        const char *cache_dir;   /* the build cache (not written) */
        const char *tmp_dir;     /* scratch space */
        FILE *out;               /* progress lines; NULL: silent */
};

/* Stores O->tar (decompressed, checked to be a tar) as one layer compressed
 * as the builder compresses layers, and a config made from a scratch
 * image's (PATH set, as for FROM scratch) with the changes applied; tags it
 * as O->tag.  ret->steps counts the changes.  A change that is not one of
 * the instructions above is HOIST_ERR_USAGE naming it; a file that is not a
 * tar is HOIST_ERR_INPUT naming it.  Nothing is tagged on error. */
int builder_import(const struct builder_import_options *o, struct builder_result *ret,
                   struct hoist_error **err);

/* The entrypoint bundle tar next to the bundle directory BUNDLE_DIR
 * (".../bundle/opt/hoist" -> ".../hoist-entrypoint-bundle.tar"); NULL when
 * missing. */
char *builder_find_bundle_tar(const char *bundle_dir);

#endif
