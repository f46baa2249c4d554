/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_GPU_H
#define HOIST_ENTRYPOINT_GPU_H

/*
 * GPU health circuit breaker.  NVML is loaded with dlopen() (versioned
 * symbols first), so the entrypoint runs on hosts without a GPU driver.  A
 * worker thread, started after the command was spawned, checks every device
 * every interval: uncorrectable ECC errors, row-remapping failures,
 * temperature against the shutdown threshold, hardware and thermal clock
 * slowdowns, and critical XID events.  On a fault it emits gpu.fault, logs
 * the check, and asks the supervisor to stop the command (SIGTERM, so the
 * trainer writes a final checkpoint); the entrypoint then exits
 * GPU_EXIT_FAULT.
 */

#include <stddef.h>

#include "error.h"
#include "events.h"
#include "jobspec.h"

/* "hoist-entrypoint: GPU fault; replace the node" (docs/entrypoint.md). */
#define GPU_EXIT_FAULT 122

/* Default seconds between checks when job.json gives none. */
#define GPU_DEFAULT_INTERVAL_S 10

/* Consecutive checks a clock slowdown must last before it is a fault: a
 * short thermal slowdown happens on healthy GPUs. */
#define GPU_SLOWDOWN_STRIKES 3

enum gpu_check {
        GPU_CHECK_OK,
        GPU_CHECK_ECC,         /* uncorrectable ECC errors (volatile count) */
        GPU_CHECK_REMAPPED,    /* row remapping failed, or a remap waits for a reset */
        GPU_CHECK_TEMPERATURE, /* at or over the shutdown threshold */
        GPU_CHECK_SLOWDOWN,    /* HW slowdown, HW or SW thermal slowdown, sustained */
        GPU_CHECK_XID,         /* a critical XID event that is not ignored */
        GPU_CHECK_LOST,        /* the GPU fell off the bus */
};

/* One device's readings; 0 where NVML does not support a query. */
struct gpu_reading {
        unsigned int temperature_c;
        unsigned int slowdown_c; /* threshold; 0 = unknown */
        unsigned int shutdown_c; /* threshold; 0 = unknown */
        unsigned long long ecc_uncorrected;
        unsigned int remapped_pending;
        unsigned int remapped_failure;
        unsigned long long clocks_reasons; /* nvmlClocksThrottleReason* bits */
};

/* "ecc", "remapped_rows", "temperature", "clock_slowdown", "xid", "gpu_lost". */
const char *gpu_check_name(enum gpu_check check);

/* The first fault in R, or GPU_CHECK_OK.  *STRIKES counts consecutive
 * readings with a slowdown reason (kept by the caller per device). */
enum gpu_check gpu_evaluate(const struct gpu_reading *r, unsigned int *strikes);

/* 0 for XIDs that do not mean the GPU is broken (13, 31, 43, 45, 68, 109:
 * application errors and resets that follow them), else 1. */
int gpu_xid_critical(unsigned long long xid);

struct gpu_monitor;

/* Reads the settings (job.json gpu_health, HOIST_GPU_HEALTH_INTERVAL_MS)
 * and returns NULL when the monitor is turned off.  Loads nothing yet. */
struct gpu_monitor *gpu_monitor_new(const struct jobspec *spec, struct events *ev);

/* Starts the worker thread (from init_config.on_spawned).  Without NVML the
 * thread logs one info line and ends.  M may be NULL. */
int gpu_monitor_start(struct gpu_monitor *m, struct hoist_error **err);

/* Stops and joins the thread; safe when it never started.  M may be NULL. */
void gpu_monitor_stop(struct gpu_monitor *m);

/* After a fault (from any thread): what was found, e.g. "GPU 0 (GPU-1234...):
 * temperature 97 C at or over the shutdown threshold 95 C"; NULL when none. */
const char *gpu_monitor_fault(const struct gpu_monitor *m);

void gpu_monitor_free(struct gpu_monitor *m);

#endif
