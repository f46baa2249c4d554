/* SPDX-License-Identifier: MIT */
#ifndef HOIST_KUBERNETES_SETTINGS_H
#define HOIST_KUBERNETES_SETTINGS_H

/*
 * job.yaml's kubernetes: section (docs/providers/kubernetes.md "Settings"),
 * checked when job.yaml is loaded, and the copy the provider keeps in
 * run/<id>/kubernetes.json for later attempts.  Maps and lists the API
 * takes as they are (node_selector, tolerations, labels, annotations) are
 * kept as JSON, already checked against the API's rules.
 */

#include <jansson.h>

#include "config.h"
#include "error.h"

struct kubernetes_settings {
        char *namespace;         /* NULL: the context's, else "default" */
        char *context;           /* kubeconfig context; NULL: current-context */
        char *service_account;   /* spec.serviceAccountName, or NULL */
        char *image_pull_secret; /* an existing Secret's name, or NULL */
        char *priority_class;    /* spec.priorityClassName, or NULL */
        char *queue;             /* Kueue LocalQueue: the Job is created suspended */
        json_t *node_selector;   /* object of strings, or NULL */
        json_t *tolerations;     /* array of core/v1 Toleration, or NULL */
        json_t *labels;          /* object of strings, or NULL */
        json_t *annotations;     /* object of strings, or NULL */
};

struct kubernetes_settings *kubernetes_settings_new(void);
void kubernetes_settings_free(struct kubernetes_settings *s);

/* Checks NODE (NULL: none), job.yaml's kubernetes: section.  Errors name
 * the file, line and field. */
int kubernetes_settings_load(const struct config_node *node, const char *file,
                             struct kubernetes_settings **ret, struct hoist_error **err);

char *kubernetes_settings_to_json(const struct kubernetes_settings *s);
int kubernetes_settings_from_json(const char *text, size_t len, const char *name,
                                  struct kubernetes_settings **ret, struct hoist_error **err);

/* RFC 1123 label (63 at most: [a-z0-9]([-a-z0-9]*[a-z0-9])?), and
 * subdomain (253 at most, labels joined by dots), as the API server checks
 * object names. */
int kubernetes_dns_label_valid(const char *s);
int kubernetes_dns_subdomain_valid(const char *s);
/* A label key ([prefix/]name) and a label value as the API server checks them. */
int kubernetes_label_key_valid(const char *s);
int kubernetes_label_value_valid(const char *s);

static inline void kubernetes_settings_freep(struct kubernetes_settings **s)
{
        kubernetes_settings_free(*s);
}
#define _cleanup_kubernetes_settings_ __attribute__((cleanup(kubernetes_settings_freep)))

#endif
