/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_COST_H
#define HOIST_RUNNER_COST_H

/*
 * Cost: estimates before submit, billed cost per attempt, spending limits,
 * and the report `hoist cost` prints (docs/cost.md).
 */

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "error.h"
#include "runner/cli/home.h"
#include "jobmodel.h"
#include "jobspec.h"

struct store;
struct prices;
struct homeconfig;

/* What a job will pay (docs/cost.md "Estimates"). */
struct cost_estimate {
        char *provider, *sku, *region, *unit, *currency, *source;
        int spot;
        int rate_set;          /* 0: the price is 0 ("no rate set") */
        int64_t count;         /* instances or nodes */
        double units_per_hour; /* how many UNIT the whole job uses per hour */
        double price;          /* per UNIT, on-demand */
        double spot_discount;  /* applied when SPOT */
        double rate_per_hour;  /* what the whole job pays per hour */
        int64_t max_runtime_s; /* 0: none */
        double ceiling;        /* rate x max_runtime; < 0: unbounded */
        double expected;       /* rate x median of earlier runs; < 0: none */
        int64_t median_s;
        size_t runs; /* earlier runs of the same name the median is of */
};

/* Estimates what a job of PROVIDER with SETTINGS, R on NODES nodes and
 * MAX_RUNTIME_S costs, from the price tables P; earlier runs of NAME in ST
 * (may be NULL) give the expected cost. */
int cost_estimate(struct store *st, const struct prices *p, const char *provider,
                  const void *settings, const struct jobspec_resources *r, int64_t nodes,
                  int64_t max_runtime_s, const char *name, struct cost_estimate *ret,
                  struct hoist_error **err);
/* An amount of money as hoist prints it: "12.34", "0.0042" under a cent,
 * "-" when unknown (< 0).  Returns BUF. */
const char *cost_amount(double v, char *buf, size_t size);
void cost_estimate_clear(struct cost_estimate *e);
void cost_estimate_print(FILE *f, const struct cost_estimate *e);
json_t *cost_estimate_json(const struct cost_estimate *e);
/* Stores E as the estimate of attempt ATTEMPT of job ID. */
int cost_record_estimate(struct store *st, const char *id, int64_t attempt,
                         const struct cost_estimate *e, struct hoist_error **err);

/* Checks the spending limits of HC before a job with estimate E is
 * submitted: prints a warning to OUT for a warn limit passed; a block limit
 * passed is HOIST_ERR_LIMIT naming the limit, what was spent and the
 * ceiling. */
int cost_check_limits(struct store *st, const struct homeconfig *hc, const struct cost_estimate *e,
                      FILE *out, struct hoist_error **err);

/* Records what the engine billed JOB's current attempt, priced, once it
 * ended (and what it accrued so far while it runs); an attempt with no
 * estimate row gets the previous attempt's rate.  Failures are logged. */
/* Gives attempt ATTEMPT of job ID, when it has no cost row, the rate and
 * estimate of the attempt before it.  Failures are logged. */
void cost_carry(struct store *st, const char *id, int64_t attempt);
/* 1 when JOB's attempt ended and has an estimate but no billed cost yet
 * (cost_settle has something to do). */
int cost_unsettled(const struct job_record *job);
void cost_settle(const struct hoist_home *home, struct store *st, const struct job_record *job);

/* hoist serve: for each block limit with stop_running that billed plus
 * accrued cost has reached, stops the running jobs it covers (canceled,
 * reason "spending limit").  How many it stopped, or -1. */
int cost_enforce(const struct hoist_home *home, struct store *st, struct hoist_error **err);

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
/* {"estimated", "billed", "currency"} of JOB (struct job_record's sums). */
json_t *cost_job_json(const struct job_record *job);
/* The cost rows of job ID as the report's "attempts". */
json_t *cost_attempts_json(struct store *st, const char *id, struct hoist_error **err);

int cost_report_json(struct store *st, const char *home_dir, const struct cost_query *q,
                     json_t **ret, struct hoist_error **err);

#endif
