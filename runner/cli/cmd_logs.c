/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "runner/cli/cli.h"
#include "runner/control/follow.h"
#include "runner/cli/home.h"
#include "runner/control/store.h"

static const char usage[] =
        "usage: hoist logs [-f] [-t] [--tail N] [--attempt N] [--node K] JOB\n"
        "\n"
        "Prints a job's log: every attempt's, in order, the command's output and\n"
        "hoist-entrypoint's own lines (staging, the checkpoint set an attempt\n"
        "restored, sets published, uploads), which begin with 'hoist-entrypoint:'.\n"
        "It is read from the job's storage, whatever the provider.  A job on\n"
        "several nodes has a log per node: all of them, interleaved as they are\n"
        "read, each line beginning '[nodeK] ' (lines of one node keep their order;\n"
        "across nodes, the order is when this reader found them).\n"
        "\n"
        "With -f a line the command prints shows here within about 0.2 s on\n"
        "file:// storage, and within HOIST_LOG_SYNC_S (default 2 s) + 0.2 s plus\n"
        "one upload and one fetch of the log on S3 storage: the entrypoint uploads\n"
        "the log every HOIST_LOG_SYNC_S seconds, this reads storage every 0.2 s\n"
        "(docs/logs.md).\n"
        "\n"
        "  -f, --follow      keep printing as the log grows, until the job ends;\n"
        "                    then exit 0 if it succeeded, 6 if it failed, 7 if it\n"
        "                    was canceled (Ctrl-C stops following, not the job)\n"
        "  -n, --tail N      only the last N lines (of each node's log; then, with\n"
        "                    -f, what comes)\n"
        "  -a, --attempt N   only attempt N's lines (1 is the first run)\n"
        "  -N, --node K      only node K's log: its rank (0 is node0) or its name\n"
        "  -t, --timestamps  keep each line's stored prefix: its UTC time and\n"
        "                    stream (stdout, stderr or hoist), as in\n"
        "                    '2026-11-21T19:40:00.123Z stderr|...'\n"
        "  -h, --help        show this help\n";

/* A count for OPTION: a whole number from MIN up. */
static int parse_count(const char *option, const char *value, long long min, long long *ret,
                       struct hoist_error **err)
{
        char *end = NULL;
        long long v;

        errno = 0;
        v = strtoll(value, &end, 10);
        if (value[0] < '0' || value[0] > '9' || *end != '\0' || errno != 0 || v < min ||
            v > 1000000000)
                return cli_usage_error(err, "logs", "%s needs a whole number from %lld, not '%s'",
                                       option, min, value);
        *ret = v;
        return 0;
}

int cmd_logs(int argc, char **argv, struct hoist_error **err)
{
        static const struct option opts[] = {
                {"follow", no_argument, NULL, 'f'},
                {"timestamps", no_argument, NULL, 't'},
                {"tail", required_argument, NULL, 'n'},
                {"attempt", required_argument, NULL, 'a'},
                {"node", required_argument, NULL, 'N'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        _cleanup_home_ struct hoist_home *home = NULL;
        _cleanup_store_ struct store *st = NULL;
        struct follow_options fo = {.tail = -1};
        long long v;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "ftn:a:N:h", opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        fo.follow = 1;
                        break;
                case 't':
                        fo.timestamps = 1;
                        break;
                case 'n':
                        if (parse_count("--tail", optarg, 0, &v, err) < 0)
                                return -1;
                        fo.tail = (long)v;
                        break;
                case 'a':
                        if (parse_count("--attempt", optarg, 1, &v, err) < 0)
                                return -1;
                        fo.attempt = v;
                        break;
                case 'N':
                        if (optarg[0] == '\0' || strchr(optarg, '/') != NULL ||
                            strcmp(optarg, "..") == 0 || strcmp(optarg, ".") == 0)
                                return cli_usage_error(err, "logs",
                                                       "--node needs a node rank or name, not "
                                                       "'%s'",
                                                       optarg);
                        fo.node = optarg;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return EXIT_OK;
                default:
                        return cli_usage_error(err, "logs", "unknown option");
                }
        }
        if (optind != argc - 1)
                return cli_usage_error(err, "logs", "expected one JOB");
        if (home_open(&home, err) < 0 || home_open_store(home, &st, err) < 0)
                return -1;
        return follow_job(home, st, argv[optind], STDOUT_FILENO, &fo, err);
}
