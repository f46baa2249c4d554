/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "kube.h"
#include "kubeconfig.h"
#include "kubeexec.h"
#include "xalloc.h"

static char tmpdir[] = "/tmp/hoist-kubeconfig-XXXXXX";

/* base64 of "CA PEM", "CERT PEM", "KEY PEM" */
#define CA_B64 "Q0EgUEVN"
#define CERT_B64 "Q0VSVCBQRU0="
#define KEY_B64 "S0VZIFBFTQ=="

static char *tpath(const char *name)
{
        return xasprintf("%s/%s", tmpdir, name);
}

static void write_file(const char *name, const char *text, mode_t mode)
{
        _cleanup_free_ char *p = tpath(name);
        _cleanup_free_ char *dir = xstrdup(p);
        FILE *f;

        *strrchr(dir, '/') = '\0';
        assert_int_equal(fs_mkdir_p(dir, 0755, NULL), 0);
        f = fopen(p, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        assert_int_equal(chmod(p, mode), 0);
}

static void clean_env(void)
{
        unsetenv("KUBECONFIG");
        unsetenv("KUBERNETES_SERVICE_HOST");
        unsetenv("KUBERNETES_SERVICE_PORT");
        _cleanup_free_ char *home = tpath("home");
        _cleanup_free_ char *sa = tpath("no-sa");
        _cleanup_free_ char *kc = tpath("home/.kube/config");
        (void)unlink(kc);
        setenv("HOME", home, 1);
        setenv("HOIST_KUBE_SA_DIR", sa, 1);
}

static int setup(void **state)
{
        (void)state;
        assert_non_null(mkdtemp(tmpdir));
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        return fs_remove_tree(tmpdir, NULL);
}

static struct kube_config *load_ok(const char *context)
{
        struct kube_config *c = NULL;
        struct hoist_error *err = NULL;

        if (kube_config_load(context, &c, &err) < 0)
                fail_msg("kube_config_load: %s", err->msg);
        return c;
}

static char *load_err(const char *context)
{
        struct kube_config *c = NULL;
        struct hoist_error *err = NULL;

        assert_int_equal(kube_config_load(context, &c, &err), -1);
        assert_null(c);
        assert_non_null(err);
        char *msg = xstrdup(err->msg);
        hoist_error_free(err);
        return msg;
}

static const char *const FIRST = "apiVersion: v1\n"
                                 "kind: Config\n"
                                 "current-context: dev\n"
                                 "clusters:\n"
                                 "- name: shared\n"
                                 "  cluster: {server: 'https://first:6443/'}\n"
                                 "- name: only-first\n"
                                 "  cluster:\n"
                                 "    server: https://one:443\n"
                                 "    certificate-authority: certs/ca.pem\n"
                                 "contexts:\n"
                                 "- name: dev\n"
                                 "  context: {cluster: shared, user: alice}\n"
                                 "users:\n"
                                 "- name: alice\n"
                                 "  user: {token: tok-first}\n";

static const char *const SECOND = "current-context: prod\n"
                                  "clusters:\n"
                                  "- name: shared\n"
                                  "  cluster: {server: 'https://second:6443'}\n"
                                  "- name: only-second\n"
                                  "  cluster:\n"
                                  "    server: https://two:443\n"
                                  "    certificate-authority-data: " CA_B64 "\n"
                                  "contexts:\n"
                                  "- name: dev\n"
                                  "  context: {cluster: only-second, user: bob}\n"
                                  "- name: prod\n"
                                  "  context: {cluster: only-second, user: bob, namespace: ml}\n"
                                  "- name: mixed\n"
                                  "  context: {cluster: only-first, user: alice}\n"
                                  "users:\n"
                                  "- name: alice\n"
                                  "  user: {token: tok-second}\n"
                                  "- name: bob\n"
                                  "  user:\n"
                                  "    client-certificate-data: " CERT_B64 "\n"
                                  "    client-key-data: " KEY_B64 "\n";

/* kubectl's rule: the first file to set a name wins, whole; current-context
 * from the first file that has one; missing files are skipped. */
static void test_merge(void **state)
{
        (void)state;
        clean_env();
        write_file("a/config", FIRST, 0600);
        write_file("b/config", SECOND, 0600);
        _cleanup_free_ char *a = tpath("a/config"), *b = tpath("b/config");
        _cleanup_free_ char *missing = tpath("missing");
        _cleanup_free_ char *list = xasprintf("%s::%s:%s", a, missing, b);
        setenv("KUBECONFIG", list, 1);

        _cleanup_kube_config_ struct kube_config *c = load_ok(NULL);
        assert_string_equal(c->context, "dev");
        assert_string_equal(c->cluster, "shared");
        assert_string_equal(c->server, "https://first:6443");
        assert_string_equal(c->token, "tok-first");
        assert_string_equal(c->namespace, "default");
        assert_string_equal(c->source, a);

        _cleanup_kube_config_ struct kube_config *p = load_ok("prod");
        assert_string_equal(p->namespace, "ml");
        assert_string_equal(p->server, "https://two:443");
        assert_int_equal(p->ca_data_len, 6);
        assert_memory_equal(p->ca_data, "CA PEM", 6);
        assert_int_equal(p->cert_data_len, 8);
        assert_memory_equal(p->cert_data, "CERT PEM", 8);
        assert_memory_equal(p->key_data, "KEY PEM", 7);
        assert_null(p->token);

        /* a context from the second file naming a cluster and user of the first */
        _cleanup_kube_config_ struct kube_config *m = load_ok("mixed");
        _cleanup_free_ char *ca = tpath("a/certs/ca.pem");
        assert_string_equal(m->ca_file, ca); /* relative to the file that defined it */
        assert_string_equal(m->token, "tok-first");

        /* reversed: the second file's values win */
        _cleanup_free_ char *rev = xasprintf("%s:%s", b, a);
        setenv("KUBECONFIG", rev, 1);
        _cleanup_kube_config_ struct kube_config *r = load_ok(NULL);
        assert_string_equal(r->context, "prod");
        _cleanup_kube_config_ struct kube_config *d = load_ok("dev");
        assert_string_equal(d->cluster, "only-second");
        assert_string_equal(d->user, "bob");

        _cleanup_free_ char *msg = load_err("staging");
        assert_non_null(strstr(msg, "no context 'staging'"));
        assert_non_null(strstr(msg, "'dev'"));
        assert_non_null(strstr(msg, "'prod'"));
}

static void test_home_config(void **state)
{
        (void)state;
        clean_env();
        write_file("home/.kube/config",
                   "current-context: c\n"
                   "clusters: [{name: k, cluster: {server: 'https://h:1', "
                   "insecure-skip-tls-verify: true}}]\n"
                   "contexts: [{name: c, context: {cluster: k, user: u, namespace: x}}]\n"
                   "users: [{name: u, user: {tokenFile: ../tok}}]\n",
                   0600);
        write_file("home/tok", "tok-from-file\n", 0600);
        _cleanup_kube_config_ struct kube_config *c = load_ok(NULL);
        assert_int_equal(c->insecure, 1);
        assert_string_equal(c->token, "tok-from-file");
        _cleanup_free_ char *tf = tpath("home/tok");
        assert_string_equal(c->token_file, tf);
        assert_string_equal(c->namespace, "x");
        /* a copy is deep and equal */
        _cleanup_kube_config_ struct kube_config *d = kube_config_dup(c);
        assert_string_equal(d->token, "tok-from-file");
        assert_ptr_not_equal(d->token, c->token);
        /* KUBECONFIG, when set, replaces ~/.kube/config entirely */
        _cleanup_free_ char *other = tpath("other");
        write_file("other", "", 0600);
        setenv("KUBECONFIG", other, 1);
        _cleanup_free_ char *msg = load_err(NULL);
        assert_non_null(strstr(msg, "no current-context"));
}

static void test_client_cert_files(void **state)
{
        (void)state;
        clean_env();
        write_file("c/kc",
                   "current-context: c\n"
                   "clusters: [{name: k, cluster: {server: 'https://h:1', "
                   "certificate-authority: /abs/ca.crt}}]\n"
                   "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                   "users: [{name: u, user: {client-certificate: pki/u.crt, client-key: "
                   "./pki/u.key}}]\n",
                   0600);
        _cleanup_free_ char *kc = tpath("c/kc");
        setenv("KUBECONFIG", kc, 1);
        _cleanup_kube_config_ struct kube_config *c = load_ok(NULL);
        _cleanup_free_ char *crt = tpath("c/pki/u.crt"), *key = tpath("c/pki/u.key");
        assert_string_equal(c->ca_file, "/abs/ca.crt");
        assert_string_equal(c->cert_file, crt);
        assert_string_equal(c->key_file, key);
        assert_null(c->cert_data);
}

/* Every malformed config gives an error naming the file, the thing, and
 * what to do. */
static void test_errors(void **state)
{
        static const struct {
                const char *user, *cluster, *want;
        } cases[] = {
                {"{client-certificate-data: " CERT_B64 "}", "server: 'https://h:1'",
                 "user 'u': a client certificate without a client key"},
                {"{client-key-data: '!!!!'}", "server: 'https://h:1'",
                 "\"client-key-data\" is not base64"},
                {"{token: t}", "certificate-authority: x", "cluster 'k' has no \"server\""},
                {"{token: t}", "server: 'ftp://h'", "is not an https:// URL"},
                {"{token: t}", "{server: 'https://h', insecure-skip-tls-verify: maybe}",
                 "insecure-skip-tls-verify must be true or false"},
                {"{token: t}",
                 "{server: 'https://h', insecure-skip-tls-verify: true, "
                 "certificate-authority-data: " CA_B64 "}",
                 "cannot go together"},
                {"{auth-provider: {name: gcp}}", "server: 'https://h:1'",
                 "switch the user to its exec plugin"},
                {"{username: a, password: b}", "server: 'https://h:1'", "basic auth"},
                {"{exec: {command: x}}", "server: 'https://h:1'", "exec apiVersion '' is not"},
                {"{exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}}",
                 "server: 'https://h:1'", "client.authentication.k8s.io/v1alpha1' is not"},
                {"{exec: {apiVersion: client.authentication.k8s.io/v1, command: x, "
                 "interactiveMode: Always}}",
                 "server: 'https://h:1'", "needs a terminal"},
                {"{exec: {apiVersion: client.authentication.k8s.io/v1, command: x, env: "
                 "[{name: A}]}}",
                 "server: 'https://h:1'", "\"env\" entry 1 needs"},
                {"{tokenFile: /nonexistent/token}", "server: 'https://h:1'", "user 'u': tokenFile"},
        };
        (void)state;
        clean_env();
        _cleanup_free_ char *kc = tpath("e/kc");
        setenv("KUBECONFIG", kc, 1);
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                _cleanup_free_ char *text =
                        xasprintf("current-context: c\n"
                                  "clusters: [{name: k, cluster: %s%s%s}]\n"
                                  "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                                  "users: [{name: u, user: %s}]\n",
                                  cases[i].cluster[0] == '{' ? "" : "{", cases[i].cluster,
                                  cases[i].cluster[0] == '{' ? "" : "}", cases[i].user);
                write_file("e/kc", text, 0600);
                _cleanup_free_ char *msg = load_err(NULL);
                if (strstr(msg, cases[i].want) == NULL || strstr(msg, kc) == NULL)
                        fail_msg("case %zu: '%s' does not say '%s' and name the file", i, msg,
                                 cases[i].want);
                assert_null(strstr(msg, "S0VZ")); /* no key data quoted */
        }
        /* the YAML itself: the file and line */
        write_file("e/kc", "clusters: [\n", 0600);
        _cleanup_free_ char *msg = load_err(NULL);
        assert_non_null(strstr(msg, kc));
        write_file("e/kc", "current-context: c\ncontexts: [{name: c, context: {cluster: nope}}]\n",
                   0600);
        _cleanup_free_ char *m2 = load_err(NULL);
        assert_non_null(strstr(m2, "context 'c' names cluster 'nope'"));
        write_file("e/kc",
                   "current-context: c\nclusters: [{name: k, cluster: {server: 'https://h'}}]\n"
                   "contexts: [{name: c, context: {cluster: k, user: ghost}}]\n",
                   0600);
        _cleanup_free_ char *m3 = load_err(NULL);
        assert_non_null(strstr(m3, "names user 'ghost'"));
        write_file("e/kc", "- a list\n", 0600);
        _cleanup_free_ char *m4 = load_err(NULL);
        assert_non_null(strstr(m4, "a kubeconfig is a mapping"));
        _cleanup_free_ char *nothing = tpath("nothing-here");
        setenv("KUBECONFIG", nothing, 1);
        _cleanup_free_ char *m5 = load_err(NULL);
        assert_non_null(strstr(m5, "KUBECONFIG names no file that exists"));
}

static void test_in_cluster(void **state)
{
        (void)state;
        clean_env();
        _cleanup_free_ char *sa = tpath("sa");
        write_file("sa/token", "sa-token\n", 0600);
        write_file("sa/ca.crt", "PEM\n", 0600);
        write_file("sa/namespace", "training", 0600);
        setenv("HOIST_KUBE_SA_DIR", sa, 1);
        /* no service host: not in a pod */
        _cleanup_free_ char *msg = load_err(NULL);
        assert_non_null(strstr(msg, "no Kubernetes config"));
        setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
        setenv("KUBERNETES_SERVICE_PORT", "443", 1);
        _cleanup_kube_config_ struct kube_config *c = load_ok(NULL);
        assert_string_equal(c->server, "https://10.96.0.1:443");
        assert_string_equal(c->token, "sa-token");
        _cleanup_free_ char *ca = tpath("sa/ca.crt"), *tok = tpath("sa/token");
        assert_string_equal(c->ca_file, ca);
        assert_string_equal(c->token_file, tok);
        assert_string_equal(c->namespace, "training");
        assert_int_equal(c->in_cluster, 1);
        setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
        unsetenv("KUBERNETES_SERVICE_PORT");
        _cleanup_kube_config_ struct kube_config *v6 = load_ok(NULL);
        assert_string_equal(v6->server, "https://[fd00::1]:443");
        /* a kubeconfig wins over the pod's own account */
        write_file("home/.kube/config",
                   "current-context: c\n"
                   "clusters: [{name: k, cluster: {server: 'https://h:1'}}]\n"
                   "contexts: [{name: c, context: {cluster: k}}]\n",
                   0600);
        _cleanup_kube_config_ struct kube_config *k = load_ok(NULL);
        assert_string_equal(k->server, "https://h:1");
        assert_null(k->user);
        assert_null(k->token);
        _cleanup_free_ char *home = tpath("home/.kube/config");
        (void)unlink(home);
}

static const char *const PLUGIN =
        "#!/bin/sh\n"
        "n=$(($(cat \"$COUNT\" 2>/dev/null || echo 0) + 1)); echo $n >\"$COUNT\"\n"
        "printf '%s' \"$KUBERNETES_EXEC_INFO\" >\"$COUNT.info\"\n"
        "case \"$KUBERNETES_EXEC_INFO\" in *'\"interactive\":false'*) ;; *) exit 9;; esac\n"
        "printf '{\"apiVersion\":\"client.authentication.k8s.io/%s\",\"kind\":"
        "\"ExecCredential\",\"status\":{\"token\":\"tok-%s-'$n'\",\"expirationTimestamp\":"
        "\"%s\"}}' \"$1\" \"$2\" \"$EXPIRES\"\n";

static int plugin_runs(void)
{
        _cleanup_free_ char *p = tpath("count"), *data = NULL;
        size_t len = 0;

        if (fs_read_file(p, &data, &len, NULL) < 0)
                return 0;
        return atoi(data);
}

static struct kube_config *exec_config(const char *version, const char *expires)
{
        _cleanup_free_ char *count = tpath("count");
        _cleanup_free_ char *text = xasprintf(
                "current-context: c\n"
                "clusters: [{name: k, cluster: {server: 'https://h:1'}}]\n"
                "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                "users:\n"
                "- name: u\n"
                "  user:\n"
                "    exec:\n"
                "      apiVersion: client.authentication.k8s.io/%s\n"
                "      command: ./plugin.sh\n"
                "      args: ['%s', eks]\n"
                "      env: [{name: COUNT, value: '%s'}, {name: EXPIRES, value: '%s'}]\n"
                "      installHint: install plugin.sh\n"
                "      provideClusterInfo: %s\n",
                version, version, count, expires, strcmp(version, "v1") == 0 ? "true" : "false");
        _cleanup_free_ char *kc = tpath("x/kc");
        write_file("x/kc", text, 0600);
        write_file("x/plugin.sh", PLUGIN, 0755);
        setenv("KUBECONFIG", kc, 1);
        (void)unlink(count);
        return load_ok(NULL);
}

static void test_exec_plugin(void **state)
{
        (void)state;
        clean_env();
        /* v1, expiring far away: run once, cached */
        _cleanup_kube_config_ struct kube_config *c = exec_config("v1", "2099-01-01T00:00:00Z");
        _cleanup_free_ char *cmd = tpath("x/plugin.sh");
        assert_string_equal(c->exec_argv[0], cmd); /* "./" resolved against the file */
        assert_string_equal(c->exec_argv[1], "v1");
        assert_string_equal(c->exec_argv[2], "eks");
        assert_null(c->exec_argv[3]);
        assert_string_equal(c->exec_api_version, "client.authentication.k8s.io/v1");
        assert_string_equal(c->exec_install_hint, "install plugin.sh");
        _cleanup_kube_client_ struct kube_client *k = NULL;
        assert_int_equal(kube_client_new(c, &k, NULL), 0);
        for (int i = 0; i < 3; i++)
                assert_int_equal(kube_client_prepare_credentials(k, 0, NULL), 0);
        assert_int_equal(plugin_runs(), 1);
        /* forced (after a 401): run again */
        assert_int_equal(kube_client_prepare_credentials(k, 1, NULL), 0);
        assert_int_equal(plugin_runs(), 2);
        /* what kubectl tells a plugin: not interactive, and the cluster when asked */
        _cleanup_free_ char *info_path = tpath("count.info"), *info = NULL;
        size_t info_len = 0;
        assert_int_equal(fs_read_file(info_path, &info, &info_len, NULL), 0);
        assert_string_equal(info, "{\"apiVersion\":\"client.authentication.k8s.io/v1\","
                                  "\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":"
                                  "false,\"cluster\":{\"server\":\"https://h:1\"}}}");

        /* v1beta1, already expired: every use runs it again */
        _cleanup_kube_config_ struct kube_config *e =
                exec_config("v1beta1", "2001-01-01T00:00:00+01:00");
        _cleanup_kube_client_ struct kube_client *ke = NULL;
        assert_int_equal(kube_client_new(e, &ke, NULL), 0);
        for (int i = 0; i < 3; i++)
                assert_int_equal(kube_client_prepare_credentials(ke, 0, NULL), 0);
        assert_int_equal(plugin_runs(), 3);
        _cleanup_free_ char *info2 = NULL;
        assert_int_equal(fs_read_file(info_path, &info2, &info_len, NULL), 0);
        assert_null(strstr(info2, "cluster"));
}

static void test_exec_plugin_fails(void **state)
{
        (void)state;
        clean_env();
        write_file("f/kc",
                   "current-context: c\n"
                   "clusters: [{name: k, cluster: {server: 'https://h:1'}}]\n"
                   "contexts: [{name: c, context: {cluster: k, user: eks-admin}}]\n"
                   "users: [{name: eks-admin, user: {exec: {apiVersion: "
                   "client.authentication.k8s.io/v1, command: ./fail.sh}}}]\n",
                   0600);
        write_file("f/fail.sh",
                   "#!/bin/sh\necho 'line one' >&2\necho 'Token has expired, run aws sso "
                   "login' >&2\nexit 255\n",
                   0755);
        _cleanup_free_ char *kc = tpath("f/kc"), *cmd = tpath("f/fail.sh");
        setenv("KUBECONFIG", kc, 1);
        _cleanup_kube_config_ struct kube_config *c = load_ok(NULL);
        _cleanup_kube_client_ struct kube_client *k = NULL;
        _cleanup_error_ struct hoist_error *err = NULL;
        assert_int_equal(kube_client_new(c, &k, NULL), 0);
        assert_int_equal(kube_client_prepare_credentials(k, 0, &err), -1);
        _cleanup_free_ char *want =
                xasprintf("kubeconfig '%s': user 'eks-admin': exec credential plugin '%s' failed "
                          "(exit 255): line one Token has expired, run aws sso login",
                          kc, cmd);
        assert_string_equal(err->msg, want);
        hoist_error_release(&err);

        /* prints something that is not a credential */
        write_file("f/fail.sh", "#!/bin/sh\necho '{\"kind\":\"Secret\"}'\n", 0755);
        assert_int_equal(kube_client_prepare_credentials(k, 0, &err), -1);
        assert_non_null(strstr(err->msg, "printed no ExecCredential"));
        hoist_error_release(&err);

        /* a command that does not exist */
        write_file("f/kc",
                   "current-context: c\n"
                   "clusters: [{name: k, cluster: {server: 'https://h:1'}}]\n"
                   "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                   "users: [{name: u, user: {exec: {apiVersion: "
                   "client.authentication.k8s.io/v1, command: hoist-no-such-plugin, "
                   "installHint: 'brew install it'}}}]\n",
                   0600);
        _cleanup_kube_config_ struct kube_config *m = load_ok(NULL);
        _cleanup_kube_client_ struct kube_client *km = NULL;
        assert_int_equal(kube_client_new(m, &km, NULL), 0);
        assert_int_equal(kube_client_prepare_credentials(km, 0, &err), -1);
        assert_non_null(strstr(err->msg, "hoist-no-such-plugin"));
        assert_non_null(strstr(err->msg, "brew install it"));
}

static void test_exec_credential_parse(void **state)
{
        static const char *const V1 = "client.authentication.k8s.io/v1";
        static const struct {
                const char *json, *want_err;
                int64_t expires;
        } cases[] = {
                {"{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                 "\"status\":{\"token\":\"t\"}}",
                 NULL, 0},
                {"{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                 "\"status\":{\"token\":\"t\",\"expirationTimestamp\":\"2026-12-06T21:00:00Z\"}}",
                 NULL, 1796590800},
                {"{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                 "\"status\":{\"clientCertificateData\":\"C\",\"clientKeyData\":\"K\","
                 "\"expirationTimestamp\":\"2026-12-06T22:00:00.123456+01:00\"}}",
                 NULL, 1796590800},
                {"{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":"
                 "\"ExecCredential\",\"status\":{\"token\":\"t\"}}",
                 "but the kubeconfig asks for", 0},
                {"{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                 "\"status\":{\"clientCertificateData\":\"C\"}}",
                 "without a key", 0},
                {"{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                 "\"status\":{}}",
                 "neither a token", 0},
                {"{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\"}",
                 "no \"status\"", 0},
                {"{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                 "\"status\":{\"token\":\"t\",\"expirationTimestamp\":\"tomorrow\"}}",
                 "not an RFC 3339 time", 0},
                {"{\"token\": \"secret-in-broken-json", "not JSON", 0},
        };
        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                struct kube_exec_credential c = {0};
                struct hoist_error *err = NULL;
                int r = kube_exec_credential_parse(cases[i].json, strlen(cases[i].json), V1, &c,
                                                   &err);
                if (cases[i].want_err == NULL) {
                        if (r != 0)
                                fail_msg("case %zu: %s", i, err->msg);
                        assert_int_equal(c.expires, cases[i].expires);
                        assert_true(c.token != NULL || (c.cert_data && c.key_data));
                        kube_exec_credential_clear(&c);
                } else {
                        assert_int_equal(r, -1);
                        if (strstr(err->msg, cases[i].want_err) == NULL)
                                fail_msg("case %zu: '%s'", i, err->msg);
                        assert_null(strstr(err->msg, "secret"));
                        hoist_error_free(err);
                }
        }
        assert_int_equal(kube_parse_time("1970-01-01T00:00:00Z"), 0);
        assert_int_equal(kube_parse_time("1970-01-01T01:00:00+01:00"), 0);
        assert_int_equal(kube_parse_time("1970-01-01T00:00:00"), -1);
        assert_int_equal(kube_parse_time("1970-13-01T00:00:00Z"), -1);
        assert_int_equal(kube_parse_time("1970-01-01T00:00:00.Z"), -1);
        assert_int_equal(kube_parse_time(NULL), -1);
}

static void test_watch_event(void **state)
{
        const char *type = NULL;
        json_t *obj = NULL;
        struct hoist_error *err = NULL;
        static const char *const bad[] = {
                "",
                "[]",
                "{\"type\":\"ADDED\"}",
                "{\"type\":\"ADDED\",\"object\":[]}",
                "{\"type\":\"RENAMED\",\"object\":{}}",
                "{\"object\":{}}",
                "{\"type\":\"ADDED\",\"type\":\"DELETED\",\"object\":{}}",
        };
        (void)state;
        const char *line = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"metadata\":"
                           "{\"resourceVersion\":\"12\"}}}";
        assert_int_equal(kube_watch_parse_event(line, strlen(line), &type, &obj, &err), 0);
        assert_string_equal(type, "BOOKMARK");
        assert_string_equal(json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                              "resourceVersion")),
                            "12");
        json_decref(obj);
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                obj = NULL;
                assert_int_equal(kube_watch_parse_event(bad[i], strlen(bad[i]), &type, &obj, &err),
                                 -1);
                assert_null(obj);
                hoist_error_release(&err);
        }
        json_auto_t *st = json_pack("{s:s,s:s,s:i}", "reason", "NotFound", "message",
                                    "jobs.batch \"x\" not found", "code", 404);
        _cleanup_free_ char *m = kube_status_message(404, st);
        assert_string_equal(m, "HTTP 404 NotFound: jobs.batch \"x\" not found");
        _cleanup_free_ char *m2 = kube_status_message(502, NULL);
        assert_string_equal(m2, "HTTP 502");
        _cleanup_free_ char *q = kube_query_escape("app=x,tier in (a b)");
        assert_string_equal(q, "app%3Dx%2Ctier%20in%20%28a%20b%29");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_merge),
                cmocka_unit_test(test_home_config),
                cmocka_unit_test(test_client_cert_files),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_in_cluster),
                cmocka_unit_test(test_exec_plugin),
                cmocka_unit_test(test_exec_plugin_fails),
                cmocka_unit_test(test_exec_credential_parse),
                cmocka_unit_test(test_watch_event),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
