/* SPDX-License-Identifier: MIT */
#include "runner/job/package.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include <jansson.h>
#include "cleanup.h"
#include "runner/cli/cli.h"
#include "digest.h"
#include "ignore.h"
#include "runner/job/jobfile_code.h"
#include "log.h"
#include "runner/cli/progress.h"
#include "xalloc.h"

/* What one tree's walk keeps and leaves out, counted as the tar is made. */
struct walk {
        struct ignore_tree *rules;
        struct package_item *item;
        struct treesync *tree; /* collects what is kept, or NULL (the tar path) */
};

static int walk_filter(void *userdata, const char *rel, const struct stat *st,
                       struct hoist_error **err)
{
        struct walk *w = userdata;
        struct package_item *it = w->item;
        enum ignore_verdict v;

        if (ignore_tree_check(w->rules, rel, st, &v, err) < 0)
                return -1;
        switch (v) {
        case IGNORE_KEEP:
                if (S_ISREG(st->st_mode) || S_ISLNK(st->st_mode)) {
                        it->n_files++;
                        it->file_bytes += S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
                }
                if (w->tree != NULL && treesync_add(w->tree, rel, st, err) < 0)
                        return -1;
                return 1;
        case IGNORE_BY_RULES:
                it->n_by_rules++;
                return 0;
        case IGNORE_SENSITIVE:
                it->sensitive =
                        xreallocarray(it->sensitive, it->n_sensitive + 2, sizeof *it->sensitive);
                it->sensitive[it->n_sensitive++] =
                        S_ISDIR(st->st_mode) ? xasprintf("%s/", rel) : xstrdup(rel);
                it->sensitive[it->n_sensitive] = NULL;
                return 0;
        }
        return 0;
}

static int plan_dir(const struct jobfile *jf, const struct package_options *opts,
                    const char *storage_url, struct package_item *it, struct hoist_error **err)
{
        _cleanup_strv_ char **include = jobfile_code_includes_in(jf, it->path);
        _cleanup_ignore_tree_ struct ignore_tree *rules = NULL;
        struct walk w = {.item = it};
        const char *tmp_dir = opts->tmp_dir;

        if (opts->tree) {
                it->tree = treesync_new(it->path, opts->cache_dir, storage_url, opts->rehash);
                if (ignore_tree_open(it->path, include, &rules, err) < 0)
                        return -1;
                w.rules = rules;
                w.tree = it->tree;
                /* walks and checks links as the tar would, writing nothing */
                return archive_check_tree_filtered(it->path, walk_filter, &w, err);
        }
        it->file = xasprintf("%s/%s-%s-%d.tar", tmp_dir, it->channel ? "input" : "code",
                             it->channel ? it->channel : "tree", (int)getpid());
        it->file_is_temp = 1;
        if (ignore_tree_open(it->path, include, &rules, err) < 0)
                return -1;
        w.rules = rules;
        return archive_create_tar_filtered(it->path, walk_filter, &w, it->file, it->hex, &it->size,
                                           err);
}

/* How the summary names PATH: relative to job.yaml's directory when it lies
 * there, else as it is. */
static char *shown_path(const struct jobfile *jf, const char *path)
{
        size_t n = strlen(jf->dir);

        if (strcmp(path, jf->dir) == 0)
                return xstrdup(".");
        if (strncmp(path, jf->dir, n) == 0 && path[n] == '/')
                return xstrdup(path + n + 1);
        return xstrdup(path);
}

static int plan_item(const struct jobfile *jf, const struct package_options *opts,
                     const char *storage_url, struct package_item *it, struct hoist_error **err)
{
        struct stat s;

        it->shown = shown_path(jf, it->path);
        if (stat(it->path, &s) < 0)
                return hoist_error_errno(err, "'%s'", it->path);
        if (S_ISDIR(s.st_mode)) {
                it->is_dir = 1;
                return plan_dir(jf, opts, storage_url, it, err);
        }
        if (!S_ISREG(s.st_mode))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s' is neither a file nor a directory", it->path);
        it->file = xstrdup(it->path);
        it->n_files = 1;
        it->file_bytes = (uint64_t)s.st_size;
        return digest_file_hex(it->path, it->hex, &it->size, err);
}

