/* SPDX-License-Identifier: MIT */
#include "runner/serve/keys.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "runner/serve/s3err.h"
#include "xalloc.h"

#define MAX_TTL 604800
#define EXPIRED_KEPT_S 86400

struct serve_keys {
        char *dir;
        char *keys_dir;
        struct serve_key owner;
};

void serve_key_clear(struct serve_key *k)
{
        if (k == NULL)
                return;
        free(k->access_key);
        if (k->secret_key != NULL) {
                OPENSSL_cleanse(k->secret_key, strlen(k->secret_key));
                free(k->secret_key);
        }
        free(k->bucket);
        free(k->prefix);
        *k = (struct serve_key){0};
}

static bool has_prefix(const char *s, const char *p)
{
        return s != NULL && p != NULL && strncmp(s, p, strlen(p)) == 0;
}

bool serve_key_allows(const struct serve_key *k, enum serve_access a, const char *bucket,
                      const char *name)
{
        if (k->prefix == NULL)
                return true;
        if (bucket == NULL || k->bucket == NULL || strcmp(bucket, k->bucket) != 0)
                return false;
        switch (a) {
        case SERVE_ACCESS_ADMIN:
                return false;
        case SERVE_ACCESS_BUCKET_READ:
                return true;
        case SERVE_ACCESS_LIST:
        case SERVE_ACCESS_READ:
                return has_prefix(name, k->prefix) || has_prefix(name, "blobs/");
        case SERVE_ACCESS_WRITE:
                return has_prefix(name, k->prefix);
        }
        return false;
}

static void random_chars(char *out, size_t n, const char *alphabet)
{
        size_t m = strlen(alphabet);
        uint8_t b[64];

        if (n > sizeof b || getrandom(b, n, 0) != (ssize_t)n)
                abort(); /* cannot happen for n <= 64 with the kernel's CSPRNG */
        /* 256 % 62 bias is small; 256 % 36 likewise; rejection keeps it exact. */
        for (size_t i = 0; i < n; i++) {
                while (b[i] >= 256 - 256 % m)
                        if (getrandom(&b[i], 1, 0) != 1)
                                abort();
                out[i] = alphabet[b[i] % m];
        }
        out[n] = '\0';
        OPENSSL_cleanse(b, sizeof b);
}

static const char upper_digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
static const char base62[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static void new_key(const char *kind, char access[SERVE_ACCESS_KEY_LEN + 1],
                    char secret[SERVE_SECRET_KEY_LEN + 1])
{
        memcpy(access, kind, 2);
        random_chars(access + 2, SERVE_ACCESS_KEY_LEN - 2, upper_digits);
        random_chars(secret, SERVE_SECRET_KEY_LEN, base62);
}

/* Access keys we hand out, and the ones we look up: no path characters. */
static bool access_key_valid(const char *s)
{
        size_t n = s != NULL ? strlen(s) : 0;

        if (n == 0 || n > 128)
                return false;
        for (size_t i = 0; i < n; i++)
                if (strchr(base62, s[i]) == NULL && s[i] != '_' && s[i] != '-')
                        return false;
        return true;
}

static int key_write(const char *path, const struct serve_key *k, struct hoist_error **err)
{
        json_auto_t *j = json_object();
        char *text;
        int rc;

        (void)json_object_set_new(j, "access_key", json_string(k->access_key));
        (void)json_object_set_new(j, "secret_key", json_string(k->secret_key));
        if (k->bucket != NULL)
                (void)json_object_set_new(j, "bucket", json_string(k->bucket));
        if (k->prefix != NULL)
                (void)json_object_set_new(j, "prefix", json_string(k->prefix));
        if (k->expires != 0)
                (void)json_object_set_new(j, "expires", json_integer((json_int_t)k->expires));
        if (k->attempt > 0)
                (void)json_object_set_new(j, "attempt", json_integer((json_int_t)k->attempt));
        text = json_dumps(j, JSON_INDENT(2));
        if (text == NULL)
                return hoist_error_make(err, EINVAL, "key does not encode as JSON");
        rc = fs_write_file_atomic(path, text, strlen(text), 0600, err);
        OPENSSL_cleanse(text, strlen(text));
        free(text);
        return rc;
}

static int key_read(const char *path, struct serve_key *ret, struct hoist_error **err)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        json_error_t jerr;
        json_auto_t *j = NULL;
        const char *a, *s;

        if (fs_read_file(path, &data, &len, err) < 0)
                return -1;
        j = json_loadb(data, len, 0, &jerr);
        OPENSSL_cleanse(data, len);
        if (j == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "'%s': line %d: %s", path, jerr.line,
                                        jerr.text);
        a = json_string_value(json_object_get(j, "access_key"));
        s = json_string_value(json_object_get(j, "secret_key"));
        if (!access_key_valid(a) || s == NULL || s[0] == '\0')
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' lacks a valid access_key or secret_key", path);
        *ret = (struct serve_key){
                .access_key = xstrdup(a),
                .secret_key = xstrdup(s),
                .bucket = xstrdup(json_string_value(json_object_get(j, "bucket"))),
                .prefix = xstrdup(json_string_value(json_object_get(j, "prefix"))),
                .expires = json_integer_value(json_object_get(j, "expires")),
                .attempt = json_integer_value(json_object_get(j, "attempt")),
        };
        return 0;
}

