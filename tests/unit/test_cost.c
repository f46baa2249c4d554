/* SPDX-License-Identifier: MIT */
/* Cost (runner/job/cost.c, docs/cost.md): spending_limits in config.yaml, the
 * estimate's arithmetic for user rates and for a provider that picks an
 * instance type (price_key), the store's cost rows and the block limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "providers/prices.h"
#include "providers/provider.h"
#include "runner/cli/cli.h"
#include "runner/job/cost.h"
#include "runner/cli/homeconfig.h"
#include "runner/control/store.h"
#include "xalloc.h"

static struct homeconfig *config(const char *text, struct hoist_error **err)
{
        struct homeconfig *hc = NULL;

        if (homeconfig_parse(text, strlen(text), "/h/config.yaml", &hc, err) < 0)
                return NULL;
        return hc;
}

static void test_limits_config(void **state)
{
        struct hoist_error *err = NULL;

        (void)state;
        _cleanup_homeconfig_ struct homeconfig *hc =
                config("spending_limits:\n"
                       "  - {period: day, amount: 50, currency: USD, action: block, provider: any,"
                       " stop_running: true}\n"
                       "  - {period: month, amount: 12.5, provider: sagemaker}\n",
                       &err);
        assert_non_null(hc);
        assert_int_equal(hc->n_limits, 2);
        assert_string_equal(hc->limits[0].period, "day");
        assert_float_equal(hc->limits[0].amount, 50, 0);
        assert_string_equal(hc->limits[0].action, "block");
        assert_null(hc->limits[0].provider);
        assert_true(hc->limits[0].stop_running);
        assert_string_equal(hc->limits[1].action, "warn");
        assert_string_equal(hc->limits[1].currency, "USD");
        assert_string_equal(hc->limits[1].provider, "sagemaker");
        assert_float_equal(hc->limits[1].amount, 12.5, 0);

        static const struct {
                const char *text, *want;
        } bad[] = {
                {"spending_limits:\n  - {period: year, amount: 1}\n",
                 "expected day, week or month"},
                {"spending_limits:\n  - {period: day, amount: lots}\n", "expected an amount"},
                {"spending_limits:\n  - {period: day, amount: -5}\n", "expected an amount"},
                {"spending_limits:\n  - {period: day}\n", "names no amount"},
                {"spending_limits:\n  - {amount: 3}\n", "names no period"},
                {"spending_limits:\n  - {period: day, amount: 1, action: stop}\n", "warn or block"},
                {"spending_limits:\n  - {period: day, amount: 1, stop_running: true}\n",
                 "stop_running goes with action: block"},
                {"spending_limits:\n  - {period: day, amount: 1, limit: 2}\n", "limit"},
                {"spending_limits: 50\n", "expected a list of limits"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                struct homeconfig *h = config(bad[i].text, &err);
                assert_null(h);
                if (strstr(err->msg, bad[i].want) == NULL ||
                    strstr(err->msg, "'/h/config.yaml':") == NULL)
                        fail_msg("'%s': '%s' lacks '%s' or the file", bad[i].text, err->msg,
                                 bad[i].want);
                hoist_error_release(&err);
        }
}

static struct prices *table(const char *text)
{
        struct prices *p = prices_new();
        struct hoist_error *err = NULL;

        if (prices_parse(text, strlen(text), "t.yaml", "test", p, &err) < 0)
                fail_msg("%s", err->msg);
        return p;
}

/* The user's rate times what the job asks, per hour, to max_runtime. */
static void test_estimate_user_rates(void **state)
{
        _cleanup_prices_ struct prices *p =
                table("prices:\n"
                      "  - {provider: local, unit: cpu-hour, price: 0.5}\n"
                      "  - {provider: slurm, unit: gpu-hour, price: 2}\n");
        struct jobspec_resources r = {.cpus_milli = 4000, .gpus = 2};
        struct cost_estimate e = {0};
        struct hoist_error *err = NULL;

        (void)state;
        assert_int_equal(cost_estimate(NULL, p, "local", NULL, &r, 1, 3 * 3600, "x", &e, &err), 0);
        assert_float_equal(e.rate_per_hour, 2.0, 1e-12);
        assert_float_equal(e.ceiling, 6.0, 1e-12);
        assert_true(e.expected < 0);
        assert_true(e.rate_set);
        cost_estimate_clear(&e);
        /* 2 GPUs on each of 3 nodes at 2 per GPU-hour; no max_runtime */
        assert_int_equal(cost_estimate(NULL, p, "slurm", NULL, &r, 3, 0, "x", &e, &err), 0);
        assert_float_equal(e.rate_per_hour, 12.0, 1e-12);
        assert_true(e.ceiling < 0);
        assert_int_equal(e.count, 3);
        cost_estimate_clear(&e);
        /* no entry at all for a provider: no rate set, not an error */
        assert_int_equal(cost_estimate(NULL, p, "compose", NULL, &r, 1, 60, "x", &e, &err), 0);
        assert_false(e.rate_set);
        assert_float_equal(e.ceiling, 0, 0);
        cost_estimate_clear(&e);
}

