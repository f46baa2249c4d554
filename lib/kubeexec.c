/* SPDX-License-Identifier: MIT */
#include "kubeexec.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cleanup.h"
#include "proc.h"
#include "xalloc.h"

/* What a plugin may print: a credential is a few KiB. */
#define EXEC_MAX_OUTPUT (1024 * 1024)
#define STDERR_QUOTE 400

static int digits(const char *s, int n, int *ret)
{
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (!isdigit((unsigned char)s[i]))
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return 0;
}

int64_t kube_parse_time(const char *s)
{
        int Y, M, D, h, m, sec, oh = 0, om = 0, sign = 0;
        const char *p;
        struct tm tm = {0};

        if (s == NULL || strlen(s) < 20 || s[4] != '-' || s[7] != '-' ||
            (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
                return -1;
        if (digits(s, 4, &Y) < 0 || digits(s + 5, 2, &M) < 0 || digits(s + 8, 2, &D) < 0 ||
            digits(s + 11, 2, &h) < 0 || digits(s + 14, 2, &m) < 0 || digits(s + 17, 2, &sec) < 0)
                return -1;
        if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
                return -1;
        p = s + 19;
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char)*p))
                        return -1;
                while (isdigit((unsigned char)*p))
                        p++;
        }
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                sign = *p == '-' ? -1 : 1;
                if (strlen(p) != 6 || p[3] != ':' || digits(p + 1, 2, &oh) < 0 ||
                    digits(p + 4, 2, &om) < 0 || oh > 23 || om > 59)
                        return -1;
                p += 6;
        } else {
                return -1;
        }
        if (*p != '\0')
                return -1;
        tm.tm_year = Y - 1900;
        tm.tm_mon = M - 1;
        tm.tm_mday = D;
        tm.tm_hour = h;
        tm.tm_min = m;
        tm.tm_sec = sec;
        time_t t = timegm(&tm);
        if (t == (time_t)-1)
                return -1;
        return (int64_t)t - sign * (int64_t)(oh * 3600 + om * 60);
}

void kube_exec_credential_clear(struct kube_exec_credential *c)
{
        if (c->token)
                explicit_bzero(c->token, strlen(c->token));
        free(c->token);
        free(c->cert_data);
        if (c->key_data)
                explicit_bzero(c->key_data, c->key_data_len);
        free(c->key_data);
        memset(c, 0, sizeof *c);
}

static char *dup_str(json_t *s, size_t *ret_len)
{
        const char *v = json_string_value(s);

        if (v == NULL || *v == '\0')
                return NULL;
        if (ret_len)
                *ret_len = json_string_length(s);
        return xstrndup(v, json_string_length(s));
}

int kube_exec_credential_parse(const char *text, size_t len, const char *api_version,
                               struct kube_exec_credential *ret, struct hoist_error **err)
{
        json_error_t jerr;
        json_auto_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        struct kube_exec_credential c = {0};

