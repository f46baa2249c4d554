/* SPDX-License-Identifier: MIT */
/*
 * The builder: walks the stages the target needs, one step per
 * instruction.  Every step has a cache key chained from the previous one;
 * a hit reuses the layer and config state, a miss runs the step:
 * metadata instructions change the config, COPY/ADD write a layer straight
 * from the sources (copy.c), RUN runs in the sandbox over the stage's root
 * filesystem and its snapshot becomes the layer.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "runner/image/builder_internal.h"
#include "cleanup.h"
#include "digest.h"
#include "fmt.h"
#include "fsutil.h"
#include "runner/image/layer.h"
#include "log.h"
#include "registry.h"
#include "runner/image/image_progress.h"
#include "runner/image/sandbox.h"
#include "runner/image/snapshot.h"
#include "xalloc.h"

void build_say(struct build *b, const char *fmt, ...)
{
        va_list ap;

        if (b->o->out == NULL)
                return;
        va_start(ap, fmt);
        vfprintf(b->o->out, fmt, ap);
        va_end(ap);
        fputc('\n', b->o->out);
        fflush(b->o->out);
}

int build_lookup(struct build *b, const char *key, struct cache_entry *ret)
{
        _cleanup_error_ struct hoist_error *e = NULL;

        if (b->o->no_cache || b->cache == NULL)
                return 0;
        if (build_cache_get(b->cache, key, ret, &e) != 1)
                return 0;
        if (ret->has_layer && !ocilayout_has_blob(b->lay, ret->layer.digest)) {
                log_debug("cached layer %s is gone from the store, rebuilding", ret->layer.digest);
                cache_entry_clear(ret);
                return 0;
        }
        return 1;
}

void build_remember(struct build *b, const char *key, const struct cache_entry *e)
{
        _cleanup_error_ struct hoist_error *err = NULL;

        if (b->cache != NULL && build_cache_put(b->cache, key, e, &err) < 0)
                log_warn("%s, ignoring", err->msg);
}

int build_fail(struct build *b, const struct df_instr *in, struct hoist_error **err)
{
        _cleanup_free_ char *prefix = xasprintf("'%s' line %d", b->df->name, in->line);

        const char *kind = dockerfile_kind_name(in->kind);

        if (*err != NULL && strncmp((*err)->msg, prefix, strlen(prefix)) == 0)
                return -1;
        /* The sandbox names RUN itself. */
        if (*err != NULL && strncmp((*err)->msg, kind, strlen(kind)) == 0 &&
            (*err)->msg[strlen(kind)] == ':')
                return hoist_error_wrap(err, "%s", prefix);
        return hoist_error_wrap(err, "%s: %s", prefix, kind);
}

char *build_scratch(struct build *b, const char *what)
{
        _cleanup_free_ char *name = xasprintf("%s-%u", what, ++b->seq);

        return path_join(b->work, name);
}

int build_materialize(struct build *b, struct stage *s, struct hoist_error **err)
{
        _cleanup_free_ char *root = NULL;

        if (s->rootfs == NULL)
                root = build_scratch(b, "rootfs");
        return stage_materialize(s, b->lay, root, err);
}

int build_add_layer(struct build *b, struct stage *s, const char *path, const struct layer_info *li,
                    const char *created_by, struct image_layer *ret, struct hoist_error **err)
{
        struct image_layer l = {
                .media_type = (char *)li->media_type,
                .digest = li->digest,
                .diff_id = li->diff_id,
                .size = (int64_t)li->size,
        };

        if (ocilayout_put_blob_file(b->lay, path, li->digest, 1, NULL, err) < 0)
                return hoist_error_wrap(err, "store layer");
        stage_add_layer(s, &l, created_by);
        if (ret != NULL) {
                ret->media_type = xstrdup(li->media_type);
                ret->digest = xstrdup(li->digest);
                ret->diff_id = xstrdup(li->diff_id);
                ret->size = (int64_t)li->size;
        }
        return 0;
}

int build_missing_dirs(struct build *b, struct stage *s, const char *dir, char **ret_have,
                       char **ret_rest, struct hoist_error **err)
{
        _cleanup_free_ char *have = NULL, *rest = NULL;
        int not_dir = 0;

        if (stage_find_dir(s, b->lay, dir, &have, &rest, &not_dir, err) < 0)
                return -1;
        if (not_dir) {
                size_t n = strcspn(rest, "/");
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s': '/%s%s%.*s' is in the image but is not a "
                                        "directory",
                                        dir, have, *have ? "/" : "", (int)n, rest);
        }
        *ret_have = TAKE_PTR(have);
        *ret_rest = TAKE_PTR(rest);
        return 0;
}

int build_write_dirs(struct build *b, struct layer_writer *w, const char *have, const char *rest,
                     const struct layer_owner *owner, struct hoist_error **err)
{
        _cleanup_free_ char *stand_in = NULL;
        _cleanup_free_ char *name = NULL;

        if (*rest == '\0')
                return 0;
        stand_in = build_scratch(b, "dir");
        if (mkdir(stand_in, 0755) < 0 || chmod(stand_in, 0755) < 0)
                return hoist_error_errno(err, "create '%s'", stand_in);
        name = *have ? xasprintf("%s/%s", have, rest) : xstrdup(rest);
        for (char *c = name + strlen(have) + (*have ? 1 : 0);; c++) {
                if (*c != '/' && *c != '\0')
                        continue;
                char saved = *c;
                *c = '\0';
                if (layer_writer_add_path(w, name, stand_in, owner, err) < 0)
                        return -1;
                *c = saved;
                if (saved == '\0')
                        break;
        }
        return 0;
}

/* ---- cache plumbing for one step ---- */

