/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "archive.h"
#include "cleanup.h"
#include "fsutil.h"
#include "imageref.h"
#include "layer.h"
#include "log.h"
#include "registry.h"
#include "stage.h"
#include "xalloc.h"

void stage_init_scratch(struct stage *s)
{
        s->cfg = image_config_new();
        s->chain = xstrdup("scratch");
}

void stage_init_from(struct stage *s, const struct stage *base)
{
        s->cfg = image_config_copy(base->cfg);
        s->chain = xstrdup(base->chain);
        for (size_t i = 0; i < base->n_layers; i++) {
                s->layers = xreallocarray(s->layers, s->n_layers + 1, sizeof *s->layers);
                s->layers[s->n_layers++] = (struct image_layer){
                        .media_type = xstrdup(base->layers[i].media_type),
                        .digest = xstrdup(base->layers[i].digest),
                        .diff_id = xstrdup(base->layers[i].diff_id),
                        .size = base->layers[i].size,
                };
        }
}

static char *read_blob(struct ocilayout *lay, const char *digest, size_t *ret_len,
                       struct hoist_error **err)
{
        _cleanup_free_ char *path = ocilayout_blob_path(lay, digest);
        char *data = NULL;

        if (path == NULL) {
                hoist_error_make(err, HOIST_ERR_INPUT, "malformed digest '%s'", digest);
                return NULL;
        }
        if (fs_read_file(path, &data, ret_len, err) < 0)
                return NULL;
        return data;
}

/* Docker's media types name the same bytes as OCI's; the manifest hoist
 * writes is OCI, so it uses the OCI names. */
static const char *oci_layer_type(const char *mt)
{
        if (strcmp(mt, IMAGE_MT_DOCKER_LAYER_GZIP) == 0)
                return IMAGE_MT_LAYER_GZIP;
        if (strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar") == 0)
                return IMAGE_MT_LAYER_TAR;
        return mt;
}

static int resolve_local(struct ocilayout *lay, const char *ref, char **ret_digest)
{
        _cleanup_error_ struct hoist_error *e = NULL;
        _cleanup_imageref_ struct imageref *r = NULL;
        _cleanup_free_ char *norm = NULL;

        if (ocilayout_resolve(lay, ref, NULL, ret_digest, NULL, &e) == 0)
                return 1;
        hoist_error_release(&e);
        if (imageref_parse(ref, &r, &e) < 0)
                return 0;
        norm = imageref_string(r);
        if (ocilayout_resolve(lay, norm, NULL, ret_digest, NULL, &e) == 0)
                return 1;
        return 0;
}

int stage_init_image(struct stage *s, struct ocilayout *lay, const char *ref, int insecure,
                     FILE *out, struct hoist_error **err)
{
        _cleanup_free_ char *digest = NULL, *mdata = NULL, *cdata = NULL, *cfg_digest = NULL;
        struct registry_options ro = {.insecure = insecure};
        struct image_layer *layers = NULL;
        size_t mlen = 0, clen = 0, n = 0;

        if (!resolve_local(lay, ref, &digest)) {
                if (out != NULL) {
                        fprintf(out, "pulling %s\n", ref);
                        fflush(out);
                }
                if (registry_pull(ref, lay, &ro, &digest, err) < 0)
                        return hoist_error_wrap(err, "pull base image '%s'", ref);
        }
        mdata = read_blob(lay, digest, &mlen, err);
        if (mdata == NULL)
                return hoist_error_wrap(err, "base image '%s'", ref);
        if (image_manifest_parse(mdata, mlen, ref, &cfg_digest, &layers, &n, err) < 0)
                return -1;
        cdata = read_blob(lay, cfg_digest, &clen, err);
        if (cdata == NULL) {
                image_layers_free(layers, n);
                return hoist_error_wrap(err, "base image '%s' config", ref);
        }
        s->cfg = image_config_parse(cdata, clen, ref, err);
        if (s->cfg == NULL) {
                image_layers_free(layers, n);
                return -1;
        }
        if (image_config_layer_count(s->cfg) != n) {
                image_layers_free(layers, n);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "base image '%s': %zu layers but %zu diff_ids", ref, n,
                                        image_config_layer_count(s->cfg));
        }
        for (size_t i = 0; i < n; i++) {
                const char *mt = oci_layer_type(layers[i].media_type);
                if (mt != layers[i].media_type) {
                        free(layers[i].media_type);
                        layers[i].media_type = xstrdup(mt);
                }
                layers[i].diff_id = xstrdup(image_config_diff_id(s->cfg, i));
        }
        s->layers = layers;
        s->n_layers = n;
        s->chain = TAKE_PTR(digest);
        return 0;
}

void stage_add_layer(struct stage *s, const struct image_layer *layer, const char *created_by)
{
        s->layers = xreallocarray(s->layers, s->n_layers + 1, sizeof *s->layers);
        s->layers[s->n_layers++] = (struct image_layer){
                .media_type = xstrdup(layer->media_type),
                .digest = xstrdup(layer->digest),
                .diff_id = xstrdup(layer->diff_id),
                .size = layer->size,
        };
        image_config_add_layer(s->cfg, layer->diff_id, created_by);
}

