/* SPDX-License-Identifier: MIT */
/*
 * The compose provider: one compose project per job, on this machine,
 * through whichever of `docker compose`, `docker-compose` and
 * `podman-compose` is here (compose.engine picks one), see
 * docs/providers/compose.md.
 *
 * run/<id>/ keeps compose.yaml (as sent; compose_render.c writes it),
 * secrets.env (mode 0600, the credentials and secrets the services read;
 * removed when the job is released) and compose.json (the job.yaml
 * settings, for attempts that hoist serve starts from job.json alone).
 * The project is named hoist-<id>, and so is its network.  Status comes
 * from the engine's `ps -q` and the containers' state as the engine's CLI
 * inspects them; `down` removes containers and network.
 */
#include "provider.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "compose_render.h"
#include "fsutil.h"
#include "log.h"
#include "proc.h"
#include "xalloc.h"

#define SETTINGS_FILE "compose.json"

/* ---- engines ---- */

struct compose_engine {
        const char *name;    /* as compose.engine and the job store name it */
        const char *argv[3]; /* the command, NULL-terminated */
        const char *cli;     /* the container CLI that inspects its containers */
        const char *install; /* what to install for it */
};

static const struct compose_engine engines[] = {
        {"docker compose",
         {"docker", "compose", NULL},
         "docker",
         "the Docker Compose plugin (docker-compose-plugin)"},
        {"docker-compose", {"docker-compose", NULL, NULL}, "docker", "docker-compose"},
        {"podman-compose", {"podman-compose", NULL, NULL}, "podman", "podman-compose"},
};
#define N_ENGINES (sizeof engines / sizeof engines[0])

static const struct compose_engine *engine_named(const char *name)
{
        for (size_t i = 0; name != NULL && i < N_ENGINES; i++)
                if (strcmp(engines[i].name, name) == 0)
                        return &engines[i];
        return NULL;
}

static int engine_present(const struct compose_engine *e)
{
        if (!proc_which(e->argv[0], NULL))
                return 0;
        if (e->argv[1] == NULL)
                return 1;
        /* the docker CLI without its compose plugin */
        char *argv[] = {(char *)e->argv[0], (char *)e->argv[1], (char *)"version", NULL};
        int status = 1;
        if (proc_run(argv, NULL, NULL, &status, NULL) < 0)
                return 0;
        return status == 0;
}

/* The engine NAME names (NULL or "auto": the first present). */
static int engine_find(const char *name, const struct compose_engine **ret,
                       struct hoist_error **err)
{
        const struct compose_engine *e;

        if (name != NULL && strcmp(name, "auto") != 0) {
                e = engine_named(name);
                if (e == NULL)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "compose.engine '%s' is not one of 'docker "
                                                "compose', docker-compose, podman-compose, auto",
                                                name);
                if (!engine_present(e))
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "compose.engine is '%s', and it is not installed "
                                                "here (install %s, or pick another engine)",
                                                name, e->install);
                *ret = e;
                return 0;
        }
        for (size_t i = 0; i < N_ENGINES; i++) {
                if (engine_present(&engines[i])) {
                        *ret = &engines[i];
                        return 0;
                }
        }
        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                "no compose engine is installed here: install docker compose "
                                "(the Docker Compose plugin), docker-compose or podman-compose "
                                "(apt-get install podman-compose), or run the job with provider "
                                "local");
}

/* ---- settings ---- */

struct compose_settings {
        char *engine; /* NULL: auto */
};

static void compose_free_settings(void *settings)
{
        struct compose_settings *s = settings;

        if (s == NULL)
                return;
        free(s->engine);
        free(s);
}

static int compose_load_settings(const struct config_node *node, const char *file, void **ret,
                                 struct hoist_error **err)
{
        static const char *const fields[] = {"engine", NULL};
        struct compose_settings *s = xcalloc(1, sizeof *s);
        const struct config_node *n;

        (void)file; /* the nodes carry it */
        if (node != NULL) {
                if (config_check_mapping(node, "compose", err) < 0 ||
                    config_check_keys(node, "compose", fields, err) < 0)
                        goto fail;
                if ((n = config_get(node, "engine")) != NULL) {
                        if (config_get_string(n, "compose.engine", &s->engine, err) < 0)
                                goto fail;
                        if (strcmp(s->engine, "auto") != 0 && engine_named(s->engine) == NULL) {
                                config_error(n, "compose.engine", err,
                                             "'%s' is not one of 'docker compose', "
                                             "docker-compose, podman-compose, auto",
                                             s->engine);
                                goto fail;
                        }
                }
        }
        *ret = s;
        return 0;
fail:
        compose_free_settings(s);
        return -1;
}

