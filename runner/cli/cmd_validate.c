/* SPDX-License-Identifier: MIT */
/*
 * hoist validate PROVIDER [JOB.yaml]: the check hoist submit makes of a
 * provider before anything is uploaded (its engine answering, the
 * credentials, the settings), on its own.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "providers/provider.h"
#include "runner/cli/cli.h"
#include "runner/job/jobfile.h"
#include "xalloc.h"

static const char usage[] =
        "usage: hoist validate [OPTIONS] PROVIDER [JOB.yaml]\n"
        "\n"
        "Checks that PROVIDER can run jobs from here: its engine answers and the\n"
        "credentials work (replicate: GET /v1/account with REPLICATE_API_TOKEN, and\n"
        "says whose token it is; sagemaker: ListTrainingJobs; slurm: sbatch).  With\n"
        "JOB.yaml, its provider section's settings are checked too (replicate: the\n"
        "hardware is one GET /v1/hardware lists).  Exit 0 when it can, else an error\n"
        "naming what to fix.\n"
        "\n"
        "  -h, --help   show this help\n";

int cmd_validate(int argc, char **argv, struct hoist_error **err)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        _cleanup_jobfile_ struct jobfile *jf = NULL;
        const struct provider_ops *prov;
        void *settings = NULL;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'h') {
                        fputs(usage, stdout);
                        return EXIT_OK;
                }
                return cli_usage_error(err, "validate", "unknown option");
        }
        if (optind != argc - 1 && optind != argc - 2)
                return cli_usage_error(err, "validate", "expected PROVIDER [JOB.yaml]");
        prov = provider_find(argv[optind]);
        if (prov == NULL)
                return cli_usage_error(err, "validate", "no provider called '%s'", argv[optind]);
        if (optind == argc - 2) {
                if (jobfile_load(argv[optind + 1], &jf, err) < 0)
                        return -1;
                if (strcmp(jf->provider, prov->name) != 0)
                        return cli_usage_error(err, "validate",
                                               "'%s' is for provider '%s', not '%s'",
                                               argv[optind + 1], jf->provider, prov->name);
                settings = jf->provider_settings;
        } else if (prov->load_settings != NULL &&
                   prov->load_settings(NULL, NULL, &settings, err) < 0) {
                return -1;
        }
        r = prov->validate != NULL ? prov->validate(settings, err) : 0;
        if (jf == NULL && settings != NULL)
                prov->free_settings(settings);
        if (r < 0)
                return hoist_error_wrap(err, "provider '%s'", prov->name);
        printf("provider %s: ok%s\n", prov->name,
               prov->validate == NULL ? " (it has nothing to check)" : "");
        return EXIT_OK;
}
