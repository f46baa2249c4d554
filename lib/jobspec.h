/* SPDX-License-Identifier: MIT */
#ifndef HOIST_JOBSPEC_H
#define HOIST_JOBSPEC_H

/*
 * job.json, version hoist/v1: the contract between the runner and the
 * entrypoint (docs/jobspec.md).  Read and written with jansson.  Unknown
 * fields are ignored; a missing required field is an error naming it.
 * Never carries a secret.
 */

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define JOBSPEC_VERSION "hoist/v1"

/* Defaults the entrypoint applies when job.json leaves them out. */
#define JOBSPEC_DEFAULT_STOP_GRACE_S 120
#define JOBSPEC_DEFAULT_WORKDIR "/hoist"
#define JOBSPEC_DEFAULT_PORT 29500 /* distributed.port: torch's own default */

enum jobspec_input_mode {
        JOBSPEC_INPUT_FILE,    /* one file, copied into the channel directory */
        JOBSPEC_INPUT_ARCHIVE, /* a tar archive, extracted into the channel directory */
        JOBSPEC_INPUT_TREE,    /* a tree manifest (lib/tree.h): files staged in place */
};

/* An ARCHIVE input may expand to at most this many times its own size, and
 * never less than JOBSPEC_EXTRACT_FLOOR, unless extract_limit says more. */
#define JOBSPEC_EXTRACT_RATIO 100
#define JOBSPEC_EXTRACT_FLOOR ((uint64_t)64 << 20)

struct jobspec_kv {
        char *key;
        char *value;
};

struct jobspec_input {
        char *channel;  /* [a-z0-9_]+; becomes HOIST_INPUT_<CHANNEL> */
        char *source;   /* URL: file:///abs/path or s3://bucket/key */
        char *sha256;   /* 64 hex digits of the stored bytes (TREE: of the manifest), or NULL */
        char *filename; /* for FILE mode: the name inside the channel dir */
        enum jobspec_input_mode mode;
        uint64_t size; /* bytes of the stored object (TREE: sum of the files); 0 if unknown */
        /* ARCHIVE: bytes the archive may expand to; 0 = the default rule,
         * jobspec_extract_limit() */
        uint64_t extract_limit;
};

/* The job's source tree (job.yaml `code:`), staged at $HOIST_CODE_DIR:
 * a tree manifest (TREE) or, from older runners, a tar blob (ARCHIVE). */
struct jobspec_code {
        char *source;                 /* as an input's source; NULL: the job ships no code */
        char *sha256;                 /* 64 hex digits of the tar or the manifest, or NULL */
        uint64_t size;                /* bytes of the tar (TREE: sum of the files); 0 if unknown */
        enum jobspec_input_mode mode; /* ARCHIVE (absent in job.json) or TREE */
};

struct jobspec_storage {
        char *endpoint; /* "file:///abs/root" or "http(s)://host:port" */
        char *region;   /* NULL for file:// */
        char *bucket;   /* NULL for file:// */
        char *prefix;   /* key prefix inside the bucket ("" for none) */
};

struct jobspec_webhook {
        char *url;
        char **events; /* NULL-terminated; NULL or empty = every event */
        /* Where the runner finds the signing secret on each attempt: the
         * NAME of an environment variable, or a file path.  Never the secret. */
        char *secret_env;
        char *secret_file;
};

/* resources: what the job asks of the machine that runs it (docs/job.md
 * "resources"); each provider maps it onto its own terms (engine limits,
 * Slurm gres, Kubernetes limits, instance types).  0 / NULL: not asked. */
struct jobspec_resources {
        int64_t gpus;          /* how many GPUs */
        char *gpu_type;        /* "H100", "A100-80GB"; NULL = any kind */
        int64_t cpus_milli;    /* thousandths of a CPU: 500 = 0.5 CPU */
        uint64_t memory_bytes; /* memory limit */
        uint64_t disk_bytes;   /* free disk for the job's files */
        int spot;              /* 1: a spot/preemptible machine will do */
};

