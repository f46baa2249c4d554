/* SPDX-License-Identifier: MIT */
#include "sagemaker_settings.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

static const char *const fields[] = {
        "role",     "instance_type", "instance_count", "volume_size", "spot",
        "max_wait", "vpc",           "tags",           "region",      NULL,
};
static const char *const vpc_fields[] = {"subnets", "security_groups", NULL};

/* Largest values SageMaker takes (StoppingCondition: 28 days). */
#define MAX_WAIT_S (28 * 86400)
#define MAX_VOLUME_GB 16384
#define MAX_INSTANCES 100

struct sagemaker_settings *sagemaker_settings_new(void)
{
        struct sagemaker_settings *s = xzalloc(sizeof *s);

        s->spot = -1;
        return s;
}

void sagemaker_settings_free(struct sagemaker_settings *s)
{
        if (s == NULL)
                return;
        free(s->role);
        free(s->instance_type);
        strv_free(s->subnets);
        strv_free(s->security_groups);
        strv_free(s->tag_keys);
        strv_free(s->tag_values);
        free(s->region);
        free(s);
}

int sagemaker_role_valid(const char *arn)
{
        static const char pre[] = "arn:aws";
        const char *p;
        size_t n;

        if (arn == NULL || strlen(arn) < 20 || strlen(arn) > 2048 ||
            strncmp(arn, pre, sizeof pre - 1) != 0)
                return 0;
        p = arn + sizeof pre - 1;
        while (islower((unsigned char)*p) || *p == '-')
                p++;
        if (strncmp(p, ":iam::", 6) != 0)
                return 0;
        p += 6;
        for (n = 0; n < 12; n++)
                if (!isdigit((unsigned char)p[n]))
                        return 0;
        p += 12;
        if (strncmp(p, ":role", 5) != 0)
                return 0;
        p += 5;
        if (*p == '/')
                p++;
        if (*p == '\0')
                return 0;
        for (; *p != '\0'; p++)
                if (!isalnum((unsigned char)*p) && strchr("_+=,.@-/", *p) == NULL)
                        return 0;
        return 1;
}

int sagemaker_instance_type_valid(const char *type)
{
        int dots = 0;

        if (type == NULL || strncmp(type, "ml.", 3) != 0 || strlen(type) > 64)
                return 0;
        for (const char *p = type + 3; *p != '\0'; p++) {
                if (*p == '.') {
                        if (p[-1] == '.' || p[1] == '\0')
                                return 0;
                        dots++;
                } else if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
                           *p != '-') {
                        return 0;
                }
        }
        return dots == 1 && type[3] != '.';
}

static size_t strv_count(char **v)
{
        size_t n = 0;

        while (v != NULL && v[n] != NULL)
                n++;
        return n;
}

/* A VPC id as SageMaker's SubnetId and SecurityGroupId say: [-0-9a-zA-Z], 32 at most. */
static int vpc_id_valid(const char *s)
{
        if (*s == '\0' || strlen(s) > 32)
                return 0;
        for (; *s != '\0'; s++)
                if (!isalnum((unsigned char)*s) && *s != '-')
                        return 0;
        return 1;
}

/* A tag key or value: Unicode letters, digits, spaces and _.:/=+-@ (ASCII
 * checked here; any non-ASCII byte is taken as a letter). */
static int tag_text_valid(const char *s, size_t max)
{
        if (strlen(s) > max)
                return 0;
        for (; *s != '\0'; s++)
                if (!((unsigned char)*s >= 0x80 || isalnum((unsigned char)*s) ||
                      strchr(" _.:/=+-@", *s) != NULL))
                        return 0;
        return 1;
}

static int load_strv(const struct config_node *n, const char *field, int (*ok)(const char *),
                     const char *what, char ***ret, struct hoist_error **err)
{
        char **v = NULL;

        if (n->type != CONFIG_SEQUENCE)
                return config_error(n, field, err, "expected a list of %s", what);
        if (config_get_strv(n, field, &v, err) < 0)
                return -1;
        for (size_t i = 0; v[i] != NULL; i++) {
                if (ok(v[i]))
                        continue;
                _cleanup_free_ char *q = config_quote(v[i]);
                strv_free(v);
                return config_error(n->items[i], field, err, "%s is not %s", q, what);
        }
        strv_free(*ret);
        *ret = v;
        return 0;
}

static int load_vpc(const struct config_node *n, struct sagemaker_settings *s,
                    struct hoist_error **err)
{
        const struct config_node *v;

