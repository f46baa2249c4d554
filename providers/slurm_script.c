/* SPDX-License-Identifier: MIT */
#include "slurm_script.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "xalloc.h"

/* What reaches the batch script from the submitting shell (sbatch
 * --export): the basics, hoist-entrypoint's own settings, and where podman
 * finds its configuration; SLURM_* always go.  Not the rest of the shell:
 * an AWS_SECRET_ACCESS_KEY there is not the job's business (the job's
 * secrets come in secrets.json). */
static const char *const exported[] = {
        "PATH",
        "HOME",
        "LANG",
        "TZ",
        "TMPDIR",
        "HOIST_LOG",
        "HOIST_LOG_SYNC_S",
        "HOIST_CHECKPOINT_DEBOUNCE_MS",
        "HOIST_GPU_HEALTH_INTERVAL_MS",
        "HOIST_NVML_LIBRARY",
        "CONTAINERS_CONF",
        "CONTAINERS_STORAGE_CONF",
        "CONTAINERS_REGISTRIES_CONF",
        NULL,
};

/* The Slurm variables a container needs to find its rank (C2). */
static const char *const slurm_vars =
        "SLURM_JOB_ID SLURM_JOB_NODELIST SLURM_NODELIST SLURM_TASKS_PER_NODE SLURM_NTASKS "
        "SLURM_NNODES SLURM_JOB_NUM_NODES SLURM_PROCID SLURM_NODEID SLURM_LOCALID "
        "SLURMD_NODENAME";

char *slurm_shell_quote(const char *arg)
{
        struct buf b = {0};

        buf_append_str(&b, "'");
        for (const char *p = arg; *p != '\0'; p++) {
                if (*p == '\'')
                        buf_append_str(&b, "'\\''");
                else
                        buf_append(&b, p, 1);
        }
        buf_append_str(&b, "'");
        return buf_take(&b);
}

int64_t slurm_plan_grace_s(const struct slurm_plan *p)
{
        return p->spec->stop_grace_s > 0 ? p->spec->stop_grace_s : JOBSPEC_DEFAULT_STOP_GRACE_S;
}

int64_t slurm_plan_time_s(const struct slurm_plan *p)
{
        return p->set->time_s > 0 ? p->set->time_s : p->spec->max_runtime_s;
}

static int64_t nodes_of(const struct slurm_plan *p)
{
        return p->spec->nodes > 0 ? p->spec->nodes : 1;
}

static void add(char ***v, size_t *n, char *s)
{
        *v = xreallocarray(*v, *n + 2, sizeof **v);
        (*v)[(*n)++] = s;
        (*v)[*n] = NULL;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
        return (a + b - 1) / b;
}

/* --nodes, --ntasks, --ntasks-per-node and what each task or node asks. */
static void add_resources(const struct slurm_plan *p, char ***v, size_t *n)
{
        const struct jobspec_resources *r = &p->spec->resources;
        int64_t nodes = nodes_of(p);
        int64_t per_host = p->set->nodes_per_host < nodes ? p->set->nodes_per_host : nodes;

        add(v, n, xasprintf("--nodes=%" PRId64, ceil_div(nodes, per_host)));
        add(v, n, xasprintf("--ntasks=%" PRId64, nodes));
        add(v, n, xasprintf("--ntasks-per-node=%" PRId64, per_host));
        if (r->cpus_milli > 0)
                add(v, n, xasprintf("--cpus-per-task=%" PRId64, ceil_div(r->cpus_milli, 1000)));
        if (r->memory_bytes > 0)
                add(v, n,
                    xasprintf("--mem=%" PRIu64 "M",
                              (r->memory_bytes + (1 << 20) - 1) / (1 << 20) * (uint64_t)per_host));
        if (r->disk_bytes > 0)
                add(v, n,
                    xasprintf("--tmp=%" PRIu64 "M",
                              (r->disk_bytes + (1 << 20) - 1) / (1 << 20) * (uint64_t)per_host));
        if (r->gpus > 0) {
                const char *type = p->set->gres_type ? p->set->gres_type : r->gpu_type;
                int64_t gpus = r->gpus * per_host;
                if (type != NULL)
                        add(v, n, xasprintf("--gres=gpu:%s:%" PRId64, type, gpus));
                else
                        add(v, n, xasprintf("--gpus-per-node=%" PRId64, gpus));
        }
}

