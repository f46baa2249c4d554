/* SPDX-License-Identifier: MIT */
/*
 * The GPU health checks: the fault rules on readings, the ignored XIDs, the
 * settings, and the monitor thread against the fake libnvidia-ml.so.1 that
 * the Makefile builds next to this binary (fake_nvml/libnvidia-ml.so.1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "entrypoint/gpu.h"
#include "jobspec.h"
#include "log.h"

static const struct gpu_reading healthy = {
        .temperature_c = 45,
        .slowdown_c = 90,
        .shutdown_c = 95,
};

static void test_healthy(void **state)
{
        unsigned int strikes = 0;

        (void)state;
        assert_int_equal(gpu_evaluate(&healthy, &strikes), GPU_CHECK_OK);
        assert_int_equal(strikes, 0);
}

static void test_each_fault(void **state)
{
        struct gpu_reading r;
        unsigned int strikes = 0;

        (void)state;
        r = healthy;
        r.ecc_uncorrected = 1;
        assert_int_equal(gpu_evaluate(&r, &strikes), GPU_CHECK_ECC);
        r = healthy;
        r.remapped_failure = 1;
        assert_int_equal(gpu_evaluate(&r, &strikes), GPU_CHECK_REMAPPED);
        r = healthy;
        r.remapped_pending = 1;
        assert_int_equal(gpu_evaluate(&r, &strikes), GPU_CHECK_REMAPPED);
        r = healthy;
        r.temperature_c = 95;
        assert_int_equal(gpu_evaluate(&r, &strikes), GPU_CHECK_TEMPERATURE);
}

/* Over the slowdown threshold is slow, not broken; an unknown shutdown
 * threshold (0) never trips. */
static void test_temperature_edges(void **state)
{
        struct gpu_reading r = healthy;
        unsigned int strikes = 0;

        (void)state;
        r.temperature_c = 94;
        assert_int_equal(gpu_evaluate(&r, &strikes), GPU_CHECK_OK);
        r.temperature_c = 200;
        r.shutdown_c = 0;
        assert_int_equal(gpu_evaluate(&r, &strikes), GPU_CHECK_OK);
}

/* HW slowdown (0x8), SW thermal (0x20), HW thermal (0x40) trip after
 * GPU_SLOWDOWN_STRIKES checks in a row; a clear reading resets the count;
 * other reasons (SW power cap 0x4, idle 0x1) never count. */
static void test_clock_slowdown(void **state)
{
        static const unsigned long long reasons[] = {0x8, 0x20, 0x40};
        struct gpu_reading r = healthy;
        unsigned int strikes = 0;

        (void)state;
        for (size_t k = 0; k < sizeof reasons / sizeof reasons[0]; k++) {
                strikes = 0;
                r.clocks_reasons = reasons[k];
                for (int i = 1; i < GPU_SLOWDOWN_STRIKES; i++)
                        assert_int_equal(gpu_evaluate(&r, &strikes), GPU_CHECK_OK);
                assert_int_equal(gpu_evaluate(&r, &strikes), GPU_CHECK_SLOWDOWN);
        }
        strikes = 0;
        r.clocks_reasons = 0x40;
        assert_int_equal(gpu_evaluate(&r, &strikes), GPU_CHECK_OK);
        r.clocks_reasons = 0;
        assert_int_equal(gpu_evaluate(&r, &strikes), GPU_CHECK_OK);
        assert_int_equal(strikes, 0);
        r.clocks_reasons = 0x4 | 0x1;
        for (int i = 0; i < 10; i++)
                assert_int_equal(gpu_evaluate(&r, &strikes), GPU_CHECK_OK);
}

static void test_xids(void **state)
{
        static const unsigned long long ignored[] = {13, 31, 43, 45, 68, 109};
        static const unsigned long long critical[] = {48, 63, 64, 74, 79, 92, 94, 95, 119};

        (void)state;
        for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
                assert_false(gpu_xid_critical(ignored[i]));
        for (size_t i = 0; i < sizeof critical / sizeof critical[0]; i++)
                assert_true(gpu_xid_critical(critical[i]));
}

static void test_check_names(void **state)
{
        (void)state;
        assert_string_equal(gpu_check_name(GPU_CHECK_ECC), "ecc");
        assert_string_equal(gpu_check_name(GPU_CHECK_REMAPPED), "remapped_rows");
        assert_string_equal(gpu_check_name(GPU_CHECK_TEMPERATURE), "temperature");
        assert_string_equal(gpu_check_name(GPU_CHECK_SLOWDOWN), "clock_slowdown");
        assert_string_equal(gpu_check_name(GPU_CHECK_XID), "xid");
        assert_string_equal(gpu_check_name(GPU_CHECK_LOST), "gpu_lost");
}

/* job.json's gpu_health.enabled false turns the monitor off; it is on by
 * default (jobspec_new()). */
