/* SPDX-License-Identifier: MIT */
#include "runner/serve/objstore.h"
#include "runner/serve/objstore_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "log.h"
#include "runner/serve/s3err.h"
#include "xalloc.h"

void objstore_meta_clear(struct objstore_meta *m)
{
        if (m == NULL)
                return;
        free(m->key);
        free(m->content_type);
        *m = (struct objstore_meta){0};
}

/* Bodies that were being received when a previous server died are never
 * finished: clear every bucket's tmp/.  One server owns a root at a time
 * (serve.json), so at start nothing there is live. */
static void sweep_tmp(const char *root)
{
        DIR *d = opendir(root);
        struct dirent *de;

        if (d == NULL)
                return;
        while ((de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *tmp = xasprintf("%s/%s/tmp", root, de->d_name);
                DIR *t = opendir(tmp);
                struct dirent *te;
                if (t == NULL)
                        continue;
                while ((te = readdir(t)) != NULL) {
                        if (te->d_name[0] == '.')
                                continue;
                        _cleanup_free_ char *f = path_join(tmp, te->d_name);
                        if (unlink(f) == 0)
                                log_debug("serve: removed unfinished upload body '%s'", f);
                }
                (void)closedir(t);
        }
        (void)closedir(d);
}

int objstore_open(const char *root, struct objstore **ret, struct hoist_error **err)
{
        struct objstore *os;

        if (fs_mkdir_p(root, 0700, err) < 0)
                return hoist_error_wrap(err, "storage root '%s'", root);
        sweep_tmp(root);
        os = xzalloc(sizeof *os);
        os->root = xstrdup(root);
        atomic_init(&os->gen, 0);
        (void)pthread_mutex_init(&os->list_mu, NULL);
        *ret = os;
        return 0;
}

void objstore_free(struct objstore *os)
{
        if (os == NULL)
                return;
        free(os->listing.bucket);
        objstore_meta_list_free(os->listing.v, os->listing.n);
        (void)pthread_mutex_destroy(&os->list_mu);
        free(os->root);
        free(os);
}

const char *objstore_root(const struct objstore *os)
{
        return os->root;
}

bool objstore_bucket_name_valid(const char *name)
{
        size_t n = name != NULL ? strlen(name) : 0;
        int dots = 0;
        bool digits_only = true;

        if (n < 3 || n > 63)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];
                bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
                if (!alnum && c != '.' && c != '-')
                        return false;
                if ((i == 0 || i == n - 1) && !alnum)
                        return false;
                if (c == '.' &&
                    (name[i + 1] == '.' || name[i + 1] == '-' || (i > 0 && name[i - 1] == '-')))
                        return false;
                dots += c == '.';
                if (c != '.' && !(c >= '0' && c <= '9'))
                        digits_only = false;
        }
        return !(digits_only && dots == 3);
}

bool objstore_key_valid(const char *key)
{
        size_t n = key != NULL ? strlen(key) : 0;

        if (n == 0 || n > OBJSTORE_MAX_KEY || key[0] == '/')
                return false;
        for (const char *seg = key;;) {
                const char *end = strchrnul(seg, '/');
                size_t len = (size_t)(end - seg);
                if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
                        return false;
                if (*end == '\0')
                        break;
                seg = end + 1;
        }
        return true;
}

void objstore_key_filename(const char *key, char ret[65])
{
        digest_sha256_hex(key, strlen(key), ret);
}

static char *bucket_dir(const struct objstore *os, const char *bucket)
{
        return path_join(os->root, bucket);
}

char *objstore_bucket_sub(const struct objstore *os, const char *bucket, const char *sub)
{
        return xasprintf("%s/%s/%s", os->root, bucket, sub);
}

char *objstore_object_path(const struct objstore *os, const char *bucket, const char *key)
{
        char name[65];

        objstore_key_filename(key, name);
        return xasprintf("%s/%s/obj/%s", os->root, bucket, name);
}

int objstore_bucket_check(struct objstore *os, const char *bucket, struct hoist_error **err)
{
        _cleanup_free_ char *dir = NULL;

        if (!objstore_bucket_name_valid(bucket))
                return s3err_fail(err, S3ERR_INVALID_BUCKET_NAME, "bucket name '%.80s' is invalid",
                                  bucket);
        dir = objstore_bucket_sub(os, bucket, "obj");
        if (!fs_is_dir(dir))
                return s3err_fail(err, S3ERR_NO_SUCH_BUCKET, "no bucket '%s'", bucket);
        return 0;
}

