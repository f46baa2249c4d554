/* SPDX-License-Identifier: MIT */
#include "runner/job/hubresults.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "config.h"
#include "fsutil.h"
#include "hfhub.h"
#include "log.h"
#include "runner/job/jobsecrets.h"
#include "runner/job/jobstorage.h"
#include "xalloc.h"

char *hubresults_key(const char *job_id)
{
        return xasprintf("jobs/%s/hub.json", job_id);
}

bool hubresults_wanted(const struct jobspec *spec)
{
        return spec->hub.repo != NULL && spec->hub.from == JOBSPEC_HUB_FROM_HOST;
}

int hubresults_read(struct storage *sto, const char *job_id, char **ret_url,
                    struct hoist_error **err)
{
        _cleanup_free_ char *key = hubresults_key(job_id), *text = NULL;
        json_auto_t *root = NULL;
        const char *url;
        size_t len = 0;
        int r;

        r = storage_exists(sto, key, NULL, err);
        if (r <= 0)
                return r;
        if (storage_get_bytes(sto, key, &text, &len, err) < 0)
                return -1;
        root = json_loadb(text, len, 0, NULL);
        url = json_string_value(json_object_get(root, "commit_url"));
        if (url == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' in the job's storage is not a Hub record", key);
        *ret_url = xstrdup(url);
        return 1;
}

/* Fetches every object under PREFIX into DIR. */
static int fetch_model(struct storage *sto, const char *prefix, const char *dir,
                       struct hoist_error **err)
{
        _cleanup_strv_ char **keys = NULL;

