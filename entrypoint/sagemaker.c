/* SPDX-License-Identifier: MIT */
#include "sagemaker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "job.h"
#include "launch.h"
#include "log.h"
#include "secrets.h"
#include "smenv.h"
#include "xalloc.h"

const char *sagemaker_root(void)
{
        const char *r = getenv("HOIST_SM_ROOT");

        return r != NULL && *r != '\0' ? r : SAGEMAKER_ROOT;
}

int sagemaker_detect(int train)
{
        _cleanup_free_ char *config = NULL;

        if (!train)
                return 0;
        config = path_join(sagemaker_root(), "input/config");
        return fs_is_dir(config);
}

int sagemaker_channel_valid(const char *name)
{
        size_t n = strlen(name);

        if (n == 0 || n > 64 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return 0;
        return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") ==
               n;
}

/* TEXT as a JSON object; the error names the file and the place. */
static json_t *load_object(const char *text, size_t len, const char *name, struct hoist_error **err)
{
        json_error_t jerr;
        json_t *root;

        if (len > SAGEMAKER_CONFIG_MAX) {
                hoist_error_make(err, HOIST_ERR_INPUT,
                                 "SageMaker '%s' is %zu bytes (at most %d are read)", name, len,
                                 SAGEMAKER_CONFIG_MAX);
                return NULL;
        }
        root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (root == NULL) {
                hoist_error_make(err, HOIST_ERR_INPUT, "SageMaker '%s': line %d, column %d: %s",
                                 name, jerr.line, jerr.column, jerr.text);
                return NULL;
        }
        if (!json_is_object(root)) {
                json_decref(root);
                hoist_error_make(err, HOIST_ERR_INPUT, "SageMaker '%s': expected a JSON object",
                                 name);
                return NULL;
        }
        return root;
}

/* A reserved hyperparameter's value (s3:// or file:// for the job URL). */
static int take_reserved(json_t *hps, const char *key, char **ret, const char *name,
                         struct hoist_error **err)
{
        json_t *v = json_object_get(hps, key);

        *ret = NULL;
        if (v == NULL)
                return 0;
        if (json_string_length(v) == 0)
                return hoist_error_make(err, HOIST_ERR_INPUT, "SageMaker '%s': %s is empty", name,
                                        key);
        *ret = xstrdup(json_string_value(v));
        (void)json_object_del(hps, key);
        return 0;
}

int sagemaker_parse_hyperparameters(struct sagemaker *sm, const char *text, size_t len,
                                    const char *name, struct hoist_error **err)
{
        json_auto_t *hps = load_object(text, len, name, err);
        _cleanup_free_ char *url = NULL, *secrets = NULL;
        const char *k;
        json_t *v;

        if (hps == NULL)
                return -1;
        if (json_object_size(hps) > SAGEMAKER_HP_MAX)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "SageMaker '%s': %zu hyperparameters (at most %d)", name,
                                        json_object_size(hps), SAGEMAKER_HP_MAX);
        json_object_foreach(hps, k, v)
        {
                if (*k == '\0' || strlen(k) > SAGEMAKER_HP_NAME_MAX)
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "SageMaker '%s': a hyperparameter's name must have "
                                                "1 to %d bytes ('%.64s')",
                                                name, SAGEMAKER_HP_NAME_MAX, k);
                if (!json_is_string(v))
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "SageMaker '%s': hyperparameter '%.64s' is not a "
                                                "string (SageMaker passes every value as one)",
                                                name, k);
                if (json_string_length(v) > SAGEMAKER_HP_VALUE_MAX ||
                    strlen(json_string_value(v)) != json_string_length(v))
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "SageMaker '%s': hyperparameter '%.64s' is longer "
                                                "than %d bytes or holds a NUL",
                                                name, k, SAGEMAKER_HP_VALUE_MAX);
        }
        if (take_reserved(hps, "hoist_job_url", &url, name, err) < 0 ||
            take_reserved(hps, "hoist_secrets_key", &secrets, name, err) < 0)
                return -1;
        if (url != NULL && strncmp(url, "s3://", 5) != 0 && strncmp(url, "file:///", 8) != 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "SageMaker '%s': hoist_job_url '%.200s' is neither "
                                        "s3://bucket/key nor file:///path",
                                        name, url);
        if (secrets != NULL && storage_key_check(secrets, NULL) < 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "SageMaker '%s': hoist_secrets_key '%.200s' is not a "
                                        "storage key",
                                        name, secrets);
        json_decref(sm->hyperparameters);
        sm->hyperparameters = TAKE_PTR(hps);
        free(sm->job_url);
        sm->job_url = TAKE_PTR(url);
        free(sm->secrets_key);
        sm->secrets_key = TAKE_PTR(secrets);
        return 0;
}

