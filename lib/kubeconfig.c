/* SPDX-License-Identifier: MIT */
#include "kubeconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "buf.h"
#include "cleanup.h"
#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "registry_auth.h"
#include "xalloc.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
/* The key under which a merged entry remembers the file it came from. */
#define SOURCE_KEY "__source"

/* ---- YAML to JSON, keeping scalars as text ---- */

static json_t *node_to_json(const struct config_node *n)
{
        json_t *j;

        switch (n->type) {
        case CONFIG_SCALAR:
                if (config_is_null(n))
                        return json_null();
                return json_stringn(n->text, n->len);
        case CONFIG_SEQUENCE:
                j = json_array();
                for (size_t i = 0; i < n->n_items; i++)
                        json_array_append_new(j, node_to_json(n->items[i]));
                return j;
        case CONFIG_MAPPING:
                j = json_object();
                for (size_t i = 0; i < n->n_pairs; i++)
                        json_object_set_new(j, n->pairs[i].key, node_to_json(n->pairs[i].value));
                return j;
        }
        return json_null();
}

/* Makes the path under KEY in OBJ absolute against DIR (kubectl's
 * ResolveLocalPaths).  With COMMAND_ONLY_WITH_SLASH, a bare command name
 * stays a PATH lookup. */
static void resolve_path(json_t *obj, const char *key, const char *dir, int command_only_with_slash)
{
        const char *v = json_string_value(json_object_get(obj, key));

        if (v == NULL || *v == '\0' || v[0] == '/' || dir == NULL)
                return;
        if (command_only_with_slash && strchr(v, '/') == NULL)
                return;
        _cleanup_free_ char *joined = path_join(dir, v);
        if (joined[0] == '/') {
                /* filepath.Join's cleaning: "./x" and "a/../x" as kubectl shows them */
                _cleanup_free_ char *clean = path_clean_in_root(joined);
                _cleanup_free_ char *abs = xasprintf("/%s", clean);
                json_object_set_new(obj, key, json_string(abs));
        } else {
                json_object_set_new(obj, key, json_string(joined));
        }
}

/* kind: "clusters", inner: "cluster". */
static int merge_list(const struct config_node *root, const char *kind, const char *inner,
                      const char *name, const char *dir, json_t *merged, struct hoist_error **err)
{
        const struct config_node *list = config_get(root, kind);
        json_t *into = json_object_get(merged, kind);

        if (list == NULL || config_is_null(list))
                return 0;
        if (list->type != CONFIG_SEQUENCE)
                return config_error(list, kind, err, "expected a list of named %ss, got %s", inner,
                                    config_type_name(list->type));
        for (size_t i = 0; i < list->n_items; i++) {
                const struct config_node *item = list->items[i];
                const struct config_node *nm = config_get(item, "name");
                const struct config_node *body = config_get(item, inner);

                if (item->type != CONFIG_MAPPING || nm == NULL || nm->type != CONFIG_SCALAR ||
                    config_is_null(nm))
                        return config_error(item, kind, err,
                                            "each entry needs a \"name\" and a \"%s\" mapping",
                                            inner);
                if (body != NULL && !config_is_null(body) && body->type != CONFIG_MAPPING)
                        return config_error(body, kind, err, "\"%s\" of '%s' must be a mapping",
                                            inner, nm->text);
                if (json_object_get(into, nm->text) != NULL)
                        continue; /* an earlier file set it: the first one wins */
                json_t *obj =
                        body && body->type == CONFIG_MAPPING ? node_to_json(body) : json_object();
                if (strcmp(inner, "cluster") == 0) {
                        resolve_path(obj, "certificate-authority", dir, 0);
                } else if (strcmp(inner, "user") == 0) {
                        resolve_path(obj, "client-certificate", dir, 0);
                        resolve_path(obj, "client-key", dir, 0);
                        resolve_path(obj, "tokenFile", dir, 0);
                        json_t *exec = json_object_get(obj, "exec");
                        if (json_is_object(exec))
                                resolve_path(exec, "command", dir, 1);
                }
                json_object_set_new(obj, SOURCE_KEY, json_string(name));
                json_object_set_new(into, nm->text, obj);
        }
        return 0;
}

