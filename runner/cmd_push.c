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
        "usage: hoist push [--insecure] [-q] [-j N] LOCAL_REF [REMOTE_REF]\n"
        "\n"
        "Pushes an image from the local image store ($HOIST_HOME/images, an OCI\n"
        "layout) to a registry: to REMOTE_REF, or to LOCAL_REF when it names a\n"
        "registry host (\"127.0.0.1:5000/team/trainer:v1\").  Blobs the registry\n"
        "has are skipped; blobs of another repository of the same registry that\n"
        "this store pushed before are mounted, not uploaded.  Prints the pushed\n"
        "manifest's digest on stdout and a summary on stderr (\"pushed REF: 3 blobs,\n"
        "2 uploaded (41.2 MiB), 1 already there; digest sha256:...\").\n"
        "\n"
        "On a terminal, stderr shows a line per blob, redrawn in place:\n"
        "  sha256:3f2a1b9c0d4e  40.0 MiB  uploading 12.0 MiB/40.0 MiB (30%)\n"
        "with the states waiting, uploading, exists (the registry has it), mounted\n"
        "(from another repository) and pushed.  Elsewhere only the summary shows,\n"
        "unless HOIST_PROGRESS=lines (a line at each blob's change of state);\n"
        "HOIST_PROGRESS=none hides the blob lines on a terminal too.\n"
        "\n"
        "  --insecure       allow plain http to any registry (always allowed for\n"
        "                   127.0.0.1, ::1 and localhost)\n"
        "  -j, --jobs N     blobs at once (default 4)\n"
        "  --store DIR      the image store (default $HOIST_HOME/images)\n"
        "  -q, --quiet      print the digest and errors only\n"
        "  -h, --help       show this help\n"
        "\n"
        "Credentials: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,\n"
        "$DOCKER_CONFIG/config.json or ~/.docker/config.json (auths, credHelpers,\n"
        "credsStore), or HOIST_REGISTRY_USER + HOIST_REGISTRY_PASSWORD.\n"
        "HOIST_INSECURE_REGISTRIES: comma-separated hosts reached over plain http.\n"
        "HOIST_REGISTRY_CHUNK_SIZE: blobs larger than this many bytes are uploaded\n"
        "in chunks of it (default 33554432; 0: always one PUT).\n"
        "HOIST_REGISTRY_RETRIES: tries of one request on 408, 429, 5xx and network\n"
        "errors (default 5, waits growing from 0.5 s; Retry-After is honoured).\n";

int cmd_push(int argc, char **argv, struct hoist_error **err)
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
        const char *local, *remote;
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
                                return cli_usage_error(err, "push",
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
                        return cli_usage_error(err, "push", "unknown option");
                }
        }
        if (optind != argc - 1 && optind != argc - 2)
                return cli_usage_error(err, "push", "expected LOCAL_REF [REMOTE_REF]");
        local = argv[optind];
        remote = optind == argc - 2 ? argv[optind + 1] : local;
        if (store == NULL) {
                if (home_open(&home, err) < 0)
                        return -1;
                store = xasprintf("%s/images", home->dir);
        }
        if (ocilayout_open(store, &lay, err) < 0)
                return -1;
        {
                _cleanup_image_progress_ struct image_progress *ip = image_progress_new_on(
                        "push", remote, stderr,
                        image_progress_mode_for(STDERR_FILENO, quiet, IMAGE_PROGRESS_NONE), 0);
                image_progress_attach(ip, &o);
                r = registry_push_ex(lay, local, remote, &o, &st, &digest, err);
        }
        if (r < 0)
                return -1;
        if (!quiet)
                fprintf(stderr, "%s\n",
                        image_progress_format_summary(line, sizeof line, 1, remote, &st, digest));
        printf("%s\n", digest);
        return EXIT_OK;
}
