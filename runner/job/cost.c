/* SPDX-License-Identifier: MIT */
/*
 * Cost (docs/cost.md): what a job will pay before it is submitted, what it
 * was billed once it ran, the spending limits of $HOIST_HOME/config.yaml,
 * and the report `hoist cost` prints.  Providers report time and what was
 * billed (provider.h struct provider_billing); the money is made here, from
 * the price tables (providers/prices.h).
 */
#include "runner/job/cost.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "runner/cli/cli.h"
#include "runner/cli/homeconfig.h"
#include "runner/job/jobcancel.h"
#include "log.h"
#include "providers/prices.h"
#include "providers/provider.h"
#include "runner/control/store.h"
#include "xalloc.h"

/* ---- estimates ---- */

static double cpus_of(const struct jobspec_resources *r)
{
        return r->cpus_milli > 0 ? (double)r->cpus_milli / 1000.0 : 1.0;
}

/* How many UNIT of E one node (or instance) uses per hour. */
static double units_per_node_hour(const char *unit, const struct jobspec_resources *r)
{
        if (strcmp(unit, "second") == 0)
                return 3600;
        if (strcmp(unit, "gpu-hour") == 0)
                return (double)r->gpus;
        if (strcmp(unit, "cpu-hour") == 0)
                return cpus_of(r);
        return 1; /* instance-hour, node-hour */
}

void cost_estimate_clear(struct cost_estimate *e)
{
        free(e->provider);
        free(e->sku);
        free(e->region);
        free(e->unit);
        free(e->currency);
        free(e->source);
        *e = (struct cost_estimate){0};
}

/* Seconds JOB's attempts spent starting or running, from its transitions;
 * LATEST_ONLY: only its current attempt's.  A job still running counts
 * until NOW_MS. */
static int64_t run_s_of(const struct job_transition *t, size_t n, int latest_only, int64_t now_ms)
{
        int64_t total = 0, since = -1;

        for (size_t i = 0; i < n; i++) {
                int running_before = since >= 0;
                if (latest_only && t[i].to == JOB_SUBMITTED && t[i].from != t[i].to) {
                        total = 0;
                        since = -1;
                        continue;
                }
                int running = t[i].to == JOB_STARTING || t[i].to == JOB_RUNNING;
                if (running && !running_before)
                        since = t[i].at_ms;
                else if (!running && running_before) {
                        total += t[i].at_ms - since;
                        since = -1;
                }
        }
        if (since >= 0)
                total += now_ms - since;
        return total > 0 ? (total + 999) / 1000 : 0;
}

static int cmp_i64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return x < y ? -1 : x > y;
}

/* The median run time of NAME's finished jobs, in seconds; 0 when none. */
static int64_t median_run_s(struct store *st, const char *name, size_t *ret_runs)
{
        struct job_record **jobs = NULL;
        _cleanup_free_ int64_t *d = NULL;
        size_t n = 0, k = 0;
        struct hoist_error *err = NULL;
        int64_t m = 0;

        *ret_runs = 0;
        if (st == NULL || name == NULL || store_list_jobs(st, &jobs, &n, &err) < 0) {
                hoist_error_free(err);
                return 0;
        }
        d = xcalloc(n ? n : 1, sizeof *d);
        for (size_t i = 0; i < n; i++) {
                struct job_transition *t = NULL;
                size_t nt = 0;
                if (strcmp(jobs[i]->name, name) != 0 || jobs[i]->state != JOB_SUCCEEDED)
                        continue;
                if (store_list_transitions(st, jobs[i]->id, &t, &nt, &err) < 0) {
                        hoist_error_release(&err);
                        continue;
                }
                int64_t s = run_s_of(t, nt, 0, cli_now_ms());
                job_transitions_free(t, nt);
                if (s > 0)
                        d[k++] = s;
        }
        job_records_free(jobs, n);
        if (k > 0) {
                qsort(d, k, sizeof *d, cmp_i64);
                m = k % 2 ? d[k / 2] : (d[k / 2 - 1] + d[k / 2]) / 2;
        }
        *ret_runs = k;
        return m;
}

