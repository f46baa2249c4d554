/* SPDX-License-Identifier: MIT */
#include "clock.h"
#include "fmt.h"
#include "gpu.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "init.h"
#include "log.h"
#include "nvml.h"
#include "xalloc.h"

/* nvmlClocksThrottleReasons bits; the rest of NVML is in lib/nvml.h. */
#define NVML_REASON_HW_SLOWDOWN 0x0000000000000008ULL
#define NVML_REASON_SW_THERMAL_SLOWDOWN 0x0000000000000020ULL
#define NVML_REASON_HW_THERMAL_SLOWDOWN 0x0000000000000040ULL
#define SLOWDOWN_REASONS                                                                           \
        (NVML_REASON_HW_SLOWDOWN | NVML_REASON_SW_THERMAL_SLOWDOWN |                               \
         NVML_REASON_HW_THERMAL_SLOWDOWN)

/* What a wait for XID events may block; the thread also looks at its stop
 * flag this often. */
#define WAIT_SLICE_MS 200
#define MAX_DEVICES 64

struct gpu_device {
        nvml_device dev;
        char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
        unsigned int strikes;
        int warned_slowdown_temp;
};

struct gpu_monitor {
        struct events *ev;
        int64_t interval_ms;
        pthread_t thread;
        int started;
        atomic_int stop;
        /* FAULT is written once by the thread, then FAULTED set (release). */
        char *fault;
        atomic_int faulted;

        struct nvml nvml;
        struct gpu_device dev[MAX_DEVICES];
        unsigned int n_dev;
        nvml_event_set events;
};

const char *gpu_check_name(enum gpu_check check)
{
        switch (check) {
        case GPU_CHECK_OK:
                return "ok";
        case GPU_CHECK_ECC:
                return "ecc";
        case GPU_CHECK_REMAPPED:
                return "remapped_rows";
        case GPU_CHECK_TEMPERATURE:
                return "temperature";
        case GPU_CHECK_SLOWDOWN:
                return "clock_slowdown";
        case GPU_CHECK_XID:
                return "xid";
        case GPU_CHECK_LOST:
                return "gpu_lost";
        }
        return "unknown";
}

enum gpu_check gpu_evaluate(const struct gpu_reading *r, unsigned int *strikes)
{
        if (r->clocks_reasons & SLOWDOWN_REASONS)
                (*strikes)++;
        else
                *strikes = 0;
        if (r->ecc_uncorrected > 0)
                return GPU_CHECK_ECC;
        if (r->remapped_failure || r->remapped_pending)
                return GPU_CHECK_REMAPPED;
        if (r->shutdown_c > 0 && r->temperature_c >= r->shutdown_c)
                return GPU_CHECK_TEMPERATURE;
        if (*strikes >= GPU_SLOWDOWN_STRIKES)
                return GPU_CHECK_SLOWDOWN;
        return GPU_CHECK_OK;
}

int gpu_xid_critical(unsigned long long xid)
{
        /* 13 graphics engine exception, 31 MMU fault, 43 channel stopped,
         * 45 preemptive cleanup, 68 video processor exception, 109 context
         * switch timeout: caused by the application, the GPU is fine. */
        static const unsigned long long ignored[] = {13, 31, 43, 45, 68, 109};

        for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
                if (xid == ignored[i])
                        return 0;
        return 1;
}

/* ---- settings ---- */

static int64_t interval_ms(const struct jobspec *spec)
{
        const char *v = getenv("HOIST_GPU_HEALTH_INTERVAL_MS");
        char *end;
        long long n;

        if (v != NULL && *v != '\0') {
                errno = 0;
                n = strtoll(v, &end, 10);
                if (errno == 0 && *end == '\0' && n > 0)
                        return n;
                log_warn("HOIST_GPU_HEALTH_INTERVAL_MS='%s' is not a positive number of "
                         "milliseconds; using job.json's interval",
                         v);
        }
        if (spec->gpu_health_interval_s > 0 && spec->gpu_health_interval_s < INT64_MAX / 1000)
                return spec->gpu_health_interval_s * 1000;
        return GPU_DEFAULT_INTERVAL_S * 1000;
}

struct gpu_monitor *gpu_monitor_new(const struct jobspec *spec, struct events *ev)
{
        struct gpu_monitor *m;

