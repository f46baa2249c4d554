/* SPDX-License-Identifier: MIT */
/*
 * The slurm provider: one sbatch job per attempt, on this machine's Slurm
 * or through ssh to a login node (docs/providers/slurm.md).
 *
 * Submit writes the batch script and runs `sbatch --parsable --hold`,
 * records the Slurm job id, and only then `scontrol release`s it: a hoist
 * killed between the two leaves a held job that the store names (status
 * says so, release cancels it), never a running job it cannot name.
 * Status asks `scontrol show job -o` while Slurm remembers the job, then
 * `sacct -c` (the job completion record; plain sacct needs slurmdbd).
 *
 * run/<id>/ keeps batch.sh (as sent), slurm.json (the job.yaml settings, for
 * attempts that hoist serve starts from job.json alone), released (the job
 * id scontrol released) and, for a job on this machine, secrets.json and
 * Slurm's output file.  Over ssh those two live in the remote user's
 * ~/.cache/hoist/jobs/<id>/, and the entrypoint bundle in
 * ~/.cache/hoist/bundles/<digest>/, which the nodes must see (a shared home).
 */
#include "provider.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "clock.h"
#include "digest.h"
#include "fsutil.h"
#include "hostlist.h"
#include "log.h"
#include "proc.h"
#include "slurm_exec.h"
#include "slurm_parse.h"
#include "slurm_script.h"
#include "slurm_settings.h"
#include "xalloc.h"

#define SETTINGS_FILE "slurm.json"
#define RELEASED_FILE "released"
#define REMOTE_DIR_FILE "remote-dir"

/* ---- settings ---- */

PROVIDER_SETTINGS_OPS(slurm, slurm_settings)

static int slurm_reaches_loopback(const void *settings)
{
        return slurm_settings_local_node(settings);
}

/* The settings of the job in STATE_DIR, as its first submit stored them. */
static int read_settings(const char *state_dir, struct slurm_settings **ret,
                         struct hoist_error **err)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len = 0;

        if (provider_settings_read(state_dir, SETTINGS_FILE, "Slurm", &path, &text, &len, err) < 0)
                return -1;
        return slurm_settings_from_json(text, len, path, ret, err);
}

static int write_settings(const char *state_dir, const struct slurm_settings *s,
                          struct hoist_error **err)
{
        _cleanup_free_ char *text = slurm_settings_to_json(s);

        return provider_settings_write(state_dir, SETTINGS_FILE, text, err);
}

static int is_remote(const struct slurm_settings *s)
{
        return s->host != NULL && *s->host != '\0';
}

/* ---- the cluster's side ---- */

/* Whether Slurm can be driven with S: sbatch here, or over ssh. */
static int check_cluster(const struct slurm_settings *s, struct hoist_error **err)
{
        char *argv[] = {(char *)"sbatch", (char *)"--version", NULL};
        _cleanup_buf_ struct buf out = {0};

        if (!is_remote(s) && !proc_which("sbatch", NULL))
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "sbatch is not on this machine's PATH (install Slurm's "
                                        "client, e.g. apt-get install slurm-client, or set "
                                        "slurm.host to a login node)");
        if (is_remote(s) && !proc_which("ssh", NULL))
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "slurm.host is '%s', and ssh is not on PATH (install "
                                        "openssh-client)",
                                        s->host);
        if (slurm_exec_ok(s, argv, &out, err) < 0)
                return hoist_error_wrap(err, "check Slurm%s%s", is_remote(s) ? " on " : "",
                                        is_remote(s) ? s->host : "");
        return 0;
}

/* Before anything is uploaded: sbatch answers here, or on slurm.host. */
static int slurm_validate(const void *settings, struct hoist_error **err)
{
        const struct slurm_settings *s = settings;

        if (s != NULL)
                return check_cluster(s, err);
        if (proc_which("sbatch", NULL) || proc_which("ssh", NULL))
                return 0;
        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                "neither sbatch nor ssh is on PATH: install Slurm's client "
                                "(slurm-client) here, or openssh-client to reach a login node "
                                "(slurm.host)");
}

/* Runs a small sh SCRIPT on the cluster's side; fails unless it exits 0. */
static int cluster_sh(const struct slurm_settings *s, const char *what, const char *script,
                      char *const args[], const char *in, size_t in_len, struct buf *out,
                      struct hoist_error **err)
{
        _cleanup_buf_ struct buf errb = {0};
        int status = 0;

