/* SPDX-License-Identifier: MIT */
#ifndef HOIST_NVML_H
#define HOIST_NVML_H

/*
 * NVIDIA's management library, loaded with dlopen() (versioned symbols
 * first) so that both programs run on hosts without a GPU driver:
 * $HOIST_NVML_LIBRARY names the library (tests point it at
 * tests/fake_nvml), else libnvidia-ml.so.1.  The types and constants used
 * come from the NVML API reference (docs.nvidia.com/deploy/nvml-api:
 * nvmlReturn_t, nvmlTemperatureThresholds_t, nvmlMemoryErrorType_t,
 * nvmlEccCounterType_t, nvmlClocksThrottleReasons, nvmlEventType,
 * nvmlEventData_t); Debian ships no nvml.h.
 */

#include <stddef.h>

#include "error.h"

typedef int nvml_return;
typedef struct nvml_device_st *nvml_device;
typedef struct nvml_event_set_st *nvml_event_set;

#define NVML_SUCCESS 0
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_TIMEOUT 10
#define NVML_ERROR_GPU_IS_LOST 15

#define NVML_TEMPERATURE_GPU 0
#define NVML_TEMPERATURE_THRESHOLD_SHUTDOWN 0
#define NVML_TEMPERATURE_THRESHOLD_SLOWDOWN 1
#define NVML_MEMORY_ERROR_TYPE_UNCORRECTED 1
#define NVML_VOLATILE_ECC 0
#define NVML_DEVICE_UUID_V2_BUFFER_SIZE 96
#define NVML_DEVICE_NAME_V2_BUFFER_SIZE 96

#define NVML_EVENT_TYPE_XID_CRITICAL_ERROR 0x0000000000000008ULL

struct nvml_event_data {
        nvml_device device;
        unsigned long long event_type;
        unsigned long long event_data; /* the XID */
        unsigned int gpu_instance_id;
        unsigned int compute_instance_id;
};

/* The entry points; those the library lacks are NULL, except init,
 * get_count and get_handle, which nvml_open() requires. */
struct nvml {
        void *handle; /* NULL: not open */
        nvml_return (*init)(void);
        nvml_return (*shutdown)(void);
        const char *(*error_string)(nvml_return);
        nvml_return (*get_count)(unsigned int *);
        nvml_return (*get_handle)(unsigned int, nvml_device *);
        nvml_return (*get_name)(nvml_device, char *, unsigned int);
        nvml_return (*get_uuid)(nvml_device, char *, unsigned int);
        nvml_return (*get_temperature)(nvml_device, int, unsigned int *);
        nvml_return (*get_threshold)(nvml_device, int, unsigned int *);
        nvml_return (*get_ecc)(nvml_device, int, int, unsigned long long *);
        nvml_return (*get_remapped)(nvml_device, unsigned int *, unsigned int *, unsigned int *,
                                    unsigned int *);
        nvml_return (*get_clock_reasons)(nvml_device, unsigned long long *);
        nvml_return (*event_set_create)(nvml_event_set *);
        nvml_return (*register_events)(nvml_device, unsigned long long, nvml_event_set);
        nvml_return (*event_set_wait)(nvml_event_set, struct nvml_event_data *, unsigned int);
        nvml_return (*event_set_free)(nvml_event_set);
};

/* Loads the library and initialises it.  The error says why not, in words
 * fit for an info line: "libnvidia-ml.so.1 not found", "nvmlInit: Driver
 * Not Loaded". */
int nvml_open(struct nvml *n, struct hoist_error **err);
/* Shuts NVML down and unloads it; harmless when it is not open. */
void nvml_close(struct nvml *n);

/* NVML's text for R ("NVML error R" when it has none); valid until the next
 * call from the same thread. */
const char *nvml_error_text(const struct nvml *n, nvml_return r);

#endif