int cost_estimate(struct store *st, const struct prices *p, const char *provider,
                  const void *settings, const struct jobspec_resources *r, int64_t nodes,
                  int64_t max_runtime_s, const char *name, struct cost_estimate *ret,
                  struct hoist_error **err)
{
        const struct provider_ops *prov = provider_find(provider);
        struct provider_price_key key = {0};
        const struct price_entry *pe;
        struct cost_estimate e = {0};

        if (nodes < 1)
                nodes = 1;
        if (prov != NULL && prov->price_key != NULL) {
                if (prov->price_key(settings, r, p, &key, err) < 0)
                        return hoist_error_wrap(err, "price of a %s job", provider);
                pe = prices_find(p, provider, key.sku, key.region);
                if (pe == NULL) {
                        int rc = hoist_error_make(err, HOIST_ERR_INPUT,
                                                  "no price for %s '%s'%s%s (add it to "
                                                  "$HOIST_HOME/prices.yaml, see 'hoist prices %s')",
                                                  provider, key.sku ? key.sku : "-",
                                                  key.region ? " in " : "",
                                                  key.region ? key.region : "", provider);
                        provider_price_key_clear(&key);
                        return rc;
                }
                e.count = key.count > 0 ? key.count : nodes;
                e.spot = key.spot;
                e.sku = TAKE_PTR(key.sku);
                e.region = TAKE_PTR(key.region);
                provider_price_key_clear(&key);
        } else {
                pe = prices_find(p, provider, NULL, NULL);
                e.count = nodes;
                e.spot = r->spot;
        }
        e.provider = xstrdup(provider);
        if (pe != NULL) {
                e.unit = xstrdup(pe->unit);
                e.currency = xstrdup(pe->currency);
                e.source = xstrdup(pe->source);
                e.price = pe->price;
                e.spot_discount = e.spot ? pe->spot_discount : 0;
                e.units_per_hour = units_per_node_hour(pe->unit, r) * (double)e.count;
        } else {
                e.unit = xstrdup("node-hour");
                e.currency = xstrdup("USD");
                e.source = xstrdup("no price table for this provider");
        }
        e.rate_set = e.price > 0;
        e.rate_per_hour = e.price * e.units_per_hour * (1 - e.spot_discount);
        e.max_runtime_s = max_runtime_s;
        e.ceiling = max_runtime_s > 0 ? e.rate_per_hour * (double)max_runtime_s / 3600 : -1;
        e.median_s = median_run_s(st, name, &e.runs);
        e.expected = e.runs > 0 ? e.rate_per_hour * (double)e.median_s / 3600 : -1;
        *ret = e;
        return 0;
}

const char *cost_amount(double v, char *buf, size_t size)
{
        if (v < 0)
                (void)snprintf(buf, size, "-");
        else if (v > 0 && v < 0.01)
                (void)snprintf(buf, size, "%.4f", v); /* a short job's cents do not vanish */
        else
                (void)snprintf(buf, size, "%.2f", v);
        return buf;
}

static void money(char *buf, size_t size, double v, const char *currency)
{
        char a[32];

        (void)snprintf(buf, size, "%s %s", cost_amount(v, a, sizeof a), currency);
}

void cost_estimate_print(FILE *f, const struct cost_estimate *e)
{
        char b[64];

        fprintf(f, "cost:     %s: ", e->provider);
        if (e->sku != NULL)
                fprintf(f, "%lld x %s%s%s, ", (long long)e->count, e->sku, e->region ? " in " : "",
                        e->region ? e->region : "");
        else
                fprintf(f, "%lld node%s, ", (long long)e->count, e->count == 1 ? "" : "s");
        fprintf(f, "%s", e->spot ? "spot" : "on-demand");
        if (!e->rate_set) {
                fprintf(f, "; no rate set (set one in $HOIST_HOME/prices.yaml, docs/cost.md)\n");
                return;
        }
        fprintf(f, " at %g %s per %s", e->price, e->currency, e->unit);
        if (e->spot && e->spot_discount > 0)
                fprintf(f, " less %.0f%% (assumed spot discount)", e->spot_discount * 100);
        money(b, sizeof b, e->rate_per_hour, e->currency);
        fprintf(f, ": %s/hour\n", b);
        if (e->ceiling >= 0) {
                money(b, sizeof b, e->ceiling, e->currency);
                fprintf(f, "estimate: at most %s (limits.max_runtime %llds)", b,
                        (long long)e->max_runtime_s);
        } else {
                fprintf(f, "estimate: unbounded: the job has no limits.max_runtime");
        }
        if (e->expected >= 0) {
                money(b, sizeof b, e->expected, e->currency);
                fprintf(f, "; expected %s (median of %zu earlier run%s, %llds)", b, e->runs,
                        e->runs == 1 ? "" : "s", (long long)e->median_s);
        }
        fputc('\n', f);
        if (e->ceiling < 0)
                fprintf(f, "warning:  this job's cost is unbounded: set limits.max_runtime in "
                           "job.yaml\n");
}

