/* SPDX-License-Identifier: MIT */
#ifndef HOIST_PROVIDER_H
#define HOIST_PROVIDER_H

/*
 * The provider interface: one struct of operations per place a job can run.
 * Providers know lib/ and this header, never each other.  Each maps its own
 * states onto hoist's (lib/jobmodel.h enum job_state).
 */

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "jobspec.h"
#include "jobmodel.h" /* enum job_state, struct job_record */

struct storage;

/* What the runner hands a provider to start one attempt of a job. */
struct provider_submit {
        const struct jobspec *spec;
        const char *job_id;
        const char *job_url;      /* HOIST_JOB_URL for the entrypoint (file:// or s3://) */
        const char *storage_root; /* local path of a file:// store, else NULL */
        const char *image;        /* container image, NULL for a process */
        const char *runtime;      /* "auto", "container", "process" */
        const char *state_dir;    /* $HOIST_HOME/run/<job-id>: the provider's own files */
        const char *entrypoint;   /* host path of hoist-entrypoint (process runtime) */
        const char *bundle;       /* host path of the entrypoint bundle dir (/opt/hoist) */
        const char *bin_dir;      /* hoist's own directory: put on a process job's PATH */
        const char *images_dir;   /* hoist's local image store (an OCI layout), where
                                   * build: put the job's image */
        char *const *secret_env;  /* "NAME=value" for the job's environment, never on a
                                   * command line or in job.json; NULL-terminated or NULL */
        /* What load_settings made of the provider's job.yaml section (NULL: the
         * provider has none, or this is a later attempt started from job.json
         * alone, e.g. a retry by hoist serve: a provider that needs its
         * settings again keeps them in state_dir at the first submit). */
        const void *settings;
        /* The job's storage, open (NULL for --dry-run): where a provider
         * whose platform has no secret mechanism of its own puts the job's
         * secrets object (the sagemaker provider). */
        struct storage *storage;
        /* Stores how to find the job again (its runtime and ref) durably.  submit
         * calls it once it knows the ref and before the job can run, and starts
         * nothing when it fails: a hoist killed at any point leaves no job
         * running that the store cannot name. */
        int (*record)(void *userdata, const char *runtime, const char *ref,
                      struct hoist_error **err);
        void *userdata;
};

struct provider_status {
        enum job_state state;
        int exit_code; /* -1 unless finished */
        char *reason;  /* owned; may be NULL */
};

/* What a provider can give a job at all; check_resources says whether it
 * can give one job what it asks. */
struct provider_caps {
        int gpus;              /* 1: GPU jobs */
        int multi_node;        /* 1: resources.nodes > 1 */
        int spot;              /* 1: resources.spot (interruptible capacity) */
        int64_t max_runtime_s; /* the longest a job may run; 0: no limit of its own */
        /* 1: the engine may run the same attempt again by itself (Slurm
         * requeues a job after preemption or a node failure).  An attempt
         * whose entrypoint reported interrupted is then not retried while
         * status() says the engine still holds it (queued, starting or
         * running): hoist follows the engine and decides once its run
         * ends.  Such a provider reports a job the engine will run again
         * (Slurm's REQUEUED) as queued, not interrupted. */
        int requeues;
};

/* What the engine bills a job for, so far.  Providers report time and what
 * was billed (sku, region, spot) and never look prices up themselves:
 * runner/job/cost.c turns this into money with the price tables (prices.h) and
 * stores it per attempt (docs/cost.md). */
struct provider_billing {
        int64_t billed_s; /* seconds the engine bills, summed over nodes */
        /* The same with its fraction, where the engine bills fractions of a
         * second (Replicate's metrics.predict_time); 0: billed_s. */
        double billed_exact_s;
        int64_t nodes; /* nodes it ran on (1 when unknown) */
        char *sku;     /* owned; the instance type or hardware billed, NULL: none
                        * (the provider is priced by the user's rate) */
        char *region;  /* owned; where, NULL: any */
        int spot;      /* 1: billed as spot / managed spot capacity */
        int64_t run_s; /* seconds it ran, summed over nodes, where the engine
                        * bills less than that (managed spot); 0: as billed_s */
        char *source;  /* owned; where the numbers came from, e.g. "sacct Elapsed" */
};

/* A job as its engine lists it (hoist list --remote). */
struct provider_remote_job {
        char *ref;       /* the engine's name for it */
        char *job_id;    /* the hoist job it belongs to, or NULL when not hoist's */
        int64_t attempt; /* 0 when unknown */
        char *state;     /* the engine's own word ("InProgress") */
        int64_t created_ms;
};
void provider_remote_jobs_free(struct provider_remote_job *j, size_t n);

