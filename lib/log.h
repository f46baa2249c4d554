/* SPDX-License-Identifier: MIT */
#ifndef HOIST_LOG_H
#define HOIST_LOG_H

/* Leveled logging to stderr.  lib/ logs only at debug level; the programs
 * decide what the user sees.  The level comes from -v/-vv or HOIST_LOG. */

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug"; returns -1 on anything else. */
int log_level_parse(const char *s, enum log_level *ret_level);
/* Reads HOIST_LOG if set and valid. */
void log_init_from_env(void);
/* Prefix every line with "NAME: " (default "hoist"). */
void log_set_program(const char *name);

/* Also hands every error, warning and info line (as written to stderr,
 * "NAME: warning: text", no newline) to FN, whatever the level lets
 * through to stderr; NULL stops it.  Set it while no other thread logs. */
typedef void (*log_sink_fn)(void *userdata, enum log_level level, const char *line);
void log_set_sink(log_sink_fn fn, void *userdata);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
        do {                                                                                       \
                if (log_get_level() >= LOG_LEVEL_DEBUG)                                            \
                        log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__);                                     \
        } while (0)

#endif
