/* SPDX-License-Identifier: MIT */
#include "imageref.h"

#include <ctype.h>
#include <string.h>

#include "cleanup.h"
#include "digest.h"
#include "xalloc.h"

void imageref_free(struct imageref *r)
{
        if (r == NULL)
                return;
        free(r->host);
        free(r->repo);
        free(r->tag);
        free(r->digest);
        free(r);
}

static int valid_tag(const char *t)
{
        size_t n = strlen(t);

        if (n == 0 || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
                return 0;
        for (size_t i = 1; i < n; i++)
                if (!(isalnum((unsigned char)t[i]) || strchr("_.-", t[i])))
                        return 0;
        return 1;
}

/* Components of [a-z0-9]+ joined by '.', '_', '__' or '-'s, separated by '/'. */
static int valid_repo(const char *r)
{
        size_t n = strlen(r);
        int at_start = 1;

        if (n == 0 || n > 255)
                return 0;
        for (size_t i = 0; i < n; i++) {
                char c = r[i];
                if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
                        at_start = 0;
                } else if (c == '/' || c == '.' || c == '_' || c == '-') {
                        if (at_start || i + 1 == n)
                                return 0;
                        if (c == '/')
                                at_start = 1;
                } else {
                        return 0;
                }
        }
        return 1;
}

static int valid_host(const char *h)
{
        if (*h == '\0')
                return 0;
        for (const char *p = h; *p; p++)
                if (!(isalnum((unsigned char)*p) || strchr(".-:[]", *p)))
                        return 0;
        return 1;
}

static int is_host_part(const char *s, size_t n)
{
        return memchr(s, '.', n) || memchr(s, ':', n) || (n == 9 && memcmp(s, "localhost", 9) == 0);
}

int imageref_parse(const char *s, struct imageref **ret, struct hoist_error **err)
{
        _cleanup_imageref_ struct imageref *r = xzalloc(sizeof *r);
        _cleanup_free_ char *name = NULL;
        const char *at = strchr(s, '@'), *slash, *colon;

        if (*s == '\0')
                return hoist_error_make(err, HOIST_ERR_USAGE, "empty image reference");
        if (at != NULL) {
                if (digest_parse(at + 1) == NULL)
                        return hoist_error_make(err, HOIST_ERR_USAGE,
                                                "image reference '%s': the digest after '@' must "
                                                "be sha256:<64 lowercase hex digits>",
                                                s);
                r->digest = xstrdup(at + 1);
                name = xstrndup(s, (size_t)(at - s));
        } else {
                name = xstrdup(s);
        }
        slash = strchr(name, '/');
        if (slash != NULL && is_host_part(name, (size_t)(slash - name))) {
                r->host = xstrndup(name, (size_t)(slash - name));
                memmove(name, slash + 1, strlen(slash + 1) + 1);
        } else {
                r->host = xstrdup("docker.io");
        }
        colon = strrchr(name, ':');
        if (colon != NULL) {
                r->tag = xstrdup(colon + 1);
                name[colon - name] = '\0';
                if (!valid_tag(r->tag))
                        return hoist_error_make(err, HOIST_ERR_USAGE,
                                                "image reference '%s': invalid tag '%s' (letters, "
                                                "digits, '_', '.', '-'; at most 128)",
                                                s, r->tag);
        }
        if (strcmp(r->host, "index.docker.io") == 0 ||
            strcmp(r->host, "registry-1.docker.io") == 0) {
                free(r->host);
                r->host = xstrdup("docker.io");
        }
        if (!valid_host(r->host))
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "image reference '%s': invalid registry host '%s'", s,
                                        r->host);
        if (strcmp(r->host, "docker.io") == 0 && strchr(name, '/') == NULL)
                r->repo = xasprintf("library/%s", name);
        else
                r->repo = xstrdup(name);
        if (!valid_repo(r->repo))
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "image reference '%s': invalid repository '%s' (lowercase "
                                        "letters, digits and '.', '_', '-', '/' between them)",
                                        s, r->repo);
        if (r->tag == NULL && r->digest == NULL)
                r->tag = xstrdup("latest");
        *ret = TAKE_PTR(r);
        return 0;
}

char *imageref_string(const struct imageref *r)
{
        if (r->tag && r->digest)
                return xasprintf("%s/%s:%s@%s", r->host, r->repo, r->tag, r->digest);
        if (r->digest)
                return xasprintf("%s/%s@%s", r->host, r->repo, r->digest);
        return xasprintf("%s/%s:%s", r->host, r->repo, r->tag);
}

char *imageref_name(const struct imageref *r)
{
        return xasprintf("%s/%s", r->host, r->repo);
}

const char *imageref_reference(const struct imageref *r)
{
        return r->digest ? r->digest : r->tag;
}

const char *imageref_api_host(const struct imageref *r)
{
        return strcmp(r->host, "docker.io") == 0 ? "registry-1.docker.io" : r->host;
}
