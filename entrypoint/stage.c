/* SPDX-License-Identifier: MIT */
#include "stage.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "job.h"
#include "log.h"
#include "stage_tree.h"
#include "xalloc.h"

/* The local file an input's source names.  *ret_tmp is set when the bytes
 * had to be fetched into a temporary file (remove it afterwards). */
static int input_local_file(struct storage *st, const struct jobspec_input *in, const char *tmp_dir,
                            char **ret_path, char **ret_tmp, struct hoist_error **err)
{
        const char *src = in->source;

        if (strncmp(src, "file://", 7) == 0) {
                if (src[7] != '/')
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "source '%s' needs an absolute path "
                                                "(file:///path)",
                                                src);
                *ret_path = xstrdup(src + 7);
                return 0;
        }
        if (strstr(src, "://") != NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "source '%s': only file:// sources are supported by this "
                                        "build",
                                        src);
        /* A bare key names an object in the job's storage (blobs/sha256/...). */
        _cleanup_free_ char *local = storage_local_path(st, src);
        if (local != NULL && storage_key_check(src, NULL) == 0) {
                *ret_path = TAKE_PTR(local);
                return 0;
        }
        _cleanup_free_ char *tmp = path_join(tmp_dir, ".hoist-fetch");
        if (storage_get_file(st, src, tmp, err) < 0)
                return -1;
        *ret_path = xstrdup(tmp);
        *ret_tmp = TAKE_PTR(tmp);
        return 0;
}

static int check_digest(const struct jobspec_input *in, const char *path, struct hoist_error **err)
{
        const char *want = digest_parse(in->sha256);
        char got[DIGEST_HEX_LEN + 1];

        if (want == NULL)
                want = in->sha256;
        if (digest_file_hex(path, got, NULL, err) < 0)
                return -1;
        if (strcmp(want, got) != 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "sha256 mismatch for '%s': job.json says %s, the file has "
                                        "%s",
                                        in->source, want, got);
        return 0;
}

static const char *input_file_name(const struct jobspec_input *in, const char *path)
{
        const char *slash;

        if (in->filename != NULL && *in->filename != '\0')
                return in->filename;
        slash = strrchr(path, '/');
        return slash ? slash + 1 : path;
}

/* Extracts the archive at PATH into DIR within IN's extract_limit. */
static int extract_limited(const struct jobspec_input *in, const char *path, const char *dir,
                           struct hoist_error **err)
{
        uint64_t limit = jobspec_extract_limit(in);
        struct hoist_error *e = NULL;

        if (archive_extract_file_limit(path, dir, limit, &e) == 0)
                return 0;
        if (e->code != EFBIG) {
                *err = e;
                return -1;
        }
        hoist_error_free(e);
        return hoist_error_make(err, HOIST_ERR_INPUT,
                                "archive '%s' expands to more than %" PRIu64
                                " bytes (%s), its limit; refusing (raise it with "
                                "`extract_limit:` on the input in job.yaml, e.g. "
                                "extract_limit: 5GiB)",
                                in->source, limit,
                                in->extract_limit ? "its extract_limit"
                                                  : "100 times its size, at least 64 MiB");
}

/* Copies or extracts IN into the existing directory DIR; TMP_DIR holds a
 * fetched object while it is read. */
static int stage_into(struct storage *st, const struct jobspec_input *in, const char *dir,
                      const char *tmp_dir, struct hoist_error **err)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ char *tmp = NULL;
        int r;

        if (input_local_file(st, in, tmp_dir, &path, &tmp, err) < 0)
                return -1;
        if (in->mode == JOBSPEC_INPUT_ARCHIVE) {
                r = in->sha256 ? check_digest(in, path, err) : 0;
                if (r == 0)
                        r = extract_limited(in, path, dir, err);
        } else {
                const char *name = input_file_name(in, path);
                _cleanup_free_ char *dst = path_join(dir, name);
                if (*name == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
                    strcmp(name, "..") == 0)
                        r = hoist_error_make(err, HOIST_ERR_INPUT,
                                             "filename '%s' must be a plain file name", name);
                else
                        r = fs_copy_file(path, dst, err);
                /* Check the copy: those are the bytes the trainer reads. */
                if (r == 0 && in->sha256 && check_digest(in, dst, err) < 0) {
                        (void)unlink(dst);
                        r = -1;
                }
        }
        if (tmp != NULL)
                (void)unlink(tmp);
        return r;
}

