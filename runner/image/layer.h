/* SPDX-License-Identifier: MIT */
#ifndef HOIST_BUILD_LAYER_H
#define HOIST_BUILD_LAYER_H

/*
 * OCI image layers: writing one from a set of changes, and applying one to
 * a root filesystem.
 *
 * Written layers are reproducible, so the same inputs give the same
 * diff_id and digest on any machine:
 * - entries sorted by path component (a directory's opaque marker first),
 *   parents before children, each path once (the last one added wins);
 * - mtimes clamped to EPOCH (any later mtime becomes EPOCH), whole seconds;
 *   no atime or ctime;
 * - numeric uid/gid with empty uname/gname;
 * - ustar headers, with a pax extended header only where ustar cannot say
 *   it: long names or link targets, sizes >= 8 GiB, ids > 2097151, xattrs
 *   (SCHILY.xattr.*, e.g. security.capability);
 * - whiteouts as `.wh.<name>` files and opaque directories as
 *   `<dir>/.wh..wh..opq`, both empty regular files, mode 0, mtime EPOCH;
 * - hard links to a file already in the layer become tar hard links;
 *   devices, fifos and sockets are skipped with a warning.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runner/image/compress.h"
#include "error.h"

struct layer_info {
        char *digest;           /* "sha256:<hex>" of the blob as written */
        char *diff_id;          /* "sha256:<hex>" of the uncompressed tar */
        uint64_t size;          /* bytes of the blob */
        const char *media_type; /* static: compression_media_type() */
};

/* Frees the strings and zeroes *li; accepts a zeroed struct. */
void layer_info_clear(struct layer_info *li);

/* The clamp for mtimes: SOURCE_DATE_EPOCH when set to a valid number,
 * else 0 (so everything hoist creates has mtime 0). */
int64_t layer_epoch_from_env(void);

/* Owner and mode overrides for layer_write_dir() (COPY --chown/--chmod);
 * -1 in a field keeps what the file on disk has. */
struct layer_owner {
        int64_t uid;
        int64_t gid;
        int32_t mode; /* permission bits (07777) applied to files and directories */
};
#define LAYER_OWNER_KEEP ((struct layer_owner){-1, -1, -1})

/* ---- a layer built entry by entry ----
 * Entries are collected first and written, sorted, by layer_writer_finish(),
 * so they may be added in any order.  NAME is the path inside the image,
 * relative or absolute ("/etc/x" and "etc/x" are the same); empty and "."
 * components are dropped, a ".." component is refused (HOIST_ERR_INPUT). */
struct layer_writer;

/* The blob goes to OUT_PATH through a temporary file beside it, renamed
 * into place by layer_writer_finish().  THREADS as in compress_sink_new(). */
int layer_writer_new(const char *out_path, enum compression c, int threads, int64_t epoch,
                     struct layer_writer **ret, struct hoist_error **err);

/* Adds NAME with the type, metadata, xattrs and (for a regular file) the
 * content of SRC_PATH on the host, which is lstat()ed, never followed.
 * OWNER may be NULL (keep).  A directory is added alone, not its
 * contents.  Content is read when the layer is written, so SRC_PATH must
 * stay until layer_writer_finish(). */
int layer_writer_add_path(struct layer_writer *w, const char *name, const char *src_path,
                          const struct layer_owner *owner, struct hoist_error **err);

/* Adds a whiteout: NAME (and everything under it) is deleted from the
 * layers below. */
int layer_writer_add_whiteout(struct layer_writer *w, const char *name, struct hoist_error **err);

/* Marks the directory NAME opaque: what the layers below have in it is
 * hidden; only this layer's entries under NAME remain. */
int layer_writer_add_opaque(struct layer_writer *w, const char *name, struct hoist_error **err);

/* Number of entries added so far (whiteouts included). */
size_t layer_writer_count(const struct layer_writer *w);

/* Writes the tar, compresses it, renames the blob to OUT_PATH and fills
 * *ret.  The writer must still be freed. */
int layer_writer_finish(struct layer_writer *w, struct layer_info *ret, struct hoist_error **err);

/* Frees the writer; an unfinished one removes its temporary file. */
void layer_writer_free(struct layer_writer *w);

