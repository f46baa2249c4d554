/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SLURM_SETTINGS_H
#define HOIST_SLURM_SETTINGS_H

/*
 * job.yaml's slurm: section (docs/providers/slurm.md "Settings"), checked
 * when job.yaml is loaded, and the copy the provider keeps in
 * run/<id>/slurm.json for later attempts (hoist serve's retries start from
 * job.json alone).
 */

#include <stdint.h>

#include "config.h"
#include "error.h"

struct slurm_settings {
        char *partition;   /* -p, or NULL */
        char *account;     /* -A, or NULL */
        char *qos;         /* --qos, or NULL */
        char *constraint;  /* -C, or NULL */
        int64_t time_s;    /* --time; 0: limits.max_runtime, else the partition's */
        char **extra_args; /* more sbatch options, NULL-terminated (never NULL) */
        /* NULL: sbatch on this machine; else [user@]host[:port] for ssh */
        char *host;
        char *gres_type;         /* --gres=gpu:TYPE:N, or NULL for --gpus-per-node */
        int64_t nodes_per_host;  /* hoist nodes (tasks) per Slurm node, >= 1 */
        char *container_runtime; /* "auto", "podman", "enroot", "apptainer" */
};

/* The settings of a job.yaml without a slurm: section. */
struct slurm_settings *slurm_settings_new(void);
void slurm_settings_free(struct slurm_settings *s);

/* Checks NODE, job.yaml FILE's slurm: section (NULL: none).  Errors name
 * FILE:line and the field; unknown keys are refused with the known ones. */
int slurm_settings_load(const struct config_node *node, const char *file,
                        struct slurm_settings **ret, struct hoist_error **err);

/* slurm.json: what a later attempt reads back (no secret is ever here). */
char *slurm_settings_to_json(const struct slurm_settings *s);
int slurm_settings_from_json(const char *text, size_t len, const char *name,
                             struct slurm_settings **ret, struct hoist_error **err);

/* Whether HOST ([user@]host[:port]) is well formed: no option, no shell
 * syntax, a port in 1-65535. */
int slurm_host_valid(const char *host);

/* 1 when jobs of S run on this machine: no host, or a loopback one. */
int slurm_settings_local_node(const struct slurm_settings *s);

static inline void slurm_settings_freep(struct slurm_settings **s)
{
        slurm_settings_free(*s);
}
#define _cleanup_slurm_settings_ __attribute__((cleanup(slurm_settings_freep)))

#endif
