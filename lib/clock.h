/* SPDX-License-Identifier: MIT */
#ifndef HOIST_CLOCK_H
#define HOIST_CLOCK_H

#include <stdint.h>

/* Milliseconds on the monotonic clock: for deadlines and intervals. */
int64_t clock_mono_ms(void);

/* Milliseconds since the epoch (the wall clock): for times a user reads. */
int64_t clock_wall_ms(void);

#endif
