/* SPDX-License-Identifier: MIT */
/*
 * Metrics lines come from the training command's output: any bytes must
 * give NULL or an object of finite numbers, never a crash or a leak.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "entrypoint/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        json_t *m = metrics_parse((const char *)data, size);
        const char *name;
        json_t *v;

        if (m == NULL)
                return 0;
        if (!json_is_object(m) || json_object_size(m) == 0 ||
            json_object_size(m) > METRICS_MAX_FIELDS)
                abort();
        json_object_foreach(m, name, v)
        {
                if (!json_is_number(v) || !isfinite(json_number_value(v)))
                        abort();
        }
        free(metrics_status(m));
        json_decref(m);
        return 0;
}