static void test_settings(void **state)
{
        struct jobspec *spec = jobspec_new();
        struct gpu_monitor *m;

        (void)state;
        assert_true(spec->gpu_health);
        spec->gpu_health = 0;
        assert_null(gpu_monitor_new(spec, NULL));
        spec->gpu_health = 1;
        m = gpu_monitor_new(spec, NULL);
        assert_non_null(m);
        assert_null(gpu_monitor_fault(m));
        gpu_monitor_free(m);
        jobspec_free(spec);
}

/* No NVML: the thread says so and ends; stopping it is harmless. */
static void test_no_nvml(void **state)
{
        struct jobspec *spec = jobspec_new();
        struct gpu_monitor *m = gpu_monitor_new(spec, NULL);
        struct hoist_error *err = NULL;

        (void)state;
        setenv("HOIST_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1);
        assert_int_equal(gpu_monitor_start(m, &err), 0);
        gpu_monitor_stop(m);
        assert_null(gpu_monitor_fault(m));
        gpu_monitor_free(m);
        jobspec_free(spec);
        unsetenv("HOIST_NVML_LIBRARY");
}

static char fake_dir[PATH_MAX];

static int find_fake(void **state)
{
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        char lib[PATH_MAX + 64];

        (void)state;
        if (n <= 0)
                return -1;
        self[n] = '\0';
        snprintf(fake_dir, sizeof fake_dir, "%s", dirname(self));
        snprintf(lib, sizeof lib, "%s/fake_nvml/libnvidia-ml.so.1", fake_dir);
        if (access(lib, R_OK) != 0) {
                fprintf(stderr, "%s is missing: build it with make %s\n", lib, lib);
                return -1;
        }
        setenv("HOIST_NVML_LIBRARY", lib, 1);
        setenv("HOIST_GPU_HEALTH_INTERVAL_MS", "20", 1);
        return 0;
}

/* Runs the monitor on the fake NVML configured with CONFIG until it reports
 * a fault or about MS milliseconds pass; returns the fault text (copied) or
 * NULL. */
static char *run_fake(const char *config, int ms)
{
        char path[PATH_MAX + 32];
        struct jobspec *spec = jobspec_new();
        struct gpu_monitor *m;
        struct hoist_error *err = NULL;
        FILE *f;
        char *fault = NULL;

        snprintf(path, sizeof path, "/tmp/hoist-test-gpu-%d.conf", (int)getpid());
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(config, f);
        fclose(f);
        setenv("FAKE_NVML_CONFIG", path, 1);
        m = gpu_monitor_new(spec, NULL);
        assert_int_equal(gpu_monitor_start(m, &err), 0);
        /* Polling a result, not timing it: a fault comes within a few 20 ms
         * rounds; MS only bounds the wait. */
        for (int i = 0; i < ms / 10 && gpu_monitor_fault(m) == NULL; i++) {
                struct timespec ts = {.tv_nsec = 10 * 1000 * 1000};
                nanosleep(&ts, NULL);
        }
        gpu_monitor_stop(m);
        if (gpu_monitor_fault(m) != NULL)
                fault = strdup(gpu_monitor_fault(m));
        gpu_monitor_free(m);
        jobspec_free(spec);
        unlink(path);
        return fault;
}

static void test_fake_faults(void **state)
{
        static const struct {
                const char *config, *expect;
        } cases[] = {
                {"ecc_uncorrected=2\n", "2 uncorrectable ECC error(s)"},
                {"temperature=97\n", "temperature 97 C at or over the shutdown threshold 95 C"},
                {"remapped_failure=1\n", "row remapping failed"},
                {"xid=79\n", "critical XID 79"},
                {"clocks_reasons=0x40\n", "clocks slowed down"},
                {"gpu_lost=1\n", "fell off the bus"},
                {"device_count=3\nfault_device=2\necc_uncorrected=1\n", "GPU 2 (GPU-fake"},
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char *fault = run_fake(cases[i].config, 10000);
                if (fault == NULL || strstr(fault, cases[i].expect) == NULL)
                        fail_msg("config '%s': fault '%s', expected '%s'", cases[i].config,
                                 fault ? fault : "(none)", cases[i].expect);
                free(fault);
        }
}

static void test_fake_healthy(void **state)
{
        static const char *const configs[] = {
                "temperature=60\n", "xid=13\n", /* an application error: ignored */
                "temperature=91\n", "clocks_reasons=0x4\n",
                "init_error=9\n", /* no driver: monitor off */
        };

        (void)state;
        for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
                char *fault = run_fake(configs[i], 300);
                if (fault != NULL)
                        fail_msg("config '%s': unexpected fault '%s'", configs[i], fault);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_healthy),
                cmocka_unit_test(test_each_fault),
                cmocka_unit_test(test_temperature_edges),
                cmocka_unit_test(test_clock_slowdown),
                cmocka_unit_test(test_xids),
                cmocka_unit_test(test_check_names),
                cmocka_unit_test(test_settings),
                cmocka_unit_test(test_no_nvml),
                cmocka_unit_test_setup(test_fake_faults, find_fake),
                cmocka_unit_test_setup(test_fake_healthy, find_fake),
        };
        log_set_program("test_gpu (faults below are expected)");
        return cmocka_run_group_tests_name("gpu", tests, NULL, NULL);
}
