/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_BUILD_IMAGE_H
#define HOIST_RUNNER_BUILD_IMAGE_H

/*
 * The OCI image config and manifest a build produces (OCI image-spec
 * config.md and manifest.md).  The config is kept as the JSON object it
 * will be written as, so a base image's fields hoist does not know survive
 * the build.  Serialisation is canonical (sorted keys, compact), and
 * "created" is SOURCE_DATE_EPOCH (0 when unset) for every history entry and
 * the image, so the same inputs give the same digests on any machine.
 */

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define IMAGE_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define IMAGE_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define IMAGE_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define IMAGE_MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define IMAGE_MT_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define IMAGE_MT_LAYER_TAR "application/vnd.oci.image.layer.v1.tar"
#define IMAGE_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define IMAGE_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* The PATH an image gets when its base sets none (FROM scratch), and that a
 * RUN gets when the image has none: Docker's and buildah's. */
#define IMAGE_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct image_config {
        json_t *root; /* the whole config document */
};

/* A layer as the manifest lists it. */
struct image_layer {
        char *media_type;
        char *digest;  /* of the compressed blob */
        char *diff_id; /* of the uncompressed tar */
        int64_t size;  /* of the compressed blob */
};

/* An empty linux/amd64 config: no layers, no history, empty "config". */
struct image_config *image_config_new(void);
/* Parses a base image's config; HOIST_ERR_INPUT naming WHAT when invalid. */
struct image_config *image_config_parse(const char *data, size_t len, const char *what,
                                        struct hoist_error **err);
struct image_config *image_config_copy(const struct image_config *c);
void image_config_free(struct image_config *c);

/* config.Env: replaces KEY's entry or appends "KEY=VALUE". */
void image_config_set_env(struct image_config *c, const char *key, const char *value);
/* The value of KEY in config.Env, or NULL (borrowed). */
const char *image_config_get_env(const struct image_config *c, const char *key);
/* config.Env as a NULL-terminated "K=V" vector (caller frees with strv_free). */
char **image_config_env(const struct image_config *c);

/* A string field of config (WorkingDir, User, StopSignal); NULL clears it. */
void image_config_set_string(struct image_config *c, const char *field, const char *value);
const char *image_config_get_string(const struct image_config *c, const char *field);
/* The WorkingDir that `WORKDIR DIR` gives after the config's current one:
 * DIR joined to it when relative ("/" when there is none) and cleaned
 * lexically, as Docker and buildah do: "." and ".." are resolved on the
 * text, never above "/", and never through the image's symbolic links
 * ("/x/y" + "../z" is "/x/z").  Always absolute, no '/' at the end. */
char *image_config_workdir(const struct image_config *c, const char *dir);
/* Sets config.Env's PATH to IMAGE_DEFAULT_PATH when it has none. */
void image_config_default_path(struct image_config *c);
/* An argv field of config (Entrypoint, Cmd); ARGV NULL clears it. */
void image_config_set_argv(struct image_config *c, const char *field, const char *const *argv);
/* The argv field as a NULL-terminated vector, NULL when unset (strv_free). */
char **image_config_get_argv(const struct image_config *c, const char *field);
/* Adds KEY=VALUE to config.Labels. */
void image_config_set_label(struct image_config *c, const char *key, const char *value);
/* Adds "80/tcp" to config.ExposedPorts ("80" means "80/tcp"). */
void image_config_add_port(struct image_config *c, const char *port);
/* Adds PATH to config.Volumes. */
void image_config_add_volume(struct image_config *c, const char *path);

/* Appends DIFF_ID to rootfs.diff_ids and a history entry for it. */
void image_config_add_layer(struct image_config *c, const char *diff_id, const char *created_by);
/* Appends a history entry with empty_layer=true. */
void image_config_add_empty_history(struct image_config *c, const char *created_by);
size_t image_config_layer_count(const struct image_config *c);
/* The i-th diff_id (borrowed), or NULL. */
const char *image_config_diff_id(const struct image_config *c, size_t i);

/* The "config" object as canonical JSON: what the cache keeps as the state
 * after a step.  Restore it with image_config_set_state(). */
char *image_config_state(const struct image_config *c);
int image_config_set_state(struct image_config *c, const char *json, struct hoist_error **err);

/* The canonical JSON of the whole document, with "created" set to EPOCH on
 * the image and on every history entry. */
char *image_config_serialize(const struct image_config *c, int64_t epoch);

/* An OCI manifest: CONFIG_DIGEST/CONFIG_SIZE and N layers, canonical JSON. */
char *image_manifest_build(const char *config_digest, int64_t config_size,
                           const struct image_layer *layers, size_t n);

/* Parses a manifest: the config descriptor and the layers (ret_layers is an
 * array of *ret_n entries, free with image_layers_free).  Accepts OCI and
 * Docker schema 2 manifests; anything else is HOIST_ERR_INPUT naming WHAT. */
int image_manifest_parse(const char *data, size_t len, const char *what, char **ret_config_digest,
                         struct image_layer **ret_layers, size_t *ret_n, struct hoist_error **err);
void image_layers_free(struct image_layer *layers, size_t n);
void image_layer_clear(struct image_layer *l);

/* SOURCE_DATE_EPOCH when set to a valid number, else 0. */
int64_t image_source_date_epoch(void);

static inline void image_config_freep(struct image_config **c)
{
        image_config_free(*c);
}
#define _cleanup_image_config_ __attribute__((cleanup(image_config_freep)))

#endif
