/* SPDX-License-Identifier: MIT */
/*
 * job.yaml (docs/job.md).  Unlike job.json, an unknown field here is an
 * error: job.yaml is typed by a person, and a misspelt "max_runtme" that was
 * silently ignored would let a job run without the limit its author set.
 */
#include "runner/job/jobfile.h"
#include "runner/job/jobfile_hub.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "config.h"
#include "fsutil.h"
#include "runner/job/jobfile_code.h"
#include "runner/job/jobfile_dist.h"
#include "runner/job/jobstorage.h"
#include "providers/provider.h"
#include "resources.h"
#include "xalloc.h"

static const char *const top_fields[] = {
        "name",    "image",   "command",         "workdir",     "runtime",   "provider",
        "storage", "inputs",  "hyperparameters", "env",         "outputs",   "checkpoints",
        "limits",  "retry",   "webhooks",        "build",       "resources", "code",
        "include", "consent", "secrets",         "distributed", NULL,
};
static const char *const build_fields[] = {"context", "dockerfile",        "args", "target",
                                           "push",    "create_repository", NULL};
static const char *const output_fields[] = {"download", "hub", NULL};
static const char *const checkpoint_fields[] = {"interval", NULL};
static const char *const limit_fields[] = {"max_runtime", "stop_grace", NULL};
static const char *const retry_fields[] = {"on", "max", NULL};
/* nodes: runner/job/jobfile_dist.c */
static const char *const resource_fields[] = {"gpus", "cpus",  "memory", "disk",
                                              "spot", "nodes", NULL};
/* What `retry: on:` may name (docs/job.md). */
static const char *const retry_reasons[] = {"interruption", NULL};

struct loading {
        const struct config_node *root;
        const char *file; /* as errors name it */
        const char *base; /* its last component, for hints */
        struct jobfile *jf;
        struct hoist_error **err;
};

static int name_valid(const char *s)
{
        size_t n = 0;

        for (const char *p = s; *p; p++, n++) {
                int ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                         (*p == '-' && n > 0);
                if (!ok)
                        return 0;
        }
        return n >= 1 && n <= 63;
}

static int env_name_valid(const char *s)
{
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
                return 0;
        for (const char *p = s + 1; *p; p++)
                if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                      (*p >= '0' && *p <= '9') || *p == '_'))
                        return 0;
        return 1;
}

/* The directory that relative paths in PATH are taken from, absolute. */
static int anchor_dir(const char *path, char **ret, struct hoist_error **err)
{
        _cleanup_free_ char *abs = NULL;

        if (path[0] == '/') {
                abs = xstrdup(path);
        } else {
                _cleanup_free_ char *cwd = getcwd(NULL, 0);
                if (cwd == NULL)
                        return hoist_error_errno(err, "'%s': find the current directory", path);
                abs = path_join(cwd, path);
        }
        char *dir = dirname(abs); /* points into abs */
        char *real = realpath(dir, NULL);
        *ret = real != NULL ? real : xstrdup(dir);
        return 0;
}

/* Splits one string into argv: blanks separate words; '...' keeps
 * everything literally; "..." too, except that \" and \\ stand for " and \;
 * outside quotes a backslash keeps the next character.  No expansion of any
 * kind: this is not a shell. */
static int split_command(const struct config_node *node, char ***ret, struct hoist_error **err)
{
        _cleanup_strv_ char **argv = NULL;
        _cleanup_buf_ struct buf word = {0};
        size_t n = 0;
        int in_word = 0;

        for (const char *p = node->text;; p++) {
                if (*p == '\0' || *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
                        if (in_word) {
                                argv = xreallocarray(argv, n + 2, sizeof *argv);
                                argv[n++] = buf_take(&word);
                                argv[n] = NULL;
                                in_word = 0;
                        }
                        if (*p == '\0')
                                break;
                        continue;
                }
                in_word = 1;
                if (*p == '\'') {
                        const char *end = strchr(p + 1, '\'');
                        if (end == NULL)
                                goto unterminated;
                        buf_append(&word, p + 1, (size_t)(end - p - 1));
                        p = end;
                } else if (*p == '"') {
                        for (p++; *p != '"'; p++) {
                                if (*p == '\0')
                                        goto unterminated;
                                if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                                        p++;
                                buf_append_char(&word, *p);
                        }
                } else if (*p == '\\' && p[1] != '\0') {
                        buf_append_char(&word, *++p);
                } else {
                        buf_append_char(&word, *p);
                }
        }
        if (n == 0)
                return config_error(node, "command", err,
                                    "expected a command (a sequence of strings, or one string), "
                                    "got an empty string");
        *ret = TAKE_PTR(argv);
        return 0;
unterminated:;
        _cleanup_free_ char *q = config_describe(node);
        return config_error(node, "command", err, "a quote is not closed in %s", q);
}

/* PATH (taken) as it is when absolute, else under DIR. */
static char *path_under(const char *dir, char *path)
{
        char *joined;

        if (path[0] == '/')
                return path;
        joined = path_join(dir, path);
        free(path);
        return joined;
}

