/* SPDX-License-Identifier: MIT */
#include "runner/cli/home.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

static char *self_dir(void)
{
        char path[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);

        if (n <= 0)
                return xstrdup(".");
        path[n] = '\0';
        char *slash = strrchr(path, '/');
        if (slash != NULL)
                *slash = '\0';
        return xstrdup(path);
}

int home_open(struct hoist_home **ret, struct hoist_error **err)
{
        const char *env = getenv("HOIST_HOME");
        _cleanup_free_ char *dir = NULL;
        struct hoist_home *h;

        if (env != NULL && *env != '\0') {
                if (*env != '/') {
                        char cwd[PATH_MAX];
                        if (getcwd(cwd, sizeof cwd) == NULL)
                                return hoist_error_errno(err, "getcwd");
                        dir = path_join(cwd, env);
                } else {
                        dir = xstrdup(env);
                }
        } else {
                const char *home = getenv("HOME");
                if (home == NULL || *home == '\0') {
                        struct passwd *pw = getpwuid(getuid());
                        home = pw ? pw->pw_dir : NULL;
                }
                if (home == NULL)
                        return hoist_error_make(err, HOIST_ERR_USAGE,
                                                "cannot find a home directory: set HOIST_HOME");
                dir = path_join(home, ".hoist");
        }
        h = xzalloc(sizeof *h);
        h->dir = TAKE_PTR(dir);
        h->db_path = path_join(h->dir, "hoist.db");
        h->storage_url = xasprintf("file://%s/storage", h->dir);
        h->run_dir = path_join(h->dir, "run");
        h->tmp_dir = path_join(h->dir, "tmp");
        h->self_dir = self_dir();
        if (fs_mkdir_p(h->dir, 0700, err) < 0 || fs_mkdir_p(h->run_dir, 0700, err) < 0 ||
            fs_mkdir_p(h->tmp_dir, 0700, err) < 0) {
                home_free(h);
                return hoist_error_wrap(err, "HOIST_HOME");
        }
        *ret = h;
        return 0;
}

void home_free(struct hoist_home *h)
{
        if (h == NULL)
                return;
        free(h->dir);
        free(h->db_path);
        free(h->storage_url);
        free(h->run_dir);
        free(h->tmp_dir);
        free(h->self_dir);
        free(h);
}

int home_open_store(const struct hoist_home *h, struct store **ret, struct hoist_error **err)
{
        return store_open(h->db_path, ret, err);
}

char *home_job_run_dir(const struct hoist_home *h, const char *job_id)
{
        char *dir = path_join(h->run_dir, job_id);

        (void)fs_mkdir_p(dir, 0700, NULL);
        return dir;
}

int home_lock_gc(const struct hoist_home *h, int exclusive, int wait_ms, int *ret_fd,
                 struct hoist_error **err)
{
        _cleanup_free_ char *path = path_join(h->dir, "gc.lock");

        return fs_lock_file(path, exclusive, wait_ms, ret_fd, err);
}

/* Looks for NAME relative to the binary's directory: beside it (bin/), in
 * ../build/ (a source tree) and in ../share/hoist/ (an install). */
static char *find_near_self(const struct hoist_home *h, const char *const rels[])
{
        for (size_t i = 0; rels[i] != NULL; i++) {
                char *p = path_join(h->self_dir, rels[i]);
                if (fs_exists(p))
                        return p;
                free(p);
        }
        return NULL;
}

char *home_find_entrypoint(const struct hoist_home *h)
{
        static const char *const rels[] = {"hoist-entrypoint", "../libexec/hoist/hoist-entrypoint",
                                           NULL};
        const char *env = getenv("HOIST_ENTRYPOINT");

        if (env != NULL && *env != '\0')
                return xstrdup(env);
        return find_near_self(h, rels);
}

char *home_find_bundle(const struct hoist_home *h)
{
        static const char *const rels[] = {"../build/bundle/opt/hoist",
                                           "../share/hoist/bundle/opt/hoist", NULL};
        const char *env = getenv("HOIST_BUNDLE_DIR");

        if (env != NULL && *env != '\0')
                return xstrdup(env);
        return find_near_self(h, rels);
}
