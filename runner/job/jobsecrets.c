/* SPDX-License-Identifier: MIT */
#include "runner/job/jobsecrets.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "xalloc.h"

void jobsecrets_env_add(char ***env, const char *name, const char *value)
{
        size_t n = 0;

        if (value == NULL)
                return;
        while (*env != NULL && (*env)[n] != NULL)
                n++;
        *env = xreallocarray(*env, n + 2, sizeof **env);
        (*env)[n] = xasprintf("%s=%s", name, value);
        (*env)[n + 1] = NULL;
}

void jobsecrets_copy(const struct jobspec_secret *v, size_t n, struct jobspec *spec)
{
        if (n == 0)
                return;
        spec->secrets = xcalloc(n, sizeof *spec->secrets);
        spec->n_secrets = n;
        for (size_t i = 0; i < n; i++) {
                spec->secrets[i].name = xstrdup(v[i].name);
                spec->secrets[i].env = xstrdup(v[i].env);
                spec->secrets[i].file = xstrdup(v[i].file);
        }
}

static int read_file_value(const struct jobspec_secret *s, char **ret, struct hoist_error **err)
{
        _cleanup_error_ struct hoist_error *why = NULL;
        char *text = NULL;
        size_t len = 0;

        if (fs_read_file(s->file, &text, &len, &why) < 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "secret '%s': cannot read its file: %s (secrets.%s.file "
                                        "in job.yaml)",
                                        s->name, why->msg, s->name);
        /* What an editor or `echo` leaves at the end is not part of it. */
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
                text[--len] = '\0';
        if (memchr(text, '\0', len) != NULL) {
                explicit_bzero(text, len);
                free(text);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "secret '%s': the file '%s' holds a NUL byte; a secret is "
                                        "text (an environment variable cannot carry it)",
                                        s->name, s->file);
        }
        *ret = text;
        return 0;
}

/* The value of S, checked; the caller wipes and frees it. */
static int read_value(const struct jobspec_secret *s, char **ret, struct hoist_error **err)
{
        char *v = NULL;

        if (s->env != NULL) {
                const char *e = getenv(s->env);
                if (e == NULL)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "secret '%s': the variable '%s' is not set (export "
                                                "%s=... before hoist runs, or change secrets.%s)",
                                                s->name, s->env, s->env, s->name);
                v = xstrdup(e);
        } else if (s->file != NULL) {
                if (read_file_value(s, &v, err) < 0)
                        return -1;
        } else {
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "secret '%s': job.json names no variable or file to read "
                                        "it from",
                                        s->name);
        }
        if (*v == '\0' || strlen(v) > JOBSECRETS_MAX) {
                int empty = *v == '\0';
                explicit_bzero(v, strlen(v));
                free(v);
                return hoist_error_make(
                        err, HOIST_ERR_INPUT, "secret '%s': %s '%s' %s", s->name,
                        s->env ? "the variable" : "the file", s->env ? s->env : s->file,
                        empty ? "is empty" : "is longer than 64 KiB, too long for a secret");
        }
        *ret = v;
        return 0;
}

static void wipe(char *v)
{
        if (v == NULL)
                return;
        explicit_bzero(v, strlen(v));
        free(v);
}

int jobsecrets_check(const struct jobspec *spec, struct hoist_error **err)
{
        for (size_t i = 0; i < spec->n_secrets; i++) {
                const struct jobspec_secret *s = &spec->secrets[i];
                char *v = NULL;
                if (read_value(s, &v, err) < 0)
                        return -1;
                if (strlen(v) < JOBSECRETS_SHORT)
                        log_warn("secret '%s' is only %zu characters long: every occurrence of "
                                 "that text in the job's logs and events becomes '[secret %s]'",
                                 s->name, strlen(v), s->name);
                wipe(v);
        }
        return 0;
}

int jobsecrets_env(const struct jobspec *spec, char ***env, struct hoist_error **err)
{
        for (size_t i = 0; i < spec->n_secrets; i++) {
                char *v = NULL;
                if (read_value(&spec->secrets[i], &v, err) < 0)
                        return -1;
                jobsecrets_env_add(env, spec->secrets[i].name, v);
                wipe(v);
        }
        return 0;
}

int jobsecrets_value(const struct jobspec *spec, const char *name, char **ret,
                     struct hoist_error **err)
{
        for (size_t i = 0; i < spec->n_secrets; i++)
                if (strcmp(spec->secrets[i].name, name) == 0)
                        return read_value(&spec->secrets[i], ret, err);
        return hoist_error_make(err, HOIST_ERR_INPUT,
                                "secret '%s' is not one of the job's secrets (job.yaml secrets:)",
                                name);
}