static int load_command(struct loading *l, const struct config_node *node)
{
        _cleanup_strv_ char **argv = NULL;

        if (node->type == CONFIG_SCALAR && !config_is_null(node)) {
                if (split_command(node, &argv, l->err) < 0)
                        return -1;
        } else if (node->type == CONFIG_SEQUENCE) {
                if (config_get_strv(node, "command", &argv, l->err) < 0)
                        return -1;
                if (argv[0] == NULL || argv[0][0] == '\0')
                        return config_error(node, "command", l->err,
                                            "expected the program to run as the first item, got "
                                            "%s",
                                            argv[0] == NULL ? "an empty sequence"
                                                            : "an empty string");
        } else {
                _cleanup_free_ char *got = config_describe(node);
                return config_error(node, "command", l->err,
                                    "expected a command (a sequence of strings, or one string), "
                                    "got %s",
                                    got);
        }
        l->jf->command = TAKE_PTR(argv);
        return 0;
}

static int load_runtime(struct loading *l, const struct config_node *node)
{
        static const char *const names[] = {"auto", "container", "process"};
        _cleanup_free_ char *s = NULL;

        if (config_get_string(node, "runtime", &s, l->err) < 0)
                return -1;
        for (int i = 0; i < 3; i++) {
                if (strcmp(s, names[i]) == 0) {
                        l->jf->runtime = (enum jobfile_runtime)i;
                        return 0;
                }
        }
        _cleanup_free_ char *got = config_describe(node);
        return config_error(node, "runtime", l->err, "expected auto, container or process, got %s",
                            got);
}

static int load_name(struct loading *l)
{
        const struct config_node *node = config_get(l->root, "name");

        if (node == NULL)
                return config_error_at(l->file, l->root->line, "name", l->err,
                                       "missing (every job needs a name, like 'mnist-train')");
        if (config_get_string(node, "name", &l->jf->name, l->err) < 0)
                return -1;
        if (!name_valid(l->jf->name)) {
                _cleanup_free_ char *got = config_describe(node);
                return config_error(node, "name", l->err,
                                    "expected 1-63 of a-z, 0-9 and '-', starting with a letter or "
                                    "digit, got %s",
                                    got);
        }
        return 0;
}

/* True when PATH, trailing slashes aside ("link/" names the link's target
 * to lstat), is a symlink. */
static int path_is_symlink(const char *path)
{
        _cleanup_free_ char *p = xstrdup(path);
        struct stat st;

        for (size_t n = strlen(p); n > 1 && p[n - 1] == '/'; n--)
                p[n - 1] = '\0';
        return lstat(p, &st) == 0 && S_ISLNK(st.st_mode);
}

static int has_archive_suffix(const char *path)
{
        static const char *const suffixes[] = {".tar", ".tar.gz", ".tgz", ".zip"};
        size_t n = strlen(path);

        for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
                size_t k = strlen(suffixes[i]);
                if (n > k && strcmp(path + n - k, suffixes[i]) == 0)
                        return 1;
        }
        return 0;
}

/* The long form of an input: {path: P, extract: true, extract_limit: 5GiB}. */
static int load_input_options(struct loading *l, const struct config_node *v, const char *field,
                              const char *channel, struct jobfile_input *in, char **ret_rel)
{
        static const char *const keys[] = {"path", "extract", "extract_limit", NULL};
        const struct config_node *n;

        if (config_check_keys(v, field, keys, l->err) < 0)
                return -1;
        n = config_get(v, "path");
        if (n == NULL)
                return config_error(v, field, l->err, "input %s: path missing", channel);
        if (config_get_string(n, field, ret_rel, l->err) < 0)
                return -1;
        if ((n = config_get(v, "extract")) != NULL &&
            config_get_bool(n, field, &in->extract, l->err) < 0)
                return -1;
        if ((n = config_get(v, "extract_limit")) != NULL) {
                _cleanup_free_ char *text = NULL;
                _cleanup_error_ struct hoist_error *e = NULL;
                if (config_get_scalar(n, field, &text, l->err) < 0)
                        return -1;
                if (resources_parse_size(text, &in->extract_limit, &e) < 0 ||
                    in->extract_limit == 0)
                        return config_error(n, field, l->err,
                                            "input %s: extract_limit '%s' is not a size (write "
                                            "it like 5GiB or 500MB)",
                                            channel, text);
                if (!in->extract)
                        return config_error(n, field, l->err,
                                            "input %s: extract_limit goes with extract: true",
                                            channel);
        }
        if (in->extract && !has_archive_suffix(*ret_rel))
                return config_error(v, field, l->err,
                                    "input %s: extract: true takes a .tar, .tar.gz, .tgz or .zip "
                                    "file, not '%s' (a directory is sent as it is without "
                                    "extract)",
                                    channel, *ret_rel);
        return 0;
}

