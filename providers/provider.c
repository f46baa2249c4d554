/* SPDX-License-Identifier: MIT */
#include "provider.h"

#include <stdlib.h>
#include <string.h>

static const struct provider_ops *const providers[] = {
        &provider_local,
};

static const char *const names[] = {"local", NULL};

const struct provider_ops *provider_find(const char *name)
{
        for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++)
                if (strcmp(providers[i]->name, name) == 0)
                        return providers[i];
        return NULL;
}

const char *const *provider_names(void)
{
        return names;
}

void provider_status_clear(struct provider_status *st)
{
        free(st->reason);
        st->reason = NULL;
}