/* Looks the step up; on a hit applies it to the stage and returns 1. */
static int step_cached(struct stage_ctx *sc, const char *key, const char *created_by,
                       struct hoist_error **err)
{
        struct cache_entry ce = {0};

        if (!build_lookup(sc->b, key, &ce))
                return 0;
        if (image_config_set_state(sc->s->cfg, ce.state, err) < 0) {
                cache_entry_clear(&ce);
                return -1;
        }
        if (ce.has_layer)
                stage_add_layer(sc->s, &ce.layer, created_by);
        else
                image_config_add_empty_history(sc->s->cfg, created_by);
        cache_entry_clear(&ce);
        return 1;
}

static void step_remember(struct stage_ctx *sc, const char *key, const struct image_layer *l)
{
        struct cache_entry ce = {0};

        if (l != NULL) {
                ce.has_layer = 1;
                ce.layer = *l;
        }
        ce.state = image_config_state(sc->s->cfg);
        build_remember(sc->b, key, &ce);
        free(ce.state);
}

static void step_chain(struct stage_ctx *sc, const char *key)
{
        stage_set_chain(sc->s, key);
}

/* ---- metadata instructions ---- */

static char **argv_of(struct stage_ctx *sc, const struct df_instr *in)
{
        size_t n = 0;
        char **v;

        if (in->json_form) {
                v = xcalloc(in->n_args + 1, sizeof *v);
                for (size_t i = 0; i < in->n_args; i++)
                        v[i] = xstrdup(in->args[i]);
                return v;
        }
        while (sc->shell[n] != NULL)
                n++;
        v = xcalloc(n + 2, sizeof *v);
        for (size_t i = 0; i < n; i++)
                v[i] = xstrdup(sc->shell[i]);
        v[n] = xstrdup(in->n_args > 0 ? in->args[0] : "");
        return v;
}

static void set_env_from_vars(struct stage_ctx *sc)
{
        _cleanup_strv_ char **env = dfvars_env(sc->vars);
        json_t *a = json_array();

        for (char **p = env; *p != NULL; p++)
                json_array_append_new(a, json_string(*p));
        json_object_set_new(json_object_get(sc->s->cfg->root, "config"), "Env", a);
}

/* Applies a metadata instruction (with EXP, its substituted arguments) to
 * the config. */
static int apply_meta(struct stage_ctx *sc, const struct df_instr *in, char **exp,
                      struct hoist_error **err)
{
        struct image_config *cfg = sc->s->cfg;

        switch (in->kind) {
        case DF_ENV:
                if (dfvars_apply(sc->vars, sc->b->df, in, err) < 0)
                        return -1;
                set_env_from_vars(sc);
                break;
        case DF_ARG:
                return dfvars_apply(sc->vars, sc->b->df, in, err);
        case DF_WORKDIR: {
                _cleanup_free_ char *dir = image_config_workdir(cfg, exp[0]);
                image_config_set_string(cfg, "WorkingDir", dir);
                break;
        }
        case DF_USER:
                image_config_set_string(cfg, "User", exp[0]);
                break;
        case DF_STOPSIGNAL:
                image_config_set_string(cfg, "StopSignal", exp[0]);
                break;
        case DF_LABEL:
                for (size_t i = 0; i + 1 < in->n_args; i += 2)
                        image_config_set_label(cfg, exp[i], exp[i + 1]);
                break;
        case DF_EXPOSE:
                for (size_t i = 0; i < in->n_args; i++)
                        image_config_add_port(cfg, exp[i]);
                break;
        case DF_VOLUME:
                for (size_t i = 0; i < in->n_args; i++)
                        image_config_add_volume(cfg, exp[i]);
                break;
        case DF_CMD:
        case DF_ENTRYPOINT: {
                _cleanup_strv_ char **v = argv_of(sc, in);
                image_config_set_argv(cfg, in->kind == DF_CMD ? "Cmd" : "Entrypoint",
                                      (const char *const *)v);
                /* Docker: an ENTRYPOINT drops a CMD inherited from the base. */
                if (in->kind == DF_CMD)
                        sc->cmd_set = 1;
                else if (!sc->cmd_set)
                        image_config_set_argv(cfg, "Cmd", NULL);
                break;
        }
        case DF_SHELL:
                strv_free(sc->shell);
                sc->shell = argv_of(sc, in);
                break;
        case DF_MAINTAINER:
                json_object_set_new(cfg->root, "author", json_string(exp[0]));
                break;
        case DF_HEALTHCHECK:
                log_warn("'%s' line %d: HEALTHCHECK is not part of the OCI image format, "
                         "ignoring",
                         sc->b->df->name, in->line);
                break;
        default:
                return hoist_error_make(err, HOIST_ERR_INPUT, "unexpected instruction");
        }
        return 0;
}

/* The instruction as the cache and the history see it: the keyword, flags
 * and arguments after substitution (RUN/CMD/ENTRYPOINT keep the text as
 * written; the shell expands it). */
static char *instr_text(const struct df_instr *in, char **exp)
{
        struct buf t = {0};

        buf_append_str(&t, dockerfile_kind_name(in->kind));
        for (size_t i = 0; i < in->n_flags; i++)
                buf_printf(&t, " --%s=%s", in->flags[i].name, in->flags[i].value);
        if (in->json_form)
                buf_append_str(&t, " (json)");
        for (size_t i = 0; i < in->n_args; i++) {
                buf_append_char(&t, ' ');
                buf_append_str(&t, exp[i]);
                buf_append_char(&t, '\x1f'); /* keeps ["a b"] apart from ["a","b"] */
        }
        return buf_take(&t);
}

/* A step's cache key: its text after substitution, the build args in scope
 * and the chain. */
