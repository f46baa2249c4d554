/* SPDX-License-Identifier: MIT */
#ifndef HOIST_PRICES_H
#define HOIST_PRICES_H

/*
 * Price tables (docs/cost.md).  providers/prices/<provider>.yaml are embedded
 * in hoist at build time; $HOIST_HOME/prices.yaml, when present, overrides
 * them entry by entry (same provider, sku and region) and may add entries.
 */

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct price_entry {
        char *provider;
        char *sku;    /* "ml.g5.xlarge", "gpu-l40s", or NULL for a user rate */
        char *region; /* NULL: any */
        char *unit;   /* "instance-hour" | "second" | "gpu-hour" | "node-hour" | "cpu-hour" */
        char *currency;
        char *source;         /* where the number comes from and its date */
        double price;         /* per unit, on-demand */
        double spot_discount; /* 0..1, 0 when none */
        /* instance specs where the provider sells instances, else 0/NULL */
        int64_t gpus, vcpus;
        double memory_gib, gpu_memory_gib;
        char *gpu_type;
};

struct prices;

/* Loads the embedded tables, then HOME_DIR/prices.yaml when it exists
 * (HOME_DIR NULL: the embedded tables alone).  Errors name the file, the line
 * and the field. */
int prices_load(const char *home_dir, struct prices **ret, struct hoist_error **err);
void prices_free(struct prices *p);
/* An empty table, for prices_parse. */
struct prices *prices_new(void);
/* Adds the entries of one prices file (TEXT, LEN bytes; NAME labels errors)
 * to P, each replacing an entry with the same provider, sku and region.  An
 * entry with no source of its own or the file's gets DEFAULT_SOURCE; with
 * that NULL too, it is an error. */
int prices_parse(const char *text, size_t len, const char *name, const char *default_source,
                 struct prices *p, struct hoist_error **err);
size_t prices_count(const struct prices *p);
const struct price_entry *prices_at(const struct prices *p, size_t i);
/* The entry for PROVIDER's SKU in REGION: an entry for that region first, then
 * one for any region.  SKU NULL finds the provider's user rate.  NULL when
 * there is none. */
const struct price_entry *prices_find(const struct prices *p, const char *provider, const char *sku,
                                      const char *region);

static inline void prices_freep(struct prices **p)
{
        prices_free(*p);
}
#define _cleanup_prices_ __attribute__((cleanup(prices_freep)))

#endif