/* A provider that sells instances names one (price_key); the spot discount
 * applies to a spot job. */
static int fake_price_key(const void *settings, const struct jobspec_resources *r,
                          const struct prices *p, struct provider_price_key *ret,
                          struct hoist_error **err)
{
        (void)settings;
        (void)p;
        if (r->gpus > 8)
                return hoist_error_make(err, HOIST_ERR_INPUT, "no instance has %lld GPUs",
                                        (long long)r->gpus);
        *ret = (struct provider_price_key){.sku = xstrdup("big.gpu"),
                                           .region = xstrdup("eu-west-1"),
                                           .spot = r->spot,
                                           .count = 2};
        return 0;
}

/* What the engine billed: 2 instances for 1 h each of managed spot that
 * ran 1.25 h each. */
static int fake_billing(const struct job_record *job, const char *state_dir,
                        struct provider_billing *ret, struct hoist_error **err)
{
        (void)job;
        (void)state_dir;
        (void)err;
        *ret = (struct provider_billing){.billed_s = 7200,
                                         .nodes = 2,
                                         .sku = xstrdup("big.gpu"),
                                         .region = xstrdup("eu-west-1"),
                                         .spot = 1,
                                         .run_s = 9000,
                                         .source = xstrdup("BillableTimeInSeconds")};
        return 0;
}

static const struct provider_ops fake = {
        .name = "fakecloud", .price_key = fake_price_key, .billing = fake_billing};

static void test_estimate_price_key(void **state)
{
        _cleanup_prices_ struct prices *p =
                table("provider: fakecloud\nunit: instance-hour\nspot_discount: 0.6\nprices:\n"
                      "  - {sku: big.gpu, regions: {us-east-1: 10, eu-west-1: 11}}\n");
        struct jobspec_resources r = {.gpus = 1};
        struct cost_estimate e = {0};
        struct hoist_error *err = NULL;

        (void)state;
        (void)provider_register(&fake);
        assert_int_equal(cost_estimate(NULL, p, "fakecloud", NULL, &r, 1, 1800, "x", &e, &err), 0);
        assert_string_equal(e.sku, "big.gpu");
        assert_float_equal(e.rate_per_hour, 22, 1e-12);
        assert_float_equal(e.ceiling, 11, 1e-12);
        cost_estimate_clear(&e);
        r.spot = 1;
        assert_int_equal(cost_estimate(NULL, p, "fakecloud", NULL, &r, 1, 3600, "x", &e, &err), 0);
        assert_float_equal(e.rate_per_hour, 22 * 0.4, 1e-12);
        cost_estimate_clear(&e);
        r.gpus = 16;
        assert_int_equal(cost_estimate(NULL, p, "fakecloud", NULL, &r, 1, 3600, "x", &e, &err), -1);
        assert_non_null(strstr(err->msg, "no instance has 16 GPUs"));
        hoist_error_release(&err);
}

/* Cost rows sum into the job record; a block limit refuses a job whose
 * ceiling passes it, naming the limit. */
