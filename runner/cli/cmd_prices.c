/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "runner/cli/cli.h"
#include "runner/cli/home.h"
#include "runner/job/jobview.h"
#include "providers/prices.h"

static const char usage[] =
        "usage: hoist prices [-o table|json] [PROVIDER]\n"
        "\n"
        "Lists the price tables hoist estimates and prices billed time with: those built\n"
        "into hoist (providers/prices/*.yaml: SageMaker instance types per region,\n"
        "Replicate hardware per second, user rates of 0 for local, slurm, kubernetes and\n"
        "compose) with each entry's source and date, after $HOIST_HOME/prices.yaml has\n"
        "overridden or added entries (docs/cost.md).\n"
        "\n"
        "  -o, --output FMT   table (default) or json\n"
        "  -h, --help         show this help\n";

static json_t *entry_json(const struct price_entry *e)
{
        json_t *o = json_object();

        (void)json_object_set_new(o, "provider", json_string(e->provider));
        (void)json_object_set_new(o, "sku", e->sku ? json_string(e->sku) : json_null());
        (void)json_object_set_new(o, "region", e->region ? json_string(e->region) : json_null());
        (void)json_object_set_new(o, "unit", json_string(e->unit));
        (void)json_object_set_new(o, "price", json_real(e->price));
        (void)json_object_set_new(o, "currency", json_string(e->currency));
        (void)json_object_set_new(o, "spot_discount", json_real(e->spot_discount));
        (void)json_object_set_new(o, "gpus", json_integer(e->gpus));
        (void)json_object_set_new(o, "gpu_type",
                                  e->gpu_type ? json_string(e->gpu_type) : json_null());
        (void)json_object_set_new(o, "gpu_memory_gib", json_real(e->gpu_memory_gib));
        (void)json_object_set_new(o, "vcpus", json_integer(e->vcpus));
        (void)json_object_set_new(o, "memory_gib", json_real(e->memory_gib));
        (void)json_object_set_new(o, "source", json_string(e->source));
        return o;
}

int cmd_prices(int argc, char **argv, struct hoist_error **err)
{
        static const struct option opts[] = {
                {"output", required_argument, NULL, 'o'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        _cleanup_home_ struct hoist_home *home = NULL;
        _cleanup_prices_ struct prices *p = NULL;
        const char *provider = NULL, *last_source = NULL;
        int arg_json = 0, c;
        size_t shown = 0;

        optind = 1;
        while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
                switch (c) {
                case 'o':
                        arg_json = cli_parse_output("prices", optarg, err);
                        if (arg_json < 0)
                                return -1;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return EXIT_OK;
                default:
                        return cli_usage_error(err, "prices", "unknown option");
                }
        }
        if (argc - optind > 1)
                return cli_usage_error(err, "prices", "unexpected argument '%s'", argv[optind + 1]);
        if (optind < argc)
                provider = argv[optind];
        if (home_open(&home, err) < 0 || prices_load(home->dir, &p, err) < 0)
                return -1;
        json_auto_t *arr = json_array();
        for (size_t i = 0; i < prices_count(p); i++) {
                const struct price_entry *e = prices_at(p, i);
                if (provider != NULL && strcmp(provider, e->provider) != 0)
                        continue;
                shown++;
                if (arg_json) {
                        (void)json_array_append_new(arr, entry_json(e));
                        continue;
                }
                if (last_source == NULL || strcmp(last_source, e->source) != 0) {
                        printf("%s# %s: %s\n", shown > 1 ? "\n" : "", e->provider, e->source);
                        printf("%-12s %-22s %-10s %12s %-14s %4s %-10s %5s %7s\n", "PROVIDER",
                               "SKU", "REGION", "PRICE", "UNIT", "GPUS", "GPU", "VCPUS", "MEM_GIB");
                        last_source = e->source;
                }
                printf("%-12s %-22s %-10s %12g %-14s %4lld %-10s %5lld %7g\n", e->provider,
                       e->sku ? e->sku : "(user rate)", e->region ? e->region : "any", e->price,
                       e->unit, (long long)e->gpus, e->gpu_type ? e->gpu_type : "-",
                       (long long)e->vcpus, e->memory_gib);
        }
        if (provider != NULL && shown == 0)
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                        "no prices for provider '%s' (see 'hoist prices')",
                                        provider);
        if (arg_json)
                jobview_print_json(arr);
        return EXIT_OK;
}
