/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "image_progress.h"
#include "imagecmd.h"
#include "ocilayout.h"
#include "registry.h"

static const char usage[] =
        "usage: hoist pull [--insecure] [-q] [-j N] REF\n"
        "\n"
        "Fetches the image REF (\"[host[:port]/]repo[:tag][@sha256:...]\"; from an\n"
        "index, the linux/amd64 image) into the local image store\n"
        "($HOIST_HOME/images), verifying every digest, and tags it as REF.  Prints\n"
        "the image manifest's digest on stdout and a summary on stderr (\"pulled\n"
        "REF: 3 blobs, 2 downloaded (41.2 MiB), 1 already here; digest ...\").\n"
        "\n"
        "On a terminal, stderr shows a line per blob, redrawn in place:\n"
        "  sha256:3f2a1b9c0d4e  40.0 MiB  downloading 12.0 MiB/40.0 MiB (30%)\n"
        "with the states waiting, downloading, verified (size and digest checked),\n"
        "done (in the store) and exists (the store had it).  Elsewhere only the\n"
        "summary shows, unless HOIST_PROGRESS=lines (a line at each blob's change\n"
        "of state); HOIST_PROGRESS=none hides the blob lines on a terminal too.\n"
        "\n"
        "  --insecure       allow plain http to any registry (always allowed for\n"
        "                   127.0.0.1, ::1 and localhost)\n"
        "  -j, --jobs N     blobs at once (default 4)\n"
        "  --store DIR      the image store (default $HOIST_HOME/images)\n"
        "  -q, --quiet      print the digest and errors only\n"
        "  -h, --help       show this help\n"
        "\n"
        "Credentials are found as for 'hoist push' (see 'hoist push --help').\n";

static void args_clearp(struct imagecmd_args *a)
{
        imagecmd_args_clear(a);
}

int cmd_pull(int argc, char **argv, struct hoist_error **err)
{
        __attribute__((cleanup(args_clearp))) struct imagecmd_args a = {0};
        _cleanup_ocilayout_ struct ocilayout *lay = NULL;
        _cleanup_free_ char *digest = NULL;
        struct registry_stats st = {0};
        const char *ref;
        int r = imagecmd_parse("pull", usage, argc, argv, &a, err);

        if (r != 0)
                return r < 0 ? -1 : EXIT_OK;
        if (a.first != argc - 1)
                return cli_usage_error(err, "pull", "expected one REF");
        ref = argv[a.first];
        if (imagecmd_open_store(&a, &lay, err) < 0)
                return -1;
        {
                _cleanup_image_progress_ struct image_progress *ip = image_progress_new_on(
                        "pull", ref, stderr,
                        image_progress_mode_for(STDERR_FILENO, a.quiet, IMAGE_PROGRESS_NONE), 0);
                image_progress_attach(ip, &a.ro);
                r = registry_pull_ex(ref, lay, &a.ro, &st, &digest, err);
        }
        if (r < 0)
                return -1;
        imagecmd_report(&a, 0, ref, &st, digest);
        return EXIT_OK;
}
