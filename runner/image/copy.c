/* SPDX-License-Identifier: MIT */
/*
 * COPY and ADD.  The layer is written straight from the sources (the
 * context, another stage's root filesystem, or an image's) with
 * layer_writer, so a COPY never copies files into a root filesystem first
 * and never needs one unless a later RUN does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "buf.h"
#include "runner/image/builder_internal.h"
#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "runner/image/layer.h"
#include "log.h"
#include "xalloc.h"

struct copy_src {
        const char *root;                  /* where the sources are read */
        const struct dockerignore *ignore; /* for the context only */
};

/* ---- --chown and --chmod ---- */

/* Looks NAME up in the image's /etc/passwd (FILE "passwd") or /etc/group;
 * fills the uid/gid field and, for passwd, the primary gid. */
static int lookup_name(const char *rootfs, const char *file, const char *name, int64_t *ret_id,
                       int64_t *ret_gid)
{
        _cleanup_free_ char *rel = xasprintf("etc/%s", file);
        _cleanup_free_ char *path = rootfs ? path_join(rootfs, rel) : NULL;
        _cleanup_fclose_ FILE *f = path ? fopen(path, "re") : NULL;
        char line[1024];
        size_t nlen = strlen(name);

        if (f == NULL)
                return 0;
        while (fgets(line, sizeof line, f) != NULL) {
                char *fields[4] = {0}, *p = line, *save = NULL;
                if (strncmp(line, name, nlen) != 0 || line[nlen] != ':')
                        continue;
                for (int i = 0; i < 4 && (fields[i] = strtok_r(p, ":", &save)) != NULL; i++)
                        p = NULL;
                if (fields[2] == NULL)
                        return 0;
                *ret_id = strtoll(fields[2], NULL, 10);
                if (ret_gid != NULL && fields[3] != NULL)
                        *ret_gid = strtoll(fields[3], NULL, 10);
                return 1;
        }
        return 0;
}

static int parse_id(const char *s, int64_t *ret)
{
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (*s == '\0' || *end != '\0' || errno != 0 || v < 0 || v > 0xfffffffeLL)
                return 0;
        *ret = v;
        return 1;
}

int build_parse_owner(struct build *b, struct stage *s, const char *spec, const char *what,
                      struct layer_owner *owner, struct hoist_error **err)
{
        _cleanup_free_ char *user = xstrdup(spec);
        char *group = strchr(user, ':');
        int64_t uid = 0, gid = -1, pgid = -1;

        if (group != NULL)
                *group++ = '\0';
        if (!parse_id(user, &uid)) {
                if (build_materialize(b, s, err) < 0)
                        return -1;
                if (!lookup_name(s->rootfs, "passwd", user, &uid, &pgid))
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "%s: no user '%s' in the image's /etc/passwd", what,
                                                user);
        }
        if (group != NULL && !parse_id(group, &gid)) {
                if (build_materialize(b, s, err) < 0)
                        return -1;
                if (!lookup_name(s->rootfs, "group", group, &gid, NULL))
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "%s: no group '%s' in the image's /etc/group", what,
                                                group);
        }
        owner->uid = uid;
        owner->gid = gid >= 0 ? gid : pgid >= 0 ? pgid : uid;
        return 0;
}

static int parse_chmod(const char *spec, struct layer_owner *owner, struct hoist_error **err)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(spec, &end, 8);
        if (*spec == '\0' || *end != '\0' || errno != 0 || v < 0 || v > 07777)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "--chmod '%s': give an octal mode such as 0644", spec);
        owner->mode = (int32_t)v;
        return 0;
}

/* ---- where the sources are ---- */

static int image_source(struct build *b, const char *ref, const char **ret_root,
                        struct hoist_error **err)
{
        struct stage *s;

        for (size_t i = 0; i < b->n_images; i++)
                if (strcmp(b->image_refs[i], ref) == 0) {
                        *ret_root = b->images[i].rootfs;
                        return 0;
                }
        b->images = xreallocarray(b->images, b->n_images + 1, sizeof *b->images);
        b->image_refs = xreallocarray(b->image_refs, b->n_images + 1, sizeof *b->image_refs);
        s = &b->images[b->n_images];
        memset(s, 0, sizeof *s);
        b->image_refs[b->n_images++] = xstrdup(ref);
        if (stage_init_image(s, b->lay, ref, b->o->insecure, b->o->out, err) < 0)
                return -1;
        if (build_materialize(b, s, err) < 0)
                return -1;
        *ret_root = s->rootfs;
        return 0;
}

