/* The 2-D spirals dataset: generation, CSV files ("x,y,label"), loading. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define DATASET_FEATURES 2
#define DATASET_MAX_CLASSES 16

struct dataset {
        size_t n;
        double *x; /* n * DATASET_FEATURES */
        int *y;    /* labels in [0, classes) */
        int classes;
};

/* `classes` interleaved spiral arms of n points in total, with Gaussian noise;
 * a pure function of (seed, stream). */
void dataset_generate(uint64_t seed, uint64_t stream, size_t n, int classes, struct dataset *ret);
/* Loads a CSV written by dataset_format_csv(); errors name the file and line. */
int dataset_load(const char *path, struct dataset *ret);
/* A checksum of the contents, so a checkpoint can tell whether the data changed. */
uint64_t dataset_fingerprint(const struct dataset *d);
void dataset_free(struct dataset *d);

/* hoist-quickstart gen-data --out DIR [--samples N] [--seed S] [--classes K] */
int cmd_gen_data(int argc, char **argv);
