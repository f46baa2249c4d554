/* SPDX-License-Identifier: MIT */
#include "nvml.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

/* The first of NAMES that the library exports. */
static void *resolve(void *handle, const char *const *names)
{
        for (; *names != NULL; names++) {
                void *p = dlsym(handle, *names);
                if (p != NULL)
                        return p;
        }
        return NULL;
}

#define RESOLVE(field, ...)                                                                        \
        (*(void **)&n->field = resolve(n->handle, (const char *const[]){__VA_ARGS__, NULL}))

static int load(struct nvml *n, struct hoist_error **err)
{
        const char *path = getenv("HOIST_NVML_LIBRARY");
        const char *lib = path != NULL && *path != '\0' ? path : "libnvidia-ml.so.1";

        *n = (struct nvml){0};
        n->handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
        if (n->handle == NULL) {
                const char *e = dlerror();
                if (e == NULL || strstr(e, "No such file") != NULL)
                        return hoist_error_make(err, HOIST_ERR_NOT_FOUND, "%s not found", lib);
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND, "%s cannot be loaded: %s", lib,
                                        e);
        }
        /* Versioned symbols first: the unversioned ones are the old ABI. */
        RESOLVE(init, "nvmlInit_v2", "nvmlInit");
        RESOLVE(shutdown, "nvmlShutdown");
        RESOLVE(error_string, "nvmlErrorString");
        RESOLVE(get_count, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount");
        RESOLVE(get_handle, "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex");
        RESOLVE(get_name, "nvmlDeviceGetName");
        RESOLVE(get_uuid, "nvmlDeviceGetUUID");
        RESOLVE(get_temperature, "nvmlDeviceGetTemperature");
        RESOLVE(get_threshold, "nvmlDeviceGetTemperatureThreshold");
        RESOLVE(get_ecc, "nvmlDeviceGetTotalEccErrors");
        RESOLVE(get_remapped, "nvmlDeviceGetRemappedRows");
        RESOLVE(get_clock_reasons, "nvmlDeviceGetCurrentClocksEventReasons",
                "nvmlDeviceGetCurrentClocksThrottleReasons");
        RESOLVE(event_set_create, "nvmlEventSetCreate");
        RESOLVE(register_events, "nvmlDeviceRegisterEvents");
        RESOLVE(event_set_wait, "nvmlEventSetWait_v2", "nvmlEventSetWait");
        RESOLVE(event_set_free, "nvmlEventSetFree");
        if (n->init == NULL || n->get_count == NULL || n->get_handle == NULL) {
                (void)dlclose(n->handle);
                n->handle = NULL;
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                        "%s has no nvmlInit/nvmlDeviceGetCount/"
                                        "nvmlDeviceGetHandleByIndex",
                                        lib);
        }
        return 0;
}

int nvml_open(struct nvml *n, struct hoist_error **err)
{
        nvml_return r;

        if (load(n, err) < 0)
                return -1;
        r = n->init();
        if (r != NVML_SUCCESS) {
                int rc = hoist_error_make(err, HOIST_ERR_NOT_FOUND, "nvmlInit: %s",
                                          nvml_error_text(n, r));
                (void)dlclose(n->handle);
                n->handle = NULL;
                return rc;
        }
        return 0;
}

void nvml_close(struct nvml *n)
{
        if (n->handle == NULL)
                return;
        if (n->shutdown != NULL)
                (void)n->shutdown();
        (void)dlclose(n->handle);
        n->handle = NULL;
}

const char *nvml_error_text(const struct nvml *n, nvml_return r)
{
        static _Thread_local char buf[32];
        const char *s = n->error_string ? n->error_string(r) : NULL;

        if (s != NULL)
                return s;
        snprintf(buf, sizeof buf, "NVML error %d", r);
        return buf;
}