/* Only blank lines and comments: kubectl reads that as an empty config. */
static int blank_text(const char *text, size_t len)
{
        for (size_t i = 0; i < len; i++) {
                if (text[i] == '#') {
                        while (i < len && text[i] != '\n')
                                i++;
                } else if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' &&
                           text[i] != '\r') {
                        return 0;
                }
        }
        return 1;
}

int kube_config_merge_text(const char *text, size_t len, const char *name, const char *dir,
                           json_t **merged, struct hoist_error **err)
{
        _cleanup_config_node_ struct config_node *root = NULL;
        json_auto_t *m = *merged ? json_incref(*merged) : NULL;

        if (!blank_text(text, len) && config_parse(text, len, name, &root, err) < 0)
                return hoist_error_wrap(err, "kubeconfig");
        if (m == NULL) {
                m = json_pack("{s:o,s:o,s:o}", "contexts", json_object(), "clusters", json_object(),
                              "users", json_object());
        }
        /* An empty file is an empty config, as kubectl reads it. */
        if (root == NULL || (root->type == CONFIG_SCALAR && config_is_null(root)))
                goto done;
        if (root->type != CONFIG_MAPPING)
                return config_error(root, NULL, err, "a kubeconfig is a mapping, not %s",
                                    config_type_name(root->type));
        if (merge_list(root, "clusters", "cluster", name, dir, m, err) < 0 ||
            merge_list(root, "users", "user", name, dir, m, err) < 0 ||
            merge_list(root, "contexts", "context", name, dir, m, err) < 0)
                return -1;
        const struct config_node *cur = config_get(root, "current-context");
        if (cur != NULL && cur->type == CONFIG_SCALAR && !config_is_null(cur) &&
            json_object_get(m, "current-context") == NULL) {
                json_object_set_new(m, "current-context", json_string(cur->text));
                json_object_set_new(m, "current-context-source", json_string(name));
        }
        {
                json_t *files = json_object_get(m, "files");
                if (files == NULL)
                        json_object_set_new(m, "files", files = json_array());
                json_array_append_new(files, json_string(name));
        }
done:
        if (*merged == NULL)
                *merged = json_incref(m);
        return 0;
}

/* ---- resolving a context ---- */

static const char *jstr(json_t *obj, const char *key)
{
        const char *s = json_string_value(json_object_get(obj, key));
        return s && *s ? s : NULL;
}

static char *files_list(json_t *merged)
{
        struct buf b = {0};
        size_t i;
        json_t *f;

        json_array_foreach(json_object_get(merged, "files"), i, f)
        {
                if (i > 0)
                        buf_append_str(&b, ", ");
                buf_printf(&b, "'%s'", json_string_value(f));
        }
        if (b.len == 0)
                buf_append_str(&b, "(no files)");
        return buf_take(&b);
}

static char *names_list(json_t *obj)
{
        struct buf b = {0};
        const char *k;
        json_t *v;

        json_object_foreach(obj, k, v)
        {
                buf_printf(&b, "%s'%s'", b.len ? ", " : "", k);
        }
        if (b.len == 0)
                buf_append_str(&b, "none");
        return buf_take(&b);
}

static int decode_data(const char *b64, const char *src, const char *what, const char *key,
                       const char *owner, char **ret, size_t *ret_len, struct hoist_error **err)
{
        /* Tolerate the line breaks some tools wrap base64 with. */
        _cleanup_free_ char *clean = xmalloc(strlen(b64) + 1);
        size_t n = 0;

        for (const char *p = b64; *p; p++)
                if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t')
                        clean[n++] = *p;
        clean[n] = '\0';
        char *out = registry_base64_decode(clean, ret_len);
        if (out == NULL)
                return hoist_error_make(
                        err, HOIST_ERR_INPUT,
                        "kubeconfig '%s': %s '%s': \"%s\" is not base64 (paste "
                        "the PEM file's base64, or use \"%s\" with a file path)",
                        src, what, owner, key,
                        strcmp(key, "certificate-authority-data") == 0 ? "certificate-authority"
                        : strcmp(key, "client-key-data") == 0          ? "client-key"
                                                                       : "client-certificate");
        *ret = out;
        return 0;
}

