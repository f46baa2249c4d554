/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ENTRYPOINT_SMENV_H
#define HOIST_ENTRYPOINT_SMENV_H

/*
 * The SM_* variables the SageMaker training toolkit (sagemaker-training)
 * sets for a training script, in the toolkit's own formats, so that a
 * script written for it runs unchanged under hoist-entrypoint, on
 * SageMaker and on every other provider (docs/entrypoint.md "SageMaker").
 *
 * The toolkit reads each hyperparameter's string as JSON where it can
 * ("3" is 3, "\"a\"" is a, "abc" stays abc) and writes structured values
 * with json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=True);
 * the same is done here, floats written as Python's repr() writes them.
 * SM_HP_<NAME> is the name upper-cased (ASCII letters only; '-' and the
 * rest kept, as the toolkit does); a name that cannot be a variable (empty,
 * or holding '=') is left out of SM_HP_* and kept in SM_HPS.
 */

#include <jansson.h>
#include <stdint.h>

#include "error.h"

struct smenv {
        const char *input_dir;               /* SM_INPUT_DIR */
        const char *input_config_dir;        /* SM_INPUT_CONFIG_DIR */
        const char *model_dir;               /* SM_MODEL_DIR */
        const char *output_dir;              /* SM_OUTPUT_DIR */
        const char *output_data_dir;         /* SM_OUTPUT_DATA_DIR */
        const char *output_intermediate_dir; /* SM_OUTPUT_INTERMEDIATE_DIR */
        const json_t *hyperparameters;       /* name -> string */
        const json_t *channels;              /* name -> directory */
        const json_t *input_data_config;     /* SM_INPUT_DATA_CONFIG */
        const json_t *resource_config;       /* SM_RESOURCE_CONFIG */
        const char *current_host;
        char *const *hosts; /* NULL-terminated, rank order */
        const char *network_interface;
        const char *job_name; /* may be NULL */
        int64_t num_gpus;
        int64_t num_cpus;
};

/* The variables, "NAME=value" each, NULL-terminated, sorted by name. */
char **smenv_build(const struct smenv *e);

/* Linux's limit on one "NAME=value" string that exec() passes on
 * (MAX_ARG_STRLEN, 32 pages). */
#define SMENV_VAR_MAX (32 * 4096)

/* Sets each of VARS ("NAME=value") in the environment; one longer than
 * SMENV_VAR_MAX is left out with a warning (huge hyperparameters). */
int smenv_export(char *const *vars, struct hoist_error **err);

/* One hyperparameter's value as the toolkit passes it on (SM_HP_*). */
char *smenv_hp_value(const char *raw);
/* The hyperparameter's value as the toolkit reads it: the JSON it holds,
 * else the string itself. */
json_t *smenv_hp_decode(const char *raw);
/* SM_HP_<NAME>, or NULL when NAME cannot make a variable name. */
char *smenv_hp_name(const char *name);
/* json.dumps(V, sort_keys=True, separators=(",", ":"), ensure_ascii=True). */
char *smenv_json(const json_t *v);
/* A float as Python's repr() writes it ("0.1", "1000.0", "1e-05"). */
char *smenv_py_float(double v);

#endif
