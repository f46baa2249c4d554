/* SPDX-License-Identifier: MIT */
/*
 * Push and pull over the distribution API: manifests, and blobs a few at a
 * time on their own threads (one curl handle each, one shared session).
 */
#include <curl/curl.h>

#include "registry.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "log.h"
#include "oci.h"
#include "registry_internal.h"
#include "xalloc.h"

#define MANIFEST_ACCEPT                                                                            \
        OCI_MT_MANIFEST ", " OCI_MT_INDEX ", " DOCKER_MT_MANIFEST ", " DOCKER_MT_LIST
#define DEFAULT_CHUNK (32ull << 20)

struct blob_job {
        const char *digest;
        int64_t size;
        char *mount_from; /* a repository on the same registry that has it */
};

struct pool {
        struct reg_session *s;
        struct ocilayout *lay;
        const struct registry_options *o;
        struct registry_stats *stats;
        int push;
        struct blob_job *jobs;
        size_t n, next;
        pthread_mutex_t lock;
        struct hoist_error *err;
};

static uint64_t chunk_size(void)
{
        const char *e = getenv("HOIST_REGISTRY_CHUNK_SIZE");
        char *end;
        unsigned long long v;

        if (e == NULL || *e == '\0')
                return DEFAULT_CHUNK;
        v = strtoull(e, &end, 10);
        return *end == '\0' ? v : DEFAULT_CHUNK;
}

static void report(const struct pool *p, const char *digest, uint64_t done, uint64_t total)
{
        if (p->o && p->o->progress)
                p->o->progress(p->o->userdata, digest, done, total);
}

static void report_state(const struct pool *p, const struct blob_job *j,
                         enum registry_blob_state st)
{
        if (p->o && p->o->blob_state)
                p->o->blob_state(p->o->userdata, j->digest, st, (uint64_t)j->size);
}

static void count(struct pool *p, unsigned *field, uint64_t bytes)
{
        pthread_mutex_lock(&p->lock);
        if (p->stats) {
                (*field)++;
                p->stats->bytes += bytes;
        }
        pthread_mutex_unlock(&p->lock);
}

#define STAT(p, name) ((p)->stats ? &(p)->stats->name : NULL)
#define COUNT(p, name, bytes)                                                                      \
        do {                                                                                       \
                if ((p)->stats)                                                                    \
                        count((p), &(p)->stats->name, (bytes));                                    \
        } while (0)

/* ---- push ---- */

static char *blob_url(const struct reg_session *s, const char *digest)
{
        return xasprintf("%s/v2/%s/blobs/%s", s->base, s->repo, digest);
}

/* Starts an upload (or mounts): 1 when the blob is now there (mounted),
 * 0 with *ret_location set, -1 on error. */
static int start_upload(struct pool *p, CURL *h, const struct blob_job *j, char **ret_location,
                        uint64_t *ret_chunk_min, struct hoist_error **err)
{
        struct reg_session *s = p->s;
        _cleanup_free_ char *url = NULL, *what = NULL;
        struct reg_resp resp = {0};
        int r = -1;

        if (j->mount_from)
                url = xasprintf("%s/v2/%s/blobs/uploads/?mount=%s&from=%s", s->base, s->repo,
                                j->digest, j->mount_from);
        else
                url = xasprintf("%s/v2/%s/blobs/uploads/", s->base, s->repo);
        what = xasprintf("start upload of %s", j->digest);
        struct reg_req q = {.method = "POST",
                            .url = url,
                            .body = "",
                            .out_fd = -1,
                            .body_fd = -1,
                            .what = what,
                            .opts = p->o};
        if (reg_request(s, h, &q, &resp, err) < 0)
                goto out;
        if (j->mount_from && resp.status == 201) {
                r = 1;
        } else if (resp.status == 202 && resp.location) {
                *ret_location = registry_resolve_location(url, resp.location, NULL);
                *ret_chunk_min = resp.chunk_min;
                r = *ret_location ? 0
                                  : hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                     "%s: unusable Location header", what);
        } else {
                r = reg_status_error(s, &q, &resp, err);
        }
out:
        reg_resp_clear(&resp);
        buf_free(&resp.body);
        return r;
}

