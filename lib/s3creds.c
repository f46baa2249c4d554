/* SPDX-License-Identifier: MIT */
/*
 * The AWS credential chain (see s3creds.h), after the AWS SDKs' "standardized
 * credential providers": environment, shared files, container, web identity,
 * IMDSv2.
 */
#include <curl/curl.h>

#include "s3creds.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "s3_http.h"
#include "s3xml.h"
#include "xalloc.h"

#define CONTAINER_HOST "http://169.254.170.2"
#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_TOKEN_TTL "21600"
#define CREDS_HTTP_TIMEOUT_S 5L
#define IMDS_TIMEOUT_S 2L
/* A credentials file larger than this is not one. */
#define PROFILE_FILE_MAX (1u << 20)

static void free_secret(char *s)
{
        if (s != NULL) {
                OPENSSL_cleanse(s, strlen(s));
                free(s);
        }
}

void s3_credentials_clear(struct s3_credentials *c)
{
        if (c == NULL)
                return;
        free(c->access_key_id);
        free_secret(c->secret_access_key);
        free_secret(c->session_token);
        *c = (struct s3_credentials){0};
}

bool s3_credentials_expiring(const struct s3_credentials *c, time_t now)
{
        return c->expiration != 0 && now >= c->expiration - S3CREDS_REFRESH_MARGIN;
}

void s3_profile_clear(struct s3_profile *p)
{
        if (p == NULL)
                return;
        free(p->access_key_id);
        free_secret(p->secret_access_key);
        free_secret(p->session_token);
        free(p->region);
        free(p->endpoint_url);
        free(p->addressing_style);
        *p = (struct s3_profile){0};
}

/* ---- shared files ---- */

static char *trim(char *s)
{
        char *e;

        while (*s == ' ' || *s == '\t')
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char)e[-1]))
                *--e = '\0';
        return s;
}

static void profile_set(struct s3_profile *p, const char *key, const char *value)
{
        char **slot = NULL;

        if (strcasecmp(key, "aws_access_key_id") == 0)
                slot = &p->access_key_id;
        else if (strcasecmp(key, "aws_secret_access_key") == 0)
                slot = &p->secret_access_key;
        else if (strcasecmp(key, "aws_session_token") == 0)
                slot = &p->session_token;
        else if (strcasecmp(key, "region") == 0)
                slot = &p->region;
        else if (strcasecmp(key, "endpoint_url") == 0 || strcasecmp(key, "s3.endpoint_url") == 0)
                slot = &p->endpoint_url;
        else if (strcasecmp(key, "s3.addressing_style") == 0)
                slot = &p->addressing_style;
        /* The first value wins: the credentials file is read first, and the
         * s3 sub-section's endpoint_url is more specific than the profile's. */
        if (slot != NULL && *value != '\0') {
                if (strcasecmp(key, "s3.endpoint_url") == 0 && *slot != NULL)
                        free(TAKE_PTR(*slot));
                if (*slot == NULL)
                        *slot = xstrdup(value);
        }
}

/* True when the section header text SECTION names PROFILE in this kind of
 * file: "[name]" in credentials, "[profile name]" (or "[default]") in config. */
static bool section_matches(const char *section, const char *profile, bool config)
{
        if (!config)
                return strcmp(section, profile) == 0;
        if (strcmp(profile, "default") == 0 && strcmp(section, "default") == 0)
                return true;
        if (strncmp(section, "profile", 7) != 0 || (section[7] != ' ' && section[7] != '\t'))
                return false;
        section += 7;
        while (*section == ' ' || *section == '\t')
                section++;
        return strcmp(section, profile) == 0;
}

/* Parses TEXT (INI as the AWS CLI writes it, with indented sub-sections such
 * as "s3 =\n  addressing_style = path") and applies PROFILE's keys to RET.
 * Returns 1 when the profile's section was found. */
