/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_INIT_H
#define HOIST_ENTRYPOINT_INIT_H

/*
 * PID-1 duties (tini semantics, no threads): the training command runs in its
 * own process group; SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2
 * are forwarded to that group; every child that ends is reaped, including
 * orphans re-parented to us; a stop (or the runtime limit) is followed by
 * SIGKILL once the grace period is over.
 */

#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum init_stream { INIT_STDOUT = 1, INIT_STDERR = 2 };

/* Receives each chunk the command writes, when output is captured. */
typedef void (*init_output_fn)(void *userdata, enum init_stream stream, const char *data,
                               size_t len);

struct init_config {
        char *const *argv;        /* the command; argv[0] is searched on PATH */
        int64_t stop_grace_s;     /* SIGTERM to SIGKILL; > 0 */
        int64_t max_runtime_s;    /* 0: no limit */
        init_output_fn on_output; /* NULL: the command inherits stdout and stderr */
        void *userdata;
};

enum init_end {
        INIT_EXITED,         /* code: its exit status */
        INIT_SIGNALED,       /* code: the signal */
        INIT_NOT_FOUND,      /* exec failed with ENOENT */
        INIT_NOT_EXECUTABLE, /* exec failed otherwise; code: the errno */
};

struct init_result {
        enum init_end end;
        int code;
        int exit_code;   /* what the entrypoint exits with: N, 128+N, 124, 126, 127 */
        int stop_signal; /* SIGTERM or SIGINT we received and forwarded, or 0 */
        int timed_out;   /* the max runtime was reached */
        int killed;      /* the group got SIGKILL after the grace period */
};

/* Blocks the signals the supervisor handles and becomes a child subreaper
 * when not PID 1.  Call first in main(), before anything can fork. */
int init_setup(struct hoist_error **err);

/* Runs CFG->argv to completion.  Fails only when the command cannot be
 * started at all (fork, pipes); a command that is missing or not executable
 * is a result (INIT_NOT_FOUND, INIT_NOT_EXECUTABLE). */
int init_run(const struct init_config *cfg, struct init_result *ret, struct hoist_error **err);

/* "SIGKILL" for 9; "signal N" for unknown numbers (static buffer). */
const char *init_signal_name(int sig);

#endif
