/* SPDX-License-Identifier: MIT */
#include "job.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "xalloc.h"

/* What the runner passed to reach storage; secrets live only here, never
 * in the environment the command inherits. */
static struct {
        char *endpoint;
        char *region;
        char *access_key_id;
        char *secret_access_key;
        char *session_token;
        char *webhook_secret;               /* HOIST_WEBHOOK_SECRET or its file */
        char *webhook_secret_name;          /* where it came from */
        struct jobspec_kv *webhook_secrets; /* HOIST_WEBHOOK_SECRET_<n> */
        char *hooks_url;                    /* HOIST_HOOKS_URL */
        char *hooks_secret;
        size_t n_webhook_secrets;
} creds;

static char *take_env(const char *name)
{
        const char *v = getenv(name);
        char *r = v != NULL && *v != '\0' ? xstrdup(v) : NULL;

        (void)unsetenv(name);
        return r;
}

/* NAME's value into *FIELD when it is set; what *FIELD held stays
 * otherwise (a second job_take_credentials() takes only what is new). */
static void take_into(char **field, const char *name)
{
        char *v = take_env(name);

        if (v == NULL)
                return;
        if (*field != NULL)
                explicit_bzero(*field, strlen(*field));
        free(*field);
        *field = v;
}

/* HOIST_WEBHOOK_SECRET, HOIST_WEBHOOK_SECRET_FILE and every
 * HOIST_WEBHOOK_SECRET_<n>, out of the environment. */
static void take_webhook_secrets(void)
{
        static const char pfx[] = "HOIST_WEBHOOK_SECRET_";
        _cleanup_free_ char *file = NULL;
        _cleanup_strv_ char **names = NULL;
        size_t n = 0;

        for (char **e = environ; *e != NULL; e++) {
                const char *eq = strchr(*e, '=');
                if (eq == NULL || strncmp(*e, pfx, strlen(pfx)) != 0 ||
                    strspn(*e + strlen(pfx), "0123456789") != (size_t)(eq - *e) - strlen(pfx) ||
                    eq == *e + strlen(pfx))
                        continue;
                names = xreallocarray(names, n + 2, sizeof *names);
                names[n++] = xstrndup(*e, (size_t)(eq - *e));
                names[n] = NULL;
        }
        for (size_t i = 0; i < n; i++) {
                char *v = take_env(names[i]);
                if (v != NULL)
                        jobspec_kv_add(&creds.webhook_secrets, &creds.n_webhook_secrets, names[i],
                                       v);
                if (v != NULL)
                        explicit_bzero(v, strlen(v));
                free(v);
        }
        take_into(&creds.hooks_url, "HOIST_HOOKS_URL");
        take_into(&creds.hooks_secret, "HOIST_HOOKS_SECRET");
        if (getenv("HOIST_WEBHOOK_SECRET") != NULL && *getenv("HOIST_WEBHOOK_SECRET") != '\0') {
                free(creds.webhook_secret_name);
                creds.webhook_secret_name = NULL;
        }
        take_into(&creds.webhook_secret, "HOIST_WEBHOOK_SECRET");
        if (creds.webhook_secret_name == NULL)
                creds.webhook_secret_name = xstrdup("HOIST_WEBHOOK_SECRET");
        file = take_env("HOIST_WEBHOOK_SECRET_FILE");
        if (creds.webhook_secret == NULL && file != NULL) {
                _cleanup_error_ struct hoist_error *err = NULL;
                char *text = NULL;
                size_t len = 0;
                if (fs_read_file(file, &text, &len, &err) < 0) {
                        log_warn("HOIST_WEBHOOK_SECRET_FILE: %s; webhooks go unsigned", err->msg);
                        return;
                }
                while (len > 0 &&
                       (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
                        text[--len] = '\0';
                creds.webhook_secret = text;
                free(creds.webhook_secret_name);
                creds.webhook_secret_name = xasprintf("the file '%s'", file);
        }
}

void job_take_credentials(void)
{
        take_into(&creds.endpoint, "HOIST_S3_ENDPOINT");
        take_into(&creds.region, "HOIST_S3_REGION");
        take_into(&creds.access_key_id, "HOIST_S3_ACCESS_KEY_ID");
        take_into(&creds.secret_access_key, "HOIST_S3_SECRET_ACCESS_KEY");
        take_into(&creds.session_token, "HOIST_S3_SESSION_TOKEN");
        take_webhook_secrets();
}

void job_redact_credentials(struct redact *r)
{
        redact_add(r, "HOIST_S3_SECRET_ACCESS_KEY", creds.secret_access_key);
        redact_add(r, "HOIST_S3_SESSION_TOKEN", creds.session_token);
        redact_add(r, "HOIST_HOOKS_SECRET", creds.hooks_secret);
        redact_add(r, "HOIST_WEBHOOK_SECRET", creds.webhook_secret);
        for (size_t i = 0; i < creds.n_webhook_secrets; i++)
                redact_add(r, creds.webhook_secrets[i].key, creds.webhook_secrets[i].value);
}

const char *job_runner_hook(const char **ret_secret)
{
        *ret_secret = creds.hooks_secret;
        return creds.hooks_url;
}

const char *job_webhook_secret(size_t index, const char **ret_name)
{
        char name[64];

        (void)snprintf(name, sizeof name, "HOIST_WEBHOOK_SECRET_%zu", index);
        for (size_t i = 0; i < creds.n_webhook_secrets; i++)
                if (strcmp(creds.webhook_secrets[i].key, name) == 0) {
                        *ret_name = creds.webhook_secrets[i].key;
                        return creds.webhook_secrets[i].value;
                }
        *ret_name = creds.webhook_secret_name;
        return creds.webhook_secret;
}

static struct storage_options options(const char *endpoint, const char *region)
{
        return (struct storage_options){
                .endpoint = endpoint ? endpoint : creds.endpoint,
                .region = region ? region : creds.region,
                .access_key_id = creds.access_key_id,
                .secret_access_key = creds.secret_access_key,
                .session_token = creds.session_token,
        };
}

int job_open_storage(const struct jobspec *spec, struct storage **ret, struct hoist_error **err)
{
        const struct jobspec_storage *s = &spec->storage;
        _cleanup_free_ char *url = NULL;

        if (strncmp(s->endpoint, "file://", 7) == 0)
                return storage_open(s->endpoint, ret, err);
        if (strncmp(s->endpoint, "http://", 7) != 0 && strncmp(s->endpoint, "https://", 8) != 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "job '%s': storage endpoint '%s' is neither file:// nor "
                                        "http(s)://",
                                        spec->id, s->endpoint);
        if (s->bucket == NULL || *s->bucket == '\0')
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "job '%s': storage at '%s' names no bucket", spec->id,
                                        s->endpoint);
        url = s->prefix && *s->prefix ? xasprintf("s3://%s/%s", s->bucket, s->prefix)
                                      : xasprintf("s3://%s", s->bucket);
        struct storage_options o = options(s->endpoint, s->region);
        return storage_open_with(url, &o, ret, err);
}

/* Reads job.json from s3://bucket/key with the taken credentials. */
static int load_s3(const char *url, struct jobspec **ret, struct hoist_error **err)
{
        const char *rest = url + 5, *slash = strchr(rest, '/');
        _cleanup_free_ char *bucket = NULL, *text = NULL;
        _cleanup_storage_ struct storage *st = NULL;
        size_t len = 0;

        if (slash == NULL || slash == rest || slash[1] == '\0')
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "HOIST_JOB_URL '%s': expected s3://bucket/key", url);
        bucket = xasprintf("s3://%.*s", (int)(slash - rest), rest);
        struct storage_options o = options(NULL, NULL);
        if (storage_open_with(bucket, &o, &st, err) < 0 ||
            storage_get_bytes(st, slash + 1, &text, &len, err) < 0 ||
            jobspec_parse(text, len, url, ret, err) < 0)
                return -1;
        return 0;
}