static int copy_source_root(struct stage_ctx *sc, const char *from, struct copy_src *ret,
                            struct hoist_error **err)
{
        struct build *b = sc->b;
        int j;

        if (from == NULL) {
                ret->root = b->context;
                ret->ignore = b->di;
                return 0;
        }
        ret->ignore = NULL;
        j = dockerfile_stage_index(b->df, from, sc->index);
        if (j >= 0) {
                struct stage *src = NULL;
                if (build_stage_get(b, (size_t)j, &src, err) < 0 ||
                    build_materialize(b, src, err) < 0)
                        return -1;
                ret->root = src->rootfs;
                return 0;
        }
        if (dockerfile_stage_index(b->df, from, b->df->n_stages) >= 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "--from=%s names a later stage (only earlier ones can "
                                        "be copied from)",
                                        from);
        return image_source(b, from, &ret->root, err);
}

/* ---- the content key ---- */

static int hash_selection(const char *root, const struct di_selection *sel, char ret_hex[65],
                          struct hoist_error **err)
{
        _cleanup_free_ struct cache_source *srcs = xcalloc(sel->n_entries + 1, sizeof *srcs);

        for (size_t i = 0; i < sel->n_entries; i++)
                srcs[i] = (struct cache_source){
                        .path = sel->entries[i].path,
                        .dest = sel->entries[i].dest,
                        .st = &sel->entries[i].st,
                        .match = sel->entries[i].match,
                };
        return cache_hash_sources(root, srcs, sel->n_entries, ret_hex, err);
}

/* DEST (no '/' at the end) is a directory the image already has: then a
 * single file goes into it, as with Docker ("COPY run.sh /usr/local/bin").
 * The WORKDIR is one; any other path is looked up in the stage's image,
 * its layers read without unpacking them when they are not unpacked yet.
 * 1, 0, or -1 when a layer cannot be read. */
static int is_existing_dir(struct build *b, struct stage *s, const char *dest,
                           struct hoist_error **err)
{
        const char *wd = image_config_get_string(s->cfg, "WorkingDir");

        if (wd != NULL && strcmp(wd, dest) == 0)
                return 1;
        if (s->n_layers == 0)
                return 0;
        return stage_is_dir(s, b->lay, dest, err);
}

/* The destination as an absolute, clean path: relative to WORKDIR, "."
 * and ".." resolved (never above "/"), ending in '/' when RAW names a
 * directory ("dir/", ".", "dir/.", ".."). */
static char *resolve_dest(const char *workdir, const char *raw)
{
        _cleanup_free_ char *joined =
                raw[0] == '/' ? xstrdup(raw) : path_join(workdir && *workdir ? workdir : "/", raw);
        _cleanup_free_ char *clean = path_clean_in_root(joined);
        const char *last = strrchr(raw, '/') ? strrchr(raw, '/') + 1 : raw;
        int dir = *last == '\0' || strcmp(last, ".") == 0 || strcmp(last, "..") == 0;

        if (*clean == '\0')
                return xstrdup("/");
        return xasprintf("/%s%s", clean, dir ? "/" : "");
}

/* ---- writing the layer ---- */

static int ends_with_slash(const char *s)
{
        size_t n = strlen(s);

        return n > 0 && s[n - 1] == '/';
}

/* "/a/b/" -> "/a/b"; keeps "/". */
static char *strip_slash(const char *s)
{
        char *r = xstrdup(s);
        size_t n = strlen(r);

        while (n > 1 && r[n - 1] == '/')
                r[--n] = '\0';
        return r;
}

/* Adds DIR's directories that the image below does not have, as 0755 and
 * owned by OWNER's uid:gid (with --chown, Docker and buildah give what they
 * create for a COPY to its owner).  Without --chown, missing parents are
 * made 0755 root:root by any unpacker too, so the image is read only when
 * it is empty or unpacked, where that is cheap. */
static int add_dirs(struct build *b, struct stage *s, struct layer_writer *w, const char *dir,
                    const struct layer_owner *owner, struct hoist_error **err)
{
        const struct layer_owner o = {owner->uid, owner->gid, 0755};
        _cleanup_free_ char *have = NULL, *rest = NULL;
        int known = s->n_layers == 0 || (s->rootfs != NULL && s->applied == s->n_layers);

        if (!known && o.uid == 0 && o.gid == 0)
                return 0;
        if (build_missing_dirs(b, s, dir, &have, &rest, err) < 0)
                return -1;
        return build_write_dirs(b, w, have, rest, &o, err);
}

