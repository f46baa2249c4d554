/* SPDX-License-Identifier: MIT */
#ifndef HOIST_PROVIDERS_LOCAL_RESOURCES_H
#define HOIST_PROVIDERS_LOCAL_RESOURCES_H

/*
 * The local provider's side of resources (docs/job.md "resources"): what
 * this machine can give a job (lib/machine.h), and how a request becomes
 * the engine's flags (podman CDI devices, docker --gpus, --cpus, --memory)
 * or a process job's CUDA_VISIBLE_DEVICES.  A process job's cpus and
 * memory are checked against the machine but not enforced; disk is checked
 * against the free space where the job's files go; spot is refused (this
 * machine is not a spot instance).
 */

#include "error.h"
#include "jobspec.h"

/* Checks that this machine can give a job what R asks when ENGINE
 * ("podman", "docker"; NULL: a process) runs it, with its files under
 * WORK_DIR.  The error names the request and what the machine has. */
int local_check_resources(const struct jobspec_resources *r, const char *engine,
                          const char *work_dir, struct hoist_error **err);

/* The flags that give a container of ENGINE ("podman", "docker") what R
 * asks, choosing the GPUs now: NULL-terminated, empty when R asks nothing. */
char **local_resources_engine_args(const struct jobspec_resources *r, const char *engine,
                                   struct hoist_error **err);
/* The engine flags for R given the GPUs chosen (indices GPUS, N of them, out
 * of the MACHINE_GPUS the machine has): pure, for tests. */
char **local_resources_render_args(const struct jobspec_resources *r, const char *engine,
                                   const unsigned int *gpus, size_t n, size_t machine_gpus);

/* For a process job that asks for GPUs: the value of CUDA_VISIBLE_DEVICES
 * ("0,1", the NVML indices of the GPUs chosen; set with
 * CUDA_DEVICE_ORDER=PCI_BUS_ID so CUDA numbers them as NVML does) in
 * *RET, or NULL when R asks for none. */
int local_resources_cuda_devices(const struct jobspec_resources *r, char **ret,
                                 struct hoist_error **err);

#endif
