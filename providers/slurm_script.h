/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SLURM_SCRIPT_H
#define HOIST_SLURM_SCRIPT_H

/*
 * What the Slurm provider sends: the sbatch command line and the batch
 * script, pure functions of the job (tests/data/slurm/golden/ holds copies,
 * so a change shows up in review).  Never a secret: those reach the job in
 * DIR/secrets.json, a 0600 file the script names (HOIST_SECRETS_FILE).
 */

#include "error.h"
#include "jobspec.h"
#include "slurm_settings.h"

/* Where the job's files are on the cluster's side. */
#define SLURM_BATCH_SCRIPT "batch.sh"
#define SLURM_SECRETS_FILE "secrets.json"

struct slurm_plan {
        const struct slurm_settings *set;
        const struct jobspec *spec;
        const char *job_id;
        const char *job_url;      /* HOIST_JOB_URL */
        const char *storage_root; /* a file:// store's root (mounted into containers), or NULL */
        const char *image;        /* the image of a container job, NULL for a process */
        const char *dir;          /* the job's directory where it runs: batch.sh, output */
        const char *bundle;       /* the entrypoint bundle (/opt/hoist) where it runs */
        const char *bin_dir;      /* put first on a process job's PATH, or NULL */
        int secrets;              /* 1: DIR/secrets.json holds the attempt's secrets */
};

/* The job's time limit in seconds (slurm.time, else limits.max_runtime;
 * 0: none), and the grace its TERM comes before it. */
int64_t slurm_plan_time_s(const struct slurm_plan *p);
int64_t slurm_plan_grace_s(const struct slurm_plan *p);

/* argv of `sbatch --parsable --hold ... DIR/batch.sh`, NULL-terminated.
 * Errors: a request Slurm cannot express (a time limit no longer than the
 * stop grace). */
int slurm_sbatch_argv(const struct slurm_plan *p, char ***ret, struct hoist_error **err);

/* The batch script's text. */
char *slurm_batch_script(const struct slurm_plan *p);

/* "sbatch ... \n\n# DIR/batch.sh\n<script>": what --dry-run shows. */
int slurm_render_text(const struct slurm_plan *p, char **ret, struct hoist_error **err);

/* ARG quoted for a POSIX shell ('...' with ' as '\''). */
char *slurm_shell_quote(const char *arg);

#endif
