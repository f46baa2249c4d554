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
#include <sys/types.h>

#include "error.h"

enum init_stream { INIT_STDOUT = 1, INIT_STDERR = 2 };

/* Receives each chunk the command writes, when output is captured. */
typedef void (*init_output_fn)(void *userdata, enum init_stream stream, const char *data,
                               size_t len);

/* An extra fd the loop polls for POLLIN; ON_READY runs in the loop. */
struct init_watch {
        int fd;
        void (*on_ready)(void *userdata);
        void *userdata;
};

struct init_config {
        char *const *argv;        /* the command; argv[0] is searched on PATH */
        const char *cwd;          /* its working directory; NULL: ours */
        int64_t stop_grace_s;     /* SIGTERM to SIGKILL; > 0 */
        int64_t max_runtime_s;    /* 0: no limit */
        init_output_fn on_output; /* NULL: the command inherits stdout and stderr */
        void *userdata;
        /* Right after the command started: threads may be started here. */
        void (*on_spawned)(void *userdata, pid_t pid);
        const struct init_watch *watches; /* extra fds polled for POLLIN */
        size_t n_watches;
        void (*on_tick)(void *userdata); /* every tick_ms while it runs */
        int64_t tick_ms;
        /* A worker group (launcher: hoist): N_WORKERS copies of argv, all in
         * the first one's process group, worker I with the environment
         * WORKER_ENV[I] (NULL: ours).  Supervised as one command: the first
         * that fails (a non-zero exit or a signal) decides the result and
         * the others get SIGTERM, then SIGKILL after the grace period; the
         * group has ended when every worker has.  0 or 1: one command. */
        size_t n_workers;
        char *const *const *worker_env;
};

/* Why the command was asked to stop. */
enum init_stop_reason {
        INIT_STOP_NONE,
        INIT_STOP_SIGNAL,  /* SIGTERM or SIGINT from outside */
        INIT_STOP_RUNTIME, /* the max runtime */
        INIT_STOP_GPU_FAULT,
        INIT_STOP_WORKER, /* a worker of the group failed */
};

/* Asks the supervisor to stop the command as on SIGTERM (group SIGTERM,
 * grace, SIGKILL) and records WHY in init_result.stop_reason (the first
 * reason wins).  Thread-safe and async-signal-safe (writes to an eventfd the
 * loop polls).  Valid while init_run() runs; a request made after
 * init_setup() and before init_run() is acted on once the command started. */
void init_request_stop(enum init_stop_reason why);

enum init_end {
        INIT_EXITED,         /* code: its exit status */
        INIT_SIGNALED,       /* code: the signal */
        INIT_NOT_FOUND,      /* exec failed with ENOENT */
        INIT_NOT_EXECUTABLE, /* exec failed otherwise; code: the errno */
};

struct init_result {
        enum init_end end;
        int code;
        int exit_code;        /* what the entrypoint exits with: N, 128+N, 124, 126, 127 */
        int stop_signal;      /* SIGTERM or SIGINT we received and forwarded, or 0 */
        int timed_out;        /* the max runtime was reached */
        int killed;           /* the group got SIGKILL after the grace period */
        int64_t grace_end_ms; /* CLOCK_MONOTONIC ms when the first stop's grace
                               * period ends (or ended); 0: no stop began */
        enum init_stop_reason stop_reason;
        size_t worker; /* the worker whose end decided (the first to fail, else the last) */
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
