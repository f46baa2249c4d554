/* SPDX-License-Identifier: MIT */
#include "runner/cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "xalloc.h"

int cli_exit_code(const struct hoist_error *e)
{
        if (e == NULL)
                return EXIT_ERROR;
        switch (e->code) {
        case HOIST_ERR_USAGE:
                return EXIT_USAGE;
        case HOIST_ERR_INPUT:
                return EXIT_INPUT;
        case HOIST_ERR_NOT_FOUND:
        case ENOENT:
                return EXIT_NOT_FOUND;
        case HOIST_ERR_PROVIDER:
                return EXIT_PROVIDER;
        case HOIST_ERR_LIMIT:
                return EXIT_SPENDING_LIMIT;
        default:
                return EXIT_ERROR;
        }
}

int cli_usage_error(struct hoist_error **err, const char *verb, const char *fmt, ...)
{
        va_list ap;
        _cleanup_free_ char *msg = NULL;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        return hoist_error_make(err, HOIST_ERR_USAGE, "%s: %s (see 'hoist %s --help')", verb, msg,
                                verb);
}

int cli_parse_output(const char *verb, const char *value, struct hoist_error **err)
{
        if (strcmp(value, "json") == 0)
                return 1;
        if (strcmp(value, "table") == 0 || strcmp(value, "text") == 0)
                return 0;
        return cli_usage_error(err, verb, "unknown output format '%s' (use 'json' or 'table')",
                               value);
}

const char *cli_format_time(int64_t ms, char *buf, size_t size)
{
        time_t t = (time_t)(ms / 1000);
        struct tm tm;

        if (ms <= 0 || localtime_r(&t, &tm) == NULL) {
                snprintf(buf, size, "-");
                return buf;
        }
        strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
        return buf;
}

const char *cli_format_bytes(uint64_t n, char *buf, size_t size)
{
        static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = (double)n;
        size_t u = 0;

        while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
                v /= 1024;
                u++;
        }
        if (u == 0)
                snprintf(buf, size, "%llu B", (unsigned long long)n);
        else
                snprintf(buf, size, "%.1f %s", v, units[u]);
        return buf;
}

const char *cli_format_duration(int64_t ms, char *buf, size_t size)
{
        int64_t s = ms / 1000;

        if (ms < 0)
                snprintf(buf, size, "-");
        else if (s < 60)
                snprintf(buf, size, "%lld.%01llds", (long long)s, (long long)(ms % 1000) / 100);
        else if (s < 3600)
                snprintf(buf, size, "%lldm%02llds", (long long)s / 60, (long long)s % 60);
        else
                snprintf(buf, size, "%lldh%02lldm", (long long)s / 3600,
                         (long long)(s % 3600) / 60);
        return buf;
}

int64_t cli_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