        if (slurm_exec_sh(s, script, args, in, in_len, out, &errb, &status, err) < 0)
                return hoist_error_wrap(err, "%s", what);
        if (status != 0) {
                _cleanup_free_ char *why = slurm_exec_last_line(&errb);
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "%s%s%s: %s (exit %d)", what,
                                        is_remote(s) ? " on " : "", is_remote(s) ? s->host : "",
                                        why, status);
        }
        return 0;
}

/* The job's directory where it runs: run/<id>/ here, or the remote
 * user's ~/.cache/hoist/jobs/<id>/. */
static int job_dir(const struct slurm_settings *s, const char *state_dir, const char *job_id,
                   char **ret, struct hoist_error **err)
{
        _cleanup_free_ char *path = path_join(state_dir, REMOTE_DIR_FILE);
        _cleanup_buf_ struct buf out = {0};
        char *text = NULL;

        if (!is_remote(s)) {
                *ret = xstrdup(state_dir);
                return 0;
        }
        if (fs_read_file(path, &text, NULL, NULL) == 0 && text[0] == '/') {
                *ret = text;
                return 0;
        }
        free(text);
        if (cluster_sh(s, "find the home directory", "printf %s \"$HOME\"", NULL, NULL, 0, &out,
                       err) < 0)
                return -1;
        if (out.len == 0 || out.data[0] != '/' || strchr(out.data, '\n') != NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "'%s' has no usable $HOME for the job's files", s->host);
        *ret = xasprintf("%s/.cache/hoist/jobs/%s", out.data, job_id);
        return fs_write_file_atomic(path, *ret, strlen(*ret), 0600, err);
}

/* Every file of the tree at DIR, names and contents, into CTX. */
static int digest_tree(struct digest_ctx *ctx, const char *dir, const char *rel,
                       struct hoist_error **err)
{
        _cleanup_strv_ char **names = fs_list_dir(dir, err);

        if (names == NULL)
                return -1;
        for (char **n = names; *n != NULL; n++) {
                _cleanup_free_ char *path = path_join(dir, *n);
                _cleanup_free_ char *r = rel ? path_join(rel, *n) : xstrdup(*n);
                if (fs_is_dir(path)) {
                        if (digest_tree(ctx, path, r, err) < 0)
                                return -1;
                        continue;
                }
                char hex[DIGEST_HEX_LEN + 1];
                if (digest_file_hex(path, hex, NULL, err) < 0)
                        return -1;
                digest_update(ctx, r, strlen(r) + 1);
                digest_update(ctx, hex, strlen(hex) + 1);
                digest_update(ctx, access(path, X_OK) == 0 ? "x" : "-", 1);
        }
        return 0;
}

/* The bundle where the job runs: in place here; over ssh, copied once to
 * ~/.cache/hoist/bundles/<digest> (by content, so jobs share it). */
static int cluster_bundle(const struct slurm_settings *s, const char *bundle,
                          const char *job_dir_path, char **ret, struct hoist_error **err)
{
        static const char install[] =
                "set -e; d=$1; [ -x \"$d/bin/hoist-entrypoint\" ] && exit 0; mkdir -p \"${d%/*}\"; "
                "t=$(mktemp -d \"$d.XXXXXX\"); tar -C \"$t\" -xf -; chmod 755 \"$t\"; "
                "mv -T \"$t\" \"$d\" 2>/dev/null || rm -rf \"$t\"; [ -x "
                "\"$d/bin/hoist-entrypoint\" ]";
        struct digest_ctx *ctx = NULL;
        _cleanup_buf_ struct buf tar = {0};
        _cleanup_buf_ struct buf errb = {0};
        char hex[DIGEST_HEX_LEN + 1];
        int status = 0;

        if (bundle == NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "cannot find the entrypoint bundle that Slurm jobs run "
                                        "(run 'make bundle', or set HOIST_BUNDLE_DIR)");
        if (!is_remote(s)) {
                *ret = xstrdup(bundle);
                return 0;
        }
        ctx = digest_new();
        if (digest_tree(ctx, bundle, NULL, err) < 0) {
                digest_free(ctx);
                return hoist_error_wrap(err, "entrypoint bundle '%s'", bundle);
        }
        digest_final_hex(ctx, hex); /* frees it */
        /* job_dir_path is HOME/.cache/hoist/jobs/ID */
        const char *jobs = strstr(job_dir_path, "/.cache/hoist/jobs/");
        _cleanup_free_ char *home = xstrndup(job_dir_path, (size_t)(jobs - job_dir_path));
        _cleanup_free_ char *dest = xasprintf("%s/.cache/hoist/bundles/%.16s", home, hex);
        char *check[] = {(char *)"test", (char *)"-x", NULL, NULL};
        _cleanup_free_ char *ep = path_join(dest, "bin/hoist-entrypoint");
        check[2] = ep;
        if (slurm_exec(s, check, NULL, 0, NULL, &errb, &status, err) < 0)
                return -1;
        if (status != 0) {
                char *targv[] = {(char *)"tar", (char *)"-C", (char *)bundle,
                                 (char *)"-cf", (char *)"-",  (char *)".",
                                 NULL};
                char *args[] = {dest, NULL};
                log_info("copying the entrypoint bundle to %s:%s", s->host, dest);
                if (proc_run(targv, &tar, &errb, &status, err) < 0)
                        return -1;
                if (status != 0)
                        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                                "tar of the entrypoint bundle '%s' failed", bundle);
                if (cluster_sh(s, "copy the entrypoint bundle", install, args, tar.data, tar.len,
                               NULL, err) < 0)
                        return -1;
        }
        *ret = TAKE_PTR(dest);
        return 0;
}

