/* Seeded pseudo-random numbers: xoshiro256** seeded through splitmix64. */
#pragma once

#include <stdint.h>

struct rng {
        uint64_t s[4];
};

/* Seeds a generator from (seed, stream): distinct streams are independent
 * sequences, so "the shuffle of epoch 12" is a pure function of the seed. */
void rng_seed(struct rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, 1), 53 bits. */
double rng_uniform(struct rng *r);
/* Uniform in [0, n), without modulo bias; n > 0. */
uint64_t rng_below(struct rng *r, uint64_t n);
/* Standard normal (Box-Muller, no cached second value: no hidden state). */
double rng_normal(struct rng *r);
