/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ARCHIVE_H
#define HOIST_ARCHIVE_H

/*
 * Archives with libarchive.  Extraction never writes outside its root: it
 * refuses absolute paths, ".." components, links that point (or resolve)
 * outside the root, device nodes and fifos, and names the offending entry.
 * Creation is reproducible: entries sorted by name, mtimes clamped to
 * SOURCE_DATE_EPOCH (0 when unset), owner 0:0, no user/group names.
 */

#include <stddef.h>
#include <stdint.h>

#include <sys/stat.h>

#include "error.h"

/* Extracts the archive at PATH (tar, tar.gz, tar.zst, zip; detected from
 * content) into the existing directory ROOT. */
int archive_extract_file(const char *path, const char *root, struct hoist_error **err);

/* The same, refusing (code EFBIG, nothing left in ROOT) an archive whose
 * entries expand to more than LIMIT bytes (0: no limit): the sizes the
 * headers declare are checked before an entry is written, and the bytes
 * written (holes of sparse entries included) as they are. */
int archive_extract_file_limit(const char *path, const char *root, uint64_t limit,
                               struct hoist_error **err);

/* Same, from memory (used by the fuzz target). */
int archive_extract_memory(const void *data, size_t len, const char *root,
                           struct hoist_error **err);

/* SOURCE_DATE_EPOCH as seconds: the latest mtime a reproducible archive
 * records; 0 when it is unset or not a non-negative integer. */
int64_t archive_source_date_epoch(void);

/* An archive entry's name normalised: empty and "." components dropped
 * ("./a//b/" -> "a/b"), "" for the root itself.  NULL for a name with a
 * ".." component, or an absolute one unless ALLOW_ABS (then the leading '/'
 * is dropped). */
char *archive_name_normalize(const char *name, int allow_abs);

/* The one rule for symlinks in a tree hoist sends or receives: the symlink
 * NAME (relative to the directory DIRFD) with TARGET must lead somewhere
 * inside DIRFD, following the symlinks on disk and taking missing names
 * lexically.  An absolute target, one that climbs above DIRFD, and a loop
 * all fail.  Extraction checks every link by it once the archive is on disk;
 * archive_check_tree() checks a tree by it before it is archived.  True when
 * the link stays inside. */
int archive_symlink_inside(int dirfd, const char *name, const char *target);

/* 0 when extraction would accept an archive of the directory tree SRC_DIR;
 * else an error naming the first symlink (relative to SRC_DIR) that leads
 * outside it.  Reads only names and link targets. */
int archive_check_tree(const char *src_dir, struct hoist_error **err);

/* Writes an uncompressed POSIX (pax) tar of the directory tree SRC_DIR to
 * DST_PATH, with names relative to SRC_DIR.  Regular files, directories and
 * symlinks; other file types are skipped.  Writes the sha256 hex of the tar
 * into ret_hex (65 bytes) and its size into *ret_size.  Refuses, as
 * archive_check_tree() does, a tree with a symlink that leads outside it. */
int archive_create_tar(const char *src_dir, const char *dst_path, char ret_hex[65],
                       uint64_t *ret_size, struct hoist_error **err);

/* Decides, for archive_create_tar_filtered() and
 * archive_check_tree_filtered(), each entry in tree order (a directory
 * before what it holds): 1 to send it, 0 to leave it out (a directory with
 * everything under it), -1 on error with *ERR. */
typedef int (*archive_filter_fn)(void *userdata, const char *rel, const struct stat *st,
                                 struct hoist_error **err);

/* archive_create_tar() and archive_check_tree() of only the entries FILTER
 * keeps (FILTER NULL: all of them). */
int archive_create_tar_filtered(const char *src_dir, archive_filter_fn filter, void *userdata,
                                const char *dst_path, char ret_hex[65], uint64_t *ret_size,
                                struct hoist_error **err);
int archive_check_tree_filtered(const char *src_dir, archive_filter_fn filter, void *userdata,
                                struct hoist_error **err);

/* True when PATH starts with a known archive signature. */
int archive_is_archive(const char *path);

#endif