static inline void layer_writer_freep(struct layer_writer **w)
{
        layer_writer_free(*w);
}
#define _cleanup_layer_writer_ __attribute__((cleanup(layer_writer_freep)))

/* A layer from an explicit tree (COPY/ADD of prepared files, the entrypoint
 * bundle): every entry under DIR, added at DEST_PREFIX inside the image
 * ("/opt/hoist"; "/" for the image root), with OWNER overrides (NULL keeps
 * the files' own).  DEST_PREFIX's own ancestors are added as directories
 * 0755 0:0, DEST_PREFIX itself with DIR's metadata (and OWNER). */
int layer_write_dir(const char *dir, const char *dest_prefix, const struct layer_owner *owner,
                    enum compression c, int64_t epoch, const char *out_path, struct layer_info *ret,
                    struct hoist_error **err);

/* Applies the layer blob at BLOB_PATH (tar, tar+gzip or tar+zstd, detected
 * from content; MEDIA_TYPE may be NULL and is used only in messages) to the
 * existing directory ROOT, as an image's root filesystem:
 * - every path is resolved inside ROOT (symlinks in the image, absolute
 *   ones included, resolve against ROOT, never the host); entries with ".."
 *   components or absolute names are refused, naming the entry;
 * - `.wh.<name>` deletes <name> from the layers below, `.wh..wh..opq`
 *   empties its directory of what the layers below had; neither touches
 *   what this same layer adds, whatever the order of the entries;
 * - modes (setuid included), mtimes and xattrs are kept, and owners too
 *   when running as root (otherwise everything belongs to the caller, as
 *   with tar); device nodes, fifos and sockets are skipped with a warning.
 * On error ROOT may hold part of the layer. */
int layer_unpack(const char *blob_path, const char *media_type, const char *root,
                 struct hoist_error **err);

/* What one layer says about a path, without unpacking it. */
enum layer_path {
        LAYER_PATH_UNTOUCHED, /* nothing: the layers below decide */
        LAYER_PATH_DIR,       /* a directory (an entry, or entries under it) */
        LAYER_PATH_SYMLINK,   /* a symbolic link; its target is returned */
        LAYER_PATH_OTHER,     /* a file or anything else */
        LAYER_PATH_REMOVED,   /* a whiteout of it or of a directory above it, or
                               * an opaque directory above it that hides it */
};

/* Reads the layer at BLOB_PATH (as layer_unpack) and says what it makes of
 * PATH, a normalized name ("usr/local/bin", no leading '/').  With
 * LAYER_PATH_SYMLINK, *RET_TARGET is the link's target (free it). */
int layer_lookup(const char *blob_path, const char *media_type, const char *path,
                 enum layer_path *ret, char **ret_target, struct hoist_error **err);
/* The same for the N names PATHS in one read of the layer: RET and
 * RET_TARGETS are arrays of N, each filled as layer_lookup() fills its. */
int layer_lookup_paths(const char *blob_path, const char *media_type, const char *const *paths,
                       size_t n, enum layer_path *ret, char **ret_targets,
                       struct hoist_error **err);

/* ---- helpers shared by layer.c, layer_unpack.c, snapshot.c, sandbox.c ---- */

#define LAYER_WHITEOUT_PREFIX ".wh."
#define LAYER_OPAQUE ".wh..wh..opq"

/* Whether an xattr is image content: not overlayfs's trusted.overlay.*
 * bookkeeping, not the host's security labels (security.* other than
 * security.capability). */
int layer_xattr_kept(const char *name);

/* Opens PATH relative to the directory ROOTFD as if ROOTFD were "/"
 * (openat2 RESOLVE_IN_ROOT: symlinks, absolute ones included, never lead
 * out).  With CREATE_DIRS, missing directories on the way are created 0755
 * root:root, and so is the last component when FLAGS has O_DIRECTORY.
 * Returns the fd, or -1 with errno set. */
int layer_open_in_root(int rootfd, const char *path, int flags, int create_dirs);

/* rm -rf of NAME in the directory DIRFD, never following a symlink.
 * 0 also when NAME does not exist; -1 with errno set. */
int layer_remove_at(int dirfd, const char *name);

#endif