/* Whether ST has the blob of IT already, and whether an earlier item sends it. */
static int plan_sending(struct package_plan *p, size_t i, struct storage *st, json_t *planned,
                        struct hoist_error **err)
{
        struct package_item *it = &p->items[i];
        _cleanup_free_ char *key = xasprintf("blobs/sha256/%s", it->hex);
        uint64_t have = 0;
        int r;

        if (it->tree != NULL) {
                _cleanup_free_ struct treesync **earlier = xcalloc(i ? i : 1, sizeof *earlier);
                size_t n_earlier = 0;
                for (size_t j = 0; j < i; j++)
                        if (p->items[j].tree != NULL)
                                earlier[n_earlier++] = p->items[j].tree;
                if (treesync_plan(it->tree, st, planned, earlier, n_earlier, err) < 0)
                        return -1;
                memcpy(it->hex, treesync_manifest_sha256(it->tree), sizeof it->hex);
                it->size = treesync_total_size(it->tree);
                it->to_send = treesync_to_send(it->tree);
                it->stored = it->to_send == 0;
                p->to_send += it->to_send;
                return 0;
        }
        if (planned != NULL)
                (void)json_object_set_new(planned, it->hex, json_true());
        for (size_t j = 0; j < i; j++)
                if (p->items[j].tree == NULL && strcmp(p->items[j].hex, it->hex) == 0)
                        it->dup = 1;
        if (it->dup)
                return 0;
        r = storage_exists(st, key, &have, err);
        if (r < 0)
                return -1;
        it->stored = r == 1 && have == it->size;
        it->to_send = it->stored ? 0 : it->size;
        p->to_send += it->to_send;
        return 0;
}

static char *item_label(const struct package_item *it)
{
        return it->channel ? xasprintf("input '%s'", it->channel) : xstrdup("code");
}

int package_plan(const struct jobfile *jf, struct storage *st, const struct package_options *opts,
                 struct package_plan **ret, struct hoist_error **err)
{
        _cleanup_package_plan_ struct package_plan *p = xzalloc(sizeof *p);
        size_t n = jf->n_inputs + (jf->code != NULL);
        json_auto_t *planned = json_object(); /* digests this submit sends once */
        const char *url = storage_url(st);

        p->items = xcalloc(n ? n : 1, sizeof *p->items);
        if (jf->code != NULL) {
                p->items[p->n_items++].path = xstrdup(jf->code);
                if (plan_item(jf, opts, url, &p->items[0], err) < 0)
                        return hoist_error_wrap(err, "'%s':%d: code ('%s')", jf->path,
                                                jf->code_line, p->items[0].shown);
        }
        for (size_t i = 0; i < jf->n_inputs; i++) {
                struct package_item *it = &p->items[p->n_items++];
                it->channel = xstrdup(jf->inputs[i].channel);
                it->path = xstrdup(jf->inputs[i].path);
                it->extract = jf->inputs[i].extract;
                it->extract_limit = jf->inputs[i].extract_limit;
                if (plan_item(jf, opts, url, it, err) < 0)
                        return hoist_error_wrap(err, "'%s':%d: input '%s' ('%s')", jf->path,
                                                jf->inputs[i].line, it->channel, it->shown);
        }
        for (size_t i = 0; i < p->n_items; i++) {
                if (plan_sending(p, i, st, planned, err) < 0) {
                        _cleanup_free_ char *label = item_label(&p->items[i]);
                        return hoist_error_wrap(err, "%s: ask the storage for its blob", label);
                }
        }
        p->opts = *opts;
        *ret = TAKE_PTR(p);
        return 0;
}