        if (!spec->gpu_health) {
                log_debug("GPU health monitor off: job.json gpu_health.enabled is false");
                return NULL;
        }
        m = xzalloc(sizeof *m);
        m->ev = ev;
        m->interval_ms = interval_ms(spec);
        atomic_init(&m->stop, 0);
        atomic_init(&m->faulted, 0);
        return m;
}

/* ---- NVML ---- */

/* Initialises NVML and finds the devices.  Returns 0, or -1 with WHY. */
static int monitor_setup(struct gpu_monitor *m, char *why, size_t len)
{
        struct nvml *n = &m->nvml;
        _cleanup_error_ struct hoist_error *e = NULL;
        unsigned int count = 0, registered = 0;
        nvml_return r;

        if (nvml_open(n, &e) < 0) {
                snprintf(why, len, "%s", e->msg);
                return -1;
        }
        r = n->get_count(&count);
        if (r != NVML_SUCCESS || count == 0) {
                snprintf(why, len, "%s", r != NVML_SUCCESS ? nvml_error_text(n, r) : "no GPUs");
                return -1;
        }
        if (count > MAX_DEVICES)
                count = MAX_DEVICES;
        if (n->event_set_create != NULL && n->register_events != NULL &&
            n->event_set_wait != NULL && n->event_set_create(&m->events) != NVML_SUCCESS)
                m->events = NULL;
        for (unsigned int i = 0; i < count; i++) {
                struct gpu_device *d = &m->dev[m->n_dev];
                r = n->get_handle(i, &d->dev);
                if (r != NVML_SUCCESS) {
                        log_warn("GPU %u: %s; not monitoring it", i, nvml_error_text(n, r));
                        continue;
                }
                if (n->get_uuid == NULL ||
                    n->get_uuid(d->dev, d->uuid, sizeof d->uuid) != NVML_SUCCESS)
                        snprintf(d->uuid, sizeof d->uuid, "unknown");
                d->uuid[sizeof d->uuid - 1] = '\0';
                if (m->events != NULL) {
                        r = n->register_events(d->dev, NVML_EVENT_TYPE_XID_CRITICAL_ERROR,
                                               m->events);
                        if (r == NVML_SUCCESS)
                                registered++;
                        else if (r != NVML_ERROR_NOT_SUPPORTED)
                                log_warn("GPU %u: XID events: %s; checking the rest", i,
                                         nvml_error_text(n, r));
                }
                m->n_dev++;
        }
        if (m->n_dev == 0) {
                snprintf(why, len, "no GPU could be opened");
                return -1;
        }
        /* No device takes XID events: the waits become plain sleeps. */
        if (m->events != NULL && registered == 0) {
                if (n->event_set_free != NULL)
                        (void)n->event_set_free(m->events);
                m->events = NULL;
        }
        return 0;
}

static void monitor_teardown(struct gpu_monitor *m)
{
        struct nvml *n = &m->nvml;

        if (n->handle == NULL)
                return;
        if (m->events != NULL && n->event_set_free != NULL)
                (void)n->event_set_free(m->events);
        nvml_close(n);
        m->n_dev = 0;
        m->events = NULL;
}

/* Reads one device; returns NVML_ERROR_GPU_IS_LOST when any query says so. */
static nvml_return read_device(const struct nvml *n, nvml_device dev, struct gpu_reading *r)
{
        unsigned int corr = 0, unc = 0;
        nvml_return rv[6] = {NVML_SUCCESS};

        *r = (struct gpu_reading){0};
        if (n->get_temperature)
                rv[0] = n->get_temperature(dev, NVML_TEMPERATURE_GPU, &r->temperature_c);
        if (n->get_threshold) {
                rv[1] = n->get_threshold(dev, NVML_TEMPERATURE_THRESHOLD_SHUTDOWN, &r->shutdown_c);
                rv[2] = n->get_threshold(dev, NVML_TEMPERATURE_THRESHOLD_SLOWDOWN, &r->slowdown_c);
        }
        if (n->get_ecc)
                rv[3] = n->get_ecc(dev, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC,
                                   &r->ecc_uncorrected);
        if (n->get_remapped)
                rv[4] = n->get_remapped(dev, &corr, &unc, &r->remapped_pending,
                                        &r->remapped_failure);
        if (n->get_clock_reasons)
                rv[5] = n->get_clock_reasons(dev, &r->clocks_reasons);
        for (size_t i = 0; i < 6; i++)
                if (rv[i] == NVML_ERROR_GPU_IS_LOST)
                        return rv[i];
        /* A query that failed says nothing: its value counts as healthy. */
        if (rv[0] != NVML_SUCCESS)
                r->temperature_c = 0;
        if (rv[1] != NVML_SUCCESS)
                r->shutdown_c = 0;
        if (rv[2] != NVML_SUCCESS)
                r->slowdown_c = 0;
        if (rv[3] != NVML_SUCCESS)
                r->ecc_uncorrected = 0;
        if (rv[4] != NVML_SUCCESS)
                r->remapped_pending = r->remapped_failure = 0;
        if (rv[5] != NVML_SUCCESS)
                r->clocks_reasons = 0;
        return NVML_SUCCESS;
}