static int load_inputs(struct loading *l, const struct config_node *map)
{
        if (config_check_mapping(map, "inputs", l->err) < 0)
                return -1;
        l->jf->inputs = xcalloc(map->n_pairs ? map->n_pairs : 1, sizeof *l->jf->inputs);
        for (size_t i = 0; i < map->n_pairs; i++) {
                const struct config_pair *p = &map->pairs[i];
                _cleanup_free_ char *channel = config_quote(p->key);
                _cleanup_free_ char *field = xasprintf("inputs.%s", p->key);
                _cleanup_free_ char *rel = NULL, *full = NULL, *real = NULL;

                if (!jobspec_channel_valid(p->key))
                        return config_error_at(l->file, p->key_line, NULL, l->err,
                                               "input %s: a channel name is 1-64 of a-z, 0-9 and "
                                               "_, starting with a letter",
                                               channel);
                struct jobfile_input *in = &l->jf->inputs[i];
                if (p->value->type == CONFIG_MAPPING) {
                        if (load_input_options(l, p->value, field, channel, in, &rel) < 0)
                                return -1;
                } else if (config_get_string(p->value, field, &rel, l->err) < 0)
                        return -1;
                full = rel[0] == '/' ? xstrdup(rel) : path_join(l->jf->dir, rel);
                real = realpath(full, NULL);
                if (real == NULL) {
                        _cleanup_free_ char *q = config_quote(rel);
                        if (errno == ENOENT || errno == ENOTDIR)
                                return config_error_at(l->file, p->value->line, NULL, l->err,
                                                       "input %s: path %s does not exist (paths "
                                                       "are relative to %s's directory)",
                                                       channel, q, l->base);
                        return config_error_at(l->file, p->value->line, NULL, l->err,
                                               "input %s: path %s: %s", channel, q,
                                               strerror(errno));
                }
                if (in->extract && fs_is_dir(real))
                        return config_error_at(l->file, p->value->line, NULL, l->err,
                                               "input %s: extract: true takes an archive file, "
                                               "and '%s' is a directory",
                                               channel, rel);
                in->channel = xstrdup(p->key);
                if (path_is_symlink(full))
                        in->link = xstrdup(rel);
                in->path = TAKE_PTR(real);
                in->line = p->key_line;
                l->jf->n_inputs = i + 1;
        }
        return 0;
}

static int load_hyperparameters(struct loading *l, const struct config_node *map)
{
        if (config_check_mapping(map, "hyperparameters", l->err) < 0)
                return -1;
        for (size_t i = 0; i < map->n_pairs; i++) {
                const struct config_pair *p = &map->pairs[i];
                _cleanup_free_ char *field = xasprintf("hyperparameters.%s", p->key);
                _cleanup_free_ char *value = NULL;

                if (p->key[0] == '\0')
                        return config_error_at(l->file, p->key_line, "hyperparameters", l->err,
                                               "a hyperparameter needs a name");
                if (config_get_scalar(p->value, field, &value, l->err) < 0)
                        return -1;
                jobspec_kv_add(&l->jf->hyperparameters, &l->jf->n_hyperparameters, p->key, value);
        }
        return 0;
}

static int load_env(struct loading *l, const struct config_node *map)
{
        if (config_check_mapping(map, "env", l->err) < 0)
                return -1;
        for (size_t i = 0; i < map->n_pairs; i++) {
                const struct config_pair *p = &map->pairs[i];
                _cleanup_free_ char *field = xasprintf("env.%s", p->key);
                _cleanup_free_ char *q = config_quote(p->key);
                _cleanup_free_ char *value = NULL;

                if (!env_name_valid(p->key))
                        return config_error_at(l->file, p->key_line, NULL, l->err,
                                               "env %s: expected a variable name (A-Z, a-z, 0-9 "
                                               "and _, not starting with a digit)",
                                               q);
                if (strncmp(p->key, "HOIST_", 6) == 0)
                        return config_error_at(l->file, p->key_line, NULL, l->err,
                                               "env %s: names starting with HOIST_ are reserved "
                                               "for hoist itself",
                                               q);
                if (config_get_scalar(p->value, field, &value, l->err) < 0)
                        return -1;
                jobspec_kv_add(&l->jf->env, &l->jf->n_env, p->key, value);
        }
        return 0;
}

/* FILE as written in secrets: ~/ is $HOME's, a relative path job.yaml's
 * directory's. */
static int secret_path(struct loading *l, const struct config_node *v, char *file, char **ret)
{
        const char *home = getenv("HOME");

        if (strncmp(file, "~/", 2) != 0) {
                *ret = path_under(l->jf->dir, file);
                return 0;
        }
        if (home == NULL || home[0] != '/') {
                free(file);
                return config_error(v, "file", l->err,
                                    "'~/' needs HOME, which is not set to an absolute path");
        }
        *ret = path_join(home, file + 2);
        free(file);
        return 0;
}

static const char *const secret_fields[] = {"env", "file", NULL};

