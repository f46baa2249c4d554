/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SAGEMAKER_API_H
#define HOIST_SAGEMAKER_API_H

/*
 * What the sagemaker provider sends and reads, as pure functions: training
 * job names, the CreateTrainingJob body, DescribeTrainingJob and
 * ListTrainingJobs answers, and the one table that maps SageMaker's states
 * onto hoist's.  The provider (sagemaker.c) does the talking.
 */

#include <jansson.h>
#include <stdint.h>

#include "error.h"
#include "jobspec.h"
#include "provider.h"
#include "sagemaker_settings.h"

/* SageMaker's TrainingJobName: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}, 63 at most. */
#define SAGEMAKER_NAME_MAX 63
#define SAGEMAKER_NAME_PREFIX "hoist-"
/* MaxRuntimeInSeconds when the job sets no limits.max_runtime (SageMaker's own default). */
#define SAGEMAKER_DEFAULT_RUNTIME_S 86400
#define SAGEMAKER_MAX_RUNTIME_S (28 * 86400)
#define SAGEMAKER_DEFAULT_VOLUME_GB 30
#define SAGEMAKER_CHECKPOINT_DIR "/opt/ml/checkpoints"

int sagemaker_name_valid(const char *name);
/* "hoist-<job id>-<attempt>": unique per attempt (SageMaker never takes a
 * name twice), and it maps back to the hoist job.  NULL when JOB_ID cannot
 * make a valid name. */
char *sagemaker_job_name(const char *job_id, int64_t attempt);
/* The hoist job id and attempt of a name sagemaker_job_name() made: 0, or
 * -1 when NAME is not one. */
int sagemaker_job_name_parse(const char *name, char **ret_id, int64_t *ret_attempt);

/* Everything CreateTrainingJob is made of. */
struct sagemaker_plan {
        const struct jobspec *spec;
        const struct sagemaker_settings *set;
        const char *job_id;
        int64_t attempt;
        const char *job_url;     /* s3://bucket/prefix/jobs/<id>/job.json */
        const char *image;       /* TrainingImage */
        const char *secrets_key; /* storage key of the secrets object, or NULL */
        /* Where the storage is (no secret): the entrypoint's
         * HOIST_S3_ENDPOINT and HOIST_S3_REGION; NULL: AWS's own. */
        const char *s3_endpoint;
        const char *s3_region;
};

struct prices;
/* The cheapest SageMaker instance type of price table P in REGION whose
 * specs hold what R asks (GPUs, GPU type, memory, CPUs).  The error names
 * what no type has. */
int sagemaker_pick_instance(const struct prices *p, const struct jobspec_resources *r,
                            const char *region, char **ret_sku, struct hoist_error **err);

/* s3://bucket/prefix/ of JOB_URL (the part before "jobs/"); NULL when it
 * is not an s3:// job URL. */
char *sagemaker_storage_base(const char *job_url);
/* The CreateTrainingJob request body for P; errors name the setting or the
 * job field SageMaker would refuse. */
int sagemaker_create_body(const struct sagemaker_plan *p, json_t **ret, struct hoist_error **err);

/* What DescribeTrainingJob says of a job. */
struct sagemaker_job {
        char *name;
        char *status;         /* TrainingJobStatus */
        char *secondary;      /* SecondaryStatus */
        char *failure_reason; /* FailureReason, or NULL */
        char *status_message; /* the last SecondaryStatusTransition's StatusMessage */
        char *instance_type;
        int64_t instance_count;
        int64_t billable_s; /* BillableTimeInSeconds; -1 when absent */
        int64_t training_s; /* TrainingTimeInSeconds; -1 when absent */
        int spot;           /* EnableManagedSpotTraining */
        int interruptions;  /* transitions to Interrupted */
};
int sagemaker_parse_describe(const char *text, size_t len, struct sagemaker_job *ret,
                             struct hoist_error **err);
int sagemaker_job_from_json(json_t *o, struct sagemaker_job *ret, struct hoist_error **err);
void sagemaker_job_clear(struct sagemaker_job *j);

/* The table: SageMaker's (status, secondary status) as hoist's state, the
 * engine's own words kept in the reason. */
void sagemaker_map_status(const struct sagemaker_job *j, struct provider_status *ret);

/* One line of ListTrainingJobs. */
struct sagemaker_summary {
        char *name;
        char *status;
        double created; /* seconds since the epoch */
};
/* The summaries and NextToken (NULL at the end) of a ListTrainingJobs answer. */
int sagemaker_parse_list(json_t *o, struct sagemaker_summary **ret, size_t *ret_n, char **ret_next,
                         struct hoist_error **err);
void sagemaker_summaries_free(struct sagemaker_summary *s, size_t n);

static inline void sagemaker_job_clearp(struct sagemaker_job *j)
{
        sagemaker_job_clear(j);
}
#define _cleanup_sagemaker_job_ __attribute__((cleanup(sagemaker_job_clearp)))

#endif