static int write_copy_layer(struct stage_ctx *sc, const struct copy_src *src,
                            const struct di_selection *sel, const char *dest, int dest_dir,
                            const struct layer_owner *owner, const char *blob,
                            struct layer_info *li, struct hoist_error **err)
{
        struct build *b = sc->b;
        _cleanup_layer_writer_ struct layer_writer *w = NULL;
        _cleanup_free_ char *base = strip_slash(dest);

        if (layer_writer_new(blob, b->comp, 0, b->epoch, &w, err) < 0)
                return -1;
        if (dest_dir) {
                if (add_dirs(b, sc->s, w, base, owner, err) < 0)
                        return -1;
        } else {
                _cleanup_free_ char *parent = xstrdup(base);
                char *slash = strrchr(parent, '/');
                if (slash != NULL && slash != parent) {
                        *slash = '\0';
                        if (add_dirs(b, sc->s, w, parent, owner, err) < 0)
                                return -1;
                }
        }
        for (size_t i = 0; i < sel->n_entries; i++) {
                const struct di_entry *e = &sel->entries[i];
                _cleanup_free_ char *abs = path_join(src->root, e->path);
                _cleanup_free_ char *target = dest_dir ? path_join(base, e->dest) : xstrdup(base);
                if (layer_writer_add_path(w, target, abs, owner, err) < 0)
                        return -1;
        }
        return layer_writer_finish(w, li, err);
}

/* ADD of a local archive: unpacked, then written as a tree at DEST. */
static int write_add_archive(struct stage_ctx *sc, const char *archive, const char *dest,
                             const struct layer_owner *owner, const char *blob,
                             struct layer_info *li, struct hoist_error **err)
{
        struct build *b = sc->b;
        _cleanup_free_ char *dir = build_scratch(b, "add");
        _cleanup_free_ char *base = strip_slash(dest);

        if (fs_mkdir_p(dir, 0755, err) < 0 || archive_extract_file(archive, dir, err) < 0)
                return -1;
        return layer_write_dir(dir, base, owner, b->comp, b->epoch, blob, li, err);
}

/* sel->single_file, except that a directory source holding one file is a
 * directory: checked here on the sources themselves. */
static int single_file(const struct copy_src *src, const struct di_selection *sel, char **srcs,
                       size_t n_srcs)
{
        if (!sel->single_file || n_srcs != 1)
                return sel->single_file && n_srcs == 1;
        if (strpbrk(srcs[0], "*?[\\") == NULL) {
                _cleanup_free_ char *abs = path_join(src->root, srcs[0]);
                struct stat st;
                if (stat(abs, &st) == 0 && S_ISDIR(st.st_mode))
                        return 0;
        }
        return 1;
}

static int is_url(const char *s)
{
        return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0 ||
               strncmp(s, "git@", 4) == 0;
}

static char *copy_text(const struct df_instr *in, char **exp, const char *from, const char *chown,
                       const char *chmod_)
{
        struct buf t = {0};

        buf_append_str(&t, dockerfile_kind_name(in->kind));
        if (from != NULL)
                buf_printf(&t, " --from=%s", from);
        if (chown != NULL)
                buf_printf(&t, " --chown=%s", chown);
        if (chmod_ != NULL)
                buf_printf(&t, " --chmod=%s", chmod_);
        for (size_t i = 0; i < in->n_args; i++) {
                buf_append_char(&t, ' ');
                buf_append_str(&t, exp[i]);
                buf_append_char(&t, '\x1f');
        }
        return buf_take(&t);
}