/* compose.json: the job.yaml settings, and how many nodes the job has. */
static int write_settings(const char *state_dir, const struct compose_settings *s, int64_t nodes,
                          struct hoist_error **err)
{
        _cleanup_free_ char *path = path_join(state_dir, SETTINGS_FILE);
        json_auto_t *o = json_object();
        char *text;
        int r;

        if (s != NULL && s->engine != NULL)
                (void)json_object_set_new(o, "engine", json_string(s->engine));
        (void)json_object_set_new(o, "nodes", json_integer(nodes));
        text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        if (text == NULL)
                abort(); /* out of memory */
        r = fs_write_file_atomic(path, text, strlen(text), 0600, err);
        free(text);
        return r;
}

static json_t *read_settings(const char *state_dir)
{
        _cleanup_free_ char *path = path_join(state_dir, SETTINGS_FILE);
        _cleanup_free_ char *text = NULL;

        if (fs_read_file(path, &text, NULL, NULL) < 0)
                return NULL;
        return json_loads(text, 0, NULL);
}

/* The engine setting the first submit stored in STATE_DIR (NULL: auto). */
static char *read_engine_setting(const char *state_dir)
{
        json_auto_t *o = read_settings(state_dir);
        const char *v = json_string_value(json_object_get(o, "engine"));

        return v != NULL ? xstrdup(v) : NULL;
}

/* How many nodes the job in STATE_DIR has (1 when unknown). */
static int64_t read_nodes(const char *state_dir)
{
        json_auto_t *o = read_settings(state_dir);
        json_int_t n = json_integer_value(json_object_get(o, "nodes"));

        return n > 0 ? (int64_t)n : 1;
}

static int compose_validate(const void *settings, struct hoist_error **err)
{
        const struct compose_settings *s = settings;
        const struct compose_engine *e;

        return engine_find(s ? s->engine : NULL, &e, err);
}

/* ---- running the engine ---- */

/* argv of ENGINE -p PROJECT -f STATE_DIR/compose.yaml ARGS... */
static char **engine_argv(const struct compose_engine *e, const char *project,
                          const char *state_dir, const char *const *args)
{
        size_t n = 0, cap = 8;
        char **v;

        for (const char *const *a = args; *a != NULL; a++)
                cap++;
        v = xcalloc(cap, sizeof *v);
        for (size_t i = 0; e->argv[i] != NULL; i++)
                v[n++] = xstrdup(e->argv[i]);
        v[n++] = xstrdup("-p");
        v[n++] = xstrdup(project);
        v[n++] = xstrdup("-f");
        v[n++] = path_join(state_dir, COMPOSE_FILE);
        for (const char *const *a = args; *a != NULL; a++)
                v[n++] = xstrdup(*a);
        v[n] = NULL;
        return v;
}

/* The last line of the engine's error output, trimmed. */
static char *last_line(struct buf *b)
{
        const char *line;

        while (b->len > 0 && strchr("\n\r ", b->data[b->len - 1]) != NULL)
                buf_truncate(b, b->len - 1);
        if (b->len == 0)
                return xstrdup("no output");
        line = strrchr(b->data, '\n');
        return xstrdup(line ? line + 1 : b->data);
}

/* compose_run, with the engine's error output in ERRB whatever it does. */
static int compose_run2(const struct compose_engine *e, const char *project, const char *state_dir,
                        const char *const *args, struct buf *out, struct buf *errb,
                        struct hoist_error **err)
{
        _cleanup_strv_ char **argv = engine_argv(e, project, state_dir, args);
        int status = 0;

        if (proc_run(argv, out, errb, &status, err) < 0)
                return -1;
        if (status != 0) {
                _cleanup_free_ char *why = last_line(errb);
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "'%s %s' failed (exit %d): %s",
                                        e->name, args[0], status, why);
        }
        return 0;
}

/* Runs ENGINE's ARGS on the job's project; fails unless it exits 0. */
static int compose_run(const struct compose_engine *e, const char *project, const char *state_dir,
                       const char *const *args, struct buf *out, struct hoist_error **err)
{
        _cleanup_buf_ struct buf errb = {0};

        return compose_run2(e, project, state_dir, args, out, &errb, err);
}