static int read_token_file(const char *path, const char *src, const char *user, char **ret,
                           struct hoist_error **err)
{
        char *data = NULL;
        size_t len = 0;

        if (fs_read_file(path, &data, &len, err) < 0)
                return hoist_error_wrap(err, "kubeconfig '%s': user '%s': tokenFile", src, user);
        while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' ' ||
                           data[len - 1] == '\t'))
                data[--len] = '\0';
        *ret = data;
        return 0;
}

static int resolve_exec(json_t *exec, const char *src, const char *uname, struct kube_config *c,
                        struct hoist_error **err)
{
        const char *cmd = jstr(exec, "command");
        const char *api = jstr(exec, "apiVersion");
        const char *mode = jstr(exec, "interactiveMode");
        json_t *args = json_object_get(exec, "args"), *env = json_object_get(exec, "env"), *v;
        size_t i, n = 0;

        if (cmd == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "kubeconfig '%s': user '%s': exec has no \"command\"", src,
                                        uname);
        if (api == NULL || (strcmp(api, "client.authentication.k8s.io/v1") != 0 &&
                            strcmp(api, "client.authentication.k8s.io/v1beta1") != 0))
                return hoist_error_make(
                        err, HOIST_ERR_INPUT,
                        "kubeconfig '%s': user '%s': exec apiVersion '%s' is not supported (use "
                        "client.authentication.k8s.io/v1 or v1beta1)",
                        src, uname, api ? api : "");
        if (mode != NULL && strcmp(mode, "Always") == 0)
                return hoist_error_make(
                        err, HOIST_ERR_INPUT,
                        "kubeconfig '%s': user '%s': the exec plugin '%s' needs a terminal "
                        "(interactiveMode: Always); hoist runs it non-interactively: log in "
                        "with the plugin first, or set interactiveMode: IfAvailable",
                        src, uname, cmd);
        if (args != NULL && !json_is_array(args) && !json_is_null(args))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "kubeconfig '%s': user '%s': exec \"args\" must be a list",
                                        src, uname);
        c->exec_argv = xcalloc(json_array_size(args) + 2, sizeof(char *));
        c->exec_argv[n++] = xstrdup(cmd);
        json_array_foreach(args, i, v)
        {
                if (!json_is_string(v))
                        return hoist_error_make(
                                err, HOIST_ERR_INPUT,
                                "kubeconfig '%s': user '%s': exec \"args\" must be strings", src,
                                uname);
                c->exec_argv[n++] = xstrdup(json_string_value(v));
        }
        if (env != NULL && !json_is_array(env) && !json_is_null(env))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "kubeconfig '%s': user '%s': exec \"env\" must be a list "
                                        "of {name, value}",
                                        src, uname);
        c->exec_env = xcalloc(json_array_size(env) + 1, sizeof(char *));
        n = 0;
        json_array_foreach(env, i, v)
        {
                const char *en = jstr(v, "name");
                const char *ev = json_string_value(json_object_get(v, "value"));
                if (en == NULL || ev == NULL || strchr(en, '=') != NULL)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "kubeconfig '%s': user '%s': exec \"env\" entry "
                                                "%zu needs a \"name\" (without '=') and a "
                                                "\"value\"",
                                                src, uname, i + 1);
                c->exec_env[n++] = xasprintf("%s=%s", en, ev);
        }
        c->exec_api_version = xstrdup(api);
        c->exec_install_hint = xstrdup(jstr(exec, "installHint"));
        const char *pci = jstr(exec, "provideClusterInfo");
        c->exec_provide_cluster_info = pci != NULL && strcasecmp(pci, "true") == 0;
        return 0;
}

static int resolve_user(json_t *u, const char *uname, struct kube_config *c,
                        struct hoist_error **err)
{
        const char *src = jstr(u, SOURCE_KEY);
        const char *s;

