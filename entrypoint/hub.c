/* SPDX-License-Identifier: MIT */
#include "hub.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "hfhub.h"
#include "job.h"
#include "log.h"
#include "xalloc.h"

static int upload(const struct jobspec *spec, const char *model_dir, const char *token,
                  struct hfhub_commit *ret, struct hoist_error **err)
{
        _cleanup_hfhub_client_ struct hfhub_client *c = NULL;
        _cleanup_free_ char *summary =
                xasprintf("hoist job %s (%s)", spec->id, spec->name != NULL ? spec->name : "job");
        struct hfhub_file *files = NULL;
        size_t n = 0, skipped = 0;
        int r;

        if (hfhub_client_new(spec->hub.endpoint, token, &c, err) < 0)
                return -1;
        if (hfhub_files_from_dir(model_dir, spec->hub.path_in_repo, &files, &n, &skipped, err) < 0)
                return -1;
        if (skipped > 0)
                log_warn("%zu entries of the model dir are not regular files (symlinks, "
                         "sockets ...); leaving them out of the Hub upload",
                         skipped);
        r = hfhub_create_repo(c, spec->hub.repo, spec->hub.private_repo != 0, NULL, err);
        if (r == 0)
                r = hfhub_upload(c, spec->hub.repo, spec->hub.revision, files, n, summary, ret,
                                 err);
        hfhub_files_free(files, n);
        return r;
}

int hub_publish(const struct jobspec *spec, struct storage *st, const char *model_dir,
                struct hoist_error **err)
{
        _cleanup_free_ char *prefix = NULL, *key = NULL, *text = NULL;
        struct hfhub_commit c = {0};
        const char *token;
        struct timespec ts;
        int r;

        if (spec->hub.repo == NULL || spec->hub.from != JOBSPEC_HUB_FROM_ENTRYPOINT)
                return 0;
        token = getenv(spec->hub.token);
        if (token == NULL || *token == '\0')
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "upload to the Hub: the secret '%s' (outputs.hub.token) "
                                        "did not reach the job; list it under secrets: in "
                                        "job.yaml",
                                        spec->hub.token);
        if (upload(spec, model_dir, token, &c, err) < 0)
                return hoist_error_wrap(err,
                                        "upload the model dir '%s' to the Hub (token from "
                                        "secret '%s')",
                                        model_dir, spec->hub.token);
        log_info("model committed to the Hub: %s (%zu files, %zu through LFS)", c.url, c.n_files,
                 c.n_lfs);
        clock_gettime(CLOCK_REALTIME, &ts);
        text = hfhub_commit_record(spec->hub.repo, spec->hub.revision, &c, "entrypoint",
                                   (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
        prefix = job_prefix(spec, NULL, "hub.json");
        r = storage_put_bytes(st, prefix, text, strlen(text), err);
        hfhub_commit_clear(&c);
        return r;
}
