/* SPDX-License-Identifier: MIT */
#include "ecr.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "awsjson.h"
#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

int ecr_registry_host(const char *host, char **ret_region)
{
        const char *test = getenv("HOIST_ECR_REGISTRY");
        const char *p = host, *region, *end;

        if (host == NULL)
                return 0;
        if (test != NULL && *test != '\0' && strcmp(host, test) == 0) {
                if (ret_region != NULL)
                        *ret_region = awsjson_default_region();
                return ret_region == NULL || *ret_region != NULL;
        }
        for (; isdigit((unsigned char)*p); p++)
                ;
        if (p - host != 12 || strncmp(p, ".dkr.ecr.", 9) != 0)
                return 0;
        region = p + 9;
        end = strstr(region, ".amazonaws.com");
        if (end == NULL || end == region ||
            (strcmp(end, ".amazonaws.com") != 0 && strcmp(end, ".amazonaws.com.cn") != 0))
                return 0;
        for (const char *q = region; q < end; q++)
                if (!islower((unsigned char)*q) && !isdigit((unsigned char)*q) && *q != '-')
                        return 0;
        if (ret_region != NULL)
                *ret_region = xstrndup(region, (size_t)(end - region));
        return 1;
}

int ecr_parse_token(json_t *o, char **ret_user, char **ret_password, struct hoist_error **err)
{
        json_t *a = json_object_get(o, "authorizationData");
        json_t *tok = json_object_get(json_array_get(a, 0), "authorizationToken");
        _cleanup_free_ char *plain = NULL;
        size_t len = 0;
        char *colon;

        if (!json_is_string(tok))
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "GetAuthorizationToken: the answer has no "
                                        "authorizationData[0].authorizationToken");
        plain = registry_base64_decode(json_string_value(tok), &len);
        if (plain == NULL || memchr(plain, '\0', len) != NULL ||
            (colon = strchr(plain, ':')) == NULL || colon == plain) {
                if (plain != NULL)
                        explicit_bzero(plain, len);
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "GetAuthorizationToken: the token is not base64 of "
                                        "user:password");
        }
        *ret_user = xstrndup(plain, (size_t)(colon - plain));
        *ret_password = xstrdup(colon + 1);
        explicit_bzero(plain, len);
        return 0;
}

int ecr_create_repository_env(void)
{
        const char *v = getenv("HOIST_ECR_CREATE_REPOSITORY");

        return v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

/* DescribeRepositories, then CreateRepository when it is missing. */
static int ensure_repository(struct awsjson_client *c, const char *repo, struct hoist_error **err)
{
        json_t *body = json_pack("{s:[s]}", "repositoryNames", repo);
        json_t *out = NULL;
        struct hoist_error *e = NULL;
        int r = awsjson_call(c, "DescribeRepositories", body, &out, &e);

        json_decref(body);
        json_decref(out);
        out = NULL;
        if (r == 0)
                return 0;
        if (e->code != HOIST_ERR_NOT_FOUND) {
                *err = e;
                return -1;
        }
        hoist_error_free(e);
        body = json_pack("{s:s}", "repositoryName", repo);
        r = awsjson_call(c, "CreateRepository", body, &out, err);
        json_decref(body);
        json_decref(out);
        if (r < 0)
                return hoist_error_wrap(err, "create ECR repository '%s'", repo);
        log_info("created ECR repository '%s'", repo);
        return 0;
}

int ecr_credentials(const char *host, const char *create_repo, struct registry_creds **ret,
                    struct hoist_error **err)
{
        _cleanup_free_ char *region = NULL, *user = NULL, *pass = NULL;
        _cleanup_awsjson_client_ struct awsjson_client *c = NULL;
        json_t *body, *out = NULL;
        struct registry_creds *cr;
        int r;

        if (!ecr_registry_host(host, &region) || region == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' is not an ECR registry whose region is known (set "
                                        "AWS_REGION)",
                                        host);
        if (awsjson_client_new(&awsjson_ecr, region, getenv("HOIST_ECR_ENDPOINT"), NULL, &c, err) <
            0)
                return -1;
        if (create_repo != NULL && ensure_repository(c, create_repo, err) < 0)
                return hoist_error_wrap(err, "ECR registry '%s'", host);
        body = json_object();
        r = awsjson_call(c, "GetAuthorizationToken", body, &out, err);
        json_decref(body);
        if (r < 0)
                return hoist_error_wrap(err, "ECR registry '%s'", host);
        r = ecr_parse_token(out, &user, &pass, err);
        json_decref(out);
        if (r < 0)
                return hoist_error_wrap(err, "ECR registry '%s'", host);
        cr = xzalloc(sizeof *cr);
        cr->username = TAKE_PTR(user);
        cr->password = TAKE_PTR(pass);
        cr->source = xasprintf("ECR GetAuthorizationToken (%s)", region);
        *ret = cr;
        return 0;
}
