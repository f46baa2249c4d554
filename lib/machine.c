/* SPDX-License-Identifier: MIT */
#include "machine.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "nvml.h"
#include "proc.h"
#include "resources.h"
#include "xalloc.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

static void add_gpu(struct machine *m, unsigned int index, const char *name, size_t len)
{
        m->gpus = xreallocarray(m->gpus, m->n_gpus + 1, sizeof *m->gpus);
        m->gpus[m->n_gpus].index = index;
        m->gpus[m->n_gpus].name = xstrndup(name, len);
        m->n_gpus++;
}

/* The GPUs NVML reports; -1 with WHY when NVML cannot be used. */
static int gpus_from_nvml(struct machine *m, char **why)
{
        _cleanup_error_ struct hoist_error *e = NULL;
        struct nvml n;
        unsigned int count = 0;
        nvml_return r;

        if (nvml_open(&n, &e) < 0) {
                *why = xstrdup(e->msg);
                return -1;
        }
        r = n.get_count(&count);
        if (r != NVML_SUCCESS) {
                *why = xasprintf("nvmlDeviceGetCount: %s", nvml_error_text(&n, r));
                nvml_close(&n);
                return -1;
        }
        for (unsigned int i = 0; i < count; i++) {
                char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE] = "";
                nvml_device dev;
                if (n.get_handle(i, &dev) != NVML_SUCCESS)
                        continue; /* a GPU NVML cannot open is no GPU to run on */
                if (n.get_name == NULL || n.get_name(dev, name, sizeof name) != NVML_SUCCESS)
                        snprintf(name, sizeof name, "unknown GPU");
                name[sizeof name - 1] = '\0';
                add_gpu(m, i, name, strlen(name));
        }
        nvml_close(&n);
        m->gpu_source = xstrdup("NVML");
        if (m->n_gpus == 0)
                m->gpu_why = xstrdup("NVML reports no GPU");
        return 0;
}

void machine_parse_nvidia_smi(const char *text, struct machine *m)
{
        for (const char *line = text; line != NULL && *line != '\0';) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t)(end - line) : strlen(line);
                unsigned int index;
                int off = 0;

                if (sscanf(line, "GPU %u: %n", &index, &off) == 1 && off > 0 && (size_t)off < len) {
                        const char *name = line + off;
                        size_t n = len - (size_t)off;
                        const char *uuid = strstr(name, " (UUID:");
                        if (uuid != NULL && uuid < line + len)
                                n = (size_t)(uuid - name);
                        add_gpu(m, index, name, n);
                }
                line = end ? end + 1 : NULL;
        }
}

/* The GPUs `nvidia-smi -L` lists; -1 with WHY when it cannot say. */
static int gpus_from_nvidia_smi(struct machine *m, char **why)
{
        char *argv[] = {(char *)"nvidia-smi", (char *)"-L", NULL};
        _cleanup_buf_ struct buf out = {0}, errb = {0};
        _cleanup_error_ struct hoist_error *e = NULL;
        int status = 0;

        if (!proc_which("nvidia-smi", NULL)) {
                *why = xstrdup("nvidia-smi not found");
                return -1;
        }
        if (proc_run(argv, &out, &errb, &status, &e) < 0) {
                *why = xasprintf("nvidia-smi -L: %s", e->msg);
                return -1;
        }
        if (status != 0) {
                const char *text = errb.len ? errb.data : out.len ? out.data : "no output";
                *why = xasprintf("nvidia-smi -L failed (exit %d): %.*s", status,
                                 (int)strcspn(text, "\n"), text);
                return -1;
        }
        machine_parse_nvidia_smi(out.data ? out.data : "", m);
        m->gpu_source = xstrdup("nvidia-smi -L");
        if (m->n_gpus == 0)
                m->gpu_why = xstrdup("nvidia-smi -L lists no GPU");
        return 0;
}

static void probe_gpus(struct machine *m)
{
        _cleanup_free_ char *nvml_why = NULL, *smi_why = NULL;

        if (gpus_from_nvml(m, &nvml_why) == 0)
                return;
        if (gpus_from_nvidia_smi(m, &smi_why) == 0)
                return;
        m->gpu_why = xasprintf("%s; %s", nvml_why, smi_why);
}