void package_plan_free(struct package_plan *p)
{
        if (p == NULL)
                return;
        for (size_t i = 0; i < p->n_items; i++) {
                struct package_item *it = &p->items[i];
                if (it->file_is_temp && it->file != NULL)
                        (void)unlink(it->file);
                free(it->channel);
                free(it->path);
                free(it->shown);
                free(it->file);
                strv_free(it->sensitive);
                treesync_free(it->tree);
        }
        free(p->items);
        free(p);
}

static void print_item(const struct package_item *it, FILE *out)
{
        _cleanup_free_ char *label = item_label(it);
        char b1[32], b2[32];

        fprintf(out, "  %s (%s): %zu file%s, %s; sends %s%s\n", label, it->shown, it->n_files,
                it->n_files == 1 ? "" : "s", cli_format_bytes(it->file_bytes, b1, sizeof b1),
                cli_format_bytes(it->to_send, b2, sizeof b2),
                it->dup      ? " (the same as an earlier upload)"
                : it->stored ? " (stored already)"
                             : "");
        if (it->tree != NULL) {
                const struct treesync_stats *ts = treesync_stats(it->tree);
                char b3[32], b4[32], b5[32];
                fprintf(out, "    files: %zu new (%s), %zu changed (%s), %zu unchanged (%s)\n",
                        ts->files_new, cli_format_bytes(ts->bytes_new, b3, sizeof b3),
                        ts->files_changed, cli_format_bytes(ts->bytes_changed, b4, sizeof b4),
                        ts->files_unchanged, cli_format_bytes(ts->bytes_unchanged, b5, sizeof b5));
        }
        if (it->n_by_rules > 0)
                fprintf(out, "    excluded by .gitignore/.hoistignore: %zu\n", it->n_by_rules);
        for (size_t i = 0; i < it->n_sensitive; i++)
                fprintf(out, "    excluded as sensitive: %s\n", it->sensitive[i]);
}

void package_print_summary(const struct package_plan *p, const char *dest, FILE *out)
{
        char b[32];

        fprintf(out, "Upload plan:\n");
        for (size_t i = 0; i < p->n_items; i++)
                print_item(&p->items[i], out);
        fprintf(out, "  total: sends %s, and the job's job.json\n",
                cli_format_bytes(p->to_send, b, sizeof b));
        fprintf(out, "  destination: %s\n", dest);
        fflush(out);
}

int package_check_limit(const struct package_plan *p, const char *provider, uint64_t limit,
                        struct hoist_error **err)
{
        char b1[32], b2[32];

        if (limit == 0)
                return 0;
        for (size_t i = 0; i < p->n_items; i++) {
                const struct package_item *it = &p->items[i];
                _cleanup_free_ char *label = NULL;
                uint64_t counted = it->tree != NULL ? it->to_send : it->size;
                if (counted <= limit)
                        continue;
                label = item_label(it);
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "%s ('%s') %s %s; the %s provider accepts at most %s per "
                                        "upload; nothing was uploaded (leave files out with "
                                        ".hoistignore, or use another provider)",
                                        label, it->shown, it->tree != NULL ? "sends" : "is",
                                        cli_format_bytes(counted, b1, sizeof b1), provider,
                                        cli_format_bytes(limit, b2, sizeof b2));
        }
        return 0;
}

/* Uploads FILE to KEY with a progress line. */
static int upload(struct storage *st, const char *key, const struct package_item *it,
                  struct hoist_error **err)
{
        _cleanup_free_ char *label = item_label(it);
        _cleanup_progress_ struct progress *prog = progress_new(label);
        int r;

        storage_set_progress(st, progress_update, prog);
        r = storage_put_file(st, key, it->file, err);
        storage_set_progress(st, NULL, NULL);
        return r;
}

