/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_IMAGECMD_H
#define HOIST_RUNNER_IMAGECMD_H

/* `hoist push` and `hoist pull`: the same options (--insecure, -j/--jobs,
 * --store, -q, -h), the local image store, the per-blob progress and the
 * summary; only the registry call and the operands differ. */

#include "error.h"

/* The options part of both usages. */
#define IMAGECMD_OPTIONS_HELP                                                                      \
        "  --insecure       allow plain http to any registry (always allowed for\n"                \
        "                   127.0.0.1, ::1 and localhost)\n"                                       \
        "  -j, --jobs N     blobs at once (default 4)\n"                                           \
        "  --store DIR      the image store (default $HOIST_HOME/images)\n"                        \
        "  -q, --quiet      print the digest and errors only\n"                                    \
        "  --create-repository  push: create a missing ECR repository first\n"                     \
        "                   (HOIST_ECR_CREATE_REPOSITORY=1 does it too)\n"                         \
        "  -h, --help       show this help\n"

/* Runs `hoist push` (PUSH: LOCAL_REF [REMOTE_REF]) or `hoist pull` (REF);
 * USAGE is printed for --help.  Returns EXIT_OK, or -1 with *err set. */
int imagecmd_main(int push, const char *usage, int argc, char **argv, struct hoist_error **err);

#endif