/* Writes DATA as DIR/NAME on the cluster's side, private to its user. */
static int put_file(const struct slurm_settings *s, const char *dir, const char *name,
                    const char *data, size_t len, struct hoist_error **err)
{
        static const char put[] = "set -e; umask 077; mkdir -p \"$1\"; chmod 700 \"$1\"; "
                                  "cat >\"$1/$2.tmp\"; mv -f \"$1/$2.tmp\" \"$1/$2\"";
        _cleanup_free_ char *path = path_join(dir, name);
        char *args[] = {(char *)dir, (char *)name, NULL};

        if (!is_remote(s))
                return fs_mkdir_p(dir, 0700, err) < 0
                               ? -1
                               : fs_write_file_atomic(path, data, len, 0600, err);
        return cluster_sh(s, "write the job's files", put, args, data, len, NULL, err);
}

static int remove_file(const struct slurm_settings *s, const char *dir, const char *name)
{
        _cleanup_free_ char *path = path_join(dir, name);
        char *argv[] = {(char *)"rm", (char *)"-f", path, NULL};
        _cleanup_buf_ struct buf errb = {0};
        struct hoist_error *err = NULL;
        int status = 0;

        if (!is_remote(s))
                return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
        if (slurm_exec(s, argv, NULL, 0, NULL, &errb, &status, &err) < 0) {
                hoist_error_free(err);
                return -1;
        }
        return status == 0 ? 0 : -1;
}

/* secret_env as the JSON object hoist-entrypoint reads (HOIST_SECRETS_FILE). */
static int secrets_json(char *const *secret_env, char **ret, struct hoist_error **err)
{
        json_t *o = json_object();

        for (char *const *e = secret_env; *e != NULL; e++) {
                const char *eq = strchr(*e, '=');
                _cleanup_free_ char *name = xstrndup(*e, (size_t)(eq - *e));
                json_t *v = json_string(eq + 1);
                if (v == NULL) {
                        json_decref(o);
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "secret '%s' is not UTF-8 text, which the job's "
                                                "secrets file cannot carry (encode it, e.g. in "
                                                "base64)",
                                                name);
                }
                (void)json_object_set_new(o, name, v);
        }
        *ret = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (*ret == NULL)
                abort(); /* out of memory */
        return 0;
}

/* ---- render and submit ---- */

static int container_job(const struct provider_submit *req)
{
        return req->image != NULL && (req->runtime == NULL || strcmp(req->runtime, "process") != 0);
}

static void fill_plan(const struct provider_submit *req, const struct slurm_settings *s,
                      const char *dir, const char *bundle, int secrets, struct slurm_plan *p)
{
        int container = container_job(req);

        *p = (struct slurm_plan){
                .set = s,
                .spec = req->spec,
                .job_id = req->job_id,
                .job_url = req->job_url,
                .storage_root = req->storage_root,
                .image = container ? req->image : NULL,
                .dir = dir,
                .bundle = bundle,
                .bin_dir = is_remote(s) ? NULL : req->bin_dir,
                .secrets = secrets,
        };
}

static int check_runnable(const struct provider_submit *req, struct hoist_error **err)
{
        if (!container_job(req) && req->spec->command == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "the job has no 'command' to run as a process on the "
                                        "Slurm nodes (give a command, or an image)");
        return 0;
}

