/* SPDX-License-Identifier: MIT */
#include "runner/job/jobfile_code.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

static int load_code(const struct config_node *node, const char *file, struct jobfile *jf,
                     struct hoist_error **err)
{
        _cleanup_free_ char *rel = NULL, *full = NULL, *real = NULL, *q = NULL;

        if (config_get_string(node, "code", &rel, err) < 0)
                return -1;
        q = config_quote(rel);
        full = rel[0] == '/' ? xstrdup(rel) : path_join(jf->dir, rel);
        real = realpath(full, NULL);
        if (real == NULL && (errno == ENOENT || errno == ENOTDIR))
                return config_error(node, "code", err,
                                    "%s does not exist (paths are relative to the directory of "
                                    "'%s'; 'code: .' is that directory)",
                                    q, file);
        if (real == NULL)
                return config_error(node, "code", err, "%s: %s", q, strerror(errno));
        if (!fs_is_dir(real))
                return config_error(node, "code", err,
                                    "%s is not a directory (code: names the directory of the "
                                    "job's source tree, like 'code: .')",
                                    q);
        jf->code = TAKE_PTR(real);
        jf->code_line = node->line;
        return 0;
}

/* PATH (absolute) as the tree ROOT names it: "" for ROOT itself, NULL when
 * it lies outside. */
static const char *under(const char *root, const char *path)
{
        size_t n = strlen(root);

        if (strcmp(root, "/") == 0)
                return path + 1;
        if (strncmp(path, root, n) != 0 || (path[n] != '/' && path[n] != '\0'))
                return NULL;
        return path[n] == '/' ? path + n + 1 : path + n;
}

/* REL (as written) made absolute: its directory with symlinks resolved,
 * then its own name, so an included symlink is the link, not its target.
 * NULL with errno when it does not exist. */
static char *resolve_include(const char *dir, const char *rel)
{
        _cleanup_free_ char *full = rel[0] == '/' ? xstrdup(rel) : path_join(dir, rel);
        _cleanup_free_ char *parent = NULL, *real = NULL;
        size_t n = strlen(full);
        struct stat st;
        char *slash, *base;

        while (n > 1 && full[n - 1] == '/')
                full[--n] = '\0';
        slash = strrchr(full, '/');
        base = slash + 1;
        if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
                return realpath(full, NULL);
        parent = slash == full ? xstrdup("/") : xstrndup(full, (size_t)(slash - full));
        real = realpath(parent, NULL);
        if (real == NULL)
                return NULL;
        char *path = path_join(real, base);
        if (lstat(path, &st) < 0) {
                int e = errno;
                free(path);
                errno = e;
                return NULL;
        }
        return path;
}

/* The trees include: paths may lie in: the code and every directory input. */
static int in_some_tree(const struct jobfile *jf, const char *path, const char **ret_root)
{
        if (jf->code != NULL && under(jf->code, path) != NULL) {
                *ret_root = jf->code;
                return 1;
        }
        for (size_t i = 0; i < jf->n_inputs; i++) {
                if (fs_is_dir(jf->inputs[i].path) && under(jf->inputs[i].path, path) != NULL) {
                        *ret_root = jf->inputs[i].path;
                        return 1;
                }
        }
        return 0;
}

static int load_include(const struct config_node *node, struct jobfile *jf,
                        struct hoist_error **err)
{
        if (node->type != CONFIG_SEQUENCE) {
                _cleanup_free_ char *got = config_describe(node);
                return config_error(node, "include", err,
                                    "expected a list of paths (relative to job.yaml's directory), "
                                    "got %s",
                                    got);
        }
        jf->includes = xcalloc(node->n_items ? node->n_items : 1, sizeof *jf->includes);
        for (size_t i = 0; i < node->n_items; i++) {
                const struct config_node *item = node->items[i];
                _cleanup_free_ char *field = xasprintf("include[%zu]", i);
                _cleanup_free_ char *rel = NULL, *q = NULL, *path = NULL;
                const char *root = NULL;

                if (config_get_string(item, field, &rel, err) < 0)
                        return -1;
                q = config_quote(rel);
                if (rel[0] == '\0')
                        return config_error(item, field, err, "expected a path, got %s", q);
                path = resolve_include(jf->dir, rel);
                if (path == NULL && (errno == ENOENT || errno == ENOTDIR))
                        return config_error(item, field, err,
                                            "%s does not exist (paths are relative to job.yaml's "
                                            "directory)",
                                            q);
                if (path == NULL)
                        return config_error(item, field, err, "%s: %s", q, strerror(errno));
                if (!in_some_tree(jf, path, &root))
                        return config_error(item, field, err,
                                            "%s lies neither inside 'code:' nor inside a "
                                            "directory input: include: names what those trees "
                                            "would otherwise leave out",
                                            q);
                if (*under(root, path) == '\0')
                        return config_error(item, field, err,
                                            "%s is the whole of the tree '%s': name the files "
                                            "or directories in it to send",
                                            q, root);
                jf->includes[i].path = TAKE_PTR(path);
                jf->includes[i].line = item->line;
                jf->n_includes = i + 1;
        }
        return 0;
}

static int load_consent(const struct config_node *node, struct jobfile *jf,
                        struct hoist_error **err)
{
        _cleanup_free_ char *s = NULL;

        if (config_get_string(node, "consent", &s, err) < 0)
                return -1;
        if (strcmp(s, "ask") != 0 && strcmp(s, "allow") != 0 && strcmp(s, "never") != 0) {
                _cleanup_free_ char *got = config_describe(node);
                return config_error(node, "consent", err, "expected ask, allow or never, got %s",
                                    got);
        }
        jf->consent = TAKE_PTR(s);
        jf->consent_line = node->line;
        return 0;
}

int jobfile_code_load(const struct config_node *root, const char *file, struct jobfile *jf,
                      struct hoist_error **err)
{
        const struct config_node *n;

        if ((n = config_get(root, "code")) != NULL && !config_is_null(n) &&
            load_code(n, file, jf, err) < 0)
                return -1;
        if ((n = config_get(root, "include")) != NULL && !config_is_null(n) &&
            load_include(n, jf, err) < 0)
                return -1;
        if ((n = config_get(root, "consent")) != NULL && load_consent(n, jf, err) < 0)
                return -1;
        return 0;
}

void jobfile_code_free(struct jobfile *jf)
{
        free(jf->code);
        for (size_t i = 0; i < jf->n_includes; i++)
                free(jf->includes[i].path);
        free(jf->includes);
        free(jf->consent);
}

char **jobfile_code_includes_in(const struct jobfile *jf, const char *root)
{
        char **v = NULL;
        size_t n = 0;

        for (size_t i = 0; i < jf->n_includes; i++) {
                const char *rel = under(root, jf->includes[i].path);
                if (rel == NULL || *rel == '\0')
                        continue;
                v = xreallocarray(v, n + 2, sizeof *v);
                v[n++] = xstrdup(rel);
                v[n] = NULL;
        }
        return v;
}