int objstore_bucket_create(struct objstore *os, const char *bucket, struct hoist_error **err)
{
        static const char *const subs[] = {"obj", "mpu", "tmp"};
        _cleanup_free_ char *dir = NULL, *tmp = NULL;
        char rnd[9];
        uint32_t r = 0;

        if (!objstore_bucket_name_valid(bucket))
                return s3err_fail(err, S3ERR_INVALID_BUCKET_NAME,
                                  "bucket name '%.80s' is invalid (3-63 characters of a-z, 0-9, "
                                  "'.' and '-')",
                                  bucket);
        if (strcmp(bucket, OBJSTORE_RESERVED_BUCKET) == 0)
                return s3err_fail(err, S3ERR_INVALID_BUCKET_NAME,
                                  "bucket name '%s' is reserved: hoist serve answers /%s/ with "
                                  "its REST API; choose another name",
                                  bucket, bucket);
        dir = bucket_dir(os, bucket);
        if (fs_is_dir(dir))
                return s3err_fail(err, S3ERR_BUCKET_ALREADY_OWNED, "bucket '%s' exists", bucket);
        /* Build it aside and rename, so a half-made bucket never shows. */
        if (getrandom(&r, sizeof r, 0) != sizeof r)
                r = (uint32_t)getpid();
        (void)snprintf(rnd, sizeof rnd, "%08x", r);
        tmp = xasprintf("%s/.new-%s-%s", os->root, bucket, rnd);
        for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
                _cleanup_free_ char *p = path_join(tmp, subs[i]);
                if (fs_mkdir_p(p, 0700, err) < 0)
                        return -S3ERR_INTERNAL;
        }
        if (rename(tmp, dir) < 0) {
                int e = errno;
                struct hoist_error *ignored = NULL;
                (void)fs_remove_tree(tmp, &ignored);
                hoist_error_free(ignored);
                if (e == EEXIST || e == ENOTEMPTY)
                        return s3err_fail(err, S3ERR_BUCKET_ALREADY_OWNED, "bucket '%s' exists",
                                          bucket);
                errno = e;
                (void)hoist_error_errno(err, "create bucket '%s'", bucket);
                return -S3ERR_INTERNAL;
        }
        if (fs_fsync_dir(os->root, err) < 0)
                return -S3ERR_INTERNAL;
        return 0;
}

/* True when DIR has entries other than "." and "..". */
static bool dir_has_entries(const char *dir)
{
        _cleanup_dir_ DIR *d = opendir(dir);
        struct dirent *de;

        if (d == NULL)
                return false;
        while ((de = readdir(d)) != NULL)
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        return true;
        return false;
}

int objstore_bucket_delete(struct objstore *os, const char *bucket, struct hoist_error **err)
{
        _cleanup_free_ char *dir = NULL, *obj = NULL, *mpu = NULL, *grave = NULL;
        int rc = objstore_bucket_check(os, bucket, err);

        if (rc < 0)
                return rc;
        dir = bucket_dir(os, bucket);
        obj = objstore_bucket_sub(os, bucket, "obj");
        mpu = objstore_bucket_sub(os, bucket, "mpu");
        if (dir_has_entries(obj) || dir_has_entries(mpu))
                return s3err_fail(err, S3ERR_BUCKET_NOT_EMPTY, "bucket '%s' is not empty", bucket);
        grave = xasprintf("%s/.del-%s-%d", os->root, bucket, (int)getpid());
        if (rename(dir, grave) < 0) {
                (void)hoist_error_errno(err, "delete bucket '%s'", bucket);
                return -S3ERR_INTERNAL;
        }
        if (fs_remove_tree(grave, err) < 0)
                return -S3ERR_INTERNAL;
        return 0;
}

void objstore_bucket_list_free(struct objstore_bucket *b, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(b[i].name);
        free(b);
}

static int bucket_cmp(const void *a, const void *b)
{
        return strcmp(((const struct objstore_bucket *)a)->name,
                      ((const struct objstore_bucket *)b)->name);
}