        /* jerr.text may quote the input, which is a secret: say where, not what. */
        if (doc == NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "the ExecCredential is not JSON (line %d, column %d)",
                                        jerr.line, jerr.column);
        if (!json_is_object(doc))
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "the ExecCredential is not a JSON object");
        const char *kind = json_string_value(json_object_get(doc, "kind"));
        const char *api = json_string_value(json_object_get(doc, "apiVersion"));
        if (kind == NULL || strcmp(kind, "ExecCredential") != 0)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "the plugin printed no ExecCredential (kind is not "
                                        "\"ExecCredential\")");
        if (api == NULL || (api_version != NULL && strcmp(api, api_version) != 0))
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "the plugin answered apiVersion '%.80s' but the "
                                        "kubeconfig asks for '%s'",
                                        api ? api : "", api_version ? api_version : "");
        json_t *status = json_object_get(doc, "status");
        if (!json_is_object(status))
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "the ExecCredential has no \"status\"");
        c.token = dup_str(json_object_get(status, "token"), NULL);
        c.cert_data = dup_str(json_object_get(status, "clientCertificateData"), &c.cert_data_len);
        c.key_data = dup_str(json_object_get(status, "clientKeyData"), &c.key_data_len);
        if ((c.cert_data == NULL) != (c.key_data == NULL)) {
                kube_exec_credential_clear(&c);
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "the ExecCredential has a client certificate without a "
                                        "key, or a key without a certificate");
        }
        if (c.token == NULL && c.cert_data == NULL) {
                kube_exec_credential_clear(&c);
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "the ExecCredential has neither a token nor a client "
                                        "certificate");
        }
        json_t *exp = json_object_get(status, "expirationTimestamp");
        if (exp != NULL && !json_is_null(exp)) {
                c.expires = kube_parse_time(json_string_value(exp));
                if (c.expires < 0) {
                        kube_exec_credential_clear(&c);
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "the ExecCredential's expirationTimestamp is not "
                                                "an RFC 3339 time");
                }
        }
        *ret = c;
        return 0;
}

/* STDERR, one line, shortened, for a message. */
static char *quote_stderr(struct buf *b)
{
        size_t n = b->len;

        while (n > 0 && (b->data[n - 1] == '\n' || b->data[n - 1] == ' '))
                n--;
        if (n == 0)
                return xstrdup("(nothing on stderr)");
        const char *start = b->data;
        if (n > STDERR_QUOTE) {
                start = b->data + n - STDERR_QUOTE;
                n = STDERR_QUOTE;
        }
        char *q = xmalloc(n + 1);
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)start[i];
                q[i] = ch == '\n' || ch == '\t' ? ' ' : (ch < 0x20 || ch == 0x7f ? '?' : (char)ch);
        }
        q[n] = '\0';
        return q;
}

/* KUBERNETES_EXEC_INFO=<the ExecCredential spec kubectl would give>. */
static char *exec_info(const char *api_version, json_t *cluster)
{
        json_auto_t *spec = json_pack("{s:b}", "interactive", 0);
        if (cluster != NULL)
                json_object_set(spec, "cluster", cluster);
        json_auto_t *info = json_pack("{s:s,s:s,s:O}", "apiVersion",
                                      api_version ? api_version : "client.authentication.k8s.io/v1",
                                      "kind", "ExecCredential", "spec", spec);
        _cleanup_free_ char *text = json_dumps(info, JSON_COMPACT);
        return xasprintf("KUBERNETES_EXEC_INFO=%s", text);
}

int kube_exec_run(char *const *argv, char *const *env, const char *api_version, json_t *cluster,
                  struct kube_exec_credential *ret, struct hoist_error **err)
{
        _cleanup_buf_ struct buf out = {0}, errb = {0};
        _cleanup_free_ char *info = exec_info(api_version, cluster);
        size_t n = 0;
        int status = 0;

        while (env && env[n])
                n++;
        _cleanup_free_ char **envp = xcalloc(n + 2, sizeof *envp);
        for (size_t i = 0; i < n; i++)
                envp[i] = env[i];
        envp[n] = info;
        if (proc_run_env(argv, envp, &out, &errb, &status, err) < 0)
                return hoist_error_wrap(err, "exec credential plugin");
        if (status != 0) {
                _cleanup_free_ char *q = quote_stderr(&errb);
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "exec credential plugin '%s' failed (exit %d): %s", argv[0],
                                        status, q);
        }
        if (out.len > EXEC_MAX_OUTPUT)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "exec credential plugin '%s' printed more than %d bytes",
                                        argv[0], EXEC_MAX_OUTPUT);
        int r = kube_exec_credential_parse(out.data ? out.data : "", out.len, api_version, ret,
                                           err);
        if (out.data)
                explicit_bzero(out.data, out.len);
        if (r < 0)
                return hoist_error_wrap(err, "exec credential plugin '%s'", argv[0]);
        return 0;
}
