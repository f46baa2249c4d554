/* SPDX-License-Identifier: MIT */
#include "ocilayout.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "imageref.h"
#include "xalloc.h"

#define REF_ANNOTATION "org.opencontainers.image.ref.name"

struct ocilayout {
        char *dir;
};

int ocilayout_open(const char *dir, struct ocilayout **ret, struct hoist_error **err)
{
        _cleanup_free_ char *blobs = path_join(dir, "blobs/sha256");
        _cleanup_free_ char *marker = path_join(dir, "oci-layout");
        _cleanup_free_ char *index = path_join(dir, "index.json");
        static const char layout[] = "{\"imageLayoutVersion\": \"1.0.0\"}";
        static const char empty[] = "{\"schemaVersion\": 2, \"mediaType\": "
                                    "\"application/vnd.oci.image.index.v1+json\", "
                                    "\"manifests\": []}";
        struct ocilayout *lay;

        if (fs_mkdir_p(blobs, 0755, err) < 0)
                return hoist_error_wrap(err, "image store '%s'", dir);
        if (!fs_exists(marker) &&
            fs_write_file_atomic(marker, layout, sizeof layout - 1, 0644, err) < 0)
                return hoist_error_wrap(err, "image store '%s'", dir);
        if (!fs_exists(index) &&
            fs_write_file_atomic(index, empty, sizeof empty - 1, 0644, err) < 0)
                return hoist_error_wrap(err, "image store '%s'", dir);
        lay = xzalloc(sizeof *lay);
        lay->dir = xstrdup(dir);
        *ret = lay;
        return 0;
}

void ocilayout_close(struct ocilayout *lay)
{
        if (lay == NULL)
                return;
        free(lay->dir);
        free(lay);
}

const char *ocilayout_dir(const struct ocilayout *lay)
{
        return lay->dir;
}

char *ocilayout_blob_path(const struct ocilayout *lay, const char *digest)
{
        const char *hex = digest ? digest_parse(digest) : NULL;

        if (hex == NULL)
                return NULL;
        return xasprintf("%s/blobs/sha256/%s", lay->dir, hex);
}