int slurm_sbatch_argv(const struct slurm_plan *p, char ***ret, struct hoist_error **err)
{
        const struct slurm_settings *s = p->set;
        int64_t time_s = slurm_plan_time_s(p), grace = slurm_plan_grace_s(p);
        int retry = p->spec->retry_on != NULL && p->spec->retry_on[0] != NULL;
        struct buf exp = {0};
        char **v = NULL;
        size_t n = 0;

        if (time_s > 0 && time_s <= grace)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "the job's time limit (%" PRId64 " s, slurm.time or "
                                        "limits.max_runtime) is not longer than its stop grace "
                                        "(%" PRId64 " s, limits.stop_grace): the TERM that comes "
                                        "that long before the limit would come at the start "
                                        "(raise slurm.time, or lower limits.stop_grace)",
                                        time_s, grace);
        add(&v, &n, xstrdup("sbatch"));
        add(&v, &n, xstrdup("--parsable"));
        add(&v, &n, xstrdup("--hold"));
        add(&v, &n, xasprintf("--job-name=hoist-%s", p->job_id));
        add(&v, &n, xasprintf("--chdir=%s", p->dir));
        add(&v, &n, xasprintf("--output=%s/slurm-%%j.out", p->dir));
        if (retry) {
                add(&v, &n, xstrdup("--requeue"));
                add(&v, &n, xstrdup("--open-mode=append"));
        } else {
                add(&v, &n, xstrdup("--no-requeue"));
        }
        for (size_t i = 0; exported[i] != NULL; i++)
                buf_printf(&exp, "%s%s", i ? "," : "", exported[i]);
        add(&v, &n, xasprintf("--export=%s", exp.data));
        buf_free(&exp);
        if (s->partition != NULL)
                add(&v, &n, xasprintf("--partition=%s", s->partition));
        if (s->account != NULL)
                add(&v, &n, xasprintf("--account=%s", s->account));
        if (s->qos != NULL)
                add(&v, &n, xasprintf("--qos=%s", s->qos));
        if (s->constraint != NULL)
                add(&v, &n, xasprintf("--constraint=%s", s->constraint));
        /* Slurm counts whole minutes. */
        if (time_s > 0)
                add(&v, &n, xasprintf("--time=%" PRId64, ceil_div(time_s, 60)));
        add(&v, &n, xasprintf("--signal=B:TERM@%" PRId64, grace > 65535 ? 65535 : grace));
        add_resources(p, &v, &n);
        for (char **a = s->extra_args; a != NULL && *a != NULL; a++)
                add(&v, &n, xstrdup(*a));
        add(&v, &n, xasprintf("%s/" SLURM_BATCH_SCRIPT, p->dir));
        *ret = v;
        return 0;
}

