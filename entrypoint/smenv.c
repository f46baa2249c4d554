/* SPDX-License-Identifier: MIT */
#include "smenv.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

char *smenv_py_float(double v)
{
        char sci[40], digits[24];
        struct buf b = {0};
        size_t nd = 0;
        int exp10;
        const char *e;

        /* The shortest digits that read back as V, as repr() picks them. */
        for (int prec = 1; prec <= 17; prec++) {
                (void)snprintf(sci, sizeof sci, "%.*e", prec - 1, v);
                if (strtod(sci, NULL) == v)
                        break;
        }
        e = strchr(sci, 'e');
        if (e == NULL) /* inf or nan: JSON holds neither */
                return xstrdup(sci);
        for (const char *p = sci; p < e; p++)
                if (*p >= '0' && *p <= '9' && nd < sizeof digits - 1)
                        digits[nd++] = *p;
        digits[nd] = '\0';
        while (nd > 1 && digits[nd - 1] == '0')
                digits[--nd] = '\0';
        exp10 = atoi(e + 1);
        if (sci[0] == '-')
                buf_append_char(&b, '-');
        if (exp10 < -4 || exp10 >= 16) {
                buf_append_char(&b, digits[0]);
                if (nd > 1) {
                        buf_append_char(&b, '.');
                        buf_append_str(&b, digits + 1);
                }
                buf_printf(&b, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
        } else if (exp10 >= 0) {
                for (int i = 0; i <= exp10; i++)
                        buf_append_char(&b, (size_t)i < nd ? digits[i] : '0');
                buf_append_char(&b, '.');
                buf_append_str(&b, (size_t)exp10 + 1 < nd ? digits + exp10 + 1 : "0");
        } else {
                buf_append_str(&b, "0.");
                for (int i = 0; i < -exp10 - 1; i++)
                        buf_append_char(&b, '0');
                buf_append_str(&b, digits);
        }
        return buf_take(&b);
}

/* S as json.dumps(ensure_ascii=True) writes a string: short escapes for
 * the usual five, \uXXXX (lower-case hex; a surrogate pair past U+FFFF)
 * for the rest outside ' '..'~'.  S is valid UTF-8 (jansson's). */
static void dump_string(const char *s, size_t len, struct buf *b)
{
        const unsigned char *p = (const unsigned char *)s, *end = p + len;

        buf_append_char(b, '"');
        while (p < end) {
                uint32_t c = *p;
                int n = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
                if (n > 0)
                        c &= 0x3f >> n;
                for (int i = 1; i <= n && p + i < end; i++)
                        c = (c << 6) | (p[i] & 0x3f);
                p += n + 1;
                switch (c) {
                case '"':
                        buf_append_str(b, "\\\"");
                        continue;
                case '\\':
                        buf_append_str(b, "\\\\");
                        continue;
                case '\n':
                        buf_append_str(b, "\\n");
                        continue;
                case '\r':
                        buf_append_str(b, "\\r");
                        continue;
                case '\t':
                        buf_append_str(b, "\\t");
                        continue;
                case '\b':
                        buf_append_str(b, "\\b");
                        continue;
                case '\f':
                        buf_append_str(b, "\\f");
                        continue;
                default:
                        break;
                }
                if (c >= 0x20 && c <= 0x7e)
                        buf_append_char(b, (char)c);
                else if (c > 0xffff)
                        buf_printf(b, "\\u%04x\\u%04x", 0xd800 + ((c - 0x10000) >> 10),
                                   0xdc00 + ((c - 0x10000) & 0x3ff));
                else
                        buf_printf(b, "\\u%04x", c);
        }
        buf_append_char(b, '"');
}

static int key_cmp(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void dump(const json_t *v, struct buf *b)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT: {
                size_t n = json_object_size(v), i = 0;
                _cleanup_free_ const char **keys = xcalloc(n + 1, sizeof *keys);
                const char *k;
                json_t *item;
                json_object_foreach((json_t *)v, k, item)
                {
                        keys[i++] = k;
                }
                qsort(keys, n, sizeof *keys, key_cmp);
                buf_append_char(b, '{');
                for (i = 0; i < n; i++) {
                        if (i > 0)
                                buf_append_char(b, ',');
                        dump_string(keys[i], strlen(keys[i]), b);
                        buf_append_char(b, ':');
                        dump(json_object_get(v, keys[i]), b);
                }
                buf_append_char(b, '}');
                break;
        }
        case JSON_ARRAY:
                buf_append_char(b, '[');
                for (size_t i = 0; i < json_array_size(v); i++) {
                        if (i > 0)
                                buf_append_char(b, ',');
                        dump(json_array_get(v, i), b);
                }
                buf_append_char(b, ']');
                break;
        case JSON_REAL: {
                _cleanup_free_ char *s = smenv_py_float(json_real_value(v));
                buf_append_str(b, s);
                break;
        }
        case JSON_STRING:
                dump_string(json_string_value(v), json_string_length(v), b);
                break;
        default: {
                /* integers, true, false, null */
                _cleanup_free_ char *s =
                        json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII);
                buf_append_str(b, s != NULL ? s : "null");
                break;
        }
        }
}