        if (config_check_mapping(n, "sagemaker.vpc", err) < 0 ||
            config_check_keys(n, "sagemaker.vpc", vpc_fields, err) < 0)
                return -1;
        if ((v = config_get(n, "subnets")) != NULL &&
            load_strv(v, "sagemaker.vpc.subnets", vpc_id_valid, "a subnet id (subnet-0abc...)",
                      &s->subnets, err) < 0)
                return -1;
        if ((v = config_get(n, "security_groups")) != NULL &&
            load_strv(v, "sagemaker.vpc.security_groups", vpc_id_valid,
                      "a security group id (sg-0abc...)", &s->security_groups, err) < 0)
                return -1;
        if ((s->subnets == NULL) != (s->security_groups == NULL))
                return config_error(n, "sagemaker.vpc", err,
                                    "give both 'subnets' and 'security_groups' (SageMaker's "
                                    "VpcConfig needs both)");
        return 0;
}

static int load_tags(const struct config_node *n, struct sagemaker_settings *s,
                     struct hoist_error **err)
{
        size_t k = 0;

        if (config_check_mapping(n, "sagemaker.tags", err) < 0)
                return -1;
        if (n->n_pairs > 49)
                return config_error(n, "sagemaker.tags", err,
                                    "%zu tags; SageMaker takes 50, and hoist adds one "
                                    "(hoist:job-id)",
                                    n->n_pairs);
        s->tag_keys = xcalloc(n->n_pairs + 1, sizeof *s->tag_keys);
        s->tag_values = xcalloc(n->n_pairs + 1, sizeof *s->tag_values);
        for (size_t i = 0; i < n->n_pairs; i++) {
                const struct config_pair *p = &n->pairs[i];
                _cleanup_free_ char *field = xasprintf("sagemaker.tags.%s", p->key);
                char *v = NULL;
                if (*p->key == '\0' || !tag_text_valid(p->key, 128) ||
                    strncmp(p->key, "aws:", 4) == 0 || strcmp(p->key, "hoist:job-id") == 0) {
                        _cleanup_free_ char *q = config_quote(p->key);
                        return config_error_at(n->file, p->key_line, "sagemaker.tags", err,
                                               "%s is not a tag key hoist can send (1-128 "
                                               "letters, digits, spaces and _.:/=+-@; not "
                                               "aws:..., not hoist:job-id)",
                                               q);
                }
                if (config_get_scalar(p->value, field, &v, err) < 0)
                        return -1;
                if (!tag_text_valid(v, 256)) {
                        _cleanup_free_ char *q = config_quote(v);
                        free(v);
                        return config_error(p->value, field, err,
                                            "%s is not a tag value (at most 256 letters, "
                                            "digits, spaces and _.:/=+-@)",
                                            q);
                }
                s->tag_keys[k] = xstrdup(p->key);
                s->tag_values[k++] = v;
        }
        return 0;
}

static int load_role(const struct config_node *n, const char *field, const char *v,
                     struct sagemaker_settings *s, struct hoist_error **err)
{
        if (!sagemaker_role_valid(v)) {
                _cleanup_free_ char *q = config_quote(v);
                if (n != NULL)
                        return config_error(n, field, err,
                                            "%s is not an IAM role ARN "
                                            "(arn:aws:iam::<12-digit account>:role/<name>)",
                                            q);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "%s is %s, not an IAM role ARN "
                                        "(arn:aws:iam::<12-digit account>:role/<name>)",
                                        field, q);
        }
        free(s->role);
        s->role = xstrdup(v);
        return 0;
}

static int load_type(const struct config_node *n, const char *field, const char *v,
                     struct sagemaker_settings *s, struct hoist_error **err)
{
        if (!sagemaker_instance_type_valid(v)) {
                _cleanup_free_ char *q = config_quote(v);
                if (n != NULL)
                        return config_error(n, field, err,
                                            "%s is not a SageMaker instance type such as "
                                            "ml.g5.xlarge",
                                            q);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "%s is %s, not a SageMaker instance type such as "
                                        "ml.g5.xlarge",
                                        field, q);
        }
        free(s->instance_type);
        s->instance_type = xstrdup(v);
        return 0;
}

static int load_section(const struct config_node *node, struct sagemaker_settings *s,
                        struct hoist_error **err)
{
        const struct config_node *n;
        _cleanup_free_ char *v = NULL;

