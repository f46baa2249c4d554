/* SPDX-License-Identifier: MIT */
/*
 * hoist-entrypoint: PID 1 of a training container.  Reads the job (job.json),
 * stages its inputs, runs its command under a tini-like supervisor, tees the
 * log, uploads outputs and writes the result record.  Without a job it is a
 * plain init for ARGS.  Exit codes: the command's own, 128+N for signal N,
 * 124 past the max runtime, 125 for our own failures, 126 not executable,
 * 127 not found.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cog.h"
#include "cog_job.h"
#include "cleanup.h"
#include "error.h"
#include "fsutil.h"
#include "gpu.h"
#include "hub.h"
#include "events.h"
#include "init.h"
#include "job.h"
#include "joblog.h"
#include "launch.h"
#include "jobspec.h"
#include "log.h"
#include "logsync.h"
#include "metrics.h"
#include "result.h"
#include "sagemaker.h"
#include "sdnotify.h"
#include "secrets.h"
#include "stage.h"
#include "storage.h"
#include "xalloc.h"

#define EXIT_SETUP 125

static const char usage_text[] =
        "Usage: hoist-entrypoint [OPTIONS] [train|cog] [--] [COMMAND [ARG...]]\n"
        "\n"
        "PID 1 of a hoist training container.  With HOIST_JOB_FILE or HOIST_JOB_URL it\n"
        "runs that job: stages inputs, runs job.json's command (or COMMAND), tees the\n"
        "log to storage, uploads outputs and writes the result record.  Without a job\n"
        "it runs COMMAND as a plain init: forwards signals to its process group and\n"
        "reaps zombies.  A first argument 'train' is a mode word (SageMaker), not the\n"
        "command; put '--' before a command that is really called 'train'.  With\n"
        "'train' and /opt/ml/input/config present it is SageMaker's training container:\n"
        "the job is the hyperparameter hoist_job_url, the model goes to /opt/ml/model,\n"
        "the failure reason to /opt/ml/output/failure.  Every job's command gets the\n"
        "SageMaker training toolkit's SM_* variables.\n"
        "\n"
        "With 'cog' and no job in the environment it serves Cog's HTTP API on $PORT\n"
        "(default 5000): POST /trainings runs the job named by the training's input\n"
        "hoist_job_url, each on the job path above (docs/cog.md).  With a job in the\n"
        "environment 'cog' is only a mode word: the job runs as under any provider.\n"
        "\n"
        "Options:\n"
        "  -h, --help       show this help\n"
        "  -V, --version    show the version\n"
        "  -v               more output (-vv: debug)\n"
        "\n"
        "Environment:\n"
        "  HOIST_JOB_FILE       path of job.json\n"
        "  HOIST_JOB_URL        file:///path/to/job.json\n"
        "  HOIST_WORKDIR        work root (default: job.json workdir, else /hoist)\n"
        "  HOIST_NODE           node name for logs and results (default: hostname;\n"
        "                       node<RANK> for a job of several nodes)\n"
        "  HOIST_STOP_GRACE_S   SIGTERM to SIGKILL (default 120, or job.json's\n"
        "                       stop_grace_s, which this caps)\n"
        "  HOIST_MAX_RUNTIME_S  runtime limit, without a job (default none)\n"
        "  HOIST_LOG_SYNC_S     seconds between job log uploads to S3 (default 2)\n"
        "  HOIST_CHECKPOINT_DEBOUNCE_MS  quiet time before checkpoints upload while a\n"
        "                       file is open for writing (default 2000; complete files\n"
        "                       go 100 ms after they are closed)\n"
        "  HOIST_TERMINATION_LOG  the failure reason's file (default /dev/termination-log)\n"
        "  HOIST_WEBHOOK_SECRET whsec_... signing job.json's webhooks (or _<n> for\n"
        "                       webhooks[n], or HOIST_WEBHOOK_SECRET_FILE); taken out\n"
        "                       of the command's environment\n"
        "  HOIST_SECRETS_FILE   a JSON object {\"NAME\": \"value\"} (a file the engine\n"
        "                       mounts): each goes into the environment first, so a\n"
        "                       container gets job.json's secrets and the HOIST_S3_*\n"
        "                       and webhook secrets without the engine showing them\n"
        "  HOIST_LOG            error, warn, info (default) or debug\n"
        "  HOIST_SM_ROOT        moves SageMaker's /opt/ml (tests only)\n"
        "  PORT                 Cog mode: the port to listen on (default 5000)\n"
        "  HOIST_COG_OPENAPI    Cog mode: the OpenAPI document to serve and check\n"
        "                       trainings against (the image's, set by the replicate\n"
        "                       provider); default: the generic one\n"
        "  HOIST_COG_SETUP      Cog mode: a shell command run once before READY\n"
        "\n"
        "job.json's secrets reach the command as variables; their values, and the\n"
        "secret ones above, become [secret NAME] in the log, the console and events.\n"
        "\n"
        "Exit status: the command's, 128+N if it died of signal N, 124 past the max\n"
        "runtime, 125 if hoist-entrypoint itself failed, 126 if the command is not\n"
        "executable, 127 if it is not found.\n";

/* Parses options; returns the index of the first command argument, or -1
 * after --help/--version (exit 0), or -2 on a usage error.  *RET_TRAIN tells
 * whether the mode word 'train' was given. */
