/* SPDX-License-Identifier: MIT */
#include "provider.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"

int provider_long_lived;

static const struct provider_ops *const providers[] = {
        &provider_local,     &provider_slurm,   &provider_sagemaker,
        &provider_replicate, &provider_compose, &provider_kubernetes,
};

static const char *const names[] = {"local",   "slurm",      "sagemaker", "replicate",
                                    "compose", "kubernetes", NULL};

/* Providers added at run time (provider_register()). */
static const struct provider_ops *registered[4];

const struct provider_ops *provider_find(const char *name)
{
        for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++)
                if (strcmp(providers[i]->name, name) == 0)
                        return providers[i];
        for (size_t i = 0; i < sizeof registered / sizeof registered[0]; i++)
                if (registered[i] != NULL && strcmp(registered[i]->name, name) == 0)
                        return registered[i];
        return NULL;
}

int provider_register(const struct provider_ops *prov)
{
        if (provider_find(prov->name) != NULL)
                return -1;
        for (size_t i = 0; i < sizeof registered / sizeof registered[0]; i++)
                if (registered[i] == NULL) {
                        registered[i] = prov;
                        return 0;
                }
        return -1;
}

const char *const *provider_names(void)
{
        return names;
}

void provider_status_clear(struct provider_status *st)
{
        free(st->reason);
        st->reason = NULL;
}

void provider_remote_jobs_free(struct provider_remote_job *j, size_t n)
{
        for (size_t i = 0; j != NULL && i < n; i++) {
                free(j[i].ref);
                free(j[i].job_id);
                free(j[i].state);
        }
        free(j);
}

void provider_billing_clear(struct provider_billing *b)
{
        free(b->source);
        free(b->sku);
        free(b->region);
        b->source = NULL;
        b->sku = NULL;
        b->region = NULL;
}

void provider_price_key_clear(struct provider_price_key *k)
{
        free(k->sku);
        free(k->region);
        k->sku = NULL;
        k->region = NULL;
}

int provider_reaches_loopback(const struct provider_ops *prov, const void *settings)
{
        if (prov->reaches_loopback != NULL)
                return prov->reaches_loopback(settings);
        return !prov->remote;
}

static char *launch_lock_path(const char *state_dir)
{
        return path_join(state_dir, "launch.lock");
}

int provider_settings_read(const char *state_dir, const char *file, const char *what,
                           char **ret_path, char **ret_text, size_t *ret_len,
                           struct hoist_error **err)
{
        _cleanup_free_ char *path = path_join(state_dir, file);

        if (fs_read_file(path, ret_text, ret_len, NULL) < 0)
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                        "the job's %s settings ('%s') are gone; submit the job "
                                        "again from its job.yaml",
                                        what, path);
        *ret_path = TAKE_PTR(path);
        return 0;
}

int provider_settings_write(const char *state_dir, const char *file, const char *text,
                            struct hoist_error **err)
{
        _cleanup_free_ char *path = path_join(state_dir, file);

        return fs_write_file_atomic(path, text, strlen(text), 0600, err);
}

int provider_launch_lock(const char *state_dir, int wait_ms, int *ret_fd, struct hoist_error **err)
{
        _cleanup_free_ char *path = launch_lock_path(state_dir);

        if (fs_mkdir_p(state_dir, 0700, err) < 0)
                return -1;
        return fs_lock_file(path, 1, wait_ms, ret_fd, err);
}
