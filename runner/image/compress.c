/* SPDX-License-Identifier: MIT */
/*
 * Parallel deterministic gzip (pigz's scheme) and multithreaded zstd.
 *
 * gzip: the caller's bytes fill fixed-size blocks in a ring of slots.  A
 * full block is handed to the workers only once more input arrives (or at
 * finish), because the last block alone ends with Z_FINISH.  Workers
 * deflate any pending block; the calling thread writes finished blocks
 * strictly in order, so the output and both digests come out in one pass.
 * A block's dictionary is copied from the previous block when it is
 * submitted, and a slot is reused only after its block was written, so
 * nothing depends on timing.
 */
#include "runner/image/compress.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

#define GZIP_LEVEL 6
#define GZIP_DICT (32u * 1024u)
#define ZSTD_LEVEL 3
#define MAX_THREADS 32

enum slot_state { SLOT_FREE, SLOT_FILLING, SLOT_PENDING, SLOT_RUNNING, SLOT_DONE };

struct slot {
        enum slot_state state;
        uint64_t seq;
        int last;
        unsigned char *in;
        size_t in_len;
        unsigned char dict[GZIP_DICT];
        size_t dict_len;
        unsigned char *out;
        size_t out_cap, out_len;
        uint32_t crc;
        int zerr; /* a zlib error code, 0 when fine */
};

struct gzip_state {
        pthread_mutex_t lock;
        pthread_cond_t work; /* a slot became pending, or stop */
        pthread_cond_t done; /* a slot became done */
        pthread_t *threads;
        int n_threads;
        int stop;
        struct slot *slots;
        size_t n_slots;
        uint64_t next_seq;   /* sequence number of the block being filled */
        uint64_t next_write; /* the oldest block not yet written */
        uint64_t next_take;  /* the oldest block no worker took yet */
        struct slot *cur;    /* the block being filled, or NULL */
        uint32_t crc;
        uint64_t isize;
};

struct compress_sink {
        enum compression kind;
        int fd;
        int failed;
        struct digest_ctx *raw;  /* diff_id */
        struct digest_ctx *comp; /* blob digest */
        uint64_t raw_size, comp_size;
        struct gzip_state *gz;
        ZSTD_CCtx *zc;
        unsigned char *zbuf;
        size_t zbuf_cap;
};

int compression_parse(const char *name, enum compression *ret, struct hoist_error **err)
{
        if (name != NULL && strcmp(name, "gzip") == 0)
                *ret = COMPRESSION_GZIP;
        else if (name != NULL && strcmp(name, "zstd") == 0)
                *ret = COMPRESSION_ZSTD;
        else if (name != NULL && strcmp(name, "none") == 0)
                *ret = COMPRESSION_NONE;
        else
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "unknown compression '%s' (use gzip, zstd or none)",
                                        name ? name : "");
        return 0;
}

const char *compression_name(enum compression c)
{
        switch (c) {
        case COMPRESSION_GZIP:
                return "gzip";
        case COMPRESSION_ZSTD:
                return "zstd";
        case COMPRESSION_NONE:
                break;
        }
        return "none";
}

const char *compression_media_type(enum compression c)
{
        switch (c) {
        case COMPRESSION_GZIP:
                return "application/vnd.oci.image.layer.v1.tar+gzip";
        case COMPRESSION_ZSTD:
                return "application/vnd.oci.image.layer.v1.tar+zstd";
        case COMPRESSION_NONE:
                break;
        }
        return "application/vnd.oci.image.layer.v1.tar";
}

/* Writes compressed bytes to the fd and the blob digest. */
static int sink_emit(struct compress_sink *s, const void *data, size_t len,
                     struct hoist_error **err)
{
        if (len == 0)
                return 0;
        if (fs_write_all(s->fd, data, len) < 0)
                return hoist_error_errno(err, "write the compressed layer");
        digest_update(s->comp, data, len);
        s->comp_size += len;
        return 0;
}

/* ----------------------------------------------------------------- gzip -- */

/*
 * True when the block's byte histogram is nearly flat: its order-0 entropy
 * is within 0.01 bit/byte of 8 (chi-square <= 0.01367 n), so deflate could
 * save at most ~0.1% and costs ~25 MB/s per core doing it (weights,
 * datasets, archives).  Such blocks are stored.  Integer arithmetic only: the
 * choice is part of the output and must be the same on every machine.
 */
static int block_incompressible(const unsigned char *p, size_t n)
{
        uint32_t count[256] = {0};
        uint64_t sum = 0;

        if (n < 4096)
                return 0;
        for (size_t i = 0; i < n; i++)
                count[p[i]]++;
        for (int b = 0; b < 256; b++) {
                int64_t d = 256 * (int64_t)count[b] - (int64_t)n;
                sum += (uint64_t)(d * d);
        }
        /* chi2 = sum / (256 n) <= 0.01367 n  <=>  sum <= 3.5 n^2 */
        return sum <= (uint64_t)n * n / 2 * 7;
}