static int parse_args(int argc, char **argv, int *ret_train, int *ret_cog)
{
        int i = 1, verbose = 0;

        for (; i < argc && argv[i][0] == '-'; i++) {
                const char *a = argv[i];
                if (strcmp(a, "--") == 0)
                        return i + 1; /* no mode word after "--" */
                if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
                        fputs(usage_text, stdout);
                        return -1;
                }
                if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
                        printf("hoist-entrypoint %s\n", HOIST_VERSION);
                        return -1;
                }
                if (strspn(a + 1, "v") == strlen(a + 1) && a[1] != '\0') {
                        verbose += (int)strlen(a + 1);
                        log_set_level(verbose > 1 ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
                        continue;
                }
                log_error("unknown option '%s' (see 'hoist-entrypoint --help')", a);
                return -2;
        }
        *ret_train = i < argc && strcmp(argv[i], "train") == 0;
        *ret_cog = i < argc && strcmp(argv[i], "cog") == 0;
        if (*ret_train || *ret_cog)
                i++;
        return i;
}

/* A non-negative integer from the environment, or DFLT. */
static int64_t env_seconds(const char *name, int64_t dflt)
{
        const char *v = getenv(name);
        char *end;
        long long n;

        if (v == NULL || *v == '\0')
                return dflt;
        errno = 0;
        n = strtoll(v, &end, 10);
        if (errno != 0 || *end != '\0' || n < 0) {
                log_warn("%s='%s' is not a number of seconds; using %lld", name, v,
                         (long long)dflt);
                return dflt;
        }
        return n;
}

static void plain_spawned(void *userdata, pid_t pid)
{
        (void)pid;
        sdnotify_ready(userdata);
}

static void plain_tick(void *userdata)
{
        (void)userdata;
        sdnotify_tick();
}

static int run_plain(char **argv, const struct sagemaker *sm)
{
        struct init_config cfg = {
                .argv = argv,
                .stop_grace_s = env_seconds("HOIST_STOP_GRACE_S", JOBSPEC_DEFAULT_STOP_GRACE_S),
                .max_runtime_s = env_seconds("HOIST_MAX_RUNTIME_S", 0),
                .userdata = argv[0],
                .on_spawned = plain_spawned,
                .on_tick = plain_tick,
                .tick_ms = sdnotify_tick_ms(),
        };
        struct init_result res;
        _cleanup_error_ struct hoist_error *err = NULL;

        if (cfg.stop_grace_s == 0)
                cfg.stop_grace_s = JOBSPEC_DEFAULT_STOP_GRACE_S;
        if (sm != NULL && sagemaker_export_env(sm, NULL, NULL, NULL, &err) < 0) {
                log_error("%s", err->msg);
                result_write_failure(err->msg);
                return EXIT_SETUP;
        }
        if (init_run(&cfg, &res, &err) < 0) {
                log_error("%s", err->msg);
                return EXIT_SETUP;
        }
        sdnotify_stopping("the command ended");
        sdnotify_finished(res.exit_code == 0 ? "succeeded" : "failed", res.exit_code);
        if (res.end == INIT_NOT_FOUND)
                log_error("command '%s' not found", argv[0]);
        else if (res.end == INIT_NOT_EXECUTABLE)
                log_error("'%s' is not executable: %s", argv[0], strerror(res.code));
        else if (res.timed_out)
                log_error("exceeded max runtime of %llds", (long long)cfg.max_runtime_s);
        return res.exit_code;
}