        if (config_check_mapping(node, "sagemaker", err) < 0 ||
            config_check_keys(node, "sagemaker", fields, err) < 0)
                return -1;
        if ((n = config_get(node, "role")) != NULL &&
            (config_get_string(n, "sagemaker.role", &v, err) < 0 ||
             load_role(n, "sagemaker.role", v, s, err) < 0))
                return -1;
        free(TAKE_PTR(v));
        if ((n = config_get(node, "instance_type")) != NULL &&
            (config_get_string(n, "sagemaker.instance_type", &v, err) < 0 ||
             load_type(n, "sagemaker.instance_type", v, s, err) < 0))
                return -1;
        free(TAKE_PTR(v));
        if ((n = config_get(node, "region")) != NULL) {
                if (config_get_string(n, "sagemaker.region", &v, err) < 0)
                        return -1;
                for (const char *p = v; *p != '\0'; p++)
                        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-')
                                return config_error(n, "sagemaker.region", err,
                                                    "'%s' is not an AWS region such as "
                                                    "us-east-1",
                                                    v);
                s->region = TAKE_PTR(v);
        }
        if ((n = config_get(node, "instance_count")) != NULL &&
            config_get_int(n, "sagemaker.instance_count", 1, MAX_INSTANCES, &s->instance_count,
                           err) < 0)
                return -1;
        if ((n = config_get(node, "volume_size")) != NULL &&
            config_get_int(n, "sagemaker.volume_size", 1, MAX_VOLUME_GB, &s->volume_size_gb, err) <
                    0)
                return -1;
        if ((n = config_get(node, "spot")) != NULL &&
            config_get_bool(n, "sagemaker.spot", &s->spot, err) < 0)
                return -1;
        if ((n = config_get(node, "max_wait")) != NULL) {
                if (config_get_duration(n, "sagemaker.max_wait", &s->max_wait_s, err) < 0)
                        return -1;
                if (s->max_wait_s < 1 || s->max_wait_s > MAX_WAIT_S)
                        return config_error(n, "sagemaker.max_wait", err,
                                            "SageMaker takes 1s to 28d");
        }
        if ((n = config_get(node, "vpc")) != NULL && load_vpc(n, s, err) < 0)
                return -1;
        if ((n = config_get(node, "tags")) != NULL && load_tags(n, s, err) < 0)
                return -1;
        return 0;
}

static char **split_list(const char *v)
{
        char **out = xcalloc(strlen(v) + 2, sizeof *out);
        size_t n = 0;

        for (const char *p = v; *p != '\0';) {
                size_t len = strcspn(p, ", ");
                if (len > 0)
                        out[n++] = xstrndup(p, len);
                p += len;
                p += strspn(p, ", ");
        }
        return out;
}

/* What the section leaves out, from the submitting machine's environment. */
static int load_env(struct sagemaker_settings *s, struct hoist_error **err)
{
        const char *v;

        if (s->role == NULL && (v = getenv("HOIST_SAGEMAKER_ROLE")) != NULL && *v != '\0' &&
            load_role(NULL, "HOIST_SAGEMAKER_ROLE", v, s, err) < 0)
                return -1;
        if (s->instance_type == NULL && (v = getenv("HOIST_SAGEMAKER_INSTANCE_TYPE")) != NULL &&
            *v != '\0' && load_type(NULL, "HOIST_SAGEMAKER_INSTANCE_TYPE", v, s, err) < 0)
                return -1;
        if (s->volume_size_gb == 0 && (v = getenv("HOIST_SAGEMAKER_VOLUME_SIZE")) != NULL &&
            *v != '\0') {
                char *end;
                errno = 0;
                long long n = strtoll(v, &end, 10);
                if (errno != 0 || *end != '\0' || n < 1 || n > MAX_VOLUME_GB)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "HOIST_SAGEMAKER_VOLUME_SIZE is '%s', not a "
                                                "size in GB from 1 to %d",
                                                v, MAX_VOLUME_GB);
                s->volume_size_gb = n;
        }
        if (s->subnets == NULL && (v = getenv("HOIST_SAGEMAKER_SUBNETS")) != NULL && *v != '\0') {
                const char *g = getenv("HOIST_SAGEMAKER_SECURITY_GROUPS");
                if (g == NULL || *g == '\0')
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "HOIST_SAGEMAKER_SUBNETS is set and "
                                                "HOIST_SAGEMAKER_SECURITY_GROUPS is not (a VPC "
                                                "needs both)");
                s->subnets = split_list(v);
                s->security_groups = split_list(g);
                for (char **p = s->subnets; *p != NULL; p++)
                        if (!vpc_id_valid(*p))
                                return hoist_error_make(err, HOIST_ERR_INPUT,
                                                        "HOIST_SAGEMAKER_SUBNETS: '%s' is not a "
                                                        "subnet id",
                                                        *p);
                for (char **p = s->security_groups; *p != NULL; p++)
                        if (!vpc_id_valid(*p))
                                return hoist_error_make(err, HOIST_ERR_INPUT,
                                                        "HOIST_SAGEMAKER_SECURITY_GROUPS: '%s' "
                                                        "is not a security group id",
                                                        *p);
        }
        return 0;
}