/* secrets: {NAME: {env: VAR} | {file: PATH}} */
static int load_secrets(struct loading *l, const struct config_node *map)
{
        if (config_check_mapping(map, "secrets", l->err) < 0)
                return -1;
        l->jf->secrets = xcalloc(map->n_pairs ? map->n_pairs : 1, sizeof *l->jf->secrets);
        for (size_t i = 0; i < map->n_pairs; i++) {
                const struct config_pair *p = &map->pairs[i];
                struct jobspec_secret *sec = &l->jf->secrets[l->jf->n_secrets];
                _cleanup_free_ char *field = xasprintf("secrets.%s", p->key);
                _cleanup_free_ char *q = config_quote(p->key);
                const struct config_node *env = NULL, *file = NULL;
                char *path = NULL;

                if (!jobspec_secret_name_valid(p->key))
                        return config_error_at(l->file, p->key_line, NULL, l->err,
                                               "secrets %s: expected a variable name (A-Z, a-z, "
                                               "0-9 and _, not starting with a digit; HOIST_ is "
                                               "reserved for hoist itself)",
                                               q);
                if (jobspec_kv_get(l->jf->env, l->jf->n_env, p->key) != NULL)
                        return config_error_at(l->file, p->key_line, NULL, l->err,
                                               "secrets %s: also set in env; give it in one place",
                                               q);
                if (p->value->type != CONFIG_MAPPING)
                        return config_error(p->value, field, l->err,
                                            "expected {env: VARIABLE} or {file: PATH}, where the "
                                            "value is on this machine; the value itself does not "
                                            "belong in job.yaml");
                if (config_check_keys(p->value, field, secret_fields, l->err) < 0)
                        return -1;
                env = config_get(p->value, "env");
                file = config_get(p->value, "file");
                if ((env == NULL) == (file == NULL))
                        return config_error(p->value, field, l->err,
                                            "give exactly one of 'env' (a variable of the "
                                            "submitting shell) and 'file' (a path)");
                sec->name = xstrdup(p->key);
                l->jf->n_secrets++;
                if (env != NULL) {
                        if (config_get_string(env, "env", &sec->env, l->err) < 0)
                                return -1;
                        if (!env_name_valid(sec->env))
                                return config_error(env, "env", l->err,
                                                    "'%s' is not an environment variable name",
                                                    sec->env);
                } else {
                        if (config_get_string(file, "file", &path, l->err) < 0 ||
                            secret_path(l, file, path, &sec->file) < 0)
                                return -1;
                }
        }
        return 0;
}

static int load_duration(struct loading *l, const struct config_node *map, const char *section,
                         const char *key, int64_t *ret)
{
        const struct config_node *node = config_get(map, key);

        if (node == NULL)
                return 0;
        _cleanup_free_ char *field = xasprintf("%s.%s", section, key);
        return config_get_duration(node, field, ret, l->err);
}

/* A section left empty ("env:" with every entry commented out) is absent. */
static const struct config_node *section(const struct config_node *root, const char *key)
{
        const struct config_node *n = config_get(root, key);

        return config_is_null(n) ? NULL : n;
}

/* retry: {on: [interruption], max: N} */
static int load_retry(struct loading *l, const struct config_node *n)
{
        const struct config_node *on = config_get(n, "on");
        const struct config_node *max = config_get(n, "max");

        if (config_check_mapping(n, "retry", l->err) < 0 ||
            config_check_keys(n, "retry", retry_fields, l->err) < 0)
                return -1;
        if (on == NULL || max == NULL)
                return config_error(n, "retry", l->err,
                                    "needs 'on' (a list of reasons: interruption) and 'max' "
                                    "(how many new attempts, 0-100)");
        if (config_get_strv(on, "retry.on", &l->jf->retry_on, l->err) < 0 ||
            config_get_int(max, "retry.max", 0, 100, &l->jf->retry_max, l->err) < 0)
                return -1;
        for (char **r = l->jf->retry_on; *r != NULL; r++) {
                size_t i = 0;
                while (retry_reasons[i] != NULL && strcmp(retry_reasons[i], *r) != 0)
                        i++;
                if (retry_reasons[i] == NULL)
                        return config_error(on, "retry.on", l->err,
                                            "unknown reason '%s' (known: interruption)", *r);
        }
        return 0;
}

static const char *const webhook_fields[] = {"url", "events", "secret_env", "secret_file", NULL};
/* What `webhooks[].events` may name: DESIGN.md's event types, "job.*", "*". */
static const char *const webhook_events[] = {
        "job.starting", "job.running",   "job.log",    "job.metric",   "job.checkpoint",
        "job.output",   "job.succeeded", "job.failed", "job.canceled", "job.interrupted",
        "gpu.fault",    "job.*",         "*",          NULL,
};

static int load_webhook(struct loading *l, const struct config_node *n, size_t i,
                        struct jobfile_webhook *w)
{
        _cleanup_free_ char *field = xasprintf("webhooks[%zu]", i);
        _cleanup_free_ char *file = NULL;
        const struct config_node *v;

