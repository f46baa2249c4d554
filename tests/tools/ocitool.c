/* SPDX-License-Identifier: MIT */
/*
 * ocitool: makes test images in an OCI layout with lib/ocilayout, for the
 * registry tests (before and apart from `hoist build`).
 *   ocitool mkimage LAYOUT REF ROOTFS_DIR [ENTRYPOINT...]
 * packs ROOTFS_DIR as one gzip layer, writes a config (linux/amd64) and an
 * OCI image manifest, and tags it REF.  Prints the manifest digest.
 *   ocitool mkindex LAYOUT REF IMAGE_REF=OS/ARCH...
 * writes an OCI image index of those (already tagged) images with their
 * platforms and tags it REF.  Prints the index digest.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "archive.h"
#include "cleanup.h"
#include "digest.h"
#include "ocilayout.h"
#include "xalloc.h"

static int gzip_file(const char *src, const char *dst)
{
        FILE *in = fopen(src, "rb");
        gzFile out = gzopen(dst, "wb6");
        char chunk[1 << 16];
        size_t n;
        int rc = 0;

        if (in == NULL || out == NULL) {
                rc = -1;
                goto done;
        }
        while ((n = fread(chunk, 1, sizeof chunk, in)) > 0)
                if (gzwrite(out, chunk, (unsigned)n) != (int)n) {
                        rc = -1;
                        break;
                }
done:
        if (in)
                fclose(in);
        if (out && gzclose(out) != Z_OK)
                rc = -1;
        return rc;
}

static int mkimage(int argc, char **argv)
{
        struct hoist_error *err = NULL;
        _cleanup_ocilayout_ struct ocilayout *lay = NULL;
        _cleanup_free_ char *tar = NULL, *gz = NULL, *layer = NULL, *config_digest = NULL;
        _cleanup_free_ char *manifest_digest = NULL, *config = NULL, *manifest = NULL;
        char diff_hex[65], gz_hex[65];
        uint64_t tar_size, gz_size;
        json_t *entry = json_array();

        for (int i = 5; i < argc; i++)
                json_array_append_new(entry, json_string(argv[i]));
        tar = xasprintf("%s/.ocitool-%d.tar", argv[2], (int)getpid());
        gz = xasprintf("%s.gz", tar);
        if (ocilayout_open(argv[2], &lay, &err) < 0 ||
            archive_create_tar(argv[4], tar, diff_hex, &tar_size, &err) < 0)
                goto fail;
        if (gzip_file(tar, gz) < 0) {
                fprintf(stderr, "ocitool: gzip '%s' failed\n", tar);
                return 1;
        }
        (void)unlink(tar);
        if (digest_file_hex(gz, gz_hex, &gz_size, &err) < 0 ||
            ocilayout_put_blob_file(lay, gz, NULL, 1, &layer, &err) < 0)
                goto fail;
        json_t *cfg = json_pack(
                "{s:s, s:s, s:s, s:{s:[s], s:o}, s:{s:s, s:[s+]}, s:[{s:s, s:s}]}", "created",
                "1970-01-01T00:00:00Z", "architecture", "amd64", "os", "linux", "config", "Env",
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "Entrypoint",
                entry, "rootfs", "type", "layers", "diff_ids", "sha256:", diff_hex, "history",
                "created", "1970-01-01T00:00:00Z", "created_by", "ocitool mkimage");
        config = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(cfg);
        if (ocilayout_put_blob_bytes(lay, config, strlen(config), &config_digest, &err) < 0)
                goto fail;
        json_t *man =
                json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:[{s:s, s:s, s:I}]}", "schemaVersion", 2,
                          "mediaType", "application/vnd.oci.image.manifest.v1+json", "config",
                          "mediaType", "application/vnd.oci.image.config.v1+json", "digest",
                          config_digest, "size", (json_int_t)strlen(config), "layers", "mediaType",
                          "application/vnd.oci.image.layer.v1.tar+gzip", "digest", layer, "size",
                          (json_int_t)gz_size);
        manifest = json_dumps(man, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(man);
        if (ocilayout_put_blob_bytes(lay, manifest, strlen(manifest), &manifest_digest, &err) < 0 ||
            ocilayout_tag(lay, argv[3], "application/vnd.oci.image.manifest.v1+json",
                          manifest_digest, (int64_t)strlen(manifest), &err) < 0)
                goto fail;
        printf("%s\n", manifest_digest);
        return 0;
fail:
        fprintf(stderr, "ocitool: %s\n", err->msg);
        hoist_error_free(err);
        return 1;
}

static int mkindex(int argc, char **argv)
{
        struct hoist_error *err = NULL;
        _cleanup_ocilayout_ struct ocilayout *lay = NULL;
        _cleanup_free_ char *text = NULL, *digest = NULL;
        json_t *list = json_array();

        if (ocilayout_open(argv[2], &lay, &err) < 0)
                goto fail;
        for (int i = 4; i < argc; i++) {
                _cleanup_free_ char *ref = xstrdup(argv[i]), *mt = NULL, *dg = NULL;
                char *eq = strchr(ref, '='), *slash;
                int64_t size = 0;
                if (eq == NULL || (slash = strchr(eq, '/')) == NULL) {
                        fprintf(stderr, "ocitool: '%s' is not IMAGE_REF=OS/ARCH\n", argv[i]);
                        return 2;
                }
                *eq = *slash = '\0';
                if (ocilayout_resolve(lay, ref, &mt, &dg, &size, &err) < 0)
                        goto fail;
                json_array_append_new(list,
                                      json_pack("{s:s, s:s, s:I, s:{s:s, s:s}}", "mediaType", mt,
                                                "digest", dg, "size", (json_int_t)size, "platform",
                                                "os", eq + 1, "architecture", slash + 1));
        }
        json_t *index = json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType",
                                  "application/vnd.oci.image.index.v1+json", "manifests", list);
        text = json_dumps(index, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(index);
        if (ocilayout_put_blob_bytes(lay, text, strlen(text), &digest, &err) < 0 ||
            ocilayout_tag(lay, argv[3], "application/vnd.oci.image.index.v1+json", digest,
                          (int64_t)strlen(text), &err) < 0)
                goto fail;
        printf("%s\n", digest);
        return 0;
fail:
        fprintf(stderr, "ocitool: %s\n", err->msg);
        hoist_error_free(err);
        return 1;
}

int main(int argc, char **argv)
{
        if (argc >= 5 && strcmp(argv[1], "mkindex") == 0)
                return mkindex(argc, argv);
        if (argc >= 5 && strcmp(argv[1], "mkimage") == 0)
                return mkimage(argc, argv);
        fprintf(stderr, "usage: ocitool mkimage LAYOUT REF ROOTFS_DIR [ENTRYPOINT...]\n"
                        "       ocitool mkindex LAYOUT REF IMAGE_REF=OS/ARCH...\n");
        return 2;
}
