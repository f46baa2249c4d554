/* SPDX-License-Identifier: MIT */
#include "runner/job/jobrm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"
#include "runner/job/jobstorage.h"
#include "runner/control/localserve.h"
#include "log.h"
#include "providers/provider.h"
#include "runner/control/reconcile.h"
#include "xalloc.h"

int jobrm_storage(const struct hoist_home *home, struct jobrm_storages *set, const char *url,
                  struct storage **ret, struct hoist_error **err)
{
        struct storage *sto = NULL;

        for (size_t i = 0; i < set->n; i++)
                if (strcmp(set->urls[i], url) == 0) {
                        *ret = set->stos[i];
                        return 0;
                }
        if (jobstorage_open(home, url, &sto, err) < 0)
                return hoist_error_wrap(err, "storage '%s'", url);
        set->urls = xreallocarray(set->urls, set->n + 1, sizeof *set->urls);
        set->stos = xreallocarray(set->stos, set->n + 1, sizeof *set->stos);
        set->urls[set->n] = xstrdup(url);
        set->stos[set->n++] = sto;
        *ret = sto;
        return 0;
}

void jobrm_storages_clear(struct jobrm_storages *set)
{
        for (size_t i = 0; i < set->n; i++) {
                free(set->urls[i]);
                storage_close(set->stos[i]);
        }
        free(set->urls);
        free(set->stos);
        *set = (struct jobrm_storages){0};
}

/* Deletes (or, DRY_RUN, counts) the job's objects, its job.json last: while
 * that is there, hoist gc keeps the blobs it names. */
static int remove_objects(struct storage *sto, const char *job_id, bool dry_run,
                          struct jobrm_stats *stats, struct hoist_error **err)
{
        _cleanup_free_ char *prefix = xasprintf("jobs/%s", job_id);
        _cleanup_free_ char *spec_key = xasprintf("jobs/%s/job.json", job_id);
        struct storage_entry *e = NULL;
        size_t n = 0;
        int spec = -1, r = 0;

        if (storage_list_entries(sto, prefix, &e, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                stats->objects++;
                stats->bytes += e[i].size;
                if (strcmp(e[i].key, spec_key) == 0)
                        spec = (int)i;
                else if (!dry_run && r == 0)
                        r = storage_delete(sto, e[i].key, err);
        }
        if (r == 0 && !dry_run && spec >= 0)
                r = storage_delete(sto, spec_key, err);
        storage_entries_free(e, n);
        if (r < 0)
                return -1;
        /* file://: the directories the objects were in. */
        _cleanup_free_ char *dir = dry_run ? NULL : storage_local_path(sto, prefix);
        if (dir != NULL && fs_remove_tree(dir, err) < 0)
                return -1;
        return 0;
}

/* The job's lock, or HOIST_ERR_STATE when another hoist keeps it. */
static int lock_job(const struct hoist_home *home, const char *job_id, int wait_ms, int *ret_fd,
                    struct hoist_error **err)
{
        int r = reconcile_lock_job(home, job_id, wait_ms, ret_fd, err);

        if (r == 0)
                return hoist_error_make(err, HOIST_ERR_STATE,
                                        "job %s is held by another hoist (starting or "
                                        "resuming it); try again once it is done",
                                        job_id);
        return r < 0 ? -1 : 0;
}

static int check_finished(const struct job_record *job, struct hoist_error **err)
{
        if (job_state_terminal(job->state))
                return 0;
        return hoist_error_make(err, HOIST_ERR_STATE,
                                "job %s is %s: stop it first ('hoist cancel %s'), or remove "
                                "it with 'hoist rm --force'",
                                job->id, job_state_name(job->state), job->id);
}

/* Lets the provider free what it may still hold (a stopped container and
 * its anonymous volumes); one that is gone already is no news. */
static void release_quietly(const struct hoist_home *home, const struct job_record *job)
{
        const struct provider_ops *prov = provider_find(job->provider);
        _cleanup_free_ char *dir = NULL;
        struct hoist_error *e = NULL;

        if (prov == NULL || prov->release == NULL)
                return;
        dir = path_join(home->run_dir, job->id);
        if (prov->release(job, dir, &e) < 0) {
                log_debug("job %s: release: %s", job->id, e->msg);
                hoist_error_free(e);
        }
}

int jobrm_remove(const struct hoist_home *home, struct store *st, struct jobrm_storages *set,
                 const char *job_id, bool dry_run, struct jobrm_stats *ret,
                 struct hoist_error **err)
{
        _cleanup_job_record_ struct job_record *job = NULL;
        _cleanup_free_ char *run_dir = path_join(home->run_dir, job_id);
        _cleanup_close_ int lock = -1;
        struct jobrm_stats stats = {0};
        struct storage *sto = NULL;

        if (!dry_run && lock_job(home, job_id, RECONCILE_RESUME_WAIT_MS, &lock, err) < 0)
                return -1;
        /* What the store says under the lock. */
        if (store_get_job(st, job_id, &job, err) < 0 || check_finished(job, err) < 0)
                return -1;
        if (job->storage_url != NULL &&
            (jobrm_storage(home, set, job->storage_url, &sto, err) < 0 ||
             remove_objects(sto, job->id, dry_run, &stats, err) < 0))
                return hoist_error_wrap(err, "job %s", job->id);
        stats.bytes += fs_tree_size(run_dir);
        if (!dry_run) {
                release_quietly(home, job);
                if (fs_remove_tree(run_dir, err) < 0 || store_delete_job(st, job->id, err) < 0)
                        return hoist_error_wrap(err, "job %s", job->id);
                if (job->storage_url != NULL && strcmp(job->storage_url, LOCALSERVE_URL) == 0 &&
                    localserve_revoke_job_keys(home, job->id, INT64_MAX, err) < 0)
                        return hoist_error_wrap(err, "job %s: revoke its storage keys", job->id);
        }
        *ret = stats;
        return 0;
}

int jobrm_clear_run_dir(const struct hoist_home *home, struct store *st, const char *job_id,
                        bool dry_run, struct jobrm_stats *ret, struct hoist_error **err)
{
        _cleanup_job_record_ struct job_record *job = NULL;
        _cleanup_free_ char *run_dir = path_join(home->run_dir, job_id);
        _cleanup_strv_ char **names = NULL;
        _cleanup_close_ int lock = -1;
        struct jobrm_stats stats = {0};
        int r;

        if (!fs_is_dir(run_dir))
                return 0;
        if (!dry_run) {
                r = reconcile_lock_job(home, job_id, 0, &lock, err);
                if (r <= 0)
                        return r;
        }
        if (store_get_job(st, job_id, &job, err) < 0)
                return -1;
        if (!job_state_terminal(job->state))
                return 0;
        names = fs_list_dir(run_dir, err);
        if (names == NULL)
                return -1;
        /* The lock stays (whoever waits on it holds the one file there is),
         * and so does the mark that the provider let go of the job, or the
         * next look at the job would release it again and write it back. */
        for (char **n = names; *n != NULL; n++) {
                if (strcmp(*n, "launch.lock") == 0 || strcmp(*n, RECONCILE_RELEASED_MARK) == 0)
                        continue;
                _cleanup_free_ char *path = path_join(run_dir, *n);
                stats.objects++;
                stats.bytes += fs_tree_size(path);
                if (!dry_run && fs_remove_tree(path, err) < 0)
                        return -1;
        }
        *ret = stats;
        return stats.objects > 0;
}