        w->line = n->line;
        if (config_check_mapping(n, field, l->err) < 0)
                return -1;
        if ((v = config_get(n, "secret")) != NULL)
                return config_error(v, field, l->err,
                                    "a secret does not belong in job.yaml (it is copied into "
                                    "job.json); put it in an environment variable and name that "
                                    "with 'secret_env', or in a file named by 'secret_file'");
        if (config_check_keys(n, field, webhook_fields, l->err) < 0)
                return -1;
        if ((v = config_get(n, "url")) == NULL)
                return config_error(n, field, l->err, "needs 'url' (where events are POSTed)");
        if (config_get_string(v, "url", &w->url, l->err) < 0)
                return -1;
        if (strncmp(w->url, "http://", 7) != 0 && strncmp(w->url, "https://", 8) != 0)
                return config_error(v, "url", l->err, "must start with http:// or https://");
        if ((v = config_get(n, "events")) != NULL) {
                if (config_get_strv(v, "events", &w->events, l->err) < 0)
                        return -1;
                for (char **e = w->events; *e != NULL; e++) {
                        size_t k = 0;
                        while (webhook_events[k] != NULL && strcmp(webhook_events[k], *e) != 0)
                                k++;
                        if (webhook_events[k] == NULL)
                                return config_error(v, "events", l->err,
                                                    "unknown event type '%s' (job.starting, "
                                                    "job.running, job.log, job.metric, "
                                                    "job.checkpoint, job.output, job.succeeded, "
                                                    "job.failed, job.canceled, job.interrupted, "
                                                    "gpu.fault, job.*)",
                                                    *e);
                }
        }
        if ((v = config_get(n, "secret_env")) != NULL) {
                if (config_get_string(v, "secret_env", &w->secret_env, l->err) < 0)
                        return -1;
                if (!env_name_valid(w->secret_env))
                        return config_error(v, "secret_env", l->err,
                                            "'%s' is not an environment variable name",
                                            w->secret_env);
        }
        if ((v = config_get(n, "secret_file")) != NULL) {
                if (w->secret_env != NULL)
                        return config_error(v, field, l->err,
                                            "give 'secret_env' or 'secret_file', not both");
                if (config_get_string(v, "secret_file", &file, l->err) < 0)
                        return -1;
                w->secret_file = path_under(l->jf->dir, TAKE_PTR(file));
        }
        return 0;
}

static int load_webhooks(struct loading *l, const struct config_node *n)
{
        if (n->type != CONFIG_SEQUENCE) {
                _cleanup_free_ char *got = config_describe(n);
                return config_error(n, "webhooks", l->err,
                                    "expected a list of {url, events, secret_env}, got %s", got);
        }
        l->jf->webhooks = xcalloc(n->n_items ? n->n_items : 1, sizeof *l->jf->webhooks);
        for (size_t i = 0; i < n->n_items; i++) {
                l->jf->n_webhooks = i + 1;
                if (load_webhook(l, n->items[i], i, &l->jf->webhooks[i]) < 0)
                        return -1;
        }
        return 0;
}

/* One value of resources: through PARSE (lib/resources.h), whose reason
 * gets the file, line and field here. */
static int resource_value(struct loading *l, const struct config_node *n, const char *key,
                          int (*parse)(const char *s, void *ret, struct hoist_error **err),
                          void *ret)
{
        _cleanup_free_ char *field = xasprintf("resources.%s", key);
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ struct hoist_error *why = NULL;
        const struct config_node *v = config_get(n, key);

        if (v == NULL)
                return 0;
        if (config_get_scalar(v, field, &text, l->err) < 0)
                return -1;
        if (parse(text, ret, &why) < 0)
                return config_error(v, field, l->err, "%s", why->msg);
        return 0;
}

static int parse_gpus(const char *s, void *ret, struct hoist_error **err)
{
        struct jobspec_resources *r = ret;

        return resources_parse_gpus(s, &r->gpus, &r->gpu_type, err);
}

static int parse_cpus(const char *s, void *ret, struct hoist_error **err)
{
        return resources_parse_cpus(s, ret, err);
}

static int parse_size(const char *s, void *ret, struct hoist_error **err)
{
        return resources_parse_size(s, ret, err);
}

/* resources: {gpus, cpus, memory, disk, spot} (docs/job.md "resources") */
static int load_resources(struct loading *l, const struct config_node *n)
{
        struct jobspec_resources *r = &l->jf->resources;
        const struct config_node *v;

        l->jf->resources_line = config_get_pair(l->root, "resources")->key_line;
        if (config_check_mapping(n, "resources", l->err) < 0 ||
            config_check_keys(n, "resources", resource_fields, l->err) < 0 ||
            resource_value(l, n, "gpus", parse_gpus, r) < 0 ||
            resource_value(l, n, "cpus", parse_cpus, &r->cpus_milli) < 0 ||
            resource_value(l, n, "memory", parse_size, &r->memory_bytes) < 0 ||
            resource_value(l, n, "disk", parse_size, &r->disk_bytes) < 0)
                return -1;
        if ((v = config_get(n, "spot")) != NULL &&
            config_get_bool(v, "resources.spot", &r->spot, l->err) < 0)
                return -1;
        return 0;
}

