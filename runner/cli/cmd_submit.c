/* SPDX-License-Identifier: MIT */
/*
 * hoist submit: job.yaml -> packaged inputs -> job.json -> job store ->
 * provider.  The order is what makes a SIGKILL at any point harmless: the
 * job row is written, in one transaction, only after everything it points
 * to is in storage; the provider is called only after the row exists, and
 * a row whose provider never started is reconciled to failed.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "runner/cli/cli.h"
#include "runner/job/cost.h"
#include "runner/cli/homeconfig.h"
#include "providers/prices.h"
#include "runner/control/follow.h"
#include "fsutil.h"
#include "runner/cli/home.h"
#include "runner/job/jobbuild.h"
#include "runner/job/jobfile.h"
#include "runner/job/jobfile_hub.h"
#include "runner/job/jobfile_dist.h"
#include "runner/job/distcheck.h"
#include "jobspec.h"
#include "runner/job/jobhooks.h"
#include "runner/job/jobreach.h"
#include "runner/job/jobsecrets.h"
#include "runner/job/jobstorage.h"
#include "runner/job/jobupload.h"
#include "runner/job/jobview.h"
#include "runner/control/localserve.h"
#include "log.h"
#include "runner/cli/progress.h"
#include "providers/provider.h"
#include "runner/control/reconcile.h"
#include "resources.h"
#include "storage.h"
#include "runner/control/store.h"
#include "xalloc.h"

static const char usage[] =
        "usage: hoist submit [OPTIONS] JOB.yaml\n"
        "       hoist submit [OPTIONS] --resume JOB\n"
        "\n"
        "Packages the job's inputs, stores its job.json and starts it on its provider.\n"
        "Unchanged inputs are not uploaded again.  With a build: section it first\n"
        "builds the image (with the entrypoint layer) and pushes it when build.push\n"
        "names a registry; with retry: {on: [interruption], max: N} a job stopped\n"
        "from outside is started again from its last checkpoint, at most N times\n"
        "(docs/job.md).  The values of job.yaml's secrets: are read from their\n"
        "variables or files now (exit 3 naming one that is missing, before anything\n"
        "is uploaded) and again for every attempt; they reach the job's environment,\n"
        "never job.json, and its logs and events show them as [secret NAME].  A\n"
        "process job gets PATH, HOME, LANG, LC_*, TZ and TMPDIR of this shell, not\n"
        "the rest of it.\n"
        "\n"
        "Before anything is uploaded it prints what it will send: per input and for\n"
        "code:, the files, their size, the bytes it sends after what storage has\n"
        "already, what .gitignore/.hoistignore left out and every sensitive file left\n"
        "out (.env, .git/, keys, credentials: see docs/job.md), and the destination.\n"
        "When the job's files would leave this machine (s3:// storage, a provider\n"
        "that runs jobs elsewhere), consent decides: job.yaml's consent:, else\n"
        "$HOIST_HOME/config.yaml's, else ask (a y/N question on a terminal; without\n"
        "one, a refusal unless --yes); never refuses.\n"
        "\n"
        "Every submit prints the rate the job will pay and its estimate: the rate x\n"
        "limits.max_runtime as its ceiling, and the median run time of earlier runs of\n"
        "the same name as the expected cost; then it checks $HOIST_HOME/config.yaml's\n"
        "spending_limits: a warn limit passed prints a warning, a block limit passed\n"
        "stops the submit with exit code 8 before anything is uploaded (docs/cost.md).\n"
        "\n"
        "  -f, --follow        stream the job's log until it ends; exit 0 if it\n"
        "                      succeeded, 6 if it failed, 7 if it was canceled\n"
        "                      (Ctrl-C stops following; the job keeps running)\n"
        "      --resume JOB    start a new attempt of JOB from its last checkpoint\n"
        "      --force         with --resume: resume a job that succeeded too\n"
        "      --runtime RT    override job.yaml's runtime: auto, container, process\n"
        "  -y, --yes           agree to the upload that consent: ask would ask about\n"
        "  -n, --dry-run       load and check JOB.yaml and print what its provider would\n"
        "                      send (for slurm: the sbatch command line and the batch\n"
        "                      script); uploads, stores and starts nothing, and asks\n"
        "                      the provider's engine nothing (no credentials needed)\n"
        "      --estimate      print what the job will cost (and which spending limits\n"
        "                      it would pass) and submit nothing; exit 8 when a block\n"
        "                      limit would refuse it (docs/cost.md)\n"
        "  -o, --output FMT    table (default) or json: with --estimate the estimate,\n"
        "                      else the job id and what the upload sent (files new,\n"
        "                      changed and unchanged, bytes sent) on stdout; yaml with\n"
        "                      --dry-run: only the objects a provider that sends YAML\n"
        "                      would send (kubernetes), nothing else\n"
        "      --rehash        read every file of the code and inputs again, whatever\n"
        "                      the stat cache says (docs/job.md \"inputs\")\n"
        "  -q, --quiet         print only the job id\n"
        "  -h, --help          show this help\n";

static char *strv_dup(char *const *v)
{
        size_t n = 0;
        char **r;

        if (v == NULL)
                return NULL;
        while (v[n] != NULL)
                n++;
        r = xcalloc(n + 1, sizeof *r);
        for (size_t i = 0; i < n; i++)
                r[i] = xstrdup(v[i]);
        return (char *)r;
}

/* resources: refused here when the provider cannot meet them, before a
 * build pushes or an input goes up (docs/job.md "resources"). */
