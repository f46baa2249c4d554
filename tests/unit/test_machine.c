/* SPDX-License-Identifier: MIT */
/* lib/machine (what this machine has, and whether a job's resources fit)
 * on the fake NVML (tests/fake_nvml) and a fake nvidia-smi, and the local
 * provider's mapping of resources onto engine flags and checks. */
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "machine.h"
#include "providers/local_resources.h"
#include "resources.h"
#include "xalloc.h"
#include "helpers/testutil.h"

static char fake_lib[PATH_MAX + 64];
static char tmp_dir[64];
static char *saved_path;

static int setup(void **state)
{
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

        (void)state;
        if (n <= 0)
                return -1;
        self[n] = '\0';
        snprintf(fake_lib, sizeof fake_lib, "%s/fake_nvml/libnvidia-ml.so.1", dirname(self));
        if (access(fake_lib, R_OK) != 0) {
                fprintf(stderr, "%s is missing: build it with make %s\n", fake_lib, fake_lib);
                return -1;
        }
        strcpy(tmp_dir, "/tmp/hoist-test-machine.XXXXXX");
        if (mkdtemp(tmp_dir) == NULL)
                return -1;
        saved_path = xstrdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
        return 0;
}

static int teardown(void **state)
{
        struct hoist_error *err = NULL;
        int r = fs_remove_tree(tmp_dir, &err);

        (void)state;
        hoist_error_free(err);
        setenv("PATH", saved_path, 1);
        free(saved_path);
        return r;
}

/* The fake NVML reporting CONFIG; PATH without any nvidia-smi. */
static void use_fake_nvml(const char *config)
{
        t_write_file(tmp_dir, "nvml.conf", config);
        _cleanup_free_ char *path = path_join(tmp_dir, "nvml.conf");
        setenv("HOIST_NVML_LIBRARY", fake_lib, 1);
        setenv("FAKE_NVML_CONFIG", path, 1);
        setenv("PATH", "/nonexistent", 1);
}

static void no_gpu_tools(void)
{
        setenv("HOIST_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1);
        setenv("PATH", "/nonexistent", 1);
}

static struct machine *probe(unsigned int what)
{
        struct machine *m = NULL;
        _cleanup_error_ struct hoist_error *err = NULL;

        if (machine_probe(what, &m, &err) < 0)
                fail_msg("%s", err->msg);
        return m;
}

/* Fits R on M: the chosen indices as "0,1", or the error text; free it. */
static char *fit(const struct machine *m, const struct jobspec_resources *r)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_free_ unsigned int *gpus = NULL;
        struct buf b = {0};
        size_t n = 99;

        if (machine_fit(m, r, &gpus, &n, &err) < 0) {
                assert_int_equal(err->code, HOIST_ERR_INPUT);
                return xstrdup(err->msg);
        }
        buf_append_str(&b, "");
        for (size_t i = 0; i < n; i++)
                buf_printf(&b, "%s%u", i ? "," : "", gpus[i]);
        return buf_take(&b);
}

#define FIT(m, want, ...)                                                                          \
        do {                                                                                       \
                struct jobspec_resources r_ = {__VA_ARGS__};                                       \
                _cleanup_free_ char *got_ = fit((m), &r_);                                         \
                assert_string_equal(got_, (want));                                                 \
        } while (0)

static void test_fake_nvml_h100s(void **state)
{
        (void)state;
        use_fake_nvml("device_count=2\nname=NVIDIA H100 80GB HBM3\n");
        _cleanup_machine_ struct machine *m = probe(MACHINE_GPUS);

        assert_int_equal(m->n_gpus, 2);
        assert_string_equal(m->gpu_source, "NVML");
        assert_string_equal(m->gpus[1].name, "NVIDIA H100 80GB HBM3");
        FIT(m, "", .gpus = 0);
        FIT(m, "0", .gpus = 1);
        FIT(m, "0,1", .gpus = 2);
        FIT(m, "0,1", .gpus = 2, .gpu_type = (char *)"H100");
        FIT(m, "0", .gpus = 1, .gpu_type = (char *)"H100-80GB");
        FIT(m,
            "resources.gpus asks for 1 A100 GPU, but this machine has none of that model "
            "(NVML: 2 x NVIDIA H100 80GB HBM3)",
            .gpus = 1, .gpu_type = (char *)"A100");
        FIT(m,
            "resources.gpus asks for 4 GPUs, but this machine has 2 (NVML: 2 x NVIDIA H100 "
            "80GB HBM3)",
            .gpus = 4);
        FIT(m,
            "resources.gpus asks for 3 H100 GPUs, but this machine has 2 of that model (NVML: 2 "
            "x NVIDIA H100 80GB HBM3)",
            .gpus = 3, .gpu_type = (char *)"H100");
}

