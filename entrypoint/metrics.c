/* SPDX-License-Identifier: MIT */
#include "metrics.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "notify.h"
#include "xalloc.h"

json_t *metrics_parse(const char *line, size_t len)
{
        json_auto_t *obj = NULL;
        json_t *out, *v;
        const char *name;
        size_t n = 0;

        while (len > 0 && (*line == ' ' || *line == '\t'))
                line++, len--;
        while (len > 0 && strchr(" \t\r", line[len - 1]) != NULL)
                len--;
        /* Cheap tests first: most lines are not JSON objects. */
        if (len < 2 || len > METRICS_MAX_LINE || line[0] != '{' || line[len - 1] != '}')
                return NULL;
        obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(obj))
                return NULL;
        out = json_object();
        json_object_foreach(obj, name, v)
        {
                if (!json_is_number(v) || n >= METRICS_MAX_FIELDS)
                        continue;
                if (json_is_real(v) && !isfinite(json_real_value(v)))
                        continue;
                if (*name == '\0' || strlen(name) > 128)
                        continue;
                (void)json_object_set(out, name, v);
                n++;
        }
        if (n == 0) {
                json_decref(out);
                return NULL;
        }
        return out;
}

static void append_number(struct buf *b, const json_t *v)
{
        if (json_is_integer(v))
                buf_printf(b, "%lld", (long long)json_integer_value(v));
        else
                buf_printf(b, "%.6g", json_real_value(v));
}

char *metrics_status(const json_t *m)
{
        const json_t *step = json_object_get(m, "step");
        const json_t *loss = json_object_get(m, "loss");
        struct buf b = {0};

        if (step == NULL && loss == NULL)
                return NULL;
        buf_append_str(&b, "STATUS=");
        if (step != NULL) {
                buf_append_str(&b, "step ");
                append_number(&b, step);
        }
        if (loss != NULL) {
                buf_append_str(&b, step != NULL ? " loss " : "loss ");
                append_number(&b, loss);
        }
        return buf_take(&b);
}

void metrics_line(struct events *ev, const char *line, size_t len)
{
        /* A trainer may print thousands of metrics lines a second: the
         * service manager gets at most one STATUS per METRICS_STATUS_MS. */
        static int64_t last_status_ms = INT64_MIN;
        json_t *m = metrics_parse(line, len);
        int64_t now;

        if (m == NULL)
                return;
        now = clock_mono_ms();
        if (notify_enabled() &&
            (last_status_ms == INT64_MIN || now - last_status_ms >= METRICS_STATUS_MS)) {
                char *status = metrics_status(m);
                if (status != NULL) {
                        notify_sendf("%s", status);
                        last_status_ms = now;
                }
                free(status);
        }
        events_emit(ev, "job.metric", "running", m);
}
