/* SPDX-License-Identifier: MIT */
#ifndef HOIST_PRICES_DATA_H
#define HOIST_PRICES_DATA_H

#include <stddef.h>

/* The price tables embedded at build time (scripts/embed-prices.sh). */
struct prices_table {
        const char *name; /* "sagemaker.yaml" */
        const char *text;
        size_t len;
};

/* Ends with an entry whose name is NULL. */
extern const struct prices_table prices_tables[];

#endif