        if (json_object_get(u, "auth-provider") != NULL)
                return hoist_error_make(
                        err, HOIST_ERR_INPUT,
                        "kubeconfig '%s': user '%s': auth-provider plugins were removed from "
                        "Kubernetes clients; switch the user to its exec plugin "
                        "(gke-gcloud-auth-plugin, kubelogin, aws eks get-token)",
                        src, uname);
        if (jstr(u, "username") != NULL || jstr(u, "password") != NULL)
                return hoist_error_make(
                        err, HOIST_ERR_INPUT,
                        "kubeconfig '%s': user '%s': basic auth (username/password) is not "
                        "supported; use a token, a client certificate or an exec plugin",
                        src, uname);
        if ((s = jstr(u, "token")) != NULL) {
                c->token = xstrdup(s);
        } else if ((s = jstr(u, "tokenFile")) != NULL) {
                c->token_file = xstrdup(s);
                if (read_token_file(s, src, uname, &c->token, err) < 0)
                        return -1;
        }
        if ((s = jstr(u, "client-certificate-data")) != NULL) {
                if (decode_data(s, src, "user", "client-certificate-data", uname, &c->cert_data,
                                &c->cert_data_len, err) < 0)
                        return -1;
        } else {
                c->cert_file = xstrdup(jstr(u, "client-certificate"));
        }
        if ((s = jstr(u, "client-key-data")) != NULL) {
                if (decode_data(s, src, "user", "client-key-data", uname, &c->key_data,
                                &c->key_data_len, err) < 0)
                        return -1;
        } else {
                c->key_file = xstrdup(jstr(u, "client-key"));
        }
        int has_cert = c->cert_data || c->cert_file, has_key = c->key_data || c->key_file;
        if (has_cert != has_key)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "kubeconfig '%s': user '%s': a client %s without a client "
                                        "%s; set both client-certificate(-data) and "
                                        "client-key(-data)",
                                        src, uname, has_cert ? "certificate" : "key",
                                        has_cert ? "key" : "certificate");
        json_t *exec = json_object_get(u, "exec");
        if (exec != NULL && !json_is_null(exec)) {
                if (!json_is_object(exec))
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "kubeconfig '%s': user '%s': \"exec\" must be a "
                                                "mapping",
                                                src, uname);
                if (resolve_exec(exec, src, uname, c, err) < 0)
                        return -1;
        }
        return 0;
}

static int resolve_cluster(json_t *cl, const char *cname, struct kube_config *c,
                           struct hoist_error **err)
{
        const char *src = jstr(cl, SOURCE_KEY);
        const char *server = jstr(cl, "server"), *s;

        if (server == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "kubeconfig '%s': cluster '%s' has no \"server\" (set it "
                                        "to the API server's https:// URL)",
                                        src, cname);
        if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "kubeconfig '%s': cluster '%s': server '%s' is not an "
                                        "https:// URL",
                                        src, cname, server);
        c->server = xstrdup(server);
        size_t n = strlen(c->server);
        while (n > 0 && c->server[n - 1] == '/')
                c->server[--n] = '\0';
        if ((s = jstr(cl, "certificate-authority-data")) != NULL) {
                if (decode_data(s, src, "cluster", "certificate-authority-data", cname, &c->ca_data,
                                &c->ca_data_len, err) < 0)
                        return -1;
        } else {
                c->ca_file = xstrdup(jstr(cl, "certificate-authority"));
        }
        if ((s = jstr(cl, "insecure-skip-tls-verify")) != NULL) {
                if (strcasecmp(s, "true") == 0)
                        c->insecure = 1;
                else if (strcasecmp(s, "false") != 0)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "kubeconfig '%s': cluster '%s': "
                                                "insecure-skip-tls-verify must be true or false",
                                                src, cname);
        }
        if (c->insecure && (c->ca_data || c->ca_file))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "kubeconfig '%s': cluster '%s': a certificate authority "
                                        "and insecure-skip-tls-verify: true cannot go together "
                                        "(remove one)",
                                        src, cname);
        return 0;
}

int kube_config_resolve(json_t *merged, const char *context, struct kube_config **ret,
                        struct hoist_error **err)
{
        _cleanup_kube_config_ struct kube_config *c = xzalloc(sizeof *c);
        _cleanup_free_ char *files = files_list(merged);
        const char *name = context ? context : jstr(merged, "current-context");
        json_t *contexts = json_object_get(merged, "contexts");

