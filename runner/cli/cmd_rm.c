/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "cleanup.h"
#include "runner/cli/cli.h"
#include "runner/cli/home.h"
#include "runner/job/jobcancel.h"
#include "runner/job/jobrm.h"
#include "jobspec.h"
#include "log.h"
#include "runner/control/reconcile.h"
#include "runner/control/store.h"

static const char usage[] =
        "usage: hoist rm [-f] JOB...\n"
        "\n"
        "Removes finished jobs: their objects in storage (jobs/<id>/: job.json, logs,\n"
        "checkpoints, outputs), their run directory in $HOIST_HOME/run and their row in\n"
        "the job store.  Inputs are blobs that other jobs may share: 'hoist gc' removes\n"
        "those no job needs any more.  Each JOB that cannot be removed is reported and\n"
        "the others are removed all the same; the exit code is then non-zero.\n"
        "\n"
        "  -f, --force   cancel a job that has not finished (as 'hoist cancel'), then\n"
        "                remove it\n"
        "  -h, --help    show this help\n";

static int rm_one(const struct hoist_home *home, struct store *st, struct jobrm_storages *set,
                  const char *which, bool force, struct hoist_error **err)
{
        _cleanup_job_record_ struct job_record *job = NULL;
        struct jobrm_stats s = {0};
        char b[32];

        /* Up to date first: a job whose row says running may have ended. */
        if (store_get_job(st, which, &job, err) < 0 || reconcile_job(home, st, &job, err) < 0)
                return -1;
        if (force && !job_state_terminal(job->state) &&
            jobcancel(home, st, &job, JOBSPEC_DEFAULT_STOP_GRACE_S, err) < 0)
                return -1;
        if (jobrm_remove(home, st, set, job->id, false, &s, err) < 0)
                return -1;
        printf("removed job %s (%zu objects, %s)\n", job->id, s.objects,
               cli_format_bytes(s.bytes, b, sizeof b));
        return 0;
}

int cmd_rm(int argc, char **argv, struct hoist_error **err)
{
        static const struct option opts[] = {
                {"force", no_argument, NULL, 'f'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        _cleanup_home_ struct hoist_home *home = NULL;
        _cleanup_store_ struct store *st = NULL;
        struct jobrm_storages set = {0};
        bool arg_force = false;
        int c, rc = EXIT_OK;

        optind = 1;
        while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        arg_force = true;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return EXIT_OK;
                default:
                        return cli_usage_error(err, "rm", "unknown option");
                }
        }
        if (optind >= argc)
                return cli_usage_error(err, "rm", "expected at least one JOB");
        if (home_open(&home, err) < 0 || home_open_store(home, &st, err) < 0)
                return -1;
        for (int i = optind; i < argc; i++) {
                struct hoist_error *e = NULL;
                if (rm_one(home, st, &set, argv[i], arg_force, &e) == 0)
                        continue;
                log_error("rm '%s': %s", argv[i], e->msg);
                rc = cli_exit_code(e);
                hoist_error_free(e);
        }
        jobrm_storages_clear(&set);
        return rc;
}