static int check_resources(const struct hoist_home *home, const struct jobfile *jf,
                           const char *provider_name, const char *runtime_override,
                           struct hoist_error **err)
{
        const struct provider_ops *prov = provider_find(provider_name);
        const char *rt = runtime_override ? runtime_override : jobfile_runtime_name(jf->runtime);
        /* A build: section makes the image the job runs in. */
        const char *image = jf->image != NULL ? jf->image : jf->build != NULL ? "" : NULL;

        if (prov->check_resources == NULL)
                return 0;
        if (prov->check_resources(&jf->resources, image, rt, home->run_dir, err) < 0)
                return hoist_error_wrap(err, "'%s':%d", jf->path, jf->resources_line);
        return 0;
}

/* Everything about JF that can be refused before anything is built,
 * pushed or uploaded: the provider, what it can give the job, the batch
 * size, storage the job's nodes can reach, and (with ASK_ENGINE) the
 * provider's engine answering: --dry-run asks none, so that it works
 * without credentials or network. */
static int check_job(const struct hoist_home *home, const struct jobfile *jf, const char *path,
                     const char *runtime_override, bool ask_engine, struct hoist_error **err)
{
        const struct provider_ops *prov = provider_find(jf->provider);

        if (prov == NULL) {
                _cleanup_free_ char *names = NULL;
                for (const char *const *n = provider_names(); *n != NULL; n++) {
                        char *more = names ? xasprintf("%s, %s", names, *n) : xstrdup(*n);
                        free(names);
                        names = more;
                }
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s': unknown provider '%s' (this build has: %s)", path,
                                        jf->provider, names);
        }
        if (check_resources(home, jf, jf->provider, runtime_override, err) < 0 ||
            distcheck_provider(jf, jf->provider, prov->caps.multi_node, err) < 0 ||
            distcheck_run(jf, err) < 0)
                return -1;
        if (jobreach_check(prov, jf->provider_settings,
                           jf->storage ? jf->storage : jobstorage_default_url(), err) < 0)
                return hoist_error_wrap(err, "'%s'", path);
        /* Last: it may ask the cluster (sbatch --version over ssh). */
        if (ask_engine && prov->validate != NULL && prov->validate(jf->provider_settings, err) < 0)
                return hoist_error_wrap(err, "'%s': provider '%s'", path, prov->name);
        return 0;
}

