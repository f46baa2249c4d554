/* SPDX-License-Identifier: MIT */
#include "local_resources.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "machine.h"
#include "resources.h"
#include "xalloc.h"

/* Where podman looks for CDI specs by default (containers.conf
 * cdi_spec_dirs); HOIST_CDI_SPEC_DIRS (colon-separated) replaces the list. */
#define CDI_SPEC_DIRS "/etc/cdi:/var/run/cdi"
#define CDI_NVIDIA_KIND "nvidia.com/gpu"
/* podman and docker both refuse a smaller --memory ("Minimum memory limit
 * allowed is 6MB"). */
#define ENGINE_MIN_MEMORY (6ULL << 20)

/* True when a CDI spec in DIR declares the nvidia.com/gpu kind. */
static int cdi_dir_has_nvidia(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        int found = 0;

        if (d == NULL)
                return 0;
        while (!found && (de = readdir(d)) != NULL) {
                const char *dot = strrchr(de->d_name, '.');
                if (de->d_name[0] == '.' || dot == NULL ||
                    (strcmp(dot, ".yaml") != 0 && strcmp(dot, ".yml") != 0 &&
                     strcmp(dot, ".json") != 0))
                        continue;
                _cleanup_free_ char *path = path_join(dir, de->d_name);
                _cleanup_free_ char *text = NULL;
                if (fs_read_file(path, &text, NULL, NULL) == 0 &&
                    strstr(text, CDI_NVIDIA_KIND) != NULL)
                        found = 1;
        }
        (void)closedir(d);
        return found;
}

/* podman reaches NVIDIA GPUs only through a CDI spec (nvidia-ctk cdi
 * generate): without one, `podman run --device nvidia.com/gpu=0` fails
 * after the inputs went up. */
static int check_cdi(struct hoist_error **err)
{
        const char *env = getenv("HOIST_CDI_SPEC_DIRS");
        _cleanup_free_ char *dirs = xstrdup(env != NULL && *env != '\0' ? env : CDI_SPEC_DIRS);
        char *save = NULL;

        for (char *d = strtok_r(dirs, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save))
                if (cdi_dir_has_nvidia(d))
                        return 0;
        _cleanup_free_ char *list = xstrdup(env != NULL && *env != '\0' ? env : CDI_SPEC_DIRS);
        for (char *p = list; *p; p++)
                if (*p == ':')
                        *p = ' ';
        return hoist_error_make(err, HOIST_ERR_INPUT,
                                "resources.gpus: podman gives a container GPUs through CDI, and "
                                "no CDI spec for " CDI_NVIDIA_KIND " is in %s (make one with "
                                "'nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml', or use "
                                "runtime: process)",
                                list);
}

static int check_disk(uint64_t want, const char *work_dir, struct hoist_error **err)
{
        struct statvfs st;
        char a[32], b[32];
        uint64_t avail;

        if (want == 0)
                return 0;
        if (statvfs(work_dir, &st) < 0)
                return hoist_error_errno(err, "resources.disk: statvfs '%s'", work_dir);
        avail = (uint64_t)st.f_bavail * (uint64_t)st.f_frsize;
        if (avail < want)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "resources.disk asks for %s, but the filesystem of '%s' "
                                        "has %s free",
                                        resources_format_size(want, a, sizeof a), work_dir,
                                        resources_format_size(avail, b, sizeof b));
        return 0;
}

/* The GPUs to give a job that asks R, probing the machine (NULL, 0 when
 * it asks for none). */
static int choose(const struct jobspec_resources *r, struct machine **ret_m,
                  unsigned int **ret_gpus, size_t *ret_n, struct hoist_error **err)
{
        _cleanup_machine_ struct machine *m = NULL;

        if (machine_probe(machine_needs(r), &m, err) < 0 ||
            machine_fit(m, r, ret_gpus, ret_n, err) < 0)
                return -1;
        if (ret_m != NULL)
                *ret_m = TAKE_PTR(m);
        return 0;
}

