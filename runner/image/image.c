/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "runner/image/image.h"
#include "xalloc.h"

#define JSON_CANON (JSON_COMPACT | JSON_SORT_KEYS)

static json_t *obj_child(json_t *parent, const char *key)
{
        json_t *o = json_object_get(parent, key);

        if (!json_is_object(o)) {
                o = json_object();
                json_object_set_new(parent, key, o);
        }
        return o;
}

static json_t *arr_child(json_t *parent, const char *key)
{
        json_t *a = json_object_get(parent, key);

        if (!json_is_array(a)) {
                a = json_array();
                json_object_set_new(parent, key, a);
        }
        return a;
}

static json_t *cfg_obj(const struct image_config *c)
{
        return obj_child(c->root, "config");
}

struct image_config *image_config_new(void)
{
        struct image_config *c = xzalloc(sizeof *c);

        c->root = json_pack("{s:s, s:s, s:{}, s:{s:s, s:[]}, s:[]}", "architecture", "amd64", "os",
                            "linux", "config", "rootfs", "type", "layers", "diff_ids", "history");
        if (c->root == NULL)
                abort();
        return c;
}

struct image_config *image_config_parse(const char *data, size_t len, const char *what,
                                        struct hoist_error **err)
{
        json_error_t jerr;
        json_t *root = json_loadb(data, len, 0, &jerr);
        struct image_config *c;

        if (root == NULL) {
                hoist_error_make(err, HOIST_ERR_INPUT, "%s: invalid JSON at line %d column %d: %s",
                                 what, jerr.line, jerr.column, jerr.text);
                return NULL;
        }
        if (!json_is_object(root)) {
                json_decref(root);
                hoist_error_make(err, HOIST_ERR_INPUT, "%s: an image config must be an object",
                                 what);
                return NULL;
        }
        c = xzalloc(sizeof *c);
        c->root = root;
        (void)cfg_obj(c);
        (void)arr_child(obj_child(root, "rootfs"), "diff_ids");
        if (!json_is_string(json_object_get(json_object_get(root, "rootfs"), "type")))
                json_object_set_new(json_object_get(root, "rootfs"), "type", json_string("layers"));
        (void)arr_child(root, "history");
        return c;
}

struct image_config *image_config_copy(const struct image_config *c)
{
        struct image_config *n = xzalloc(sizeof *n);

        n->root = json_deep_copy(c->root);
        if (n->root == NULL)
                abort();
        return n;
}

void image_config_free(struct image_config *c)
{
        if (c == NULL)
                return;
        json_decref(c->root);
        free(c);
}

static size_t env_find(json_t *env, const char *key)
{
        size_t klen = strlen(key), i;
        json_t *v;

        json_array_foreach(env, i, v)
        {
                const char *s = json_string_value(v);
                if (s != NULL && strncmp(s, key, klen) == 0 && s[klen] == '=')
                        return i;
        }
        return (size_t)-1;
}

void image_config_set_env(struct image_config *c, const char *key, const char *value)
{
        json_t *env = arr_child(cfg_obj(c), "Env");
        _cleanup_free_ char *kv = xasprintf("%s=%s", key, value);
        size_t i = env_find(env, key);

        if (i == (size_t)-1)
                json_array_append_new(env, json_string(kv));
        else
                json_array_set_new(env, i, json_string(kv));
}

const char *image_config_get_env(const struct image_config *c, const char *key)
{
        json_t *env = json_object_get(json_object_get(c->root, "config"), "Env");
        size_t i = env_find(env, key);

        if (i == (size_t)-1)
                return NULL;
        return json_string_value(json_array_get(env, i)) + strlen(key) + 1;
}

static char **strv_from_array(json_t *a)
{
        size_t n = json_array_size(a), i, k = 0;
        char **v = xcalloc(n + 1, sizeof *v);
        json_t *e;

        json_array_foreach(a, i, e)
        {
                if (json_is_string(e))
                        v[k++] = xstrdup(json_string_value(e));
        }
        return v;
}

char **image_config_env(const struct image_config *c)
{
        return strv_from_array(json_object_get(json_object_get(c->root, "config"), "Env"));
}