/* This process's cgroup (v2) directory under CGROUP_ROOT, e.g.
 * "/user.slice/session-1.scope"; NULL without cgroup v2. */
static char *own_cgroup(void)
{
        _cleanup_free_ char *text = NULL;
        const char *p;

        if (fs_read_file("/proc/self/cgroup", &text, NULL, NULL) < 0)
                return NULL;
        for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strncmp(p, "0::", 3) == 0)
                        return xstrndup(p + 3, strcspn(p + 3, "\n"));
        return NULL;
}

/* The lowest limit FILE sets on this cgroup or its ancestors, through
 * PARSE (0: no limit there); 0 when none does. */
static uint64_t cgroup_limit(const char *file, uint64_t (*parse)(const char *text))
{
        _cleanup_free_ char *dir = own_cgroup();
        uint64_t lowest = 0;

        while (dir != NULL) {
                _cleanup_free_ char *path = xasprintf(CGROUP_ROOT "%s/%s", dir, file);
                _cleanup_free_ char *text = NULL;
                char *slash = strrchr(dir, '/');
                if (fs_read_file(path, &text, NULL, NULL) == 0) {
                        uint64_t v = parse(text);
                        if (v > 0 && (lowest == 0 || v < lowest))
                                lowest = v;
                }
                if (slash == NULL || slash[1] == '\0')
                        break;
                *slash = '\0';
                if (dir[0] == '\0') {
                        free(dir);
                        dir = xstrdup("/");
                }
        }
        return lowest;
}

/* cpu.max: "QUOTA PERIOD" in microseconds, or "max PERIOD"; in thousandths
 * of a CPU, rounded up. */
static uint64_t parse_cpu_max(const char *text)
{
        unsigned long long quota, period;

        if (sscanf(text, "%llu %llu", &quota, &period) != 2 || period == 0)
                return 0;
        return (quota * 1000 + period - 1) / period;
}

static uint64_t parse_memory_max(const char *text)
{
        char *end;
        unsigned long long v;

        if (strncmp(text, "max", 3) == 0)
                return 0;
        errno = 0;
        v = strtoull(text, &end, 10);
        return errno == 0 && end != text ? v : 0;
}

static void probe_cpus(struct machine *m)
{
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        uint64_t quota;
        cpu_set_t set;

        m->cpus_milli = (online > 0 ? online : 1) * 1000;
        m->cpus_source = "online CPUs";
        if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0 &&
            (int64_t)CPU_COUNT(&set) * 1000 < m->cpus_milli) {
                m->cpus_milli = (int64_t)CPU_COUNT(&set) * 1000;
                m->cpus_source = "CPU affinity";
        }
        quota = cgroup_limit("cpu.max", parse_cpu_max);
        if (quota > 0 && (int64_t)quota < m->cpus_milli) {
                m->cpus_milli = (int64_t)quota;
                m->cpus_source = "cgroup cpu.max";
        }
}

static int probe_memory(struct machine *m, struct hoist_error **err)
{
        _cleanup_free_ char *text = NULL;
        unsigned long long kib = 0;
        const char *p;
        uint64_t limit;

        if (fs_read_file("/proc/meminfo", &text, NULL, err) < 0)
                return -1;
        p = strstr(text, "MemTotal:");
        if (p == NULL || sscanf(p, "MemTotal: %llu kB", &kib) != 1 || kib == 0)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "/proc/meminfo has no MemTotal line");
        m->memory_bytes = (uint64_t)kib * 1024;
        m->memory_source = "MemTotal";
        limit = cgroup_limit("memory.max", parse_memory_max);
        if (limit > 0 && limit < m->memory_bytes) {
                m->memory_bytes = limit;
                m->memory_source = "cgroup memory.max";
        }
        return 0;
}

int machine_probe(unsigned int what, struct machine **ret, struct hoist_error **err)
{
        _cleanup_machine_ struct machine *m = xzalloc(sizeof *m);

        if (what & MACHINE_GPUS)
                probe_gpus(m);
        if (what & MACHINE_CPUS)
                probe_cpus(m);
        if ((what & MACHINE_MEMORY) && probe_memory(m, err) < 0)
                return -1;
        *ret = TAKE_PTR(m);
        return 0;
}