static int profile_parse(char *text, const char *profile, bool config, struct s3_profile *ret)
{
        bool in_section = false, found = false;
        char parent[64] = "";
        char *save = NULL;

        for (char *line = strtok_r(text, "\n", &save); line != NULL;
             line = strtok_r(NULL, "\n", &save)) {
                bool indented = *line == ' ' || *line == '\t';
                char *s = trim(line), *eq;

                if (*s == '\0' || *s == '#' || *s == ';')
                        continue;
                if (*s == '[' && !indented) {
                        char *end = strrchr(s, ']');
                        if (end == NULL)
                                continue;
                        *end = '\0';
                        in_section = section_matches(trim(s + 1), profile, config);
                        found = found || in_section;
                        parent[0] = '\0';
                        continue;
                }
                if (!in_section || (eq = strchr(s, '=')) == NULL)
                        continue;
                *eq = '\0';
                char *key = trim(s), *value = trim(eq + 1);
                if (!indented)
                        parent[0] = '\0';
                if (!indented && *value == '\0') {
                        (void)snprintf(parent, sizeof parent, "%s", key);
                } else if (indented && parent[0] != '\0') {
                        _cleanup_free_ char *full = xasprintf("%s.%s", parent, key);
                        profile_set(ret, full, value);
                } else {
                        profile_set(ret, key, value);
                }
        }
        return found ? 1 : 0;
}

static int profile_parse_file(const char *path, const char *profile, bool config,
                              struct s3_profile *ret, struct hoist_error **err)
{
        _cleanup_close_ int fd = -1;
        char *data = NULL;
        size_t len = 0;
        int r;

        if (path == NULL)
                return 0;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return hoist_error_errno(err, "open '%s'", path);
        }
        if (fs_read_fd(fd, path, PROFILE_FILE_MAX, &data, &len, err) < 0)
                return -1;
        r = profile_parse(data, profile, config, ret);
        OPENSSL_cleanse(data, len);
        free(data);
        return r;
}

int s3_profile_read(const char *cred_path, const char *config_path, const char *profile,
                    struct s3_profile *ret, struct hoist_error **err)
{
        struct s3_profile p = {0};
        int a, b;

        a = profile_parse_file(cred_path, profile, false, &p, err);
        if (a < 0)
                return -1;
        b = profile_parse_file(config_path, profile, true, &p, err);
        if (b < 0) {
                s3_profile_clear(&p);
                return -1;
        }
        *ret = p;
        return a || b ? 1 : 0;
}

static char *home_path(const char *env, const char *rel)
{
        const char *v = getenv(env), *home;

        if (v != NULL && *v != '\0')
                return xstrdup(v);
        home = getenv("HOME");
        if (home == NULL || *home == '\0')
                return NULL;
        return path_join(home, rel);
}

static const char *env_profile(void)
{
        const char *p = getenv("AWS_PROFILE");

        if (p == NULL || *p == '\0')
                p = getenv("AWS_DEFAULT_PROFILE");
        return p != NULL && *p != '\0' ? p : "default";
}

