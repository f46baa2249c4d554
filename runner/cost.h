/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_COST_H
#define HOIST_RUNNER_COST_H

/*
 * Cost: estimates before submit, billed cost per attempt, spending limits,
 * and the report `hoist cost` prints (docs/cost.md).
 */

#include <stdint.h>

#include <jansson.h>

#include "error.h"

struct store;

struct cost_query {
        int64_t since_ms;     /* jobs created at or after; 0: all */
        const char *provider; /* only this provider's jobs; NULL: all */
};

/*
 * The cost report, exactly what `hoist cost -o json` prints and GET
 * /api/v1/cost returns:
 *   {"currency": "USD", "since_ms": N|null, "provider": "..."|null,
 *    "total": {"estimated": N, "billed": N},
 *    "jobs": [{"id", "name", "provider", "state", "created_at_ms",
 *              "estimated": N|null, "billed": N|null, "currency",
 *              "attempts": [{"attempt", "estimated", "billed", "billed_s",
 *                            "nodes", "sku", "region", "spot", "rate",
 *                            "unit", "currency", "source"}]}],
 *    "providers": [{"provider", "estimated", "billed", "jobs"}],
 *    "periods": {"day": [{"start_ms", "label", "estimated", "billed"}],
 *                "week": [...], "month": [...]},
 *    "limits": [{"period", "amount", "currency", "action", "provider",
 *                "stop_running", "used", "fraction"}]}
 * HOME_DIR is $HOIST_HOME (config.yaml's spending_limits, prices.yaml).
 */
int cost_report_json(struct store *st, const char *home_dir, const struct cost_query *q,
                     json_t **ret, struct hoist_error **err);

#endif
