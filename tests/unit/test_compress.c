/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "runner/image/compress.h"
#include "xalloc.h"

/* Half pseudo-random bytes, half text: both deflate paths get exercised. */
static unsigned char *mixed_data(size_t len)
{
        unsigned char *p = xmalloc(len);
        uint64_t x = 0x9e3779b97f4a7c15ull;
        static const char words[] = "the quick brown fox jumps over the lazy dog 0123456789\n";

        for (size_t i = 0; i < len; i++) {
                if ((i / 4096) % 2 == 0) {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        p[i] = (unsigned char)x;
                } else {
                        p[i] = (unsigned char)words[(i * 7 + i / 100) % (sizeof words - 1)];
                }
        }
        return p;
}

struct out {
        unsigned char *data;
        size_t len;
        struct compress_result res;
};

static void out_free(struct out *o)
{
        free(o->data);
}

/* Compresses DATA with C on THREADS threads, feeding it CHUNK bytes at a time. */
static struct out run_sink(enum compression c, int threads, const unsigned char *data, size_t len,
                           size_t chunk)
{
        struct hoist_error *err = NULL;
        struct compress_sink *s = NULL;
        struct out o = {0};
        int fd = memfd_create("compress", MFD_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(compress_sink_new(fd, c, threads, &s, &err), 0);
        for (size_t off = 0; off < len; off += chunk) {
                size_t n = len - off < chunk ? len - off : chunk;
                assert_int_equal(compress_sink_write(s, data + off, n, &err), 0);
        }
        assert_int_equal(compress_sink_finish(s, &o.res, &err), 0);
        compress_sink_free(s);
        off_t size = lseek(fd, 0, SEEK_END);
        assert_true(size >= 0);
        assert_int_equal((uint64_t)size, o.res.size);
        o.len = (size_t)size;
        o.data = xmalloc(o.len + 1);
        assert_int_equal(pread(fd, o.data, o.len, 0), (ssize_t)o.len);
        close(fd);
        assert_int_equal(o.res.uncompressed_size, len);
        return o;
}

static void check_digests(const struct out *o, const unsigned char *data, size_t len)
{
        char hex[65], want[72];

        digest_sha256_hex(data, len, hex);
        snprintf(want, sizeof want, "sha256:%s", hex);
        assert_string_equal(o->res.diff_id, want);
        digest_sha256_hex(o->data, o->len, hex);
        snprintf(want, sizeof want, "sha256:%s", hex);
        assert_string_equal(o->res.digest, want);
}

static void check_gunzip(const struct out *o, const unsigned char *data, size_t len)
{
        z_stream zs = {0};
        unsigned char *back = xmalloc(len + 16);

        assert_int_equal(inflateInit2(&zs, 16 + 15), Z_OK);
        zs.next_in = o->data;
        zs.avail_in = (uInt)o->len;
        zs.next_out = back;
        zs.avail_out = (uInt)(len + 16);
        assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
        assert_int_equal(zs.total_out, len);
        assert_int_equal(zs.avail_in, 0); /* one member, nothing after it */
        assert_memory_equal(back, data, len);
        inflateEnd(&zs);
        free(back);
}

static void gzip_roundtrip(size_t len)
{
        unsigned char *data = mixed_data(len);
        struct out one = run_sink(COMPRESSION_GZIP, 1, data, len, 65536);
        struct out four = run_sink(COMPRESSION_GZIP, 4, data, len, 1000);

        check_gunzip(&one, data, len);
        check_digests(&one, data, len);
        /* The same bytes whatever the thread count and the write sizes. */
        assert_int_equal(one.len, four.len);
        assert_memory_equal(one.data, four.data, one.len);
        assert_string_equal(one.res.digest, four.res.digest);
        out_free(&one);
        out_free(&four);
        free(data);
}

static void test_gzip_deterministic(void **state)
{
        (void)state;
        gzip_roundtrip(3 * COMPRESS_GZIP_BLOCK + 12345);
}

static void test_gzip_exact_blocks(void **state)
{
        (void)state;
        gzip_roundtrip(2 * COMPRESS_GZIP_BLOCK);
}

static void test_gzip_small_and_empty(void **state)
{
        (void)state;
        gzip_roundtrip(1);
        gzip_roundtrip(0);
}

/* Blocks see the previous 32 KiB: data repeated across a block boundary
 * compresses as well as in one stream. */
static void test_gzip_dictionary(void **state)
{
        (void)state;
        size_t len = 2 * COMPRESS_GZIP_BLOCK;
        unsigned char *data = xmalloc(len);
        unsigned char *noise = mixed_data(2 * 16384);

        /* 16 KiB of random bytes end block 1 and start block 2. */
        memset(data, 'a', len);
        for (size_t i = 0; i < 16384; i++)
                data[COMPRESS_GZIP_BLOCK - 16384 + i] = data[COMPRESS_GZIP_BLOCK + i] = noise[i];
        struct out o = run_sink(COMPRESSION_GZIP, 2, data, len, len);
        check_gunzip(&o, data, len);
        /* Without the dictionary the second copy would cost 16 KiB more. */
        assert_true(o.len < 16384 + 6000);
        out_free(&o);
        free(noise);
        free(data);
}

/* Blocks of random bytes are stored, not deflated, and still round trip
 * identically on any number of threads. */
static void test_gzip_stored_blocks(void **state)
{
        (void)state;
        size_t len = 3 * COMPRESS_GZIP_BLOCK;
        unsigned char *data = xmalloc(len);
        uint64_t x = 88172645463325252ull;

        for (size_t i = 0; i < 2 * COMPRESS_GZIP_BLOCK + 512 * 1024; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                data[i] = (unsigned char)(x >> 32);
        }
        memset(data + 2 * COMPRESS_GZIP_BLOCK + 512 * 1024, 'z', 512 * 1024);
        struct out one = run_sink(COMPRESSION_GZIP, 1, data, len, 77777);
        struct out three = run_sink(COMPRESSION_GZIP, 3, data, len, len);
        check_gunzip(&one, data, len);
        check_digests(&one, data, len);
        assert_int_equal(one.len, three.len);
        assert_memory_equal(one.data, three.data, one.len);
        /* Two stored blocks (5 bytes per 64 KiB) and a deflated half-random
         * one: barely more than the random bytes themselves. */
        assert_true(one.len < 2 * COMPRESS_GZIP_BLOCK + 512 * 1024 + 2048);
        /* Stored deflate blocks start with BTYPE 00. */
        assert_int_equal(one.data[10] & 0x06, 0);
        out_free(&one);
        out_free(&three);
        free(data);
}

static void test_zstd_deterministic(void **state)
{
        (void)state;
        size_t len = 5 * COMPRESS_GZIP_BLOCK + 77;
        unsigned char *data = mixed_data(len);
        struct out one = run_sink(COMPRESSION_ZSTD, 1, data, len, 4096);
        struct out three = run_sink(COMPRESSION_ZSTD, 3, data, len, 1 << 20);
        unsigned char *back = xmalloc(len);

        check_digests(&one, data, len);
        assert_int_equal(one.len, three.len);
        assert_memory_equal(one.data, three.data, one.len);
        size_t n = ZSTD_decompress(back, len, one.data, one.len);
        assert_false(ZSTD_isError(n));
        assert_int_equal(n, len);
        assert_memory_equal(back, data, len);
        free(back);
        out_free(&one);
        out_free(&three);
        free(data);
}

static void test_none(void **state)
{
        (void)state;
        unsigned char data[] = "plain tar bytes";
        struct out o = run_sink(COMPRESSION_NONE, 0, data, sizeof data, 3);

        assert_int_equal(o.len, sizeof data);
        assert_memory_equal(o.data, data, sizeof data);
        assert_string_equal(o.res.digest, o.res.diff_id);
        out_free(&o);
}

static void test_names(void **state)
{
        (void)state;
        struct hoist_error *err = NULL;
        enum compression c;

        assert_int_equal(compression_parse("zstd", &c, &err), 0);
        assert_int_equal(c, COMPRESSION_ZSTD);
        assert_string_equal(compression_media_type(c),
                            "application/vnd.oci.image.layer.v1.tar+zstd");
        assert_string_equal(compression_media_type(COMPRESSION_GZIP),
                            "application/vnd.oci.image.layer.v1.tar+gzip");
        assert_string_equal(compression_name(COMPRESSION_NONE), "none");
        assert_int_equal(compression_parse("brotli", &c, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_USAGE);
        assert_non_null(strstr(err->msg, "'brotli'"));
        hoist_error_free(err);
}

static void test_write_error(void **state)
{
        (void)state;
        struct hoist_error *err = NULL;
        struct compress_sink *s = NULL;
        int fds[2];
        unsigned char *data = mixed_data(4 * COMPRESS_GZIP_BLOCK);
        struct compress_result res;
        int r;

        assert_int_equal(pipe(fds), 0);
        close(fds[0]);
        signal(SIGPIPE, SIG_IGN);
        /* The header is written at once, so even starting can fail. */
        r = compress_sink_new(fds[1], COMPRESSION_GZIP, 2, &s, &err);
        for (int i = 0; i < 4 && r == 0; i++)
                r = compress_sink_write(s, data + (size_t)i * COMPRESS_GZIP_BLOCK,
                                        COMPRESS_GZIP_BLOCK, &err);
        if (r == 0)
                r = compress_sink_finish(s, &res, &err);
        assert_int_equal(r, -1);
        assert_non_null(strstr(err->msg, "Broken pipe"));
        hoist_error_free(err);
        compress_sink_free(s);
        close(fds[1]);
        free(data);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_gzip_deterministic),
                cmocka_unit_test(test_gzip_exact_blocks),
                cmocka_unit_test(test_gzip_small_and_empty),
                cmocka_unit_test(test_gzip_dictionary),
                cmocka_unit_test(test_gzip_stored_blocks),
                cmocka_unit_test(test_zstd_deterministic),
                cmocka_unit_test(test_none),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_write_error),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