static json_t *real_or_null(double v)
{
        return v >= 0 ? json_real(v) : json_null();
}

static json_t *str_or_null(const char *s)
{
        return s != NULL ? json_string(s) : json_null();
}

json_t *cost_estimate_json(const struct cost_estimate *e)
{
        json_t *o = json_object();

        (void)json_object_set_new(o, "provider", json_string(e->provider));
        (void)json_object_set_new(o, "sku", str_or_null(e->sku));
        (void)json_object_set_new(o, "region", str_or_null(e->region));
        (void)json_object_set_new(o, "count", json_integer(e->count));
        (void)json_object_set_new(o, "spot", json_boolean(e->spot));
        (void)json_object_set_new(o, "rate_set", json_boolean(e->rate_set));
        (void)json_object_set_new(o, "price", json_real(e->price));
        (void)json_object_set_new(o, "unit", json_string(e->unit));
        (void)json_object_set_new(o, "units_per_hour", json_real(e->units_per_hour));
        (void)json_object_set_new(o, "spot_discount", json_real(e->spot_discount));
        (void)json_object_set_new(o, "rate_per_hour", json_real(e->rate_per_hour));
        (void)json_object_set_new(o, "currency", json_string(e->currency));
        (void)json_object_set_new(o, "max_runtime_s",
                                  e->max_runtime_s > 0 ? json_integer(e->max_runtime_s)
                                                       : json_null());
        (void)json_object_set_new(o, "ceiling", real_or_null(e->ceiling));
        (void)json_object_set_new(o, "expected", real_or_null(e->expected));
        (void)json_object_set_new(o, "median_s",
                                  e->runs > 0 ? json_integer(e->median_s) : json_null());
        (void)json_object_set_new(o, "runs", json_integer((json_int_t)e->runs));
        (void)json_object_set_new(o, "unbounded", json_boolean(e->ceiling < 0));
        (void)json_object_set_new(o, "source", json_string(e->source));
        return o;
}

int cost_record_estimate(struct store *st, const char *id, int64_t attempt,
                         const struct cost_estimate *e, struct hoist_error **err)
{
        struct store_cost c = {
                .attempt = attempt,
                .rate_per_hour = e->rate_per_hour,
                .ceiling = e->ceiling,
                .estimated = e->expected >= 0 ? e->expected : e->ceiling,
                .billed = -1,
                .billed_s = -1,
                .nodes = e->count,
                .sku = e->sku,
                .region = e->region,
                .spot = e->spot,
                .unit = e->unit,
                .currency = e->currency,
                .source = e->source,
        };
        return store_put_cost(st, id, &c, err);
}

/* ---- billed cost ---- */

/* The row of ATTEMPT in V, or NULL. */
static struct store_cost *row_of(struct store_cost *v, size_t n, int64_t attempt)
{
        for (size_t i = 0; i < n; i++)
                if (v[i].attempt == attempt)
                        return &v[i];
        return NULL;
}

static int job_run_s(struct store *st, const struct job_record *job, int latest_only, int64_t *ret,
                     struct hoist_error **err)
{
        struct job_transition *t = NULL;
        size_t n = 0;

        if (store_list_transitions(st, job->id, &t, &n, err) < 0)
                return -1;
        *ret = run_s_of(t, n, latest_only, cli_now_ms());
        job_transitions_free(t, n);
        return 0;
}

