/* SPDX-License-Identifier: MIT */
#ifndef HOIST_REPLICATE_SETTINGS_H
#define HOIST_REPLICATE_SETTINGS_H

/*
 * job.yaml's replicate: section (docs/providers/replicate.md "Settings"),
 * with the submitting machine's HOIST_REPLICATE_* variables filling what it
 * leaves out, checked when job.yaml is loaded; and the copy the provider
 * keeps in run/<id>/replicate.json for later attempts.
 */

#include "config.h"
#include "error.h"

struct replicate_settings {
        char *model;           /* "owner/name": the image goes to r8.im/owner/name */
        char *hardware;        /* "gpu-l40s"; NULL: chosen from resources: */
        char *destination;     /* "owner/name" that receives the trained version; NULL: model */
        char *webhook;         /* URL Replicate's webhooks go to; NULL: hoist serve's, else none */
        char **webhook_events; /* webhook_events_filter; NULL: start, completed */
};

struct replicate_settings *replicate_settings_new(void);
void replicate_settings_free(struct replicate_settings *s);

/* Checks NODE, job.yaml's replicate: section (NULL: none), then fills what
 * it leaves out from the environment.  Errors name FILE:line and the field. */
int replicate_settings_load(const struct config_node *node, const char *file,
                            struct replicate_settings **ret, struct hoist_error **err);

char *replicate_settings_to_json(const struct replicate_settings *s);
int replicate_settings_from_json(const char *text, size_t len, const char *name,
                                 struct replicate_settings **ret, struct hoist_error **err);

/* Whether NAME is "owner/name" as Replicate spells models: lowercase
 * letters, digits, '-', '_' and '.', not starting with '.' or '-'. */
int replicate_model_valid(const char *name);
/* Whether SKU looks like a Replicate hardware sku ("gpu-l40s", "cpu"). */
int replicate_hardware_valid(const char *sku);
/* Whether EV is a webhook event Replicate knows: start, output, logs, completed. */
int replicate_event_valid(const char *ev);

static inline void replicate_settings_freep(struct replicate_settings **s)
{
        replicate_settings_free(*s);
}
#define _cleanup_replicate_settings_ __attribute__((cleanup(replicate_settings_freep)))

#endif
