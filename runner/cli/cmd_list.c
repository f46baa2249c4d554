/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "cleanup.h"
#include "runner/cli/cli.h"
#include "runner/cli/home.h"
#include "runner/job/jobview.h"
#include "providers/provider.h"
#include "runner/control/reconcile.h"
#include "runner/control/store.h"

static const char usage[] =
        "usage: hoist list [-o table|json] [--provider NAME [--remote]]\n"
        "\n"
        "Lists every job, newest first, with its state brought up to date, its\n"
        "cost (billed, or ~estimated while not billed yet) and a total\n"
        "line (docs/cost.md).\n"
        "\n"
        "  -o, --output FMT   table (default) or json\n"
        "  --provider NAME    only the jobs of provider NAME\n"
        "  --remote           what the provider's engine itself lists for your\n"
        "                     credentials (sagemaker: ListTrainingJobs; replicate: GET\n"
        "                     /v1/trainings), hoist's jobs and others, with the hoist\n"
        "                     job each belongs to\n"
        "  -h, --help         show this help\n";

#define REMOTE_LIMIT 1000

static json_t *remote_json(const struct provider_remote_job *j)
{
        json_t *o = json_object();

        (void)json_object_set_new(o, "ref", json_string(j->ref));
        (void)json_object_set_new(o, "state", j->state ? json_string(j->state) : json_null());
        (void)json_object_set_new(o, "job_id", j->job_id ? json_string(j->job_id) : json_null());
        (void)json_object_set_new(o, "attempt", json_integer(j->attempt));
        (void)json_object_set_new(o, "created_at_ms", json_integer(j->created_ms));
        return o;
}

/* hoist list --provider NAME --remote */
static int list_remote(const char *name, int json, struct hoist_error **err)
{
        const struct provider_ops *prov = provider_find(name);
        struct provider_remote_job *jobs = NULL;
        size_t n = 0;

        if (prov == NULL)
                return cli_usage_error(err, "list", "no provider called '%s'", name);
        if (prov->list_remote == NULL)
                return cli_usage_error(err, "list",
                                       "provider '%s' has no engine of its own to list (--remote "
                                       "works for sagemaker and replicate)",
                                       name);
        if (prov->list_remote(REMOTE_LIMIT, &jobs, &n, err) < 0)
                return hoist_error_wrap(err, "list the jobs of provider '%s'", name);
        if (json) {
                json_auto_t *arr = json_array();
                for (size_t i = 0; i < n; i++)
                        json_array_append_new(arr, remote_json(&jobs[i]));
                jobview_print_json(arr);
        } else {
                printf("%-40s %-11s %-20s %s\n", "NAME", "STATE", "CREATED (UTC)", "HOIST JOB");
                for (size_t i = 0; i < n; i++) {
                        char when[32] = "-";
                        time_t t = (time_t)(jobs[i].created_ms / 1000);
                        struct tm tm;
                        if (jobs[i].created_ms > 0 && gmtime_r(&t, &tm) != NULL)
                                (void)strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
                        printf("%-40s %-11s %-20s ", jobs[i].ref,
                               jobs[i].state ? jobs[i].state : "-", when);
                        if (jobs[i].job_id != NULL)
                                printf("%s (attempt %" PRId64 ")\n", jobs[i].job_id,
                                       jobs[i].attempt);
                        else
                                printf("-\n");
                }
        }
        provider_remote_jobs_free(jobs, n);
        return EXIT_OK;
}

/* Keeps the jobs of PROVIDER (NULL: all) at the front of JOBS. */
static void keep_provider(struct job_record **jobs, size_t *n, const char *provider)
{
        size_t k = 0;

        if (provider == NULL)
                return;
        for (size_t i = 0; i < *n; i++) {
                if (strcmp(jobs[i]->provider, provider) == 0)
                        jobs[k++] = jobs[i];
                else
                        job_record_free(jobs[i]);
        }
        *n = k;
}

int cmd_list(int argc, char **argv, struct hoist_error **err)
{
        static const struct option opts[] = {
                {"output", required_argument, NULL, 'o'},
                {"provider", required_argument, NULL, 'p'},
                {"remote", no_argument, NULL, 'r'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        _cleanup_home_ struct hoist_home *home = NULL;
        _cleanup_store_ struct store *st = NULL;
        struct job_record **jobs = NULL;
        size_t n = 0;
        const char *arg_provider = NULL;
        int arg_json = 0, arg_remote = 0, c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
                switch (c) {
                case 'o':
                        arg_json = cli_parse_output("list", optarg, err);
                        if (arg_json < 0)
                                return -1;
                        break;
                case 'p':
                        arg_provider = optarg;
                        break;
                case 'r':
                        arg_remote = 1;
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
        if (arg_remote && arg_provider == NULL)
                return cli_usage_error(err, "list", "--remote goes with --provider NAME");
        if (arg_remote)
                return list_remote(arg_provider, arg_json, err);
        if (arg_provider != NULL && provider_find(arg_provider) == NULL)
                return cli_usage_error(err, "list", "no provider called '%s'", arg_provider);
        if (home_open(&home, err) < 0 || home_open_store(home, &st, err) < 0 ||
            store_list_jobs(st, &jobs, &n, err) < 0)
                return -1;
        keep_provider(jobs, &n, arg_provider);
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
        keep_provider(jobs, &n, arg_provider);
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