int local_check_resources(const struct jobspec_resources *r, const char *engine,
                          const char *work_dir, struct hoist_error **err)
{
        _cleanup_free_ unsigned int *gpus = NULL;
        size_t n = 0;

        if (resources_empty(r))
                return 0;
        if (r->spot)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "resources.spot: the local provider runs the job on this "
                                        "machine, which is not a spot instance (remove 'spot: "
                                        "true', or use a provider with spot machines)");
        if (engine != NULL && r->memory_bytes > 0 && r->memory_bytes < ENGINE_MIN_MEMORY) {
                char a[32];
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "resources.memory asks for %s, and %s refuses a memory "
                                        "limit under 6 MiB",
                                        resources_format_size(r->memory_bytes, a, sizeof a),
                                        engine);
        }
        if (choose(r, NULL, &gpus, &n, err) < 0)
                return -1;
        if (n > 0 && engine != NULL && strcmp(engine, "podman") == 0 && check_cdi(err) < 0)
                return -1;
        return check_disk(r->disk_bytes, work_dir, err);
}

static void add(char ***v, size_t *n, char *s)
{
        *v = xreallocarray(*v, *n + 2, sizeof **v);
        (*v)[(*n)++] = s;
        (*v)[*n] = NULL;
}

char **local_resources_render_args(const struct jobspec_resources *r, const char *engine,
                                   const unsigned int *gpus, size_t n, size_t machine_gpus)
{
        char **v = xcalloc(1, sizeof *v);
        size_t k = 0;
        char buf[32];

        if (r->cpus_milli > 0) {
                add(&v, &k, xstrdup("--cpus"));
                add(&v, &k, xstrdup(resources_format_cpus(r->cpus_milli, buf, sizeof buf)));
        }
        if (r->memory_bytes > 0) {
                add(&v, &k, xstrdup("--memory"));
                add(&v, &k, xasprintf("%llu", (unsigned long long)r->memory_bytes));
        }
        if (n == 0)
                return v;
        if (strcmp(engine, "docker") == 0) {
                /* --gpus takes CSV: a list of devices is one quoted field. */
                _cleanup_buf_ struct buf b = {0};
                add(&v, &k, xstrdup("--gpus"));
                if (n == machine_gpus) {
                        add(&v, &k, xstrdup("all"));
                        return v;
                }
                buf_append_str(&b, "\"device=");
                for (size_t i = 0; i < n; i++)
                        buf_printf(&b, "%s%u", i ? "," : "", gpus[i]);
                buf_append_str(&b, "\"");
                add(&v, &k, buf_take(&b));
                return v;
        }
        /* podman: CDI names, as nvidia-ctk cdi generate writes them. */
        if (n == machine_gpus) {
                add(&v, &k, xstrdup("--device"));
                add(&v, &k, xstrdup(CDI_NVIDIA_KIND "=all"));
        } else {
                for (size_t i = 0; i < n; i++) {
                        add(&v, &k, xstrdup("--device"));
                        add(&v, &k, xasprintf(CDI_NVIDIA_KIND "=%u", gpus[i]));
                }
        }
        /* SELinux would keep the container from the device nodes CDI adds. */
        add(&v, &k, xstrdup("--security-opt=label=disable"));
        return v;
}

char **local_resources_engine_args(const struct jobspec_resources *r, const char *engine,
                                   struct hoist_error **err)
{
        _cleanup_machine_ struct machine *m = NULL;
        _cleanup_free_ unsigned int *gpus = NULL;
        size_t n = 0;

        if (r->gpus > 0 && choose(r, &m, &gpus, &n, err) < 0)
                return NULL;
        return local_resources_render_args(r, engine, gpus, n, m ? m->n_gpus : 0);
}

int local_resources_cuda_devices(const struct jobspec_resources *r, char **ret,
                                 struct hoist_error **err)
{
        _cleanup_free_ unsigned int *gpus = NULL;
        _cleanup_buf_ struct buf b = {0};
        size_t n = 0;

        *ret = NULL;
        if (r->gpus <= 0)
                return 0;
        if (choose(r, NULL, &gpus, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++)
                buf_printf(&b, "%s%u", i ? "," : "", gpus[i]);
        *ret = buf_take(&b);
        return 0;
}