static void test_store_and_block(void **state)
{
        char dir[] = "/tmp/test_cost.XXXXXX";
        _cleanup_free_ char *db = NULL;
        _cleanup_store_ struct store *st = NULL;
        _cleanup_job_record_ struct job_record *got = NULL;
        struct hoist_error *err = NULL;
        struct job_record rec = {.id = (char *)"j-000000000001",
                                 .name = (char *)"n",
                                 .provider = (char *)"local",
                                 .state = JOB_SUCCEEDED,
                                 .exit_code = 0,
                                 .attempt = 1,
                                 .created_at_ms = cli_now_ms(),
                                 .updated_at_ms = cli_now_ms()};
        struct store_cost c = {.attempt = 1,
                               .rate_per_hour = 1,
                               .ceiling = 2,
                               .estimated = 2,
                               .billed = 0.75,
                               .billed_s = 2700,
                               .nodes = 1,
                               .currency = (char *)"USD"};

        (void)state;
        assert_non_null(mkdtemp(dir));
        db = path_join(dir, "hoist.db");
        assert_int_equal(store_open(db, &st, &err), 0);
        assert_int_equal(store_put_cost(st, rec.id, &c, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_NOT_FOUND);
        hoist_error_release(&err);
        assert_int_equal(store_insert_job(st, &rec, &err), 0);
        assert_int_equal(store_put_cost(st, rec.id, &c, &err), 0);
        c.attempt = 2;
        c.billed = -1;
        assert_int_equal(store_put_cost(st, rec.id, &c, &err), 0);
        assert_int_equal(store_get_job(st, rec.id, &got, &err), 0);
        assert_float_equal(got->cost_estimated, 4, 1e-12);
        assert_float_equal(got->cost_billed, 0.75, 1e-12);
        assert_string_equal(got->cost_currency, "USD");

        _cleanup_homeconfig_ struct homeconfig *hc =
                config("spending_limits:\n  - {period: day, amount: 3, action: block}\n", &err);
        struct cost_estimate e = {
                .provider = (char *)"local", .currency = (char *)"USD", .ceiling = 1};
        /* 0.75 billed + 2 estimated for the unbilled attempt + 1 = 3.75 > 3 */
        assert_int_equal(cost_check_limits(st, hc, &e, stderr, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_LIMIT);
        assert_int_equal(cli_exit_code(err), EXIT_SPENDING_LIMIT);
        assert_non_null(strstr(err->msg, "spending limit 3 USD per day"));
        assert_non_null(strstr(err->msg, "job's ceiling is 1.00 USD"));
        hoist_error_release(&err);
        e.ceiling = 0.25;
        assert_int_equal(cost_check_limits(st, hc, &e, stderr, &err), 0);
        (void)fs_remove_tree(dir, NULL);
}

/* A provider that sells instances reports the sku it billed: the money is
 * that sku's price x the billed seconds, and the spot saving is shown. */
static void test_settle_prices_billing(void **state)
{
        char dir[] = "/tmp/test_cost.XXXXXX";
        _cleanup_free_ char *db = NULL, *prices = NULL, *run = NULL;
        _cleanup_store_ struct store *st = NULL;
        _cleanup_job_record_ struct job_record *got = NULL;
        struct store_cost *v = NULL;
        size_t n = 0;
        struct hoist_error *err = NULL;
        const char *table = "provider: fakecloud\nunit: instance-hour\nsource: t\nprices:\n"
                            "  - {sku: big.gpu, regions: {us-east-1: 10, eu-west-1: 11}}\n";
        struct job_record rec = {.id = (char *)"j-000000000002",
                                 .name = (char *)"n",
                                 .provider = (char *)"fakecloud",
                                 .provider_ref = (char *)"training-1",
                                 .state = JOB_SUCCEEDED,
                                 .exit_code = 0,
                                 .attempt = 1,
                                 .created_at_ms = cli_now_ms(),
                                 .updated_at_ms = cli_now_ms()};
        struct store_cost c = {.attempt = 1,
                               .rate_per_hour = 8.8,
                               .ceiling = -1,
                               .estimated = -1,
                               .billed = -1,
                               .billed_s = -1,
                               .nodes = 2,
                               .sku = (char *)"big.gpu",
                               .currency = (char *)"USD"};

        (void)state;
        (void)provider_register(&fake);
        assert_non_null(mkdtemp(dir));
        db = path_join(dir, "hoist.db");
        prices = path_join(dir, "prices.yaml");
        run = path_join(dir, "run");
        struct hoist_home home = {.dir = dir, .run_dir = run};
        assert_int_equal(fs_write_file_atomic(prices, table, strlen(table), 0600, &err), 0);
        assert_int_equal(store_open(db, &st, &err), 0);
        assert_int_equal(store_insert_job(st, &rec, &err), 0);
        assert_int_equal(store_put_cost(st, rec.id, &c, &err), 0);
        assert_int_equal(store_get_job(st, rec.id, &got, &err), 0);
        assert_true(cost_unsettled(got));
        cost_settle(&home, st, got);
        assert_int_equal(store_list_costs(st, rec.id, &v, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_float_equal(v[0].billed, 11.0 * 7200 / 3600, 1e-9);
        assert_int_equal(v[0].billed_s, 7200);
        assert_true(v[0].spot);
        assert_non_null(strstr(v[0].source, "BillableTimeInSeconds (ran 9000s, billed 7200s)"));
        store_costs_free(v, n);
        job_record_free(got);
        got = NULL;
        assert_int_equal(store_get_job(st, rec.id, &got, &err), 0);
        assert_false(cost_unsettled(got));
        /* a second attempt gets the first one's rate, not its bill */
        cost_carry(st, rec.id, 2);
        assert_int_equal(store_list_costs(st, rec.id, &v, &n, &err), 0);
        assert_int_equal(n, 2);
        assert_float_equal(v[1].rate_per_hour, 8.8, 0);
        assert_true(v[1].billed < 0);
        store_costs_free(v, n);
        (void)fs_remove_tree(dir, NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_limits_config),
                cmocka_unit_test(test_estimate_user_rates),
                cmocka_unit_test(test_estimate_price_key),
                cmocka_unit_test(test_store_and_block),
                cmocka_unit_test(test_settle_prices_billing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
