/* SPDX-License-Identifier: MIT */
#include "runner/serve/apiquery.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int apiquery_decode(const char *s, size_t len, bool plus_space, char **ret,
                    struct hoist_error **err)
{
        _cleanup_free_ char *out = xmalloc(len + 1);
        size_t o = 0;

        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (c == '%') {
                        int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
                        int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
                        if (hi < 0 || lo < 0)
                                return hoist_error_make(err, HOIST_ERR_USAGE,
                                                        "a '%%' in the query or path is not "
                                                        "followed by two hex digits");
                        c = (char)(hi * 16 + lo);
                        i += 2;
                } else if (c == '+' && plus_space) {
                        c = ' ';
                }
                if (c == '\0')
                        return hoist_error_make(err, HOIST_ERR_USAGE,
                                                "the query or path holds a NUL byte (%%00)");
                out[o++] = c;
        }
        out[o] = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

int apiquery_add_raw(struct apiquery *q, const char *name, const char *value,
                     struct hoist_error **err)
{
        _cleanup_free_ char *n = NULL, *v = NULL;

        if (name == NULL)
                name = "";
        if (value == NULL)
                value = "";
        if (q->n >= APIQUERY_MAX_PARAMS)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "the query has more than %d parameters",
                                        APIQUERY_MAX_PARAMS);
        if (strlen(name) > 64 || strlen(value) > APIQUERY_MAX_VALUE)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "a query parameter is longer than %d bytes",
                                        APIQUERY_MAX_VALUE);
        if (apiquery_decode(name, strlen(name), true, &n, err) < 0 ||
            apiquery_decode(value, strlen(value), true, &v, err) < 0)
                return -1;
        if (n[0] == '\0')
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "the query has a parameter without a name");
        for (size_t i = 0; i < q->n; i++)
                if (strcmp(q->names[i], n) == 0)
                        return hoist_error_make(err, HOIST_ERR_USAGE,
                                                "query parameter '%s' is given twice; give it "
                                                "once",
                                                n);
        q->names[q->n] = TAKE_PTR(n);
        q->values[q->n] = TAKE_PTR(v);
        q->n++;
        return 0;
}

int apiquery_parse(const char *query, struct apiquery *q, struct hoist_error **err)
{
        const char *p = query;

        while (p != NULL && *p != '\0') {
                const char *amp = strchrnul(p, '&');
                const char *eq = memchr(p, '=', (size_t)(amp - p));
                _cleanup_free_ char *name = NULL, *value = NULL;

                if (amp == p) { /* "a=1&&b=2": an empty piece says nothing */
                        p = amp + 1;
                        continue;
                }
                name = xstrndup(p, (size_t)((eq != NULL ? eq : amp) - p));
                if (eq != NULL)
                        value = xstrndup(eq + 1, (size_t)(amp - eq - 1));
                if (apiquery_add_raw(q, name, value, err) < 0)
                        return -1;
                p = *amp == '&' ? amp + 1 : amp;
        }
        return 0;
}

void apiquery_release(struct apiquery *q)
{
        for (size_t i = 0; i < q->n; i++) {
                free(q->names[i]);
                free(q->values[i]);
        }
        q->n = 0;
}

int apiquery_only(const struct apiquery *q, const char *const *names, struct hoist_error **err)
{
        for (size_t i = 0; i < q->n; i++) {
                size_t k = 0;
                while (names[k] != NULL && strcmp(names[k], q->names[i]) != 0)
                        k++;
                if (names[k] == NULL)
                        return hoist_error_make(err, HOIST_ERR_USAGE,
                                                "unknown query parameter '%.64s' (this route "
                                                "takes: see /api/v1/openapi.json)",
                                                q->names[i]);
        }
        return 0;
}

const char *apiquery_get(const struct apiquery *q, const char *name)
{
        for (size_t i = 0; i < q->n; i++)
                if (strcmp(q->names[i], name) == 0)
                        return q->values[i];
        return NULL;
}

static int parse_int(const char *s, int64_t *ret)
{
        char *end = NULL;
        long long v;

        if (s[0] == '\0' || !((s[0] >= '0' && s[0] <= '9') || s[0] == '-'))
                return -1;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (*end != '\0' || errno != 0)
                return -1;
        *ret = v;
        return 0;
}

int apiquery_int(const struct apiquery *q, const char *name, int64_t min, int64_t max, int64_t def,
                 int64_t *ret, struct hoist_error **err)
{
        const char *s = apiquery_get(q, name);
        int64_t v;

        if (s == NULL) {
                *ret = def;
                return 0;
        }
        if (parse_int(s, &v) < 0 || v < min || v > max)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "query parameter '%s' needs a whole number from %lld to "
                                        "%lld, not '%.40s'",
                                        name, (long long)min, (long long)max, s);
        *ret = v;
        return 0;
}

int apiquery_last_event_id(const char *header, int64_t *ret, struct hoist_error **err)
{
        int64_t v;

        if (header == NULL || parse_int(header, &v) < 0 || v < 0)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "Last-Event-ID '%.40s' is not an id this stream sent "
                                        "(a whole number); reconnect without it to start over",
                                        header != NULL ? header : "");
        *ret = v;
        return 0;
}

/* A POST body that is empty (*RET NULL) or one JSON object (*RET). */
static int body_object(const char *body, size_t len, const char *example, json_t **ret,
                       struct hoist_error **err)
{
        json_error_t je;
        json_t *j;
        size_t i = 0;

        *ret = NULL;
        while (i < len && strchr(" \t\r\n", body[i]) != NULL)
                i++;
        if (i == len)
                return 0;
        j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
        if (j == NULL)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "the request body is not JSON (line %d, column %d: %s)",
                                        je.line, je.column, je.text);
        if (!json_is_object(j)) {
                json_decref(j);
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "the request body must be a JSON object such as %s",
                                        example);
        }
        *ret = j;
        return 0;
}

int apiquery_resume_body(const char *body, size_t len, bool *ret_force, struct hoist_error **err)
{
        json_auto_t *j = NULL;
        const char *key;
        json_t *v;
        bool force = false;

        if (body_object(body, len, "{\"force\": true}", &j, err) < 0)
                return -1;
        json_object_foreach(j, key, v)
        {
                if (strcmp(key, "force") != 0)
                        return hoist_error_make(err, HOIST_ERR_USAGE,
                                                "the request body has an unknown field '%.64s' "
                                                "(resume takes only \"force\")",
                                                key);
                if (!json_is_boolean(v))
                        return hoist_error_make(err, HOIST_ERR_USAGE,
                                                "\"force\" must be true or false");
                force = json_is_true(v);
        }
        *ret_force = force;
        return 0;
}

int apiquery_cancel_body(const char *body, size_t len, int64_t *ret_attempt,
                         struct hoist_error **err)
{
        json_auto_t *j = NULL;
        const char *key;
        json_t *v;
        int64_t attempt = 0;

        *ret_attempt = 0;
        if (body_object(body, len, "{\"attempt\": 2}", &j, err) < 0)
                return -1;
        json_object_foreach(j, key, v)
        {
                if (strcmp(key, "attempt") != 0)
                        return hoist_error_make(err, HOIST_ERR_USAGE,
                                                "the request body has an unknown field '%.64s' "
                                                "(cancel takes only \"attempt\")",
                                                key);
                if (!json_is_integer(v) || json_integer_value(v) < 1)
                        return hoist_error_make(err, HOIST_ERR_USAGE,
                                                "\"attempt\" must be an attempt number (1, 2, "
                                                "...)");
                attempt = (int64_t)json_integer_value(v);
        }
        *ret_attempt = attempt;
        return 0;
}