int sagemaker_parse_input_data_config(struct sagemaker *sm, const char *text, size_t len,
                                      const char *name, struct hoist_error **err)
{
        json_auto_t *idc = load_object(text, len, name, err);
        const char *k;
        json_t *v;

        if (idc == NULL)
                return -1;
        json_object_foreach(idc, k, v)
        {
                if (!sagemaker_channel_valid(k))
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "SageMaker '%s': '%.64s' is not a channel name "
                                                "(1 to 64 of A-Z, a-z, 0-9, '.', '-', '_')",
                                                name, k);
                if (!json_is_object(v))
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "SageMaker '%s': channel '%s' is not an object",
                                                name, k);
        }
        json_decref(sm->input_data_config);
        sm->input_data_config = TAKE_PTR(idc);
        return 0;
}

/* A network interface's name as Linux allows it (IFNAMSIZ - 1 bytes). */
static int ifname_valid(const char *s)
{
        size_t n = strlen(s);

        return n > 0 && n < 16 &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == n;
}

int sagemaker_parse_resource_config(struct sagemaker *sm, const char *text, size_t len,
                                    const char *name, struct hoist_error **err)
{
        json_auto_t *rc = load_object(text, len, name, err);
        struct distenv place = {0};
        json_t *ifname;

        if (rc == NULL)
                return -1;
        ifname = json_object_get(rc, "network_interface_name");
        if (ifname != NULL && !(json_is_string(ifname) && ifname_valid(json_string_value(ifname))))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "SageMaker '%s': network_interface_name is not an "
                                        "interface name (1 to 15 of A-Z, a-z, 0-9, '.', '-', '_')",
                                        name);
        /* One reader of current_host and hosts: lib/distenv's. */
        if (distenv_from_sagemaker(text, len, name, &place, err) < 0)
                return -1;
        distenv_clear(&sm->place);
        sm->place = place;
        free(sm->network_interface);
        sm->network_interface = xstrdup(ifname ? json_string_value(ifname) : "eth0");
        json_decref(sm->resource_config);
        sm->resource_config = TAKE_PTR(rc);
        return 0;
}

int sagemaker_parse_checkpoint_config(struct sagemaker *sm, const char *text, size_t len,
                                      const char *name, struct hoist_error **err)
{
        json_auto_t *cc = load_object(text, len, name, err);
        json_t *local;
        _cleanup_free_ char *clean = NULL;

        if (cc == NULL)
                return -1;
        local = json_object_get(cc, "LocalPath");
        if (local != NULL && !json_is_string(local))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "SageMaker '%s': LocalPath is not a string", name);
        if (local == NULL) {
                clean = path_join(sm->root ? sm->root : SAGEMAKER_ROOT, "checkpoints");
        } else {
                const char *p = json_string_value(local);
                if (p[0] != '/' || strlen(p) > 4096 || strstr(p, "/../") != NULL ||
                    (strlen(p) >= 3 && strcmp(p + strlen(p) - 3, "/..") == 0))
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "SageMaker '%s': LocalPath '%.200s' is not an "
                                                "absolute path without '..'",
                                                name, p);
                /* Tests move the root (HOIST_SM_ROOT): SageMaker's
                 * /opt/ml/... moves with it. */
                if (sm->root != NULL && strcmp(sm->root, SAGEMAKER_ROOT) != 0 &&
                    strncmp(p, SAGEMAKER_ROOT, strlen(SAGEMAKER_ROOT)) == 0 &&
                    (p[strlen(SAGEMAKER_ROOT)] == '/' || p[strlen(SAGEMAKER_ROOT)] == '\0'))
                        clean = xasprintf("%s%s", sm->root, p + strlen(SAGEMAKER_ROOT));
                else
                        clean = xstrdup(p);
        }
        free(sm->checkpoint_dir);
        sm->checkpoint_dir = TAKE_PTR(clean);
        return 0;
}

typedef int (*parse_fn)(struct sagemaker *, const char *, size_t, const char *,
                        struct hoist_error **);