void image_config_set_string(struct image_config *c, const char *field, const char *value)
{
        if (value == NULL)
                json_object_del(cfg_obj(c), field);
        else
                json_object_set_new(cfg_obj(c), field, json_string(value));
}

const char *image_config_get_string(const struct image_config *c, const char *field)
{
        return json_string_value(json_object_get(json_object_get(c->root, "config"), field));
}

char *image_config_workdir(const struct image_config *c, const char *dir)
{
        const char *cur = image_config_get_string(c, "WorkingDir");
        _cleanup_free_ char *joined =
                dir[0] == '/' ? xstrdup(dir)
                              : path_join(cur != NULL && *cur != '\0' ? cur : "/", dir);
        _cleanup_free_ char *clean = path_clean_in_root(joined);

        return xasprintf("/%s", clean);
}

void image_config_default_path(struct image_config *c)
{
        if (image_config_get_env(c, "PATH") == NULL)
                image_config_set_env(c, "PATH", IMAGE_DEFAULT_PATH);
}

void image_config_set_argv(struct image_config *c, const char *field, const char *const *argv)
{
        json_t *a;

        if (argv == NULL) {
                json_object_del(cfg_obj(c), field);
                return;
        }
        a = json_array();
        for (; *argv != NULL; argv++)
                json_array_append_new(a, json_string(*argv));
        json_object_set_new(cfg_obj(c), field, a);
}

char **image_config_get_argv(const struct image_config *c, const char *field)
{
        json_t *a = json_object_get(json_object_get(c->root, "config"), field);

        if (!json_is_array(a))
                return NULL;
        return strv_from_array(a);
}

void image_config_set_label(struct image_config *c, const char *key, const char *value)
{
        json_object_set_new(obj_child(cfg_obj(c), "Labels"), key, json_string(value));
}

void image_config_add_port(struct image_config *c, const char *port)
{
        _cleanup_free_ char *p = strchr(port, '/') ? xstrdup(port) : xasprintf("%s/tcp", port);

        json_object_set_new(obj_child(cfg_obj(c), "ExposedPorts"), p, json_object());
}

void image_config_add_volume(struct image_config *c, const char *path)
{
        json_object_set_new(obj_child(cfg_obj(c), "Volumes"), path, json_object());
}

void image_config_add_layer(struct image_config *c, const char *diff_id, const char *created_by)
{
        json_array_append_new(arr_child(obj_child(c->root, "rootfs"), "diff_ids"),
                              json_string(diff_id));
        json_array_append_new(arr_child(c->root, "history"),
                              json_pack("{s:s}", "created_by", created_by));
}

void image_config_add_empty_history(struct image_config *c, const char *created_by)
{
        json_array_append_new(arr_child(c->root, "history"),
                              json_pack("{s:s, s:b}", "created_by", created_by, "empty_layer", 1));
}

size_t image_config_layer_count(const struct image_config *c)
{
        return json_array_size(json_object_get(json_object_get(c->root, "rootfs"), "diff_ids"));
}

const char *image_config_diff_id(const struct image_config *c, size_t i)
{
        return json_string_value(
                json_array_get(json_object_get(json_object_get(c->root, "rootfs"), "diff_ids"), i));
}

char *image_config_state(const struct image_config *c)
{
        char *s = json_dumps(json_object_get(c->root, "config"), JSON_CANON);

        if (s == NULL)
                abort();
        return s;
}

int image_config_set_state(struct image_config *c, const char *json, struct hoist_error **err)
{
        json_error_t jerr;
        json_t *o = json_loads(json, 0, &jerr);

        if (!json_is_object(o)) {
                json_decref(o);
                return hoist_error_make(err, HOIST_ERR_INPUT, "invalid cached config state: %s",
                                        o == NULL ? jerr.text : "not an object");
        }
        json_object_set_new(c->root, "config", o);
        return 0;
}

