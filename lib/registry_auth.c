/* SPDX-License-Identifier: MIT */
#include "registry_auth.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "xalloc.h"

/* ---- WWW-Authenticate (RFC 7235) ---- */

static int is_tchar(char c)
{
        return isalnum((unsigned char)c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~/:", c));
}

static void skip_ws(const char **p)
{
        while (**p == ' ' || **p == '\t')
                (*p)++;
}

static char *read_token(const char **p)
{
        const char *s = *p;

        while (is_tchar(**p))
                (*p)++;
        return *p > s ? xstrndup(s, (size_t)(*p - s)) : NULL;
}

/* A quoted-string with backslash escapes, *p at the opening quote. */
static char *read_quoted(const char **p, struct hoist_error **err)
{
        struct buf b = {0};

        for ((*p)++; **p != '"'; (*p)++) {
                if (**p == '\\' && (*p)[1] != '\0')
                        (*p)++;
                if (**p == '\0') {
                        buf_free(&b);
                        hoist_error_make(err, HOIST_ERR_INPUT,
                                         "WWW-Authenticate: unterminated quoted string");
                        return NULL;
                }
                buf_append_char(&b, **p);
        }
        (*p)++;
        return buf_take(&b);
}

static void challenge_set(struct registry_challenge *c, const char *name, char *value)
{
        char **slot = NULL;

        if (strcasecmp(name, "realm") == 0)
                slot = &c->realm;
        else if (strcasecmp(name, "service") == 0)
                slot = &c->service;
        else if (strcasecmp(name, "scope") == 0)
                slot = &c->scope;
        else if (strcasecmp(name, "error") == 0)
                slot = &c->error;
        if (slot == NULL) {
                free(value);
                return;
        }
        free(*slot);
        *slot = value;
}

void registry_challenges_free(struct registry_challenge *c, size_t n)
{
        if (c == NULL)
                return;
        for (size_t i = 0; i < n; i++) {
                free(c[i].scheme);
                free(c[i].realm);
                free(c[i].service);
                free(c[i].scope);
                free(c[i].error);
        }
        free(c);
}

int registry_auth_parse_challenges(const char *header, struct registry_challenge **ret,
                                   size_t *ret_n, struct hoist_error **err)
{
        struct registry_challenge *v = NULL;
        size_t n = 0;
        const char *p = header;

        for (;;) {
                while (*p == ' ' || *p == '\t' || *p == ',')
                        p++;
                if (*p == '\0')
                        break;
                _cleanup_free_ char *tok = read_token(&p);
                if (tok == NULL)
                        goto bad;
                skip_ws(&p);
                if (*p == '=' && n > 0) {
                        /* another parameter of the current challenge */
                        char *value;
                        p++;
                        skip_ws(&p);
                        if (*p == '"') {
                                value = read_quoted(&p, err);
                                if (value == NULL)
                                        goto fail;
                        } else {
                                value = read_token(&p);
                                if (value == NULL)
                                        value = xstrdup("");
                        }
                        challenge_set(&v[n - 1], tok, value);
                        skip_ws(&p);
                        if (*p != ',' && *p != '\0' && !is_tchar(*p))
                                goto bad;
                        continue;
                }
                if (*p == '=')
                        goto bad; /* a parameter before any scheme */
                v = xreallocarray(v, n + 1, sizeof *v);
                memset(&v[n], 0, sizeof v[n]);
                for (char *c = tok; *c; c++)
                        *c = (char)tolower((unsigned char)*c);
                v[n++].scheme = TAKE_PTR(tok);
        }
        if (n == 0)
                goto bad;
        *ret = v;
        *ret_n = n;
        return 0;
bad:
        hoist_error_make(err, HOIST_ERR_INPUT, "malformed WWW-Authenticate header");
fail:
        registry_challenges_free(v, n);
        return -1;
}

/* ---- credentials ---- */

void registry_creds_free(struct registry_creds *c)
{
        if (c == NULL)
                return;
        free(c->username);
        if (c->password)
                explicit_bzero(c->password, strlen(c->password));
        free(c->password);
        free(c->source);
        free(c);
}

char *registry_base64_decode(const char *in, size_t *ret_len)
{
        size_t n = strlen(in), pad = 0;
        unsigned char *out;
        int len;

        if (n % 4 != 0)
                return NULL;
        out = xmalloc(n / 4 * 3 + 1);
        len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
        if (len < 0) {
                free(out);
                return NULL;
        }
        while (pad < 2 && n > pad && in[n - 1 - pad] == '=')
                pad++;
        len -= (int)pad;
        out[len] = '\0';
        if (ret_len)
                *ret_len = (size_t)len;
        return (char *)out;
}

char *registry_auth_basic(const struct registry_creds *c)
{
        _cleanup_free_ char *plain = xasprintf("%s:%s", c->username, c->password);
        size_t n = strlen(plain);
        char *out = xmalloc(4 * ((n + 2) / 3) + 1);

        EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)plain, (int)n);
        explicit_bzero(plain, n);
        return out;
}