int sagemaker_settings_load(const struct config_node *node, const char *file,
                            struct sagemaker_settings **ret, struct hoist_error **err)
{
        _cleanup_sagemaker_settings_ struct sagemaker_settings *s = sagemaker_settings_new();

        (void)file; /* the nodes carry it */
        if ((node != NULL && load_section(node, s, err) < 0) || load_env(s, err) < 0)
                return -1;
        *ret = TAKE_PTR(s);
        return 0;
}

/* ---- sagemaker.json ---- */

static void set_str(json_t *o, const char *key, const char *v)
{
        if (v != NULL)
                (void)json_object_set_new(o, key, json_string(v));
}

static void set_strv(json_t *o, const char *key, char **v)
{
        json_t *a;

        if (v == NULL)
                return;
        a = json_array();
        for (; *v != NULL; v++)
                (void)json_array_append_new(a, json_string(*v));
        (void)json_object_set_new(o, key, a);
}

char *sagemaker_settings_to_json(const struct sagemaker_settings *s)
{
        json_t *o = json_object();
        char *text;

        set_str(o, "role", s->role);
        set_str(o, "instance_type", s->instance_type);
        (void)json_object_set_new(o, "instance_count", json_integer(s->instance_count));
        (void)json_object_set_new(o, "volume_size_gb", json_integer(s->volume_size_gb));
        (void)json_object_set_new(o, "spot", json_integer(s->spot));
        (void)json_object_set_new(o, "max_wait_s", json_integer(s->max_wait_s));
        set_strv(o, "subnets", s->subnets);
        set_strv(o, "security_groups", s->security_groups);
        set_strv(o, "tag_keys", s->tag_keys);
        set_strv(o, "tag_values", s->tag_values);
        set_str(o, "region", s->region);
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

static int get_int(json_t *o, const char *key, int64_t min, int64_t max, int64_t *ret)
{
        json_t *v = json_object_get(o, key);

        if (v == NULL)
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
                return -1;
        *ret = json_integer_value(v);
        return 0;
}

static int get_strv(json_t *o, const char *key, char ***ret)
{
        json_t *v = json_object_get(o, key), *a;
        size_t i;

        if (v == NULL)
                return 0;
        if (!json_is_array(v))
                return -1;
        strv_free(*ret);
        *ret = xcalloc(json_array_size(v) + 1, sizeof **ret);
        json_array_foreach(v, i, a)
        {
                if (!json_is_string(a))
                        return -1;
                (*ret)[i] = xstrdup(json_string_value(a));
        }
        return 0;
}

int sagemaker_settings_from_json(const char *text, size_t len, const char *name,
                                 struct sagemaker_settings **ret, struct hoist_error **err)
{
        _cleanup_sagemaker_settings_ struct sagemaker_settings *s = sagemaker_settings_new();
        json_t *o = json_loadb(text, len, 0, NULL);
        int64_t spot = -1;
        int bad = 0;

        if (!json_is_object(o)) {
                json_decref(o);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s': not the SageMaker settings hoist wrote (remove it "
                                        "and resubmit the job)",
                                        name);
        }
        bad |= get_str(o, "role", &s->role) | get_str(o, "instance_type", &s->instance_type) |
               get_str(o, "region", &s->region);
        bad |= get_int(o, "instance_count", 0, MAX_INSTANCES, &s->instance_count) |
               get_int(o, "volume_size_gb", 0, MAX_VOLUME_GB, &s->volume_size_gb) |
               get_int(o, "spot", -1, 1, &spot) |
               get_int(o, "max_wait_s", 0, MAX_WAIT_S, &s->max_wait_s);
        bad |= get_strv(o, "subnets", &s->subnets) |
               get_strv(o, "security_groups", &s->security_groups) |
               get_strv(o, "tag_keys", &s->tag_keys) | get_strv(o, "tag_values", &s->tag_values);
        s->spot = (int)spot;
        json_decref(o);
        if (bad || (s->role != NULL && !sagemaker_role_valid(s->role)) ||
            (s->instance_type != NULL && !sagemaker_instance_type_valid(s->instance_type)) ||
            (s->tag_keys == NULL) != (s->tag_values == NULL) ||
            (s->tag_keys != NULL && strv_count(s->tag_keys) != strv_count(s->tag_values)))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s': not the SageMaker settings hoist wrote (remove it "
                                        "and resubmit the job)",
                                        name);
        *ret = TAKE_PTR(s);
        return 0;
}