/* The engine and project job JOB runs under, from the store. */
static int job_engine(const struct job_record *job, const struct compose_engine **ret,
                      struct hoist_error **err)
{
        const struct compose_engine *e = engine_named(job->runtime);

        if (e == NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "job %s names no compose engine (runtime '%s')", job->id,
                                        job->runtime ? job->runtime : "none");
        *ret = e;
        return 0;
}

/* ---- render and submit ---- */

struct node_state {
        char *node;
        char *status; /* the engine's word: running, exited, created... */
        int exit_code;
};

static int project_containers(const struct compose_engine *e, const char *project,
                              const char *state_dir, struct node_state **ret, size_t *ret_n,
                              struct hoist_error **err);
static void node_states_free(struct node_state *v, size_t n);

/* podman-compose (1.0.x) adds the project's network to every service, even
 * one with network_mode: host, and podman refuses the pair. */
static int check_engine_network(const struct compose_engine *e, const struct compose_plan *p,
                                struct hoist_error **err)
{
        if (!p->host_network || strcmp(e->name, "podman-compose") != 0)
                return 0;
        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                "the job's storage ('%s') or a webhook is on this machine's "
                                "loopback, which only the host's network reaches, and "
                                "podman-compose cannot put a service there (it adds a network to "
                                "every service): use file:// storage (HOIST_STORAGE=file:///DIR) "
                                "or storage a container reaches, compose.engine docker-compose "
                                "(against podman system service), or provider local",
                                p->spec->storage.endpoint);
}

/* Some engines (podman-compose) exit 0 when a container could not be
 * created: every node must have one.  OUT is what `up` wrote to stderr. */
static int check_started(const struct compose_engine *e, const char *project, const char *state_dir,
                         int64_t nodes, struct buf *out, struct hoist_error **err)
{
        struct node_state *v = NULL;
        size_t n = 0;

        if (project_containers(e, project, state_dir, &v, &n, err) < 0)
                return hoist_error_wrap(err, "compose project '%s'", project);
        node_states_free(v, n);
        if ((int64_t)n >= (nodes > 1 ? nodes : 1))
                return 0;
        const char *text = out->data ? out->data : "";
        const char *why = strstr(text, "Error: ");
        _cleanup_free_ char *line = why ? xstrndup(why, strcspn(why, "\n")) : NULL;
        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                "'%s up' made %zu of %lld container(s) of project '%s': %s",
                                e->name, n, (long long)(nodes > 1 ? nodes : 1), project,
                                line ? line : "it said nothing of why");
}

static int check_runnable(const struct provider_submit *req, struct hoist_error **err)
{
        if (req->runtime != NULL && strcmp(req->runtime, "process") == 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "the compose provider runs containers; 'runtime: process' "
                                        "needs the local provider");
        if (req->image == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "the compose provider runs containers, and the job has no "
                                        "image (set 'image:' in job.yaml, or a build: section)");
        return 0;
}

static void fill_plan(const struct provider_submit *req, struct compose_plan *p)
{
        *p = (struct compose_plan){
                .spec = req->spec,
                .job_id = req->job_id,
                .job_url = req->job_url,
                .storage_root = req->storage_root,
                .image = req->image,
                .bundle = req->bundle,
                .secrets = req->secret_env != NULL && req->secret_env[0] != NULL,
                .host_network = compose_needs_host_network(req->spec),
        };
}

static int compose_render(const struct provider_submit *req, char **ret, struct hoist_error **err)
{
        _cleanup_free_ char *yaml = NULL;
        struct compose_plan p;

        if (check_runnable(req, err) < 0)
                return -1;
        fill_plan(req, &p);
        if (compose_render_yaml(&p, &yaml, err) < 0)
                return -1;
        *ret = xasprintf("# %s/" COMPOSE_FILE "\n%s%s", req->state_dir, yaml,
                         p.secrets ? "# " COMPOSE_ENV_FILE " (mode 0600): the job's credentials "
                                     "and secrets, not shown\n"
                                   : "");
        return 0;
}

