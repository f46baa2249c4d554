/* SPDX-License-Identifier: MIT */
/*
 * The Slurm variables a hoist node is placed by (lib/distenv.h): the input
 * is "NAME=VALUE" lines, of which the Slurm variables distenv reads go into
 * the environment; the whole input is also parsed as SLURM_TASKS_PER_NODE.
 * Either a placement whose rank is one of its nodes, each with a host, or
 * an error; never a crash, a leak or unbounded work.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "distenv.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
        "SLURM_JOB_ID",
        "SLURM_JOB_NODELIST",
        "SLURM_NODELIST",
        "SLURM_STEP_NODELIST",
        "SLURM_TASKS_PER_NODE",
        "SLURM_STEP_TASKS_PER_NODE",
        "SLURM_NTASKS",
        "SLURM_NPROCS",
        "SLURM_STEP_NUM_TASKS",
        "SLURM_PROCID",
        "SLURM_NODEID",
        "SLURM_LOCALID",
        NULL,
};

static void check_tasks(const char *s)
{
        _cleanup_free_ int64_t *counts = NULL;
        struct hoist_error *err = NULL;
        int64_t total = 0;
        size_t n = 0;

        if (distenv_parse_tasks_per_node(s, &counts, &n, &err) < 0) {
                if (err == NULL || counts != NULL)
                        abort();
                hoist_error_release(&err);
                return;
        }
        if (n == 0)
                abort();
        for (size_t i = 0; i < n; i++) {
                if (counts[i] < 1)
                        abort();
                total += counts[i];
        }
        if (total > DISTENV_MAX_NODES)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = xstrndup((const char *)data, size);
        struct distenv d = {0};
        struct hoist_error *err = NULL;
        char *line, *save = NULL;

        check_tasks(text);
        for (const char *const *n = names; *n; n++)
                unsetenv(*n);
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');
                if (eq == NULL)
                        continue;
                *eq = '\0';
                for (const char *const *n = names; *n; n++)
                        if (strcmp(line, *n) == 0)
                                (void)setenv(line, eq + 1, 1);
        }
        if (distenv_from_slurm(&d, &err) < 0) {
                if (err == NULL || d.hosts != NULL)
                        abort();
                hoist_error_release(&err);
                return 0;
        }
        if (err != NULL || d.num_nodes < 1 || d.node_rank < 0 || d.node_rank >= d.num_nodes ||
            d.local_slot < 0 || d.local_slot > d.node_rank)
                abort();
        for (int64_t i = 0; i < d.num_nodes; i++)
                if (d.hosts[i] == NULL || d.hosts[i][0] == '\0')
                        abort();
        if (d.hosts[d.num_nodes] != NULL)
                abort();
        distenv_clear(&d);
        return 0;
}
