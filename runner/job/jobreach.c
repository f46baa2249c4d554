/* SPDX-License-Identifier: MIT */
#include "runner/job/jobreach.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "runner/control/localserve.h"
#include "storage.h"
#include "xalloc.h"

static bool host_is_loopback(const char *host)
{
        unsigned char a[16];
        size_t n = strlen(host);

        if (n > 0 && host[n - 1] == '.') /* "localhost." is localhost */
                n--;
        if ((n == 9 && strncasecmp(host, "localhost", 9) == 0) ||
            (n > 10 && strncasecmp(host + n - 10, ".localhost", 10) == 0))
                return true;
        if (inet_pton(AF_INET, host, a) == 1)
                return a[0] == 127 || (a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0);
        if (inet_pton(AF_INET6, host, a) == 1) {
                static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
                static const unsigned char zero[15] = {0};
                if (memcmp(a, zero, 15) == 0) /* :: and ::1 */
                        return a[15] <= 1;
                return memcmp(a, mapped, 12) == 0 && a[12] == 127;
        }
        return false;
}

bool jobreach_is_loopback(const char *url)
{
        const char *p, *end, *at;
        _cleanup_free_ char *host = NULL;

        if (url == NULL)
                return false;
        if (strncasecmp(url, "file://", 7) == 0 || strcmp(url, LOCALSERVE_URL) == 0)
                return true;
        if (strncasecmp(url, "http://", 7) == 0)
                p = url + 7;
        else if (strncasecmp(url, "https://", 8) == 0)
                p = url + 8;
        else
                return false;
        end = p + strcspn(p, "/?#");
        at = memchr(p, '@', (size_t)(end - p));
        while (at != NULL) { /* the host follows the last '@' of the userinfo */
                p = at + 1;
                at = memchr(p, '@', (size_t)(end - p));
        }
        if (*p == '[') {
                const char *close = memchr(p, ']', (size_t)(end - p));
                if (close == NULL)
                        return false;
                host = xstrndup(p + 1, (size_t)(close - p - 1));
        } else {
                const char *colon = memchr(p, ':', (size_t)(end - p));
                host = xstrndup(p, (size_t)((colon != NULL ? colon : end) - p));
        }
        return host_is_loopback(host);
}

int jobreach_check(const struct provider_ops *prov, const void *settings, const char *storage_url,
                   struct hoist_error **err)
{
        _cleanup_storage_ struct storage *sto = NULL;
        _cleanup_free_ char *shown = NULL;
        struct storage_location loc;
        bool loopback;

        if (provider_reaches_loopback(prov, settings))
                return 0;
        if (strncasecmp(storage_url, "s3://", 5) == 0) {
                /* Its endpoint (AWS_ENDPOINT_URL_S3, a profile's ...) decides. */
                if (storage_open(storage_url, &sto, err) < 0)
                        return hoist_error_wrap(err, "storage '%s'", storage_url);
                storage_locate(sto, &loc);
                loopback = jobreach_is_loopback(loc.endpoint);
                shown = xasprintf("%s (endpoint %s)", storage_url, loc.endpoint);
        } else {
                loopback = jobreach_is_loopback(storage_url);
                shown = xstrdup(strcmp(storage_url, LOCALSERVE_URL) == 0
                                        ? "the built-in endpoint on 127.0.0.1 (no storage: set)"
                                        : storage_url);
        }
        if (!loopback)
                return 0;
        return hoist_error_make(
                err, HOIST_ERR_INPUT,
                "provider '%s' runs jobs elsewhere, where storage %s on this machine's loopback "
                "cannot be reached; use 'storage: s3://BUCKET/PREFIX' on storage its nodes "
                "reach, or run 'hoist serve --listen ADDR:PORT --tls-cert CERT --tls-key KEY' "
                "on an address they reach and point storage at it",
                prov->name, shown);
}