int s3_profile_read_env(struct s3_profile *ret, struct hoist_error **err)
{
        _cleanup_free_ char *cred = home_path("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
        _cleanup_free_ char *config = home_path("AWS_CONFIG_FILE", ".aws/config");

        return s3_profile_read(cred, config, env_profile(), ret, err);
}

/* ---- times ---- */

int s3_parse_iso8601(const char *s, time_t *ret)
{
        struct tm tm = {0};
        const char *end;

        if (s == NULL)
                return -1;
        end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (end == NULL)
                return -1;
        if (*end == '.') {
                end++;
                if (!isdigit((unsigned char)*end))
                        return -1;
                while (isdigit((unsigned char)*end))
                        end++;
        }
        if (strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0)
                return -1;
        *ret = timegm(&tm);
        return 0;
}

/* ---- the providers ---- */

static int creds_from_env(struct s3_credentials *ret)
{
        const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
        const char *token = getenv("AWS_SESSION_TOKEN");

        if (id == NULL || *id == '\0' || secret == NULL || *secret == '\0')
                return 0;
        *ret = (struct s3_credentials){
                .access_key_id = xstrdup(id),
                .secret_access_key = xstrdup(secret),
                .session_token = token != NULL && *token != '\0' ? xstrdup(token) : NULL,
                .source = "environment",
        };
        return 1;
}

static int creds_from_files(struct s3_credentials *ret, struct hoist_error **err)
{
        struct s3_profile p = {0};
        int r = s3_profile_read_env(&p, err);

        if (r < 0)
                return hoist_error_wrap(err, "AWS shared credentials");
        if (p.access_key_id == NULL || p.secret_access_key == NULL) {
                s3_profile_clear(&p);
                return 0;
        }
        *ret = (struct s3_credentials){.source = "shared files"};
        ret->access_key_id = TAKE_PTR(p.access_key_id);
        ret->secret_access_key = TAKE_PTR(p.secret_access_key);
        ret->session_token = TAKE_PTR(p.session_token);
        s3_profile_clear(&p);
        return 1;
}

/* Reads the JSON credentials of the container endpoint and IMDS:
 * AccessKeyId, SecretAccessKey, Token, Expiration. */
static int creds_from_json(const char *body, const char *what, const char *source,
                           struct s3_credentials *ret, struct hoist_error **err)
{
        json_error_t jerr;
        json_auto_t *root = json_loads(body, 0, &jerr);
        const char *id, *secret, *token, *expiration, *code;
        time_t exp = 0;

        if (root == NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "%s: line %d column %d: %s", what,
                                        jerr.line, jerr.column, jerr.text);
        code = json_string_value(json_object_get(root, "Code"));
        if (code != NULL && strcmp(code, "Success") != 0)
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "%s: Code is '%s'", what, code);
        id = json_string_value(json_object_get(root, "AccessKeyId"));
        secret = json_string_value(json_object_get(root, "SecretAccessKey"));
        token = json_string_value(json_object_get(root, "Token"));
        expiration = json_string_value(json_object_get(root, "Expiration"));
        if (id == NULL || secret == NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "%s: no AccessKeyId or SecretAccessKey in the answer",
                                        what);
        if (expiration != NULL && s3_parse_iso8601(expiration, &exp) < 0)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "%s: Expiration '%s' is not an ISO 8601 time", what,
                                        expiration);
        *ret = (struct s3_credentials){
                .access_key_id = xstrdup(id),
                .secret_access_key = xstrdup(secret),
                .session_token = xstrdup(token),
                .expiration = exp,
                .source = source,
        };
        return 1;
}

/* Plain http is allowed only to the agent on the host or a loopback, as the
 * SDKs require: elsewhere the token would cross a network in the clear. */
static bool container_url_allowed(const char *url)
{
        static const char *const ok[] = {"http://127.",
                                         "http://localhost:",
                                         "http://localhost/",
                                         "http://[::1]",
                                         "http://169.254.170.2:",
                                         "http://169.254.170.2/",
                                         "http://169.254.170.23:",
                                         "http://169.254.170.23/",
                                         "http://[fd00:ec2::23]"};

        if (s3_http_is_https(url))
                return true;
        for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
                if (strncasecmp(url, ok[i], strlen(ok[i])) == 0)
                        return true;
        return false;
}