static int put_final(struct pool *p, CURL *h, const struct blob_job *j, const char *location,
                     int fd, uint64_t len, struct hoist_error **err)
{
        _cleanup_free_ char *url = registry_resolve_location(location, location, j->digest);
        _cleanup_free_ char *what = xasprintf("upload %s", j->digest);
        struct reg_resp resp = {0};
        int r;

        struct reg_req q = {.method = "PUT",
                            .url = url,
                            .content_type = "application/octet-stream",
                            .body = fd < 0 ? "" : NULL,
                            .body_fd = fd,
                            .body_len = len,
                            .out_fd = -1,
                            .what = what,
                            .digest = j->digest,
                            .progress_total = (uint64_t)j->size,
                            .opts = p->o};
        r = reg_request(p->s, h, &q, &resp, err);
        if (r == 0 && resp.status != 201 && resp.status != 204)
                r = reg_status_error(p->s, &q, &resp, err);
        reg_resp_clear(&resp);
        buf_free(&resp.body);
        return r;
}

/* PATCHes the blob in CHUNK-sized pieces, then PUTs ?digest=.  1 when the
 * registry mishandles chunks (the caller falls back to one PUT). */
static int upload_chunked(struct pool *p, CURL *h, const struct blob_job *j, char **location,
                          int fd, uint64_t chunk, struct hoist_error **err)
{
        _cleanup_free_ char *what = xasprintf("upload chunk of %s", j->digest);
        uint64_t off = 0, size = (uint64_t)j->size;
        struct reg_resp resp = {0};

        while (off < size) {
                uint64_t n = size - off < chunk ? size - off : chunk;
                char range[64];
                (void)snprintf(range, sizeof range, "%llu-%llu", (unsigned long long)off,
                               (unsigned long long)(off + n - 1));
                struct reg_req q = {.method = "PATCH",
                                    .url = *location,
                                    .content_type = "application/octet-stream",
                                    .content_range = range,
                                    .body_fd = fd,
                                    .body_off = (off_t)off,
                                    .body_len = n,
                                    .out_fd = -1,
                                    .what = what,
                                    .digest = j->digest,
                                    .progress_base = off,
                                    .progress_total = size,
                                    .opts = p->o};
                if (reg_request(p->s, h, &q, &resp, err) < 0)
                        goto fail;
                if (resp.status == 400 || resp.status == 404 || resp.status == 405 ||
                    resp.status == 416 || resp.status == 501) {
                        log_debug("%s: HTTP %ld to a chunk, falling back to one PUT", what,
                                  resp.status);
                        reg_resp_clear(&resp);
                        buf_free(&resp.body);
                        return 1;
                }
                if (resp.status != 202 || resp.location == NULL) {
                        reg_status_error(p->s, &q, &resp, err);
                        goto fail;
                }
                char expect[64];
                (void)snprintf(expect, sizeof expect, "0-%llu", (unsigned long long)(off + n - 1));
                if (resp.range && strcmp(resp.range, expect) != 0 &&
                    strcmp(resp.range + (strncmp(resp.range, "bytes=", 6) == 0 ? 6 : 0), expect) !=
                            0) {
                        log_debug("%s: registry holds %s, not %s: falling back to one PUT", what,
                                  resp.range, expect);
                        reg_resp_clear(&resp);
                        buf_free(&resp.body);
                        return 1;
                }
                char *next = registry_resolve_location(*location, resp.location, NULL);
                free(*location);
                *location = next;
                off += n;
                reg_resp_clear(&resp);
                if (*location == NULL) {
                        hoist_error_make(err, HOIST_ERR_PROVIDER, "%s: unusable Location", what);
                        goto fail;
                }
        }
        buf_free(&resp.body);
        return put_final(p, h, j, *location, -1, 0, err);
fail:
        reg_resp_clear(&resp);
        buf_free(&resp.body);
        return -1;
}

