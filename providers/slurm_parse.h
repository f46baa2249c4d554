/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SLURM_PARSE_H
#define HOIST_SLURM_PARSE_H

/*
 * What the Slurm provider reads back from the engine: sbatch --parsable,
 * squeue -h -o, scontrol show job -o and sacct -n -P.  Pure functions of the
 * text, which is untrusted (a login node over ssh may print anything): any
 * bytes give a result or an error (HOIST_ERR_PROVIDER, or HOIST_ERR_NOT_FOUND
 * where the engine does not know the job), in time linear in the input.
 *
 * Slurm's job states map onto hoist's in one table (slurm_parse.c), with the
 * state word and Slurm's reason carried along in the job's reason:
 *
 *   Slurm state (squeue %t)      outcome      why
 *   PENDING (PD)                 queued       waits for resources; the reason
 *                                             says which (Priority, Resources,
 *                                             QOSMaxJobsPerUserLimit, ...)
 *   RESV_DEL_HOLD (RD)           queued       held: its reservation was deleted
 *   CONFIGURING (CF)             starting     placed, its nodes are booting
 *   RUNNING (R)                  running
 *   COMPLETING (CG)              running      processes still ending; the
 *                                             final state comes after
 *   RESIZING (RS)                running
 *   SIGNALING (SI)               running      being signalled (scancel)
 *   SUSPENDED (S)                running      hoist has no paused state: the
 *   STOPPED (ST)                 running      job keeps its nodes and goes on
 *   COMPLETED (CD)               succeeded
 *   FAILED (F)                   failed       non-zero exit or signal
 *   OUT_OF_MEMORY (OOM)          failed
 *   DEADLINE (DL)                failed       its --deadline passed
 *   SPECIAL_EXIT (SE)            failed       held for a special exit value
 *   CANCELLED (CA)               canceled     scancel (sacct: "CANCELLED by UID")
 *   REVOKED (RV)                 canceled     a federation sibling ran it
 *   TIMEOUT (TO)                 interrupted  the time limit, after the
 *                                             final checkpoint (--signal)
 *   PREEMPTED (PR)               interrupted
 *   NODE_FAIL (NF)               interrupted  a node died under it
 *   BOOT_FAIL (BF)               interrupted  a node failed to boot for it
 *   REQUEUED (RQ)                queued       Slurm runs the same attempt
 *   REQUEUE_HOLD (RH)            queued       again (--requeue): hoist
 *   REQUEUE_FED (RF)             queued       follows it, no new attempt
 *
 * "interrupted" is what retry: resumes from the last checkpoint; "failed" is
 * the job's own doing.  The provider turns an outcome into hoist's
 * enum job_state (queued -> queued, starting, running, succeeded, failed,
 * canceled, interrupted).
 */

#include <stdint.h>

#include "error.h"

enum slurm_outcome {
        SLURM_QUEUED,
        SLURM_STARTING,
        SLURM_RUNNING,
        SLURM_SUCCEEDED,
        SLURM_FAILED,
        SLURM_CANCELED,
        SLURM_INTERRUPTED,
};

/* "queued", "starting", ... */
const char *slurm_outcome_name(enum slurm_outcome outcome);

/* The outcome of STATE, a long ("PENDING") or compact ("PD") state name as
 * squeue, scontrol and sacct print it; sacct's "CANCELLED by 0" counts as
 * CANCELLED.  An unknown state is an error naming it. */
int slurm_state_outcome(const char *state, enum slurm_outcome *ret, struct hoist_error **err);

/* What one of squeue, scontrol or sacct says about a job. */
struct slurm_job_status {
        char *job_id;       /* "12345", "12345_7" for an array task */
        char *name;         /* the job name, or NULL */
        char *state;        /* the long state name alone: "CANCELLED" */
        char *state_detail; /* what follows it in sacct: "by 0", or NULL */
        char *reason;       /* Slurm's reason, NULL for none ("None", "(null)") */
        char *nodes;        /* hostlist of its nodes, or NULL */
        int exit_code;      /* the batch script's exit status, -1 if unknown */
        int exit_signal;    /* the signal that ended it, 0 for none */
        int64_t elapsed_s;  /* run time so far, -1 if unknown */
        int restarts;       /* requeues (scontrol), -1 if unknown */
        enum slurm_outcome outcome;
};

void slurm_job_status_clear(struct slurm_job_status *s);

/* The reason hoist records: "PENDING (Resources)", "FAILED, exit code 3",
 * "CANCELLED by 0", "OUT_OF_MEMORY, signal 9", "NODE_FAIL (...)". */
char *slurm_job_status_reason(const struct slurm_job_status *s);

/* sbatch --parsable: "12345" or "12345;cluster" (one line; Slurm prints
 * errors on stderr).  *RET_CLUSTER is NULL without a cluster. */
int slurm_parse_sbatch(const char *out, char **ret_job_id, char **ret_cluster,
                       struct hoist_error **err);

/* The squeue format the provider asks for, and its field separator. */
#define SLURM_SQUEUE_FORMAT "%i|%j|%T|%r|%N|%M"

/* squeue -h -j JOB_ID -o FORMAT output.  FORMAT is '|'-separated fields
 * among %i %j %T %t %r %R %N %M (a width such as %.18i is allowed; other
 * fields are skipped; one of %T and %t is needed).  The line for JOB_ID is used; squeue printing
 * nothing (the job left its queue) is HOIST_ERR_NOT_FOUND. */
int slurm_parse_squeue(const char *format, const char *out, const char *job_id,
                       struct slurm_job_status *ret, struct hoist_error **err);

/* scontrol show job -o JOB_ID: one line of Key=Value per job.  A value runs
 * to the next " Key=" (Key made of letters, digits, '_', ':', '/'), so
 * values with spaces (Command=, WorkDir=, a JobName) are read whole, unless
 * they hold " word=" themselves.  The line whose JobId is JOB_ID is used. */
int slurm_parse_scontrol_job(const char *out, const char *job_id, struct slurm_job_status *ret,
                             struct hoist_error **err);

/* The sacct fields the provider asks for (--format), in sacct's names. */
#define SLURM_SACCT_FIELDS "JobID,JobName,State,ExitCode,Reason,Elapsed,NodeList"

/* sacct -n -P -j JOB_ID --format=FIELDS output: '|'-separated lines, the
 * job's own line and its steps' ("12345.batch", "12345.0").  FIELDS names
 * the columns as passed to --format (any case; a "%N" width suffix is
 * allowed; unknown ones are skipped).  The job's last line is used (sacct
 * -D lists each requeued attempt); its steps are ignored.  Nothing for the
 * job is HOIST_ERR_NOT_FOUND. */
int slurm_parse_sacct(const char *fields, const char *out, const char *job_id,
                      struct slurm_job_status *ret, struct hoist_error **err);

/* Slurm's durations: "MM:SS", "HH:MM:SS", "D-HH:MM:SS" (also "D-HH" and
 * "D-HH:MM", and a trailing ".mmm"); 0 and the seconds, or -1. */
int slurm_parse_duration(const char *s, int64_t *ret_seconds);

/* "EXIT:SIGNAL" as ExitCode prints it ("0:15" is signal 15); 0 or -1. */
int slurm_parse_exit_code(const char *s, int *ret_code, int *ret_signal);

#endif
