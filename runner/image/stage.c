/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "imageref.h"
#include "runner/image/layer.h"
#include "log.h"
#include "registry.h"
#include "runner/image/stage.h"
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

/* What the image has at NAME, a clean name whose components above the last
 * are directories, not links, read from the root filesystem ROOTFD.
 * LAYER_PATH_UNTOUCHED when it is not there. */
static int what_in_root(int rootfd, const char *name, enum layer_path *ret, char **ret_target,
                        struct hoist_error **err)
{
        char target[PATH_MAX];
        struct stat st;
        ssize_t n;

        *ret = LAYER_PATH_UNTOUCHED;
        *ret_target = NULL;
        if (fstatat(rootfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno != ENOENT && errno != ENOTDIR)
                        return hoist_error_errno(err, "look up '/%s' in the image", name);
        } else if (S_ISDIR(st.st_mode)) {
                *ret = LAYER_PATH_DIR;
        } else if (!S_ISLNK(st.st_mode)) {
                *ret = LAYER_PATH_OTHER;
        } else if ((n = readlinkat(rootfd, name, target, sizeof target - 1)) < 0) {
                return hoist_error_errno(err, "read the link '/%s' in the image", name);
        } else {
                target[n] = '\0';
                *ret_target = xstrdup(target);
                *ret = LAYER_PATH_SYMLINK;
        }
        return 0;
}

/* What the image has at each of the N names, each one component longer
 * than the one before: from the root filesystem (ROOTFD >= 0) up to the
 * first that is not a directory (those after it are left UNTOUCHED, as a
 * link among them could lead out of the root), else from the layers, newest
 * first, all names in one read of each layer. */
static int what_are(struct stage *s, struct ocilayout *lay, int rootfd, char **names, size_t n,
                    enum layer_path *ret, char **ret_targets, struct hoist_error **err)
{
        size_t left = n;

        for (size_t i = 0; i < n; i++) {
                ret[i] = LAYER_PATH_UNTOUCHED;
                ret_targets[i] = NULL;
        }
        if (rootfd >= 0) {
                for (size_t i = 0; i < n; i++) {
                        if (what_in_root(rootfd, names[i], &ret[i], &ret_targets[i], err) < 0)
                                return -1;
                        if (ret[i] != LAYER_PATH_DIR)
                                break;
                }
                return 0;
        }
        for (size_t l = s->n_layers; l-- > 0 && left > 0;) {
                const struct image_layer *layer = &s->layers[l];
                _cleanup_free_ char *blob = ocilayout_blob_path(lay, layer->digest);
                _cleanup_free_ const char **ask = xcalloc(left, sizeof *ask);
                _cleanup_free_ enum layer_path *got = xcalloc(left, sizeof *got);
                _cleanup_free_ char **targets = xcalloc(left, sizeof *targets);
                size_t k = 0;

                if (blob == NULL || !fs_exists(blob))
                        return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                                "layer %s is missing from the image store",
                                                layer->digest);
                for (size_t i = 0; i < n; i++)
                        if (ret[i] == LAYER_PATH_UNTOUCHED)
                                ask[k++] = names[i];
                if (layer_lookup_paths(blob, layer->media_type, ask, k, got, targets, err) < 0)
                        return hoist_error_wrap(err, "read layer %s", layer->digest);
                k = 0;
                for (size_t i = 0; i < n; i++) {
                        if (ret[i] != LAYER_PATH_UNTOUCHED)
                                continue;
                        ret[i] = got[k];
                        ret_targets[i] = targets[k++];
                        if (ret[i] != LAYER_PATH_UNTOUCHED)
                                left--;
                }
        }
        return 0;
}

/* "DIR/FIRST-COMPONENT-OF-REST" ("" DIR is the root). */
static char *first_under(const char *dir, const char *rest)
{
        size_t n = strcspn(rest, "/");

        return *dir ? xasprintf("%s/%.*s", dir, (int)n, rest) : xstrndup(rest, n);
}

