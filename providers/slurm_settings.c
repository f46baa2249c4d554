/* SPDX-License-Identifier: MIT */
#include "slurm_settings.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

static const char *const slurm_fields[] = {
        "partition",      "account",           "qos",  "constraint",
        "time",           "extra_args",        "host", "gres_type",
        "nodes_per_host", "container_runtime", NULL,
};

static const char *const runtimes[] = {"auto", "podman", "enroot", "apptainer", NULL};

struct slurm_settings *slurm_settings_new(void)
{
        struct slurm_settings *s = xzalloc(sizeof *s);

        s->extra_args = xcalloc(1, sizeof *s->extra_args);
        s->nodes_per_host = 1;
        s->container_runtime = xstrdup("auto");
        return s;
}

void slurm_settings_free(struct slurm_settings *s)
{
        if (s == NULL)
                return;
        free(s->partition);
        free(s->account);
        free(s->qos);
        free(s->constraint);
        strv_free(s->extra_args);
        free(s->host);
        free(s->gres_type);
        free(s->container_runtime);
        free(s);
}

/* Text that goes on sbatch's command line as one argument: no control
 * characters (a newline would end a line of the rendered script) and not
 * an option of its own. */
static int arg_text_ok(const char *s)
{
        if (*s == '\0' || *s == '-')
                return 0;
        for (const char *p = s; *p != '\0'; p++)
                if (iscntrl((unsigned char)*p))
                        return 0;
        return 1;
}

/* A Slurm name: partition, account, QOS, GRES type.  Letters, digits and
 * "._-+" (a constraint may also use Slurm's operators). */
static int name_ok(const char *s, const char *extra)
{
        if (!arg_text_ok(s))
                return 0;
        for (const char *p = s; *p != '\0'; p++)
                if (!isalnum((unsigned char)*p) && strchr("._-+", *p) == NULL &&
                    (extra == NULL || strchr(extra, *p) == NULL))
                        return 0;
        return 1;
}

int slurm_host_valid(const char *host)
{
        const char *at, *h, *colon;
        size_t hlen;

        if (host == NULL || *host == '\0' || *host == '-' || strlen(host) > 255)
                return 0;
        at = strchr(host, '@');
        h = at != NULL ? at + 1 : host;
        for (const char *p = host; p < (at ? at : host); p++)
                if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL)
                        return 0;
        if (at != NULL && (at == host || strchr(h, '@') != NULL))
                return 0;
        colon = strrchr(h, ':');
        hlen = colon != NULL ? (size_t)(colon - h) : strlen(h);
        if (hlen == 0 || *h == '-')
                return 0;
        for (size_t i = 0; i < hlen; i++)
                if (!isalnum((unsigned char)h[i]) && strchr(".-_", h[i]) == NULL)
                        return 0;
        if (colon != NULL) {
                char *end;
                long port = strtol(colon + 1, &end, 10);
                if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535 ||
                    !isdigit((unsigned char)colon[1]))
                        return 0;
        }
        return 1;
}

int slurm_settings_local_node(const struct slurm_settings *s)
{
        const char *h;
        size_t len;

        if (s == NULL || s->host == NULL || *s->host == '\0')
                return 1;
        h = strchr(s->host, '@');
        h = h != NULL ? h + 1 : s->host;
        len = strcspn(h, ":");
        return (len == 9 && strncmp(h, "localhost", 9) == 0) || strncmp(h, "127.", 4) == 0;
}

static int load_name(const struct config_node *map, const char *key, const char *extra,
                     const char *what, char **ret, struct hoist_error **err)
{
        const struct config_node *n = config_get(map, key);
        _cleanup_free_ char *field = xasprintf("slurm.%s", key);
        _cleanup_free_ char *v = NULL;

        if (n == NULL)
                return 0;
        if (config_get_string(n, field, &v, err) < 0)
                return -1;
        if (!name_ok(v, extra)) {
                _cleanup_free_ char *q = config_quote(v);
                return config_error(n, field, err, "%s is not %s", q, what);
        }
        free(*ret);
        *ret = TAKE_PTR(v);
        return 0;
}

