/* SPDX-License-Identifier: MIT */
/*
 * WWW-Authenticate parsing: any bytes give challenges or an error, never a
 * crash or a leak.  Every challenge has a lowercase scheme; parsing stops at
 * an embedded NUL as a C string would.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry_auth.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct registry_challenge *c = NULL;
        struct hoist_error *err = NULL;
        char *text = xstrndup((const char *)data, size);
        size_t n = 0;

        if (registry_auth_parse_challenges(text, &c, &n, &err) < 0) {
                if (err == NULL || c != NULL)
                        abort();
                hoist_error_free(err);
                free(text);
                return 0;
        }
        if (n == 0 || err != NULL)
                abort();
        for (size_t i = 0; i < n; i++) {
                if (c[i].scheme == NULL || c[i].scheme[0] == '\0')
                        abort();
                for (const char *p = c[i].scheme; *p; p++)
                        if (isupper((unsigned char)*p))
                                abort();
                /* the token URL from what was parsed is well formed */
                if (c[i].realm) {
                        const char *scopes[] = {c[i].scope ? c[i].scope : "repository:x:pull"};
                        char *u = registry_auth_token_url(c[i].realm, c[i].service, scopes, 1);
                        if (strstr(u, "scope=") == NULL)
                                abort();
                        free(u);
                }
        }
        registry_challenges_free(c, n);
        free(text);
        return 0;
}
