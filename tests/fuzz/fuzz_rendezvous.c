/* SPDX-License-Identifier: MIT */
/*
 * The rendezvous lines nodes of a job send each other (entrypoint/
 * rendezvous.h): any bytes parse or give an error, never a crash or a leak;
 * a hello gives a rank in range, an answer exactly the nodes' addresses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "entrypoint/rendezvous.h"
#include "error.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *line = xstrndup((const char *)data, size);
        struct hoist_error *err = NULL;
        int64_t rank = -1;

        for (int64_t nodes = 2; nodes <= 4; nodes++) {
                _cleanup_strv_ char **addrs = NULL;
                if (rendezvous_parse_hello(line, "j-fuzz", nodes, &rank, &err) == 0) {
                        if (err != NULL || rank < 1 || rank >= nodes)
                                abort();
                } else {
                        if (err == NULL)
                                abort();
                        hoist_error_release(&err);
                }
                if (rendezvous_parse_reply(line, nodes, &addrs, &err) == 0) {
                        if (err != NULL || addrs == NULL)
                                abort();
                        for (int64_t i = 0; i < nodes; i++)
                                if (addrs[i] == NULL || addrs[i][0] == '\0')
                                        abort();
                        if (addrs[nodes] != NULL)
                                abort();
                } else {
                        if (err == NULL || addrs != NULL)
                                abort();
                        hoist_error_release(&err);
                }
        }
        return 0;
}
