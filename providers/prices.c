/* SPDX-License-Identifier: MIT */
#include "prices.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "config.h"
#include "fsutil.h"
#include "prices_data.h"
#include "xalloc.h"

struct prices {
        struct price_entry *v;
        size_t n;
};

static const char *const units[] = {"instance-hour", "second",   "gpu-hour",
                                    "node-hour",     "cpu-hour", NULL};
static const char *const file_keys[] = {"provider", "currency",      "unit",   "source",
                                        "region",   "spot_discount", "prices", NULL};
static const char *const entry_keys[] = {
        "provider",   "sku",           "region", "regions",  "unit",  "price",
        "currency",   "source",        "gpus",   "gpu_type", "vcpus", "gpu_memory_gib",
        "memory_gib", "spot_discount", NULL};

/* What the file says for every entry that does not say otherwise. */
struct defaults {
        char *provider, *currency, *unit, *source, *region;
        double spot_discount;
};

static void defaults_clear(struct defaults *d)
{
        free(d->provider);
        free(d->currency);
        free(d->unit);
        free(d->source);
        free(d->region);
}

static void entry_clear(struct price_entry *e)
{
        free(e->provider);
        free(e->sku);
        free(e->region);
        free(e->unit);
        free(e->currency);
        free(e->source);
        free(e->gpu_type);
        memset(e, 0, sizeof *e);
}

static int same_str(const char *a, const char *b)
{
        if (a == NULL || b == NULL)
                return a == b;
        return strcmp(a, b) == 0;
}

static int get_number(const struct config_node *n, const char *field, double min, double max,
                      double *ret, struct hoist_error **err)
{
        _cleanup_free_ char *s = NULL;
        char *end = NULL;
        double v;

        if (config_get_scalar(n, field, &s, err) < 0)
                return -1;
        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < min || v > max) {
                _cleanup_free_ char *got = config_describe(n);
                return config_error(n, field, err, "expected a number from %g to %g, got %s", min,
                                    max, got);
        }
        *ret = v;
        return 0;
}

static int get_word(const struct config_node *map, const char *key, const char *field, char **ret,
                    struct hoist_error **err)
{
        const struct config_node *n = config_get(map, key);
        char *s = NULL;

        if (n == NULL)
                return 0;
        if (config_get_string(n, field, &s, err) < 0)
                return -1;
        if (*s == '\0') {
                free(s);
                return config_error(n, field, err, "must not be empty");
        }
        free(*ret);
        *ret = s;
        return 1;
}

static int check_unit(const struct config_node *map, const char *field, const char *unit,
                      struct hoist_error **err)
{
        for (size_t i = 0; units[i] != NULL; i++)
                if (strcmp(unit, units[i]) == 0)
                        return 0;
        return config_error(map, field, err,
                            "unit '%s' is not one hoist knows (instance-hour, second, gpu-hour, "
                            "node-hour or cpu-hour)",
                            unit);
}

static int check_currency(const struct config_node *n, const char *field, const char *c,
                          struct hoist_error **err)
{
        if (strlen(c) != 3 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' || c[2] < 'A' ||
            c[2] > 'Z')
                return config_error(n, field, err,
                                    "currency '%s' is not a 3-letter ISO 4217 code like USD", c);
        return 0;
}

/* Replaces an entry with the same provider, sku and region, or appends. */
static void prices_put(struct prices *p, struct price_entry *e)
{
        for (size_t i = 0; i < p->n; i++) {
                struct price_entry *o = &p->v[i];
                if (same_str(o->provider, e->provider) && same_str(o->sku, e->sku) &&
                    same_str(o->region, e->region)) {
                        entry_clear(o);
                        *o = *e;
                        memset(e, 0, sizeof *e);
                        return;
                }
        }
        p->v = xreallocarray(p->v, p->n + 1, sizeof *p->v);
        p->v[p->n++] = *e;
        memset(e, 0, sizeof *e);
}

static int entry_specs(const struct config_node *item, const char *field, struct price_entry *e,
                       struct hoist_error **err)
{
        const struct config_node *n;
        _cleanup_free_ char *f = NULL;

        if ((n = config_get(item, "gpus")) != NULL) {
                f = xasprintf("%s.gpus", field);
                if (config_get_int(n, f, 0, 1024, &e->gpus, err) < 0)
                        return -1;
        }
        if ((n = config_get(item, "vcpus")) != NULL) {
                free(f);
                f = xasprintf("%s.vcpus", field);
                if (config_get_int(n, f, 0, 100000, &e->vcpus, err) < 0)
                        return -1;
        }
        if ((n = config_get(item, "memory_gib")) != NULL) {
                free(f);
                f = xasprintf("%s.memory_gib", field);
                if (get_number(n, f, 0, 1e7, &e->memory_gib, err) < 0)
                        return -1;
        }
        if ((n = config_get(item, "gpu_memory_gib")) != NULL) {
                free(f);
                f = xasprintf("%s.gpu_memory_gib", field);
                if (get_number(n, f, 0, 1e6, &e->gpu_memory_gib, err) < 0)
                        return -1;
        }
        free(f);
        f = xasprintf("%s.gpu_type", field);
        return get_word(item, "gpu_type", f, &e->gpu_type, err) < 0 ? -1 : 0;
}

