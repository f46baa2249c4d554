/* SPDX-License-Identifier: MIT */
#include "runner/job/noderesults.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

char *noderesults_prefix(const char *job_id)
{
        return xasprintf("jobs/%s/results/", job_id);
}

void noderesults_free(struct jobspec_result **r, size_t n)
{
        for (size_t i = 0; i < n; i++)
                jobspec_result_free(r[i]);
        free(r);
}

static int has_suffix(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);

        return a >= b && strcmp(s + a - b, suffix) == 0;
}

int noderesults_read(struct storage *sto, const char *job_id, int64_t attempt,
                     struct jobspec_result ***ret, size_t *ret_n, struct hoist_error **err)
{
        _cleanup_free_ char *prefix = noderesults_prefix(job_id);
        _cleanup_strv_ char **keys = NULL;
        struct jobspec_result **out = NULL;
        size_t n = 0;

        if (storage_list(sto, prefix, &keys, err) < 0)
                return hoist_error_wrap(err, "list '%s'", prefix);
        for (char **k = keys; *k != NULL; k++) {
                _cleanup_free_ char *text = NULL;
                struct jobspec_result *res = NULL;
                size_t len = 0;

                /* results/<node>.json only: nothing deeper is a node's. */
                if (!has_suffix(*k, ".json") || strchr(*k + strlen(prefix), '/') != NULL)
                        continue;
                if (storage_get_bytes(sto, *k, &text, &len, err) < 0 ||
                    jobspec_result_parse(text, len, *k, &res, err) < 0) {
                        noderesults_free(out, n);
                        return -1;
                }
                if (res->attempt != attempt) { /* a previous attempt's */
                        jobspec_result_free(res);
                        continue;
                }
                if (res->node == NULL || res->node[0] == '\0') {
                        free(res->node);
                        res->node = xstrndup(*k + strlen(prefix),
                                             strlen(*k) - strlen(prefix) - strlen(".json"));
                }
                out = xreallocarray(out, n + 1, sizeof *out);
                out[n++] = res;
        }
        *ret = out;
        *ret_n = n;
        return 0;
}

static struct jobspec_result *result_dup(const struct jobspec_result *r)
{
        struct jobspec_result *c = xzalloc(sizeof *c);

        *c = *r;
        c->job_id = xstrdup(r->job_id);
        c->node = xstrdup(r->node);
        c->status = xstrdup(r->status);
        c->reason = xstrdup(r->reason);
        return c;
}

struct jobspec_result *noderesults_combine(struct jobspec_result *const *nodes, size_t n,
                                           const struct jobspec_result *rank0)
{
        const struct jobspec_result *first = NULL;
        struct jobspec_result *c;
        char *reason;

        for (size_t i = 0; i < n; i++) {
                if (nodes[i]->status == NULL || strcmp(nodes[i]->status, "failed") != 0)
                        continue;
                if (first == NULL || nodes[i]->finished_at_ms < first->finished_at_ms)
                        first = nodes[i];
        }
        if (first == NULL)
                return rank0 != NULL ? result_dup(rank0) : NULL;
        c = result_dup(first);
        reason = xasprintf("node %s: %s", first->node ? first->node : "?",
                           first->reason ? first->reason : "failed");
        free(c->reason);
        c->reason = reason;
        return c;
}