/* One job's attempt.  Each module keeps its state here; the hooks below
 * (on_spawned, on_tick, on_line, the watches) fan out to them. */
struct run {
        struct jobspec *spec;
        struct storage *st;
        struct stage stage;
        struct joblog log;
        struct events *ev;        /* the event sink (events.h) */
        struct checkpoints *ckpt; /* checkpoint restore and sync (checkpoint.h) */
        struct gpu_monitor *gpu;  /* GPU health (gpu.h); NULL when off */
        struct redact *redact;    /* the secrets' values (secrets.h) */
        struct sagemaker *sm;     /* SageMaker's contract (sagemaker.h); NULL elsewhere */
        struct launch launch;     /* the node's place, the launcher (launch.h) */
        int placed;               /* launch_place() worked */
        char *node;
        int64_t started_at_ms;
        int64_t stop_grace_s; /* job.json's, capped by HOIST_STOP_GRACE_S */
        /* Remote storage: the log is kept in LOG_PATH and uploaded to
         * LOG_KEY, as it grows by LOGSYNC and at the end. */
        char *log_key;
        char *log_path;
        struct logsync *logsync;
        /* Extra fds for the supervisor loop (init_config.watches). */
        struct init_watch watches[4];
        size_t n_watches;
};

/* Sends the local copy of the job log to remote storage (a no-op on file
 * storage, where the log is written in place). */
static void upload_log(struct run *run)
{
        _cleanup_error_ struct hoist_error *err = NULL;

        joblog_flush(&run->log);
        if (run->log_key == NULL)
                return;
        if (logsync_finish(run->logsync, run->st, &err) < 0)
                log_warn("job log: %s, ignoring", err->msg);
}

/* Rank 0 publishes for the job: outputs, checkpoints, result.json.  A node
 * whose placement failed is none. */
static int is_rank0(const struct run *run)
{
        return !run->launch.multi_node || run->launch.place.node_rank == 0;
}

static int write_record(struct run *run, const char *status, int exit_code, int sig,
                        const char *reason)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_free_ char *clean = redact_string(run->redact, reason);
        struct jobspec_result rec = {
                .job_id = run->spec->id,
                .node = run->node,
                .status = (char *)status,
                .exit_code = exit_code,
                .signal = sig,
                .reason = clean,
                .started_at_ms = run->started_at_ms,
                .finished_at_ms = result_now_ms(),
                .attempt = job_attempt(run->spec),
        };

        sdnotify_stopping(reason);
        sdnotify_finished(status, exit_code);
        if (strcmp(status, "succeeded") != 0)
                result_write_failure(clean);
        /* An interrupted attempt comes back (a spot restart) and reads the
         * secrets again; any other end is the job's. */
        if (strcmp(status, "interrupted") != 0 && is_rank0(run))
                sagemaker_drop_secrets(run->sm, run->st);
        events_emit_final(run->ev, status, exit_code, sig, clean);
        upload_log(run);
        /* A node of several writes its own record; rank 0 also the job's. */
        if (run->launch.multi_node && result_write_node(run->spec, run->st, &rec, &err) < 0) {
                joblog_error(&run->log, "%s", err->msg);
                hoist_error_release(&err);
        }
        if (is_rank0(run) && result_write(run->spec, run->st, &rec, &err) < 0) {
                joblog_error(&run->log, "%s", err->msg);
                return -1;
        }
        return 0;
}

/* Our own failure before or around the command: report it everywhere we
 * can (stderr, the job log, a failed result record) and exit 125. */
static int setup_failed(struct run *run, struct hoist_error *err)
{
        joblog_error(&run->log, "%s", err->msg);
        (void)write_record(run, "failed", EXIT_SETUP, 0, err->msg);
        return EXIT_SETUP;
}

