/* SPDX-License-Identifier: MIT */
#include "job.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

/* The local path named by HOIST_JOB_URL; only file:///abs/path for now. */
static int job_url_path(const char *url, const char **ret_path, struct hoist_error **err)
{
        if (strncmp(url, "file://", 7) != 0)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "HOIST_JOB_URL '%s': only file:// is supported by this "
                                        "build",
                                        url);
        if (url[7] != '/')
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "HOIST_JOB_URL '%s': a file:// URL needs an absolute path "
                                        "(file:///path/to/job.json)",
                                        url);
        *ret_path = url + 7;
        return 0;
}

int job_load_from_env(struct jobspec **ret_spec, struct hoist_error **err)
{
        const char *file = getenv("HOIST_JOB_FILE");
        const char *url = getenv("HOIST_JOB_URL");
        const char *path = NULL;
        _cleanup_jobspec_ struct jobspec *spec = NULL;

        if (file != NULL && *file != '\0') {
                path = file;
                if (url != NULL && *url != '\0')
                        log_debug("HOIST_JOB_FILE is set; ignoring HOIST_JOB_URL");
        } else if (url != NULL && *url != '\0') {
                if (job_url_path(url, &path, err) < 0)
                        return -1;
        } else {
                return 0;
        }
        if (jobspec_load_file(path, &spec, err) < 0 || jobspec_validate(spec, err) < 0)
                return hoist_error_wrap(err, "job '%s'", path);
        *ret_spec = TAKE_PTR(spec);
        return 1;
}

char *job_prefix(const struct jobspec *spec, const char *configured, const char *what)
{
        size_t n;

        if (configured == NULL || *configured == '\0')
                return xasprintf("jobs/%s/%s", spec->id, what);
        n = strlen(configured);
        while (n > 1 && configured[n - 1] == '/')
                n--;
        return xstrndup(configured, n);
}

char *job_result_key(const struct jobspec *spec)
{
        return xasprintf("jobs/%s/result.json", spec->id);
}

char *job_node_name(void)
{
        const char *env = getenv("HOIST_NODE");
        char host[HOST_NAME_MAX + 1];

        if (env != NULL && *env != '\0')
                return xstrdup(env);
        if (gethostname(host, sizeof host) < 0 || host[0] == '\0')
                return xstrdup("node");
        host[HOST_NAME_MAX] = '\0';
        return xstrdup(host);
}

int64_t job_attempt(const struct jobspec *spec)
{
        return spec->attempt > 0 ? spec->attempt : 1;
}
