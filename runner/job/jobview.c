/* SPDX-License-Identifier: MIT */
#include "runner/job/jobview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "runner/job/cost.h"
#include "runner/cli/cli.h"
#include "fmt.h"
#include "xalloc.h"

static json_t *str_or_null(const char *s)
{
        return s ? json_string(s) : json_null();
}

json_t *jobview_cost_json(const struct job_record *job)
{
        json_t *o = json_object();

        json_object_set_new(o, "estimated",
                            job->cost_estimated >= 0 ? json_real(job->cost_estimated)
                                                     : json_null());
        json_object_set_new(o, "billed",
                            job->cost_billed >= 0 ? json_real(job->cost_billed) : json_null());
        json_object_set_new(o, "currency",
                            json_string(job->cost_currency ? job->cost_currency : "USD"));
        return o;
}

/* "1.23" billed, "~4.56" estimated, "-" unknown. */
static const char *cost_text(const struct job_record *j, char *buf, size_t size)
{
        char a[32];

        if (j->cost_billed >= 0)
                snprintf(buf, size, "%s", cost_amount(j->cost_billed, a, sizeof a));
        else if (j->cost_estimated >= 0)
                snprintf(buf, size, "~%s", cost_amount(j->cost_estimated, a, sizeof a));
        else
                snprintf(buf, size, "-");
        return buf;
}

json_t *jobview_json(const struct job_record *job, const struct job_transition *t, size_t n_t)
{
        json_t *o = json_object();

        json_object_set_new(o, "id", json_string(job->id));
        json_object_set_new(o, "name", str_or_null(job->name));
        json_object_set_new(o, "state", json_string(job_state_name(job->state)));
        json_object_set_new(o, "provider", str_or_null(job->provider));
        json_object_set_new(o, "runtime", str_or_null(job->runtime));
        json_object_set_new(o, "attempt", json_integer(job->attempt));
        json_object_set_new(o, "exit_code",
                            job->exit_code >= 0 ? json_integer(job->exit_code) : json_null());
        json_object_set_new(o, "reason", str_or_null(job->reason));
        json_object_set_new(o, "storage", str_or_null(job->storage_url));
        json_object_set_new(o, "created_at_ms", json_integer(job->created_at_ms));
        json_object_set_new(o, "updated_at_ms", json_integer(job->updated_at_ms));
        json_object_set_new(o, "cost", jobview_cost_json(job));
        if (t != NULL) {
                json_t *arr = json_array();
                for (size_t i = 0; i < n_t; i++) {
                        json_t *e = json_object();
                        json_object_set_new(e, "from", json_string(job_state_name(t[i].from)));
                        json_object_set_new(e, "to", json_string(job_state_name(t[i].to)));
                        json_object_set_new(e, "reason", str_or_null(t[i].reason));
                        json_object_set_new(e, "at_ms", json_integer(t[i].at_ms));
                        json_array_append_new(arr, e);
                }
                json_object_set_new(o, "transitions", arr);
        }
        return o;
}

/* The most digits any real in V needs to read back exactly (0: none). */
static int json_precision(const json_t *v)
{
        const char *key;
        json_t *item;
        size_t i;
        int p = 0, q;

        if (json_is_real(v))
                return fmt_double_precision(json_real_value(v));
        if (json_is_object(v)) {
                json_object_foreach((json_t *)v, key, item)
                {
                        q = json_precision(item);
                        p = q > p ? q : p;
                }
        } else if (json_is_array(v)) {
                json_array_foreach(v, i, item)
                {
                        q = json_precision(item);
                        p = q > p ? q : p;
                }
        }
        return p;
}

void jobview_print_json(json_t *v)
{
        /* jansson writes every real with 17 digits (0.9445 as
         * 0.94450000000000001): use the fewest that read back exactly. */
        int p = json_precision(v);
        char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                        (p > 0 ? JSON_REAL_PRECISION(p) : 0));

        if (s != NULL) {
                puts(s);
                free(s);
        }
}

void jobview_print_table(struct job_record **jobs, size_t n)
{
        char t[32], d[32], c[32];
        double billed = 0, estimated = 0;
        const char *currency = "USD";

        printf("%-16s %-20s %-11s %-8s %-4s %-19s %-9s %s\n", "ID", "NAME", "STATE", "RUNTIME",
               "EXIT", "CREATED", "DURATION", "COST");
        for (size_t i = 0; i < n; i++) {
                const struct job_record *j = jobs[i];
                char code[16] = "-";
                if (j->exit_code >= 0)
                        snprintf(code, sizeof code, "%d", j->exit_code);
                int64_t end = job_state_terminal(j->state) ? j->updated_at_ms : cli_now_ms();
                printf("%-16s %-20.20s %-11s %-8s %-4s %-19s %-9s %s\n", j->id,
                       j->name ? j->name : "-", job_state_name(j->state),
                       j->runtime ? j->runtime : "-", code,
                       cli_format_time(j->created_at_ms, t, sizeof t),
                       cli_format_duration(end - j->created_at_ms, d, sizeof d),
                       cost_text(j, c, sizeof c));
                if (j->cost_billed >= 0)
                        billed += j->cost_billed;
                else if (j->cost_estimated >= 0)
                        estimated += j->cost_estimated;
                if (j->cost_currency != NULL)
                        currency = j->cost_currency;
        }
        printf("total: %s %s billed, %s %s estimated for jobs not billed yet "
               "('hoist cost' has more)\n",
               cost_amount(billed, t, sizeof t), currency, cost_amount(estimated, d, sizeof d),
               currency);
}

