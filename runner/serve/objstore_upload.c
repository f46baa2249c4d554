/* SPDX-License-Identifier: MIT */
/* Multipart uploads of hoist serve's object store (layout in objstore.h). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "runner/serve/objstore_internal.h"
#include "runner/serve/s3err.h"
#include "xalloc.h"

static bool upload_id_valid(const char *id)
{
        if (id == NULL || strlen(id) != OBJSTORE_UPLOAD_ID_LEN)
                return false;
        for (const char *p = id; *p != '\0'; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

static char *upload_dir(const struct objstore *os, const char *bucket, const char *id)
{
        return xasprintf("%s/%s/mpu/%s", os->root, bucket, id);
}

/* Reads upload.json of upload ID: its key and content type. */
static int upload_read(struct objstore *os, const char *bucket, const char *id, char **ret_key,
                       char **ret_ct, int64_t *ret_initiated, struct hoist_error **err)
{
        _cleanup_free_ char *dir = NULL, *path = NULL, *data = NULL;
        json_auto_t *j = NULL;
        size_t len;
        const char *key;
        struct hoist_error *e = NULL;

        if (!upload_id_valid(id))
                return s3err_fail(err, S3ERR_NO_SUCH_UPLOAD, "invalid upload id");
        dir = upload_dir(os, bucket, id);
        path = path_join(dir, "upload.json");
        if (fs_read_file(path, &data, &len, &e) < 0) {
                hoist_error_free(e);
                return s3err_fail(err, S3ERR_NO_SUCH_UPLOAD, "no upload '%s'", id);
        }
        j = json_loadb(data, len, 0, NULL);
        key = json_string_value(json_object_get(j, "key"));
        if (key == NULL) {
                (void)hoist_error_make(err, HOIST_ERR_INPUT, "'%s' is malformed", path);
                return -S3ERR_INTERNAL;
        }
        if (ret_key != NULL)
                *ret_key = xstrdup(key);
        if (ret_ct != NULL)
                *ret_ct = xstrdup(json_string_value(json_object_get(j, "content_type")));
        if (ret_initiated != NULL)
                *ret_initiated = json_integer_value(json_object_get(j, "initiated"));
        return 0;
}

int objstore_upload_check(struct objstore *os, const char *bucket, const char *upload_id,
                          const char *key, struct hoist_error **err)
{
        _cleanup_free_ char *k = NULL;
        int rc = objstore_bucket_check(os, bucket, err);

        if (rc < 0)
                return rc;
        rc = upload_read(os, bucket, upload_id, &k, NULL, NULL, err);
        if (rc < 0)
                return rc;
        if (key != NULL && strcmp(k, key) != 0)
                return s3err_fail(err, S3ERR_NO_SUCH_UPLOAD, "upload '%s' is for another key",
                                  upload_id);
        return 0;
}

int objstore_writer_part(struct objstore *os, const char *bucket, const char *upload_id,
                         const char *key, unsigned part, struct objstore_writer **ret,
                         struct hoist_error **err)
{
        _cleanup_free_ char *dir = NULL;
        int rc;

        if (part < 1 || part > OBJSTORE_MAX_PARTS)
                return s3err_fail(err, S3ERR_INVALID_ARGUMENT,
                                  "Part number must be an integer between 1 and 10000, "
                                  "inclusive");
        rc = objstore_upload_check(os, bucket, upload_id, key, err);
        if (rc < 0)
                return rc;
        dir = upload_dir(os, bucket, upload_id);
        rc = objstore_writer_new(os, bucket, xasprintf("%s/part.%05u", dir, part), ret, err);
        if (rc < 0)
                return rc;
        (*ret)->key = xstrdup(key);
        (*ret)->part = part;
        return 0;
}

/* ---- multipart ---- */

int objstore_upload_create(struct objstore *os, const char *bucket, const char *key,
                           const char *content_type, char ret_id[OBJSTORE_UPLOAD_ID_LEN + 1],
                           struct hoist_error **err)
{
        json_auto_t *j = json_object();
        _cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL;
        char id[OBJSTORE_UPLOAD_ID_LEN + 1];
        int rc = objstore_bucket_check(os, bucket, err);

