/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "runner/job/hubresults.h"
#include "runner/job/jobstorage.h"
#include "runner/cli/cli.h"
#include "config.h"
#include "fmt.h"
#include "fsutil.h"
#include "runner/cli/home.h"
#include "log.h"
#include "runner/control/reconcile.h"
#include "storage.h"
#include "runner/control/store.h"
#include "xalloc.h"

static const char usage[] =
        "usage: hoist results JOB [DIR]\n"
        "       hoist results --hub JOB\n"
        "\n"
        "Copies a job's outputs (model/ and artifacts/) into DIR (default:\n"
        "./JOB-ID-results).  Works for a finished job, or for what a running\n"
        "job has produced so far.\n"
        "\n"
        "With --hub, commits the model of a succeeded job to the Hugging Face Hub\n"
        "as its job.yaml's outputs.hub says (again, when it was committed before),\n"
        "with the token from the secret outputs.hub.token names; HF_ENDPOINT\n"
        "names another Hub.  hoist serve and `hoist submit --follow` do this by\n"
        "themselves (docs/results.md).\n"
        "\n"
        "      --hub    commit the model to the Hub instead of copying outputs\n"
        "  -h, --help   show this help\n";

static int results_hub(const struct hoist_home *home, const struct job_record *job,
                       struct hoist_error **err)
{
        _cleanup_free_ char *url = NULL;

        if (hubresults_deliver(home, job, HUBRESULTS_FORCE, &url, err) < 0)
                return -1;
        printf("job %s: model committed to the Hub: %s\n", job->id, url);
        return EXIT_OK;
}

/* Fetches every object under PREFIX into DIR.  A key that hoist would not
 * write (lib/storage.c's rule: "..", empty segments, control characters)
 * is skipped with a warning naming it, and the rest still come. */
static int fetch_outputs(struct storage *sto, const char *prefix, const char *dir,
                         char ***ret_fetched, size_t *ret_skipped, struct hoist_error **err)
{
        _cleanup_strv_ char **keys = NULL;
        _cleanup_strv_ char **fetched = NULL;
        size_t n = 0, w = 0;

        if (storage_list(sto, prefix, &keys, err) < 0)
                return -1;
        while (keys[n] != NULL)
                n++;
        fetched = xcalloc(n + 1, sizeof *fetched);
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
                fetched[w++] = xstrdup(*k);
        }
        *ret_fetched = TAKE_PTR(fetched);
        return 0;
}

/* Does KEY lie under TOP (LEN bytes, "model/"), or is it TOP (a file)? */
static int under_top(const char *key, const char *top, size_t len)
{
        return strncmp(key, top, len) == 0 && (top[len - 1] == '/' || key[len] == '\0');
}

/* "model/ (2 files), artifacts/ (1 file)": how many of KEYS (each past
 * SKIP bytes of the output prefix) lie in each top directory. */
static char *results_parts(char **keys, size_t skip)
{
        struct buf b = {0};

        for (char **k = keys; *k != NULL; k++) {
                const char *top = *k + skip, *slash = strchr(top, '/');
                size_t len = slash ? (size_t)(slash - top) + 1 : strlen(top), n = 0;
                char **e = keys;
                while (e < k && !under_top(*e + skip, top, len))
                        e++;
                if (e < k) /* counted with an earlier key */
                        continue;
                for (; *e != NULL; e++)
                        n += (size_t)under_top(*e + skip, top, len);
                buf_printf(&b, "%s%.*s (%zu %s)", b.len ? ", " : "", (int)len, top, n,
                           fmt_plural(n, "file", "files"));
        }
        return buf_take(&b);
}

int cmd_results(int argc, char **argv, struct hoist_error **err)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"hub", no_argument, NULL, 'H'},
                {NULL, 0, NULL, 0},
        };
        _cleanup_home_ struct hoist_home *home = NULL;
        _cleanup_store_ struct store *st = NULL;
        _cleanup_job_record_ struct job_record *job = NULL;
        _cleanup_storage_ struct storage *sto = NULL;
        _cleanup_free_ char *prefix = NULL, *dir = NULL;
        _cleanup_strv_ char **keys = NULL;
        size_t n = 0, skipped = 0;
        int c, arg_hub = 0;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'h') {
                        fputs(usage, stdout);
                        return EXIT_OK;
                }
                if (c == 'H') {
                        arg_hub = 1;
                        continue;
                }
                return cli_usage_error(err, "results", "unknown option");
        }
        if (arg_hub && optind != argc - 1)
                return cli_usage_error(err, "results", "--hub takes one JOB and no DIR");
        if (optind != argc - 1 && optind != argc - 2)
                return cli_usage_error(err, "results", "expected JOB [DIR]");
        if (home_open(&home, err) < 0 || home_open_store(home, &st, err) < 0 ||
            store_get_job(st, argv[optind], &job, err) < 0 ||
            reconcile_job(home, st, &job, err) < 0)
                return -1;
        if (arg_hub)
                return results_hub(home, job, err);
        if (jobstorage_open(home, job->storage_url, &sto, err) < 0)
                return -1;
        prefix = xasprintf("jobs/%s/output/", job->id);
        dir = optind == argc - 2 ? xstrdup(argv[optind + 1]) : xasprintf("%s-results", job->id);
        if (fetch_outputs(sto, prefix, dir, &keys, &skipped, err) < 0)
                return -1;
        while (keys[n] != NULL)
                n++;
        if (n == 0 && skipped == 0)
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND, "job %s (%s) has no outputs yet",
                                        job->id, job_state_name(job->state));
        _cleanup_free_ char *parts = results_parts(keys, strlen(prefix));
        printf("%zu %s of job %s (%s) in %s: %s\n", n, fmt_plural(n, "file", "files"), job->id,
               job_state_name(job->state), dir, parts);
        _cleanup_free_ char *hub = NULL;
        if (hubresults_read(sto, job->id, &hub, NULL) == 1)
                printf("the model is on the Hub: %s\n", hub);
        if (skipped > 0)
                return hoist_error_make(err, 0,
                                        "%zu of the %zu outputs of job %s were not fetched (see "
                                        "the warnings above)",
                                        skipped, n + skipped, job->id);
        return EXIT_OK;
}
