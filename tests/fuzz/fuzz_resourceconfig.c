/* SPDX-License-Identifier: MIT */
/*
 * SageMaker's /opt/ml/input/config/resourceconfig.json (lib/distenv.h):
 * any bytes give a placement whose rank is one of its hosts, all distinct
 * and non-empty, or an error; never a crash or a leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "distenv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct distenv d = {0};
        struct hoist_error *err = NULL;

        if (distenv_from_sagemaker((const char *)data, size, "resourceconfig.json", &d, &err) < 0) {
                if (err == NULL || d.hosts != NULL)
                        abort();
                hoist_error_release(&err);
                return 0;
        }
        if (err != NULL || d.num_nodes < 1 || d.node_rank < 0 || d.node_rank >= d.num_nodes)
                abort();
        for (int64_t i = 0; i < d.num_nodes; i++) {
                if (d.hosts[i] == NULL || d.hosts[i][0] == '\0')
                        abort();
                for (int64_t j = 0; j < i; j++)
                        if (strcmp(d.hosts[i], d.hosts[j]) == 0)
                                abort();
        }
        if (d.hosts[d.num_nodes] != NULL)
                abort();
        distenv_clear(&d);
        return 0;
}