        if (name == NULL) {
                _cleanup_free_ char *names = names_list(contexts);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "kubeconfig %s: no current-context; name one with "
                                        "--context (contexts: %s) or run 'kubectl config "
                                        "use-context NAME'",
                                        files, names);
        }
        json_t *ctx = json_object_get(contexts, name);
        if (ctx == NULL) {
                _cleanup_free_ char *names = names_list(contexts);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "kubeconfig %s: no context '%s' (contexts: %s)", files,
                                        name, names);
        }
        const char *src = jstr(ctx, SOURCE_KEY);
        const char *cname = jstr(ctx, "cluster"), *uname = jstr(ctx, "user");
        json_t *cl = cname ? json_object_get(json_object_get(merged, "clusters"), cname) : NULL;
        if (cl == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "kubeconfig '%s': context '%s' names cluster '%s', "
                                        "which no file in %s defines",
                                        src, name, cname ? cname : "", files);
        c->context = xstrdup(name);
        c->cluster = xstrdup(cname);
        c->source = xstrdup(src);
        c->namespace = xstrdup(jstr(ctx, "namespace") ? jstr(ctx, "namespace") : "default");
        if (resolve_cluster(cl, cname, c, err) < 0)
                return -1;
        if (uname != NULL) {
                json_t *u = json_object_get(json_object_get(merged, "users"), uname);
                if (u == NULL)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "kubeconfig '%s': context '%s' names user '%s', "
                                                "which no file in %s defines",
                                                src, name, uname, files);
                c->user = xstrdup(uname);
                if (resolve_user(u, uname, c, err) < 0)
                        return -1;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- loading ---- */

static int merge_file(const char *path, json_t **merged, struct hoist_error **err)
{
        _cleanup_free_ char *data = NULL, *dir = NULL;
        size_t len = 0;
        struct stat st;

        if (stat(path, &st) == 0 && st.st_size > CONFIG_MAX_SIZE)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "kubeconfig '%s' is larger than %d bytes", path,
                                        CONFIG_MAX_SIZE);
        if (fs_read_file(path, &data, &len, err) < 0)
                return hoist_error_wrap(err, "kubeconfig");
        dir = xstrdup(path);
        char *slash = strrchr(dir, '/');
        if (slash == NULL) {
                free(dir);
                dir = xstrdup(".");
        } else {
                slash[slash == dir ? 1 : 0] = '\0';
        }
        _cleanup_free_ char *absdir = realpath(dir, NULL);
        return kube_config_merge_text(data, len, path, absdir ? absdir : dir, merged, err);
}

static int load_in_cluster(struct kube_config **ret, struct hoist_error **err)
{
        const char *root = getenv("HOIST_KUBE_SA_DIR");
        const char *host = getenv("KUBERNETES_SERVICE_HOST");
        const char *port = getenv("KUBERNETES_SERVICE_PORT");
        _cleanup_kube_config_ struct kube_config *c = xzalloc(sizeof *c);

        if (root == NULL || *root == '\0')
                root = SA_DIR;
        _cleanup_free_ char *tok = path_join(root, "token");
        _cleanup_free_ char *ca = path_join(root, "ca.crt");
        _cleanup_free_ char *ns = path_join(root, "namespace");
        if (host == NULL || *host == '\0' || !fs_exists(tok))
                return hoist_error_make(
                        err, HOIST_ERR_NOT_FOUND,
                        "no Kubernetes config: set KUBECONFIG, create ~/.kube/config, or run "
                        "hoist in a pod with a service account (KUBERNETES_SERVICE_HOST and %s)",
                        tok);
        if (port == NULL || *port == '\0')
                port = "443";
        c->server = strchr(host, ':') ? xasprintf("https://[%s]:%s", host, port)
                                      : xasprintf("https://%s:%s", host, port);
        c->token_file = xstrdup(tok);
        if (read_token_file(tok, "in-cluster", "serviceaccount", &c->token, err) < 0)
                return -1;
        if (fs_exists(ca))
                c->ca_file = TAKE_PTR(ca);
        if (fs_exists(ns)) {
                char *data = NULL;
                if (read_token_file(ns, "in-cluster", "serviceaccount", &data, err) < 0)
                        return -1;
                c->namespace = data;
        }
        if (c->namespace == NULL || *c->namespace == '\0') {
                free(c->namespace);
                c->namespace = xstrdup("default");
        }
        c->context = xstrdup("in-cluster");
        c->cluster = xstrdup("in-cluster");
        c->user = xstrdup("serviceaccount");
        c->source = xstrdup("in-cluster");
        c->in_cluster = 1;
        *ret = TAKE_PTR(c);
        return 0;
}

