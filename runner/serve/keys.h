/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_KEYS_H
#define HOIST_SERVE_KEYS_H

/*
 * The credentials `hoist serve` accepts.
 *
 * The owner key may do anything.  It comes from --access-key/--secret-key
 * (or HOIST_S3_ACCESS_KEY/HOIST_S3_SECRET_KEY), else from SERVE_DIR/owner.json
 * (mode 0600), generated on first start.
 *
 * A job key (serve_keys_issue()) is scoped to one job: in the default bucket
 * it reads and writes objects under "jobs/<id>/", reads "blobs/", lists those
 * prefixes, and nothing else; it expires.  Each lives in
 * SERVE_DIR/keys/<access-key>.json (0600), written atomically, so a running
 * server sees a key issued by another process at once.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "error.h"

#define SERVE_DEFAULT_BUCKET "hoist"
#define SERVE_ACCESS_KEY_LEN 20
#define SERVE_SECRET_KEY_LEN 40

struct serve_key {
        char *access_key;
        char *secret_key;
        char *bucket;    /* job keys: the only bucket they may touch; NULL for the owner */
        char *prefix;    /* job keys: "jobs/<id>/"; NULL for the owner */
        int64_t expires; /* seconds since the epoch; 0 never */
        int64_t attempt; /* job keys: the attempt it was issued to; 0 for any */
};
void serve_key_clear(struct serve_key *k);

enum serve_access {
        SERVE_ACCESS_ADMIN,       /* list, create and delete buckets; list uploads */
        SERVE_ACCESS_BUCKET_READ, /* HeadBucket, GetBucketLocation */
        SERVE_ACCESS_LIST,        /* list objects under a prefix */
        SERVE_ACCESS_READ,        /* get or head an object */
        SERVE_ACCESS_WRITE,       /* put, delete, multipart on an object */
};

/* Whether K may do A on BUCKET and NAME (an object key, or a list prefix). */
bool serve_key_allows(const struct serve_key *k, enum serve_access a, const char *bucket,
                      const char *name);

struct serve_keys;

/* Loads (or creates) the owner key.  ACCESS and SECRET, when both given,
 * replace owner.json. */
int serve_keys_open(const char *serve_dir, const char *access, const char *secret,
                    struct serve_keys **ret, struct hoist_error **err);
void serve_keys_free(struct serve_keys *k);
const struct serve_key *serve_keys_owner(const struct serve_keys *k);

/* Finds ACCESS_KEY: 0 and *ret filled, -S3ERR_INVALID_ACCESS_KEY_ID when
 * unknown, -S3ERR_EXPIRED_TOKEN when its time is past NOW. */
int serve_keys_lookup(struct serve_keys *k, const char *access_key, time_t now,
                      struct serve_key *ret, struct hoist_error **err);

/* A job id usable in "jobs/<id>/": 1-128 of A-Z a-z 0-9 . _ -, not "." or "..". */
bool serve_job_id_valid(const char *id);

/* Issues a key for JOB_PREFIX ("jobs/<id>/") valid for TTL seconds
 * (1..604800) into SERVE_DIR/keys/, for the job's attempt ATTEMPT (0: not
 * tied to one). */
int serve_keys_issue(const char *serve_dir, const char *job_prefix, unsigned ttl, int64_t attempt,
                     char **ret_access, char **ret_secret, struct hoist_error **err);

/* Revokes (deletes) the keys of JOB_PREFIX issued to attempts up to
 * THROUGH_ATTEMPT, and those tied to no attempt: a running server refuses
 * them from the next request on.  Returns how many it revoked. */
int serve_keys_revoke(const char *serve_dir, const char *job_prefix, int64_t through_attempt,
                      struct hoist_error **err);

/* The job ids (NULL-terminated, owned) that hold a live key in SERVE_DIR;
 * keys expired for a day are deleted on the way. */
int serve_keys_jobs(const char *serve_dir, time_t now, char ***ret_ids, struct hoist_error **err);

#endif
