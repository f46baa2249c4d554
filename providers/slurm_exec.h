/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SLURM_EXEC_H
#define HOIST_SLURM_EXEC_H

/*
 * Running Slurm's commands where the cluster is: on this machine, or on a
 * login node over ssh (BatchMode: the user's own keys and agent, never a
 * password; $HOIST_SSH_CONFIG, when set, is ssh's -F).  Over ssh each
 * argument is quoted for the remote shell; data (a script, secrets) goes
 * through stdin, never on a command line.
 */

#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "slurm_settings.h"

/* Runs ARGV (a program and its arguments) on the cluster's side of S, with
 * IN (IN_LEN bytes, may be NULL) as its stdin; its exit status in *RET_STATUS
 * (255 from ssh: the connection failed).  Fails only when nothing could be
 * started. */
int slurm_exec(const struct slurm_settings *s, char *const argv[], const char *in, size_t in_len,
               struct buf *out, struct buf *errb, int *ret_status, struct hoist_error **err);

/* The same for a shell command line SCRIPT run by sh (remote: the login
 * shell runs it); ARGS become $1... */
int slurm_exec_sh(const struct slurm_settings *s, const char *script, char *const args[],
                  const char *in, size_t in_len, struct buf *out, struct buf *errb, int *ret_status,
                  struct hoist_error **err);

/* Runs ARGV and fails unless it exits 0; the error quotes the last line of
 * its stderr ("sbatch: error: Invalid partition name specified"). */
int slurm_exec_ok(const struct slurm_settings *s, char *const argv[], struct buf *out,
                  struct hoist_error **err);

/* ssh's argv up to and with the destination (no command), NULL-terminated. */
char **slurm_ssh_argv(const char *host);

/* The last non-empty line of ERRB, without Slurm's "sbatch: error: ". */
char *slurm_exec_last_line(const struct buf *errb);

#endif