static json_t *readings_json(const struct gpu_reading *r)
{
        char reasons[32];

        snprintf(reasons, sizeof reasons, "0x%llx", r->clocks_reasons);
        return json_pack("{s:I,s:I,s:I,s:I,s:b,s:b,s:s}", "temperature_c",
                         (json_int_t)r->temperature_c, "slowdown_threshold_c",
                         (json_int_t)r->slowdown_c, "shutdown_threshold_c",
                         (json_int_t)r->shutdown_c, "ecc_uncorrected_volatile",
                         (json_int_t)r->ecc_uncorrected, "remapped_rows_pending",
                         (int)(r->remapped_pending != 0), "remapped_rows_failure",
                         (int)(r->remapped_failure != 0), "clocks_event_reasons", reasons);
}

static char *describe(enum gpu_check check, const struct gpu_reading *r, unsigned long long xid)
{
        switch (check) {
        case GPU_CHECK_ECC:
                return xasprintf("%llu uncorrectable ECC error(s)", r->ecc_uncorrected);
        case GPU_CHECK_REMAPPED:
                return xstrdup(r->remapped_failure ? "row remapping failed"
                                                   : "a row remap is pending a GPU reset");
        case GPU_CHECK_TEMPERATURE:
                return xasprintf("temperature %u C at or over the shutdown threshold %u C",
                                 r->temperature_c, r->shutdown_c);
        case GPU_CHECK_SLOWDOWN:
                return xasprintf("clocks slowed down (reasons 0x%llx: HW slowdown or thermal) "
                                 "for %d checks in a row",
                                 r->clocks_reasons, GPU_SLOWDOWN_STRIKES);
        case GPU_CHECK_XID:
                return xasprintf("critical XID %llu", xid);
        case GPU_CHECK_LOST:
                return xstrdup("the GPU fell off the bus");
        case GPU_CHECK_OK:
                break;
        }
        return xstrdup("no fault");
}

/* Reports the fault once and asks the supervisor to stop the command. */
static void fault(struct gpu_monitor *m, unsigned int idx, enum gpu_check check,
                  const struct gpu_reading *r, unsigned long long xid)
{
        _cleanup_free_ char *what = describe(check, r, xid);
        json_t *data;

        m->fault = xasprintf("GPU %u (%s): %s", idx, m->dev[idx].uuid, what);
        atomic_store_explicit(&m->faulted, 1, memory_order_release);
        log_error("GPU fault: %s; stopping the job (exit code %d: replace the node)", m->fault,
                  GPU_EXIT_FAULT);
        data = json_pack("{s:I,s:s,s:s,s:s}", "device", (json_int_t)idx, "uuid", m->dev[idx].uuid,
                         "check", gpu_check_name(check), "message", m->fault);
        if (data != NULL) {
                if (r != NULL)
                        (void)json_object_set_new(data, "readings", readings_json(r));
                if (check == GPU_CHECK_XID)
                        (void)json_object_set_new(data, "xid", json_integer((json_int_t)xid));
        }
        events_emit(m->ev, "gpu.fault", "failed", data);
        init_request_stop(INIT_STOP_GPU_FAULT);
}

