/* SPDX-License-Identifier: MIT */
#include "runner/cli/cli.h"
#include "runner/image/imagecmd.h"

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
        "\n" IMAGECMD_OPTIONS_HELP "\n"
        "Credentials are found as for 'hoist push' (see 'hoist push --help').\n";

int cmd_pull(int argc, char **argv, struct hoist_error **err)
{
        return imagecmd_main(0, usage, argc, argv, err);
}
