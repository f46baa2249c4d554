/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RESOURCES_H
#define HOIST_RESOURCES_H

/*
 * The resources a job asks for (struct jobspec_resources, docs/job.md
 * "resources"), as job.yaml spells them and as every provider reads them:
 * GPU requests ("2", "H100:8", "A100-80GB:2", "H100"), CPUs ("8", "0.5",
 * "500m") and sizes ("32GiB", "512M": K, M, G and T are powers of 1024, as
 * docker reads them; KB, MB, GB and TB are refused as ambiguous).  Parse
 * errors say what was expected; the caller adds the file, line and field.
 */

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "jobspec.h"

#define RESOURCES_MAX_GPUS 64             /* on one machine */
#define RESOURCES_MAX_CPUS_MILLI 65536000 /* 65536 CPUs */
#define RESOURCES_GPU_TYPE_MAX 64

/* A count ("2"), a model and a count ("H100:8"), or a model alone ("H100",
 * one GPU).  A model is 1-64 of letters, digits, '.', '_' and '-' with at
 * least one digit; *RET_TYPE is NULL for a plain count. */
int resources_parse_gpus(const char *s, int64_t *ret_count, char **ret_type,
                         struct hoist_error **err);
/* "8", "0.5" (at most three decimals) or "500m" (thousandths), above 0. */
int resources_parse_cpus(const char *s, int64_t *ret_milli, struct hoist_error **err);
/* A number of bytes with an optional unit: B; K, Ki, KiB; M, Mi, MiB; G, Gi,
 * GiB; T, Ti, TiB (any case, powers of 1024); "1.5GiB" rounds down to a
 * byte.  Above 0. */
int resources_parse_size(const char *s, uint64_t *ret_bytes, struct hoist_error **err);

/* "0.5", "8", "1.25". */
const char *resources_format_cpus(int64_t milli, char *buf, size_t size);
/* Exact when it is a whole number of a unit ("32 GiB", "100 B"), else one
 * decimal ("7.8 GiB"). */
const char *resources_format_size(uint64_t bytes, char *buf, size_t size);
/* "1 GPU", "2 GPUs", "8 H100 GPUs"; free it. */
char *resources_describe_gpus(int64_t count, const char *type);

/* Does a device NVML names NAME ("NVIDIA A100-SXM4-80GB") fit model TYPE
 * ("A100-80GB")?  Every word of TYPE (split at '-', '_' and blanks) must be
 * a word of NAME, in any case: "H100" fits "NVIDIA H100 80GB HBM3", "L4"
 * does not fit "NVIDIA L40S". */
int resources_gpu_type_matches(const char *type, const char *name);

/* True when R asks for nothing. */
int resources_empty(const struct jobspec_resources *r);
void resources_copy(struct jobspec_resources *dst, const struct jobspec_resources *src);
/* Frees what R holds and zeroes it. */
void resources_clear(struct jobspec_resources *r);

#endif
