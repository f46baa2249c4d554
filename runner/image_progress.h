/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_IMAGE_PROGRESS_H
#define HOIST_RUNNER_IMAGE_PROGRESS_H

/* One progress line for a push or pull whose blobs move in parallel:
 * "push 'repo:v1' (2/3 blobs): 12.0 MiB / 40.0 MiB".  Thread-safe: it is the
 * registry_options progress callback. */

#include <stdint.h>

#include "registry.h"

struct image_progress;

struct image_progress *image_progress_new(const char *verb, const char *ref);
void image_progress_free(struct image_progress *ip);
/* Sets O's progress callback to IP. */
void image_progress_attach(struct image_progress *ip, struct registry_options *o);

static inline void image_progress_freep(struct image_progress **p)
{
        image_progress_free(*p);
}
#define _cleanup_image_progress_ __attribute__((cleanup(image_progress_freep)))

#endif
