/* SPDX-License-Identifier: MIT */
#ifndef HOIST_RUNNER_HOMECONFIG_H
#define HOIST_RUNNER_HOMECONFIG_H

/*
 * $HOIST_HOME/config.yaml: the user's settings for every job (docs/job.md
 * "consent").  Missing is the same as empty.  Loaded with lib/config, so a
 * mistake is reported at its line; an unknown key is an error, as in
 * job.yaml, since a misspelt "consnet: never" must not be ignored.
 */

#include "error.h"
#include "runner/cli/home.h"

/* spending_limits: one limit per period (docs/cost.md). */
struct spending_limit {
        char *period;     /* "day", "week", "month" (UTC calendar periods) */
        double amount;    /* in CURRENCY */
        char *currency;   /* "USD" */
        char *action;     /* "warn" or "block" */
        char *provider;   /* NULL: any */
        int stop_running; /* block: hoist serve stops running jobs at the limit */
        int line;
};

struct homeconfig {
        char *path;    /* $HOIST_HOME/config.yaml, as errors name it */
        char *consent; /* "ask", "allow", "never", or NULL when not set */
        int consent_line;
        struct spending_limit *limits;
        size_t n_limits;
};

int homeconfig_load(const struct hoist_home *home, struct homeconfig **ret,
                    struct hoist_error **err);
/* Same from text; PATH names it in errors. */
int homeconfig_parse(const char *text, size_t len, const char *path, struct homeconfig **ret,
                     struct hoist_error **err);
void homeconfig_free(struct homeconfig *hc);

static inline void homeconfig_freep(struct homeconfig **hc)
{
        homeconfig_free(*hc);
}
#define _cleanup_homeconfig_ __attribute__((cleanup(homeconfig_freep)))

#endif