static void deflate_block(z_stream *zs, z_stream *stored, struct slot *sl)
{
        int r;

        if (block_incompressible(sl->in, sl->in_len))
                zs = stored;
        r = deflateReset(zs);

        if (r == Z_OK && sl->dict_len > 0)
                r = deflateSetDictionary(zs, sl->dict, (uInt)sl->dict_len);
        if (r != Z_OK) {
                sl->zerr = r;
                return;
        }
        zs->next_in = sl->in;
        zs->avail_in = (uInt)sl->in_len;
        zs->next_out = sl->out;
        zs->avail_out = (uInt)sl->out_cap;
        r = deflate(zs, sl->last ? Z_FINISH : Z_SYNC_FLUSH);
        if ((sl->last && r != Z_STREAM_END) || (!sl->last && r != Z_OK) || zs->avail_in != 0 ||
            zs->avail_out == 0) {
                sl->zerr = r == Z_OK || r == Z_STREAM_END ? Z_BUF_ERROR : r;
                return;
        }
        sl->out_len = sl->out_cap - zs->avail_out;
        sl->crc = (uint32_t)crc32(0L, sl->in, (uInt)sl->in_len);
}

static void *gzip_worker(void *opaque)
{
        struct gzip_state *g = opaque;
        z_stream zs = {0}, stored = {0};
        int init = deflateInit2(&zs, GZIP_LEVEL, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
        int init0 = deflateInit2(&stored, 0, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);

        pthread_mutex_lock(&g->lock);
        for (;;) {
                while (!g->stop && (g->next_take == g->next_seq ||
                                    g->slots[g->next_take % g->n_slots].state != SLOT_PENDING))
                        pthread_cond_wait(&g->work, &g->lock);
                if (g->stop)
                        break;
                struct slot *sl = &g->slots[g->next_take % g->n_slots];
                g->next_take++;
                sl->state = SLOT_RUNNING;
                pthread_mutex_unlock(&g->lock);
                if (init != Z_OK || init0 != Z_OK)
                        sl->zerr = init != Z_OK ? init : init0;
                else
                        deflate_block(&zs, &stored, sl);
                pthread_mutex_lock(&g->lock);
                sl->state = SLOT_DONE;
                pthread_cond_broadcast(&g->done);
        }
        pthread_mutex_unlock(&g->lock);
        if (init == Z_OK)
                (void)deflateEnd(&zs);
        if (init0 == Z_OK)
                (void)deflateEnd(&stored);
        return NULL;
}

/* Writes the oldest unwritten block once a worker finished it. */
static int gzip_write_oldest(struct compress_sink *s, struct hoist_error **err)
{
        struct gzip_state *g = s->gz;
        struct slot *sl = &g->slots[g->next_write % g->n_slots];

        pthread_mutex_lock(&g->lock);
        while (sl->state != SLOT_DONE)
                pthread_cond_wait(&g->done, &g->lock);
        pthread_mutex_unlock(&g->lock);
        if (sl->zerr != 0)
                return hoist_error_make(err, EIO, "deflate a layer block: zlib error %d", sl->zerr);
        if (sink_emit(s, sl->out, sl->out_len, err) < 0)
                return -1;
        g->crc = (uint32_t)crc32_combine(g->crc, sl->crc, (z_off_t)sl->in_len);
        pthread_mutex_lock(&g->lock);
        sl->state = SLOT_FREE;
        g->next_write++;
        pthread_mutex_unlock(&g->lock);
        return 0;
}

/* Hands the block being filled to the workers. */
static void gzip_submit(struct gzip_state *g, int last)
{
        struct slot *sl = g->cur;

        sl->last = last;
        sl->dict_len = 0;
        if (sl->seq > 0) {
                const struct slot *prev = &g->slots[(sl->seq - 1) % g->n_slots];
                size_t n = prev->in_len < GZIP_DICT ? prev->in_len : GZIP_DICT;
                memcpy(sl->dict, prev->in + prev->in_len - n, n);
                sl->dict_len = n;
        }
        pthread_mutex_lock(&g->lock);
        sl->state = SLOT_PENDING;
        g->next_seq++;
        pthread_cond_signal(&g->work);
        pthread_mutex_unlock(&g->lock);
        g->cur = NULL;
}

/* Makes the slot for the next block free (writing what occupies it) and
 * starts filling it. */
static int gzip_start_block(struct compress_sink *s, struct hoist_error **err)
{
        struct gzip_state *g = s->gz;
        struct slot *sl = &g->slots[g->next_seq % g->n_slots];

        while (g->next_write + g->n_slots <= g->next_seq)
                if (gzip_write_oldest(s, err) < 0)
                        return -1;
        sl->state = SLOT_FILLING;
        sl->seq = g->next_seq;
        sl->in_len = 0;
        sl->out_len = 0;
        sl->zerr = 0;
        g->cur = sl;
        return 0;
}

static int gzip_write(struct compress_sink *s, const unsigned char *p, size_t len,
                      struct hoist_error **err)
{
        struct gzip_state *g = s->gz;

        while (len > 0) {
                if (g->cur != NULL && g->cur->in_len == COMPRESS_GZIP_BLOCK)
                        gzip_submit(g, 0);
                if (g->cur == NULL && gzip_start_block(s, err) < 0)
                        return -1;
                size_t n = COMPRESS_GZIP_BLOCK - g->cur->in_len;
                if (n > len)
                        n = len;
                memcpy(g->cur->in + g->cur->in_len, p, n);
                g->cur->in_len += n;
                g->isize += n;
                p += n;
                len -= n;
        }
        return 0;
}

static int gzip_finish(struct compress_sink *s, struct hoist_error **err)
{
        struct gzip_state *g = s->gz;
        unsigned char trailer[8];

        if (g->cur == NULL && gzip_start_block(s, err) < 0)
                return -1;
        gzip_submit(g, 1);
        while (g->next_write < g->next_seq)
                if (gzip_write_oldest(s, err) < 0)
                        return -1;
        for (int i = 0; i < 4; i++) {
                trailer[i] = (unsigned char)(g->crc >> (8 * i));
                trailer[4 + i] = (unsigned char)(g->isize >> (8 * i));
        }
        return sink_emit(s, trailer, sizeof trailer, err);
}

static void gzip_free(struct gzip_state *g)
{
        if (g == NULL)
                return;
        pthread_mutex_lock(&g->lock);
        g->stop = 1;
        pthread_cond_broadcast(&g->work);
        pthread_mutex_unlock(&g->lock);
        for (int i = 0; i < g->n_threads; i++)
                (void)pthread_join(g->threads[i], NULL);
        for (size_t i = 0; i < g->n_slots; i++) {
                free(g->slots[i].in);
                free(g->slots[i].out);
        }
        free(g->slots);
        free(g->threads);
        pthread_mutex_destroy(&g->lock);
        pthread_cond_destroy(&g->work);
        pthread_cond_destroy(&g->done);
        free(g);
}

static int gzip_new(struct compress_sink *s, int threads, struct hoist_error **err)
{
        static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
        struct gzip_state *g = xzalloc(sizeof *g);
        z_stream zs = {0};
        size_t bound;

        if (deflateInit2(&zs, GZIP_LEVEL, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
                free(g);
                return hoist_error_make(err, ENOMEM, "start gzip compression");
        }
        bound = deflateBound(&zs, COMPRESS_GZIP_BLOCK) + 64;
        (void)deflateEnd(&zs);
        pthread_mutex_init(&g->lock, NULL);
        pthread_cond_init(&g->work, NULL);
        pthread_cond_init(&g->done, NULL);
        g->crc = (uint32_t)crc32(0L, Z_NULL, 0);
        g->n_slots = 2 * (size_t)threads + 1;
        g->slots = xcalloc(g->n_slots, sizeof *g->slots);
        for (size_t i = 0; i < g->n_slots; i++) {
                g->slots[i].in = xmalloc(COMPRESS_GZIP_BLOCK);
                g->slots[i].out = xmalloc(bound);
                g->slots[i].out_cap = bound;
        }
        g->threads = xcalloc((size_t)threads, sizeof *g->threads);
        s->gz = g;
        for (int i = 0; i < threads; i++) {
                int r = pthread_create(&g->threads[i], NULL, gzip_worker, g);
                if (r != 0)
                        return hoist_error_make(err, r, "start a compression thread");
                g->n_threads++;
        }
        return sink_emit(s, header, sizeof header, err);
}

/* ----------------------------------------------------------------- zstd -- */

static int zstd_fail(struct hoist_error **err, const char *what, size_t code)
{
        return hoist_error_make(err, EIO, "zstd: %s: %s", what, ZSTD_getErrorName(code));
}

static int zstd_new(struct compress_sink *s, int threads, struct hoist_error **err)
{
        size_t r;

        s->zc = ZSTD_createCCtx();
        if (s->zc == NULL)
                return hoist_error_make(err, ENOMEM, "start zstd compression");
        r = ZSTD_CCtx_setParameter(s->zc, ZSTD_c_compressionLevel, ZSTD_LEVEL);
        if (ZSTD_isError(r))
                return zstd_fail(err, "set the level", r);
        r = ZSTD_CCtx_setParameter(s->zc, ZSTD_c_checksumFlag, 1);
        if (ZSTD_isError(r))
                return zstd_fail(err, "enable checksums", r);
        /* nbWorkers >= 1 always: a 1-worker frame equals an N-worker one,
         * while the single-threaded mode (0) writes a different frame. */
        r = ZSTD_CCtx_setParameter(s->zc, ZSTD_c_nbWorkers, threads);
        if (ZSTD_isError(r))
                return hoist_error_make(err, ENOTSUP,
                                        "this libzstd has no multithreading (%s), and hoist's zstd "
                                        "layers need it to be reproducible; use --compression gzip",
                                        ZSTD_getErrorName(r));
        s->zbuf_cap = ZSTD_CStreamOutSize();
        s->zbuf = xmalloc(s->zbuf_cap);
        return 0;
}

static int zstd_feed(struct compress_sink *s, const void *data, size_t len, ZSTD_EndDirective end,
                     struct hoist_error **err)
{
        ZSTD_inBuffer in = {data, len, 0};

        for (;;) {
                ZSTD_outBuffer out = {s->zbuf, s->zbuf_cap, 0};
                size_t left = ZSTD_compressStream2(s->zc, &out, &in, end);
                if (ZSTD_isError(left))
                        return zstd_fail(err, "compress", left);
                if (sink_emit(s, s->zbuf, out.pos, err) < 0)
                        return -1;
                if (end == ZSTD_e_continue ? in.pos == in.size : left == 0)
                        return 0;
        }
}

/* ----------------------------------------------------------------- sink -- */

int compress_sink_new(int fd, enum compression c, int threads, struct compress_sink **ret,
                      struct hoist_error **err)
{
        struct compress_sink *s = xzalloc(sizeof *s);
        int r = 0;

        if (threads <= 0) {
                long n = sysconf(_SC_NPROCESSORS_ONLN);
                threads = n > 0 ? (int)n : 1;
        }
        if (threads > MAX_THREADS)
                threads = MAX_THREADS;
        s->kind = c;
        s->fd = fd;
        s->raw = digest_new();
        s->comp = digest_new();
        if (c == COMPRESSION_GZIP)
                r = gzip_new(s, threads, err);
        else if (c == COMPRESSION_ZSTD)
                r = zstd_new(s, threads, err);
        if (r < 0) {
                compress_sink_free(s);
                return -1;
        }
        *ret = s;
        return 0;
}

int compress_sink_write(struct compress_sink *s, const void *data, size_t len,
                        struct hoist_error **err)
{
        int r = 0;

        if (s->failed)
                return hoist_error_make(err, EIO, "the layer compressor failed earlier");
        if (len == 0)
                return 0;
        digest_update(s->raw, data, len);
        s->raw_size += len;
        switch (s->kind) {
        case COMPRESSION_GZIP:
                r = gzip_write(s, data, len, err);
                break;
        case COMPRESSION_ZSTD:
                r = zstd_feed(s, data, len, ZSTD_e_continue, err);
                break;
        case COMPRESSION_NONE:
                r = sink_emit(s, data, len, err);
                break;
        }
        if (r < 0)
                s->failed = 1;
        return r;
}

int compress_sink_finish(struct compress_sink *s, struct compress_result *ret,
                         struct hoist_error **err)
{
        char hex[DIGEST_HEX_LEN + 1];
        int r = 0;

        if (s->failed || s->raw == NULL)
                return hoist_error_make(err, EIO, "the layer compressor failed earlier");
        if (s->kind == COMPRESSION_GZIP)
                r = gzip_finish(s, err);
        else if (s->kind == COMPRESSION_ZSTD)
                r = zstd_feed(s, NULL, 0, ZSTD_e_end, err);
        if (r < 0) {
                s->failed = 1;
                return -1;
        }
        digest_final_hex(s->raw, hex);
        s->raw = NULL;
        snprintf(ret->diff_id, sizeof ret->diff_id, "sha256:%s", hex);
        digest_final_hex(s->comp, hex);
        s->comp = NULL;
        snprintf(ret->digest, sizeof ret->digest, "sha256:%s", hex);
        ret->size = s->comp_size;
        ret->uncompressed_size = s->raw_size;
        return 0;
}

void compress_sink_free(struct compress_sink *s)
{
        if (s == NULL)
                return;
        gzip_free(s->gz);
        ZSTD_freeCCtx(s->zc);
        free(s->zbuf);
        digest_free(s->raw);
        digest_free(s->comp);
        free(s);
}