static int push_blob(struct pool *p, CURL *h, struct blob_job *j, struct hoist_error **err)
{
        struct reg_session *s = p->s;
        _cleanup_free_ char *path = ocilayout_blob_path(p->lay, j->digest);
        _cleanup_free_ char *url = blob_url(s, j->digest), *location = NULL;
        _cleanup_free_ char *what = xasprintf("HEAD blob %s", j->digest);
        _cleanup_close_ int fd = -1;
        struct reg_resp resp = {0};
        uint64_t chunk = chunk_size(), chunk_min = 0;
        struct stat st;
        int r;

        if (path == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "malformed digest '%s'", j->digest);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0)
                return hoist_error_errno(err, "blob %s: open '%s'", j->digest, path);
        if (st.st_size != j->size)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "blob %s in '%s' is %lld bytes, not %lld as the manifest "
                                        "says: the image store is damaged (build or pull the "
                                        "image again)",
                                        j->digest, path, (long long)st.st_size, (long long)j->size);
        struct reg_req q = {.method = "HEAD",
                            .url = url,
                            .out_fd = -1,
                            .body_fd = -1,
                            .what = what,
                            .opts = p->o};
        r = reg_request(s, h, &q, &resp, err);
        if (r == 0 && resp.status == 200) {
                reg_resp_clear(&resp);
                buf_free(&resp.body);
                report(p, j->digest, (uint64_t)j->size, (uint64_t)j->size);
                report_state(p, j, REGISTRY_BLOB_EXISTS);
                COUNT(p, blobs_skipped, 0);
                return 0;
        }
        if (r == 0 && resp.status != 404)
                r = reg_status_error(s, &q, &resp, err);
        reg_resp_clear(&resp);
        buf_free(&resp.body);
        if (r < 0)
                return -1;
        r = start_upload(p, h, j, &location, &chunk_min, err);
        if (r == 1) {
                report(p, j->digest, (uint64_t)j->size, (uint64_t)j->size);
                report_state(p, j, REGISTRY_BLOB_MOUNTED);
                COUNT(p, blobs_mounted, 0);
                return 0;
        }
        if (r < 0)
                return -1;
        report_state(p, j, REGISTRY_BLOB_UPLOADING);
        if (chunk > 0 && chunk_min > chunk)
                chunk = chunk_min;
        if (chunk > 0 && (uint64_t)j->size > chunk) {
                r = upload_chunked(p, h, j, &location, fd, chunk, err);
                if (r == 1) {
                        /* a fresh upload: the old one holds a partial blob */
                        struct blob_job plain = {.digest = j->digest, .size = j->size};
                        free(location);
                        location = NULL;
                        r = start_upload(p, h, &plain, &location, &chunk_min, err);
                        if (r == 0)
                                r = put_final(p, h, j, location, fd, (uint64_t)j->size, err);
                }
        } else {
                r = put_final(p, h, j, location, fd, (uint64_t)j->size, err);
        }
        if (r < 0)
                return -1;
        report_state(p, j, REGISTRY_BLOB_PUSHED);
        COUNT(p, blobs_uploaded, (uint64_t)j->size);
        return 0;
}

/* ---- pull ---- */

static int pull_blob(struct pool *p, CURL *h, struct blob_job *j, struct hoist_error **err)
{
        _cleanup_free_ char *url = blob_url(p->s, j->digest);
        _cleanup_free_ char *tmp = NULL, *what = xasprintf("GET blob %s", j->digest);
        _cleanup_close_ int fd = -1;
        struct reg_resp resp = {0};
        int r;

        if (ocilayout_has_blob(p->lay, j->digest)) {
                report(p, j->digest, (uint64_t)j->size, (uint64_t)j->size);
                report_state(p, j, REGISTRY_BLOB_EXISTS);
                COUNT(p, blobs_skipped, 0);
                return 0;
        }
        tmp = xasprintf("%s/.hoist-pull-XXXXXX", ocilayout_dir(p->lay));
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return hoist_error_errno(err, "%s: create a file in '%s'", what,
                                         ocilayout_dir(p->lay));
        struct reg_req q = {.method = "GET",
                            .url = url,
                            .out_fd = fd,
                            .body_fd = -1,
                            .what = what,
                            .digest = j->digest,
                            .progress_total = (uint64_t)j->size,
                            .opts = p->o};
        report_state(p, j, REGISTRY_BLOB_DOWNLOADING);
        r = reg_request(p->s, h, &q, &resp, err);
        if (r == 0 && resp.status != 200)
                r = reg_status_error(p->s, &q, &resp, err);
        if (r == 0 &&
            (strcmp(q.out_hex, digest_parse(j->digest)) != 0 || q.out_len != (uint64_t)j->size))
                r = hoist_error_make(err, HOIST_ERR_PROVIDER,
                                     "%s: received %llu bytes with digest sha256:%s, not %lld "
                                     "bytes of %s: the registry served corrupt data",
                                     what, (unsigned long long)q.out_len, q.out_hex,
                                     (long long)j->size, j->digest);
        reg_resp_clear(&resp);
        buf_free(&resp.body);
        if (r == 0) {
                /* verified while it streamed: rename it into place (same
                 * directory tree) rather than hash it again */
                _cleanup_free_ char *dst = ocilayout_blob_path(p->lay, j->digest);
                report_state(p, j, REGISTRY_BLOB_VERIFIED);
                if (fchmod(fd, 0644) < 0 || fsync(fd) < 0 || rename(tmp, dst) < 0)
                        r = ocilayout_put_blob_file(p->lay, tmp, j->digest, 1, NULL, err);
        }
        if (r < 0) {
                (void)unlink(tmp);
                return -1;
        }
        report_state(p, j, REGISTRY_BLOB_DONE);
        COUNT(p, blobs_downloaded, (uint64_t)j->size);
        return 0;
}

