/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SERVE_APIMETRICS_H
#define HOIST_SERVE_APIMETRICS_H

/* Metric series as GET /api/v1/jobs/{id}/metrics gives them. */

#include <stddef.h>

#include "buf.h"
#include "runner/control/storeapi.h"

/* Picks at most MAX of the N points (by step) that keep the curve's shape:
 * the lowest and highest value of each of MAX/2 buckets of consecutive
 * points, in order; all of them when N <= MAX.  Writes their indexes to
 * RET_IDX (room for N) and returns how many. */
size_t apimetrics_downsample(const struct storeapi_point *pts, size_t n, size_t max,
                             size_t *ret_idx);

/* "[step,t_ms,value]" (a value that is not finite: null). */
void apimetrics_append_point(struct buf *out, const struct storeapi_point *p);

#endif