/* Fills the job.json for a new job from job.yaml. */
static struct jobspec *spec_from_jobfile(const struct jobfile *jf, const char *id,
                                         const struct storage *sto)
{
        struct jobspec *spec = jobspec_new();

        spec->id = xstrdup(id);
        spec->name = xstrdup(jf->name);
        spec->image = xstrdup(jf->image);
        spec->command = (char **)strv_dup(jf->command);
        spec->workdir = xstrdup(jf->workdir);
        for (size_t i = 0; i < jf->n_env; i++)
                jobspec_kv_add(&spec->env, &spec->n_env, jf->env[i].key, jf->env[i].value);
        for (size_t i = 0; i < jf->n_hyperparameters; i++)
                jobspec_kv_add(&spec->hyperparameters, &spec->n_hyperparameters,
                               jf->hyperparameters[i].key, jf->hyperparameters[i].value);
        if (sto != NULL) /* NULL: --dry-run on the built-in endpoint */
                jobstorage_fill_spec(sto, spec);
        spec->checkpoint_prefix = xasprintf("jobs/%s/checkpoints/", id);
        spec->checkpoint_interval_s = jf->checkpoint_interval_s;
        spec->retry_on = (char **)strv_dup(jf->retry_on);
        spec->retry_max = jf->retry_max;
        spec->output_prefix = xasprintf("jobs/%s/output/", id);
        spec->log_prefix = xasprintf("jobs/%s/logs/", id);
        spec->max_runtime_s = jf->max_runtime_s;
        spec->stop_grace_s = jf->stop_grace_s;
        spec->webhooks = xcalloc(jf->n_webhooks ? jf->n_webhooks : 1, sizeof *spec->webhooks);
        spec->n_webhooks = jf->n_webhooks;
        for (size_t i = 0; i < jf->n_webhooks; i++) {
                spec->webhooks[i].url = xstrdup(jf->webhooks[i].url);
                spec->webhooks[i].events = (char **)strv_dup(jf->webhooks[i].events);
                spec->webhooks[i].secret_env = xstrdup(jf->webhooks[i].secret_env);
                spec->webhooks[i].secret_file = xstrdup(jf->webhooks[i].secret_file);
        }
        jobsecrets_copy(jf->secrets, jf->n_secrets, spec);
        jobfile_dist_fill_spec(jf, spec);
        jobfile_hub_fill_spec(jf, spec);
        spec->attempt = 1;
        resources_copy(&spec->resources, &jf->resources);
        return spec;
}

static int write_spec(struct storage *sto, const struct jobspec *spec, char **ret_key,
                      struct hoist_error **err)
{
        _cleanup_free_ char *json = jobspec_to_json(spec);
        _cleanup_free_ char *key = xasprintf("jobs/%s/job.json", spec->id);

        if (storage_put_bytes(sto, key, json, strlen(json), err) < 0)
                return -1;
        *ret_key = TAKE_PTR(key);
        return 0;
}

/* The estimate of JF (docs/cost.md "Estimates"), from the price tables and
 * the earlier runs of its name in ST. */
static int estimate_job(const struct hoist_home *home, struct store *st, const struct jobfile *jf,
                        struct cost_estimate *ret, struct hoist_error **err)
{
        _cleanup_prices_ struct prices *p = NULL;
        _cleanup_jobspec_ struct jobspec *spec = NULL;
        _cleanup_free_ char *id = store_new_job_id();

        if (prices_load(home->dir, &p, err) < 0)
                return -1;
        spec = spec_from_jobfile(jf, id, NULL);
        if (cost_estimate(st, p, jf->provider, jf->provider_settings, &jf->resources, spec->nodes,
                          jf->max_runtime_s, jf->name, ret, err) < 0)
                return hoist_error_wrap(err, "'%s'", jf->path);
        return 0;
}

/* Prints the estimate (unless QUIET) and checks the spending limits. */
static int check_cost(const struct hoist_home *home, struct store *st, const struct jobfile *jf,
                      int quiet, struct cost_estimate *ret, struct hoist_error **err)
{
        _cleanup_homeconfig_ struct homeconfig *hc = NULL;

        if (estimate_job(home, st, jf, ret, err) < 0)
                return -1;
        if (!quiet)
                cost_estimate_print(stderr, ret);
        if (homeconfig_load(home, &hc, err) < 0 || cost_check_limits(st, hc, ret, stderr, err) < 0)
                return -1;
        return 0;
}

