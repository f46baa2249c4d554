/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "home.h"
#include "jobview.h"
#include "reconcile.h"
#include "store.h"

static const char usage[] =
        "usage: hoist list [-o table|json]\n"
        "\n"
        "Lists every job, newest first, with its state brought up to date, its\n"
        "cost (billed, or ~estimated while not billed yet) and a total\n"
        "line (docs/cost.md).\n"
        "\n"
        "  -o, --output FMT   table (default) or json\n"
        "  -h, --help         show this help\n";

int cmd_list(int argc, char **argv, struct hoist_error **err)
{
        static const struct option opts[] = {
                {"output", required_argument, NULL, 'o'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        _cleanup_home_ struct hoist_home *home = NULL;
        _cleanup_store_ struct store *st = NULL;
        struct job_record **jobs = NULL;
        size_t n = 0;
        int arg_json = 0, c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
                switch (c) {
                case 'o':
                        arg_json = cli_parse_output("list", optarg, err);
                        if (arg_json < 0)
                                return -1;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return EXIT_OK;
                default:
                        return cli_usage_error(err, "list", "unknown option");
                }
        }
        if (optind != argc)
                return cli_usage_error(err, "list", "unexpected argument '%s'", argv[optind]);
        if (home_open(&home, err) < 0 || home_open_store(home, &st, err) < 0 ||
            store_list_jobs(st, &jobs, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                struct hoist_error *e = NULL;
                /* One job the provider cannot answer for does not hide the rest. */
                if (reconcile_job(home, st, &jobs[i], &e) < 0) {
                        fprintf(stderr, "hoist: warning: %s, showing its last known state\n",
                                e->msg);
                        hoist_error_free(e);
                }
        }
        /* Reconciling may have settled what a job was billed. */
        job_records_free(jobs, n);
        jobs = NULL;
        n = 0;
        if (store_list_jobs(st, &jobs, &n, err) < 0)
                return -1;
        if (arg_json) {
                json_auto_t *arr = json_array();
                for (size_t i = 0; i < n; i++)
                        json_array_append_new(arr, jobview_json(jobs[i], NULL, 0));
                jobview_print_json(arr);
        } else {
                jobview_print_table(jobs, n);
        }
        job_records_free(jobs, n);
        return EXIT_OK;
}
