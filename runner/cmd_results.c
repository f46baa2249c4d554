/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "jobstorage.h"
#include "cli.h"
#include "config.h"
#include "fsutil.h"
#include "home.h"
#include "log.h"
#include "reconcile.h"
#include "storage.h"
#include "store.h"
#include "xalloc.h"

static const char usage[] = "usage: hoist results JOB [DIR]\n"
                            "\n"
                            "Copies a job's outputs (model/ and artifacts/) into DIR (default:\n"
                            "./JOB-ID-results).  Works for a finished job, or for what a running\n"
                            "job has produced so far.\n"
                            "\n"
                            "  -h, --help   show this help\n";

/* Fetches every object under PREFIX into DIR.  A key that hoist would not
 * write (lib/storage.c's rule: "..", empty segments, control characters)
 * is skipped with a warning naming it, and the rest still come. */
static int fetch_outputs(struct storage *sto, const char *prefix, const char *dir, size_t *ret_n,
                         size_t *ret_skipped, struct hoist_error **err)
{
        _cleanup_strv_ char **keys = NULL;

        if (storage_list(sto, prefix, &keys, err) < 0)
                return -1;
        for (char **k = keys; *k != NULL; k++) {
                if (storage_key_check(*k, NULL) < 0) {
                        _cleanup_free_ char *q = config_quote(*k);
                        log_warn("output %s is not a key hoist accepts (an empty, '.' or '..' "
                                 "segment, or a control character); skipping it",
                                 q);
                        (*ret_skipped)++;
                        continue;
                }
                _cleanup_free_ char *dst = path_join(dir, *k + strlen(prefix));
                char *slash = strrchr(dst, '/');
                *slash = '\0';
                if (fs_mkdir_p(dst, 0755, err) < 0)
                        return -1;
                *slash = '/';
                if (storage_get_file(sto, *k, dst, err) < 0)
                        return -1;
                (*ret_n)++;
        }
        return 0;
}

int cmd_results(int argc, char **argv, struct hoist_error **err)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        _cleanup_home_ struct hoist_home *home = NULL;
        _cleanup_store_ struct store *st = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;
        _cleanup_storage_ struct storage *sto = NULL;
        _cleanup_free_ char *prefix = NULL, *dir = NULL;
        size_t n = 0, skipped = 0;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
                if (c == 'h') {
                        fputs(usage, stdout);
                        return EXIT_OK;
                }
                return cli_usage_error(err, "results", "unknown option");
        }
        if (optind != argc - 1 && optind != argc - 2)
                return cli_usage_error(err, "results", "expected JOB [DIR]");
        if (home_open(&home, err) < 0 || home_open_store(home, &st, err) < 0 ||
            store_get_job(st, argv[optind], &job, err) < 0 ||
            reconcile_job(home, st, &job, err) < 0 ||
            jobstorage_open(home, job->storage_url, &sto, err) < 0)
                return -1;
        prefix = xasprintf("jobs/%s/output/", job->id);
        dir = optind == argc - 2 ? xstrdup(argv[optind + 1]) : xasprintf("%s-results", job->id);
        if (fetch_outputs(sto, prefix, dir, &n, &skipped, err) < 0)
                return -1;
        if (n == 0 && skipped == 0)
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND, "job %s (%s) has no outputs yet",
                                        job->id, job_state_name(job->state));
        printf("%zu files of job %s (%s) in %s\n", n, job->id, job_state_name(job->state), dir);
        if (skipped > 0)
                return hoist_error_make(err, 0,
                                        "%zu of the %zu outputs of job %s were not fetched (see "
                                        "the warnings above)",
                                        skipped, n + skipped, job->id);
        return EXIT_OK;
}
