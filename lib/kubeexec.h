/* SPDX-License-Identifier: MIT */
#ifndef HOIST_KUBEEXEC_H
#define HOIST_KUBEEXEC_H

/*
 * Kubernetes exec credential plugins (client.authentication.k8s.io v1 and
 * v1beta1), the way EKS, GKE and AKS clusters authenticate: run the command
 * with its args and env (KUBERNETES_EXEC_INFO set, interactiveMode Never,
 * stdin from /dev/null), read the ExecCredential it prints.
 */

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct kube_exec_credential {
        char *token;
        char *cert_data; /* clientCertificateData (PEM) */
        size_t cert_data_len;
        char *key_data; /* clientKeyData (PEM) */
        size_t key_data_len;
        int64_t expires; /* unix seconds; 0: never (until a 401) */
};

/* Parses the ExecCredential a plugin printed.  API_VERSION is the one the
 * kubeconfig asked for; the credential's apiVersion must match it.  Errors
 * never quote the credential. */
int kube_exec_credential_parse(const char *json, size_t len, const char *api_version,
                               struct kube_exec_credential *ret, struct hoist_error **err);
void kube_exec_credential_clear(struct kube_exec_credential *c);

/* Runs ARGV with ENV ("NAME=value", added to the environment; may be NULL)
 * and parses what it prints.  CLUSTER (may be NULL) is the spec.cluster
 * object KUBERNETES_EXEC_INFO carries for a plugin with provideClusterInfo.
 * A failure names the command and quotes its stderr (shortened). */
int kube_exec_run(char *const *argv, char *const *env, const char *api_version, json_t *cluster,
                  struct kube_exec_credential *ret, struct hoist_error **err);

/* An RFC 3339 time ("2026-12-06T21:00:00Z", with or without fraction or a
 * +hh:mm offset) in unix seconds; -1 when it is not one. */
int64_t kube_parse_time(const char *s);

#endif