/* One entry per region of REGIONS (region: price), each a copy of BASE. */
static int put_regions(const struct config_node *regions, const char *field,
                       const struct price_entry *base, struct prices *p, struct hoist_error **err)
{
        _cleanup_free_ char *f = xasprintf("%s.regions", field);

        if (config_check_mapping(regions, f, err) < 0)
                return -1;
        for (size_t i = 0; i < regions->n_pairs; i++) {
                const struct config_pair *pair = &regions->pairs[i];
                _cleanup_free_ char *rf = xasprintf("%s.regions.%s", field, pair->key);
                struct price_entry e = *base;
                double v;
                if (get_number(pair->value, rf, 0, 1e9, &v, err) < 0)
                        return -1;
                e.provider = xstrdup(base->provider);
                e.sku = xstrdup(base->sku);
                e.region = xstrdup(pair->key);
                e.unit = xstrdup(base->unit);
                e.currency = xstrdup(base->currency);
                e.source = xstrdup(base->source);
                e.gpu_type = xstrdup(base->gpu_type);
                e.price = v;
                prices_put(p, &e);
        }
        return 0;
}

/* One item of prices:, which becomes one entry per region of regions:. */
static int parse_entry(const struct config_node *item, size_t idx, const struct defaults *d,
                       struct prices *p, struct hoist_error **err)
{
        _cleanup_free_ char *field = xasprintf("prices[%zu]", idx);
        _cleanup_free_ char *f = NULL;
        struct price_entry base = {0};
        const struct config_node *price, *regions;
        int r = -1;

        if (config_check_mapping(item, field, err) < 0 ||
            config_check_keys(item, field, entry_keys, err) < 0)
                return -1;
        base.provider = xstrdup(d->provider);
        base.currency = xstrdup(d->currency);
        base.unit = xstrdup(d->unit);
        base.source = xstrdup(d->source);
        base.region = xstrdup(d->region);
        base.spot_discount = d->spot_discount;
#define WORD(key, dst)                                                                             \
        do {                                                                                       \
                free(f);                                                                           \
                f = xasprintf("%s.%s", field, key);                                                \
                if (get_word(item, key, f, &(dst), err) < 0)                                       \
                        goto out;                                                                  \
        } while (0)
        WORD("provider", base.provider);
        WORD("sku", base.sku);
        WORD("region", base.region);
        WORD("unit", base.unit);
        WORD("currency", base.currency);
        WORD("source", base.source);
#undef WORD
        if (base.provider == NULL) {
                r = config_error(item, field, err,
                                 "names no provider (set 'provider:' here or at the top)");
                goto out;
        }
        if (base.unit == NULL) {
                r = config_error(item, field, err,
                                 "names no unit (instance-hour, second, gpu-hour, node-hour or "
                                 "cpu-hour)");
                goto out;
        }
        if (base.source == NULL) {
                r = config_error(item, field, err,
                                 "names no source: say where the price comes from and its date");
                goto out;
        }
        if (base.currency == NULL)
                base.currency = xstrdup("USD");
        {
                const struct config_node *un = config_get(item, "unit");
                const struct config_node *cn = config_get(item, "currency");
                free(f);
                f = xasprintf("%s.unit", field);
                if (check_unit(un ? un : item, f, base.unit, err) < 0)
                        goto out;
                free(f);
                f = xasprintf("%s.currency", field);
                if (check_currency(cn ? cn : item, f, base.currency, err) < 0)
                        goto out;
        }
        if (config_get(item, "spot_discount") != NULL) {
                free(f);
                f = xasprintf("%s.spot_discount", field);
                if (get_number(config_get(item, "spot_discount"), f, 0, 1, &base.spot_discount,
                               err) < 0)
                        goto out;
        }
        if (entry_specs(item, field, &base, err) < 0)
                goto out;
        price = config_get(item, "price");
        regions = config_get(item, "regions");
        if ((price == NULL) == (regions == NULL)) {
                r = config_error(item, field, err,
                                 "give either 'price' or 'regions' (a mapping of region to "
                                 "price), not %s",
                                 price == NULL ? "neither" : "both");
                goto out;
        }
        if (price != NULL) {
                free(f);
                f = xasprintf("%s.price", field);
                if (get_number(price, f, 0, 1e9, &base.price, err) < 0)
                        goto out;
                prices_put(p, &base);
                r = 0;
                goto out;
        }
        if (put_regions(regions, field, &base, p, err) < 0)
                goto out;
        r = 0;
out:
        entry_clear(&base);
        return r;
}

