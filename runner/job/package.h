/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_PACKAGE_H
#define HOIST_RUNNER_PACKAGE_H

/*
 * Packages a job's code and local inputs into content-addressed blobs: a
 * directory becomes a reproducible tar of what the ignore rules keep
 * (lib/ignore.h), a file stays itself, and each is stored once under
 * blobs/sha256/<digest>, so an unchanged dataset uploads nothing on the
 * next submit.
 *
 * In two steps, so that the user sees everything before any byte leaves:
 * package_plan() walks, tars and hashes every tree and asks the storage
 * which blobs it has already; package_upload() then sends the rest.
 */

#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "jobspec.h"
#include "runner/job/jobfile.h"
#include "runner/job/treesync.h"
#include "storage.h"

struct package_stats {
        uint64_t bytes_uploaded;
        uint64_t bytes_unchanged;
        size_t blobs_uploaded;
        size_t blobs_unchanged;
        /* Files of every item, by what changed since the last submit (for
         * the old one-tar path: every file of a tar that is sent is "new"). */
        size_t files_new, files_changed, files_unchanged;
        uint64_t bytes_new, bytes_changed, bytes_unchanged_files;
        size_t files_hashed;
        uint64_t bytes_hashed;
        uint64_t bytes_sent; /* what actually went to the storage */
};

struct package_options {
        const char *tmp_dir;   /* where the old path writes its tars */
        const char *cache_dir; /* the stat cache ($HOIST_HOME/cache/tree); NULL: none */
        int rehash;            /* --rehash: read every file whatever the cache says */
        int tree;              /* 1: directories become tree manifests; 0: one tar each
                                * (HOIST_TREE=0, kept for bench/sync's comparison) */
        /* Opens another handle on the storage for parallel uploads; NULL: one. */
        treesync_open_fn open_storage;
        void *open_ud;
};

/* One upload: the code tree or one input channel. */
struct package_item {
        char *channel; /* NULL for the code */
        char *path;    /* the local file or directory */
        char *shown;   /* the path as the summary shows it */
        int is_dir;
        int extract;            /* `extract: true`: an archive staged extracted */
        uint64_t extract_limit; /* its `extract_limit:`, or 0 */
        char *file;             /* what is stored: the temporary tar, or PATH */
        int file_is_temp;       /* FILE is removed by package_plan_free() */
        char hex[65];
        uint64_t size;       /* bytes of the blob */
        size_t n_files;      /* files (and symlinks) sent */
        uint64_t file_bytes; /* their bytes */
        size_t n_by_rules;   /* entries a .gitignore or .hoistignore left out */
        char **sensitive;    /* entries the sensitive list left out (a
                              * directory ends in '/'); NULL-terminated or NULL */
        size_t n_sensitive;
        struct treesync *tree; /* a directory sent as a tree manifest, else NULL */
        int stored;            /* the storage has the blob already */
        int dup;               /* an earlier item sends the same blob */
        uint64_t to_send;      /* bytes this item sends: 0 when stored or dup */
};

struct package_plan {
        struct package_item *items; /* the code first, then the inputs in order */
        size_t n_items;
        uint64_t to_send; /* all items together */
        struct package_options opts;
};

/* Walks and hashes JF's code and inputs (a directory as a tree manifest,
 * or with OPTS->tree 0 as a tar in OPTS->tmp_dir) and asks ST which blobs
 * it holds already.  Uploads nothing. */
int package_plan(const struct jobfile *jf, struct storage *st, const struct package_options *opts,
                 struct package_plan **ret, struct hoist_error **err);
void package_plan_free(struct package_plan *p);

/* The summary: per item its files, their size, the bytes it sends and what
 * was left out (every sensitive entry by name), then DEST. */
void package_print_summary(const struct package_plan *p, const char *dest, FILE *out);

/* Refuses, naming it, its size and LIMIT, the first item that sends more
 * than LIMIT bytes (0: no limit), the upload limit of provider PROVIDER: a
 * tree counts what it sends, a file or tar its size. */
int package_check_limit(const struct package_plan *p, const char *provider, uint64_t limit,
                        struct hoist_error **err);

/* Uploads what P's storage lacks to ST and fills SPEC->code and
 * SPEC->inputs. */
int package_upload(struct package_plan *p, struct storage *st, struct jobspec *spec,
                   struct package_stats *stats, struct hoist_error **err);

static inline void package_plan_freep(struct package_plan **p)
{
        package_plan_free(*p);
}
#define _cleanup_package_plan_ __attribute__((cleanup(package_plan_freep)))

#endif
