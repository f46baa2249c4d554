/* SPDX-License-Identifier: MIT */
/*
 * Whether a storage URL is on loopback (runner/job/jobreach.h): any bytes give
 * a verdict, never a crash or a read past the string; a verdict does not
 * depend on what follows the host (path, query), and the schemes that are
 * this machine's alone are loopback whatever follows them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "runner/job/jobreach.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *url = xstrndup((const char *)data, size);
        _cleanup_free_ char *file = xasprintf("file://%s", url);
        _cleanup_free_ char *with_path = NULL;
        bool v = jobreach_is_loopback(url);

        if (!jobreach_is_loopback(file))
                abort();
        /* A path after an http(s) authority changes nothing. */
        if ((strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) &&
            strpbrk(url + 7, "/?#") == NULL) {
                with_path = xasprintf("%s/jobs/127.0.0.1?x=localhost#::1", url);
                if (jobreach_is_loopback(with_path) != v)
                        abort();
        }
        return 0;
}