static int compose_submit(const struct provider_submit *req, struct hoist_error **err)
{
        const struct compose_settings *s = req->settings;
        struct compose_settings kept = {0};
        _cleanup_free_ char *stored = NULL, *yaml = NULL, *env = NULL;
        _cleanup_free_ char *project = compose_project_name(req->job_id);
        _cleanup_free_ char *yaml_path = path_join(req->state_dir, COMPOSE_FILE);
        _cleanup_free_ char *env_path = path_join(req->state_dir, COMPOSE_ENV_FILE);
        _cleanup_buf_ struct buf out = {0}, errb = {0};
        const char *const up[] = {"up", "-d", NULL};
        const struct compose_engine *e;
        struct compose_plan p;
        int r;

        if (check_runnable(req, err) < 0 || fs_mkdir_p(req->state_dir, 0700, err) < 0)
                return -1;
        if (s == NULL) {
                /* a later attempt, started from job.json alone */
                kept.engine = stored = read_engine_setting(req->state_dir);
                s = &kept;
        }
        if (write_settings(req->state_dir, s, req->spec->nodes, err) < 0)
                return -1;
        if (engine_find(s->engine, &e, err) < 0)
                return -1;
        fill_plan(req, &p);
        if (check_engine_network(e, &p, err) < 0 || compose_render_yaml(&p, &yaml, err) < 0)
                return -1;
        if (p.secrets) {
                if (compose_env_file(req->secret_env, &env, err) < 0)
                        return -1;
                r = fs_write_file_atomic(env_path, env, strlen(env), 0600, err);
                explicit_bzero(env, strlen(env));
                if (r < 0)
                        return hoist_error_wrap(err, "write the job's env file");
        } else {
                (void)unlink(env_path);
        }
        if (fs_write_file_atomic(yaml_path, yaml, strlen(yaml), 0600, err) < 0)
                return -1;
        /* The project is the ref: in the store before anything may run. */
        if (req->record(req->userdata, e->name, project, err) < 0)
                return -1;
        if (compose_run2(e, project, req->state_dir, up, &out, &errb, err) < 0)
                return hoist_error_wrap(err, "start compose project '%s'", project);
        return check_started(e, project, req->state_dir, req->spec->nodes, &errb, err);
}

/* ---- status ---- */

/* The CLI that inspects E's containers: docker-compose against podman's
 * socket (DOCKER_HOST) may have no docker CLI beside it, and podman reads
 * the same containers. */
static const char *engine_cli(const struct compose_engine *e)
{
        if (strcmp(e->cli, "docker") == 0 && !proc_which("docker", NULL) &&
            proc_which("podman", NULL))
                return "podman";
        return e->cli;
}

/* The project's containers as ENGINE's CLI inspects them: N entries. */
static int project_containers(const struct compose_engine *e, const char *project,
                              const char *state_dir, struct node_state **ret, size_t *ret_n,
                              struct hoist_error **err)
{
        const char *const ps[] = {"ps", "-q", NULL};
        const char *const ps_all[] = {"ps", "-a", "-q", NULL};
        _cleanup_buf_ struct buf out = {0}, info = {0}, errb = {0};
        _cleanup_strv_ char **argv = NULL;
        struct node_state *v = NULL;
        size_t n = 0, nargs = 0;
        char *save = NULL, *line;
        int status = 0;

        /* docker compose v2 lists stopped containers only with -a */
        if (compose_run(e, project, state_dir, e->argv[1] != NULL ? ps_all : ps, &out, err) < 0)
                return -1;
        argv = xcalloc(8, sizeof *argv);
        argv[nargs++] = xstrdup(engine_cli(e));
        argv[nargs++] = xstrdup("inspect");
        argv[nargs++] = xstrdup("--format");
        argv[nargs++] = xstrdup("{{index .Config.Labels \"io.hoist.node\"}} {{.State.Status}} "
                                "{{.State.ExitCode}}");
        for (line = strtok_r(out.data ? out.data : (char *)"", " \r\n", &save); line != NULL;
             line = strtok_r(NULL, " \r\n", &save)) {
                /* podman-compose prints the commands it runs and their
                 * exit codes around the IDs */
                if (strlen(line) < 12 || strspn(line, "0123456789abcdef") != strlen(line))
                        continue;
                argv = xreallocarray(argv, nargs + 2, sizeof *argv);
                argv[nargs++] = xstrdup(line);
                argv[nargs] = NULL;
        }
        if (nargs == 4) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (proc_run(argv, &info, &errb, &status, err) < 0)
                return -1;
        if (status != 0) {
                _cleanup_free_ char *why = last_line(&errb);
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "'%s inspect' failed: %s", argv[0],
                                        why);
        }
        save = NULL;
        for (line = strtok_r(info.data ? info.data : (char *)"", "\n", &save); line != NULL;
             line = strtok_r(NULL, "\n", &save)) {
                char node[64] = "", st[32] = "";
                int code = -1;
                if (sscanf(line, "%63s %31s %d", node, st, &code) < 2)
                        continue;
                v = xreallocarray(v, n + 1, sizeof *v);
                v[n++] = (struct node_state){xstrdup(node), xstrdup(st), code};
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static void node_states_free(struct node_state *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].node);
                free(v[i].status);
        }
        free(v);
}

