/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_SAGEMAKER_H
#define HOIST_ENTRYPOINT_SAGEMAKER_H

/*
 * SageMaker's training contract inside the container (docs/entrypoint.md
 * "SageMaker").  SageMaker runs the image as `IMAGE train` with /opt/ml
 * mounted; hoist-entrypoint recognises that (the mode word `train` and
 * <root>/input/config present) and reads what SageMaker wrote there:
 *
 *   hyperparameters.json   {"name": "value"}, every value a string;
 *                          hoist_job_url (the job's job.json) and
 *                          hoist_secrets_key (the storage key of the job's
 *                          secrets object) are taken out, the rest are the
 *                          job's hyperparameters
 *   inputdataconfig.json   {"channel": {"TrainingInputMode": ...}}: the
 *                          channels SageMaker put in <root>/input/data/
 *   resourceconfig.json    current_host, hosts, network_interface_name; the
 *                          placement is lib/distenv's (hosts sorted, the
 *                          rank is current_host's index)
 *   checkpointconfig.json  present when CreateTrainingJob had a
 *                          CheckpointConfig: SageMaker then syncs LocalPath
 *                          with S3 both ways, and hoist leaves that
 *                          directory to it
 *
 * <root> is /opt/ml.  HOIST_SM_ROOT moves it, for tests only: SageMaker
 * itself always mounts /opt/ml.
 */

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "distenv.h"
#include "error.h"
#include "jobspec.h"
#include "stage.h"
#include "storage.h"

#define SAGEMAKER_ROOT "/opt/ml"
/* SageMaker sends SIGKILL 120 s after SIGTERM (StopTrainingJob, a spot
 * interruption, MaxRuntimeInSeconds). */
#define SAGEMAKER_STOP_GRACE_S 120
/* The largest config file read; SageMaker's own are a few KiB. */
#define SAGEMAKER_CONFIG_MAX (1024 * 1024)
/* Limits on one hyperparameter (SageMaker allows 256 and 2500). */
#define SAGEMAKER_HP_NAME_MAX 256
#define SAGEMAKER_HP_VALUE_MAX 65536
#define SAGEMAKER_HP_MAX 1000

struct sagemaker {
        char *root;                /* /opt/ml, or $HOIST_SM_ROOT */
        json_t *hyperparameters;   /* name -> string; hoist_* taken out */
        json_t *input_data_config; /* channel -> object */
        json_t *resource_config;   /* the file's object as read */
        struct distenv place;      /* hosts sorted; node_rank is current_host's */
        char *network_interface;   /* network_interface_name, else "eth0" */
        char *job_url;             /* hoist_job_url, or NULL */
        char *secrets_key;         /* hoist_secrets_key, or NULL */
        char *checkpoint_dir;      /* checkpointconfig.json LocalPath; NULL without */
};

/* <root>: $HOIST_SM_ROOT when set, else /opt/ml. */
const char *sagemaker_root(void);

/* Whether this is SageMaker's training container: TRAIN (the mode word was
 * given) and <root>/input/config is a directory. */
int sagemaker_detect(int train);

/* Reads the files in <ROOT>/input/config.  hyperparameters.json and
 * resourceconfig.json are required, inputdataconfig.json and
 * checkpointconfig.json optional.  Errors name the file. */
int sagemaker_load(const char *root, struct sagemaker **ret, struct hoist_error **err);
void sagemaker_free(struct sagemaker *sm);

/* The readers of each file's text (LEN bytes; NAME labels errors) into SM;
 * each replaces what it reads.  Untrusted input: see the limits above. */
int sagemaker_parse_hyperparameters(struct sagemaker *sm, const char *text, size_t len,
                                    const char *name, struct hoist_error **err);
int sagemaker_parse_input_data_config(struct sagemaker *sm, const char *text, size_t len,
                                      const char *name, struct hoist_error **err);
int sagemaker_parse_resource_config(struct sagemaker *sm, const char *text, size_t len,
                                    const char *name, struct hoist_error **err);
int sagemaker_parse_checkpoint_config(struct sagemaker *sm, const char *text, size_t len,
                                      const char *name, struct hoist_error **err);

/* A SageMaker channel name: 1-64 of [A-Za-z0-9.-_], not "." or "..". */
int sagemaker_channel_valid(const char *name);

/* Before the job is loaded: HOIST_JOB_URL from hoist_job_url (it wins over
 * one in the environment), HOIST_SAGEMAKER_RESOURCECONFIG for lib/distenv
 * when the root is moved, and HOIST_STOP_GRACE_S capped at 120 s. */
int sagemaker_apply_early(const struct sagemaker *sm, struct hoist_error **err);

/* After the job's storage is open, before its secrets are looked for: the
 * object hoist_secrets_key names (a key under jobs/<id>/, read with the
 * job's own storage credentials), a JSON object {"NAME": "value"}, goes
 * into the environment as HOIST_SECRETS_FILE's would.  Nothing without
 * hoist_secrets_key. */
int sagemaker_load_secrets(const struct sagemaker *sm, const struct jobspec *spec,
                           struct storage *st, struct hoist_error **err);
/* Deletes that object: the job ended for good (not interrupted, which
 * SageMaker restarts with the same hyperparameters).  A failure is a
 * warning. */
void sagemaker_drop_secrets(const struct sagemaker *sm, struct storage *st);

/* SageMaker's hyperparameters.json wins over job.json's hyperparameters (a
 * tuning job changes them there): each of its values replaces job.json's of
 * the same name or is added, so HOIST_HP_* and SM_HP_* agree.  Nothing
 * without SM. */
void sagemaker_merge_hyperparameters(const struct sagemaker *sm, struct jobspec *spec);

/* SageMaker's layout for hoist's directories, after stage_prepare() and
 * before stage_export_env(): the model dir is <root>/model and other
 * outputs go to <root>/output/data unless job.json names its own, the
 * checkpoint dir is checkpointconfig.json's LocalPath (else
 * <root>/checkpoints) unless job.json names one; every channel is both at
 * <root>/input/data/<channel> and at hoist's <workdir>/input/<channel>
 * (a symlink one way or the other). */
int sagemaker_stage(const struct sagemaker *sm, const struct jobspec *spec, struct stage *s,
                    struct hoist_error **err);

/* Whether SageMaker keeps the checkpoint dir DIR (CheckpointConfig's
 * LocalPath): hoist then neither restores nor uploads it. */
int sagemaker_owns_checkpoints(const struct sagemaker *sm, const char *dir);

/* The SM_* variables (smenv.h) for every job: on SageMaker (SM given)
 * from its files and layout; elsewhere (SM NULL) pointing at hoist's own
 * directories (S after stage_prepare()), with job.json's hyperparameters
 * and, for a job of several nodes, PLACE's hosts in rank order; SageMaker's
 * three config files are then written for SM_INPUT_CONFIG_DIR.  SPEC and S
 * may be NULL on SageMaker (a plain init without a job). */
int sagemaker_export_env(const struct sagemaker *sm, const struct jobspec *spec,
                         const struct stage *s, const struct distenv *place,
                         struct hoist_error **err);

/* After the command: a model dir job.json moved elsewhere is copied to
 * <root>/model, which SageMaker uploads as model.tar.gz. */
int sagemaker_finish(const struct sagemaker *sm, const struct stage *s, struct hoist_error **err);

#endif