char *smenv_json(const json_t *v)
{
        struct buf b = {0};

        dump(v, &b);
        return buf_take(&b);
}

json_t *smenv_hp_decode(const char *raw)
{
        json_t *v = json_loads(raw, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);

        return v != NULL ? v : json_string(raw);
}

char *smenv_hp_value(const char *raw)
{
        json_auto_t *v = smenv_hp_decode(raw);

        if (json_is_string(v))
                return xstrdup(json_string_value(v));
        if (json_is_null(v))
                return xstrdup("");
        return smenv_json(v);
}

char *smenv_hp_name(const char *name)
{
        char *r;

        if (*name == '\0' || strchr(name, '=') != NULL)
                return NULL;
        r = xasprintf("SM_HP_%s", name);
        for (char *p = r; *p; p++)
                if (*p >= 'a' && *p <= 'z')
                        *p = (char)(*p - 'a' + 'A');
        return r;
}

/* "SM_<SUFFIX upper-cased>=VALUE" added to *V. */
static void add(char ***v, size_t *n, const char *suffix, const char *value)
{
        char *s = xasprintf("SM_%s=%s", suffix, value ? value : "");

        for (char *p = s + 3; *p && *p != '='; p++)
                if (*p >= 'a' && *p <= 'z')
                        *p = (char)(*p - 'a' + 'A');
        *v = xreallocarray(*v, *n + 2, sizeof **v);
        (*v)[(*n)++] = s;
        (*v)[*n] = NULL;
}

static void add_json(char ***v, size_t *n, const char *suffix, const json_t *value)
{
        _cleanup_free_ char *s = smenv_json(value);

        add(v, n, suffix, s);
}

static json_t *hosts_array(char *const *hosts)
{
        json_t *a = json_array();

        for (size_t i = 0; hosts != NULL && hosts[i] != NULL; i++)
                (void)json_array_append_new(a, json_string(hosts[i]));
        return a;
}

static json_t *decoded_hyperparameters(const json_t *hps)
{
        json_t *r = json_object();
        const char *k;
        json_t *v;

        json_object_foreach((json_t *)hps, k, v)
        {
                if (json_is_string(v))
                        (void)json_object_set_new(r, k, smenv_hp_decode(json_string_value(v)));
        }
        return r;
}

static int var_cmp(const void *a, const void *b)
{
        const char *x = *(const char *const *)a, *y = *(const char *const *)b;
        size_t nx = strcspn(x, "="), ny = strcspn(y, "=");
        int c = strncmp(x, y, nx < ny ? nx : ny);

        return c != 0 ? c : (nx > ny) - (nx < ny);
}

