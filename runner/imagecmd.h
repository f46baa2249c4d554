/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_IMAGECMD_H
#define HOIST_RUNNER_IMAGECMD_H

/* What `hoist push` and `hoist pull` share: their options (--insecure,
 * -j/--jobs, --store, -q, -h) and the local image store they open. */

#include "error.h"
#include "ocilayout.h"
#include "registry.h"

struct imagecmd_args {
        struct registry_options ro; /* insecure, parallel */
        char *store;                /* --store, or NULL: $HOIST_HOME/images */
        int quiet;
        int first; /* index of the first operand in argv */
};

/* Parses VERB's options; USAGE is printed for --help.  Returns 0, 1 after
 * --help, or -1 with *err set. */
int imagecmd_parse(const char *verb, const char *usage, int argc, char **argv,
                   struct imagecmd_args *ret, struct hoist_error **err);

/* Opens the store A names, or $HOIST_HOME/images. */
int imagecmd_open_store(const struct imagecmd_args *a, struct ocilayout **ret,
                        struct hoist_error **err);

/* Prints the summary line (unless quiet) on stderr and the digest on
 * stdout. */
void imagecmd_report(const struct imagecmd_args *a, int push, const char *ref,
                     const struct registry_stats *st, const char *digest);

void imagecmd_args_clear(struct imagecmd_args *a);

#endif
