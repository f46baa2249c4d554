/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for the NVIDIA driver's libnvidia-ml.so.1, for tests on machines
 * without a GPU.  It reports the readings named in the file $FAKE_NVML_CONFIG,
 * read again on every call so a test can change them while a job runs:
 *
 *   device_count=2          devices (default 1)
 *   name=NVIDIA H100 80GB HBM3  what nvmlDeviceGetName says of every device
 *                           (default "NVIDIA Fake GPU")
 *   fault_device=1          the device the values below apply to (default 0;
 *                           the others read healthy)
 *   temperature=95          degrees C (default 40)
 *   slowdown=90 shutdown=95 thresholds (defaults 90, 95)
 *   ecc_uncorrected=1       volatile uncorrectable ECC count (default 0)
 *   remapped_pending=1      nvmlDeviceGetRemappedRows isPending (default 0)
 *   remapped_failure=1      nvmlDeviceGetRemappedRows failureOccurred
 *   clocks_reasons=0x40     current clocks event reasons (default 0)
 *   xid=79                  one critical XID event (each new value is
 *                           delivered once; 0 = none)
 *   gpu_lost=1              every device query fails with GPU_IS_LOST
 *   init_error=9            nvmlInit fails with this code
 *
 * With $FAKE_NVML_TRACE set, the name of every function called is appended
 * to that file, so a test can see which symbols (versioned or not) were used.
 * It exports the versioned symbols of NVML and their unversioned
 * predecessors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_TIMEOUT 10
#define NVML_ERROR_GPU_IS_LOST 15
#define XID_EVENT 0x8ULL

typedef int nvmlReturn_t;
struct fake_device {
        unsigned int index;
};
typedef struct fake_device *nvmlDevice_t;
typedef struct fake_event_set *nvmlEventSet_t;
typedef struct {
        nvmlDevice_t device;
        unsigned long long eventType;
        unsigned long long eventData;
        unsigned int gpuInstanceId;
        unsigned int computeInstanceId;
} nvmlEventData_t;

struct fake_config {
        unsigned int device_count, fault_device, temperature, slowdown, shutdown;
        unsigned int remapped_pending, remapped_failure, gpu_lost;
        unsigned long long ecc, clocks_reasons, xid;
        int init_error;
        char name[96];
};

#define MAX_DEVICES 16
static struct fake_device devices[MAX_DEVICES];
static int initialised;
static unsigned long long xid_delivered;
static struct fake_event_set {
        int registered;
} event_set;

static void trace_call(const char *fn)
{
        const char *path = getenv("FAKE_NVML_TRACE");
        FILE *f;

        if (path == NULL || *path == '\0')
                return;
        f = fopen(path, "ae");
        if (f == NULL)
                return;
        fprintf(f, "%s\n", fn);
        fclose(f);
}

static void load(struct fake_config *c)
{
        const char *path = getenv("FAKE_NVML_CONFIG");
        const char *gate;
        char line[256];
        FILE *f;

        *c = (struct fake_config){.device_count = 1,
                                  .temperature = 40,
                                  .slowdown = 90,
                                  .shutdown = 95,
                                  .name = "NVIDIA Fake GPU"};
        if (path == NULL || (f = fopen(path, "re")) == NULL)
                return;
        while (fgets(line, sizeof line, f) != NULL) {
                char *eq = strchr(line, '=');
                unsigned long long v;
                if (eq == NULL)
                        continue;
                *eq = '\0';
                v = strtoull(eq + 1, NULL, 0);
                if (strcmp(line, "device_count") == 0)
                        c->device_count = (unsigned int)v;
                else if (strcmp(line, "fault_device") == 0)
                        c->fault_device = (unsigned int)v;
                else if (strcmp(line, "temperature") == 0)
                        c->temperature = (unsigned int)v;
                else if (strcmp(line, "slowdown") == 0)
                        c->slowdown = (unsigned int)v;
                else if (strcmp(line, "shutdown") == 0)
                        c->shutdown = (unsigned int)v;
                else if (strcmp(line, "ecc_uncorrected") == 0)
                        c->ecc = v;
                else if (strcmp(line, "remapped_pending") == 0)
                        c->remapped_pending = (unsigned int)v;
                else if (strcmp(line, "remapped_failure") == 0)
                        c->remapped_failure = (unsigned int)v;
                else if (strcmp(line, "clocks_reasons") == 0)
                        c->clocks_reasons = v;
                else if (strcmp(line, "xid") == 0)
                        c->xid = v;
                else if (strcmp(line, "gpu_lost") == 0)
                        c->gpu_lost = (unsigned int)v;
                else if (strcmp(line, "init_error") == 0)
                        c->init_error = (int)v;
                else if (strcmp(line, "name") == 0)
                        snprintf(c->name, sizeof c->name, "%.*s", (int)strcspn(eq + 1, "\n"),
                                 eq + 1);
        }
        fclose(f);
        if (c->device_count > MAX_DEVICES)
                c->device_count = MAX_DEVICES;
        /* Until the file $FAKE_NVML_FAULTS_AFTER exists the GPU is healthy:
         * a test's trainer creates it once its SIGTERM handler is in place,
         * so a fault present from the start cannot beat the handler. */
        gate = getenv("FAKE_NVML_FAULTS_AFTER");
        if (gate != NULL && *gate != '\0' && access(gate, F_OK) != 0) {
                c->temperature = 40;
                c->ecc = 0;
                c->remapped_pending = c->remapped_failure = 0;
                c->clocks_reasons = 0;
                c->xid = 0;
                c->gpu_lost = 0;
        }
}

