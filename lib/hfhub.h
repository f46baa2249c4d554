/* SPDX-License-Identifier: MIT */
#ifndef HOIST_HFHUB_H
#define HOIST_HFHUB_H

/*
 * A client for the Hugging Face Hub's upload API (docs/results.md "The
 * Hub"): the one used by hoist on the host and by hoist-entrypoint.
 *
 *   POST /api/repos/create                      the repo, unless it exists (409)
 *   POST /api/models/<repo>/preupload/<rev>      which files go through LFS
 *   POST /<repo>.git/info/lfs/objects/batch      where each LFS object goes:
 *        basic (one PUT) or multipart (a PUT per part to the URLs given,
 *        then the completion POST), then the verify POST when asked for
 *   POST /api/models/<repo>/commit/<rev>         one commit, NDJSON: a header
 *        line, "file" lines (base64 content) and "lfsFile" lines (sha256, size)
 *
 * The endpoint is HF_ENDPOINT's, else https://huggingface.co.  The token
 * goes only to the four API paths above (Authorization: Bearer), never to
 * the URLs an LFS batch answer names (they carry their own authorization:
 * a signature, or the headers the answer gives), and appears in no error or
 * log line; neither do those URLs.  429 and 5xx are
 * retried with backoff (Retry-After honoured).
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define HFHUB_DEFAULT_ENDPOINT "https://huggingface.co"
/* The Hub's own limit for a file sent inline in a commit; larger files
 * always go through LFS, whatever preupload says. */
#define HFHUB_REGULAR_MAX (10 * 1024 * 1024)
/* Files per preupload request (as the Hub's own client batches them). */
#define HFHUB_PREUPLOAD_BATCH 256

struct hfhub_client;

/* ENDPOINT: NULL for HF_ENDPOINT, else HFHUB_DEFAULT_ENDPOINT.  TOKEN is
 * copied (NULL: anonymous, which the Hub refuses for uploads). */
int hfhub_client_new(const char *endpoint, const char *token, struct hfhub_client **ret,
                     struct hoist_error **err);
void hfhub_client_free(struct hfhub_client *c);
const char *hfhub_client_endpoint(const struct hfhub_client *c);

/* Creates model repo REPO ("user/name"); *RET_CREATED (may be NULL) is
 * false when it existed already. */
int hfhub_create_repo(struct hfhub_client *c, const char *repo, bool private_repo,
                      bool *ret_created, struct hoist_error **err);

/* One file to commit: LOCAL is read, PATH is its place in the repo. */
struct hfhub_file {
        char *path;  /* in the repo: relative, '/'-separated */
        char *local; /* on this machine */
        uint64_t size;
        char sha256[65];
        bool lfs;       /* set by preupload (or by size) */
        bool ignored;   /* the Hub's shouldIgnore: left out of the commit */
        char *sample64; /* base64 of the first 512 bytes */
};

struct hfhub_commit {
        char *url; /* commitUrl */
        char *oid; /* commitOid */
        size_t n_files, n_lfs;
        uint64_t bytes, lfs_bytes;
};
void hfhub_commit_clear(struct hfhub_commit *c);

/* Every regular file under DIR as PREFIX/<relative path> ("." or "": the
 * repo's root), sorted by path, hashed.  Symlinks and other non-files are
 * left out and counted in *RET_SKIPPED (may be NULL) for the caller to warn
 * about.  An empty DIR is an error naming it.  Not reentrant (one walk at a
 * time per process). */
int hfhub_files_from_dir(const char *dir, const char *prefix, struct hfhub_file **ret,
                         size_t *ret_n, size_t *ret_skipped, struct hoist_error **err);
void hfhub_files_free(struct hfhub_file *files, size_t n);

/* Uploads FILES to REPO at REVISION (NULL: "main") as one commit with
 * SUMMARY: preupload, LFS, commit. */
int hfhub_upload(struct hfhub_client *c, const char *repo, const char *revision,
                 struct hfhub_file *files, size_t n, const char *summary, struct hfhub_commit *ret,
                 struct hoist_error **err);

/* ---- pure helpers (unit-tested and fuzzed) ---- */

/* A repo id: "namespace/name", each 1-96 of [A-Za-z0-9._-], not starting
 * or ending with '-' or '.', with no "--" or "..". */
bool hfhub_repo_valid(const char *repo);
/* path_in_repo: "." or "", or relative '/'-separated segments, none empty,
 * "." or "..", no control characters. */
bool hfhub_path_valid(const char *path);

/* Applies a preupload answer to FILES: each file the answer names gets its
 * uploadMode ("lfs" or "regular") and shouldIgnore.  A file the answer
 * leaves out, an unknown mode or a malformed body is an error. */
int hfhub_parse_preupload(const char *body, size_t len, struct hfhub_file *files, size_t n,
                          struct hoist_error **err);

/* One object of an LFS batch answer. */
struct hfhub_lfs_action {
        char *href;
        char **headers; /* "Name: value", NULL-terminated */
};
struct hfhub_lfs_object {
        char oid[65];
        uint64_t size;
        bool has_upload; /* false: the Hub has it already */
        struct hfhub_lfs_action upload, verify;
        bool has_verify;
        /* multipart: the part URLs in part order (header keys "1", "00002"
         * ...) and chunk_size; n_parts 0 for the basic transfer */
        char **parts;
        size_t n_parts;
        uint64_t chunk_size;
        char *error; /* the object's own error, or NULL */
};
int hfhub_parse_lfs_batch(const char *body, size_t len, struct hfhub_lfs_object **ret,
                          size_t *ret_n, struct hoist_error **err);
void hfhub_lfs_objects_free(struct hfhub_lfs_object *o, size_t n);

/* commitUrl and commitOid of a commit answer. */
int hfhub_parse_commit(const char *body, size_t len, struct hfhub_commit *ret,
                       struct hoist_error **err);

/* What an error answer says: {"error": "..."} (or the X-Error-Message
 * header's text, HEADER_MSG, when given); NULL when neither says. */
char *hfhub_error_text(const char *body, size_t len, const char *header_msg);

/* The NDJSON commit body for FILES (the ignored ones left out), base64
 * content read from each regular file's LOCAL. */
int hfhub_commit_body(const struct hfhub_file *files, size_t n, const char *summary, char **ret,
                      size_t *ret_len, struct hoist_error **err);

/* The record of commit C kept beside a job (jobs/<id>/hub.json): {repo,
 * revision, commit_url, commit_oid, files, lfs_files, bytes, from, time_ms}
 * as indented JSON.  FROM: "host" or "entrypoint". */
char *hfhub_commit_record(const char *repo, const char *revision, const struct hfhub_commit *c,
                          const char *from, int64_t time_ms);

static inline void hfhub_client_freep(struct hfhub_client **c)
{
        hfhub_client_free(*c);
}
#define _cleanup_hfhub_client_ __attribute__((cleanup(hfhub_client_freep)))

#endif
