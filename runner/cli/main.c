/* SPDX-License-Identifier: MIT */
/*
 * hoist: the command table and dispatcher.  Each verb lives in
 * runner/cmd_<verb>.c; this file turns their errors into output and exit
 * codes, and nothing else.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/cli/cli.h"
#include "error.h"
#include "log.h"

struct command {
        const char *name;
        cli_command_fn fn;
        const char *summary;
};

static const struct command commands[] = {
        {"submit", cmd_submit, "package a job's inputs and start it (or --resume one)"},
        {"list", cmd_list, "list jobs, newest first"},
        {"status", cmd_status, "show a job's state and history"},
        {"logs", cmd_logs, "print (-f: follow, -t: with times) a job's log"},
        {"cancel", cmd_cancel, "stop a job: SIGTERM, then SIGKILL after the grace period"},
        {"results", cmd_results, "copy a job's outputs to a local directory"},
        {"rm", cmd_rm, "remove finished jobs: their storage, run directory and row"},
        {"cost", cmd_cost, "what jobs cost: per job, provider and period, and the limits"},
        {"prices", cmd_prices, "list the price tables (built in, and $HOIST_HOME/prices.yaml)"},
        {"validate", cmd_validate, "check that a provider works from here (credentials, engine)"},
        {"gc", cmd_gc, "free what no job needs: run dirs, scratch files, uploads, blobs"},
        {"serve", cmd_serve, "run the control plane: API, dashboard, webhooks, S3 endpoint"},
        {"build", cmd_build, "build an image from a Dockerfile into the local image store"},
        {"import", cmd_import, "make a one-layer image from a root filesystem tar"},
        {"push", cmd_push, "push an image from the local image store to a registry"},
        {"pull", cmd_pull, "fetch an image from a registry into the local image store"},
        {"version", cmd_version, "print the version"},
        {"help", NULL, "show this help"},
};

static void print_help(FILE *f)
{
        fputs("usage: hoist [-v|-vv] COMMAND [ARGS...]\n"
              "\n"
              "Runs training jobs in containers: on this machine (podman, docker or a\n"
              "plain process), on Slurm, Kubernetes, a compose stack, SageMaker and\n"
              "Replicate.\n"
              "\n"
              "Commands:\n",
              f);
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
                fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
        fputs("\n"
              "Run 'hoist COMMAND --help' for a command's options.\n"
              "\n"
              "Environment:\n"
              "  HOIST_HOME              state directory (default ~/.hoist): job store\n"
              "                          hoist.db, serve/, storage/, run/, images/ (the\n"
              "                          local OCI image store), cache/build/\n"
              "  HOIST_STORAGE           storage for jobs whose job.yaml names none:\n"
              "                          file:///dir or s3://bucket/prefix (default: the\n"
              "                          built-in S3 endpoint, 'hoist serve', started on\n"
              "                          demand on 127.0.0.1)\n"
              "  HOIST_PROGRESS          'lines': progress of uploads as lines when stderr\n"
              "                          is not a terminal; 'none': never (default: a\n"
              "                          redrawn line on a terminal only)\n"
              "  AWS_MAX_ATTEMPTS        tries of one S3 request (default 5; the waits\n"
              "                          between them grow from 0.5 s to 20 s)\n"
              "  HOIST_LOG               error, warn, info (default) or debug\n"
              "  HOIST_CONTAINER_ENGINE  podman, docker or none (default: podman if\n"
              "                          installed, else docker if its daemon answers)\n"
              "  CONTAINERS_CONF         podman's configuration (see containers.conf)\n"
              "  HOIST_INSECURE_REGISTRIES  hosts (comma-separated) that may be reached over\n"
              "                          plain http when https fails; 127.0.0.1 and\n"
              "                          localhost always may\n"
              "  REGISTRY_AUTH_FILE, DOCKER_CONFIG  registry credentials (auth.json,\n"
              "                          config.json with auths, credHelpers, credsStore)\n"
              "\n"
              "Exit codes:\n"
              "  0  success\n"
              "  1  an error not listed below\n"
              "  2  bad command line\n"
              "  3  invalid input: job.yaml or another file you wrote\n"
              "  4  no such job or file\n"
              "  5  the provider or container engine failed\n"
              "  6  (--follow) the job ran and failed\n"
              "  7  (--follow) the job was canceled\n"
              "  8  (submit) a spending limit with action: block would be passed\n",
              f);
}

int main(int argc, char **argv)
{
        struct hoist_error *err = NULL;
        int i = 1, rc;

        log_set_program("hoist");
        log_init_from_env();
        /* Once, before any thread: libcurl's lazy set-up is not thread-safe. */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                fprintf(stderr, "hoist: error: cannot initialise libcurl\n");
                return EXIT_ERROR;
        }
        atexit(curl_global_cleanup);
        for (; i < argc && argv[i][0] == '-'; i++) {
                if (strcmp(argv[i], "-v") == 0) {
                        log_set_level(LOG_LEVEL_DEBUG);
                } else if (strcmp(argv[i], "-vv") == 0) {
                        log_set_level(LOG_LEVEL_DEBUG);
                } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
                        print_help(stdout);
                        return EXIT_OK;
                } else if (strcmp(argv[i], "--version") == 0) {
                        return cmd_version(1, argv, &err);
                } else {
                        fprintf(stderr, "hoist: unknown option '%s' (see 'hoist help')\n", argv[i]);
                        return EXIT_USAGE;
                }
        }
        if (i >= argc) {
                print_help(stderr);
                return EXIT_USAGE;
        }
        if (strcmp(argv[i], "help") == 0) {
                print_help(stdout);
                return EXIT_OK;
        }
        for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++) {
                if (commands[c].fn == NULL || strcmp(commands[c].name, argv[i]) != 0)
                        continue;
                rc = commands[c].fn(argc - i, argv + i, &err);
                if (rc < 0) {
                        log_error("%s", err ? err->msg : "unknown error");
                        rc = cli_exit_code(err);
                        hoist_error_free(err);
                }
                return rc;
        }
        fprintf(stderr, "hoist: unknown command '%s' (see 'hoist help')\n", argv[i]);
        return EXIT_USAGE;
}