/* ---- the pool ---- */

static void *worker(void *arg)
{
        struct pool *p = arg;
        CURL *h = curl_easy_init();

        for (;;) {
                struct hoist_error *e = NULL;
                size_t i;
                int r;

                pthread_mutex_lock(&p->lock);
                if (p->err != NULL || p->next >= p->n || h == NULL) {
                        if (h == NULL && p->err == NULL)
                                hoist_error_make(&p->err, ENOMEM, "curl_easy_init");
                        pthread_mutex_unlock(&p->lock);
                        break;
                }
                i = p->next++;
                pthread_mutex_unlock(&p->lock);
                r = p->push ? push_blob(p, h, &p->jobs[i], &e) : pull_blob(p, h, &p->jobs[i], &e);
                if (r < 0) {
                        report_state(p, &p->jobs[i], REGISTRY_BLOB_FAILED);
                        pthread_mutex_lock(&p->lock);
                        if (p->err == NULL)
                                p->err = TAKE_PTR(e);
                        pthread_mutex_unlock(&p->lock);
                        hoist_error_free(e);
                }
        }
        if (h)
                curl_easy_cleanup(h);
        return NULL;
}

static int run_pool(struct pool *p, struct hoist_error **err)
{
        size_t nthreads = p->o && p->o->parallel > 0 ? (size_t)p->o->parallel : 4;
        pthread_t tids[16];
        size_t started = 0;

        if (nthreads > 16)
                nthreads = 16;
        if (nthreads > p->n)
                nthreads = p->n;
        /* every blob's size first, so a progress line knows the whole */
        for (size_t i = 0; i < p->n; i++) {
                report_state(p, &p->jobs[i], REGISTRY_BLOB_WAITING);
                report(p, p->jobs[i].digest, 0, (uint64_t)p->jobs[i].size);
        }
        pthread_mutex_init(&p->lock, NULL);
        for (size_t i = 1; i < nthreads; i++) {
                if (pthread_create(&tids[started], NULL, worker, p) != 0)
                        break;
                started++;
        }
        (void)worker(p);
        for (size_t i = 0; i < started; i++)
                (void)pthread_join(tids[i], NULL);
        pthread_mutex_destroy(&p->lock);
        if (p->err) {
                *err = TAKE_PTR(p->err);
                return -1;
        }
        return 0;
}

static void jobs_free(struct blob_job *jobs, size_t n)
{
        for (size_t i = 0; jobs && i < n; i++)
                free(jobs[i].mount_from);
        free(jobs);
}

/* config + layers of image manifest M, each once. */
static struct blob_job *image_jobs(const struct oci_manifest *m, size_t *ret_n)
{
        struct blob_job *v = xcalloc(m->n_items + 1, sizeof *v);
        size_t n = 0;

        for (size_t i = 0; i <= m->n_items; i++) {
                const struct oci_descriptor *d = i == 0 ? &m->config : &m->items[i - 1];
                int dup = 0;
                for (size_t k = 0; k < n; k++)
                        dup |= strcmp(v[k].digest, d->digest) == 0;
                if (dup)
                        continue;
                v[n].digest = d->digest;
                v[n].size = d->size;
                n++;
        }
        *ret_n = n;
        return v;
}

/* ---- manifests ---- */

static int read_local_manifest(struct ocilayout *lay, const char *digest, const char *mt,
                               char **ret_data, size_t *ret_len, struct oci_manifest **ret_m,
                               struct hoist_error **err)
{
        _cleanup_free_ char *path = ocilayout_blob_path(lay, digest), *data = NULL;
        char hex[DIGEST_HEX_LEN + 1];
        size_t len = 0;

