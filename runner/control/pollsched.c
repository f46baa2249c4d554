/* SPDX-License-Identifier: MIT */
#include "runner/control/pollsched.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static int64_t period(int poll_ms)
{
        return poll_ms > 0 ? poll_ms : POLLSCHED_DEFAULT_MS;
}

struct pollsched_entry *pollsched_get(struct pollsched *s, const char *job_id)
{
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->e[i].job_id, job_id) == 0) {
                        s->e[i].seen = true;
                        return &s->e[i];
                }
        s->e = xreallocarray(s->e, s->n + 1, sizeof *s->e);
        s->e[s->n] = (struct pollsched_entry){.job_id = xstrdup(job_id), .seen = true};
        return &s->e[s->n++];
}

bool pollsched_due(const struct pollsched_entry *e, int64_t now)
{
        return now >= e->next_ms;
}

void pollsched_answered(struct pollsched_entry *e, int64_t now, int poll_ms)
{
        e->failures = 0;
        e->wait_ms = period(poll_ms);
        e->next_ms = now + e->wait_ms;
}

void pollsched_failed(struct pollsched_entry *e, int64_t now, int poll_ms)
{
        int64_t wait = e->failures > 0 ? e->wait_ms * 2 : period(poll_ms) * 2;

        e->failures++;
        e->wait_ms = wait < POLLSCHED_MAX_BACKOFF_MS ? wait : POLLSCHED_MAX_BACKOFF_MS;
        e->next_ms = now + e->wait_ms;
}

void pollsched_begin(struct pollsched *s)
{
        for (size_t i = 0; i < s->n; i++)
                s->e[i].seen = false;
}

void pollsched_end(struct pollsched *s)
{
        size_t i = 0;

        while (i < s->n) {
                if (s->e[i].seen) {
                        i++;
                        continue;
                }
                free(s->e[i].job_id);
                s->e[i] = s->e[--s->n];
        }
}

void pollsched_free(struct pollsched *s)
{
        for (size_t i = 0; i < s->n; i++)
                free(s->e[i].job_id);
        free(s->e);
        *s = (struct pollsched){0};
}