static void open_job_log(struct run *run)
{
        _cleanup_free_ char *prefix = job_prefix(run->spec, run->spec->log_prefix, "logs");
        _cleanup_free_ char *key = xasprintf("%s/%s.log", prefix, run->node);
        _cleanup_free_ char *path = NULL;
        _cleanup_error_ struct hoist_error *err = NULL;

        if (storage_key_check(key, &err) < 0) {
                log_warn("job log: %s; continuing without it", err->msg);
                return;
        }
        path = storage_local_path(run->st, key);
        if (path == NULL) {
                /* Remote storage: log locally, starting from what earlier
                 * attempts left; logsync uploads it as it grows and at the end. */
                const char *tmp = getenv("TMPDIR");
                _cleanup_free_ char *name = xasprintf("hoist-%s-%s.log", run->spec->id, run->node);
                path = path_join(tmp && *tmp ? tmp : "/tmp", name);
                (void)unlink(path);
                if (storage_exists(run->st, key, NULL, &err) == 1)
                        (void)storage_get_file(run->st, key, path, &err);
                hoist_error_release(&err);
                run->log_key = xstrdup(key);
                run->log_path = xstrdup(path);
                run->logsync = logsync_new(run->spec, path, key);
        }
        if (joblog_open(&run->log, path, &err) < 0)
                log_warn("%s; continuing without it", err->msg);
}

/* The grace period: job.json's stop_grace_s (default 120 s), shortened by
 * HOIST_STOP_GRACE_S where the platform gives less (a provider sets it). */
static int64_t job_stop_grace_s(const struct jobspec *spec)
{
        int64_t grace = spec->stop_grace_s > 0 ? spec->stop_grace_s : JOBSPEC_DEFAULT_STOP_GRACE_S;
        int64_t cap = env_seconds("HOIST_STOP_GRACE_S", 0);

        return cap > 0 && cap < grace ? cap : grace;
}

/* init_config.on_spawned: the command runs, so worker threads may start
 * (STYLE.md: spawn before any thread).  A module that cannot start its
 * thread says so and the job goes on without it. */
static void on_spawned(void *userdata, pid_t pid)
{
        struct run *run = userdata;
        _cleanup_error_ struct hoist_error *err = NULL;

        (void)pid;
        if (logsync_start(run->logsync, &err) < 0) {
                joblog_error(&run->log, "job log upload: %s; uploading it at the end only",
                             err->msg);
                hoist_error_release(&err);
        }
        events_emit(run->ev, "job.running", "running",
                    json_pack("{s:i, s:I}", "pid", (int)pid, "attempt",
                              (json_int_t)job_attempt(run->spec)));
        if (events_start(run->ev, &err) < 0) {
                joblog_error(&run->log, "events: %s; sending them at the end only", err->msg);
                hoist_error_release(&err);
        }
        if (checkpoint_start(run->ckpt, &err) < 0) {
                joblog_error(&run->log, "%s; uploading checkpoints at the end only", err->msg);
                hoist_error_release(&err);
        }
        if (gpu_monitor_start(run->gpu, &err) < 0) {
                joblog_error(&run->log, "%s; the job goes on without it", err->msg);
                hoist_error_release(&err);
        }
        sdnotify_ready(run->spec->id);
}

/* init_config.on_tick, every tick_ms while the command runs. */
static void on_tick(void *userdata)
{
        struct run *run = userdata;

        (void)run;
        sdnotify_tick();
}

/* Each complete line of the command's output (joblog.on_line). */
static void on_line(void *userdata, enum init_stream stream, const char *line, size_t len)
{
        struct run *run = userdata;

        if (run->ev != NULL) {
                json_t *data = json_object();
                json_t *text = json_stringn(line, len); /* NULL: not valid UTF-8 */
                if (text == NULL) {
                        _cleanup_free_ char *clean = joblog_text(line, len);
                        text = json_string(clean);
                }
                (void)json_object_set_new(data, "stream",
                                          json_string(stream == INIT_STDERR ? "stderr" : "stdout"));
                (void)json_object_set_new(data, "line", text);
                events_emit(run->ev, "job.log", "running", data);
        }
        metrics_line(run->ev, line, len);
}

/* init_config.on_output: the log tees and splits lines; on_line gets them. */
static void on_output(void *userdata, enum init_stream stream, const char *data, size_t len)
{
        struct run *run = userdata;

        joblog_output(&run->log, stream, data, len);
}

