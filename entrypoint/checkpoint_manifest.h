/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_CHECKPOINT_MANIFEST_H
#define HOIST_ENTRYPOINT_CHECKPOINT_MANIFEST_H

/*
 * Checkpoint sets in storage (checkpoint.h): a manifest
 * <prefix>/.hoist/manifest-<seq>.json lists every file of a set with its
 * size, sha256 and key (relative to <prefix>); it is written after the
 * files, so a set is complete when its manifest exists and every file it
 * names does.  Manifests come from storage, so they are parsed as untrusted.
 */

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "storage.h"

/* Under the prefix: manifests, and objects of files whose key was taken. */
#define CHECKPOINT_META_DIR ".hoist"
#define CHECKPOINT_OBJECTS_DIR ".hoist/objects/"
#define CHECKPOINT_MANIFEST_VERSION 1
/* A file a script may write to the checkpoint dir to say its step. */
#define CHECKPOINT_STEP_FILE "hoist-step"

struct checkpoint_file {
        char *path;   /* relative to the checkpoint dir, '/'-separated */
        char *key;    /* relative to the checkpoint prefix */
        char *sha256; /* 64 lowercase hex digits */
        uint64_t size;
};

struct checkpoint_manifest {
        int64_t seq;  /* 1, 2, ...: the key's number */
        int64_t step; /* the resume step (see checkpoint_step()); 0 if none */
        int64_t attempt;
        int64_t created_at_ms;
        char *job_id;
        char *node;
        struct checkpoint_file *files; /* sorted by path */
        size_t n_files;
};

/* Orders checkpoint_files by path (for qsort). */
int checkpoint_file_cmp(const void *a, const void *b);

/* Parses a manifest from storage (untrusted): paths and keys must be
 * relative, without "."/".." or empty segments; a path must not start
 * with ".hoist" (hoist's own names); digests are 64 hex digits; paths are
 * unique and none is the directory of another.  NAME labels errors. */
int checkpoint_manifest_parse(const char *json, size_t len, const char *name,
                              struct checkpoint_manifest **ret, struct hoist_error **err);
char *checkpoint_manifest_to_json(const struct checkpoint_manifest *m);
void checkpoint_manifest_free(struct checkpoint_manifest *m);

/* "<prefix>/.hoist/manifest-<seq, 10 digits>.json". */
char *checkpoint_manifest_key(const char *prefix, int64_t seq);
/* The seq of a key under PREFIX naming a manifest, or -1. */
int64_t checkpoint_manifest_key_seq(const char *prefix, const char *key);

/* The resume step of a set: the decimal number in its "hoist-step" file
 * when CONTENT (that file's bytes, or NULL) holds one, else the largest
 * number in any of its file names (ckpt-000400.bin: 400), else 0. */
int64_t checkpoint_step(const struct checkpoint_file *files, size_t n, const char *step_content);

/* Every manifest seq under PREFIX, newest first (*ret freed by the caller). */
int checkpoint_manifest_list(struct storage *st, const char *prefix, int64_t **ret, size_t *ret_n,
                             struct hoist_error **err);
/* Reads and parses manifest SEQ under PREFIX. */
int checkpoint_manifest_load(struct storage *st, const char *prefix, int64_t seq,
                             struct checkpoint_manifest **ret, struct hoist_error **err);

/* Finds the newest complete set under PREFIX: manifests newest first, each
 * checked for every file's existence and size.  Sets *ret (NULL when none is
 * complete) and logs an info line for each newer set passed over.  SKIP_ABOVE
 * (0: none) ignores manifests with a larger seq. */
int checkpoint_find_latest(struct storage *st, const char *prefix, int64_t skip_above,
                           struct checkpoint_manifest **ret, struct hoist_error **err);

static inline void checkpoint_manifest_freep(struct checkpoint_manifest **m)
{
        checkpoint_manifest_free(*m);
}
#define _cleanup_checkpoint_manifest_ __attribute__((cleanup(checkpoint_manifest_freep)))

#endif
