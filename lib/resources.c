/* SPDX-License-Identifier: MIT */
#include "resources.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "xalloc.h"

static int all_digits(const char *s, size_t n)
{
        if (n == 0)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (!isdigit((unsigned char)s[i]))
                        return 0;
        return 1;
}

/* A whole number written as digits (no sign, no leading zero unless it is
 * "0") up to MAX; -1 otherwise. */
static int64_t parse_count(const char *s, size_t n, int64_t max)
{
        int64_t v = 0;

        if (!all_digits(s, n) || (n > 1 && s[0] == '0'))
                return -1;
        for (size_t i = 0; i < n; i++) {
                v = v * 10 + (s[i] - '0');
                if (v > max)
                        return -1;
        }
        return v;
}

static int type_valid(const char *s, size_t n)
{
        int digit = 0;

        if (n == 0 || n > RESOURCES_GPU_TYPE_MAX || !isalnum((unsigned char)s[0]))
                return 0;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (!isalnum(c) && c != '-' && c != '_' && c != '.')
                        return 0;
                digit |= isdigit(c) != 0;
        }
        return digit;
}

int resources_parse_gpus(const char *s, int64_t *ret_count, char **ret_type,
                         struct hoist_error **err)
{
        const char *colon = strchr(s, ':');
        size_t tlen = colon ? (size_t)(colon - s) : strlen(s);
        int64_t count;

        if (colon == NULL && all_digits(s, strlen(s))) {
                count = parse_count(s, strlen(s), RESOURCES_MAX_GPUS);
                if (count < 0)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "expected a GPU count from 0 to %d (no leading "
                                                "zeros), got '%s'",
                                                RESOURCES_MAX_GPUS, s);
                *ret_count = count;
                *ret_type = NULL;
                return 0;
        }
        if (s[0] == '-' && all_digits(s + 1, strlen(s + 1)))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "a GPU count cannot be negative, got '%s'", s);
        if (*s != '\0' && strspn(s, "0123456789.") == strlen(s))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "a GPU count is a whole number, got '%s'", s);
        if (!type_valid(s, tlen))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "expected a GPU count (2), a model and a count "
                                        "(\"H100:8\", \"A100-80GB:2\") or a model (\"H100\"), "
                                        "got '%s' (a model is up to %d letters, digits, '-', '_' "
                                        "and '.', with a digit)",
                                        s, RESOURCES_GPU_TYPE_MAX);
        count = 1;
        if (colon != NULL) {
                count = parse_count(colon + 1, strlen(colon + 1), RESOURCES_MAX_GPUS);
                if (count < 1)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "expected a GPU count from 1 to %d after '%.*s:', "
                                                "got '%s'",
                                                RESOURCES_MAX_GPUS, (int)tlen, s, colon + 1);
        }
        *ret_count = count;
        *ret_type = xstrndup(s, tlen);
        return 0;
}

int resources_parse_cpus(const char *s, int64_t *ret_milli, struct hoist_error **err)
{
        size_t n = strlen(s), whole = strspn(s, "0123456789");
        int64_t milli = 0;

        if (n > 1 && s[n - 1] == 'm' && whole == n - 1) {
                milli = parse_count(s, whole, RESOURCES_MAX_CPUS_MILLI);
        } else if (whole > 0 && (s[whole] == '\0' || s[whole] == '.')) {
                const char *frac = s[whole] == '.' ? s + whole + 1 : s + whole;
                size_t nf = strlen(frac);
                int64_t w = parse_count(s, whole, RESOURCES_MAX_CPUS_MILLI / 1000);
                if (w < 0 || (s[whole] == '.' && (nf == 0 || nf > 3 || !all_digits(frac, nf))))
                        milli = -1;
                else {
                        milli = w * 1000;
                        for (size_t i = 0, scale = 100; i < nf; i++, scale /= 10)
                                milli += (frac[i] - '0') * (int64_t)scale;
                }
        } else {
                milli = -1;
        }
        if (milli < 0 || milli > RESOURCES_MAX_CPUS_MILLI)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "expected a number of CPUs like 8, 0.5 (at most three "
                                        "decimals) or 500m (thousandths), up to %d, got '%s'",
                                        RESOURCES_MAX_CPUS_MILLI / 1000, s);
        if (milli == 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "expected more than 0 CPUs, got '%s' (leave 'cpus' out "
                                        "to ask for none in particular)",
                                        s);
        *ret_milli = milli;
        return 0;
}

static const struct {
        const char *name;
        unsigned shift;
} size_units[] = {
        {"", 0},     {"b", 0},  {"k", 10},  {"ki", 10},  {"kib", 10}, {"m", 20},  {"mi", 20},
        {"mib", 20}, {"g", 30}, {"gi", 30}, {"gib", 30}, {"t", 40},   {"ti", 40}, {"tib", 40},
};

#define SIZE_UNITS_TEXT "B, K/Ki/KiB, M/Mi/MiB, G/Gi/GiB or T/Ti/TiB, powers of 1024"

