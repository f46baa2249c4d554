/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "follow.h"
#include "home.h"
#include "store.h"

static const char usage[] = "usage: hoist logs [-f] [--timestamps] JOB\n"
                            "\n"
                            "Prints a job's log (every attempt's, in order).\n"
                            "\n"
                            "  -f, --follow   keep printing as the log grows, until the job ends;\n"
                            "                 then exit 0 if it succeeded, 6 if it failed, 7 if\n"
                            "                 it was canceled\n"
                            "  -t, --timestamps  keep each line's stored prefix: its UTC time and\n"
                            "                 stream, as in '2026-11-21T19:40:00.123Z stderr|...'\n"
                            "  -h, --help     show this help\n";

int cmd_logs(int argc, char **argv, struct hoist_error **err)
{
        static const struct option opts[] = {
                {"follow", no_argument, NULL, 'f'},
                {"timestamps", no_argument, NULL, 't'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        _cleanup_home_ struct hoist_home *home = NULL;
        _cleanup_store_ struct store *st = NULL;
        int arg_follow = 0, arg_timestamps = 0, c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "+fth", opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        arg_follow = 1;
                        break;
                case 't':
                        arg_timestamps = FOLLOW_TIMESTAMPS;
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
        return follow_job(home, st, argv[optind], STDOUT_FILENO, arg_follow | arg_timestamps, err);
}