static void format_epoch(int64_t epoch, char *buf, size_t size)
{
        time_t t = (time_t)epoch;
        struct tm tm;

        if (gmtime_r(&t, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, size, "1970-01-01T00:00:00Z");
}

char *image_config_serialize(const struct image_config *c, int64_t epoch)
{
        json_t *doc = json_deep_copy(c->root);
        json_t *h;
        size_t i;
        char when[32];
        char *s;

        if (doc == NULL)
                abort();
        format_epoch(epoch, when, sizeof when);
        json_object_set_new(doc, "created", json_string(when));
        json_array_foreach(json_object_get(doc, "history"), i, h)
        {
                if (json_is_object(h) && json_object_get(h, "created") == NULL)
                        json_object_set_new(h, "created", json_string(when));
        }
        s = json_dumps(doc, JSON_CANON);
        json_decref(doc);
        if (s == NULL)
                abort();
        return s;
}

char *image_manifest_build(const char *config_digest, int64_t config_size,
                           const struct image_layer *layers, size_t n)
{
        json_t *ls = json_array();
        json_t *doc;
        char *s;

        for (size_t i = 0; i < n; i++)
                json_array_append_new(ls,
                                      json_pack("{s:s, s:s, s:I}", "mediaType",
                                                layers[i].media_type, "digest", layers[i].digest,
                                                "size", (json_int_t)layers[i].size));
        doc = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
                        IMAGE_MT_MANIFEST, "config", "mediaType", IMAGE_MT_CONFIG, "digest",
                        config_digest, "size", (json_int_t)config_size, "layers", ls);
        if (doc == NULL)
                abort();
        s = json_dumps(doc, JSON_CANON);
        json_decref(doc);
        if (s == NULL)
                abort();
        return s;
}

void image_layer_clear(struct image_layer *l)
{
        free(l->media_type);
        free(l->digest);
        free(l->diff_id);
        memset(l, 0, sizeof *l);
}

void image_layers_free(struct image_layer *layers, size_t n)
{
        if (layers == NULL)
                return;
        for (size_t i = 0; i < n; i++)
                image_layer_clear(&layers[i]);
        free(layers);
}

static int descriptor_valid(json_t *d)
{
        const char *dg = json_string_value(json_object_get(d, "digest"));

        return json_is_object(d) && dg != NULL && digest_parse(dg) != NULL &&
               json_is_integer(json_object_get(d, "size")) &&
               json_integer_value(json_object_get(d, "size")) >= 0;
}

int image_manifest_parse(const char *data, size_t len, const char *what, char **ret_config_digest,
                         struct image_layer **ret_layers, size_t *ret_n, struct hoist_error **err)
{
        json_error_t jerr;
        json_auto_t *doc = json_loadb(data, len, 0, &jerr);
        json_t *cfg, *ls, *l;
        const char *mt;
        struct image_layer *layers;
        size_t i, n;

        if (doc == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "%s: invalid JSON at line %d: %s",
                                        what, jerr.line, jerr.text);
        mt = json_string_value(json_object_get(doc, "mediaType"));
        if (mt != NULL && strcmp(mt, IMAGE_MT_MANIFEST) != 0 &&
            strcmp(mt, IMAGE_MT_DOCKER_MANIFEST) != 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "%s: media type '%s' is not an image manifest", what, mt);
        cfg = json_object_get(doc, "config");
        ls = json_object_get(doc, "layers");
        if (!descriptor_valid(cfg) || !json_is_array(ls))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "%s: not an image manifest (no config or layers)", what);
        n = json_array_size(ls);
        layers = xcalloc(n + 1, sizeof *layers);
        json_array_foreach(ls, i, l)
        {
                if (!descriptor_valid(l) || !json_is_string(json_object_get(l, "mediaType"))) {
                        image_layers_free(layers, n);
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "%s: layer %zu has no valid descriptor", what, i);
                }
                layers[i].media_type = xstrdup(json_string_value(json_object_get(l, "mediaType")));
                layers[i].digest = xstrdup(json_string_value(json_object_get(l, "digest")));
                layers[i].size = json_integer_value(json_object_get(l, "size"));
        }
        *ret_config_digest = xstrdup(json_string_value(json_object_get(cfg, "digest")));
        *ret_layers = layers;
        *ret_n = n;
        return 0;
}

int64_t image_source_date_epoch(void)
{
        const char *s = getenv("SOURCE_DATE_EPOCH");
        char *end;
        long long v;

        if (s == NULL || *s == '\0')
                return 0;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || *end != '\0' || v < 0)
                return 0;
        return v;
}
