/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cleanup.h"
#include "cli.h"
#include "home.h"
#include "image_progress.h"
#include "imagecmd.h"
#include "xalloc.h"

int imagecmd_parse(const char *verb, const char *usage, int argc, char **argv,
                   struct imagecmd_args *ret, struct hoist_error **err)
{
        static const struct option opts[] = {
                {"insecure", no_argument, NULL, 'k'},    {"jobs", required_argument, NULL, 'j'},
                {"store", required_argument, NULL, 's'}, {"quiet", no_argument, NULL, 'q'},
                {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
        };
        int c;

        *ret = (struct imagecmd_args){0};
        optind = 1;
        while ((c = getopt_long(argc, argv, "+hqj:", opts, NULL)) != -1) {
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
                default:
                        return cli_usage_error(err, verb, "unknown option");
                }
        }
        ret->first = optind;
        return 0;
}

int imagecmd_open_store(const struct imagecmd_args *a, struct ocilayout **ret,
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

void imagecmd_report(const struct imagecmd_args *a, int push, const char *ref,
                     const struct registry_stats *st, const char *digest)
{
        char line[1024];

        if (!a->quiet)
                fprintf(stderr, "%s\n",
                        image_progress_format_summary(line, sizeof line, push, ref, st, digest));
        printf("%s\n", digest);
}

void imagecmd_args_clear(struct imagecmd_args *a)
{
        free(a->store);
        a->store = NULL;
}
