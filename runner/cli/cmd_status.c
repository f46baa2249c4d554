/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cleanup.h"
#include "runner/cli/cli.h"
#include "runner/job/cost.h"
#include "runner/cli/home.h"
#include "runner/job/hubresults.h"
#include "runner/job/jobstorage.h"
#include "runner/job/jobview.h"
#include "log.h"
#include "providers/provider.h"
#include "runner/control/reconcile.h"
#include "runner/control/store.h"

static const char usage[] = "usage: hoist status [-o table|json] JOB\n"
                            "\n"
                            "Shows a job's state, exit code, reason, every state change and\n"
                            "the latest value of each metric the job reported (events, see\n"
                            "docs/serve.md).  A job its engine still queues shows the\n"
                            "engine's reason (Slurm's Priority, Resources ...); where the\n"
                            "provider knows it, the time the engine billed.\n"
                            "JOB is an id, a unique id prefix, or a job name (its newest run).\n"
                            "\n"
                            "  -o, --output FMT   table (default) or json\n"
                            "  -h, --help         show this help\n";

static void metrics_add(void *metrics, const char *body)
{
        jobview_metrics_add(metrics, body);
}

/* What the job's engine billed so far: 1 and *RET, 0 when its provider
 * does not bill (or could not say: warned, the status goes on). */
static int job_billing(const struct hoist_home *home, const struct job_record *job,
                       struct provider_billing *ret)
{
        const struct provider_ops *prov = provider_find(job->provider);
        _cleanup_free_ char *state_dir = NULL;
        struct hoist_error *err = NULL;

        if (prov == NULL || prov->billing == NULL || job->provider_ref == NULL)
                return 0;
        state_dir = home_job_run_dir(home, job->id);
        *ret = (struct provider_billing){.nodes = 1};
        if (prov->billing(job, state_dir, ret, &err) < 0) {
                log_warn("job %s: billing from provider '%s': %s; showing the status without it",
                         job->id, prov->name, err->msg);
                hoist_error_free(err);
                provider_billing_clear(ret);
                return 0;
        }
        return 1;
}

/* The Hub commit recorded for a succeeded job (docs/results.md), or NULL;
 * a store that cannot say is no reason to fail the status. */
static char *job_hub_commit(const struct hoist_home *home, const struct job_record *job)
{
        _cleanup_storage_ struct storage *sto = NULL;
        char *url = NULL;

        if (job->state != JOB_SUCCEEDED || jobstorage_open(home, job->storage_url, &sto, NULL) < 0)
                return NULL;
        if (hubresults_read(sto, job->id, &url, NULL) != 1)
                return NULL;
        return url;
}

int cmd_status(int argc, char **argv, struct hoist_error **err)
{
        static const struct option opts[] = {
                {"output", required_argument, NULL, 'o'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        _cleanup_home_ struct hoist_home *home = NULL;
        _cleanup_store_ struct store *st = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;
        struct job_transition *t = NULL;
        json_auto_t *metrics = json_object();
        size_t n = 0;
        int arg_json = 0, c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
                switch (c) {
                case 'o':
                        arg_json = cli_parse_output("status", optarg, err);
                        if (arg_json < 0)
                                return -1;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return EXIT_OK;
                default:
                        return cli_usage_error(err, "status", "unknown option");
                }
        }
        if (optind != argc - 1)
                return cli_usage_error(err, "status", "expected one JOB");
        if (home_open(&home, err) < 0 || home_open_store(home, &st, err) < 0 ||
            store_get_job(st, argv[optind], &job, err) < 0 ||
            reconcile_job(home, st, &job, err) < 0 ||
            store_list_transitions(st, job->id, &t, &n, err) < 0 ||
            store_each_event(st, job->id, "job.metric", metrics_add, metrics, err) < 0) {
                job_transitions_free(t, n);
                return -1;
        }
        struct provider_billing billing = {0};
        int billed = job_billing(home, job, &billing);
        _cleanup_free_ char *hub = job_hub_commit(home, job);
        if (arg_json) {
                json_auto_t *o = jobview_json(job, t, n);
                if (json_object_size(metrics) > 0)
                        (void)json_object_set(o, "metrics", metrics);
                if (billed)
                        (void)json_object_set_new(o, "billing", jobview_billing_json(&billing));
                json_t *attempts = cost_attempts_json(st, job->id, err);
                if (attempts == NULL) {
                        provider_billing_clear(&billing);
                        job_transitions_free(t, n);
                        return -1;
                }
                (void)json_object_set_new(json_object_get(o, "cost"), "attempts", attempts);
                if (hub != NULL)
                        (void)json_object_set_new(o, "hub_commit", json_string(hub));
                jobview_print_json(o);
        } else {
                jobview_print_status(job, t, n, metrics, billed ? &billing : NULL);
                if (hub != NULL)
                        printf("hub:       %s\n", hub);
        }
        provider_billing_clear(&billing);
        job_transitions_free(t, n);
        return EXIT_OK;
}