static int stage_input(struct storage *st, const struct stage *s, const struct jobspec_input *in,
                       struct hoist_error **err)
{
        _cleanup_free_ char *dir = path_join(s->input_dir, in->channel);

        if (!jobspec_channel_valid(in->channel))
                return hoist_error_make(err, HOIST_ERR_INPUT, "invalid channel name");
        if (in->mode == JOBSPEC_INPUT_TREE) {
                _cleanup_free_ char *label = xasprintf("input '%s'", in->channel);
                _cleanup_free_ char *name = xasprintf("input-%s.tree", in->channel);
                _cleanup_free_ char *state = path_join(s->state_dir, name);
                struct stage_tree_stats ts = {0};
                if (stage_tree(st, label, in->source, in->sha256, dir, state, &ts, err) < 0)
                        return -1;
                log_info("input '%s': tree of %" PRIu64 " files (%" PRIu64 " bytes) staged in %s: "
                         "%" PRIu64 " fetched (%" PRIu64 " bytes in %" PRIu64 " reads), %" PRIu64
                         " already here",
                         in->channel, ts.files, ts.bytes, dir, ts.fetched_files, ts.fetched_bytes,
                         ts.ranges, ts.kept_files);
                return 0;
        }
        if (fs_mkdir_p(dir, 0755, err) < 0 || stage_into(st, in, dir, s->input_dir, err) < 0)
                return -1;
        log_info("input '%s': %s staged in %s", in->channel, jobspec_input_mode_name(in->mode),
                 dir);
        return 0;
}

/* The job's code (job.json "code"): extracted afresh at <root>/code, so
 * what the command sees is the tree that was submitted and nothing else. */
static int stage_code(struct storage *st, const struct jobspec *spec, struct stage *s,
                      struct hoist_error **err)
{
        const struct jobspec_input in = {
                .channel = (char *)"code",
                .source = spec->code.source,
                .sha256 = spec->code.sha256,
                .mode = JOBSPEC_INPUT_ARCHIVE,
                .size = spec->code.size,
        };

        s->code_dir = path_join(s->root, "code");
        if (spec->code.mode == JOBSPEC_INPUT_TREE) {
                /* Staged in place: what is left of an earlier attempt and
                 * not in the tree is removed, what is unchanged is kept. */
                _cleanup_free_ char *state = path_join(s->state_dir, "code.tree");
                if (stage_tree(st, "code", spec->code.source, spec->code.sha256, s->code_dir, state,
                               NULL, err) < 0)
                        return -1;
                log_info("code staged in %s", s->code_dir);
                return 0;
        }
        if (fs_remove_tree(s->code_dir, err) < 0 || fs_mkdir_p(s->code_dir, 0755, err) < 0 ||
            stage_into(st, &in, s->code_dir, s->root, err) < 0)
                return hoist_error_wrap(err, "code");
        log_info("code staged in %s", s->code_dir);
        return 0;
}

/* Where checkpoints live locally and in storage.  checkpoint.c restores
 * them and keeps storage in step; the trainer never writes into storage
 * directly, so a set in storage is complete or not there at all. */
static int setup_checkpoints(const struct jobspec *spec, struct stage *s, struct hoist_error **err)
{
        s->checkpoint_prefix = job_prefix(spec, spec->checkpoint_prefix, "checkpoints");
        if (storage_key_check(s->checkpoint_prefix, err) < 0)
                return hoist_error_wrap(err, "job.json checkpoints.prefix");
        s->checkpoint_dir = spec->checkpoint_dir ? xstrdup(spec->checkpoint_dir)
                                                 : path_join(s->root, "checkpoints");
        if (fs_mkdir_p(s->checkpoint_dir, 0755, err) < 0)
                return hoist_error_wrap(err, "checkpoint dir");
        return 0;
}

static stage_progress_fn progress_fn;
static void *progress_userdata;

