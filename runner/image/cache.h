/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_BUILD_CACHE_H
#define HOIST_RUNNER_BUILD_CACHE_H

/*
 * The build cache: one step's key -> the layer it made (if any) and the
 * image config state after it.  Stored as one small JSON file per key in
 * $HOIST_HOME/cache/build/<key>.json; the layer blobs themselves live in the
 * local image store, so an entry whose blob is gone is a miss.
 *
 * A key chains: it hashes the previous step's key (the first step of a
 * stage hashes the base image's manifest digest, or "scratch"), the
 * instruction text after variable substitution, the build args in scope,
 * the layer compression, and for COPY/ADD the content of the sources.  RUN
 * is keyed like Docker: by its text and its parent chain only.
 */

#include <stddef.h>
#include <sys/stat.h>

#include "error.h"
#include "runner/image/image.h"

struct build_cache;

struct cache_key_input {
        const char *parent;      /* previous key, base digest or "scratch" */
        const char *instruction; /* after substitution */
        const char *const *args; /* "K=V" build args in scope (any order); may be NULL */
        const char *content;     /* sha256 hex of COPY/ADD sources, or NULL */
        const char *compression; /* "gzip" or "zstd" */
};

/* Writes the 64-hex key of IN into RET_HEX (65 bytes). */
void cache_key(const struct cache_key_input *in, char ret_hex[65]);

/* One file, directory or symlink a COPY/ADD copies: where it is below the
 * source root, where it goes below the destination, its lstat(), and which
 * source matched it. */
struct cache_source {
        const char *path;
        const char *dest;
        const struct stat *st;
        size_t match;
};

/* The content hash of the N sources SRCS below ROOT: a manifest of each
 * one's source index, path, destination, mode, owner, size and sha256
 * (symlinks: their target), sorted by (match, dest), hashed.  The same tree
 * gives the same hex whatever order SRCS come in. */
int cache_hash_sources(const char *root, const struct cache_source *srcs, size_t n,
                       char ret_hex[65], struct hoist_error **err);

struct cache_entry {
        int has_layer;
        struct image_layer layer; /* media_type, digest, diff_id, size */
        char *state;              /* image_config_state() after the step */
};
void cache_entry_clear(struct cache_entry *e);

/* Opens (creating) the cache directory DIR. */
int build_cache_open(const char *dir, struct build_cache **ret, struct hoist_error **err);
void build_cache_close(struct build_cache *c);

/* 1 and *ret filled when KEY is cached, 0 when not (a corrupt entry is a
 * miss, logged at debug level). */
int build_cache_get(struct build_cache *c, const char *key, struct cache_entry *ret,
                    struct hoist_error **err);
int build_cache_put(struct build_cache *c, const char *key, const struct cache_entry *e,
                    struct hoist_error **err);

static inline void build_cache_closep(struct build_cache **c)
{
        build_cache_close(*c);
}
#define _cleanup_build_cache_ __attribute__((cleanup(build_cache_closep)))

#endif