        if (path == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "malformed digest '%s'", digest);
        if (fs_read_file(path, &data, &len, err) < 0)
                return hoist_error_wrap(err, "manifest %s", digest);
        digest_sha256_hex(data, len, hex);
        if (strcmp(hex, digest_parse(digest)) != 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "manifest %s in '%s' does not match its digest: the image "
                                        "store is damaged",
                                        digest, path);
        if (oci_manifest_parse(data, len, mt, ret_m, err) < 0)
                return hoist_error_wrap(err, "manifest %s", digest);
        *ret_len = len;
        *ret_data = TAKE_PTR(data);
        return 0;
}

static int put_manifest(struct reg_session *s, CURL *h, const char *reference, const char *mt,
                        const char *data, size_t len, const char *digest,
                        const struct registry_options *o, struct hoist_error **err)
{
        _cleanup_free_ char *url = xasprintf("%s/v2/%s/manifests/%s", s->base, s->repo, reference);
        _cleanup_free_ char *what = xasprintf("PUT manifest '%s'", reference);
        struct reg_resp resp = {0};
        int r;

        struct reg_req q = {.method = "PUT",
                            .url = url,
                            .content_type = mt,
                            .body = data,
                            .body_len = len,
                            .out_fd = -1,
                            .body_fd = -1,
                            .what = what,
                            .opts = o};
        r = reg_request(s, h, &q, &resp, err);
        if (r == 0 && resp.status != 201 && resp.status != 200)
                r = reg_status_error(s, &q, &resp, err);
        if (r == 0 && resp.docker_digest && strcmp(resp.docker_digest, digest) != 0)
                r = hoist_error_make(err, HOIST_ERR_PROVIDER,
                                     "%s: the registry stored digest %s, not %s", what,
                                     resp.docker_digest, digest);
        reg_resp_clear(&resp);
        buf_free(&resp.body);
        return r;
}

/* For each job, a repository on the same registry known (from the local
 * store's tags) to hold the blob: a cross-repository mount saves the upload. */
static void find_mount_sources(struct ocilayout *lay, struct reg_session *s,
                               const struct imageref *target, struct blob_job *jobs, size_t n)
{
        _cleanup_strv_ char **refs = NULL;
        struct hoist_error *e = NULL;

        if (ocilayout_list(lay, &refs, &e) < 0) {
                hoist_error_release(&e);
                return;
        }
        for (char **r = refs; *r; r++) {
                _cleanup_imageref_ struct imageref *ir = NULL;
                _cleanup_free_ char *mt = NULL, *dg = NULL, *data = NULL;
                _cleanup_oci_manifest_ struct oci_manifest *m = NULL;
                size_t len = 0;

                if (imageref_parse(*r, &ir, &e) < 0 || strcmp(ir->host, target->host) != 0 ||
                    strcmp(ir->repo, target->repo) == 0 ||
                    ocilayout_resolve(lay, *r, &mt, &dg, NULL, &e) < 0 ||
                    read_local_manifest(lay, dg, mt, &data, &len, &m, &e) < 0 || m->is_index) {
                        hoist_error_release(&e);
                        continue;
                }
                for (size_t i = 0; i < n; i++) {
                        int has = strcmp(m->config.digest, jobs[i].digest) == 0;
                        for (size_t k = 0; k < m->n_items && !has; k++)
                                has = strcmp(m->items[k].digest, jobs[i].digest) == 0;
                        if (has && jobs[i].mount_from == NULL) {
                                _cleanup_free_ char *scope =
                                        xasprintf("repository:%s:pull", ir->repo);
                                jobs[i].mount_from = xstrdup(ir->repo);
                                reg_session_add_scope(s, scope);
                        }
                }
        }
}

static int push_image(struct ocilayout *lay, struct reg_session *s, CURL *h,
                      const struct imageref *target, const struct oci_manifest *m,
                      const struct registry_options *o, struct registry_stats *stats,
                      struct hoist_error **err)
{
        struct pool p = {.s = s, .lay = lay, .o = o, .stats = stats, .push = 1};
        int r;

        (void)h;
        p.jobs = image_jobs(m, &p.n);
        find_mount_sources(lay, s, target, p.jobs, p.n);
        r = run_pool(&p, err);
        jobs_free(p.jobs, p.n);
        return r;
}

