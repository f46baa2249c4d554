/* SPDX-License-Identifier: MIT */
#ifndef HOIST_REGISTRY_H
#define HOIST_REGISTRY_H

/*
 * An OCI distribution client (the registry HTTP API v2) over libcurl.
 * Auth: anonymous, Basic, and Bearer tokens from the WWW-Authenticate
 * challenge, with credentials found by registry_auth.h.  Plain http may be
 * used for 127.0.0.1, ::1 and localhost, and for other hosts only with
 * options->insecure or when HOIST_INSECURE_REGISTRIES (comma-separated
 * hosts) names them; as Docker does, such a host is tried over https first
 * and reached over plain http only when no TLS server answers there.
 * Everything else is https.  Certificates are checked against
 * CURL_CA_BUNDLE or SSL_CERT_FILE when set, else the system's CAs.
 * Requests are retried with backoff on 408, 429 (Retry-After), 5xx and
 * network errors (HOIST_REGISTRY_RETRIES tries, default 5).
 */

#include <stdint.h>

#include "error.h"
#include "ocilayout.h"

/* Where one blob of a push or pull is (blob_state below). */
enum registry_blob_state {
        REGISTRY_BLOB_WAITING,     /* queued for a transfer thread */
        REGISTRY_BLOB_EXISTS,      /* push: the registry has it (HEAD); pull: the store has it */
        REGISTRY_BLOB_MOUNTED,     /* push: mounted from another repository */
        REGISTRY_BLOB_UPLOADING,   /* push: bytes going up (progress() counts them) */
        REGISTRY_BLOB_PUSHED,      /* push: the registry accepted it */
        REGISTRY_BLOB_DOWNLOADING, /* pull: bytes coming down (progress() counts them) */
        REGISTRY_BLOB_VERIFIED,    /* pull: size and digest checked */
        REGISTRY_BLOB_DONE,        /* pull: in the store */
        REGISTRY_BLOB_FAILED,      /* its transfer failed (the push or pull fails) */
};

/* The callbacks are called from the transfer threads, several at once. */
struct registry_options {
        int insecure; /* allow plain http for any host */
        int parallel; /* blobs at once; 0 = 4 */
        /* ECR (lib/ecr.h): a push may create a missing repository. */
        int create_repository;
        /* Credentials to use instead of looking them up (registry_auth.h),
         * both or neither: a provider that logs in with its API token
         * (r8.im takes the Replicate token).  SOURCE names them in
         * messages and is never a secret. */
        const char *username;
        const char *password;
        const char *creds_source;
        void (*progress)(void *ud, const char *digest, uint64_t done, uint64_t total);
        void *userdata;
        /* Optional: each state a blob of SIZE bytes enters; USERDATA as above. */
        void (*blob_state)(void *ud, const char *digest, enum registry_blob_state st,
                           uint64_t size);
};

/* What one push or pull did, for callers that report it (may be NULL). */
struct registry_stats {
        unsigned blobs_uploaded;
        unsigned blobs_skipped; /* the registry had them already (HEAD) */
        unsigned blobs_mounted; /* cross-repository mounts */
        unsigned blobs_downloaded;
        uint64_t bytes;
};

/* Pulls REF (choosing linux/amd64 from an index) into LAY: manifest, config, layers,
 * each digest verified, and tags it as REF.  *ret_digest: the image manifest's digest. */
int registry_pull(const char *ref, struct ocilayout *lay, const struct registry_options *o,
                  char **ret_digest, struct hoist_error **err);
/* Pushes LOCAL_REF from LAY to REMOTE_REF: blobs the registry has are skipped.
 * *ret_digest: the manifest digest as pushed. */
int registry_push(struct ocilayout *lay, const char *local_ref, const char *remote_ref,
                  const struct registry_options *o, char **ret_digest, struct hoist_error **err);

/* The same, filling STATS (may be NULL). */
int registry_pull_ex(const char *ref, struct ocilayout *lay, const struct registry_options *o,
                     struct registry_stats *stats, char **ret_digest, struct hoist_error **err);
int registry_push_ex(struct ocilayout *lay, const char *local_ref, const char *remote_ref,
                     const struct registry_options *o, struct registry_stats *stats,
                     char **ret_digest, struct hoist_error **err);

/* Resolves the Location header LOCATION (absolute, or relative to BASE, the
 * request's URL) and, when DIGEST is given, appends "digest=DIGEST" to its
 * query, keeping what the query had ("_state=...").  NULL when LOCATION is
 * empty or BASE unparsable. */
char *registry_resolve_location(const char *base, const char *location, const char *digest);

/* 1 when plain http may be used for HOST ("host[:port]"). */
int registry_host_insecure(const char *host, int insecure_option);

#endif
