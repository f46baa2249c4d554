/* SPDX-License-Identifier: MIT */
/*
 * hoist build: a Dockerfile and a context directory -> an OCI image in the
 * local store, tagged as -t; with --push, uploaded to the registry the tag
 * names (only the blobs it lacks).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/image/builder.h"
#include "cleanup.h"
#include "runner/cli/cli.h"
#include "fmt.h"
#include "fsutil.h"
#include "runner/cli/home.h"
#include "imageref.h"
#include "registry.h"
#include "xalloc.h"

static const char usage[] =
        "usage: hoist build -t REF [OPTIONS] CONTEXT\n"
        "\n"
        "Builds the Dockerfile in CONTEXT (no daemon, no root needed for COPY-only\n"
        "builds; RUN steps run in namespaces) into the local image store\n"
        "($HOIST_HOME/images, an OCI layout: skopeo reads it as oci:DIR:REF) and\n"
        "tags the result as REF.  Unchanged steps are served from the build cache\n"
        "($HOIST_HOME/cache/build) and print CACHED.\n"
        "\n"
        "  -t, --tag REF           the image reference to tag (required), e.g.\n"
        "                          127.0.0.1:5000/team/trainer:v1\n"
        "  -f, --file FILE         the Dockerfile (default: CONTEXT/Dockerfile)\n"
        "      --build-arg K=V     set a build argument (repeatable; K alone takes\n"
        "                          the value from the environment)\n"
        "      --target STAGE      build up to this stage (default: the last)\n"
        "      --compression ALG   layer compression: gzip (default) or zstd\n"
        "      --no-cache          rebuild every step\n"
        "      --entrypoint        add hoist's entrypoint layer at /opt/hoist and make\n"
        "                          it the ENTRYPOINT; the image's own ENTRYPOINT+CMD\n"
        "                          becomes the CMD (the training command)\n"
        "      --push              push REF to its registry after the build: only the\n"
        "                          blobs it lacks (see 'hoist push --help')\n"
        "      --insecure          allow plain http to any registry (loopback always is)\n"
        "      --check             parse the Dockerfile and resolve its stages only\n"
        "  -q, --quiet             print only the image digest\n"
        "  -h, --help              show this help\n"
        "\n"
        "The push shows a line per blob: on a terminal redrawn in place\n"
        "(\"sha256:3f2a1b9c0d4e  40.0 MiB  uploading 12.0 MiB/40.0 MiB (30%)\"; states\n"
        "waiting, uploading, exists, mounted, pushed), elsewhere a line at each\n"
        "blob's change of state (\"push: sha256:3f2a1b9c0d4e  40.0 MiB  pushed\"),\n"
        "then \"pushed REF: 3 blobs, 2 uploaded (41.2 MiB), 1 already there; digest\n"
        "sha256:...\".\n"
        "\n"
        "Environment: SOURCE_DATE_EPOCH stamps the image (default 0, so two builds of\n"
        "the same context give the same digest); HOIST_BUNDLE_DIR locates the\n"
        "entrypoint bundle; HOIST_PROGRESS=none hides the push's blob lines,\n"
        "HOIST_PROGRESS=lines prints them as lines on a terminal too.\n";

enum {
        OPT_BUILD_ARG = 256,
        OPT_TARGET,
        OPT_COMPRESSION,
        OPT_NO_CACHE,
        OPT_ENTRYPOINT,
        OPT_PUSH,
        OPT_INSECURE,
        OPT_CHECK,
};

static const struct option long_opts[] = {
        {"tag", required_argument, NULL, 't'},
        {"file", required_argument, NULL, 'f'},
        {"build-arg", required_argument, NULL, OPT_BUILD_ARG},
        {"target", required_argument, NULL, OPT_TARGET},
        {"compression", required_argument, NULL, OPT_COMPRESSION},
        {"no-cache", no_argument, NULL, OPT_NO_CACHE},
        {"entrypoint", no_argument, NULL, OPT_ENTRYPOINT},
        {"push", no_argument, NULL, OPT_PUSH},
        {"insecure", no_argument, NULL, OPT_INSECURE},
        {"check", no_argument, NULL, OPT_CHECK},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

static int check_ref(const char *ref, struct hoist_error **err)
{
        _cleanup_imageref_ struct imageref *r = NULL;

        if (imageref_parse(ref, &r, err) < 0)
                return hoist_error_wrap(err, "build: -t '%s'", ref);
        return 0;
}

int cmd_build(int argc, char **argv, struct hoist_error **err)
{
        _cleanup_home_ struct hoist_home *home = NULL;
        _cleanup_free_ char **args = xcalloc((size_t)argc + 1, sizeof *args);
        _cleanup_free_ char *images = NULL, *cache = NULL, *bundle_dir = NULL, *bundle_tar = NULL;
        struct builder_options o = {.compression = "gzip", .out = stdout};
        struct builder_result res = {0};
        int opt, nargs = 0, push = 0, check = 0, quiet = 0, entrypoint = 0, rc;

        optind = 1;
        opterr = 0;
        while ((opt = getopt_long(argc, argv, "t:f:qh", long_opts, NULL)) != -1) {
                switch (opt) {
                case 't':
                        o.tag = optarg;
                        break;
                case 'f':
                        o.dockerfile = optarg;
                        break;
                case OPT_BUILD_ARG:
                        args[nargs++] = optarg;
                        break;
                case OPT_TARGET:
                        o.target = optarg;
                        break;
                case OPT_COMPRESSION:
                        if (strcmp(optarg, "gzip") != 0 && strcmp(optarg, "zstd") != 0)
                                return cli_usage_error(err, "build",
                                                       "--compression '%s': use gzip or zstd",
                                                       optarg);
                        o.compression = optarg;
                        break;
                case OPT_NO_CACHE:
                        o.no_cache = 1;
                        break;
                case OPT_ENTRYPOINT:
                        entrypoint = 1;
                        break;
                case OPT_PUSH:
                        push = 1;
                        break;
                case OPT_INSECURE:
                        o.insecure = 1;
                        break;
                case OPT_CHECK:
                        check = 1;
                        break;
                case 'q':
                        quiet = 1;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return EXIT_OK;
                default:
                        return cli_usage_error(err, "build", "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
                }
        }
        if (optind != argc - 1)
                return cli_usage_error(err, "build",
                                       optind >= argc ? "missing CONTEXT directory"
                                                      : "one CONTEXT directory only");
        o.context = argv[optind];
        o.build_args = args;
        if (!fs_is_dir(o.context))
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                        "build: context '%s' is not a directory", o.context);
        if (check)
                return builder_check(&o, err) < 0 ? -1 : EXIT_OK;
        if (o.tag == NULL)
                return cli_usage_error(err, "build", "-t REF is required");
        if (check_ref(o.tag, err) < 0)
                return -1;
        if (home_open(&home, err) < 0)
                return -1;
        images = path_join(home->dir, "images");
        cache = path_join(home->dir, "cache/build");
        if (entrypoint) {
                bundle_dir = home_find_bundle(home);
                bundle_tar = bundle_dir ? builder_find_bundle_tar(bundle_dir) : NULL;
                if (bundle_tar == NULL)
                        return hoist_error_make(
                                err, HOIST_ERR_NOT_FOUND,
                                "build: --entrypoint: the entrypoint bundle "
                                "hoist-entrypoint-bundle.tar was not found near '%s' (run 'make "
                                "bundle', or set HOIST_BUNDLE_DIR to .../bundle/opt/hoist)",
                                bundle_dir ? bundle_dir : home->self_dir);
                o.bundle_tar = bundle_tar;
        }
        o.images_dir = images;
        o.cache_dir = cache;
        o.tmp_dir = home->tmp_dir;
        if (quiet)
                o.out = NULL;
        if (builder_build(&o, &res, err) < 0)
                return -1;
        if (!quiet)
                printf("built %s@%s (%u %s, %u cached)\n", o.tag, res.manifest_digest, res.steps,
                       fmt_plural(res.steps, "step", "steps"), res.cached);
        rc = 0;
        if (push)
                rc = builder_push(images, o.tag, o.insecure, 0, quiet ? NULL : stdout, err);
        if (rc == 0 && quiet)
                puts(res.manifest_digest);
        builder_result_clear(&res);
        return rc < 0 ? -1 : EXIT_OK;
}