int serve_keys_open(const char *serve_dir, const char *access, const char *secret,
                    struct serve_keys **ret, struct hoist_error **err)
{
        _cleanup_free_ char *owner_path = path_join(serve_dir, "owner.json");
        struct serve_keys *k;

        if ((access == NULL) != (secret == NULL))
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "give both an access key and a secret key, or neither");
        if (access != NULL && (!access_key_valid(access) || secret[0] == '\0'))
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "the access key must be 1-128 of A-Z a-z 0-9 _ -, and "
                                        "the secret key non-empty");
        k = xzalloc(sizeof *k);
        k->dir = xstrdup(serve_dir);
        k->keys_dir = path_join(serve_dir, "keys");
        if (fs_mkdir_p(k->keys_dir, 0700, err) < 0) {
                serve_keys_free(k);
                return -1;
        }
        if (access != NULL) {
                k->owner.access_key = xstrdup(access);
                k->owner.secret_key = xstrdup(secret);
        } else if (fs_exists(owner_path)) {
                if (key_read(owner_path, &k->owner, err) < 0) {
                        serve_keys_free(k);
                        return -1;
                }
                free(k->owner.bucket);
                free(k->owner.prefix);
                k->owner.bucket = k->owner.prefix = NULL;
                k->owner.expires = 0;
        } else {
                char a[SERVE_ACCESS_KEY_LEN + 1], s[SERVE_SECRET_KEY_LEN + 1];
                new_key("HO", a, s);
                k->owner.access_key = xstrdup(a);
                k->owner.secret_key = xstrdup(s);
                OPENSSL_cleanse(s, sizeof s);
                if (key_write(owner_path, &k->owner, err) < 0) {
                        serve_keys_free(k);
                        return -1;
                }
        }
        *ret = k;
        return 0;
}

void serve_keys_free(struct serve_keys *k)
{
        if (k == NULL)
                return;
        serve_key_clear(&k->owner);
        free(k->dir);
        free(k->keys_dir);
        free(k);
}

const struct serve_key *serve_keys_owner(const struct serve_keys *k)
{
        return &k->owner;
}

int serve_keys_lookup(struct serve_keys *k, const char *access_key, time_t now,
                      struct serve_key *ret, struct hoist_error **err)
{
        _cleanup_free_ char *path = NULL;
        struct serve_key key = {0};
        struct hoist_error *e = NULL;

        if (access_key != NULL && strcmp(access_key, k->owner.access_key) == 0) {
                *ret = (struct serve_key){.access_key = xstrdup(k->owner.access_key),
                                          .secret_key = xstrdup(k->owner.secret_key)};
                return 0;
        }
        if (!access_key_valid(access_key))
                return s3err_fail(err, S3ERR_INVALID_ACCESS_KEY_ID, "unknown access key");
        path = xasprintf("%s/%s.json", k->keys_dir, access_key);
        if (!fs_exists(path))
                return s3err_fail(err, S3ERR_INVALID_ACCESS_KEY_ID, "unknown access key '%s'",
                                  access_key);
        if (key_read(path, &key, &e) < 0) {
                hoist_error_free(e);
                return s3err_fail(err, S3ERR_INVALID_ACCESS_KEY_ID,
                                  "access key '%s' has an unreadable key file", access_key);
        }
        if (strcmp(key.access_key, access_key) != 0 || key.prefix == NULL || key.bucket == NULL) {
                serve_key_clear(&key);
                return s3err_fail(err, S3ERR_INVALID_ACCESS_KEY_ID,
                                  "access key '%s' has an inconsistent key file", access_key);
        }
        if (key.expires != 0 && key.expires <= (int64_t)now) {
                serve_key_clear(&key);
                (void)unlink(path);
                return s3err_fail(err, S3ERR_EXPIRED_TOKEN, "access key '%s' has expired",
                                  access_key);
        }
        *ret = key;
        return 0;
}

