/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "runner/cli/cli.h"
#include "runner/cli/home.h"
#include "runner/image/image_progress.h"
#include "runner/image/imagecmd.h"
#include "ocilayout.h"
#include "registry.h"
#include "xalloc.h"

struct imagecmd_args {
        struct registry_options ro; /* insecure, parallel */
        char *store;                /* --store, or NULL: $HOIST_HOME/images */
        int quiet;
        int first; /* index of the first operand in argv */
};

/* Parses VERB's options; USAGE is printed for --help.  Returns 0, 1 after
 * --help, or -1 with *err set. */
static int parse(const char *verb, const char *usage, int argc, char **argv,
                 struct imagecmd_args *ret, struct hoist_error **err)
{
        static const struct option opts[] = {
                {"insecure", no_argument, NULL, 'k'},
                {"jobs", required_argument, NULL, 'j'},
                {"store", required_argument, NULL, 's'},
                {"quiet", no_argument, NULL, 'q'},
                {"help", no_argument, NULL, 'h'},
                {"create-repository", no_argument, NULL, 'C'},
                {NULL, 0, NULL, 0},
        };
        int c;

        *ret = (struct imagecmd_args){0};
        optind = 1;
        while ((c = getopt_long(argc, argv, "hqj:", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        fputs(usage, stdout);
                        return 1;
                case 'k':
                        ret->ro.insecure = 1;
                        break;
                case 'j':
                        ret->ro.parallel = atoi(optarg);
                        if (ret->ro.parallel < 1 || ret->ro.parallel > 16)
                                return cli_usage_error(err, verb, "--jobs takes 1 to 16, not '%s'",
                                                       optarg);
                        break;
                case 's':
                        free(ret->store);
                        ret->store = xstrdup(optarg);
                        break;
                case 'q':
                        ret->quiet = 1;
                        break;
                case 'C':
                        ret->ro.create_repository = 1;
                        break;
                default:
                        return cli_usage_error(err, verb, "unknown option");
                }
        }
        ret->first = optind;
        return 0;
}

/* Opens the store A names, or $HOIST_HOME/images. */
static int open_store(const struct imagecmd_args *a, struct ocilayout **ret,
                      struct hoist_error **err)
{
        _cleanup_home_ struct hoist_home *home = NULL;
        _cleanup_free_ char *store = NULL;

        if (a->store != NULL)
                return ocilayout_open(a->store, ret, err);
        if (home_open(&home, err) < 0)
                return -1;
        store = xasprintf("%s/images", home->dir);
        return ocilayout_open(store, ret, err);
}

static void args_clear(struct imagecmd_args *a)
{
        free(a->store);
        a->store = NULL;
}

int imagecmd_main(int push, const char *usage, int argc, char **argv, struct hoist_error **err)
{
        __attribute__((cleanup(args_clear))) struct imagecmd_args a = {0};
        _cleanup_ocilayout_ struct ocilayout *lay = NULL;
        _cleanup_free_ char *digest = NULL;
        struct registry_stats st = {0};
        const char *verb = push ? "push" : "pull";
        const char *ref, *shown;
        int r = parse(verb, usage, argc, argv, &a, err);

        if (r != 0)
                return r < 0 ? -1 : EXIT_OK;
        if (push && a.first != argc - 1 && a.first != argc - 2)
                return cli_usage_error(err, verb, "expected LOCAL_REF [REMOTE_REF]");
        if (!push && a.first != argc - 1)
                return cli_usage_error(err, verb, "expected one REF");
        ref = argv[a.first];
        shown = push && a.first == argc - 2 ? argv[a.first + 1] : ref; /* the remote one */
        if (open_store(&a, &lay, err) < 0)
                return -1;
        {
                _cleanup_image_progress_ struct image_progress *ip = image_progress_new_on(
                        verb, shown, stderr,
                        image_progress_mode_for(STDERR_FILENO, a.quiet, IMAGE_PROGRESS_NONE), 0);
                image_progress_attach(ip, &a.ro);
                r = push ? registry_push_ex(lay, ref, shown, &a.ro, &st, &digest, err)
                         : registry_pull_ex(ref, lay, &a.ro, &st, &digest, err);
        }
        if (r < 0)
                return -1;
        if (!a.quiet) {
                char line[1024];
                fprintf(stderr, "%s\n",
                        image_progress_format_summary(line, sizeof line, push, shown, &st, digest));
        }
        printf("%s\n", digest);
        return EXIT_OK;
}