unsigned int machine_needs(const struct jobspec_resources *r)
{
        return (r->gpus > 0 ? MACHINE_GPUS : 0u) | (r->cpus_milli > 0 ? MACHINE_CPUS : 0u) |
               (r->memory_bytes > 0 ? MACHINE_MEMORY : 0u);
}

char *machine_describe_gpus(const struct machine *m)
{
        _cleanup_buf_ struct buf b = {0};

        if (m->n_gpus == 0)
                return xasprintf("none (%s)", m->gpu_why ? m->gpu_why : "not looked for");
        buf_printf(&b, "%s: ", m->gpu_source ? m->gpu_source : "GPUs");
        for (size_t i = 0; i < m->n_gpus;) {
                size_t same = 1;
                while (i + same < m->n_gpus && strcmp(m->gpus[i + same].name, m->gpus[i].name) == 0)
                        same++;
                buf_printf(&b, "%s%zu x %s", i > 0 ? ", " : "", same, m->gpus[i].name);
                i += same;
        }
        return buf_take(&b);
}

static int fit_gpus(const struct machine *m, const struct jobspec_resources *r,
                    unsigned int **ret_gpus, size_t *ret_n, struct hoist_error **err)
{
        _cleanup_free_ unsigned int *pick = NULL;
        _cleanup_free_ char *want = resources_describe_gpus(r->gpus, r->gpu_type);
        _cleanup_free_ char *have = machine_describe_gpus(m);
        size_t n = 0;

        if (r->gpus <= 0)
                return 0;
        pick = xcalloc(m->n_gpus + 1, sizeof *pick);
        for (size_t i = 0; i < m->n_gpus && n < (size_t)r->gpus; i++)
                if (r->gpu_type == NULL || resources_gpu_type_matches(r->gpu_type, m->gpus[i].name))
                        pick[n++] = m->gpus[i].index;
        if (n < (size_t)r->gpus) {
                if (m->n_gpus == 0)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "resources.gpus asks for %s, but this machine has "
                                                "%s",
                                                want, have);
                if (r->gpu_type != NULL && n == 0)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "resources.gpus asks for %s, but this machine has "
                                                "none of that model (%s)",
                                                want, have);
                if (r->gpu_type != NULL)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "resources.gpus asks for %s, but this machine has "
                                                "%zu of that model (%s)",
                                                want, n, have);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "resources.gpus asks for %s, but this machine has %zu (%s)",
                                        want, m->n_gpus, have);
        }
        *ret_gpus = TAKE_PTR(pick);
        *ret_n = n;
        return 0;
}

int machine_fit(const struct machine *m, const struct jobspec_resources *r, unsigned int **ret_gpus,
                size_t *ret_n, struct hoist_error **err)
{
        unsigned int *gpus = NULL;
        size_t n = 0;
        char a[32], b[32];

        if (r->cpus_milli > 0 && m->cpus_milli > 0 && r->cpus_milli > m->cpus_milli)
                return hoist_error_make(
                        err, HOIST_ERR_INPUT,
                        "resources.cpus asks for %s CPUs, but this machine has %s (%s)",
                        resources_format_cpus(r->cpus_milli, a, sizeof a),
                        resources_format_cpus(m->cpus_milli, b, sizeof b), m->cpus_source);
        if (r->memory_bytes > 0 && m->memory_bytes > 0 && r->memory_bytes > m->memory_bytes)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "resources.memory asks for %s, but this machine has %s "
                                        "(%s)",
                                        resources_format_size(r->memory_bytes, a, sizeof a),
                                        resources_format_size(m->memory_bytes, b, sizeof b),
                                        m->memory_source);
        if (fit_gpus(m, r, &gpus, &n, err) < 0)
                return -1;
        *ret_gpus = gpus;
        *ret_n = n;
        return 0;
}

void machine_free(struct machine *m)
{
        if (m == NULL)
                return;
        for (size_t i = 0; i < m->n_gpus; i++)
                free(m->gpus[i].name);
        free(m->gpus);
        free(m->gpu_source);
        free(m->gpu_why);
        free(m);
}
