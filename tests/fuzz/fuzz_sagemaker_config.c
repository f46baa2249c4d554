/* SPDX-License-Identifier: MIT */
/*
 * SageMaker's config files as hoist-entrypoint reads them (entrypoint/
 * sagemaker.h): the first byte picks the file (hyperparameters.json,
 * inputdataconfig.json, resourceconfig.json, checkpointconfig.json), the
 * rest is its text.  Any bytes give either an error and nothing kept, or
 * what the reader promises: string hyperparameters within the limits and
 * without hoist's own, safe channel names, a rank among distinct hosts, an
 * absolute checkpoint path; and the SM_* variables built from it are
 * "NAME=value" lines.  Never a crash or a leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "entrypoint/sagemaker.h"
#include "entrypoint/smenv.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_hyperparameters(const struct sagemaker *sm)
{
        const char *k;
        json_t *v;

        if (json_object_size(sm->hyperparameters) > SAGEMAKER_HP_MAX ||
            json_object_get(sm->hyperparameters, "hoist_job_url") != NULL ||
            json_object_get(sm->hyperparameters, "hoist_secrets_key") != NULL)
                abort();
        if (sm->job_url != NULL && strncmp(sm->job_url, "s3://", 5) != 0 &&
            strncmp(sm->job_url, "file:///", 8) != 0)
                abort();
        json_object_foreach(sm->hyperparameters, k, v)
        {
                _cleanup_free_ char *value = NULL;
                if (!json_is_string(v) || *k == '\0' || strlen(k) > SAGEMAKER_HP_NAME_MAX ||
                    json_string_length(v) > SAGEMAKER_HP_VALUE_MAX)
                        abort();
                value = smenv_hp_value(json_string_value(v));
                if (value == NULL)
                        abort();
        }
}

/* The variables from what was read, over a fixed layout. */
static void check_env(const struct sagemaker *sm)
{
        json_auto_t *empty = json_object();
        json_auto_t *channels = json_object();
        char host[] = "algo-1";
        char *hosts[] = {host, NULL};
        const char *k;
        json_t *v;
        struct smenv e = {
                .input_dir = "/opt/ml/input",
                .input_config_dir = "/opt/ml/input/config",
                .model_dir = "/opt/ml/model",
                .output_dir = "/opt/ml/output",
                .output_data_dir = "/opt/ml/output/data",
                .output_intermediate_dir = "/opt/ml/output/intermediate",
                .hyperparameters = sm->hyperparameters ? sm->hyperparameters : empty,
                .channels = channels,
                .input_data_config = sm->input_data_config ? sm->input_data_config : empty,
                .resource_config = sm->resource_config ? sm->resource_config : empty,
                .current_host = sm->place.hosts ? sm->place.hosts[sm->place.node_rank] : host,
                .hosts = sm->place.hosts ? sm->place.hosts : hosts,
                .network_interface = sm->network_interface ? sm->network_interface : "eth0",
                .num_gpus = 1,
                .num_cpus = 2,
        };
        _cleanup_strv_ char **vars = NULL;

        json_object_foreach(sm->input_data_config ? sm->input_data_config : empty, k, v)
        {
                _cleanup_free_ char *dir = xasprintf("/opt/ml/input/data/%s", k);
                (void)json_object_set_new(channels, k, json_string(dir));
        }
        vars = smenv_build(&e);
        for (size_t i = 0; vars[i] != NULL; i++)
                if (strncmp(vars[i], "SM_", 3) != 0 || strchr(vars[i], '=') == NULL)
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct sagemaker *sm = xzalloc(sizeof *sm);
        struct hoist_error *err = NULL;
        const char *text = size > 0 ? (const char *)data + 1 : "";
        size_t len = size > 0 ? size - 1 : 0;
        int which = size > 0 ? data[0] % 4 : 0, r;
        const char *k;
        json_t *v;

        sm->root = xstrdup(which == 3 && size > 1 && (data[1] & 1) ? "/tmp/ml" : "/opt/ml");
        switch (which) {
        case 0:
                r = sagemaker_parse_hyperparameters(sm, text, len, "hyperparameters.json", &err);
                break;
        case 1:
                r = sagemaker_parse_input_data_config(sm, text, len, "inputdataconfig.json", &err);
                break;
        case 2:
                r = sagemaker_parse_resource_config(sm, text, len, "resourceconfig.json", &err);
                break;
        default:
                r = sagemaker_parse_checkpoint_config(sm, text, len, "checkpointconfig.json", &err);
                break;
        }
        if (r < 0) {
                if (err == NULL || sm->hyperparameters || sm->input_data_config ||
                    sm->resource_config || sm->place.hosts || sm->checkpoint_dir)
                        abort();
                hoist_error_release(&err);
                sagemaker_free(sm);
                return 0;
        }
        if (err != NULL)
                abort();
        check_hyperparameters(sm);
        json_object_foreach(sm->input_data_config, k, v)
        {
                if (!sagemaker_channel_valid(k) || strchr(k, '/') != NULL || !json_is_object(v))
                        abort();
        }
        if (sm->place.hosts != NULL &&
            (sm->place.node_rank < 0 || sm->place.node_rank >= sm->place.num_nodes))
                abort();
        if (sm->checkpoint_dir != NULL && sm->checkpoint_dir[0] != '/')
                abort();
        check_env(sm);
        sagemaker_free(sm);
        return 0;
}