/* The config, and whether DEV is the device the faults apply to. */
static nvmlReturn_t device_config(nvmlDevice_t dev, struct fake_config *c, int *faulty)
{
        if (!initialised)
                return NVML_ERROR_UNINITIALIZED;
        if (dev == NULL || dev < devices || dev >= devices + MAX_DEVICES)
                return NVML_ERROR_INVALID_ARGUMENT;
        load(c);
        *faulty = dev->index == c->fault_device;
        if (*faulty && c->gpu_lost)
                return NVML_ERROR_GPU_IS_LOST;
        return NVML_SUCCESS;
}

/* Records FN the first time this call site runs (waits are called often). */
#define trace(fn)                                                                                  \
        do {                                                                                       \
                static int traced_;                                                                \
                if (!traced_) {                                                                    \
                        traced_ = 1;                                                               \
                        trace_call(fn);                                                            \
                }                                                                                  \
        } while (0)

/* Exported, so declared here for -Wmissing-prototypes. */
nvmlReturn_t nvmlInit_v2(void);
nvmlReturn_t nvmlInit(void);
nvmlReturn_t nvmlShutdown(void);
const char *nvmlErrorString(nvmlReturn_t r);
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count);
nvmlReturn_t nvmlDeviceGetCount(unsigned int *count);
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *dev);
nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *dev);
nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t dev, char *uuid, unsigned int len);
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t dev, char *name, unsigned int len);
nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t dev, int sensor, unsigned int *temp);
nvmlReturn_t nvmlDeviceGetTemperatureThreshold(nvmlDevice_t dev, int type, unsigned int *temp);
nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t dev, int type, int counter,
                                         unsigned long long *count);
nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t dev, unsigned int *corr, unsigned int *unc,
                                       unsigned int *pending, unsigned int *failure);
nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t dev,
                                                       unsigned long long *reasons);
nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t dev, unsigned long long *reasons);
nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set);
nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t dev, unsigned long long types,
                                      nvmlEventSet_t set);
nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int ms);
nvmlReturn_t nvmlEventSetWait(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int ms);
nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set);

static nvmlReturn_t init(void)
{
        struct fake_config c;

        load(&c);
        if (c.init_error != 0)
                return c.init_error;
        for (unsigned int i = 0; i < MAX_DEVICES; i++)
                devices[i].index = i;
        initialised = 1;
        return NVML_SUCCESS;
}

nvmlReturn_t nvmlInit_v2(void)
{
        trace("nvmlInit_v2");
        return init();
}

nvmlReturn_t nvmlInit(void)
{
        trace("nvmlInit");
        return init();
}

nvmlReturn_t nvmlShutdown(void)
{
        trace("nvmlShutdown");
        initialised = 0;
        return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t r)
{
        switch (r) {
        case NVML_SUCCESS:
                return "Success";
        case NVML_ERROR_UNINITIALIZED:
                return "Uninitialized";
        case 9:
                return "Driver Not Loaded";
        case NVML_ERROR_GPU_IS_LOST:
                return "GPU is lost";
        default:
                return "Unknown Error";
        }
}

static nvmlReturn_t get_count(unsigned int *count)
{
        struct fake_config c;

        if (!initialised)
                return NVML_ERROR_UNINITIALIZED;
        load(&c);
        *count = c.device_count;
        return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
        trace("nvmlDeviceGetCount_v2");
        return get_count(count);
}

nvmlReturn_t nvmlDeviceGetCount(unsigned int *count)
{
        trace("nvmlDeviceGetCount");
        return get_count(count);
}

static nvmlReturn_t get_handle(unsigned int index, nvmlDevice_t *dev)
{
        struct fake_config c;

        if (!initialised)
                return NVML_ERROR_UNINITIALIZED;
        load(&c);
        if (index >= c.device_count)
                return NVML_ERROR_INVALID_ARGUMENT;
        *dev = &devices[index];
        return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *dev)
{
        trace("nvmlDeviceGetHandleByIndex_v2");
        return get_handle(index, dev);
}

nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *dev)
{
        trace("nvmlDeviceGetHandleByIndex");
        return get_handle(index, dev);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t dev, char *uuid, unsigned int len)
{
        struct fake_config c;
        int faulty;

        if (!initialised || dev == NULL)
                return NVML_ERROR_UNINITIALIZED;
        (void)device_config(dev, &c, &faulty);
        snprintf(uuid, len, "GPU-fake0000-0000-0000-0000-%012u", dev->index);
        return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t dev, char *name, unsigned int len)
{
        struct fake_config c;
        int faulty;
        nvmlReturn_t r = device_config(dev, &c, &faulty);

        trace("nvmlDeviceGetName");
        if (r != NVML_SUCCESS)
                return r;
        snprintf(name, len, "%s", c.name);
        return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t dev, int sensor, unsigned int *temp)
{
        struct fake_config c;
        int faulty;
        nvmlReturn_t r = device_config(dev, &c, &faulty);

        if (r != NVML_SUCCESS)
                return r;
        if (sensor != 0)
                return NVML_ERROR_INVALID_ARGUMENT;
        *temp = faulty ? c.temperature : 40;
        return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTemperatureThreshold(nvmlDevice_t dev, int type, unsigned int *temp)
{
        struct fake_config c;
        int faulty;
        nvmlReturn_t r = device_config(dev, &c, &faulty);

        if (r != NVML_SUCCESS)
                return r;
        if (type == 0)
                *temp = c.shutdown;
        else if (type == 1)
                *temp = c.slowdown;
        else
                return NVML_ERROR_NOT_SUPPORTED;
        return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t dev, int type, int counter,
                                         unsigned long long *count)
{
        struct fake_config c;
        int faulty;
        nvmlReturn_t r = device_config(dev, &c, &faulty);

        if (r != NVML_SUCCESS)
                return r;
        /* Only the uncorrected (1) volatile (0) counter is faked. */
        *count = faulty && type == 1 && counter == 0 ? c.ecc : 0;
        return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t dev, unsigned int *corr, unsigned int *unc,
                                       unsigned int *pending, unsigned int *failure)
{
        struct fake_config c;
        int faulty;
        nvmlReturn_t r = device_config(dev, &c, &faulty);

        if (r != NVML_SUCCESS)
                return r;
        *corr = 0;
        *unc = faulty && (c.remapped_pending || c.remapped_failure) ? 1 : 0;
        *pending = faulty ? c.remapped_pending : 0;
        *failure = faulty ? c.remapped_failure : 0;
        return NVML_SUCCESS;
}

static nvmlReturn_t clock_reasons(nvmlDevice_t dev, unsigned long long *reasons)
{
        struct fake_config c;
        int faulty;
        nvmlReturn_t r = device_config(dev, &c, &faulty);

        if (r != NVML_SUCCESS)
                return r;
        *reasons = faulty ? c.clocks_reasons : 0;
        return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t dev,
                                                       unsigned long long *reasons)
{
        trace("nvmlDeviceGetCurrentClocksThrottleReasons");
        return clock_reasons(dev, reasons);
}

nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t dev, unsigned long long *reasons)
{
        trace("nvmlDeviceGetCurrentClocksEventReasons");
        return clock_reasons(dev, reasons);
}

nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set)
{
        trace("nvmlEventSetCreate");
        if (!initialised)
                return NVML_ERROR_UNINITIALIZED;
        event_set.registered = 0;
        *set = &event_set;
        return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t dev, unsigned long long types,
                                      nvmlEventSet_t set)
{
        trace("nvmlDeviceRegisterEvents");
        if (!initialised || set != &event_set || dev == NULL)
                return NVML_ERROR_INVALID_ARGUMENT;
        if (types & XID_EVENT)
                set->registered = 1;
        return NVML_SUCCESS;
}

static nvmlReturn_t event_wait(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int ms)
{
        struct fake_config c;

        if (!initialised || set != &event_set || data == NULL)
                return NVML_ERROR_INVALID_ARGUMENT;
        load(&c);
        if (set->registered && c.xid != 0 && c.xid != xid_delivered &&
            c.fault_device < c.device_count) {
                xid_delivered = c.xid;
                *data = (nvmlEventData_t){.device = &devices[c.fault_device],
                                          .eventType = XID_EVENT,
                                          .eventData = c.xid};
                return NVML_SUCCESS;
        }
        /* A short sleep stands in for the driver's wait. */
        {
                struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(ms > 50 ? 50 : ms) * 1000000L};
                nanosleep(&ts, NULL);
        }
        return NVML_ERROR_TIMEOUT;
}

nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int ms)
{
        trace("nvmlEventSetWait_v2");
        return event_wait(set, data, ms);
}

nvmlReturn_t nvmlEventSetWait(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int ms)
{
        trace("nvmlEventSetWait");
        return event_wait(set, data, ms);
}

nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set)
{
        trace("nvmlEventSetFree");
        return set == &event_set ? NVML_SUCCESS : NVML_ERROR_INVALID_ARGUMENT;
}