static char *container_token(struct hoist_error **err)
{
        const char *file = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
        const char *token = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        char *data = NULL;
        size_t len = 0;

        if (file != NULL && *file != '\0') {
                if (fs_read_file(file, &data, &len, err) < 0) {
                        hoist_error_wrap(err, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
                        return NULL;
                }
                while (len > 0 && isspace((unsigned char)data[len - 1]))
                        data[--len] = '\0';
                return data;
        }
        return xstrdup(token != NULL ? token : "");
}

static int creds_from_container(struct s3_credentials *ret, struct hoist_error **err)
{
        const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        _cleanup_free_ char *url = NULL;
        _cleanup_curl_slist_ struct curl_slist *hdrs = NULL;
        _cleanup_buf_ struct buf body = {0};
        long status = 0;

        if (rel != NULL && *rel != '\0')
                url = xasprintf("%s%s%s", CONTAINER_HOST, *rel == '/' ? "" : "/", rel);
        else if (full != NULL && *full != '\0')
                url = xstrdup(full);
        else
                return 0;
        if (!container_url_allowed(url))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "container credentials: '%s' is plain http to a host "
                                        "other than a loopback or the ECS/EKS agent (use https)",
                                        url);
        _cleanup_free_ char *token = container_token(err);
        if (token == NULL)
                return -1;
        if (*token != '\0') {
                _cleanup_free_ char *h = xasprintf("Authorization: %s", token);
                hdrs = curl_slist_append(hdrs, h);
                OPENSSL_cleanse(h, strlen(h));
                OPENSSL_cleanse(token, strlen(token));
        }
        _cleanup_free_ char *what = xasprintf("container credentials from '%s'", url);
        if (s3_http_fetch("GET", url, hdrs, NULL, CREDS_HTTP_TIMEOUT_S, what, &body, &status, err) <
            0)
                return -1;
        if (status != 200)
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "%s: HTTP %ld", what, status);
        return creds_from_json(body.data, what, "container", ret, err);
}

static char *form_escape(const char *s)
{
        char *e = curl_easy_escape(NULL, s, 0);
        char *r = xstrdup(e);

        curl_free(e);
        return r;
}

static int sts_parse(const char *body, size_t len, struct s3_credentials *ret,
                     struct hoist_error **err)
{
        _cleanup_s3xml_ struct s3xml_node *root = NULL;
        const struct s3xml_node *result, *c;
        const char *exp_s;
        time_t exp = 0;

        if (s3xml_parse(body, len, "AssumeRoleWithWebIdentityResponse", &root, err) < 0)
                return -1;
        result = s3xml_child(root, "AssumeRoleWithWebIdentityResult");
        c = result != NULL ? s3xml_child(result, "Credentials") : NULL;
        if (c == NULL || s3xml_child_text(c, "AccessKeyId") == NULL ||
            s3xml_child_text(c, "SecretAccessKey") == NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "no Credentials in the answer");
        exp_s = s3xml_child_text(c, "Expiration");
        if (exp_s != NULL && s3_parse_iso8601(exp_s, &exp) < 0)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "Expiration '%s' is not an ISO 8601 time", exp_s);
        *ret = (struct s3_credentials){
                .access_key_id = xstrdup(s3xml_child_text(c, "AccessKeyId")),
                .secret_access_key = xstrdup(s3xml_child_text(c, "SecretAccessKey")),
                .session_token = xstrdup(s3xml_child_text(c, "SessionToken")),
                .expiration = exp,
                .source = "web identity",
        };
        return 1;
}

static char *sts_endpoint(void)
{
        const char *e = getenv("AWS_ENDPOINT_URL_STS"), *region;

        if (e != NULL && *e != '\0')
                return xstrdup(e);
        region = getenv("AWS_REGION");
        if (region == NULL || *region == '\0')
                region = getenv("AWS_DEFAULT_REGION");
        if (region == NULL || *region == '\0')
                return xstrdup("https://sts.amazonaws.com/");
        return xasprintf("https://sts.%s.amazonaws.com/", region);
}

