/* SPDX-License-Identifier: MIT */
#include "runner/cli/homeconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "config.h"
#include "fsutil.h"
#include "xalloc.h"

static const char *const fields[] = {"consent", "spending_limits", NULL};
static const char *const limit_fields[] = {"period",   "amount",       "currency", "action",
                                           "provider", "stop_running", NULL};

static int one_of(const struct config_node *n, const char *field, const char *v,
                  const char *const *ok, const char *say, struct hoist_error **err)
{
        for (size_t i = 0; ok[i] != NULL; i++)
                if (strcmp(v, ok[i]) == 0)
                        return 0;
        _cleanup_free_ char *got = config_describe(n);
        return config_error(n, field, err, "expected %s, got %s", say, got);
}

static int limit_from_config(const struct config_node *item, size_t i, struct spending_limit *l,
                             struct hoist_error **err)
{
        static const char *const periods[] = {"day", "week", "month", NULL};
        static const char *const actions[] = {"warn", "block", NULL};
        _cleanup_free_ char *field = xasprintf("spending_limits[%zu]", i);
        _cleanup_free_ char *f = NULL, *amount = NULL;
        const struct config_node *n;
        char *end = NULL;

        l->line = item->line;
        if (config_check_mapping(item, field, err) < 0 ||
            config_check_keys(item, field, limit_fields, err) < 0)
                return -1;
        f = xasprintf("%s.period", field);
        if ((n = config_get(item, "period")) == NULL)
                return config_error(item, field, err, "names no period (day, week or month)");
        if (config_get_string(n, f, &l->period, err) < 0 ||
            one_of(n, f, l->period, periods, "day, week or month", err) < 0)
                return -1;
        free(f);
        f = xasprintf("%s.amount", field);
        if ((n = config_get(item, "amount")) == NULL)
                return config_error(item, field, err, "names no amount (e.g. amount: 50)");
        if (config_get_scalar(n, f, &amount, err) < 0)
                return -1;
        errno = 0;
        l->amount = strtod(amount, &end);
        if (errno != 0 || end == amount || *end != '\0' || !(l->amount >= 0) || l->amount > 1e12) {
                _cleanup_free_ char *got = config_describe(n);
                return config_error(n, f, err,
                                    "expected an amount of money like 50 or 12.5, got %s", got);
        }
        free(f);
        f = xasprintf("%s.action", field);
        if ((n = config_get(item, "action")) == NULL)
                l->action = xstrdup("warn");
        else if (config_get_string(n, f, &l->action, err) < 0 ||
                 one_of(n, f, l->action, actions, "warn or block", err) < 0)
                return -1;
        free(f);
        f = xasprintf("%s.currency", field);
        if ((n = config_get(item, "currency")) == NULL)
                l->currency = xstrdup("USD");
        else if (config_get_string(n, f, &l->currency, err) < 0)
                return -1;
        free(f);
        f = xasprintf("%s.provider", field);
        if ((n = config_get(item, "provider")) != NULL) {
                if (config_get_string(n, f, &l->provider, err) < 0)
                        return -1;
                if (strcmp(l->provider, "any") == 0) {
                        free(l->provider);
                        l->provider = NULL;
                }
        }
        free(f);
        f = xasprintf("%s.stop_running", field);
        if ((n = config_get(item, "stop_running")) != NULL &&
            config_get_bool(n, f, &l->stop_running, err) < 0)
                return -1;
        if (l->stop_running && strcmp(l->action, "block") != 0)
                return config_error(item, f, err,
                                    "stop_running goes with action: block (a warn limit stops "
                                    "nothing)");
        return 0;
}

