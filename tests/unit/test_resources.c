/* SPDX-License-Identifier: MIT */
/* lib/resources: the GPU, CPU and size spellings of job.yaml's resources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "resources.h"

static void gpus_ok(const char *s, int64_t count, const char *type)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_free_ char *t = NULL;
        int64_t n = -1;

        if (resources_parse_gpus(s, &n, &t, &err) < 0)
                fail_msg("'%s': %s", s, err->msg);
        assert_int_equal(n, count);
        if (type == NULL)
                assert_null(t);
        else
                assert_string_equal(t, type);
}

static void gpus_bad(const char *s, const char *want)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        char *t = NULL;
        int64_t n = -7;

        assert_int_equal(resources_parse_gpus(s, &n, &t, &err), -1);
        assert_int_equal(n, -7); /* untouched */
        assert_null(t);
        assert_int_equal(err->code, HOIST_ERR_INPUT);
        if (strstr(err->msg, want) == NULL)
                fail_msg("'%s': '%s' lacks '%s'", s, err->msg, want);
}

static void test_gpus(void **state)
{
        (void)state;
        gpus_ok("0", 0, NULL);
        gpus_ok("1", 1, NULL);
        gpus_ok("8", 8, NULL);
        gpus_ok("64", 64, NULL);
        gpus_ok("H100:8", 8, "H100");
        gpus_ok("A100-80GB:2", 2, "A100-80GB");
        gpus_ok("H100", 1, "H100");
        gpus_ok("l40s:1", 1, "l40s");
        gpus_ok("RTX.4090_x:3", 3, "RTX.4090_x");

        gpus_bad("-1", "cannot be negative, got '-1'");
        gpus_bad("1.5", "a GPU count is a whole number, got '1.5'");
        gpus_bad("01", "from 0 to 64 (no leading zeros), got '01'");
        gpus_bad("65", "from 0 to 64");
        gpus_bad("99999999999999999999", "from 0 to 64");
        gpus_bad("H100:0", "from 1 to 64 after 'H100:', got '0'");
        gpus_bad("H100:", "after 'H100:', got ''");
        gpus_bad("H100:-2", "after 'H100:', got '-2'");
        gpus_bad("H100:2:3", "after 'H100:', got '2:3'");
        gpus_bad(":8", "a model and a count");
        gpus_bad("", "a model and a count");
        gpus_bad("two", "got 'two'");
        gpus_bad("all", "got 'all'");
        gpus_bad("true", "got 'true'");
        gpus_bad("H 100:1", "got 'H 100:1'");
        gpus_bad("-H100:1", "got '-H100:1'");
        gpus_bad("A1234567890123456789012345678901234567890123456789012345678901234:1", "up to 64");
}

static void cpus_ok(const char *s, int64_t milli)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        int64_t v = -1;

        if (resources_parse_cpus(s, &v, &err) < 0)
                fail_msg("'%s': %s", s, err->msg);
        assert_int_equal(v, milli);
}

static void cpus_bad(const char *s, const char *want)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        int64_t v = -7;

        assert_int_equal(resources_parse_cpus(s, &v, &err), -1);
        assert_int_equal(v, -7);
        if (strstr(err->msg, want) == NULL)
                fail_msg("'%s': '%s' lacks '%s'", s, err->msg, want);
}

static void test_cpus(void **state)
{
        char buf[32];

        (void)state;
        cpus_ok("8", 8000);
        cpus_ok("0.5", 500);
        cpus_ok("1.25", 1250);
        cpus_ok("0.001", 1);
        cpus_ok("2.0", 2000);
        cpus_ok("500m", 500);
        cpus_ok("1500m", 1500);
        cpus_ok("65536", 65536000);

        cpus_bad("0", "more than 0 CPUs, got '0'");
        cpus_bad("0.0", "more than 0");
        cpus_bad("0m", "more than 0");
        cpus_bad("-1", "got '-1'");
        cpus_bad("0.0001", "at most three decimals");
        cpus_bad("1.", "got '1.'");
        cpus_bad(".5", "got '.5'");
        cpus_bad("1,5", "got '1,5'");
        cpus_bad("eight", "got 'eight'");
        cpus_bad("8 cpus", "got '8 cpus'");
        cpus_bad("m", "got 'm'");
        cpus_bad("65537", "up to 65536");
        cpus_bad("99999999999999999999", "up to 65536");

        assert_string_equal(resources_format_cpus(500, buf, sizeof buf), "0.5");
        assert_string_equal(resources_format_cpus(8000, buf, sizeof buf), "8");
        assert_string_equal(resources_format_cpus(1250, buf, sizeof buf), "1.25");
        assert_string_equal(resources_format_cpus(1, buf, sizeof buf), "0.001");
}

static void size_ok(const char *s, uint64_t bytes)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        uint64_t v = 0;

        if (resources_parse_size(s, &v, &err) < 0)
                fail_msg("'%s': %s", s, err->msg);
        assert_int_equal(v, bytes);
}

static void size_bad(const char *s, const char *want)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        uint64_t v = 7;

        assert_int_equal(resources_parse_size(s, &v, &err), -1);
        assert_int_equal(v, 7);
        if (strstr(err->msg, want) == NULL)
                fail_msg("'%s': '%s' lacks '%s'", s, err->msg, want);
}