/* Prices B for the attempt whose estimate row is ROW: a sku from the price
 * tables, else the row's rate per node-hour. */
static double price_billing(const struct prices *p, const char *provider,
                            const struct provider_billing *b, const struct store_cost *row)
{
        const struct price_entry *pe;

        if (b->sku != NULL && (pe = prices_find(p, provider, b->sku, b->region)) != NULL) {
                double s = b->billed_exact_s > 0 ? b->billed_exact_s : (double)b->billed_s;
                if (strcmp(pe->unit, "second") == 0)
                        return pe->price * s;
                return pe->price * s / 3600;
        }
        if (row == NULL || row->rate_per_hour < 0)
                return -1;
        /* billed_s is summed over nodes: the row's rate is for all of them. */
        int64_t nodes = row->nodes > 0 ? row->nodes : 1;
        return row->rate_per_hour / (double)nodes * (double)b->billed_s / 3600;
}

/* A copy of ROW for ATTEMPT, not billed yet. */
static void row_copy(const struct store_cost *row, int64_t attempt, struct store_cost *ret)
{
        *ret = *row;
        ret->sku = xstrdup(row->sku);
        ret->region = xstrdup(row->region);
        ret->unit = xstrdup(row->unit);
        ret->currency = xstrdup(row->currency);
        ret->source = xstrdup(row->source);
        ret->attempt = attempt;
        ret->billed = -1;
        ret->billed_s = -1;
}

void cost_carry(struct store *st, const char *id, int64_t attempt)
{
        struct store_cost *v = NULL, fresh = {0};
        struct hoist_error *err = NULL;
        size_t n = 0;

        if (store_list_costs(st, id, &v, &n, &err) < 0)
                goto fail;
        if (n > 0 && row_of(v, n, attempt) == NULL) {
                row_copy(&v[n - 1], attempt, &fresh);
                if (store_put_cost(st, id, &fresh, &err) < 0) {
                        store_cost_clear(&fresh);
                        goto fail;
                }
                store_cost_clear(&fresh);
        }
        store_costs_free(v, n);
        return;
fail:
        log_warn("job %s: cost of attempt %lld: %s; its cost stays unknown, ignoring", id,
                 (long long)attempt, err->msg);
        hoist_error_free(err);
        store_costs_free(v, n);
}

int cost_unsettled(const struct job_record *job)
{
        return (job_state_terminal(job->state) || job->state == JOB_INTERRUPTED) &&
               job->cost_currency != NULL && job->cost_billed < 0;
}

void cost_settle(const struct hoist_home *home, struct store *st, const struct job_record *job)
{
        const struct provider_ops *prov = provider_find(job->provider);
        struct store_cost *v = NULL, *row = NULL, fresh = {0};
        struct provider_billing b = {.nodes = 1};
        _cleanup_prices_ struct prices *p = NULL;
        struct hoist_error *err = NULL;
        size_t n = 0;
        int over = job_state_terminal(job->state) || job->state == JOB_INTERRUPTED;
        int have_billing = 0;

        if (store_list_costs(st, job->id, &v, &n, &err) < 0)
                goto fail;
        row = row_of(v, n, job->attempt);
        if (row == NULL) {
                /* A later attempt (resume, retry): the rate of the one before. */
                if (n == 0) {
                        store_costs_free(v, n);
                        return;
                }
                row_copy(&v[n - 1], job->attempt, &fresh);
                row = &fresh;
        }
        /* Billed is what an attempt that ended was billed: while it runs,
         * limits count what it accrued (cost_enforce). */
        if (row->billed >= 0 || !over)
                goto done;
        if (prov != NULL && prov->billing != NULL && job->provider_ref != NULL) {
                _cleanup_free_ char *state_dir = home_job_run_dir(home, job->id);
                if (prov->billing(job, state_dir, &b, &err) < 0) {
                        log_warn("job %s: billing from provider '%s': %s; using hoist's own "
                                 "record of its run time instead",
                                 job->id, job->provider, err->msg);
                        hoist_error_release(&err);
                        provider_billing_clear(&b);
                        b = (struct provider_billing){.nodes = 1};
                } else {
                        have_billing = b.source != NULL && b.billed_s > 0;
                }
        }
        if (!have_billing) {
                int64_t s = 0;
                if (job_run_s(st, job, 1, &s, &err) < 0)
                        goto fail;
                b.nodes = row->nodes > 0 ? row->nodes : 1;
                b.billed_s = s * b.nodes;
                free(b.source);
                b.source = xstrdup("hoist's record of the attempt's run time (starting and "
                                   "running) x its nodes");
        }
        if (prices_load(home->dir, &p, &err) < 0)
                goto fail;
        row->billed = price_billing(p, job->provider, &b, row);
        row->billed_s = b.billed_s;
        if (b.sku != NULL) {
                free(row->sku);
                row->sku = xstrdup(b.sku);
                row->spot = b.spot;
        }
        free(row->source);
        row->source = b.run_s > b.billed_s ? xasprintf("%s (ran %llds, billed %llds)", b.source,
                                                       (long long)b.run_s, (long long)b.billed_s)
                                           : xstrdup(b.source);
        if (store_put_cost(st, job->id, row, &err) < 0)
                goto fail;
        goto done;
fail:
        log_warn("job %s: cost: %s; its billed cost stays unknown, ignoring", job->id, err->msg);
        hoist_error_free(err);
done:
        provider_billing_clear(&b);
        if (row == &fresh)
                store_cost_clear(&fresh);
        store_costs_free(v, n);
}