static int load_extra_args(const struct config_node *map, struct slurm_settings *s,
                           struct hoist_error **err)
{
        const struct config_node *n = config_get(map, "extra_args");
        char **v = NULL;

        if (n == NULL)
                return 0;
        if (n->type != CONFIG_SEQUENCE)
                return config_error(n, "slurm.extra_args", err,
                                    "expected a list of sbatch options, e.g. [\"--exclusive\", "
                                    "\"--mail-type=END\"]");
        if (config_get_strv(n, "slurm.extra_args", &v, err) < 0)
                return -1;
        for (size_t i = 0; v[i] != NULL; i++) {
                for (const char *p = v[i]; *p != '\0'; p++) {
                        if (!iscntrl((unsigned char)*p))
                                continue;
                        strv_free(v);
                        return config_error(n->items[i], "slurm.extra_args", err,
                                            "item %zu holds a control character", i + 1);
                }
                if (v[i][0] == '\0') {
                        strv_free(v);
                        return config_error(n->items[i], "slurm.extra_args", err,
                                            "item %zu is empty", i + 1);
                }
        }
        strv_free(s->extra_args);
        s->extra_args = v;
        return 0;
}

static int load_host(const struct config_node *map, struct slurm_settings *s,
                     struct hoist_error **err)
{
        const struct config_node *n = config_get(map, "host");
        _cleanup_free_ char *v = NULL;

        if (n == NULL || config_is_null(n))
                return 0;
        if (config_get_scalar(n, "slurm.host", &v, err) < 0)
                return -1;
        if (*v == '\0')
                return 0; /* "" = sbatch here */
        if (!slurm_host_valid(v)) {
                _cleanup_free_ char *q = config_quote(v);
                return config_error(n, "slurm.host", err,
                                    "%s is not [user@]host[:port] (e.g. login.cluster.org, "
                                    "me@10.0.0.5:2222; leave it out to run sbatch here)",
                                    q);
        }
        s->host = TAKE_PTR(v);
        return 0;
}

static int load_runtime(const struct config_node *map, struct slurm_settings *s,
                        struct hoist_error **err)
{
        const struct config_node *n = config_get(map, "container_runtime");
        _cleanup_free_ char *v = NULL;

        if (n == NULL)
                return 0;
        if (config_get_string(n, "slurm.container_runtime", &v, err) < 0)
                return -1;
        for (size_t i = 0; runtimes[i] != NULL; i++) {
                if (strcmp(v, runtimes[i]) == 0) {
                        free(s->container_runtime);
                        s->container_runtime = TAKE_PTR(v);
                        return 0;
                }
        }
        _cleanup_free_ char *q = config_quote(v);
        return config_error(n, "slurm.container_runtime", err,
                            "%s is not one of auto, podman, enroot, apptainer", q);
}

int slurm_settings_load(const struct config_node *node, const char *file,
                        struct slurm_settings **ret, struct hoist_error **err)
{
        struct slurm_settings *s = slurm_settings_new();
        const struct config_node *n;