static int slurm_render(const struct provider_submit *req, char **ret, struct hoist_error **err)
{
        const struct slurm_settings *s = req->settings;
        _cleanup_slurm_settings_ struct slurm_settings *def = NULL;
        _cleanup_free_ char *dir = NULL, *bundle = NULL;
        struct slurm_plan p;

        if (s == NULL)
                s = def = slurm_settings_new();
        if (check_runnable(req, err) < 0)
                return -1;
        /* Nothing is asked of the cluster: over ssh its paths are shown as
         * they will be, under the remote $HOME. */
        dir = is_remote(s) ? xasprintf("$HOME/.cache/hoist/jobs/%s", req->job_id)
                           : xstrdup(req->state_dir);
        bundle = is_remote(s) ? xstrdup("$HOME/.cache/hoist/bundles/<digest>")
                              : xstrdup(req->bundle ? req->bundle : "<the entrypoint bundle>");
        fill_plan(req, s, dir, bundle, req->secret_env != NULL && req->secret_env[0] != NULL, &p);
        return slurm_render_text(&p, ret, err);
}

static int write_released(const char *state_dir, const char *id, struct hoist_error **err)
{
        _cleanup_free_ char *path = path_join(state_dir, RELEASED_FILE);

        return fs_write_file_atomic(path, id, strlen(id), 0600, err);
}

static int was_released(const char *state_dir, const char *id)
{
        _cleanup_free_ char *path = path_join(state_dir, RELEASED_FILE);
        _cleanup_free_ char *text = NULL;

        return fs_read_file(path, &text, NULL, NULL) == 0 && strcmp(text, id) == 0;
}

static int scancel(const struct slurm_settings *s, const char *id, int term,
                   struct hoist_error **err)
{
        /* Not --full: that signals srun too, which takes a TERM for "kill
         * the step now"; without it the TERM goes to each task (the
         * entrypoints) and the batch shell waits for them. */
        char *argv[] = {(char *)"scancel", (char *)"--signal=TERM", (char *)id, NULL};
        char *plain[] = {(char *)"scancel", (char *)id, NULL};

        return slurm_exec_ok(s, term ? argv : plain, NULL, err);
}

/* sbatch --hold, record, scontrol release (see the top of this file). */
static int sbatch_and_release(const struct provider_submit *req, const struct slurm_settings *s,
                              char *const argv[], struct hoist_error **err)
{
        _cleanup_buf_ struct buf out = {0};
        _cleanup_free_ char *id = NULL, *cluster = NULL;
        char *release[] = {(char *)"scontrol", (char *)"release", NULL, NULL};

        if (slurm_exec_ok(s, argv, &out, err) < 0)
                return hoist_error_wrap(err, "submit to Slurm");
        if (slurm_parse_sbatch(out.data ? out.data : "", &id, &cluster, err) < 0)
                return -1;
        if (cluster != NULL)
                log_debug("sbatch: job %s on cluster %s", id, cluster);
        /* The runtime as hoist names it: a retry runs the same one. */
        if (req->record(req->userdata, container_job(req) ? "container" : "process", id, err) < 0) {
                struct hoist_error *e2 = NULL;
                if (scancel(s, id, 0, &e2) < 0) {
                        log_warn("held Slurm job %s: %s, ignoring", id, e2->msg);
                        hoist_error_free(e2);
                }
                return -1;
        }
        release[2] = id;
        if (slurm_exec_ok(s, release, NULL, err) < 0)
                return hoist_error_wrap(err, "release held Slurm job %s", id);
        return write_released(req->state_dir, id, err);
}