/* REST without its first component. */
static const char *after_first(const char *rest)
{
        const char *slash = strchr(rest, '/');

        return slash != NULL ? slash + 1 : rest + strlen(rest);
}

/* REST without its first K components. */
static const char *after(const char *rest, size_t k)
{
        while (k-- > 0 && *rest != '\0')
                rest = after_first(rest);
        return rest;
}

/* What the image has along DIR/REST: NAMES[i] is DIR and the first i+1
 * components of REST. */
struct walk {
        size_t n;
        char **names;
        char **targets;
        enum layer_path *what;
};

static void walk_clear(struct walk *w)
{
        for (size_t i = 0; i < w->n; i++) {
                free(w->names[i]);
                free(w->targets[i]);
        }
        free(w->names);
        free(w->targets);
        free(w->what);
}

static int walk_read(struct stage *s, struct ocilayout *lay, int rootfd, const char *dir,
                     const char *rest, struct walk *w, struct hoist_error **err)
{
        for (const char *p = rest; *p != '\0'; p = after_first(p))
                w->n++;
        w->names = xcalloc(w->n, sizeof *w->names);
        w->targets = xcalloc(w->n, sizeof *w->targets);
        w->what = xcalloc(w->n, sizeof *w->what);
        for (size_t i = 0; i < w->n; i++)
                w->names[i] = first_under(i > 0 ? w->names[i - 1] : dir, after(rest, i));
        return what_are(s, lay, rootfd, w->names, w->n, w->what, w->targets, err);
}

int stage_find_dir(struct stage *s, struct ocilayout *lay, const char *path, char **ret_dir,
                   char **ret_rest, int *ret_not_dir, struct hoist_error **err)
{
        _cleanup_free_ char *dir = xstrdup("");
        _cleanup_free_ char *rest = path_clean_in_root(path);
        _cleanup_close_ int rootfd = -1;
        int hops = 0, not_dir = 0, stop = 0;

        if (s->rootfs != NULL && s->applied == s->n_layers) {
                rootfd = open(s->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (rootfd < 0)
                        return hoist_error_errno(err, "open image root '%s'", s->rootfs);
        }
        while (!stop && *rest != '\0') {
                struct walk w = {0};
                char *next_dir, *next_rest;
                size_t k = 0;

                if (walk_read(s, lay, rootfd, dir, rest, &w, err) < 0) {
                        walk_clear(&w);
                        return -1;
                }
                while (k < w.n && w.what[k] == LAYER_PATH_DIR)
                        k++;
                if (k < w.n && w.what[k] == LAYER_PATH_SYMLINK && hops++ < MAX_LINKS) {
                        /* The link's target, then what was below the link,
                         * walked again from the root. */
                        _cleanup_free_ char *to = link_resolve(w.names[k], w.targets[k]);
                        _cleanup_free_ char *joined = path_join(*to ? to : "/", after(rest, k + 1));
                        next_dir = xstrdup("");
                        next_rest = path_clean_in_root(joined);
                } else {
                        /* all there; or missing, removed, a file, or a loop
                         * of links */
                        next_dir = xstrdup(k > 0 ? w.names[k - 1] : dir);
                        next_rest = xstrdup(after(rest, k));
                        not_dir = k < w.n && w.what[k] != LAYER_PATH_UNTOUCHED &&
                                  w.what[k] != LAYER_PATH_REMOVED;
                        stop = 1;
                }
                walk_clear(&w);
                free(dir);
                dir = next_dir;
                free(rest);
                rest = next_rest;
        }
        *ret_dir = TAKE_PTR(dir);
        *ret_rest = TAKE_PTR(rest);
        if (ret_not_dir != NULL)
                *ret_not_dir = not_dir;
        return 0;
}

int stage_is_dir(struct stage *s, struct ocilayout *lay, const char *path, struct hoist_error **err)
{
        _cleanup_free_ char *dir = NULL, *rest = NULL;

        if (stage_find_dir(s, lay, path, &dir, &rest, NULL, err) < 0)
                return -1;
        return *rest == '\0';
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