static int creds_from_web_identity(struct s3_credentials *ret, struct hoist_error **err)
{
        const char *file = getenv("AWS_WEB_IDENTITY_TOKEN_FILE"), *role = getenv("AWS_ROLE_ARN");
        const char *session = getenv("AWS_ROLE_SESSION_NAME");
        _cleanup_free_ char *url = NULL, *token = NULL, *e_role = NULL, *e_session = NULL;
        _cleanup_buf_ struct buf form = {0}, body = {0};
        _cleanup_curl_slist_ struct curl_slist *hdrs = NULL;
        size_t len = 0;
        long status = 0;
        int r;

        if (file == NULL || *file == '\0' || role == NULL || *role == '\0')
                return 0;
        if (fs_read_file(file, &token, &len, err) < 0)
                return hoist_error_wrap(err, "AWS_WEB_IDENTITY_TOKEN_FILE");
        while (len > 0 && isspace((unsigned char)token[len - 1]))
                token[--len] = '\0';
        _cleanup_free_ char *e_token = form_escape(token);
        OPENSSL_cleanse(token, len);
        e_role = form_escape(role);
        e_session = form_escape(session != NULL && *session != '\0' ? session : "hoist");
        /* The token goes in a POST body, never in a URL that could be logged. */
        buf_printf(&form,
                   "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=%s"
                   "&RoleSessionName=%s&WebIdentityToken=%s",
                   e_role, e_session, e_token);
        OPENSSL_cleanse(e_token, strlen(e_token));
        url = sts_endpoint();
        hdrs = curl_slist_append(hdrs, "Content-Type: application/x-www-form-urlencoded");
        _cleanup_free_ char *what = xasprintf("STS AssumeRoleWithWebIdentity at '%s'", url);
        r = s3_http_fetch("POST", url, hdrs, form.data, CREDS_HTTP_TIMEOUT_S * 2, what, &body,
                          &status, err);
        OPENSSL_cleanse(form.data, form.len);
        if (r < 0)
                return -1;
        if (status != 200) {
                _cleanup_s3xml_ struct s3xml_node *root = NULL;
                struct hoist_error *perr = NULL;
                struct s3xml_error xe = {0};
                const struct s3xml_node *e = NULL;
                if (s3xml_parse(body.data, body.len, "ErrorResponse", &root, &perr) == 0)
                        e = s3xml_child(root, "Error");
                hoist_error_release(&perr);
                if (e != NULL && s3xml_parse_error(e, &xe) == 1) {
                        r = hoist_error_make(err, HOIST_ERR_PROVIDER, "%s: %ld %s: %s", what,
                                             status, xe.code ? xe.code : "",
                                             xe.message ? xe.message : "");
                        s3xml_error_clear(&xe);
                        return r;
                }
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "%s: HTTP %ld", what, status);
        }
        if (sts_parse(body.data, body.len, ret, err) < 0)
                return hoist_error_wrap(err, "%s", what);
        return 1;
}

static int creds_from_imds(struct s3_credentials *ret, struct hoist_error **err)
{
        const char *disabled = getenv("AWS_EC2_METADATA_DISABLED");
        const char *endpoint = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        _cleanup_free_ char *base = NULL, *url = NULL, *tok_hdr = NULL;
        _cleanup_curl_slist_ struct curl_slist *hdrs = NULL, *ghdrs = NULL;
        _cleanup_buf_ struct buf tok = {0}, role = {0}, body = {0};
        long status = 0;
        size_t n;

        if (disabled != NULL && strcasecmp(disabled, "true") == 0)
                return 0;
        base = xstrdup(endpoint != NULL && *endpoint != '\0' ? endpoint : IMDS_DEFAULT_ENDPOINT);
        n = strlen(base);
        while (n > 0 && base[n - 1] == '/')
                base[--n] = '\0';

        url = xasprintf("%s/latest/api/token", base);
        hdrs = curl_slist_append(hdrs, "X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL);
        if (s3_http_fetch("PUT", url, hdrs, NULL, IMDS_TIMEOUT_S, "IMDS session token", &tok,
                          &status, err) < 0)
                return -1;
        if (status != 200)
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "IMDS session token: HTTP %ld",
                                        status);
        tok_hdr = xasprintf("X-aws-ec2-metadata-token: %s", trim(tok.data));
        OPENSSL_cleanse(tok.data, tok.len);
        ghdrs = curl_slist_append(ghdrs, tok_hdr);
        OPENSSL_cleanse(tok_hdr, strlen(tok_hdr));

        free(url);
        url = xasprintf("%s/latest/meta-data/iam/security-credentials/", base);
        if (s3_http_fetch("GET", url, ghdrs, NULL, IMDS_TIMEOUT_S, "IMDS role name", &role, &status,
                          err) < 0)
                return -1;
        if (status == 404)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "IMDS: this instance has no IAM role attached");
        if (status != 200)
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "IMDS role name: HTTP %ld",
                                        status);
        char *name = trim(role.data), *nl = strchr(name, '\n');
        if (nl != NULL)
                *nl = '\0';
        if (*name == '\0')
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "IMDS: empty role name");

        free(url);
        url = xasprintf("%s/latest/meta-data/iam/security-credentials/%s", base, name);
        _cleanup_free_ char *what = xasprintf("IMDS credentials of role '%s'", name);
        if (s3_http_fetch("GET", url, ghdrs, NULL, IMDS_TIMEOUT_S, what, &body, &status, err) < 0)
                return -1;
        if (status != 200)
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "%s: HTTP %ld", what, status);
        return creds_from_json(body.data, what, "instance metadata", ret, err);
}