static int slurm_submit(const struct provider_submit *req, struct hoist_error **err)
{
        _cleanup_slurm_settings_ struct slurm_settings *stored = NULL;
        const struct slurm_settings *s = req->settings;
        _cleanup_free_ char *dir = NULL, *bundle = NULL, *script = NULL, *secrets = NULL;
        _cleanup_free_ char *local_script = path_join(req->state_dir, SLURM_BATCH_SCRIPT);
        _cleanup_free_ char *released = path_join(req->state_dir, RELEASED_FILE);
        _cleanup_strv_ char **argv = NULL;
        int have_secrets = req->secret_env != NULL && req->secret_env[0] != NULL;
        struct slurm_plan p;
        int r;

        if (fs_mkdir_p(req->state_dir, 0700, err) < 0)
                return -1;
        if (s != NULL) {
                if (write_settings(req->state_dir, s, err) < 0)
                        return -1;
        } else {
                if (read_settings(req->state_dir, &stored, err) < 0)
                        return -1;
                s = stored;
        }
        (void)unlink(released);
        /* A first attempt's settings came through validate() at submit,
         * which asked the cluster already; a later attempt asks now. */
        if (check_runnable(req, err) < 0 || (stored != NULL && check_cluster(s, err) < 0) ||
            job_dir(s, req->state_dir, req->job_id, &dir, err) < 0 ||
            cluster_bundle(s, req->bundle, dir, &bundle, err) < 0)
                return -1;
        fill_plan(req, s, dir, bundle, have_secrets, &p);
        if (slurm_sbatch_argv(&p, &argv, err) < 0)
                return -1;
        script = slurm_batch_script(&p);
        if (fs_write_file_atomic(local_script, script, strlen(script), 0600, err) < 0 ||
            (is_remote(s) && put_file(s, dir, SLURM_BATCH_SCRIPT, script, strlen(script), err) < 0))
                return -1;
        if (have_secrets) {
                if (secrets_json(req->secret_env, &secrets, err) < 0)
                        return -1;
                r = put_file(s, dir, SLURM_SECRETS_FILE, secrets, strlen(secrets), err);
                explicit_bzero(secrets, strlen(secrets));
                if (r < 0)
                        return hoist_error_wrap(err, "write the job's secrets file");
        } else {
                (void)remove_file(s, dir, SLURM_SECRETS_FILE);
        }
        return sbatch_and_release(req, s, argv, err);
}

/* ---- status ---- */

/* What Slurm says of job ID: 1 and *RET, 0 when it knows nothing of it. */
static int ask_slurm(const struct slurm_settings *s, const char *id, struct slurm_job_status *ret,
                     struct hoist_error **err)
{
        char *show[] = {(char *)"scontrol", (char *)"show", (char *)"job",
                        (char *)"-o",       (char *)id,     NULL};
        _cleanup_free_ char *jarg = xasprintf("--jobs=%s", id);
        char *acct[] = {(char *)"sacct",
                        (char *)"-c",
                        (char *)"-n",
                        (char *)"-P",
                        jarg,
                        (char *)"--format=" SLURM_SACCT_FIELDS,
                        NULL};
        _cleanup_buf_ struct buf out = {0};
        _cleanup_buf_ struct buf errb = {0};
        int status = 0;

        if (slurm_exec(s, show, NULL, 0, &out, &errb, &status, err) < 0)
                return -1;
        if (is_remote(s) && status == 255) {
                _cleanup_free_ char *why = slurm_exec_last_line(&errb);
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "ssh to '%s' failed: %s", s->host,
                                        why);
        }
        if (status == 0) {
                if (slurm_parse_scontrol_job(out.data ? out.data : "", id, ret, err) == 0)
                        return 1;
                if ((*err)->code != HOIST_ERR_NOT_FOUND)
                        return -1;
                hoist_error_release(err);
        } else if (strstr(errb.data ? errb.data : "", "Invalid job id") == NULL) {
                _cleanup_free_ char *why = slurm_exec_last_line(&errb);
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "scontrol show job %s failed (exit %d): %s", id, status,
                                        why);
        }
        buf_truncate(&out, 0);
        buf_truncate(&errb, 0);
        if (slurm_exec(s, acct, NULL, 0, &out, &errb, &status, err) < 0)
                return -1;
        if (status != 0) {
                _cleanup_free_ char *why = slurm_exec_last_line(&errb);
                log_debug("sacct -c for job %s: %s", id, why);
                return 0;
        }
        if (slurm_parse_sacct(SLURM_SACCT_FIELDS, out.data ? out.data : "", id, ret, err) == 0)
                return 1;
        if ((*err)->code != HOIST_ERR_NOT_FOUND)
                return -1;
        hoist_error_release(err);
        return 0;
}

/* The last line of the job's Slurm output file that says something, for a
 * job that ended without a result (the script's "hoist: ..." lines). */
