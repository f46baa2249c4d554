/* SPDX-License-Identifier: MIT */
/*
 * $HOIST_HOME/config.yaml (runner/cli/homeconfig.c): consent and
 * spending_limits, typed by a person.  Any bytes give settings or an error
 * naming the file, never a crash or a leak; every limit that loads has a
 * period hoist knows, an amount >= 0, an action, a currency, and
 * stop_running only with action: block.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "runner/cli/homeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct homeconfig *hc = NULL;
        struct hoist_error *err = NULL;

        if (homeconfig_parse((const char *)data, size, "config.yaml", &hc, &err) < 0) {
                if (err == NULL || strstr(err->msg, "config.yaml") == NULL)
                        abort();
                hoist_error_free(err);
                return 0;
        }
        for (size_t i = 0; i < hc->n_limits; i++) {
                const struct spending_limit *l = &hc->limits[i];
                if (strcmp(l->period, "day") != 0 && strcmp(l->period, "week") != 0 &&
                    strcmp(l->period, "month") != 0)
                        abort();
                if (!(l->amount >= 0) || l->currency == NULL || l->action == NULL)
                        abort();
                if (l->stop_running && strcmp(l->action, "block") != 0)
                        abort();
        }
        homeconfig_free(hc);
        return 0;
}
