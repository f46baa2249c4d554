/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cleanup.h"
#include "runner/cli/cli.h"
#include "config.h"
#include "fmt.h"
#include "runner/control/gc.h"
#include "runner/cli/home.h"
#include "runner/control/store.h"

static const char usage[] =
        "usage: hoist gc [--older-than DURATION] [--min-age DURATION] [--dry-run]\n"
        "\n"
        "Frees what no job needs, in $HOIST_HOME and in every storage its jobs use\n"
        "(and the default storage: $HOIST_STORAGE, or the built-in endpoint):\n"
        "  - the run directories of finished jobs (staged copies of inputs, local\n"
        "    copies of outputs and the console log; logs and outputs stay in storage)\n"
        "    and those of no job;\n"
        "  - scratch files that killed submits left in $HOIST_HOME/tmp;\n"
        "  - unfinished writes in storage: S3 multipart uploads never completed,\n"
        "    file:// temporary files;\n"
        "  - blobs (inputs, blobs/sha256/) that no job.json in that storage names.\n"
        "Jobs themselves stay unless --older-than says which (as 'hoist rm').\n"
        "\n"
        "      --older-than DURATION  also remove jobs that finished longer ago than\n"
        "                             DURATION (90s, 15m, 2h, 7d)\n"
        "      --min-age DURATION     keep blobs and unfinished writes younger than this\n"
        "                             (default 1h): they may belong to a submit from\n"
        "                             another machine that shares the storage\n"
        "  -n, --dry-run              list what would go, with sizes; remove nothing\n"
        "  -h, --help                 show this help\n"
        "\n"
        "A submit from this $HOIST_HOME holds $HOIST_HOME/gc.lock until its job is\n"
        "recorded, and gc waits for it: a blob it has just uploaded is never taken\n"
        "for garbage.\n";

static int parse_duration(const char *opt, const char *value, int64_t *ret,
                          struct hoist_error **err)
{
        int64_t v = config_parse_duration(value);

        if (v < 0)
                return cli_usage_error(
                        err, "gc", "%s needs a duration (90s, 15m, 2h, 7d), not '%s'", opt, value);
        *ret = v;
        return 0;
}

int cmd_gc(int argc, char **argv, struct hoist_error **err)
{
        static const struct option opts[] = {
                {"older-than", required_argument, NULL, 'o'},
                {"min-age", required_argument, NULL, 'm'},
                {"dry-run", no_argument, NULL, 'n'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        _cleanup_home_ struct hoist_home *home = NULL;
        _cleanup_store_ struct store *st = NULL;
        struct gc_options o = {.older_than_s = -1, .min_age_s = GC_DEFAULT_MIN_AGE_S};
        struct gc_stats s = {0};
        char b[32];
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
                switch (c) {
                case 'o':
                        if (parse_duration("--older-than", optarg, &o.older_than_s, err) < 0)
                                return -1;
                        break;
                case 'm':
                        if (parse_duration("--min-age", optarg, &o.min_age_s, err) < 0)
                                return -1;
                        break;
                case 'n':
                        o.dry_run = true;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return EXIT_OK;
                default:
                        return cli_usage_error(err, "gc", "unknown option");
                }
        }
        if (optind != argc)
                return cli_usage_error(err, "gc", "takes no arguments, not '%s'", argv[optind]);
        o.out = stdout;
        if (home_open(&home, err) < 0 || home_open_store(home, &st, err) < 0 ||
            gc_run(home, st, &o, &s, err) < 0)
                return -1;
        printf("%s %zu %s, %zu %s, %zu %s, %zu %s, %zu %s: %s %s\n",
               o.dry_run ? "gc (dry run): would remove" : "gc: removed", s.jobs,
               fmt_plural(s.jobs, "job", "jobs"), s.run_dirs,
               fmt_plural(s.run_dirs, "run directory", "run directories"), s.tmp_files,
               fmt_plural(s.tmp_files, "scratch file", "scratch files"), s.partials,
               fmt_plural(s.partials, "unfinished upload", "unfinished uploads"), s.blobs,
               fmt_plural(s.blobs, "blob", "blobs"), cli_format_bytes(s.bytes, b, sizeof b),
               o.dry_run ? "would be freed" : "freed");
        return EXIT_OK;
}