/* The engine's states mapped onto hoist's (docs/providers/compose.md): any
 * node running is the job running; all exited, the job ended, failed with
 * the first node's non-zero code (the entrypoint's result decides, and a
 * job reaching here wrote none). */
static void map_states(const struct node_state *v, size_t n, int64_t want,
                       struct provider_status *ret)
{
        size_t running = 0, created = 0, exited = 0;
        const struct node_state *bad = NULL;

        for (size_t i = 0; i < n; i++) {
                const char *s = v[i].status;
                if (strcmp(s, "running") == 0 || strcmp(s, "paused") == 0 ||
                    strcmp(s, "restarting") == 0 || strcmp(s, "stopping") == 0)
                        running++;
                else if (strcmp(s, "created") == 0 || strcmp(s, "configured") == 0 ||
                         strcmp(s, "initialized") == 0)
                        created++;
                else
                        exited++;
                if ((strcmp(s, "exited") == 0 || strcmp(s, "stopped") == 0) &&
                    v[i].exit_code != 0 && bad == NULL)
                        bad = &v[i];
                else if (strcmp(s, "dead") == 0 && bad == NULL)
                        bad = &v[i];
        }
        ret->exit_code = -1;
        if (running > 0) {
                ret->state = JOB_RUNNING;
                if (exited > 0)
                        ret->reason =
                                xasprintf("%zu of %lld node(s) ended", exited, (long long)want);
                return;
        }
        if (created > 0 || (int64_t)n < want) {
                ret->state = JOB_STARTING;
                ret->reason = xasprintf("%zu of %lld node(s) created", n, (long long)want);
                return;
        }
        ret->state = JOB_FAILED;
        if (bad != NULL) {
                ret->exit_code = bad->exit_code;
                ret->reason = xasprintf("node %s's container is %s (exit %d), and "
                                        "hoist-entrypoint wrote no result",
                                        bad->node, bad->status, bad->exit_code);
        } else {
                ret->exit_code = 0;
                ret->reason = xstrdup("every node's container exited 0, and hoist-entrypoint "
                                      "wrote no result");
        }
}

static int compose_status(const struct job_record *job, const char *state_dir,
                          struct provider_status *ret, struct hoist_error **err)
{
        const struct compose_engine *e;
        struct node_state *v = NULL;
        size_t n = 0;

        ret->exit_code = -1;
        if (job->runtime == NULL || job->provider_ref == NULL) {
                ret->state = JOB_FAILED;
                ret->reason = xstrdup("the job never reached its compose engine (hoist submit "
                                      "was interrupted)");
                return 0;
        }
        if (job_engine(job, &e, err) < 0)
                return -1;
        if (project_containers(e, job->provider_ref, state_dir, &v, &n, err) < 0)
                return hoist_error_wrap(err, "compose project '%s'", job->provider_ref);
        if (n == 0) {
                ret->state = JOB_FAILED;
                ret->reason = xasprintf("compose project '%s' has no containers (removed with "
                                        "'down'?)",
                                        job->provider_ref);
                return 0;
        }
        map_states(v, n, read_nodes(state_dir), ret);
        node_states_free(v, n);
        return 0;
}

/* ---- logs, cancel, clear, release ---- */

/* hoist logs reads the job's log from storage; this is the engine's own,
 * shown when the entrypoint never wrote one (a bad image, a node that
 * could not start). */
static int compose_logs(const struct job_record *job, const char *state_dir, int follow, int fd,
                        struct hoist_error **err)
{
        /* podman-compose (1.0.x) knows no --no-color; it names each line's
         * container with -n */
        const char *const logs[] = {"logs", "--no-color", NULL};
        const char *const podman_logs[] = {"logs", "-n", NULL};
        _cleanup_buf_ struct buf out = {0};
        const struct compose_engine *e;

        (void)follow;
        if (job->runtime == NULL || job->provider_ref == NULL)
                return 0;
        if (job_engine(job, &e, err) < 0 ||
            compose_run(e, job->provider_ref, state_dir,
                        strcmp(e->name, "podman-compose") == 0 ? podman_logs : logs, &out, err) < 0)
                return -1;
        if (out.len > 0 && fs_write_all(fd, out.data, out.len) < 0)
                return hoist_error_errno(err, "write");
        return 0;
}