bool serve_job_id_valid(const char *id)
{
        size_t n = id != NULL ? strlen(id) : 0;

        if (n == 0 || n > 128 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (strchr(base62, id[i]) == NULL && strchr("._-", id[i]) == NULL)
                        return false;
        return true;
}

int serve_keys_issue(const char *serve_dir, const char *job_prefix, unsigned ttl, int64_t attempt,
                     char **ret_access, char **ret_secret, struct hoist_error **err)
{
        char a[SERVE_ACCESS_KEY_LEN + 1], s[SERVE_SECRET_KEY_LEN + 1];
        _cleanup_free_ char *id = NULL, *dir = NULL, *path = NULL;
        size_t n = job_prefix != NULL ? strlen(job_prefix) : 0;
        struct serve_key k;

        if (n < 7 || strncmp(job_prefix, "jobs/", 5) != 0 || job_prefix[n - 1] != '/')
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "job prefix '%s' is not of the form 'jobs/<id>/'",
                                        job_prefix != NULL ? job_prefix : "");
        id = xstrndup(job_prefix + 5, n - 6);
        if (!serve_job_id_valid(id))
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "job id '%s' must be 1-128 of A-Z a-z 0-9 . _ -", id);
        if (ttl < 1 || ttl > MAX_TTL)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "key lifetime %u s is outside 1..%d s", ttl, MAX_TTL);
        dir = path_join(serve_dir, "keys");
        if (fs_mkdir_p(dir, 0700, err) < 0)
                return -1;
        new_key("HJ", a, s);
        path = xasprintf("%s/%s.json", dir, a);
        k = (struct serve_key){.access_key = a,
                               .secret_key = s,
                               .bucket = (char *)SERVE_DEFAULT_BUCKET,
                               .prefix = (char *)job_prefix,
                               .expires = (int64_t)time(NULL) + ttl,
                               .attempt = attempt > 0 ? attempt : 0};
        if (key_write(path, &k, err) < 0) {
                OPENSSL_cleanse(s, sizeof s);
                return hoist_error_wrap(err, "issue a key for '%s'", job_prefix);
        }
        *ret_access = xstrdup(a);
        *ret_secret = xstrdup(s);
        OPENSSL_cleanse(s, sizeof s);
        return 0;
}

/* Calls FN for each job key file in SERVE_DIR/keys/ (unreadable ones are
 * skipped: a lookup refuses them anyway); FN returns -1 to stop with *ERR. */
static int keys_each(const char *serve_dir,
                     int (*fn)(const char *path, const struct serve_key *k, void *ctx,
                               struct hoist_error **err),
                     void *ctx, struct hoist_error **err)
{
        _cleanup_free_ char *dir = path_join(serve_dir, "keys");
        DIR *d = opendir(dir);
        struct dirent *de;
        int rc = 0;

        if (d == NULL)
                return errno == ENOENT ? 0 : hoist_error_errno(err, "open '%s'", dir);
        while (rc == 0 && (de = readdir(d)) != NULL) {
                size_t n = strlen(de->d_name);
                _cleanup_free_ char *path = NULL;
                struct serve_key k = {0};
                struct hoist_error *e = NULL;

                if (n <= 5 || strcmp(de->d_name + n - 5, ".json") != 0)
                        continue;
                path = path_join(dir, de->d_name);
                if (key_read(path, &k, &e) < 0) {
                        hoist_error_free(e);
                        continue;
                }
                if (k.prefix != NULL)
                        rc = fn(path, &k, ctx, err);
                serve_key_clear(&k);
        }
        (void)closedir(d);
        return rc;
}

struct revoke_ctx {
        const char *prefix;
        int64_t through;
        int n;
};

static int revoke_one(const char *path, const struct serve_key *k, void *ctx,
                      struct hoist_error **err)
{
        struct revoke_ctx *c = ctx;

        if (strcmp(k->prefix, c->prefix) != 0 || k->attempt > c->through)
                return 0;
        if (unlink(path) < 0 && errno != ENOENT)
                return hoist_error_errno(err, "revoke the key in '%s'", path);
        c->n++;
        return 0;
}

int serve_keys_revoke(const char *serve_dir, const char *job_prefix, int64_t through_attempt,
                      struct hoist_error **err)
{
        struct revoke_ctx c = {.prefix = job_prefix, .through = through_attempt};

        if (keys_each(serve_dir, revoke_one, &c, err) < 0)
                return -1;
        return c.n;
}

struct jobs_ctx {
        time_t now;
        char **ids;
        size_t n;
};

static int collect_job(const char *path, const struct serve_key *k, void *ctx,
                       struct hoist_error **err)
{
        struct jobs_ctx *c = ctx;
        size_t n = strlen(k->prefix);
        _cleanup_free_ char *id = NULL;

        (void)err;
        /* A client keeps hearing ExpiredToken for a day; then the file goes. */
        if (k->expires != 0 && k->expires + EXPIRED_KEPT_S <= (int64_t)c->now)
                (void)unlink(path);
        if (k->expires != 0 && k->expires <= (int64_t)c->now)
                return 0;
        if (n < 7 || strncmp(k->prefix, "jobs/", 5) != 0 || k->prefix[n - 1] != '/')
                return 0;
        id = xstrndup(k->prefix + 5, n - 6);
        for (size_t i = 0; i < c->n; i++)
                if (strcmp(c->ids[i], id) == 0)
                        return 0;
        c->ids = xreallocarray(c->ids, c->n + 2, sizeof *c->ids);
        c->ids[c->n++] = TAKE_PTR(id);
        c->ids[c->n] = NULL;
        return 0;
}

int serve_keys_jobs(const char *serve_dir, time_t now, char ***ret_ids, struct hoist_error **err)
{
        struct jobs_ctx c = {.now = now};

        if (keys_each(serve_dir, collect_job, &c, err) < 0) {
                strv_free(c.ids);
                return -1;
        }
        *ret_ids = c.ids != NULL ? c.ids : xcalloc(1, sizeof *c.ids);
        return 0;
}
