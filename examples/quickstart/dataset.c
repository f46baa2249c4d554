#include "dataset.h"
#include "fileio.h"
#include "rng.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATASET_MAX_BYTES (256u << 20)

void dataset_generate(uint64_t seed, uint64_t stream, size_t n, int classes, struct dataset *ret)
{
        struct rng r;
        struct dataset d = {.n = n, .classes = classes};
        size_t per_class = (n + (size_t)classes - 1) / (size_t)classes;

        d.x = qs_xcalloc(n * DATASET_FEATURES, sizeof(double));
        d.y = qs_xcalloc(n, sizeof(int));
        rng_seed(&r, seed, stream);
        for (size_t i = 0; i < n; i++) {
                int c = (int)(i % (size_t)classes);
                /* Radius grows along the arm; each arm turns by 7 radians, more than a full circle.
                 */
                double t = (double)(i / (size_t)classes) / (double)per_class;
                double radius = 0.05 + 0.95 * t;
                double angle = 2.0 * M_PI * c / classes + 7.0 * t + 0.3 * rng_normal(&r);

                d.x[2 * i] = radius * sin(angle);
                d.x[2 * i + 1] = radius * cos(angle);
                d.y[i] = c;
        }
        *ret = d;
}

void dataset_free(struct dataset *d)
{
        free(d->x);
        free(d->y);
        *d = (struct dataset){0};
}

uint64_t dataset_fingerprint(const struct dataset *d)
{
        uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a over the values' bits */
        const uint8_t *p;

        p = (const uint8_t *)d->x;
        for (size_t i = 0; i < d->n * DATASET_FEATURES * sizeof(double); i++)
                h = (h ^ p[i]) * 0x100000001b3ULL;
        p = (const uint8_t *)d->y;
        for (size_t i = 0; i < d->n * sizeof(int); i++)
                h = (h ^ p[i]) * 0x100000001b3ULL;
        return h;
}

static int parse_line(char *line, double *x0, double *x1, long *label)
{
        char *end;

        errno = 0;
        *x0 = strtod(line, &end);
        if (end == line || *end != ',')
                return -1;
        line = end + 1;
        *x1 = strtod(line, &end);
        if (end == line || *end != ',')
                return -1;
        line = end + 1;
        *label = strtol(line, &end, 10);
        if (end == line || errno || !isfinite(*x0) || !isfinite(*x1))
                return -1;
        while (*end == '\r' || *end == ' ')
                end++;
        return *end ? -1 : 0;
}

