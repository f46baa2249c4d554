/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_CLI_H
#define HOIST_RUNNER_CLI_H

/* What the verbs share: exit codes, the command signature, formatting. */

#include <stdint.h>
#include <stdio.h>

#include "error.h"

/* Exit codes of `hoist` (documented in `hoist help`). */
enum {
        EXIT_OK = 0,
        EXIT_ERROR = 1,         /* anything not listed below */
        EXIT_USAGE = 2,         /* bad command line */
        EXIT_INPUT = 3,         /* an invalid job.yaml or other input file */
        EXIT_NOT_FOUND = 4,     /* no such job or file */
        EXIT_PROVIDER = 5,      /* the provider or container engine failed */
        EXIT_JOB_FAILED = 6,    /* --follow/--wait: the job ran and failed */
        EXIT_JOB_CANCELED = 7,  /* --follow/--wait: the job was canceled */
        EXIT_SPENDING_LIMIT = 8 /* submit: a spending limit with action: block */
};

/* A verb: returns an exit code, or -1 with *err set (main maps err->code). */
typedef int (*cli_command_fn)(int argc, char **argv, struct hoist_error **err);

int cmd_submit(int argc, char **argv, struct hoist_error **err);
int cmd_prices(int argc, char **argv, struct hoist_error **err);
int cmd_cost(int argc, char **argv, struct hoist_error **err);
int cmd_list(int argc, char **argv, struct hoist_error **err);
int cmd_status(int argc, char **argv, struct hoist_error **err);
int cmd_logs(int argc, char **argv, struct hoist_error **err);
int cmd_cancel(int argc, char **argv, struct hoist_error **err);
int cmd_results(int argc, char **argv, struct hoist_error **err);
int cmd_version(int argc, char **argv, struct hoist_error **err);
int cmd_serve(int argc, char **argv, struct hoist_error **err);
int cmd_build(int argc, char **argv, struct hoist_error **err);
int cmd_import(int argc, char **argv, struct hoist_error **err);
int cmd_push(int argc, char **argv, struct hoist_error **err);
int cmd_pull(int argc, char **argv, struct hoist_error **err);
int cmd_rm(int argc, char **argv, struct hoist_error **err);
int cmd_gc(int argc, char **argv, struct hoist_error **err);
int cmd_validate(int argc, char **argv, struct hoist_error **err);

/* Maps an error's code to an exit code. */
int cli_exit_code(const struct hoist_error *e);

/* A usage error for VERB: "VERB: MSG (see 'hoist VERB --help')". */
int cli_usage_error(struct hoist_error **err, const char *verb, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* "-o json" / "-o table" parsing; returns 1 for json, 0 for table, -1 on error. */
int cli_parse_output(const char *verb, const char *value, struct hoist_error **err);

/* "2026-11-21 15:04:05" in local time, into BUF. */
const char *cli_format_time(int64_t ms, char *buf, size_t size);
/* "1.5 MiB" */
const char *cli_format_bytes(uint64_t n, char *buf, size_t size);
/* "3m12s" */
const char *cli_format_duration(int64_t ms, char *buf, size_t size);

int64_t cli_now_ms(void);

#endif
