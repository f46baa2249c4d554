/* SPDX-License-Identifier: MIT */
#include "replicate_settings.h"

#include <ctype.h>
#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

static const char *const fields[] = {
        "model", "hardware", "destination", "webhook", "webhook_events", NULL,
};
static const char *const events[] = {"start", "output", "logs", "completed", NULL};

struct replicate_settings *replicate_settings_new(void)
{
        return xzalloc(sizeof(struct replicate_settings));
}

void replicate_settings_free(struct replicate_settings *s)
{
        if (s == NULL)
                return;
        free(s->model);
        free(s->hardware);
        free(s->destination);
        free(s->webhook);
        strv_free(s->webhook_events);
        free(s);
}

static int part_valid(const char *p, size_t n)
{
        if (n == 0 || n > 100 || p[0] == '.' || p[0] == '-')
                return 0;
        for (size_t i = 0; i < n; i++)
                if (!islower((unsigned char)p[i]) && !isdigit((unsigned char)p[i]) &&
                    strchr("-_.", p[i]) == NULL)
                        return 0;
        return 1;
}

int replicate_model_valid(const char *name)
{
        const char *slash = name != NULL ? strchr(name, '/') : NULL;

        if (slash == NULL || strchr(slash + 1, '/') != NULL)
                return 0;
        return part_valid(name, (size_t)(slash - name)) && part_valid(slash + 1, strlen(slash + 1));
}

int replicate_hardware_valid(const char *sku)
{
        size_t n = sku != NULL ? strlen(sku) : 0;

        if (n == 0 || n > 64 || !islower((unsigned char)sku[0]) || sku[n - 1] == '-')
                return 0;
        for (size_t i = 0; i < n; i++)
                if (!islower((unsigned char)sku[i]) && !isdigit((unsigned char)sku[i]) &&
                    sku[i] != '-')
                        return 0;
        return 1;
}

int replicate_event_valid(const char *ev)
{
        for (size_t i = 0; events[i] != NULL; i++)
                if (ev != NULL && strcmp(ev, events[i]) == 0)
                        return 1;
        return 0;
}

static int url_valid(const char *u)
{
        return u != NULL && (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0) &&
               strlen(u) <= 2000 && strpbrk(u, " \t\r\n") == NULL;
}

/* One string setting: from NODE (with FILE:line in errors) or from the
 * variable VAR (NODE NULL). */
static int set_checked(const struct config_node *node, const char *field, const char *var,
                       const char *v, int (*ok)(const char *), const char *what, char **slot,
                       struct hoist_error **err)
{
        if (!ok(v)) {
                _cleanup_free_ char *q = config_quote(v);
                if (node != NULL)
                        return config_error(node, field, err, "%s is not %s", q, what);
                return hoist_error_make(err, HOIST_ERR_INPUT, "%s is %s, not %s", var, q, what);
        }
        free(*slot);
        *slot = xstrdup(v);
        return 0;
}

struct field_rule {
        const char *key, *var;
        int (*ok)(const char *);
        const char *what;
        size_t offset;
};

static const struct field_rule rules[] = {
        {"model", "HOIST_REPLICATE_MODEL", replicate_model_valid,
         "a Replicate model such as owner/name (lowercase letters, digits, -, _ and .)",
         offsetof(struct replicate_settings, model)},
        {"hardware", "HOIST_REPLICATE_HARDWARE", replicate_hardware_valid,
         "a Replicate hardware sku such as gpu-l40s (hoist prices --provider replicate lists "
         "them)",
         offsetof(struct replicate_settings, hardware)},
        {"destination", "HOIST_REPLICATE_DESTINATION", replicate_model_valid,
         "a Replicate model such as owner/name-trained",
         offsetof(struct replicate_settings, destination)},
        {"webhook", "HOIST_REPLICATE_WEBHOOK", url_valid,
         "an http(s) URL of hoist serve's POST /api/webhooks/replicate",
         offsetof(struct replicate_settings, webhook)},
};

static char **slot_of(struct replicate_settings *s, const struct field_rule *r)
{
        return (char **)(void *)((char *)s + r->offset);
}

static int load_section(const struct config_node *node, struct replicate_settings *s,
                        struct hoist_error **err)
{
        const struct config_node *n;