/* Which price a job with given resources pays (price_key). */
struct provider_price_key {
        char *sku;     /* owned; a sku of the provider's price table */
        char *region;  /* owned; NULL: any */
        int spot;      /* 1: spot / preemptible capacity */
        int64_t count; /* instances or nodes */
};

struct prices;

struct provider_ops {
        const char *name;
        /* 1 when its jobs run off this machine: submit then needs consent
         * before anything is uploaded (runner/job/consent.h). */
        int remote;
        /* The most bytes one upload (a channel's blob, the code's) may have;
         * 0: no limit.  Submit stops before uploading anything larger. */
        uint64_t upload_limit;
        struct provider_caps caps;
        /* How often hoist serve asks status() of an active job, in ms (0:
         * 1000); it backs off from there while status() fails. */
        int poll_ms;
        /* Its own top-level section of job.yaml ("slurm" for slurm:), or NULL. */
        const char *section;
        /* Checks that section, NODE (NULL when job.yaml has none), of job.yaml
         * FILE when job.yaml is loaded, before anything is uploaded: *RET is
         * opaque to the runner, handed to render and submit, freed with
         * free_settings.  Errors name FILE:line and the field. */
        int (*load_settings)(const struct config_node *node, const char *file, void **ret,
                             struct hoist_error **err);
        void (*free_settings)(void *settings);
        /* 1 when a job with SETTINGS runs where this machine's 127.0.0.1 is
         * its own (loopback storage then works); NULL: 1 unless remote. */
        int (*reaches_loopback)(const void *settings);
        /* What submit would send for REQ (an sbatch script, API bodies), for
         * hoist submit --dry-run: *RET owned text, secrets never in it.
         * Nothing is started or written.  NULL: nothing to show. */
        int (*render)(const struct provider_submit *req, char **ret, struct hoist_error **err);
        /* 1 when render's text is nothing but YAML documents, the objects
         * submit sends (hoist submit --dry-run -o yaml prints only them). */
        int render_yaml;
        /* Which entry of the price tables P a job asking R would pay, with
         * SETTINGS (what load_settings made, or NULL): the cheapest sku of
         * the provider's that satisfies R, its region, spot, and how many
         * instances.  The error names what no sku satisfies.  NULL: the
         * provider is priced by the user's rate for it (prices_find with sku
         * NULL), per GPU-hour, node-hour or CPU-hour from R. */
        int (*price_key)(const void *settings, const struct jobspec_resources *r,
                         const struct prices *p, struct provider_price_key *ret,
                         struct hoist_error **err);
        /* What the engine billed JOB so far.  NULL: no billing. */
        int (*billing)(const struct job_record *job, const char *state_dir,
                       struct provider_billing *ret, struct hoist_error **err);
        /* Checks that the provider can work here with SETTINGS (what
         * load_settings made, or NULL): its engine installed and answering,
         * credentials.  hoist submit calls it before anything is uploaded.
         * NULL: nothing to check. */
        int (*validate)(const void *settings, struct hoist_error **err);
        /* Checks, before any input is uploaded, that IMAGE (NULL: none) can
         * run under RUNTIME ("auto", "container", "process"): present, or
         * fetched now.  NULL when the provider has nothing to check. */
        int (*check_image)(const char *image, const char *runtime, struct hoist_error **err);
        /* Checks, before any input is uploaded, that the provider can give a
         * job with IMAGE (or none) under RUNTIME what R asks (docs/job.md
         * "resources"); WORK_DIR is where a local provider keeps the job's
         * files.  The error names the request and what there is.  NULL when
         * the provider takes any request. */
        int (*check_resources)(const struct jobspec_resources *r, const char *image,
                               const char *runtime, const char *work_dir, struct hoist_error **err);
        /* Starts the job, recording its runtime and ref through req->record first. */
        int (*submit)(const struct provider_submit *req, struct hoist_error **err);
        int (*status)(const struct job_record *job, const char *state_dir,
                      struct provider_status *ret, struct hoist_error **err);
        /* Writes the job's output to FD; with FOLLOW, until the job ends. */
        int (*logs)(const struct job_record *job, const char *state_dir, int follow, int fd,
                    struct hoist_error **err);
        /* 1: logs() with FOLLOW can stream a job whose entrypoint has not
         * started writing the stored log yet (it waits for the engine to
         * start the job's container, then copies its console), and may be
         * stopped at any time: hoist logs -f shows it, in a child process,
         * until the stored log appears (runner/control/follow.c). */
        int logs_before_start;
        /* SIGTERM (or the engine's stop), then SIGKILL after GRACE_S seconds. */
        int (*cancel)(const struct job_record *job, const char *state_dir, int64_t grace_s,
                      struct hoist_error **err);
        /* Before a new attempt: makes sure nothing of the job's previous one runs
         * (its entrypoint, and whatever its command left behind), stopping it
         * like cancel when it still runs. */
        int (*clear)(const struct job_record *job, const char *state_dir, int64_t grace_s,
                     struct hoist_error **err);
        /* Frees what the provider still holds for a finished job (a stopped
         * container); its outputs and logs are in storage already. */
        int (*release)(const struct job_record *job, const char *state_dir,
                       struct hoist_error **err);
        /* Every job the engine lists for the caller's credentials, newest
         * first, at most LIMIT; NULL: the provider cannot list them. */
        int (*list_remote)(size_t limit, struct provider_remote_job **ret, size_t *ret_n,
                           struct hoist_error **err);
};