/* --estimate: the estimate and the limits, nothing submitted. */
static int submit_estimate(const struct hoist_home *home, struct store *st, const char *path,
                           int json, struct hoist_error **err)
{
        _cleanup_jobfile_ struct jobfile *jf = NULL;
        _cleanup_homeconfig_ struct homeconfig *hc = NULL;
        struct cost_estimate e = {0};
        int r;

        if (jobfile_load(path, &jf, err) < 0)
                return -1;
        if (provider_find(jf->provider) == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "'%s': unknown provider '%s'", path,
                                        jf->provider);
        if (estimate_job(home, st, jf, &e, err) < 0)
                return -1;
        if (json) {
                json_auto_t *o = cost_estimate_json(&e);
                jobview_print_json(o);
        } else {
                cost_estimate_print(stdout, &e);
        }
        r = homeconfig_load(home, &hc, err) < 0 ||
                            cost_check_limits(st, hc, &e, json ? stderr : stdout, err) < 0
                    ? -1
                    : EXIT_OK;
        cost_estimate_clear(&e);
        return r;
}

/* `submit -o json`: the job and what its upload sent. */
static json_t *upload_json(const char *id, const struct package_stats *s)
{
        return json_pack("{s:s, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}", "id", id,
                         "upload", "files_new", (json_int_t)s->files_new, "files_changed",
                         (json_int_t)s->files_changed, "files_unchanged",
                         (json_int_t)s->files_unchanged, "bytes_new", (json_int_t)s->bytes_new,
                         "bytes_changed", (json_int_t)s->bytes_changed, "bytes_unchanged",
                         (json_int_t)s->bytes_unchanged_files, "bytes_sent",
                         (json_int_t)s->bytes_sent, "files_hashed", (json_int_t)s->files_hashed,
                         "bytes_hashed", (json_int_t)s->bytes_hashed);
}

/* Ctrl-C (or SIGTERM) while the inputs are packed and uploaded: nothing
 * was recorded or started yet; say so, then die of the signal as before. */
static void interrupted_before_submit(int sig)
{
        static const char msg[] =
                "\nhoist: interrupted: no job was submitted or started; what was already "
                "uploaded stays in storage and is not sent again by the next submit ('hoist gc' "
                "frees it if no job uses it)\n";
        ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);

        (void)n;
        (void)signal(sig, SIG_DFL);
        (void)raise(sig);
}

/* Installs (ON) or removes the handler above, for signals not ignored. */
static void catch_interrupts(bool on)
{
        static const int sigs[] = {SIGINT, SIGTERM};

        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
                struct sigaction old, sa = {.sa_handler = on ? interrupted_before_submit : SIG_DFL};
                (void)sigemptyset(&sa.sa_mask);
                if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
                        (void)sigaction(sigs[i], &sa, NULL);
        }
}

static int submit_new(const struct hoist_home *home, struct store *st, const char *path,
                      const char *runtime_override, int quiet, int yes, int rehash,
                      struct package_stats *ret_stats, char **ret_id, struct hoist_error **err)
{
        _cleanup_jobfile_ struct jobfile *jf = NULL;
        _cleanup_jobspec_ struct jobspec *spec = NULL;
        _cleanup_storage_ struct storage *sto = NULL;
        _cleanup_free_ char *id = store_new_job_id();
        _cleanup_free_ char *spec_key = NULL;
        const char *storage_url;

