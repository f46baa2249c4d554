/* SPDX-License-Identifier: MIT */
#ifndef HOIST_FSUTIL_H
#define HOIST_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* Joins two path parts with exactly one '/' between them. */
char *path_join(const char *a, const char *b);

/* PATH as a name under a root that ".." cannot climb above (an image's
 * "/"): "." and empty components dropped, ".." removing the one before it
 * (or nothing at the root).  No leading or trailing '/': "" is the root.
 * "/a/./b/../c/" -> "a/c", "../../x" -> "x". */
char *path_clean_in_root(const char *path);

/* mkdir -p with MODE for every directory it creates. */
int fs_mkdir_p(const char *path, mode_t mode, struct hoist_error **err);

/* Reads a whole file; *ret_data is NUL-terminated, *ret_len excludes the NUL. */
int fs_read_file(const char *path, char **ret_data, size_t *ret_len, struct hoist_error **err);

/* Reads FD to its end, failing (naming NAME) past MAX bytes. */
int fs_read_fd(int fd, const char *name, size_t max, char **ret_data, size_t *ret_len,
               struct hoist_error **err);

/* Writes DATA to PATH atomically: a temporary file in the same directory,
 * fsync, rename, fsync of the directory.  Readers see the old file or the new
 * one, never a torn one. */
int fs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         struct hoist_error **err);

/* Copies a regular file to DST atomically, keeping its permission bits. */
int fs_copy_file(const char *src, const char *dst, struct hoist_error **err);

/* Copies a tree (regular files, directories, symlinks as links).  DST is
 * created if missing; existing files are replaced. */
int fs_copy_tree(const char *src, const char *dst, struct hoist_error **err);

/* rm -rf; a missing path is not an error. */
int fs_remove_tree(const char *path, struct hoist_error **err);

/* fsyncs a directory so a rename or create in it is durable. */
int fs_fsync_dir(const char *dir, struct hoist_error **err);

int fs_is_dir(const char *path);
int fs_exists(const char *path);

/* The names in directory DIR but "." and "..", sorted by bytes (so the
 * order is the same in every locale), as a NULL-terminated strv; NULL with
 * *err set ("list 'DIR': ...") when it cannot be read. */
char **fs_list_dir(const char *dir, struct hoist_error **err);

/* How many names directory DIR holds but "." and ".."; -1 with errno set
 * when it cannot be read. */
long fs_count_dir(const char *dir);

/* flock()s PATH (created 0600), shared or EXCLUSIVE, waiting up to WAIT_MS
 * (-1: for as long as it takes): 1 and *RET_FD (close it to unlock), 0 when
 * another process still holds it, -1 on error. */
int fs_lock_file(const char *path, int exclusive, int wait_ms, int *ret_fd,
                 struct hoist_error **err);

/* The bytes the regular files under PATH (or PATH itself) take; 0 when it
 * is missing. */
uint64_t fs_tree_size(const char *path);

/* Writes all of LEN bytes, retrying on EINTR and short writes. */
int fs_write_all(int fd, const void *data, size_t len);

#endif