static void count_tree(const struct treesync_stats *ts, struct package_stats *stats)
{
        stats->files_new += ts->files_new;
        stats->files_changed += ts->files_changed;
        stats->files_unchanged += ts->files_unchanged;
        stats->bytes_new += ts->bytes_new;
        stats->bytes_changed += ts->bytes_changed;
        stats->bytes_unchanged_files += ts->bytes_unchanged;
        stats->files_hashed += ts->files_hashed;
        stats->bytes_hashed += ts->bytes_hashed;
        stats->bytes_sent += ts->bytes_sent;
}

static int upload_item(const struct package_plan *p, const struct package_item *it,
                       struct storage *st, struct package_stats *stats, char **ret_key,
                       struct hoist_error **err)
{
        _cleanup_free_ char *key = xasprintf("blobs/sha256/%s", it->hex);

        if (it->tree != NULL) {
                if (treesync_upload(it->tree, st, p->opts.open_storage, p->opts.open_ud, err) < 0) {
                        _cleanup_free_ char *label = item_label(it);
                        return hoist_error_wrap(err, "%s ('%s')", label, it->shown);
                }
                const struct treesync_stats *ts = treesync_stats(it->tree);
                count_tree(ts, stats);
                if (ts->blobs_sent > 0) {
                        stats->bytes_uploaded += ts->bytes_sent;
                        stats->blobs_uploaded++;
                } else {
                        stats->bytes_unchanged += it->size;
                        stats->blobs_unchanged++;
                }
                *ret_key = TAKE_PTR(key);
                return 0;
        }
        /* A file or tar counts whole: what is sent is new, the rest unchanged. */
        if (it->to_send > 0) {
                stats->files_new += it->n_files;
                stats->bytes_new += it->file_bytes;
                stats->bytes_sent += it->size;
        } else {
                stats->files_unchanged += it->n_files;
                stats->bytes_unchanged_files += it->file_bytes;
        }

        if (it->to_send > 0) {
                if (upload(st, key, it, err) < 0) {
                        _cleanup_free_ char *label = item_label(it);
                        return hoist_error_wrap(err, "%s ('%s')", label, it->shown);
                }
                stats->bytes_uploaded += it->size;
                stats->blobs_uploaded++;
        } else {
                stats->bytes_unchanged += it->size;
                stats->blobs_unchanged++;
        }
        *ret_key = TAKE_PTR(key);
        return 0;
}

int package_upload(struct package_plan *p, struct storage *st, struct jobspec *spec,
                   struct package_stats *stats, struct hoist_error **err)
{
        size_t n_inputs = 0;

        for (size_t i = 0; i < p->n_items; i++)
                n_inputs += p->items[i].channel != NULL;
        if (n_inputs > 0)
                spec->inputs = xcalloc(n_inputs, sizeof *spec->inputs);
        for (size_t i = 0; i < p->n_items; i++) {
                const struct package_item *it = &p->items[i];
                char *key = NULL;

                if (upload_item(p, it, st, stats, &key, err) < 0)
                        return -1;
                /* A bare key: an object of the job's own storage, wherever that is. */
                if (it->channel == NULL) {
                        spec->code.source = key;
                        spec->code.sha256 = xstrdup(it->hex);
                        spec->code.size = it->size;
                        spec->code.mode =
                                it->tree != NULL ? JOBSPEC_INPUT_TREE : JOBSPEC_INPUT_ARCHIVE;
                        continue;
                }
                struct jobspec_input *in = &spec->inputs[spec->n_inputs++];
                in->channel = xstrdup(it->channel);
                in->source = key;
                in->sha256 = xstrdup(it->hex);
                in->size = it->size;
                in->mode = it->tree != NULL            ? JOBSPEC_INPUT_TREE
                           : it->is_dir || it->extract ? JOBSPEC_INPUT_ARCHIVE
                                                       : JOBSPEC_INPUT_FILE;
                in->extract_limit = it->extract_limit;
                if (!it->is_dir && !it->extract) {
                        const char *base = strrchr(it->path, '/');
                        in->filename = xstrdup(base ? base + 1 : it->path);
                }
        }
        return 0;
}
