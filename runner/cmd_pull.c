/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "home.h"
#include "image_progress.h"
#include "ocilayout.h"
#include "registry.h"
#include "xalloc.h"

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

int cmd_pull(int argc, char **argv, struct hoist_error **err)
{
        static const struct option opts[] = {
                {"insecure", no_argument, NULL, 'k'},    {"jobs", required_argument, NULL, 'j'},
                {"store", required_argument, NULL, 's'}, {"quiet", no_argument, NULL, 'q'},
                {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
        };
        _cleanup_home_ struct hoist_home *home = NULL;
        _cleanup_ocilayout_ struct ocilayout *lay = NULL;
        _cleanup_free_ char *store = NULL, *digest = NULL;
        struct registry_options o = {0};
        struct registry_stats st = {0};
        char line[1024];
        int c, quiet = 0, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "+hqj:", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        fputs(usage, stdout);
                        return EXIT_OK;
                case 'k':
                        o.insecure = 1;
                        break;
                case 'j':
                        o.parallel = atoi(optarg);
                        if (o.parallel < 1 || o.parallel > 16)
                                return cli_usage_error(err, "pull",
                                                       "--jobs takes 1 to 16, not '%s'", optarg);
                        break;
                case 's':
                        free(store);
                        store = xstrdup(optarg);
                        break;
                case 'q':
                        quiet = 1;
                        break;
                default:
                        return cli_usage_error(err, "pull", "unknown option");
                }
        }
        if (optind != argc - 1)
                return cli_usage_error(err, "pull", "expected one REF");
        if (store == NULL) {
                if (home_open(&home, err) < 0)
                        return -1;
                store = xasprintf("%s/images", home->dir);
        }
        if (ocilayout_open(store, &lay, err) < 0)
                return -1;
        {
                _cleanup_image_progress_ struct image_progress *ip = image_progress_new_on(
                        "pull", argv[optind], stderr,
                        image_progress_mode_for(STDERR_FILENO, quiet, IMAGE_PROGRESS_NONE), 0);
                image_progress_attach(ip, &o);
                r = registry_pull_ex(argv[optind], lay, &o, &st, &digest, err);
        }
        if (r < 0)
                return -1;
        if (!quiet)
                fprintf(stderr, "%s\n",
                        image_progress_format_summary(line, sizeof line, 0, argv[optind], &st,
                                                      digest));
        printf("%s\n", digest);
        return EXIT_OK;
}
