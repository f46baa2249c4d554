/* SPDX-License-Identifier: MIT */
#include "replicate_image.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "oci.h"
#include "ocilayout.h"
#include "registry.h"
#include "xalloc.h"

#define ENV_NAME "HOIST_COG_OPENAPI"

static json_t *cog_config(int gpu)
{
        /* What cog.yaml would say for this image: it trains (train:), and
         * the entrypoint's Cog mode is what runs it. */
        return json_pack("{s:{s:b,s:s},s:s}", "build", "gpu", gpu, "python_version", "3.11",
                         "train", "hoist-entrypoint cog");
}

static int set_env(json_t *cfg, const char *schema_text)
{
        json_t *env = json_object_get(cfg, "Env"), *fresh = json_array(), *e;
        _cleanup_free_ char *line = xasprintf(ENV_NAME "=%s", schema_text);
        size_t i;

        if (env != NULL && !json_is_array(env)) {
                json_decref(fresh);
                return -1;
        }
        json_array_foreach(env, i, e)
        {
                if (json_is_string(e) &&
                    strncmp(json_string_value(e), ENV_NAME "=", sizeof ENV_NAME) == 0)
                        continue;
                (void)json_array_append(fresh, e);
        }
        (void)json_array_append_new(fresh, json_string(line));
        (void)json_object_set_new(cfg, "Env", fresh);
        return 0;
}

int replicate_image_config(const char *config, size_t len, const char *schema_text, int gpu,
                           char **ret, struct hoist_error **err)
{
        json_error_t jerr;
        json_t *root = json_loadb(config, len, 0, &jerr), *cfg, *labels, *cc;
        char *cc_text, *out;

        if (!json_is_object(root)) {
                json_decref(root);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "the image config is not a JSON object");
        }
        cfg = json_object_get(root, "config");
        if (cfg == NULL) {
                cfg = json_object();
                (void)json_object_set_new(root, "config", cfg);
        }
        labels = json_object_get(cfg, "Labels");
        if (labels == NULL || json_is_null(labels)) {
                labels = json_object();
                (void)json_object_set_new(cfg, "Labels", labels);
        }
        if (!json_is_object(cfg) || !json_is_object(labels) || set_env(cfg, schema_text) < 0) {
                json_decref(root);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "the image config's config, Labels or Env has the wrong "
                                        "type");
        }
        cc = cog_config(gpu);
        cc_text = json_dumps(cc, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(cc);
        if (cc_text == NULL)
                abort(); /* out of memory */
        (void)json_object_set_new(labels, "run.cog.version", json_string(REPLICATE_COG_VERSION));
        (void)json_object_set_new(labels, "run.cog.config", json_string(cc_text));
        (void)json_object_set_new(labels, "run.cog.openapi_schema", json_string(schema_text));
        free(cc_text);
        (void)json_object_set_new(cfg, "Cmd", json_pack("[s]", "cog"));
        out = json_dumps(root, JSON_COMPACT);
        json_decref(root);
        if (out == NULL)
                abort(); /* out of memory */
        *ret = out;
        return 0;
}

static int read_blob(struct ocilayout *lay, const char *digest, char **ret, size_t *ret_len,
                     struct hoist_error **err)
{
        _cleanup_free_ char *path = ocilayout_blob_path(lay, digest);

        if (path == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "'%s' is not a digest", digest);
        return fs_read_file(path, ret, ret_len, err);
}

/* The local image, pulled into the store first when it is not there. */
static int find_local(struct ocilayout *lay, const char *ref, char **ret_mt, char **ret_digest,
                      struct hoist_error **err)
{
        struct hoist_error *e = NULL;
        _cleanup_free_ char *pulled = NULL;

        if (ocilayout_resolve(lay, ref, ret_mt, ret_digest, NULL, &e) == 0)
                return 0;
        if (e->code != HOIST_ERR_NOT_FOUND) {
                *err = e;
                return -1;
        }
        hoist_error_free(e);
        log_info("image %s is not in hoist's image store; pulling it", ref);
        if (registry_pull(ref, lay, NULL, &pulled, err) < 0)
                return hoist_error_wrap(err,
                                        "pull '%s' (give the job a build: section, or an "
                                        "image hoist can pull)",
                                        ref);
        return ocilayout_resolve(lay, ref, ret_mt, ret_digest, NULL, err);
}

static int rewrite(struct ocilayout *lay, const struct replicate_push *p, struct hoist_error **err)
{
        _cleanup_free_ char *mt = NULL, *digest = NULL, *mtext = NULL, *ctext = NULL;
        _cleanup_free_ char *new_cfg = NULL, *cfg_digest = NULL, *new_m = NULL, *m_digest = NULL;
        size_t mlen = 0, clen = 0;
        json_t *m, *desc;

        if (find_local(lay, p->local_ref, &mt, &digest, err) < 0)
                return -1;
        if (!oci_media_type_is_manifest(mt))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "image '%s' is %s, not one image manifest (Replicate runs "
                                        "linux/amd64: build or pull that one)",
                                        p->local_ref, mt);
        if (read_blob(lay, digest, &mtext, &mlen, err) < 0)
                return -1;
        m = json_loadb(mtext, mlen, 0, NULL);
        desc = json_object_get(m, "config");
        if (!json_is_string(json_object_get(desc, "digest"))) {
                json_decref(m);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "image '%s': its manifest names no config", p->local_ref);
        }
        if (read_blob(lay, json_string_value(json_object_get(desc, "digest")), &ctext, &clen, err) <
                    0 ||
            replicate_image_config(ctext, clen, p->schema_text, p->gpu, &new_cfg, err) < 0 ||
            ocilayout_put_blob_bytes(lay, new_cfg, strlen(new_cfg), &cfg_digest, err) < 0) {
                json_decref(m);
                return hoist_error_wrap(err, "image '%s'", p->local_ref);
        }
        (void)json_object_set_new(desc, "digest", json_string(cfg_digest));
        (void)json_object_set_new(desc, "size", json_integer((json_int_t)strlen(new_cfg)));
        new_m = json_dumps(m, JSON_COMPACT);
        json_decref(m);
        if (new_m == NULL)
                abort(); /* out of memory */
        if (ocilayout_put_blob_bytes(lay, new_m, strlen(new_m), &m_digest, err) < 0 ||
            ocilayout_tag(lay, p->remote_ref, mt, m_digest, (int64_t)strlen(new_m), err) < 0)
                return hoist_error_wrap(err, "image '%s'", p->local_ref);
        return 0;
}

int replicate_image_push(const struct replicate_push *p, char **ret_digest,
                         struct hoist_error **err)
{
        _cleanup_ocilayout_ struct ocilayout *lay = NULL;
        struct registry_options ro = {
                .username = p->username,
                .password = p->token,
                .creds_source = "REPLICATE_API_TOKEN",
        };

        if (p->images_dir == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "no image store to take the job's image from");
        if (ocilayout_open(p->images_dir, &lay, err) < 0 || rewrite(lay, p, err) < 0)
                return -1;
        if (registry_push(lay, p->remote_ref, p->remote_ref, &ro, ret_digest, err) < 0)
                return hoist_error_wrap(err, "push '%s'", p->remote_ref);
        return 0;
}
