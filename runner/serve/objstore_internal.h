/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_OBJSTORE_INTERNAL_H
#define HOIST_SERVE_OBJSTORE_INTERNAL_H

/* What objstore.c (buckets, objects, writers) shares with objstore_upload.c
 * (multipart uploads).  Not for other callers. */

#include <dirent.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "digest.h"
#include "runner/serve/objstore.h"

DEFINE_CLEANUP(dir, DIR *, closedir)
#define _cleanup_dir_ __attribute__((cleanup(cleanup_dirp)))

/* One bucket's objects, read once and kept sorted by key for the listings
 * that follow (a ListObjectsV2 of 20,000 keys is 20 pages: reading every
 * object's header for each page cost a minute in a bucket of 100,000).
 * Valid while no object changed: this server bumps GEN on every write and
 * delete, and the obj/ directory's inode, mtime and ctime catch a writer
 * outside it. */
struct objstore_listing {
        char *bucket;
        uint64_t gen;
        ino_t ino;
        struct timespec mtim, ctim;
        struct objstore_meta *v;
        size_t n;
};

struct objstore {
        char *root;
        _Atomic uint64_t gen;
        pthread_mutex_t list_mu;
        struct objstore_listing listing;
};

/* An object was written or removed: listings must read the bucket again. */
static inline void objstore_changed(struct objstore *os)
{
        atomic_fetch_add(&os->gen, 1);
}

struct objstore_writer {
        struct objstore *os;
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