/* Does the key of an "auths" entry ("https://host/v1/", "host", "host/ns")
 * name HOST? */
static int auth_key_matches(const char *key, const char *host)
{
        size_t n;

        if (strncmp(key, "https://", 8) == 0)
                key += 8;
        else if (strncmp(key, "http://", 7) == 0)
                key += 7;
        n = strcspn(key, "/");
        if (strcmp(host, "docker.io") == 0)
                return (n == 9 && strncmp(key, "docker.io", 9) == 0) ||
                       (n == 15 && strncmp(key, "index.docker.io", 15) == 0) ||
                       (n == 20 && strncmp(key, "registry-1.docker.io", 20) == 0);
        return strlen(host) == n && strncmp(key, host, n) == 0;
}

/* Runs `docker-credential-NAME get` with the server on stdin. */
static int run_helper(const char *name, const char *host, struct registry_creds **ret,
                      struct hoist_error **err)
{
        _cleanup_free_ char *prog = xasprintf("docker-credential-%s", name);
        const char *server = strcmp(host, "docker.io") == 0 ? "https://index.docker.io/v1/" : host;
        int in[2], out[2], status;
        struct buf b = {0};
        char chunk[4096];
        pid_t pid;

        if (pipe2(in, O_CLOEXEC) < 0)
                return hoist_error_errno(err, "credential helper '%s'", prog);
        if (pipe2(out, O_CLOEXEC) < 0) {
                (void)close(in[0]);
                (void)close(in[1]);
                return hoist_error_errno(err, "credential helper '%s'", prog);
        }
        pid = fork();
        if (pid < 0) {
                int e = errno;
                (void)close(in[0]);
                (void)close(in[1]);
                (void)close(out[0]);
                (void)close(out[1]);
                return hoist_error_make(err, e, "credential helper '%s'", prog);
        }
        if (pid == 0) {
                char *const argv[] = {prog, (char *)"get", NULL};
                if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
                        _exit(127);
                execvp(prog, argv);
                _exit(127);
        }
        (void)close(in[0]);
        (void)close(out[1]);
        {
                void (*old)(int) = signal(SIGPIPE, SIG_IGN);
                (void)fs_write_all(in[1], server, strlen(server));
                (void)fs_write_all(in[1], "\n", 1);
                (void)close(in[1]);
                (void)signal(SIGPIPE, old);
        }
        for (;;) {
                ssize_t k = read(out[0], chunk, sizeof chunk);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0 || b.len > (1 << 16))
                        break;
                buf_append(&b, chunk, (size_t)k);
        }
        (void)close(out[0]);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) == 127) {
                buf_free(&b);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "credential helper '%s' for '%s' could not run (is it "
                                        "on PATH?)",
                                        prog, host);
        }
        if (WEXITSTATUS(status) != 0) {
                /* "credentials not found in native keychain" */
                log_debug("credential helper '%s' has nothing for '%s'", prog, host);
                buf_free(&b);
                return 0;
        }
        json_error_t jerr;
        json_auto_t *j = json_loadb(b.data ? b.data : "", b.len, 0, &jerr);
        if (b.data)
                explicit_bzero(b.data, b.len);
        buf_free(&b);
        const char *user = json_string_value(json_object_get(j, "Username"));
        const char *secret = json_string_value(json_object_get(j, "Secret"));
        if (user == NULL || secret == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "credential helper '%s' answered without Username and "
                                        "Secret",
                                        prog);
        struct registry_creds *c = xzalloc(sizeof *c);
        c->username = xstrdup(user);
        c->password = xstrdup(secret);
        c->source = xasprintf("credential helper '%s'", prog);
        *ret = c;
        return 1;
}

static int lookup_file(const char *path, const char *host, struct registry_creds **ret,
                       struct hoist_error **err)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        json_error_t jerr;
        json_t *auths, *helpers, *v;
        const char *key, *store;

        if (!fs_exists(path))
                return 0;
        if (fs_read_file(path, &data, &len, err) < 0)
                return -1;
        json_auto_t *root = json_loadb(data, len, 0, &jerr);
        explicit_bzero(data, len);
        if (!json_is_object(root))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "registry credentials '%s': not a JSON object (line %d): "
                                        "fix or remove it",
                                        path, jerr.line);
        helpers = json_object_get(root, "credHelpers");
        json_object_foreach(helpers, key, v)
        {
                if (json_is_string(v) && auth_key_matches(key, host))
                        return run_helper(json_string_value(v), host, ret, err);
        }
        auths = json_object_get(root, "auths");
        json_object_foreach(auths, key, v)
        {
                const char *a = json_string_value(json_object_get(v, "auth"));
                const char *u = json_string_value(json_object_get(v, "username"));
                const char *pw = json_string_value(json_object_get(v, "password"));
                _cleanup_free_ char *plain = NULL;
                char *colon;

                if (!auth_key_matches(key, host))
                        continue;
                if (a != NULL && *a != '\0') {
                        plain = registry_base64_decode(a, NULL);
                        colon = plain ? strchr(plain, ':') : NULL;
                        if (colon == NULL)
                                return hoist_error_make(err, HOIST_ERR_INPUT,
                                                        "registry credentials '%s': the \"auth\" "
                                                        "of '%s' is not base64 of user:password",
                                                        path, key);
                        struct registry_creds *c = xzalloc(sizeof *c);
                        c->username = xstrndup(plain, (size_t)(colon - plain));
                        c->password = xstrdup(colon + 1);
                        c->source = xstrdup(path);
                        explicit_bzero(plain, strlen(plain));
                        *ret = c;
                        return 1;
                }
                if (u != NULL && pw != NULL) {
                        struct registry_creds *c = xzalloc(sizeof *c);
                        c->username = xstrdup(u);
                        c->password = xstrdup(pw);
                        c->source = xstrdup(path);
                        *ret = c;
                        return 1;
                }
        }
        store = json_string_value(json_object_get(root, "credsStore"));
        if (store != NULL && *store != '\0')
                return run_helper(store, host, ret, err);
        return 0;
}

