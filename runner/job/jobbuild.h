/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_JOBBUILD_H
#define HOIST_RUNNER_JOBBUILD_H

/*
 * job.yaml's `build:` section at submit time: build the image with the
 * entrypoint layer, push it when `build.push` names a registry, and make it
 * runnable by the local container engine (podman pulls it from the local
 * store).  Afterwards jf->image is the reference to run.
 */

#include <stdio.h>

#include "error.h"
#include "runner/cli/home.h"
#include "runner/job/jobfile.h"

/* The reference a build of JF is tagged as: build.push, else image, else
 * "localhost/hoist-<name>:latest". */
char *jobbuild_ref(const struct jobfile *jf);

/* Builds (and pushes, and loads) JF's image; per-step lines go to OUT
 * (NULL: silent).  Sets jf->image to the reference. */
int jobbuild_run(struct jobfile *jf, const struct hoist_home *home, FILE *out,
                 struct hoist_error **err);

#endif
