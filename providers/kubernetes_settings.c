/* SPDX-License-Identifier: MIT */
#include "kubernetes_settings.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

static const char *const fields[] = {
        "namespace",
        "context",
        "node_selector",
        "tolerations",
        "service_account",
        "image_pull_secret",
        "priority_class",
        "labels",
        "annotations",
        "queue",
        NULL,
};
static const char *const toleration_fields[] = {"key",    "operator",           "value",
                                                "effect", "toleration_seconds", NULL};

struct kubernetes_settings *kubernetes_settings_new(void)
{
        return xzalloc(sizeof(struct kubernetes_settings));
}

void kubernetes_settings_free(struct kubernetes_settings *s)
{
        if (s == NULL)
                return;
        free(s->namespace);
        free(s->context);
        free(s->service_account);
        free(s->image_pull_secret);
        free(s->priority_class);
        free(s->queue);
        json_decref(s->node_selector);
        json_decref(s->tolerations);
        json_decref(s->labels);
        json_decref(s->annotations);
        free(s);
}

/* ---- the API server's name rules ---- */

static int label_char(char c)
{
        return islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-';
}

static int dns_label_n(const char *s, size_t n)
{
        if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
                return 0;
        for (size_t i = 0; i < n; i++)
                if (!label_char(s[i]))
                        return 0;
        return 1;
}

int kubernetes_dns_label_valid(const char *s)
{
        return s != NULL && dns_label_n(s, strlen(s));
}

int kubernetes_dns_subdomain_valid(const char *s)
{
        size_t len;

        if (s == NULL || (len = strlen(s)) == 0 || len > 253)
                return 0;
        for (const char *p = s;;) {
                size_t n = strcspn(p, ".");
                if (!dns_label_n(p, n))
                        return 0;
                if (p[n] == '\0')
                        return 1;
                p += n + 1;
        }
}

/* A qualified name's name part: 63 at most, alphanumerics at both ends,
 * [-_.A-Za-z0-9] between. */
static int qualified_name_n(const char *s, size_t n)
{
        if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
                return 0;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)s[i]) && strchr("-_.", s[i]) == NULL)
                        return 0;
        return 1;
}

int kubernetes_label_key_valid(const char *s)
{
        const char *slash;

        if (s == NULL)
                return 0;
        slash = strchr(s, '/');
        if (slash == NULL)
                return qualified_name_n(s, strlen(s));
        _cleanup_free_ char *prefix = xstrndup(s, (size_t)(slash - s));
        return kubernetes_dns_subdomain_valid(prefix) &&
               qualified_name_n(slash + 1, strlen(slash + 1));
}

int kubernetes_label_value_valid(const char *s)
{
        return s != NULL && (*s == '\0' || qualified_name_n(s, strlen(s)));
}

/* ---- job.yaml ---- */

static int get_name(const struct config_node *node, const char *key, const char *field,
                    int (*ok)(const char *), const char *what, char **ret, struct hoist_error **err)
{
        const struct config_node *n = config_get(node, key);
        _cleanup_free_ char *v = NULL;

        if (n == NULL)
                return 0;
        if (config_get_string(n, field, &v, err) < 0)
                return -1;
        if (!ok(v)) {
                _cleanup_free_ char *q = config_quote(v);
                return config_error(n, field, err, "%s is not %s", q, what);
        }
        free(*ret);
        *ret = TAKE_PTR(v);
        return 0;
}

/* A mapping of strings to strings; LABELS: values checked as label values
 * (annotations take any text). */
static int get_string_map(const struct config_node *node, const char *key, const char *field,
                          int labels, json_t **ret, struct hoist_error **err)
{
        const struct config_node *n = config_get(node, key);
        json_t *o;

        if (n == NULL)
                return 0;
        if (config_check_mapping(n, field, err) < 0)
                return -1;
        o = json_object();
        for (size_t i = 0; i < n->n_pairs; i++) {
                const struct config_pair *p = &n->pairs[i];
                _cleanup_free_ char *f = xasprintf("%s.%s", field, p->key);
                _cleanup_free_ char *v = NULL;
                if (!kubernetes_label_key_valid(p->key)) {
                        _cleanup_free_ char *q = config_quote(p->key);
                        json_decref(o);
                        return config_error_at(n->file, p->key_line, field, err,
                                               "%s is not a Kubernetes key ([prefix/]name: a "
                                               "DNS subdomain, then 1-63 of [-_.A-Za-z0-9] "
                                               "starting and ending alphanumeric)",
                                               q);
                }
                if (config_get_scalar(p->value, f, &v, err) < 0) {
                        json_decref(o);
                        return -1;
                }
                if (labels && !kubernetes_label_value_valid(v)) {
                        _cleanup_free_ char *q = config_quote(v);
                        json_decref(o);
                        return config_error(p->value, f, err,
                                            "%s is not a label value (at most 63 of "
                                            "[-_.A-Za-z0-9], starting and ending alphanumeric)",
                                            q);
                }
                if (strncmp(p->key, "hoist.dev/", 10) == 0 ||
                    (labels && strcmp(p->key, "kueue.x-k8s.io/queue-name") == 0)) {
                        json_decref(o);
                        return config_error_at(n->file, p->key_line, field, err,
                                               "'%s' is hoist's to set (use kubernetes.queue "
                                               "for Kueue's queue)",
                                               p->key);
                }
                json_t *s = json_string(v);
                if (s == NULL) {
                        json_decref(o);
                        return config_error(p->value, f, err, "not UTF-8 text");
                }
                (void)json_object_set_new(o, p->key, s);
        }
        json_decref(*ret);
        *ret = o;
        return 0;
}