static void step_key(struct stage_ctx *sc, const struct df_instr *in, char **exp, char key[65])
{
        _cleanup_free_ char *text = instr_text(in, exp);
        _cleanup_strv_ char **args = dfvars_args(sc->vars);
        struct cache_key_input ki = {.parent = sc->s->chain,
                                     .instruction = text,
                                     .args = (const char *const *)args,
                                     .compression = compression_name(sc->b->comp)};

        cache_key(&ki, key);
}

static int meta_step(struct stage_ctx *sc, const struct df_instr *in, char **exp,
                     struct hoist_error **err)
{
        char key[65];

        if (apply_meta(sc, in, exp, err) < 0)
                return -1;
        /* ARG and ENV change what later steps see, so they are part of the
         * chain; every instruction gets a history entry, as with Docker. */
        step_key(sc, in, exp, key);
        step_chain(sc, key);
        if (in->kind != DF_ARG)
                image_config_add_empty_history(sc->s->cfg, in->original);
        return 0;
}

/* ---- RUN ---- */

static void on_run_output(void *ud, const char *data, size_t len)
{
        FILE *out = ud;

        if (out != NULL) {
                fwrite(data, 1, len, out);
                fflush(out);
        }
}

static int run_step(struct stage_ctx *sc, const struct df_instr *in, const char *key,
                    struct hoist_error **err)
{
        struct build *b = sc->b;
        struct stage *s = sc->s;
        _cleanup_strv_ char **argv = argv_of(sc, in);
        _cleanup_strv_ char **env = dfvars_env_for_run(sc->vars);
        _cleanup_snapshot_ struct snapshot *snap = NULL;
        _cleanup_free_ char *blob = build_scratch(b, "layer");
        struct layer_info li = {0};
        struct image_layer stored = {0};
        struct sandbox_spec spec = {
                .argv = (const char *const *)argv,
                .env = (const char *const *)env,
                .workdir = image_config_get_string(s->cfg, "WorkingDir"),
                .user = image_config_get_string(s->cfg, "User"),
                .on_output = on_run_output,
                .userdata = b->o->out,
                .out_fd = -1,
        };
        int status = 0, empty = 0;

        if (build_materialize(b, s, err) < 0)
                return -1;
        spec.root = s->rootfs;
        if (snapshot_begin(s->rootfs, SNAPSHOT_AUTO, &snap, err) < 0)
                return -1;
        if (sandbox_run(&spec, &status, err) < 0)
                return -1;
        if (status != 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' line %d: RUN returned a non-zero code: %d",
                                        b->df->name, in->line, status);
        if (snapshot_commit(snap, b->comp, 0, b->epoch, blob, &li, &empty, err) < 0)
                return -1;
        if (empty) {
                image_config_add_empty_history(s->cfg, in->original);
                step_remember(sc, key, NULL);
                return 0;
        }
        if (build_add_layer(b, s, blob, &li, in->original, &stored, err) < 0) {
                layer_info_clear(&li);
                return -1;
        }
        /* The root filesystem already holds what the layer says. */
        s->applied = s->n_layers;
        step_remember(sc, key, &stored);
        image_layer_clear(&stored);
        layer_info_clear(&li);
        return 0;
}

/* ---- WORKDIR ---- */

/* Writes the directories of DIR that the image lacks as a layer, owned by
 * the USER in effect (as Docker and buildah create them, even when no RUN
 * follows); no layer when DIR is there. */
static int workdir_layer(struct stage_ctx *sc, const struct df_instr *in, const char *dir,
                         const char *key, struct hoist_error **err)
{
        struct build *b = sc->b;
        struct stage *s = sc->s;
        const char *user = image_config_get_string(s->cfg, "User");
        _cleanup_free_ char *have = NULL, *rest = NULL, *blob = NULL;
        _cleanup_layer_writer_ struct layer_writer *w = NULL;
        struct layer_owner owner = {0, 0, 0755};
        struct layer_info li = {0};
        struct image_layer stored = {0};
        int r;

        if (build_missing_dirs(b, s, dir, &have, &rest, err) < 0)
                return -1;
        if (*rest == '\0') {
                image_config_add_empty_history(s->cfg, in->original);
                step_remember(sc, key, NULL);
                return 0;
        }
        if (user != NULL && *user != '\0' && build_parse_owner(b, s, user, "USER", &owner, err) < 0)
                return -1;
        blob = build_scratch(b, "layer");
        if (layer_writer_new(blob, b->comp, 0, b->epoch, &w, err) < 0 ||
            build_write_dirs(b, w, have, rest, &owner, err) < 0 ||
            layer_writer_finish(w, &li, err) < 0)
                return -1;
        r = build_add_layer(b, s, blob, &li, in->original, &stored, err);
        layer_info_clear(&li);
        if (r < 0)
                return -1;
        step_remember(sc, key, &stored);
        image_layer_clear(&stored);
        return 0;
}

/* WORKDIR: the config's WorkingDir, cleaned lexically, and its directories
 * in the image; cached like RUN, as it may write a layer. */
static int workdir_step(struct stage_ctx *sc, const struct df_instr *in, char **exp,
                        struct hoist_error **err)
{
        struct build *b = sc->b;
        _cleanup_free_ char *dir = image_config_workdir(sc->s->cfg, exp[0]);
        char key[65];
        int hit;

        if (strcmp(dir, "/") == 0) {
                build_say(b, "[%u/%u] %s", b->step, b->total, in->original);
                return meta_step(sc, in, exp, err);
        }
        step_key(sc, in, exp, key);
        hit = step_cached(sc, key, in->original, err);
        if (hit < 0)
                return -1;
        build_say(b, "[%u/%u] %s%s", b->step, b->total, in->original, hit ? "  CACHED" : "");
        if (hit) {
                b->cached++;
        } else {
                image_config_set_string(sc->s->cfg, "WorkingDir", dir);
                if (workdir_layer(sc, in, dir, key, err) < 0)
                        return -1;
        }
        step_chain(sc, key);
        return 0;
}