/* One round of checks over every device; 1 when a fault was reported. */
static int check_devices(struct gpu_monitor *m)
{
        for (unsigned int i = 0; i < m->n_dev; i++) {
                struct gpu_device *d = &m->dev[i];
                struct gpu_reading r;
                enum gpu_check c;

                if (read_device(&m->nvml, d->dev, &r) == NVML_ERROR_GPU_IS_LOST) {
                        fault(m, i, GPU_CHECK_LOST, NULL, 0);
                        return 1;
                }
                c = gpu_evaluate(&r, &d->strikes);
                if (c != GPU_CHECK_OK) {
                        fault(m, i, c, &r, 0);
                        return 1;
                }
                if (r.slowdown_c > 0 && r.temperature_c >= r.slowdown_c &&
                    !d->warned_slowdown_temp) {
                        log_warn("GPU %u (%s): temperature %u C at or over the slowdown threshold "
                                 "%u C; the job goes on, slower",
                                 i, d->uuid, r.temperature_c, r.slowdown_c);
                        d->warned_slowdown_temp = 1;
                }
        }
        return 0;
}

static unsigned int device_index(const struct gpu_monitor *m, nvml_device dev)
{
        for (unsigned int i = 0; i < m->n_dev; i++)
                if (m->dev[i].dev == dev)
                        return i;
        return 0;
}

/* Waits up to MS for an XID event (or just sleeps when events are not
 * supported).  Returns 1 when a critical XID was reported. */
static void sleep_ms(unsigned int ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static int wait_events(struct gpu_monitor *m, unsigned int ms)
{
        struct nvml_event_data data;
        nvml_return r;

        if (m->events == NULL) {
                sleep_ms(ms);
                return 0;
        }
        memset(&data, 0, sizeof data);
        r = m->nvml.event_set_wait(m->events, &data, ms);
        if (r == NVML_ERROR_GPU_IS_LOST) {
                fault(m, device_index(m, data.device), GPU_CHECK_LOST, NULL, 0);
                return 1;
        }
        if (r != NVML_SUCCESS && r != NVML_ERROR_TIMEOUT) {
                /* A wait that fails at once must not become a busy loop. */
                sleep_ms(ms);
                return 0;
        }
        if (r != NVML_SUCCESS || !(data.event_type & NVML_EVENT_TYPE_XID_CRITICAL_ERROR))
                return 0;
        if (!gpu_xid_critical(data.event_data)) {
                log_info("GPU %u: XID %llu (an application error, not a GPU fault), ignoring",
                         device_index(m, data.device), data.event_data);
                return 0;
        }
        fault(m, device_index(m, data.device), GPU_CHECK_XID, NULL, data.event_data);
        return 1;
}

static void *monitor_thread(void *arg)
{
        struct gpu_monitor *m = arg;
        char why[256];

        if (monitor_setup(m, why, sizeof why) < 0) {
                log_info("GPU health monitor off: %s", why);
                monitor_teardown(m);
                return NULL;
        }
        log_info("GPU health monitor on: %u %s, every %lld ms", m->n_dev,
                 fmt_plural(m->n_dev, "GPU", "GPUs"), (long long)m->interval_ms);
        while (!atomic_load(&m->stop)) {
                int64_t next = clock_mono_ms() + m->interval_ms;
                if (check_devices(m))
                        break;
                for (int64_t left; !atomic_load(&m->stop) && (left = next - clock_mono_ms()) > 0;)
                        if (wait_events(
                                    m, (unsigned int)(left < WAIT_SLICE_MS ? left : WAIT_SLICE_MS)))
                                goto out;
        }
out:
        monitor_teardown(m);
        return NULL;
}

int gpu_monitor_start(struct gpu_monitor *m, struct hoist_error **err)
{
        int r;

        if (m == NULL || m->started || gpu_monitor_fault(m) != NULL)
                return 0;
        atomic_store(&m->stop, 0);
        r = pthread_create(&m->thread, NULL, monitor_thread, m);
        if (r != 0)
                return hoist_error_make(err, r, "start the GPU health monitor: %s", strerror(r));
        m->started = 1;
        return 0;
}

void gpu_monitor_stop(struct gpu_monitor *m)
{
        if (m == NULL || !m->started)
                return;
        atomic_store(&m->stop, 1);
        (void)pthread_join(m->thread, NULL);
        m->started = 0;
}

const char *gpu_monitor_fault(const struct gpu_monitor *m)
{
        if (m == NULL || !atomic_load_explicit(&m->faulted, memory_order_acquire))
                return NULL;
        return m->fault;
}

void gpu_monitor_free(struct gpu_monitor *m)
{
        if (m == NULL)
                return;
        gpu_monitor_stop(m);
        free(m->fault);
        free(m);
}
