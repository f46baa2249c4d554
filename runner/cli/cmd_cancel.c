/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cleanup.h"
#include "runner/cli/cli.h"
#include "runner/cli/home.h"
#include "jobspec.h"
#include "runner/job/jobcancel.h"
#include "runner/control/store.h"

static const char usage[] =
        "usage: hoist cancel [-t SECONDS] [--attempt N] JOB\n"
        "\n"
        "Stops a job: SIGTERM to its command (which may write a final checkpoint),\n"
        "then SIGKILL once the grace period is over.\n"
        "\n"
        "  -t, --grace SECONDS   grace period (default: the job's stop_grace, else 120)\n"
        "      --attempt N       only if attempt N is the job's current one (a resume that\n"
        "                        came first is not stopped; exit code 1 then)\n"
        "  -h, --help            show this help\n";

int cmd_cancel(int argc, char **argv, struct hoist_error **err)
{
        static const struct option opts[] = {
                {"grace", required_argument, NULL, 't'},
                {"attempt", required_argument, NULL, 'A'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        _cleanup_home_ struct hoist_home *home = NULL;
        _cleanup_store_ struct store *st = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;
        long arg_grace = -1;
        long long arg_attempt = 0;
        char *end;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
                switch (c) {
                case 't':
                        arg_grace = strtol(optarg, &end, 10);
                        if (*optarg == '\0' || *end != '\0' || arg_grace < 0 || arg_grace > 86400)
                                return cli_usage_error(err, "cancel",
                                                       "--grace needs seconds (0-86400), not '%s'",
                                                       optarg);
                        break;
                case 'A':
                        arg_attempt = strtoll(optarg, &end, 10);
                        if (*optarg == '\0' || *end != '\0' || arg_attempt < 1)
                                return cli_usage_error(err, "cancel",
                                                       "--attempt needs an attempt number (1, "
                                                       "2, ...), not '%s'",
                                                       optarg);
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return EXIT_OK;
                default:
                        return cli_usage_error(err, "cancel", "unknown option");
                }
        }
        if (optind != argc - 1)
                return cli_usage_error(err, "cancel", "expected one JOB");
        if (home_open(&home, err) < 0 || home_open_store(home, &st, err) < 0 ||
            store_get_job(st, argv[optind], &job, err) < 0)
                return -1;
        r = jobcancel_attempt(home, st, &job,
                              arg_grace >= 0 ? arg_grace : JOBSPEC_DEFAULT_STOP_GRACE_S,
                              "canceled by the user", (int64_t)arg_attempt, err);
        if (r < 0)
                return -1;
        if (r == 1)
                printf("job %s already %s\n", job->id, job_state_name(job->state));
        else
                printf("canceled job %s\n", job->id);
        return EXIT_OK;
}
