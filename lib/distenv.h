/* SPDX-License-Identifier: MIT */
#ifndef HOIST_DISTENV_H
#define HOIST_DISTENV_H

/*
 * Where one hoist node of a multi-node job stands: its rank, how many nodes
 * there are, and each node's host in rank order, from whichever engine
 * started it (docs/entrypoint.md "Multi-node").  One function per engine,
 * each a pure function of the engine's variables or files:
 *
 *   Slurm       SLURM_PROCID (the rank), SLURM_NTASKS (the nodes: one hoist
 *               node per task), SLURM_JOB_NODELIST expanded by lib/hostlist,
 *               SLURM_TASKS_PER_NODE ("2(x3),1") mapping ranks to hosts in
 *               srun's block order, SLURM_NODEID and SLURM_LOCALID checked
 *               against it.  The step's own SLURM_STEP_NODELIST and
 *               SLURM_STEP_TASKS_PER_NODE win where srun sets them.
 *   Kubernetes  an Indexed Job: JOB_COMPLETION_INDEX (the rank, set by
 *               Kubernetes), and from the manifest HOIST_NUM_NODES (the
 *               Job's completions), HOIST_K8S_JOB_NAME (its metadata.name)
 *               and HOIST_K8S_SUBDOMAIN (the headless Service, the pod
 *               template's spec.subdomain): node K is
 *               "<job name>-<K>.<subdomain>".
 *   SageMaker   /opt/ml/input/config/resourceconfig.json (or the file
 *               HOIST_SAGEMAKER_RESOURCECONFIG names): "hosts" sorted (as
 *               SageMaker lists them), the rank being the index of
 *               "current_host" in that order.
 *   hoist       HOIST_NODE_RANK and HOIST_NODE_HOSTS (comma-separated host
 *               names in rank order), for engines with no variables of their
 *               own (compose, a hand-started run).
 *
 * Everything read is untrusted: a bad value is an error naming the variable
 * (or file) and what was expected.
 */

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define DISTENV_MAX_NODES 65536
#define DISTENV_RESOURCECONFIG "/opt/ml/input/config/resourceconfig.json"

enum distenv_engine {
        DISTENV_SINGLE, /* no engine: one node, on this machine */
        DISTENV_SLURM,
        DISTENV_KUBERNETES,
        DISTENV_SAGEMAKER,
        DISTENV_HOIST,
};

struct distenv {
        enum distenv_engine engine;
        int64_t node_rank;
        int64_t num_nodes;
        char **hosts;       /* num_nodes host names in rank order, NULL-terminated */
        int64_t local_slot; /* which of the hoist nodes sharing this host (0 when alone) */
};

/* The engine that started this process, by its variables: Slurm when
 * SLURM_JOB_ID and SLURM_PROCID are set, Kubernetes when
 * JOB_COMPLETION_INDEX is, SageMaker when the resourceconfig file exists,
 * hoist when HOIST_NODE_HOSTS is; else DISTENV_SINGLE. */
enum distenv_engine distenv_detect(void);
const char *distenv_engine_name(enum distenv_engine e);

/* Fills *RET from ENGINE's variables (DISTENV_SINGLE: rank 0 of 1 on
 * "127.0.0.1").  Free with distenv_clear(). */
int distenv_read(enum distenv_engine engine, struct distenv *ret, struct hoist_error **err);

int distenv_from_slurm(struct distenv *ret, struct hoist_error **err);
int distenv_from_kubernetes(struct distenv *ret, struct hoist_error **err);
/* JSON (LEN bytes) is resourceconfig.json's text; NAME labels errors. */
int distenv_from_sagemaker(const char *json, size_t len, const char *name, struct distenv *ret,
                           struct hoist_error **err);
int distenv_from_hoist(struct distenv *ret, struct hoist_error **err);

/* SLURM_TASKS_PER_NODE ("2(x3),1" = 2,2,2,1): *RET_COUNTS gets one count
 * per host (each >= 1), *RET_N how many; the total is at most
 * DISTENV_MAX_NODES. */
int distenv_parse_tasks_per_node(const char *s, int64_t **ret_counts, size_t *ret_n,
                                 struct hoist_error **err);

/* Each host of D resolved to an address (getaddrinfo; IPv4 first), in rank
 * order, NULL-terminated; the error names the node and its host.  For hosts
 * that are machines (Slurm, SageMaker); the nodes of engines whose names
 * come and go with their containers meet instead (entrypoint/rendezvous.h). */
int distenv_resolve(const struct distenv *d, char ***ret_addrs, struct hoist_error **err);

void distenv_clear(struct distenv *d);

#endif