static void test_no_gpu(void **state)
{
        (void)state;
        no_gpu_tools();
        _cleanup_machine_ struct machine *m = probe(MACHINE_GPUS);

        assert_int_equal(m->n_gpus, 0);
        assert_null(m->gpu_source);
        FIT(m,
            "resources.gpus asks for 1 GPU, but this machine has none (/nonexistent/"
            "libnvidia-ml.so.1 not found; nvidia-smi not found)",
            .gpus = 1);
        FIT(m, "", .cpus_milli = 1);
}

/* NVML loads but its driver does not: nvidia-smi is asked next. */
static void test_nvml_without_driver_then_nvidia_smi(void **state)
{
        (void)state;
        use_fake_nvml("init_error=9\n");
        _cleanup_machine_ struct machine *none = probe(MACHINE_GPUS);
        assert_int_equal(none->n_gpus, 0);
        assert_string_equal(none->gpu_why, "nvmlInit: Driver Not Loaded; nvidia-smi not found");

        t_write_file(tmp_dir, "nvidia-smi",
                     "#!/bin/sh\n[ \"$1\" = -L ] || exit 2\n"
                     "echo 'GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-5a1b)'\n"
                     "echo 'GPU 1: NVIDIA A10G (UUID: GPU-77aa)'\n");
        _cleanup_free_ char *smi = path_join(tmp_dir, "nvidia-smi");
        assert_int_equal(chmod(smi, 0755), 0);
        setenv("PATH", tmp_dir, 1);
        _cleanup_machine_ struct machine *m = probe(MACHINE_GPUS);
        assert_int_equal(m->n_gpus, 2);
        assert_string_equal(m->gpu_source, "nvidia-smi -L");
        assert_string_equal(m->gpus[0].name, "NVIDIA A100-SXM4-80GB");
        FIT(m, "0", .gpus = 1, .gpu_type = (char *)"A100-80GB");
        FIT(m, "1", .gpus = 1, .gpu_type = (char *)"A10G");
        FIT(m,
            "resources.gpus asks for 2 A100 GPUs, but this machine has 1 of that model "
            "(nvidia-smi -L: 1 x NVIDIA A100-SXM4-80GB, 1 x NVIDIA A10G)",
            .gpus = 2, .gpu_type = (char *)"A100");

        /* A failing nvidia-smi says why. */
        t_write_file(tmp_dir, "nvidia-smi",
                     "#!/bin/sh\necho 'NVIDIA-SMI has failed because it could not "
                     "communicate with the NVIDIA driver.' >&2\nexit 9\n");
        _cleanup_machine_ struct machine *broken = probe(MACHINE_GPUS);
        assert_int_equal(broken->n_gpus, 0);
        assert_string_equal(broken->gpu_why,
                            "nvmlInit: Driver Not Loaded; nvidia-smi -L failed (exit 9): "
                            "NVIDIA-SMI has failed because it could not communicate with the "
                            "NVIDIA driver.");
}