/* ---- periods and limits ---- */

static int64_t period_start_ms(const char *period, int64_t now_ms)
{
        time_t t = (time_t)(now_ms / 1000);
        struct tm tm;

        (void)gmtime_r(&t, &tm);
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        if (strcmp(period, "week") == 0)
                tm.tm_mday -= (tm.tm_wday + 6) % 7; /* back to Monday */
        else if (strcmp(period, "month") == 0)
                tm.tm_mday = 1;
        return (int64_t)timegm(&tm) * 1000;
}

/* What one job counts toward a limit: BILLED_NOW is billed plus what its
 * running attempt accrued; CAN_REACH counts the running attempt at its
 * ceiling instead (what it can still cost, to its max_runtime). */
struct job_spend {
        double billed_now, can_reach;
};

static int job_spend(struct store *st, const struct job_record *job, const char *currency,
                     struct job_spend *ret, struct hoist_error **err)
{
        struct store_cost *v = NULL;
        size_t n = 0;
        int active = !job_state_terminal(job->state) && job->state != JOB_INTERRUPTED;

        *ret = (struct job_spend){0};
        if (store_list_costs(st, job->id, &v, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                const struct store_cost *c = &v[i];
                if (c->currency == NULL || strcmp(c->currency, currency) != 0)
                        continue;
                if (c->billed >= 0) {
                        ret->billed_now += c->billed;
                        ret->can_reach += c->billed;
                } else if (active && c->attempt == job->attempt) {
                        int64_t s = 0;
                        if (job_run_s(st, job, 1, &s, err) < 0) {
                                store_costs_free(v, n);
                                return -1;
                        }
                        double accrued =
                                c->rate_per_hour > 0 ? c->rate_per_hour * (double)s / 3600 : 0;
                        ret->billed_now += accrued;
                        ret->can_reach += c->ceiling > accrued ? c->ceiling : accrued;
                } else if (c->estimated >= 0) {
                        ret->billed_now += c->estimated;
                        ret->can_reach += c->estimated;
                }
        }
        store_costs_free(v, n);
        return 0;
}

static int limit_covers(const struct spending_limit *l, const struct job_record *job,
                        int64_t start_ms)
{
        return job->created_at_ms >= start_ms &&
               (l->provider == NULL || strcmp(l->provider, job->provider) == 0);
}

/* What jobs under L spent in its current period (billed plus accrued), and
 * what they can reach. */
static int limit_usage(struct store *st, const struct spending_limit *l, double *ret_now,
                       double *ret_reach, struct hoist_error **err)
{
        struct job_record **jobs = NULL;
        size_t n = 0;
        int64_t start = period_start_ms(l->period, cli_now_ms());
        double now = 0, reach = 0;

        if (store_list_jobs(st, &jobs, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                struct job_spend js;
                if (!limit_covers(l, jobs[i], start))
                        continue;
                if (job_spend(st, jobs[i], l->currency, &js, err) < 0) {
                        job_records_free(jobs, n);
                        return -1;
                }
                now += js.billed_now;
                reach += js.can_reach;
        }
        job_records_free(jobs, n);
        *ret_now = now;
        *ret_reach = reach;
        return 0;
}

static char *limit_name(const struct spending_limit *l)
{
        return xasprintf("spending limit %g %s per %s%s%s (action %s, config.yaml line %d)",
                         l->amount, l->currency, l->period, l->provider ? " for " : "",
                         l->provider ? l->provider : "", l->action, l->line);
}

int cost_check_limits(struct store *st, const struct homeconfig *hc, const struct cost_estimate *e,
                      FILE *out, struct hoist_error **err)
{
        for (size_t i = 0; i < hc->n_limits; i++) {
                const struct spending_limit *l = &hc->limits[i];
                double now = 0, reach = 0, mine = e->ceiling >= 0 ? e->ceiling : 0;
                if ((l->provider != NULL && strcmp(l->provider, e->provider) != 0) ||
                    strcmp(l->currency, e->currency) != 0)
                        continue;
                if (limit_usage(st, l, &now, &reach, err) < 0)
                        return hoist_error_wrap(err, "spending limits");
                if (reach + mine <= l->amount)
                        continue;
                _cleanup_free_ char *name = limit_name(l);
                char b1[32], b2[32], b3[32], b4[32];
                _cleanup_free_ char *what =
                        xasprintf("%s: this %s spent %s %s, running jobs can reach %s %s, and this "
                                  "job's ceiling is %s%s %s: %s %s in all",
                                  name, l->period, cost_amount(now, b1, sizeof b1), l->currency,
                                  cost_amount(reach - now, b2, sizeof b2), l->currency,
                                  e->ceiling < 0 ? "unbounded, counted as " : "",
                                  cost_amount(mine, b3, sizeof b3), l->currency,
                                  cost_amount(reach + mine, b4, sizeof b4), l->currency);
                if (strcmp(l->action, "block") == 0)
                        return hoist_error_make(err, HOIST_ERR_LIMIT,
                                                "%s; nothing was submitted (raise the limit in "
                                                "%s, lower limits.max_runtime, or wait for the "
                                                "next %s)",
                                                what, hc->path, l->period);
                fprintf(out, "warning:  %s; submitting anyway (action: warn)\n", what);
        }
        return 0;
}

int cost_enforce(const struct hoist_home *home, struct store *st, struct hoist_error **err)
{
        _cleanup_homeconfig_ struct homeconfig *hc = NULL;
        int stopped = 0;

        if (homeconfig_load(home, &hc, err) < 0)
                return -1;
        for (size_t i = 0; i < hc->n_limits; i++) {
                const struct spending_limit *l = &hc->limits[i];
                struct job_record **jobs = NULL;
                size_t n = 0;
                double now = 0, reach = 0;
                if (!l->stop_running)
                        continue;
                if (limit_usage(st, l, &now, &reach, err) < 0)
                        return -1;
                if (now < l->amount)
                        continue;
                if (store_list_jobs(st, &jobs, &n, err) < 0)
                        return -1;
                for (size_t j = 0; j < n; j++) {
                        struct hoist_error *e = NULL;
                        int64_t start = period_start_ms(l->period, cli_now_ms());
                        if (job_state_terminal(jobs[j]->state) ||
                            jobs[j]->state == JOB_INTERRUPTED || !limit_covers(l, jobs[j], start))
                                continue;
                        _cleanup_free_ char *name = limit_name(l);
                        log_warn("job %s: %s reached (%.2f %s billed and accrued): stopping it",
                                 jobs[j]->id, name, now, l->currency);
                        if (jobcancel_why(home, st, &jobs[j], JOBSPEC_DEFAULT_STOP_GRACE_S,
                                          "spending limit", &e) < 0) {
                                log_warn("job %s: stop at the spending limit: %s; trying again "
                                         "on the next pass",
                                         jobs[j]->id, e->msg);
                                hoist_error_free(e);
                                continue;
                        }
                        cost_settle(home, st, jobs[j]);
                        stopped++;
                }
                job_records_free(jobs, n);
        }
        return stopped;
}

/* ---- the report ---- */

static void add_to(json_t *o, const char *key, double v)
{
        json_t *cur = json_object_get(o, key);
        double base = json_is_number(cur) ? json_number_value(cur) : 0;

        (void)json_object_set_new(o, key, json_real(base + v));
}

static json_t *period_bucket(json_t *periods, const char *period, int64_t start_ms)
{
        json_t *list = json_object_get(periods, period), *b;
        char label[32];
        time_t t = (time_t)(start_ms / 1000);
        struct tm tm;
        size_t i;

        json_array_foreach(list, i, b)
        {
                if (json_integer_value(json_object_get(b, "start_ms")) == start_ms)
                        return b;
        }
        (void)gmtime_r(&t, &tm);
        (void)strftime(label, sizeof label, strcmp(period, "month") == 0 ? "%Y-%m" : "%Y-%m-%d",
                       &tm);
        b = json_pack("{s:I, s:s, s:f, s:f}", "start_ms", (json_int_t)start_ms, "label", label,
                      "estimated", 0.0, "billed", 0.0);
        (void)json_array_append_new(list, b);
        return b;
}

static json_t *attempt_json(const struct store_cost *c)
{
        json_t *o = json_object();

        (void)json_object_set_new(o, "attempt", json_integer(c->attempt));
        (void)json_object_set_new(o, "estimated", real_or_null(c->estimated));
        (void)json_object_set_new(o, "ceiling", real_or_null(c->ceiling));
        (void)json_object_set_new(o, "billed", real_or_null(c->billed));
        (void)json_object_set_new(o, "billed_s",
                                  c->billed_s >= 0 ? json_integer(c->billed_s) : json_null());
        (void)json_object_set_new(o, "nodes", c->nodes >= 0 ? json_integer(c->nodes) : json_null());
        (void)json_object_set_new(o, "sku", str_or_null(c->sku));
        (void)json_object_set_new(o, "region", str_or_null(c->region));
        (void)json_object_set_new(o, "spot", json_boolean(c->spot));
        (void)json_object_set_new(o, "rate", real_or_null(c->rate_per_hour));
        (void)json_object_set_new(o, "unit", str_or_null(c->unit));
        (void)json_object_set_new(o, "currency", str_or_null(c->currency));
        (void)json_object_set_new(o, "source", str_or_null(c->source));
        return o;
}

json_t *cost_attempts_json(struct store *st, const char *id, struct hoist_error **err)
{
        struct store_cost *v = NULL;
        size_t n = 0;
        json_t *a;

        if (store_list_costs(st, id, &v, &n, err) < 0)
                return NULL;
        a = json_array();
        for (size_t i = 0; i < n; i++)
                (void)json_array_append_new(a, attempt_json(&v[i]));
        store_costs_free(v, n);
        return a;
}

json_t *cost_job_json(const struct job_record *job)
{
        return json_pack("{s:o, s:o, s:o}", "estimated", real_or_null(job->cost_estimated),
                         "billed", real_or_null(job->cost_billed), "currency",
                         job->cost_currency ? json_string(job->cost_currency) : json_string("USD"));
}

static int add_job(struct store *st, const struct job_record *job, json_t *report,
                   struct hoist_error **err)
{
        json_t *attempts = cost_attempts_json(st, job->id, err);
        json_t *providers = json_object_get(report, "providers_by_name");
        json_t *total = json_object_get(report, "total");
        json_t *periods = json_object_get(report, "periods");
        json_t *j, *pv;
        double est = job->cost_estimated >= 0 ? job->cost_estimated : 0;
        double billed = job->cost_billed >= 0 ? job->cost_billed : 0;
        static const char *const names[] = {"day", "week", "month"};

        if (attempts == NULL)
                return -1;
        j = cost_job_json(job);
        (void)json_object_set_new(j, "id", json_string(job->id));
        (void)json_object_set_new(j, "name", json_string(job->name));
        (void)json_object_set_new(j, "provider", json_string(job->provider));
        (void)json_object_set_new(j, "state", json_string(job_state_name(job->state)));
        (void)json_object_set_new(j, "created_at_ms", json_integer(job->created_at_ms));
        (void)json_object_set_new(j, "attempts", attempts);
        (void)json_array_append_new(json_object_get(report, "jobs"), j);
        pv = json_object_get(providers, job->provider);
        if (pv == NULL) {
                pv = json_pack("{s:s, s:f, s:f, s:i}", "provider", job->provider, "estimated", 0.0,
                               "billed", 0.0, "jobs", 0);
                (void)json_object_set_new(providers, job->provider, pv);
        }
        add_to(pv, "estimated", est);
        add_to(pv, "billed", billed);
        (void)json_object_set_new(
                pv, "jobs", json_integer(json_integer_value(json_object_get(pv, "jobs")) + 1));
        add_to(total, "estimated", est);
        add_to(total, "billed", billed);
        for (size_t i = 0; i < 3; i++) {
                json_t *b = period_bucket(periods, names[i],
                                          period_start_ms(names[i], job->created_at_ms));
                add_to(b, "estimated", est);
                add_to(b, "billed", billed);
        }
        return 0;
}

static int add_limits(struct store *st, const struct homeconfig *hc, json_t *report,
                      struct hoist_error **err)
{
        json_t *list = json_object_get(report, "limits");

        for (size_t i = 0; i < hc->n_limits; i++) {
                const struct spending_limit *l = &hc->limits[i];
                double now = 0, reach = 0;
                if (limit_usage(st, l, &now, &reach, err) < 0)
                        return -1;
                (void)json_array_append_new(
                        list,
                        json_pack("{s:s, s:f, s:s, s:s, s:o, s:b, s:I, s:f, s:f, s:o}", "period",
                                  l->period, "amount", l->amount, "currency", l->currency, "action",
                                  l->action, "provider", str_or_null(l->provider), "stop_running",
                                  l->stop_running, "period_start_ms",
                                  (json_int_t)period_start_ms(l->period, cli_now_ms()), "used", now,
                                  "can_reach", reach, "fraction",
                                  l->amount > 0 ? json_real(now / l->amount) : json_null()));
        }
        return 0;
}

int cost_report_json(struct store *st, const char *home_dir, const struct cost_query *q,
                     json_t **ret, struct hoist_error **err)
{
        struct hoist_home home = {.dir = (char *)home_dir};
        _cleanup_homeconfig_ struct homeconfig *hc = NULL;
        struct job_record **jobs = NULL;
        size_t n = 0;
        json_auto_t *r = json_pack(
                "{s:s, s:o, s:o, s:{s:f, s:f}, s:[], s:{}, s:{s:[], s:[], s:[]}, s:[]}", "currency",
                "USD", "since_ms", q->since_ms > 0 ? json_integer(q->since_ms) : json_null(),
                "provider", str_or_null(q->provider), "total", "estimated", 0.0, "billed", 0.0,
                "jobs", "providers_by_name", "periods", "day", "week", "month", "limits");
        json_t *providers, *pv;
        const char *key;

        if (homeconfig_load(&home, &hc, err) < 0 || store_list_jobs(st, &jobs, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                if (jobs[i]->created_at_ms < q->since_ms ||
                    (q->provider != NULL && strcmp(q->provider, jobs[i]->provider) != 0))
                        continue;
                if (add_job(st, jobs[i], r, err) < 0) {
                        job_records_free(jobs, n);
                        return -1;
                }
        }
        job_records_free(jobs, n);
        if (add_limits(st, hc, r, err) < 0)
                return -1;
        providers = json_array();
        json_object_foreach(json_object_get(r, "providers_by_name"), key, pv)(void)
                json_array_append(providers, pv);
        (void)json_object_del(r, "providers_by_name");
        (void)json_object_set_new(r, "providers", providers);
        *ret = json_incref(r);
        return 0;
}
