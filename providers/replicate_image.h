/* SPDX-License-Identifier: MIT */
#ifndef HOIST_REPLICATE_IMAGE_H
#define HOIST_REPLICATE_IMAGE_H

/*
 * The job's image as Replicate reads a Cog image: the same layers, with a
 * config that carries the labels run.cog.version, run.cog.config (a
 * cog.yaml equivalent with train:) and run.cog.openapi_schema, the same
 * schema in Env as HOIST_COG_OPENAPI, and Cmd ["cog"] (the Entrypoint stays
 * hoist-entrypoint), pushed to r8.im/<owner>/<name> with the Replicate
 * token.
 */

#include <stddef.h>

#include "error.h"

/* The Cog version the labels name: the HTTP contract hoist-entrypoint's
 * Cog mode speaks. */
#define REPLICATE_COG_VERSION "0.9.4"

struct replicate_push {
        const char *images_dir;  /* hoist's local image store (an OCI layout) */
        const char *local_ref;   /* the job's image there (or pulled there first) */
        const char *remote_ref;  /* "r8.im/owner/name:latest" */
        const char *schema_text; /* the OpenAPI document, JSON_COMPACT|JSON_SORT_KEYS */
        int gpu;                 /* build.gpu of run.cog.config */
        const char *username;    /* the Replicate account */
        const char *token;       /* REPLICATE_API_TOKEN: the registry password */
};

/* Rewrites an image config's JSON text as said above: *RET is the new text. */
int replicate_image_config(const char *config, size_t len, const char *schema_text, int gpu,
                           char **ret, struct hoist_error **err);

/* Makes the Cog image of P->local_ref, tags it P->remote_ref in the store
 * and pushes it; *RET_DIGEST is the pushed manifest's digest. */
int replicate_image_push(const struct replicate_push *p, char **ret_digest,
                         struct hoist_error **err);

#endif
