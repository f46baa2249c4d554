/* SPDX-License-Identifier: MIT */
#ifndef HOIST_TREE_H
#define HOIST_TREE_H

/*
 * Tree manifests ("hoist.tree/v1", docs/jobspec.md "Tree manifests"): a
 * directory input or a job's code as a list of entries plus the packs that
 * hold its small files.  The manifest is canonical JSON (compact, keys
 * sorted, entries sorted bytewise by path) stored content-addressed at
 * blobs/sha256/<digest of the manifest bytes>.  A file's bytes live either
 * in their own blob blobs/sha256/<file digest> or inside a pack: a blob whose
 * bytes are files concatenated, indexed by packs[].files.
 *
 * This is the one parser and writer of the format; the runner writes it at
 * submit and the entrypoint reads it from storage a job's key can write, so
 * the parser trusts nothing.
 */

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"

#define TREE_FORMAT "hoist.tree/v1"
/* Files below this size go into packs; larger ones are blobs of their own. */
#define TREE_PACK_THRESHOLD ((uint64_t)256 << 10)
/* A pack is closed once it holds this many bytes. */
#define TREE_PACK_TARGET ((uint64_t)32 << 20)
#define TREE_MAX_ENTRIES 10000000
#define TREE_MAX_PATH 4096
/* Where every blob (file, pack, manifest) is kept, under the storage prefix. */
#define TREE_BLOB_PREFIX "blobs/sha256/"

enum tree_entry_type {
        TREE_ENTRY_FILE,
        TREE_ENTRY_DIR,
        TREE_ENTRY_SYMLINK,
};

struct tree_entry {
        char *path; /* relative, '/'-separated, no empty, "." or ".." part */
        enum tree_entry_type type;
        uint32_t mode;                   /* permission bits (0-0777): files, dirs */
        uint64_t size;                   /* files */
        char sha256[DIGEST_HEX_LEN + 1]; /* files: 64 lowercase hex */
        char *target;                    /* symlinks: relative, stays inside the root */
};

struct tree_pack_file {
        char sha256[DIGEST_HEX_LEN + 1];
        uint64_t offset;
        uint64_t size;
};

struct tree_pack {
        char sha256[DIGEST_HEX_LEN + 1]; /* of the pack's bytes */
        uint64_t size;
        struct tree_pack_file *files; /* its index */
        size_t n_files;
};

struct tree_manifest {
        struct tree_entry *entries; /* sorted bytewise by path, unique */
        size_t n_entries;
        struct tree_pack *packs;
        size_t n_packs;
};

struct tree_manifest *tree_manifest_new(void);
void tree_manifest_free(struct tree_manifest *m);

/* Parses and validates manifest bytes: the format string, every path (see
 * tree_path_valid), sorted unique entries, no entry below a file or symlink,
 * symlink targets that stay inside the root, digests of 64 lowercase hex,
 * modes within 0777, pack index entries inside their pack and not
 * overlapping, and every packed file's size matching its entries.  Errors
 * name the entry or pack at fault. */
int tree_manifest_parse(const char *bytes, size_t len, struct tree_manifest **ret,
                        struct hoist_error **err);

/* The canonical bytes (jansson JSON_COMPACT | JSON_SORT_KEYS, entries sorted
 * by path); NUL-terminated, length in *ret_len when not NULL.  Sorts M's
 * entries in place. */
char *tree_manifest_serialize(struct tree_manifest *m, size_t *ret_len);

/* Appends entries (copies strings); the manifest owns them. */
struct tree_entry *tree_manifest_add_file(struct tree_manifest *m, const char *path, uint32_t mode,
                                          uint64_t size, const char *sha256);
struct tree_entry *tree_manifest_add_dir(struct tree_manifest *m, const char *path, uint32_t mode);
struct tree_entry *tree_manifest_add_symlink(struct tree_manifest *m, const char *path,
                                             const char *target);
/* Appends an empty pack; the caller fills sha256, size and files. */
struct tree_pack *tree_manifest_add_pack(struct tree_manifest *m);
void tree_pack_add_file(struct tree_pack *p, const char *sha256, uint64_t offset, uint64_t size);

/* Where the file with digest SHA256 is stored: *ret_pack and *ret_offset when
 * a pack holds it, else *ret_pack = NULL (its own blob).  A linear search:
 * callers that look up many files build their own map. */
void tree_manifest_locate(const struct tree_manifest *m, const char *sha256,
                          const struct tree_pack **ret_pack, uint64_t *ret_offset);

/* Sum of the files' sizes. */
uint64_t tree_manifest_total_size(const struct tree_manifest *m);
size_t tree_manifest_count(const struct tree_manifest *m, enum tree_entry_type type);

/* A relative '/'-separated path of at most TREE_MAX_PATH bytes: never
 * empty, ".", "..", absolute, with an empty part, or a control character. */
int tree_path_valid(const char *path);
/* TARGET, the target of a symlink at PATH, is relative and resolves inside
 * the root lexically, from PATH's directory.  The parser is more exact: it
 * follows the manifest's own links on the way, as the kernel would. */
int tree_symlink_target_valid(const char *path, const char *target);

/* "blobs/sha256/<hex>": the key of a blob under the storage prefix. */
char *tree_blob_key(const char *sha256);

static inline void tree_manifest_freep(struct tree_manifest **m)
{
        tree_manifest_free(*m);
}
#define _cleanup_tree_manifest_ __attribute__((cleanup(tree_manifest_freep)))

#endif