        if (rc < 0)
                return rc;
        if (!objstore_key_valid(key))
                return s3err_fail(err, S3ERR_INVALID_ARGUMENT, "object key is not allowed");
        objstore_random_hex(id, OBJSTORE_UPLOAD_ID_LEN);
        dir = upload_dir(os, bucket, id);
        if (mkdir(dir, 0700) < 0) {
                (void)hoist_error_errno(err, "create '%s'", dir);
                return -S3ERR_INTERNAL;
        }
        (void)json_object_set_new(j, "key", json_string(key));
        if (content_type != NULL)
                (void)json_object_set_new(j, "content_type", json_string(content_type));
        (void)json_object_set_new(j, "initiated", json_integer((json_int_t)time(NULL)));
        text = json_dumps(j, JSON_COMPACT);
        path = path_join(dir, "upload.json");
        if (text == NULL || fs_write_file_atomic(path, text, strlen(text), 0600, err) < 0)
                return -S3ERR_INTERNAL;
        memcpy(ret_id, id, sizeof id);
        return 0;
}

static int part_cmp(const void *a, const void *b)
{
        unsigned x = ((const struct objstore_part *)a)->number;
        unsigned y = ((const struct objstore_part *)b)->number;
        return x < y ? -1 : x > y;
}

int objstore_upload_parts(struct objstore *os, const char *bucket, const char *upload_id,
                          const char *key, struct objstore_part **ret, size_t *ret_n,
                          struct hoist_error **err)
{
        _cleanup_free_ char *dir = NULL;
        _cleanup_dir_ DIR *d = NULL;
        struct objstore_part *v = NULL;
        size_t n = 0;
        struct dirent *de;
        int rc = objstore_upload_check(os, bucket, upload_id, key, err);

