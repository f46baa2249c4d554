/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "runner/cli/cli.h"
#include "config.h"
#include "runner/job/cost.h"
#include "runner/cli/home.h"
#include "runner/job/jobview.h"
#include "runner/control/store.h"

static const char usage[] =
        "usage: hoist cost [--since DURATION] [--provider NAME] [-o table|json]\n"
        "\n"
        "What jobs cost: estimated and billed, per job, per provider and per day, week\n"
        "and month (UTC), and each spending limit of $HOIST_HOME/config.yaml with how\n"
        "much of it is used (docs/cost.md).  -o json prints what GET /api/v1/cost\n"
        "returns.\n"
        "\n"
        "      --since DUR    only jobs submitted in the last DUR (90m, 24h, 7d)\n"
        "      --provider P   only jobs of provider P\n"
        "  -o, --output FMT   table (default) or json\n"
        "  -h, --help         show this help\n";

static const char *num(double v, char *b, size_t size)
{
        return cost_amount(v, b, size);
}

static void print_table(const json_t *r)
{
        const json_t *j, *p, *l;
        const char *cur = json_string_value(json_object_get(r, "currency"));
        size_t i;
        char b1[32], b2[32];

        printf("%-16s %-20s %-10s %-10s %12s %12s\n", "ID", "NAME", "PROVIDER", "STATE",
               "ESTIMATED", "BILLED");
        json_array_foreach(json_object_get(r, "jobs"), i, j)
        {
                const json_t *e = json_object_get(j, "estimated"),
                             *bl = json_object_get(j, "billed");
                printf("%-16s %-20s %-10s %-10s %12s %12s\n",
                       json_string_value(json_object_get(j, "id")),
                       json_string_value(json_object_get(j, "name")),
                       json_string_value(json_object_get(j, "provider")),
                       json_string_value(json_object_get(j, "state")),
                       num(json_is_number(e) ? json_number_value(e) : -1, b1, sizeof b1),
                       num(json_is_number(bl) ? json_number_value(bl) : -1, b2, sizeof b2));
        }
        printf("\nper provider:\n");
        json_array_foreach(json_object_get(r, "providers"), i, p)
        {
                printf("  %-12s %4lld jobs  estimated %s  billed %s %s\n",
                       json_string_value(json_object_get(p, "provider")),
                       (long long)json_integer_value(json_object_get(p, "jobs")),
                       num(json_number_value(json_object_get(p, "estimated")), b1, sizeof b1),
                       num(json_number_value(json_object_get(p, "billed")), b2, sizeof b2), cur);
        }
        static const char *const periods[] = {"day", "week", "month"};
        for (size_t k = 0; k < 3; k++) {
                printf("per %s:\n", periods[k]);
                json_array_foreach(json_object_get(json_object_get(r, "periods"), periods[k]), i, p)
                {
                        printf("  %-12s estimated %s  billed %s %s\n",
                               json_string_value(json_object_get(p, "label")),
                               num(json_number_value(json_object_get(p, "estimated")), b1,
                                   sizeof b1),
                               num(json_number_value(json_object_get(p, "billed")), b2, sizeof b2),
                               cur);
                }
        }
        printf("limits:\n");
        if (json_array_size(json_object_get(r, "limits")) == 0)
                printf("  none (spending_limits in $HOIST_HOME/config.yaml, docs/cost.md)\n");
        json_array_foreach(json_object_get(r, "limits"), i, l)
        {
                const json_t *prov = json_object_get(l, "provider");
                printf("  %s %g %s per %s%s%s: used %s (%.0f%%)%s\n",
                       json_string_value(json_object_get(l, "action")),
                       json_number_value(json_object_get(l, "amount")),
                       json_string_value(json_object_get(l, "currency")),
                       json_string_value(json_object_get(l, "period")),
                       json_is_string(prov) ? " for " : "",
                       json_is_string(prov) ? json_string_value(prov) : "",
                       num(json_number_value(json_object_get(l, "used")), b1, sizeof b1),
                       json_number_value(json_object_get(l, "fraction")) * 100,
                       json_is_true(json_object_get(l, "stop_running")) ? ", stops running jobs"
                                                                        : "");
        }
        const json_t *t = json_object_get(r, "total");
        printf("total: estimated %s, billed %s %s\n",
               num(json_number_value(json_object_get(t, "estimated")), b1, sizeof b1),
               num(json_number_value(json_object_get(t, "billed")), b2, sizeof b2), cur);
}

int cmd_cost(int argc, char **argv, struct hoist_error **err)
{
        static const struct option opts[] = {
                {"output", required_argument, NULL, 'o'},
                {"since", required_argument, NULL, 's'},
                {"provider", required_argument, NULL, 'p'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        _cleanup_home_ struct hoist_home *home = NULL;
        _cleanup_store_ struct store *st = NULL;
        json_auto_t *report = NULL;
        struct cost_query q = {0};
        int arg_json = 0, c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
                switch (c) {
                case 'o':
                        arg_json = cli_parse_output("cost", optarg, err);
                        if (arg_json < 0)
                                return -1;
                        break;
                case 's': {
                        int64_t s = config_parse_duration(optarg);
                        if (s < 0)
                                return cli_usage_error(err, "cost",
                                                       "--since takes a duration like 90m, 24h "
                                                       "or 7d, not '%s'",
                                                       optarg);
                        q.since_ms = cli_now_ms() - s * 1000;
                        break;
                }
                case 'p':
                        q.provider = optarg;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return EXIT_OK;
                default:
                        return cli_usage_error(err, "cost", "unknown option");
                }
        }
        if (optind != argc)
                return cli_usage_error(err, "cost", "unexpected argument '%s'", argv[optind]);
        if (home_open(&home, err) < 0 || home_open_store(home, &st, err) < 0 ||
            cost_report_json(st, home->dir, &q, &report, err) < 0)
                return -1;
        if (arg_json)
                jobview_print_json(report);
        else
                print_table(report);
        return EXIT_OK;
}
