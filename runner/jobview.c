/* SPDX-License-Identifier: MIT */
#include "jobview.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static json_t *str_or_null(const char *s)
{
        return s ? json_string(s) : json_null();
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

void jobview_print_json(json_t *v)
{
        char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

        if (s != NULL) {
                puts(s);
                free(s);
        }
}

void jobview_print_table(struct job_record **jobs, size_t n)
{
        char t[32], d[32];

        printf("%-16s %-20s %-11s %-8s %-4s %-19s %s\n", "ID", "NAME", "STATE", "RUNTIME", "EXIT",
               "CREATED", "DURATION");
        for (size_t i = 0; i < n; i++) {
                const struct job_record *j = jobs[i];
                char code[16] = "-";
                if (j->exit_code >= 0)
                        snprintf(code, sizeof code, "%d", j->exit_code);
                int64_t end = job_state_terminal(j->state) ? j->updated_at_ms : cli_now_ms();
                printf("%-16s %-20.20s %-11s %-8s %-4s %-19s %s\n", j->id, j->name ? j->name : "-",
                       job_state_name(j->state), j->runtime ? j->runtime : "-", code,
                       cli_format_time(j->created_at_ms, t, sizeof t),
                       cli_format_duration(end - j->created_at_ms, d, sizeof d));
        }
}

void jobview_print_status(const struct job_record *job, const struct job_transition *t, size_t n_t)
{
        char b[32];

        printf("id:        %s\n", job->id);
        printf("name:      %s\n", job->name ? job->name : "-");
        printf("state:     %s\n", job_state_name(job->state));
        if (job->exit_code >= 0)
                printf("exit code: %d\n", job->exit_code);
        if (job->reason != NULL)
                printf("reason:    %s\n", job->reason);
        printf("provider:  %s (%s)\n", job->provider, job->runtime ? job->runtime : "not started");
        printf("attempt:   %lld\n", (long long)job->attempt);
        printf("storage:   %s\n", job->storage_url ? job->storage_url : "-");
        printf("created:   %s\n", cli_format_time(job->created_at_ms, b, sizeof b));
        printf("history:\n");
        for (size_t i = 0; i < n_t; i++)
                printf("  %s  %-11s%s%s\n", cli_format_time(t[i].at_ms, b, sizeof b),
                       job_state_name(t[i].to), t[i].reason ? "  " : "",
                       t[i].reason ? t[i].reason : "");
}