/* The local path named by a file:// HOIST_JOB_URL. */
static int job_url_path(const char *url, const char **ret_path, struct hoist_error **err)
{
        if (strncmp(url, "file://", 7) != 0)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "HOIST_JOB_URL '%s': use file:///path/to/job.json or "
                                        "s3://bucket/key",
                                        url);
        if (url[7] != '/')
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "HOIST_JOB_URL '%s': a file:// URL needs an absolute path "
                                        "(file:///path/to/job.json)",
                                        url);
        *ret_path = url + 7;
        return 0;
}

int job_load_from_env(struct jobspec **ret_spec, struct hoist_error **err)
{
        const char *file = getenv("HOIST_JOB_FILE");
        const char *url = getenv("HOIST_JOB_URL");
        const char *path = NULL;
        _cleanup_jobspec_ struct jobspec *spec = NULL;

        if (file != NULL && *file != '\0') {
                path = file;
                if (url != NULL && *url != '\0')
                        log_debug("HOIST_JOB_FILE is set; ignoring HOIST_JOB_URL");
        } else if (url != NULL && *url != '\0') {
                if (strncmp(url, "s3://", 5) == 0) {
                        if (load_s3(url, &spec, err) < 0 || jobspec_validate(spec, err) < 0)
                                return hoist_error_wrap(err, "job '%s'", url);
                        *ret_spec = TAKE_PTR(spec);
                        return 1;
                }
                if (job_url_path(url, &path, err) < 0)
                        return -1;
        } else {
                return 0;
        }
        if (jobspec_load_file(path, &spec, err) < 0 || jobspec_validate(spec, err) < 0)
                return hoist_error_wrap(err, "job '%s'", path);
        *ret_spec = TAKE_PTR(spec);
        return 1;
}

char *job_prefix(const struct jobspec *spec, const char *configured, const char *what)
{
        size_t n;

        if (configured == NULL || *configured == '\0')
                return xasprintf("jobs/%s/%s", spec->id, what);
        n = strlen(configured);
        while (n > 1 && configured[n - 1] == '/')
                n--;
        return xstrndup(configured, n);
}

char *job_result_key(const struct jobspec *spec)
{
        return xasprintf("jobs/%s/result.json", spec->id);
}

char *job_node_result_key(const struct jobspec *spec, const char *node)
{
        return xasprintf("jobs/%s/results/%s.json", spec->id, node);
}

char *job_node_name(void)
{
        const char *env = getenv("HOIST_NODE");
        char host[HOST_NAME_MAX + 1];

        if (env != NULL && *env != '\0')
                return xstrdup(env);
        if (gethostname(host, sizeof host) < 0 || host[0] == '\0')
                return xstrdup("node");
        host[HOST_NAME_MAX] = '\0';
        return xstrdup(host);
}

int64_t job_attempt(const struct jobspec *spec)
{
        return spec->attempt > 0 ? spec->attempt : 1;
}
