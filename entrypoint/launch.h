/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_LAUNCH_H
#define HOIST_ENTRYPOINT_LAUNCH_H

/*
 * A job's place among its nodes and what starts its processes
 * (docs/entrypoint.md "Multi-node", docs/jobspec.md "distributed").
 *
 * launch_place() finds the node's rank and the master from the engine
 * (lib/distenv.h) when job.json has nodes > 1 (rank 0 of 1 on 127.0.0.1
 * otherwise) and exports the node's variables: MASTER_ADDR, MASTER_PORT,
 * NNODES, NODE_RANK, NPROC_PER_NODE, LOCAL_WORLD_SIZE, WORLD_SIZE,
 * HOIST_NODE_RANK, HOIST_NUM_NODES, HOIST_NODE_IPS.  They depend only on
 * job.json and the engine's placement, so every attempt gets the same.
 *
 * launch_command() then gives what init_run() starts: the command itself
 * (launcher none), wrapped in torchrun or accelerate launch, or, for
 * launcher hoist, nproc_per_node workers of it, each with torch's env://
 * variables (RANK, LOCAL_RANK, GROUP_RANK, ROLE_RANK, WORLD_SIZE,
 * LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT).
 */

#include <stddef.h>
#include <stdint.h>

#include "distenv.h"
#include "error.h"
#include "jobspec.h"

struct launch {
        struct distenv place;
        char **addrs;   /* each node's address, rank order */
        int64_t nproc;  /* processes per node */
        int multi_node; /* job.json nodes > 1 */
        enum jobspec_launcher launcher;
        int64_t port;

        /* launch_command()'s: what init_run() starts */
        char **argv;        /* the command, or the launcher around it */
        size_t n_workers;   /* 1, or nproc for launcher hoist */
        char ***worker_env; /* launcher hoist: each worker's environment; else NULL */
};

/* How many GPUs this node's processes see: the entries of
 * CUDA_VISIBLE_DEVICES when it is set (none for "", "-1" or "NoDevFiles"),
 * else the entries of PROC_GPUS (the driver's /proc/driver/nvidia/gpus,
 * which a container runtime fills with the GPUs it gives), else, with
 * USE_NVML, NVML's device count, else 0. */
int64_t launch_visible_gpus(const char *proc_gpus, int use_nvml);
#define LAUNCH_PROC_GPUS "/proc/driver/nvidia/gpus"

/* Finds the node's place and exports the node's variables. */
int launch_place(const struct jobspec *spec, struct launch *ret, struct hoist_error **err);

/* Whether another hoist node of the job runs on this node's host (Slurm
 * with several tasks per node): then their work roots must differ. */
int launch_shares_host(const struct launch *l);

/* The node's name when it has none of its own (HOIST_NODE): "node<RANK>"
 * for a multi-node job, else NULL (the single-node default applies). */
char *launch_node_name(const struct launch *l);

/* Builds argv and the workers' environments around COMMAND, from the
 * environment as it is now (call after everything else is exported). */
int launch_command(struct launch *l, char *const *command, struct hoist_error **err);

/* The launcher's argv around COMMAND (torchrun, accelerate launch): a
 * command starting with a Python interpreter gives the launcher its script
 * (or -m module); any other gets --no_python.  NULL for other launchers. */
char **launch_wrap(const struct launch *l, char *const *command);

void launch_clear(struct launch *l);

#endif