static void test_parse_nvidia_smi(void **state)
{
        struct machine m = {0};

        (void)state;
        machine_parse_nvidia_smi("GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1)\n"
                                 "  MIG 1g.10gb Device 0: (UUID: MIG-2)\n"
                                 "GPU 3: Tesla T4 (UUID: GPU-3)\n"
                                 "garbage\n"
                                 "GPU 4: NVIDIA L4",
                                 &m);
        assert_int_equal(m.n_gpus, 3);
        assert_int_equal(m.gpus[0].index, 0);
        assert_string_equal(m.gpus[0].name, "NVIDIA H100 80GB HBM3");
        assert_int_equal(m.gpus[1].index, 3);
        assert_string_equal(m.gpus[1].name, "Tesla T4");
        assert_string_equal(m.gpus[2].name, "NVIDIA L4");
        for (size_t i = 0; i < m.n_gpus; i++)
                free(m.gpus[i].name);
        free(m.gpus);
}

static void test_cpus_and_memory(void **state)
{
        (void)state;
        _cleanup_machine_ struct machine *m = probe(MACHINE_CPUS | MACHINE_MEMORY);
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        char want[160];

        assert_true(m->cpus_milli >= 1);
        assert_true(m->cpus_milli <= online * 1000);
        assert_true(m->memory_bytes > 0);
        assert_non_null(m->cpus_source);
        assert_non_null(m->memory_source);
        FIT(m, "", .cpus_milli = m->cpus_milli, .memory_bytes = m->memory_bytes);
        struct jobspec_resources r = {.cpus_milli = m->cpus_milli + 1};
        _cleanup_free_ char *got = fit(m, &r);
        char a[32], b[32];
        snprintf(want, sizeof want, "resources.cpus asks for %s CPUs, but this machine has %s (%s)",
                 resources_format_cpus(r.cpus_milli, a, sizeof a),
                 resources_format_cpus(m->cpus_milli, b, sizeof b), m->cpus_source);
        assert_string_equal(got, want);
        struct jobspec_resources r2 = {.memory_bytes = m->memory_bytes + 1};
        _cleanup_free_ char *got2 = fit(m, &r2);
        assert_non_null(strstr(got2, "resources.memory asks for "));
        assert_non_null(strstr(got2, m->memory_source));
}

static char *joined(char **v)
{
        struct buf b = {0};

        buf_append_str(&b, "");
        for (char **p = v; *p != NULL; p++)
                buf_printf(&b, "%s%s", p == v ? "" : " ", *p);
        strv_free(v);
        return buf_take(&b);
}

static void test_render_args(void **state)
{
        static const unsigned int one[] = {1}, two[] = {0, 1};
        struct jobspec_resources r = {.cpus_milli = 1500, .memory_bytes = 256ULL << 20};
        struct jobspec_resources g = {.gpus = 1};
        _cleanup_free_ char *a = joined(local_resources_render_args(&r, "podman", NULL, 0, 0));
        _cleanup_free_ char *b = joined(local_resources_render_args(&g, "podman", one, 1, 2));
        _cleanup_free_ char *c = joined(local_resources_render_args(&g, "podman", two, 2, 2));
        _cleanup_free_ char *d = joined(local_resources_render_args(&g, "docker", one, 1, 2));
        _cleanup_free_ char *e = joined(local_resources_render_args(&g, "docker", two, 2, 2));
        _cleanup_free_ char *f = joined(local_resources_render_args(&g, "docker", two, 2, 4));
        _cleanup_free_ char *none = joined(local_resources_render_args(
                &(struct jobspec_resources){.disk_bytes = 1}, "podman", NULL, 0, 0));

        (void)state;
        assert_string_equal(a, "--cpus 1.5 --memory 268435456");
        assert_string_equal(b, "--device nvidia.com/gpu=1 --security-opt=label=disable");
        assert_string_equal(c, "--device nvidia.com/gpu=all --security-opt=label=disable");
        assert_string_equal(d, "--gpus \"device=1\"");
        assert_string_equal(e, "--gpus all");
        assert_string_equal(f, "--gpus \"device=0,1\"");
        assert_string_equal(none, "");
}

static void check_fails(const struct jobspec_resources *r, const char *engine, const char *want)
{
        _cleanup_error_ struct hoist_error *err = NULL;

        assert_int_equal(local_check_resources(r, engine, tmp_dir, &err), -1);
        if (strstr(err->msg, want) == NULL)
                fail_msg("'%s' lacks '%s'", err->msg, want);
}