char **smenv_build(const struct smenv *e)
{
        json_auto_t *hosts = hosts_array(e->hosts);
        json_auto_t *hps = decoded_hyperparameters(e->hyperparameters);
        json_auto_t *names = json_array();
        json_auto_t *training = NULL;
        char **v = xcalloc(1, sizeof *v);
        _cleanup_free_ char *gpus = xasprintf("%lld", (long long)e->num_gpus);
        _cleanup_free_ char *cpus = xasprintf("%lld", (long long)e->num_cpus);
        const char *master =
                e->hosts != NULL && e->hosts[0] != NULL ? e->hosts[0] : e->current_host;
        const char *k;
        json_t *item;
        size_t n = 0;

        json_object_foreach((json_t *)e->channels, k, item)
        {
                _cleanup_free_ char *suffix = xasprintf("CHANNEL_%s", k);
                (void)json_array_append_new(names, json_string(k));
                add(&v, &n, suffix, json_string_value(item));
        }
        json_object_foreach((json_t *)e->hyperparameters, k, item)
        {
                _cleanup_free_ char *name = smenv_hp_name(k);
                _cleanup_free_ char *value = NULL;
                if (name == NULL || !json_is_string(item))
                        continue;
                value = smenv_hp_value(json_string_value(item));
                add(&v, &n, name + 3, value);
        }
        add(&v, &n, "MODEL_DIR", e->model_dir);
        add_json(&v, &n, "CHANNELS", names);
        add_json(&v, &n, "HPS", hps);
        add(&v, &n, "CURRENT_HOST", e->current_host);
        add_json(&v, &n, "HOSTS", hosts);
        add(&v, &n, "MASTER_HOSTNAME", master);
        add(&v, &n, "IS_MASTER", strcmp(master, e->current_host) == 0 ? "true" : "false");
        add(&v, &n, "NUM_GPUS", gpus);
        add(&v, &n, "NUM_CPUS", cpus);
        add(&v, &n, "LOG_LEVEL", "20");
        add(&v, &n, "NETWORK_INTERFACE_NAME", e->network_interface);
        add(&v, &n, "INPUT_DIR", e->input_dir);
        add(&v, &n, "INPUT_CONFIG_DIR", e->input_config_dir);
        add(&v, &n, "OUTPUT_DIR", e->output_dir);
        add(&v, &n, "OUTPUT_DATA_DIR", e->output_data_dir);
        add(&v, &n, "OUTPUT_INTERMEDIATE_DIR", e->output_intermediate_dir);
        add_json(&v, &n, "RESOURCE_CONFIG", e->resource_config);
        add_json(&v, &n, "INPUT_DATA_CONFIG", e->input_data_config);
        training = json_pack("{s:O, s:s, s:O, s:O, s:s, s:O, s:s, s:b, s:s?, s:i, s:s, s:s, s:I, "
                             "s:I, s:s, s:s, s:s, s:O}",
                             "channel_input_dirs", e->channels, "current_host", e->current_host,
                             "hosts", hosts, "hyperparameters", hps, "input_config_dir",
                             e->input_config_dir, "input_data_config", e->input_data_config,
                             "input_dir", e->input_dir, "is_master",
                             strcmp(master, e->current_host) == 0, "job_name", e->job_name,
                             "log_level", 20, "master_hostname", master, "model_dir", e->model_dir,
                             "num_cpus", (json_int_t)e->num_cpus, "num_gpus",
                             (json_int_t)e->num_gpus, "network_interface_name",
                             e->network_interface, "output_data_dir", e->output_data_dir,
                             "output_dir", e->output_dir, "resource_config", e->resource_config);
        if (training != NULL)
                add_json(&v, &n, "TRAINING_ENV", training);
        qsort(v, n, sizeof *v, var_cmp);
        return v;
}

int smenv_export(char *const *vars, struct hoist_error **err)
{
        for (size_t i = 0; vars[i] != NULL; i++) {
                const char *eq = strchr(vars[i], '=');
                _cleanup_free_ char *name = xstrndup(vars[i], (size_t)(eq - vars[i]));
                if (strlen(vars[i]) >= SMENV_VAR_MAX) {
                        /* exec() would fail with E2BIG and start nothing */
                        log_warn("%.80s is %zu bytes, more than a program may be given in one "
                                 "variable (%d); left out",
                                 name, strlen(vars[i]), SMENV_VAR_MAX);
                        continue;
                }
                if (setenv(name, eq + 1, 1) < 0)
                        return hoist_error_errno(err, "set %.80s", name);
        }
        return 0;
}
