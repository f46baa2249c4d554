/* SPDX-License-Identifier: MIT */
#ifndef HOIST_KUBECONFIG_H
#define HOIST_KUBECONFIG_H

/*
 * Where a Kubernetes API server is and how to authenticate to it, read the
 * way kubectl reads it:
 *   - KUBECONFIG: a ':'-separated list of files, merged as kubectl merges
 *     them (the first file to set a map key wins, for contexts, clusters and
 *     users by name; current-context from the first file that has one);
 *   - else $HOME/.kube/config;
 *   - else in-cluster: the service account's token, ca.crt and namespace
 *     under /var/run/secrets/kubernetes.io/serviceaccount (HOIST_KUBE_SA_DIR
 *     moves that root, for tests only) and KUBERNETES_SERVICE_HOST/PORT.
 * Relative paths in a kubeconfig resolve against that file's directory.
 * Errors name the file, the context or user, and what to do.
 *
 * The loaded config holds secrets (token, key data): it never reaches a log
 * line or an error message.
 */

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct kube_config {
        char *context, *cluster, *user, *namespace; /* namespace: the context's, else "default" */
        char *server;                               /* https://host:port, no trailing '/' */
        char *ca_file;                              /* certificate-authority (absolute) */
        char *ca_data;                              /* certificate-authority-data (PEM, decoded) */
        size_t ca_data_len;
        int insecure; /* insecure-skip-tls-verify */
        char *token;  /* token, or tokenFile's content as loaded */
        char *cert_file, *key_file;
        char *cert_data; /* client-certificate-data (PEM, decoded) */
        size_t cert_data_len;
        char *key_data; /* client-key-data (PEM, decoded) */
        size_t key_data_len;
        /* exec plugin: */
        char **exec_argv;       /* command, then args; NULL when the user has none */
        char **exec_env;        /* "NAME=value" added to the plugin's environment */
        char *exec_api_version; /* client.authentication.k8s.io/v1 or v1beta1 */

        /* Beyond the contract, for messages and re-reading: */
        char *token_file;              /* tokenFile (absolute); re-read when the server says 401 */
        char *source;                  /* the file the user came from, or "in-cluster" */
        char *exec_install_hint;       /* installHint, shown when the command is missing */
        int exec_provide_cluster_info; /* provideClusterInfo: the cluster in KUBERNETES_EXEC_INFO */
        int in_cluster;
};

/* Loads CONTEXT (NULL: the current-context) from the kubeconfig chain
 * above.  Fails with HOIST_ERR_INPUT naming the file when a file is
 * malformed, and with HOIST_ERR_NOT_FOUND when there is no config at all. */
int kube_config_load(const char *context, struct kube_config **ret, struct hoist_error **err);
void kube_config_free(struct kube_config *cfg);
/* A deep copy. */
struct kube_config *kube_config_dup(const struct kube_config *cfg);

/* ---- pure helpers (unit-tested and fuzzed) ---- */

/* Parses one kubeconfig file's TEXT (NAME labels errors; DIR, when not NULL,
 * is the directory relative paths resolve against) and merges it into
 * *MERGED (a JSON object {"current-context", "contexts":{name:{...}},
 * "clusters":{...}, "users":{...}} that this creates when *MERGED is NULL),
 * keeping what an earlier file set. */
int kube_config_merge_text(const char *text, size_t len, const char *name, const char *dir,
                           json_t **merged, struct hoist_error **err);
/* Resolves CONTEXT (NULL: current-context) in a merged document. */
int kube_config_resolve(json_t *merged, const char *context, struct kube_config **ret,
                        struct hoist_error **err);

static inline void kube_config_freep(struct kube_config **c)
{
        kube_config_free(*c);
}
#define _cleanup_kube_config_ __attribute__((cleanup(kube_config_freep)))

#endif
