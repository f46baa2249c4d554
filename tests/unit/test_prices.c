/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "providers/prices.h"

/* Every built-in table parses, and every entry says where it comes from. */
static void test_embedded_tables(void **state)
{
        _cleanup_prices_ struct prices *p = NULL;
        struct hoist_error *err = NULL;
        size_t sm = 0;

        (void)state;
        assert_int_equal(prices_load(NULL, &p, &err), 0);
        assert_true(prices_count(p) > 50);
        for (size_t i = 0; i < prices_count(p); i++) {
                const struct price_entry *e = prices_at(p, i);
                assert_non_null(e->source);
                assert_true(strlen(e->source) > 10);
                assert_non_null(e->unit);
                assert_string_equal(e->currency, "USD");
                if (strcmp(e->provider, "sagemaker") == 0) {
                        sm++;
                        assert_non_null(e->sku);
                        assert_non_null(e->region);
                        assert_true(e->gpus > 0 && e->vcpus > 0 && e->memory_gib > 0);
                        assert_float_equal(e->spot_discount, 0.7, 1e-12);
                }
        }
        assert_true(sm >= 3 * 20);
        const struct price_entry *e = prices_find(p, "sagemaker", "ml.p4d.24xlarge", "us-west-2");
        assert_non_null(e);
        assert_int_equal(e->gpus, 8);
        assert_string_equal(e->gpu_type, "A100");
        assert_null(prices_find(p, "sagemaker", "ml.p4d.24xlarge", "mars-1"));
        e = prices_find(p, "replicate", "gpu-h100", NULL);
        assert_non_null(e);
        assert_string_equal(e->unit, "second");
        e = prices_find(p, "slurm", NULL, NULL);
        assert_non_null(e);
        assert_float_equal(e->price, 0, 0);
        assert_null(prices_at(p, prices_count(p)));
}

/* $HOIST_HOME/prices.yaml replaces an entry with the same provider, sku and
 * region, adds the others, and an entry for any region is found for every
 * region that has none of its own. */
static void test_user_override(void **state)
{
        char dir[] = "/tmp/test_prices.XXXXXX";
        _cleanup_prices_ struct prices *p = NULL;
        _cleanup_free_ char *path = NULL;
        struct hoist_error *err = NULL;
        size_t before;
        const char *text = "provider: sagemaker\n"
                           "unit: instance-hour\n"
                           "prices:\n"
                           "  - sku: ml.g5.xlarge\n"
                           "    region: us-east-1\n"
                           "    price: 0.5\n"
                           "    source: negotiated\n"
                           "  - sku: ml.trn1.2xlarge\n"
                           "    price: 1.5\n"
                           "  - provider: local\n"
                           "    unit: gpu-hour\n"
                           "    price: 0.25\n";

        (void)state;
        assert_non_null(mkdtemp(dir));
        {
                _cleanup_prices_ struct prices *base = NULL;
                assert_int_equal(prices_load(NULL, &base, &err), 0);
                before = prices_count(base);
        }
        path = path_join(dir, "prices.yaml");
        assert_int_equal(fs_write_file_atomic(path, text, strlen(text), 0600, &err), 0);
        assert_int_equal(prices_load(dir, &p, &err), 0);
        assert_int_equal(prices_count(p), before + 1);
        const struct price_entry *e = prices_find(p, "sagemaker", "ml.g5.xlarge", "us-east-1");
        assert_float_equal(e->price, 0.5, 0);
        assert_string_equal(e->source, "negotiated");
        e = prices_find(p, "sagemaker", "ml.g5.xlarge", "us-west-2");
        assert_float_equal(e->price, 1.408, 0);
        e = prices_find(p, "sagemaker", "ml.trn1.2xlarge", "ap-south-1");
        assert_non_null(e);
        assert_null(e->region);
        assert_non_null(strstr(e->source, "prices.yaml"));
        e = prices_find(p, "local", NULL, NULL);
        assert_string_equal(e->unit, "gpu-hour");
        assert_float_equal(e->price, 0.25, 0);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
}

static void expect_error(const char *text, const char *needle)
{
        struct prices *p = prices_new();
        struct hoist_error *err = NULL;

        assert_int_equal(prices_parse(text, strlen(text), "prices.yaml", "default", p, &err), -1);
        assert_non_null(err);
        if (strstr(err->msg, needle) == NULL)
                fail_msg("'%s' lacks '%s'", err->msg, needle);
        hoist_error_free(err);
        prices_free(p);
}

static void test_errors(void **state)
{
        (void)state;
        expect_error("prices:\n  - provider: x\n    unit: fortnight\n    price: 1\n",
                     "'prices.yaml':3: field 'prices[0].unit': unit 'fortnight'");
        expect_error("prices:\n  - provider: x\n    unit: second\n    price: -1\n",
                     "'prices.yaml':4: field 'prices[0].price': expected a number from 0");
        expect_error("prices:\n  - provider: x\n    unit: second\n    price: cheap\n",
                     "got 'cheap'");
        expect_error("prices:\n  - unit: second\n    price: 1\n", "names no provider");
        expect_error("prices:\n  - provider: x\n    unit: second\n", "either 'price' or 'regions'");
        expect_error("prices:\n  - provider: x\n    unit: second\n    price: 1\n    currency: $\n",
                     "3-letter ISO 4217");
        expect_error("prices:\n  - provider: x\n    unit: second\n    prize: 1\n", "prize");
        expect_error("prices: {a: 1}\n", "expected a list of entries");
        expect_error(
                "prices:\n  - provider: x\n    unit: second\n    price: 1\n    spot_discount: 2\n",
                "spot_discount");
        /* with no default source, an entry must name one */
        struct prices *p = prices_new();
        struct hoist_error *err = NULL;
        const char *t = "prices:\n  - provider: x\n    unit: second\n    price: 1\n";
        assert_int_equal(prices_parse(t, strlen(t), "x.yaml", NULL, p, &err), -1);
        assert_non_null(strstr(err->msg, "names no source"));
        hoist_error_free(err);
        prices_free(p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_embedded_tables),
                cmocka_unit_test(test_user_override),
                cmocka_unit_test(test_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
