/* SPDX-License-Identifier: MIT */
/*
 * Slurm hostlists (SLURM_JOB_NODELIST): any bytes expand or give an error,
 * never a crash or a leak, in bounded time; what expands compresses back to
 * a list that expands to the same names in the same order.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "hostlist.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *list = xstrndup((const char *)data, size);
        _cleanup_strv_ char **hosts = NULL;
        _cleanup_strv_ char **again = NULL;
        _cleanup_free_ char *packed = NULL;
        struct hoist_error *err = NULL;
        int n = hostlist_expand(list, &hosts, &err);

        if (n < 0) {
                if (err == NULL || hosts != NULL)
                        abort();
                hoist_error_release(&err);
                return 0;
        }
        if (err != NULL || n == 0 || n > HOSTLIST_MAX_HOSTS || hosts[n] != NULL)
                abort();
        for (int i = 0; i < n; i++)
                if (hosts[i][0] == '\0' || strlen(hosts[i]) > HOSTLIST_MAX_NAME ||
                    strpbrk(hosts[i], ",[] \t") != NULL)
                        abort();
        packed = hostlist_compress(hosts, (size_t)n, &err);
        if (packed == NULL)
                abort();
        if (hostlist_expand(packed, &again, &err) != n)
                abort();
        for (int i = 0; i < n; i++)
                if (strcmp(hosts[i], again[i]) != 0)
                        abort();
        return 0;
}
