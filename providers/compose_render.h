/* SPDX-License-Identifier: MIT */
#ifndef HOIST_COMPOSE_RENDER_H
#define HOIST_COMPOSE_RENDER_H

/*
 * What the compose provider writes: the job's compose.yaml and its env file,
 * pure functions of the job (tests/data/compose/golden/ holds copies, so a
 * change shows up in review).  compose.yaml never holds a secret: those
 * reach the job through ENV_FILE beside it (mode 0600), which every service
 * names in env_file.
 */

#include "error.h"
#include "jobspec.h"

#define COMPOSE_FILE "compose.yaml"
#define COMPOSE_ENV_FILE "secrets.env"

struct compose_plan {
        const struct jobspec *spec;
        const char *job_id;
        const char *job_url;      /* HOIST_JOB_URL */
        const char *storage_root; /* a file:// store's root (mounted at the same path), or NULL */
        const char *image;        /* the image every node runs */
        const char *bundle;       /* the entrypoint bundle mounted at /opt/hoist, or NULL */
        int secrets;              /* 1: the services read ENV_FILE */
        /* 1: the nodes use the host's network (storage or a webhook on this
         * machine's loopback is reachable only from there); 0: a network
         * of the job's own, where each node is reached by its service name */
        int host_network;
};

/* The project name of job JOB_ID ("hoist-<id>"), which is also its
 * network's name. */
char *compose_project_name(const char *job_id);

/* The name of node RANK's service ("node0"). */
char *compose_service_name(int64_t rank);

/* 1 when URL's host is this machine's loopback (127.0.0.0/8, localhost, ::1). */
int compose_url_is_loopback(const char *url);

/* Whether SPEC's storage endpoint or a webhook is on loopback. */
int compose_needs_host_network(const struct jobspec *spec);

/* compose.yaml's text.  Errors: a job the compose file cannot express. */
int compose_render_yaml(const struct compose_plan *p, char **ret, struct hoist_error **err);

/* The env file for SECRET_ENV ("NAME=value", NULL-terminated): one line per
 * variable.  Every compose engine reads it (podman --env-file reads values
 * literally, docker-compose's python-dotenv unquotes and expands them), so
 * a value they could read differently is refused with an error naming the
 * variable: a newline, a leading quote, '$', " #", or blanks at either end. */
int compose_env_file(char *const *secret_env, char **ret, struct hoist_error **err);

#endif