        if (rc < 0)
                return rc;
        dir = upload_dir(os, bucket, upload_id);
        d = opendir(dir);
        if (d == NULL)
                return s3err_fail(err, S3ERR_NO_SUCH_UPLOAD, "no upload '%s'", upload_id);
        while ((de = readdir(d)) != NULL) {
                _cleanup_close_ int fd = -1;
                struct objstore_meta m = {0};
                struct hoist_error *e = NULL;
                unsigned part = 0;

                if (strncmp(de->d_name, "part.", 5) != 0)
                        continue;
                fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        continue;
                if (objstore_header_read(fd, &m, &part, &e) < 0 || part < 1) {
                        hoist_error_free(e);
                        objstore_meta_clear(&m);
                        continue;
                }
                v = xreallocarray(v, n + 1, sizeof *v);
                v[n] = (struct objstore_part){.number = part, .size = m.size, .mtime = m.mtime};
                memcpy(v[n].etag, m.etag, sizeof m.etag);
                n++;
                objstore_meta_clear(&m);
        }
        if (n > 0)
                qsort(v, n, sizeof *v, part_cmp);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* Compares etags ignoring the quotes that clients may or may not keep. */
static bool etag_equal(const char *a, const char *b)
{
        size_t na, nb;

        if (*a == '"')
                a++;
        if (*b == '"')
                b++;
        na = strcspn(a, "\"");
        nb = strcspn(b, "\"");
        return na == nb && strncasecmp(a, b, na) == 0;
}

static int append_part(int out, const char *path, uint64_t size, struct hoist_error **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        loff_t off = OBJSTORE_HEADER_SIZE;
        uint64_t left = size;

        if (fd < 0)
                return hoist_error_errno(err, "open '%s'", path);
        while (left > 0) {
                ssize_t n = copy_file_range(fd, &off, out, NULL,
                                            left > (1u << 30) ? 1u << 30 : left, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        /* copy_file_range may be unsupported: fall back to read/write. */
                        char buf[1 << 16];
                        ssize_t r = pread(fd, buf, left < sizeof buf ? left : sizeof buf, off);
                        if (r <= 0 || fs_write_all(out, buf, (size_t)r) < 0)
                                return hoist_error_errno(err, "copy '%s'", path);
                        n = r;
                        off += r;
                }
                left -= (uint64_t)n;
        }
        return 0;
}

static int complete_check(const struct objstore_part *parts, size_t n,
                          const struct objstore_part *have, size_t nhave,
                          const struct objstore_part **ret_found, struct hoist_error **err)
{
        if (n == 0)
                return s3err_fail(err, S3ERR_MALFORMED_XML, "no parts listed");
        for (size_t i = 1; i < n; i++)
                if (parts[i].number <= parts[i - 1].number)
                        return s3err_fail(err, S3ERR_INVALID_PART_ORDER, "part %u follows part %u",
                                          parts[i].number, parts[i - 1].number);
        for (size_t i = 0; i < n; i++) {
                const struct objstore_part *f = NULL;
                for (size_t k = 0; k < nhave && f == NULL; k++)
                        if (have[k].number == parts[i].number)
                                f = &have[k];
                if (f == NULL || !etag_equal(f->etag, parts[i].etag))
                        return s3err_fail(err, S3ERR_INVALID_PART,
                                          "part %u is missing or its etag differs",
                                          parts[i].number);
                ret_found[i] = f;
        }
        for (size_t i = 0; i + 1 < n; i++)
                if (ret_found[i]->size < OBJSTORE_MIN_PART_SIZE)
                        return s3err_fail(err, S3ERR_ENTITY_TOO_SMALL,
                                          "part %u has %llu bytes; parts but the last need at "
                                          "least 5 MiB",
                                          parts[i].number, (unsigned long long)ret_found[i]->size);
        return 0;
}

int objstore_upload_complete(struct objstore *os, const char *bucket, const char *upload_id,
                             const char *key, const struct objstore_part *parts, size_t n,
                             struct objstore_meta *ret_meta, struct hoist_error **err)
{
        struct objstore_part *have = NULL;
        size_t nhave = 0;
        _cleanup_free_ const struct objstore_part **found = NULL;
        _cleanup_free_ char *ct = NULL, *dir = NULL, *grave = NULL;
        struct objstore_writer *w = NULL;
        EVP_MD_CTX *md5 = NULL;
        uint8_t digest[EVP_MAX_MD_SIZE];
        unsigned dlen = 0;
        char hex[33];
        int rc;

        rc = objstore_upload_parts(os, bucket, upload_id, key, &have, &nhave, err);
        if (rc < 0)
                return rc;
        found = xcalloc(n > 0 ? n : 1, sizeof *found);
        rc = complete_check(parts, n, have, nhave, found, err);
        if (rc < 0)
                goto out;
        rc = upload_read(os, bucket, upload_id, NULL, &ct, NULL, err);
        if (rc < 0)
                goto out;
        rc = objstore_writer_new(os, bucket, objstore_object_path(os, bucket, key), &w, err);
        if (rc < 0)
                goto out;
        w->key = xstrdup(key);
        w->content_type = TAKE_PTR(ct);
        dir = upload_dir(os, bucket, upload_id);
        md5 = EVP_MD_CTX_new();
        (void)EVP_DigestInit_ex(md5, EVP_md5(), NULL);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = xasprintf("%s/part.%05u", dir, found[i]->number);
                const char *e = found[i]->etag + 1;
                uint8_t bin[16];
                for (int b = 0; b < 16; b++) {
                        unsigned v = 0;
                        (void)sscanf(e + 2 * b, "%2x", &v);
                        bin[b] = (uint8_t)v;
                }
                (void)EVP_DigestUpdate(md5, bin, sizeof bin);
                if (append_part(w->fd, p, found[i]->size, err) < 0) {
                        rc = -S3ERR_INTERNAL;
                        goto out;
                }
                w->size += found[i]->size;
        }
        (void)EVP_DigestFinal_ex(md5, digest, &dlen);
        digest_to_hex(digest, 16, hex);
        {
                char etag[OBJSTORE_ETAG_SIZE];
                (void)snprintf(etag, sizeof etag, "\"%s-%zu\"", hex, n);
                objstore_changed(os);
                if (objstore_header_write(w->fd, key, w->size, etag, w->content_type, 0, err) < 0 ||
                    fsync(w->fd) < 0 || rename(w->tmp_path, w->final_path) < 0) {
                        if (*err == NULL)
                                (void)hoist_error_errno(err, "publish '%s'", key);
                        rc = -S3ERR_INTERNAL;
                        goto out;
                }
                free(w->tmp_path);
                w->tmp_path = NULL;
                *ret_meta = (struct objstore_meta){.key = xstrdup(key),
                                                   .size = w->size,
                                                   .content_type = xstrdup(w->content_type),
                                                   .mtime = time(NULL)};
                memcpy(ret_meta->etag, etag, sizeof etag);
        }
        grave = xasprintf("%s/%s/tmp/mpu-%s", os->root, bucket, upload_id);
        if (rename(dir, grave) == 0) {
                struct hoist_error *e = NULL;
                (void)fs_remove_tree(grave, &e);
                hoist_error_free(e);
        }
        rc = 0;
out:
        EVP_MD_CTX_free(md5);
        objstore_writer_free(w);
        free(have);
        return rc;
}