/* Reads <config>/FILE with PARSE; a missing optional one is no error. */
static int read_config(struct sagemaker *sm, const char *config, const char *file, int required,
                       parse_fn parse, struct hoist_error **err)
{
        _cleanup_free_ char *path = path_join(config, file);
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t len = 0;

        if (fd < 0 && errno == ENOENT && !required)
                return 0;
        if (fd < 0)
                return hoist_error_errno(err, "SageMaker '%s'", path);
        if (fs_read_fd(fd, path, SAGEMAKER_CONFIG_MAX, &text, &len, err) < 0)
                return hoist_error_wrap(err, "SageMaker '%s'", path);
        return parse(sm, text, len, path, err);
}

int sagemaker_load(const char *root, struct sagemaker **ret, struct hoist_error **err)
{
        struct sagemaker *sm = xzalloc(sizeof *sm);
        _cleanup_free_ char *config = path_join(root, "input/config");

        sm->root = xstrdup(root);
        sm->network_interface = xstrdup("eth0");
        if (read_config(sm, config, "hyperparameters.json", 1, sagemaker_parse_hyperparameters,
                        err) < 0 ||
            read_config(sm, config, "inputdataconfig.json", 0, sagemaker_parse_input_data_config,
                        err) < 0 ||
            read_config(sm, config, "resourceconfig.json", 1, sagemaker_parse_resource_config,
                        err) < 0 ||
            read_config(sm, config, "checkpointconfig.json", 0, sagemaker_parse_checkpoint_config,
                        err) < 0) {
                sagemaker_free(sm);
                return -1;
        }
        if (sm->input_data_config == NULL)
                sm->input_data_config = json_object();
        *ret = sm;
        return 0;
}

void sagemaker_free(struct sagemaker *sm)
{
        if (sm == NULL)
                return;
        free(sm->root);
        json_decref(sm->hyperparameters);
        json_decref(sm->input_data_config);
        json_decref(sm->resource_config);
        distenv_clear(&sm->place);
        free(sm->network_interface);
        free(sm->job_url);
        free(sm->secrets_key);
        free(sm->checkpoint_dir);
        free(sm);
}

static int set_env(const char *name, const char *value, int overwrite, struct hoist_error **err)
{
        if (setenv(name, value, overwrite) < 0)
                return hoist_error_errno(err, "set %s", name);
        return 0;
}

int sagemaker_apply_early(const struct sagemaker *sm, struct hoist_error **err)
{
        _cleanup_free_ char *rc = path_join(sm->root, "input/config/resourceconfig.json");
        const char *grace = getenv("HOIST_STOP_GRACE_S");
        char *end = NULL;
        long long g = grace != NULL ? strtoll(grace, &end, 10) : 0;

        if (sm->job_url != NULL) {
                const char *had = getenv("HOIST_JOB_URL");
                if (had != NULL && *had != '\0' && strcmp(had, sm->job_url) != 0)
                        log_info("HOIST_JOB_URL is set; hyperparameter hoist_job_url wins");
                (void)unsetenv("HOIST_JOB_FILE");
                if (set_env("HOIST_JOB_URL", sm->job_url, 1, err) < 0)
                        return -1;
        }
        if (set_env("HOIST_SAGEMAKER_RESOURCECONFIG", rc, 1, err) < 0)
                return -1;
        /* SIGKILL comes 120 s after SIGTERM: the grace must end before. */
        if (grace == NULL || end == NULL || *end != '\0' || g <= 0 || g > SAGEMAKER_STOP_GRACE_S) {
                char s[16];
                (void)snprintf(s, sizeof s, "%d", SAGEMAKER_STOP_GRACE_S);
                if (set_env("HOIST_STOP_GRACE_S", s, 1, err) < 0)
                        return -1;
        }
        return 0;
}

/* The job's own keys are under jobs/<id>/: hoist_secrets_key must be too. */
static int secrets_key_ok(const struct sagemaker *sm, const struct jobspec *spec,
                          struct hoist_error **err)
{
        _cleanup_free_ char *prefix = xasprintf("jobs/%s/", spec->id);

        if (strncmp(sm->secrets_key, prefix, strlen(prefix)) != 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "SageMaker hyperparameter hoist_secrets_key '%.200s' is "
                                        "not under the job's prefix '%s'",
                                        sm->secrets_key, prefix);
        return 0;
}

int sagemaker_load_secrets(const struct sagemaker *sm, const struct jobspec *spec,
                           struct storage *st, struct hoist_error **err)
{
        _cleanup_free_ char *name = NULL;
        char *text = NULL;
        size_t len = 0;
        int r;