int resources_parse_size(const char *s, uint64_t *ret_bytes, struct hoist_error **err)
{
        size_t whole = strspn(s, "0123456789"), nf = 0;
        const char *p = s + whole, *frac = NULL;
        uint64_t w = 0, bytes, f = 0, fscale = 1;
        int shift = -1;

        if (s[0] == '-')
                return hoist_error_make(err, HOIST_ERR_INPUT, "a size cannot be negative, got '%s'",
                                        s);
        if (whole == 0 || whole > 19)
                goto bad;
        for (size_t i = 0; i < whole; i++)
                w = w * 10 + (uint64_t)(s[i] - '0');
        if (*p == '.') {
                frac = ++p;
                nf = strspn(frac, "0123456789");
                if (nf == 0 || nf > 9)
                        goto bad;
                for (size_t i = 0; i < nf; i++) {
                        f = f * 10 + (uint64_t)(frac[i] - '0');
                        fscale *= 10;
                }
                p += nf;
        }
        if (*p == ' ')
                p++;
        for (size_t i = 0; i < sizeof size_units / sizeof size_units[0]; i++)
                if (strcasecmp(p, size_units[i].name) == 0)
                        shift = (int)size_units[i].shift;
        if (shift < 0) {
                if (strlen(p) == 2 && strchr("kmgtKMGT", p[0]) != NULL &&
                    (p[1] == 'B' || p[1] == 'b'))
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "'%s' is ambiguous (%s is 1000^N to some, 1024^N "
                                                "to others): write %.*s%ciB for 1024^N, as "
                                                "hoist and docker read %.*s%c",
                                                s, p, (int)(p - s), s, toupper((unsigned char)p[0]),
                                                (int)(p - s), s, toupper((unsigned char)p[0]));
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "expected a size like 32GiB or 512M, got '%s' (units: "
                                        "" SIZE_UNITS_TEXT ")",
                                        s);
        }
        /* job.json holds sizes as JSON integers: at most INT64_MAX. */
        unsigned __int128 total =
                ((unsigned __int128)w << shift) + ((unsigned __int128)f << shift) / fscale;
        if (total > INT64_MAX)
                return hoist_error_make(err, HOIST_ERR_INPUT, "'%s' is too large", s);
        bytes = (uint64_t)total;
        if (bytes == 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "expected a size above 0, got '%s' (leave the field out "
                                        "to ask for none in particular)",
                                        s);
        *ret_bytes = bytes;
        return 0;
bad:
        return hoist_error_make(
                err, HOIST_ERR_INPUT,
                "expected a size like 32GiB or 512M, got '%s' (units: " SIZE_UNITS_TEXT ")", s);
}

const char *resources_format_cpus(int64_t milli, char *buf, size_t size)
{
        if (milli % 1000 == 0) {
                snprintf(buf, size, "%lld", (long long)(milli / 1000));
                return buf;
        }
        snprintf(buf, size, "%lld.%03lld", (long long)(milli / 1000), (long long)(milli % 1000));
        for (size_t n = strlen(buf); n > 0 && buf[n - 1] == '0'; n--)
                buf[n - 1] = '\0';
        return buf;
}

const char *resources_format_size(uint64_t bytes, char *buf, size_t size)
{
        static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        size_t u = 0;

        while (u + 1 < sizeof units / sizeof units[0] && bytes >> (10 * (u + 1)) > 0)
                u++;
        if (bytes % (1ULL << (10 * u)) == 0)
                snprintf(buf, size, "%llu %s", (unsigned long long)(bytes >> (10 * u)), units[u]);
        else
                snprintf(buf, size, "%.1f %s", (double)bytes / (double)(1ULL << (10 * u)),
                         units[u]);
        return buf;
}

char *resources_describe_gpus(int64_t count, const char *type)
{
        return xasprintf("%lld%s%s %s", (long long)count, type ? " " : "", type ? type : "",
                         count == 1 ? "GPU" : "GPUs");
}

/* The next word of *S (split at blanks, '-' and '_'), or 0 at the end. */
static size_t next_word(const char **s)
{
        const char *p = *s + strspn(*s, " \t-_");
        size_t n = strcspn(p, " \t-_");

        *s = p;
        return n;
}

int resources_gpu_type_matches(const char *type, const char *name)
{
        const char *t = type;
        size_t tn;

        while ((tn = next_word(&t)) > 0) {
                const char *d = name;
                size_t dn;
                int found = 0;
                while (!found && (dn = next_word(&d)) > 0) {
                        found = dn == tn && strncasecmp(d, t, tn) == 0;
                        d += dn;
                }
                if (!found)
                        return 0;
                t += tn;
        }
        return 1;
}

int resources_empty(const struct jobspec_resources *r)
{
        return r->gpus == 0 && r->gpu_type == NULL && r->cpus_milli == 0 && r->memory_bytes == 0 &&
               r->disk_bytes == 0 && !r->spot;
}

void resources_copy(struct jobspec_resources *dst, const struct jobspec_resources *src)
{
        *dst = *src;
        dst->gpu_type = src->gpu_type ? xstrdup(src->gpu_type) : NULL;
}

void resources_clear(struct jobspec_resources *r)
{
        free(r->gpu_type);
        *r = (struct jobspec_resources){0};
}