/* build: {context, dockerfile, args: {K: V}, target, push, create_repository} */
static int load_build(struct loading *l, const struct config_node *n)
{
        struct jobfile_build *b = xzalloc(sizeof *b);
        const struct config_node *v;
        _cleanup_free_ char *s = NULL;
        size_t k = 0;

        l->jf->build = b;
        b->line = n->line;
        if (config_check_mapping(n, "build", l->err) < 0 ||
            config_check_keys(n, "build", build_fields, l->err) < 0)
                return -1;
        if ((v = config_get(n, "context")) == NULL)
                return config_error(n, "build", l->err, "needs 'context' (a directory)");
        if (config_get_string(v, "build.context", &s, l->err) < 0)
                return -1;
        b->context = path_under(l->jf->dir, TAKE_PTR(s));
        if ((v = config_get(n, "dockerfile")) != NULL) {
                if (config_get_string(v, "build.dockerfile", &s, l->err) < 0)
                        return -1;
                b->dockerfile = path_under(b->context, TAKE_PTR(s));
        }
        if ((v = config_get(n, "target")) != NULL &&
            config_get_string(v, "build.target", &b->target, l->err) < 0)
                return -1;
        if ((v = config_get(n, "push")) != NULL &&
            config_get_string(v, "build.push", &b->push, l->err) < 0)
                return -1;
        if ((v = config_get(n, "create_repository")) != NULL) {
                if (config_get_bool(v, "build.create_repository", &b->create_repository, l->err) <
                    0)
                        return -1;
                if (b->create_repository && b->push == NULL)
                        return config_error(v, "build.create_repository", l->err,
                                            "is true but there is no 'build.push' (the ECR "
                                            "repository to create is the one build.push names)");
        }
        v = config_get(n, "args");
        if (v != NULL && config_check_mapping(v, "build.args", l->err) < 0)
                return -1;
        b->args = xcalloc((v ? v->n_pairs : 0) + 1, sizeof *b->args);
        for (size_t i = 0; v != NULL && i < v->n_pairs; i++) {
                _cleanup_free_ char *value = NULL;
                if (config_get_scalar(v->pairs[i].value, "build.args", &value, l->err) < 0)
                        return -1;
                b->args[k++] = xasprintf("%s=%s", v->pairs[i].key, value);
        }
        return 0;
}

static int load_sections(struct loading *l)
{
        const struct config_node *n;

        if ((n = section(l->root, "outputs")) != NULL) {
                const struct config_node *d;
                if (config_check_mapping(n, "outputs", l->err) < 0 ||
                    config_check_keys(n, "outputs", output_fields, l->err) < 0)
                        return -1;
                if ((d = config_get(n, "download")) != NULL) {
                        _cleanup_free_ char *s = NULL;
                        if (config_get_string(d, "outputs.download", &s, l->err) < 0)
                                return -1;
                        if (s[0] == '/')
                                l->jf->outputs_download = TAKE_PTR(s);
                        else
                                l->jf->outputs_download = path_join(l->jf->dir, s);
                }
                if (jobfile_hub_load(n, l->jf, l->err) < 0)
                        return -1;
        }
        if ((n = section(l->root, "checkpoints")) != NULL) {
                if (config_check_mapping(n, "checkpoints", l->err) < 0 ||
                    config_check_keys(n, "checkpoints", checkpoint_fields, l->err) < 0 ||
                    load_duration(l, n, "checkpoints", "interval", &l->jf->checkpoint_interval_s) <
                            0)
                        return -1;
        }
        if ((n = section(l->root, "build")) != NULL && load_build(l, n) < 0)
                return -1;
        if ((n = section(l->root, "retry")) != NULL && load_retry(l, n) < 0)
                return -1;
        if ((n = section(l->root, "webhooks")) != NULL && load_webhooks(l, n) < 0)
                return -1;
        if ((n = section(l->root, "resources")) != NULL && load_resources(l, n) < 0)
                return -1;
        if ((n = section(l->root, "limits")) != NULL) {
                if (config_check_mapping(n, "limits", l->err) < 0 ||
                    config_check_keys(n, "limits", limit_fields, l->err) < 0 ||
                    load_duration(l, n, "limits", "max_runtime", &l->jf->max_runtime_s) < 0 ||
                    load_duration(l, n, "limits", "stop_grace", &l->jf->stop_grace_s) < 0)
                        return -1;
        }
        return 0;
}