static int load_toleration(const struct config_node *t, const char *field, json_t **ret,
                           struct hoist_error **err)
{
        const struct config_node *n;
        _cleanup_free_ char *key = NULL, *op = NULL, *value = NULL, *effect = NULL;
        _cleanup_free_ char *fk = xasprintf("%s.key", field), *fo = xasprintf("%s.operator", field);
        _cleanup_free_ char *fv = xasprintf("%s.value", field), *fe = xasprintf("%s.effect", field);
        _cleanup_free_ char *fs = xasprintf("%s.toleration_seconds", field);
        int64_t secs = -1;
        json_t *o;

        if (config_check_mapping(t, field, err) < 0 ||
            config_check_keys(t, field, toleration_fields, err) < 0)
                return -1;
        if ((n = config_get(t, "key")) != NULL && (config_get_string(n, fk, &key, err) < 0))
                return -1;
        if (key != NULL && !kubernetes_label_key_valid(key))
                return config_error(config_get(t, "key"), fk, err,
                                    "'%s' is not a taint key ([prefix/]name)", key);
        if ((n = config_get(t, "operator")) != NULL) {
                if (config_get_string(n, fo, &op, err) < 0)
                        return -1;
                if (strcmp(op, "Exists") != 0 && strcmp(op, "Equal") != 0)
                        return config_error(n, fo, err, "'%s': use Equal or Exists", op);
        }
        if ((n = config_get(t, "value")) != NULL && config_get_scalar(n, fv, &value, err) < 0)
                return -1;
        if (op != NULL && strcmp(op, "Exists") == 0 && value != NULL)
                return config_error(config_get(t, "value"), fv, err,
                                    "operator Exists takes no value");
        if (key == NULL && (op == NULL || strcmp(op, "Exists") != 0))
                return config_error(t, field, err,
                                    "a toleration without a key needs operator: Exists");
        if ((n = config_get(t, "effect")) != NULL) {
                if (config_get_string(n, fe, &effect, err) < 0)
                        return -1;
                if (strcmp(effect, "NoSchedule") != 0 && strcmp(effect, "PreferNoSchedule") != 0 &&
                    strcmp(effect, "NoExecute") != 0)
                        return config_error(n, fe, err,
                                            "'%s': use NoSchedule, PreferNoSchedule or NoExecute",
                                            effect);
        }
        if ((n = config_get(t, "toleration_seconds")) != NULL) {
                if (config_get_duration(n, fs, &secs, err) < 0)
                        return -1;
                if (effect == NULL || strcmp(effect, "NoExecute") != 0)
                        return config_error(n, fs, err, "goes with effect: NoExecute only");
        }
        o = json_object();
        if (key != NULL)
                (void)json_object_set_new(o, "key", json_string(key));
        if (op != NULL)
                (void)json_object_set_new(o, "operator", json_string(op));
        if (value != NULL) {
                json_t *v = json_string(value);
                if (v == NULL) {
                        json_decref(o);
                        return config_error(t, fv, err, "not UTF-8 text");
                }
                (void)json_object_set_new(o, "value", v);
        }
        if (effect != NULL)
                (void)json_object_set_new(o, "effect", json_string(effect));
        if (secs >= 0)
                (void)json_object_set_new(o, "tolerationSeconds", json_integer(secs));
        *ret = o;
        return 0;
}

static int get_tolerations(const struct config_node *node, json_t **ret, struct hoist_error **err)
{
        const struct config_node *n = config_get(node, "tolerations");
        json_t *a;

        if (n == NULL)
                return 0;
        if (n->type != CONFIG_SEQUENCE)
                return config_error(n, "kubernetes.tolerations", err,
                                    "expected a list of tolerations ({key, operator, value, "
                                    "effect})");
        a = json_array();
        for (size_t i = 0; i < n->n_items; i++) {
                _cleanup_free_ char *f = xasprintf("kubernetes.tolerations[%zu]", i);
                json_t *t = NULL;
                if (load_toleration(n->items[i], f, &t, err) < 0) {
                        json_decref(a);
                        return -1;
                }
                (void)json_array_append_new(a, t);
        }
        json_decref(*ret);
        *ret = a;
        return 0;
}