/* ---- one instruction ---- */

static int do_instr(struct stage_ctx *sc, const struct df_instr *in, struct hoist_error **err)
{
        struct build *b = sc->b;
        _cleanup_strv_ char **exp = NULL;
        char key[65];
        int hit;

        b->step++;
        if (b->step > b->total)
                b->total = b->step;
        if (in->kind == DF_COPY || in->kind == DF_ADD)
                return copy_step(sc, in, err);
        if (dfvars_expand_instr(sc->vars, b->df, in, &exp, err) < 0)
                return -1;
        if (in->kind != DF_RUN && in->kind != DF_WORKDIR) {
                build_say(b, "[%u/%u] %s", b->step, b->total, in->original);
                return meta_step(sc, in, exp, err);
        }
        if (in->kind == DF_WORKDIR)
                return workdir_step(sc, in, exp, err);
        step_key(sc, in, exp, key);
        hit = step_cached(sc, key, in->original, err);
        if (hit < 0)
                return -1;
        build_say(b, "[%u/%u] %s%s", b->step, b->total, in->original, hit ? "  CACHED" : "");
        if (hit)
                b->cached++;
        else if (run_step(sc, in, key, err) < 0)
                return -1;
        step_chain(sc, key);
        return 0;
}

/* ---- stages ---- */

static int is_scratch(const char *base)
{
        return strcasecmp(base, "scratch") == 0;
}

static int stage_from(struct build *b, size_t index, struct stage *s, struct hoist_error **err)
{
        const struct df_stage *ds = &b->df->stages[index];
        _cleanup_free_ char *base = NULL;
        int j;

        if (dfvars_expand(b->global, ds->base, &base, err) < 0)
                return hoist_error_wrap(err, "'%s' line %d: FROM", b->df->name, ds->line);
        if (*base == '\0')
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' line %d: FROM '%s' is empty after substitution "
                                        "(pass it with --build-arg?)",
                                        b->df->name, ds->line, ds->base);
        if (ds->platform != NULL) {
                _cleanup_error_ struct hoist_error *e = NULL;
                _cleanup_free_ char *platform = NULL;
                if (dfvars_expand(b->global, ds->platform, &platform, &e) == 0 &&
                    strcmp(platform, "linux/amd64") != 0)
                        log_warn("'%s' line %d: FROM --platform=%s: hoist builds linux/amd64 "
                                 "images only, ignoring",
                                 b->df->name, ds->line, platform);
        }
        if (is_scratch(base)) {
                stage_init_scratch(s);
                return 0;
        }
        j = dockerfile_stage_index(b->df, base, index);
        if (j >= 0) {
                struct stage *from = NULL;
                if (build_stage_get(b, (size_t)j, &from, err) < 0)
                        return -1;
                stage_init_from(s, from);
                return 0;
        }
        if (stage_init_image(s, b->lay, base, b->o->insecure, b->o->out, err) < 0)
                return hoist_error_wrap(err, "'%s' line %d: FROM", b->df->name, ds->line);
        return 0;
}

static int prebuild_copy_sources(struct build *b, size_t index, struct hoist_error **err)
{
        const struct df_stage *ds = &b->df->stages[index];

        for (size_t k = 0; k < ds->n_instrs; k++) {
                const char *from = dockerfile_flag(&ds->instrs[k], "from");
                _cleanup_error_ struct hoist_error *e = NULL;
                _cleanup_free_ char *v = NULL;
                struct stage *dep = NULL;
                int j;

                if (from == NULL || dfvars_expand(b->global, from, &v, &e) < 0)
                        continue;
                j = dockerfile_stage_index(b->df, v, index);
                if (j >= 0 && build_stage_get(b, (size_t)j, &dep, err) < 0)
                        return -1;
        }
        return 0;
}

static int build_one_stage(struct build *b, size_t index, struct hoist_error **err)
{
        const struct df_stage *ds = &b->df->stages[index];
        struct stage *s = &b->stages[index];
        _cleanup_strv_ char **base_env = NULL;
        struct stage_ctx sc = {.b = b, .s = s, .index = index};
        int rc = 0;

        /* The stages this one copies from are built first, so its own
         * steps print in one run. */
        if (prebuild_copy_sources(b, index, err) < 0 || stage_from(b, index, s, err) < 0)
                return -1;
        s->index = (unsigned)index;
        s->name = xstrdup(ds->name);
        b->step++;
        if (b->step > b->total)
                b->total = b->step;
        build_say(b, "[%u/%u] %s", b->step, b->total, ds->original);
        /* Docker and buildah: a stage whose base sets no PATH (FROM
         * scratch) gets the default one. */
        image_config_default_path(s->cfg);
        base_env = image_config_env(s->cfg);
        sc.vars = dfvars_new_stage(b->global, base_env);
        sc.shell = xcalloc(3, sizeof *sc.shell);
        sc.shell[0] = xstrdup("/bin/sh");
        sc.shell[1] = xstrdup("-c");
        for (size_t i = 0; i < ds->n_instrs && rc == 0; i++) {
                rc = do_instr(&sc, &ds->instrs[i], err);
                if (rc < 0)
                        rc = build_fail(b, &ds->instrs[i], err);
        }
        dfvars_free(sc.vars);
        strv_free(sc.shell);
        if (rc < 0)
                return -1;
        s->done = 1;
        return 0;
}