void jobview_metrics_add(json_t *metrics, const char *event_body)
{
        json_auto_t *event = json_loads(event_body, 0, NULL);
        json_t *data = json_object_get(event, "data");

        if (json_is_object(data))
                (void)json_object_update(metrics, data);
}

char *jobview_metrics_text(const json_t *metrics)
{
        const char *key;
        json_t *v;
        char num[FMT_DOUBLE_SIZE];
        char *text = NULL;

        json_object_foreach((json_t *)metrics, key, v)
        {
                if (json_is_integer(v))
                        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
                else if (json_is_real(v))
                        fmt_double(json_real_value(v), num, sizeof num);
                else
                        continue;
                char *more = xasprintf("%s%s%s=%s", text ? text : "", text ? " " : "", key, num);
                free(text);
                text = more;
        }
        return text;
}

/* The last line of a reason (a failed command's stderr tail has many);
 * sets *RET_MORE when lines were left out. */
static char *reason_line(const char *reason, int *ret_more)
{
        const char *end = reason + strlen(reason), *start;

        while (end > reason && strchr("\n\r \t", end[-1]) != NULL)
                end--;
        start = end;
        while (start > reason && start[-1] != '\n' && start[-1] != '\r')
                start--;
        *ret_more = start > reason;
        return xstrndup(start, (size_t)(end - start));
}

json_t *jobview_billing_json(const struct provider_billing *billing)
{
        json_t *o = json_object();

        json_object_set_new(o, "billed_s", json_integer(billing->billed_s));
        json_object_set_new(o, "nodes", json_integer(billing->nodes));
        json_object_set_new(o, "sku", str_or_null(billing->sku));
        json_object_set_new(o, "region", str_or_null(billing->region));
        json_object_set_new(o, "spot", json_boolean(billing->spot));
        if (billing->run_s > 0)
                json_object_set_new(o, "run_s", json_integer(billing->run_s));
        json_object_set_new(o, "source", str_or_null(billing->source));
        return o;
}

void jobview_print_status(const struct job_record *job, const struct job_transition *t, size_t n_t,
                          const json_t *metrics, const struct provider_billing *billing)
{
        _cleanup_free_ char *metrics_text = metrics ? jobview_metrics_text(metrics) : NULL;
        char b[32];
        int more = 0;

        printf("id:        %s\n", job->id);
        printf("name:      %s\n", job->name ? job->name : "-");
        printf("state:     %s\n", job_state_name(job->state));
        if (job->exit_code >= 0)
                printf("exit code: %d\n", job->exit_code);
        if (job->reason != NULL) {
                _cleanup_free_ char *line = reason_line(job->reason, &more);
                printf("reason:    %s\n", line);
                if (more)
                        printf("           (the last line; 'hoist logs %s' has the rest)\n",
                               job->id);
        }
        printf("provider:  %s (%s)\n", job->provider, job->runtime ? job->runtime : "not started");
        printf("attempt:   %lld\n", (long long)job->attempt);
        if (job->cost_billed >= 0 || job->cost_estimated >= 0) {
                char e[32], bl[32];
                printf("cost:      billed %s, estimated %s %s\n",
                       cost_amount(job->cost_billed, bl, sizeof bl),
                       cost_amount(job->cost_estimated, e, sizeof e),
                       job->cost_currency ? job->cost_currency : "USD");
        }
        if (billing != NULL) {
                printf("billed:    %lld s", (long long)billing->billed_s);
                if (billing->nodes > 1)
                        printf(" over %lld nodes", (long long)billing->nodes);
                if (billing->sku != NULL)
                        printf(" of %s%s", billing->sku, billing->spot ? " (spot)" : "");
                printf(billing->source != NULL ? " (%s)\n" : "\n", billing->source);
        }
        printf("storage:   %s\n", job->storage_url ? job->storage_url : "-");
        printf("created:   %s\n", cli_format_time(job->created_at_ms, b, sizeof b));
        if (metrics_text != NULL)
                printf("metrics:   %s\n", metrics_text);
        printf("history:\n");
        for (size_t i = 0; i < n_t; i++) {
                _cleanup_free_ char *line = t[i].reason ? reason_line(t[i].reason, &more) : NULL;
                if (line != NULL && *line != '\0')
                        printf("  %s  %-11s  %s\n", cli_format_time(t[i].at_ms, b, sizeof b),
                               job_state_name(t[i].to), line);
                else
                        printf("  %s  %s\n", cli_format_time(t[i].at_ms, b, sizeof b),
                               job_state_name(t[i].to));
        }
}