static int load_section(const struct config_node *node, struct kubernetes_settings *s,
                        struct hoist_error **err)
{
        if (config_check_mapping(node, "kubernetes", err) < 0 ||
            config_check_keys(node, "kubernetes", fields, err) < 0)
                return -1;
        if (get_name(node, "namespace", "kubernetes.namespace", kubernetes_dns_label_valid,
                     "a namespace name (1-63 of [a-z0-9-], alphanumeric at both ends)",
                     &s->namespace, err) < 0 ||
            get_name(node, "service_account", "kubernetes.service_account",
                     kubernetes_dns_subdomain_valid, "a service account name (a DNS subdomain)",
                     &s->service_account, err) < 0 ||
            get_name(node, "image_pull_secret", "kubernetes.image_pull_secret",
                     kubernetes_dns_subdomain_valid, "a Secret name (a DNS subdomain)",
                     &s->image_pull_secret, err) < 0 ||
            get_name(node, "priority_class", "kubernetes.priority_class",
                     kubernetes_dns_subdomain_valid, "a PriorityClass name (a DNS subdomain)",
                     &s->priority_class, err) < 0 ||
            get_name(node, "queue", "kubernetes.queue", kubernetes_label_value_valid,
                     "a Kueue LocalQueue name (a label value)", &s->queue, err) < 0)
                return -1;
        if (config_get(node, "context") != NULL &&
            config_get_string(config_get(node, "context"), "kubernetes.context", &s->context, err) <
                    0)
                return -1;
        if (get_string_map(node, "node_selector", "kubernetes.node_selector", 1, &s->node_selector,
                           err) < 0 ||
            get_string_map(node, "labels", "kubernetes.labels", 1, &s->labels, err) < 0 ||
            get_string_map(node, "annotations", "kubernetes.annotations", 0, &s->annotations, err) <
                    0 ||
            get_tolerations(node, &s->tolerations, err) < 0)
                return -1;
        return 0;
}

int kubernetes_settings_load(const struct config_node *node, const char *file,
                             struct kubernetes_settings **ret, struct hoist_error **err)
{
        _cleanup_kubernetes_settings_ struct kubernetes_settings *s = kubernetes_settings_new();

        (void)file; /* the nodes carry it */
        if (node != NULL && load_section(node, s, err) < 0)
                return -1;
        *ret = TAKE_PTR(s);
        return 0;
}

/* ---- kubernetes.json ---- */

static void set_str(json_t *o, const char *key, const char *v)
{
        if (v != NULL)
                (void)json_object_set_new(o, key, json_string(v));
}

static void set_json(json_t *o, const char *key, json_t *v)
{
        if (v != NULL)
                (void)json_object_set(o, key, v);
}

char *kubernetes_settings_to_json(const struct kubernetes_settings *s)
{
        json_t *o = json_object();
        char *text;

        set_str(o, "namespace", s->namespace);
        set_str(o, "context", s->context);
        set_str(o, "service_account", s->service_account);
        set_str(o, "image_pull_secret", s->image_pull_secret);
        set_str(o, "priority_class", s->priority_class);
        set_str(o, "queue", s->queue);
        set_json(o, "node_selector", s->node_selector);
        set_json(o, "tolerations", s->tolerations);
        set_json(o, "labels", s->labels);
        set_json(o, "annotations", s->annotations);
        text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(o);
        if (text == NULL)
                abort(); /* out of memory */
        return text;
}

static char *get_str(json_t *o, const char *key)
{
        const char *v = json_string_value(json_object_get(o, key));

        return v != NULL ? xstrdup(v) : NULL;
}

static json_t *get_json(json_t *o, const char *key, int array)
{
        json_t *v = json_object_get(o, key);

        if (v == NULL || (array ? !json_is_array(v) : !json_is_object(v)))
                return NULL;
        return json_incref(v);
}

int kubernetes_settings_from_json(const char *text, size_t len, const char *name,
                                  struct kubernetes_settings **ret, struct hoist_error **err)
{
        json_error_t je;
        json_t *o = json_loadb(text, len, 0, &je);
        struct kubernetes_settings *s;

        if (o == NULL || !json_is_object(o)) {
                json_decref(o);
                return hoist_error_make(err, HOIST_ERR_INPUT, "'%s': line %d: %s", name, je.line,
                                        o == NULL ? je.text : "not a JSON object");
        }
        s = kubernetes_settings_new();
        s->namespace = get_str(o, "namespace");
        s->context = get_str(o, "context");
        s->service_account = get_str(o, "service_account");
        s->image_pull_secret = get_str(o, "image_pull_secret");
        s->priority_class = get_str(o, "priority_class");
        s->queue = get_str(o, "queue");
        s->node_selector = get_json(o, "node_selector", 0);
        s->tolerations = get_json(o, "tolerations", 1);
        s->labels = get_json(o, "labels", 0);
        s->annotations = get_json(o, "annotations", 0);
        json_decref(o);
        *ret = s;
        return 0;
}