static char *output_tail(const struct slurm_settings *s, const char *state_dir, const char *job_id,
                         const char *id)
{
        _cleanup_free_ char *dir = NULL;
        _cleanup_free_ char *name = xasprintf("slurm-%s.out", id);
        _cleanup_free_ char *path = NULL;
        struct hoist_error *err = NULL;
        _cleanup_buf_ struct buf out = {0};
        char *argv[] = {(char *)"tail", (char *)"-n", (char *)"20", NULL, NULL};
        int status = 0;

        if (job_dir(s, state_dir, job_id, &dir, &err) < 0) {
                hoist_error_free(err);
                return NULL;
        }
        path = path_join(dir, name);
        argv[3] = path;
        if (slurm_exec(s, argv, NULL, 0, &out, NULL, &status, &err) < 0) {
                hoist_error_free(err);
                return NULL;
        }
        if (status != 0 || out.len == 0)
                return NULL;
        /* hoist's own lines first: they say why nothing ran. */
        const char *h = NULL;
        for (const char *p = out.data; (p = strstr(p, "hoist: ")) != NULL; p++)
                if (p == out.data || p[-1] == '\n')
                        h = p;
        if (h != NULL)
                return xstrndup(h, strcspn(h, "\n"));
        return slurm_exec_last_line(&out);
}

static void map_status(const struct slurm_job_status *js, struct provider_status *ret)
{
        _cleanup_free_ char *why = slurm_job_status_reason(js);

        ret->exit_code = -1;
        switch (js->outcome) {
        case SLURM_QUEUED:
                /* Waiting in Slurm's queue, with its reason: hoist follows
                 * it back to queued (store_follow_engine()). */
                ret->state = JOB_QUEUED;
                break;
        case SLURM_STARTING:
                ret->state = JOB_STARTING;
                break;
        case SLURM_RUNNING:
                ret->state = JOB_RUNNING;
                /* RUNNING says nothing; SUSPENDED, COMPLETING do */
                if (js->state != NULL && strcmp(js->state, "RUNNING") == 0)
                        return;
                break;
        case SLURM_SUCCEEDED:
                /* The entrypoint's result decides; reaching here, it wrote none. */
                ret->state = JOB_FAILED;
                ret->exit_code = js->exit_code;
                ret->reason = xasprintf("Slurm job %s ended %s, and hoist-entrypoint wrote no "
                                        "result",
                                        js->job_id, why);
                return;
        case SLURM_FAILED:
                ret->state = JOB_FAILED;
                ret->exit_code = js->exit_signal > 0 ? 128 + js->exit_signal : js->exit_code;
                break;
        case SLURM_CANCELED:
                ret->state = JOB_CANCELED;
                break;
        case SLURM_INTERRUPTED:
                ret->state = JOB_INTERRUPTED;
                ret->exit_code = js->exit_code;
                break;
        }
        ret->reason = xasprintf("Slurm job %s: %s", js->job_id, why);
}

static int slurm_status(const struct job_record *job, const char *state_dir,
                        struct provider_status *ret, struct hoist_error **err)
{
        _cleanup_slurm_settings_ struct slurm_settings *s = NULL;
        struct slurm_job_status js = {.exit_code = -1, .elapsed_s = -1, .restarts = -1};
        const char *id = job->provider_ref;
        int r;

        ret->exit_code = -1;
        if (id == NULL) {
                ret->state = JOB_FAILED;
                ret->reason = xstrdup("the job never reached Slurm (hoist submit was "
                                      "interrupted before sbatch answered)");
                return 0;
        }
        if (read_settings(state_dir, &s, err) < 0)
                return -1;
        r = ask_slurm(s, id, &js, err);
        if (r < 0)
                return hoist_error_wrap(err, "Slurm job %s", id);
        if (r == 0) {
                ret->state = JOB_FAILED;
                ret->reason = xasprintf("Slurm no longer knows job %s (neither scontrol show job "
                                        "nor sacct -c lists it): it ended longer ago than the "
                                        "cluster's MinJobAge, and no job completion record "
                                        "holds it",
                                        id);
                return 0;
        }
        if (js.outcome == SLURM_QUEUED && js.reason != NULL &&
            strcmp(js.reason, "JobHeldUser") == 0 && !was_released(state_dir, id)) {
                ret->state = JOB_FAILED;
                ret->reason = xasprintf("hoist submit stopped between sbatch --hold and "
                                        "scontrol release: Slurm job %s was left held, and hoist "
                                        "cancels it (hoist submit --resume %s starts the job "
                                        "again)",
                                        id, job->id);
                slurm_job_status_clear(&js);
                return 0;
        }
        map_status(&js, ret);
        if ((js.outcome == SLURM_FAILED || js.outcome == SLURM_SUCCEEDED) &&
            job_state_terminal(ret->state)) {
                _cleanup_free_ char *tail = output_tail(s, state_dir, job->id, id);
                if (tail != NULL) {
                        char *r2 = xasprintf("%s: %s", ret->reason, tail);
                        free(ret->reason);
                        ret->reason = r2;
                }
        }
        slurm_job_status_clear(&js);
        return 0;
}