int copy_step(struct stage_ctx *sc, const struct df_instr *in, struct hoist_error **err)
{
        struct build *b = sc->b;
        struct stage *s = sc->s;
        _cleanup_strv_ char **exp = NULL;
        _cleanup_free_ char *from = NULL, *chown = NULL, *chmod_ = NULL, *dest = NULL;
        _cleanup_free_ char *text = NULL, *blob = NULL;
        struct layer_owner owner = {0, 0, -1};
        struct copy_src src = {0};
        struct di_selection sel = {0};
        struct layer_info li = {0};
        struct image_layer stored = {0};
        struct cache_entry ce = {0};
        char content[65], key[65];
        size_t n_srcs = in->n_args - 1;
        int dest_dir, rc = -1, archive = 0;

        if (dfvars_expand_instr(sc->vars, b->df, in, &exp, err) < 0 ||
            dfvars_expand_flag(sc->vars, b->df, in, "from", &from, err) < 0 ||
            dfvars_expand_flag(sc->vars, b->df, in, "chown", &chown, err) < 0 ||
            dfvars_expand_flag(sc->vars, b->df, in, "chmod", &chmod_, err) < 0)
                return -1;
        for (size_t i = 0; i < n_srcs; i++)
                if (is_url(exp[i]))
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "source '%s' is a URL; hoist builds only from "
                                                "the context (download it there, or fetch it "
                                                "in a RUN)",
                                                exp[i]);
        dest = resolve_dest(image_config_get_string(s->cfg, "WorkingDir"), exp[n_srcs]);
        if (copy_source_root(sc, from, &src, err) < 0)
                return -1;
        if (dockerignore_select(src.ignore, src.root, exp, n_srcs, &sel, err) < 0)
                return -1;
        dest_dir = !(single_file(&src, &sel, exp, n_srcs) && !ends_with_slash(dest));
        if (sel.n_matches > 1 && !ends_with_slash(dest))
                rc = hoist_error_make(err, HOIST_ERR_INPUT,
                                      "%zu sources match; the destination '%s' must be a "
                                      "directory ending in '/'",
                                      sel.n_matches, exp[n_srcs]);
        else if (hash_selection(src.root, &sel, content, err) == 0)
                rc = 0;
        if (rc < 0)
                goto out;
        rc = -1;
        archive = in->kind == DF_ADD && from == NULL && single_file(&src, &sel, exp, n_srcs) &&
                  sel.n_entries == 1 && S_ISREG(sel.entries[0].st.st_mode);
        if (archive) {
                _cleanup_free_ char *abs = path_join(src.root, sel.entries[0].path);
                archive = archive_is_archive(abs);
        }
        text = copy_text(in, exp, from, chown, chmod_);
        {
                struct cache_key_input ki = {.parent = s->chain,
                                             .instruction = text,
                                             .content = content,
                                             .compression = compression_name(b->comp)};
                cache_key(&ki, key);
        }
        if (build_lookup(b, key, &ce)) {
                build_say(b, "[%u/%u] %s  CACHED", b->step, b->total, in->original);
                b->cached++;
                if (image_config_set_state(s->cfg, ce.state, err) < 0)
                        goto out;
                if (ce.has_layer)
                        stage_add_layer(s, &ce.layer, in->original);
                else
                        image_config_add_empty_history(s->cfg, in->original);
                stage_set_chain(s, key);
                rc = 0;
                goto out;
        }
        build_say(b, "[%u/%u] %s", b->step, b->total, in->original);
        if ((chown != NULL && build_parse_owner(b, s, chown, "--chown", &owner, err) < 0) ||
            (chmod_ != NULL && parse_chmod(chmod_, &owner, err) < 0))
                goto out;
        /* (The chain in the cache key fixes what the image has at DEST.) */
        if (!dest_dir && !archive) {
                int r = is_existing_dir(b, s, dest, err);
                if (r < 0)
                        goto out;
                dest_dir = r;
        }
        blob = build_scratch(b, "layer");
        if (archive) {
                _cleanup_free_ char *abs = path_join(src.root, sel.entries[0].path);
                _cleanup_free_ char *d =
                        ends_with_slash(dest) ? xstrdup(dest) : xasprintf("%s/", dest);
                if (write_add_archive(sc, abs, d, &owner, blob, &li, err) < 0)
                        goto out;
        } else if (write_copy_layer(sc, &src, &sel, dest, dest_dir, &owner, blob, &li, err) < 0) {
                goto out;
        }
        if (build_add_layer(b, s, blob, &li, in->original, &stored, err) < 0)
                goto out;
        ce.has_layer = 1;
        ce.layer = stored;
        memset(&stored, 0, sizeof stored);
        ce.state = image_config_state(s->cfg);
        build_remember(b, key, &ce);
        stage_set_chain(s, key);
        rc = 0;
out:
        cache_entry_clear(&ce);
        image_layer_clear(&stored);
        layer_info_clear(&li);
        dockerignore_selection_clear(&sel);
        return rc;
}