int kube_config_load(const char *context, struct kube_config **ret, struct hoist_error **err)
{
        json_auto_t *merged = NULL;
        const char *env = getenv("KUBECONFIG");
        const char *home = getenv("HOME");

        if (env != NULL && *env != '\0') {
                _cleanup_free_ char *copy = xstrdup(env);
                char *save = NULL;
                for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
                        if (!fs_exists(p)) {
                                log_debug("kubeconfig '%s' does not exist, ignoring", p);
                                continue;
                        }
                        if (merge_file(p, &merged, err) < 0)
                                return -1;
                }
                if (merged == NULL)
                        return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                                "KUBECONFIG names no file that exists ('%s'); fix "
                                                "it or unset it",
                                                env);
        } else if (home != NULL && *home != '\0') {
                _cleanup_free_ char *path = path_join(home, ".kube/config");
                if (fs_exists(path) && merge_file(path, &merged, err) < 0)
                        return -1;
        }
        if (merged == NULL) {
                if (context != NULL)
                        return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                                "no kubeconfig holds context '%s': set KUBECONFIG "
                                                "or create ~/.kube/config",
                                                context);
                return load_in_cluster(ret, err);
        }
        return kube_config_resolve(merged, context, ret, err);
}

/* ---- lifetime ---- */

static void free_secret(char *s, size_t len)
{
        if (s == NULL)
                return;
        explicit_bzero(s, len ? len : strlen(s));
        free(s);
}

void kube_config_free(struct kube_config *c)
{
        if (c == NULL)
                return;
        free(c->context);
        free(c->cluster);
        free(c->user);
        free(c->namespace);
        free(c->server);
        free(c->ca_file);
        free(c->ca_data);
        free_secret(c->token, 0);
        free(c->cert_file);
        free(c->key_file);
        free(c->cert_data);
        free_secret(c->key_data, c->key_data_len);
        strv_free(c->exec_argv);
        strv_free(c->exec_env);
        free(c->exec_api_version);
        free(c->token_file);
        free(c->source);
        free(c->exec_install_hint);
        free(c);
}

static char *dup_mem(const char *p, size_t len)
{
        if (p == NULL)
                return NULL;
        char *d = xmalloc(len + 1);
        memcpy(d, p, len);
        d[len] = '\0';
        return d;
}

static char **dup_strv(char *const *v)
{
        size_t n = 0;

        if (v == NULL)
                return NULL;
        while (v[n])
                n++;
        char **d = xcalloc(n + 1, sizeof *d);
        for (size_t i = 0; i < n; i++)
                d[i] = xstrdup(v[i]);
        return d;
}

struct kube_config *kube_config_dup(const struct kube_config *c)
{
        struct kube_config *d = xzalloc(sizeof *d);

        d->context = xstrdup(c->context);
        d->cluster = xstrdup(c->cluster);
        d->user = xstrdup(c->user);
        d->namespace = xstrdup(c->namespace);
        d->server = xstrdup(c->server);
        d->ca_file = xstrdup(c->ca_file);
        d->ca_data = dup_mem(c->ca_data, c->ca_data_len);
        d->ca_data_len = c->ca_data_len;
        d->insecure = c->insecure;
        d->token = xstrdup(c->token);
        d->cert_file = xstrdup(c->cert_file);
        d->key_file = xstrdup(c->key_file);
        d->cert_data = dup_mem(c->cert_data, c->cert_data_len);
        d->cert_data_len = c->cert_data_len;
        d->key_data = dup_mem(c->key_data, c->key_data_len);
        d->key_data_len = c->key_data_len;
        d->exec_argv = dup_strv(c->exec_argv);
        d->exec_env = dup_strv(c->exec_env);
        d->exec_api_version = xstrdup(c->exec_api_version);
        d->token_file = xstrdup(c->token_file);
        d->source = xstrdup(c->source);
        d->exec_install_hint = xstrdup(c->exec_install_hint);
        d->exec_provide_cluster_info = c->exec_provide_cluster_info;
        d->in_cluster = c->in_cluster;
        return d;
}