/* The load_settings and free_settings of a provider whose settings module
 * has PREFIX_load(node, file, struct PREFIX **, err) and PREFIX_free():
 * defines static NAME_load_settings and NAME_free_settings. */
#define PROVIDER_SETTINGS_OPS(name, prefix)                                                        \
        static int name##_load_settings(const struct config_node *node, const char *file,          \
                                        void **ret, struct hoist_error **err)                      \
        {                                                                                          \
                struct prefix *s = NULL;                                                           \
                if (prefix##_load(node, file, &s, err) < 0)                                        \
                        return -1;                                                                 \
                *ret = s;                                                                          \
                return 0;                                                                          \
        }                                                                                          \
        static void name##_free_settings(void *settings)                                           \
        {                                                                                          \
                prefix##_free(settings);                                                           \
        }

/* NULL when there is no provider called NAME. */
const struct provider_ops *provider_find(const char *name);
/* Makes PROV (which outlives the process's use of it) known to
 * provider_find() in this process, beside the built-in ones: how a test
 * drives the runner with a provider of its own.  -1 when its name is taken
 * or there is no room (4). */
int provider_register(const struct provider_ops *prov);
/* The names of every built-in provider, NULL-terminated. */
const char *const *provider_names(void);

/* Set by a process that runs for a long time and asks status() again and
 * again (hoist serve): a provider may then keep state between calls, such as
 * a standing watch, instead of asking the cloud afresh each time.  0 in a
 * one-shot CLI. */
extern int provider_long_lived;

void provider_status_clear(struct provider_status *st);
void provider_billing_clear(struct provider_billing *b);
void provider_price_key_clear(struct provider_price_key *k);
/* Whether a job of PROV with SETTINGS can use loopback storage. */
int provider_reaches_loopback(const struct provider_ops *prov, const void *settings);

/*
 * One lock per job, STATE_DIR/launch.lock.  Whoever starts an attempt holds
 * it from before the store row (or the next attempt's number) until the
 * provider's submit returns, and whoever asks a provider for a job's status
 * holds it too: a job with no trace is then one whose submit was killed, not
 * one still on its way.  Waits up to WAIT_MS (-1: for as long as it takes):
 * 1 and *RET_FD (close it to unlock), 0 when another process still holds it,
 * -1 on error.
 */
/* The settings a remote provider kept at its first submit in
 * STATE_DIR/FILE (a later attempt, started from job.json alone, needs them
 * again): *RET_TEXT and *RET_LEN, and *RET_PATH for the parser's errors, all
 * owned.  Gone, the error says so and to submit again; WHAT names the
 * provider ("Slurm"). */
int provider_settings_read(const char *state_dir, const char *file, const char *what,
                           char **ret_path, char **ret_text, size_t *ret_len,
                           struct hoist_error **err);
/* Keeps TEXT as STATE_DIR/FILE, mode 0600, atomically. */
int provider_settings_write(const char *state_dir, const char *file, const char *text,
                            struct hoist_error **err);

int provider_launch_lock(const char *state_dir, int wait_ms, int *ret_fd, struct hoist_error **err);

extern const struct provider_ops provider_local;
extern const struct provider_ops provider_slurm;
extern const struct provider_ops provider_sagemaker;
extern const struct provider_ops provider_replicate;
extern const struct provider_ops provider_compose;
extern const struct provider_ops provider_kubernetes;

#endif