/* The one init_config of a job. */
static void job_init_config(struct run *run, char **argv, struct init_config *cfg)
{
        *cfg = (struct init_config){
                .argv = argv,
                /* job.yaml's code: is where the command starts, unless its
                 * workdir says otherwise (docs/job.md "code"). */
                .cwd = run->spec->workdir == NULL ? run->stage.code_dir : NULL,
                .stop_grace_s = run->stop_grace_s,
                .max_runtime_s = run->spec->max_runtime_s > 0 ? run->spec->max_runtime_s : 0,
                .on_output = on_output,
                .userdata = run,
                .on_spawned = on_spawned,
                .watches = run->watches,
                .n_watches = run->n_watches,
                .on_tick = on_tick,
                .tick_ms = sdnotify_tick_ms(), /* 0: no tick */
                .n_workers = run->launch.n_workers,
                .worker_env = (char *const *const *)run->launch.worker_env,
        };
        run->log.on_line = on_line;
        run->log.line_userdata = run;
}

static char **job_command(const struct jobspec *spec, char **args)
{
        if (spec->command != NULL && spec->command[0] != NULL)
                return spec->command;
        return args[0] != NULL ? args : NULL;
}

static int supervise_job(struct run *run, char **argv)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_free_ char *tail = NULL;
        _cleanup_free_ char *reason = NULL;
        struct init_config cfg;
        struct init_result res;
        const char *status;
        int64_t now, deadline;
        int code;

        job_init_config(run, argv, &cfg);
        if (init_run(&cfg, &res, &err) < 0)
                return setup_failed(run, err);
        sdnotify_stopping("uploading checkpoints, outputs and the log");
        joblog_flush(&run->log);
        /* The command and its group are gone: its last checkpoint goes up
         * within the grace period, the one that began with a stop from
         * outside when there was one (whoever sent it kills the container
         * when it ends). */
        now = checkpoint_now_ms();
        deadline = checkpoint_final_deadline(now, res.stop_signal != 0 ? res.grace_end_ms : 0,
                                             run->stop_grace_s);
        if (run->ckpt != NULL && res.stop_signal != 0)
                joblog_say(&run->log, "%s: the final checkpoint sync has %.1f s",
                           init_signal_name(res.stop_signal), (double)(deadline - now) / 1000);
        if (checkpoint_finish(run->ckpt, deadline, &err) < 0) {
                joblog_error(&run->log, "%s", err->msg);
                hoist_error_release(&err);
        }
        gpu_monitor_stop(run->gpu);
        tail = joblog_stderr_tail(&run->log);
        status = result_status(&res);
        reason = result_reason(&res, argv[0], cfg.max_runtime_s, tail);
        code = res.exit_code;
        if (res.end == INIT_NOT_FOUND && (run->launch.launcher == JOBSPEC_LAUNCHER_TORCHRUN ||
                                          run->launch.launcher == JOBSPEC_LAUNCHER_ACCELERATE)) {
                char *r = xasprintf("%s (distributed.launcher: %s runs it, so the image needs "
                                    "it; launcher: hoist needs nothing installed)",
                                    reason, jobspec_launcher_name(run->launch.launcher));
                free(reason);
                reason = r;
        }
        /* One worker's failure ended the group: which one. */
        if (cfg.n_workers > 1 && reason != NULL && res.stop_signal == 0 && !res.timed_out &&
            res.end != INIT_NOT_FOUND && res.end != INIT_NOT_EXECUTABLE) {
                char *r = xasprintf("worker %zu (RANK %lld): %s", res.worker,
                                    (long long)(run->launch.place.node_rank * run->launch.nproc +
                                                (int64_t)res.worker),
                                    reason);
                free(reason);
                reason = r;
        }
        if (gpu_monitor_fault(run->gpu) != NULL) {
                /* Whatever the command did, its GPU is not to be trusted. */
                status = "failed";
                free(reason);
                reason = xasprintf("GPU fault: %s; replace the node", gpu_monitor_fault(run->gpu));
                code = GPU_EXIT_FAULT;
                joblog_error(&run->log, "%s", reason);
        }
        if (res.end == INIT_NOT_FOUND || res.end == INIT_NOT_EXECUTABLE || res.timed_out)
                joblog_error(&run->log, "%s", reason);

        /* Outputs go up however the command ended: a failed run's partial
         * model and logs are what one debugs it with.  Rank 0's only. */
        if (is_rank0(run) && result_publish(run->spec, run->st, &run->stage, &err) < 0) {
                joblog_error(&run->log, "%s", err->msg);
                status = "failed";
                free(reason);
                reason = xstrdup(err->msg);
                code = EXIT_SETUP;
        } else if (is_rank0(run)) {
                events_emit_output(run->ev, run->spec);
        }
        /* outputs.hub from: entrypoint: the model's commit, for a job that
         * succeeded; a failed upload fails the job (its model is not where
         * it was asked to be). */
        if (is_rank0(run) && strcmp(status, "succeeded") == 0 &&
            hub_publish(run->spec, run->st, run->stage.model_dir, &err) < 0) {
                joblog_error(&run->log, "%s", err->msg);
                status = "failed";
                free(reason);
                reason = xstrdup(err->msg);
                code = EXIT_SETUP;
                hoist_error_release(&err);
        }
        if (sagemaker_finish(run->sm, &run->stage, &err) < 0) {
                joblog_error(&run->log, "%s", err->msg);
                hoist_error_release(&err);
        }
        joblog_say(&run->log, "attempt %lld finished: %s (exit code %d)",
                   (long long)job_attempt(run->spec), status, code);
        (void)write_record(run, status, code, res.end == INIT_SIGNALED ? res.code : 0, reason);
        return code;
}