int build_stage_get(struct build *b, size_t index, struct stage **ret, struct hoist_error **err)
{
        if (index >= b->df->n_stages)
                return hoist_error_make(err, HOIST_ERR_INPUT, "no stage %zu", index);
        if (!b->stages[index].done) {
                if (b->building[index])
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "'%s' line %d: stage %zu depends on itself",
                                                b->df->name, b->df->stages[index].line, index);
                b->building[index] = 1;
                if (build_one_stage(b, index, err) < 0)
                        return -1;
                b->building[index] = 0;
        }
        *ret = &b->stages[index];
        return 0;
}

/* ---- what the target needs, for "[n/total]" ---- */

static void mark_needed(struct build *b, size_t i, int *needed)
{
        const struct df_stage *ds = &b->df->stages[i];
        _cleanup_error_ struct hoist_error *e = NULL;
        _cleanup_free_ char *base = NULL;
        int j;

        if (needed[i])
                return;
        needed[i] = 1;
        if (dfvars_expand(b->global, ds->base, &base, &e) == 0 &&
            (j = dockerfile_stage_index(b->df, base, i)) >= 0)
                mark_needed(b, (size_t)j, needed);
        for (size_t k = 0; k < ds->n_instrs; k++) {
                const char *from = dockerfile_flag(&ds->instrs[k], "from");
                _cleanup_free_ char *v = NULL;
                if (from == NULL)
                        continue;
                hoist_error_release(&e);
                if (dfvars_expand(b->global, from, &v, &e) == 0 &&
                    (j = dockerfile_stage_index(b->df, v, i)) >= 0)
                        mark_needed(b, (size_t)j, needed);
        }
}

static int target_index(struct build *b, size_t *ret, struct hoist_error **err)
{
        int t;

        if (b->o->target == NULL) {
                *ret = b->df->n_stages - 1;
                return 0;
        }
        t = dockerfile_stage_index(b->df, b->o->target, b->df->n_stages);
        if (t < 0)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "build: --target '%s' names no stage of '%s'", b->o->target,
                                        b->df->name);
        *ret = (size_t)t;
        return 0;
}

/* ---- the entrypoint layer, push ---- */
char *builder_find_bundle_tar(const char *bundle_dir)
{
        /* .../bundle/opt/hoist -> .../hoist-entrypoint-bundle.tar: the layout of
         * both `make bundle` (build/) and `make install` (share/hoist/). */
        _cleanup_free_ char *p = path_join(bundle_dir, "../../../hoist-entrypoint-bundle.tar");
        char *real;

        if (!fs_exists(p))
                return NULL;
        real = realpath(p, NULL);
        return real != NULL ? real : TAKE_PTR(p);
}

void builder_result_clear(struct builder_result *r)
{
        free(r->manifest_digest);
        free(r->config_digest);
        memset(r, 0, sizeof *r);
}

/* Whether the first tar header block BLOCK (512 bytes) has the ustar magic
 * (POSIX "ustar\0", GNU "ustar  "). */
static int is_tar_header(const unsigned char *block)
{
        return memcmp(block + 257, "ustar", 5) == 0;
}

/* Compresses the tar at TAR_PATH (plain, or compressed with anything
 * libarchive reads: it is decompressed first) into a blob in the store.
 * The stream must start with a ustar header, else HOIST_ERR_INPUT. */
static int store_tar_as_layer(struct build *b, const char *tar_path, struct image_layer *ret,
                              struct hoist_error **err)
{
        _cleanup_archive_read_ struct archive *a = archive_read_new();
        _cleanup_close_ int out = -1;
        _cleanup_free_ char *tmp = build_scratch(b, "layer");
        _cleanup_compress_sink_ struct compress_sink *sink = NULL;
        struct archive_entry *entry;
        struct compress_result res;
        unsigned char head[512];
        size_t have = 0;
        char buf[1 << 16];
        la_ssize_t n;

        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        if (archive_read_open_filename(a, tar_path, 1 << 16) != ARCHIVE_OK ||
            archive_read_next_header(a, &entry) != ARCHIVE_OK)
                return hoist_error_make(err, HOIST_ERR_INPUT, "read '%s': %s", tar_path,
                                        archive_error_string(a));
        out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (out < 0)
                return hoist_error_errno(err, "create '%s'", tmp);
        if (compress_sink_new(out, b->comp, 0, &sink, err) < 0)
                return -1;
        while ((n = archive_read_data(a, buf, sizeof buf)) != 0) {
                if (n < 0)
                        return hoist_error_make(err, HOIST_ERR_INPUT, "read '%s': %s", tar_path,
                                                archive_error_string(a));
                if (have < sizeof head) {
                        size_t k = sizeof head - have < (size_t)n ? sizeof head - have : (size_t)n;
                        memcpy(head + have, buf, k);
                        have += k;
                        if (have == sizeof head && !is_tar_header(head))
                                break;
                }
                if (compress_sink_write(sink, buf, (size_t)n, err) < 0)
                        return -1;
        }
        if (have < sizeof head || !is_tar_header(head))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' is not a tar archive (plain or compressed with "
                                        "gzip, zstd, xz or bzip2)",
                                        tar_path);
        if (compress_sink_finish(sink, &res, err) < 0)
                return -1;
        if (ocilayout_put_blob_file(b->lay, tmp, res.digest, 1, NULL, err) < 0)
                return -1;
        ret->media_type = xstrdup(compression_media_type(b->comp));
        ret->digest = xstrdup(res.digest);
        ret->diff_id = xstrdup(res.diff_id);
        ret->size = (int64_t)res.size;
        return 0;
}