static int compose_cancel(const struct job_record *job, const char *state_dir, int64_t grace_s,
                          struct hoist_error **err)
{
        _cleanup_free_ char *t = xasprintf("%lld", (long long)grace_s + 30);
        const char *const stop[] = {"stop", "-t", t, NULL};
        _cleanup_buf_ struct buf out = {0};
        const struct compose_engine *e;

        if (job->runtime == NULL || job->provider_ref == NULL)
                return 0; /* never started */
        if (job_engine(job, &e, err) < 0)
                return -1;
        /* SIGTERM to every node's entrypoint, which stops its command
         * within the grace and uploads what is left; SIGKILL after. */
        if (compose_run(e, job->provider_ref, state_dir, stop, &out, err) < 0)
                return hoist_error_wrap(err, "stop compose project '%s'", job->provider_ref);
        return 0;
}

/* down: the project's containers, anonymous volumes and network. */
static int project_down(const struct job_record *job, const char *state_dir,
                        struct hoist_error **err)
{
        const char *const down[] = {"down", "-v", NULL};
        _cleanup_buf_ struct buf out = {0};
        const struct compose_engine *e;

        if (job_engine(job, &e, err) < 0 ||
            compose_run(e, job->provider_ref, state_dir, down, &out, err) < 0)
                return -1;
        if (strcmp(e->cli, "podman") == 0) {
                /* podman-compose's down leaves the network it made */
                char *net[] = {(char *)"podman", (char *)"network", (char *)"rm",
                               (char *)"-f",     job->provider_ref, NULL};
                int status = 0;
                _cleanup_buf_ struct buf errb = {0};
                if (proc_run(net, NULL, &errb, &status, err) < 0)
                        return -1;
                if (status != 0 &&
                    strstr(errb.data ? errb.data : "", "network not found") == NULL &&
                    strstr(errb.data ? errb.data : "", "no such network") == NULL) {
                        _cleanup_free_ char *why = last_line(&errb);
                        return hoist_error_make(err, HOIST_ERR_PROVIDER, "remove network '%s': %s",
                                                job->provider_ref, why);
                }
        }
        return 0;
}

static int compose_clear(const struct job_record *job, const char *state_dir, int64_t grace_s,
                         struct hoist_error **err)
{
        _cleanup_free_ char *yaml = path_join(state_dir, COMPOSE_FILE);
        struct hoist_error *e2 = NULL;

        if (job->runtime == NULL || job->provider_ref == NULL || !fs_exists(yaml))
                return 0;
        if (compose_cancel(job, state_dir, grace_s, &e2) < 0) {
                log_debug("stop before a new attempt: %s", e2->msg);
                hoist_error_free(e2);
        }
        if (project_down(job, state_dir, err) < 0)
                return hoist_error_wrap(err, "stop the previous attempt of job %s", job->id);
        return 0;
}

static int compose_release(const struct job_record *job, const char *state_dir,
                           struct hoist_error **err)
{
        _cleanup_free_ char *yaml = path_join(state_dir, COMPOSE_FILE);
        _cleanup_free_ char *env = path_join(state_dir, COMPOSE_ENV_FILE);

        if (job->runtime != NULL && job->provider_ref != NULL && fs_exists(yaml) &&
            project_down(job, state_dir, err) < 0)
                return hoist_error_wrap(err, "remove compose project '%s'", job->provider_ref);
        if (unlink(env) < 0 && errno != ENOENT)
                return hoist_error_errno(err, "remove '%s'", env);
        return 0;
}

const struct provider_ops provider_compose = {
        .name = "compose",
        .remote = 0,
        .upload_limit = 0,
        .caps = {.gpus = 1, .multi_node = 1, .spot = 0, .max_runtime_s = 0},
        .poll_ms = 1000,
        .section = "compose",
        .load_settings = compose_load_settings,
        .free_settings = compose_free_settings,
        .reaches_loopback = NULL, /* this machine: loopback storage works (host network) */
        .render = compose_render,
        .price_key = NULL, /* the user's rate, as for local */
        .billing = NULL,
        .validate = compose_validate,
        .check_image = NULL, /* the engine pulls what it lacks, and says why it cannot */
        .check_resources = NULL,
        .submit = compose_submit,
        .status = compose_status,
        .logs = compose_logs,
        .cancel = compose_cancel,
        .clear = compose_clear,
        .release = compose_release,
};