int dataset_load(const char *path, struct dataset *ret)
{
        uint8_t *raw;
        size_t len, cap, lineno = 0;
        struct dataset d = {0};
        char *save = NULL;

        if (file_read_all(path, DATASET_MAX_BYTES, &raw, &len) < 0)
                return qs_error("cannot read '%s': %s", path, strerror(errno));
        cap = len / 6 + 1; /* the shortest line, "0,0,0\n", has 6 bytes */
        d.x = qs_xcalloc(cap * DATASET_FEATURES, sizeof(double));
        d.y = qs_xcalloc(cap, sizeof(int));
        for (char *line = strtok_r((char *)raw, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
                double x0, x1;
                long label;

                lineno++;
                if (lineno == 1 && strncmp(line, "x,y,label", 9) == 0)
                        continue;
                if (*line == '\0' || *line == '#' || *line == '\r')
                        continue;
                if (parse_line(line, &x0, &x1, &label) < 0 || d.n >= cap) {
                        qs_error("%s:%zu: expected 'x,y,label' with two numbers and a class", path,
                                 lineno);
                        goto fail;
                }
                if (label < 0 || label >= DATASET_MAX_CLASSES) {
                        qs_error("%s:%zu: label %ld is outside 0..%d", path, lineno, label,
                                 DATASET_MAX_CLASSES - 1);
                        goto fail;
                }
                d.x[2 * d.n] = x0;
                d.x[2 * d.n + 1] = x1;
                d.y[d.n] = (int)label;
                if (label + 1 > d.classes)
                        d.classes = (int)label + 1;
                d.n++;
        }
        free(raw);
        if (d.n == 0 || d.classes < 2) {
                dataset_free(&d);
                return qs_error("'%s' needs at least one sample of each of two classes "
                                "(generate one with '" PROG " gen-data --out DIR')",
                                path);
        }
        *ret = d;
        return 0;
fail:
        free(raw);
        dataset_free(&d);
        return -1;
}

static void format_csv(const struct dataset *d, struct bbuf *out)
{
        char line[96];

        bbuf_put(out, "x,y,label\n", 10);
        for (size_t i = 0; i < d->n; i++) {
                int n = snprintf(line, sizeof(line), "%.6f,%.6f,%d\n", d->x[2 * i], d->x[2 * i + 1],
                                 d->y[i]);

                bbuf_put(out, line, (size_t)n);
        }
}

static int write_csv(const char *dir, const char *name, const struct dataset *d)
{
        struct bbuf csv = {0};
        int r;

        format_csv(d, &csv);
        r = file_write_atomic(dir, name, csv.data, csv.len);
        bbuf_free(&csv);
        return r;
}

static void gen_data_usage(FILE *f)
{
        fputs("usage: " PROG " gen-data --out DIR [--samples N] [--seed S] [--classes K]\n"
              "  writes DIR/train.csv (N samples, default 1200) and DIR/test.csv (N/4)\n",
              f);
}

int cmd_gen_data(int argc, char **argv)
{
        static const struct option opts[] = {
                {"out", required_argument, NULL, 'o'},  {"samples", required_argument, NULL, 'n'},
                {"seed", required_argument, NULL, 's'}, {"classes", required_argument, NULL, 'k'},
                {"help", no_argument, NULL, 'h'},       {0},
        };
        const char *arg_out = NULL;
        long arg_samples = 1200, arg_classes = 3;
        uint64_t arg_seed = 1;
        struct dataset train, test;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "o:n:s:k:h", opts, NULL)) != -1) {
                switch (c) {
                case 'o':
                        arg_out = optarg;
                        break;
                case 'n':
                        if (qs_parse_long("--samples", optarg, 8, 1000000, &arg_samples) < 0)
                                return 2;
                        break;
                case 's':
                        if (qs_parse_u64("--seed", optarg, &arg_seed) < 0)
                                return 2;
                        break;
                case 'k':
                        if (qs_parse_long("--classes", optarg, 2, DATASET_MAX_CLASSES,
                                          &arg_classes) < 0)
                                return 2;
                        break;
                case 'h':
                        gen_data_usage(stdout);
                        return 0;
                default:
                        gen_data_usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                qs_error("gen-data: unexpected argument '%s'", argv[optind]);
                return 2;
        }
        if (!arg_out) {
                qs_error("gen-data: --out DIR is required (where to write train.csv and test.csv)");
                return 2;
        }
        if (dir_ensure("output directory", arg_out) < 0)
                return 1;
        /* Stream 0 is the training set and stream 1 the test set: same spirals,
         * different noise. */
        dataset_generate(arg_seed, 0, (size_t)arg_samples, (int)arg_classes, &train);
        dataset_generate(arg_seed, 1, (size_t)(arg_samples / 4 > 0 ? arg_samples / 4 : 1),
                         (int)arg_classes, &test);
        r = write_csv(arg_out, "train.csv", &train);
        if (r == 0)
                r = write_csv(arg_out, "test.csv", &test);
        if (r == 0)
                printf("{\"event\": \"gen-data\", \"train\": %zu, \"test\": %zu, \"classes\": %ld, "
                       "\"seed\": %llu}\n",
                       train.n, test.n, arg_classes, (unsigned long long)arg_seed);
        dataset_free(&train);
        dataset_free(&test);
        return r < 0 ? 1 : 0;
}