static int load_strings(struct loading *l)
{
        static const struct {
                const char *key;
                size_t offset;
        } fields[] = {
                {"image", offsetof(struct jobfile, image)},
                {"workdir", offsetof(struct jobfile, workdir)},
                {"provider", offsetof(struct jobfile, provider)},
                {"storage", offsetof(struct jobfile, storage)},
        };

        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
                const struct config_node *node = config_get(l->root, fields[i].key);
                char **slot = (char **)((char *)l->jf + fields[i].offset);
                char *s = NULL;

                if (node == NULL)
                        continue;
                if (config_get_string(node, fields[i].key, &s, l->err) < 0)
                        return -1;
                free(*slot);
                *slot = s;
        }
        return 0;
}

/* storage: refused here, with its line, rather than after the inputs went
 * up: a prefix like "team//dbl" makes every key of the job one that the
 * entrypoint refuses (lib/storage.c has the one rule). */
static int check_storage(struct loading *l)
{
        const struct config_node *node = config_get(l->root, "storage");
        _cleanup_error_ struct hoist_error *why = NULL;

        if (node == NULL || l->jf->storage == NULL ||
            jobstorage_check_url(l->jf->storage, &why) == 0)
                return 0;
        return config_error(node, "storage", l->err, "%s", why->msg);
}

/* What runs the job: an image, a command, or both, as the runtime needs. */
static int check_runnable(struct loading *l)
{
        const struct config_pair *rt = config_get_pair(l->root, "runtime");

        if (l->jf->image == NULL && l->jf->command == NULL && l->jf->build == NULL)
                return config_error_at(l->file, l->root->line, NULL, l->err,
                                       "the job needs 'image' (a container image), 'command' (a "
                                       "program to run), or both");
        if (l->jf->runtime == JOBFILE_RUNTIME_CONTAINER && l->jf->image == NULL &&
            l->jf->build == NULL)
                return config_error_at(l->file, rt->key_line, "runtime", l->err,
                                       "container needs 'image' (or use runtime: process)");
        if (l->jf->runtime == JOBFILE_RUNTIME_PROCESS && l->jf->command == NULL)
                return config_error_at(l->file, rt->key_line, "runtime", l->err,
                                       "process needs 'command' (the program to run)");
        return 0;
}

/* `gpus: 8` at the top level: what a new user writes first, and no edit
 * distance leads from it to `resources`. */
static int misplaced_resource(const struct config_node *root, struct hoist_error **err)
{
        for (size_t i = 0; i < root->n_pairs; i++) {
                const char *key = root->pairs[i].key;
                for (const char *const *f = resource_fields; *f != NULL; f++) {
                        size_t len = strlen(*f);
                        /* "gpus" or "gpu", "cpus" or "cpu", ... */
                        int singular = (*f)[len - 1] == 's' && strlen(key) == len - 1 &&
                                       strncmp(key, *f, len - 1) == 0;
                        if (strcmp(key, *f) != 0 && !singular)
                                continue;
                        return config_error_at(root->file, root->pairs[i].key_line, NULL, err,
                                               "field '%s' goes under 'resources:' (resources: "
                                               "{%s: ...}; docs/job.md \"resources\")",
                                               key, *f);
                }
        }
        return 0;
}

/* The top-level fields: hoist's own and each provider's section. */
static char **known_top_fields(void)
{
        size_t n = 0, k = 0;
        char **v;

        while (top_fields[n] != NULL)
                n++;
        for (const char *const *p = provider_names(); *p != NULL; p++)
                n++;
        v = xcalloc(n + 1, sizeof *v);
        for (size_t i = 0; top_fields[i] != NULL; i++)
                v[k++] = xstrdup(top_fields[i]);
        for (const char *const *p = provider_names(); *p != NULL; p++) {
                const struct provider_ops *ops = provider_find(*p);
                if (ops != NULL && ops->section != NULL)
                        v[k++] = xstrdup(ops->section);
        }
        return v;
}

/* The provider's own section (slurm:), checked by the provider now, before
 * anything is uploaded; another provider's section is a mistake. */
static int load_provider_settings(struct loading *l)
{
        const struct provider_ops *ops = provider_find(l->jf->provider);

        for (const char *const *p = provider_names(); *p != NULL; p++) {
                const struct provider_ops *other = provider_find(*p);
                const struct config_pair *pair;
                if (other == NULL || other == ops || other->section == NULL ||
                    (pair = config_get_pair(l->root, other->section)) == NULL)
                        continue;
                return config_error_at(l->file, pair->key_line, other->section, l->err,
                                       "is the %s provider's section, and this job's provider is "
                                       "'%s' (set 'provider: %s', or remove the section)",
                                       other->name, l->jf->provider, other->name);
        }
        if (ops == NULL || ops->load_settings == NULL)
                return 0; /* an unknown provider is refused by whoever runs the job */
        if (ops->load_settings(ops->section ? section(l->root, ops->section) : NULL, l->file,
                               &l->jf->provider_settings, l->err) < 0)
                return -1;
        l->jf->free_provider_settings = ops->free_settings;
        return 0;
}

static int jobfile_from_config(const struct config_node *root, const char *path,
                               struct jobfile **ret, struct hoist_error **err)
{
        _cleanup_jobfile_ struct jobfile *jf = xzalloc(sizeof *jf);
        _cleanup_free_ char *copy = xstrdup(path);
        struct loading l = {
                .root = root, .file = path, .base = basename(copy), .jf = jf, .err = err};
        const struct config_node *n;

