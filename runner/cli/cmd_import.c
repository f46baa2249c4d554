/* SPDX-License-Identifier: MIT */
/*
 * hoist import: a root filesystem tar -> a one-layer image in the local
 * store, as `podman import` makes it, so a Dockerfile can build FROM it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/image/builder.h"
#include "cleanup.h"
#include "runner/cli/cli.h"
#include "fsutil.h"
#include "runner/cli/home.h"
#include "imageref.h"
#include "xalloc.h"

static const char usage[] =
        "usage: hoist import [OPTIONS] ROOTFS.tar REF\n"
        "\n"
        "Makes an image of one layer from a root filesystem tar (plain, or compressed\n"
        "with gzip, zstd, xz or bzip2; e.g. made with debootstrap and tar), as\n"
        "'podman import' does, and tags it as REF in the local image store\n"
        "($HOIST_HOME/images), where 'hoist build' finds it for FROM REF.  The\n"
        "layer is stored compressed as 'hoist build' stores layers; the image\n"
        "config starts empty, with PATH set as for FROM scratch, and takes the\n"
        "--change instructions in order.\n"
        "\n"
        "  -c, --change INSTR      a Dockerfile instruction for the config (repeatable):\n"
        "                          CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL,\n"
        "                          USER, VOLUME or WORKDIR (WORKDIR sets the\n"
        "                          config only), e.g. --change 'CMD [\"python3\"]'\n"
        "      --compression ALG   layer compression: gzip (default) or zstd\n"
        "  -q, --quiet             print only the image digest\n"
        "  -h, --help              show this help\n"
        "\n"
        "Environment: SOURCE_DATE_EPOCH stamps the image (default 0: the same tar\n"
        "and changes give the same digest).\n"
        "\n"
        "Example:\n"
        "  tar=$(scripts/make-torch-rootfs.sh)\n"
        "  hoist import --change 'CMD [\"/usr/bin/python3\"]' \"$tar\" \\\n"
        "      localhost/debian-torch:bookworm\n";

enum { OPT_COMPRESSION = 256 };

static const struct option long_opts[] = {
        {"change", required_argument, NULL, 'c'},
        {"compression", required_argument, NULL, OPT_COMPRESSION},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

int cmd_import(int argc, char **argv, struct hoist_error **err)
{
        _cleanup_home_ struct hoist_home *home = NULL;
        _cleanup_imageref_ struct imageref *ref = NULL;
        _cleanup_free_ char **changes = xcalloc((size_t)argc + 1, sizeof *changes);
        _cleanup_free_ char *images = NULL, *cache = NULL;
        struct builder_import_options o = {.compression = "gzip", .out = stdout};
        struct builder_result res = {0};
        int opt, n = 0, quiet = 0;

        optind = 1;
        opterr = 0;
        while ((opt = getopt_long(argc, argv, "c:qh", long_opts, NULL)) != -1) {
                switch (opt) {
                case 'c':
                        changes[n++] = optarg;
                        break;
                case OPT_COMPRESSION:
                        if (strcmp(optarg, "gzip") != 0 && strcmp(optarg, "zstd") != 0)
                                return cli_usage_error(err, "import",
                                                       "--compression '%s': use gzip or zstd",
                                                       optarg);
                        o.compression = optarg;
                        break;
                case 'q':
                        quiet = 1;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return EXIT_OK;
                default:
                        return cli_usage_error(err, "import", "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
                }
        }
        if (argc - optind != 2)
                return cli_usage_error(err, "import", "expected ROOTFS.tar REF");
        o.tar = argv[optind];
        o.tag = argv[optind + 1];
        o.changes = changes;
        if (imageref_parse(o.tag, &ref, err) < 0)
                return hoist_error_wrap(err, "import: REF '%s'", o.tag);
        if (!fs_exists(o.tar))
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND, "import: '%s' does not exist",
                                        o.tar);
        if (home_open(&home, err) < 0)
                return -1;
        images = path_join(home->dir, "images");
        cache = path_join(home->dir, "cache/build");
        o.images_dir = images;
        o.cache_dir = cache;
        o.tmp_dir = home->tmp_dir;
        if (quiet)
                o.out = NULL;
        if (builder_import(&o, &res, err) < 0)
                return -1;
        if (quiet)
                puts(res.manifest_digest);
        else
                printf("imported %s@%s (1 layer, %u %s)\n", o.tag, res.manifest_digest, res.steps,
                       res.steps == 1 ? "change" : "changes");
        builder_result_clear(&res);
        return EXIT_OK;
}