int registry_push_ex(struct ocilayout *lay, const char *local_ref, const char *remote_ref,
                     const struct registry_options *o, struct registry_stats *stats,
                     char **ret_digest, struct hoist_error **err)
{
        _cleanup_imageref_ struct imageref *target = NULL;
        _cleanup_free_ char *mt = NULL, *digest = NULL, *data = NULL, *tagname = NULL;
        _cleanup_oci_manifest_ struct oci_manifest *m = NULL;
        _cleanup_curl_ CURL *h = NULL;
        struct reg_session *s = NULL;
        int64_t size = 0;
        size_t len = 0;
        int r = -1;

        if (stats)
                memset(stats, 0, sizeof *stats);
        if (imageref_parse(remote_ref, &target, err) < 0)
                return hoist_error_wrap(err, "push");
        if (ocilayout_resolve(lay, local_ref, &mt, &digest, &size, err) < 0 ||
            read_local_manifest(lay, digest, mt, &data, &len, &m, err) < 0)
                return hoist_error_wrap(err, "push '%s'", local_ref);
        if (target->digest && strcmp(target->digest, digest) != 0)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "push '%s': '%s' names digest %s but the image is %s "
                                        "(leave the digest out)",
                                        local_ref, remote_ref, target->digest, digest);
        if (reg_session_open(imageref_api_host(target), target->repo, 1, o, &s, err) < 0)
                return hoist_error_wrap(err, "push '%s'", remote_ref);
        h = curl_easy_init();
        if (m->is_index) {
                for (size_t i = 0; i < m->n_items; i++) {
                        _cleanup_free_ char *cdata = NULL;
                        _cleanup_oci_manifest_ struct oci_manifest *cm = NULL;
                        size_t clen = 0;
                        const struct oci_descriptor *d = &m->items[i];
                        if (!ocilayout_has_blob(lay, d->digest)) {
                                log_debug("push: index entry %s is not in the store, skipping "
                                          "it",
                                          d->digest);
                                continue;
                        }
                        if (read_local_manifest(lay, d->digest, d->media_type, &cdata, &clen, &cm,
                                                err) < 0 ||
                            cm->is_index || push_image(lay, s, h, target, cm, o, stats, err) < 0 ||
                            put_manifest(s, h, d->digest, cm->media_type, cdata, clen, d->digest, o,
                                         err) < 0) {
                                if (cm && cm->is_index)
                                        hoist_error_make(err, HOIST_ERR_INPUT,
                                                         "nested index %s is not supported",
                                                         d->digest);
                                goto out;
                        }
                }
        } else if (push_image(lay, s, h, target, m, o, stats, err) < 0) {
                goto out;
        }
        if (put_manifest(s, h, imageref_reference(target), m->media_type, data, len, digest, o,
                         err) < 0)
                goto out;
        /* Remember where the image now is: later pushes to other repositories
         * of this registry mount its blobs instead of uploading them. */
        tagname = imageref_string(target);
        if (target->tag && target->digest == NULL &&
            ocilayout_tag(lay, tagname, m->media_type, digest, size, err) < 0)
                goto out;
        if (ret_digest)
                *ret_digest = TAKE_PTR(digest);
        r = 0;
out:
        reg_session_free(s);
        return r < 0 ? hoist_error_wrap(err, "push '%s'", remote_ref) : 0;
}

int registry_push(struct ocilayout *lay, const char *local_ref, const char *remote_ref,
                  const struct registry_options *o, char **ret_digest, struct hoist_error **err)
{
        return registry_push_ex(lay, local_ref, remote_ref, o, NULL, ret_digest, err);
}

/* GETs manifest REFERENCE; verifies it against EXPECT_DIGEST when given. */
static int get_manifest(struct reg_session *s, CURL *h, const char *reference,
                        const char *expect_digest, const struct registry_options *o,
                        struct buf *ret_body, char **ret_content_type, char **ret_digest,
                        struct hoist_error **err)
{
        _cleanup_free_ char *url = xasprintf("%s/v2/%s/manifests/%s", s->base, s->repo, reference);
        _cleanup_free_ char *what = xasprintf("GET manifest '%s'", reference);
        struct reg_resp resp = {0};
        char hex[DIGEST_HEX_LEN + 1];
        int r;

