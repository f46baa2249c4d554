/* SPDX-License-Identifier: MIT */
#include "runner/job/jobhooks.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"
#include "runner/job/jobsecrets.h"
#include "runner/control/localserve.h"
#include "runner/serve/hooks.h"
#include "webhook.h"
#include "xalloc.h"

/* The secret of webhooks[I] from its variable or file, checked; NULL in
 * *RET when it has no secret source. */
static int read_secret(const struct jobspec_webhook *w, size_t i, char **ret,
                       struct hoist_error **err)
{
        _cleanup_free_ char *text = NULL, *name = NULL;
        struct webhook_key key;
        size_t len = 0;

        *ret = NULL;
        if (w->secret_env != NULL) {
                const char *v = getenv(w->secret_env);
                if (v == NULL || *v == '\0')
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "webhooks[%zu]: secret_env '%s' is not set in "
                                                "the environment (export %s=whsec_...)",
                                                i, w->secret_env, w->secret_env);
                text = xstrdup(v);
                name = xasprintf("$%s", w->secret_env);
        } else if (w->secret_file != NULL) {
                if (fs_read_file(w->secret_file, &text, &len, err) < 0)
                        return hoist_error_wrap(err, "webhooks[%zu]: secret_file", i);
                while (len > 0 &&
                       (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
                        text[--len] = '\0';
                name = xasprintf("the file '%s'", w->secret_file);
        } else {
                return 0;
        }
        if (webhook_key_parse(text, name, &key, err) < 0) {
                explicit_bzero(text, strlen(text));
                return hoist_error_wrap(err, "webhooks[%zu]", i);
        }
        explicit_bzero(&key, sizeof key);
        *ret = TAKE_PTR(text);
        return 0;
}

int jobhooks_check(const struct jobspec *spec, struct hoist_error **err)
{
        for (size_t i = 0; i < spec->n_webhooks; i++) {
                char *secret = NULL;
                if (read_secret(&spec->webhooks[i], i, &secret, err) < 0)
                        return -1;
                if (secret != NULL)
                        explicit_bzero(secret, strlen(secret));
                free(secret);
        }
        return 0;
}

int jobhooks_env(const struct hoist_home *home, const char *storage_url, const struct storage *sto,
                 const struct jobspec *spec, char ***env, struct hoist_error **err)
{
        for (size_t i = 0; i < spec->n_webhooks; i++) {
                char *secret = NULL;
                char name[64];
                if (read_secret(&spec->webhooks[i], i, &secret, err) < 0)
                        return -1;
                if (secret == NULL)
                        continue;
                (void)snprintf(name, sizeof name, "HOIST_WEBHOOK_SECRET_%zu", i);
                jobsecrets_env_add(env, name, secret);
                explicit_bzero(secret, strlen(secret));
                free(secret);
        }
        if (storage_url != NULL && strcmp(storage_url, LOCALSERVE_URL) == 0) {
                _cleanup_free_ char *serve_dir = path_join(home->dir, "serve");
                _cleanup_free_ char *secret = NULL, *url = NULL;
                struct storage_location loc;
                storage_locate(sto, &loc);
                if (loc.endpoint == NULL)
                        return 0;
                if (hooks_secret_load(serve_dir, &secret, err) < 0)
                        return hoist_error_wrap(err, "hoist serve's webhook receiver");
                url = xasprintf("%s/hooks/events", loc.endpoint);
                jobsecrets_env_add(env, "HOIST_HOOKS_URL", url);
                jobsecrets_env_add(env, "HOIST_HOOKS_SECRET", secret);
                explicit_bzero(secret, strlen(secret));
        }
        return 0;
}
