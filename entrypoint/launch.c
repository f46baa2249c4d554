/* SPDX-License-Identifier: MIT */
#include "launch.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "log.h"
#include "nvml.h"
#include "rendezvous.h"
#include "xalloc.h"

extern char **environ;

/* How long the nodes of a Kubernetes Indexed Job wait for each other at
 * the rendezvous (rendezvous.h): its pods do not start at once. */
#define K8S_JOIN_S 300
/* And compose services (HOIST_NODE_HOSTS): the engine starts them one
 * after another. */
#define HOIST_JOIN_S 60

static int64_t count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        int64_t n = 0;

        if (d == NULL)
                return 0;
        while ((de = readdir(d)) != NULL)
                n += de->d_name[0] != '.';
        (void)closedir(d);
        return n;
}

int64_t launch_visible_gpus(const char *proc_gpus, int use_nvml)
{
        const char *cvd = getenv("CUDA_VISIBLE_DEVICES");
        _cleanup_error_ struct hoist_error *err = NULL;
        struct nvml n = {0};
        unsigned int count = 0;
        int64_t r = 0;

        if (cvd != NULL) {
                if (*cvd == '\0' || strcmp(cvd, "-1") == 0 || strcmp(cvd, "NoDevFiles") == 0)
                        return 0;
                r = 1;
                for (const char *p = cvd; *p; p++)
                        r += *p == ',';
                return r;
        }
        r = count_entries(proc_gpus);
        if (r > 0 || !use_nvml)
                return r;
        if (nvml_open(&n, &err) < 0) {
                log_debug("no GPUs counted: %s", err->msg);
                return 0;
        }
        if (n.get_count(&count) == NVML_SUCCESS)
                r = count;
        nvml_close(&n);
        return r;
}

static void export(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void export(const char *name, const char *fmt, ...)
{
        _cleanup_free_ char *v = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&v, fmt, ap) < 0)
                abort();
        va_end(ap);
        if (setenv(name, v, 1) < 0)
                abort(); /* ENOMEM: the names are valid */
}

static char *join(char *const *v, const char *sep)
{
        size_t len = 1;
        char *r, *p;

        for (size_t i = 0; v[i] != NULL; i++)
                len += strlen(v[i]) + strlen(sep);
        p = r = xmalloc(len);
        *p = '\0';
        for (size_t i = 0; v[i] != NULL; i++)
                p = stpcpy(stpcpy(p, i > 0 ? sep : ""), v[i]);
        return r;
}

static int multi_node_place(const struct jobspec *spec, struct launch *l, struct hoist_error **err)
{
        enum distenv_engine engine = distenv_detect();

        if (engine == DISTENV_SINGLE)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "job.json asks for %lld nodes but no engine placed this "
                                        "one: none of Slurm's SLURM_PROCID, Kubernetes' "
                                        "JOB_COMPLETION_INDEX, SageMaker's resourceconfig.json or "
                                        "HOIST_NODE_HOSTS is there (docs/entrypoint.md "
                                        "\"Multi-node\")",
                                        (long long)spec->nodes);
        if (distenv_read(engine, &l->place, err) < 0)
                return -1;
        if (l->place.num_nodes != spec->nodes)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "job.json asks for %lld nodes but %s started %lld; the "
                                        "provider must start one hoist-entrypoint per node",
                                        (long long)spec->nodes, distenv_engine_name(engine),
                                        (long long)l->place.num_nodes);
        /* Slurm's and SageMaker's hosts are machines, there before and
         * after the job; a compose service's or a pod's name lives only as
         * long as its container: those nodes meet at node 0 instead. */
        if (engine == DISTENV_KUBERNETES || engine == DISTENV_HOIST) {
                if (rendezvous_run(&l->place, spec->id, l->port,
                                   engine == DISTENV_KUBERNETES ? K8S_JOIN_S : HOIST_JOIN_S,
                                   &l->addrs, err) < 0)
                        return hoist_error_wrap(err, "%s placement", distenv_engine_name(engine));
                return 0;
        }
        if (distenv_resolve(&l->place, &l->addrs, err) < 0)
                return hoist_error_wrap(err, "%s placement", distenv_engine_name(engine));
        return 0;
}

