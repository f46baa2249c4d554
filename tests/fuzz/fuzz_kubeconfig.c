/* SPDX-License-Identifier: MIT */
/*
 * kubeconfig files (lib/kubeconfig.c) and the ExecCredential a plugin
 * prints (lib/kubeexec.c): any bytes load or give an error, never a crash or
 * a leak; what loads resolves every context it names to a config with an
 * http(s) server, or to an error.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "kubeconfig.h"
#include "kubeexec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_context(json_t *merged, const char *name)
{
        struct kube_config *c = NULL;
        struct hoist_error *err = NULL;

        if (kube_config_resolve(merged, name, &c, &err) < 0) {
                if (err == NULL || c != NULL)
                        abort();
                hoist_error_free(err);
                return;
        }
        if (err != NULL || c->server == NULL || c->namespace == NULL ||
            (strncmp(c->server, "https://", 8) != 0 && strncmp(c->server, "http://", 7) != 0))
                abort();
        if ((c->cert_data || c->cert_file) != (c->key_data || c->key_file))
                abort();
        struct kube_config *d = kube_config_dup(c);
        if (strcmp(d->server, c->server) != 0)
                abort();
        kube_config_free(d);
        kube_config_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        json_t *merged = NULL;
        struct hoist_error *err = NULL;
        struct kube_exec_credential cred = {0};
        const char *key;
        json_t *v;

        if (kube_config_merge_text((const char *)data, size, "fuzz", "/base", &merged, &err) < 0) {
                if (err == NULL)
                        abort();
                hoist_error_release(&err);
        } else {
                check_context(merged, NULL);
                json_object_foreach(json_object_get(merged, "contexts"), key, v)
                        check_context(merged, key);
                json_decref(merged);
        }
        if (kube_exec_credential_parse((const char *)data, size, "client.authentication.k8s.io/v1",
                                       &cred, &err) < 0) {
                if (err == NULL)
                        abort();
                hoist_error_release(&err);
        } else {
                if (cred.token == NULL && cred.cert_data == NULL)
                        abort();
                kube_exec_credential_clear(&cred);
        }
        return 0;
}
