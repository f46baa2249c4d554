/* SPDX-License-Identifier: MIT */
/*
 * kubecurl: drives lib/kubeconfig and lib/kube from the integration tests.
 * It loads the kubeconfig as hoist does (KUBECONFIG, ~/.kube/config,
 * in-cluster), does one thing and prints what came back:
 *   kubecurl [--context NAME] config
 *   kubecurl [--context NAME] request METHOD PATH [BODY]
 *   kubecurl [--context NAME] watch PATH [RESOURCE_VERSION [TIMEOUT_S [MAX_EVENTS]]]
 *   kubecurl [--context NAME] stream PATH
 *   kubecurl [--context NAME] creds [COUNT]
 */
#include <curl/curl.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "kube.h"
#include "kubeconfig.h"

static void usage(FILE *f)
{
        fprintf(f, "usage: kubecurl [--context NAME] config\n"
                   "       kubecurl [--context NAME] request METHOD PATH [BODY]\n"
                   "       kubecurl [--context NAME] watch PATH [RV [TIMEOUT_S [MAX_EVENTS]]]\n"
                   "       kubecurl [--context NAME] stream PATH\n"
                   "       kubecurl [--context NAME] creds [COUNT]\n"
                   "Loads the kubeconfig as hoist does and prints what the API server "
                   "answered.\n");
}

static int print_config(const struct kube_config *c)
{
        const char *auth = c->exec_argv    ? "exec"
                           : c->cert_data  ? "client-certificate-data"
                           : c->cert_file  ? "client-certificate"
                           : c->token_file ? "tokenFile"
                           : c->token      ? "token"
                                           : "none";

        printf("context=%s\ncluster=%s\nuser=%s\nnamespace=%s\nserver=%s\n", c->context, c->cluster,
               c->user ? c->user : "", c->namespace, c->server);
        printf("ca=%s\ninsecure=%d\nauth=%s\nsource=%s\n",
               c->ca_data   ? "data"
               : c->ca_file ? c->ca_file
                            : "none",
               c->insecure, auth, c->source);
        return 0;
}

struct watch_state {
        long max, seen;
};

static int on_event(void *ud, const char *type, json_t *obj)
{
        struct watch_state *w = ud;
        json_t *md = json_object_get(obj, "metadata");
        const char *name = json_string_value(json_object_get(md, "name"));
        const char *rv = json_string_value(json_object_get(md, "resourceVersion"));

        printf("event %s %s %s\n", type, name ? name : "-", rv ? rv : "-");
        fflush(stdout);
        w->seen++;
        return w->max > 0 && w->seen >= w->max;
}

static int run(struct kube_client *k, int argc, char **argv, struct hoist_error **err)
{
        const char *op = argv[0];

        if (strcmp(op, "request") == 0 && (argc == 3 || argc == 4)) {
                json_auto_t *doc = NULL;
                long status = 0;
                if (kube_request(k, argv[1], argv[2], NULL, argc == 4 ? argv[3] : NULL, &status,
                                 &doc, err) < 0)
                        return -1;
                _cleanup_free_ char *text =
                        doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
                printf("status %ld\n%s\n", status, text ? text : "");
                if (status >= 300) {
                        _cleanup_free_ char *msg = kube_status_message(status, doc);
                        printf("message %s\n", msg);
                }
                return 0;
        }
        if (strcmp(op, "watch") == 0 && argc >= 2 && argc <= 5) {
                struct watch_state w = {.max = argc >= 5 ? atol(argv[4]) : 0};
                _cleanup_free_ char *rv = NULL;
                int r = kube_watch(k, argv[1], argc >= 3 && *argv[2] ? argv[2] : NULL,
                                   argc >= 4 ? atoi(argv[3]) : 0, on_event, &w, &rv, err);
                if (r < 0)
                        return -1;
                printf("result %s rv=%s\n", r == KUBE_WATCH_GONE ? "gone" : "ended", rv ? rv : "");
                return 0;
        }
        if (strcmp(op, "stream") == 0 && argc == 2) {
                fflush(stdout);
                return kube_stream(k, argv[1], STDOUT_FILENO, err);
        }
        if (strcmp(op, "creds") == 0 && argc <= 2) {
                int n = argc == 2 ? atoi(argv[1]) : 1;
                for (int i = 0; i < n; i++)
                        if (kube_client_prepare_credentials(k, 0, err) < 0)
                                return -1;
                printf("creds ok\n");
                return 0;
        }
        usage(stderr);
        return -2;
}

int main(int argc, char **argv)
{
        _cleanup_kube_config_ struct kube_config *cfg = NULL;
        _cleanup_kube_client_ struct kube_client *k = NULL;
        struct hoist_error *err = NULL;
        const char *context = NULL;
        int r;

        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                usage(stdout);
                return 0;
        }
        if (argc >= 3 && strcmp(argv[1], "--context") == 0) {
                context = argv[2];
                argc -= 2;
                argv += 2;
        }
        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (kube_config_load(context, &cfg, &err) < 0)
                goto fail;
        if (strcmp(argv[1], "config") == 0)
                return print_config(cfg);
        if (kube_client_new(cfg, &k, &err) < 0)
                goto fail;
        r = run(k, argc - 1, argv + 1, &err);
        if (r == -2)
                return 2;
        if (r < 0)
                goto fail;
        return 0;
fail:
        fprintf(stderr, "kubecurl: %s\n", err ? err->msg : "failed");
        hoist_error_free(err);
        return 1;
}