/* Finds the node's place (launch.h) and names the node by it; one that
 * cannot find its place keeps the default name and *RET_ERR says why. */
static void place_node(struct run *run, struct hoist_error **ret_err)
{
        const char *env = getenv("HOIST_NODE");

        run->placed = launch_place(run->spec, &run->launch, ret_err) == 0;
        run->node = env != NULL && *env != '\0' ? job_node_name() : launch_node_name(&run->launch);
        if (run->node == NULL)
                run->node = job_node_name();
        if (run->placed && launch_shares_host(&run->launch)) {
                /* Two nodes of the job on one host: a work root each. */
                const char *root = getenv("HOIST_WORKDIR");
                _cleanup_free_ char *sub =
                        xasprintf("node%lld", (long long)run->launch.place.node_rank);
                _cleanup_free_ char *mine =
                        path_join(root && *root        ? root
                                  : run->spec->workdir ? run->spec->workdir
                                                       : JOBSPEC_DEFAULT_WORKDIR,
                                  sub);
                if (setenv("HOIST_WORKDIR", mine, 1) < 0)
                        abort();
        }
        if (!run->placed && run->spec->nodes > 1) {
                /* Rank unknown: it publishes nothing for the job. */
                run->launch.multi_node = 1;
                run->launch.place.node_rank = -1;
        }
}

/* A failure before the job's log exists: stderr, and where the platform
 * looks for the reason (SageMaker's <root>/output/failure). */
static int early_failure(struct run *run, struct hoist_error *err)
{
        log_error("%s", err->msg);
        result_write_failure(err->msg);
        sagemaker_free(run->sm);
        run->sm = NULL;
        return EXIT_SETUP;
}

