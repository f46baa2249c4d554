/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum log_level current_level = LOG_LEVEL_INFO;
static const char *program = "hoist";
static log_sink_fn sink;
static void *sink_userdata;

void log_set_sink(log_sink_fn fn, void *userdata)
{
        sink = fn;
        sink_userdata = userdata;
}

void log_set_level(enum log_level level)
{
        current_level = level;
}

enum log_level log_get_level(void)
{
        return current_level;
}

void log_set_program(const char *name)
{
        program = name;
}

int log_level_parse(const char *s, enum log_level *ret_level)
{
        static const char *const names[] = {"error", "warn", "info", "debug"};

        if (s == NULL)
                return -1;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
                if (strcmp(s, names[i]) == 0) {
                        *ret_level = (enum log_level)i;
                        return 0;
                }
        }
        return -1;
}

void log_init_from_env(void)
{
        enum log_level level;

        if (log_level_parse(getenv("HOIST_LOG"), &level) == 0)
                current_level = level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
        static const char *const tags[] = {"error: ", "warning: ", "", "debug: "};
        char line[4096];
        va_list ap;
        int n;

        if (level > current_level && (sink == NULL || level > LOG_LEVEL_INFO))
                return;
        n = snprintf(line, sizeof line, "%s: %s", program, tags[level]);
        if (n < 0 || (size_t)n >= sizeof line)
                n = 0;
        va_start(ap, fmt);
        (void)vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        va_end(ap);
        /* One write per line so lines from concurrent processes never interleave. */
        if (level <= current_level)
                (void)fprintf(stderr, "%s\n", line);
        if (sink != NULL && level <= LOG_LEVEL_INFO)
                sink(sink_userdata, level, line);
}