void stage_set_progress(stage_progress_fn fn, void *userdata)
{
        progress_fn = fn;
        progress_userdata = userdata;
}

int stage_prepare(const struct jobspec *spec, struct storage *st, struct stage *ret,
                  struct hoist_error **err)
{
        const char *root = getenv("HOIST_WORKDIR");
        struct stage s = {0};
        char real[PATH_MAX];

        if (root == NULL || *root == '\0')
                root = spec->workdir ? spec->workdir : JOBSPEC_DEFAULT_WORKDIR;
        if (fs_mkdir_p(root, 0755, err) < 0)
                return hoist_error_wrap(err, "work directory");
        if (realpath(root, real) == NULL)
                return hoist_error_errno(err, "work directory '%s'", root);
        s.root = xstrdup(real);
        s.input_dir = path_join(s.root, "input");
        s.state_dir = path_join(s.root, ".hoist");
        s.model_dir = spec->model_dir ? xstrdup(spec->model_dir) : path_join(s.root, "model");
        s.output_dir = spec->output_dir ? xstrdup(spec->output_dir) : path_join(s.root, "output");
        if (fs_mkdir_p(s.input_dir, 0755, err) < 0 || fs_mkdir_p(s.model_dir, 0755, err) < 0 ||
            fs_mkdir_p(s.output_dir, 0755, err) < 0)
                goto fail;
        for (size_t i = 0; i < spec->n_inputs; i++) {
                if (progress_fn != NULL)
                        progress_fn(progress_userdata, i, spec->n_inputs, &spec->inputs[i]);
                if (stage_input(st, &s, &spec->inputs[i], err) < 0) {
                        /* The tree stager names the input itself. */
                        if (spec->inputs[i].mode != JOBSPEC_INPUT_TREE)
                                hoist_error_wrap(err, "input '%s'", spec->inputs[i].channel);
                        goto fail;
                }
        }
        if (spec->code.source != NULL && stage_code(st, spec, &s, err) < 0)
                goto fail;
        if (setup_checkpoints(spec, &s, err) < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        stage_drop_inputs(&s);
        stage_release(&s);
        return -1;
}

/* NAME upper-cased with anything but [A-Z0-9_] turned into '_'. */
static char *env_suffix(const char *name)
{
        char *s = xstrdup(name);

        for (char *p = s; *p; p++)
                *p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
        return s;
}

static int set_env(const char *name, const char *value, struct hoist_error **err)
{
        if (setenv(name, value, 1) < 0)
                return hoist_error_errno(err, "set %s", name);
        return 0;
}

static int export_hyperparameters(const struct jobspec *spec, struct hoist_error **err)
{
        json_auto_t *obj = json_object();
        _cleanup_free_ char *text = NULL;

        for (size_t i = 0; i < spec->n_hyperparameters; i++) {
                const struct jobspec_kv *kv = &spec->hyperparameters[i];
                _cleanup_free_ char *suffix = env_suffix(kv->key);
                _cleanup_free_ char *name = xasprintf("HOIST_HP_%s", suffix);
                json_t *v = json_string(kv->value);
                if (v == NULL)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "hyperparameter '%s' is not valid UTF-8", kv->key);
                (void)json_object_set_new(obj, kv->key, v);
                if (set_env(name, kv->value, err) < 0)
                        return -1;
        }
        text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (text == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "encode hyperparameters");
        return set_env("HOIST_HYPERPARAMETERS", text, err);
}