int objstore_bucket_list(struct objstore *os, struct objstore_bucket **ret, size_t *ret_n,
                         struct hoist_error **err)
{
        _cleanup_dir_ DIR *d = opendir(os->root);
        struct objstore_bucket *v = NULL;
        size_t n = 0;
        struct dirent *de;

        if (d == NULL) {
                (void)hoist_error_errno(err, "open storage root '%s'", os->root);
                return -S3ERR_INTERNAL;
        }
        while ((de = readdir(d)) != NULL) {
                struct stat st;
                if (!objstore_bucket_name_valid(de->d_name))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISDIR(st.st_mode))
                        continue;
                v = xreallocarray(v, n + 1, sizeof *v);
                v[n].name = xstrdup(de->d_name);
                v[n].created = st.st_mtime;
                n++;
        }
        if (n > 0)
                qsort(v, n, sizeof *v, bucket_cmp);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---- object files ---- */

int objstore_header_write(int fd, const char *key, uint64_t size, const char *etag,
                          const char *content_type, unsigned part, struct hoist_error **err)
{
        json_auto_t *j = json_object();
        _cleanup_free_ char *text = NULL;
        char hdr[OBJSTORE_HEADER_SIZE];
        size_t magic = strlen(OBJSTORE_HEADER_MAGIC), n;

        (void)json_object_set_new(j, "key", json_stringn(key, strlen(key)));
        (void)json_object_set_new(j, "size", json_integer((json_int_t)size));
        (void)json_object_set_new(j, "etag", json_string(etag));
        if (content_type != NULL)
                (void)json_object_set_new(j, "content_type", json_string(content_type));
        if (part > 0)
                (void)json_object_set_new(j, "part", json_integer(part));
        text = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (text == NULL)
                return hoist_error_make(err, EINVAL, "object metadata does not encode as JSON");
        n = strlen(text);
        if (magic + n + 1 > sizeof hdr)
                return hoist_error_make(err, HOIST_ERR_INPUT, "object metadata is too long");
        memset(hdr, ' ', sizeof hdr);
        memcpy(hdr, OBJSTORE_HEADER_MAGIC, magic);
        memcpy(hdr + magic, text, n);
        hdr[sizeof hdr - 1] = '\n';
        if (pwrite(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr)
                return hoist_error_errno(err, "write object header");
        return 0;
}

/* Reads the header of an object or part file. */
int objstore_header_read(int fd, struct objstore_meta *ret, unsigned *ret_part,
                         struct hoist_error **err)
{
        char hdr[OBJSTORE_HEADER_SIZE];
        size_t magic = strlen(OBJSTORE_HEADER_MAGIC);
        json_error_t jerr;
        json_auto_t *j = NULL;
        struct stat st;
        const char *key, *etag, *ct;
        json_int_t size;

        if (pread(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr || fstat(fd, &st) < 0)
                return hoist_error_make(err, EIO, "object file is truncated");
        if (memcmp(hdr, OBJSTORE_HEADER_MAGIC, magic) != 0)
                return hoist_error_make(err, HOIST_ERR_INPUT, "object file has no header");
        j = json_loadb(hdr + magic, sizeof hdr - magic, 0, &jerr);
        if (j == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "object header: %s", jerr.text);
        key = json_string_value(json_object_get(j, "key"));
        etag = json_string_value(json_object_get(j, "etag"));
        ct = json_string_value(json_object_get(j, "content_type"));
        size = json_integer_value(json_object_get(j, "size"));
        if (key == NULL || etag == NULL || strlen(etag) >= OBJSTORE_ETAG_SIZE || size < 0 ||
            (uint64_t)size + OBJSTORE_HEADER_SIZE != (uint64_t)st.st_size)
                return hoist_error_make(err, HOIST_ERR_INPUT, "object header is inconsistent");
        *ret = (struct objstore_meta){.key = xstrdup(key),
                                      .size = (uint64_t)size,
                                      .content_type = xstrdup(ct),
                                      .mtime = st.st_mtime};
        memcpy(ret->etag, etag, strlen(etag) + 1);
        if (ret_part != NULL)
                *ret_part = (unsigned)json_integer_value(json_object_get(j, "part"));
        return 0;
}

int objstore_object_open(struct objstore *os, const char *bucket, const char *key, int *ret_fd,
                         struct objstore_meta *ret_meta, struct hoist_error **err)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;
        struct objstore_meta m = {0};
        int rc = objstore_bucket_check(os, bucket, err);

        if (rc < 0)
                return rc;
        if (!objstore_key_valid(key))
                return s3err_fail(err, S3ERR_NO_SUCH_KEY, "invalid key");
        path = objstore_object_path(os, bucket, key);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
                return s3err_fail(err, S3ERR_NO_SUCH_KEY, "no key '%.200s'", key);
        if (fd < 0) {
                (void)hoist_error_errno(err, "open '%s'", path);
                return -S3ERR_INTERNAL;
        }
        if (objstore_header_read(fd, &m, NULL, err) < 0) {
                (void)hoist_error_wrap(err, "'%s'", path);
                return -S3ERR_INTERNAL;
        }
        if (strcmp(m.key, key) != 0) {
                objstore_meta_clear(&m);
                return s3err_fail(err, S3ERR_NO_SUCH_KEY, "no key '%.200s'", key);
        }
        *ret_fd = TAKE_FD(fd);
        *ret_meta = m;
        return 0;
}

int objstore_object_delete(struct objstore *os, const char *bucket, const char *key,
                           struct hoist_error **err)
{
        _cleanup_free_ char *path = NULL;
        int rc = objstore_bucket_check(os, bucket, err);

        if (rc < 0)
                return rc;
        if (!objstore_key_valid(key))
                return 0;
        path = objstore_object_path(os, bucket, key);
        objstore_changed(os);
        if (unlink(path) < 0 && errno != ENOENT) {
                (void)hoist_error_errno(err, "delete '%s'", path);
                return -S3ERR_INTERNAL;
        }
        return 0;
}

void objstore_meta_list_free(struct objstore_meta *m, size_t n)
{
        for (size_t i = 0; i < n; i++)
                objstore_meta_clear(&m[i]);
        free(m);
}

static int meta_cmp(const void *a, const void *b)
{
        return strcmp(((const struct objstore_meta *)a)->key,
                      ((const struct objstore_meta *)b)->key);
}

static int scan_objects(const char *dir, struct objstore_meta **ret, size_t *ret_n,
                        struct hoist_error **err)
{
        _cleanup_dir_ DIR *d = opendir(dir);
        struct objstore_meta *v = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;

        if (d == NULL) {
                (void)hoist_error_errno(err, "open '%s'", dir);
                return -S3ERR_INTERNAL;
        }
        while ((de = readdir(d)) != NULL) {
                _cleanup_close_ int fd = -1;
                struct objstore_meta m = {0};
                struct hoist_error *e = NULL;

                if (strlen(de->d_name) != DIGEST_HEX_LEN)
                        continue;
                fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        continue; /* deleted meanwhile */
                if (objstore_header_read(fd, &m, NULL, &e) < 0) {
                        hoist_error_free(e);
                        continue;
                }
                if (n == cap) {
                        cap = cap ? cap * 2 : 256;
                        v = xreallocarray(v, cap, sizeof *v);
                }
                v[n++] = m;
        }
        if (n > 0)
                qsort(v, n, sizeof *v, meta_cmp);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* The objects of V (sorted) whose key starts with PREFIX, copied. */
static void copy_prefixed(const struct objstore_meta *v, size_t n, const char *prefix,
                          struct objstore_meta **ret, size_t *ret_n)
{
        size_t plen = prefix != NULL ? strlen(prefix) : 0, lo = 0, hi = n, k = 0;
        struct objstore_meta *out;

        while (lo < hi) { /* the first key not below PREFIX */
                size_t mid = lo + (hi - lo) / 2;
                if (plen > 0 && strcmp(v[mid].key, prefix) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        for (hi = lo; hi < n && strncmp(v[hi].key, prefix != NULL ? prefix : "", plen) == 0; hi++)
                ;
        out = xcalloc(hi - lo ? hi - lo : 1, sizeof *out);
        for (size_t i = lo; i < hi; i++, k++) {
                out[k] = v[i];
                out[k].key = xstrdup(v[i].key);
                out[k].content_type = v[i].content_type ? xstrdup(v[i].content_type) : NULL;
        }
        *ret = out;
        *ret_n = k;
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
        return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

int objstore_object_list(struct objstore *os, const char *bucket, const char *prefix,
                         struct objstore_meta **ret, size_t *ret_n, struct hoist_error **err)
{
        _cleanup_free_ char *dir = NULL;
        struct objstore_listing *l = &os->listing;
        struct objstore_meta *v = NULL;
        struct timespec now;
        struct stat st;
        size_t n = 0;
        int rc = objstore_bucket_check(os, bucket, err);

        if (rc < 0)
                return rc;
        dir = objstore_bucket_sub(os, bucket, "obj");
        /* the generation first: a write during the scan makes it stale */
        uint64_t gen = atomic_load(&os->gen);
        if (stat(dir, &st) < 0) {
                (void)hoist_error_errno(err, "open '%s'", dir);
                return -S3ERR_INTERNAL;
        }
        (void)pthread_mutex_lock(&os->list_mu);
        if (l->bucket != NULL && strcmp(l->bucket, bucket) == 0 && l->gen == gen &&
            l->ino == st.st_ino && same_time(&l->mtim, &st.st_mtim) &&
            same_time(&l->ctim, &st.st_ctim)) {
                copy_prefixed(l->v, l->n, prefix, ret, ret_n);
                (void)pthread_mutex_unlock(&os->list_mu);
                return 0;
        }
        (void)pthread_mutex_unlock(&os->list_mu);
        rc = scan_objects(dir, &v, &n, err);
        if (rc < 0)
                return rc;
        copy_prefixed(v, n, prefix, ret, ret_n);
        /* A directory changed within the clock's tick may change again with
         * the same time: a scan within 100 ms of a change is used once, not
         * kept. */
        (void)clock_gettime(CLOCK_REALTIME, &now);
        if ((int64_t)(now.tv_sec - st.st_mtim.tv_sec) * 1000000000 + now.tv_nsec -
                    st.st_mtim.tv_nsec <
            100000000) {
                objstore_meta_list_free(v, n);
                return 0;
        }
        (void)pthread_mutex_lock(&os->list_mu);
        free(l->bucket);
        objstore_meta_list_free(l->v, l->n);
        *l = (struct objstore_listing){.bucket = xstrdup(bucket),
                                       .gen = gen,
                                       .ino = st.st_ino,
                                       .mtim = st.st_mtim,
                                       .ctim = st.st_ctim,
                                       .v = v,
                                       .n = n};
        (void)pthread_mutex_unlock(&os->list_mu);
        return 0;
}

/* ---- writers ---- */

void objstore_random_hex(char *out, size_t nhex)
{
        uint8_t b[32];

        if (getrandom(b, (nhex + 1) / 2, 0) != (ssize_t)((nhex + 1) / 2))
                abort(); /* the kernel's CSPRNG does not fail for 16 bytes */
        for (size_t i = 0; i < nhex; i++)
                out[i] = "0123456789abcdef"[(b[i / 2] >> ((i % 2) ? 0 : 4)) & 0xf];
        out[nhex] = '\0';
}

int objstore_writer_new(struct objstore *os, const char *bucket, char *final_path,
                        struct objstore_writer **ret, struct hoist_error **err)
{
        struct objstore_writer *w = xzalloc(sizeof *w);
        char rnd[17];

        objstore_random_hex(rnd, 16);
        w->os = os;
        w->final_path = final_path;
        w->dir = objstore_bucket_sub(os, bucket, "tmp");
        w->tmp_path = xasprintf("%s/%s", w->dir, rnd);
        w->fd = open(w->tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        w->md5 = EVP_MD_CTX_new();
        w->sha = digest_new();
        if (w->fd < 0 || w->md5 == NULL || EVP_DigestInit_ex(w->md5, EVP_md5(), NULL) != 1 ||
            lseek(w->fd, OBJSTORE_HEADER_SIZE, SEEK_SET) < 0) {
                (void)hoist_error_errno(err, "create '%s'", w->tmp_path);
                objstore_writer_free(w);
                return -S3ERR_INTERNAL;
        }
        *ret = w;
        return 0;
}

int objstore_writer_object(struct objstore *os, const char *bucket, const char *key,
                           const char *content_type, struct objstore_writer **ret,
                           struct hoist_error **err)
{
        int rc = objstore_bucket_check(os, bucket, err);

        if (rc < 0)
                return rc;
        if (!objstore_key_valid(key))
                return s3err_fail(err, S3ERR_INVALID_ARGUMENT,
                                  "object key is empty, longer than 1024 bytes, starts with '/' "
                                  "or has a '.' or '..' segment");
        if (content_type != NULL && strlen(content_type) > 256)
                return s3err_fail(err, S3ERR_INVALID_ARGUMENT, "Content-Type is too long");
        rc = objstore_writer_new(os, bucket, objstore_object_path(os, bucket, key), ret, err);
        if (rc < 0)
                return rc;
        (*ret)->key = xstrdup(key);
        (*ret)->content_type = xstrdup(content_type);
        return 0;
}

int objstore_writer_write(struct objstore_writer *w, const void *data, size_t len,
                          struct hoist_error **err)
{
        if (fs_write_all(w->fd, data, len) < 0) {
                (void)hoist_error_errno(err, "write '%s'", w->tmp_path);
                return -S3ERR_INTERNAL;
        }
        (void)EVP_DigestUpdate(w->md5, data, len);
        digest_update(w->sha, data, len);
        w->size += len;
        return 0;
}

int objstore_writer_commit(struct objstore_writer *w, const char *sha256_hex,
                           const char *content_md5, struct objstore_meta *ret_meta,
                           struct hoist_error **err)
{
        uint8_t md5[EVP_MAX_MD_SIZE];
        unsigned md5_len = 0;
        char sha[DIGEST_HEX_LEN + 1], md5_hex[33], etag[OBJSTORE_ETAG_SIZE];
        struct objstore_meta m = {0};

        digest_final_hex(w->sha, sha);
        w->sha = NULL;
        (void)EVP_DigestFinal_ex(w->md5, md5, &md5_len);
        digest_to_hex(md5, 16, md5_hex);
        if (sha256_hex != NULL && strcmp(sha256_hex, sha) != 0)
                return s3err_fail(err, S3ERR_CONTENT_SHA256_MISMATCH,
                                  "body does not match x-amz-content-sha256");
        if (content_md5 != NULL) {
                unsigned char dec[64];
                size_t n = strlen(content_md5);
                int dn = n <= 64 ? EVP_DecodeBlock(dec, (const unsigned char *)content_md5, (int)n)
                                 : -1;
                /* EVP_DecodeBlock counts padding as bytes: 24 chars give 18. */
                if (n != 24 || dn != 18)
                        return s3err_fail(err, S3ERR_INVALID_DIGEST, "Content-MD5 is malformed");
                if (memcmp(dec, md5, 16) != 0)
                        return s3err_fail(err, S3ERR_BAD_DIGEST, "body does not match Content-MD5");
        }
        (void)snprintf(etag, sizeof etag, "\"%s\"", md5_hex);
        if (objstore_header_write(w->fd, w->key, w->size, etag, w->content_type, w->part, err) <
                    0 ||
            fsync(w->fd) < 0) {
                (void)hoist_error_wrap(err, "'%s'", w->tmp_path);
                return -S3ERR_INTERNAL;
        }
        if (w->part == 0)
                objstore_changed(w->os);
        if (rename(w->tmp_path, w->final_path) < 0) {
                if (errno == ENOENT && w->part > 0)
                        return s3err_fail(err, S3ERR_NO_SUCH_UPLOAD, "upload was aborted");
                (void)hoist_error_errno(err, "rename to '%s'", w->final_path);
                return -S3ERR_INTERNAL;
        }
        free(w->tmp_path);
        w->tmp_path = NULL;
        m.key = xstrdup(w->key);
        m.size = w->size;
        m.content_type = xstrdup(w->content_type);
        m.mtime = time(NULL);
        memcpy(m.etag, etag, sizeof etag);
        *ret_meta = m;
        return 0;
}

void objstore_writer_free(struct objstore_writer *w)
{
        if (w == NULL)
                return;
        if (w->fd >= 0)
                (void)close(w->fd);
        if (w->tmp_path != NULL)
                (void)unlink(w->tmp_path);
        EVP_MD_CTX_free(w->md5);
        digest_free(w->sha);
        free(w->tmp_path);
        free(w->final_path);
        free(w->dir);
        free(w->key);
        free(w->content_type);
        free(w);
}
