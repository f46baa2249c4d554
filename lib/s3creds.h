/* SPDX-License-Identifier: MIT */
#ifndef HOIST_S3CREDS_H
#define HOIST_S3CREDS_H

/*
 * AWS credentials, found the way the AWS SDKs find them, in this order:
 *   1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 *      optionally AWS_SESSION_TOKEN;
 *   2. the shared files: AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and
 *      AWS_CONFIG_FILE (~/.aws/config), profile AWS_PROFILE or "default"
 *      ("[name]" in the credentials file, "[profile name]" in the config);
 *   3. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI against
 *      http://169.254.170.2, or AWS_CONTAINER_CREDENTIALS_FULL_URI (plain http
 *      only to a loopback or the ECS/EKS agent address) with the header from
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN or _TOKEN_FILE;
 *   4. web identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, exchanged
 *      by STS AssumeRoleWithWebIdentity (AWS_ENDPOINT_URL_STS overrides the
 *      regional STS endpoint);
 *   5. EC2 instance metadata, IMDSv2 (a PUT for a session token, then the
 *      role's credentials); AWS_EC2_METADATA_SERVICE_ENDPOINT overrides the
 *      address, AWS_EC2_METADATA_DISABLED=true turns it off.
 * Temporary credentials are fetched again S3CREDS_REFRESH_MARGIN seconds
 * before they expire.  Secrets never appear in errors or logs.
 */

#include <stdbool.h>
#include <time.h>

#include "error.h"

#define S3CREDS_REFRESH_MARGIN 300

struct s3_credentials {
        char *access_key_id;
        char *secret_access_key;
        char *session_token; /* NULL for long-term keys */
        time_t expiration;   /* 0: does not expire */
        const char *source;  /* "environment", "shared files", "container", ... */
};

void s3_credentials_clear(struct s3_credentials *c);
/* True when C should be fetched again at NOW: it expires within the margin. */
bool s3_credentials_expiring(const struct s3_credentials *c, time_t now);

/* What a profile in the shared files says.  Missing entries are NULL. */
struct s3_profile {
        char *access_key_id;
        char *secret_access_key;
        char *session_token;
        char *region;
        char *endpoint_url;     /* endpoint_url, or the s3 sub-section's */
        char *addressing_style; /* s3 = addressing_style = path|virtual|auto */
};

void s3_profile_clear(struct s3_profile *p);

/* Reads PROFILE from the credentials file CRED_PATH and the config file
 * CONFIG_PATH (either may be NULL or missing).  Keys in the credentials file
 * win.  Returns 1 when the profile exists in either file, 0 when not, -1 on a
 * read error. */
int s3_profile_read(const char *cred_path, const char *config_path, const char *profile,
                    struct s3_profile *ret, struct hoist_error **err);

/* The same with the paths and profile from the environment. */
int s3_profile_read_env(struct s3_profile *ret, struct hoist_error **err);

/* Parses an ISO 8601 UTC time ("2024-05-01T12:00:00Z", fractional seconds
 * allowed) as AWS writes an Expiration. */
int s3_parse_iso8601(const char *s, time_t *ret);

struct s3_creds_provider;

/* A provider that walks the chain above on first use. */
struct s3_creds_provider *s3_creds_provider_new(void);
/* A provider of fixed keys (SESSION_TOKEN may be NULL). */
struct s3_creds_provider *s3_creds_provider_static(const char *access_key_id,
                                                   const char *secret_access_key,
                                                   const char *session_token);
void s3_creds_provider_free(struct s3_creds_provider *p);

/* Current credentials, fetched or refreshed as needed.  The pointer stays
 * valid until the next call or s3_creds_provider_free(). */
const struct s3_credentials *s3_creds_get(struct s3_creds_provider *p, struct hoist_error **err);

static inline void s3_creds_provider_freep(struct s3_creds_provider **p)
{
        s3_creds_provider_free(*p);
}
#define _cleanup_s3_creds_provider_ __attribute__((cleanup(s3_creds_provider_freep)))

#endif