        struct reg_req q = {.method = "GET",
                            .url = url,
                            .accept = MANIFEST_ACCEPT,
                            .out_fd = -1,
                            .body_fd = -1,
                            .what = what,
                            .opts = o};
        r = reg_request(s, h, &q, &resp, err);
        if (r == 0 && resp.status != 200) {
                if (resp.status == 404)
                        r = hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                             "no image '%s/%s:%s' on registry '%s' (HTTP 404)",
                                             s->host, s->repo, reference, s->host);
                else
                        r = reg_status_error(s, &q, &resp, err);
        }
        if (r == 0) {
                digest_sha256_hex(resp.body.data ? resp.body.data : "", resp.body.len, hex);
                const char *want = expect_digest ? expect_digest : resp.docker_digest;
                if (want && (digest_parse(want) == NULL || strcmp(digest_parse(want), hex) != 0))
                        r = hoist_error_make(err, HOIST_ERR_PROVIDER,
                                             "%s: the manifest has digest sha256:%s, not %s", what,
                                             hex, want);
        }
        if (r == 0) {
                *ret_content_type = xstrdup(resp.content_type);
                *ret_digest = xasprintf("sha256:%s", hex);
                *ret_body = resp.body;
                memset(&resp.body, 0, sizeof resp.body);
        }
        reg_resp_clear(&resp);
        buf_free(&resp.body);
        return r;
}

int registry_pull_ex(const char *ref, struct ocilayout *lay, const struct registry_options *o,
                     struct registry_stats *stats, char **ret_digest, struct hoist_error **err)
{
        _cleanup_imageref_ struct imageref *ir = NULL;
        _cleanup_buf_ struct buf body = {0};
        _cleanup_free_ char *ctype = NULL, *digest = NULL;
        _cleanup_oci_manifest_ struct oci_manifest *m = NULL;
        _cleanup_curl_ CURL *h = curl_easy_init();
        struct reg_session *s = NULL;
        struct pool p = {.lay = lay, .o = o, .stats = stats};
        int r = -1;

        if (stats)
                memset(stats, 0, sizeof *stats);
        if (imageref_parse(ref, &ir, err) < 0)
                return hoist_error_wrap(err, "pull");
        if (h == NULL)
                return hoist_error_make(err, ENOMEM, "pull '%s': curl_easy_init", ref);
        if (reg_session_open(imageref_api_host(ir), ir->repo, 0, o, &s, err) < 0)
                return hoist_error_wrap(err, "pull '%s'", ref);
        if (get_manifest(s, h, imageref_reference(ir), ir->digest, o, &body, &ctype, &digest, err) <
                    0 ||
            oci_manifest_parse(body.data, body.len, ctype, &m, err) < 0)
                goto out;
        if (m->is_index) {
                const struct oci_descriptor *d = oci_index_select(m, "linux", "amd64");
                if (d == NULL) {
                        hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                         "the image index has no linux/amd64 image");
                        goto out;
                }
                _cleanup_free_ char *child = xstrdup(d->digest);
                oci_manifest_free(TAKE_PTR(m));
                buf_free(&body);
                free(TAKE_PTR(ctype));
                free(TAKE_PTR(digest));
                if (get_manifest(s, h, child, child, o, &body, &ctype, &digest, err) < 0 ||
                    oci_manifest_parse(body.data, body.len, ctype, &m, err) < 0)
                        goto out;
                if (m->is_index) {
                        hoist_error_make(err, HOIST_ERR_PROVIDER,
                                         "the index entry %s is itself an index", child);
                        goto out;
                }
        }
        p.s = s;
        p.jobs = image_jobs(m, &p.n);
        r = run_pool(&p, err);
        jobs_free(p.jobs, p.n);
        if (r < 0)
                goto out;
        r = -1;
        if (ocilayout_put_blob_bytes(lay, body.data, body.len, NULL, err) < 0 ||
            ocilayout_tag(lay, ref, m->media_type, digest, (int64_t)body.len, err) < 0)
                goto out;
        if (ret_digest)
                *ret_digest = TAKE_PTR(digest);
        r = 0;
out:
        reg_session_free(s);
        return r < 0 ? hoist_error_wrap(err, "pull '%s'", ref) : 0;
}

int registry_pull(const char *ref, struct ocilayout *lay, const struct registry_options *o,
                  char **ret_digest, struct hoist_error **err)
{
        return registry_pull_ex(ref, lay, o, NULL, ret_digest, err);
}
