/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_JOBFILE_H
#define HOIST_RUNNER_JOBFILE_H

/*
 * job.yaml: what the user writes (docs/job.md).  Loaded with lib/config, so
 * every error carries file:line and says what was expected.  Relative input
 * paths are resolved against the directory holding job.yaml.
 */

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "jobspec.h"

enum jobfile_runtime {
        JOBFILE_RUNTIME_AUTO,      /* a container engine if one exists, else a process */
        JOBFILE_RUNTIME_CONTAINER, /* podman or docker; an error if neither exists */
        JOBFILE_RUNTIME_PROCESS,   /* a plain host process */
};

struct jobfile_input {
        char *channel;          /* validated with jobspec_channel_valid() */
        char *path;             /* absolute local path (file or directory), symlinks resolved */
        char *link;             /* the path as written when it is itself a symlink, else NULL */
        int line;               /* where it was declared, for later errors */
        int extract;            /* `extract: true`: an archive file staged extracted */
        uint64_t extract_limit; /* `extract_limit:`; 0 = the default rule */
};

/* webhooks[]: where the job's events go (docs/job.md).  The signing secret
 * is never in job.yaml: SECRET_ENV names the variable that holds it, or
 * SECRET_FILE (absolute) the file. */
struct jobfile_webhook {
        char *url;
        char **events; /* NULL: every event */
        char *secret_env;
        char *secret_file;
        int line;
};

/* include: a path sent although an ignore file or the sensitive list
 * leaves it out (docs/job.md). */
struct jobfile_include {
        char *path; /* absolute: its directory with symlinks resolved, then its name */
        int line;
};

/* build: the image to build (and push) before the job runs (docs/job.md). */
struct jobfile_build {
        char *context;         /* absolute directory */
        char *dockerfile;      /* absolute path, or NULL for CONTEXT/Dockerfile */
        char **args;           /* "K=V" build args, NULL-terminated (never NULL) */
        char *target;          /* stage, or NULL for the last */
        char *push;            /* REGISTRY/REPO[:TAG] to push to, or NULL */
        int create_repository; /* push: create a missing ECR repository */
        int line;
};

struct jobfile {
        char *path; /* the job.yaml it came from */
        char *dir;  /* its directory, absolute */

        char *name;     /* required: [a-z0-9][a-z0-9-]{0,62} */
        char *image;    /* container image; required unless runtime is process */
        char **command; /* argv; NULL = the image's own ENTRYPOINT/CMD */
        char *workdir;
        enum jobfile_runtime runtime;
        char *provider; /* "local" when absent */
        char *storage;  /* storage URL, or NULL for the default */

        struct jobfile_input *inputs;
        size_t n_inputs;
        struct jobspec_kv *env;
        size_t n_env;
        struct jobspec_kv *hyperparameters; /* scalars kept as written */
        size_t n_hyperparameters;

        struct jobfile_webhook *webhooks;
        size_t n_webhooks;

        /* secrets: where each value is on this machine (FILE absolute, ~/
         * expanded); read at submit and on every attempt (runner/job/jobsecrets.h). */
        struct jobspec_secret *secrets;
        size_t n_secrets;

        char *outputs_download; /* local dir that `hoist results` fills by default; NULL */
        struct jobspec_hub hub; /* outputs.hub (runner/job/jobfile_hub.c); repo NULL: none */

        int64_t checkpoint_interval_s; /* 0 = default */
        int64_t max_runtime_s;         /* 0 = unlimited */
        int64_t stop_grace_s;          /* 0 = default */

        struct jobfile_build *build; /* the build: section, or NULL */

        char **retry_on;   /* retry.on: "interruption"; NULL when absent */
        int64_t retry_max; /* retry.max: 0-100 */

        struct jobspec_resources resources; /* resources: (docs/job.md); zero when absent */
        int resources_line;                 /* where resources: is, for later errors; 0 = absent */

        /* code:, include:, consent: (runner/job/jobfile_code.c) */
        char *code; /* the source tree, absolute, symlinks resolved; NULL: none */
        int code_line;
        struct jobfile_include *includes;
        size_t n_includes;
        char *consent; /* "ask", "allow", "never"; NULL: $HOIST_HOME/config.yaml's */
        int consent_line;

        /* resources.nodes and distributed: (runner/job/jobfile_dist.c); never NULL */
        struct jobfile_dist *dist;
        /* What the provider's load_settings made of its own section
         * (slurm: for provider slurm), freed with its free_settings; NULL
         * when the provider has none. */
        void *provider_settings;
        void (*free_provider_settings)(void *settings);
};

/* Loads and validates job.yaml at PATH. */
int jobfile_load(const char *path, struct jobfile **ret, struct hoist_error **err);
/* Same, from text in memory; PATH only names it in errors and anchors
 * relative paths. */
int jobfile_parse(const char *text, size_t len, const char *path, struct jobfile **ret,
                  struct hoist_error **err);
void jobfile_free(struct jobfile *jf);

/* Parses "90", "90s", "15m", "2h", "1d" into seconds; -1 on error. */
int64_t jobfile_parse_duration(const char *s);

const char *jobfile_runtime_name(enum jobfile_runtime rt);

static inline void jobfile_freep(struct jobfile **j)
{
        jobfile_free(*j);
}
#define _cleanup_jobfile_ __attribute__((cleanup(jobfile_freep)))

#endif