/* The image's own ENTRYPOINT + CMD become the CMD that hoist-entrypoint runs. */
static void wrap_entrypoint(struct image_config *cfg)
{
        static const char *const ep[] = {HOIST_ENTRYPOINT_PATH, NULL};
        _cleanup_strv_ char **old_ep = image_config_get_argv(cfg, "Entrypoint");
        _cleanup_strv_ char **old_cmd = image_config_get_argv(cfg, "Cmd");
        size_t n = 0, k = 0;
        _cleanup_free_ const char **cmd = NULL;

        if (old_ep != NULL && old_ep[0] != NULL && strcmp(old_ep[0], HOIST_ENTRYPOINT_PATH) == 0)
                return; /* already a hoist image */
        for (char **p = old_ep; p != NULL && *p != NULL; p++)
                n++;
        for (char **p = old_cmd; p != NULL && *p != NULL; p++)
                n++;
        cmd = xcalloc(n + 2, sizeof *cmd);
        /* A first word the entrypoint would take as its own (an option, or
         * the mode word "train") is protected by "--". */
        {
                const char *first = old_ep && old_ep[0] ? old_ep[0] : old_cmd ? old_cmd[0] : NULL;
                if (first != NULL && (first[0] == '-' || strcmp(first, "train") == 0))
                        cmd[k++] = "--";
        }
        for (char **p = old_ep; p != NULL && *p != NULL; p++)
                cmd[k++] = *p;
        for (char **p = old_cmd; p != NULL && *p != NULL; p++)
                cmd[k++] = *p;
        cmd[k] = NULL;
        image_config_set_argv(cfg, "Entrypoint", ep);
        image_config_set_argv(cfg, "Cmd", k > 0 ? cmd : NULL);
}

static int add_entrypoint_layer(struct build *b, struct stage *s, struct hoist_error **err)
{
        static const char created_by[] = "hoist build --entrypoint: /opt/hoist";
        char hex[DIGEST_HEX_LEN + 1], key[65];
        struct cache_key_input in = {.parent = s->chain,
                                     .instruction = created_by,
                                     .compression = compression_name(b->comp)};
        struct cache_entry ce = {0};
        struct image_layer l = {0};
        int hit;

        if (digest_file_hex(b->o->bundle_tar, hex, NULL, err) < 0)
                return hoist_error_wrap(err, "entrypoint bundle");
        in.content = hex;
        cache_key(&in, key);
        hit = build_lookup(b, key, &ce);
        if (hit) {
                stage_add_layer(s, &ce.layer, created_by);
        } else {
                if (store_tar_as_layer(b, b->o->bundle_tar, &l, err) < 0)
                        return hoist_error_wrap(err, "entrypoint layer");
                stage_add_layer(s, &l, created_by);
        }
        wrap_entrypoint(s->cfg);
        if (!hit) {
                ce.has_layer = 1;
                ce.layer = l;
                memset(&l, 0, sizeof l);
                ce.state = image_config_state(s->cfg);
                build_remember(b, key, &ce);
        }
        cache_entry_clear(&ce);
        stage_set_chain(s, key);
        build_say(b, "[+] ENTRYPOINT layer /opt/hoist%s", hit ? "  CACHED" : "");
        return 0;
}

int builder_push(const char *images_dir, const char *ref, int insecure, int create_repository,
                 FILE *out, struct hoist_error **err)
{
        _cleanup_ocilayout_ struct ocilayout *lay = NULL;
        _cleanup_free_ char *digest = NULL;
        struct registry_options ro = {.insecure = insecure, .create_repository = create_repository};
        struct registry_stats st = {0};
        FILE *to = out != NULL ? out : stderr;
        char line[1024];
        int r;

        if (ocilayout_open(images_dir, &lay, err) < 0)
                return -1;
        (void)fflush(to);
        {
                _cleanup_image_progress_ struct image_progress *ip = image_progress_new_on(
                        "push", ref, to,
                        image_progress_mode_for(fileno(to), out == NULL, IMAGE_PROGRESS_LINES), 0);
                image_progress_attach(ip, &ro);
                r = registry_push_ex(lay, ref, ref, &ro, &st, &digest, err);
        }
        if (r < 0)
                return hoist_error_wrap(err, "push '%s'", ref);
        if (out != NULL) {
                fprintf(out, "%s\n",
                        image_progress_format_summary(line, sizeof line, 1, ref, &st, digest));
                (void)fflush(out);
        }
        return 0;
}

/* ---- set-up and tear-down ---- */

static void build_free(struct build *b)
{
        _cleanup_error_ struct hoist_error *e = NULL;

        if (b->stages != NULL)
                for (size_t i = 0; i < b->df->n_stages; i++)
                        stage_clear(&b->stages[i]);
        free(b->stages);
        free(b->building);
        for (size_t i = 0; i < b->n_images; i++) {
                stage_clear(&b->images[i]);
                free(b->image_refs[i]);
        }
        free(b->images);
        free(b->image_refs);
        if (b->work != NULL && fs_remove_tree(b->work, &e) < 0)
                log_warn("%s, ignoring", e->msg);
        free(b->work);
        free(b->context);
        dockerfile_free(b->df);
        dfvars_free(b->global);
        dockerignore_free(b->di);
        ocilayout_close(b->lay);
        build_cache_close(b->cache);
}