static void test_sizes(void **state)
{
        (void)state;
        size_ok("100", 100);
        size_ok("100B", 100);
        size_ok("1K", 1024);
        size_ok("1k", 1024);
        size_ok("1Ki", 1024);
        size_ok("1KiB", 1024);
        size_ok("256MiB", 256ULL << 20);
        size_ok("256m", 256ULL << 20); /* as docker reads it */
        size_ok("256Mi", 256ULL << 20);
        size_ok("32GiB", 32ULL << 30);
        size_ok("32G", 32ULL << 30);
        size_ok("32 GiB", 32ULL << 30);
        size_ok("1.5GiB", 3ULL << 29);
        size_ok("0.5k", 512);
        size_ok("1.0001k", 1024); /* rounds down to a byte */
        size_ok("2TiB", 2ULL << 40);
        size_ok("8388607TiB", 8388607ULL << 40);

        size_bad("0", "above 0, got '0'");
        size_bad("0GiB", "above 0");
        size_bad("-1GiB", "cannot be negative");
        size_bad("32GB", "'32GB' is ambiguous");
        size_bad("32GB", "write 32GiB");
        size_bad("1mb", "write 1MiB");
        size_bad("32Gb", "ambiguous");
        size_bad("32PiB", "units: B, K/Ki/KiB");
        size_bad("lots", "got 'lots'");
        size_bad("GiB", "got 'GiB'");
        size_bad("1.GiB", "got '1.GiB'");
        size_bad("32  GiB", "got '32  GiB'");
        size_bad("8388608TiB", "too large");
        size_bad("99999999999999999999", "got '99999999999999999999'");
        size_bad("1.0000000001G", "got");
}

static void test_format_and_describe(void **state)
{
        char buf[32];
        _cleanup_free_ char *a = resources_describe_gpus(1, NULL);
        _cleanup_free_ char *b = resources_describe_gpus(2, NULL);
        _cleanup_free_ char *c = resources_describe_gpus(8, "H100");

        (void)state;
        assert_string_equal(a, "1 GPU");
        assert_string_equal(b, "2 GPUs");
        assert_string_equal(c, "8 H100 GPUs");
        assert_string_equal(resources_format_size(100, buf, sizeof buf), "100 B");
        assert_string_equal(resources_format_size(256ULL << 20, buf, sizeof buf), "256 MiB");
        assert_string_equal(resources_format_size(32ULL << 30, buf, sizeof buf), "32 GiB");
        assert_string_equal(resources_format_size(3ULL << 29, buf, sizeof buf), "1.5 GiB");
        assert_string_equal(resources_format_size(1025, buf, sizeof buf), "1.0 KiB");
}

static void test_gpu_type_matches(void **state)
{
        (void)state;
        assert_true(resources_gpu_type_matches("H100", "NVIDIA H100 80GB HBM3"));
        assert_true(resources_gpu_type_matches("h100", "NVIDIA H100 80GB HBM3"));
        assert_true(resources_gpu_type_matches("H100-80GB", "NVIDIA H100 80GB HBM3"));
        assert_true(resources_gpu_type_matches("A100-80GB", "NVIDIA A100-SXM4-80GB"));
        assert_true(resources_gpu_type_matches("A100-80GB", "NVIDIA A100 80GB PCIe"));
        assert_true(resources_gpu_type_matches("A100", "NVIDIA A100-PCIE-40GB"));
        assert_true(resources_gpu_type_matches("NVIDIA-A10G", "NVIDIA A10G"));
        assert_false(resources_gpu_type_matches("A100-80GB", "NVIDIA A100-SXM4-40GB"));
        assert_false(resources_gpu_type_matches("A100", "NVIDIA H100 80GB HBM3"));
        assert_false(resources_gpu_type_matches("L4", "NVIDIA L40S"));
        assert_false(resources_gpu_type_matches("H100", "NVIDIA H1000"));
        assert_false(resources_gpu_type_matches("H100", ""));
}

static void test_copy_clear_empty(void **state)
{
        struct jobspec_resources a = {.gpus = 2, .gpu_type = strdup("H100"), .cpus_milli = 500};
        struct jobspec_resources b;

        (void)state;
        assert_false(resources_empty(&a));
        resources_copy(&b, &a);
        assert_ptr_not_equal(a.gpu_type, b.gpu_type);
        assert_string_equal(b.gpu_type, "H100");
        assert_int_equal(b.cpus_milli, 500);
        resources_clear(&a);
        resources_clear(&b);
        assert_true(resources_empty(&a));
        assert_null(b.gpu_type);
        assert_true(resources_empty(&(struct jobspec_resources){.spot = 0}));
        assert_false(resources_empty(&(struct jobspec_resources){.spot = 1}));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_gpus),
                cmocka_unit_test(test_cpus),
                cmocka_unit_test(test_sizes),
                cmocka_unit_test(test_format_and_describe),
                cmocka_unit_test(test_gpu_type_matches),
                cmocka_unit_test(test_copy_clear_empty),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