static void line(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(struct buf *b, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        buf_vprintf(b, fmt, ap);
        va_end(ap);
        buf_append_str(b, "\n");
}

static void assign(struct buf *b, const char *export, const char *name, const char *value)
{
        _cleanup_free_ char *q = slurm_shell_quote(value);

        line(b, "%s%s=%s", export, name, q);
}

/* Which runtimes the script may pick: "process", one container runtime,
 * or every container runtime (auto: detected on the first node). */
static int may_use(const struct slurm_plan *p, const char *rt)
{
        if (p->image == NULL)
                return strcmp(rt, "process") == 0;
        if (strcmp(rt, "process") == 0)
                return 0;
        return strcmp(p->set->container_runtime, "auto") == 0 ||
               strcmp(p->set->container_runtime, rt) == 0;
}

static void task_podman(struct buf *b, const struct slurm_plan *p)
{
        line(b, "        podman)");
        line(b,
             "                set -- --rm --name \"hoist-%s-$SLURM_JOB_ID-$SLURM_PROCID\" "
             "--network=host -v \"$bundle:/opt/hoist:ro\"",
             p->job_id);
        if (p->storage_root != NULL)
                line(b, "                set -- \"$@\" -v \"$storage_root:$storage_root\"");
        if (p->secrets)
                line(b, "                set -- \"$@\" -v \"$dir/" SLURM_SECRETS_FILE
                        ":/run/hoist/secrets.json:ro\" -e HOIST_SECRETS_FILE=/run/hoist/"
                        "secrets.json");
        line(b, "                for v in HOIST_JOB_URL HOIST_NODE %s; do", slurm_vars);
        line(b, "                        [ -z \"${!v+set}\" ] || set -- \"$@\" -e \"$v\"");
        line(b, "                done");
        line(b, "                for g in ${CUDA_VISIBLE_DEVICES:+${CUDA_VISIBLE_DEVICES//,/ }}; "
                "do set -- \"$@\" "
                "--device \"nvidia.com/gpu=$g\"; done");
        if (p->spec->command != NULL)
                line(b, "                set -- \"$@\" --entrypoint "
                        "/opt/hoist/bin/hoist-entrypoint");
        line(b, "                exec podman run \"$@\" \"$image\"%s ;;",
             p->spec->command != NULL ? " train" : "");
}

static void task_apptainer(struct buf *b, const struct slurm_plan *p)
{
        line(b, "        apptainer)");
        line(b, "                export HOIST_WORKDIR=\"$work\"");
        line(b, "                set -- --nv --bind \"$bundle:/opt/hoist:ro\"");
        if (p->storage_root != NULL)
                line(b, "                set -- \"$@\" --bind \"$storage_root\"");
        if (p->secrets)
                line(b, "                set -- \"$@\" --bind \"$dir/" SLURM_SECRETS_FILE
                        ":/run/hoist/secrets.json:ro\"; export HOIST_SECRETS_FILE=/run/hoist/"
                        "secrets.json");
        line(b, "                case $image in *.sif | *://*) ;; *) image=docker://$image ;; "
                "esac");
        line(b, "                exec apptainer exec \"$@\" \"$image\" "
                "/opt/hoist/bin/hoist-entrypoint train ;;");
}

/* The task: one hoist node, SLURM_PROCID its rank, in the runtime the
 * batch part chose ($HOIST_SLURM_RUNTIME). */
static void task_part(struct buf *b, const struct slurm_plan *p)
{
        line(b, "if [ \"${1:-}\" = task ]; then");
        line(b, "        work=\"${TMPDIR:-/tmp}/hoist-$SLURM_JOB_ID.$SLURM_PROCID\"");
        line(b, "        case $HOIST_SLURM_RUNTIME in");
        if (may_use(p, "process")) {
                line(b, "        process)");
                line(b, "                # The bundle's own loader and libraries: no libc "
                        "needed here.");
                line(b, "                export HOIST_WORKDIR=\"$work\"");
                line(b, "                exec \"$bundle/lib/ld-linux-x86-64.so.2\" --library-path "
                        "\"$bundle/lib\" \"$bundle/bin/hoist-entrypoint\" train ;;");
        }
        if (may_use(p, "podman"))
                task_podman(b, p);
        if (may_use(p, "apptainer"))
                task_apptainer(b, p);
        line(b, "        esac");
        line(b, "        echo \"hoist: no task runtime '$HOIST_SLURM_RUNTIME'\" >&2");
        line(b, "        exit 125");
        line(b, "fi");
}

/* The container runtime on the first node: the one asked for, or the
 * first of podman, enroot (pyxis), apptainer; a clear error without. */
static void detect_part(struct buf *b, const struct slurm_plan *p)
{
        const char *rt = p->set->container_runtime;

        if (may_use(p, "enroot"))
                line(b, "has_pyxis() { srun --help 2>&1 | grep -q -e --container-image; }");
        if (strcmp(rt, "auto") == 0) {
                line(b, "if command -v podman >/dev/null 2>&1; then rt=podman");
                line(b, "elif has_pyxis; then rt=enroot");
                line(b, "elif command -v apptainer >/dev/null 2>&1; then rt=apptainer");
                line(b, "else");
                line(b, "        echo \"hoist: no container runtime on $(hostname): install "
                        "podman, enroot with pyxis, or apptainer on the nodes, or set 'runtime: "
                        "process' in job.yaml\" >&2");
                line(b, "        exit 125");
                line(b, "fi");
        } else if (strcmp(rt, "enroot") == 0) {
                line(b, "rt=enroot");
                line(b, "has_pyxis || { echo \"hoist: slurm.container_runtime is enroot, and "
                        "srun on $(hostname) has no --container-image (pyxis)\" >&2; exit 125; "
                        "}");
        } else {
                line(b, "rt=%s", rt);
                line(b,
                     "command -v %s >/dev/null 2>&1 || { echo \"hoist: "
                     "slurm.container_runtime is %s, and $(hostname) has no %s\" >&2; exit "
                     "125; }",
                     rt, rt, rt);
        }
}

/* The batch part on the first node: the runtime, the srun step, TERM
 * passed on to it. */
static void batch_part(struct buf *b, const struct slurm_plan *p)
{
        const char *srun = "srun --export=ALL --kill-on-bad-exit=1";

        if (p->image == NULL)
                line(b, "rt=process");
        else
                detect_part(b, p);
        line(b, "export HOIST_SLURM_RUNTIME=$rt");
        if (may_use(p, "enroot")) {
                line(b, "if [ \"$rt\" = enroot ]; then");
                if (p->spec->command == NULL) {
                        line(b, "        echo \"hoist: with enroot the job runs job.yaml's "
                                "command, and it has none (give a command, or use podman)\" "
                                ">&2");
                        line(b, "        exit 125");
                } else {
                        line(b, "        mounts=\"$bundle:/opt/hoist:ro\"");
                        if (p->storage_root != NULL)
                                line(b, "        mounts=\"$mounts,$storage_root:$storage_root\"");
                        if (p->secrets)
                                line(b, "        mounts=\"$mounts,$dir/" SLURM_SECRETS_FILE
                                        ":/run/hoist/secrets.json:ro\"; export "
                                        "HOIST_SECRETS_FILE=/run/hoist/secrets.json");
                        line(b,
                             "        %s --container-image=\"$image\" "
                             "--container-mounts=\"$mounts\" /opt/hoist/bin/hoist-entrypoint "
                             "train &",
                             srun);
                }
                line(b, "else");
                line(b, "        %s /bin/bash \"$dir/" SLURM_BATCH_SCRIPT "\" task &", srun);
                line(b, "fi");
        } else {
                line(b, "%s /bin/bash \"$dir/" SLURM_BATCH_SCRIPT "\" task &", srun);
        }
        line(b, "step=$!");
        line(b, "# A TERM for this shell (--signal=B:TERM@GRACE before the time limit)");
        line(b, "# goes on to the tasks, whose entrypoints write their final checkpoint.");
        line(b, "# Not to srun: srun takes a TERM for \"kill the step now\".");
        line(b, "trap 'scancel --signal=TERM \"$SLURM_JOB_ID\"' TERM");
        line(b, "while kill -0 \"$step\" 2>/dev/null; do wait \"$step\"; done");
        line(b, "wait \"$step\"");
        line(b, "rc=$?");
        line(b, "rm -rf \"${TMPDIR:-/tmp}/hoist-$SLURM_JOB_ID\".*");
        line(b, "exit $rc");
}

char *slurm_batch_script(const struct slurm_plan *p)
{
        struct buf b = {0};

        line(&b, "#!/bin/bash");
        line(&b, "# hoist job %s, attempt %" PRId64 ", written by hoist's slurm provider",
             p->job_id, p->spec->attempt > 0 ? p->spec->attempt : 1);
        line(&b, "# (docs/providers/slurm.md).  The batch part starts one task per hoist");
        line(&b, "# node with srun, which runs this file again with \"task\".  No secret is");
        line(&b, "# here: they are in %s, which hoist-entrypoint reads.", SLURM_SECRETS_FILE);
        line(&b, "set -u");
        assign(&b, "", "dir", p->dir);
        assign(&b, "", "bundle", p->bundle);
        if (p->image != NULL)
                assign(&b, "", "image", p->image);
        if (p->storage_root != NULL)
                assign(&b, "", "storage_root", p->storage_root);
        assign(&b, "export ", "HOIST_JOB_URL", p->job_url);
        if (nodes_of(p) == 1)
                assign(&b, "export ", "HOIST_NODE", "main");
        if (p->secrets)
                line(&b, "export HOIST_SECRETS_FILE=\"$dir/" SLURM_SECRETS_FILE "\"");
        if (p->bin_dir != NULL && p->image == NULL) {
                _cleanup_free_ char *q = slurm_shell_quote(p->bin_dir);
                line(&b, "export PATH=%s:\"$PATH\"", q);
        }
        task_part(&b, p);
        batch_part(&b, p);
        return buf_take(&b);
}

int slurm_render_text(const struct slurm_plan *p, char **ret, struct hoist_error **err)
{
        _cleanup_strv_ char **argv = NULL;
        _cleanup_free_ char *script = NULL;
        struct buf b = {0};

        if (slurm_sbatch_argv(p, &argv, err) < 0)
                return -1;
        script = slurm_batch_script(p);
        if (p->set->host != NULL)
                buf_printf(&b, "# over ssh to %s\n", p->set->host);
        for (size_t i = 0; argv[i] != NULL; i++) {
                _cleanup_free_ char *q = slurm_shell_quote(argv[i]);
                /* Plain words stay plain, for reading. */
                int plain = strspn(argv[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789-_=./:,@%+") == strlen(argv[i]);
                buf_printf(&b, "%s%s", i ? " \\\n    " : "", plain ? argv[i] : q);
        }
        buf_printf(&b, "\n\n# %s/%s\n%s", p->dir, SLURM_BATCH_SCRIPT, script);
        *ret = buf_take(&b);
        return 0;
}