int stage_materialize(struct stage *s, struct ocilayout *lay, const char *rootfs,
                      struct hoist_error **err)
{
        if (s->rootfs == NULL) {
                if (fs_mkdir_p(rootfs, 0755, err) < 0)
                        return -1;
                s->rootfs = xstrdup(rootfs);
                s->applied = 0;
        }
        for (; s->applied < s->n_layers; s->applied++) {
                const struct image_layer *l = &s->layers[s->applied];
                _cleanup_free_ char *blob = ocilayout_blob_path(lay, l->digest);
                if (blob == NULL || !fs_exists(blob))
                        return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                                "layer %s is missing from the image store",
                                                l->digest);
                log_debug("unpacking %s into %s", l->digest, s->rootfs);
                if (layer_unpack(blob, l->media_type, s->rootfs, err) < 0)
                        return hoist_error_wrap(err, "unpack layer %s", l->digest);
        }
        return 0;
}

/* The target of a link at PATH resolved against its directory, inside the
 * image ("/.." is "/"), as path_clean_in_root() writes it. */
static char *link_resolve(const char *path, const char *target)
{
        const char *slash = strrchr(path, '/');
        _cleanup_free_ char *joined =
                target[0] == '/' || slash == NULL
                        ? xstrdup(target)
                        : xasprintf("%.*s/%s", (int)(slash - path), path, target);

        return path_clean_in_root(joined);
}

#define MAX_LINKS 16

int stage_is_dir(struct stage *s, struct ocilayout *lay, const char *path, struct hoist_error **err)
{
        _cleanup_free_ char *cur = archive_name_normalize(path, 1);

        if (cur == NULL)
                return 0;
        if (s->rootfs != NULL && s->applied == s->n_layers) {
                _cleanup_close_ int rootfd = open(s->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int fd = -1;
                struct stat st;

                if (rootfd < 0)
                        return hoist_error_errno(err, "open image root '%s'", s->rootfs);
                if (*cur == '\0')
                        return 1;
                fd = layer_open_in_root(rootfd, cur, O_PATH | O_CLOEXEC, 0);
                return fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
        }
        for (int hops = 0; hops <= MAX_LINKS; hops++) {
                enum layer_path what = LAYER_PATH_UNTOUCHED;
                _cleanup_free_ char *target = NULL;

                if (*cur == '\0')
                        return 1; /* "/" */
                for (size_t i = s->n_layers; i-- > 0 && what == LAYER_PATH_UNTOUCHED;) {
                        const struct image_layer *l = &s->layers[i];
                        _cleanup_free_ char *blob = ocilayout_blob_path(lay, l->digest);
                        if (blob == NULL || !fs_exists(blob))
                                return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                                        "layer %s is missing from the image store",
                                                        l->digest);
                        if (layer_lookup(blob, l->media_type, cur, &what, &target, err) < 0)
                                return hoist_error_wrap(err, "read layer %s", l->digest);
                }
                if (what != LAYER_PATH_SYMLINK)
                        return what == LAYER_PATH_DIR;
                {
                        char *next = link_resolve(cur, target);
                        free(cur);
                        cur = next;
                }
        }
        return 0; /* a loop of links: not a directory */
}

int stage_commit(struct stage *s, struct ocilayout *lay, const char *tag, int64_t epoch,
                 char **ret_manifest_digest, int64_t *ret_manifest_size, char **ret_config_digest,
                 struct hoist_error **err)
{
        _cleanup_free_ char *cfg = image_config_serialize(s->cfg, epoch);
        _cleanup_free_ char *cfg_digest = NULL, *manifest = NULL, *m_digest = NULL;

        if (ocilayout_put_blob_bytes(lay, cfg, strlen(cfg), &cfg_digest, err) < 0)
                return hoist_error_wrap(err, "store image config");
        manifest = image_manifest_build(cfg_digest, (int64_t)strlen(cfg), s->layers, s->n_layers);
        if (ocilayout_put_blob_bytes(lay, manifest, strlen(manifest), &m_digest, err) < 0)
                return hoist_error_wrap(err, "store image manifest");
        if (tag != NULL && ocilayout_tag(lay, tag, IMAGE_MT_MANIFEST, m_digest,
                                         (int64_t)strlen(manifest), err) < 0)
                return hoist_error_wrap(err, "tag '%s'", tag);
        if (ret_manifest_size != NULL)
                *ret_manifest_size = (int64_t)strlen(manifest);
        if (ret_manifest_digest != NULL)
                *ret_manifest_digest = TAKE_PTR(m_digest);
        if (ret_config_digest != NULL)
                *ret_config_digest = TAKE_PTR(cfg_digest);
        return 0;
}

void stage_set_chain(struct stage *s, const char *key)
{
        free(s->chain);
        s->chain = xstrdup(key);
}

void stage_clear(struct stage *s)
{
        free(s->name);
        image_config_free(s->cfg);
        image_layers_free(s->layers, s->n_layers);
        free(s->chain);
        free(s->rootfs);
        memset(s, 0, sizeof *s);
}