int launch_place(const struct jobspec *spec, struct launch *ret, struct hoist_error **err)
{
        struct launch l = {.launcher = jobspec_launcher(spec), .port = jobspec_port(spec)};
        _cleanup_free_ char *ips = NULL;

        l.multi_node = spec->nodes > 1;
        if (l.multi_node) {
                if (multi_node_place(spec, &l, err) < 0) {
                        launch_clear(&l);
                        return -1;
                }
        } else if (distenv_read(DISTENV_SINGLE, &l.place, err) < 0) {
                return -1;
        } else {
                l.addrs = xcalloc(2, sizeof *l.addrs);
                l.addrs[0] = xstrdup(l.place.hosts[0]);
        }
        l.nproc = spec->nproc_per_node;
        if (l.nproc <= 0) {
                /* NVML only where the count starts processes and the job
                 * lets hoist load it (gpu_health); the monitor opens it too. */
                int use_nvml =
                        spec->gpu_health && (l.multi_node || l.launcher != JOBSPEC_LAUNCHER_NONE);
                l.nproc = launch_visible_gpus(LAUNCH_PROC_GPUS, use_nvml);
                if (l.nproc <= 0)
                        l.nproc = 1;
        }
        ips = join(l.addrs, ",");
        export("MASTER_ADDR", "%s", l.place.hosts[0]);
        export("MASTER_PORT", "%lld", (long long)l.port);
        export("NNODES", "%lld", (long long)l.place.num_nodes);
        export("NODE_RANK", "%lld", (long long)l.place.node_rank);
        export("NPROC_PER_NODE", "%lld", (long long)l.nproc);
        export("LOCAL_WORLD_SIZE", "%lld", (long long)l.nproc);
        export("WORLD_SIZE", "%lld", (long long)(l.nproc * l.place.num_nodes));
        export("HOIST_NODE_RANK", "%lld", (long long)l.place.node_rank);
        export("HOIST_NUM_NODES", "%lld", (long long)l.place.num_nodes);
        export("HOIST_NODE_IPS", "%s", ips);
        *ret = l;
        return 0;
}

int launch_shares_host(const struct launch *l)
{
        const char *mine;

        if (!l->multi_node || l->place.hosts == NULL)
                return 0;
        mine = l->place.hosts[l->place.node_rank];
        for (int64_t i = 0; i < l->place.num_nodes; i++)
                if (i != l->place.node_rank && strcmp(l->place.hosts[i], mine) == 0)
                        return 1;
        return 0;
}

char *launch_node_name(const struct launch *l)
{
        if (!l->multi_node)
                return NULL;
        return xasprintf("node%lld", (long long)l->place.node_rank);
}

static char **strv_copy(char *const *v)
{
        size_t n = 0;
        char **r;

        while (v[n] != NULL)
                n++;
        r = xcalloc(n + 1, sizeof *r);
        for (size_t i = 0; i < n; i++)
                r[i] = xstrdup(v[i]);
        return r;
}

/* "python", "python3", "python3.11", with or without a directory. */
static int is_python(const char *arg)
{
        const char *base = strrchr(arg, '/');

        base = base ? base + 1 : arg;
        if (strncmp(base, "python", 6) != 0)
                return 0;
        return strspn(base + 6, "0123456789.") == strlen(base + 6);
}

