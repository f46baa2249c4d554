/* SPDX-License-Identifier: MIT */
/*
 * The price tables' parser reads $HOIST_HOME/prices.yaml, a file a person
 * writes (docs/cost.md).  Any bytes give entries or an error, never a crash
 * or a leak; every entry that loads has a provider, a unit hoist knows, a
 * source, a currency and a price that is a finite number >= 0, and an
 * override never duplicates a (provider, sku, region).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "providers/prices.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const char *a, const char *b)
{
        return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct prices *p = prices_new();
        struct hoist_error *err = NULL;

        /* Twice: the second pass overrides every entry of the first. */
        for (int pass = 0; pass < 2; pass++) {
                if (prices_parse((const char *)data, size, "prices.yaml",
                                 pass ? "your prices.yaml" : NULL, p, &err) < 0) {
                        if (err == NULL || err->msg == NULL)
                                abort();
                        hoist_error_free(err);
                        err = NULL;
                }
        }
        for (size_t i = 0; i < prices_count(p); i++) {
                const struct price_entry *e = prices_at(p, i);
                if (e->provider == NULL || e->unit == NULL || e->source == NULL ||
                    e->currency == NULL || !isfinite(e->price) || e->price < 0 ||
                    e->spot_discount < 0 || e->spot_discount > 1)
                        abort();
                for (size_t j = 0; j < i; j++) {
                        const struct price_entry *o = prices_at(p, j);
                        if (same(o->provider, e->provider) && same(o->sku, e->sku) &&
                            same(o->region, e->region))
                                abort();
                }
                if (prices_find(p, e->provider, e->sku, e->region) == NULL)
                        abort();
        }
        prices_free(p);
        return 0;
}
