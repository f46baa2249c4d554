/* SPDX-License-Identifier: MIT */
#include "secrets.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"
#include "job.h"
#include "xalloc.h"

int secrets_load_json(char *text, size_t len, const char *name, struct hoist_error **err)
{
        json_error_t jerr;
        json_t *root, *v;
        const char *key;
        int r = 0;

        root = json_loadb(text, len, 0, &jerr);
        explicit_bzero(text, len);
        if (!json_is_object(root)) {
                json_decref(root);
                /* jerr.text may quote the secrets: say where, not what */
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "%s: not a JSON object of {\"NAME\": \"value\"} (line %d)",
                                        name, jerr.line);
        }
        json_object_foreach(root, key, v)
        {
                if (!json_is_string(v) || *key == '\0' || strchr(key, '=') != NULL) {
                        r = hoist_error_make(err, HOIST_ERR_INPUT,
                                             "%s: '%.64s' is not a variable with a string value",
                                             name, key);
                        break;
                }
                if (setenv(key, json_string_value(v), 1) < 0) {
                        r = hoist_error_errno(err, "%s: set '%.64s'", name, key);
                        break;
                }
        }
        json_decref(root);
        return r;
}

int secrets_load_file(struct hoist_error **err)
{
        const char *env = getenv("HOIST_SECRETS_FILE");
        _cleanup_free_ char *path = NULL, *name = NULL;
        char *text = NULL;
        size_t len = 0;
        int r;

        if (env == NULL || *env == '\0')
                return 0;
        path = xstrdup(env);
        (void)unsetenv("HOIST_SECRETS_FILE");
        if (fs_read_file(path, &text, &len, err) < 0)
                return hoist_error_wrap(err, "HOIST_SECRETS_FILE");
        name = xasprintf("HOIST_SECRETS_FILE '%s'", path);
        r = secrets_load_json(text, len, name, err);
        free(text);
        return r;
}

int secrets_redactor(const struct jobspec *spec, struct redact **ret, struct hoist_error **err)
{
        struct redact *r = redact_new();
        int rc = 0;

        job_redact_credentials(r);
        for (size_t i = 0; i < spec->n_secrets; i++) {
                const char *name = spec->secrets[i].name;
                const char *v = getenv(name);
                if (v == NULL || *v == '\0') {
                        if (rc == 0)
                                rc = hoist_error_make(
                                        err, HOIST_ERR_INPUT,
                                        "secret '%s' did not reach this attempt: whoever started "
                                        "it could not read it (hoist reads secrets.%s of job.yaml "
                                        "again for every attempt; start it again with hoist "
                                        "submit --resume where the value is)",
                                        name, name);
                        continue;
                }
                redact_add(r, name, v);
        }
        *ret = r;
        return rc;
}