int stage_export_env(const struct jobspec *spec, const struct stage *s, struct hoist_error **err)
{
        _cleanup_free_ char *attempt = xasprintf("%lld", (long long)job_attempt(spec));

        for (size_t i = 0; i < spec->n_env; i++) {
                const char *key = spec->env[i].key;
                if (key == NULL || *key == '\0' || strchr(key, '=') != NULL)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "job.json env: '%s' is not a variable name",
                                                key ? key : "");
                if (strncmp(key, "HOIST_", 6) == 0) {
                        log_warn("job.json env '%s' ignored: HOIST_* variables are set by "
                                 "hoist-entrypoint",
                                 key);
                        continue;
                }
                if (set_env(key, spec->env[i].value ? spec->env[i].value : "", err) < 0)
                        return -1;
        }
        /* Python block-buffers a pipe; the log should be live. */
        if (setenv("PYTHONUNBUFFERED", "1", 0) < 0)
                return hoist_error_errno(err, "set PYTHONUNBUFFERED");
        for (size_t i = 0; i < spec->n_inputs; i++) {
                _cleanup_free_ char *suffix = env_suffix(spec->inputs[i].channel);
                _cleanup_free_ char *name = xasprintf("HOIST_INPUT_%s", suffix);
                _cleanup_free_ char *dir = path_join(s->input_dir, spec->inputs[i].channel);
                if (set_env(name, dir, err) < 0)
                        return -1;
        }
        if (set_env("HOIST_JOB_ID", spec->id, err) < 0 ||
            set_env("HOIST_ATTEMPT", attempt, err) < 0 ||
            set_env("HOIST_WORKDIR", s->root, err) < 0 ||
            set_env("HOIST_INPUT_DIR", s->input_dir, err) < 0 ||
            set_env("HOIST_MODEL_DIR", s->model_dir, err) < 0 ||
            set_env("HOIST_OUTPUT_DIR", s->output_dir, err) < 0 ||
            set_env("HOIST_CHECKPOINT_DIR", s->checkpoint_dir, err) < 0 ||
            (s->code_dir != NULL && set_env("HOIST_CODE_DIR", s->code_dir, err) < 0))
                return -1;
        return export_hyperparameters(spec, err);
}

static int upload_dir(struct storage *st, const char *dir, const char *prefix,
                      struct hoist_error **err)
{
        struct dirent **names;
        int n = scandir(dir, &names, NULL, alphasort);
        int r = 0;

        if (n < 0)
                return errno == ENOENT ? 0 : hoist_error_errno(err, "list '%s'", dir);
        for (int i = 0; i < n; i++) {
                const char *name = names[i]->d_name;
                if (r == 0 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
                        _cleanup_free_ char *path = path_join(dir, name);
                        _cleanup_free_ char *key = xasprintf("%s/%s", prefix, name);
                        struct stat st_;
                        if (lstat(path, &st_) < 0)
                                r = hoist_error_errno(err, "stat '%s'", path);
                        else if (S_ISDIR(st_.st_mode))
                                r = upload_dir(st, path, key, err);
                        else if (S_ISREG(st_.st_mode))
                                r = storage_put_file(st, key, path, err);
                }
                free(names[i]);
        }
        free(names);
        return r;
}

int stage_upload_tree(struct storage *st, const char *dir, const char *prefix,
                      struct hoist_error **err)
{
        _cleanup_free_ char *local = storage_local_path(st, prefix);

        if (!fs_is_dir(dir))
                return 0;
        if (storage_key_check(prefix, err) < 0)
                return -1;
        /* On file storage a tree copy keeps symlinks and empty directories. */
        if (local != NULL)
                return fs_copy_tree(dir, local, err);
        return upload_dir(st, dir, prefix, err);
}

void stage_drop_inputs(const struct stage *s)
{
        struct hoist_error *err = NULL;

        if (s->input_dir != NULL && fs_remove_tree(s->input_dir, &err) < 0) {
                log_warn("remove the staged inputs: %s, ignoring", err->msg);
                hoist_error_free(err);
        }
        /* Their records go with them (the code's stays with the code). */
        DIR *d = s->state_dir != NULL ? opendir(s->state_dir) : NULL;
        struct dirent *de;
        if (d == NULL)
                return;
        while ((de = readdir(d)) != NULL) {
                size_t n = strlen(de->d_name);
                if (strncmp(de->d_name, "input-", 6) == 0 && n > 5 &&
                    strcmp(de->d_name + n - 5, ".tree") == 0)
                        (void)unlinkat(dirfd(d), de->d_name, 0);
        }
        (void)closedir(d);
}

void stage_release(struct stage *s)
{
        free(s->root);
        free(s->input_dir);
        free(s->model_dir);
        free(s->output_dir);
        free(s->checkpoint_dir);
        free(s->checkpoint_prefix);
        free(s->code_dir);
        free(s->state_dir);
        *s = (struct stage){0};
}