static int run_job(struct run *run, char **args)
{
        _cleanup_error_ struct hoist_error *err = NULL, *missing = NULL, *unplaced = NULL,
                                           *sm_secrets = NULL;
        _cleanup_free_ char *ckpt_prefix = NULL;
        char **argv;
        int staged;

        if (job_open_storage(run->spec, &run->st, &err) < 0) {
                log_error("%s", err->msg);
                result_write_failure(err->msg);
                return EXIT_SETUP;
        }
        /* The node's place names it (node<RANK>); one that cannot find its
         * place says so under the default name. */
        place_node(run, &unplaced);
        run->stop_grace_s = job_stop_grace_s(run->spec);
        /* SageMaker's secrets object, before the redactor is made from
         * the environment. */
        (void)sagemaker_load_secrets(run->sm, run->spec, run->st, &sm_secrets);
        /* Before anything is logged: a secret that is missing fails the
         * attempt once the log and the events can say so. */
        (void)secrets_redactor(run->spec, &run->redact, &missing);
        run->log.redact = run->redact;
        open_job_log(run);
        joblog_say(&run->log, "attempt %lld started", (long long)job_attempt(run->spec));
        if (run->placed && run->launch.multi_node)
                joblog_say(&run->log, "node %lld of %lld (placed by %s), master %s:%lld, %lld %s",
                           (long long)run->launch.place.node_rank,
                           (long long)run->launch.place.num_nodes,
                           distenv_engine_name(run->launch.place.engine),
                           run->launch.place.hosts[0], (long long)run->launch.port,
                           (long long)run->launch.nproc,
                           run->launch.nproc == 1 ? "process" : "processes");
        if (events_open(run->spec, run->node, &run->ev, &err) < 0)
                return setup_failed(run, err);
        events_set_redact(run->ev, run->redact);
        events_emit(run->ev, "job.starting", "starting",
                    json_pack("{s:I}", "attempt", (json_int_t)job_attempt(run->spec)));
        if (unplaced != NULL)
                return setup_failed(run, unplaced);
        if (sm_secrets != NULL)
                return setup_failed(run, sm_secrets);
        if (missing != NULL)
                return setup_failed(run, missing);

        sagemaker_merge_hyperparameters(run->sm, run->spec);
        run->gpu = gpu_monitor_new(run->spec, run->ev);
        sdnotify_staging_begin(run->st, run->spec->n_inputs);
        staged = stage_prepare(run->spec, run->st, &run->stage, &err) == 0 &&
                 (run->sm == NULL || sagemaker_stage(run->sm, run->spec, &run->stage, &err) == 0) &&
                 stage_export_env(run->spec, &run->stage, &err) == 0 &&
                 sagemaker_export_env(run->sm, run->spec, &run->stage,
                                      run->placed ? &run->launch.place : NULL, &err) == 0;
        if (!staged) {
                sdnotify_staging_end(run->st);
                return setup_failed(run, err);
        }
        /* Rank 0 publishes the job's checkpoints, the others restore them;
         * with checkpoints_per_rank each node keeps its own. */
        ckpt_prefix = run->spec->checkpoints_per_rank
                              ? xasprintf("%s/rank-%lld", run->stage.checkpoint_prefix,
                                          (long long)run->launch.place.node_rank)
                              : xstrdup(run->stage.checkpoint_prefix);
        struct checkpoint_options ckopts = {.spec = run->spec,
                                            .node = run->node,
                                            .dir = run->stage.checkpoint_dir,
                                            .prefix = ckpt_prefix,
                                            .events = run->ev,
                                            .restore_only = !run->spec->checkpoints_per_rank &&
                                                            !is_rank0(run)};
        sdnotify_staging_phase("restoring checkpoints");
        if (sagemaker_owns_checkpoints(run->sm, run->stage.checkpoint_dir)) {
                /* CheckpointConfig: SageMaker restored the dir before we
                 * started and uploads it as it changes; a second writer of
                 * the same keys would fight it (docs/entrypoint.md). */
                joblog_say(&run->log,
                           "checkpoints: SageMaker's CheckpointConfig keeps %s (restored before "
                           "the start, uploaded as it changes); hoist leaves it alone",
                           run->stage.checkpoint_dir);
                staged = 1;
        } else {
                staged = checkpoint_open(&ckopts, &run->ckpt, &err) == 0 &&
                         checkpoint_restore(run->ckpt, run->st, &err) == 0;
        }
        sdnotify_staging_end(run->st);
        if (!staged)
                return setup_failed(run, err);
        argv = job_command(run->spec, args);
        if (argv == NULL) {
                hoist_error_make(&err, HOIST_ERR_INPUT,
                                 "job '%s' has no command: job.json gives none and no "
                                 "arguments were given (the image's CMD)",
                                 run->spec->id);
                return setup_failed(run, err);
        }
        if (launch_command(&run->launch, argv, &err) < 0)
                return setup_failed(run, err);
        return supervise_job(run, run->launch.argv);
}

static int job_in_env(void)
{
        const char *url = getenv("HOIST_JOB_URL"), *file = getenv("HOIST_JOB_FILE");

        return (url != NULL && *url != '\0') || (file != NULL && *file != '\0');
}

/* Cog mode: the server starts each training as this program again. */
static int serve_cog(const char *argv0, char **args)
{
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

        if (n > 0)
                self[n] = '\0';
        else
                (void)snprintf(self, sizeof self, "%s", argv0);
        (void)curl_global_init(CURL_GLOBAL_DEFAULT);
        return cog_serve(self, args);
}