        if (jobfile_load(path, &jf, err) < 0)
                return -1;
        catch_interrupts(true);
        const char *provider_name = jf->provider;
        if (check_job(home, jf, path, runtime_override, true, err) < 0)
                return -1;
        struct cost_estimate est __attribute__((cleanup(cost_estimate_clear))) = {0};
        if (check_cost(home, st, jf, quiet, &est, err) < 0)
                return -1;
        const struct jobupload_options up = {.storage_url = jf->storage ? jf->storage
                                                                        : jobstorage_default_url(),
                                             .yes = yes,
                                             .quiet = quiet,
                                             .rehash = rehash,
                                             .ret_stats = ret_stats};
        /* Nothing leaves for a registry either before consent says so. */
        if (jobupload_consent_push(home, jf, &up, err) < 0)
                return hoist_error_wrap(err, "'%s'", path);
        if (jf->build != NULL && jobbuild_run(jf, home, quiet ? NULL : stderr, err) < 0)
                return hoist_error_wrap(err, "'%s': build", path);
        storage_url = jf->storage ? jf->storage : jobstorage_default_url();
        /* A missing image fails here, before any input is uploaded. */
        const struct provider_ops *prov = provider_find(provider_name);
        const char *rt = runtime_override ? runtime_override : jobfile_runtime_name(jf->runtime);
        if (prov->check_image != NULL && prov->check_image(jf->image, rt, err) < 0)
                return hoist_error_wrap(err, "'%s'", path);
        /* Until the row is written, hoist gc takes no blob of ours for garbage. */
        _cleanup_close_ int gc_lock = -1;
        if (home_lock_gc(home, 0, -1, &gc_lock, err) < 0 ||
            jobstorage_open(home, storage_url, &sto, err) < 0)
                return -1;
        spec = spec_from_jobfile(jf, id, sto);
        if (jobhooks_check(spec, err) < 0 || jobsecrets_check(spec, err) < 0)
                return hoist_error_wrap(err, "'%s'", path);
        for (size_t i = 0; !quiet && i < jf->n_inputs; i++)
                if (jf->inputs[i].link != NULL)
                        log_info("input %s: %s -> %s", jf->inputs[i].channel, jf->inputs[i].link,
                                 jf->inputs[i].path);
        if (jobupload_run(home, jf, prov, sto, &up, spec, err) < 0)
                return -1;
        if (jobspec_validate(spec, err) < 0 || write_spec(sto, spec, &spec_key, err) < 0)
                return hoist_error_wrap(err, "job %s", id);

        const char *runtime =
                runtime_override ? runtime_override : jobfile_runtime_name(jf->runtime);
        struct job_record rec = {
                .id = id,
                .name = jf->name,
                .provider = (char *)provider_name,
                .runtime = NULL,
                .provider_ref = NULL,
                .storage_url = (char *)storage_url,
                .spec_key = spec_key,
                .state = JOB_SUBMITTED,
                .exit_code = -1,
                .attempt = 1,
                .created_at_ms = cli_now_ms(),
                .updated_at_ms = cli_now_ms(),
        };
        /* Held until the provider's handle is recorded: no other hoist
         * takes the new row for a job that never started. */
        _cleanup_close_ int lock = -1;
        catch_interrupts(false);
        if (reconcile_lock_job(home, id, 0, &lock, err) < 0 ||
            store_insert_job(st, &rec, err) < 0 || cost_record_estimate(st, id, 1, &est, err) < 0)
                return -1;
        if (reconcile_start_attempt(home, st, sto, storage_url, spec, provider_name, runtime,
                                    spec_key, jf->provider_settings, err) < 0)
                return -1;
        *ret_id = TAKE_PTR(id);
        return 0;
}

/* --dry-run: what the provider would send for JOB.yaml, printed; nothing
 * is uploaded, stored or started (no storage key, no hoist serve). */