/* ---- cancel, clear, release ---- */

/* Whether Slurm still runs (or queues) job ID: 1, 0, or -1. */
static int still_active(const struct slurm_settings *s, const char *id, int *ret_pending,
                        struct hoist_error **err)
{
        struct slurm_job_status js = {.exit_code = -1, .elapsed_s = -1, .restarts = -1};
        int r = ask_slurm(s, id, &js, err);

        if (r <= 0)
                return r;
        r = js.outcome == SLURM_QUEUED || js.outcome == SLURM_STARTING ||
            js.outcome == SLURM_RUNNING;
        if (ret_pending != NULL)
                *ret_pending = js.outcome == SLURM_QUEUED;
        slurm_job_status_clear(&js);
        return r;
}

/* Waits until job ID is no longer active, or DEADLINE (monotonic ms): 1
 * when it ended, 0 at the deadline. */
static int wait_ended(const struct slurm_settings *s, const char *id, int64_t deadline,
                      struct hoist_error **err)
{
        struct timespec tick = {0, 250 * 1000 * 1000};
        int r;

        while ((r = still_active(s, id, NULL, err)) > 0) {
                if (clock_mono_ms() >= deadline)
                        return 0;
                nanosleep(&tick, NULL);
        }
        return r < 0 ? -1 : 1;
}

static int cancel_id(const struct slurm_settings *s, const char *id, int64_t grace_s,
                     struct hoist_error **err)
{
        int pending = 0, r = still_active(s, id, &pending, err);

        if (r <= 0)
                return r;
        if (pending) {
                /* Nothing runs yet: gone for good, unless it started
                 * meanwhile (then it gets its TERM below). */
                char *argv[] = {(char *)"scancel", (char *)"--state=PENDING", (char *)id, NULL};
                if (slurm_exec_ok(s, argv, NULL, err) < 0)
                        return -1;
                r = wait_ended(s, id, clock_mono_ms() + 5000, err);
                if (r != 0)
                        return r < 0 ? -1 : 0;
        }
        if (scancel(s, id, 1, err) < 0)
                return -1;
        /* The entrypoint stops its command within the grace and uploads
         * what is left: a little longer, then for good. */
        r = wait_ended(s, id, clock_mono_ms() + (grace_s + 15) * 1000, err);
        if (r != 0)
                return r < 0 ? -1 : 0;
        log_debug("Slurm job %s outlived its grace period; scancel", id);
        if (scancel(s, id, 0, err) < 0)
                return -1;
        r = wait_ended(s, id, clock_mono_ms() + 120 * 1000, err);
        if (r == 0)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "Slurm job %s still runs 120 s after scancel", id);
        return r < 0 ? -1 : 0;
}

static int slurm_cancel(const struct job_record *job, const char *state_dir, int64_t grace_s,
                        struct hoist_error **err)
{
        _cleanup_slurm_settings_ struct slurm_settings *s = NULL;

        if (job->provider_ref == NULL)
                return 0; /* never reached Slurm */
        if (read_settings(state_dir, &s, err) < 0)
                return -1;
        return cancel_id(s, job->provider_ref, grace_s, err);
}

static int slurm_clear(const struct job_record *job, const char *state_dir, int64_t grace_s,
                       struct hoist_error **err)
{
        if (slurm_cancel(job, state_dir, grace_s, err) < 0)
                return hoist_error_wrap(err, "stop the previous attempt of job %s", job->id);
        return 0;
}

static int slurm_release(const struct job_record *job, const char *state_dir,
                         struct hoist_error **err)
{
        _cleanup_slurm_settings_ struct slurm_settings *s = NULL;
        _cleanup_free_ char *dir = NULL;
        const char *id = job->provider_ref;

        if (read_settings(state_dir, &s, NULL) < 0)
                return 0; /* nothing was ever sent */
        if (id != NULL && !was_released(state_dir, id)) {
                int pending = 0, r = still_active(s, id, &pending, err);
                /* Held by a submit that never came back: nobody will run it. */
                if (r < 0 || (r > 0 && scancel(s, id, 0, err) < 0))
                        return hoist_error_wrap(err, "cancel held Slurm job %s", id);
        }
        if (job_dir(s, state_dir, job->id, &dir, err) < 0)
                return -1;
        if (remove_file(s, dir, SLURM_SECRETS_FILE) < 0)
                return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                        "remove the secrets file of job %s in '%s'", job->id, dir);
        return 0;
}

/* ---- logs and billing ---- */

