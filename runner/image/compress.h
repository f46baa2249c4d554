/* SPDX-License-Identifier: MIT */
#ifndef HOIST_BUILD_COMPRESS_H
#define HOIST_BUILD_COMPRESS_H

/*
 * Deterministic, parallel layer compression.  A compress sink takes the
 * bytes of an uncompressed layer tar, writes the compressed blob to a file
 * descriptor and, in the same pass, computes both digests an OCI image
 * needs: the diff_id (sha256 of the uncompressed tar) and the blob digest
 * (sha256 of the compressed bytes).  Nothing is read twice.
 *
 * The output depends only on the input bytes, never on the number of
 * threads or on how the caller splits its writes:
 * - gzip: pigz-style.  The input is cut into fixed 1 MiB blocks; each block
 *   is raw-deflated at level 6 on a worker thread with the previous 32 KiB
 *   of input as its dictionary and ends on a Z_SYNC_FLUSH boundary (the
 *   last one with Z_FINISH).  One gzip header (mtime 0, OS 3) and one
 *   trailer whose crc32 is combined from the blocks' with crc32_combine().
 *   Any gzip reader decompresses it.
 * - zstd: one multithreaded zstd frame at level 3 with nbWorkers >= 1, whose
 *   bytes libzstd guarantees are the same for any nbWorkers >= 1.
 * - none: the tar itself; digest == diff_id.
 */

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"

enum compression { COMPRESSION_GZIP, COMPRESSION_ZSTD, COMPRESSION_NONE };

/* Block size of the parallel gzip writer: part of the output format, so a
 * fixed constant, never derived from the machine. */
#define COMPRESS_GZIP_BLOCK (1u << 20)

/* "gzip", "zstd" or "none" to the enum; HOIST_ERR_USAGE naming NAME
 * otherwise. */
int compression_parse(const char *name, enum compression *ret, struct hoist_error **err);
const char *compression_name(enum compression c);
/* The OCI layer media type: application/vnd.oci.image.layer.v1.tar[+gzip|+zstd]. */
const char *compression_media_type(enum compression c);

struct compress_result {
        char diff_id[DIGEST_STR_SIZE]; /* "sha256:<hex>" of the uncompressed bytes */
        char digest[DIGEST_STR_SIZE];  /* "sha256:<hex>" of the compressed bytes */
        uint64_t size;                 /* compressed bytes written to the fd */
        uint64_t uncompressed_size;
};

struct compress_sink;

/* Starts a sink writing to FD (not closed by the sink; the caller owns it).
 * THREADS is the number of compression threads, 0 for the number of online
 * CPUs; it changes speed only, never the bytes. */
int compress_sink_new(int fd, enum compression c, int threads, struct compress_sink **ret,
                      struct hoist_error **err);

/* Feeds LEN bytes of the uncompressed stream.  After a failure the sink
 * only accepts compress_sink_free(). */
int compress_sink_write(struct compress_sink *s, const void *data, size_t len,
                        struct hoist_error **err);

/* Flushes everything, writes the trailer and fills *ret.  Does not fsync or
 * close the fd.  The sink must still be freed. */
int compress_sink_finish(struct compress_sink *s, struct compress_result *ret,
                         struct hoist_error **err);

/* Stops the threads and frees the sink; accepts NULL. */
void compress_sink_free(struct compress_sink *s);

static inline void compress_sink_freep(struct compress_sink **s)
{
        compress_sink_free(*s);
}
#define _cleanup_compress_sink_ __attribute__((cleanup(compress_sink_freep)))

#endif