static int limits_from_config(const struct config_node *n, struct homeconfig *hc,
                              struct hoist_error **err)
{
        if (config_is_null(n))
                return 0;
        if (n->type != CONFIG_SEQUENCE) {
                _cleanup_free_ char *got = config_describe(n);
                return config_error(n, "spending_limits", err,
                                    "expected a list of limits like [{period: day, amount: 50, "
                                    "action: block}], got %s",
                                    got);
        }
        hc->limits = xcalloc(n->n_items ? n->n_items : 1, sizeof *hc->limits);
        for (size_t i = 0; i < n->n_items; i++) {
                hc->n_limits = i + 1;
                if (limit_from_config(n->items[i], i, &hc->limits[i], err) < 0)
                        return -1;
        }
        return 0;
}

static int from_config(const struct config_node *root, struct homeconfig *hc,
                       struct hoist_error **err)
{
        const struct config_node *n;

        if (config_is_null(root))
                return 0;
        if (root->type != CONFIG_MAPPING) {
                _cleanup_free_ char *got = config_describe(root);
                return config_error(root, NULL, err,
                                    "expected a mapping of settings (consent, "
                                    "spending_limits), "
                                    "got %s",
                                    got);
        }
        if (config_check_keys(root, NULL, fields, err) < 0)
                return -1;
        if ((n = config_get(root, "consent")) != NULL) {
                _cleanup_free_ char *s = NULL;
                if (config_get_string(n, "consent", &s, err) < 0)
                        return -1;
                if (strcmp(s, "ask") != 0 && strcmp(s, "allow") != 0 && strcmp(s, "never") != 0) {
                        _cleanup_free_ char *got = config_describe(n);
                        return config_error(n, "consent", err,
                                            "expected ask, allow or never, got %s", got);
                }
                hc->consent = TAKE_PTR(s);
                hc->consent_line = n->line;
        }
        if ((n = config_get(root, "spending_limits")) != NULL && limits_from_config(n, hc, err) < 0)
                return -1;
        return 0;
}

/* True for a file of blank and comment lines only: no settings yet, which
 * lib/config (for job.yaml) would call an empty document. */
static int blank_document(const char *text, size_t len)
{
        int line_start = 1, comment = 0;

        for (size_t i = 0; i < len; i++) {
                char c = text[i];
                if (c == '\n') {
                        line_start = 1;
                        comment = 0;
                } else if (comment || c == ' ' || c == '\t' || c == '\r') {
                        continue;
                } else if (c == '#' && line_start) {
                        comment = 1;
                } else {
                        return 0;
                }
        }
        return 1;
}

int homeconfig_parse(const char *text, size_t len, const char *path, struct homeconfig **ret,
                     struct hoist_error **err)
{
        _cleanup_config_node_ struct config_node *root = NULL;
        struct homeconfig *hc;

        if (!blank_document(text, len) && config_parse(text, len, path, &root, err) < 0)
                return -1;
        hc = xzalloc(sizeof *hc);
        hc->path = xstrdup(path);
        if (root != NULL && from_config(root, hc, err) < 0) {
                homeconfig_free(hc);
                return -1;
        }
        *ret = hc;
        return 0;
}

int homeconfig_load(const struct hoist_home *home, struct homeconfig **ret,
                    struct hoist_error **err)
{
        _cleanup_free_ char *path = path_join(home->dir, "config.yaml");
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ struct hoist_error *why = NULL;
        size_t len = 0;

        if (fs_read_file(path, &text, &len, &why) < 0) {
                if (why->code != ENOENT)
                        return hoist_error_make(err, HOIST_ERR_INPUT, "%s", why->msg);
                struct homeconfig *hc = xzalloc(sizeof *hc);
                hc->path = TAKE_PTR(path);
                *ret = hc;
                return 0;
        }
        return homeconfig_parse(text, len, path, ret, err);
}

void homeconfig_free(struct homeconfig *hc)
{
        if (hc == NULL)
                return;
        free(hc->path);
        free(hc->consent);
        for (size_t i = 0; i < hc->n_limits; i++) {
                free(hc->limits[i].period);
                free(hc->limits[i].currency);
                free(hc->limits[i].action);
                free(hc->limits[i].provider);
        }
        free(hc->limits);
        free(hc);
}
