/* SPDX-License-Identifier: MIT */
/*
 * compressbench ALG THREADS IN OUT: compresses the file IN into OUT with
 * hoist's layer compressor (runner/image/compress.c) and prints one line:
 *   <alg> threads=<n> in=<bytes> out=<bytes> seconds=<s> MB/s=<rate> diff_id=<..> digest=<..>
 * Driven by bench/layer/run.sh, side by side with gzip, pigz and zstd.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "runner/image/compress.h"

static double now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
        struct hoist_error *err = NULL;
        struct compress_sink *s = NULL;
        struct compress_result res;
        enum compression c;
        static char chunk[1 << 20];

        if (argc != 5) {
                fprintf(stderr, "usage: compressbench gzip|zstd|none THREADS IN OUT\n");
                return 2;
        }
        if (compression_parse(argv[1], &c, &err) < 0) {
                fprintf(stderr, "compressbench: %s\n", err->msg);
                return 2;
        }
        _cleanup_close_ int in = open(argv[3], O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int out = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (in < 0 || out < 0) {
                perror(in < 0 ? argv[3] : argv[4]);
                return 1;
        }
        double t0 = now();
        int r = compress_sink_new(out, c, atoi(argv[2]), &s, &err);
        for (ssize_t n; r == 0 && (n = read(in, chunk, sizeof chunk)) != 0;) {
                if (n < 0) {
                        perror(argv[3]);
                        return 1;
                }
                r = compress_sink_write(s, chunk, (size_t)n, &err);
        }
        if (r == 0)
                r = compress_sink_finish(s, &res, &err);
        compress_sink_free(s);
        if (r < 0) {
                fprintf(stderr, "compressbench: %s\n", err->msg);
                hoist_error_free(err);
                return 1;
        }
        double secs = now() - t0;
        printf("%s threads=%s in=%llu out=%llu seconds=%.2f MB/s=%.1f diff_id=%s digest=%s\n",
               argv[1], argv[2], (unsigned long long)res.uncompressed_size,
               (unsigned long long)res.size, secs, (double)res.uncompressed_size / 1e6 / secs,
               res.diff_id, res.digest);
        return 0;
}