static int submit_dry_run(const struct hoist_home *home, const char *path,
                          const char *runtime_override, int yaml, struct hoist_error **err)
{
        _cleanup_jobfile_ struct jobfile *jf = NULL;
        _cleanup_jobspec_ struct jobspec *spec = NULL;
        _cleanup_storage_ struct storage *sto = NULL;
        _cleanup_free_ char *id = store_new_job_id();
        _cleanup_free_ char *job_url = NULL, *root = NULL, *text = NULL;
        /* Not home_job_run_dir(): that makes the directory. */
        _cleanup_free_ char *state_dir = path_join(home->run_dir, id);
        _cleanup_free_ char *entrypoint = home_find_entrypoint(home);
        _cleanup_free_ char *bundle = home_find_bundle(home);
        _cleanup_free_ char *images = path_join(home->dir, "images");
        char *with_secrets[] = {(char *)"SECRETS=", NULL};
        const struct provider_ops *prov;
        const char *url;
        int builtin;

        if (jobfile_load(path, &jf, err) < 0)
                return -1;
        if (check_job(home, jf, path, runtime_override, false, err) < 0)
                return -1;
        prov = provider_find(jf->provider);
        if (yaml && !prov->render_yaml)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "'%s': provider '%s' sends no YAML objects, so -o yaml "
                                        "has nothing to print (use --dry-run alone)",
                                        path, prov->name);
        if (prov->render == NULL)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "'%s': provider '%s' has nothing to show for --dry-run: it "
                                        "sends no script or request anywhere (it runs the job on "
                                        "this machine)",
                                        path, prov->name);
        url = jf->storage ? jf->storage : jobstorage_default_url();
        /* The built-in endpoint would start hoist serve: its URL is shown as
         * what it will be instead. */
        builtin = strcmp(url, LOCALSERVE_URL) == 0;
        if (!builtin && storage_open(url, &sto, err) < 0)
                return hoist_error_wrap(err, "'%s'", path);
        spec = spec_from_jobfile(jf, id, sto);
        if (sto != NULL) {
                _cleanup_free_ char *key = xasprintf("jobs/%s/job.json", id);
                job_url = jobstorage_job_url(sto, key);
                root = jobstorage_local_root(sto);
        } else {
                job_url = xasprintf("s3://BUILTIN/jobs/%s/job.json", id);
        }
        if (jobhooks_check(spec, err) < 0 || jobsecrets_check(spec, err) < 0)
                return hoist_error_wrap(err, "'%s'", path);
        const struct provider_submit req = {
                .spec = spec,
                .job_id = id,
                .job_url = job_url,
                .storage_root = root,
                .image = spec->image,
                .runtime = runtime_override ? runtime_override : jobfile_runtime_name(jf->runtime),
                .state_dir = state_dir,
                .entrypoint = entrypoint,
                .bundle = bundle,
                .bin_dir = home->self_dir,
                .images_dir = images,
                /* Only whether there are any: values are never rendered. */
                .secret_env = spec->n_secrets > 0 || spec->n_webhooks > 0 || root == NULL
                                      ? with_secrets
                                      : NULL,
                .settings = jf->provider_settings,
        };
        if (prov->render(&req, &text, err) < 0)
                return hoist_error_wrap(err, "'%s'", path);
        if (yaml) {
                fputs(text, stdout);
                return EXIT_OK;
        }
        printf("# hoist submit --dry-run %s: provider %s, job id %s (a real submit gets a new "
               "one)\n",
               path, prov->name, id);
        if (prov->validate != NULL)
                printf("# provider %s's engine was not asked (validate() not run: no credentials "
                       "or network used); a real submit asks it first\n",
                       prov->name);
        if (builtin)
                printf("# storage: the built-in endpoint; BUILTIN stands for its bucket, known "
                       "once hoist serve runs\n");
        fputs(text, stdout);
        return EXIT_OK;
}

static int submit_resume(const struct hoist_home *home, struct store *st, const char *which,
                         const char *runtime_override, bool force, char **ret_id,
                         struct hoist_error **err)
{
        _cleanup_job_record_ struct job_record *job = NULL;

        if (store_get_job(st, which, &job, err) < 0 || reconcile_job(home, st, &job, err) < 0)
                return -1;
        /* An automatic retry may have started one already. */
        if (reconcile_resume(home, st, job->id, runtime_override, force, err) < 0)
                return -1;
        *ret_id = xstrdup(job->id);
        return 0;
}