/* secrets[]: a variable the command gets whose value never travels in
 * job.json.  NAME is what the command sees; ENV or FILE is where the runner
 * reads the value again on every attempt (docs/job.md "secrets"). */
struct jobspec_secret {
        char *name;
        char *env;  /* the submitting machine's variable, or NULL */
        char *file; /* an absolute path there, or NULL */
};

/* outputs.hub: the model's commit to the Hugging Face Hub once the job
 * succeeded (docs/results.md "The Hub").  TOKEN names one of secrets[];
 * the value never travels in job.json. */
enum jobspec_hub_from {
        JOBSPEC_HUB_FROM_HOST,       /* hoist uploads from the job's storage (the default) */
        JOBSPEC_HUB_FROM_ENTRYPOINT, /* the entrypoint uploads from the model dir */
};
struct jobspec_hub {
        char *repo;         /* "user/name"; NULL: no Hub output */
        int private_repo;   /* 1: a repo hoist creates is private (the default) */
        char *revision;     /* NULL: "main" */
        char *path_in_repo; /* NULL: "." (the repo's root) */
        char *token;        /* the NAME of a secret */
        enum jobspec_hub_from from;
        char *endpoint; /* the Hub's URL (HF_ENDPOINT at submit); NULL: huggingface.co */
};

struct jobspec {
        char *version; /* always JOBSPEC_VERSION when written */
        char *id;      /* required */
        char *name;
        char *image; /* reference the job was submitted with, or NULL */
        char *image_digest;
        char **command; /* argv, NULL-terminated; NULL = the arguments the entrypoint
                         * was started with (the image CMD) */
        char *workdir;  /* NULL: the entrypoint's default */

        struct jobspec_kv *env;
        size_t n_env;
        struct jobspec_kv *hyperparameters;
        size_t n_hyperparameters;
        struct jobspec_input *inputs;
        size_t n_inputs;
        struct jobspec_code code;

        struct jobspec_storage storage; /* required: endpoint */

        char *checkpoint_dir;    /* local dir in the container; NULL = default */
        char *checkpoint_prefix; /* storage key prefix, e.g. "jobs/<id>/checkpoints/" */
        int64_t checkpoint_interval_s;

        char *model_dir;        /* local model dir; NULL = default */
        char *output_dir;       /* local output dir; NULL = default */
        char *output_prefix;    /* storage key prefix for outputs */
        char *log_prefix;       /* storage key prefix for logs */
        struct jobspec_hub hub; /* outputs.hub */

        struct jobspec_webhook *webhooks;
        size_t n_webhooks;

        struct jobspec_secret *secrets; /* names and sources, never values */
        size_t n_secrets;

        int64_t max_runtime_s; /* 0 = unlimited */
        int64_t stop_grace_s;  /* 0 = JOBSPEC_DEFAULT_STOP_GRACE_S */

        /* distributed (docs/jobspec.md "distributed") */
        int64_t nodes; /* 1 when absent */
        int64_t gpus_per_node;
        char *launcher;           /* NULL (= "none"), "none", "hoist", "torchrun", "accelerate" */
        int64_t nproc_per_node;   /* workers per node; 0 = auto: the GPUs it sees, else 1 */
        int64_t port;             /* MASTER_PORT; 0 = JOBSPEC_DEFAULT_PORT */
        int checkpoints_per_rank; /* 1: each node keeps checkpoints/rank-<R>/ */

        int gpu_health; /* 1 = monitor on (the default), 0 = off */
        int64_t gpu_health_interval_s;

        int64_t attempt; /* 1 for the first run, 2 after one resume ... */

        /* When the runner starts a new attempt by itself (docs/job.md "retry");
         * the entrypoint ignores it. */
        char **retry_on;   /* NULL-terminated reasons, e.g. "interruption"; NULL = never */
        int64_t retry_max; /* at most this many automatic new attempts (0-100) */

        struct jobspec_resources resources;
};