        if (storage_list(sto, prefix, &keys, err) < 0)
                return -1;
        for (char **k = keys; *k != NULL; k++) {
                if (storage_key_check(*k, NULL) < 0) {
                        _cleanup_free_ char *q = config_quote(*k);
                        log_warn("output %s is not a key hoist accepts; leaving it out of the "
                                 "Hub upload",
                                 q);
                        continue;
                }
                _cleanup_free_ char *dst = path_join(dir, *k + strlen(prefix));
                char *slash = strrchr(dst, '/');
                *slash = '\0';
                if (fs_mkdir_p(dst, 0700, err) < 0)
                        return -1;
                *slash = '/';
                if (storage_get_file(sto, *k, dst, err) < 0)
                        return -1;
        }
        return 0;
}

static int record(struct storage *sto, const struct job_record *job, const struct jobspec *spec,
                  const struct hfhub_commit *c, struct hoist_error **err)
{
        _cleanup_free_ char *key = hubresults_key(job->id), *text = NULL;
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        text = hfhub_commit_record(spec->hub.repo, spec->hub.revision, c, "host",
                                   (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
        return storage_put_bytes(sto, key, text, strlen(text), err);
}

/* Where the entrypoint put the model: <outputs.prefix>/model/. */
static char *model_prefix(const struct jobspec *spec)
{
        const char *p = spec->output_prefix;
        size_t n = p != NULL ? strlen(p) : 0;

        while (n > 0 && p[n - 1] == '/')
                n--;
        if (n == 0)
                return xasprintf("jobs/%s/output/model/", spec->id);
        return xasprintf("%.*s/model/", (int)n, p);
}

/* The upload itself, with the job's files fetched into DIR. */
static int upload(const struct job_record *job, const struct jobspec *spec, struct storage *sto,
                  const char *dir, struct hfhub_commit *ret, struct hoist_error **err)
{
        _cleanup_free_ char *prefix = model_prefix(spec);
        _cleanup_free_ char *token = NULL, *summary = NULL;
        _cleanup_hfhub_client_ struct hfhub_client *c = NULL;
        struct hfhub_file *files = NULL;
        size_t n = 0, skipped = 0;
        int r;

        if (jobsecrets_value(spec, spec->hub.token, &token, err) < 0)
                return -1;
        r = hfhub_client_new(spec->hub.endpoint, token, &c, err);
        explicit_bzero(token, strlen(token));
        if (r < 0)
                return -1;
        if (fetch_model(sto, prefix, dir, err) < 0)
                return hoist_error_wrap(err, "fetch the model of job %s", job->id);
        if (hfhub_files_from_dir(dir, spec->hub.path_in_repo, &files, &n, &skipped, err) < 0)
                return hoist_error_wrap(err, "job %s's model (%s in its storage)", job->id, prefix);
        summary = xasprintf("hoist job %s (%s)", job->id, job->name ? job->name : "job");
        r = hfhub_create_repo(c, spec->hub.repo, spec->hub.private_repo != 0, NULL, err);
        if (r == 0)
                r = hfhub_upload(c, spec->hub.repo, spec->hub.revision, files, n, summary, ret,
                                 err);
        hfhub_files_free(files, n);
        return r;
}

int hubresults_deliver(const struct hoist_home *home, const struct job_record *job, int flags,
                       char **ret_url, struct hoist_error **err)
{
        bool force = (flags & HUBRESULTS_FORCE) != 0;
        _cleanup_storage_ struct storage *sto = NULL;
        _cleanup_jobspec_ struct jobspec *spec = NULL;
        _cleanup_free_ char *text = NULL, *run = NULL, *lock = NULL, *dir = NULL, *have = NULL;
        _cleanup_close_ int lock_fd = -1;
        struct hfhub_commit c = {0};
        size_t len = 0;
        int r;

        if (jobstorage_open(home, job->storage_url, &sto, err) < 0 ||
            storage_get_bytes(sto, job->spec_key, &text, &len, err) < 0 ||
            jobspec_parse(text, len, job->spec_key, &spec, err) < 0)
                return -1;
        if (spec->hub.repo == NULL)
                return force ? hoist_error_make(err, HOIST_ERR_INPUT,
                                                "job %s has no outputs.hub in its job.yaml "
                                                "(add outputs: {hub: {repo: user/name, token: "
                                                "HF_TOKEN}})",
                                                job->id)
                             : 0;
        if (!force && spec->hub.from != JOBSPEC_HUB_FROM_HOST)
                return 0;
        if (job->state != JOB_SUCCEEDED)
                return force ? hoist_error_make(err, HOIST_ERR_STATE,
                                                "job %s is %s; its model goes to the Hub once it "
                                                "succeeded",
                                                job->id, job_state_name(job->state))
                             : 0;
        run = home_job_run_dir(home, job->id);
        lock = path_join(run, "hub.lock");
        /* One upload at a time: hoist serve's and a `hoist results --hub`. */
        if ((r = fs_lock_file(lock, 1, force || (flags & HUBRESULTS_WAIT) ? -1 : 0, &lock_fd,
                              err)) <= 0)
                return r < 0 ? -1 : 3;
        if (!force && (r = hubresults_read(sto, job->id, &have, err)) != 0) {
                if (r > 0 && ret_url != NULL)
                        *ret_url = TAKE_PTR(have);
                return r < 0 ? -1 : 2;
        }
        dir = path_join(run, "hub");
        (void)fs_remove_tree(dir, NULL);
        if (fs_mkdir_p(dir, 0700, err) < 0)
                return -1;
        r = upload(job, spec, sto, dir, &c, err);
        (void)fs_remove_tree(dir, NULL);
        if (r < 0)
                return hoist_error_wrap(err,
                                        "job %s: upload to the Hub (outputs.hub, token from "
                                        "secret '%s')",
                                        job->id, spec->hub.token);
        log_info("job %s: model committed to the Hub: %s (%zu %s, %zu through LFS)", job->id, c.url,
                 c.n_files, c.n_files == 1 ? "file" : "files", c.n_lfs);
        r = record(sto, job, spec, &c, err);
        if (r == 0 && ret_url != NULL)
                *ret_url = xstrdup(c.url);
        hfhub_commit_clear(&c);
        return r < 0 ? -1 : 1;
}

#define HUB_RETRY_FIRST_MS 60000
#define HUB_RETRY_MAX_MS 3600000
#define HUB_BUSY_RETRY_MS 5000

void hubresults_pass_job(const struct hoist_home *home, struct hubresults_pass *p,
                         const struct job_record *job, int64_t now_ms)
{
        struct hubresults_seen *e = NULL;
        struct hoist_error *err = NULL;
        int64_t wait;
        int r;

        for (size_t i = 0; i < p->n && e == NULL; i++)
                if (strcmp(p->v[i].job_id, job->id) == 0)
                        e = &p->v[i];
        if (e == NULL) {
                p->v = xreallocarray(p->v, p->n + 1, sizeof *p->v);
                e = &p->v[p->n++];
                *e = (struct hubresults_seen){.job_id = xstrdup(job->id)};
        }
        if (now_ms < e->next_ms)
                return;
        r = hubresults_deliver(home, job, 0, NULL, &err);
        if (r == 3) { /* another hoist is at it: how it ends is seen later */
                e->next_ms = now_ms + HUB_BUSY_RETRY_MS;
                return;
        }
        if (r >= 0) {
                e->next_ms = INT64_MAX;
                return;
        }
        if (err->code == HOIST_ERR_INPUT || err->code == HOIST_ERR_STATE) {
                log_warn("%s; 'hoist results --hub %s' tries again once that is fixed", err->msg,
                         job->id);
                e->next_ms = INT64_MAX;
        } else {
                wait = HUB_RETRY_FIRST_MS << (e->tries < 6 ? e->tries : 6);
                if (wait > HUB_RETRY_MAX_MS)
                        wait = HUB_RETRY_MAX_MS;
                log_warn("%s; retrying in %" PRId64 " s", err->msg, wait / 1000);
                e->next_ms = now_ms + wait;
                e->tries++;
        }
        hoist_error_free(err);
}

void hubresults_pass_free(struct hubresults_pass *p)
{
        for (size_t i = 0; i < p->n; i++)
                free(p->v[i].job_id);
        free(p->v);
        *p = (struct hubresults_pass){0};
}