static void check_ok(const struct jobspec_resources *r, const char *engine)
{
        _cleanup_error_ struct hoist_error *err = NULL;

        if (local_check_resources(r, engine, tmp_dir, &err) < 0)
                fail_msg("%s", err->msg);
}

static void test_local_checks(void **state)
{
        _cleanup_free_ char *cdi = path_join(tmp_dir, "cdi");
        _cleanup_free_ char *cuda = NULL;
        _cleanup_error_ struct hoist_error *err = NULL;
        struct jobspec_resources gpu = {.gpus = 1};

        (void)state;
        use_fake_nvml("device_count=2\nname=NVIDIA H100 80GB HBM3\n");
        setenv("HOIST_CDI_SPEC_DIRS", cdi, 1);
        check_ok(&(struct jobspec_resources){0}, "podman");
        check_ok(&(struct jobspec_resources){.spot = 0, .disk_bytes = 1}, NULL);
        check_ok(&(struct jobspec_resources){.memory_bytes = 1 << 20}, NULL);
        check_fails(&(struct jobspec_resources){.memory_bytes = 1 << 20}, "podman",
                    "resources.memory asks for 1 MiB, and podman refuses a memory limit under 6 "
                    "MiB");
        check_fails(&(struct jobspec_resources){.spot = 1}, NULL,
                    "resources.spot: the local provider runs the job on this machine, which is "
                    "not a spot instance");
        check_fails(&(struct jobspec_resources){.disk_bytes = INT64_MAX}, NULL,
                    "resources.disk asks for 8388608.0 TiB, but the filesystem of '/tmp/");
        /* A process gets GPUs without CDI; podman needs a spec for nvidia.com/gpu. */
        check_ok(&gpu, NULL);
        check_ok(&gpu, "docker");
        check_fails(&gpu, "podman", "no CDI spec for nvidia.com/gpu is in ");
        check_fails(&gpu, "podman", "nvidia-ctk cdi generate");
        assert_int_equal(mkdir(cdi, 0755), 0);
        t_write_file(cdi, "other.yaml", "cdiVersion: 0.5.0\nkind: vendor.com/fpga\n");
        check_fails(&gpu, "podman", "no CDI spec");
        t_write_file(cdi, "nvidia.yaml", "cdiVersion: 0.5.0\nkind: nvidia.com/gpu\n");
        check_ok(&gpu, "podman");
        check_fails(&(struct jobspec_resources){.gpus = 3}, "podman",
                    "asks for 3 GPUs, but this machine has 2");
        unsetenv("HOIST_CDI_SPEC_DIRS");

        /* A process job's CUDA_VISIBLE_DEVICES. */
        assert_int_equal(local_resources_cuda_devices(&gpu, &cuda, &err), 0);
        assert_string_equal(cuda, "0");
        free(cuda);
        cuda = NULL;
        assert_int_equal(local_resources_cuda_devices(
                                 &(struct jobspec_resources){.gpus = 2, .gpu_type = (char *)"H100"},
                                 &cuda, &err),
                         0);
        assert_string_equal(cuda, "0,1");
        free(cuda);
        cuda = NULL;
        assert_int_equal(local_resources_cuda_devices(&(struct jobspec_resources){.cpus_milli = 1},
                                                      &cuda, &err),
                         0);
        assert_null(cuda);
        assert_int_equal(local_resources_cuda_devices(
                                 &(struct jobspec_resources){.gpus = 1, .gpu_type = (char *)"A100"},
                                 &cuda, &err),
                         -1);
        assert_non_null(strstr(err->msg, "none of that model (NVML: 2 x NVIDIA H100 80GB HBM3)"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fake_nvml_h100s),
                cmocka_unit_test(test_no_gpu),
                cmocka_unit_test(test_nvml_without_driver_then_nvidia_smi),
                cmocka_unit_test(test_parse_nvidia_smi),
                cmocka_unit_test(test_cpus_and_memory),
                cmocka_unit_test(test_render_args),
                cmocka_unit_test(test_local_checks),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
