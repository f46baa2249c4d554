/* SPDX-License-Identifier: MIT */
#include "homeconfig.h"

#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "config.h"
#include "fsutil.h"
#include "xalloc.h"

static const char *const fields[] = {"consent", NULL};

static int from_config(const struct config_node *root, struct homeconfig *hc,
                       struct hoist_error **err)
{
        const struct config_node *n;

        if (config_is_null(root))
                return 0;
        if (root->type != CONFIG_MAPPING) {
                _cleanup_free_ char *got = config_describe(root);
                return config_error(root, NULL, err,
                                    "expected a mapping of settings (consent), "
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
        free(hc);
}