int main(int argc, char **argv)
{
        _cleanup_error_ struct hoist_error *err = NULL;
        struct run run = {.log = JOBLOG_INIT, .started_at_ms = result_now_ms()};
        int first, r, train = 0, cog = 0;

        log_set_program("hoist-entrypoint");
        log_init_from_env();
        /* Before anything else: no signal may arrive unblocked from here on. */
        if (init_setup(&err) < 0) {
                log_error("%s", err->msg);
                return EXIT_SETUP;
        }
        first = parse_args(argc, argv, &train, &cog);
        if (first < 0)
                return first == -1 ? 0 : EXIT_SETUP;
        /* Cog's container: started as `cog` with no job, it serves Cog's
         * HTTP API; a job given by the environment always wins, so one
         * image runs under every provider (docs/cog.md). */
        if (cog && !job_in_env())
                return serve_cog(argv[0], argv + first);
        /* SageMaker's container: its config says where the job is. */
        if (sagemaker_detect(train)) {
                if (sagemaker_load(sagemaker_root(), &run.sm, &err) < 0 ||
                    sagemaker_apply_early(run.sm, &err) < 0)
                        return early_failure(&run, err);
                log_info("SageMaker: %s is host %lld of %lld",
                         run.sm->place.hosts[run.sm->place.node_rank],
                         (long long)run.sm->place.node_rank + 1,
                         (long long)run.sm->place.num_nodes);
        }

        /* A container's secrets come in a file: into the environment, where
         * a process job's are already, before hoist's own are taken out. */
        if (secrets_load_file(&err) < 0)
                return early_failure(&run, err);
        job_take_credentials();
        /* Only HTTP loads libcurl (entrypoint/lazy/curl.c): a plain init
         * and a job on file storage without webhooks or runner hook start
         * lean.  Before any thread, as curl_global_init() wants. */
        if (getenv("HOIST_JOB_URL") != NULL && strncmp(getenv("HOIST_JOB_URL"), "file://", 7) != 0)
                (void)curl_global_init(CURL_GLOBAL_DEFAULT);
        if (cog_job_fetch_spec(&err) < 0)
                return early_failure(&run, err);
        r = job_load_from_env(&run.spec, &err);
        if (r < 0 || (r > 0 && cog_job_apply(run.spec, &err) < 0))
                return early_failure(&run, err);
        if (r > 0 && (strncmp(run.spec->storage.endpoint, "file://", 7) != 0 ||
                      run.spec->n_webhooks > 0 || job_runner_hook(&(const char *){NULL}) != NULL))
                (void)curl_global_init(CURL_GLOBAL_DEFAULT);
        if (r == 0) {
                if (first >= argc) {
                        log_error("nothing to run: set HOIST_JOB_FILE or HOIST_JOB_URL%s, or "
                                  "give a command (see 'hoist-entrypoint --help')",
                                  run.sm != NULL ? " (or the hyperparameter hoist_job_url)" : "");
                        result_write_failure("hoist-entrypoint: nothing to run: no job and no "
                                             "command");
                        sagemaker_free(run.sm);
                        return EXIT_SETUP;
                }
                r = run_plain(argv + first, run.sm);
                sagemaker_free(run.sm);
                return r;
        }
        r = run_job(&run, argv + first);
        stage_drop_inputs(&run.stage);
        /* What is queued goes out within 30 s, or the grace period when shorter. */
        events_finish(run.ev,
                      result_now_ms() + 1000 * (run.stop_grace_s > 0 && run.stop_grace_s < 30
                                                        ? run.stop_grace_s
                                                        : 30));
        checkpoint_close(run.ckpt);
        gpu_monitor_free(run.gpu);
        events_close(run.ev);
        logsync_free(run.logsync);
        joblog_close(&run.log);
        if (run.log_path != NULL)
                (void)unlink(run.log_path);
        free(run.log_key);
        free(run.log_path);
        stage_release(&run.stage);
        storage_close(run.st);
        free(run.node);
        launch_clear(&run.launch);
        jobspec_free(run.spec);
        redact_free(run.redact);
        sagemaker_free(run.sm);
        return r;
}
