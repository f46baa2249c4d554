/* SPDX-License-Identifier: MIT */
#include "runner/job/jobstorage.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "runner/control/localserve.h"
#include "s3creds.h"
#include "xalloc.h"

const char *jobstorage_default_url(void)
{
        const char *env = getenv("HOIST_STORAGE");

        return env != NULL && *env != '\0' ? env : LOCALSERVE_URL;
}

int jobstorage_check_url(const char *url, struct hoist_error **err)
{
        return strcmp(url, LOCALSERVE_URL) == 0 ? 0 : storage_url_check(url, err);
}

int jobstorage_open(const struct hoist_home *home, const char *url, struct storage **ret,
                    struct hoist_error **err)
{
        _cleanup_localserve_ struct localserve *ls = NULL;

        if (strcmp(url, LOCALSERVE_URL) != 0)
                return storage_open(url, ret, err);
        if (localserve_ensure(home, &ls, err) < 0)
                return -1;
        return localserve_open_storage(ls, ret, err);
}

void jobstorage_fill_spec(const struct storage *sto, struct jobspec *spec)
{
        struct storage_location loc;

        storage_locate(sto, &loc);
        free(spec->storage.endpoint);
        free(spec->storage.region);
        free(spec->storage.bucket);
        free(spec->storage.prefix);
        spec->storage.endpoint = xstrdup(loc.endpoint);
        spec->storage.region = xstrdup(loc.region);
        spec->storage.bucket = xstrdup(loc.bucket);
        spec->storage.prefix = xstrdup(loc.prefix ? loc.prefix : "");
}

char *jobstorage_local_root(const struct storage *sto)
{
        char *root = storage_local_path(sto, "");
        size_t n;

        if (root == NULL)
                return NULL;
        n = strlen(root);
        while (n > 1 && root[n - 1] == '/')
                root[--n] = '\0';
        return root;
}

char *jobstorage_job_url(const struct storage *sto, const char *key)
{
        _cleanup_free_ char *local = storage_local_path(sto, key);
        struct storage_location loc;

        if (local != NULL)
                return xasprintf("file://%s", local);
        storage_locate(sto, &loc);
        if (loc.prefix != NULL && *loc.prefix != '\0')
                return xasprintf("s3://%s/%s/%s", loc.bucket, loc.prefix, key);
        return xasprintf("s3://%s/%s", loc.bucket, key);
}

static void env_add(char ***env, size_t *n, const char *name, const char *value)
{
        if (value == NULL)
                return;
        *env = xreallocarray(*env, *n + 2, sizeof **env);
        (*env)[(*n)++] = xasprintf("%s=%s", name, value);
        (*env)[*n] = NULL;
}

/* The built-in endpoint: a key that can touch only this job's objects. */
static int builtin_env(const struct hoist_home *home, const struct storage *sto,
                       const struct jobspec *spec, char ***ret_env, struct hoist_error **err)
{
        const char *job_id = spec->id;
        _cleanup_localserve_ struct localserve *ls = NULL;
        _cleanup_free_ char *access = NULL, *secret = NULL;
        struct storage_location loc;
        char **env = NULL;
        size_t n = 0;

        if (localserve_ensure(home, &ls, err) < 0 ||
            localserve_job_key(ls, job_id, spec->attempt, (unsigned)jobstorage_key_ttl(spec),
                               &access, &secret, err) < 0)
                return hoist_error_wrap(err, "a storage key for job %s", job_id);
        storage_locate(sto, &loc);
        env_add(&env, &n, "HOIST_S3_ENDPOINT", loc.endpoint);
        env_add(&env, &n, "HOIST_S3_REGION", loc.region);
        env_add(&env, &n, "HOIST_S3_ACCESS_KEY_ID", access);
        env_add(&env, &n, "HOIST_S3_SECRET_ACCESS_KEY", secret);
        explicit_bzero(secret, strlen(secret));
        *ret_env = env;
        return 0;
}

int64_t jobstorage_key_ttl(const struct jobspec *spec)
{
        int64_t grace = spec->stop_grace_s > 0 ? spec->stop_grace_s : JOBSPEC_DEFAULT_STOP_GRACE_S;

        if (spec->max_runtime_s <= 0 ||
            spec->max_runtime_s > JOBSTORAGE_KEY_TTL_MAX - grace - JOBSTORAGE_KEY_TTL_MARGIN)
                return JOBSTORAGE_KEY_TTL_MAX;
        return spec->max_runtime_s + grace + JOBSTORAGE_KEY_TTL_MARGIN;
}

int jobstorage_secret_env(const struct hoist_home *home, const char *url, const struct storage *sto,
                          const struct jobspec *spec, char ***ret_env, struct hoist_error **err)
{
        _cleanup_free_ char *local = storage_local_path(sto, "x");
        struct s3_creds_provider *prov;
        const struct s3_credentials *c;
        struct storage_location loc;
        char **env = NULL;
        size_t n = 0;

        *ret_env = NULL;
        if (local != NULL)
                return 0;
        if (strcmp(url, LOCALSERVE_URL) == 0)
                return builtin_env(home, sto, spec, ret_env, err);
        /* The same chain the runner's own client used: environment, shared
         * files, container or instance credentials. */
        prov = s3_creds_provider_new();
        c = s3_creds_get(prov, err);
        if (c == NULL) {
                s3_creds_provider_free(prov);
                return hoist_error_wrap(err, "credentials for the job's storage");
        }
        storage_locate(sto, &loc);
        env_add(&env, &n, "HOIST_S3_ENDPOINT", loc.endpoint);
        env_add(&env, &n, "HOIST_S3_REGION", loc.region);
        env_add(&env, &n, "HOIST_S3_ACCESS_KEY_ID", c->access_key_id);
        env_add(&env, &n, "HOIST_S3_SECRET_ACCESS_KEY", c->secret_access_key);
        env_add(&env, &n, "HOIST_S3_SESSION_TOKEN", c->session_token);
        s3_creds_provider_free(prov);
        *ret_env = env;
        return 0;
}