char **launch_wrap(const struct launch *l, char *const *command)
{
        size_t n = 0, i = 0;
        char **v;
        long long nn = (long long)l->place.num_nodes, rank = (long long)l->place.node_rank;
        long long np = (long long)l->nproc, port = (long long)l->port;
        const char *master = l->place.hosts[0];
        char *const *cmd = command;
        int no_python = 1;

        if (l->launcher != JOBSPEC_LAUNCHER_TORCHRUN && l->launcher != JOBSPEC_LAUNCHER_ACCELERATE)
                return NULL;
        /* "python train.py" or "python -m pkg": the launcher runs the
         * interpreter itself; other options to Python need --no_python. */
        if (is_python(cmd[0]) && cmd[1] != NULL &&
            (cmd[1][0] != '-' || (strcmp(cmd[1], "-m") == 0 && cmd[2] != NULL))) {
                cmd++;
                no_python = 0;
        }
        while (cmd[n] != NULL)
                n++;
        v = xcalloc(n + 16, sizeof *v); /* the launcher's at most 13 */
        if (l->launcher == JOBSPEC_LAUNCHER_TORCHRUN) {
                v[i++] = xstrdup("torchrun");
                v[i++] = xstrdup("--nnodes");
                v[i++] = xasprintf("%lld", nn);
                v[i++] = xstrdup("--node_rank");
                v[i++] = xasprintf("%lld", rank);
                v[i++] = xstrdup("--nproc_per_node");
                v[i++] = xasprintf("%lld", np);
                v[i++] = xstrdup("--master_addr");
                v[i++] = xstrdup(master);
                v[i++] = xstrdup("--master_port");
                v[i++] = xasprintf("%lld", port);
        } else {
                v[i++] = xstrdup("accelerate");
                v[i++] = xstrdup("launch");
                v[i++] = xstrdup("--num_machines");
                v[i++] = xasprintf("%lld", nn);
                v[i++] = xstrdup("--machine_rank");
                v[i++] = xasprintf("%lld", rank);
                v[i++] = xstrdup("--num_processes");
                v[i++] = xasprintf("%lld", nn * np);
                v[i++] = xstrdup("--main_process_ip");
                v[i++] = xstrdup(master);
                v[i++] = xstrdup("--main_process_port");
                v[i++] = xasprintf("%lld", port);
        }
        if (no_python)
                v[i++] = xstrdup("--no_python");
        for (size_t k = 0; k < n; k++)
                v[i++] = xstrdup(cmd[k]);
        return v;
}

/* Our environment with the worker's variables set over it. */
static char **worker_env(const struct launch *l, int64_t local)
{
        static const char *const names[] = {"RANK",        "LOCAL_RANK",  "GROUP_RANK",
                                            "ROLE_RANK",   "WORLD_SIZE",  "LOCAL_WORLD_SIZE",
                                            "MASTER_ADDR", "MASTER_PORT", NULL};
        int64_t rank = l->place.node_rank * l->nproc + local;
        size_t n = 0, i = 0;
        char **v;

        while (environ[n] != NULL)
                n++;
        v = xcalloc(n + 9, sizeof *v);
        for (size_t k = 0; k < n; k++) {
                size_t len = strcspn(environ[k], "=");
                int ours = 0;
                for (const char *const *p = names; *p && !ours; p++)
                        ours = strlen(*p) == len && strncmp(environ[k], *p, len) == 0;
                if (!ours)
                        v[i++] = xstrdup(environ[k]);
        }
        v[i++] = xasprintf("RANK=%lld", (long long)rank);
        v[i++] = xasprintf("LOCAL_RANK=%lld", (long long)local);
        v[i++] = xasprintf("GROUP_RANK=%lld", (long long)l->place.node_rank);
        v[i++] = xasprintf("ROLE_RANK=%lld", (long long)rank);
        v[i++] = xasprintf("WORLD_SIZE=%lld", (long long)(l->nproc * l->place.num_nodes));
        v[i++] = xasprintf("LOCAL_WORLD_SIZE=%lld", (long long)l->nproc);
        v[i++] = xasprintf("MASTER_ADDR=%s", l->place.hosts[0]);
        v[i++] = xasprintf("MASTER_PORT=%lld", (long long)l->port);
        return v;
}

int launch_command(struct launch *l, char *const *command, struct hoist_error **err)
{
        (void)err;
        l->n_workers = 1;
        if (l->launcher == JOBSPEC_LAUNCHER_HOIST) {
                l->argv = strv_copy(command);
                l->n_workers = (size_t)l->nproc;
                l->worker_env = xcalloc(l->n_workers + 1, sizeof *l->worker_env);
                for (int64_t i = 0; i < l->nproc; i++)
                        l->worker_env[i] = worker_env(l, i);
                return 0;
        }
        l->argv = launch_wrap(l, command);
        if (l->argv == NULL)
                l->argv = strv_copy(command);
        return 0;
}

void launch_clear(struct launch *l)
{
        if (l == NULL)
                return;
        distenv_clear(&l->place);
        strv_free(l->addrs);
        strv_free(l->argv);
        for (size_t i = 0; l->worker_env != NULL && i < l->n_workers; i++)
                strv_free(l->worker_env[i]);
        free(l->worker_env);
        *l = (struct launch){0};
}