static int build_parse(struct build *b, const struct builder_options *o, struct hoist_error **err)
{
        _cleanup_free_ char *dockerfile =
                o->dockerfile ? xstrdup(o->dockerfile) : path_join(o->context, "Dockerfile");

        b->o = o;
        b->context = realpath(o->context, NULL);
        if (b->context == NULL)
                return hoist_error_errno(err, "build: context '%s'", o->context);
        if (!fs_exists(dockerfile))
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                        "build: no Dockerfile at '%s' (give one with -f)",
                                        dockerfile);
        if (dockerfile_parse_file(dockerfile, &b->df, err) < 0)
                return -1;
        if (compression_parse(o->compression ? o->compression : "gzip", &b->comp, err) < 0)
                return -1;
        if (dfvars_new(o->build_args, b->df->escape, NULL, &b->global, err) < 0)
                return hoist_error_wrap(err, "build");
        for (size_t i = 0; i < b->df->n_meta_args; i++)
                if (dfvars_apply(b->global, b->df, &b->df->meta_args[i], err) < 0)
                        return -1;
        if (dockerignore_load(b->context, dockerfile, &b->di, err) < 0)
                return -1;
        b->stages = xcalloc(b->df->n_stages, sizeof *b->stages);
        b->building = xcalloc(b->df->n_stages, sizeof *b->building);
        return 0;
}

/* Substitutes every instruction of stage INDEX as the build would (without
 * the base image's ENV, which only a pull would tell), so a bad ${...} or a
 * FROM that expands to nothing is found without building. */
static int check_stage(struct build *b, size_t index, struct hoist_error **err)
{
        const struct df_stage *ds = &b->df->stages[index];
        _cleanup_dfvars_ struct dfvars *vars = dfvars_new_stage(b->global, NULL);
        _cleanup_free_ char *base = NULL;

        if (dfvars_expand(b->global, ds->base, &base, err) < 0)
                return hoist_error_wrap(err, "'%s' line %d: FROM", b->df->name, ds->line);
        if (*base == '\0')
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' line %d: FROM '%s' is empty after substitution",
                                        b->df->name, ds->line, ds->base);
        for (size_t i = 0; i < ds->n_instrs; i++) {
                const struct df_instr *in = &ds->instrs[i];
                _cleanup_strv_ char **exp = NULL;
                _cleanup_free_ char *from = NULL;

                if (dfvars_expand_instr(vars, b->df, in, &exp, err) < 0 ||
                    dfvars_expand_flag(vars, b->df, in, "from", &from, err) < 0)
                        return -1;
                if ((in->kind == DF_ARG || in->kind == DF_ENV) &&
                    dfvars_apply(vars, b->df, in, err) < 0)
                        return -1;
        }
        return 0;
}

int builder_check(const struct builder_options *o, struct hoist_error **err)
{
        struct build b = {0};
        _cleanup_free_ int *needed = NULL;
        size_t target = 0, n = 0, steps = 0;
        int rc = -1;

        if (build_parse(&b, o, err) < 0)
                goto out;
        if (target_index(&b, &target, err) < 0)
                goto out;
        needed = xcalloc(b.df->n_stages, sizeof *needed);
        mark_needed(&b, target, needed);
        for (size_t i = 0; i < b.df->n_stages; i++)
                if (needed[i]) {
                        n++;
                        steps += 1 + b.df->stages[i].n_instrs;
                        if (check_stage(&b, i, err) < 0)
                                goto out;
                }
        if (o->out != NULL)
                fprintf(o->out, "%s: %zu %s, %zu needed for the target, %zu %s\n", b.df->name,
                        b.df->n_stages, fmt_plural(b.df->n_stages, "stage", "stages"), n, steps,
                        fmt_plural(steps, "step", "steps"));
        rc = 0;
out:
        build_free(&b);
        return rc;
}

static int open_store(struct build *b, struct hoist_error **err)
{
        char tmpl[] = "build-XXXXXX";
        _cleanup_free_ char *pattern = path_join(b->o->tmp_dir, tmpl);

        if (ocilayout_open(b->o->images_dir, &b->lay, err) < 0)
                return hoist_error_wrap(err, "image store '%s'", b->o->images_dir);
        if (build_cache_open(b->o->cache_dir, &b->cache, err) < 0)
                return -1;
        if (fs_mkdir_p(b->o->tmp_dir, 0700, err) < 0)
                return -1;
        if (mkdtemp(pattern) == NULL)
                return hoist_error_errno(err, "create a build directory in '%s'", b->o->tmp_dir);
        b->work = TAKE_PTR(pattern);
        return 0;
}

int builder_build(const struct builder_options *o, struct builder_result *ret,
                  struct hoist_error **err)
{
        struct build b = {0};
        _cleanup_free_ int *needed = NULL;
        struct stage *final = NULL;
        size_t target = 0;
        int rc = -1;

        b.epoch = layer_epoch_from_env();
        if (build_parse(&b, o, err) < 0 || target_index(&b, &target, err) < 0 ||
            open_store(&b, err) < 0)
                goto out;
        needed = xcalloc(b.df->n_stages, sizeof *needed);
        mark_needed(&b, target, needed);
        for (size_t i = 0; i < b.df->n_stages; i++)
                if (needed[i])
                        b.total += 1 + (unsigned)b.df->stages[i].n_instrs;
        if (o->bundle_tar != NULL)
                b.total++;
        if (build_stage_get(&b, target, &final, err) < 0)
                goto out;
        if (o->bundle_tar != NULL && add_entrypoint_layer(&b, final, err) < 0)
                goto out;
        {
                _cleanup_strv_ char **unused = dfvars_unused_build_args(b.global);
                for (char **p = unused; p != NULL && *p != NULL; p++)
                        log_warn("build arg '%s' was not consumed by any ARG, ignoring", *p);
        }
        memset(ret, 0, sizeof *ret);
        if (stage_commit(final, b.lay, o->tag, b.epoch, &ret->manifest_digest, &ret->manifest_size,
                         &ret->config_digest, err) < 0)
                goto out;
        ret->steps = b.step;
        ret->cached = b.cached;
        rc = 0;
out:
        build_free(&b);
        return rc;
}

/* ---- hoist import ---- */