        (void)file; /* the nodes carry it */
        if (node == NULL) {
                *ret = s;
                return 0;
        }
        if (config_check_mapping(node, "slurm", err) < 0 ||
            config_check_keys(node, "slurm", slurm_fields, err) < 0 ||
            load_name(node, "partition", NULL, "a partition name", &s->partition, err) < 0 ||
            load_name(node, "account", NULL, "an account name", &s->account, err) < 0 ||
            load_name(node, "qos", NULL, "a QOS name", &s->qos, err) < 0 ||
            load_name(node, "constraint", "&|[]*:,()", "a node constraint (features with & | [ ])",
                      &s->constraint, err) < 0 ||
            load_name(node, "gres_type", NULL, "a GPU type as the cluster's gres.conf names it",
                      &s->gres_type, err) < 0 ||
            load_extra_args(node, s, err) < 0 || load_host(node, s, err) < 0 ||
            load_runtime(node, s, err) < 0)
                goto fail;
        if ((n = config_get(node, "time")) != NULL) {
                if (config_get_duration(n, "slurm.time", &s->time_s, err) < 0)
                        goto fail;
                if (s->time_s < 60) {
                        config_error(n, "slurm.time", err,
                                     "Slurm counts time limits in minutes: give at least 1m");
                        goto fail;
                }
        }
        if ((n = config_get(node, "nodes_per_host")) != NULL &&
            config_get_int(n, "slurm.nodes_per_host", 1, 4096, &s->nodes_per_host, err) < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        slurm_settings_free(s);
        return -1;
}

static void set_str(json_t *o, const char *key, const char *v)
{
        if (v != NULL)
                (void)json_object_set_new(o, key, json_string(v));
}

char *slurm_settings_to_json(const struct slurm_settings *s)
{
        json_t *o = json_object(), *args = json_array();
        char *text;

        set_str(o, "partition", s->partition);
        set_str(o, "account", s->account);
        set_str(o, "qos", s->qos);
        set_str(o, "constraint", s->constraint);
        (void)json_object_set_new(o, "time_s", json_integer(s->time_s));
        for (char **a = s->extra_args; a != NULL && *a != NULL; a++)
                (void)json_array_append_new(args, json_string(*a));
        (void)json_object_set_new(o, "extra_args", args);
        set_str(o, "host", s->host);
        set_str(o, "gres_type", s->gres_type);
        (void)json_object_set_new(o, "nodes_per_host", json_integer(s->nodes_per_host));
        set_str(o, "container_runtime", s->container_runtime);
        text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(o);
        if (text == NULL)
                abort(); /* out of memory */
        return text;
}

static int get_str(json_t *o, const char *key, char **ret)
{
        json_t *v = json_object_get(o, key);

        if (v == NULL || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return -1;
        free(*ret);
        *ret = xstrdup(json_string_value(v));
        return 0;
}

int slurm_settings_from_json(const char *text, size_t len, const char *name,
                             struct slurm_settings **ret, struct hoist_error **err)
{
        _cleanup_slurm_settings_ struct slurm_settings *s = slurm_settings_new();
        json_error_t jerr;
        json_t *o = json_loadb(text, len, 0, &jerr), *v;
        int bad = 0;

        if (!json_is_object(o)) {
                json_decref(o);
                return hoist_error_make(err, HOIST_ERR_INPUT, "'%s': not a JSON object (line %d)",
                                        name, jerr.line);
        }
        bad |= get_str(o, "partition", &s->partition) | get_str(o, "account", &s->account) |
               get_str(o, "qos", &s->qos) | get_str(o, "constraint", &s->constraint) |
               get_str(o, "host", &s->host) | get_str(o, "gres_type", &s->gres_type) |
               get_str(o, "container_runtime", &s->container_runtime);
        if ((v = json_object_get(o, "time_s")) != NULL)
                bad |= json_is_integer(v) && json_integer_value(v) >= 0
                               ? (s->time_s = json_integer_value(v), 0)
                               : -1;
        if ((v = json_object_get(o, "nodes_per_host")) != NULL)
                bad |= json_is_integer(v) && json_integer_value(v) >= 1 &&
                                       json_integer_value(v) <= 4096
                               ? (s->nodes_per_host = json_integer_value(v), 0)
                               : -1;
        if ((v = json_object_get(o, "extra_args")) != NULL) {
                size_t i;
                json_t *a;
                if (!json_is_array(v)) {
                        bad = -1;
                } else {
                        strv_free(s->extra_args);
                        s->extra_args = xcalloc(json_array_size(v) + 1, sizeof *s->extra_args);
                        json_array_foreach(v, i, a)
                        {
                                if (!json_is_string(a)) {
                                        bad = -1;
                                        break;
                                }
                                s->extra_args[i] = xstrdup(json_string_value(a));
                        }
                }
        }
        json_decref(o);
        if (bad || (s->host != NULL && !slurm_host_valid(s->host)))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s': not the Slurm settings hoist wrote (remove it and "
                                        "resubmit the job)",
                                        name);
        *ret = TAKE_PTR(s);
        return 0;
}