        if (sm == NULL || sm->secrets_key == NULL)
                return 0;
        if (secrets_key_ok(sm, spec, err) < 0)
                return -1;
        name = xasprintf("the job's secrets object '%s'", sm->secrets_key);
        if (storage_get_bytes(st, sm->secrets_key, &text, &len, err) < 0)
                return hoist_error_wrap(err, "%s (hyperparameter hoist_secrets_key)", name);
        r = secrets_load_json(text, len, name, err);
        free(text);
        if (r < 0)
                return -1;
        job_take_credentials();
        log_info("secrets: %s read", name);
        return 0;
}

void sagemaker_drop_secrets(const struct sagemaker *sm, struct storage *st)
{
        _cleanup_error_ struct hoist_error *err = NULL;

        if (sm == NULL || sm->secrets_key == NULL || st == NULL)
                return;
        if (storage_delete(st, sm->secrets_key, &err) < 0)
                log_warn("delete the job's secrets object '%s': %s, ignoring", sm->secrets_key,
                         err->msg);
        else
                log_info("secrets: the job's secrets object '%s' deleted", sm->secrets_key);
}

/* *DIR becomes PATH (created) unless job.json named it (EXPLICIT). */
static int move_dir(char **dir, const char *explicit_dir, const char *path,
                    struct hoist_error **err)
{
        if (explicit_dir != NULL)
                return 0;
        if (fs_mkdir_p(path, 0755, err) < 0)
                return -1;
        free(*dir);
        *dir = xstrdup(path);
        return 0;
}

/* LINK -> TARGET, unless LINK is there already (SageMaker's own copy).  A
 * link that cannot be made is a warning: the variables then name TARGET. */
static void link_dir(const char *target, const char *link)
{
        struct stat st;

        if (lstat(link, &st) == 0)
                return;
        if (symlink(target, link) < 0)
                log_warn("cannot link '%s' to '%s' (%s); SM_CHANNEL_* names '%s' instead", link,
                         target, strerror(errno), target);
}

int sagemaker_stage(const struct sagemaker *sm, const struct jobspec *spec, struct stage *s,
                    struct hoist_error **err)
{
        _cleanup_free_ char *model = path_join(sm->root, "model");
        _cleanup_free_ char *out = path_join(sm->root, "output/data");
        _cleanup_free_ char *ckpt = path_join(sm->root, "checkpoints");
        _cleanup_free_ char *data = path_join(sm->root, "input/data");
        const char *k;
        json_t *v;

        if (move_dir(&s->model_dir, spec->model_dir, model, err) < 0 ||
            move_dir(&s->output_dir, spec->output_dir, out, err) < 0 ||
            move_dir(&s->checkpoint_dir, spec->checkpoint_dir,
                     sm->checkpoint_dir ? sm->checkpoint_dir : ckpt, err) < 0 ||
            fs_mkdir_p(data, 0755, err) < 0)
                return hoist_error_wrap(err, "SageMaker layout");
        for (size_t i = 0; i < spec->n_inputs; i++) {
                _cleanup_free_ char *mine = path_join(s->input_dir, spec->inputs[i].channel);
                _cleanup_free_ char *theirs = path_join(data, spec->inputs[i].channel);
                link_dir(mine, theirs);
        }
        json_object_foreach(sm->input_data_config, k, v)
        {
                _cleanup_free_ char *mine = path_join(s->input_dir, k);
                _cleanup_free_ char *theirs = path_join(data, k);
                link_dir(theirs, mine);
        }
        return 0;
}

int sagemaker_owns_checkpoints(const struct sagemaker *sm, const char *dir)
{
        return sm != NULL && sm->checkpoint_dir != NULL && dir != NULL &&
               strcmp(sm->checkpoint_dir, dir) == 0;
}

int sagemaker_finish(const struct sagemaker *sm, const struct stage *s, struct hoist_error **err)
{
        _cleanup_free_ char *model = NULL;

        if (sm == NULL || s->model_dir == NULL)
                return 0;
        model = path_join(sm->root, "model");
        if (strcmp(model, s->model_dir) == 0 || !fs_is_dir(s->model_dir))
                return 0;
        if (fs_copy_tree(s->model_dir, model, err) < 0)
                return hoist_error_wrap(err, "copy the model dir '%s' to SageMaker's '%s'",
                                        s->model_dir, model);
        return 0;
}

/* The toolkit's entry for a channel hoist staged itself. */
static json_t *file_channel(void)
{
        return json_pack("{s:s, s:s, s:s}", "TrainingInputMode", "File", "S3DistributionType",
                         "FullyReplicated", "RecordWrapperType", "None");
}

