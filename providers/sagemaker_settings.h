/* SPDX-License-Identifier: MIT */
#ifndef HOIST_SAGEMAKER_SETTINGS_H
#define HOIST_SAGEMAKER_SETTINGS_H

/*
 * job.yaml's sagemaker: section (docs/providers/sagemaker.md "Settings"),
 * with the submitting machine's HOIST_SAGEMAKER_* variables filling what it
 * leaves out, checked when job.yaml is loaded; and the copy the provider
 * keeps in run/<id>/sagemaker.json for later attempts.
 */

#include <stdint.h>

#include "config.h"
#include "error.h"

struct sagemaker_settings {
        char *role;             /* execution role ARN (HOIST_SAGEMAKER_ROLE) */
        char *instance_type;    /* "ml.g5.xlarge"; NULL: chosen from resources */
        int64_t instance_count; /* 0: resources.nodes */
        int64_t volume_size_gb; /* VolumeSizeInGB; 0: 30 */
        int spot;               /* -1: resources.spot; 0 or 1 */
        int64_t max_wait_s;     /* MaxWaitTimeInSeconds for spot; 0: the max runtime */
        char **subnets;         /* VpcConfig; NULL-terminated or NULL */
        char **security_groups;
        char **tag_keys; /* Tags, in order; NULL-terminated or NULL */
        char **tag_values;
        char *region; /* NULL: the AWS chain (AWS_REGION ...) */
};

struct sagemaker_settings *sagemaker_settings_new(void);
void sagemaker_settings_free(struct sagemaker_settings *s);

/* Checks NODE, job.yaml's sagemaker: section (NULL: none), then fills what
 * it leaves out from the environment.  Errors name FILE:line and the field. */
int sagemaker_settings_load(const struct config_node *node, const char *file,
                            struct sagemaker_settings **ret, struct hoist_error **err);

char *sagemaker_settings_to_json(const struct sagemaker_settings *s);
int sagemaker_settings_from_json(const char *text, size_t len, const char *name,
                                 struct sagemaker_settings **ret, struct hoist_error **err);

/* Whether ARN is an IAM role ARN as SageMaker's RoleArn pattern says. */
int sagemaker_role_valid(const char *arn);
/* Whether TYPE looks like a SageMaker instance type ("ml.<family>.<size>"). */
int sagemaker_instance_type_valid(const char *type);

static inline void sagemaker_settings_freep(struct sagemaker_settings **s)
{
        sagemaker_settings_free(*s);
}
#define _cleanup_sagemaker_settings_ __attribute__((cleanup(sagemaker_settings_freep)))

#endif
