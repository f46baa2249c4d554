/* A two-layer perceptron: inputs -> tanh hidden layer -> softmax over classes. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"

#define MLP_MAX_HIDDEN 4096

struct mlp {
        int inputs, hidden, classes;
        size_t nparams;
        /* W1 (hidden x inputs), b1 (hidden), W2 (classes x hidden), b2 (classes),
         * in one array so the optimizer and the files treat them as one vector. */
        double *p;
        double *scratch; /* activations of one sample: hidden + classes + hidden */
};

void mlp_init(struct mlp *m, int inputs, int hidden, int classes);
/* Initial weights, a pure function of the seed. */
void mlp_randomize(struct mlp *m, uint64_t seed);
void mlp_free(struct mlp *m);

/* Sets grad (nparams) to the gradient of the mean cross-entropy over the
 * samples idx[0..count) of d and returns that mean loss. */
double mlp_gradient(struct mlp *m, const struct dataset *d, const size_t *idx, size_t count,
                    double *grad);
/* Mean cross-entropy and accuracy over all of d. */
void mlp_evaluate(struct mlp *m, const struct dataset *d, double *ret_loss, double *ret_accuracy);

/* model.bin: magic "HQSMODEL", version, shape, steps, weights, CRC-32. */
int mlp_save(const struct mlp *m, uint64_t steps, const char *dir, const char *name);
int mlp_load(const char *path, struct mlp *ret, uint64_t *ret_steps);