static json_t *spec_hyperparameters(const struct jobspec *spec)
{
        json_t *r = json_object();

        for (size_t i = 0; spec != NULL && i < spec->n_hyperparameters; i++) {
                json_t *v = json_string(spec->hyperparameters[i].value);
                if (v != NULL)
                        (void)json_object_set_new(r, spec->hyperparameters[i].key, v);
        }
        return r;
}

static char **strv_dup(char *const *v)
{
        size_t n = 0;
        char **r;

        while (v != NULL && v[n] != NULL)
                n++;
        r = xcalloc(n + 1, sizeof *r);
        for (size_t i = 0; i < n; i++)
                r[i] = xstrdup(v[i]);
        return r;
}

/* What smenv_build() reads, and the strings it points to. */
struct view {
        struct smenv e;
        json_t *hps, *channels, *idc, *rc;
        char *input_dir, *config_dir, *model_dir, *output_dir, *data_dir, *intermediate;
        char *host;
        char **hosts;
};

static void view_clear(struct view *v)
{
        json_decref(v->hps);
        json_decref(v->channels);
        json_decref(v->idc);
        json_decref(v->rc);
        free(v->input_dir);
        free(v->config_dir);
        free(v->model_dir);
        free(v->output_dir);
        free(v->data_dir);
        free(v->intermediate);
        free(v->host);
        strv_free(v->hosts);
}

/* On SageMaker: its files, its layout, its hosts. */
static void view_sagemaker(const struct sagemaker *sm, const struct jobspec *spec,
                           const struct stage *s, struct view *v)
{
        _cleanup_free_ char *data = path_join(sm->root, "input/data");
        const char *k;
        json_t *item;

        v->hps = json_deep_copy(sm->hyperparameters);
        v->idc = json_deep_copy(sm->input_data_config);
        v->rc = json_deep_copy(sm->resource_config);
        v->channels = json_object();
        for (size_t i = 0; spec != NULL && i < spec->n_inputs; i++)
                if (json_object_get(v->idc, spec->inputs[i].channel) == NULL)
                        (void)json_object_set_new(v->idc, spec->inputs[i].channel, file_channel());
        json_object_foreach(v->idc, k, item)
        {
                _cleanup_free_ char *dir = path_join(data, k);
                _cleanup_free_ char *mine = s != NULL ? path_join(s->input_dir, k) : NULL;
                /* SageMaker's place, or hoist's where no link could be made */
                const char *use = mine != NULL && !fs_exists(dir) && fs_exists(mine) ? mine : dir;
                (void)json_object_set_new(v->channels, k, json_string(use));
        }
        v->input_dir = path_join(sm->root, "input");
        v->config_dir = path_join(sm->root, "input/config");
        v->model_dir = s != NULL ? xstrdup(s->model_dir) : path_join(sm->root, "model");
        v->output_dir = path_join(sm->root, "output");
        v->data_dir = s != NULL ? xstrdup(s->output_dir) : path_join(sm->root, "output/data");
        v->intermediate = path_join(sm->root, "output/intermediate");
        v->host = xstrdup(sm->place.hosts[sm->place.node_rank]);
        v->hosts = strv_dup(sm->place.hosts);
        v->e.network_interface = sm->network_interface;
}

/* Elsewhere: hoist's own layout and the job's hyperparameters, the node's
 * host among the job's (rank order) when it has several. */
static void view_hoist(const struct jobspec *spec, const struct stage *s,
                       const struct distenv *place, struct view *v)
{
        int config_taken = 0;

        v->hps = spec_hyperparameters(spec);
        v->idc = json_object();
        v->channels = json_object();
        for (size_t i = 0; i < spec->n_inputs; i++) {
                _cleanup_free_ char *dir = path_join(s->input_dir, spec->inputs[i].channel);
                (void)json_object_set_new(v->idc, spec->inputs[i].channel, file_channel());
                (void)json_object_set_new(v->channels, spec->inputs[i].channel, json_string(dir));
                config_taken |= strcmp(spec->inputs[i].channel, "config") == 0;
        }
        v->input_dir = xstrdup(s->input_dir);
        /* A channel called "config" keeps its name; the files move aside. */
        v->config_dir = config_taken ? path_join(s->root, "sagemaker-config")
                                     : path_join(s->input_dir, "config");
        v->model_dir = xstrdup(s->model_dir);
        v->output_dir = xstrdup(s->output_dir);
        v->data_dir = xstrdup(s->output_dir);
        v->intermediate = path_join(s->output_dir, "intermediate");
        if (place != NULL && place->num_nodes > 1) {
                v->host = xstrdup(place->hosts[place->node_rank]);
                v->hosts = strv_dup(place->hosts);
        } else {
                v->host = job_node_name();
                v->hosts = xcalloc(2, sizeof *v->hosts);
                v->hosts[0] = xstrdup(v->host);
        }
        v->rc = json_pack("{s:s, s:[], s:s}", "current_host", v->host, "hosts",
                          "network_interface_name", "eth0");
        for (size_t i = 0; v->hosts[i] != NULL; i++)
                (void)json_array_append_new(json_object_get(v->rc, "hosts"),
                                            json_string(v->hosts[i]));
        v->e.network_interface = "eth0";
}

