/* SPDX-License-Identifier: MIT */
#ifndef HOIST_PROC_H
#define HOIST_PROC_H

/* Running helper programs (podman, docker) and naming processes reliably. */

#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "error.h"

/* Runs ARGV (PATH search) with stdin from /dev/null, collecting stdout into
 * OUT (may be NULL: discarded) and stderr into ERRBUF (may be NULL: passed
 * through).  Writes the exit status (0-255, or 128+N for signal N) to
 * *ret_status.  Fails only when the program cannot be started. */
int proc_run(char *const argv[], struct buf *out, struct buf *errbuf, int *ret_status,
             struct hoist_error **err);

/* The same, with IN_LEN bytes of IN (NULL: /dev/null) as its stdin. */
int proc_run_input(char *const argv[], const char *in, size_t in_len, struct buf *out,
                   struct buf *errbuf, int *ret_status, struct hoist_error **err);

/* The same as proc_run, with EXTRA_ENV ("NAME=value", NULL-terminated; may
 * be NULL) added to the environment, replacing variables of the same name. */
int proc_run_env(char *const argv[], char *const extra_env[], struct buf *out, struct buf *errbuf,
                 int *ret_status, struct hoist_error **err);

/* Is PROG (a bare name) on PATH?  Writes its full path when ret_path is given. */
int proc_which(const char *prog, char **ret_path);

/* The kernel's start time of PID (clock ticks since boot, /proc/PID/stat
 * field 22), or 0 when there is no such process.  A pid plus its start time
 * names one process even after the pid is reused. */
uint64_t proc_start_time(pid_t pid);

/* True when PID is alive (not a zombie) and, if START is non-zero, is the
 * process that started at START. */
int proc_alive(pid_t pid, uint64_t start);

#endif