/* hoist logs reads the job's log from storage; this is Slurm's output
 * file, shown when the entrypoint never wrote a log (a job that could not
 * start: no container runtime, a bad image). */
static int slurm_logs(const struct job_record *job, const char *state_dir, int follow, int fd,
                      struct hoist_error **err)
{
        _cleanup_slurm_settings_ struct slurm_settings *s = NULL;
        _cleanup_free_ char *dir = NULL, *path = NULL, *name = NULL;
        _cleanup_buf_ struct buf out = {0};
        char *argv[] = {(char *)"cat", NULL, NULL};
        int status = 0;

        (void)follow;
        if (job->provider_ref == NULL || read_settings(state_dir, &s, NULL) < 0)
                return 0;
        if (job_dir(s, state_dir, job->id, &dir, err) < 0)
                return -1;
        name = xasprintf("slurm-%s.out", job->provider_ref);
        path = path_join(dir, name);
        argv[1] = path;
        if (slurm_exec(s, argv, NULL, 0, &out, NULL, &status, err) < 0)
                return -1;
        if (status != 0 || out.len == 0)
                return 0;
        return fs_write_all(fd, out.data, out.len) < 0 ? hoist_error_errno(err, "write") : 0;
}

static int slurm_billing(const struct job_record *job, const char *state_dir,
                         struct provider_billing *ret, struct hoist_error **err)
{
        _cleanup_slurm_settings_ struct slurm_settings *s = NULL;
        struct slurm_job_status js = {.exit_code = -1, .elapsed_s = -1, .restarts = -1};
        _cleanup_strv_ char **hosts = NULL;
        int r, n = 1;

        *ret = (struct provider_billing){.nodes = 1};
        if (job->provider_ref == NULL)
                return 0;
        if (read_settings(state_dir, &s, err) < 0)
                return -1;
        r = ask_slurm(s, job->provider_ref, &js, err);
        if (r < 0)
                return -1;
        if (r == 0 || js.elapsed_s < 0) {
                slurm_job_status_clear(&js);
                ret->source = xstrdup("Slurm keeps no run time for this job");
                return 0;
        }
        if (js.nodes != NULL) {
                struct hoist_error *e = NULL;
                n = hostlist_expand(js.nodes, &hosts, &e);
                if (n < 0) {
                        hoist_error_free(e);
                        n = 1;
                }
        }
        ret->nodes = n;
        ret->billed_s = js.elapsed_s * n;
        ret->source = xstrdup("Slurm's elapsed time (scontrol RunTime, or sacct -c Elapsed) x "
                              "its nodes");
        slurm_job_status_clear(&js);
        return 0;
}

/* ---- resources ---- */

static int slurm_check_resources(const struct jobspec_resources *r, const char *image,
                                 const char *runtime, const char *work_dir,
                                 struct hoist_error **err)
{
        (void)image;
        (void)runtime;
        (void)work_dir;
        /* The cluster decides what it has (sbatch refuses what no node
         * offers, naming it); what cannot become a Slurm request is refused
         * here. */
        if (r->gpus > 0 && r->gpu_type != NULL) {
                for (const char *p = r->gpu_type; *p != '\0'; p++)
                        if (strchr(":, \t=", *p) != NULL)
                                return hoist_error_make(err, HOIST_ERR_INPUT,
                                                        "resources.gpus: GPU type '%s' cannot be "
                                                        "a Slurm GRES type (no ':', ',', '=' or "
                                                        "spaces; set slurm.gres_type to the "
                                                        "cluster's name for it)",
                                                        r->gpu_type);
        }
        return 0;
}

const struct provider_ops provider_slurm = {
        .name = "slurm",
        .remote = 1,
        .upload_limit = 0,
        .caps = {.gpus = 1, .multi_node = 1, .spot = 0, .max_runtime_s = 0, .requeues = 1},
        .poll_ms = 2000,
        .section = "slurm",
        .load_settings = slurm_load_settings,
        .free_settings = slurm_free_settings,
        .reaches_loopback = slurm_reaches_loopback,
        .render = slurm_render,
        .price_key = NULL, /* the user's rate (prices.yaml), per node-, GPU- or CPU-hour */
        .billing = slurm_billing,
        .validate = slurm_validate,
        .check_image = NULL,
        .check_resources = slurm_check_resources,
        .submit = slurm_submit,
        .status = slurm_status,
        .logs = slurm_logs,
        .cancel = slurm_cancel,
        .clear = slurm_clear,
        .release = slurm_release,
};