/* The instructions `podman import --change` takes that an OCI config holds. */
static int import_change_allowed(enum df_kind k)
{
        switch (k) {
        case DF_CMD:
        case DF_ENTRYPOINT:
        case DF_ENV:
        case DF_EXPOSE:
        case DF_LABEL:
        case DF_STOPSIGNAL:
        case DF_USER:
        case DF_VOLUME:
        case DF_WORKDIR:
                return 1;
        default:
                return 0;
        }
}

/* Parses CHANGE, one Dockerfile instruction, as the stage "FROM scratch" of
 * its own Dockerfile. */
static int import_parse_change(const char *change, struct dockerfile **ret,
                               struct hoist_error **err)
{
        _cleanup_dockerfile_ struct dockerfile *df = NULL;
        _cleanup_free_ char *text = NULL;

        if (strpbrk(change, "\r\n") != NULL)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "import: --change '%s': one instruction per --change, on "
                                        "one line",
                                        change);
        text = xasprintf("FROM scratch\n%s\n", change);
        if (dockerfile_parse(text, strlen(text), "--change", &df, err) < 0) {
                /* a command-line argument: exit 2, as for the checks below */
                (*err)->code = HOIST_ERR_USAGE;
                return hoist_error_wrap(err, "import: --change '%s'", change);
        }
        if (df->n_stages != 1 || df->stages[0].n_instrs != 1)
                return hoist_error_make(err, HOIST_ERR_USAGE,
                                        "import: --change '%s': give one instruction", change);
        if (!import_change_allowed(df->stages[0].instrs[0].kind))
                return hoist_error_make(
                        err, HOIST_ERR_USAGE,
                        "import: --change '%s': %s is not allowed (use CMD, ENTRYPOINT, ENV, "
                        "EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME or WORKDIR; build on the image "
                        "with 'hoist build' for the rest)",
                        change, dockerfile_kind_name(df->stages[0].instrs[0].kind));
        *ret = TAKE_PTR(df);
        return 0;
}

/* Applies the parsed change DF to the stage: the instruction as a
 * metadata step (WORKDIR included: it sets WorkingDir, no layer). */
static int import_apply(struct stage_ctx *sc, struct dockerfile *df, struct hoist_error **err)
{
        const struct df_instr *in = &df->stages[0].instrs[0];
        _cleanup_strv_ char **exp = NULL;
        int rc;

        sc->b->df = df; /* borrowed: ENV resolves against it */
        rc = dfvars_expand_instr(sc->vars, df, in, &exp, err);
        if (rc == 0)
                rc = meta_step(sc, in, exp, err);
        sc->b->df = NULL;
        return rc;
}

int builder_import(const struct builder_import_options *o, struct builder_result *ret,
                   struct hoist_error **err)
{
        struct builder_options bo = {.tag = o->tag,
                                     .compression = o->compression,
                                     .images_dir = o->images_dir,
                                     .cache_dir = o->cache_dir,
                                     .tmp_dir = o->tmp_dir,
                                     .out = o->out};
        struct build b = {.o = &bo};
        struct stage s = {0};
        struct stage_ctx sc = {.b = &b, .s = &s};
        struct dockerfile **dfs = NULL;
        struct image_layer l = {0};
        _cleanup_strv_ char **base_env = NULL;
        _cleanup_free_ char *created_by = NULL;
        size_t n = 0;
        int rc = -1;

        memset(ret, 0, sizeof *ret);
        b.epoch = layer_epoch_from_env();
        for (char *const *c = o->changes; c != NULL && *c != NULL; c++)
                n++;
        dfs = xcalloc(n + 1, sizeof *dfs);
        /* Every change is checked before anything is stored. */
        for (size_t i = 0; i < n; i++)
                if (import_parse_change(o->changes[i], &dfs[i], err) < 0)
                        goto out;
        if (compression_parse(o->compression ? o->compression : "gzip", &b.comp, err) < 0 ||
            dfvars_new(NULL, '\\', NULL, &b.global, err) < 0 || open_store(&b, err) < 0)
                goto out;
        stage_init_scratch(&s);
        build_say(&b, "[1/%zu] layer from %s", n + 1, o->tar);
        if (store_tar_as_layer(&b, o->tar, &l, err) < 0) {
                hoist_error_wrap(err, "import");
                goto out;
        }
        {
                const char *base = strrchr(o->tar, '/');
                created_by = xasprintf("hoist import %s", base ? base + 1 : o->tar);
        }
        stage_add_layer(&s, &l, created_by);
        stage_set_chain(&s, l.digest);
        image_config_default_path(s.cfg);
        base_env = image_config_env(s.cfg);
        sc.vars = dfvars_new_stage(b.global, base_env);
        sc.shell = xcalloc(3, sizeof *sc.shell);
        sc.shell[0] = xstrdup("/bin/sh");
        sc.shell[1] = xstrdup("-c");
        for (size_t i = 0; i < n; i++) {
                build_say(&b, "[%zu/%zu] %s", i + 2, n + 1, o->changes[i]);
                if (import_apply(&sc, dfs[i], err) < 0) {
                        hoist_error_wrap(err, "import: --change '%s'", o->changes[i]);
                        goto out;
                }
        }
        if (stage_commit(&s, b.lay, o->tag, b.epoch, &ret->manifest_digest, &ret->manifest_size,
                         &ret->config_digest, err) < 0)
                goto out;
        ret->steps = (unsigned)n;
        rc = 0;
out:
        for (size_t i = 0; i < n; i++)
                dockerfile_free(dfs[i]);
        free(dfs);
        dfvars_free(sc.vars);
        strv_free(sc.shell);
        image_layer_clear(&l);
        stage_clear(&s);
        build_free(&b);
        return rc;
}