int objstore_upload_abort(struct objstore *os, const char *bucket, const char *upload_id,
                          const char *key, struct hoist_error **err)
{
        _cleanup_free_ char *dir = NULL, *grave = NULL;
        int rc = objstore_upload_check(os, bucket, upload_id, key, err);

        if (rc < 0)
                return rc;
        dir = upload_dir(os, bucket, upload_id);
        grave = xasprintf("%s/%s/tmp/mpu-%s", os->root, bucket, upload_id);
        if (rename(dir, grave) < 0)
                return s3err_fail(err, S3ERR_NO_SUCH_UPLOAD, "no upload '%s'", upload_id);
        if (fs_remove_tree(grave, err) < 0)
                return -S3ERR_INTERNAL;
        return 0;
}

void objstore_upload_list_free(struct objstore_upload *u, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(u[i].key);
        free(u);
}

static int upload_cmp(const void *a, const void *b)
{
        const struct objstore_upload *x = a, *y = b;
        int c = strcmp(x->key, y->key);
        return c != 0 ? c : (x->initiated < y->initiated ? -1 : x->initiated > y->initiated);
}

int objstore_upload_list(struct objstore *os, const char *bucket, struct objstore_upload **ret,
                         size_t *ret_n, struct hoist_error **err)
{
        _cleanup_free_ char *dir = NULL;
        _cleanup_dir_ DIR *d = NULL;
        struct objstore_upload *v = NULL;
        size_t n = 0;
        struct dirent *de;
        int rc = objstore_bucket_check(os, bucket, err);

        if (rc < 0)
                return rc;
        dir = objstore_bucket_sub(os, bucket, "mpu");
        d = opendir(dir);
        if (d == NULL) {
                (void)hoist_error_errno(err, "open '%s'", dir);
                return -S3ERR_INTERNAL;
        }
        while ((de = readdir(d)) != NULL) {
                char *key = NULL;
                int64_t initiated = 0;
                struct hoist_error *e = NULL;
                if (!upload_id_valid(de->d_name))
                        continue;
                if (upload_read(os, bucket, de->d_name, &key, NULL, &initiated, &e) < 0) {
                        hoist_error_free(e);
                        continue;
                }
                v = xreallocarray(v, n + 1, sizeof *v);
                v[n] = (struct objstore_upload){.key = key, .initiated = initiated};
                memcpy(v[n].id, de->d_name, OBJSTORE_UPLOAD_ID_LEN + 1);
                n++;
        }
        if (n > 0)
                qsort(v, n, sizeof *v, upload_cmp);
        *ret = v;
        *ret_n = n;
        return 0;
}