int registry_auth_lookup(const char *host, struct registry_creds **ret, struct hoist_error **err)
{
        const char *user = getenv("HOIST_REGISTRY_USER");
        const char *pass = getenv("HOIST_REGISTRY_PASSWORD");
        const char *e;
        char *paths[3] = {NULL, NULL, NULL};
        int rc = 0;

        /* credentials for Docker Hub are saved under its historical names */
        if (strcmp(host, "registry-1.docker.io") == 0 || strcmp(host, "index.docker.io") == 0)
                host = "docker.io";
        if (user && *user && pass) {
                struct registry_creds *c = xzalloc(sizeof *c);
                c->username = xstrdup(user);
                c->password = xstrdup(pass);
                c->source = xstrdup("HOIST_REGISTRY_USER/HOIST_REGISTRY_PASSWORD");
                *ret = c;
                return 1;
        }
        if ((e = getenv("REGISTRY_AUTH_FILE")) && *e)
                paths[0] = xstrdup(e);
        if ((e = getenv("XDG_RUNTIME_DIR")) && *e)
                paths[1] = xasprintf("%s/containers/auth.json", e);
        if ((e = getenv("DOCKER_CONFIG")) && *e)
                paths[2] = xasprintf("%s/config.json", e);
        else if ((e = getenv("HOME")) && *e)
                paths[2] = xasprintf("%s/.docker/config.json", e);
        for (size_t i = 0; i < 3 && rc == 0; i++) {
                if (paths[i] == NULL)
                        continue;
                rc = lookup_file(paths[i], host, ret, err);
                if (rc > 0)
                        log_debug("registry '%s': credentials from %s", host, (*ret)->source);
        }
        for (size_t i = 0; i < 3; i++)
                free(paths[i]);
        return rc;
}

/* ---- Bearer tokens ---- */

void registry_token_free(struct registry_token *t)
{
        if (t == NULL)
                return;
        if (t->token)
                explicit_bzero(t->token, strlen(t->token));
        free(t->token);
        free(t);
}

int registry_auth_parse_token(const char *json, size_t len, int64_t now,
                              struct registry_token **ret, struct hoist_error **err)
{
        json_error_t jerr;
        json_auto_t *j = json_loadb(json, len, 0, &jerr);
        const char *tok;
        json_int_t exp = 60;
        struct registry_token *t;

        if (!json_is_object(j))
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "token server answer is not a JSON object");
        tok = json_string_value(json_object_get(j, "token"));
        if (tok == NULL || *tok == '\0')
                tok = json_string_value(json_object_get(j, "access_token"));
        if (tok == NULL || *tok == '\0')
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "token server answered without \"token\" or "
                                        "\"access_token\"");
        if (json_is_integer(json_object_get(j, "expires_in")) &&
            json_integer_value(json_object_get(j, "expires_in")) > 0)
                exp = json_integer_value(json_object_get(j, "expires_in"));
        t = xzalloc(sizeof *t);
        t->token = xstrdup(tok);
        t->expires_at = now + exp;
        *ret = t;
        return 0;
}

static void append_escaped(struct buf *b, const char *s)
{
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (isalnum(c) || strchr("-._~", c))
                        buf_append_char(b, (char)c);
                else
                        buf_printf(b, "%%%02X", c);
        }
}

char *registry_auth_token_url(const char *realm, const char *service, const char *const *scopes,
                              size_t n_scopes)
{
        struct buf b = {0};
        char sep = strchr(realm, '?') ? '&' : '?';

        buf_append_str(&b, realm);
        if (service && *service) {
                buf_printf(&b, "%cservice=", sep);
                append_escaped(&b, service);
                sep = '&';
        }
        for (size_t i = 0; i < n_scopes; i++) {
                buf_printf(&b, "%cscope=", sep);
                append_escaped(&b, scopes[i]);
                sep = '&';
        }
        return buf_take(&b);
}