int cmd_submit(int argc, char **argv, struct hoist_error **err)
{
        static const struct option opts[] = {
                {"follow", no_argument, NULL, 'f'},
                {"resume", required_argument, NULL, 'R'},
                {"runtime", required_argument, NULL, 'r'},
                {"quiet", no_argument, NULL, 'q'},
                {"force", no_argument, NULL, 'F'},
                {"help", no_argument, NULL, 'h'},
                {"yes", no_argument, NULL, 'y'}, /* consent: ask, answered */
                {"dry-run", no_argument, NULL, 'n'},
                {"estimate", no_argument, NULL, 'E'},
                {"output", required_argument, NULL, 'o'},
                {"rehash", no_argument, NULL, 'H'},
                {NULL, 0, NULL, 0},
        };
        _cleanup_home_ struct hoist_home *home = NULL;
        _cleanup_store_ struct store *st = NULL;
        _cleanup_free_ char *id = NULL;
        const char *arg_resume = NULL, *arg_runtime = NULL;
        int arg_follow = 0, arg_quiet = 0, arg_force = 0, arg_yes = 0, arg_dry_run = 0, c;
        int arg_estimate = 0, arg_json = 0, arg_yaml = 0, arg_rehash = 0;
        struct package_stats stats = {0};

        optind = 1;
        while ((c = getopt_long(argc, argv, "fqyhno:", opts, NULL)) != -1) {
                switch (c) {
                case 'E':
                        arg_estimate = 1;
                        break;
                case 'H':
                        arg_rehash = 1;
                        break;
                case 'o':
                        if (strcmp(optarg, "yaml") == 0) {
                                arg_yaml = 1;
                                break;
                        }
                        arg_json = cli_parse_output("submit", optarg, err);
                        if (arg_json < 0)
                                return -1;
                        break;
                case 'f':
                        arg_follow = 1;
                        break;
                case 'R':
                        arg_resume = optarg;
                        break;
                case 'r':
                        arg_runtime = optarg;
                        break;
                case 'q':
                        arg_quiet = 1;
                        break;
                case 'F':
                        arg_force = 1;
                        break;
                case 'y':
                        arg_yes = 1;
                        break;
                case 'n':
                        arg_dry_run = 1;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return EXIT_OK;
                default:
                        return cli_usage_error(err, "submit", "unknown option");
                }
        }
        if (arg_runtime != NULL && strcmp(arg_runtime, "auto") != 0 &&
            strcmp(arg_runtime, "container") != 0 && strcmp(arg_runtime, "process") != 0)
                return cli_usage_error(err, "submit",
                                       "--runtime must be auto, container or process, not '%s'",
                                       arg_runtime);
        if (arg_resume == NULL && optind != argc - 1)
                return cli_usage_error(err, "submit", "expected one JOB.yaml");
        if (arg_resume != NULL && optind != argc)
                return cli_usage_error(err, "submit", "--resume takes no JOB.yaml");
        if (arg_force && arg_resume == NULL)
                return cli_usage_error(err, "submit", "--force goes with --resume");
        if (arg_dry_run && (arg_resume != NULL || arg_follow))
                return cli_usage_error(err, "submit",
                                       "--dry-run takes a JOB.yaml, not --resume "
                                       "or --follow");
        if (arg_json && (arg_resume != NULL || arg_follow || arg_dry_run) && !arg_estimate)
                return cli_usage_error(err, "submit",
                                       "-o json goes with --estimate or a new job, not with "
                                       "--resume, --follow or --dry-run");
        if (arg_yaml && !arg_dry_run)
                return cli_usage_error(err, "submit", "-o yaml goes with --dry-run");
        if (arg_estimate && (arg_resume != NULL || arg_follow || arg_dry_run))
                return cli_usage_error(err, "submit",
                                       "--estimate takes a JOB.yaml, not --resume, --follow or "
                                       "--dry-run");
        if (arg_estimate) {
                if (home_open(&home, err) < 0 || home_open_store(home, &st, err) < 0)
                        return -1;
                return submit_estimate(home, st, argv[optind], arg_json, err);
        }
        if (arg_dry_run) {
                if (home_open(&home, err) < 0)
                        return -1;
                return submit_dry_run(home, argv[optind], arg_runtime, arg_yaml, err);
        }

        if (arg_quiet)
                progress_quiet();
        if (home_open(&home, err) < 0 || home_open_store(home, &st, err) < 0)
                return -1;
        if (arg_resume != NULL) {
                if (submit_resume(home, st, arg_resume, arg_runtime, arg_force, &id, err) < 0)
                        return -1;
        } else if (submit_new(home, st, argv[optind], arg_runtime, arg_quiet, arg_yes, arg_rehash,
                              &stats, &id, err) < 0) {
                return -1;
        }
        if (arg_json) {
                json_auto_t *o = upload_json(id, &stats);
                jobview_print_json(o);
                return EXIT_OK;
        }
        if (arg_quiet)
                printf("%s\n", id);
        else
                printf("submitted job %s\n", id);
        fflush(stdout);
        if (!arg_follow)
                return EXIT_OK;
        return follow_job(home, st, id, STDOUT_FILENO,
                          &(const struct follow_options){.follow = 1, .tail = -1}, err);
}
