/* SPDX-License-Identifier: MIT */
/*
 * What hoist serve's webhook receiver parses from a request: the
 * webhook-id, webhook-timestamp and webhook-signature headers, the event
 * body, and --webhook-allow networks.  Input: three header lines, then the
 * body.  Any bytes must give a verdict or an error, never a crash or a leak;
 * a body signed here must verify, and verify no more once altered.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "runner/serve/hooks.h"
#include "webhook.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next '\n'-terminated line of *P (up to END), as a C string. */
static char *next_line(const char **p, const char *end)
{
        const char *nl = memchr(*p, '\n', (size_t)(end - *p));
        const char *stop = nl != NULL ? nl : end;
        char *line = xstrndup(*p, (size_t)(stop - *p));

        *p = nl != NULL ? nl + 1 : end;
        return line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char secret[] = "whsec_aG9pc3QtdGVzdC1rZXktMDEyMzQ1Njc4OWFiY2RlZg==";
        const char *p = (const char *)data, *end = p + size;
        char *id = next_line(&p, end), *ts = next_line(&p, end), *sigs = next_line(&p, end);
        size_t body_len = (size_t)(end - p);
        struct hoist_error *err = NULL;
        struct webhook_key key;
        struct hooks_event ev;
        struct hooks_cidr net;
        char *sig;
        int64_t now = strtoll(ts, NULL, 10);
        int r;

        if (webhook_key_parse(secret, "fuzz", &key, &err) < 0)
                abort();
        r = webhook_verify(&key, id, ts, sigs, p, body_len, now, &err);
        if ((r < 0) != (err != NULL))
                abort();
        hoist_error_release(&err);
        if (hooks_event_parse(p, body_len, id, &ev, &err) == 0) {
                if (ev.id == NULL || ev.type == NULL || ev.job_id == NULL || strcmp(ev.id, id) != 0)
                        abort();
                hooks_event_release(&ev);
        } else if (err == NULL) {
                abort();
        }
        hoist_error_release(&err);
        if (hooks_cidr_parse(id, &net, &err) == 0) {
                if ((net.addr & net.mask) != net.addr || !hooks_cidr_match(&net, 1, net.addr))
                        abort();
        }
        hoist_error_release(&err);
        (void)webhook_key_parse(sigs, "fuzz", &key, &err);
        hoist_error_release(&err);

        /* Round trip: what we sign verifies; a changed body does not. */
        if (webhook_key_parse(secret, "fuzz", &key, &err) < 0)
                abort();
        sig = webhook_sign(&key, "msg_1", 1700000000, p, body_len);
        if (webhook_verify(&key, "msg_1", "1700000000", sig, p, body_len, 1700000000, &err) != 0)
                abort();
        if (body_len > 0) {
                char *copy = xmalloc(body_len);
                memcpy(copy, p, body_len);
                copy[0] ^= 1;
                if (webhook_verify(&key, "msg_1", "1700000000", sig, copy, body_len, 1700000000,
                                   &err) != WEBHOOK_BAD_SIGNATURE)
                        abort();
                hoist_error_release(&err);
                free(copy);
        }
        free(sig);
        free(id);
        free(ts);
        free(sigs);
        return 0;
}