/* The entrypoint's result record (jobs/<id>/result.json). */
struct jobspec_result {
        char *job_id;
        char *node;
        char *status;  /* "succeeded", "failed", "canceled", "interrupted" */
        int exit_code; /* the entrypoint's own exit code */
        int signal;    /* signal that ended the command, or 0 */
        char *reason;  /* human-readable; tail of stderr on failure */
        int64_t started_at_ms;
        int64_t finished_at_ms;
        int64_t attempt;
};

struct jobspec *jobspec_new(void);
void jobspec_free(struct jobspec *spec);

/* Parses job.json text.  NAME labels errors ("'job.json': line 3: ..."). */
int jobspec_parse(const char *json, size_t len, const char *name, struct jobspec **ret_spec,
                  struct hoist_error **err);
int jobspec_load_file(const char *path, struct jobspec **ret_spec, struct hoist_error **err);
/* Serialises (pretty, keys in a stable order); returns a NUL-terminated string. */
char *jobspec_to_json(const struct jobspec *spec);

/* Adds an env/hyperparameter pair (copies both). */
void jobspec_kv_add(struct jobspec_kv **v, size_t *n, const char *key, const char *value);
const char *jobspec_kv_get(const struct jobspec_kv *v, size_t n, const char *key);

/* Checks what job.json needs for a run: version, id, storage endpoint, input
 * channels (valid, unique names; a source each), a non-empty command when
 * one is given.  Names the first problem. */
int jobspec_validate(const struct jobspec *spec, struct hoist_error **err);

/* A secret's name: a variable name (A-Z, a-z, 0-9, _, not starting with a
 * digit) outside hoist's own HOIST_ prefix. */
int jobspec_secret_name_valid(const char *name);

/* distributed.launcher: who starts the command's processes on each node
 * (docs/jobspec.md "distributed"). */
enum jobspec_launcher {
        JOBSPEC_LAUNCHER_NONE,       /* the command as it is, once per node */
        JOBSPEC_LAUNCHER_HOIST,      /* the entrypoint starts nproc_per_node workers */
        JOBSPEC_LAUNCHER_TORCHRUN,   /* torchrun ... <command> */
        JOBSPEC_LAUNCHER_ACCELERATE, /* accelerate launch ... <command> */
};
#define JOBSPEC_MAX_NPROC 1024
/* The launcher named NAME (NULL: none), or -1 when unknown. */
int jobspec_launcher_parse(const char *name);
/* SPEC's launcher; NONE when absent (or unknown: jobspec_validate refuses it). */
enum jobspec_launcher jobspec_launcher(const struct jobspec *spec);
const char *jobspec_launcher_name(enum jobspec_launcher l);
/* distributed.port, or JOBSPEC_DEFAULT_PORT. */
int64_t jobspec_port(const struct jobspec *spec);

/* "host" / "entrypoint" (-1 when unknown) and back. */
int jobspec_hub_from_parse(const char *name);
const char *jobspec_hub_from_name(enum jobspec_hub_from from);

/* Channel names: 1-64 of [a-z0-9_], starting with a letter. */
int jobspec_channel_valid(const char *channel);

int jobspec_result_parse(const char *json, size_t len, const char *name,
                         struct jobspec_result **ret, struct hoist_error **err);
char *jobspec_result_to_json(const struct jobspec_result *r);
void jobspec_result_free(struct jobspec_result *r);

const char *jobspec_input_mode_name(enum jobspec_input_mode mode);

/* The most bytes ARCHIVE input IN may expand to: its extract_limit, else
 * max(JOBSPEC_EXTRACT_RATIO x its size, JOBSPEC_EXTRACT_FLOOR). */
uint64_t jobspec_extract_limit(const struct jobspec_input *in);

static inline void jobspec_freep(struct jobspec **s)
{
        jobspec_free(*s);
}
static inline void jobspec_result_freep(struct jobspec_result **r)
{
        jobspec_result_free(*r);
}
#define _cleanup_jobspec_ __attribute__((cleanup(jobspec_freep)))
#define _cleanup_jobspec_result_ __attribute__((cleanup(jobspec_result_freep)))

#endif
