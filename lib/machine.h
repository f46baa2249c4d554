/* SPDX-License-Identifier: MIT */
#ifndef HOIST_MACHINE_H
#define HOIST_MACHINE_H

/*
 * What this machine has to run a job on: its NVIDIA GPUs (from NVML, else
 * `nvidia-smi -L`), the CPUs and the memory this process may use (the
 * lowest of the online CPUs, the CPU affinity and the cgroup's cpu.max; of
 * MemTotal and the cgroup's memory.max), and whether a job's resources
 * (struct jobspec_resources) fit.  Providers that run jobs here share it.
 */

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "jobspec.h"

struct machine_gpu {
        unsigned int index; /* NVML's index, which nvidia-smi and CDI use too */
        char *name;         /* "NVIDIA H100 80GB HBM3" */
};

struct machine {
        struct machine_gpu *gpus;
        size_t n_gpus;
        char *gpu_source; /* "NVML" or "nvidia-smi -L"; NULL when neither answered */
        char *gpu_why;    /* when no GPU was found: why, e.g. "libnvidia-ml.so.1 not
                           * found; nvidia-smi not found" */

        int64_t cpus_milli;        /* 0 when not probed */
        const char *cpus_source;   /* "online CPUs", "CPU affinity", "cgroup cpu.max" */
        uint64_t memory_bytes;     /* 0 when not probed */
        const char *memory_source; /* "MemTotal", "cgroup memory.max" */
};

enum {
        MACHINE_GPUS = 1 << 0,
        MACHINE_CPUS = 1 << 1,
        MACHINE_MEMORY = 1 << 2,
};

/* Looks at what WHAT (MACHINE_* bits) names.  Fails only for a machine
 * that cannot say (no /proc/meminfo); no GPU is not an error. */
int machine_probe(unsigned int what, struct machine **ret, struct hoist_error **err);
/* The MACHINE_* bits R needs probed. */
unsigned int machine_needs(const struct jobspec_resources *r);

/* Fills M's GPUs from the text of `nvidia-smi -L` ("GPU 0: NVIDIA H100
 * 80GB HBM3 (UUID: GPU-...)"); lines of any other shape are skipped. */
void machine_parse_nvidia_smi(const char *text, struct machine *m);

/* Checks R's gpus, cpus and memory against M.  On success *RET_GPUS holds
 * the indices of the GPUs to use (the first that fit, in index order),
 * *RET_N of them: NULL and 0 when R asks for none.  The error (code
 * HOIST_ERR_INPUT) names the request and what M has: "resources.gpus asks
 * for 4 GPUs, but this machine has 2 (NVML: 2 x NVIDIA H100 80GB HBM3)". */
int machine_fit(const struct machine *m, const struct jobspec_resources *r, unsigned int **ret_gpus,
                size_t *ret_n, struct hoist_error **err);

/* "2 x NVIDIA H100 80GB HBM3, 1 x NVIDIA A10G", or "none (WHY)"; free it. */
char *machine_describe_gpus(const struct machine *m);

void machine_free(struct machine *m);

static inline void machine_freep(struct machine **m)
{
        machine_free(*m);
}
#define _cleanup_machine_ __attribute__((cleanup(machine_freep)))

#endif