int ocilayout_has_blob(const struct ocilayout *lay, const char *digest)
{
        _cleanup_free_ char *p = ocilayout_blob_path(lay, digest);
        struct stat st;

        return p != NULL && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int ocilayout_put_blob_file(struct ocilayout *lay, const char *src, const char *digest, int move,
                            char **ret_digest, struct hoist_error **err)
{
        char hex[DIGEST_HEX_LEN + 1];
        _cleanup_free_ char *dst = NULL;

        if (digest != NULL && digest_parse(digest) == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "malformed digest '%s'", digest);
        if (digest_file_hex(src, hex, NULL, err) < 0)
                return -1;
        if (digest != NULL && strcmp(digest_parse(digest), hex) != 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' has digest sha256:%s, not %s: the content is "
                                        "corrupt or not what was asked for",
                                        src, hex, digest);
        dst = xasprintf("%s/blobs/sha256/%s", lay->dir, hex);
        if (fs_exists(dst)) {
                if (move)
                        (void)unlink(src);
        } else if (move && rename(src, dst) == 0) {
                (void)chmod(dst, 0644);
        } else if (move && errno != EXDEV) {
                return hoist_error_errno(err, "move '%s' to '%s'", src, dst);
        } else {
                if (fs_copy_file(src, dst, err) < 0)
                        return -1;
                if (move)
                        (void)unlink(src);
        }
        if (ret_digest)
                *ret_digest = xasprintf("sha256:%s", hex);
        return 0;
}

int ocilayout_put_blob_bytes(struct ocilayout *lay, const void *data, size_t len, char **ret_digest,
                             struct hoist_error **err)
{
        char hex[DIGEST_HEX_LEN + 1];
        _cleanup_free_ char *dst = NULL;

        digest_sha256_hex(data, len, hex);
        dst = xasprintf("%s/blobs/sha256/%s", lay->dir, hex);
        if (!fs_exists(dst) && fs_write_file_atomic(dst, data, len, 0644, err) < 0)
                return -1;
        if (ret_digest)
                *ret_digest = xasprintf("sha256:%s", hex);
        return 0;
}

static json_t *load_index(const struct ocilayout *lay, struct hoist_error **err)
{
        _cleanup_free_ char *path = path_join(lay->dir, "index.json");
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        json_error_t jerr;
        json_t *root, *m;

        if (fs_read_file(path, &data, &len, err) < 0)
                return NULL;
        root = json_loadb(data, len, 0, &jerr);
        if (root == NULL) {
                hoist_error_make(err, HOIST_ERR_INPUT, "'%s' line %d column %d: %s", path,
                                 jerr.line, jerr.column, jerr.text);
                return NULL;
        }
        m = json_object_get(root, "manifests");
        if (!json_is_object(root) || (m != NULL && !json_is_array(m))) {
                json_decref(root);
                hoist_error_make(err, HOIST_ERR_INPUT,
                                 "'%s' is not an OCI image index (no \"manifests\" array)", path);
                return NULL;
        }
        if (m == NULL)
                json_object_set_new(root, "manifests", json_array());
        return root;
}

static const char *entry_ref(json_t *entry)
{
        return json_string_value(
                json_object_get(json_object_get(entry, "annotations"), REF_ANNOTATION));
}

/* Exact match, or the same image once both are normalised
 * ("trainer:v1" is "docker.io/library/trainer:v1"). */
static int ref_matches(const char *have, const char *want)
{
        struct hoist_error *e = NULL;
        _cleanup_imageref_ struct imageref *a = NULL;
        _cleanup_imageref_ struct imageref *b = NULL;
        _cleanup_free_ char *sa = NULL, *sb = NULL;

        if (strcmp(have, want) == 0)
                return 1;
        if (imageref_parse(have, &a, &e) < 0 || imageref_parse(want, &b, &e) < 0) {
                hoist_error_release(&e);
                return 0;
        }
        sa = imageref_string(a);
        sb = imageref_string(b);
        return strcmp(sa, sb) == 0;
}

int ocilayout_tag(struct ocilayout *lay, const char *ref, const char *media_type,
                  const char *digest, int64_t size, struct hoist_error **err)
{
        _cleanup_free_ char *path = path_join(lay->dir, "index.json");
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int dfd = -1;
        json_t *root, *arr, *desc;
        size_t i;

        if (digest_parse(digest) == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "tag '%s': malformed digest '%s'",
                                        ref, digest);
        /* One writer of index.json at a time: a lock on the directory. */
        dfd = open(lay->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || flock(dfd, LOCK_EX) < 0)
                return hoist_error_errno(err, "lock image store '%s'", lay->dir);
        root = load_index(lay, err);
        if (root == NULL)
                return hoist_error_wrap(err, "tag '%s'", ref);
        arr = json_object_get(root, "manifests");
        for (i = 0; i < json_array_size(arr);) {
                const char *r = entry_ref(json_array_get(arr, i));
                if (r != NULL && strcmp(r, ref) == 0)
                        json_array_remove(arr, i);
                else
                        i++;
        }
        desc = json_pack("{s:s, s:s, s:I, s:{s:s}}", "mediaType", media_type, "digest", digest,
                         "size", (json_int_t)size, "annotations", REF_ANNOTATION, ref);
        json_array_append_new(arr, desc);
        if (json_object_get(root, "schemaVersion") == NULL)
                json_object_set_new(root, "schemaVersion", json_integer(2));
        text = json_dumps(root, JSON_INDENT(2));
        json_decref(root);
        if (fs_write_file_atomic(path, text, strlen(text), 0644, err) < 0)
                return hoist_error_wrap(err, "tag '%s'", ref);
        return 0;
}

int ocilayout_resolve(const struct ocilayout *lay, const char *ref, char **ret_media_type,
                      char **ret_digest, int64_t *ret_size, struct hoist_error **err)
{
        json_t *root = load_index(lay, err), *arr, *found = NULL;

        if (root == NULL)
                return -1;
        arr = json_object_get(root, "manifests");
        for (int pass = 0; pass < 2 && found == NULL; pass++) {
                for (size_t i = 0; i < json_array_size(arr); i++) {
                        json_t *e = json_array_get(arr, i);
                        const char *r = entry_ref(e);
                        if (r != NULL && (pass == 0 ? strcmp(r, ref) == 0 : ref_matches(r, ref))) {
                                found = e;
                                break;
                        }
                }
        }
        if (found == NULL) {
                json_decref(root);
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                        "no image '%s' in the image store '%s' (build it with "
                                        "'hoist build', or 'hoist pull' it)",
                                        ref, lay->dir);
        }
        const char *mt = json_string_value(json_object_get(found, "mediaType"));
        const char *dg = json_string_value(json_object_get(found, "digest"));
        json_t *sz = json_object_get(found, "size");
        if (dg == NULL || digest_parse(dg) == NULL || !json_is_integer(sz)) {
                json_decref(root);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "image store '%s': the entry of '%s' has no valid "
                                        "digest and size",
                                        lay->dir, ref);
        }
        if (ret_media_type)
                *ret_media_type = xstrdup(mt ? mt : "application/vnd.oci.image.manifest.v1+json");
        if (ret_digest)
                *ret_digest = xstrdup(dg);
        if (ret_size)
                *ret_size = json_integer_value(sz);
        json_decref(root);
        return 0;
}

int ocilayout_list(const struct ocilayout *lay, char ***ret_refs, struct hoist_error **err)
{
        json_t *root = load_index(lay, err), *arr;
        char **v;
        size_t n = 0;

        if (root == NULL)
                return -1;
        arr = json_object_get(root, "manifests");
        v = xcalloc(json_array_size(arr) + 1, sizeof *v);
        for (size_t i = 0; i < json_array_size(arr); i++) {
                const char *r = entry_ref(json_array_get(arr, i));
                if (r != NULL)
                        v[n++] = xstrdup(r);
        }
        json_decref(root);
        *ret_refs = v;
        return 0;
}