static int parse_defaults(const struct config_node *root, struct defaults *d,
                          struct hoist_error **err)
{
        const struct config_node *n;

        if (get_word(root, "provider", "provider", &d->provider, err) < 0 ||
            get_word(root, "currency", "currency", &d->currency, err) < 0 ||
            get_word(root, "unit", "unit", &d->unit, err) < 0 ||
            get_word(root, "source", "source", &d->source, err) < 0 ||
            get_word(root, "region", "region", &d->region, err) < 0)
                return -1;
        if ((n = config_get(root, "spot_discount")) != NULL &&
            get_number(n, "spot_discount", 0, 1, &d->spot_discount, err) < 0)
                return -1;
        return 0;
}

int prices_parse(const char *text, size_t len, const char *name, const char *default_source,
                 struct prices *p, struct hoist_error **err)
{
        _cleanup_config_node_ struct config_node *root = NULL;
        struct defaults d = {0};
        const struct config_node *list;
        int r = -1;

        if (config_parse(text, len, name, &root, err) < 0)
                return -1;
        if (config_is_null(root))
                return 0;
        if (root->type != CONFIG_MAPPING) {
                _cleanup_free_ char *got = config_describe(root);
                return config_error(root, NULL, err,
                                    "expected a mapping with 'prices:' (a list of entries), "
                                    "got %s",
                                    got);
        }
        if (config_check_keys(root, NULL, file_keys, err) < 0)
                return -1;
        if (parse_defaults(root, &d, err) < 0)
                goto out;
        if (d.source == NULL)
                d.source = xstrdup(default_source);
        list = config_get(root, "prices");
        if (list == NULL || config_is_null(list)) {
                r = 0;
                goto out;
        }
        if (list->type != CONFIG_SEQUENCE) {
                _cleanup_free_ char *got = config_describe(list);
                r = config_error(list, "prices", err, "expected a list of entries, got %s", got);
                goto out;
        }
        for (size_t i = 0; i < list->n_items; i++)
                if (parse_entry(list->items[i], i, &d, p, err) < 0)
                        goto out;
        r = 0;
out:
        defaults_clear(&d);
        return r;
}

struct prices *prices_new(void)
{
        return xzalloc(sizeof(struct prices));
}

int prices_load(const char *home_dir, struct prices **ret, struct hoist_error **err)
{
        struct prices *p = prices_new();
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_error_ struct hoist_error *why = NULL;
        size_t len = 0;

        for (const struct prices_table *t = prices_tables; t->name != NULL; t++) {
                _cleanup_free_ char *name = xasprintf("providers/prices/%s", t->name);
                if (prices_parse(t->text, t->len, name, NULL, p, err) < 0) {
                        prices_free(p);
                        return hoist_error_wrap(err, "the price table built into hoist");
                }
        }
        if (home_dir != NULL) {
                path = path_join(home_dir, "prices.yaml");
                if (fs_read_file(path, &text, &len, &why) < 0) {
                        if (why->code != ENOENT) {
                                prices_free(p);
                                return hoist_error_make(err, HOIST_ERR_INPUT, "%s", why->msg);
                        }
                } else {
                        _cleanup_free_ char *src = xasprintf("your %s", path);
                        if (prices_parse(text, len, path, src, p, err) < 0) {
                                prices_free(p);
                                return -1;
                        }
                }
        }
        *ret = p;
        return 0;
}

void prices_free(struct prices *p)
{
        if (p == NULL)
                return;
        for (size_t i = 0; i < p->n; i++)
                entry_clear(&p->v[i]);
        free(p->v);
        free(p);
}

size_t prices_count(const struct prices *p)
{
        return p == NULL ? 0 : p->n;
}

const struct price_entry *prices_at(const struct prices *p, size_t i)
{
        return p == NULL || i >= p->n ? NULL : &p->v[i];
}

const struct price_entry *prices_find(const struct prices *p, const char *provider, const char *sku,
                                      const char *region)
{
        const struct price_entry *any = NULL;

        if (p == NULL || provider == NULL)
                return NULL;
        for (size_t i = 0; i < p->n; i++) {
                const struct price_entry *e = &p->v[i];
                if (strcmp(e->provider, provider) != 0 || !same_str(e->sku, sku))
                        continue;
                if (region != NULL && e->region != NULL && strcmp(e->region, region) == 0)
                        return e;
                if (e->region == NULL && any == NULL)
                        any = e;
                if (region == NULL && any == NULL)
                        any = e;
        }
        return any;
}
