/* SPDX-License-Identifier: MIT */
#include "yamlout.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "buf.h"

static int write_handler(void *data, unsigned char *bytes, size_t size)
{
        buf_append(data, bytes, size);
        return 1;
}

/* What YAML 1.1 (PyYAML, libyaml-based readers) resolves a plain scalar to
 * other than a string: null, booleans, numbers, sexagesimals, timestamps. */
static int plain_is_other(const char *s)
{
        static const char *const words[] = {
                "",      "~",     "null", "Null",  "NULL", "true", "True", "TRUE", "false",
                "False", "FALSE", "yes",  "Yes",   "YES",  "no",   "No",   "NO",   "on",
                "On",    "ON",    "off",  "Off",   "OFF",  "y",    "Y",    "n",    "N",
                ".inf",  ".Inf",  ".INF", "-.inf", ".nan", ".NaN", ".NAN", "<<",   "=",
        };
        const char *p = s;

        for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
                if (strcmp(s, words[i]) == 0)
                        return 1;
        if (*p == '+' || *p == '-')
                p++;
        /* anything that starts like a number (digits, a dot then a digit) */
        if (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1])))
                return 1;
        return 0;
}

static int emit(yaml_emitter_t *e, yaml_event_t *ev)
{
        return yaml_emitter_emit(e, ev) ? 0 : -1;
}

static int scalar(yaml_emitter_t *e, const char *text, int plain_ok, yaml_scalar_style_t style)
{
        yaml_event_t ev;

        if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text),
                                          plain_ok, 1, style))
                return -1;
        return emit(e, &ev);
}

static int emit_value(yaml_emitter_t *e, json_t *v)
{
        yaml_event_t ev;
        char num[64];

        switch (json_typeof(v)) {
        case JSON_OBJECT: {
                const char *k;
                json_t *x;
                if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                                         YAML_ANY_MAPPING_STYLE) ||
                    emit(e, &ev) < 0)
                        return -1;
                json_object_foreach(v, k, x)
                {
                        int plain = !plain_is_other(k);
                        if (scalar(e, k, plain,
                                   plain ? YAML_ANY_SCALAR_STYLE
                                         : YAML_DOUBLE_QUOTED_SCALAR_STYLE) < 0 ||
                            emit_value(e, x) < 0)
                                return -1;
                }
                if (!yaml_mapping_end_event_initialize(&ev))
                        return -1;
                return emit(e, &ev);
        }
        case JSON_ARRAY: {
                size_t i;
                json_t *x;
                if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                                          YAML_ANY_SEQUENCE_STYLE) ||
                    emit(e, &ev) < 0)
                        return -1;
                json_array_foreach(v, i, x) if (emit_value(e, x) < 0) return -1;
                if (!yaml_sequence_end_event_initialize(&ev))
                        return -1;
                return emit(e, &ev);
        }
        case JSON_STRING: {
                const char *s = json_string_value(v);
                int plain = !plain_is_other(s);
                return scalar(e, s, plain,
                              plain ? YAML_ANY_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE);
        }
        case JSON_INTEGER:
                snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                return scalar(e, num, 1, YAML_PLAIN_SCALAR_STYLE);
        case JSON_REAL:
                snprintf(num, sizeof num, "%.17g", json_real_value(v));
                if (strpbrk(num, ".eE") == NULL)
                        strcat(num, ".0");
                return scalar(e, num, 1, YAML_PLAIN_SCALAR_STYLE);
        case JSON_TRUE:
                return scalar(e, "true", 1, YAML_PLAIN_SCALAR_STYLE);
        case JSON_FALSE:
                return scalar(e, "false", 1, YAML_PLAIN_SCALAR_STYLE);
        case JSON_NULL:
        default:
                return scalar(e, "null", 1, YAML_PLAIN_SCALAR_STYLE);
        }
}

int yamlout_value(json_t *v, char **ret, struct hoist_error **err)
{
        yaml_emitter_t e;
        yaml_event_t ev;
        struct buf out = {0};
        int ok;

        if (!yaml_emitter_initialize(&e))
                abort(); /* out of memory */
        yaml_emitter_set_output(&e, write_handler, &out);
        yaml_emitter_set_unicode(&e, 1);
        yaml_emitter_set_width(&e, -1);
        yaml_emitter_set_indent(&e, 2);
        ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) && emit(&e, &ev) == 0 &&
             yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) && emit(&e, &ev) == 0 &&
             emit_value(&e, v) == 0 && yaml_document_end_event_initialize(&ev, 1) &&
             emit(&e, &ev) == 0 && yaml_stream_end_event_initialize(&ev) && emit(&e, &ev) == 0 &&
             yaml_emitter_flush(&e);
        if (!ok) {
                int r = hoist_error_make(err, HOIST_ERR_PROVIDER, "write YAML: %s",
                                         e.problem ? e.problem : "emitter error");
                yaml_emitter_delete(&e);
                buf_free(&out);
                return r;
        }
        yaml_emitter_delete(&e);
        *ret = buf_take(&out);
        return 0;
}
