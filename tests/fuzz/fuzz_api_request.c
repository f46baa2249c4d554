/* SPDX-License-Identifier: MIT */
/*
 * What hoist serve's REST API parses from a request: the query string
 * (first line), a Last-Event-ID header (second line), a path segment
 * (third line) and the body of POST .../resume (the rest).  Any bytes must
 * give a value or an error, never a crash or a leak; a parsed query holds
 * only decoded, NUL-free names and values, each name once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "runner/serve/apiquery.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
        const char *p = (const char *)data, *end = p + size;
        char *query = next_line(&p, end), *lei = next_line(&p, end), *seg = next_line(&p, end);
        struct hoist_error *err = NULL;
        struct apiquery q = {0};
        char *decoded = NULL;
        int64_t v = 0;
        int64_t attempt = 0;
        bool force = false;
        int r;

        r = apiquery_parse(query, &q, &err);
        if ((r < 0) != (err != NULL))
                abort();
        hoist_error_release(&err);
        for (size_t i = 0; i < q.n; i++) {
                if (q.names[i][0] == '\0')
                        abort();
                for (size_t j = i + 1; j < q.n; j++)
                        if (strcmp(q.names[i], q.names[j]) == 0)
                                abort();
                if (apiquery_get(&q, q.names[i]) != q.values[i])
                        abort();
        }
        if (apiquery_int(&q, "limit", 1, 1000, 50, &v, &err) < 0)
                hoist_error_release(&err);
        else if (v < 1 || v > 1000)
                abort();
        apiquery_release(&q);
        if (apiquery_last_event_id(lei, &v, &err) < 0)
                hoist_error_release(&err);
        else if (v < 0)
                abort();
        if (apiquery_decode(seg, strlen(seg), false, &decoded, &err) < 0) {
                hoist_error_release(&err);
        } else {
                if (strlen(decoded) > strlen(seg))
                        abort();
                free(decoded);
        }
        if (apiquery_resume_body(p, (size_t)(end - p), &force, &err) < 0)
                hoist_error_release(&err);
        if (apiquery_cancel_body(p, (size_t)(end - p), &attempt, &err) < 0)
                hoist_error_release(&err);
        else if (attempt < 0)
                abort();
        free(query);
        free(lei);
        free(seg);
        return 0;
}