/* ---- the provider ---- */

enum provider_kind { PROVIDER_STATIC, PROVIDER_CHAIN };

struct s3_creds_provider {
        enum provider_kind kind;
        struct s3_credentials creds;
        bool have;
        /* The chain step that answered, so a refresh asks it again. */
        int (*source)(struct s3_credentials *ret, struct hoist_error **err);
};

struct s3_creds_provider *s3_creds_provider_new(void)
{
        struct s3_creds_provider *p = xzalloc(sizeof *p);

        p->kind = PROVIDER_CHAIN;
        return p;
}

struct s3_creds_provider *s3_creds_provider_static(const char *access_key_id,
                                                   const char *secret_access_key,
                                                   const char *session_token)
{
        struct s3_creds_provider *p = xzalloc(sizeof *p);

        p->kind = PROVIDER_STATIC;
        p->creds = (struct s3_credentials){
                .access_key_id = xstrdup(access_key_id),
                .secret_access_key = xstrdup(secret_access_key),
                .session_token = xstrdup(session_token),
                .source = "static",
        };
        p->have = true;
        return p;
}

void s3_creds_provider_free(struct s3_creds_provider *p)
{
        if (p == NULL)
                return;
        s3_credentials_clear(&p->creds);
        free(p);
}

static int creds_from_env_step(struct s3_credentials *ret, struct hoist_error **err)
{
        (void)err;
        return creds_from_env(ret);
}

static int chain_resolve(struct s3_creds_provider *p, struct s3_credentials *ret,
                         struct hoist_error **err)
{
        static int (*const steps[])(struct s3_credentials *, struct hoist_error **) = {
                creds_from_env_step,     creds_from_files, creds_from_container,
                creds_from_web_identity, creds_from_imds,
        };

        if (p->source != NULL) {
                int r = p->source(ret, err);
                if (r != 0)
                        return r;
        }
        for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
                int r = steps[i](ret, err);
                if (r < 0)
                        return -1;
                if (r > 0) {
                        p->source = steps[i];
                        return 1;
                }
        }
        return 0;
}

const struct s3_credentials *s3_creds_get(struct s3_creds_provider *p, struct hoist_error **err)
{
        struct s3_credentials fresh = {0};
        int r;

        if (p->have &&
            (p->kind == PROVIDER_STATIC || !s3_credentials_expiring(&p->creds, time(NULL))))
                return &p->creds;
        r = chain_resolve(p, &fresh, err);
        if (r < 0 && p->have && time(NULL) < p->creds.expiration) {
                /* Still valid for a few minutes: the next call tries again. */
                log_debug("s3: refreshing credentials failed, using the current ones: %s",
                          (*err)->msg);
                hoist_error_release(err);
                return &p->creds;
        }
        if (r < 0) {
                hoist_error_wrap(err, "AWS credentials");
                return NULL;
        }
        if (r == 0) {
                hoist_error_make(err, HOIST_ERR_INPUT,
                                 "no AWS credentials: set AWS_ACCESS_KEY_ID and "
                                 "AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials "
                                 "(AWS_PROFILE)");
                return NULL;
        }
        log_debug("s3: credentials from %s, access key %s", fresh.source, fresh.access_key_id);
        s3_credentials_clear(&p->creds);
        p->creds = fresh;
        p->have = true;
        return &p->creds;
}