        if (config_check_mapping(node, "replicate", err) < 0 ||
            config_check_keys(node, "replicate", fields, err) < 0)
                return -1;
        for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
                _cleanup_free_ char *v = NULL;
                _cleanup_free_ char *field = xasprintf("replicate.%s", rules[i].key);
                if ((n = config_get(node, rules[i].key)) == NULL)
                        continue;
                if (config_get_string(n, field, &v, err) < 0 ||
                    set_checked(n, field, NULL, v, rules[i].ok, rules[i].what,
                                slot_of(s, &rules[i]), err) < 0)
                        return -1;
        }
        if ((n = config_get(node, "webhook_events")) != NULL) {
                char **v = NULL;
                if (n->type != CONFIG_SEQUENCE)
                        return config_error(n, "replicate.webhook_events", err,
                                            "expected a list of start, output, logs, completed");
                if (config_get_strv(n, "replicate.webhook_events", &v, err) < 0)
                        return -1;
                for (size_t i = 0; v[i] != NULL; i++)
                        if (!replicate_event_valid(v[i])) {
                                _cleanup_free_ char *q = config_quote(v[i]);
                                strv_free(v);
                                return config_error(n->items[i], "replicate.webhook_events", err,
                                                    "%s is not a Replicate webhook event (start, "
                                                    "output, logs, completed)",
                                                    q);
                        }
                s->webhook_events = v;
        }
        return 0;
}

static int load_env(struct replicate_settings *s, struct hoist_error **err)
{
        for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
                const char *v = getenv(rules[i].var);
                char **slot = slot_of(s, &rules[i]);
                if (*slot != NULL || v == NULL || *v == '\0')
                        continue;
                if (set_checked(NULL, rules[i].key, rules[i].var, v, rules[i].ok, rules[i].what,
                                slot, err) < 0)
                        return -1;
        }
        return 0;
}

int replicate_settings_load(const struct config_node *node, const char *file,
                            struct replicate_settings **ret, struct hoist_error **err)
{
        _cleanup_replicate_settings_ struct replicate_settings *s = replicate_settings_new();

        (void)file; /* the nodes carry it */
        if ((node != NULL && load_section(node, s, err) < 0) || load_env(s, err) < 0)
                return -1;
        *ret = TAKE_PTR(s);
        return 0;
}

/* ---- replicate.json ---- */

char *replicate_settings_to_json(const struct replicate_settings *s)
{
        json_t *o = json_object();
        char *text;

        for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
                char *v = *slot_of((struct replicate_settings *)s, &rules[i]);
                if (v != NULL)
                        (void)json_object_set_new(o, rules[i].key, json_string(v));
        }
        if (s->webhook_events != NULL) {
                json_t *a = json_array();
                for (char **e = s->webhook_events; *e != NULL; e++)
                        (void)json_array_append_new(a, json_string(*e));
                (void)json_object_set_new(o, "webhook_events", a);
        }
        text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(o);
        if (text == NULL)
                abort(); /* out of memory */
        return text;
}

int replicate_settings_from_json(const char *text, size_t len, const char *name,
                                 struct replicate_settings **ret, struct hoist_error **err)
{
        _cleanup_replicate_settings_ struct replicate_settings *s = replicate_settings_new();
        json_t *o = json_loadb(text, len, 0, NULL), *v, *e;
        int bad = !json_is_object(o);
        size_t i;

        for (size_t k = 0; !bad && k < sizeof rules / sizeof rules[0]; k++) {
                v = json_object_get(o, rules[k].key);
                if (v == NULL)
                        continue;
                if (!json_is_string(v) || !rules[k].ok(json_string_value(v)))
                        bad = 1;
                else
                        *slot_of(s, &rules[k]) = xstrdup(json_string_value(v));
        }
        v = json_object_get(o, "webhook_events");
        if (!bad && v != NULL) {
                if (!json_is_array(v)) {
                        bad = 1;
                } else {
                        s->webhook_events = xcalloc(json_array_size(v) + 1, sizeof(char *));
                        json_array_foreach(v, i, e)
                        {
                                if (!json_is_string(e) ||
                                    !replicate_event_valid(json_string_value(e))) {
                                        bad = 1;
                                        break;
                                }
                                s->webhook_events[i] = xstrdup(json_string_value(e));
                        }
                }
        }
        json_decref(o);
        if (bad)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s': not the Replicate settings hoist wrote (remove it "
                                        "and resubmit the job)",
                                        name);
        *ret = TAKE_PTR(s);
        return 0;
}
