/* SPDX-License-Identifier: MIT */
#include "runner/job/jobfile_hub.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "hfhub.h"
#include "runner/job/jobfile.h"
#include "xalloc.h"

static const char *const hub_fields[] = {"repo",  "private", "revision", "path_in_repo",
                                         "token", "from",    NULL};

static int hub_string(const struct config_node *hub, const char *key, char **ret,
                      struct hoist_error **err)
{
        const struct config_node *v = config_get(hub, key);
        _cleanup_free_ char *field = xasprintf("outputs.hub.%s", key);

        if (v == NULL)
                return 0;
        return config_get_string(v, field, ret, err);
}

static int check_hub(const struct config_node *hub, const struct jobfile *jf,
                     struct hoist_error **err)
{
        const struct jobspec_hub *h = &jf->hub;
        size_t i;

        if (!hfhub_repo_valid(h->repo))
                return config_error(config_get(hub, "repo"), "outputs.hub.repo", err,
                                    "'%s' is not a Hub repo id (write it as user/name: letters, "
                                    "digits, '-', '_' and '.')",
                                    h->repo);
        if (h->path_in_repo != NULL && !hfhub_path_valid(h->path_in_repo))
                return config_error(config_get(hub, "path_in_repo"), "outputs.hub.path_in_repo",
                                    err,
                                    "'%s' is not a relative path inside the repo (use \".\" for "
                                    "its root)",
                                    h->path_in_repo);
        if (h->token == NULL)
                return config_error(hub, "outputs.hub", err,
                                    "needs 'token': the name of the secret that holds the Hub "
                                    "token (e.g. token: HF_TOKEN, with HF_TOKEN under secrets:)");
        for (i = 0; i < jf->n_secrets && strcmp(jf->secrets[i].name, h->token) != 0; i++)
                ;
        if (i == jf->n_secrets)
                return config_error(config_get(hub, "token"), "outputs.hub.token", err,
                                    "'%s' is not one of the job's secrets (add it under secrets:, "
                                    "e.g. %s: {env: %s})",
                                    h->token, h->token, h->token);
        return 0;
}

int jobfile_hub_load(const struct config_node *outputs, struct jobfile *jf,
                     struct hoist_error **err)
{
        const struct config_node *hub = config_get(outputs, "hub"), *v;
        struct jobspec_hub *h = &jf->hub;
        _cleanup_free_ char *from = NULL;
        int f;

        if (hub == NULL)
                return 0;
        if (config_check_mapping(hub, "outputs.hub", err) < 0 ||
            config_check_keys(hub, "outputs.hub", hub_fields, err) < 0)
                return -1;
        if ((v = config_get(hub, "repo")) == NULL)
                return config_error(hub, "outputs.hub", err,
                                    "needs 'repo' (the Hub repo to commit to, as user/name)");
        h->private_repo = 1;
        if (hub_string(hub, "repo", &h->repo, err) < 0 ||
            hub_string(hub, "revision", &h->revision, err) < 0 ||
            hub_string(hub, "path_in_repo", &h->path_in_repo, err) < 0 ||
            hub_string(hub, "token", &h->token, err) < 0 || hub_string(hub, "from", &from, err) < 0)
                return -1;
        if ((v = config_get(hub, "private")) != NULL &&
            config_get_bool(v, "outputs.hub.private", &h->private_repo, err) < 0)
                return -1;
        if (from != NULL) {
                if ((f = jobspec_hub_from_parse(from)) < 0)
                        return config_error(config_get(hub, "from"), "outputs.hub.from", err,
                                            "'%s' is not \"host\" (hoist uploads from the job's "
                                            "storage) or \"entrypoint\" (the job uploads it)",
                                            from);
                h->from = (enum jobspec_hub_from)f;
        }
        return check_hub(hub, jf, err);
}

void jobfile_hub_fill_spec(const struct jobfile *jf, struct jobspec *spec)
{
        const struct jobspec_hub *h = &jf->hub;

        if (h->repo == NULL)
                return;
        spec->hub = (struct jobspec_hub){
                .repo = xstrdup(h->repo),
                .private_repo = h->private_repo,
                .revision = xstrdup(h->revision),
                .path_in_repo = xstrdup(h->path_in_repo),
                .token = xstrdup(h->token),
                .from = h->from,
                /* The Hub the job's model goes to is chosen at submit, so
                 * the entrypoint (from: entrypoint) and hoist serve use the
                 * same one. */
                .endpoint = xstrdup(getenv("HF_ENDPOINT") != NULL && *getenv("HF_ENDPOINT")
                                            ? getenv("HF_ENDPOINT")
                                            : NULL),
        };
}

void jobfile_hub_free(struct jobfile *jf)
{
        free(jf->hub.repo);
        free(jf->hub.revision);
        free(jf->hub.path_in_repo);
        free(jf->hub.token);
        free(jf->hub.endpoint);
        jf->hub = (struct jobspec_hub){0};
}