        jf->path = xstrdup(path);
        jf->provider = xstrdup("local");
        jf->runtime = JOBFILE_RUNTIME_AUTO;
        if (anchor_dir(path, &jf->dir, err) < 0)
                return -1;
        if (root->type != CONFIG_MAPPING) {
                _cleanup_free_ char *got = config_describe(root);
                return config_error(root, NULL, err,
                                    "expected a mapping of job fields (name, image, command, ...), "
                                    "got %s",
                                    got);
        }
        _cleanup_strv_ char **fields = known_top_fields();
        if (misplaced_resource(root, err) < 0 ||
            config_check_keys(root, NULL, (const char *const *)fields, err) < 0 ||
            load_name(&l) < 0 || load_strings(&l) < 0 || check_storage(&l) < 0 ||
            load_provider_settings(&l) < 0)
                return -1;
        if ((n = config_get(root, "command")) != NULL && load_command(&l, n) < 0)
                return -1;
        if ((n = config_get(root, "runtime")) != NULL && load_runtime(&l, n) < 0)
                return -1;
        if ((n = section(root, "inputs")) != NULL && load_inputs(&l, n) < 0)
                return -1;
        if ((n = section(root, "hyperparameters")) != NULL && load_hyperparameters(&l, n) < 0)
                return -1;
        if ((n = section(root, "env")) != NULL && load_env(&l, n) < 0)
                return -1;
        if ((n = section(root, "secrets")) != NULL && load_secrets(&l, n) < 0)
                return -1;
        if (load_sections(&l) < 0 || check_runnable(&l) < 0 ||
            jobfile_code_load(root, path, jf, err) < 0 ||
            jobfile_dist_load(root, path, jf, err) < 0)
                return -1;
        *ret = TAKE_PTR(jf);
        return 0;
}

int jobfile_parse(const char *text, size_t len, const char *path, struct jobfile **ret,
                  struct hoist_error **err)
{
        _cleanup_config_node_ struct config_node *root = NULL;

        if (config_parse(text, len, path, &root, err) < 0)
                return -1;
        return jobfile_from_config(root, path, ret, err);
}

int jobfile_load(const char *path, struct jobfile **ret, struct hoist_error **err)
{
        _cleanup_config_node_ struct config_node *root = NULL;

        if (config_load_file(path, &root, err) < 0)
                return -1;
        return jobfile_from_config(root, path, ret, err);
}

void jobfile_free(struct jobfile *jf)
{
        if (jf == NULL)
                return;
        free(jf->path);
        free(jf->dir);
        free(jf->name);
        free(jf->image);
        strv_free(jf->command);
        strv_free(jf->retry_on);
        if (jf->build != NULL) {
                free(jf->build->context);
                free(jf->build->dockerfile);
                strv_free(jf->build->args);
                free(jf->build->target);
                free(jf->build->push);
                free(jf->build);
        }
        free(jf->workdir);
        free(jf->provider);
        free(jf->storage);
        for (size_t i = 0; i < jf->n_inputs; i++) {
                free(jf->inputs[i].channel);
                free(jf->inputs[i].path);
                free(jf->inputs[i].link);
        }
        free(jf->inputs);
        for (size_t i = 0; i < jf->n_env; i++) {
                free(jf->env[i].key);
                free(jf->env[i].value);
        }
        free(jf->env);
        for (size_t i = 0; i < jf->n_hyperparameters; i++) {
                free(jf->hyperparameters[i].key);
                free(jf->hyperparameters[i].value);
        }
        free(jf->hyperparameters);
        for (size_t i = 0; i < jf->n_webhooks; i++) {
                free(jf->webhooks[i].url);
                strv_free(jf->webhooks[i].events);
                free(jf->webhooks[i].secret_env);
                free(jf->webhooks[i].secret_file);
        }
        free(jf->webhooks);
        for (size_t i = 0; i < jf->n_secrets; i++) {
                free(jf->secrets[i].name);
                free(jf->secrets[i].env);
                free(jf->secrets[i].file);
        }
        free(jf->secrets);
        free(jf->outputs_download);
        resources_clear(&jf->resources);
        jobfile_code_free(jf);
        jobfile_dist_free(jf);
        jobfile_hub_free(jf);
        if (jf->free_provider_settings != NULL)
                jf->free_provider_settings(jf->provider_settings);
        free(jf);
}

int64_t jobfile_parse_duration(const char *s)
{
        return config_parse_duration(s);
}

const char *jobfile_runtime_name(enum jobfile_runtime rt)
{
        switch (rt) {
        case JOBFILE_RUNTIME_AUTO:
                return "auto";
        case JOBFILE_RUNTIME_CONTAINER:
                return "container";
        case JOBFILE_RUNTIME_PROCESS:
                return "process";
        }
        return "auto";
}