/* The three files SageMaker would have written, for scripts that read them
 * (SM_INPUT_CONFIG_DIR) rather than the variables. */
static int write_config_files(const struct view *v, struct hoist_error **err)
{
        const struct {
                const char *name;
                const json_t *value;
        } files[] = {{"hyperparameters.json", v->hps},
                     {"inputdataconfig.json", v->idc},
                     {"resourceconfig.json", v->rc}};

        if (fs_mkdir_p(v->config_dir, 0755, err) < 0)
                return -1;
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
                _cleanup_free_ char *path = path_join(v->config_dir, files[i].name);
                _cleanup_free_ char *text = smenv_json(files[i].value);
                if (fs_write_file_atomic(path, text, strlen(text), 0644, err) < 0)
                        return -1;
        }
        return 0;
}

int sagemaker_export_env(const struct sagemaker *sm, const struct jobspec *spec,
                         const struct stage *s, const struct distenv *place,
                         struct hoist_error **err)
{
        struct view v = {0};
        _cleanup_strv_ char **vars = NULL;
        const char *job = getenv("TRAINING_JOB_NAME");
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        int r = 0;

        if (sm != NULL)
                view_sagemaker(sm, spec, s, &v);
        else
                view_hoist(spec, s, place, &v);
        v.e = (struct smenv){
                .input_dir = v.input_dir,
                .input_config_dir = v.config_dir,
                .model_dir = v.model_dir,
                .output_dir = v.output_dir,
                .output_data_dir = v.data_dir,
                .output_intermediate_dir = v.intermediate,
                .hyperparameters = v.hps,
                .channels = v.channels,
                .input_data_config = v.idc,
                .resource_config = v.rc,
                .current_host = v.host,
                .hosts = v.hosts,
                .network_interface = v.e.network_interface,
                .job_name = sm != NULL && job != NULL && *job != '\0' ? job
                            : spec != NULL                            ? spec->id
                                                                      : NULL,
                .num_gpus = launch_visible_gpus(LAUNCH_PROC_GPUS, 0),
                .num_cpus = cpus > 0 ? cpus : 1,
        };
        if (sm == NULL && write_config_files(&v, err) < 0)
                r = hoist_error_wrap(err, "SageMaker's config files for SM_INPUT_CONFIG_DIR");
        if (r == 0) {
                vars = smenv_build(&v.e);
                r = smenv_export(vars, err);
        }
        /* The toolkit's PyTorch containers point NCCL at SageMaker's
         * interface; a user's own setting wins. */
        if (r == 0 && sm != NULL && sm->place.num_nodes > 1)
                r = set_env("NCCL_SOCKET_IFNAME", sm->network_interface, 0, err);
        view_clear(&v);
        return r;
}

void sagemaker_merge_hyperparameters(const struct sagemaker *sm, struct jobspec *spec)
{
        const char *k;
        json_t *v;

        if (sm == NULL)
                return;
        json_object_foreach(sm->hyperparameters, k, v)
        {
                size_t i = 0;
                while (i < spec->n_hyperparameters && strcmp(spec->hyperparameters[i].key, k) != 0)
                        i++;
                if (i == spec->n_hyperparameters) {
                        jobspec_kv_add(&spec->hyperparameters, &spec->n_hyperparameters, k,
                                       json_string_value(v));
                } else if (strcmp(spec->hyperparameters[i].value, json_string_value(v)) != 0) {
                        log_info("hyperparameter '%s': SageMaker's '%.64s' (job.json has '%.64s')",
                                 k, json_string_value(v), spec->hyperparameters[i].value);
                        free(spec->hyperparameters[i].value);
                        spec->hyperparameters[i].value = xstrdup(json_string_value(v));
                }
        }
}
