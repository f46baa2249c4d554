/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_OBJSTORE_INTERNAL_H
#define HOIST_SERVE_OBJSTORE_INTERNAL_H

/* What objstore.c (buckets, objects, writers) shares with objstore_upload.c
 * (multipart uploads).  Not for other callers. */

#include <dirent.h>
#include <openssl/evp.h>

#include "cleanup.h"
#include "digest.h"
#include "runner/serve/objstore.h"

DEFINE_CLEANUP(dir, DIR *, closedir)
#define _cleanup_dir_ __attribute__((cleanup(cleanup_dirp)))

struct objstore {
        char *root;
};

struct objstore_writer {
        int fd;
        char *tmp_path;
        char *final_path;
        char *dir;
        char *key;
        char *content_type;
        unsigned part; /* 0 for an object */
        uint64_t size;
        EVP_MD_CTX *md5;
        struct digest_ctx *sha;
};

#define OBJSTORE_HEADER_MAGIC "HOIST-S3-OBJECT 1\n"

/* ROOT/BUCKET/SUB and ROOT/BUCKET/obj/<sha256 of KEY>. */
char *objstore_bucket_sub(const struct objstore *os, const char *bucket, const char *sub);
char *objstore_object_path(const struct objstore *os, const char *bucket, const char *key);
/* The 8 KiB header of an object (PART 0) or part file. */
int objstore_header_write(int fd, const char *key, uint64_t size, const char *etag,
                          const char *content_type, unsigned part, struct hoist_error **err);
int objstore_header_read(int fd, struct objstore_meta *ret, unsigned *ret_part,
                         struct hoist_error **err);
void objstore_random_hex(char *out, size_t nhex);
/* A writer whose body goes to BUCKET/tmp/ and is renamed to FINAL_PATH (taken). */
int objstore_writer_new(struct objstore *os, const char *bucket, char *final_path,
                        struct objstore_writer **ret, struct hoist_error **err);

#endif
